//! `outbound schema [manifest|project]`: the JSON Schema of the manifest format, or of the
//! project file, on stdout.

use super::Outcome;
use crate::cli::SchemaOf;
use crate::{manifest, project, render};

pub fn run(of: SchemaOf) -> anyhow::Result<Outcome> {
    let schema = match of {
        SchemaOf::Manifest => manifest::schema::manifest_schema(),
        SchemaOf::Project => project::file::schema(),
    };
    render::out(&format!("{}\n", serde_json::to_string_pretty(&schema)?));
    Ok(Outcome::Success)
}
