//! Command-line types (clap) and nothing else.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// outbound keeps outbound integrations declared in git and makes AWS match them:
/// Transfer Family AS2/SFTP connectors, EventBridge connections and API destinations.
///
/// Manifests are YAML files (`apiVersion: outbound/v1`) read from the paths given, by
/// default `manifests/`; directories are read recursively for *.yaml and *.yml.
#[derive(Debug, Parser)]
#[command(
    name = "outbound",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Never color output (also: the NO_COLOR environment variable, or a non-terminal).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// More detail on stderr: -v info and AWS calls per operation, -vv debug, -vvv trace.
    /// Secrets are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Where the state lives and how to reach AWS.
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// The state: a local path.
    #[arg(long, env = "OUTBOUND_STATE", default_value = ".outbound/state.json")]
    pub state: String,
    /// AWS region (default: the standard AWS chain, e.g. AWS_REGION or the profile).
    #[arg(long)]
    pub region: Option<String>,
    /// AWS profile from ~/.aws/config.
    #[arg(long)]
    pub profile: Option<String>,
    /// One endpoint for every AWS service, e.g. a local emulator (also AWS_ENDPOINT_URL).
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// AWS calls in flight at most, when reading and when changing.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// Client-side AWS requests per second, per service: `events=N,transfer=M` (either or
    /// both; `off` for no limit). The defaults stay below EventBridge's published 50 per
    /// second per account and Region, which every caller in the account shares.
    #[arg(
        long,
        env = "OUTBOUND_RATE_LIMIT",
        value_name = "SERVICE=RATE,...",
        default_value_t = crate::aws::rate::RateLimits::default()
    )]
    pub rate_limit: crate::aws::rate::RateLimits,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub paths: PathsArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Exit 2 when the plan has changes, 0 when it has none, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also save the plan (JSON) for `outbound apply --plan FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Plan only these resources (and what they need first); repeatable.
    #[arg(long = "target", value_name = "KIND/NAME")]
    pub targets: Vec<String>,
}

/// How `plan` (and `drift`) print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// For pull-request comments; under 60,000 characters.
    Markdown,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub paths: PathsArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Apply without asking; required when there is no terminal to ask on.
    #[arg(long)]
    pub auto_approve: bool,
    /// How long to wait for a connection to be AUTHORIZED or a connector ACTIVE.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub wait_timeout: std::time::Duration,
    /// Apply exactly this saved plan (`plan --out`); refused if the state, a resource in AWS
    /// or a secret changed since. The manifests are still read, for the secret values.
    #[arg(long, value_name = "FILE", conflicts_with = "targets")]
    pub plan: Option<PathBuf>,
    /// Apply only these resources (and what they need first); repeatable.
    #[arg(long = "target", value_name = "KIND/NAME")]
    pub targets: Vec<String>,
}

/// `outbound drift`: report, change nothing, take no lock.
#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub paths: PathsArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also list resources in the account and region that neither the manifests nor the
    /// state name (one List call per kind); they count as drift.
    #[arg(long)]
    pub include_unmanaged: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests without calling AWS: syntax, schema, cross-field and cross-document
    /// rules, secret references. Exit 0 when valid, 1 when not.
    Validate(PathsArgs),
    /// Show what apply would change in AWS, and why (manifest change or drift). Reads AWS
    /// and the state; changes nothing.
    Plan(PlanArgs),
    /// Make AWS match the manifests: creates and updates in dependency order, deletes in
    /// reverse, the state saved after every change. Asks for `yes` unless --auto-approve.
    Apply(ApplyArgs),
    /// Report what changed in AWS outside outbound since the last apply: modified, deleted,
    /// unhealthy, not checked; pending manifest changes listed apart. Changes nothing, takes
    /// no lock. Exit 0 in sync, 2 drift found, 3 some resources could not be checked.
    Drift(DriftArgs),
    /// Print the JSON Schema of the manifest format, for editors (yaml-language-server).
    Schema,
}

#[derive(Debug, Args)]
pub struct PathsArgs {
    /// Manifest files or directories.
    #[arg(value_name = "PATH", default_value = "manifests")]
    pub paths: Vec<PathBuf>,
}
