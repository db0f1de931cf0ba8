//! What each kind's rules decide, end to end against the emulator: fields reset in place
//! (issue 10 item 3).

use crate::support::project::{CANARY, Project, connection, connector, outside};

/// Issue 10 item 3: switching `authorizationType` while removing the description and the
/// HTTP parameters in the same edit was planned as "replace" (and refused under
/// `protect: true`), then applied as an update that cleared nothing, so AWS kept the removed
/// fields while the next plan said "No changes". `UpdateConnection` changes the type in
/// place (shared/aws-research/behaviours.md U2): it is an update that really clears them.
#[test]
fn switching_the_auth_type_while_removing_fields_clears_them_in_place() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders API"));
    p.apply();
    let basic = "apiVersion: outbound/v1
kind: Connection
metadata: { name: acme, protect: true }
spec:
  authorizationType: BASIC
  authParameters:
    basicAuthParameters:
      username: orders
      password: { fromEnv: ACME_API_KEY }
";
    p.write("c.yaml", basic);
    let plan = p.plan();
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains("will be updated in place"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("must be replaced"), "{}", plan.stdout);
    p.apply();
    let live = outside(&p.region, async |aws| {
        aws.describe_connection("acme").await.unwrap().unwrap()
    });
    assert_eq!(
        live.spec.value()["authorizationType"],
        "BASIC",
        "{}",
        live.spec
    );
    assert!(
        live.spec.get("description").is_none(),
        "description kept: {}",
        live.spec
    );
    let spec = live.spec.value();
    let invocation = spec["authParameters"].get("invocationHttpParameters");
    let lists_left = invocation.and_then(|i| i.as_object()).map_or(0, |o| {
        o.values()
            .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
            .count()
    });
    assert_eq!(lists_left, 0, "HTTP parameters kept: {}", live.spec);
    assert!(!live.spec.to_string().contains(CANARY));
    p.assert_no_changes();
}

/// Secrecy is decided by the kind's secret slots (issue 7): a connector tag named
/// `fromEnv` made all the connector's tags one "secret", so a tag change was never planned.
#[test]
fn a_connector_tag_named_from_env_is_compared_like_any_tag() {
    let p = Project::new();
    let with = |value: &str| {
        connector("edi", "Orders").replace(
            "tags: { team: edi }",
            &format!("tags: {{ team: edi, fromEnv: {value} }}"),
        )
    };
    p.write("x.yaml", &with("one"));
    p.apply();
    p.write("x.yaml", &with("two"));
    let plan = p.plan();
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains(r#"tags.fromEnv: "one" -> "two""#),
        "{}",
        plan.stdout
    );
    p.apply();
    let id = p.connector_id("edi");
    let live = outside(&p.region, async |aws| {
        aws.describe_connector(&id).await.unwrap().unwrap()
    });
    assert_eq!(live.spec.value()["tags"]["fromEnv"], "two", "{}", live.spec);
    p.assert_no_changes();
}
