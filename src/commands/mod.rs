//! One file per subcommand, each wiring the stages it needs; [`Outcome`] decides exit codes.

pub mod apply;
pub mod completions;
pub mod context;
pub mod drift;
pub mod envs;
pub mod guard;
pub mod import;
pub mod in_use;
pub mod plan;
pub mod schema;
pub mod unlock;
pub mod validate;

use crate::cli::{Cli, Command};
pub use guard::{Guarded, guarded};

/// How a command ended; the only place exit codes are decided (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Success, or nothing to do.
    Success,
    /// An error: invalid input, a failed action, a refused apply.
    Failed,
    /// Changes present (`plan --detailed-exitcode`) or drift found (`drift`).
    Changes,
    /// Some resources could not be checked; never reported as in sync.
    Incomplete,
    /// Stopped by a signal: 128 + its number, as shells report it (130 SIGINT, 143 SIGTERM).
    Stopped(crate::signal::Signal),
}

impl Outcome {
    /// The outcome of several environments' runs: the most severe (SPEC §7: an error, then
    /// incomplete, then changes, then success; a signal stops everything).
    pub fn most_severe(outcomes: impl IntoIterator<Item = Outcome>) -> Outcome {
        let rank = |o: &Outcome| match o {
            Outcome::Stopped(_) => 5,
            Outcome::Failed => 4,
            Outcome::Incomplete => 3,
            Outcome::Changes => 2,
            Outcome::Success => 1,
        };
        outcomes
            .into_iter()
            .max_by_key(rank)
            .unwrap_or(Outcome::Success)
    }

    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Failed => 1,
            Outcome::Changes => 2,
            Outcome::Incomplete => 3,
            Outcome::Stopped(signal) => signal.exit_code(),
        }
    }
}

/// Runs the command `cli` names.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Validate(args) => validate::run(&args.paths.paths, args.secrets, &cli.global),
        Command::Plan(args) => plan::run(&args, &cli.global),
        Command::Apply(args) => apply::run(&args, &cli.global),
        Command::Drift(args) => drift::run(&args, &cli.global),
        Command::Import(args) => import::run(&args, &cli.global),
        Command::Schema { of } => schema::run(of),
        Command::Envs(args) => envs::run(&args, &cli.global),
        Command::Completions { shell } => completions::run(shell),
        Command::Unlock(args) => unlock::run(&args, &cli.global),
    }
}

/// Everything `plan` and `apply` share: manifests validated, state read, AWS observed.
pub struct Prepared {
    pub desired: crate::manifest::DesiredState,
    pub store: crate::store::Store,
    pub state: crate::state::State,
    pub aws: std::sync::Arc<crate::aws::Aws>,
    pub plan: crate::plan::Plan,
    /// What AWS held, and the fingerprints of this run's secrets (a saved plan is checked
    /// against both).
    pub observed: std::collections::BTreeMap<crate::resource::Address, crate::live::Observed>,
    pub fingerprints: std::collections::BTreeMap<
        crate::resource::Address,
        std::collections::BTreeMap<crate::resource::FieldPath, String>,
    >,
    /// The secret checks a state holding these fingerprints keeps (apply records them).
    pub secret_checks: std::collections::BTreeMap<String, String>,
}

/// Why a plan could not be made (already printed on stderr; `plan` and `drift` also render
/// it on stdout for the formats bots read); `Outcome` says how to exit.
pub enum NotPrepared {
    Failed(crate::render::failure::Failure),
    Incomplete(crate::render::failure::Failure),
}

/// Where and as whom to call AWS, for the state backend and the services alike.
pub fn aws_options(args: &crate::cli::AwsArgs) -> crate::aws::AwsOptions {
    crate::aws::AwsOptions {
        region: args.region.clone(),
        profile: args.profile.clone(),
        endpoint_url: args.endpoint_url.clone(),
        rate_limits: args.rate_limit,
        connect_timeout: args.connect_timeout,
        request_timeout: args.request_timeout,
    }
}

/// A runtime for the AWS calls; the stages themselves are sync.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// What a plan is made from: manifests validated, state read, AWS observed.
pub struct Gathered {
    pub desired: crate::manifest::DesiredState,
    pub store: crate::store::Store,
    pub state: crate::state::State,
    pub aws: std::sync::Arc<crate::aws::Aws>,
    /// What AWS holds for every address it could be asked about.
    pub observed: std::collections::BTreeMap<crate::resource::Address, crate::live::Observed>,
    /// Addresses AWS could not be read for (throttled, access denied, ...), with the error:
    /// neither present nor absent, so never to be reported as in sync.
    pub unreadable: std::collections::BTreeMap<crate::resource::Address, crate::aws::AwsError>,
    /// Secret fingerprints of the manifests, by address and path.
    pub fingerprints: std::collections::BTreeMap<
        crate::resource::Address,
        std::collections::BTreeMap<crate::resource::FieldPath, String>,
    >,
    /// The secret checks a state holding these fingerprints keeps.
    pub secret_checks: std::collections::BTreeMap<String, String>,
}

/// Validates, reads the state, observes AWS and plans. Problems are printed here.
pub async fn prepare(
    ctx: &context::Context,
    options: crate::manifest::load::Options,
    secrets: crate::cli::SecretsMode,
    verbose: u8,
) -> anyhow::Result<Result<Prepared, NotPrepared>> {
    match validated(ctx, options, secrets) {
        Ok(desired) => prepare_from(ctx, desired, verbose, None).await,
        Err(n) => Ok(Err(n)),
    }
}

/// [`prepare`] from manifests already validated; `guard`: the run the account guard let
/// through, when the command called it already (apply, to lock before the state is read),
/// else it is called here.
pub async fn prepare_from(
    ctx: &context::Context,
    desired: crate::manifest::DesiredState,
    verbose: u8,
    guard: Option<Guarded>,
) -> anyhow::Result<Result<Prepared, NotPrepared>> {
    use crate::plan;
    let g = match gather_from(ctx, desired, verbose, guard).await? {
        Ok(g) => g,
        Err(n) => return Ok(Err(n)),
    };
    if let Some(n) = refuse_unreadable(&g) {
        return Ok(Err(n));
    }
    match plan::build(&g.desired, &g.state, &g.observed, &g.fingerprints) {
        Ok(plan) => Ok(Ok(g.planned(plan))),
        Err(e) => Ok(Err(refused(e))),
    }
}

/// A plan refused (protected resources, unknown target, ...): `error:` and its hint on
/// stderr, and the failure for stdout.
pub fn refused(e: crate::plan::PlanError) -> NotPrepared {
    use crate::render;
    let hint = e.hint();
    // A plan refused for a protected resource is still shown whole (on stderr: stdout keeps
    // only what the format asked for), the refused changes marked.
    let shown = match &e {
        crate::plan::PlanError::Protected(_, plan) => Some(plan.clone()),
        _ => None,
    };
    if let Some(plan) = &shown {
        render::message(&render::text::plan(plan));
    }
    let e = anyhow::Error::new(e);
    render::error(&e);
    if let Some(h) = &hint {
        render::message(&format!("  hint: {h}\n"));
    }
    let mut failure = render::failure::Failure::error(&e, hint);
    failure.refused_plan = shown.map(|p| render::markdown::refused(&p));
    NotPrepared::Failed(failure)
}

/// A plan needs every resource read: an unreadable one is neither present nor absent. Says
/// which could not be read, if any.
pub fn refuse_unreadable(g: &Gathered) -> Option<NotPrepared> {
    use crate::render;
    if g.unreadable.is_empty() {
        return None;
    }
    let lines: Vec<String> = g
        .unreadable
        .iter()
        .map(|(address, e)| format!("  {address}: {e}"))
        .collect();
    render::message(&format!(
        "error: {} could not be read from AWS, so no plan was made:\n{}\n",
        render::count(lines.len(), "resource"),
        lines.join("\n")
    ));
    Some(NotPrepared::Incomplete(
        render::failure::Failure::unreadable(&g.unreadable),
    ))
}

/// Validates, guards the account, reads the state (without a lock) and observes AWS; what AWS
/// could not be read for is returned in [`Gathered::unreadable`], not printed. Invalid
/// manifests and a refusal of the guard are printed here. With
/// [`SecretsMode::Skip`](crate::cli::SecretsMode) no secret is resolved.
pub async fn gather(
    ctx: &context::Context,
    options: crate::manifest::load::Options,
    secrets: crate::cli::SecretsMode,
    verbose: u8,
) -> anyhow::Result<Result<Gathered, NotPrepared>> {
    match validated(ctx, options, secrets) {
        Ok(desired) => gather_from(ctx, desired, verbose, None).await,
        Err(n) => Ok(Err(n)),
    }
}

/// The environment's manifests validated (their problems printed): nothing reaches AWS
/// unless they are.
pub fn validated(
    ctx: &context::Context,
    options: crate::manifest::load::Options,
    secrets: crate::cli::SecretsMode,
) -> Result<crate::manifest::DesiredState, NotPrepared> {
    use crate::render;
    let resolve = secrets == crate::cli::SecretsMode::Resolve;
    ctx.validate(options, resolve).map_err(|diags| {
        render::diagnostics(&diags);
        NotPrepared::Failed(render::failure::Failure::invalid(&diags))
    })
}

/// [`gather`] from manifests already validated: the account guard (the first AWS call, unless
/// `guard` is the run it let through), the state it checked, AWS observed.
pub async fn gather_from(
    ctx: &context::Context,
    desired: crate::manifest::DesiredState,
    verbose: u8,
    guard: Option<Guarded>,
) -> anyhow::Result<Result<Gathered, NotPrepared>> {
    // A configuration error is found before any AWS call.
    crate::state::fingerprint::Scheme::from_env()?;
    let mut guard = match guard {
        Some(g) => g,
        None => match guarded(ctx).await {
            Ok(Ok(g)) => g,
            Ok(Err(e)) => return Ok(Err(guard::refusal(e))),
            Err(e) => return guard::unreachable(e).map(Err),
        },
    };
    let state = guard.take_state(crate::state::State::new);
    observe_all(ctx, desired, guard.store, state, verbose).await
}

/// Observes AWS for every address `desired` or `state` names, while the secret fingerprints
/// of `desired` are computed (how: `OUTBOUND_FINGERPRINT_KEY`).
#[allow(
    clippy::expect_used,
    reason = "a fingerprinting thread that panicked is a bug"
)]
pub async fn observe_all(
    ctx: &context::Context,
    desired: crate::manifest::DesiredState,
    store: crate::store::Store,
    state: crate::state::State,
    verbose: u8,
) -> anyhow::Result<Result<Gathered, NotPrepared>> {
    use crate::{observe, render, state};
    let scheme = state::fingerprint::Scheme::from_env()?;
    // 3. AWS, with this run's secret values scrubbed from any error it reports.
    let secrets: Vec<String> = desired
        .resources
        .values()
        .flat_map(|r| r.secrets.values().map(|s| s.expose().to_owned()))
        .collect();
    let aws = std::sync::Arc::new(ctx.clients(secrets).await?);
    let args = &ctx.aws;
    // 4. Observe AWS while the secret fingerprints are computed.
    let salt = state.fingerprint_salt.clone();
    let refresh = match args.refresh {
        crate::cli::Refresh::Changed => observe::Refresh::Changed,
        crate::cli::Refresh::Full => observe::Refresh::Full,
    };
    let (observed, taken) = std::thread::scope(|s| {
        let fps = s.spawn(|| {
            state::fingerprint::all_with(
                &desired,
                &salt,
                &scheme,
                &state.resources,
                &state.secret_checks,
            )
        });
        let observed = tokio::task::block_in_place(|| {
            // A first signal (apply, import) stops the reads: `crate::signal::Stopped`.
            tokio::runtime::Handle::current().block_on(crate::signal::unless_stopped(
                observe::observe(
                    aws.as_ref(),
                    &desired,
                    &state,
                    usize::from(args.parallelism),
                    refresh,
                ),
            ))
        });
        (observed, fps.join().expect("fingerprinting does not panic"))
    });
    let (observation, reads) = observed?;
    render::message(&format!(
        "Read {}: {} from List pages, {} described.\n",
        render::count(reads.from_list + reads.described, "resource"),
        reads.from_list,
        reads.described
    ));
    if verbose > 0 {
        render::message(&format!("observe: {}\n", aws.calls));
    }
    let mut observed = std::collections::BTreeMap::new();
    let mut unreadable = std::collections::BTreeMap::new();
    for (address, result) in observation {
        match result {
            Ok(o) => {
                observed.insert(address, o);
            }
            Err(e) => {
                unreadable.insert(address, e);
            }
        }
    }
    Ok(Ok(Gathered {
        desired,
        store,
        state,
        aws,
        observed,
        unreadable,
        fingerprints: taken.fingerprints,
        secret_checks: taken.checks,
    }))
}

impl Gathered {
    /// What `plan` and `apply` go on with, once `plan` is made from (or checked against) this.
    pub fn planned(self, plan: crate::plan::Plan) -> Prepared {
        Prepared {
            desired: self.desired,
            store: self.store,
            state: self.state,
            aws: self.aws,
            plan,
            observed: self.observed,
            fingerprints: self.fingerprints,
            secret_checks: self.secret_checks,
        }
    }
}

impl From<NotPrepared> for Outcome {
    fn from(n: NotPrepared) -> Self {
        match n {
            NotPrepared::Failed(_) => Outcome::Failed,
            NotPrepared::Incomplete(_) => Outcome::Incomplete,
        }
    }
}
