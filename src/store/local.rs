//! The local state file: atomic writes (temp file, fsync, rename) made only if the file is
//! still what this run last read or wrote (a hash), and a lock file beside it.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::{Backend, RawLock, StateError};

pub struct LocalFile {
    path: PathBuf,
    /// The hash of the content last read or written; `None` when there was no file.
    seen: Mutex<Option<Vec<u8>>>,
}

impl LocalFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LocalFile {
            path: path.into(),
            seen: Mutex::new(None),
        }
    }

    /// The file's content, or `None` when there is none.
    fn content(&self) -> Result<Option<Vec<u8>>, StateError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Read {
                path: self.location(),
                source,
            }),
        }
    }

    /// The hash of the file's content, or `None` when there is none; read in chunks, so a
    /// state of megabytes is not held a second time while it is written.
    fn content_hash(&self) -> Result<Option<Vec<u8>>, StateError> {
        let read = |source| StateError::Read {
            path: self.location(),
            source,
        };
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(read(source)),
        };
        let mut reader = std::io::BufReader::with_capacity(64 * 1024, file);
        let mut hasher = Sha256::new();
        loop {
            let chunk = reader.fill_buf().map_err(read)?;
            if chunk.is_empty() {
                return Ok(Some(hasher.finalize().to_vec()));
            }
            hasher.update(chunk);
            let n = chunk.len();
            reader.consume(n);
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

    /// An exclusive OS lock (`flock`) on `<state>.lock.guard`, held while the lock file is
    /// compared and replaced or removed, so two runs never both replace one lock (a take-over)
    /// nor remove a lock another run just took. The OS drops it when its process dies.
    fn guard(&self) -> Result<std::fs::File, StateError> {
        let mut name = self.lock_path().into_os_string();
        name.push(".guard");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(PathBuf::from(name))
            .map_err(|e| self.lock_error(e))?;
        file.lock().map_err(|e| self.lock_error(e))?;
        Ok(file)
    }

    fn lock_error(&self, source: std::io::Error) -> StateError {
        StateError::Write {
            path: self.lock_location(),
            source,
        }
    }
}

fn hash(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

impl Backend for LocalFile {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn lock_location(&self) -> String {
        self.lock_path().display().to_string()
    }

    fn read(&self) -> Result<Option<Vec<u8>>, StateError> {
        let content = self.content()?;
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = content.as_deref().map(hash);
        Ok(content)
    }

    /// Writes atomically: a temp file beside it, fsync, rename, fsync of the directory.
    fn write(&self, bytes: Vec<u8>) -> Result<(), StateError> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if self.content_hash()? != *seen {
            return Err(StateError::Conflict {
                path: self.location(),
            });
        }
        let write = |source| StateError::Write {
            path: self.location(),
            source,
        };
        let dir = self.dir();
        std::fs::create_dir_all(dir).map_err(write)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(write)?;
        tmp.write_all(&bytes).map_err(write)?;
        tmp.as_file().sync_all().map_err(write)?;
        tmp.persist(&self.path).map_err(|e| write(e.error))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        *seen = Some(hash(&bytes));
        Ok(())
    }

    /// Written whole beside it, then linked into place only if there is no lock: a reader
    /// never sees a lock cut short.
    fn create_lock(&self, body: &[u8]) -> Result<Option<Option<String>>, StateError> {
        let dir = self.dir();
        std::fs::create_dir_all(dir).map_err(|e| self.lock_error(e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| self.lock_error(e))?;
        tmp.write_all(body).map_err(|e| self.lock_error(e))?;
        tmp.as_file().sync_all().map_err(|e| self.lock_error(e))?;
        match tmp.persist_noclobber(self.lock_path()) {
            Ok(_) => Ok(Some(None)),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(self.lock_error(e.error)),
        }
    }

    fn read_lock(&self) -> Result<Option<RawLock>, StateError> {
        match std::fs::read(self.lock_path()) {
            Ok(bytes) => Ok(Some((bytes, None))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Read {
                path: self.lock_location(),
                source,
            }),
        }
    }

    /// Under the guard: compares, then renames the new lock over the old one.
    fn replace_lock(
        &self,
        seen: &[u8],
        _version: Option<&str>,
        body: &[u8],
    ) -> Result<Option<Option<String>>, StateError> {
        let _guard = self.guard()?;
        if self.read_lock()?.map(|(b, _)| b).as_deref() != Some(seen) {
            return Ok(None);
        }
        let dir = self.dir();
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| self.lock_error(e))?;
        tmp.write_all(body).map_err(|e| self.lock_error(e))?;
        tmp.as_file().sync_all().map_err(|e| self.lock_error(e))?;
        tmp.persist(self.lock_path())
            .map_err(|e| self.lock_error(e.error))?;
        Ok(Some(None))
    }

    /// Under the guard: compares, then removes.
    fn delete_lock(&self, seen: &[u8], _version: Option<&str>) -> Result<(), StateError> {
        let _guard = self.guard()?;
        match self.read_lock()? {
            None => return Ok(()),
            Some((now, _)) if now != seen => {
                return Err(StateError::Conflict {
                    path: self.lock_location(),
                });
            }
            Some(_) => {}
        }
        match std::fs::remove_file(self.lock_path()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.lock_error(e)),
        }
    }

    fn same_host_holders(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_over_a_file_changed_since_it_was_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let (a, b) = (LocalFile::new(&path), LocalFile::new(&path));
        assert_eq!(a.read().unwrap(), None);
        assert_eq!(b.read().unwrap(), None);
        a.write(b"one".to_vec()).unwrap();
        assert!(matches!(
            b.write(b"two".to_vec()),
            Err(StateError::Conflict { .. })
        ));
        assert_eq!(b.read().unwrap().as_deref(), Some(&b"one"[..]));
        b.write(b"two".to_vec()).unwrap();
        assert!(matches!(
            a.write(b"three".to_vec()),
            Err(StateError::Conflict { .. })
        ));
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
    }
}
