//! `outbound apply`: lock -> plan (or a saved plan, checked fresh) -> confirm -> apply ->
//! report.

use std::io::{BufRead, IsTerminal};

use super::{Outcome, prepare, runtime};
use crate::apply::{self, ApplyOptions};
use crate::cli::ApplyArgs;
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
        let mut p = match prepare(&args.paths.paths, &args.aws, verbose).await? {
            Ok(p) => p,
            Err(n) => return Ok(n.into()),
        };
        if let Some(plan) = saved.clone() {
            // 2. Nothing it relied on may have changed since it was made.
            if let Err(e) = plan::check_fresh(&plan, &p.state, &p.observed, &p.fingerprints) {
                render::error(&anyhow::Error::new(e));
                return Ok(Outcome::Failed);
            }
            p.plan = plan;
        } else if let Err(e) = p.plan.target(&args.targets) {
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
        Ok(if report.failed() {
            Outcome::Failed
        } else {
            Outcome::Success
        })
    })
}

/// The saved plan in `file`, if it is a plan this outbound reads and it can run to its end
/// (see [`plan::Plan::check_consistent`]); freshness is checked once AWS is read.
fn read_plan(file: &std::path::Path) -> anyhow::Result<plan::Plan> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("cannot read the plan {}: {e}", file.display()))?;
    let saved: plan::file::PlanFile = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a plan made by `outbound plan --out`: {e}",
            file.display()
        )
    })?;
    anyhow::ensure!(
        saved.format_version == plan::file::FORMAT_VERSION,
        "{} has plan format {}; this outbound reads {}",
        file.display(),
        saved.format_version,
        plan::file::FORMAT_VERSION
    );
    let saved = saved.into_plan();
    saved.check_consistent().map_err(|e| {
        anyhow::Error::new(e).context(format!("{} cannot be applied", file.display()))
    })?;
    Ok(saved)
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
