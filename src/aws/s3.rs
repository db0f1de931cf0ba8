//! S3 for the state backend: objects read with their ETag, written and deleted only on a
//! condition (`If-None-Match: *`, `If-Match: ETAG`), so that no writer overwrites another's
//! work unseen.

use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::primitives::ByteStream;

use super::{AwsError, AwsOptions, CallLog, ErrorClass, fixed_credentials, logged, shared_config};

/// An S3 client with the count of calls made through it.
pub struct S3 {
    client: aws_sdk_s3::Client,
    pub calls: CallLog,
}

/// An object's body and the ETag it was read with.
#[derive(Debug, Clone)]
pub struct Object {
    pub body: Vec<u8>,
    pub etag: Option<String>,
}

/// When a write (or delete) may happen.
#[derive(Debug, Clone, Copy)]
pub enum Condition<'a> {
    /// Only if there is no such object yet (`If-None-Match: *`).
    Absent,
    /// Only if the object is still the one with this ETag (`If-Match`).
    Matches(&'a str),
}

/// The codes S3 answers a failed precondition with (412, or 409 while a concurrent
/// conditional write is in progress).
pub const PRECONDITION_FAILED: [&str; 2] = ["PreconditionFailed", "ConditionalRequestConflict"];

impl S3 {
    /// A client from the same standard configuration as the other services. With a custom
    /// endpoint (an emulator, MinIO, a VPC endpoint) bucket names go in the path, not the host.
    pub async fn connect(options: &AwsOptions) -> Result<S3, AwsError> {
        S3::build(options, None).await
    }

    /// [`S3::connect`] with fixed credentials: for emulators and tests.
    pub async fn connect_with_credentials(
        options: &AwsOptions,
        access_key_id: &str,
        secret_access_key: &str,
    ) -> Result<S3, AwsError> {
        let credentials = fixed_credentials(access_key_id, secret_access_key);
        S3::build(options, Some(credentials)).await
    }

    async fn build(options: &AwsOptions, credentials: Option<Credentials>) -> Result<S3, AwsError> {
        let config = shared_config(options, credentials).await?;
        Ok(S3::from_config(&config))
    }

    /// A client of an AWS configuration loaded once for the run.
    pub fn from_config(config: &aws_config::SdkConfig) -> S3 {
        let path_style = config.endpoint_url().is_some();
        let conf = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .build();
        S3 {
            client: aws_sdk_s3::Client::from_conf(conf),
            calls: CallLog::default(),
        }
    }

    /// The object, or `None` when the key does not exist (a missing bucket is an error).
    pub async fn get(&self, bucket: &str, key: &str) -> Result<Option<Object>, AwsError> {
        let request = self.client.get_object().bucket(bucket).key(key).send();
        let output = match logged(&self.calls, &[], "GetObject", request).await {
            Ok(o) => o,
            Err(e) if e.code.as_deref() == Some("NoSuchKey") => return Ok(None),
            Err(e) => return Err(e),
        };
        let etag = output.e_tag.clone();
        let body = output.body.collect().await.map_err(|e| AwsError {
            operation: "GetObject",
            class: ErrorClass::Other,
            code: None,
            message: format!("the object could not be read to its end: {e}"),
        })?;
        Ok(Some(Object {
            body: body.into_bytes().to_vec(),
            etag,
        }))
    }

    /// Writes `body` under `condition`; returns the new ETag. A failed condition is an error
    /// whose code is one of [`PRECONDITION_FAILED`].
    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        condition: Condition<'_>,
    ) -> Result<Option<String>, AwsError> {
        let mut request = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        request = match condition {
            Condition::Absent => request.if_none_match("*"),
            Condition::Matches(etag) => request.if_match(etag),
        };
        let output = logged(&self.calls, &[], "PutObject", request.send()).await?;
        Ok(output.e_tag)
    }

    /// Deletes the object if it is still the one with `etag` (S3's conditional delete).
    pub async fn delete(&self, bucket: &str, key: &str, etag: &str) -> Result<(), AwsError> {
        let request = self
            .client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .if_match(etag)
            .send();
        match logged(&self.calls, &[], "DeleteObject", request).await {
            Ok(_) => Ok(()),
            Err(e) if e.code.as_deref() == Some("NoSuchKey") => Ok(()),
            Err(e) => Err(e),
        }
    }
}
