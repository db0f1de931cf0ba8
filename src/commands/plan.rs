//! `outbound plan`: validate -> state -> observe -> diff -> plan -> render. Changes nothing.

use super::{Outcome, prepare, runtime};
use crate::cli::{Format, PlanArgs};
use crate::render;

pub fn run(args: &PlanArgs, verbose: u8) -> anyhow::Result<Outcome> {
    let options = crate::manifest::load::Options {
        allow_empty: args.allow_empty,
    };
    runtime()?.block_on(async {
        let mut prepared = match prepare(&args.paths.paths, options, &args.aws, verbose).await? {
            Ok(p) => p,
            Err(n) => return Ok(n.into()),
        };
        let all = prepared.plan.changes.len();
        if let Err(e) = prepared.plan.target(&args.targets) {
            let hint = e.hint();
            render::error(&anyhow::Error::new(e));
            if let Some(h) = hint {
                render::message(&format!("  hint: {h}\n"));
            }
            return Ok(Outcome::Failed);
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
        render::out(&match args.format {
            Format::Text => render::text::plan(plan),
            Format::Json => render::json::plan(plan),
            Format::Markdown => render::markdown::plan(plan),
        });
        if args.detailed_exitcode && plan.has_changes() {
            Ok(Outcome::Changes)
        } else {
            Ok(Outcome::Success)
        }
    })
}
