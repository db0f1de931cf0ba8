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
    /// More detail on stderr: -v info, -vv debug, -vvv trace. Secrets are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests without calling AWS: syntax, schema, cross-field and cross-document
    /// rules, secret references. Exit 0 when valid, 1 when not.
    Validate(PathsArgs),
    /// Print the JSON Schema of the manifest format, for editors (yaml-language-server).
    Schema,
}

#[derive(Debug, Args)]
pub struct PathsArgs {
    /// Manifest files or directories.
    #[arg(value_name = "PATH", default_value = "manifests")]
    pub paths: Vec<PathBuf>,
}
