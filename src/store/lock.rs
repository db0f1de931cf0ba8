//! The lock beside the state: who holds it (user, host, CI run, pid, operation, time) under a
//! random id, with a lease (`expires`) its holder renews while it runs; taken by `apply` and
//! `import`, released on every exit outbound controls (a second signal included:
//! [`release_held`]), removed by hand only with its id (`outbound unlock ID`). A lock is stale,
//! and taken over saying so, when its lease ran out (the holder was killed: `kill -9`, a CI
//! runner gone) or, for the local file, when its process died on this host. A take-over
//! replaces exactly the lock that was read (an S3 conditional write on its ETag; for the file,
//! a comparison of its bytes under an OS file lock), so two runs never both take one over.

use std::sync::mpsc::{RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Backend, StateError};

/// How long a lock holds without being renewed, unless `OUTBOUND_LOCK_LEASE` says otherwise.
pub const LEASE: Duration = Duration::from_secs(60);
/// The shortest lease accepted: renewals (every third of it) must have time to reach S3.
const MIN_LEASE: Duration = Duration::from_secs(10);

/// What the lock object (or file) holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockInfo {
    /// A UUID: what `outbound unlock` asks for.
    pub id: String,
    /// The user (`USER`, `USERNAME`).
    pub holder: String,
    pub host: String,
    /// The CI run holding it (GitHub Actions, GitLab CI), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
    pub pid: u32,
    pub operation: String,
    /// RFC 3339.
    pub since: String,
    /// The end of the lease (RFC 3339), pushed back while the holder runs. A lock without
    /// one (written by an outbound before leases) never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

impl LockInfo {
    /// This process, about to run `operation`, with a lease of `lease` from now.
    pub fn new(operation: &str, lease: Duration) -> LockInfo {
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            holder: std::env::var("USER")
                .or_else(|_| std::env::var("USERNAME"))
                .unwrap_or_else(|_| "unknown".into()),
            host: this_host(),
            run_url: run_url(|name| std::env::var(name).ok()),
            pid: std::process::id(),
            operation: operation.to_owned(),
            since: rfc3339(SystemTime::now()),
            expires: Some(expiry(lease)),
        }
    }

    /// `alice@ci-42 (pid 7, `apply` since …, lease until …, https://…/runs/9)`.
    pub fn holder(&self) -> String {
        let run = self
            .run_url
            .as_deref()
            .map(|u| format!(", {u}"))
            .unwrap_or_default();
        let lease = self
            .expires
            .as_deref()
            .map(|e| format!(", lease until {e}"))
            .unwrap_or_default();
        format!(
            "{}@{} (pid {}, `{}` since {}{lease}{run})",
            self.holder, self.host, self.pid, self.operation, self.since
        )
    }

    /// Whether the lease ended before `now` (never, without a lease or with one unreadable).
    fn expired(&self, now: SystemTime) -> bool {
        self.expires
            .as_deref()
            .and_then(|e| humantime::parse_rfc3339_weak(e).ok())
            .is_some_and(|end| end < now)
    }

    #[allow(
        clippy::expect_used,
        reason = "the lock info is plain data: serializing cannot fail"
    )]
    fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("lock info serializes")
    }
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The end of a lease of `lease` from now (to the millisecond: a short lease in a test is
/// not rounded away).
fn expiry(lease: Duration) -> String {
    humantime::format_rfc3339_millis(SystemTime::now() + lease).to_string()
}

/// The lease: `OUTBOUND_LOCK_LEASE` (a duration such as `90s` or `5m`, at least 10 s), or
/// [`LEASE`].
pub fn lease() -> Result<Duration, StateError> {
    match std::env::var("OUTBOUND_LOCK_LEASE") {
        Err(_) => Ok(LEASE),
        Ok(text) => match humantime::parse_duration(text.trim()) {
            Ok(d) if d >= MIN_LEASE => Ok(d),
            _ => Err(StateError::BadLease(text)),
        },
    }
}

/// The CI run's URL: GitHub Actions (`GITHUB_SERVER_URL/GITHUB_REPOSITORY/actions/runs/ID`)
/// or GitLab (`CI_JOB_URL`).
fn run_url(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    if let Some(id) = var("GITHUB_RUN_ID") {
        let server = var("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
        return Some(match var("GITHUB_REPOSITORY") {
            Some(repo) => format!("{server}/{repo}/actions/runs/{id}"),
            None => format!("GitHub Actions run {id}"),
        });
    }
    var("CI_JOB_URL")
}

fn this_host() -> String {
    hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "unknown".into())
}

/// Whether process `pid` runs on this host. Read from `/proc` where there is one; elsewhere
/// every holder is presumed alive (never taken over).
fn alive(pid: u32) -> bool {
    let proc = std::path::Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// The id `outbound unlock` takes for a lock whose content is not a lock: `unreadable-` and
/// the start of the content's SHA-256, so only exactly what was seen is removed.
fn unreadable_id(raw: &[u8]) -> String {
    let hex: String = Sha256::digest(raw)
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("unreadable-{hex}")
}

/// The lock read as a [`LockInfo`], or the error naming the id that removes it.
fn parse(backend: &Arc<dyn Backend>, raw: &[u8]) -> Result<LockInfo, StateError> {
    serde_json::from_slice(raw).map_err(|e| StateError::UnreadableLock {
        path: backend.lock_location(),
        problem: e.to_string(),
        id: unreadable_id(raw),
    })
}

/// The lock as this run last wrote it: what a renewal or the release replaces or deletes.
struct Held {
    backend: Arc<dyn Backend>,
    id: String,
    /// The bytes last written, the version (an ETag) they were written as, and whether the
    /// lock is released (or lost to a take-over): the renewals stop then.
    written: Mutex<Written>,
    lease: Duration,
}

struct Written {
    bytes: Vec<u8>,
    version: Option<String>,
    done: bool,
}

impl Held {
    fn written(&self) -> std::sync::MutexGuard<'_, Written> {
        self.written.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pushes the lease back, on condition that the lock is still the one last written.
    fn renew(&self) {
        let mut w = self.written();
        if w.done {
            return;
        }
        let Ok(mut info) = serde_json::from_slice::<LockInfo>(&w.bytes) else {
            return;
        };
        info.expires = Some(expiry(self.lease));
        let bytes = info.to_bytes();
        match self
            .backend
            .replace_lock(&w.bytes, w.version.as_deref(), &bytes)
        {
            Ok(Some(version)) => {
                w.bytes = bytes;
                w.version = version;
            }
            Ok(None) => {
                w.done = true;
                tracing::error!(
                    "the lock {} (id {}) is no longer this run's: it was removed with \
                     `outbound unlock` or taken over; the state is written only if nobody \
                     wrote it since",
                    self.backend.lock_location(),
                    self.id
                );
            }
            Err(e) => tracing::warn!(error = %e, "the lock's lease was not renewed; retrying"),
        }
    }

    /// Deletes the lock if it is still the one last written; someone else's lock (after an
    /// `unlock` or a take-over) is left alone.
    fn remove(&self) -> Result<(), StateError> {
        let mut w = self.written();
        if w.done {
            return Ok(());
        }
        w.done = true;
        match self.backend.delete_lock(&w.bytes, w.version.as_deref()) {
            Err(StateError::Conflict { .. }) => Ok(()),
            other => other,
        }
    }
}

/// A held lock: renewed every third of its lease until released by [`Lock::release`], or
/// when dropped, or by a second signal (`crate::signal`).
pub struct Lock {
    held: Arc<Held>,
    /// Stops the renewals (dropped: the thread ends at once).
    renewals: Option<(Sender<()>, std::thread::JoinHandle<()>)>,
}

/// The locks this process holds, for [`release_held`].
static HELD: Mutex<Vec<std::sync::Weak<Held>>> = Mutex::new(Vec::new());

/// Releases every lock this process holds: a second signal ends the process at once
/// (`crate::signal`), and calls this first.
pub fn release_held() {
    let held: Vec<Arc<Held>> = HELD
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(std::sync::Weak::upgrade)
        .collect();
    for h in held {
        if let Err(e) = h.remove() {
            tracing::error!(error = %e, "the lock was not released");
        }
    }
}

impl Lock {
    fn new(
        backend: &Arc<dyn Backend>,
        info: &LockInfo,
        bytes: Vec<u8>,
        version: Option<String>,
        lease: Duration,
    ) -> Lock {
        let held = Arc::new(Held {
            backend: Arc::clone(backend),
            id: info.id.clone(),
            written: Mutex::new(Written {
                bytes,
                version,
                done: false,
            }),
            lease,
        });
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let renewing = Arc::clone(&held);
        let every = lease / 3;
        let thread = std::thread::Builder::new()
            .name("lock-lease".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    renewing.renew();
                }
            });
        let mut all = HELD.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|h| h.strong_count() > 0);
        all.push(Arc::downgrade(&held));
        drop(all);
        Lock {
            held,
            renewals: thread.ok().map(|t| (stop, t)),
        }
    }

    pub fn id(&self) -> &str {
        &self.held.id
    }

    /// Removes the lock if it is still this one.
    pub fn release(mut self) -> Result<(), StateError> {
        self.stop_renewals();
        self.held.remove()
    }

    fn stop_renewals(&mut self) {
        if let Some((stop, thread)) = self.renewals.take() {
            drop(stop);
            let _ = thread.join();
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        self.stop_renewals();
        if let Err(e) = self.held.remove() {
            tracing::error!(error = %e, "the lock was not released");
        }
    }
}

/// Why the lock `held` may be taken over, if it may.
fn stale(backend: &Arc<dyn Backend>, held: &LockInfo) -> Option<String> {
    if backend.same_host_holders() && held.host == this_host() && !alive(held.pid) {
        return Some("that process is no longer running".into());
    }
    if held.expired(SystemTime::now()) {
        return Some(format!(
            "its lease ended at {} (its run stopped renewing it: killed, or its machine gone)",
            held.expires.as_deref().unwrap_or_default()
        ));
    }
    None
}

/// Takes the lock for `operation`:
/// 1. create it unless one exists;
/// 2. if one exists and is stale (its lease ran out, or its process died on this host, for
///    the local file), say so and replace exactly that lock with this run's;
/// 3. otherwise fail naming the holder, its lease and the lock id.
pub(super) fn take(backend: &Arc<dyn Backend>, operation: &str) -> Result<Lock, StateError> {
    take_with(backend, operation, lease()?)
}

fn take_with(
    backend: &Arc<dyn Backend>,
    operation: &str,
    lease: Duration,
) -> Result<Lock, StateError> {
    let info = LockInfo::new(operation, lease);
    let bytes = info.to_bytes();
    let locked = |held: &LockInfo| StateError::Locked {
        path: backend.location(),
        holder: held.holder(),
        id: held.id.clone(),
    };
    for _ in 0..2 {
        if let Some(version) = backend.create_lock(&bytes)? {
            return Ok(Lock::new(backend, &info, bytes, version, lease));
        }
        let Some((raw, version)) = backend.read_lock()? else {
            continue; // released in between: try again
        };
        let held = parse(backend, &raw)?;
        let Some(why) = stale(backend, &held) else {
            return Err(locked(&held));
        };
        // Logged at `warn`, which is printed by default: the layer below `render` says so.
        tracing::warn!(
            "taking over the lock of {} at {}: {why} (lock id {})",
            held.holder(),
            backend.lock_location(),
            held.id
        );
        if let Some(version) = backend.replace_lock(&raw, version.as_deref(), &bytes)? {
            return Ok(Lock::new(backend, &info, bytes, version, lease));
        }
        // Another run took it over (or it was released) in between: look again.
    }
    match backend.read_lock()? {
        Some((raw, _)) => Err(locked(&parse(backend, &raw)?)),
        None => Err(StateError::NotLocked {
            path: backend.location(),
        }),
    }
}

/// What `outbound unlock` removed: a lock, or content that was not one.
pub enum Removed {
    Lock(LockInfo),
    Unreadable,
}

/// `outbound unlock ID`: removes the lock only if its id is `id` (for a lock that cannot be
/// read, the `unreadable-…` id its error names).
pub(super) fn force_unlock(backend: &Arc<dyn Backend>, id: &str) -> Result<Removed, StateError> {
    let Some((raw, version)) = backend.read_lock()? else {
        return Err(StateError::NotLocked {
            path: backend.location(),
        });
    };
    let removed = match parse(backend, &raw) {
        Ok(held) if held.id == id => Removed::Lock(held),
        Ok(held) => {
            return Err(StateError::WrongLock {
                path: backend.location(),
                given: id.to_owned(),
                actual: held.id.clone(),
                holder: held.holder(),
            });
        }
        Err(_) if unreadable_id(&raw) == id => Removed::Unreadable,
        Err(e) => return Err(e),
    };
    backend.delete_lock(&raw, version.as_deref())?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::local::LocalFile;

    #[test]
    fn a_github_run_is_named_by_its_url() {
        let env = |name: &str| match name {
            "GITHUB_RUN_ID" => Some("42".to_owned()),
            "GITHUB_SERVER_URL" => Some("https://github.example".to_owned()),
            "GITHUB_REPOSITORY" => Some("acme/edi".to_owned()),
            _ => None,
        };
        assert_eq!(
            run_url(env).as_deref(),
            Some("https://github.example/acme/edi/actions/runs/42")
        );
    }

    #[test]
    fn a_gitlab_job_is_named_by_its_url() {
        let env = |name: &str| (name == "CI_JOB_URL").then(|| "https://gl/j/7".to_owned());
        assert_eq!(run_url(env).as_deref(), Some("https://gl/j/7"));
        assert_eq!(run_url(|_| None), None);
    }

    #[test]
    fn this_process_is_alive() {
        assert!(alive(std::process::id()));
    }

    #[test]
    fn a_lease_expires_only_once_its_end_is_past() {
        let now = SystemTime::now();
        let mut info = LockInfo::new("apply", Duration::from_secs(60));
        assert!(!info.expired(now));
        assert!(info.expired(now + Duration::from_secs(61)));
        info.expires = None;
        assert!(!info.expired(now + Duration::from_secs(3600)), "no lease");
    }

    fn local() -> (tempfile::TempDir, Arc<dyn Backend>) {
        let dir = tempfile::tempdir().unwrap();
        let backend: Arc<dyn Backend> = Arc::new(LocalFile::new(dir.path().join("state.json")));
        (dir, backend)
    }

    fn stored(backend: &Arc<dyn Backend>) -> LockInfo {
        serde_json::from_slice(&backend.read_lock().unwrap().unwrap().0).unwrap()
    }

    #[test]
    fn the_holder_renews_its_lease_while_it_runs() {
        let (_dir, backend) = local();
        let lock = take_with(&backend, "apply", Duration::from_millis(300)).unwrap();
        let first = stored(&backend);
        std::thread::sleep(Duration::from_millis(1_300));
        let later = stored(&backend);
        assert_eq!(later.id, first.id);
        assert!(later.expires > first.expires, "{first:?} -> {later:?}");
        assert!(!later.expired(SystemTime::now()), "renewed before its end");
        lock.release().unwrap();
        assert!(backend.read_lock().unwrap().is_none());
    }

    #[test]
    fn an_expired_lease_is_taken_over_once() {
        let (_dir, backend) = local();
        let mut dead = LockInfo::new("apply", Duration::from_secs(60));
        dead.host = "elsewhere".into(); // not this host: only the lease can free it
        dead.expires = Some(rfc3339(SystemTime::now() - Duration::from_secs(5)));
        backend.create_lock(&dead.to_bytes()).unwrap().unwrap();
        let mine = take_with(&backend, "apply", LEASE).unwrap();
        assert_eq!(stored(&backend).id, mine.id());
        // The lock seen before the take-over cannot be replaced a second time.
        assert_eq!(
            backend.replace_lock(&dead.to_bytes(), None, b"{}").unwrap(),
            None
        );
        assert_eq!(stored(&backend).id, mine.id());
        let again = take_with(&backend, "apply", LEASE);
        assert!(
            matches!(&again, Err(StateError::Locked { id, .. }) if id == mine.id()),
            "a live lease refuses"
        );
    }

    /// Issue 15 item 12: the take-over of one dead local lock is atomic.
    #[test]
    fn two_runs_taking_over_one_dead_lock_never_both_hold_it() {
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = gone.id();
        gone.wait().unwrap();
        for _ in 0..20 {
            let (_dir, backend) = local();
            let mut dead = LockInfo::new("apply", LEASE);
            dead.pid = dead_pid;
            backend.create_lock(&dead.to_bytes()).unwrap().unwrap();
            let barrier = std::sync::Barrier::new(2);
            let taken: Vec<Result<Lock, StateError>> = std::thread::scope(|s| {
                let runs: Vec<_> = (0..2)
                    .map(|_| {
                        s.spawn(|| {
                            barrier.wait();
                            take_with(&backend, "apply", LEASE)
                        })
                    })
                    .collect();
                runs.into_iter().map(|r| r.join().unwrap()).collect()
            });
            let held: Vec<&Lock> = taken.iter().filter_map(|t| t.as_ref().ok()).collect();
            assert_eq!(held.len(), 1, "exactly one run holds it");
            assert_eq!(stored(&backend).id, held[0].id());
        }
    }

    #[test]
    fn an_unreadable_lock_is_removed_only_with_the_id_its_error_names() {
        let (_dir, backend) = local();
        backend.create_lock(b"{\"id\": \"cut sh").unwrap().unwrap();
        let Err(StateError::UnreadableLock { id, .. }) = take_with(&backend, "apply", LEASE) else {
            panic!("an unreadable lock refuses the run");
        };
        assert!(matches!(
            force_unlock(&backend, "unreadable-000000000000"),
            Err(StateError::UnreadableLock { .. })
        ));
        assert!(matches!(
            force_unlock(&backend, &id),
            Ok(Removed::Unreadable)
        ));
        assert!(backend.read_lock().unwrap().is_none());
    }
}
