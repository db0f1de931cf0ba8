//! Issue 10: an endpoint that never answers ends the run with a one-line error
//! (`--request-timeout`), and a port with nothing listening fails fast (`--connect-timeout`).
//! The account guard's STS call is the run's first, so the one line names it (issue 16: one
//! line per cause, not one per resource).

use std::net::TcpListener;
use std::time::Duration;

use crate::support::project::{Project, Run, connection};

/// A guard only: a run that hangs fails the test instead of blocking the suite.
const GUARD: Duration = Duration::from_secs(60);

/// `outbound plan` in `p` against `endpoint` with `flags`, ended by [`GUARD`] at the latest.
fn plan_against(p: &Project, endpoint: &str, flags: &[&str]) -> Run {
    let mut args = vec!["plan", "--endpoint-url", endpoint];
    args.extend_from_slice(flags);
    let mut cmd = p.command(&args);
    cmd.env_remove("AWS_ENDPOINT_URL");
    let out = assert_cmd::Command::from_std(cmd)
        .timeout(GUARD)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some(),
        "outbound did not end by itself within {GUARD:?} (killed by the guard)"
    );
    Run::checked(out)
}

/// A loopback listener that accepts connections (the kernel's backlog does) and never reads
/// or answers: a hung endpoint.
fn hung_endpoint() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

#[test]
fn a_hung_endpoint_ends_the_run_with_a_one_line_timeout_error() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders API"));
    let (_listener, url) = hung_endpoint();

    let run = plan_against(&p, &url, &["--request-timeout", "1s"]);

    assert_eq!(run.code, 3, "AWS could not be read:\n{}", run.stderr);
    assert_one_line(&run, "GetCallerIdentity failed: no answer in time");
}

/// A port with nothing listening refuses at once: the run ends with the refusal, not a wait.
#[test]
fn a_closed_port_is_refused_not_waited_for() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders API"));
    let url = {
        let (listener, url) = hung_endpoint();
        drop(listener);
        url
    };

    let run = plan_against(&p, &url, &["--connect-timeout", "1s"]);

    assert_eq!(run.code, 3, "AWS could not be read:\n{}", run.stderr);
    assert_one_line(&run, "Connection refused");
}

/// stderr says on one line that AWS could not be read and `cause`, with no multi-line SDK
/// dump around it and no line per resource.
fn assert_one_line(run: &Run, cause: &str) {
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line:\n{}", run.stderr);
    assert!(
        lines[0].contains("could not be read") && lines[0].contains(cause),
        "{cause:?} not said:\n{}",
        run.stderr
    );
}
