//! SDK errors classified in one place (not found, throttled, quota, access denied, conflict,
//! invalid, other), their messages scrubbed of secrets; and the retry rule that makes quota
//! errors final.

use std::fmt;

use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;

use super::{AwsError, ErrorClass};

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
            format!("no answer in time ({})", chain(&err)),
        ),
        _ => (ErrorClass::Other, chain(&err)),
    };
    AwsError {
        operation,
        class,
        code,
        message: scrub(message, redact),
    }
}

/// An error and its causes, `a: b: c`, each said once.
fn chain(err: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![err.to_string()];
    let mut cause = err.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cause = c.source();
    }
    parts.join(": ")
}

/// `Code` from `namespace#Code` or `Code:http://…`, the forms AWS error types come in.
fn bare_code(code: &str) -> String {
    let code = code.rsplit('#').next().unwrap_or(code);
    code.split(':').next().unwrap_or(code).trim().to_owned()
}

/// The class of an AWS error code.
fn class_of(code: &str) -> ErrorClass {
    match code {
        "ResourceNotFoundException" | "NoSuchKey" => ErrorClass::NotFound,
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded" => ErrorClass::Throttled,
        "LimitExceededException" | "ServiceQuotaExceededException" => ErrorClass::Quota,
        "AccessDeniedException" | "UnauthorizedOperation" | "AccessDenied" => {
            ErrorClass::AccessDenied
        }
        "ConcurrentModificationException"
        | "PreconditionFailed"
        | "ConditionalRequestConflict"
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
///
/// A secret shorter than 4 characters cannot be cut out of a sentence without mangling it
/// (a one-letter secret is in every word): when one occurs, the whole message is withheld.
fn scrub(mut message: String, redact: &[String]) -> String {
    if redact
        .iter()
        .any(|s| !s.is_empty() && s.chars().count() < 4 && message.contains(s.as_str()))
    {
        return "AWS's message is withheld: it may contain a secret value".to_owned();
    }
    let mut secrets: Vec<&String> = redact.iter().filter(|s| !s.is_empty()).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets {
        if message.contains(secret.as_str()) {
            message = message.replace(secret.as_str(), "(sensitive)");
        }
    }
    message
}

/// A create whose answer was lost (connection dropped, timed out, unreadable response) or
/// was a server error (5xx: AWS does not say whether it acted) may have happened in AWS.
/// Repeating it could create a second connector (CreateConnector has no idempotency token)
/// or fail with "already exists", so it is not retried: the run reports the failure, and
/// the next one adopts what the lost call created (the address is pending in state;
/// connectors carry `outbound:name` and `outbound:lineage`). So a create's final error
/// answer is the answer to its only attempt, or to a repeat after a refusal (throttled):
/// `ResourceAlreadyExists` then proves that this run created nothing (apply drops its mark).
#[derive(Debug)]
pub(super) struct LostCreatesAreNotRepeated;

impl ClassifyRetry for LostCreatesAreNotRepeated {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.output_or_error() {
            Some(Err(e))
                if e.is_connector_error() || e.is_timeout_error() || e.is_response_error() =>
            {
                RetryAction::RetryForbidden
            }
            Some(Err(_)) if ctx.response().is_some_and(|r| r.status().is_server_error()) => {
                RetryAction::RetryForbidden
            }
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "outbound: a lost create is not repeated"
    }
}

/// Quota errors fail at once: the SDK's own classifier retries `LimitExceededException` as
/// throttling, which only delays the inevitable (SPEC 3.4).
#[derive(Debug)]
pub(super) struct QuotaIsFinal;

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
