//! Client-side rate limits: one token bucket per service (`governor`'s GCRA), taken before
//! every call in [`super::Aws::call`], so a run stays under the account's control-plane rate
//! instead of finding it by being throttled (and slowing everyone else in the account down).
//!
//! The defaults sit below AWS's published rates (docs/architecture.md, "Rate limits"):
//! EventBridge's control plane is 50 requests per second per account and Region, shared by
//! every caller; Transfer Family publishes no rate for its connector operations, so its
//! default is a conservative guess. Adaptive retry stays for what is throttled all the same.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

/// The services outbound calls; each has its own bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// EventBridge (connections, API destinations), through the CloudWatch Events SDK.
    Events,
    /// Transfer Family (connectors).
    Transfer,
}

/// Requests per second allowed per service; `None` is no client-side limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub events: Option<NonZeroU32>,
    pub transfer: Option<NonZeroU32>,
}

/// 45 of EventBridge's 50 requests per second (account and Region): a tenth of the budget
/// stays with every other caller, and a run that has the account to itself takes at most
/// 1.11 times the time the account's rate allows (issue 8's target is 1.15).
pub const DEFAULT_EVENTS: u32 = 45;
/// Transfer Family publishes no control-plane rate for its connector operations (unknown, not
/// guessed from other services): 40 per second, below EventBridge's published 50, reads 200
/// connectors in 5 seconds (at 10 per second they were 20 seconds of every plan, four times
/// what the EventBridge reads take); a lower real rate is met by adaptive retry.
pub const DEFAULT_TRANSFER: u32 = 40;
/// The highest rate `--rate-limit` accepts; above it a limit would not limit anything.
const MAX_RATE: u32 = 10_000;

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            events: NonZeroU32::new(DEFAULT_EVENTS),
            transfer: NonZeroU32::new(DEFAULT_TRANSFER),
        }
    }
}

impl RateLimits {
    /// The limit of one service.
    pub fn of(&self, service: Service) -> Option<NonZeroU32> {
        match service {
            Service::Events => self.events,
            Service::Transfer => self.transfer,
        }
    }
}

impl fmt::Display for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |r: Option<NonZeroU32>| r.map_or_else(|| "off".to_owned(), |n| n.to_string());
        write!(
            f,
            "events={},transfer={}",
            show(self.events),
            show(self.transfer)
        )
    }
}

/// `events=N,transfer=M` (either or both, each once; `off` for no limit), starting from the
/// defaults; a bare `off` is no limit for any service.
impl FromStr for RateLimits {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim() == "off" {
            return Ok(RateLimits {
                events: None,
                transfer: None,
            });
        }
        let mut limits = RateLimits::default();
        let mut seen: Vec<&str> = Vec::new();
        for item in s.split(',').map(str::trim) {
            if item == "off" {
                return Err(
                    "`off` alone turns every limit off; with services, write `events=off`".into(),
                );
            }
            let Some((service, rate)) = item.split_once('=') else {
                return Err(format!(
                    "`{item}`: expected SERVICE=RATE, e.g. events=20,transfer=5"
                ));
            };
            let rate = match rate.trim() {
                "off" => None,
                n => match n.parse::<u32>() {
                    Ok(n) if (1..=MAX_RATE).contains(&n) => NonZeroU32::new(n),
                    _ => {
                        return Err(format!(
                            "`{item}`: the rate must be a whole number of requests per second \
                             from 1 to {MAX_RATE}, or `off`"
                        ));
                    }
                },
            };
            if seen.contains(&service.trim()) {
                return Err(format!("`{}` is given twice", service.trim()));
            }
            seen.push(service.trim());
            match service.trim() {
                "events" => limits.events = rate,
                "transfer" => limits.transfer = rate,
                other => {
                    return Err(format!(
                        "`{item}`: unknown service `{other}` (expected `events` or `transfer`)"
                    ));
                }
            }
        }
        Ok(limits)
    }
}

type Bucket<C> = RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// One bucket per limited service, calls evenly spaced at the rate, with a burst of a tenth
/// of a second's calls (at least one). A second's burst at the start of a run would meet what
/// the previous run (or another caller) left of the account's bucket, and be throttled; the
/// proxy test showed it. Without any burst, a caller woken late (the tokio timer has 1 ms
/// granularity) lost that time for good: 42.6 calls a second measured at a limit of 45.
pub(crate) struct Limiter<C: Clock = DefaultClock> {
    clock: C,
    events: Option<Bucket<C>>,
    transfer: Option<Bucket<C>>,
}

impl Limiter {
    pub(crate) fn new(limits: &RateLimits) -> Self {
        Limiter::with_clock(limits, DefaultClock::default())
    }
}

impl<C: Clock + Clone> Limiter<C> {
    fn with_clock(limits: &RateLimits, clock: C) -> Self {
        let bucket = |rate: Option<NonZeroU32>| {
            rate.map(|r| {
                let burst = NonZeroU32::new(r.get() / 10).unwrap_or(NonZeroU32::MIN);
                RateLimiter::direct_with_clock(
                    Quota::per_second(r).allow_burst(burst),
                    clock.clone(),
                )
            })
        };
        Limiter {
            events: bucket(limits.events),
            transfer: bucket(limits.transfer),
            clock,
        }
    }

    /// Takes a token of `service` if there is one (`None`), or says how long until there is.
    fn try_take(&self, service: Service) -> Option<Duration> {
        let bucket = match service {
            Service::Events => self.events.as_ref(),
            Service::Transfer => self.transfer.as_ref(),
        }?;
        bucket
            .check()
            .err()
            .map(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Waits (on the tokio timer) until `service` has a token, and takes it; returns how long
    /// it waited.
    pub(crate) async fn take(&self, service: Service) -> Duration {
        let mut waited = Duration::ZERO;
        while let Some(wait) = self.try_take(service) {
            tokio::time::sleep(wait).await;
            waited += wait;
        }
        waited
    }
}

/// The service an operation's error type belongs to: every operation outbound calls is
/// listed here, so a new one does not compile until it is given a bucket.
pub(crate) trait OfService {
    const SERVICE: Service;
}

/// `of_service!(Transfer: ErrorType, …)`: also used by the adapters of kinds added later
/// (`aws/transfer/certificate.rs`), beside their calls.
macro_rules! of_service {
    ($service:ident: $($error:ty),+ $(,)?) => {
        $(impl $crate::aws::rate::OfService for $error {
            const SERVICE: $crate::aws::rate::Service = $crate::aws::rate::Service::$service;
        })+
    };
}
pub(crate) use of_service;

of_service!(Events:
    aws_sdk_cloudwatchevents::operation::create_connection::CreateConnectionError,
    aws_sdk_cloudwatchevents::operation::describe_connection::DescribeConnectionError,
    aws_sdk_cloudwatchevents::operation::update_connection::UpdateConnectionError,
    aws_sdk_cloudwatchevents::operation::deauthorize_connection::DeauthorizeConnectionError,
    aws_sdk_cloudwatchevents::operation::delete_connection::DeleteConnectionError,
    aws_sdk_cloudwatchevents::operation::list_connections::ListConnectionsError,
    aws_sdk_cloudwatchevents::operation::create_api_destination::CreateApiDestinationError,
    aws_sdk_cloudwatchevents::operation::describe_api_destination::DescribeApiDestinationError,
    aws_sdk_cloudwatchevents::operation::update_api_destination::UpdateApiDestinationError,
    aws_sdk_cloudwatchevents::operation::delete_api_destination::DeleteApiDestinationError,
    aws_sdk_cloudwatchevents::operation::list_api_destinations::ListApiDestinationsError,
);

of_service!(Transfer:
    aws_sdk_transfer::operation::create_connector::CreateConnectorError,
    aws_sdk_transfer::operation::describe_connector::DescribeConnectorError,
    aws_sdk_transfer::operation::update_connector::UpdateConnectorError,
    aws_sdk_transfer::operation::delete_connector::DeleteConnectorError,
    aws_sdk_transfer::operation::list_connectors::ListConnectorsError,
    aws_sdk_transfer::operation::tag_resource::TagResourceError,
    aws_sdk_transfer::operation::untag_resource::UntagResourceError,
);

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn limits(s: &str) -> Result<RateLimits, String> {
        s.parse()
    }

    #[test]
    fn defaults_are_below_the_published_eventbridge_rate() {
        let d = RateLimits::default();
        assert_eq!(d.to_string(), "events=45,transfer=40");
        assert!(d.events.is_some_and(|r| r.get() < 50));
    }

    #[test]
    fn parses_either_service_and_keeps_the_other_default() {
        assert_eq!(
            limits("events=5").map(|l| l.to_string()),
            Ok("events=5,transfer=40".to_owned())
        );
        assert_eq!(
            limits(" transfer = 3 , events=off").map(|l| l.to_string()),
            Ok("events=off,transfer=3".to_owned())
        );
    }

    /// Issue 15 item 12: the help offers `off`, so a bare `off` is every service off; a
    /// service named twice is refused, not decided by its last mention.
    #[test]
    fn a_bare_off_turns_every_limit_off_and_a_repeated_service_is_refused() {
        assert_eq!(
            limits("off").map(|l| l.to_string()),
            Ok("events=off,transfer=off".to_owned())
        );
        assert_eq!(limits(" off ").map(|l| l.events), Ok(None));
        let err = limits("events=1,events=2").expect_err("a repeated service");
        assert!(err.contains("`events` is given twice"), "{err}");
        let err = limits("off,events=2").expect_err("off with a service");
        assert!(err.contains("`off` alone"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        for (input, named) in [
            ("events=0", "`events=0`"),
            ("events=-1", "`events=-1`"),
            ("events=fast", "`events=fast`"),
            ("events=10001", "`events=10001`"),
            ("s3=5", "unknown service `s3`"),
            ("events", "`events`: expected SERVICE=RATE"),
            ("events=5,", "``: expected SERVICE=RATE"),
        ] {
            let err = limits(input).expect_err(input);
            assert!(err.contains(named), "{input}: {err}");
        }
    }

    #[test]
    fn a_bucket_spaces_calls_evenly_at_the_rate() {
        let clock = FakeRelativeClock::default();
        let limiter = Limiter::with_clock(&limits("events=4,transfer=off").unwrap(), clock.clone());
        assert_eq!(limiter.try_take(Service::Events), None);
        assert_eq!(
            limiter.try_take(Service::Events),
            Some(Duration::from_millis(250))
        );
        clock.advance(Duration::from_millis(250));
        assert_eq!(limiter.try_take(Service::Events), None);
        assert_eq!(
            limiter.try_take(Service::Events),
            Some(Duration::from_millis(250))
        );
        // Transfer has no limit, and the events bucket is not shared with it.
        for _ in 0..100 {
            assert_eq!(limiter.try_take(Service::Transfer), None);
        }
    }

    /// A caller always woken 1 ms after its token is due (the tokio timer's granularity)
    /// still gets the whole rate: at 40 per second for 10 seconds, 400 calls, not 10 000 / 26.
    #[test]
    fn late_wake_ups_do_not_lower_the_rate() {
        let clock = FakeRelativeClock::default();
        let limiter = Limiter::with_clock(&limits("events=40").unwrap(), clock.clone());
        let mut calls = 0;
        let mut elapsed = Duration::ZERO;
        while elapsed < Duration::from_secs(10) {
            match limiter.try_take(Service::Events) {
                None => calls += 1,
                Some(wait) => {
                    let late = wait + Duration::from_millis(1);
                    clock.advance(late);
                    elapsed += late;
                }
            }
        }
        assert!(calls >= 400, "{calls} calls in 10 s at 40 per second");
        assert!(
            calls <= 400 + 4,
            "{calls}: more than the rate and a tenth of a second's burst"
        );
    }

    #[test]
    fn services_have_separate_buckets() {
        let clock = FakeRelativeClock::default();
        let limiter = Limiter::with_clock(&limits("events=1,transfer=1").unwrap(), clock);
        assert_eq!(limiter.try_take(Service::Events), None);
        assert_eq!(limiter.try_take(Service::Transfer), None);
        assert!(limiter.try_take(Service::Events).is_some());
        assert!(limiter.try_take(Service::Transfer).is_some());
    }
}
