//! `outbound drift` against moto, through the real binary: resources are applied, then
//! changed "by hand" through the SDK as a person in the console would, and drift must find
//! each change in its bucket, say nothing when there is none, tell pending manifest changes
//! from drift, never call an unreadable resource in sync, and never print a secret.

use crate::support;

use serde_json::{Value, json};

use outbound::aws::events::Secrets;
use outbound::manifest::secret::SecretRef;
use outbound::resource::{ApiDestinationSpec, ConnectionSpec, ConnectorSpec};
use support::project::{CANARY, Project, connection, connector, destination, outside};

/// Snapshots `text` with ARNs, connector ids, times, the region and the temp dir redacted.
fn snapshot(p: &Project, name: &str, text: &str) {
    let redactions = p.redactions();
    insta::with_settings!({
        omit_expression => true,
        filters => redactions.iter().map(|(regex, to)| (regex.as_str(), *to)),
    }, {
        insta::assert_snapshot!(name, text);
    });
}

/// A connection, a destination using it, and a connector: applied.
fn applied_project() -> Project {
    let p = Project::new();
    p.write(
        "orders.yaml",
        &format!(
            "{}---\n{}",
            connection("acme", "Orders API"),
            destination("orders", "acme", 10)
        ),
    );
    p.write("as2.yaml", &connector("acme-as2", "Invoices"));
    p.apply();
    p
}

/// `spec` (a connection in manifest shape) with its secrets resolved to `value`.
fn resolved(spec: Value, value: &str) -> (ConnectionSpec, Secrets) {
    let spec: ConnectionSpec = serde_json::from_value(spec).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret.txt");
    std::fs::write(&file, value).unwrap();
    let secrets = spec
        .secrets()
        .into_iter()
        .map(|(pointer, _, _)| {
            let value = SecretRef::FromFile(file.clone())
                .resolve(dir.path())
                .unwrap();
            (pointer, value)
        })
        .collect();
    (spec, secrets)
}

fn api_key_connection(description: &str) -> Value {
    json!({
        "description": description,
        "authorizationType": "API_KEY",
        "authParameters": {
            "apiKeyAuthParameters": {"apiKeyName": "x-api-key", "apiKeyValue": {"fromEnv": "X"}},
            "invocationHttpParameters": {"headerParameters": [
                {"key": "X-Env", "value": "prod"},
                {"key": "X-Signature", "value": {"fromEnv": "X"}}
            ]}
        }
    })
}

#[test]
fn without_drift_it_says_in_sync_exits_0_and_changes_nothing_even_during_an_apply() {
    let p = applied_project();
    let state_before = std::fs::read(p.state_path()).unwrap();
    // An apply holds the lock: drift takes none, so it is not stopped by it.
    let lock = p.dir.path().join("state.json.lock");
    std::fs::write(&lock, "{}").unwrap();
    support::moto().forget_calls(&p.region);

    let run = p.drift(&[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout,
        "No drift: AWS matches the last apply (3 managed resources).\n"
    );
    assert!(p.mutations().is_empty(), "drift changes nothing");
    assert_eq!(std::fs::read(p.state_path()).unwrap(), state_before);
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        "{}",
        "lock untouched"
    );

    let md = p.drift(&["--format", "markdown"]);
    assert_eq!(md.code, 0);
    assert!(
        md.stdout.starts_with("### outbound drift: no drift\n"),
        "{}",
        md.stdout
    );
    let json: Value = serde_json::from_str(&p.drift(&["--format", "json"]).stdout).unwrap();
    assert_eq!(json["verdict"], "in-sync");
    assert_eq!(
        json["inSync"],
        json!([
            "Connection/acme",
            "ApiDestination/orders",
            "Connector/acme-as2"
        ])
    );
    assert_eq!(json["unmanaged"], Value::Null, "not looked for");
}

#[test]
fn changes_made_outside_outbound_are_each_found_in_their_bucket() {
    let p = applied_project();
    p.write(
        "partners.yaml",
        &format!(
            "{}---\n{}",
            connection("beta", "Beta API"),
            connector("beta-as2", "Beta invoices")
        ),
    );
    p.apply();
    let acme_as2 = p.connector_id("acme-as2");
    let beta_as2 = p.connector_id("beta-as2");
    // In the console: another rate for the destination, the AS2 connector deleted, the beta
    // connection deauthorized; and the beta connector fails on its own.
    outside(&p.region, async |aws| {
        let live = aws
            .describe_api_destination("orders")
            .await
            .unwrap()
            .unwrap();
        let mut spec = live.spec.value();
        spec["invocationRateLimitPerSecond"] = json!(25);
        let spec: ApiDestinationSpec = serde_json::from_value(spec).unwrap();
        let arn = live.spec.value()["connectionArn"]
            .as_str()
            .unwrap()
            .to_owned();
        aws.update_api_destination("orders", &spec, &arn.into(), &[])
            .await
            .unwrap();
        aws.delete_connector(&acme_as2).await.unwrap();
        aws.deauthorize_connection("beta").await.unwrap();
    });
    support::moto().set_state(
        &p.region,
        json!({"connector": beta_as2, "status": "ERRORED", "errorMessage": "Partner endpoint unreachable"}),
    );
    support::moto().forget_calls(&p.region);

    let run = p.drift(&[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(p.mutations().is_empty(), "drift changes nothing");
    let text = &run.stdout;
    let after = |heading: &str| {
        let start = text
            .find(heading)
            .unwrap_or_else(|| panic!("{heading} in:\n{text}"));
        text[start..].split("\n\n").next().unwrap().to_owned()
    };
    let modified = after("Modified outside outbound");
    assert!(modified.contains("ApiDestination/orders"), "{text}");
    assert!(
        modified.contains("invocationRateLimitPerSecond: expected 10, actual 25"),
        "{text}"
    );
    assert!(
        after("Deleted outside outbound").contains("Connector/acme-as2"),
        "{text}"
    );
    let unhealthy = after("Unhealthy");
    assert!(
        unhealthy.contains(
            "Connection/beta is DEAUTHORIZED: Connection was deauthorized by DeauthorizeConnection."
        ),
        "{text}"
    );
    assert!(
        unhealthy.contains("Connector/beta-as2 (")
            && unhealthy.contains("is ERRORED: Partner endpoint unreachable"),
        "{text}"
    );
    assert!(after("In sync").contains("Connection/acme"), "{text}");
    snapshot(&p, "drift-found.txt", text);

    let md = p.drift(&["--format", "markdown"]);
    assert_eq!(md.code, 2);
    assert!(md.stdout.len() < 60_000);
    snapshot(&p, "drift-found.md", &md.stdout);

    let json = p.drift(&["--format", "json"]);
    assert_eq!(json.code, 2);
    let json: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["verdict"], "drift");
    assert_eq!(
        json["modifiedOutside"][0]["fields"][0],
        json!({"path": "invocationRateLimitPerSecond", "expected": 10, "actual": 25})
    );
    assert_eq!(json["deletedOutside"][0]["address"], "Connector/acme-as2");
    assert_eq!(json["unhealthy"][0]["status"], "DEAUTHORIZED");
    assert_eq!(json["summary"]["inSync"], 1);
}

#[test]
fn a_secret_changed_outside_outbound_is_found_through_last_modified_time() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders API"));
    p.apply();
    // Another API key, everything else as it was: nothing readable differs.
    outside(&p.region, async |aws| {
        let (spec, secrets) = resolved(api_key_connection("Orders API"), "rotated-by-hand");
        aws.update_connection("acme", &spec, &secrets, &[])
            .await
            .unwrap();
    });
    let run = p.drift(&[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("Modified outside outbound") && run.stdout.contains("Connection/acme"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("changed (secret values cannot be read back)"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("rotated-by-hand"), "{}", run.stdout);
}

#[test]
fn a_pending_manifest_change_is_listed_apart_and_is_not_drift() {
    let p = applied_project();
    p.write(
        "orders.yaml",
        &format!(
            "{}---\n{}",
            connection("acme", "Orders API"),
            destination("orders", "acme", 20)
        ),
    );
    p.write("new.yaml", &destination("cancellations", "acme", 5));
    let run = p.drift(&[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with("No drift"), "{}", run.stdout);
    snapshot(&p, "pending.txt", &run.stdout);
    let md = p.drift(&["--format", "markdown"]);
    assert_eq!(md.code, 0);
    snapshot(&p, "pending.md", &md.stdout);

    let json: Value = serde_json::from_str(&p.drift(&["--format", "json"]).stdout).unwrap();
    assert_eq!(json["verdict"], "in-sync");
    assert_eq!(json["summary"]["pendingManifestChanges"], 2);
    assert_eq!(
        json["pendingManifestChanges"][1]["address"],
        "ApiDestination/orders"
    );
    assert_eq!(
        json["pendingManifestChanges"][1]["fields"],
        json!([{"path": "invocationRateLimitPerSecond", "before": 10, "after": 20}])
    );
}

#[test]
fn a_field_changed_in_the_manifest_and_in_aws_is_drift_as_well_as_pending() {
    let p = applied_project();
    p.write(
        "orders.yaml",
        &format!(
            "{}---\n{}",
            connection("acme", "Orders API"),
            destination("orders", "acme", 20)
        ),
    );
    outside(&p.region, async |aws| {
        let live = aws
            .describe_api_destination("orders")
            .await
            .unwrap()
            .unwrap();
        let mut spec = live.spec.value();
        spec["invocationRateLimitPerSecond"] = json!(25);
        let spec: ApiDestinationSpec = serde_json::from_value(spec).unwrap();
        let arn = live.spec.value()["connectionArn"]
            .as_str()
            .unwrap()
            .to_owned();
        aws.update_api_destination("orders", &spec, &arn.into(), &[])
            .await
            .unwrap();
    });
    let run = p.drift(&["--format", "json"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        json["modifiedOutside"][0]["fields"][0],
        json!({"path": "invocationRateLimitPerSecond", "expected": 10, "actual": 25})
    );
    assert_eq!(
        json["pendingManifestChanges"][0]["fields"][0],
        json!({"path": "invocationRateLimitPerSecond", "before": 25, "after": 20})
    );
}

#[test]
fn a_resource_aws_cannot_read_is_not_checked_and_3_wins_over_2() {
    let p = applied_project();
    outside(&p.region, async |aws| {
        let acme_as2 = p.connector_id("acme-as2");
        aws.delete_connector(&acme_as2).await.unwrap();
    });
    // The List page cannot be read either, so the connection is described, and denied.
    for operation in ["ListConnections", "DescribeConnection"] {
        support::moto().fault(
            &p.region,
            json!({"operation": operation, "fault": "access_denied", "count": -1}),
        );
    }
    let run = p.drift(&[]);
    let json = p.drift(&["--format", "json"]);
    let md = p.drift(&["--format", "markdown"]);
    support::moto().clear_faults(&p.region);

    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with("Incomplete:"), "{}", run.stdout);
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("Connection/acme:"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(
        line.contains("access denied: DescribeConnection failed: AccessDeniedException: User: "),
        "{line}"
    );
    assert!(
        run.stdout.contains("Connector/acme-as2"),
        "the drift that could be checked is still shown:\n{}",
        run.stdout
    );
    let in_sync = &run.stdout[run.stdout.find("In sync:").unwrap()..];
    assert!(!in_sync.contains("Connection/acme"), "{}", run.stdout);
    snapshot(&p, "not-checked.txt", &run.stdout);

    assert_eq!(json.code, 3);
    let json: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["verdict"], "incomplete");
    assert_eq!(json["notChecked"][0]["subject"], "Connection/acme");
    assert_eq!(md.code, 3);
    snapshot(&p, "not-checked.md", &md.stdout);
}

#[test]
fn include_unmanaged_lists_what_nobody_manages() {
    let p = applied_project();
    let hand_made = outside(&p.region, async |aws| {
        let (spec, secrets) = resolved(api_key_connection("Made in the console"), "hand-key");
        aws.create_connection("hand-made", &spec, &secrets)
            .await
            .unwrap();
        let connector: ConnectorSpec = serde_json::from_value(json!({
            "url": "https://as2.other.example/as2",
            "accessRole": "arn:aws:iam::111122223333:role/TransferConnector",
            "as2Config": {"localProfileId": "p-0123456789abcdef0", "partnerProfileId": "p-0fedcba9876543210"}
        }))
        .unwrap();
        aws.create_connector(&connector, &Default::default())
            .await
            .unwrap()
            .0
    });
    let run = p.drift(&[]);
    assert_eq!(run.code, 0, "not looked for:\n{}", run.stdout);

    support::moto().forget_calls(&p.region);
    let run = p.drift(&["--include-unmanaged"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(p.mutations().is_empty());
    let section = &run.stdout[run.stdout.find("Unmanaged").unwrap()..];
    let section = section.split("\n\n").next().unwrap();
    assert_eq!(
        section.lines().skip(1).collect::<Vec<_>>(),
        [
            "  + Connection/hand-made".to_owned(),
            "      adopt it: outbound import Connection/hand-made".to_owned(),
            format!("  + Connector/{hand_made} (https://as2.other.example/as2)"),
            format!("      adopt it: outbound import Connector/NAME={hand_made}"),
        ],
        "{}",
        run.stdout
    );
    let json: Value =
        serde_json::from_str(&p.drift(&["--include-unmanaged", "--format", "json"]).stdout)
            .unwrap();
    assert_eq!(json["summary"]["unmanaged"], 2);

    // A List call that fails makes the search incomplete, not empty.
    support::moto().fault(
        &p.region,
        json!({"operation": "ListConnectors", "fault": "access_denied", "count": -1}),
    );
    let run = p.drift(&["--include-unmanaged"]);
    support::moto().clear_faults(&p.region);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("? unmanaged Connector resources: access denied"),
        "{}",
        run.stdout
    );
}

#[test]
fn no_drift_output_ever_holds_the_secret() {
    let p = applied_project();
    outside(&p.region, async |aws| {
        aws.deauthorize_connection("acme").await.unwrap()
    });
    let mut seen = String::new();
    for format in ["text", "json", "markdown"] {
        let run = p.drift(&["--include-unmanaged", "--format", format, "-vvv"]);
        assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
        seen.push_str(&run.stdout);
        seen.push_str(&run.stderr);
    }
    assert!(seen.contains("DEAUTHORIZED"), "{seen}");
    assert!(
        seen.contains("DEBUG") || seen.contains("TRACE"),
        "-vvv logs"
    );
    assert!(!seen.contains(CANARY), "the secret leaked:\n{seen}");
}

#[test]
fn protection_which_guards_apply_does_not_stop_the_report() {
    let p = applied_project();
    p.write(
        "kept.yaml",
        &connection("kept", "Kept").replace(
            "metadata: { name: kept }",
            "metadata: { name: kept, protect: true }",
        ),
    );
    p.apply();
    p.remove("kept.yaml");
    assert_eq!(p.run(&["plan"]).code, 1, "plan refuses to delete it");
    let run = p.drift(&[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("  * Connection/kept will be deleted"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_name_taken_in_aws_by_another_state_is_not_checked_not_in_sync() {
    let first = applied_project();
    let second = Project::in_region(first.region.clone());
    second.write("c.yaml", &connection("acme", "Orders API"));
    let run = second.drift(&[]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "? Connection/acme: it exists in AWS but not in outbound's state; adopt it with `outbound import`"
        ),
        "{}",
        run.stdout
    );
}
