//! `outbound apply`: plan (or a saved plan, checked fresh) -> confirm -> lock -> apply ->
//! report. The lock is taken before the state is read when nobody is asked, and after the
//! answer otherwise (then the state must still be the one planned from).

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};

use super::context::{Context, contexts};
use super::{Outcome, Prepared, observe_all, prepare, runtime};
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
    let saved = match args.plan.as_deref().map(read_plan).transpose() {
        Ok(saved) => saved,
        Err(e) => {
            render::error(&e);
            return Ok(Outcome::Failed);
        }
    };
    let options = crate::manifest::load::Options {
        allow_empty: args.allow_empty,
    };
    runtime()?.block_on(async {
        // 1. Without a question to ask, the lock comes first, so two applies never plan from
        //    the same state. A question may wait for hours: nobody is locked out meanwhile.
        //    Signals are handled from the moment the lock is held; before, they end the run.
        let interactive = !args.auto_approve && args.plan.is_none();
        let store = ctx.store().await?;
        let early = if interactive {
            None
        } else {
            Some((Signals::listen()?, store.lock("apply")?))
        };
        // A signal while AWS is read lets the reads finish (they block this thread), then
        // apply starts nothing.
        let mut p = match prepare_any(ctx, saved.as_ref(), options, verbose).await? {
            Ok(p) => p,
            Err(n) => return Ok(n.into()),
        };
        if saved.is_none()
            && let Err(e) = p.plan.target(&args.targets)
        {
            render::error(&anyhow::Error::new(e));
            return Ok(Outcome::Failed);
        }
        render::out(&render::text::plan(&p.plan));
        // A saved plan was reviewed when it was made: applying it is the approval.
        if p.plan.has_changes() && !args.auto_approve && saved.is_none() && !confirm()? {
            render::message("Apply cancelled; nothing was changed.\n");
            return Ok(Outcome::Failed);
        }
        // 2. After the answer: the lock, and the state must be the one the plan was made from.
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
        // 3. Apply: a first signal stops new changes, a second stops at once.
        let options = ApplyOptions {
            parallelism: usize::from(args.aws.parallelism),
            wait_timeout: args.wait_timeout,
            cancel: signals.token(),
        };
        let secrets_changed = p.plan.secrets_changed(&p.state);
        let before = p.aws.calls.total();
        let report = match apply_or_stop(&mut p, &options, &signals).await? {
            Ok(report) => report,
            Err(signal) => return Ok(Outcome::Stopped(signal)),
        };
        // 4. The report on stdout; the AWS calls on stderr (`-v`).
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

/// What applying needs, from a saved plan or from the manifests.
async fn prepare_any(
    ctx: &Context,
    saved: Option<&plan::Plan>,
    options: crate::manifest::load::Options,
    verbose: u8,
) -> anyhow::Result<Result<Prepared, super::NotPrepared>> {
    match saved {
        Some(plan) => prepare_saved(ctx, plan, options, verbose).await,
        // Apply always needs the secret values.
        None => prepare(ctx, options, SecretsMode::Resolve, verbose).await,
    }
}

/// Applies the plan; a second signal stops at once, with the signal received.
async fn apply_or_stop(
    p: &mut Prepared,
    options: &ApplyOptions,
    signals: &Signals,
) -> anyhow::Result<Result<apply::Report, crate::signal::Signal>> {
    // The secret checks of this run's fingerprints go with the records apply writes (a check
    // only holds for the fingerprints it was taken with, so a record apply does not bring up
    // to date just fails its bucket's check next time); saved even when nothing changes.
    let new_checks = p.state.secret_checks != p.secret_checks;
    p.state.secret_checks = std::mem::take(&mut p.secret_checks);
    let writes = p.store.writes();
    let applying = apply::apply(&p.aws, &p.plan, &p.desired, &p.store, &mut p.state, options);
    Ok(tokio::select! {
        report = applying => {
            let report = report?;
            if new_checks && p.store.writes() == writes {
                apply::save(&p.store, &mut p.state)?;
            }
            Ok(report)
        }
        () = signals.forced() => {
            render::message(
                "Stopped at once: changes in flight may have happened in AWS; the next \
                 plan finds them.\n",
            );
            Err(signals.received().unwrap_or(crate::signal::Signal::Interrupt))
        }
    })
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

/// Whether the state changed while the plan was shown (another apply ran).
fn state_changed(p: &Prepared) -> anyhow::Result<bool> {
    Ok(match p.store.load()? {
        Some(now) => now != p.state,
        None => p.state.serial != 0,
    })
}

/// What applying a saved plan needs: the manifests only for their secret values, the state
/// (created with the plan's lineage and salt when there is none yet), AWS observed for the
/// plan's own resources, and the check that nothing the plan relied on changed.
async fn prepare_saved(
    ctx: &Context,
    saved: &plan::Plan,
    options: crate::manifest::load::Options,
    verbose: u8,
) -> anyhow::Result<Result<Prepared, super::NotPrepared>> {
    let manifests = match ctx.validate(options, true) {
        Ok(d) => d,
        Err(diags) => {
            render::diagnostics(&diags);
            return Ok(Err(super::NotPrepared::Failed(
                render::failure::Failure::invalid(&diags),
            )));
        }
    };
    let desired = match plan::planned_desired(saved, &manifests) {
        Ok(d) => d,
        Err(e) => {
            let e = anyhow::Error::new(e);
            render::error(&e);
            return Ok(Err(super::NotPrepared::Failed(
                render::failure::Failure::error(&e, None),
            )));
        }
    };
    let store = ctx.store().await?;
    let state = store.load()?.unwrap_or_else(|| crate::state::State {
        lineage: saved.state_lineage.clone(),
        fingerprint_salt: saved.fingerprint_salt.clone(),
        ..crate::state::State::new()
    });
    let g = match observe_all(ctx, desired, store, state, verbose).await? {
        Ok(g) => g,
        Err(n) => return Ok(Err(n)),
    };
    if let Some(n) = super::refuse_unreadable(&g) {
        return Ok(Err(n));
    }
    let mut plan = saved.clone();
    // Nothing it relied on may have changed since it was made.
    if let Err(e) = plan::check_fresh(&plan, &g.state, &g.observed, &g.fingerprints) {
        let e = anyhow::Error::new(e);
        render::error(&e);
        return Ok(Err(super::NotPrepared::Failed(
            render::failure::Failure::error(&e, None),
        )));
    }
    plan.fingerprint_unchecked(&g.state, &g.fingerprints);
    Ok(Ok(g.planned(plan)))
}

/// The saved plan in `file`, if it is a sealed plan this outbound reads and it can run to
/// its end (see [`plan::file::read`]); freshness is checked once AWS is read.
fn read_plan(file: &std::path::Path) -> anyhow::Result<plan::Plan> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("cannot read the plan {}: {e}", file.display()))?;
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
