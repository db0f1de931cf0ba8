//! `outbound apply`: plan (or a saved plan, checked fresh) -> confirm -> lock -> apply ->
//! report. The lock is taken before the state is read when nobody is asked, and after the
//! answer otherwise (then the state must still be the one planned from).

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};

use super::context::{Context, contexts};
use super::{Guarded, Outcome, Prepared, observe_all, prepare_from, runtime};
use crate::apply::{self, ApplyOptions};
use crate::cli::{ApplyArgs, GlobalArgs, SecretsMode};
use crate::plan;
use crate::render;
use crate::resource::Address;
use crate::signal::Signals;

pub fn run(args: &ApplyArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let verbose = global.verbose;
    let contexts = contexts(global, &args.paths.paths, &args.aws, "apply", false)?;
    let Some(ctx) = contexts.first() else {
        return Ok(Outcome::Failed);
    };
    // 0. A saved plan is read and checked before any AWS call.
    let saved = match read_saved(args, ctx) {
        Ok(saved) => saved,
        Err(refused) => return Ok(refused),
    };
    let options = crate::manifest::load::Options {
        allow_empty: args.allow_empty,
    };
    runtime()?.block_on(async {
        // 1. The manifests (for a saved plan: their secret values): nothing reaches AWS
        //    unless they are valid and the configuration is.
        let manifests = match super::validated(ctx, options, SecretsMode::Resolve) {
            Ok(d) => d,
            Err(n) => return Ok(n.into()),
        };
        crate::state::fingerprint::Scheme::from_env()?;
        // 2. The account guard, the first AWS call: the state's account and region, and a
        //    saved plan's, must be this run's.
        let mut guard = match super::guarded(ctx).await {
            Ok(Ok(g)) => g,
            Ok(Err(e)) => return Ok(refuse(e)),
            Err(e) => return super::guard::unreachable(e).map(Outcome::from),
        };
        if let (Some(plan), Some(file)) = (&saved, &args.plan)
            && let Err(e) = guard.check_plan(plan, file)
        {
            return Ok(refuse(e));
        }
        // 3. Without a question to ask, the lock comes first, so two applies never plan from
        //    the same state (read again under the lock). A question may wait for hours:
        //    nobody is locked out meanwhile. Signals are handled from the moment the lock is
        //    held; before, they end the run.
        let interactive = !args.auto_approve && args.plan.is_none();
        let early = if interactive {
            None
        } else {
            let held = (Signals::listen()?, guard.store.lock("apply")?);
            if let Err(e) = guard.reload()? {
                return Ok(refuse(e));
            }
            Some(held)
        };
        // A first signal while AWS is read stops the reads: nothing was changed, and the
        // lock is released as it is dropped.
        let mut p = match prepare_any(ctx, saved.as_ref(), manifests, verbose, guard).await {
            Ok(Ok(p)) => p,
            Ok(Err(n)) => return Ok(n.into()),
            Err(e) => return stopped(e),
        };
        if let Some(refused) = targeted(&mut p, args, saved.is_none()).await {
            return Ok(refused);
        }
        render::out(&render::text::plan(&p.plan));
        // A saved plan was reviewed when it was made: applying it is the approval.
        if p.plan.has_changes() && !args.auto_approve && saved.is_none() && !confirm()? {
            render::message("Apply cancelled; nothing was changed.\n");
            return Ok(Outcome::Failed);
        }
        // 4. After the answer: the lock, and the state must be the one the plan was made from.
        let (signals, lock) = match early {
            Some(held) => held,
            None => (Signals::listen()?, p.store.lock("apply")?),
        };
        if interactive && state_changed(&p)? {
            render::message(
                "error: the state changed while the plan was shown (another apply ran); \
                 nothing was applied. Run apply again to review the new plan.\n",
            );
            return Ok(Outcome::Failed);
        }
        // 5. Apply: a first signal stops new changes (one received since the reads: none
        //    starts), a second stops at once (`crate::signal`).
        if let Some(signal) = signals.received() {
            render::message("Stopped before applying: no change was made to AWS.\n");
            return Ok(Outcome::Stopped(signal));
        }
        let options = ApplyOptions {
            parallelism: usize::from(args.aws.parallelism),
            wait_timeout: args.wait_timeout,
            cancel: signals.token(),
        };
        let secrets_changed = p.plan.secrets_changed(&p.state);
        let before = p.aws.calls.total();
        let report = apply_or_stop(&mut p, &options).await?;
        // 6. The report on stdout; the AWS calls on stderr (`-v`).
        if verbose > 0 {
            render::message(&format!(
                "apply: {} (of which {} to apply); {}\n",
                p.aws.calls,
                p.aws.calls.total() - before,
                render::state_activity(&p.store)
            ));
        }
        show_report(&report, &secrets_changed);
        lock.release()?;
        Ok(if let Some(signal) = signals.received() {
            Outcome::Stopped(signal)
        } else if report.failed() {
            Outcome::Failed
        } else {
            Outcome::Success
        })
    })
}

/// The saved plan `--plan` names, if any, read and checked for this environment.
fn read_saved(args: &ApplyArgs, ctx: &Context) -> Result<Option<plan::Plan>, Outcome> {
    let saved = match args.plan.as_deref().map(read_plan).transpose() {
        Ok(saved) => saved,
        Err(e) => {
            render::error(&e);
            return Err(Outcome::Failed);
        }
    };
    match other_environment(saved.as_ref(), ctx) {
        Some(refused) => Err(refused),
        None => Ok(saved),
    }
}

/// A saved plan is applied in the environment it was made for, and nowhere else (checked
/// before any AWS call; the account guard checks its account and region after).
fn other_environment(saved: Option<&plan::Plan>, ctx: &Context) -> Option<Outcome> {
    let plan = saved?;
    if plan.scope.environment.as_deref() == ctx.name() {
        return None;
    }
    let name = |n: Option<&str>| {
        n.map_or_else(
            || "no environment".to_owned(),
            |n| format!("environment {n}"),
        )
    };
    render::error(&anyhow::anyhow!(
        "the saved plan was made for {}, this run is for {}; nothing was changed",
        name(plan.scope.environment.as_deref()),
        name(ctx.name())
    ));
    render::message(
        "  hint: apply it with the --env it was planned with, or plan again for this environment\n",
    );
    Some(Outcome::Failed)
}

/// A refusal of the account guard: nothing was changed.
fn refuse(e: crate::state::guard::GuardError) -> Outcome {
    super::guard::refusal(e).into()
}

/// What applying needs, from a saved plan or from the manifests.
async fn prepare_any(
    ctx: &Context,
    saved: Option<&plan::Plan>,
    manifests: crate::manifest::DesiredState,
    verbose: u8,
    guard: Guarded,
) -> anyhow::Result<Result<Prepared, super::NotPrepared>> {
    match saved {
        Some(plan) => prepare_saved(ctx, plan, manifests, verbose, guard).await,
        None => prepare_from(ctx, manifests, verbose, Some(guard)).await,
    }
}

/// Applies the plan (a second signal ends the process from `crate::signal`).
async fn apply_or_stop(p: &mut Prepared, options: &ApplyOptions) -> anyhow::Result<apply::Report> {
    // The secret checks of this run's fingerprints go with the records apply writes (a check
    // only holds for the fingerprints it was taken with, so a record apply does not bring up
    // to date just fails its bucket's check next time); saved even when nothing changes.
    let new_checks = p.state.secret_checks != p.secret_checks;
    p.state.secret_checks = std::mem::take(&mut p.secret_checks);
    let writes = p.store.writes();
    let report = apply::apply(&p.aws, &p.plan, &p.desired, &p.store, &mut p.state, options).await?;
    if new_checks && p.store.writes() == writes {
        apply::save(&p.store, &mut p.state)?;
    }
    Ok(report)
}

/// A run a signal stopped while AWS was read ends with the signal's code; other errors go on.
fn stopped(e: anyhow::Error) -> anyhow::Result<Outcome> {
    match crate::signal::stopped(&e) {
        Some(signal) => {
            render::message(&format!("{e}; the lock is released.\n"));
            Ok(Outcome::Stopped(signal))
        }
        None => Err(e),
    }
}

/// The apply report, then which changes sent a secret value changed since the last apply.
fn show_report(
    report: &apply::Report,
    secrets_changed: &BTreeMap<Address, Vec<crate::resource::FieldPath>>,
) {
    if !report.rows.is_empty() {
        render::out(&render::text::report(report));
    }
    let sent = render::text::secrets_sent(report, secrets_changed);
    if !sent.is_empty() {
        render::out(&sent);
    }
}

/// Whether the state changed while the plan was shown (another apply ran). The account and
/// region this run stamped on an older state that lacked them are not a change.
fn state_changed(p: &Prepared) -> anyhow::Result<bool> {
    Ok(match p.store.load()? {
        Some(mut now) => {
            if now.account.is_none() && now.region.is_none() {
                now.account.clone_from(&p.state.account);
                now.region.clone_from(&p.state.region);
            }
            now != p.state
        }
        None => p.state.serial != 0,
    })
}

/// What applying a saved plan needs: the state (created with the plan's lineage and salt
/// when there is none yet), AWS observed for the manifests and the state, the check that
/// nothing the plan relied on changed, and the plan made again from the manifests, the state
/// and AWS, which must be the saved one (the file approves a plan, it cannot carry one).
async fn prepare_saved(
    ctx: &Context,
    saved: &plan::Plan,
    manifests: crate::manifest::DesiredState,
    verbose: u8,
    mut guard: Guarded,
) -> anyhow::Result<Result<Prepared, super::NotPrepared>> {
    let state = guard.take_state(|| crate::state::State {
        lineage: saved.state_lineage.clone(),
        fingerprint_salt: saved.fingerprint_salt.clone(),
        ..crate::state::State::new()
    });
    let g = match observe_all(ctx, manifests, guard.store, state, verbose).await? {
        Ok(g) => g,
        Err(n) => return Ok(Err(n)),
    };
    if let Some(n) = super::refuse_unreadable(&g) {
        return Ok(Err(n));
    }
    let mut plan = saved.clone();
    // 1. Nothing it relied on may have changed since it was made.
    if let Err(e) = plan::check_fresh(&plan, &g.state, &g.observed, &g.fingerprints) {
        return Ok(Err(failed(anyhow::Error::new(e), None)));
    }
    plan.fingerprint_unchecked(&g.state, &g.fingerprints);
    // 2. Planning again, with the same targets, gives the same changes.
    let mut now = match plan::build(&g.desired, &g.state, &g.observed, &g.fingerprints) {
        Ok(now) => now,
        Err(e) => return Ok(Err(super::refused(e))),
    };
    if let Err(e) = now.target(&saved.scope.targets) {
        return Ok(Err(super::refused(e)));
    }
    if let Err(e) = plan::saved::compare(&plan, &now) {
        let hint = plan::saved::Differs::hint().to_owned();
        return Ok(Err(failed(anyhow::Error::new(e), Some(hint))));
    }
    Ok(Ok(g.planned(plan)))
}

/// The plan cut to `--target` (not a saved one: it was cut when made), then refused when it
/// deletes what resources outside the state still use (`plan::in_use`).
async fn targeted(p: &mut Prepared, args: &ApplyArgs, cut: bool) -> Option<Outcome> {
    if cut && let Err(e) = p.plan.target(&args.targets) {
        render::error(&anyhow::Error::new(e));
        return Some(Outcome::Failed);
    }
    let parallelism = usize::from(args.aws.parallelism);
    super::in_use::refuse(p, parallelism)
        .await
        .map(Outcome::from)
}

/// `error:` (and its hint) on stderr; the failure for stdout.
fn failed(e: anyhow::Error, hint: Option<String>) -> super::NotPrepared {
    render::error(&e);
    if let Some(h) = &hint {
        render::message(&format!("  hint: {h}\n"));
    }
    super::NotPrepared::Failed(render::failure::Failure::error(&e, hint))
}

/// The saved plan in `file`, if it is a sealed plan this outbound reads and it can run to
/// its end (see [`plan::file::read`]); freshness is checked once AWS is read.
fn read_plan(file: &std::path::Path) -> anyhow::Result<plan::Plan> {
    use std::io::Read;
    let cannot =
        |e: std::io::Error| anyhow::anyhow!("cannot read the plan {}: {e}", file.display());
    // Read at most one byte over the bound: a forged file is never read whole.
    let mut text = String::new();
    std::fs::File::open(file)
        .map_err(cannot)?
        .take(plan::file::MAX_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(cannot)?;
    plan::file::read(&text)
        .map_err(|e| anyhow::Error::new(e).context(format!("{} cannot be applied", file.display())))
}

/// Asks for `yes` on the terminal; refuses when there is none.
fn confirm() -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to apply without a terminal to confirm on; review the plan and pass --auto-approve"
        );
    }
    render::message("Apply these changes? Only 'yes' is accepted: ");
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}
