//! `outbound unlock LOCK_ID`: removes the state's lock if its id matches (Terraform's
//! `force-unlock`), for a run that died without releasing it.

use super::{Outcome, aws_options, runtime};
use crate::cli::UnlockArgs;
use crate::render;

pub fn run(args: &UnlockArgs) -> anyhow::Result<Outcome> {
    runtime()?.block_on(async {
        let store = crate::store::open(&args.aws.state, &aws_options(&args.aws)).await?;
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
