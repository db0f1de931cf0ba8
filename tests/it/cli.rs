//! The command line itself: `--version`, shell completions, global flags before or after the
//! subcommand, and usage errors exiting 1 (SPEC §2: exit 2 means changes or drift).

use crate::support;

use support::project::{Project, connection, destination};

const SUBCOMMANDS: [&str; 6] = [
    "validate",
    "plan",
    "apply",
    "drift",
    "schema",
    "completions",
];

#[test]
fn version_names_the_release_and_the_format_versions() {
    let p = Project::new();
    let run = p.run(&["--version"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        format!(
            "outbound {} (state format 1, plan format 2)\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn completions_for_each_shell_name_every_subcommand() {
    let p = Project::new();
    for shell in ["bash", "zsh", "fish"] {
        let run = p.run(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(run.stdout.len() > 500, "{shell}: {}", run.stdout);
        for sub in SUBCOMMANDS {
            assert!(run.stdout.contains(sub), "{shell} script lacks `{sub}`");
        }
        // Global flags complete after the subcommand too.
        assert!(run.stdout.contains("endpoint-url"), "{shell}");
    }
    let run = p.run(&["completions", "tcsh"]);
    assert_eq!(run.code, 1, "an unknown shell is a usage error");
    assert!(run.stdout.is_empty());
}

#[test]
fn global_flags_are_accepted_before_or_after_the_subcommand() {
    let p = Project::new();
    p.write("c.yaml", &connection("cli-flags", "Orders"));
    for args in [
        &["--region", "eu-west-1", "validate", "manifests"][..],
        &["validate", "manifests", "--region", "eu-west-1"][..],
        &["--no-color", "--state", "elsewhere.json", "validate"][..],
        &["validate", "-v", "--parallelism", "4", "--profile", "x"][..],
    ] {
        let run = p.run(args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    }
}

/// `--region` and `--state` given before the subcommand are the ones used, against moto:
/// without them there is no region at all (AWS_REGION is unset) and no state file there.
#[test]
fn global_flags_before_the_subcommand_reach_aws_and_the_state() {
    let p = Project::new();
    p.write("c.yaml", &connection("cli-global", "Orders"));
    p.write("d.yaml", &destination("cli-global-orders", "cli-global", 5));
    let state = p.state_path();
    let state = state.to_str().unwrap();
    let run = |args: &[&str]| {
        let out = p
            .command(args)
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("OUTBOUND_STATE")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let region = p.region.as_str();
    let (code, stderr) = run(&[
        "--region",
        region,
        "--state",
        state,
        "apply",
        "--auto-approve",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        p.managed(),
        ["ApiDestination/cli-global-orders", "Connection/cli-global"]
    );
    assert!(p.operations().contains(&"CreateConnection".to_owned()));
    // After the subcommand, the same flags find the same state and region: nothing to do.
    let (code, stderr) = run(&[
        "plan",
        "--detailed-exitcode",
        "--state",
        state,
        "--region",
        region,
    ]);
    assert_eq!(code, Some(0), "{stderr}");
}

/// Configuration errors are errors (exit 1), not "some resources could not be read" (exit 3):
/// a bad `--endpoint-url`, no credentials at all, no region.
#[test]
fn configuration_errors_exit_1() {
    let p = Project::new();
    // No secret: nothing but AWS settings can fail.
    p.write(
        "d.yaml",
        "apiVersion: outbound/v1
kind: ApiDestination
metadata: { name: cfg }
spec:
  connectionArn: arn:aws:events:eu-west-1:111122223333:connection/elsewhere/0123
  invocationEndpoint: https://api.example.com/cfg
  httpMethod: POST
",
    );
    for bad in ["notaurl", "http://[bad", "ftp://127.0.0.1:1"] {
        let run = p.run(&["plan", "--endpoint-url", bad]);
        assert_eq!(run.code, 1, "--endpoint-url {bad}: {}", run.stderr);
        assert!(run.stderr.contains("--endpoint-url"), "{}", run.stderr);
    }
    let without = |args: &[&str], vars: &[&str]| {
        let mut cmd = p.command(args);
        for v in vars {
            cmd.env_remove(v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let no_credentials = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];
    for command in ["plan", "drift"] {
        let (code, stderr) = without(&[command], &no_credentials);
        assert_eq!(code, Some(1), "{command} without credentials: {stderr}");
        assert!(stderr.contains("no AWS credentials"), "{stderr}");
    }
    let (code, stderr) = without(&["apply", "--auto-approve"], &no_credentials);
    assert_eq!(code, Some(1), "{stderr}");
    let (code, stderr) = without(&["plan"], &["AWS_REGION", "AWS_DEFAULT_REGION"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no AWS region"), "{stderr}");
}

#[test]
fn usage_errors_exit_1_not_2() {
    let p = Project::new();
    for args in [
        &["--bogus"][..],
        &["plan", "--bogus"][..],
        &["validate", "--format", "json"][..],
        &["plan", "--format", "yaml"][..],
        &["plan", "--parallelism", "0"][..],
        &[][..],
        &["no-such-command"][..],
    ] {
        let run = p.run(args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("error"), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    // Help is not an error.
    let run = p.run(&["--help"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("Usage: outbound"));
}

/// Issue 15 item 12: with every log on (`OUTBOUND_LOG=trace`) and the SDK's opt-in to print
/// request bodies (`LOG_SIGNABLE_BODY=true`), a full apply (connections with secrets created
/// and then updated) prints no secret value: the SDK's and the HTTP stack's trace events,
/// which print request bodies, are never written.
#[test]
fn trace_logging_with_signable_bodies_prints_no_secret() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders"));
    p.write("d.yaml", &destination("orders", "acme", 10));
    let run = |args: &[&str]| {
        let out = p
            .command(args)
            .env("OUTBOUND_LOG", "trace")
            .env("LOG_SIGNABLE_BODY", "true")
            .output()
            .unwrap();
        support::project::Run::checked_with(out, &[("BASIC_PASSWORD", "basic-password-value")])
    };
    // The SDK prints a signed body as its bytes in decimal (`Bytes([123, 34, …])`): the
    // secret must not appear that way either.
    let as_bytes = |s: &str| {
        s.bytes()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let first = run(&["apply", "--auto-approve"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    // Not vacuous: the logs are on, the SDK's debug events included.
    assert!(
        first.stderr.contains("DEBUG") && first.stderr.contains("aws_smithy_runtime"),
        "{}",
        &first.stderr[..first.stderr.len().min(2000)]
    );
    p.write("c.yaml", &connection("acme", "Orders, changed"));
    let second = run(&["apply", "--auto-approve"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(second.stderr.contains("UpdateConnection"), "the update ran");
    for out in [&first.stderr, &second.stderr] {
        assert!(
            !out.contains(&as_bytes(support::project::CANARY)),
            "a secret leaked as bytes"
        );
    }
}
