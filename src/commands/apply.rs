//! `outbound apply`: lock -> plan (or a saved plan, checked fresh) -> confirm -> apply ->
//! report.

use std::io::{BufRead, IsTerminal};

use super::{Outcome, Prepared, observe_all, prepare, runtime};
use crate::apply::{self, ApplyOptions};
use crate::cli::{ApplyArgs, SecretsMode};
use crate::plan;
use crate::render;
use crate::state;

pub fn run(args: &ApplyArgs, verbose: u8) -> anyhow::Result<Outcome> {
    // The lock comes first, so two applies never plan from the same state.
    let _lock = state::open(&args.aws.state)?.lock("apply")?;
    // 1. A saved plan is read and checked before any AWS call.
    let saved = match args.plan.as_deref().map(read_plan).transpose() {
        Ok(saved) => saved,
        Err(e) => {
            render::error(&e);
            return Ok(Outcome::Failed);
        }
    };
    runtime()?.block_on(async {
        let prepared = match &saved {
            Some(plan) => prepare_saved(plan, args, verbose).await?,
            // Apply always needs the secret values.
            None => prepare(&args.paths.paths, &args.aws, SecretsMode::Resolve, verbose).await?,
        };
        let mut p = match prepared {
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
        let options = ApplyOptions {
            parallelism: usize::from(args.aws.parallelism),
            wait_timeout: args.wait_timeout,
        };
        let secrets_changed = p.plan.secrets_changed(&p.state);
        let before = p.aws.calls.total();
        let report = apply::apply(
            &p.aws,
            &p.plan,
            &p.desired,
            &p.store,
            &mut p.state,
            &options,
        )
        .await?;
        if verbose > 0 {
            render::message(&format!(
                "apply: {} (of which {} to apply)\n",
                p.aws.calls,
                p.aws.calls.total() - before
            ));
        }
        if !report.rows.is_empty() {
            render::out(&render::text::report(&report));
        }
        let sent: Vec<String> = report
            .rows
            .iter()
            .filter(|r| r.outcome == apply::Outcome::Done)
            .filter_map(|r| {
                let paths = secrets_changed.get(&r.address)?;
                Some(format!(
                    "{}: secret value changed since the last apply ({})\n",
                    r.address,
                    paths.join(", ")
                ))
            })
            .collect();
        if !sent.is_empty() {
            render::out(&sent.concat());
        }
        Ok(if report.failed() {
            Outcome::Failed
        } else {
            Outcome::Success
        })
    })
}

/// What applying a saved plan needs: the manifests only for their secret values, the state
/// (created with the plan's lineage and salt when there is none yet), AWS observed for the
/// plan's own resources, and the check that nothing the plan relied on changed.
async fn prepare_saved(
    saved: &plan::Plan,
    args: &ApplyArgs,
    verbose: u8,
) -> anyhow::Result<Result<Prepared, super::NotPrepared>> {
    let manifests = match crate::manifest::validate(&args.paths.paths) {
        Ok(d) => d,
        Err(diags) => {
            render::diagnostics(&diags);
            return Ok(Err(super::NotPrepared::Failed));
        }
    };
    let desired = match plan::planned_desired(saved, &manifests) {
        Ok(d) => d,
        Err(e) => {
            render::error(&anyhow::Error::new(e));
            return Ok(Err(super::NotPrepared::Failed));
        }
    };
    let store = state::open(&args.aws.state)?;
    let state = store.load()?.unwrap_or_else(|| state::State {
        lineage: saved.state_lineage.clone(),
        fingerprint_salt: saved.fingerprint_salt.clone(),
        ..state::State::new()
    });
    let g = match observe_all(desired, store, state, &args.aws, verbose).await? {
        Ok(g) => g,
        Err(n) => return Ok(Err(n)),
    };
    if let Some(n) = super::refuse_unreadable(&g) {
        return Ok(Err(n));
    }
    let mut plan = saved.clone();
    // Nothing it relied on may have changed since it was made.
    if let Err(e) = plan::check_fresh(&plan, &g.state, &g.observed, &g.fingerprints) {
        render::error(&anyhow::Error::new(e));
        return Ok(Err(super::NotPrepared::Failed));
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
