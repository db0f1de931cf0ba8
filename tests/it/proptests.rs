//! Property tests of loading and validation (issue 10): arbitrary YAML documents, arbitrary
//! text, and arbitrary strings in every field of valid documents never panic, and every
//! rejection names the file and a line. In-process (`outbound::manifest::validate`), so a
//! case costs a file write and a validation.
//!
//! 64 cases per property by default (a few seconds); more with `PROPTEST_CASES=5000`.
//! Inputs these tests found are kept as cases of `tests/invalid/`.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use serde_json::{Value, json};

use outbound::manifest::{self, diag::Diagnostics};

/// The value of the secret file the valid documents reference: never in any message.
const CANARY: &str = "CANARY-PROPTEST-c41d";

/// Valid documents covering every field of every kind (secrets from `secret.txt`).
#[allow(
    clippy::too_many_lines,
    reason = "data: a document per kind with every field"
)]
fn bases() -> Vec<Value> {
    let secret = json!({ "fromFile": "secret.txt" });
    let http = json!({
        "headerParameters": [{ "key": "X-Env", "value": "prod" }, { "key": "X-Sig", "value": secret }],
        "queryStringParameters": [{ "key": "team", "value": "edi" }, { "key": "token", "value": secret }],
        "bodyParameters": [{ "key": "scope", "value": "events.write" }],
    });
    let doc = |kind: &str, name: &str, spec: Value| json!({ "apiVersion": "outbound/v1", "kind": kind, "metadata": { "name": name }, "spec": spec });
    vec![
        doc(
            "Connection",
            "api-key",
            json!({
                "description": "Orders API",
                "authorizationType": "API_KEY",
                "authParameters": {
                    "apiKeyAuthParameters": { "apiKeyName": "x-api-key", "apiKeyValue": secret },
                    "invocationHttpParameters": http,
                },
            }),
        ),
        doc(
            "Connection",
            "basic",
            json!({
                "authorizationType": "BASIC",
                "authParameters": { "basicAuthParameters": { "username": "svc", "password": secret } },
            }),
        ),
        doc(
            "Connection",
            "oauth",
            json!({
                "authorizationType": "OAUTH_CLIENT_CREDENTIALS",
                "authParameters": { "oAuthParameters": {
                    "clientParameters": { "clientID": "outbound", "clientSecret": secret },
                    "authorizationEndpoint": "https://auth.example/token",
                    "httpMethod": "POST",
                    "oAuthHttpParameters": http,
                } },
            }),
        ),
        doc(
            "ApiDestination",
            "orders",
            json!({
                "description": "Orders",
                "connection": "api-key",
                "invocationEndpoint": "https://api.example.com/orders",
                "httpMethod": "POST",
                "invocationRateLimitPerSecond": 10,
            }),
        ),
        doc(
            "ApiDestination",
            "elsewhere",
            json!({
                "connectionArn": "arn:aws:events:eu-west-1:111122223333:connection/x/0123abcd-0123",
                "invocationEndpoint": "https://api.example.com/x",
                "httpMethod": "PUT",
            }),
        ),
        doc(
            "Connector",
            "as2",
            json!({
                "url": "https://as2.partner.example/as2",
                "accessRole": "arn:aws:iam::111122223333:role/TransferConnector",
                "loggingRole": "arn:aws:iam::111122223333:role/TransferLogs",
                "as2Config": {
                    "localProfileId": "p-0123456789abcdef0",
                    "partnerProfileId": "p-0fedcba9876543210",
                    "messageSubject": "Invoices",
                    "compression": "ZLIB",
                    "encryptionAlgorithm": "AES256_CBC",
                    "signingAlgorithm": "SHA256",
                    "mdnSigningAlgorithm": "DEFAULT",
                    "mdnResponse": "ASYNC",
                    "basicAuthSecretId": "as2/basic",
                    "preserveContentType": "ENABLED",
                    "asyncMdnConfig": { "url": "https://mdn.example", "serverIds": ["s-0123456789abcdef0"] },
                },
                "tags": { "team": "edi" },
            }),
        ),
        doc(
            "Connector",
            "sftp",
            json!({
                "url": "sftp://sftp.partner.example",
                "accessRole": "arn:aws:iam::111122223333:role/TransferConnector",
                "sftpConfig": {
                    "userSecretId": "sftp/user",
                    "trustedHostKeys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA"],
                    "maxConcurrentConnections": 2,
                },
                "securityPolicyName": "TransferSFTPConnectorSecurityPolicy-2024-03",
                "egressConfig": { "vpcLattice": {
                    "resourceConfigurationArn": "arn:aws:vpc-lattice:eu-west-1:111122223333:resourceconfiguration/rcfg-0123456789abcdef0",
                    "portNumber": 22,
                } },
                "ipAddressType": "DUALSTACK",
            }),
        ),
    ]
}

/// Every leaf (scalar) of `v`, as JSON pointers.
fn leaves(v: &Value, pointer: String, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => o
            .iter()
            .for_each(|(k, v)| leaves(v, format!("{pointer}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| leaves(v, format!("{pointer}/{i}"), out)),
        _ => out.push(pointer),
    }
}

/// Writes `text` as `m.yaml` (with `secret.txt` beside it) in a fresh directory, validates
/// it, and checks the promises: no panic (a panic fails the case), every diagnostic names
/// the file and a line, and the secret is never printed.
fn check(text: &str) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret.txt"), CANARY).unwrap();
    let file = dir.path().join("m.yaml");
    std::fs::write(&file, text).unwrap();
    let result = manifest::validate(std::slice::from_ref(&file));
    if let Err(diags) = result {
        assert_located(&diags, &file)?;
    }
    Ok(())
}

fn assert_located(diags: &Diagnostics, file: &Path) -> Result<(), TestCaseError> {
    prop_assert!(!diags.is_empty(), "a rejection without a diagnostic");
    let shown = diags.to_string();
    prop_assert!(!shown.contains(CANARY), "the secret leaked:\n{shown}");
    for d in &diags.0 {
        prop_assert_eq!(&d.file, file, "not named by its file: {}", d);
        prop_assert!(d.line.is_some(), "no line: {}", d);
    }
    Ok(())
}

fn yaml(docs: &[Value]) -> String {
    docs.iter()
        .map(|d| serde_yaml::to_string(d).unwrap())
        .collect::<Vec<_>>()
        .join("---\n")
}

/// Strings as people and accidents write them: any character (control, multi-byte,
/// surrogate-free Unicode), and the ones that matter to YAML and to AWS's patterns.
fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "(?s).{0,40}",
        "[a-z€\\n\\t :#{}\\[\\]\\-\"'|>&*!%@`,?]{0,30}",
        "(https?|sftp|htt€|ht)://[a-z€.]{0,10}",
        Just(String::new()),
        "[a-z]{600}",
    ]
}

/// Any JSON value, with keys that are often the manifest's own field names.
fn any_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        prop::sample::select(vec![
            "apiVersion",
            "kind",
            "metadata",
            "name",
            "spec",
            "url",
            "tags",
            "description",
            "authParameters",
            "fromEnv",
            "fromFile",
            "key",
            "value",
            "as2Config",
        ])
        .prop_map(str::to_owned),
        any_string(),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any_string().prop_map(Value::from),
        prop::sample::select(vec![
            "Connection",
            "ApiDestination",
            "Connector",
            "outbound/v1"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `levels` anchored lists, each holding `fanout` aliases of the one before: the last one
/// expands to `fanout^levels` items.
fn aliases(levels: usize, fanout: usize) -> String {
    let mut text = "a0: &a0 [x]\n".to_owned();
    for level in 1..=levels {
        let items = vec![format!("*a{}", level - 1); fanout].join(", ");
        text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
    }
    text
}

fn config() -> Config {
    Config {
        // PROPTEST_CASES overrides this; failures are kept beside this file.
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(64),
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary strings in one to three fields of valid documents (every leaf can be hit).
    #[test]
    fn arbitrary_strings_in_any_field_never_panic_and_are_located(
        base in 0..7usize,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any_string()), 1..4),
    ) {
        let bases = bases();
        let mut doc = bases[base].clone();
        let mut paths = Vec::new();
        leaves(&doc, String::new(), &mut paths);
        for (index, s) in edits {
            let path = index.get::<String>(&paths);
            *doc.pointer_mut(path).unwrap() = Value::String(s);
        }
        check(&yaml(&[doc]))?;
    }

    /// Arbitrary values (any type, any shape) put anywhere in valid documents, and arbitrary
    /// whole documents next to them.
    #[test]
    fn arbitrary_documents_never_panic_and_are_located(
        base in 0..7usize,
        index in any::<prop::sample::Index>(),
        value in any_value(),
        extra in any_value(),
    ) {
        let bases = bases();
        let mut doc = bases[base].clone();
        let mut paths = Vec::new();
        leaves(&doc, String::new(), &mut paths);
        *doc.pointer_mut(index.get::<String>(&paths)).unwrap() = value;
        check(&yaml(&[doc, extra]))?;
    }

    /// Arbitrary text as a manifest file: broken YAML, tabs, anchors, tags, byte-order marks,
    /// deep nesting, and aliases that expand (a few or very many times).
    #[test]
    fn arbitrary_text_never_panics_and_is_located(
        text in prop_oneof![
            any::<String>(),
            "(?s)[a-z:\\-\\[\\]{}\\n\\t #&*!|>'\"%@`,?€\u{feff}]{0,120}",
            (1..300usize).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n))),
            (1..12usize, 1..10usize).prop_map(|(levels, fanout)| aliases(levels, fanout)),
        ],
    ) {
        check(&text)?;
    }
}

#[test]
fn the_base_documents_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret.txt"), CANARY).unwrap();
    let file: PathBuf = dir.path().join("m.yaml");
    std::fs::write(&file, yaml(&bases())).unwrap();
    match manifest::validate(&[file]) {
        Ok(desired) => assert_eq!(desired.resources.len(), 7),
        Err(diags) => panic!("the base documents are invalid:\n{diags}"),
    }
}
