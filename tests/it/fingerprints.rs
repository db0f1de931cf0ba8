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
