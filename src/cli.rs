//! Command-line types (clap) and nothing else.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// outbound keeps outbound integrations declared in git and makes AWS match them:
/// Transfer Family AS2/SFTP connectors, EventBridge connections and API destinations.
///
/// Manifests are YAML files (`apiVersion: outbound/v1`) read from the paths given, by
/// default `manifests/`; directories are read recursively for *.yaml and *.yml.
#[derive(Debug, Parser)]
#[command(
    name = "outbound",
    version = VERSION,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// `outbound --version`: the release and the formats it reads and writes (a unit test keeps the
/// numbers equal to `state::FORMAT_VERSION` and the plan's `FORMAT_VERSION`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (state format 1, plan format 2)"
);

impl Cli {
    /// Parses `args` (the program name first) and hands the global AWS flags, accepted before
    /// or after the subcommand, to the subcommand that uses them. Usage errors, `--help` and
    /// `--version` come back as the `clap::Error`.
    pub fn read<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::{CommandFactory, FromArgMatches};
        let matches = Cli::command().try_get_matches_from(args)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        cli.global.explicit = Explicit::of(&matches);
        if matches!(
            cli.command,
            Command::Plan(_)
                | Command::Apply(_)
                | Command::Drift(_)
                | Command::Import(_)
                | Command::Unlock(_)
        ) {
            cli.global.aws.rate_limit = rate_limits(cli.global.aws.rate_limit_flag)?;
        }
        let aws = cli.global.aws.clone();
        match &mut cli.command {
            Command::Plan(a) => {
                a.aws = AwsArgs {
                    refresh: a.refresh,
                    ..aws
                }
            }
            Command::Apply(a) => a.aws = aws,
            Command::Drift(a) => {
                a.aws = AwsArgs {
                    refresh: a.refresh,
                    ..aws
                }
            }
            Command::Import(a) => a.aws = aws,
            Command::Unlock(a) => a.aws = aws,
            _ => {}
        }
        Ok(cli)
    }
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Never color output (also: the NO_COLOR environment variable, or a non-terminal).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// More detail on stderr: -v info and AWS calls per operation, -vv debug, -vvv trace.
    /// Secrets are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The environment of the project file (outbound.yaml) to work on; `all` for validate,
    /// plan and drift. Required when there is a project file.
    #[arg(long, global = true, env = "OUTBOUND_ENV", value_name = "NAME")]
    pub env: Option<String>,
    /// The project file (default: outbound.yaml in the working directory or above it, up to
    /// the repository root).
    #[arg(long, global = true, env = "OUTBOUND_PROJECT", value_name = "FILE")]
    pub project: Option<PathBuf>,
    /// Which of the flags that an environment also sets were given (they override it).
    #[arg(skip)]
    pub explicit: Explicit,
}

/// Flags given on the command line, rather than left at their default or set through their
/// environment variable: an environment's own settings give way only to these (a variable
/// such as `OUTBOUND_STATE` set for a whole CI job must not point every environment at one
/// state).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Explicit {
    pub state: bool,
    pub rate_limit: bool,
    pub paths: bool,
    /// `import --out`.
    pub out: bool,
}

impl Explicit {
    fn of(matches: &clap::ArgMatches) -> Explicit {
        use clap::parser::ValueSource;
        let given = |m: &clap::ArgMatches, id: &str| {
            m.ids().any(|i| i.as_str() == id)
                && matches!(m.value_source(id), Some(ValueSource::CommandLine))
        };
        let sub = matches.subcommand().map(|(_, m)| m);
        let either = |id: &str| given(matches, id) || sub.is_some_and(|m| given(m, id));
        Explicit {
            state: either("state"),
            rate_limit: either("rate_limit"),
            paths: sub.is_some_and(|m| given(m, "paths")),
            out: sub.is_some_and(|m| given(m, "out")),
        }
    }
}

/// Where the state lives and how to reach AWS: global flags, accepted before or after the
/// subcommand.
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// The state: a local path, or an S3 object `s3://BUCKET/KEY` (reached with the same AWS
    /// configuration as the services; its lock is `KEY.lock`).
    #[arg(long, global = true, env = "OUTBOUND_STATE", default_value = DEFAULT_STATE)]
    pub state: String,
    /// AWS region (default: the standard AWS chain, e.g. AWS_REGION or the profile).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// AWS profile from ~/.aws/config.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// One endpoint for every AWS service, e.g. a local emulator (also AWS_ENDPOINT_URL).
    #[arg(long, global = true, value_parser = endpoint_url)]
    pub endpoint_url: Option<String>,
    /// AWS calls in flight at most, when reading and when changing.
    #[arg(long, global = true, default_value_t = DEFAULT_PARALLELISM, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// Client-side AWS requests per second, per service: `events=N,transfer=M` (either or
    /// both; `off` for no limit, a bare `off` for none at all). The defaults stay below
    /// EventBridge's published 50 per second per account and Region, which every caller in
    /// the account shares. Also OUTBOUND_RATE_LIMIT (read only by commands that call AWS).
    /// [default: events=45,transfer=40]
    #[arg(
        id = "rate_limit",
        long = "rate-limit",
        global = true,
        value_name = "SERVICE=RATE,..."
    )]
    pub rate_limit_flag: Option<crate::aws::rate::RateLimits>,
    /// The limits in force: `--rate-limit`, else OUTBOUND_RATE_LIMIT, else the defaults; set
    /// by [`Cli::read`] for the commands that call AWS.
    #[arg(skip)]
    pub rate_limit: crate::aws::rate::RateLimits,
    /// How long opening a connection to AWS may take, e.g. `5s`, `500ms`.
    #[arg(long, global = true, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,
    /// How long one AWS request may take (each read and each attempt; a call with its
    /// retries may take this times the retry attempts), e.g. `30s`, `2m`.
    #[arg(long, global = true, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,
    /// How `plan` and `drift` read AWS, set by [`Cli::read`] from their `--refresh`.
    #[arg(skip)]
    pub refresh: Refresh,
}

/// How much of AWS `plan` and `drift` describe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Refresh {
    /// Connections and API destinations unchanged since outbound's last change (same
    /// `LastModifiedTime` and state in their List page) are read from the List pages;
    /// the others, and every connector, are described.
    #[default]
    Changed,
    /// Describe every resource.
    Full,
}

/// The rate limits of a command that calls AWS: the flag's, else `OUTBOUND_RATE_LIMIT`'s (a
/// usage error naming it when bad), else the defaults. Read here, not by clap, so that a bad
/// variable fails only the commands that use it (`validate` calls no AWS).
fn rate_limits(
    flag: Option<crate::aws::rate::RateLimits>,
) -> Result<crate::aws::rate::RateLimits, clap::Error> {
    use clap::CommandFactory;
    if let Some(limits) = flag {
        return Ok(limits);
    }
    match std::env::var("OUTBOUND_RATE_LIMIT") {
        Ok(value) => value.parse().map_err(|e| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value '{value}' for OUTBOUND_RATE_LIMIT (--rate-limit): {e}\n"),
            )
            .with_cmd(&Cli::command())
        }),
        Err(_) => Ok(crate::aws::rate::RateLimits::default()),
    }
}

/// An `--endpoint-url` the AWS SDK can use: an absolute http(s) URL with a host. Checked here
/// so that a typo is a usage error, not every AWS call failing.
fn endpoint_url(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("an http:// or https:// URL with a host is needed".into());
    }
    Ok(value.to_owned())
}

const DEFAULT_STATE: &str = ".outbound/state.json";
const DEFAULT_PARALLELISM: u16 = 16;

/// What a subcommand sees before [`Cli::read`] hands it the global flags.
impl Default for AwsArgs {
    fn default() -> Self {
        AwsArgs {
            state: DEFAULT_STATE.to_owned(),
            region: None,
            profile: None,
            endpoint_url: None,
            parallelism: DEFAULT_PARALLELISM,
            rate_limit_flag: None,
            rate_limit: crate::aws::rate::RateLimits::default(),
            connect_timeout: crate::aws::DEFAULT_CONNECT_TIMEOUT,
            request_timeout: crate::aws::DEFAULT_REQUEST_TIMEOUT,
            refresh: Refresh::default(),
        }
    }
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub paths: PathsArgs,
    /// The global AWS flags, set by [`Cli::read`].
    #[arg(skip)]
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
    /// Accept manifests that declare nothing (empty or comment-only files, folders without
    /// manifests): the plan then deletes everything the state manages, protect still applies.
    #[arg(long)]
    pub allow_empty: bool,
    /// `skip`: resolve no secret (a pull-request job without production keys); secret
    /// fields are not compared, and a saved plan records that. `apply` always resolves them.
    #[arg(long, value_enum, env = "OUTBOUND_SECRETS", default_value_t = SecretsMode::Resolve)]
    pub secrets: SecretsMode,
    /// `full`: describe every resource, not only those changed since outbound's last change.
    #[arg(long, value_enum, default_value_t = Refresh::Changed)]
    pub refresh: Refresh,
    /// Days before a certificate's expiry from which plan warns and drift reports it
    /// unhealthy.
    #[arg(
        long,
        value_name = "DAYS",
        env = "OUTBOUND_EXPIRY_WARNING_DAYS",
        default_value_t = 30
    )]
    pub expiry_warning: u64,
}

/// Whether `plan` and `drift` resolve the secrets the manifests reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SecretsMode {
    /// Resolve every secret; a missing one is an error.
    Resolve,
    /// Resolve none: secret fields are shown as not compared.
    Skip,
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
    /// The global AWS flags, set by [`Cli::read`].
    #[arg(skip)]
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
    /// Accept manifests that declare nothing (empty or comment-only files, folders without
    /// manifests): apply then deletes everything the state manages, protect still applies.
    #[arg(long)]
    pub allow_empty: bool,
}

/// `outbound drift`: report, change nothing, take no lock.
#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub paths: PathsArgs,
    /// The global AWS flags, set by [`Cli::read`].
    #[arg(skip)]
    pub aws: AwsArgs,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also list resources in the account and region that neither the manifests nor the
    /// state name (one List call per kind); they count as drift.
    #[arg(long)]
    pub include_unmanaged: bool,
    /// Days before a certificate's expiry from which plan warns and drift reports it
    /// unhealthy.
    #[arg(
        long,
        value_name = "DAYS",
        env = "OUTBOUND_EXPIRY_WARNING_DAYS",
        default_value_t = 30
    )]
    pub expiry_warning: u64,
    /// `skip`: resolve no secret; secret fields are not compared.
    #[arg(long, value_enum, env = "OUTBOUND_SECRETS", default_value_t = SecretsMode::Resolve)]
    pub secrets: SecretsMode,
    /// `full`: describe every resource, not only those changed since outbound's last change.
    #[arg(long, value_enum, default_value_t = Refresh::Changed)]
    pub refresh: Refresh,
}

/// `outbound import`: adopt resources that exist in AWS but that no state owns.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// What to adopt: `Connection/NAME` and `ApiDestination/NAME` (the AWS name),
    /// `Connector/NAME=c-…` (the connector's id; NAME becomes its `metadata.name`), or
    /// `Connector/NAME` for a connector tagged `outbound:name=NAME`.
    #[arg(
        value_name = "KIND/NAME[=ID]",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub resources: Vec<String>,
    /// Adopt every resource in the account and region that this state does not manage
    /// (connectors another state's lineage tag claims are left out unless --force).
    #[arg(long)]
    pub all: bool,
    /// With --all: only these kinds (Connection, ApiDestination, Connector); repeatable.
    #[arg(long = "kind", value_name = "KIND", requires = "all", value_parser = parse_kind)]
    pub kinds: Vec<crate::resource::Kind>,
    /// Where to write the manifests, one file per resource (`<kind>-<name>.yaml`).
    #[arg(long, value_name = "DIR", default_value = "manifests/imported")]
    pub out: PathBuf,
    /// Overwrite existing manifest files, and take over connectors tagged with another
    /// state's lineage.
    #[arg(long)]
    pub force: bool,
    /// Also record the resources in the state at once (for a state only you use): without
    /// it, the state is left alone and the next `plan` shows each adoption for review.
    #[arg(long)]
    pub write_state: bool,
    /// With --all: go on without asking, although outbound cannot tell whether another
    /// state manages the connections and API destinations found.
    #[arg(long)]
    pub yes: bool,
    /// The global AWS flags, set by [`Cli::read`].
    #[arg(skip)]
    pub aws: AwsArgs,
}

/// `outbound validate`: manifests only, no AWS call.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub paths: PathsArgs,
    /// `skip`: resolve no secret (a job without the secret values); the references are
    /// still checked for their form.
    #[arg(long, value_enum, env = "OUTBOUND_SECRETS", default_value_t = SecretsMode::Resolve)]
    pub secrets: SecretsMode,
}

fn parse_kind(s: &str) -> Result<crate::resource::Kind, String> {
    s.parse()
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests without calling AWS: syntax, schema, cross-field and cross-document
    /// rules, secret references. Exit 0 when valid, 1 when not.
    Validate(ValidateArgs),
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
    /// Adopt resources that exist in AWS but that no state owns: writes their manifests
    /// (secrets as `fromEnv` references to set) and records them in state, under the lock.
    /// Reads AWS only (List and Describe calls); the next apply sends the secrets and tags.
    Import(ImportArgs),
    /// Print the JSON Schema of the manifest format (or of the project file, `outbound
    /// schema project`), for editors (yaml-language-server).
    Schema {
        #[arg(value_enum, default_value_t = SchemaOf::Manifest)]
        of: SchemaOf,
    },
    /// List the project file's environments (a CI matrix: `--format json` prints
    /// `[{"name", "account", "region", "state"}]`).
    Envs(EnvsArgs),
    /// Print a shell completion script (bash, zsh, fish; also elvish, powershell).
    ///
    /// `outbound completions bash > /etc/bash_completion.d/outbound`,
    /// `outbound completions zsh > "${fpath[1]}/_outbound"`,
    /// `outbound completions fish > ~/.config/fish/completions/outbound.fish`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Remove the state's lock left by a run that is gone, only if its id is LOCK_ID (the
    /// id a refused apply names). Never remove the lock of a run still going.
    Unlock(UnlockArgs),
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The id of the lock to remove.
    #[arg(value_name = "LOCK_ID")]
    pub id: String,
    /// The global AWS flags, set by [`Cli::read`].
    #[arg(skip)]
    pub aws: AwsArgs,
}

/// What `outbound schema` describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemaOf {
    /// The manifests.
    Manifest,
    /// The project file, outbound.yaml.
    Project,
}

/// `outbound envs`.
#[derive(Debug, Args)]
pub struct EnvsArgs {
    #[arg(long, value_enum, default_value_t = EnvsFormat::Text)]
    pub format: EnvsFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EnvsFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct PathsArgs {
    /// Manifest files or directories.
    #[arg(value_name = "PATH", default_value = "manifests")]
    pub paths: Vec<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The format numbers `--version` names are the ones the code reads and writes.
    #[test]
    fn version_names_the_format_versions_in_use() {
        let expected = format!(
            "{} (state format {}, plan format {})",
            env!("CARGO_PKG_VERSION"),
            crate::state::FORMAT_VERSION,
            crate::render::json::FORMAT_VERSION
        );
        assert_eq!(VERSION, expected);
    }

    fn aws_of(args: &[&str]) -> AwsArgs {
        let cli = Cli::read(args.iter().copied()).unwrap();
        match cli.command {
            Command::Plan(a) => a.aws,
            Command::Apply(a) => a.aws,
            Command::Drift(a) => a.aws,
            other => panic!("not a command with AWS flags: {other:?}"),
        }
    }

    /// `--connect-timeout` and `--request-timeout`: humantime durations, before or after the
    /// subcommand, defaulting to what `AwsArgs::default()` and `AwsOptions::default()` say;
    /// a bad duration is a usage error.
    #[test]
    fn timeout_flags_parse_durations_with_documented_defaults() {
        let defaults = aws_of(&["outbound", "plan"]);
        assert_eq!(
            (defaults.connect_timeout, defaults.request_timeout),
            (Duration::from_secs(5), Duration::from_secs(30))
        );
        let options = crate::aws::AwsOptions::default();
        assert_eq!(
            (options.connect_timeout, options.request_timeout),
            (defaults.connect_timeout, defaults.request_timeout)
        );
        let unparsed = AwsArgs::default();
        assert_eq!(
            (unparsed.connect_timeout, unparsed.request_timeout),
            (defaults.connect_timeout, defaults.request_timeout)
        );
        for args in [
            &[
                "outbound",
                "--connect-timeout",
                "500ms",
                "drift",
                "--request-timeout",
                "2m",
            ][..],
            &[
                "outbound",
                "drift",
                "--request-timeout",
                "2m",
                "--connect-timeout",
                "500ms",
            ][..],
        ] {
            let aws = aws_of(args);
            assert_eq!(aws.connect_timeout, Duration::from_millis(500), "{args:?}");
            assert_eq!(aws.request_timeout, Duration::from_secs(120), "{args:?}");
        }
        let bad = Cli::read(["outbound", "plan", "--request-timeout", "soon"]).unwrap_err();
        assert_eq!(bad.kind(), clap::error::ErrorKind::ValueValidation);
    }

    /// Global flags reach the subcommand whether given before or after it.
    #[test]
    fn global_aws_flags_before_or_after_the_subcommand() {
        for args in [
            &[
                "outbound",
                "--region",
                "eu-west-1",
                "--state",
                "s.json",
                "plan",
            ][..],
            &[
                "outbound",
                "plan",
                "--region",
                "eu-west-1",
                "--state",
                "s.json",
            ][..],
            &[
                "outbound",
                "--region",
                "eu-west-1",
                "drift",
                "--state",
                "s.json",
            ][..],
            &[
                "outbound",
                "--state",
                "s.json",
                "apply",
                "m/",
                "--region",
                "eu-west-1",
            ][..],
        ] {
            let aws = aws_of(args);
            assert_eq!(aws.region.as_deref(), Some("eu-west-1"), "{args:?}");
            assert_eq!(aws.state, "s.json", "{args:?}");
        }
        let aws = aws_of(&[
            "outbound",
            "--parallelism",
            "3",
            "--endpoint-url",
            "http://127.0.0.1:1",
            "--profile",
            "p",
            "plan",
        ]);
        assert_eq!(
            (
                aws.parallelism,
                aws.endpoint_url.as_deref(),
                aws.profile.as_deref()
            ),
            (3, Some("http://127.0.0.1:1"), Some("p"))
        );
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
