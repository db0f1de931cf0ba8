//! Waiting for a resource to reach the health a change needs.

use std::time::Duration;

use crate::aws::{AwsError, ErrorClass, Live};
use crate::resource::Kind;
use crate::resource::rules::Health;

use super::progress;

/// Describes until the resource's health (by its kind's rules) is `want`; fails on a
/// failed status (or one switched off, when not wanted) or after `timeout`.
pub(super) async fn wait_for<F, Fut>(
    step: &progress::Step,
    timeout: Duration,
    describe: F,
    kind: Kind,
    want: Health,
) -> Result<Option<Live>, AwsError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Option<Live>, AwsError>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut delay = Duration::from_millis(200);
    loop {
        let live = describe().await?;
        let status = live.as_ref().and_then(|l| l.status.clone());
        // A resource whose API reports no status is ready once it can be read.
        let Some(s) = status.as_deref() else {
            return Ok(live);
        };
        let health = (kind.rules().health)(s);
        if health == want {
            return Ok(live);
        }
        if matches!(health, Health::Failed | Health::Off) {
            let reason = live
                .as_ref()
                .and_then(|l| l.status_reason.clone())
                .unwrap_or_default();
            return Err(AwsError {
                operation: "wait",
                class: ErrorClass::Other,
                code: Some(s.to_owned()),
                message: format!(
                    "the resource is {s}{}",
                    if reason.is_empty() {
                        String::new()
                    } else {
                        format!(": {reason}")
                    }
                ),
            });
        }
        if tokio::time::Instant::now() + delay > deadline {
            return Err(AwsError {
                operation: "wait",
                class: ErrorClass::Other,
                code: None,
                message: format!(
                    "still {s} after {}, expected it {}",
                    humantime::format_duration(timeout),
                    if want == Health::Off {
                        "switched off"
                    } else {
                        "ready"
                    }
                ),
            });
        }
        step.waiting(s);
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}
