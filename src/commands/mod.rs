//! One file per subcommand, each wiring the stages it needs; [`Outcome`] decides exit codes.

pub mod apply;
pub mod plan;
pub mod schema;
pub mod validate;

use crate::cli::{Cli, Command};

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
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Failed => 1,
            Outcome::Changes => 2,
            Outcome::Incomplete => 3,
        }
    }
}

/// Runs the command `cli` names.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Validate(args) => validate::run(&args.paths),
        Command::Plan(args) => plan::run(&args, cli.global.verbose),
        Command::Apply(args) => apply::run(&args, cli.global.verbose),
        Command::Schema => schema::run(),
    }
}

/// Everything `plan` and `apply` share: manifests validated, state read, AWS observed.
pub struct Prepared {
    pub desired: crate::manifest::DesiredState,
    pub store: crate::state::local::LocalState,
    pub state: crate::state::State,
    pub aws: std::sync::Arc<crate::aws::Aws>,
    pub plan: crate::plan::Plan,
}

/// Why a plan could not be made; `Outcome` says how to exit.
pub enum NotPrepared {
    Failed,
    Incomplete,
}

/// A runtime for the AWS calls; the stages themselves are sync.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Validates, reads the state, observes AWS and plans. Problems are printed here.
pub async fn prepare(
    paths: &[std::path::PathBuf],
    args: &crate::cli::AwsArgs,
    verbose: u8,
) -> anyhow::Result<Result<Prepared, NotPrepared>> {
    use crate::{aws, manifest, observe, plan, render, state};
    // 1. Manifests: nothing reaches AWS unless they are valid.
    let desired = match manifest::validate(paths) {
        Ok(d) => d,
        Err(diags) => {
            render::diagnostics(&diags);
            return Ok(Err(NotPrepared::Failed));
        }
    };
    // 2. State.
    let store = state::open(&args.state)?;
    let state = store.load()?.unwrap_or_default();
    // 3. AWS, with this run's secret values scrubbed from any error it reports.
    let secrets: Vec<String> = desired
        .resources
        .values()
        .flat_map(|r| r.secrets.values().map(|s| s.expose().to_owned()))
        .collect();
    let options = aws::AwsOptions {
        region: args.region.clone(),
        profile: args.profile.clone(),
        endpoint_url: args.endpoint_url.clone(),
    };
    let aws = std::sync::Arc::new(aws::Aws::connect(&options, secrets).await?);
    // 4. Observe AWS while the secret fingerprints are computed.
    let salt = state.fingerprint_salt.clone();
    let (observation, fingerprints) = std::thread::scope(|s| {
        let fps = s.spawn(|| state::fingerprint::all(&desired, &salt));
        let observed = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(observe::observe(
                &aws,
                &desired,
                &state,
                usize::from(args.parallelism),
            ))
        });
        (observed, fps.join().expect("fingerprinting does not panic"))
    });
    if verbose > 0 {
        render::message(&format!("observe: {}\n", aws.calls));
    }
    let mut observed = std::collections::BTreeMap::new();
    let mut unreadable = Vec::new();
    for (address, result) in observation {
        match result {
            Ok(o) => {
                observed.insert(address, o);
            }
            Err(e) => unreadable.push(format!("  {address}: {e}")),
        }
    }
    if !unreadable.is_empty() {
        render::message(&format!(
            "error: {} could not be read from AWS, so no plan was made:\n{}\n",
            render::count(unreadable.len(), "resource"),
            unreadable.join("\n")
        ));
        return Ok(Err(NotPrepared::Incomplete));
    }
    // 5. Plan.
    match plan::build(&desired, &state, &observed, &fingerprints) {
        Ok(plan) => Ok(Ok(Prepared {
            desired,
            store,
            state,
            aws,
            plan,
        })),
        Err(e) => {
            let hint = e.hint();
            render::error(&anyhow::Error::new(e));
            if let Some(h) = hint {
                render::message(&format!("  hint: {h}\n"));
            }
            Ok(Err(NotPrepared::Failed))
        }
    }
}

impl From<NotPrepared> for Outcome {
    fn from(n: NotPrepared) -> Self {
        match n {
            NotPrepared::Failed => Outcome::Failed,
            NotPrepared::Incomplete => Outcome::Incomplete,
        }
    }
}
