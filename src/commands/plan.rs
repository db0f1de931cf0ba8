//! `outbound plan`: validate -> state -> observe -> diff -> plan -> render. Changes nothing.
//! With `--env all`, every environment of the project file, concurrently, in one report.

use std::collections::BTreeMap;

use super::context::{Context, contexts};
use super::{NotPrepared, Outcome, prepare, refused, runtime};
use crate::cli::{Format, GlobalArgs, PlanArgs, SecretsMode};
use crate::render;
use crate::render::failure::Failure;

/// Plans; a plan that could not be made is also rendered on stdout (Markdown, JSON), so a
/// bot posting stdout never posts an empty comment.
pub fn run(args: &PlanArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let contexts = match contexts(global, &args.paths.paths, &args.aws, "plan", true) {
        Ok(c) => c,
        Err(e) => return finish("plan", args.format, Err(e)),
    };
    if global.env.as_deref() == Some(crate::project::ALL) {
        if args.out.is_some() {
            anyhow::bail!("--out saves the plan of one environment; plan them one at a time");
        }
        return Ok(each("plan", args.format, &contexts, |ctx| {
            plan(ctx, args, global.verbose)
        }));
    }
    let Some(ctx) = contexts.first() else {
        return Ok(Outcome::Failed);
    };
    let (out, outcome) = section(
        "plan",
        args.format,
        ctx.name(),
        plan(ctx, args, global.verbose),
    );
    render::out(&out);
    outcome
}

/// The outcome of `command`; a failure is also rendered on stdout in `format` (text: nothing
/// there, stderr has it all). An error is left for main to print on stderr, like every
/// command's errors.
pub(super) fn finish(
    command: &str,
    format: Format,
    result: anyhow::Result<Result<Outcome, NotPrepared>>,
) -> anyhow::Result<Outcome> {
    let result = result.map(|r| r.map(|o| (String::new(), o)));
    let (out, outcome) = section(command, format, None, result);
    render::out(&out);
    outcome
}

/// What one environment's run prints on stdout in `format` (a failure too, except in text,
/// where stderr has it all), and its outcome. With an environment `name`, Markdown names it.
pub(super) fn section(
    command: &str,
    format: Format,
    name: Option<&str>,
    result: anyhow::Result<Result<(String, Outcome), NotPrepared>>,
) -> (String, anyhow::Result<Outcome>) {
    let named = |md: String| match name {
        Some(n) => render::envs::markdown(command, n, &md),
        None => md,
    };
    let (failure, outcome) = match result {
        Ok(Ok((out, outcome))) => {
            let out = if format == Format::Markdown {
                named(out)
            } else {
                out
            };
            return (out, Ok(outcome));
        }
        Ok(Err(NotPrepared::Failed(f))) => (f, Ok(Outcome::Failed)),
        Ok(Err(NotPrepared::Incomplete(f))) => (f, Ok(Outcome::Incomplete)),
        // A problem with the project file or --env, already printed on stderr.
        Err(e) if e.is::<super::context::Reported>() => {
            let f = Failure::error(
                &anyhow::anyhow!("the environment could not be chosen; see stderr"),
                None,
            );
            (f, Err(e))
        }
        Err(e) => (Failure::error(&e, None), Err(e)),
    };
    let out = match format {
        Format::Text => String::new(),
        Format::Json => render::failure::json(&failure),
        Format::Markdown => named(render::failure::markdown(command, &failure)),
    };
    (out, outcome)
}

/// The stack of an environment's thread (the main thread's size on Linux).
const STACK: usize = 8 * 1024 * 1024;

/// Runs `run` for every environment at once (a thread and a runtime each, so each has its
/// own credentials and rate limits) and prints one report with a section per environment;
/// the outcome is the most severe.
pub(super) fn each<F>(command: &str, format: Format, contexts: &[Context], run: F) -> Outcome
where
    F: Fn(&Context) -> anyhow::Result<Result<(String, Outcome), NotPrepared>> + Sync,
{
    let results: Vec<(String, String, Outcome)> = std::thread::scope(|s| {
        let handles: Vec<_> = contexts
            .iter()
            .map(|ctx| {
                let run = &run;
                // The main thread's stack, not a spawned thread's default 2 MiB: a plan's
                // futures nest deep.
                std::thread::Builder::new()
                    .name(format!("env-{}", ctx.name().unwrap_or_default()))
                    .stack_size(STACK)
                    .spawn_scoped(s, move || {
                        let name = ctx.name().unwrap_or_default().to_owned();
                        render::envs::prefix_messages(&name);
                        let (out, outcome) = section(command, format, Some(&name), run(ctx));
                        let outcome = outcome.unwrap_or_else(|e| {
                            render::error(&e.context(format!("environment {name}")));
                            Outcome::Failed
                        });
                        (name, out, outcome)
                    })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h.map(|h| h.join()) {
                Ok(Ok(done)) => done,
                _ => (String::new(), String::new(), Outcome::Failed),
            })
            .collect()
    });
    let outcome = Outcome::most_severe(results.iter().map(|r| r.2));
    let sections: BTreeMap<String, String> = results
        .into_iter()
        .map(|(name, out, outcome)| {
            let out = if out.is_empty() && format == Format::Text {
                format!(
                    "{command} failed (exit {}); see the messages above\n",
                    outcome.exit_code()
                )
            } else {
                out
            };
            (name, out)
        })
        .collect();
    render::out(&match format {
        Format::Text => render::envs::text(&sections),
        Format::Json => render::envs::json(&sections),
        Format::Markdown => render::envs::markdown_all(&sections),
    });
    outcome
}

fn plan(
    ctx: &Context,
    args: &PlanArgs,
    verbose: u8,
) -> anyhow::Result<Result<(String, Outcome), NotPrepared>> {
    let options = crate::manifest::load::Options {
        allow_empty: args.allow_empty,
    };
    runtime()?.block_on(async {
        let mut prepared = match prepare(ctx, options, args.secrets, verbose).await? {
            Ok(p) => p,
            Err(n) => return Ok(Err(n)),
        };
        prepared.plan.secrets_checked = args.secrets == SecretsMode::Resolve;
        // A saved plan is applied in its environment only.
        prepared.plan.scope.environment = ctx.name().map(str::to_owned);
        let all = prepared.plan.changes.len();
        if let Err(e) = prepared.plan.target(&args.targets) {
            return Ok(Err(refused(e)));
        }
        prepared.plan.scope.targets.clone_from(&args.targets);
        let parallelism = usize::from(ctx.aws.parallelism);
        if let Some(n) = super::in_use::refuse(&prepared, parallelism).await {
            return Ok(Err(n));
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
        let out = match args.format {
            Format::Text => render::text::plan(plan) + &skipped,
            Format::Json => render::json::plan(plan),
            Format::Markdown if skipped.is_empty() => render::markdown::plan(plan),
            Format::Markdown => format!("{}\n```\n{skipped}```\n", render::markdown::plan(plan)),
        };
        let outcome = if args.detailed_exitcode && plan.has_changes() {
            Outcome::Changes
        } else {
            Outcome::Success
        };
        Ok(Ok((out, outcome)))
    })
}
