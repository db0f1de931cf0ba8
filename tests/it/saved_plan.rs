//! Saved plan files that are not consistent (issue 10 item 5).

use std::time::Duration;

use serde_json::Value;

use crate::support::project::{Project, connection, destination};

/// Issue 10 item 5: a change waiting (`after`) on a change that is not in the file made
/// `apply --plan` spin at full CPU forever, holding the lock. Loading the file now checks
/// that every `after` names a change of the file and that they form no cycle, before any
/// AWS call. (The timeout only keeps a regression from hanging the suite.)
#[test]
fn a_plan_file_waiting_on_a_change_it_does_not_hold_is_refused_before_any_aws_call() {
    let p = Project::new();
    p.write("d.yaml", &connection("acme", "Orders API"));
    p.apply();
    p.write(
        "d.yaml",
        &format!(
            "{}---\n{}",
            connection("acme", "Orders API"),
            destination("orders", "acme", 10)
        ),
    );
    let saved = p.dir.path().join("plan.json");
    let saved = saved.to_str().unwrap();
    assert_eq!(p.run(&["plan", "--out", saved]).code, 0);
    let mut plan: Value = serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap();
    let changes = plan["changes"].as_array_mut().unwrap();
    let orders = changes
        .iter_mut()
        .find(|c| c["address"] == "ApiDestination/orders")
        .unwrap();
    orders["after"] = serde_json::json!(["Connection/ghost"]);
    std::fs::write(saved, plan.to_string()).unwrap();
    crate::support::moto().forget_calls(&p.region);
    let out = assert_cmd::Command::from_std(p.command(&["apply", "--plan", saved]))
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr
            .contains("ApiDestination/orders waits for Connection/ghost, which is not in the plan"),
        "{stderr}"
    );
    assert!(p.operations().is_empty(), "{:?}", p.operations());
    assert_eq!(p.managed(), ["Connection/acme"], "nothing applied");
}
