//! The local state file: atomic writes (temp file, fsync, rename) and a lock file that names
//! its holder.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{FORMAT_VERSION, State, StateError};

pub struct LocalState {
    path: PathBuf,
}

/// Who holds the lock, written into the lock file.
#[derive(Debug, Serialize, Deserialize)]
pub struct LockInfo {
    pub holder: String,
    pub host: String,
    pub pid: u32,
    pub operation: String,
    pub since: String,
}

/// Held while `apply` runs; the lock file is removed on drop.
pub struct Lock {
    path: PathBuf,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl LocalState {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LocalState { path: path.into() }
    }

    pub fn location(&self) -> String {
        self.path.display().to_string()
    }

    /// The stored state, or `None` when there is none yet.
    pub fn load(&self) -> Result<Option<State>, StateError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Read {
                    path: self.location(),
                    source,
                });
            }
        };
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Version {
            format_version: u32,
        }
        let parse = |source| StateError::Parse {
            path: self.location(),
            source,
        };
        let v: Version = serde_json::from_str(&text).map_err(parse)?;
        if v.format_version != FORMAT_VERSION {
            return Err(StateError::Version {
                path: self.location(),
                found: v.format_version,
            });
        }
        serde_json::from_str(&text).map(Some).map_err(parse)
    }

    /// Writes `state` atomically: a temp file beside it, fsync, rename, fsync of the directory.
    #[allow(
        clippy::expect_used,
        reason = "the state is plain data: serializing cannot fail"
    )]
    pub fn save(&self, state: &State) -> Result<(), StateError> {
        let write = |source| StateError::Write {
            path: self.location(),
            source,
        };
        let dir = self.dir();
        std::fs::create_dir_all(dir).map_err(write)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(write)?;
        let json = serde_json::to_vec_pretty(state).expect("state serializes");
        tmp.write_all(&json).map_err(write)?;
        tmp.write_all(b"\n").map_err(write)?;
        tmp.as_file().sync_all().map_err(write)?;
        tmp.persist(&self.path).map_err(|e| write(e.error))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Takes the lock for `operation`, or fails at once naming who holds it.
    #[allow(
        clippy::expect_used,
        reason = "the lock info is plain data: serializing cannot fail"
    )]
    pub fn lock(&self, operation: &str) -> Result<Lock, StateError> {
        let path = self.lock_path();
        let write = |source| StateError::Write {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(self.dir()).map_err(write)?;
        let info = LockInfo {
            holder: std::env::var("USER").unwrap_or_else(|_| "unknown".into()),
            host: hostname::get()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "unknown".into()),
            pid: std::process::id(),
            operation: operation.to_owned(),
            since: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        };
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                let json = serde_json::to_vec(&info).expect("lock info serializes");
                f.write_all(&json).map_err(write)?;
                f.sync_all().map_err(write)?;
                Ok(Lock { path })
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| serde_json::from_str::<LockInfo>(&t).ok())
                    .map(|i| {
                        format!(
                            "{}@{} (pid {}, `{}` since {}); if that run is gone, remove {}",
                            i.holder,
                            i.host,
                            i.pid,
                            i.operation,
                            i.since,
                            path.display()
                        )
                    })
                    .unwrap_or_else(|| format!("an unknown holder; see {}", path.display()));
                Err(StateError::Locked {
                    path: self.location(),
                    holder,
                })
            }
            Err(e) => Err(write(e)),
        }
    }

    fn dir(&self) -> &Path {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_owned();
        name.push(".lock");
        self.path.with_file_name(name)
    }
}
