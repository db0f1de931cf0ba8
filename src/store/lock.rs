//! The lock beside the state: who holds it (user, host, CI run, pid, operation, time) under a
//! random id; taken by `apply` and `import`, released on every exit outbound controls, removed
//! by hand only with its id (`outbound unlock ID`). A local lock whose process died is stale.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Backend, StateError};

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
}

impl LockInfo {
    /// This process, about to run `operation`.
    pub fn new(operation: &str) -> LockInfo {
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            holder: std::env::var("USER")
                .or_else(|_| std::env::var("USERNAME"))
                .unwrap_or_else(|_| "unknown".into()),
            host: this_host(),
            run_url: run_url(|name| std::env::var(name).ok()),
            pid: std::process::id(),
            operation: operation.to_owned(),
            since: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        }
    }

    /// `alice@ci-42 (pid 7, `apply` since …, https://…/runs/9)`.
    pub fn holder(&self) -> String {
        let run = self
            .run_url
            .as_deref()
            .map(|u| format!(", {u}"))
            .unwrap_or_default();
        format!(
            "{}@{} (pid {}, `{}` since {}{run})",
            self.holder, self.host, self.pid, self.operation, self.since
        )
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

/// A held lock: released by [`Lock::release`], or when dropped.
pub struct Lock {
    backend: Arc<dyn Backend>,
    info: LockInfo,
    /// The lock's version when it was created (an ETag), to delete exactly it.
    version: Option<String>,
    released: bool,
}

impl Lock {
    pub fn id(&self) -> &str {
        &self.info.id
    }

    /// Removes the lock if it is still this one.
    pub fn release(mut self) -> Result<(), StateError> {
        self.released = true;
        remove_own(&self.backend, &self.info.id, self.version.as_deref())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if !self.released
            && let Err(e) = remove_own(&self.backend, &self.info.id, self.version.as_deref())
        {
            tracing::error!(error = %e, "the lock was not released");
        }
    }
}

/// Deletes the lock if it is still the one created (`version`, one conditional delete) or,
/// without a version, if it holds `id`; someone else's lock (after an `unlock`) is left alone.
fn remove_own(
    backend: &Arc<dyn Backend>,
    id: &str,
    version: Option<&str>,
) -> Result<(), StateError> {
    if version.is_some() {
        return match backend.delete_lock(version) {
            Err(StateError::Conflict { .. }) => Ok(()),
            other => other,
        };
    }
    match backend.read_lock()? {
        Some((info, version)) if info.id == id => backend.delete_lock(version.as_deref()),
        _ => Ok(()),
    }
}

/// Takes the lock for `operation`:
/// 1. create it unless one exists;
/// 2. if one exists and its holder is a process that died on this host (local file only),
///    say so, remove it and try once more;
/// 3. otherwise fail naming the holder and the lock id.
pub(super) fn take(backend: &Arc<dyn Backend>, operation: &str) -> Result<Lock, StateError> {
    let info = LockInfo::new(operation);
    let locked = |held: &LockInfo| StateError::Locked {
        path: backend.location(),
        holder: held.holder(),
        id: held.id.clone(),
    };
    for attempt in 0..2 {
        if let Some(version) = backend.create_lock(&info)? {
            return Ok(Lock {
                backend: Arc::clone(backend),
                info,
                version,
                released: false,
            });
        }
        let Some((held, version)) = backend.read_lock()? else {
            continue; // released in between: try again
        };
        let stale = backend.same_host_holders() && held.host == this_host() && !alive(held.pid);
        if !stale || attempt > 0 {
            return Err(locked(&held));
        }
        // Logged at `warn`, which is printed by default: the layer below `render` says so.
        tracing::warn!(
            "taking over the lock of {} at {}: that process is no longer running (lock id {})",
            held.holder(),
            backend.lock_location(),
            held.id
        );
        backend.delete_lock(version.as_deref())?;
    }
    match backend.read_lock()? {
        Some((held, _)) => Err(locked(&held)),
        None => Err(StateError::NotLocked {
            path: backend.location(),
        }),
    }
}

/// `outbound unlock ID`: removes the lock only if its id is `id`.
pub(super) fn force_unlock(backend: &Arc<dyn Backend>, id: &str) -> Result<LockInfo, StateError> {
    let Some((held, version)) = backend.read_lock()? else {
        return Err(StateError::NotLocked {
            path: backend.location(),
        });
    };
    if held.id != id {
        return Err(StateError::WrongLock {
            path: backend.location(),
            given: id.to_owned(),
            actual: held.id.clone(),
            holder: held.holder(),
        });
    }
    backend.delete_lock(version.as_deref())?;
    Ok(held)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
