//! outbound's own interrupted work is labelled as such (issue 10 item 8, last clause).

use serde_json::json;

use crate::support::project::{Project, connection};

/// A deletion whose answer is lost (AWS deleted the connection, apply never heard) leaves
/// the address pending as a deletion; the next plan forgets it as "deleted by an
/// interrupted apply", and drift does not call it deleted outside outbound.
#[test]
fn a_delete_whose_answer_was_lost_is_not_labelled_deleted_outside() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders API"));
    p.write("keep.yaml", &connection("keep", "Kept"));
    p.apply();
    p.remove("c.yaml");
    let moto = crate::support::moto();
    moto.fault(
        &p.region,
        json!({"operation": "DeleteConnection", "fault": "drop", "count": -1}),
    );
    let run = p.run(&["apply", "--auto-approve"]);
    moto.clear_faults(&p.region);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(p.state()["pending"]["Connection/acme"]["delete"], true);
    let gone = crate::support::project::outside(&p.region, async |aws| {
        aws.describe_connection("acme").await.unwrap()
    });
    assert!(
        gone.is_none(),
        "AWS deleted it: the answer was what got lost"
    );
    let plan = p.plan();
    assert!(
        plan.stdout
            .contains("Connection/acme will be forgotten (already gone from AWS) (deleted by an interrupted apply)"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("deleted outside"), "{}", plan.stdout);
    let drift = p.drift(&[]);
    assert!(
        !drift.stdout.contains("Deleted outside"),
        "{}",
        drift.stdout
    );
    p.apply();
    assert_eq!(p.managed(), ["Connection/keep"]);
    assert!(p.state().get("pending").is_none(), "{}", p.state());
    p.assert_no_changes();
}

/// Issue 15 item 8: a create AWS refused as "already exists" created nothing, so it is not
/// pending; a same-named connection someone else then makes is not adopted: the next plan
/// refuses it as not in outbound's state.
#[test]
fn a_create_refused_as_already_existing_is_not_pending_and_adopts_nothing() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders API"));
    let moto = crate::support::moto();
    moto.fault(
        &p.region,
        json!({"operation": "CreateConnection", "fault": "error",
               "code": "ResourceAlreadyExistsException",
               "message": "Connection acme already exists."}),
    );
    let run = p.run(&["apply", "--auto-approve"]);
    moto.clear_faults(&p.region);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(p.state().get("pending").is_none(), "{}", p.state());
    // Someone else's state creates a connection of that name.
    let other = Project::in_region(p.region.clone());
    other.write("c.yaml", &connection("acme", "Theirs"));
    other.apply();
    let plan = p.plan();
    assert_eq!(plan.code, 1, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stderr
            .contains("already exist in AWS but not in outbound's state: Connection/acme"),
        "{}",
        plan.stderr
    );
}

/// Issue 15 item 6: a connector created, whose wait failed, is found again by the id saved
/// in `pending` after the manifest's url is fixed, and adopted: no second connector.
#[test]
fn a_connector_whose_url_was_fixed_after_a_failed_create_is_adopted_not_created_again() {
    let p = Project::new();
    let typo = crate::support::project::connector("as2", "Orders").replace(
        "https://as2.partner.example/as2",
        "https://as2.typo.example/as2",
    );
    p.write("k.yaml", &typo);
    let moto = crate::support::moto();
    moto.fault(
        &p.region,
        json!({"operation": "DescribeConnector", "fault": "access_denied", "count": -1}),
    );
    let run = p.run(&["apply", "--auto-approve"]);
    moto.clear_faults(&p.region);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let saved = p.state()["pending"]["Connector/as2"]["id"].clone();
    assert!(saved.is_string(), "{}", p.state());
    p.write(
        "k.yaml",
        &crate::support::project::connector("as2", "Orders"),
    );
    let plan = p.plan();
    assert!(
        plan.stdout
            .contains("Connector/as2 will be updated in place (apply manifest change, adopt interrupted creation)"),
        "{}",
        plan.stdout
    );
    p.apply();
    let ids: Vec<String> = crate::support::project::outside(&p.region, async |aws| {
        aws.list_connectors().await.unwrap()
    })
    .into_iter()
    .map(|c| c.id.to_string())
    .collect();
    assert_eq!(ids, [saved.as_str().unwrap()]);
    assert_eq!(p.connector_id("as2").as_str(), saved.as_str().unwrap());
    p.assert_no_changes();
}

/// A server error answering a create does not say whether AWS acted, so the create is not
/// repeated (a repeat could make a second connector, or answer "already exists" for
/// outbound's own creation); the address stays pending and the next apply converges.
#[test]
fn a_create_answered_with_a_server_error_is_not_repeated_and_stays_pending() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders API"));
    let moto = crate::support::moto();
    moto.fault(
        &p.region,
        json!({"operation": "CreateConnection", "fault": "server_error", "count": 1}),
    );
    let run = p.run(&["apply", "--auto-approve"]);
    moto.clear_faults(&p.region);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(moto.count(&p.region, "CreateConnection"), 1);
    assert!(
        p.state()["pending"]["Connection/acme"].is_object(),
        "{}",
        p.state()
    );
    p.apply();
    assert_eq!(p.managed(), ["Connection/acme"]);
    p.assert_no_changes();
}
