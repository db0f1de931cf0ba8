//! `outbound schema`: the JSON Schema of the manifest format on stdout.

use super::Outcome;
use crate::{manifest, render};

pub fn run() -> anyhow::Result<Outcome> {
    let schema = manifest::schema::manifest_schema();
    render::out(&format!("{}\n", serde_json::to_string_pretty(&schema)?));
    Ok(Outcome::Success)
}
