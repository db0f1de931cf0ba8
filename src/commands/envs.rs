//! `outbound envs`: the project file's environments, e.g. for a CI matrix.

use super::Outcome;
use crate::cli::{EnvsArgs, EnvsFormat, GlobalArgs};
use crate::{project, render};

pub fn run(args: &EnvsArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let cwd = std::env::current_dir()?;
    let Some(path) = project::find(global.project.as_deref(), &cwd) else {
        anyhow::bail!(
            "no project file: {} at the repository root, --project FILE or OUTBOUND_PROJECT",
            project::FILE_NAME
        );
    };
    let project = match project::file::read(&path) {
        Ok(p) => p,
        Err(diags) => {
            render::diagnostics(&diags);
            return Ok(Outcome::Failed);
        }
    };
    render::out(&match args.format {
        EnvsFormat::Json => render::envs::list_json(&project),
        EnvsFormat::Text => render::envs::list_text(&project),
    });
    Ok(Outcome::Success)
}
