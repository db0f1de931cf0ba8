//! Secret references (`fromEnv`, `fromFile`) and resolved secret values that never print.

use std::fmt;
use std::path::{Path, PathBuf};

pub use crate::resource::secret::{ParamValue, SecretRef};

/// Why a secret reference could not be resolved; never carries the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable `{0}` is not set")]
    EnvMissing(String),
    #[error("environment variable `{0}` is not valid UTF-8")]
    EnvNotUnicode(String),
    #[error("cannot read secret file `{}`", .path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("secret file `{}` is not valid UTF-8", .0.display())]
    FileNotUnicode(PathBuf),
    #[error("the secret from {0} is empty")]
    Empty(SecretRef),
}

impl SecretRef {
    /// Reads the value; `base` is the directory of the manifest that holds the reference.
    pub fn resolve(&self, base: &Path) -> Result<SecretValue, SecretError> {
        let value = match self {
            SecretRef::FromEnv(name) => match std::env::var(name) {
                Ok(v) => v,
                Err(std::env::VarError::NotPresent) => {
                    return Err(SecretError::EnvMissing(name.clone()));
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(SecretError::EnvNotUnicode(name.clone()));
                }
            },
            SecretRef::FromFile(rel) => {
                let path = base.join(rel);
                let bytes = std::fs::read(&path).map_err(|source| SecretError::File {
                    path: path.clone(),
                    source,
                })?;
                let mut text = String::from_utf8(bytes)
                    .map_err(|_| SecretError::FileNotUnicode(path.clone()))?;
                if text.ends_with('\n') {
                    text.pop();
                    if text.ends_with('\r') {
                        text.pop();
                    }
                }
                text
            }
        };
        if value.is_empty() {
            return Err(SecretError::Empty(self.clone()));
        }
        Ok(SecretValue(value))
    }
}

/// A resolved secret. `Debug` prints `(sensitive)`; there is no `Display` and no `Serialize`,
/// so the value can only leave through [`SecretValue::expose`], which the AWS layer calls.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}
