//! `outbound completions SHELL`: a completion script for the shell on stdout (clap_complete).

use clap::CommandFactory;

use super::Outcome;
use crate::cli::Cli;
use crate::render;

pub fn run(shell: clap_complete::Shell) -> anyhow::Result<Outcome> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "outbound", &mut script);
    render::out(&String::from_utf8(script)?);
    Ok(Outcome::Success)
}
