//! `outbound validate`: manifests -> desired state and graph, no AWS call.

use std::path::PathBuf;

use super::Outcome;
use crate::cli::SecretsMode;
use crate::manifest;
use crate::render;

/// With [`SecretsMode::Skip`] no secret reference is resolved (a job without the values).
pub fn run(paths: &[PathBuf], secrets: SecretsMode) -> anyhow::Result<Outcome> {
    let resolve = secrets == SecretsMode::Resolve;
    match manifest::validate_with(paths, manifest::load::Options::default(), resolve) {
        Ok(desired) => {
            render::out(&format!(
                "{} in {}: valid\n",
                render::count(desired.resources.len(), "resource"),
                render::count(desired.files, "file"),
            ));
            Ok(Outcome::Success)
        }
        Err(diags) => {
            render::diagnostics(&diags);
            Ok(Outcome::Failed)
        }
    }
}
