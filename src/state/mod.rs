//! The inventory of what outbound manages (SPEC §4): format version, lineage, serial, and per
//! resource its AWS identity, last-applied spec, secret fingerprints (never values), protect
//! flag and live markers. Stored by a backend behind one interface ([`Store`]): the local file
//! or an S3 object, each written only on condition and guarded by a lock beside it.

pub mod fingerprint;
pub mod local;
mod lock;
pub mod s3;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::resource::Address;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct State {
    pub format_version: u32,
    /// Identifies this state across its versions; connectors carry it as `outbound:lineage`.
    pub lineage: String,
    /// Incremented on every write.
    pub serial: u64,
    /// Salt of the secret fingerprints, random per lineage.
    pub fingerprint_salt: String,
    #[serde(default)]
    pub resources: BTreeMap<Address, Record>,
    /// Creations that were started but not yet recorded: found and adopted by the next run.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pending: BTreeMap<Address, Pending>,
}

/// One managed resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Record {
    /// The name (connections, API destinations) or `c-…` id (connectors).
    pub id: String,
    pub arn: String,
    /// The last-applied spec in manifest shape; secrets are references, never values.
    pub spec: Value,
    /// Secret fingerprints by JSON pointer (`/spec/authParameters/…`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fingerprints: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
    #[serde(default)]
    pub live: LiveMarkers,
}

/// What AWS said right after outbound's last change, to tell drift from pending changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveMarkers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pending {
    pub started: String,
}

impl State {
    /// A new, empty state with a fresh lineage and salt.
    pub fn new() -> Self {
        State {
            format_version: FORMAT_VERSION,
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            fingerprint_salt: fingerprint::new_salt(),
            resources: BTreeMap::new(),
            pending: BTreeMap::new(),
        }
    }
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}

pub use lock::{Lock, LockInfo};

/// Why the state could not be read, written or locked.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read state {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("state {path} is not a state file outbound can read")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "state {path} has format version {found}; this outbound reads version {FORMAT_VERSION}"
    )]
    Version { path: String, found: u32 },
    #[error("cannot write state {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A backend that is not a file (S3): `problem` already says what and what to do.
    #[error("state {path}: {problem}")]
    Remote { path: String, problem: String },
    #[error(
        "state {path} changed since this run read it (another writer, or its lock was removed \
         with `outbound unlock`); nothing was overwritten. Run `outbound plan` to see the \
         state as it is now"
    )]
    Conflict { path: String },
    #[error(
        "state {path} now belongs to lineage {found}, not {read} that this run read: it is \
         another state, and it was not written"
    )]
    Lineage {
        path: String,
        read: String,
        found: String,
    },
    #[error(
        "state {path} is locked by {holder} (lock id {id}); if that run is over, remove the \
         lock with `outbound unlock {id}`"
    )]
    Locked {
        path: String,
        holder: String,
        id: String,
    },
    #[error("state {path} is not locked; nothing to unlock")]
    NotLocked { path: String },
    #[error(
        "state {path} is locked with id {actual} by {holder}, not {given}; nothing was removed"
    )]
    WrongLock {
        path: String,
        given: String,
        actual: String,
        holder: String,
    },
    #[error("state location `{0}` is not an S3 URL of the form s3://BUCKET/KEY")]
    BadLocation(String),
}

/// A place the state is kept, as the [`Store`] sees it: bytes read and written on condition,
/// and a lock object beside them. The one trait every backend implements.
pub trait Backend: Send + Sync {
    /// Where the state is, as the user named it (`path`, `s3://bucket/key`).
    fn location(&self) -> String;
    /// Where the lock is.
    fn lock_location(&self) -> String;
    /// The stored bytes, or `None`; remembered (ETag, hash) for the next write's condition.
    fn read(&self) -> Result<Option<Vec<u8>>, StateError>;
    /// Writes `bytes` only if the stored state is still what was last read or written here
    /// (nothing, if nothing was); otherwise [`StateError::Conflict`].
    fn write(&self, bytes: Vec<u8>) -> Result<(), StateError>;
    /// Creates the lock holding `info`, unless one exists (`Ok(None)` then); returns the
    /// version to delete exactly it, where the backend has one (an ETag).
    fn create_lock(&self, info: &LockInfo) -> Result<Option<Option<String>>, StateError>;
    /// The lock, with the version to delete exactly it (an ETag; `None` for a file).
    fn read_lock(&self) -> Result<Option<(LockInfo, Option<String>)>, StateError>;
    /// Deletes the lock if it is still `version`.
    fn delete_lock(&self, version: Option<&str>) -> Result<(), StateError>;
    /// Whether the lock of a process that died on this host may be taken over: true for the
    /// local file, whose holders all run on this host.
    fn same_host_holders(&self) -> bool;
    /// The calls made to a remote service, per operation (none for a file).
    fn calls(&self) -> Option<&crate::aws::CallLog> {
        None
    }
}

/// The state store the pipeline uses, whatever the backend: loads, saves on condition (the
/// lineage read is the only one written), counts its writes, locks and unlocks.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    /// The lineage of the state read; `None` before a load or when there was none.
    lineage: Arc<Mutex<Option<String>>>,
    writes: Arc<AtomicUsize>,
}

impl Store {
    pub fn new(backend: Arc<dyn Backend>) -> Store {
        Store {
            backend,
            lineage: Arc::default(),
            writes: Arc::default(),
        }
    }

    pub fn location(&self) -> String {
        self.backend.location()
    }

    /// The stored state, or `None` when there is none yet.
    pub fn load(&self) -> Result<Option<State>, StateError> {
        let Some(bytes) = self.backend.read()? else {
            return Ok(None);
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
        let v: Version = serde_json::from_slice(&bytes).map_err(parse)?;
        if v.format_version != FORMAT_VERSION {
            return Err(StateError::Version {
                path: self.location(),
                found: v.format_version,
            });
        }
        let state: State = serde_json::from_slice(&bytes).map_err(parse)?;
        *self.lineage.lock().unwrap_or_else(|e| e.into_inner()) = Some(state.lineage.clone());
        Ok(Some(state))
    }

    /// Writes `state` if the stored one is still the one read (or written) here and has the
    /// same lineage.
    pub fn save(&self, state: &State) -> Result<(), StateError> {
        {
            let mut read = self.lineage.lock().unwrap_or_else(|e| e.into_inner());
            match read.as_deref() {
                Some(l) if l != state.lineage => {
                    return Err(StateError::Lineage {
                        path: self.location(),
                        read: l.to_owned(),
                        found: state.lineage.clone(),
                    });
                }
                Some(_) => {}
                None => *read = Some(state.lineage.clone()),
            }
        }
        let mut json = serde_json::to_vec_pretty(state).expect("state serializes");
        json.push(b'\n');
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.backend.write(json)
    }

    /// How many writes this store attempted.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::Relaxed)
    }

    /// `state: 3 writes` and, for a remote backend, its calls (`-v`).
    pub fn activity(&self) -> String {
        let writes = crate::render::count(self.writes(), "write");
        match self.backend.calls() {
            Some(calls) => format!("state: {writes}; {calls}"),
            None => format!("state: {writes}"),
        }
    }

    /// Takes the lock for `operation`, or fails at once naming who holds it and the lock id.
    pub fn lock(&self, operation: &str) -> Result<Lock, StateError> {
        lock::take(&self.backend, operation)
    }

    /// Removes the lock if its id is `id` (`outbound unlock`); returns who held it.
    pub fn unlock(&self, id: &str) -> Result<LockInfo, StateError> {
        lock::force_unlock(&self.backend, id)
    }
}

/// Opens the backend `location` names: `s3://bucket/key` (reached with `aws`'s configuration)
/// or a local path.
pub async fn open(location: &str, aws: &crate::aws::AwsOptions) -> Result<Store, StateError> {
    let backend: Arc<dyn Backend> = if location.starts_with("s3://") {
        Arc::new(s3::S3State::open(location, aws).await?)
    } else {
        Arc::new(local::LocalFile::new(location))
    };
    Ok(Store::new(backend))
}
