//! The account guard as the commands call it (SPEC §7): one STS `GetCallerIdentity` before any
//! other AWS call, then the state read and checked; a run in another account or region than
//! the state's, or than the account expected, is refused naming both, with nothing else called.

use super::context::Context;
use crate::aws::guard::identify_from;
use crate::render;
use crate::state::State;
use crate::state::guard::{AccountId, Against, Caller, GuardError, Recorded, check, check_run};
use crate::store::Store;

/// A run the guard let through: who and where it is, the state's store, and the state as read
/// for the check.
pub struct Guarded {
    pub caller: Caller,
    /// The environment whose declared account the credentials were found in, if any: a state
    /// of another account is then the one out of place, and its refusal says so.
    environment: Option<String>,
    pub store: Store,
    /// The state as read for the check; `None` when there is none yet.
    pub state: Option<State>,
}

/// Asks STS who the credentials are (with the environment's configuration, its role
/// assumed), checks that against the account the environment declares, then reads the state and checks its account and region. The
/// STS call is the run's first AWS call; the state's read (an S3 `GetObject`) is the second.
/// `Ok(Err(_))` is a refusal, to be shown with [`refusal`].
pub async fn guarded(ctx: &Context) -> anyhow::Result<Result<Guarded, GuardError>> {
    // 1. Who the credentials are, and the account the environment declares.
    let caller = identify_from(ctx.config().await?).await?;
    let expected = match ctx.expected_account().map(AccountId::parse).transpose() {
        Ok(e) => e,
        Err(why) => anyhow::bail!("the environment's account: {why}"),
    };
    let declared = expected.as_ref().map(|a| (a, ctx.name()));
    if let Err(e) = check_run(&caller, declared, None) {
        return Ok(Err(e));
    }
    let environment = declared.and_then(|(_, name)| name).map(str::to_owned);
    // 2. The state, and the account and region it records.
    let store = ctx.store().await?;
    let state = store.load()?;
    let recorded = state.as_ref().map(State::recorded).unwrap_or_default();
    let location = store.location();
    if let Err(e) = check_run(
        &caller,
        None,
        Some((&location, environment.as_deref(), recorded)),
    ) {
        return Ok(Err(e));
    }
    Ok(Ok(Guarded {
        caller,
        environment,
        store,
        state,
    }))
}

impl Guarded {
    /// Reads the state again (once the lock is held, it may have moved since the check) and
    /// checks it again.
    pub fn reload(&mut self) -> anyhow::Result<Result<(), GuardError>> {
        self.state = self.store.load()?;
        let recorded = self.state.as_ref().map(State::recorded).unwrap_or_default();
        Ok(check_run(
            &self.caller,
            None,
            Some((
                &self.store.location(),
                self.environment.as_deref(),
                recorded,
            )),
        ))
    }

    /// The state to work from (a new one when there is none), stamped with this run's account
    /// and region: a state gains them at its next write.
    pub fn take_state(&mut self, new: impl FnOnce() -> State) -> State {
        let mut state = self.state.take().unwrap_or_else(new);
        state.stamp(&self.caller);
        state
    }

    /// Refuses a saved plan (`file`) made for another account or region than this run's.
    pub fn check_plan(
        &self,
        plan: &crate::plan::Plan,
        file: &std::path::Path,
    ) -> Result<(), GuardError> {
        let recorded = Recorded {
            account: plan.scope.account.as_ref(),
            region: plan.scope.region.as_deref(),
        };
        check(
            &self.caller,
            recorded,
            &Against::Plan(file.display().to_string()),
        )
    }
}

/// Prints a refusal of the guard (`error:` and its hint) and returns it as the failure a
/// command renders on stdout for the formats bots read.
pub fn refusal(e: GuardError) -> super::NotPrepared {
    let hint = e.hint();
    let e = anyhow::Error::new(e);
    render::error(&e);
    render::message(&format!("  hint: {hint}\n"));
    super::NotPrepared::Failed(render::failure::Failure::error(&e, Some(hint)))
}

/// A guard that could not ask STS because AWS did not answer (a dead endpoint, a timeout,
/// throttling): one line, and the run is incomplete (exit 3), as when resources cannot be
/// read; nothing was checked. Any other error (no credentials, no region) is left to the
/// caller.
pub fn unreachable(e: anyhow::Error) -> anyhow::Result<super::NotPrepared> {
    use crate::aws::{AwsError, ErrorClass};
    match e.downcast_ref::<AwsError>() {
        Some(aws) if aws.class != ErrorClass::Invalid => {
            render::message(&format!(
                "error: AWS could not be read, so nothing was checked: {aws}\n"
            ));
            Ok(super::NotPrepared::Incomplete(
                render::failure::Failure::error(&e, None),
            ))
        }
        _ => Err(e),
    }
}
