//! One file per subcommand, each wiring the stages it needs; [`Outcome`] decides exit codes.

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
        Command::Schema => schema::run(),
    }
}
