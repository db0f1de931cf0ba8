//! Where the state is kept (SPEC §4): one interface, [`Store`], over two backends — the
//! local file ([`local`]) and an S3 object ([`s3`]) — with conditional writes and a lock that
//! names its holder ([`lock`]). The state itself (plain data) is `crate::state`.

pub mod local;
mod lock;
pub mod s3;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Deserialize;

use crate::state::{FORMAT_VERSION, State, StateError};
pub use lock::{LEASE, Lock, LockInfo, Removed, release_held};

/// A lock as stored: its bytes, and the version to replace or delete exactly it (an ETag;
/// `None` for a file).
pub type RawLock = (Vec<u8>, Option<String>);

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
    /// Creates the lock holding `body`, unless one exists (`Ok(None)` then); returns the
    /// version to replace or delete exactly it, where the backend has one (an ETag).
    fn create_lock(&self, body: &[u8]) -> Result<Option<Option<String>>, StateError>;
    /// The lock's bytes, with the version to replace or delete exactly it (an ETag; `None`
    /// for a file).
    fn read_lock(&self) -> Result<Option<RawLock>, StateError>;
    /// Replaces the lock with `body` only if it is still the one read (`seen`, at `version`);
    /// `Ok(None)` when it is not (or is gone). Returns the new version.
    fn replace_lock(
        &self,
        seen: &[u8],
        version: Option<&str>,
        body: &[u8],
    ) -> Result<Option<Option<String>>, StateError>;
    /// Deletes the lock if it is still the one read (`seen`, at `version`); otherwise
    /// [`StateError::Conflict`]. A lock already gone is not an error.
    fn delete_lock(&self, seen: &[u8], version: Option<&str>) -> Result<(), StateError>;
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
    /// The length of the state last read or written, to size the next write's buffer.
    size: Arc<AtomicUsize>,
}

impl Store {
    pub fn new(backend: Arc<dyn Backend>) -> Store {
        Store {
            backend,
            lineage: Arc::default(),
            writes: Arc::default(),
            size: Arc::default(),
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
        self.size.store(bytes.len(), Ordering::Relaxed);
        *self.lineage.lock().unwrap_or_else(|e| e.into_inner()) = Some(state.lineage.clone());
        Ok(Some(state))
    }

    /// Writes `state` if the stored one is still the one read (or written) here and has the
    /// same lineage.
    #[allow(
        clippy::expect_used,
        reason = "the state is plain data: serializing cannot fail"
    )]
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
        // Sized from the last write, so a state of megabytes is not copied as the buffer grows.
        let mut json = Vec::with_capacity(self.size.load(Ordering::Relaxed) + 4096);
        serde_json::to_writer_pretty(&mut json, state).expect("state serializes");
        json.push(b'\n');
        self.size.store(json.len(), Ordering::Relaxed);
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.backend.write(json)
    }

    /// How many writes this store attempted.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::Relaxed)
    }

    /// The calls to a remote backend; `None` for a local file.
    pub fn calls(&self) -> Option<&crate::aws::CallLog> {
        self.backend.calls()
    }

    /// Takes the lock for `operation`, or fails at once naming who holds it and the lock id.
    pub fn lock(&self, operation: &str) -> Result<Lock, StateError> {
        lock::take(&self.backend, operation)
    }

    /// Removes the lock if its id is `id` (`outbound unlock`); returns who held it.
    pub fn unlock(&self, id: &str) -> Result<Removed, StateError> {
        lock::force_unlock(&self.backend, id)
    }
}

/// Opens the backend `location` names: `s3://bucket/key`, reached with `config` (the run's
/// AWS configuration, loaded once), or a local path.
pub fn open_with_config(
    location: &str,
    config: &aws_config::SdkConfig,
) -> Result<Store, StateError> {
    let backend: Arc<dyn Backend> = if location.starts_with("s3://") {
        Arc::new(s3::S3State::open_with_config(location, config)?)
    } else {
        Arc::new(local::LocalFile::new(location))
    };
    Ok(Store::new(backend))
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
