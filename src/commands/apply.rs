//! `outbound apply`: lock -> plan -> confirm -> apply -> report.

use std::io::{BufRead, IsTerminal};

use super::{Outcome, prepare, runtime};
use crate::apply::{self, ApplyOptions};
use crate::cli::ApplyArgs;
use crate::{render, state};

pub fn run(args: &ApplyArgs, verbose: u8) -> anyhow::Result<Outcome> {
    // The lock comes first, so two applies never plan from the same state.
    let _lock = state::open(&args.aws.state)?.lock("apply")?;
    runtime()?.block_on(async {
        let mut p = match prepare(&args.paths.paths, &args.aws, verbose).await? {
            Ok(p) => p,
            Err(n) => return Ok(n.into()),
        };
        render::out(&render::text::plan(&p.plan));
        if p.plan.has_changes() && !args.auto_approve && !confirm()? {
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
