//! Asynchronous states as real AWS recorded them (docs/testing.md, "States"): an OAuth
//! connection is `AUTHORIZING` after its creation or a re-authorizing update, and an API
//! destination on it is `INACTIVE` until it is authorized. `apply` waits for the connection
//! before it creates the destination; `plan` and `drift` call a resource that is still
//! settling waiting, not drift; a connection deauthorized outside outbound stays unhealthy.

use crate::support;

use serde_json::{Value, json};

use support::project::{Project, outside};

/// An OAuth connection and an API destination on it (the client secret is `CONV_SECRET`).
pub(crate) const OAUTH: &str = "apiVersion: outbound/v1
kind: Connection
metadata: { name: oauth }
spec:
  authorizationType: OAUTH_CLIENT_CREDENTIALS
  authParameters:
    oAuthParameters:
      clientParameters: { clientID: outbound, clientSecret: { fromEnv: CONV_SECRET } }
      authorizationEndpoint: https://auth.partner.example/token
      httpMethod: POST
---
apiVersion: outbound/v1
kind: ApiDestination
metadata: { name: events }
spec:
  connection: oauth
  invocationEndpoint: https://api.partner.example/events
  httpMethod: POST
";

/// The state AWS reports for the API destination `name`, read outside outbound.
fn destination_state(p: &Project, name: &str) -> Option<String> {
    outside(&p.region, async |aws| {
        aws.describe_api_destination(name)
            .await
            .unwrap()
            .and_then(|l| l.status)
    })
}

/// The block of `text` that starts with `heading`, up to the next blank line.
fn section(text: &str, heading: &str) -> Option<String> {
    let start = text.find(heading)?;
    text[start..].split("\n\n").next().map(str::to_owned)
}

/// `drift` finds no drift and nothing waiting.
fn assert_settled(p: &Project) {
    let drift = p.drift(&[]);
    assert_eq!(drift.code, 0, "{}\n{}", drift.stdout, drift.stderr);
    assert!(drift.stdout.starts_with("No drift"), "{}", drift.stdout);
    assert!(
        section(&drift.stdout, "Waiting").is_none(),
        "{}",
        drift.stdout
    );
}

/// An applied project: the OAuth connection authorized, the destination `ACTIVE`.
fn applied() -> Project {
    let p = Project::new();
    p.write("m.yaml", OAUTH);
    p.apply();
    p
}

#[test]
fn an_oauth_connection_and_its_destination_in_one_apply_wait_then_converge() {
    let p = Project::new();
    // The connection is AUTHORIZING for its first 3 Describes after the creation.
    support::moto().configure(&p.region, json!({"oauthReads": 3}));
    p.write("m.yaml", OAUTH);
    p.apply();

    let ops = p.operations();
    let position = |op: &str| ops.iter().position(|o| o == op);
    let created = position("CreateConnection").expect("the connection is created");
    let destination = position("CreateApiDestination").expect("the destination is created");
    let waited = ops[created..destination]
        .iter()
        .filter(|o| *o == "DescribeConnection")
        .count();
    assert_eq!(
        waited, 4,
        "apply describes the connection until it is AUTHORIZED (3 AUTHORIZING, then \
         AUTHORIZED), and only then creates the destination: {ops:?}"
    );
    assert_eq!(p.mutations(), ["CreateConnection", "CreateApiDestination"]);
    assert_eq!(
        destination_state(&p, "events").as_deref(),
        Some("ACTIVE"),
        "created once its connection was authorized"
    );

    p.assert_no_changes();
    assert_settled(&p);
}

#[test]
fn a_destination_inactive_while_its_connection_authorizes_is_waiting_not_drift() {
    let p = applied();
    // AWS re-authorizes the connection (a token refresh); LastModifiedTime does not move.
    support::moto().set_state(
        &p.region,
        json!({"connection": "oauth", "state": "AUTHORIZING", "reads": 100, "then": "AUTHORIZED"}),
    );
    assert_eq!(destination_state(&p, "events").as_deref(), Some("INACTIVE"));
    support::moto().forget_calls(&p.region);

    let drift = p.drift(&[]);
    assert_eq!(drift.code, 0, "{}\n{}", drift.stdout, drift.stderr);
    assert!(drift.stdout.starts_with("No drift"), "{}", drift.stdout);
    let waiting = section(&drift.stdout, "Waiting")
        .unwrap_or_else(|| panic!("no Waiting section:\n{}", drift.stdout));
    assert!(
        waiting.contains("Connection/oauth is AUTHORIZING"),
        "{}",
        drift.stdout
    );
    assert!(
        waiting.contains("ApiDestination/events is INACTIVE: its connection oauth is AUTHORIZING"),
        "{}",
        drift.stdout
    );
    for bucket in ["Modified outside", "Unhealthy", "Deleted outside"] {
        assert!(!drift.stdout.contains(bucket), "{}", drift.stdout);
    }

    let json = p.drift(&["--format", "json"]);
    assert_eq!(json.code, 0, "{}\n{}", json.stdout, json.stderr);
    let json: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["verdict"], "in-sync", "{json:#}");
    let waiting: Vec<(&str, &str)> = json["waiting"]
        .as_array()
        .unwrap_or_else(|| panic!("no waiting list: {json:#}"))
        .iter()
        .map(|w| {
            (
                w["address"].as_str().unwrap_or_default(),
                w["status"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        waiting,
        [
            ("Connection/oauth", "AUTHORIZING"),
            ("ApiDestination/events", "INACTIVE")
        ],
        "{json:#}"
    );

    let md = p.drift(&["--format", "markdown"]);
    assert_eq!(md.code, 0, "{}\n{}", md.stdout, md.stderr);
    assert!(
        md.stdout.contains("### outbound drift: no drift"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains(
            "#### Waiting (AWS is still settling these; not drift)\n\n- `Connection/oauth`: `AUTHORIZING`\n- `ApiDestination/events`: `INACTIVE`: its connection oauth is AUTHORIZING\n"
        ),
        "{}",
        md.stdout
    );

    p.assert_no_changes();
    assert!(p.mutations().is_empty(), "{:?}", p.operations());

    // Once authorized, nothing is waiting any more.
    support::moto().set_state(
        &p.region,
        json!({"connection": "oauth", "state": "AUTHORIZED"}),
    );
    assert_eq!(destination_state(&p, "events").as_deref(), Some("ACTIVE"));
    assert_settled(&p);
}

#[test]
fn an_oauth_connection_deauthorized_outside_is_unhealthy_and_apply_waits_for_it_again() {
    let p = applied();
    support::moto().set_state(
        &p.region,
        json!({"connection": "oauth", "state": "DEAUTHORIZED", "stateReason": "OAuth token request failed", "touch": true}),
    );
    let drift = p.drift(&[]);
    assert_eq!(drift.code, 2, "{}\n{}", drift.stdout, drift.stderr);
    let unhealthy = section(&drift.stdout, "Unhealthy")
        .unwrap_or_else(|| panic!("no Unhealthy section:\n{}", drift.stdout));
    assert!(
        unhealthy.contains("Connection/oauth is DEAUTHORIZED: OAuth token request failed"),
        "{}",
        drift.stdout
    );
    assert!(
        section(&drift.stdout, "Waiting").is_none_or(|w| !w.contains("Connection/oauth")),
        "a DEAUTHORIZED connection is not waiting:\n{}",
        drift.stdout
    );

    // apply re-sends the credentials, which re-authorizes it: AUTHORIZING, then AUTHORIZED.
    support::moto().forget_calls(&p.region);
    p.apply();
    let ops = p.operations();
    assert_eq!(p.mutations(), ["UpdateConnection"], "{ops:?}");
    let updated = ops.iter().position(|o| o == "UpdateConnection").unwrap();
    assert_eq!(
        ops[updated..]
            .iter()
            .filter(|o| *o == "DescribeConnection")
            .count(),
        2,
        "apply waits through AUTHORIZING: {ops:?}"
    );
    p.assert_no_changes();
    assert_settled(&p);
}

#[test]
fn a_saved_plan_made_while_the_connection_authorizes_applies_once_it_is_authorized() {
    let p = applied();
    let put = OAUTH.replace("events\n  httpMethod: POST", "events\n  httpMethod: PUT");
    assert_ne!(put, OAUTH);
    p.write("m.yaml", &put);
    // The plan sees the connection AUTHORIZING (its destination INACTIVE); by the time the
    // plan is applied, both have settled. Nothing the plan relied on changed.
    support::moto().set_state(
        &p.region,
        json!({"connection": "oauth", "state": "AUTHORIZING", "reads": 1, "then": "AUTHORIZED"}),
    );
    let saved = p.dir.path().join("plan.json");
    let saved = saved.to_str().unwrap();
    let plan = p.run(&["plan", "--out", saved]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    support::moto().forget_calls(&p.region);
    let run = p.run(&["apply", "--plan", saved]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(p.mutations(), ["UpdateApiDestination"]);
    p.assert_no_changes();
}

/// The EventBridge client of the SDK, through the proxy in `region`.
fn events_client(region: &str) -> aws_sdk_cloudwatchevents::Client {
    use aws_sdk_cloudwatchevents::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_cloudwatchevents::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(support::moto().proxy.clone())
        .credentials_provider(Credentials::new(
            support::ACCESS_KEY_ID,
            support::SECRET_ACCESS_KEY,
            None,
            None,
            "tests",
        ))
        .build();
    aws_sdk_cloudwatchevents::Client::from_conf(config)
}

/// The emulator's defaults against the AWS-validated recordings (docs/testing.md, "States"),
/// and the knobs that turn them off.
#[allow(
    clippy::too_many_lines,
    reason = "one check per recorded AWS answer, in the order of docs/testing.md"
)]
#[tokio::test]
async fn the_emulator_answers_as_aws_recorded() {
    use aws_sdk_cloudwatchevents::types::{
        ApiDestinationHttpMethod as Method, ConnectionAuthorizationType as Type,
        CreateConnectionAuthRequestParameters as Auth, CreateConnectionBasicAuthRequestParameters,
        CreateConnectionOAuthClientRequestParameters, CreateConnectionOAuthRequestParameters,
        UpdateConnectionAuthRequestParameters, UpdateConnectionOAuthRequestParameters,
    };
    let region = support::region();
    let events = events_client(&region);
    let oauth = Auth::builder()
        .o_auth_parameters(
            CreateConnectionOAuthRequestParameters::builder()
                .authorization_endpoint("https://example.com/oauth")
                .http_method("POST".into())
                .client_parameters(
                    CreateConnectionOAuthClientRequestParameters::builder()
                        .client_id("client_id")
                        .client_secret("client_secret")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .build();
    let basic = Auth::builder()
        .basic_auth_parameters(
            CreateConnectionBasicAuthRequestParameters::builder()
                .username("user")
                .password("pass")
                .build()
                .unwrap(),
        )
        .build();
    let describe = async |name: &str| {
        let out = events
            .describe_connection()
            .name(name)
            .send()
            .await
            .unwrap();
        out.connection_state().map(|s| s.as_str().to_owned())
    };
    let destination = async |name: &str| {
        let out = events
            .describe_api_destination()
            .name(name)
            .send()
            .await
            .unwrap();
        out.api_destination_state().map(|s| s.as_str().to_owned())
    };

    // BASIC: AUTHORIZED in the answer and at the Describe right after.
    let created = events
        .create_connection()
        .name("basic")
        .authorization_type(Type::Basic)
        .auth_parameters(basic)
        .send()
        .await
        .unwrap();
    assert_eq!(created.connection_state().unwrap().as_str(), "AUTHORIZED");
    assert_eq!(describe("basic").await.as_deref(), Some("AUTHORIZED"));

    // OAuth: AUTHORIZING in the answer and at the Describe right after; its destination is
    // INACTIVE meanwhile, on create, describe, list and update.
    let created = events
        .create_connection()
        .name("oauth")
        .authorization_type(Type::OauthClientCredentials)
        .auth_parameters(oauth.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(created.connection_state().unwrap().as_str(), "AUTHORIZING");
    let arn = created.connection_arn().unwrap().to_owned();
    let made = events
        .create_api_destination()
        .name("events")
        .connection_arn(&arn)
        .invocation_endpoint("https://example.com/api")
        .http_method(Method::Post)
        .send()
        .await
        .unwrap();
    assert_eq!(made.api_destination_state().unwrap().as_str(), "INACTIVE");
    assert_eq!(destination("events").await.as_deref(), Some("INACTIVE"));
    let listed = events.list_api_destinations().send().await.unwrap();
    assert_eq!(
        listed.api_destinations()[0]
            .api_destination_state()
            .unwrap()
            .as_str(),
        "INACTIVE"
    );
    let updated = events
        .update_api_destination()
        .name("events")
        .http_method(Method::Put)
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.api_destination_state().unwrap().as_str(),
        "INACTIVE"
    );
    // The emulator settles it at the next Describe (`oauthReads`: 1); the destination follows.
    assert_eq!(describe("oauth").await.as_deref(), Some("AUTHORIZING"));
    assert_eq!(describe("oauth").await.as_deref(), Some("AUTHORIZED"));
    assert_eq!(destination("events").await.as_deref(), Some("ACTIVE"));

    // An update that sends the credentials re-authorizes it: AUTHORIZING again.
    let again = events
        .update_connection()
        .name("oauth")
        .auth_parameters(
            UpdateConnectionAuthRequestParameters::builder()
                .o_auth_parameters(
                    UpdateConnectionOAuthRequestParameters::builder()
                        .authorization_endpoint("https://example.com/oauth2")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(again.connection_state().unwrap().as_str(), "AUTHORIZING");
    assert_eq!(destination("events").await.as_deref(), Some("INACTIVE"));
    assert_eq!(describe("oauth").await.as_deref(), Some("AUTHORIZING"));

    // The knobs: `oauthReads: 0` settles at the first Describe; without
    // `destinationsFollowConnection` a destination stays ACTIVE.
    support::moto().configure(
        &region,
        json!({"oauthReads": 0, "destinationsFollowConnection": false}),
    );
    let created = events
        .create_connection()
        .name("quick")
        .authorization_type(Type::OauthClientCredentials)
        .auth_parameters(oauth)
        .send()
        .await
        .unwrap();
    assert_eq!(created.connection_state().unwrap().as_str(), "AUTHORIZING");
    let made = events
        .create_api_destination()
        .name("quick")
        .connection_arn(created.connection_arn().unwrap())
        .invocation_endpoint("https://example.com/api")
        .http_method(Method::Post)
        .send()
        .await
        .unwrap();
    assert_eq!(made.api_destination_state().unwrap().as_str(), "ACTIVE");
    assert_eq!(describe("quick").await.as_deref(), Some("AUTHORIZED"));
}

#[test]
fn a_connection_still_authorizing_when_the_wait_ends_skips_its_destination_then_converges() {
    let p = Project::new();
    support::moto().configure(&p.region, json!({"oauthReads": 2}));
    p.write("m.yaml", OAUTH);
    // A zero wait: the first Describe (AUTHORIZING) ends it, whatever the clock says.
    let run = p.run(&["apply", "--auto-approve", "--wait-timeout", "0s"]);
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(out.contains("still AUTHORIZING after 0s"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("ApiDestination/events") && l.contains("skipped")),
        "{out}"
    );
    assert_eq!(p.mutations(), ["CreateConnection"]);

    // The next apply adopts the connection it created, waits for it, creates the destination.
    p.apply();
    assert_eq!(
        p.mutations()
            .iter()
            .filter(|o| o.starts_with("Create"))
            .collect::<Vec<_>>(),
        ["CreateConnection", "CreateApiDestination"],
        "nothing created twice: {:?}",
        p.operations()
    );
    assert_eq!(destination_state(&p, "events").as_deref(), Some("ACTIVE"));
    p.assert_no_changes();
    assert_settled(&p);
}
