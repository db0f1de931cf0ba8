//! `outbound validate`: manifests -> desired state and graph, no AWS call; with a project
//! file, each environment's merged set (`--env all`: every environment's).

use std::path::PathBuf;

use super::Outcome;
use super::context::contexts;
use crate::cli::{AwsArgs, GlobalArgs, SecretsMode};
use crate::render;

/// With [`SecretsMode::Skip`] no secret reference is resolved (a job without the values).
pub fn run(
    paths: &[PathBuf],
    secrets: SecretsMode,
    global: &GlobalArgs,
) -> anyhow::Result<Outcome> {
    let contexts = contexts(global, paths, &AwsArgs::default(), "validate", true)?;
    let mut outcomes = Vec::new();
    for ctx in &contexts {
        let prefix = ctx.name().map(|n| format!("{n}: ")).unwrap_or_default();
        match ctx.validate(Default::default(), secrets == SecretsMode::Resolve) {
            Ok(desired) => {
                render::out(&format!(
                    "{prefix}{} in {}: valid\n",
                    render::count(desired.resources.len(), "resource"),
                    render::count(desired.files, "file"),
                ));
                outcomes.push(Outcome::Success);
            }
            Err(diags) => {
                if !prefix.is_empty() {
                    render::message(&format!("{prefix}invalid:\n"));
                }
                render::diagnostics(&diags);
                outcomes.push(Outcome::Failed);
            }
        }
    }
    Ok(Outcome::most_severe(outcomes))
}
