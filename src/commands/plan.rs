//! `outbound plan`: validate -> state -> observe -> diff -> plan -> render. Changes nothing.

use super::{NotPrepared, Outcome, prepare, refused, runtime};
use crate::cli::{Format, PlanArgs, SecretsMode};
use crate::render;
use crate::render::failure::Failure;

/// Plans; a plan that could not be made is also rendered on stdout (Markdown, JSON), so a
/// bot posting stdout never posts an empty comment.
pub fn run(args: &PlanArgs, verbose: u8) -> anyhow::Result<Outcome> {
    finish("plan", args.format, plan(args, verbose))
}

/// The outcome of `command`; a failure is also rendered on stdout in `format` (text: nothing
/// there, stderr has it all). An error is left for main to print on stderr, like every
/// command's errors.
pub(super) fn finish(
    command: &str,
    format: Format,
    result: anyhow::Result<Result<Outcome, NotPrepared>>,
) -> anyhow::Result<Outcome> {
    let (failure, outcome) = match &result {
        Ok(Ok(outcome)) => return Ok(*outcome),
        Ok(Err(NotPrepared::Failed(f))) => (f.clone(), Outcome::Failed),
        Ok(Err(NotPrepared::Incomplete(f))) => (f.clone(), Outcome::Incomplete),
        Err(e) => (Failure::error(e, None), Outcome::Failed),
    };
    match format {
        Format::Text => {}
        Format::Json => render::out(&render::failure::json(&failure)),
        Format::Markdown => render::out(&render::failure::markdown(command, &failure)),
    }
    result.map(|_| outcome)
}

fn plan(args: &PlanArgs, verbose: u8) -> anyhow::Result<Result<Outcome, NotPrepared>> {
    let options = crate::manifest::load::Options {
        allow_empty: args.allow_empty,
    };
    runtime()?.block_on(async {
        let mut prepared = match prepare(&args.paths.paths, options, &args.aws, args.secrets, verbose).await? {
            Ok(p) => p,
            Err(n) => return Ok(Err(n)),
        };
        prepared.plan.secrets_checked = args.secrets == SecretsMode::Resolve;
        let all = prepared.plan.changes.len();
        if let Err(e) = prepared.plan.target(&args.targets) {
            return Ok(Err(refused(e)));
        }
        let plan = &prepared.plan;
        if !args.targets.is_empty() {
            render::message(&format!(
                "note: a targeted plan: {} of {} resources left out; a full plan may show more changes\n",
                all - plan.changes.len(),
                all
            ));
        }
        if let Some(file) = &args.out {
            std::fs::write(file, render::json::plan(plan))
                .map_err(|e| anyhow::anyhow!("cannot write the plan to {}: {e}", file.display()))?;
            render::message(&format!(
                "Saved the plan to {}; apply exactly it with `outbound apply --plan {}`.\n",
                file.display(),
                file.display()
            ));
        }
        for warning in crate::drift::expiring(plan, std::time::SystemTime::now(), args.expiry_warning) {
            render::message(&format!("warning: {warning}\n"));
        }
        let skipped = render::text::not_compared(plan);
        render::out(&match args.format {
            Format::Text => render::text::plan(plan) + &skipped,
            Format::Json => render::json::plan(plan),
            Format::Markdown if skipped.is_empty() => render::markdown::plan(plan),
            Format::Markdown => format!("{}\n```\n{skipped}```\n", render::markdown::plan(plan)),
        });
        if args.detailed_exitcode && plan.has_changes() {
            Ok(Ok(Outcome::Changes))
        } else {
            Ok(Ok(Outcome::Success))
        }
    })
}
