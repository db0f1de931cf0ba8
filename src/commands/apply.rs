//! `outbound apply`: lock -> plan (or a saved plan, checked fresh) -> confirm -> apply ->
//! report.

use std::io::{BufRead, IsTerminal};

use super::{Outcome, Prepared, prepare, runtime};
use crate::apply::{self, ApplyOptions};
use crate::cli::ApplyArgs;
use crate::plan;
use crate::render;
use crate::state;

pub fn run(args: &ApplyArgs, verbose: u8) -> anyhow::Result<Outcome> {
    // The lock comes first, so two applies never plan from the same state.
    let _lock = state::open(&args.aws.state)?.lock("apply")?;
    let options = crate::manifest::load::Options {
        allow_empty: args.allow_empty,
    };
    runtime()?.block_on(async {
        let mut p = match prepare(&args.paths.paths, options, &args.aws, verbose).await? {
            Ok(p) => p,
            Err(n) => return Ok(n.into()),
        };
        let saved = args.plan.is_some();
        if let Some(file) = &args.plan {
            match saved_plan(file, &p) {
                Ok(plan) => p.plan = plan,
                Err(e) => {
                    render::error(&e);
                    return Ok(Outcome::Failed);
                }
            }
        } else if let Err(e) = p.plan.target(&args.targets) {
            render::error(&anyhow::Error::new(e));
            return Ok(Outcome::Failed);
        }
        render::out(&render::text::plan(&p.plan));
        // A saved plan was reviewed when it was made: applying it is the approval.
        if p.plan.has_changes() && !args.auto_approve && !saved && !confirm()? {
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

/// The saved plan in `file`, if nothing it relied on changed since it was made (`p` holds
/// the state and AWS as they are now).
fn saved_plan(file: &std::path::Path, p: &Prepared) -> anyhow::Result<plan::Plan> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("cannot read the plan {}: {e}", file.display()))?;
    let saved: render::json::PlanFile = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a plan made by `outbound plan --out`: {e}",
            file.display()
        )
    })?;
    anyhow::ensure!(
        saved.format_version == render::json::FORMAT_VERSION,
        "{} has plan format {}; this outbound reads {}",
        file.display(),
        saved.format_version,
        render::json::FORMAT_VERSION
    );
    let saved = saved.into_plan();
    plan::check_fresh(&saved, &p.state, &p.observed, &p.fingerprints)?;
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
