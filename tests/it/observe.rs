//! Observation from List pages against moto, through the real binary: connections and API
//! destinations outbound changed last are read from `ListConnections`/`ListApiDestinations`
//! pages; whatever the pages show changed (timestamp, state), lacks a recorded timestamp, or
//! `--refresh full` asks for, is described; a create costs its plan's read and one call.

use crate::support;

use serde_json::{Value, json};

use outbound::resource::ApiDestinationSpec;
use support::project::{Project, connection, connector, destination, outside};

/// Three connections, three destinations on them, one connector: applied, calls forgotten.
fn applied() -> Project {
    let p = Project::new();
    let mut docs = Vec::new();
    for name in ["a", "b", "c"] {
        docs.push(connection(name, &format!("API {name}")));
        docs.push(destination(&format!("to-{name}"), name, 10));
    }
    p.write("m.yaml", &docs.join("---\n"));
    p.write("as2.yaml", &connector("as2", "Invoices"));
    p.apply();
    support::moto().forget_calls(&p.region);
    p
}

fn count(p: &Project, operation: &str) -> usize {
    support::moto().count(&p.region, operation)
}

/// Operations by name, sorted, with their number: `["DescribeConnector 1", …]`. The account
/// guard's `GetCallerIdentity` (one per run, before the reads: tests/it/guard.rs) is not a
/// read of resources and is left out.
fn tally(p: &Project) -> Vec<String> {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for op in p
        .operations()
        .into_iter()
        .filter(|o| o != "GetCallerIdentity")
    {
        *counts.entry(op).or_default() += 1;
    }
    counts.iter().map(|(op, n)| format!("{op} {n}")).collect()
}

#[test]
fn a_no_change_plan_reads_connections_and_destinations_from_list_pages_only() {
    let p = applied();
    // Two entries a page: the pages are followed to the end.
    support::moto().configure(&p.region, json!({"pageSize": 2}));
    p.assert_no_changes();
    assert_eq!(
        tally(&p),
        [
            "DescribeConnector 1",
            "ListApiDestinations 2",
            "ListConnections 2"
        ],
        "only List pages and one Describe per connector"
    );
    let plan = p.plan();
    assert!(
        plan.stderr
            .contains("Read 7 resources: 6 from List pages, 1 described."),
        "{}",
        plan.stderr
    );
}

#[test]
fn drift_reads_from_list_pages_by_default_and_refresh_full_describes_everything() {
    let p = applied();
    let run = p.drift(&[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        tally(&p),
        [
            "DescribeConnector 1",
            "ListApiDestinations 1",
            "ListConnections 1"
        ]
    );
    support::moto().forget_calls(&p.region);
    let run = p.drift(&["--refresh", "full"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        tally(&p),
        [
            "DescribeApiDestination 3",
            "DescribeConnection 3",
            "DescribeConnector 1"
        ]
    );
    assert!(
        run.stderr
            .contains("Read 7 resources: 0 from List pages, 7 described."),
        "{}",
        run.stderr
    );
}

/// What a List page stands in for must be what Describe would have said: the same plan,
/// byte for byte, live fingerprints included (so a plan saved with either refresh is applied
/// under the other).
#[test]
fn a_plan_from_list_pages_equals_the_plan_from_describes() {
    let p = applied();
    let listed = p.run(&["plan", "--format", "json"]);
    let described = p.run(&["plan", "--format", "json", "--refresh", "full"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert_eq!(described.code, 0, "{}", described.stderr);
    assert!(
        listed.stderr.contains("6 from List pages"),
        "{}",
        listed.stderr
    );
    assert!(
        described.stderr.contains("0 from List pages"),
        "{}",
        described.stderr
    );
    assert_eq!(listed.stdout, described.stdout);
}

#[test]
fn a_change_outside_outbound_is_caught_through_the_list_page_timestamp() {
    let p = applied();
    outside(&p.region, async |aws| {
        let live = aws.describe_api_destination("to-b").await.unwrap().unwrap();
        let mut spec = live.spec.value();
        spec["invocationRateLimitPerSecond"] = json!(25);
        let arn = live.spec.value()["connectionArn"]
            .as_str()
            .unwrap()
            .to_owned();
        let spec: ApiDestinationSpec = serde_json::from_value(spec).unwrap();
        aws.update_api_destination("to-b", &spec, &arn.into(), &[])
            .await
            .unwrap();
    });
    let plan = p.plan();
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains("ApiDestination/to-b"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("25"), "{}", plan.stdout);
    // Only the destination whose timestamp moved is described.
    assert_eq!(count(&p, "DescribeApiDestination"), 1);
    assert_eq!(count(&p, "DescribeConnection"), 0);
    assert!(
        plan.stderr
            .contains("Read 7 resources: 5 from List pages, 2 described."),
        "{}",
        plan.stderr
    );
    p.apply();
    p.assert_no_changes();
}

/// A state forced outside outbound without touching the timestamp (AWS deauthorizes a
/// connection on its own, S5) is seen in the page's state: the connection is described and
/// its drift planned.
#[test]
fn a_state_change_outside_outbound_is_caught_through_the_list_page_state() {
    let p = applied();
    support::moto().set_state(
        &p.region,
        json!({"connection": "a", "state": "DEAUTHORIZED", "stateReason": "Received 401 from the endpoint"}),
    );
    support::moto().forget_calls(&p.region);
    let plan = p.plan();
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("Connection/a"), "{}", plan.stdout);
    assert!(plan.stdout.contains("DEAUTHORIZED"), "{}", plan.stdout);
    assert_eq!(count(&p, "DescribeConnection"), 1);
    let drift = p.drift(&[]);
    assert_eq!(drift.code, 2, "{}\n{}", drift.stdout, drift.stderr);
    assert!(drift.stdout.contains("Connection/a"), "{}", drift.stdout);
}

/// A record without a `LastModifiedTime` (a state written before outbound recorded it) is
/// described, never taken from the page.
#[test]
fn a_record_without_a_timestamp_falls_back_to_describe() {
    let p = applied();
    let mut state: Value = p.state();
    let live = &mut state["resources"]["Connection/b"]["live"];
    assert!(live["lastModified"].is_string(), "{state:#}");
    live.as_object_mut().unwrap().remove("lastModified");
    std::fs::write(
        p.state_path(),
        serde_json::to_string_pretty(&state).unwrap(),
    )
    .unwrap();
    p.assert_no_changes();
    assert_eq!(count(&p, "DescribeConnection"), 1);
    assert_eq!(count(&p, "DescribeApiDestination"), 0);
}

/// A create costs three calls with the plan's read: the Describe that finds nothing, the
/// create, and the Describe whose `LastModifiedTime` and state are recorded (issue 15 item
/// 11: never the write's answer; it was two calls before). The next plan reads them from
/// the List pages.
#[test]
fn a_create_costs_its_plans_read_the_create_and_one_describe() {
    let p = Project::new();
    p.write(
        "m.yaml",
        &format!(
            "{}---\n{}",
            connection("a", "API a"),
            destination("to-a", "a", 10)
        ),
    );
    p.apply();
    assert_eq!(
        tally(&p),
        [
            "CreateApiDestination 1",
            "CreateConnection 1",
            "DescribeApiDestination 2",
            "DescribeConnection 2"
        ]
    );
    let state = p.state();
    for address in ["Connection/a", "ApiDestination/to-a"] {
        let live = &state["resources"][address]["live"];
        assert!(live["lastModified"].is_string(), "{address}: {state:#}");
        assert!(live["status"].is_string(), "{address}: {state:#}");
    }
    support::moto().forget_calls(&p.region);
    p.assert_no_changes();
    assert_eq!(tally(&p), ["ListApiDestinations 1", "ListConnections 1"]);
}

/// An update records the `LastModifiedTime` of one Describe right after it: the next plan
/// reads both kinds from the List pages again (no Describe), and is empty.
#[test]
fn an_update_records_a_describe_and_the_next_plan_reads_the_list_page() {
    let p = applied();
    let mut docs = Vec::new();
    for name in ["a", "b", "c"] {
        let description = if name == "a" { "changed" } else { name };
        docs.push(connection(name, &format!("API {description}")));
        docs.push(destination(
            &format!("to-{name}"),
            name,
            if name == "a" { 20 } else { 10 },
        ));
    }
    p.write("m.yaml", &docs.join("---\n"));
    p.apply();
    let updates: Vec<String> = p.mutations();
    assert_eq!(updates.len(), 2, "{updates:?}");
    let after: Vec<String> = p
        .operations()
        .into_iter()
        .skip_while(|o| !o.starts_with("Update"))
        .collect();
    assert_eq!(
        after,
        [
            "UpdateConnection",
            "DescribeConnection",
            "UpdateApiDestination",
            "DescribeApiDestination"
        ],
        "one Describe after each update"
    );
    support::moto().forget_calls(&p.region);
    p.assert_no_changes();
    assert_eq!(count(&p, "DescribeConnection"), 0);
    assert_eq!(count(&p, "DescribeApiDestination"), 0);
}

/// Issue 15 item 11: the drift marker comes from a read. With the write answers carrying
/// another `LastModifiedTime` than List and Describe (the harness's `writeTimeSkewMs`), an
/// apply leaves no perpetual diff and re-sends no secret: the plan is empty, drift finds
/// nothing, and the next apply makes no call that changes AWS.
#[test]
fn write_answers_with_another_time_than_reads_leave_no_perpetual_diff() {
    let p = Project::new();
    support::moto().configure(&p.region, json!({"writeTimeSkewMs": 7}));
    p.write(
        "m.yaml",
        &format!(
            "{}---\n{}",
            connection("a", "API a"),
            destination("to-a", "a", 10)
        ),
    );
    p.apply();
    p.assert_no_changes();
    let drift = p.drift(&[]);
    assert_eq!(drift.code, 0, "{}\n{}", drift.stdout, drift.stderr);
    // An update, then the same again.
    p.write(
        "m.yaml",
        &format!(
            "{}---\n{}",
            connection("a", "API a, changed"),
            destination("to-a", "a", 20)
        ),
    );
    p.apply();
    p.assert_no_changes();
    support::moto().forget_calls(&p.region);
    p.apply();
    assert_eq!(p.mutations(), Vec::<String>::new());
    assert_eq!(tally(&p), ["ListApiDestinations 1", "ListConnections 1"]);
}
