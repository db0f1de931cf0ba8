//! The state as an S3 object (`s3://bucket/key`), written with `If-None-Match: *` when there
//! was none and `If-Match: ETAG` after, so no writer overwrites another unseen; the lock is
//! the object `<key>.lock`, created with `If-None-Match: *`.
//!
//! The pipeline is sync where it touches the state, so each call blocks on the runtime the
//! store was opened on (`block_in_place`: the runtime's other tasks go on).

use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::aws::s3::{Condition, PRECONDITION_FAILED, S3};
use crate::aws::{AwsError, AwsOptions, ErrorClass};

use super::{Backend, RawLock, StateError};

pub struct S3State {
    s3: S3,
    bucket: String,
    key: String,
    runtime: tokio::runtime::Handle,
    /// The ETag read or last written; `None` when there was no object.
    etag: Mutex<Option<String>>,
}

impl S3State {
    /// A client for `location` (`s3://bucket/key`) from the standard AWS configuration.
    pub async fn open(location: &str, aws: &AwsOptions) -> Result<S3State, StateError> {
        let (bucket, key) = parse(location)?;
        let s3 = S3::connect(aws).await;
        S3State::new(location, bucket, key, s3)
    }

    /// A client for `location` from an AWS configuration loaded once for the run.
    pub fn open_with_config(
        location: &str,
        config: &aws_config::SdkConfig,
    ) -> Result<S3State, StateError> {
        let (bucket, key) = parse(location)?;
        S3State::new(location, bucket, key, Ok(S3::from_config(config)))
    }

    /// [`S3State::open`] with fixed credentials: for emulators and tests.
    pub async fn open_with_credentials(
        location: &str,
        aws: &AwsOptions,
        access_key_id: &str,
        secret_access_key: &str,
    ) -> Result<S3State, StateError> {
        let (bucket, key) = parse(location)?;
        let s3 = S3::connect_with_credentials(aws, access_key_id, secret_access_key).await;
        S3State::new(location, bucket, key, s3)
    }

    fn new(
        location: &str,
        bucket: String,
        key: String,
        s3: Result<S3, AwsError>,
    ) -> Result<S3State, StateError> {
        let s3 = s3.map_err(|e| StateError::Remote {
            path: location.to_owned(),
            problem: e.message,
        })?;
        Ok(S3State {
            s3,
            bucket,
            key,
            runtime: tokio::runtime::Handle::current(),
            etag: Mutex::new(None),
        })
    }

    fn block<F: std::future::Future>(&self, f: F) -> F::Output {
        tokio::task::block_in_place(|| self.runtime.block_on(f))
    }

    fn lock_key(&self) -> String {
        format!("{}.lock", self.key)
    }

    /// Puts `body` at `key` on `condition`; returns its ETag, or `None` when the condition
    /// failed. A failed condition is checked by reading the object back: when it holds
    /// exactly `body`, this write happened and only its answer was lost (the SDK retried a
    /// put that had succeeded, and the retry found its own object), so it is a success.
    fn put_checked(
        &self,
        key: &str,
        body: Vec<u8>,
        condition: Condition<'_>,
    ) -> Result<Option<Option<String>>, StateError> {
        // A hash, not a copy: a state of megabytes is not held twice.
        let sent = Sha256::digest(&body);
        match self.block(self.s3.put(&self.bucket, key, body, condition)) {
            Ok(etag) => Ok(Some(etag)),
            Err(e) if refused(&e) => {
                let now = self
                    .block(self.s3.get(&self.bucket, key))
                    .map_err(|e| self.remote(e))?;
                Ok(now.filter(|o| Sha256::digest(&o.body) == sent).map(|o| {
                    tracing::info!(key, "a conditional put was answered by its own retry");
                    o.etag
                }))
            }
            Err(e) => Err(self.remote(e)),
        }
    }

    fn etag_of_lock<'a>(&self, version: Option<&'a str>) -> Result<&'a str, StateError> {
        version.ok_or_else(|| StateError::Remote {
            path: self.lock_location(),
            problem: "the lock has no ETag to change it by".into(),
        })
    }

    /// A one-line error for `e`, saying what to do where outbound knows.
    fn remote(&self, e: AwsError) -> StateError {
        let problem = match (e.class, e.code.as_deref()) {
            (_, Some("NoSuchBucket")) => format!(
                "the bucket `{}` does not exist; create it, or correct --state / \
                 OUTBOUND_STATE",
                self.bucket
            ),
            (ErrorClass::AccessDenied, _) => format!(
                "access denied ({}); the credentials need s3:GetObject, s3:PutObject and \
                 s3:DeleteObject on arn:aws:s3:::{}/{} and its `.lock`",
                e, self.bucket, self.key
            ),
            _ => e.to_string(),
        };
        StateError::Remote {
            path: self.location(),
            problem,
        }
    }
}

/// `s3://bucket/key` -> (bucket, key).
fn parse(location: &str) -> Result<(String, String), StateError> {
    let bad = || StateError::BadLocation(location.to_owned());
    let rest = location.strip_prefix("s3://").ok_or_else(bad)?;
    let (bucket, key) = rest.split_once('/').ok_or_else(bad)?;
    if bucket.is_empty() || key.is_empty() || key.ends_with('/') {
        return Err(bad());
    }
    Ok((bucket.to_owned(), key.to_owned()))
}

fn refused(e: &AwsError) -> bool {
    e.code
        .as_deref()
        .is_some_and(|c| PRECONDITION_FAILED.contains(&c))
}

impl Backend for S3State {
    fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    fn lock_location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.lock_key())
    }

    fn read(&self) -> Result<Option<Vec<u8>>, StateError> {
        let object = self
            .block(self.s3.get(&self.bucket, &self.key))
            .map_err(|e| self.remote(e))?;
        *self.etag.lock().unwrap_or_else(|e| e.into_inner()) =
            object.as_ref().and_then(|o| o.etag.clone());
        Ok(object.map(|o| o.body))
    }

    fn write(&self, bytes: Vec<u8>) -> Result<(), StateError> {
        let mut etag = self.etag.lock().unwrap_or_else(|e| e.into_inner());
        let condition = match etag.as_deref() {
            Some(e) => Condition::Matches(e),
            None => Condition::Absent,
        };
        match self.put_checked(&self.key, bytes, condition)? {
            Some(new) => {
                *etag = new;
                Ok(())
            }
            None => Err(StateError::Conflict {
                path: self.location(),
            }),
        }
    }

    fn create_lock(&self, body: &[u8]) -> Result<Option<Option<String>>, StateError> {
        self.put_checked(&self.lock_key(), body.to_vec(), Condition::Absent)
    }

    fn read_lock(&self) -> Result<Option<RawLock>, StateError> {
        let key = self.lock_key();
        let object = self
            .block(self.s3.get(&self.bucket, &key))
            .map_err(|e| self.remote(e))?;
        Ok(object.map(|o| (o.body, o.etag)))
    }

    fn replace_lock(
        &self,
        _seen: &[u8],
        version: Option<&str>,
        body: &[u8],
    ) -> Result<Option<Option<String>>, StateError> {
        let etag = self.etag_of_lock(version)?;
        self.put_checked(&self.lock_key(), body.to_vec(), Condition::Matches(etag))
    }

    fn delete_lock(&self, _seen: &[u8], version: Option<&str>) -> Result<(), StateError> {
        let etag = self.etag_of_lock(version)?;
        let key = self.lock_key();
        match self.block(self.s3.delete(&self.bucket, &key, etag)) {
            Ok(()) => Ok(()),
            Err(e) if refused(&e) => Err(StateError::Conflict {
                path: self.lock_location(),
            }),
            Err(e) => Err(self.remote(e)),
        }
    }

    fn same_host_holders(&self) -> bool {
        false
    }

    fn calls(&self) -> Option<&crate::aws::CallLog> {
        Some(&self.s3.calls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_name_a_bucket_and_a_key() {
        assert_eq!(
            parse("s3://acme-state/outbound/prod.json").unwrap(),
            ("acme-state".to_owned(), "outbound/prod.json".to_owned())
        );
        for bad in [
            "s3://",
            "s3://bucket",
            "s3://bucket/",
            "s3:///key",
            "s3://b/dir/",
        ] {
            assert!(
                matches!(parse(bad), Err(StateError::BadLocation(_))),
                "{bad}"
            );
        }
    }
}
