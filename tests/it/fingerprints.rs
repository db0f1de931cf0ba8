//! Secret fingerprints under `OUTBOUND_FINGERPRINT_KEY`: the keyed hash replaces Argon2id for
//! new fingerprints, a state made with one algorithm is compared in it after a switch, and a
//! key too short is refused before any call.

use crate::support::project::{Project, connection};

const KEY: &str = "a-fingerprint-key-of-at-least-32-bytes!";

/// The algorithms (`argon2id`, `hmac-sha256`) of the connection's recorded fingerprints.
fn algorithms(p: &Project) -> Vec<String> {
    p.state()["resources"]["Connection/acme"]["fingerprints"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_str().unwrap().split('$').next().unwrap().to_owned())
        .collect()
}

#[test]
fn turning_the_key_on_shows_no_change_and_a_changed_secret_moves_to_it() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders"));
    p.apply();
    assert_eq!(algorithms(&p), ["argon2id", "argon2id"]);

    // The key on: the Argon2id fingerprints are compared as Argon2id.
    let keyed = |args: &[&str], secret: &str| {
        let out = p
            .command(args)
            .env("OUTBOUND_FINGERPRINT_KEY", KEY)
            .env("ACME_API_KEY", secret)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(!text.contains(secret), "the secret leaked:\n{text}");
        (out.status.code(), text)
    };
    let (code, text) = keyed(
        &["plan", "--detailed-exitcode"],
        crate::support::project::CANARY,
    );
    assert_eq!(code, Some(0), "{text}");

    // A changed secret is found, and recorded with the key.
    let (code, text) = keyed(&["plan", "--detailed-exitcode"], "rotated-secret-value");
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("apiKeyValue"), "{text}");
    let (code, text) = keyed(&["apply", "--auto-approve"], "rotated-secret-value");
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(algorithms(&p), ["hmac-sha256", "hmac-sha256"]);
    let (code, text) = keyed(&["plan", "--detailed-exitcode"], "rotated-secret-value");
    assert_eq!(code, Some(0), "{text}");

    // Without the key, keyed fingerprints cannot be checked: a re-send, said on stderr.
    let out = p
        .command(&["plan", "--detailed-exitcode"])
        .env("ACME_API_KEY", "rotated-secret-value")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("OUTBOUND_FINGERPRINT_KEY, which is not set"),
        "{stderr}"
    );
}

#[test]
fn a_short_key_is_refused_before_any_call() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders"));
    let out = p
        .command(&["plan"])
        .env("OUTBOUND_FINGERPRINT_KEY", "short-key-value")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("OUTBOUND_FINGERPRINT_KEY is too short (15 bytes)"),
        "{stderr}"
    );
    assert!(!stderr.contains("short-key-value"), "{stderr}");
    assert!(p.operations().is_empty(), "{:?}", p.operations());
}

/// Secret checks (one Argon2id per bucket of secrets, docs/architecture.md): apply records
/// them; a plan whose secrets did not change keeps the recorded fingerprints; a rotated
/// secret still shows as changed; a state without checks (written before them) gets them
/// from the next apply, even one with nothing to change.
#[test]
fn apply_records_secret_checks_and_a_rotated_secret_is_still_found() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders"));
    p.apply();
    let checks = p.state()["secretChecks"].clone();
    // One bucket's check, and the check over every secret ("all").
    let names: Vec<&String> = checks
        .as_object()
        .map(|c| c.keys().collect())
        .unwrap_or_default();
    assert_eq!(names.len(), 2, "{checks}");
    assert!(names.iter().any(|n| *n == "all"), "{checks}");
    p.assert_no_changes();

    let rotated = [("ACME_API_KEY", "rotated-secret-value")];
    let plan = p.run_with_env(&["plan", "--detailed-exitcode"], &rotated);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("apiKeyValue"), "{}", plan.stdout);
    let apply = p.run_with_env(&["apply", "--auto-approve"], &rotated);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert_ne!(
        p.state()["secretChecks"],
        checks,
        "the check follows the new value"
    );
    let plan = p.run_with_env(&["plan", "--detailed-exitcode"], &rotated);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);

    // A state from before the checks: a no-op apply writes them, and nothing else changes.
    let mut state = p.state();
    state.as_object_mut().unwrap().remove("secretChecks");
    std::fs::write(
        p.state_path(),
        serde_json::to_string_pretty(&state).unwrap(),
    )
    .unwrap();
    let apply = p.run_with_env(&["apply", "--auto-approve"], &rotated);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let after = p.state();
    assert!(after["secretChecks"].is_object(), "{after}");
    assert_eq!(after["resources"], state["resources"]);
}
