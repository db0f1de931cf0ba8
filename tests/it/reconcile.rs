//! `outbound plan` and `apply` against moto, through the real binary and the real SDK: every
//! kind's lifecycle, dependency order, partial failure, no calls when nothing changes,
//! secrets, and the lock. The proxy's call log is the witness of what reached "AWS".

use crate::support;

use serde_json::{Value, json};

use support::project::{CANARY, Project, Run, connection, connector, destination, outside};

/// create -> empty plan -> change one field -> plan shows exactly it -> update in place ->
/// remove the manifest -> deleted. `anchor` stays, so the manifests are never empty.
fn lifecycle(anchor: &str, file: &str, before: &str, after: &str, field: &str, ops: [&str; 3]) {
    let [create, update, delete] = ops;
    let p = Project::new();
    p.write(
        "anchor.yaml",
        &format!("{}---\n{anchor}", connector("anchor", "Anchor")),
    );
    p.write(file, before);
    p.apply();
    assert_eq!(
        support::moto().count(&p.region, create),
        1 + usize::from(create == "CreateConnector"),
        "{:?}",
        p.operations()
    );
    p.assert_no_changes();

    p.write(file, after);
    let plan = p.plan();
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    let changed: Vec<&str> = plan
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("~ ") && l.contains(": "))
        .collect();
    assert_eq!(
        changed.len(),
        1,
        "exactly one field changes:\n{}",
        plan.stdout
    );
    assert!(
        changed[0].contains(field),
        "{field} changes:\n{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("will be updated in place (apply manifest change)"),
        "{}",
        plan.stdout
    );

    support::moto().forget_calls(&p.region);
    p.apply();
    assert_eq!(p.mutations(), [update], "updated in place, nothing else");
    p.assert_no_changes();

    p.remove(file);
    let plan = p.plan();
    assert!(plan.stdout.contains("will be deleted"), "{}", plan.stdout);
    support::moto().forget_calls(&p.region);
    p.apply();
    assert_eq!(p.mutations(), [delete]);
    assert!(
        !p.managed()
            .iter()
            .any(|a| a.ends_with(&format!("/{}", file_resource(before))))
    );
    p.assert_no_changes();
}

fn file_resource(yaml: &str) -> String {
    let doc: Value = serde_yaml::from_str(yaml).unwrap();
    doc["metadata"]["name"].as_str().unwrap().to_owned()
}

#[test]
fn connection_is_created_updated_in_place_and_deleted() {
    lifecycle(
        "",
        "c.yaml",
        &connection("acme", "Orders API"),
        &connection("acme", "Orders API v2"),
        "description",
        ["CreateConnection", "UpdateConnection", "DeleteConnection"],
    );
}

#[test]
fn api_destination_is_created_updated_in_place_and_deleted() {
    lifecycle(
        &connection("acme", "Orders API"),
        "d.yaml",
        &destination("orders", "acme", 10),
        &destination("orders", "acme", 20),
        "invocationRateLimitPerSecond",
        [
            "CreateApiDestination",
            "UpdateApiDestination",
            "DeleteApiDestination",
        ],
    );
}

#[test]
fn connector_is_created_updated_in_place_and_deleted() {
    lifecycle(
        "",
        "x.yaml",
        &connector("acme-as2", "Invoices"),
        &connector("acme-as2", "Invoices and credit notes"),
        "messageSubject",
        ["CreateConnector", "UpdateConnector", "DeleteConnector"],
    );
}

#[test]
fn connections_are_created_before_their_destinations_and_deleted_after() {
    let p = Project::new();
    p.write("anchor.yaml", &connector("anchor", "Anchor"));
    p.write("c.yaml", &connection("acme", "Orders API"));
    p.write(
        "d.yaml",
        &format!(
            "{}---\n{}",
            destination("orders", "acme", 10),
            destination("cancellations", "acme", 5)
        ),
    );
    p.apply();
    let ops = p.mutations();
    let pos = |op: &str| {
        ops.iter()
            .position(|o| o == op)
            .unwrap_or_else(|| panic!("{op} in {ops:?}"))
    };
    let last_dest = ops
        .iter()
        .rposition(|o| o == "CreateApiDestination")
        .unwrap();
    assert!(
        pos("CreateConnection") < pos("CreateApiDestination"),
        "{ops:?}"
    );
    assert!(pos("CreateConnection") < last_dest);

    p.remove("c.yaml");
    p.remove("d.yaml");
    support::moto().forget_calls(&p.region);
    p.apply();
    let ops = p.mutations();
    let first_conn = ops.iter().position(|o| o == "DeleteConnection").unwrap();
    let last_dest = ops
        .iter()
        .rposition(|o| o == "DeleteApiDestination")
        .unwrap();
    assert_eq!(
        ops.iter().filter(|o| *o == "DeleteApiDestination").count(),
        2,
        "{ops:?}"
    );
    assert!(
        last_dest < first_conn,
        "destinations are deleted before their connection: {ops:?}"
    );
    p.assert_no_changes();
}

#[test]
fn a_failed_action_skips_its_dependents_and_the_next_apply_converges() {
    let p = Project::new();
    p.write(
        "c.yaml",
        &format!(
            "{}---\n{}",
            connection("acme", "Orders API"),
            destination("orders", "acme", 10)
        ),
    );
    p.write("x.yaml", &connector("acme-as2", "Invoices"));
    support::moto().fault(
        &p.region,
        json!({"operation": "CreateConnection", "fault": "access_denied", "count": -1}),
    );
    let run = p.run(&["apply", "--auto-approve"]);
    support::moto().clear_faults(&p.region);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("Apply finished: 1 done, 1 failed, 1 skipped."),
        "{}",
        run.stdout
    );
    let report = &run.stdout[run.stdout.find("Apply finished").unwrap()..];
    let row = |addr: &str| {
        report
            .lines()
            .find(|l| l.contains(addr))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        row("Connection/acme").trim_start().starts_with("failed"),
        "{}",
        run.stdout
    );
    assert!(
        row("ApiDestination/orders")
            .trim_start()
            .starts_with("skipped"),
        "{}",
        run.stdout
    );
    assert!(
        row("Connector/acme-as2").trim_start().starts_with("done"),
        "{}",
        run.stdout
    );
    // The state holds exactly what AWS holds: the connector, nothing else.
    assert_eq!(p.managed(), ["Connector/acme-as2"]);
    assert!(!p.operations().contains(&"CreateApiDestination".to_owned()));
    assert_eq!(support::moto().count(&p.region, "CreateConnector"), 1);

    let plan = p.plan();
    assert!(
        plan.stdout
            .contains("Plan: 2 to create, 0 to update, 0 to replace, 0 to delete; 1 unchanged."),
        "{}",
        plan.stdout
    );
    p.apply();
    p.assert_no_changes();
    assert_eq!(
        p.managed(),
        [
            "ApiDestination/orders",
            "Connection/acme",
            "Connector/acme-as2"
        ]
    );
}

#[test]
fn no_changes_means_no_mutating_calls_list_pages_and_one_describe_per_connector() {
    let p = Project::new();
    p.write(
        "c.yaml",
        &format!(
            "{}---\n{}",
            connection("acme", "Orders API"),
            destination("orders", "acme", 10)
        ),
    );
    p.write("x.yaml", &connector("acme-as2", "Invoices"));
    p.apply();
    support::moto().forget_calls(&p.region);
    let run = p.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("No changes."), "{}", run.stdout);
    assert!(p.mutations().is_empty(), "{:?}", p.operations());
    let mut ops = p.operations();
    ops.sort();
    // Connections and destinations unchanged since the apply are read from their List
    // pages (docs/architecture.md, Observation); connectors are described; the account
    // guard's call comes first.
    assert_eq!(
        ops,
        [
            "DescribeConnector",
            "GetCallerIdentity",
            "ListApiDestinations",
            "ListConnections"
        ]
    );
}

#[test]
fn a_canary_secret_never_appears_in_output_logs_or_state() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders API"));
    let mut seen = String::new();
    for args in [
        &["plan", "-vvv"][..],
        &["apply", "--auto-approve", "-vvv"],
        &["plan", "-vvv"],
    ] {
        let run = p.run(args);
        seen.push_str(&run.stdout);
        seen.push_str(&run.stderr);
    }
    let state = std::fs::read_to_string(p.state_path()).unwrap();
    assert!(state.contains("argon2id$"), "fingerprints are recorded");
    assert!(
        !seen.contains(CANARY),
        "the secret leaked into output:\n{seen}"
    );
    assert!(!state.contains(CANARY), "the secret leaked into the state");
    assert!(
        seen.contains("TRACE") || seen.contains("DEBUG"),
        "-vvv logs were produced"
    );
}

#[test]
fn a_second_concurrent_apply_fails_fast_naming_the_lock_holder() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders API"));
    support::moto().fault(
        &p.region,
        json!({"operation": "CreateConnection", "fault": "delay", "delay_ms": 4000}),
    );
    let mut first = p.command(&["apply", "--auto-approve"]).spawn().unwrap();
    let lock = p.dir.path().join("state.json.lock");
    let started = std::time::Instant::now();
    while !lock.exists() && started.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(lock.exists(), "the first apply took the lock");
    let t = std::time::Instant::now();
    let second = p.run(&["apply", "--auto-approve"]);
    assert!(t.elapsed().as_secs() < 3, "fails fast");
    assert_eq!(second.code, 1);
    assert!(second.stderr.contains("is locked by"), "{}", second.stderr);
    assert!(
        second.stderr.contains(&format!("pid {}", first.id())),
        "{}",
        second.stderr
    );
    assert!(first.wait().unwrap().success());
    assert!(!lock.exists(), "the lock is released");
    p.assert_no_changes();
}

/// A create whose response is lost is not repeated by the SDK; the next run adopts what it
/// created, through the pending record and the connector's tags.
fn interrupted_creation_is_adopted(file: &str, yaml: &str, create: &str, address: &str) {
    let p = Project::new();
    p.write(file, yaml);
    support::moto().fault(&p.region, json!({"operation": create, "fault": "drop"}));
    let run = p.run(&["apply", "--auto-approve"]);
    assert_eq!(
        run.code, 1,
        "the lost answer is a failure:\n{}\n{}",
        run.stdout, run.stderr
    );
    assert_eq!(support::moto().count(&p.region, create), 1, "not retried");
    assert!(p.state()["pending"].get(address).is_some(), "{}", p.state());

    let plan = p.plan();
    assert!(!plan.stdout.contains("will be created"), "{}", plan.stdout);
    p.apply();
    assert_eq!(
        support::moto().count(&p.region, create),
        1,
        "never created twice"
    );
    assert_eq!(p.managed(), [address]);
    assert!(p.state().get("pending").is_none());
    p.assert_no_changes();
}

#[test]
fn an_interrupted_connector_creation_is_adopted_not_duplicated() {
    interrupted_creation_is_adopted(
        "x.yaml",
        &connector("acme-as2", "Invoices"),
        "CreateConnector",
        "Connector/acme-as2",
    );
}

#[test]
fn an_interrupted_connection_creation_is_adopted() {
    interrupted_creation_is_adopted(
        "c.yaml",
        &connection("acme", "Orders API"),
        "CreateConnection",
        "Connection/acme",
    );
}

#[test]
fn resources_outbound_did_not_create_are_never_taken_over() {
    let first = Project::new();
    first.write("c.yaml", &connection("acme", "Orders API"));
    first.write("x.yaml", &connector("acme-as2", "Invoices"));
    first.apply();
    // The same manifests with another state: the names are taken in AWS.
    let second = Project::in_region(first.region.clone());
    second.write("c.yaml", &connection("acme", "Orders API"));
    second.write("x.yaml", &connector("acme-as2", "Invoices"));
    support::moto().forget_calls(&first.region);
    let plan = second.plan();
    assert_eq!(plan.code, 1, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stderr.contains("2 already exist in AWS but not in outbound's state: Connection/acme, Connector/acme-as2"),
        "{}",
        plan.stderr
    );
    assert!(plan.stderr.contains("outbound import"), "{}", plan.stderr);
    let apply = second.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 1);
    assert!(
        second.mutations().is_empty(),
        "nothing was changed: {:?}",
        second.operations()
    );
}

// ---- Semantics users trust (issue 4) ---------------------------------------------------

fn plan_lines(run: &Run) -> Vec<String> {
    run.stdout.lines().map(|l| l.trim().to_owned()).collect()
}

/// Snapshots a plan as a reviewer reads it, with ARNs, connector ids, times, the region and
/// the temp dir redacted.
fn snapshot(p: &Project, name: &str, text: &str) {
    let mut redactions = p.redactions();
    // What is left of an id after a long ARN was wrapped (the text plan fits its width).
    redactions.push((
        r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b".to_owned(),
        "[uuid]",
    ));
    insta::with_settings!({
        omit_expression => true,
        filters => redactions.iter().map(|(regex, to)| (regex.as_str(), *to)),
    }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn a_field_removed_from_the_manifest_is_reset_and_one_never_written_is_left_alone() {
    let p = Project::new();
    p.write(
        "d.yaml",
        &format!(
            "{}---\n{}",
            connection("acme", "Orders API"),
            destination("orders", "acme", 10)
        ),
    );
    p.apply();
    // Removed from the manifest: description (cleared) and the rate (reset to AWS's 300).
    let bare = destination("orders", "acme", 10)
        .replace("  description: Orders for acme\n", "")
        .replace("  invocationRateLimitPerSecond: 10\n", "");
    p.write(
        "d.yaml",
        &format!("{}---\n{bare}", connection("acme", "Orders API")),
    );
    let plan = p.plan();
    let lines = plan_lines(&plan);
    assert!(
        lines.contains(&r#"- description: "Orders for acme" -> (unset)"#.to_owned()),
        "{}",
        plan.stdout
    );
    assert!(
        lines.contains(&"~ invocationRateLimitPerSecond: 10 -> 300".to_owned()),
        "{}",
        plan.stdout
    );
    snapshot(&p, "plan-field-removed", &plan.stdout);
    support::moto().forget_calls(&p.region);
    p.apply();
    assert_eq!(p.mutations(), ["UpdateApiDestination"]);
    let live = outside(&p.region, async |aws| {
        aws.describe_api_destination("orders")
            .await
            .unwrap()
            .unwrap()
    });
    assert!(
        live.spec.get("description").is_none(),
        "cleared: {}",
        live.spec
    );
    assert_eq!(live.spec.value()["invocationRateLimitPerSecond"], 300);
    p.assert_no_changes();
}

#[test]
fn a_field_aws_cannot_clear_is_planned_as_a_replacement() {
    let p = Project::new();
    p.write("x.yaml", &connector("acme-as2", "Invoices"));
    p.apply();
    let old_id = p.state()["resources"]["Connector/acme-as2"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    p.write(
        "x.yaml",
        &connector("acme-as2", "Invoices").replace("    messageSubject: Invoices\n", ""),
    );
    let plan = p.plan();
    assert!(
        plan.stdout
            .contains("# Connector/acme-as2 must be replaced"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains(r#"- as2Config.messageSubject: "Invoices" -> (unset)"#)
            && plan
                .stdout
                .contains("# forces replacement: removed, and MessageSubject"),
        "{}",
        plan.stdout
    );
    snapshot(&p, "plan-field-aws-cannot-clear", &plan.stdout);
    support::moto().forget_calls(&p.region);
    p.apply();
    let ops = p.mutations();
    assert_eq!(
        ops,
        ["CreateConnector", "DeleteConnector"],
        "created before the old one is deleted"
    );
    assert_ne!(
        p.state()["resources"]["Connector/acme-as2"]["id"],
        old_id.as_str()
    );
    p.assert_no_changes();
}

#[test]
fn drift_is_reverted_and_labelled_as_drift() {
    let p = Project::new();
    p.write(
        "d.yaml",
        &format!(
            "{}---\n{}",
            connection("acme", "Orders API"),
            destination("orders", "acme", 10)
        ),
    );
    p.apply();
    outside(&p.region, async |aws| {
        let mut spec: outbound::resource::ApiDestinationSpec = serde_yaml::from_value(
            serde_yaml::from_str::<serde_yaml::Value>(&destination("orders", "acme", 99)).unwrap()
                ["spec"]
                .clone(),
        )
        .unwrap();
        let live = aws
            .describe_api_destination("orders")
            .await
            .unwrap()
            .unwrap();
        let arn = live.spec.value()["connectionArn"]
            .as_str()
            .unwrap()
            .to_owned();
        spec.connection = None;
        aws.update_api_destination("orders", &spec, &arn.into(), &[])
            .await
            .unwrap();
    });
    let plan = p.plan();
    assert!(
        plan.stdout
            .contains("ApiDestination/orders will be updated in place (revert drift)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan_lines(&plan).contains(&"~ invocationRateLimitPerSecond: 99 -> 10  # drift".to_owned()),
        "{}",
        plan.stdout
    );
    snapshot(&p, "plan-drift-reverted", &plan.stdout);
    p.apply();
    p.assert_no_changes();
}

#[test]
fn a_resource_deleted_outside_is_planned_for_recreation_as_such() {
    let p = Project::new();
    p.write("x.yaml", &connector("acme-as2", "Invoices"));
    p.apply();
    let id = p.connector_id("acme-as2");
    outside(&p.region, async |aws| {
        aws.delete_connector(&id).await.unwrap()
    });
    let plan = p.plan();
    assert!(
        plan.stdout
            .contains("Connector/acme-as2 will be created (deleted outside outbound)"),
        "{}",
        plan.stdout
    );
    snapshot(&p, "plan-deleted-outside", &plan.stdout);
    p.apply();
    p.assert_no_changes();
}

#[test]
fn deauthorize_and_authorize_again() {
    let p = Project::new();
    let c = connection("acme", "Orders API");
    p.write("c.yaml", &c);
    p.apply();
    p.write("c.yaml", &format!("{c}  deauthorized: true\n"));
    let plan = p.plan();
    assert!(
        plan.stdout
            .contains("Connection/acme will be deauthorized (apply manifest change)"),
        "{}",
        plan.stdout
    );
    snapshot(&p, "plan-deauthorize", &plan.stdout);
    support::moto().forget_calls(&p.region);
    p.apply();
    assert_eq!(p.mutations(), ["DeauthorizeConnection"]);
    p.assert_no_changes();
    // Back: the auth parameters (secrets) are sent again.
    p.write("c.yaml", &c);
    let plan = p.plan();
    assert!(
        plan_lines(&plan)
            .contains(&r#"~ connectionState: "DEAUTHORIZED" -> "AUTHORIZED""#.to_owned()),
        "{}",
        plan.stdout
    );
    snapshot(&p, "plan-authorize-again", &plan.stdout);
    support::moto().forget_calls(&p.region);
    p.apply();
    assert_eq!(p.mutations(), ["UpdateConnection"]);
    p.assert_no_changes();
}

#[test]
fn a_connection_deauthorized_or_modified_outside_gets_its_secrets_again() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders API"));
    p.apply();
    support::moto().set_state(&p.region, json!({"connection": "acme", "state": "DEAUTHORIZED", "stateReason": "Received 401 from the endpoint", "touch": true}));
    let plan = p.plan();
    assert!(
        plan.stdout
            .contains("AWS reports it DEAUTHORIZED: Received 401 from the endpoint"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Connection/acme will be updated in place (revert drift)"),
        "{}",
        plan.stdout
    );
    snapshot(&p, "plan-deauthorized-outside", &plan.stdout);
    p.apply();
    p.assert_no_changes();
    // A change outside outbound that only moves LastModifiedTime (a secret rotated by hand).
    support::moto().set_state(
        &p.region,
        json!({"connection": "acme", "state": "AUTHORIZED", "touch": true}),
    );
    let plan = p.plan();
    assert!(
        plan.stdout.contains(
            "authParameters (secrets, modified outside outbound): the secret will be sent again"
        ),
        "{}",
        plan.stdout
    );
    snapshot(&p, "plan-secrets-modified-outside", &plan.stdout);
    support::moto().forget_calls(&p.region);
    p.apply();
    assert_eq!(p.mutations(), ["UpdateConnection"]);
    p.assert_no_changes();
}

#[test]
fn a_secret_changed_in_the_environment_is_found_by_its_fingerprint() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders API"));
    p.apply();
    let run = |args: &[&str]| -> Run {
        let out = p
            .command(args)
            .env("ACME_API_KEY", "a-rotated-key-value")
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap(),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        }
    };
    let plan = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}{}", plan.stdout, plan.stderr);
    let lines = plan_lines(&plan);
    assert!(
        lines.contains(
            &"~ authParameters.apiKeyAuthParameters.apiKeyValue: the secret will be sent again"
                .to_owned()
        ),
        "{}",
        plan.stdout
    );
    // Wrapped at 100 columns (not a terminal): the start of the line.
    assert!(
        plan.stdout.contains(
            "~ authParameters.invocationHttpParameters.headerParameters[X-Signature].value: the"
        ),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("a-rotated-key-value"));
    snapshot(&p, "plan-secret-changed-in-env", &plan.stdout);
    assert_eq!(run(&["apply", "--auto-approve"]).code, 0);
    assert_eq!(run(&["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn a_renamed_connection_is_created_destinations_repointed_then_the_old_deleted() {
    let p = Project::new();
    p.write(
        "c.yaml",
        &format!(
            "{}---\n{}",
            connection("acme", "Orders API"),
            destination("orders", "acme", 10)
        ),
    );
    p.apply();
    p.write(
        "c.yaml",
        &format!(
            "{}---\n{}",
            connection("acme-v2", "Orders API"),
            destination("orders", "acme-v2", 10)
        ),
    );
    let plan = p.plan();
    assert!(
        // The ARN is wrapped at 100 columns (not a terminal).
        plan.stdout.contains("~ connectionArn: \"arn:")
            && plan.stdout.contains("-> (known after apply)"),
        "{}",
        plan.stdout
    );
    snapshot(&p, "plan-connection-renamed", &plan.stdout);
    support::moto().forget_calls(&p.region);
    p.apply();
    assert_eq!(
        p.mutations(),
        [
            "CreateConnection",
            "UpdateApiDestination",
            "DeleteConnection"
        ]
    );
    p.assert_no_changes();
}

#[test]
fn a_protected_resource_is_never_deleted_even_after_its_manifest_is_removed() {
    let p = Project::new();
    p.write("anchor.yaml", &connection("anchor", "Anchor"));
    p.write(
        "x.yaml",
        &connector("acme-as2", "Invoices").replace(
            "metadata: { name: acme-as2 }",
            "metadata: { name: acme-as2, protect: true }",
        ),
    );
    p.apply();
    p.remove("x.yaml");
    for args in [&["plan"][..], &["apply", "--auto-approve"]] {
        let run = p.run(args);
        assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(
                "the plan would delete or replace protected resources: Connector/acme-as2"
            ),
            "{}",
            run.stderr
        );
        if args == ["plan"] {
            // Refused before any plan is shown: what the reviewer reads is the error.
            snapshot(&p, "plan-protected-refused", &run.stderr);
        }
    }
    assert_eq!(support::moto().count(&p.region, "DeleteConnector"), 0);
}

#[test]
fn target_limits_the_plan_to_a_resource_and_what_it_needs() {
    let p = Project::new();
    p.write(
        "c.yaml",
        &format!(
            "{}---\n{}",
            connection("acme", "Orders API"),
            destination("orders", "acme", 10)
        ),
    );
    p.write("x.yaml", &connector("acme-as2", "Invoices"));
    let plan = p.run(&["plan", "--target", "ApiDestination/orders"]);
    assert!(plan.stdout.contains("Plan: 2 to create"), "{}", plan.stdout);
    assert!(
        !plan.stdout.contains("Connector/acme-as2"),
        "{}",
        plan.stdout
    );
    snapshot(&p, "plan-target", &plan.stdout);
    let bad = p.run(&["plan", "--target", "ApiDestination/order"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr
            .contains("--target ApiDestination/order: did you mean `ApiDestination/orders`?"),
        "{}",
        bad.stderr
    );
    let run = p.run(&["apply", "--auto-approve", "--target", "Connector/acme-as2"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(p.managed(), ["Connector/acme-as2"]);
}

#[test]
fn a_saved_plan_applies_exactly_what_it_showed_and_a_stale_one_is_refused() {
    let p = Project::new();
    p.write(
        "d.yaml",
        &format!(
            "{}---\n{}",
            connection("acme", "Orders API"),
            destination("orders", "acme", 10)
        ),
    );
    p.apply();
    p.write(
        "d.yaml",
        &format!(
            "{}---\n{}",
            connection("acme", "Orders API"),
            destination("orders", "acme", 20)
        ),
    );
    let saved = p.dir.path().join("plan.json");
    let saved = saved.to_str().unwrap();
    let plan = p.run(&["plan", "--out", saved]);
    assert_eq!(plan.code, 0);
    snapshot(&p, "plan-saved", &plan.stdout);
    // Someone changes the destination by hand after the review.
    outside(&p.region, async |aws| {
        let live = aws
            .describe_api_destination("orders")
            .await
            .unwrap()
            .unwrap();
        let mut spec: outbound::resource::ApiDestinationSpec =
            serde_json::from_value(live.spec.value()).unwrap();
        spec.description = Some("changed by hand".into());
        aws.update_api_destination(
            "orders",
            &spec,
            &spec.connection_arn.clone().unwrap().into(),
            &[],
        )
        .await
        .unwrap();
    });
    support::moto().forget_calls(&p.region);
    let stale = p.run(&["apply", "--plan", saved]);
    assert_eq!(stale.code, 1, "{}{}", stale.stdout, stale.stderr);
    assert!(
        stale
            .stderr
            .contains("ApiDestination/orders changed in AWS"),
        "{}",
        stale.stderr
    );
    assert!(
        p.mutations().is_empty(),
        "nothing applied: {:?}",
        p.operations()
    );
    // A fresh plan applies exactly what it showed: the rate and the description.
    let plan = p.run(&["plan", "--out", saved]);
    assert_eq!(plan.code, 0);
    snapshot(&p, "plan-saved-fresh", &plan.stdout);
    let shown: Value = serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap();
    assert_eq!(shown["summary"]["update"], 1);
    support::moto().forget_calls(&p.region);
    let run = p.run(&["apply", "--plan", saved]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(p.mutations(), ["UpdateApiDestination"]);
    p.assert_no_changes();
}

/// Issue 15 item 3: a connector at AWS's limit of 50 tags (48 of the manifest, outbound's 2)
/// can rename a tag: the old key is removed before the new one is added (the emulator, as
/// AWS documents, refuses a 51st tag).
#[test]
fn a_connector_at_the_tag_limit_can_rename_a_tag() {
    let p = Project::new();
    // `team` and 46 more, and the one renamed: 48.
    let with_tags = |renamed: &str| {
        let tags: String = (0..46)
            .map(|i| format!(", t{i:02}: v{i}"))
            .chain([format!(", {renamed}: last")])
            .collect();
        connector("as2", "Orders").replace(
            "tags: { team: edi }",
            &format!("tags: {{ team: edi{tags} }}"),
        )
    };
    p.write("k.yaml", &with_tags("old-key"));
    p.apply();
    let tags = |p: &Project| {
        let id = p.connector_id("as2");
        outside(&p.region, async |aws| {
            aws.describe_connector(&id).await.unwrap().unwrap().tags
        })
    };
    assert_eq!(tags(&p).len(), 50);
    p.write("k.yaml", &with_tags("new-key"));
    p.apply();
    let now = tags(&p);
    assert_eq!(now.len(), 50);
    assert!(
        now.contains_key("new-key") && !now.contains_key("old-key"),
        "{now:?}"
    );
    p.assert_no_changes();
}

/// Issue 15 item 2: a deauthorized connection is still managed. Its description is sent
/// with `UpdateConnection` without auth parameters (then `DeauthorizeConnection`), while it
/// is deauthorized too, and AWS holds what the state records; it stays deauthorized.
#[test]
fn a_deauthorized_connection_still_gets_its_description() {
    let p = Project::new();
    let c = connection("acme", "Orders API");
    p.write("c.yaml", &c);
    p.apply();
    let described = |p: &Project| {
        outside(&p.region, async |aws| {
            aws.describe_connection("acme").await.unwrap().unwrap()
        })
    };
    // Deauthorized and described anew in one edit.
    p.write(
        "c.yaml",
        &format!(
            "{}  deauthorized: true\n",
            c.replace("Orders API", "Orders (paused)")
        ),
    );
    support::moto().forget_calls(&p.region);
    p.apply();
    assert_eq!(p.mutations(), ["UpdateConnection", "DeauthorizeConnection"]);
    let live = described(&p);
    assert_eq!(live.spec.value()["description"], "Orders (paused)");
    assert_eq!(live.status.as_deref(), Some("DEAUTHORIZED"));
    p.assert_no_changes();
    // While it stays deauthorized, a later edit is applied too, and it stays deauthorized.
    p.write(
        "c.yaml",
        &format!(
            "{}  deauthorized: true\n",
            c.replace("Orders API", "Orders (still paused)")
        ),
    );
    let plan = p.plan();
    assert!(
        plan.stdout
            .contains("Connection/acme will be updated in place"),
        "{}",
        plan.stdout
    );
    support::moto().forget_calls(&p.region);
    p.apply();
    assert_eq!(p.mutations(), ["UpdateConnection"]);
    let live = described(&p);
    assert_eq!(live.spec.value()["description"], "Orders (still paused)");
    assert_eq!(live.status.as_deref(), Some("DEAUTHORIZED"));
    assert_eq!(
        p.state()["resources"]["Connection/acme"]["spec"]["description"],
        "Orders (still paused)"
    );
    p.assert_no_changes();
    let drift = p.drift(&[]);
    assert_eq!(drift.code, 0, "{}\n{}", drift.stdout, drift.stderr);
}
