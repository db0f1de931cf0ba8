//! `outbound validate`: manifests -> desired state and graph, no AWS call.

use std::path::PathBuf;

use super::Outcome;
use crate::manifest;
use crate::render;

pub fn run(paths: &[PathBuf]) -> anyhow::Result<Outcome> {
    match manifest::validate(paths) {
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
