//! `outbound plan`: validate -> state -> observe -> diff -> plan -> render. Changes nothing.

use super::{Outcome, prepare, runtime};
use crate::cli::PlanArgs;
use crate::render;

pub fn run(args: &PlanArgs, verbose: u8) -> anyhow::Result<Outcome> {
    runtime()?.block_on(async {
        let prepared = match prepare(&args.paths.paths, &args.aws, verbose).await? {
            Ok(p) => p,
            Err(n) => return Ok(n.into()),
        };
        render::out(&render::text::plan(&prepared.plan));
        if args.detailed_exitcode && prepared.plan.has_changes() {
            Ok(Outcome::Changes)
        } else {
            Ok(Outcome::Success)
        }
    })
}
