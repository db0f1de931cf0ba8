//! The only module that talks to AWS (aws-sdk-*): clients from the standard chain, one file
//! per service, SDK errors classified in one place, every call counted per operation.
//!
//! Resources come back as [`Live`]: plain data in the manifest's own shape, so the diff
//! compares like with like and never sees an SDK type.

pub mod events;
pub mod transfer;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_transfer::config::Credentials;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};
use aws_smithy_types::date_time::{DateTime, Format as DateFormat};
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;

/// Where and as whom to call AWS (`--region`, `--profile`, `--endpoint-url`).
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// One endpoint for every service, e.g. a local emulator (also `AWS_ENDPOINT_URL`).
    pub endpoint_url: Option<String>,
}

/// The clients outbound uses, with the count of calls made through them.
pub struct Aws {
    pub(crate) transfer: aws_sdk_transfer::Client,
    pub(crate) events: aws_sdk_cloudwatchevents::Client,
    pub calls: CallLog,
    /// Secret values this run knows; scrubbed from every AWS error message.
    redact: Vec<String>,
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

/// A resource as AWS has it.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    /// The identity AWS knows it by: the name (connections, API destinations) or `c-…` id.
    pub id: String,
    pub arn: String,
    /// The spec in manifest shape (camelCase, tags as a map without `aws:` keys); secret
    /// values AWS does not return are `{"$sensitive": true}`.
    pub spec: Value,
    /// `ConnectionState`, `ApiDestinationState` or connector `Status`.
    pub status: Option<String>,
    /// `StateReason` of a connection, `ErrorMessage` of a connector.
    pub status_reason: Option<String>,
    /// RFC 3339; the drift marker of connections (and API destinations).
    pub last_modified: Option<String>,
    /// Connector tags including the reserved `outbound:` ones (empty for other kinds).
    pub tags: BTreeMap<String, String>,
}

/// A connector as `ListConnectors` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedConnector {
    pub id: String,
    pub arn: String,
    pub url: Option<String>,
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

/// How long one connection attempt, one read, one attempt and one whole call (retries
/// included) may take: generous for AWS, short enough that a dead endpoint fails a run.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(30))
        .operation_attempt_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_secs(120))
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
        let credentials = Credentials::new(
            access_key_id,
            secret_access_key,
            None,
            None,
            "outbound-fixed",
        );
        Aws::build(options, Some(credentials), secrets).await
    }

    /// 1. the shared config: chain, overrides, retry and timeouts; 2. a region or an error;
    /// 3. one client per service, quota errors made final.
    async fn build(
        options: &AwsOptions,
        credentials: Option<Credentials>,
        secrets: Vec<String>,
    ) -> Result<Aws, AwsError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::adaptive().with_max_attempts(5))
            .timeout_config(timeouts());
        if let Some(region) = &options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(endpoint) = &options.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(credentials) = credentials {
            loader = loader.credentials_provider(credentials);
        }
        let config = loader.load().await;
        if config.region().is_none() {
            return Err(AwsError {
                operation: "Configure",
                class: ErrorClass::Invalid,
                code: None,
                message:
                    "no AWS region: pass --region, set AWS_REGION, or set `region` in the profile"
                        .to_owned(),
            });
        }
        let transfer = aws_sdk_transfer::config::Builder::from(&config)
            .retry_classifier(QuotaIsFinal)
            .build();
        let events = aws_sdk_cloudwatchevents::config::Builder::from(&config)
            .retry_classifier(QuotaIsFinal)
            .build();
        Ok(Aws {
            transfer: aws_sdk_transfer::Client::from_conf(transfer),
            events: aws_sdk_cloudwatchevents::Client::from_conf(events),
            calls: CallLog::default(),
            redact: secrets.into_iter().filter(|s| !s.is_empty()).collect(),
        })
    }

    /// The region the clients call.
    pub fn region(&self) -> Option<String> {
        self.events.config().region().map(ToString::to_string)
    }

    /// Counts the call, awaits it, and classifies its error: every AWS call goes through here.
    pub(crate) async fn call<T, E, R>(
        &self,
        operation: &'static str,
        request: impl Future<Output = Result<T, SdkError<E, R>>>,
    ) -> Result<T, AwsError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        self.calls.record(operation);
        request
            .await
            .map_err(|err| classify(operation, err, &self.redact))
    }
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

/// Turns any SDK error into an [`AwsError`] of the right class, its message scrubbed of
/// `redact`.
pub(crate) fn classify<E, R>(
    operation: &'static str,
    err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    redact: &[String],
) -> AwsError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    let code = err.code().map(bare_code).filter(|c| !c.is_empty());
    let (class, message) = match &err {
        SdkError::ServiceError(_) => {
            let class = code.as_deref().map_or(ErrorClass::Other, class_of);
            let message = match (code.as_deref(), err.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                (None, _) => DisplayErrorContext(&err).to_string(),
            };
            (class, message)
        }
        SdkError::TimeoutError(_) => (
            ErrorClass::Other,
            format!("no answer in time ({})", DisplayErrorContext(&err)),
        ),
        _ => (ErrorClass::Other, DisplayErrorContext(&err).to_string()),
    };
    AwsError {
        operation,
        class,
        code,
        message: scrub(message, redact),
    }
}

/// `Code` from `namespace#Code` or `Code:http://…`, the forms AWS error types come in.
fn bare_code(code: &str) -> String {
    let code = code.rsplit('#').next().unwrap_or(code);
    code.split(':').next().unwrap_or(code).trim().to_owned()
}

/// The class of an AWS error code.
fn class_of(code: &str) -> ErrorClass {
    match code {
        "ResourceNotFoundException" => ErrorClass::NotFound,
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded" => ErrorClass::Throttled,
        "LimitExceededException" | "ServiceQuotaExceededException" => ErrorClass::Quota,
        "AccessDeniedException" | "UnauthorizedOperation" | "AccessDenied" => {
            ErrorClass::AccessDenied
        }
        "ConcurrentModificationException"
        | "ResourceAlreadyExistsException"
        | "ResourceExistsException"
        | "ConflictException"
        | "InvalidStateException" => ErrorClass::Conflict,
        "ValidationException" | "InvalidRequestException" => ErrorClass::Invalid,
        c if c.starts_with("InvalidParameter") => ErrorClass::Invalid,
        _ => ErrorClass::Other,
    }
}

/// `message` with every secret in `redact` replaced by `(sensitive)`, longest first so that a
/// secret containing another is not left half shown.
fn scrub(mut message: String, redact: &[String]) -> String {
    let mut secrets: Vec<&String> = redact.iter().filter(|s| !s.is_empty()).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets {
        if message.contains(secret.as_str()) {
            message = message.replace(secret.as_str(), "(sensitive)");
        }
    }
    message
}

/// Quota errors fail at once: the SDK's own classifier retries `LimitExceededException` as
/// throttling, which only delays the inevitable (SPEC 3.4).
#[derive(Debug)]
struct QuotaIsFinal;

impl ClassifyRetry for QuotaIsFinal {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        if !matches!(ctx.output_or_error(), Some(Err(_))) {
            return RetryAction::NoActionIndicated;
        }
        match ctx.response().and_then(response_error_code) {
            Some(code) if class_of(&code) == ErrorClass::Quota => RetryAction::RetryForbidden,
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "outbound: quota errors are final"
    }
}

/// The error code of an AWS JSON response: the `x-amzn-ErrorType` header, or `__type`/`code`
/// in the body.
fn response_error_code(response: &HttpResponse) -> Option<String> {
    if let Some(header) = response.headers().get("x-amzn-ErrorType") {
        return Some(bare_code(header));
    }
    let body: Value = serde_json::from_slice(response.body().bytes()?).ok()?;
    let code = body.get("__type").or_else(|| body.get("code"))?.as_str()?;
    Some(bare_code(code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_transfer::operation::describe_connector::DescribeConnectorError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    type Error = SdkError<DescribeConnectorError, HttpResponse>;

    fn service_error(code: &str, message: &str) -> Error {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        let status = StatusCode::try_from(400).unwrap();
        SdkError::service_error(
            DescribeConnectorError::generic(meta),
            HttpResponse::new(status, SdkBody::empty()),
        )
    }

    #[test]
    fn codes_map_to_classes() {
        let cases = [
            ("ResourceNotFoundException", ErrorClass::NotFound),
            ("ThrottlingException", ErrorClass::Throttled),
            ("Throttling", ErrorClass::Throttled),
            ("TooManyRequestsException", ErrorClass::Throttled),
            ("RequestLimitExceeded", ErrorClass::Throttled),
            ("LimitExceededException", ErrorClass::Quota),
            ("ServiceQuotaExceededException", ErrorClass::Quota),
            ("AccessDeniedException", ErrorClass::AccessDenied),
            ("UnauthorizedOperation", ErrorClass::AccessDenied),
            ("AccessDenied", ErrorClass::AccessDenied),
            ("ConcurrentModificationException", ErrorClass::Conflict),
            ("ResourceAlreadyExistsException", ErrorClass::Conflict),
            ("ResourceExistsException", ErrorClass::Conflict),
            ("ConflictException", ErrorClass::Conflict),
            ("InvalidStateException", ErrorClass::Conflict),
            ("ValidationException", ErrorClass::Invalid),
            ("InvalidRequestException", ErrorClass::Invalid),
            ("InvalidParameterValue", ErrorClass::Invalid),
            ("InternalServiceError", ErrorClass::Other),
        ];
        for (code, class) in cases {
            let err = classify("DescribeConnector", service_error(code, "m"), &[]);
            assert_eq!(err.class, class, "{code}");
            assert_eq!(err.code.as_deref(), Some(code));
            assert_eq!(
                err.to_string(),
                format!("DescribeConnector failed: {code}: m")
            );
        }
        assert_eq!(
            bare_code("com.amazonaws.transfer#ThrottlingException"),
            "ThrottlingException"
        );
        assert_eq!(
            bare_code("ValidationException:http://internal.amazon.com/"),
            "ValidationException"
        );
    }

    #[test]
    fn secrets_are_scrubbed_from_messages() {
        let redact = vec![
            "s3cr3t".to_owned(),
            "s3cr3t-longer".to_owned(),
            String::new(),
        ];
        let err = classify(
            "UpdateConnection",
            service_error(
                "ValidationException",
                "value s3cr3t-longer and s3cr3t rejected",
            ),
            &redact,
        );
        assert_eq!(
            err.message,
            "ValidationException: value (sensitive) and (sensitive) rejected"
        );
    }

    #[test]
    fn transport_failures_are_other_with_a_readable_message() {
        let refused = std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused by s3cr3t",
        );
        let err: Error = SdkError::dispatch_failure(ConnectorError::io(refused.into()));
        let err = classify("ListConnectors", err, &["s3cr3t".to_owned()]);
        assert_eq!((err.class, err.code.as_deref()), (ErrorClass::Other, None));
        assert!(
            err.message.contains("connection refused by (sensitive)"),
            "{}",
            err.message
        );

        let err: Error = SdkError::timeout_error("operation timed out after 30s");
        let err = classify("ListConnectors", err, &[]);
        assert_eq!(err.class, ErrorClass::Other);
        assert!(err.message.contains("no answer in time"), "{}", err.message);
    }

    #[test]
    fn quota_codes_are_read_from_the_response() {
        let status = StatusCode::try_from(400).unwrap();
        let mut response = HttpResponse::new(
            status,
            SdkBody::from(r#"{"__type":"com.amazonaws#LimitExceededException"}"#),
        );
        assert_eq!(
            response_error_code(&response).as_deref(),
            Some("LimitExceededException")
        );
        response
            .headers_mut()
            .insert("x-amzn-ErrorType", "ServiceQuotaExceededException:http://x");
        assert_eq!(
            response_error_code(&response).as_deref(),
            Some("ServiceQuotaExceededException")
        );
    }
}
