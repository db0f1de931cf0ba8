//! Client-side rate limits (`--rate-limit`) against the proxy's rate-limiting mode: a run
//! that stays under the account's rate is never throttled, one that goes over it is slowed
//! by adaptive retry and still succeeds, and a bad limit is refused before any call.

use crate::support::moto;
use crate::support::project::{Project, connection, destination};

/// `n` connections and `n` destinations: 4 EventBridge calls per pair to create (a Describe
/// that finds nothing and a create each), a List page per kind to plan.
fn resources(p: &Project, n: usize) {
    for i in 0..n {
        p.write(
            &format!("c{i}.yaml"),
            &connection(&format!("conn-{i}"), "Orders"),
        );
        p.write(
            &format!("d{i}.yaml"),
            &destination(&format!("dest-{i}"), &format!("conn-{i}"), 10),
        );
    }
}

/// The calls of the project's region that the proxy answered with its rate limit.
fn throttled(p: &Project) -> usize {
    moto()
        .calls(&p.region)
        .iter()
        .filter(|c| c.fault.as_deref() == Some("rate_limit"))
        .count()
}

#[test]
fn a_client_limit_under_the_account_rate_is_never_throttled() {
    let p = Project::new();
    resources(&p, 6);
    moto().rate_limit(&p.region, Some(5));
    let run = p.run(&["apply", "--auto-approve", "--rate-limit", "events=4"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let plan = p.run(&["plan", "--detailed-exitcode", "--rate-limit", "events=4"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    let events = moto()
        .calls(&p.region)
        .iter()
        .filter(|c| c.service.as_deref() == Some("events"))
        .count();
    assert!(events > 20, "only {events} EventBridge calls were made");
    assert_eq!(throttled(&p), 0, "{:?}", p.operations());
    moto().rate_limit(&p.region, None);
}

#[test]
fn a_run_over_the_account_rate_is_throttled_and_still_succeeds() {
    let p = Project::new();
    resources(&p, 2);
    moto().rate_limit(&p.region, Some(3));
    // No client limit: the proxy's 3 per second is what the run meets.
    let run = p.run(&["apply", "--auto-approve", "--rate-limit", "events=off"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        throttled(&p) > 0,
        "the proxy throttled nothing: {:?}",
        p.operations()
    );
    assert!(!run.stderr.contains("Throttl"), "{}", run.stderr);
    let plan = p.run(&["plan", "--detailed-exitcode", "--rate-limit", "events=off"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    moto().rate_limit(&p.region, None);
}

#[test]
fn a_bad_rate_limit_is_a_usage_error_naming_it() {
    let p = Project::new();
    resources(&p, 4);
    let flag = p.run(&["plan", "--rate-limit", "events=10,transfer=fast"]);
    assert_ne!(flag.code, 0);
    assert!(flag.stderr.contains("`transfer=fast`"), "{}", flag.stderr);
    assert!(flag.stderr.contains("--rate-limit"), "{}", flag.stderr);

    let env = p
        .command(&["plan"])
        .env("OUTBOUND_RATE_LIMIT", "sqs=5")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&env.stderr);
    assert_ne!(env.status.code(), Some(0));
    assert!(stderr.contains("unknown service `sqs`"), "{stderr}");
    assert!(p.operations().is_empty(), "{:?}", p.operations());
}
