//! The only module that talks to AWS (aws-sdk-*): clients from the standard chain, one file
//! per service, SDK errors classified in one place, every call counted per operation.
//!
//! Resources come back as [`Live`]: plain data in the manifest's own shape, so the diff
//! compares like with like and never sees an SDK type.

mod error;
pub use crate::live::{ListedConnector, Live};

pub mod cloud;
pub mod events;
#[cfg(test)]
pub mod fake;
pub mod guard;
pub mod rate;
pub mod s3;
pub mod transfer;

pub(crate) use error::classify;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_transfer::config::Credentials;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::date_time::{DateTime, Format as DateFormat};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;

/// Where and as whom to call AWS (`--region`, `--profile`, `--endpoint-url`).
#[derive(Debug, Clone)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// One endpoint for every service, e.g. a local emulator (also `AWS_ENDPOINT_URL`).
    pub endpoint_url: Option<String>,
    /// Client-side requests per second per service (`--rate-limit`).
    pub rate_limits: rate::RateLimits,
    /// How long opening one connection may take (`--connect-timeout`).
    pub connect_timeout: Duration,
    /// How long one read and one attempt of a call may take (`--request-timeout`).
    pub request_timeout: Duration,
}

/// `--connect-timeout`'s default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// `--request-timeout`'s default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for AwsOptions {
    fn default() -> Self {
        AwsOptions {
            region: None,
            profile: None,
            endpoint_url: None,
            rate_limits: rate::RateLimits::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// The clients outbound uses, with the count of calls made through them.
pub struct Aws {
    pub(crate) transfer: aws_sdk_transfer::Client,
    pub(crate) events: aws_sdk_cloudwatchevents::Client,
    pub calls: CallLog,
    /// Secret values this run knows; scrubbed from every AWS error message.
    redact: Vec<String>,
    /// One token bucket per service, taken before every call.
    limiter: rate::Limiter,
}

/// The class of an AWS error, decided in [`classify`] and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    NotFound,
    Throttled,
    /// A service quota (`LimitExceededException`, `ServiceQuotaExceededException`): not retried.
    Quota,
    AccessDenied,
    /// The resource is in a state that forbids the call, or exists already.
    Conflict,
    /// AWS rejected the input (`ValidationException`, `InvalidRequestException`).
    Invalid,
    Other,
}

/// An AWS call that failed: the operation, its class, and AWS's own words (secrets scrubbed).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct AwsError {
    pub operation: &'static str,
    pub class: ErrorClass,
    pub code: Option<String>,
    pub message: String,
}

/// Calls made, per operation, and the order of mutating ones.
#[derive(Debug, Default)]
pub struct CallLog {
    inner: Mutex<CallLogInner>,
}

#[derive(Debug, Default)]
struct CallLogInner {
    counts: BTreeMap<&'static str, usize>,
}

impl CallLog {
    pub fn record(&self, operation: &'static str) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *inner.counts.entry(operation).or_default() += 1;
        tracing::debug!(operation, "AWS call");
    }

    /// Calls per operation so far.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .counts
            .clone()
    }

    pub fn total(&self) -> usize {
        self.counts().values().sum()
    }
}

impl fmt::Display for CallLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts = self.counts();
        let total: usize = counts.values().sum();
        write!(f, "{total} AWS calls")?;
        for (op, n) in counts {
            write!(f, ", {op} {n}")?;
        }
        Ok(())
    }
}

/// Attempts per call, the first included. Throttling that gets past the rate limit (other
/// callers in the account) is retried with adaptive backoff; see docs/benchmarks.md for the
/// measurement behind the number.
const MAX_ATTEMPTS: u32 = 5;

/// How long one connection attempt, one read, one attempt and one whole call (retries
/// included) may take: generous for AWS by default, short enough that a dead endpoint fails
/// a run. The whole call's limit is derived, not a flag: the request timeout times the
/// attempts the retry policy makes ([`MAX_ATTEMPTS`]), so retries are never cut short by it
/// (the backoff between attempts is not counted, so a call that times out on every attempt
/// ends at this limit, before its last attempt ends).
fn timeouts(options: &AwsOptions) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(options.connect_timeout)
        .read_timeout(options.request_timeout)
        .operation_attempt_timeout(options.request_timeout)
        .operation_timeout(options.request_timeout.saturating_mul(MAX_ATTEMPTS))
        .build()
}

impl Aws {
    /// Clients from the standard AWS chain (env, profiles, SSO), with adaptive retry on
    /// throttling; `secrets` are scrubbed from error messages.
    pub async fn connect(options: &AwsOptions, secrets: Vec<String>) -> Result<Aws, AwsError> {
        Aws::build(options, None, secrets).await
    }

    /// [`Aws::connect`] with fixed credentials instead of the chain's: for emulators and
    /// tests, where nothing may go looking for real credentials.
    pub async fn connect_with_credentials(
        options: &AwsOptions,
        access_key_id: &str,
        secret_access_key: &str,
        secrets: Vec<String>,
    ) -> Result<Aws, AwsError> {
        let credentials = fixed_credentials(access_key_id, secret_access_key);
        Aws::build(options, Some(credentials), secrets).await
    }

    /// Builds the clients:
    /// 1. the shared config ([`shared_config`]);
    /// 2. one client per service, with quota errors made final.
    async fn build(
        options: &AwsOptions,
        credentials: Option<Credentials>,
        secrets: Vec<String>,
    ) -> Result<Aws, AwsError> {
        let config = shared_config(options, credentials).await?;
        Ok(Aws::from_config(&config, options, secrets))
    }

    /// The clients of an AWS configuration loaded once for the run (`config`), with
    /// `options`' rate limits; `secrets` are scrubbed from error messages.
    pub fn from_config(
        config: &aws_config::SdkConfig,
        options: &AwsOptions,
        secrets: Vec<String>,
    ) -> Aws {
        let transfer = aws_sdk_transfer::config::Builder::from(config)
            .retry_classifier(error::QuotaIsFinal)
            .build();
        let events = aws_sdk_cloudwatchevents::config::Builder::from(config)
            .retry_classifier(error::QuotaIsFinal)
            .build();
        Aws {
            transfer: aws_sdk_transfer::Client::from_conf(transfer),
            events: aws_sdk_cloudwatchevents::Client::from_conf(events),
            calls: CallLog::default(),
            redact: secrets.into_iter().filter(|s| !s.is_empty()).collect(),
            limiter: rate::Limiter::new(&options.rate_limits),
        }
    }

    /// The region the clients call.
    pub fn region(&self) -> Option<String> {
        self.events.config().region().map(ToString::to_string)
    }

    /// Waits for its service's rate limit, counts the call, awaits it, and classifies its
    /// error: every AWS call goes through here. (SDK retries of the call are paced by adaptive
    /// retry, not by the bucket.)
    pub(crate) async fn call<T, E, R>(
        &self,
        operation: &'static str,
        request: impl Future<Output = Result<T, SdkError<E, R>>>,
    ) -> Result<T, AwsError>
    where
        E: ProvideErrorMetadata + std::error::Error + rate::OfService + 'static,
        R: fmt::Debug,
    {
        let waited = self.limiter.take(E::SERVICE).await;
        if !waited.is_zero() {
            tracing::trace!(operation, ?waited, "rate limit");
        }
        logged(&self.calls, &self.redact, operation, request).await
    }
}

/// The configuration every client shares: the standard chain (env, profiles, SSO) with
/// `--region`, `--profile`, `--endpoint-url` and fixed `credentials` on top, adaptive retry
/// and the timeouts; an error when no region is configured.
pub async fn shared_config(
    options: &AwsOptions,
    credentials: Option<Credentials>,
) -> Result<aws_config::SdkConfig, AwsError> {
    if let Some(profile) = &options.profile {
        profile_exists(profile).await?;
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::adaptive().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(timeouts(options));
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(endpoint) = &options.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    let from_chain = credentials.is_none();
    if let Some(credentials) = credentials {
        loader = loader.credentials_provider(credentials);
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(invalid(
            "Configure",
            "no AWS region: pass --region, set AWS_REGION, or set `region` in the profile",
        ));
    }
    if from_chain {
        credentials_found(&config).await?;
    }
    Ok(config)
}

/// A `--profile` that names no profile is said so, before the region or the credentials it
/// would have given are missed (the profile files as the SDK reads them: `AWS_CONFIG_FILE`,
/// `AWS_SHARED_CREDENTIALS_FILE`, their defaults under `~/.aws/`).
#[allow(
    deprecated,
    reason = "ProfileFiles is aws-config's public name for aws-runtime's EnvConfigFiles, \
              which outbound does not depend on directly"
)]
async fn profile_exists(name: &str) -> Result<(), AwsError> {
    use aws_types::os_shim_internal::{Env, Fs};
    let files = aws_config::profile::profile_file::ProfileFiles::default();
    let set = aws_config::profile::load(&Fs::real(), &Env::real(), &files, None).await;
    let found = set.as_ref().is_ok_and(|s| s.get_profile(name).is_some());
    if found {
        return Ok(());
    }
    let known = set
        .map(|s| {
            s.profiles()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let known = if known.is_empty() {
        "there is none".to_owned()
    } else {
        format!("the profiles are {known}")
    };
    Err(invalid(
        "Configure",
        format!(
            "the AWS profile `{name}` (--profile) does not exist in the AWS config or \
             credentials file (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE; by default \
             ~/.aws/config and ~/.aws/credentials): {known}"
        ),
    ))
}

/// `config` with its credentials replaced by those of `role`, assumed (STS `AssumeRole`,
/// aws-config's provider, which renews them) from `config`'s own; an error, naming the
/// role, when it cannot be assumed.
pub async fn assume_role(
    config: &aws_config::SdkConfig,
    role: &str,
    session: &str,
) -> Result<aws_config::SdkConfig, AwsError> {
    use aws_sdk_transfer::config::ProvideCredentials;
    let provider = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name(session)
        .configure(config)
        .build()
        .await;
    if let Err(e) = provider.provide_credentials().await {
        let mut message = format!("cannot assume the role {role}: {e}");
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            message.push_str(&format!(": {c}"));
            cause = c.source();
        }
        return Err(invalid("AssumeRole", message));
    }
    Ok(config
        .to_builder()
        .credentials_provider(aws_sdk_transfer::config::SharedCredentialsProvider::new(
            provider,
        ))
        .build())
}

/// Credentials given outright rather than found by the chain (emulators, tests).
pub(crate) fn fixed_credentials(access_key_id: &str, secret_access_key: &str) -> Credentials {
    Credentials::new(
        access_key_id,
        secret_access_key,
        None,
        None,
        "outbound-fixed",
    )
}

/// Counts the call in `calls`, awaits it, and classifies its error with `redact` scrubbed.
pub(crate) async fn logged<T, E, R>(
    calls: &CallLog,
    redact: &[String],
    operation: &'static str,
    request: impl Future<Output = Result<T, SdkError<E, R>>>,
) -> Result<T, AwsError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    calls.record(operation);
    request
        .await
        .map_err(|err| classify(operation, err, redact))
}

/// `Ok(None)` for a resource AWS does not have.
pub(crate) fn absent_as_none<T>(result: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.class == ErrorClass::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// An [`ErrorClass::Invalid`] error raised before any call: the request cannot be built.
/// No credentials anywhere in the chain is a configuration error, found before any call (not
/// every resource "could not be read"). The chain's answer is not cached here: a provider
/// that makes a call (SSO, web identity) makes it once more for the first request.
async fn credentials_found(config: &aws_config::SdkConfig) -> Result<(), AwsError> {
    use aws_sdk_transfer::config::ProvideCredentials;
    let none = |why: String| {
        invalid(
            "Configure",
            format!(
                "no AWS credentials: {why}; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, \
                 pass --profile, or run where a role is available"
            ),
        )
    };
    let provider = config
        .credentials_provider()
        .ok_or_else(|| none("no credentials provider is configured".into()))?;
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(e) => Err(none(e.to_string())),
    }
}

pub(crate) fn invalid(operation: &'static str, message: impl Into<String>) -> AwsError {
    AwsError {
        operation,
        class: ErrorClass::Invalid,
        code: None,
        message: message.into(),
    }
}

/// A request builder that refused its input (a required member left out): a bug here, not
/// in the manifest, but reported rather than unwrapped.
pub(crate) fn built<T>(
    operation: &'static str,
    result: Result<T, aws_smithy_types::error::operation::BuildError>,
) -> Result<T, AwsError> {
    result.map_err(|err| invalid(operation, format!("could not build the request: {err}")))
}

/// RFC 3339 of an AWS timestamp.
pub(crate) fn rfc3339(time: Option<&DateTime>) -> Option<String> {
    time.and_then(|t| t.fmt(DateFormat::DateTime).ok())
}

/// The rest of `pointer` after `base` (`""` for `base` itself), if it is `base` or below it.
pub(crate) fn under<'a>(pointer: &'a str, base: &str) -> Option<&'a str> {
    let rest = pointer.strip_prefix(base)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// The error for a field removed from the manifest that the API cannot clear in place.
pub(crate) fn cannot_clear(operation: &'static str, pointer: &str, why: &str) -> AwsError {
    invalid(
        operation,
        format!(
            "`{pointer}` cannot be cleared in place: {why}; replace the resource, or keep the \
             field in the manifest"
        ),
    )
}

/// The wire string of a spec enum (its serde name, which is the AWS enum value).
pub(crate) fn wire<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Inserts a string unless it is absent or empty (AWS may return `""` for a cleared field).
pub(crate) fn put_str(map: &mut serde_json::Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        map.insert(key.to_owned(), Value::String(v.to_owned()));
    }
}

/// Inserts a value unless it is null or an empty object or list: absent fields are omitted.
pub(crate) fn put(map: &mut serde_json::Map<String, Value>, key: &str, value: Value) {
    let empty = match &value {
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Null => true,
        _ => false,
    };
    if !empty {
        map.insert(key.to_owned(), value);
    }
}
