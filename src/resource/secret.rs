//! Secret references (`fromEnv`, `fromFile`) as a spec holds them; resolving them is the
//! loader's (`manifest::secret`).

use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::patterns;

/// Where a secret comes from; the reference itself is not secret and is kept in state.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "SecretRef")]
pub enum SecretRef {
    /// The name of an environment variable holding the value.
    FromEnv(#[schemars(regex(pattern = patterns::ENV_VAR))] String),
    /// A file holding the value, relative to the manifest's file; one trailing newline is
    /// dropped.
    FromFile(PathBuf),
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::FromEnv(name) => write!(f, "env {name}"),
            SecretRef::FromFile(path) => write!(f, "file {}", path.display()),
        }
    }
}

/// The value of an HTTP parameter: a literal (`isValueSecret: false`) or a secret reference.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(untagged)]
pub enum ParamValue {
    Literal(String),
    Secret(SecretRef),
}
