//! `outbound unlock LOCK_ID`: removes the state's lock if its id matches (Terraform's
//! `force-unlock`), for a run that died without releasing it.

use super::{Outcome, aws_options, runtime};
use crate::cli::UnlockArgs;
use crate::render;

pub fn run(args: &UnlockArgs) -> anyhow::Result<Outcome> {
    runtime()?.block_on(async {
        let store = crate::store::open(&args.aws.state, &aws_options(&args.aws)).await?;
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
