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
