//! `outbound unlock LOCK_ID`: removes the state's lock if its id matches (Terraform's
//! `force-unlock`), for a run that died without releasing it.

use super::{Outcome, runtime};
use crate::cli::{GlobalArgs, UnlockArgs};
use crate::render;

pub fn run(args: &UnlockArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let contexts = super::context::contexts(global, &[], &args.aws, "unlock", false)?;
    let Some(ctx) = contexts.first() else {
        return Ok(Outcome::Failed);
    };
    runtime()?.block_on(async {
        let store = ctx.store().await?;
        let held = store.unlock(&args.id)?;
        render::message(&format!(
            "Removed the lock {} of state {}, held by {}.\n",
            held.id,
            store.location(),
            held.holder()
        ));
        Ok(Outcome::Success)
    })
}
