//! `outbound unlock LOCK_ID`: removes the state's lock if its id matches (Terraform's
//! `force-unlock`), for a run that died without releasing it.

use super::{Outcome, guarded, runtime};
use crate::cli::{GlobalArgs, UnlockArgs};
use crate::render;

pub fn run(args: &UnlockArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let contexts = super::context::contexts(global, &[], &args.aws, "unlock", false)?;
    let Some(ctx) = contexts.first() else {
        return Ok(Outcome::Failed);
    };
    runtime()?.block_on(async {
        // The account guard first: a state of another account or region is not unlocked here.
        let store = match guarded(ctx).await? {
            Ok(g) => g.store,
            Err(e) => return Ok(super::guard::refusal(e).into()),
        };
        let removed = match store.unlock(&args.id)? {
            crate::store::Removed::Lock(held) => format!("held by {}", held.holder()),
            crate::store::Removed::Unreadable => "which could not be read".to_owned(),
        };
        render::message(&format!(
            "Removed the lock {} of state {}, {removed}.\n",
            args.id,
            store.location(),
        ));
        Ok(Outcome::Success)
    })
}
