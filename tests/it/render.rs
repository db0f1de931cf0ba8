//! The plan as people and scripts read it: text, JSON and Markdown snapshots of one plan that
//! has every kind of change, the JSON round trip, the Markdown size limit, and canaries for
//! secrets (fingerprints and real secret values) in every rendering.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use insta::assert_snapshot;
use serde_json::{Value, json};

use outbound::diff::{FieldChange, Leaf, Reason};
use outbound::plan::{Action, Change, ChangeReason, Plan};
use outbound::render::json::PlanFile;
use outbound::render::{self, markdown};
use outbound::resource::{Address, FieldPath, Kind, ResourceId};

use crate::{states, support};
use support::project::{Project, Run, connection};

/// Stands for a secret's fingerprint: it may be in the plan file (apply compares it), never
/// in what people read.
const FINGERPRINT_CANARY: &str = "CANARY-FINGERPRINT-5e8a";
/// A secret's value, behind a `fromFile` reference: never in any rendering.
const SECRET_CANARY: &str = "CANARY-RENDER-0c1d";
const API_KEY_PATH: &str = "authParameters.apiKeyAuthParameters.apiKeyValue";
const SIGNATURE_PATH: &str =
    "authParameters.invocationHttpParameters.headerParameters[X-Signature].value";

fn value(v: Value) -> Option<Leaf> {
    Some(Leaf::Value(v))
}

fn field(path: &str, before: Option<Leaf>, after: Option<Leaf>, reason: Reason) -> FieldChange {
    FieldChange {
        path: FieldPath::parse(path),
        before,
        after,
        reason,
        forces_replacement: false,
    }
}

fn created(path: &str, after: Option<Leaf>) -> FieldChange {
    field(path, None, after, Reason::ManifestChange)
}

fn change(kind: Kind, name: &str, action: Action, reasons: &[ChangeReason]) -> Change {
    Change {
        address: Address::new(kind, name),
        action,
        reasons: reasons.iter().copied().collect(),
        fields: Vec::new(),
        order: 0,
        id: None,
        arn: None,
        desired: None,
        fingerprints: BTreeMap::new(),
        not_compared: Vec::new(),
        protect: false,
        clear: Vec::new(),
        after: Vec::new(),
        status: None,
        status_reason: None,
        leftovers: Vec::new(),
        retire_after: Vec::new(),
        expires: None,
    }
}

fn existing(mut c: Change, id: &str, arn: &str, status: Option<&str>) -> Change {
    c.id = Some(ResourceId::name(id));
    c.arn = Some(arn.into());
    c.status = status.map(Into::into);
    c
}

/// A new connection with a secret API key; its description holds every character Markdown
/// must escape.
fn create_connection() -> Change {
    let mut c = change(
        Kind::Connection,
        "acme-orders-api",
        Action::Create,
        &[ChangeReason::ManifestChange],
    );
    c.fields = vec![
        created(
            "authParameters.apiKeyAuthParameters.apiKeyName",
            value(json!("x-api-key")),
        ),
        created(
            API_KEY_PATH,
            Some(Leaf::Sensitive(Some(FINGERPRINT_CANARY.into()))),
        ),
        created("authorizationType", value(json!("API_KEY"))),
        created(
            "description",
            value(json!("Orders | <b>Acme</b> `prod` ``v2``\nsecond line")),
        ),
    ];
    c.desired = Some(
        json!({
        "authorizationType": "API_KEY",
        "description": "Orders | <b>Acme</b> `prod` ``v2``\nsecond line",
        "authParameters": {"apiKeyAuthParameters": {
            "apiKeyName": "x-api-key", "apiKeyValue": {"fromEnv": "ACME_API_KEY"}}},
        })
        .into(),
    );
    c.fingerprints = BTreeMap::from([(FieldPath::parse(API_KEY_PATH), FINGERPRINT_CANARY.into())]);
    c
}

/// A new API destination on the new connection: its connection ARN is known after apply.
fn create_destination() -> Change {
    let mut c = change(
        Kind::ApiDestination,
        "acme-orders",
        Action::Create,
        &[ChangeReason::ManifestChange],
    );
    c.fields = vec![
        created("connectionArn", Some(Leaf::KnownAfterApply)),
        created("httpMethod", value(json!("POST"))),
        created(
            "invocationEndpoint",
            value(json!("https://api.acme.example/v2/orders?a=1|2")),
        ),
        created("invocationRateLimitPerSecond", value(json!(50))),
    ];
    c.after = vec![Address::new(Kind::Connection, "acme-orders-api")];
    c
}

/// An update that reverts a description changed by hand, and applies a manifest change.
fn update_with_drift() -> Change {
    let c = change(
        Kind::ApiDestination,
        "billing",
        Action::Update,
        &[ChangeReason::ManifestChange, ChangeReason::Drift],
    );
    let mut c = existing(
        c,
        "billing",
        "arn:aws:events:eu-west-1:111122223333:api-destination/billing/6f1c",
        Some("ACTIVE"),
    );
    c.fields = vec![
        field(
            "description",
            value(json!("changed by hand")),
            value(json!("Billing events")),
            Reason::Drift,
        ),
        field(
            "invocationRateLimitPerSecond",
            value(json!(20)),
            value(json!(50)),
            Reason::ManifestChange,
        ),
    ];
    c
}

/// A connection AWS deauthorized on its own (as `plan::build` plans it: re-authorize), whose
/// header value also becomes a secret.
fn deauthorized_connection() -> Change {
    let c = change(
        Kind::Connection,
        "partner-sig",
        Action::Update,
        &[ChangeReason::ManifestChange, ChangeReason::Drift],
    );
    let mut c = existing(
        c,
        "partner-sig",
        "arn:aws:events:eu-west-1:111122223333:connection/partner-sig/1a2b",
        Some("DEAUTHORIZED"),
    );
    c.status_reason = Some("Authorization failed: 401 | <html>Unauthorized</html>".into());
    c.fields = vec![
        field(
            SIGNATURE_PATH,
            value(json!("static")),
            Some(Leaf::Sensitive(Some(FINGERPRINT_CANARY.into()))),
            Reason::ManifestChange,
        ),
        field(
            "connectionState",
            value(json!("DEAUTHORIZED")),
            value(json!("AUTHORIZED")),
            Reason::Drift,
        ),
    ];
    c.fingerprints =
        BTreeMap::from([(FieldPath::parse(SIGNATURE_PATH), FINGERPRINT_CANARY.into())]);
    c
}

/// A connector switched from AS2 to SFTP: AWS cannot do that in place.
fn replace_connector() -> Change {
    let c = change(
        Kind::Connector,
        "acme-edi",
        Action::Replace,
        &[ChangeReason::ManifestChange],
    );
    let mut c = existing(
        c,
        "c-0123456789abcdef0",
        "arn:aws:transfer:eu-west-1:111122223333:connector/c-0123456789abcdef0",
        Some("ACTIVE"),
    );
    let forcing = |path: &str, before, after| FieldChange {
        forces_replacement: true,
        ..field(path, before, after, Reason::ManifestChange)
    };
    c.fields = vec![
        forcing("as2Config.compression", value(json!("ZLIB")), None),
        forcing(
            "sftpConfig.trustedHostKeys",
            None,
            value(json!(["ssh-ed25519 AAAAC3Nza acme"])),
        ),
        forcing(
            "sftpConfig.userSecretId",
            None,
            value(json!(
                "arn:aws:secretsmanager:eu-west-1:111122223333:secret:acme-sftp"
            )),
        ),
        field(
            "url",
            value(json!("https://as2.acme.example/as2")),
            value(json!("sftp://sftp.acme.example")),
            Reason::ManifestChange,
        ),
    ];
    c
}

/// A protected connector whose manifest was removed (`plan::build` refuses to plan this; a
/// renderer must still show it plainly).
fn delete_protected() -> Change {
    let c = change(
        Kind::Connector,
        "old-partner",
        Action::Delete,
        &[ChangeReason::ManifestChange],
    );
    let mut c = existing(
        c,
        "c-0fedcba9876543210",
        "arn:aws:transfer:eu-west-1:111122223333:connector/c-0fedcba9876543210",
        Some("ACTIVE"),
    );
    c.protect = true;
    c
}

fn forget() -> Change {
    change(
        Kind::ApiDestination,
        "gone",
        Action::Forget,
        &[ChangeReason::DeletedOutside],
    )
}

fn unchanged() -> Change {
    let c = change(Kind::ApiDestination, "steady", Action::Noop, &[]);
    existing(
        c,
        "steady",
        "arn:aws:events:eu-west-1:111122223333:api-destination/steady/9d9d",
        Some("ACTIVE"),
    )
}

fn numbered(changes: Vec<Change>) -> Plan {
    let changes: Vec<Change> = changes
        .into_iter()
        .enumerate()
        .map(|(i, c)| Change { order: i + 1, ..c })
        .collect();
    let live_fingerprints = changes
        .iter()
        .map(|c| {
            let fp = if c.arn.is_some() { "3f7a…" } else { "absent" };
            (c.address.clone(), fp.to_owned())
        })
        .collect();
    Plan {
        state_lineage: "00000000-0000-4000-8000-000000000001".into(),
        state_serial: 7,
        fingerprint_salt: "salt".into(),
        secrets_checked: true,
        changes,
        live_fingerprints,
        scope: Default::default(),
    }
}

/// Every kind of change, in execution order.
fn fixture() -> Plan {
    numbered(vec![
        create_connection(),
        deauthorized_connection(),
        create_destination(),
        update_with_drift(),
        unchanged(),
        replace_connector(),
        delete_protected(),
        forget(),
    ])
}

/// The text plan at 100 columns (a CI log), without colours.
fn text(plan: &Plan) -> String {
    text_at(plan, 100)
}

fn text_at(plan: &Plan, width: usize) -> String {
    anstream::adapter::strip_str(&render::text::plan_at(plan, width)).to_string()
}

#[test]
fn plan_text() {
    assert_snapshot!(text(&fixture()));
}

#[test]
fn plan_json() {
    assert_snapshot!(render::json::plan(&fixture()));
}

#[test]
fn plan_markdown() {
    assert_snapshot!(markdown::plan(&fixture()));
}

#[test]
fn plan_markdown_no_changes() {
    assert_snapshot!(markdown::plan(&numbered(vec![unchanged()])));
}

fn updated(path: &str, before: Value, after: Value, reason: Reason) -> FieldChange {
    field(path, value(before), value(after), reason)
}

/// Long and multi-line values of updates: one word of a long description, a part of an
/// endpoint, one line of a body template, one host key of three. A short value beside them
/// stays `before -> after`.
fn long_values() -> Plan {
    let mut destination = existing(
        change(
            Kind::ApiDestination,
            "orders",
            Action::Update,
            &[ChangeReason::ManifestChange, ChangeReason::Drift],
        ),
        "orders",
        "arn:aws:events:eu-west-1:111122223333:api-destination/orders/6f1c",
        Some("ACTIVE"),
    );
    let sentence = |env: &str| {
        format!(
            "Orders placed in the shop are sent to the Acme {env} endpoint; contact the integrations team before changing the rate"
        )
    };
    let endpoint =
        |v: &str| format!("https://api.acme.example/{v}/orders/submit?tenant=eu-west&format=json");
    destination.fields = vec![
        updated(
            "description",
            json!(sentence("staging")),
            json!(sentence("production")),
            Reason::ManifestChange,
        ),
        updated(
            "invocationEndpoint",
            json!(endpoint("v2")),
            json!(endpoint("v3")),
            Reason::Drift,
        ),
        updated(
            "invocationRateLimitPerSecond",
            json!(20),
            json!(50),
            Reason::ManifestChange,
        ),
    ];
    let mut connection = existing(
        change(
            Kind::Connection,
            "partner-body",
            Action::Update,
            &[ChangeReason::ManifestChange],
        ),
        "partner-body",
        "arn:aws:events:eu-west-1:111122223333:connection/partner-body/1a2b",
        Some("AUTHORIZED"),
    );
    let body = |currency: &str| {
        format!(
            "{{\n  \"source\": \"acme\",\n  \"version\": 2,\n  \"currency\": \"{currency}\",\n  \"items\": [],\n  \"notify\": true,\n  \"retries\": 3\n}}"
        )
    };
    connection.fields = vec![
        updated(
            "authParameters.invocationHttpParameters.bodyParameters[template].value",
            json!(body("EUR")),
            json!(body("USD")),
            Reason::ManifestChange,
        ),
        updated(
            "description",
            json!("Partner body\nrun `make` first"),
            json!("Partner body\nrun ```make``` first"),
            Reason::ManifestChange,
        ),
    ];
    let mut connector = existing(
        change(
            Kind::Connector,
            "sftp-partner",
            Action::Update,
            &[ChangeReason::ManifestChange],
        ),
        "c-0123456789abcdef1",
        "arn:aws:transfer:eu-west-1:111122223333:connector/c-0123456789abcdef1",
        Some("ACTIVE"),
    );
    connector.fields = vec![updated(
        "sftpConfig.trustedHostKeys",
        json!([
            "sftp.partner.example ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAA",
            "sftp.partner.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOLD",
            "sftp.partner.example ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ"
        ]),
        json!([
            "sftp.partner.example ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAA",
            "sftp.partner.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINEW",
            "sftp.partner.example ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ"
        ]),
        Reason::ManifestChange,
    )];
    numbered(vec![destination, connection, connector])
}

#[test]
fn plan_long_values_text() {
    assert_snapshot!(text(&long_values()));
}

#[test]
fn plan_long_values_markdown() {
    assert_snapshot!(markdown::plan(&long_values()));
}

/// An RSA host key as `ssh-keyscan` prints it (372 characters of key), ending in `tail`.
fn host_key(tail: &str) -> String {
    let body = "AAAAB3NzaC1yc2EAAAADAQABAAABgQC7".repeat(11);
    format!("sftp.partner.example ssh-rsa {body}{tail}")
}

/// What issue 18 showed a reviewer could not read: a protected connector replaced because
/// `loggingRole` was removed (AWS cannot clear it), a deleted connection, an endpoint of
/// over 60 characters changed, a rotated RSA host key, a secret sent again, and a resource
/// deleted outside that is created again.
fn destructive() -> Plan {
    let mut connector = existing(
        change(
            Kind::Connector,
            "edi-prod",
            Action::Replace,
            &[ChangeReason::ManifestChange],
        ),
        "c-0123456789abcdef0",
        "arn:aws:transfer:eu-west-1:111122223333:connector/c-0123456789abcdef0",
        Some("ACTIVE"),
    );
    connector.protect = true;
    connector.fields = vec![FieldChange {
        forces_replacement: true,
        ..field(
            "loggingRole",
            value(json!("arn:aws:iam::111122223333:role/TransferLogging")),
            None,
            Reason::ManifestChange,
        )
    }];
    let deleted = existing(
        change(
            Kind::Connection,
            "legacy-partner",
            Action::Delete,
            &[ChangeReason::ManifestChange],
        ),
        "legacy-partner",
        "arn:aws:events:eu-west-1:111122223333:connection/legacy-partner/9f8e",
        Some("AUTHORIZED"),
    );
    let mut endpoint = existing(
        change(
            Kind::ApiDestination,
            "orders-eu",
            Action::Update,
            &[ChangeReason::ManifestChange],
        ),
        "orders-eu",
        "arn:aws:events:eu-west-1:111122223333:api-destination/orders-eu/6f1c",
        Some("ACTIVE"),
    );
    endpoint.fields = vec![updated(
        "invocationEndpoint",
        json!("https://api.acme-example.com/v2/tenants/eu-central-prod/orders/incoming"),
        json!("https://api.acme.example/v2/tenants/eu-central-prod/orders/incoming"),
        Reason::ManifestChange,
    )];
    let mut keys = existing(
        change(
            Kind::Connector,
            "sftp-partner",
            Action::Update,
            &[ChangeReason::ManifestChange],
        ),
        "c-0123456789abcdef1",
        "arn:aws:transfer:eu-west-1:111122223333:connector/c-0123456789abcdef1",
        Some("ACTIVE"),
    );
    keys.fields = vec![updated(
        "sftpConfig.trustedHostKeys",
        json!([host_key("OLD2024")]),
        json!([host_key("NEW2025")]),
        Reason::ManifestChange,
    )];
    let mut secret = existing(
        change(
            Kind::Connection,
            "partner-api",
            Action::Update,
            &[ChangeReason::ManifestChange],
        ),
        "partner-api",
        "arn:aws:events:eu-west-1:111122223333:connection/partner-api/1a2b",
        Some("AUTHORIZED"),
    );
    secret.fields = vec![field(
        API_KEY_PATH,
        Some(Leaf::Sensitive(Some(FINGERPRINT_CANARY.into()))),
        Some(Leaf::Sensitive(Some("CANARY-FINGERPRINT-other".into()))),
        Reason::ManifestChange,
    )];
    let mut recreated = change(
        Kind::ApiDestination,
        "billing",
        Action::Create,
        &[ChangeReason::DeletedOutside],
    );
    recreated.fields = vec![created("httpMethod", value(json!("POST")))];
    numbered(vec![connector, deleted, endpoint, keys, secret, recreated])
}

#[test]
fn plan_destructive_markdown() {
    let md = markdown::plan(&destructive());
    assert!(md.contains("> [!CAUTION]"), "{md}");
    assert!(!md.contains(FINGERPRINT_CANARY), "{md}");
    assert_snapshot!(md);
}

#[test]
fn plan_destructive_text_at_80_columns() {
    let text = text_at(&destructive(), 80);
    assert!(!text.contains(FINGERPRINT_CANARY), "{text}");
    assert_snapshot!(text);
}

/// Issue 18 item 11: at 80 columns no line is longer than 80, and every line of a field
/// (a wrapped value's too) starts with its gutter mark, so pieces are told apart without
/// colour.
#[test]
fn the_text_plan_fits_the_width_with_the_gutter_on_every_line() {
    for plan in [fixture(), long_values(), destructive()] {
        for width in [80, 100, 60] {
            let text = text_at(&plan, width);
            for line in text.lines() {
                assert!(
                    line.chars().count() <= width,
                    "{} > {width}: {line}",
                    line.chars().count()
                );
                // A field's lines carry their mark at column 6 (the field) or 8 (its value,
                // a forced replacement's reason); an unchanged line of a multi-line value has
                // a blank mark, as in a diff.
                let mark_at =
                    |col: usize| line.chars().nth(col).is_some_and(|c| "+-~#".contains(c));
                if line.starts_with("      ") {
                    assert!(
                        mark_at(6) || mark_at(8) || line.starts_with(&" ".repeat(10)),
                        "no gutter: {line}"
                    );
                }
            }
            // The summary first and last (wrapped alike at any width).
            let summary: Vec<&str> = text
                .lines()
                .take_while(|l| !l.is_empty() && !l.starts_with("Reverting drift"))
                .collect();
            assert!(summary[0].starts_with("Plan: "), "{text}");
            assert!(
                text.ends_with(&format!("{}\n", summary.join("\n"))),
                "{text}"
            );
        }
    }
    let text = text_at(&destructive(), 80);
    assert!(
        text.contains("# forces replacement: removed, and UpdateConnector's LoggingRole"),
        "the kind's reason, on its own line: {text}"
    );
    let wide = text_at(&destructive(), 120);
    assert!(
        wide.contains("apiKeyValue: the secret will be sent again"),
        "{wide}"
    );
}

/// The drift report of issue 18 item 10: a pending change is not also in sync, unmanaged
/// resources are `KIND/NAME` with the `outbound import` that adopts them, changes made
/// outside say what the next apply does, a long value is shown whole.
fn drift_report() -> outbound::drift::DriftReport {
    use outbound::drift::{
        Deleted, DriftReport, FieldDrift, Modified, PendingChange, PendingField, Unhealthy,
        Unmanaged,
    };
    let orders = Address::new(Kind::ApiDestination, "orders-eu");
    DriftReport {
        in_sync: vec![
            Address::new(Kind::Connection, "acme"),
            Address::new(Kind::Connection, "partner-api"),
        ],
        modified_outside: vec![Modified {
            address: orders.clone(),
            id: None,
            fields: vec![
                FieldDrift {
                    path: FieldPath::parse("invocationEndpoint"),
                    expected: value(json!(
                        "https://api.acme.example/v2/tenants/eu-central-prod/orders/incoming"
                    )),
                    actual: value(json!(
                        "https://hotfix.acme.example/v2/tenants/eu-central-prod/orders/incoming"
                    )),
                },
                FieldDrift {
                    path: FieldPath::parse("invocationRateLimitPerSecond"),
                    expected: value(json!(10)),
                    actual: value(json!(25)),
                },
            ],
        }],
        deleted_outside: vec![Deleted {
            address: Address::new(Kind::Connector, "acme-as2"),
            id: Some(ResourceId::name("c-0123456789abcdef0")),
            in_manifests: true,
        }],
        unhealthy: vec![Unhealthy {
            address: Address::new(Kind::Connection, "beta"),
            id: None,
            status: "DEAUTHORIZED".into(),
            reason: Some("Connection was deauthorized by DeauthorizeConnection.".into()),
        }],
        unmanaged: Some(vec![
            Unmanaged {
                kind: Kind::Connection,
                id: ResourceId::name("legacy-x"),
                arn: None,
                url: None,
            },
            Unmanaged {
                kind: Kind::Connector,
                id: ResourceId::name("c-0fedcba9876543210"),
                arn: None,
                url: Some("sftp://sftp.legacy.example".into()),
            },
        ]),
        pending_manifest_changes: vec![PendingChange {
            address: Address::new(Kind::Connection, "partner-api"),
            action: Action::Update,
            fields: vec![PendingField {
                path: FieldPath::parse("description"),
                before: value(json!("Partner API")),
                after: value(json!("Partner API (v2)")),
            }],
        }],
        ..DriftReport::default()
    }
}

#[test]
fn drift_issue_markdown() {
    let md = render::drift::markdown(&drift_report());
    assert!(
        md.contains("\noutbound import Connection/legacy-x\n"),
        "{md}"
    );
    assert_eq!(md.matches("`Connection/partner-api`").count(), 1, "{md}");
    assert_snapshot!(md);
}

#[test]
fn drift_issue_text() {
    let text = anstream::adapter::strip_str(&render::drift::text(&drift_report())).to_string();
    assert_eq!(text.matches("Connection/partner-api").count(), 1, "{text}");
    assert_snapshot!(text);
}

/// Markdown values are code spans: what Markdown or HTML would read is inert or escaped.
#[test]
fn markdown_escapes_values_and_names() {
    let mut c = create_destination();
    c.address = Address::new(Kind::ApiDestination, "a|b<i>");
    let md = markdown::plan(&numbered(vec![c]));
    assert!(
        md.contains("| `+` create | `ApiDestination/a\\|b<i>` |"),
        "{md}"
    );
    assert!(md.contains("<summary><code>ApiDestination/a|b&lt;i&gt;</code> (create)</summary>"));
    let description = markdown::plan(&numbered(vec![create_connection()]));
    assert!(
        description.contains(
            r#"- `description`: ```"Orders | <b>Acme</b> `prod` ``v2``\nsecond line"```"#
        ),
        "{description}"
    );
}

/// Loading a saved plan keeps everything apply needs. Fields lose what the file does not
/// hold: a fingerprint inside a sensitive leaf (it is kept per path in `fingerprints`), and
/// any value beside a secret (a field flagged sensitive reads back sensitive on both sides).
#[test]
fn plan_file_round_trip() {
    let plan = fixture();
    let back = PlanFile::from_plan(&plan).into_plan();
    let file: PlanFile = serde_json::from_str(&render::json::plan(&plan)).unwrap();
    assert_eq!(file.into_plan(), back, "the file is what from_plan gives");
    let mut expected = plan.clone();
    let mut lost = Vec::new();
    for c in &mut expected.changes {
        for f in &mut c.fields {
            let sensitive = [&f.before, &f.after]
                .iter()
                .any(|l| matches!(l, Some(Leaf::Sensitive(_))));
            for side in [&mut f.before, &mut f.after] {
                if sensitive && side.is_some() && *side != Some(Leaf::Sensitive(None)) {
                    lost.push(format!("{} {}: {side:?}", c.address, f.path));
                    *side = Some(Leaf::Sensitive(None));
                }
            }
        }
    }
    assert_eq!(back, expected);
    assert_eq!(
        lost,
        [
            format!(
                "Connection/acme-orders-api {API_KEY_PATH}: Some(Sensitive(Some(\"{FINGERPRINT_CANARY}\")))"
            ),
            format!("Connection/partner-sig {SIGNATURE_PATH}: Some(Value(String(\"static\")))"),
            format!(
                "Connection/partner-sig {SIGNATURE_PATH}: Some(Sensitive(Some(\"{FINGERPRINT_CANARY}\")))"
            ),
        ]
    );
}

/// Two thousand changes: rows and folded sections are cut, destructive rows come first, and
/// the comment says what it left out.
#[test]
fn markdown_stays_under_the_limit() {
    let mut changes: Vec<Change> = (0..1990)
        .map(|i| {
            let mut c = create_destination();
            c.address = Address::new(Kind::ApiDestination, format!("destination-{i:04}"));
            c
        })
        .collect();
    changes.extend((0..10).map(|i| {
        let mut c = delete_protected();
        c.address = Address::new(Kind::Connector, format!("old-{i}"));
        c
    }));
    let md = markdown::plan(&numbered(changes));
    assert!(md.len() < markdown::LIMIT, "{} characters", md.len());
    let first_row = md.lines().find(|l| l.starts_with("| `")).unwrap();
    assert!(
        first_row.starts_with("| `-` delete | `Connector/old-0`"),
        "{first_row}"
    );
    let notice = md.lines().rev().take(2).collect::<Vec<_>>();
    assert_eq!(notice[1], "> [!NOTE]");
    assert!(
        notice[0].ends_with("Run `outbound plan` for the full plan."),
        "{}",
        notice[0]
    );
    let rows = md.lines().filter(|l| l.starts_with("| `")).count();
    let left_out = format!(
        "> Cut to stay under 60,000 characters: {} of 2000 changed resources are left out of the table",
        2000 - rows
    );
    assert!(notice[0].starts_with(&left_out), "{}", notice[0]);
    assert!(!md.contains("<details>"));
    assert!(!md.contains("|\n\n|"), "one table, no blank line in it");
    assert!(notice[0].ends_with(
        "left out of the table, and no field changes are shown. Run `outbound plan` for the full plan."
    ));
}

/// A plan that only just needs cutting keeps every row and drops folded sections.
#[test]
fn markdown_cuts_sections_before_rows() {
    let changes: Vec<Change> = (0..200)
        .map(|i| {
            let mut c = create_connection();
            c.address = Address::new(Kind::Connection, format!("connection-{i:03}"));
            c
        })
        .collect();
    let md = markdown::plan(&numbered(changes));
    assert!(md.len() < markdown::LIMIT);
    let rows = md.lines().filter(|l| l.starts_with("| `")).count();
    let sections = md.matches("<details>").count();
    assert_eq!(rows, 200);
    assert!(!md.contains("|\n\n|"), "one table, no blank line in it");
    assert!(sections > 0 && sections < 200, "{sections} sections");
    assert!(md.ends_with(&format!(
        "the field changes of {} of 200 changed resources are left out. Run `outbound plan` for the full plan.\n",
        200 - sections
    )));
    assert_eq!(
        md.matches("</details>").count(),
        sections,
        "no section is cut in half"
    );
}

/// Fingerprints are for `apply --plan` to compare: in the plan file under
/// `secretFingerprints` only, nowhere people read; secret references stay references.
#[test]
fn fingerprints_stay_in_the_plan_file() {
    let plan = fixture();
    assert!(!text(&plan).contains(FINGERPRINT_CANARY));
    assert!(!markdown::plan(&plan).contains(FINGERPRINT_CANARY));
    let json: Value = serde_json::from_str(&render::json::plan(&plan)).unwrap();
    let mut found = Vec::new();
    find(&json, "", FINGERPRINT_CANARY, &mut found);
    assert_eq!(
        found,
        [
            format!("/changes/0/secretFingerprints/{API_KEY_PATH}"),
            format!("/changes/1/secretFingerprints/{SIGNATURE_PATH}"),
        ]
    );
    let mut references = Vec::new();
    find(&json, "", "ACME_API_KEY", &mut references);
    assert_eq!(
        references,
        ["/changes/0/spec/authParameters/apiKeyAuthParameters/apiKeyValue/fromEnv"]
    );
}

/// Pointers (unescaped, for reading) to every string in `v` that contains `needle`.
fn find(v: &Value, at: &str, needle: &str, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.contains(needle) => out.push(at.to_owned()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find(item, &format!("{at}/{i}"), needle, out);
            }
        }
        Value::Object(o) => {
            for (k, item) in o {
                if k.contains(needle) {
                    out.push(format!("{at}/{k} (key)"));
                }
                find(item, &format!("{at}/{k}"), needle, out);
            }
        }
        _ => {}
    }
}

const MANIFEST: &str = "\
apiVersion: outbound/v1
kind: Connection
metadata: { name: acme-orders-api }
spec:
  authorizationType: API_KEY
  authParameters:
    apiKeyAuthParameters:
      apiKeyName: x-api-key
      apiKeyValue: { fromFile: secret.txt }
    invocationHttpParameters:
      headerParameters:
        - { key: X-Signature, value: { fromFile: secret.txt } }
---
apiVersion: outbound/v1
kind: ApiDestination
metadata: { name: acme-orders }
spec:
  connection: acme-orders-api
  invocationEndpoint: https://api.acme.example/v2/orders
  httpMethod: POST
";

/// A plan built from real manifests whose secrets resolve to a canary: the value is in no
/// rendering, the reference is.
#[test]
fn secret_values_are_in_no_rendering() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret.txt"), SECRET_CANARY).unwrap();
    std::fs::write(dir.path().join("acme.yaml"), MANIFEST).unwrap();
    let desired = outbound::manifest::validate(&[PathBuf::from(dir.path())])
        .unwrap_or_else(|d| panic!("{d:?}"));
    let fingerprints = outbound::state::fingerprint::all(&desired, "salt");
    let plan = outbound::plan::build(
        &desired,
        &outbound::state::State::new(),
        &BTreeMap::new(),
        &fingerprints,
    )
    .unwrap();
    let actions: BTreeSet<Action> = plan.changes.iter().map(|c| c.action).collect();
    assert_eq!(actions, BTreeSet::from([Action::Create]));
    let renderings = [
        ("text", text(&plan)),
        ("json", render::json::plan(&plan)),
        ("markdown", markdown::plan(&plan)),
    ];
    for (name, out) in &renderings {
        assert!(
            !out.contains(SECRET_CANARY),
            "{name} holds the secret:\n{out}"
        );
        assert!(
            out.contains("(sensitive)"),
            "{name} shows no secret at all:\n{out}"
        );
    }
    assert!(renderings[1].1.contains(r#""fromFile": "secret.txt""#));
}

// ---- Failures on stdout: a bot posting stdout never posts an empty comment ------------

/// A literal secret where a reference belongs: the error names the field, never the value.
const LITERAL_CANARY: &str = "CANARY-LITERAL-7b2e";

/// `outbound ARGS --format FORMAT` for both bot formats: (Markdown run, JSON run and its
/// parsed stdout). Both must exit `code`; the Markdown is the error block, the JSON an
/// `error` object.
fn failed_both_ways(p: &Project, args: &[&str], code: i32) -> (Run, Value) {
    let command = args[0];
    let md = p.run(&[args, &["--format", "markdown"]].concat());
    let json = p.run(&[args, &["--format", "json"]].concat());
    for run in [&md, &json] {
        assert_eq!(run.code, code, "{}\n{}", run.stdout, run.stderr);
        assert!(
            !run.stdout.contains(LITERAL_CANARY) && !run.stderr.contains(LITERAL_CANARY),
            "a secret leaked:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    assert!(
        md.stdout
            .starts_with(&format!("### outbound {command} failed\n")),
        "{}",
        md.stdout
    );
    assert!(md.stdout.contains("\n```text\nerror: "), "{}", md.stdout);
    // The error block ends the comment, or the refused plan shown under it does.
    assert!(
        md.stdout.ends_with("```\n") || md.stdout.contains("\nThe plan that was refused:\n"),
        "{}",
        md.stdout
    );
    let value: Value =
        serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}: {}", json.stdout));
    assert!(value["error"]["message"].is_string(), "{value}");
    assert!(value["error"]["diagnostics"].is_array(), "{value}");
    (md, value)
}

fn failure_snapshot(p: &Project, name: &str, text: &str) {
    let redactions = p.redactions();
    insta::with_settings!({
        omit_expression => true,
        filters => redactions.iter().map(|(regex, to)| (regex.as_str(), *to)),
    }, {
        assert_snapshot!(name, text);
    });
}

/// Invalid manifests: `plan` and `drift` render every diagnostic (file, line, field) on
/// stdout too, exit 1, and reach no AWS API.
#[test]
fn invalid_manifests_are_an_error_block_and_an_error_object() {
    let p = Project::new();
    p.write(
        "c.yaml",
        &connection("acme", "Orders API")
            .replace("{ fromEnv: ACME_API_KEY }", LITERAL_CANARY)
            .replace("authorizationType: API_KEY", "authorizationType: API-KEY"),
    );
    for command in ["plan", "drift"] {
        let (md, json) = failed_both_ways(&p, &[command, "manifests"], 1);
        let diagnostics = json["error"]["diagnostics"].as_array().unwrap();
        let paths: Vec<&str> = diagnostics
            .iter()
            .map(|d| d["path"].as_str().unwrap())
            .collect();
        assert_eq!(
            paths,
            [
                "spec.authorizationType",
                "spec.authParameters.apiKeyAuthParameters.apiKeyValue"
            ],
            "{json}"
        );
        assert_eq!(diagnostics[0]["file"], "manifests/c.yaml");
        assert!(diagnostics[0]["line"].as_u64().unwrap() > 1, "{json}");
        assert_eq!(
            json["error"]["message"],
            "2 problems in the manifests; nothing was changed"
        );
        if command == "plan" {
            failure_snapshot(&p, "plan-failed-invalid.md", &md.stdout);
        }
    }
    assert_eq!(p.operations(), Vec::<String>::new(), "AWS was called");
}

/// AWS refuses to be read: no plan (exit 3, as before), and the block says which resources.
#[test]
fn a_plan_aws_cannot_read_is_an_error_block_with_exit_3() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders API"));
    support::moto().fault(
        &p.region,
        json!({"operation": "DescribeConnection", "fault": "access_denied", "count": -1}),
    );
    let (md, json) = failed_both_ways(&p, &["plan"], 3);
    support::moto().clear_faults(&p.region);
    assert!(
        md.stdout
            .contains("error: 1 resource could not be read from AWS, so no plan was made\n"),
        "{}",
        md.stdout
    );
    assert!(md.stdout.contains("Connection/acme: "), "{}", md.stdout);
    assert_eq!(
        json["error"]["diagnostics"][0]["address"],
        "Connection/acme"
    );
    let message = json["error"]["diagnostics"][0]["message"].as_str().unwrap();
    assert!(message.contains("AccessDenied"), "{message}");
}

/// A plan refused because it would delete a protected resource: the error and its hint.
#[test]
fn a_refused_plan_is_an_error_block_with_its_hint() {
    let p = Project::new();
    p.write("anchor.yaml", &connection("anchor", "Anchor"));
    p.write(
        "kept.yaml",
        &connection("kept", "Kept").replace(
            "metadata: { name: kept }",
            "metadata: { name: kept, protect: true }",
        ),
    );
    p.apply();
    p.remove("kept.yaml");
    let (md, json) = failed_both_ways(&p, &["plan"], 1);
    assert_eq!(
        json["error"]["message"],
        "the plan would delete or replace protected resources: Connection/kept"
    );
    assert!(
        json["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("protect: true"),
        "{json}"
    );
    failure_snapshot(&p, "plan-failed-protected.md", &md.stdout);
}

/// An error outside the stages (here: no AWS region) is rendered too, with exit 1.
#[test]
fn a_configuration_error_is_an_error_block_and_an_error_object() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders API"));
    for (format, expect) in [
        ("markdown", "### outbound drift failed\n"),
        ("json", "{\n  \"error\": {\n    \"message\": "),
    ] {
        let out = p
            .command(&["drift", "--format", format])
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(stdout.starts_with(expect), "{stdout}");
        assert!(stdout.contains("no AWS region"), "{stdout}");
    }
}

/// A usage error (an unknown flag, a bad value) is rendered too, when the arguments ask for
/// Markdown or JSON; still exit 1.
#[test]
fn a_usage_error_is_an_error_block_and_an_error_object() {
    let p = Project::new();
    let md = p.run(&["plan", "--format", "markdown", "--bogus"]);
    assert_eq!(md.code, 1, "{}", md.stderr);
    assert!(
        md.stdout.starts_with("### outbound plan failed\n") && md.stdout.contains("'--bogus'"),
        "{}",
        md.stdout
    );
    let json = p.run(&["drift", "--endpoint-url", "notaurl", "--format=json"]);
    assert_eq!(json.code, 1, "{}", json.stderr);
    let value: Value =
        serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}: {}", json.stdout));
    let message = value["error"]["message"].as_str().unwrap();
    assert!(message.contains("--endpoint-url"), "{message}");
    assert!(!message.contains('\u{1b}'), "no colour in {message}");
}

/// Text keeps stdout for the plan: a failure is on stderr only, as before.
#[test]
fn a_failed_text_plan_prints_nothing_on_stdout() {
    let p = Project::new();
    p.write("c.yaml", "kind: Nothing\n");
    let run = p.run(&["plan"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("error"), "{}", run.stderr);
}

// ---- Progress of an apply on stderr ----------------------------------------------------

/// The progress lines of `stderr` (`ADDRESS: created in 1.2s`, …), their times replaced by
/// `T`: no test asserts a duration.
fn progress_lines(stderr: &str) -> Vec<String> {
    let line = regex::Regex::new(r"^(\S+/\S+): (\w+) (in|after) \d+(\.\d)?s$").unwrap();
    stderr
        .lines()
        .filter_map(|l| line.captures(l))
        .map(|c| format!("{}: {} {} T", &c[1], &c[2], &c[3]))
        .collect()
}

/// One line per finished action, on stderr (stdout stays the plan and the report), in the
/// order they finished: the destination waits for its connection to be authorized.
#[test]
fn apply_prints_a_line_per_finished_action_with_its_time() {
    let p = Project::new();
    // The connection is AUTHORIZING for its first 3 Describes: apply waits for it.
    support::moto().configure(&p.region, json!({"oauthReads": 3}));
    p.write("m.yaml", states::OAUTH);
    let run = p.apply();
    assert_eq!(
        progress_lines(&run.stderr),
        [
            "Connection/oauth: created in T",
            "ApiDestination/events: created in T"
        ],
        "{}",
        run.stderr
    );
    assert!(progress_lines(&run.stdout).is_empty(), "{}", run.stdout);
    assert!(
        support::moto().count(&p.region, "DescribeConnection") >= 4,
        "the connection was not waited on"
    );

    // A failed action says so, and nothing is said of the one it skips.
    let p = Project::new();
    support::moto().fault(
        &p.region,
        json!({"operation": "CreateConnection", "fault": "access_denied"}),
    );
    p.write("m.yaml", states::OAUTH);
    let run = p.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        progress_lines(&run.stderr),
        ["Connection/oauth: failed after T"],
        "{}",
        run.stderr
    );
}
