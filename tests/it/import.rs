//! `outbound import` against moto, through the real binary: resources made with the AWS SDK
//! directly (as a person or another tool would), adopted, planned, applied; AWS compared
//! field by field before and after; refusals that write nothing.

use std::collections::BTreeMap;
use std::path::Path;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudwatchevents as events;
use aws_sdk_transfer as transfer;
use events::types::{
    ConnectionAuthorizationType, ConnectionBodyParameter, ConnectionHeaderParameter,
    ConnectionHttpParameters, ConnectionOAuthHttpMethod, ConnectionQueryStringParameter,
    CreateConnectionApiKeyAuthRequestParameters, CreateConnectionAuthRequestParameters,
    CreateConnectionBasicAuthRequestParameters, CreateConnectionOAuthClientRequestParameters,
    CreateConnectionOAuthRequestParameters,
};
use transfer::types::{As2ConnectorConfig, SftpConnectorConfig, Tag};

use crate::support;
use support::project::{CANARY, Project, Run};

/// The OAuth client secret and the secret header's value the "hand-made" resources hold.
const CLIENT_SECRET: &str = "client-secret-value-77";
const SIGNATURE: &str = "signature-value-31";

/// SDK clients straight to moto: neither the proxy's call log nor outbound sees them.
fn sdk(region: &str) -> (events::Client, transfer::Client, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = rt.block_on(
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(support::moto().moto.clone())
            .credentials_provider(events::config::Credentials::new(
                support::ACCESS_KEY_ID,
                support::SECRET_ACCESS_KEY,
                None,
                None,
                "test",
            ))
            .load(),
    );
    (
        events::Client::new(&config),
        transfer::Client::new(&config),
        rt,
    )
}

/// The auth parameters of an API-key connection whose key is [`CANARY`].
fn api_key() -> events::types::builders::CreateConnectionAuthRequestParametersBuilder {
    CreateConnectionAuthRequestParameters::builder().api_key_auth_parameters(
        CreateConnectionApiKeyAuthRequestParameters::builder()
            .api_key_name("x-api-key")
            .api_key_value(CANARY)
            .build()
            .unwrap(),
    )
}

/// The auth parameters of a basic-auth connection of user `svc`.
fn basic(password: &str) -> CreateConnectionAuthRequestParameters {
    CreateConnectionAuthRequestParameters::builder()
        .basic_auth_parameters(
            CreateConnectionBasicAuthRequestParameters::builder()
                .username("svc")
                .password(password)
                .build()
                .unwrap(),
        )
        .build()
}

/// What was made by hand, for the comparison after the round trip.
struct HandMade {
    /// The connection that no import names (an API destination points at it by ARN).
    elsewhere_arn: String,
    as2: String,
    sftp: String,
}

/// Made with the SDK, not outbound:
/// 1. an API-key connection with header and query parameters (one secret header);
/// 2. an OAuth connection with a body parameter;
/// 3. a basic-auth one left to others;
/// 4. a destination on (1) and one on (3);
/// 5. an AS2 connector tagged `team: edi`, and an SFTP one tagged `outbound:name` by some
///    earlier tool.
#[allow(
    clippy::too_many_lines,
    reason = "the five hand-made resources in one place, numbered as in the comment above"
)]
fn make_by_hand(region: &str) -> HandMade {
    let (ev, tr, rt) = sdk(region);
    rt.block_on(async {
        let http = ConnectionHttpParameters::builder()
            .header_parameters(
                ConnectionHeaderParameter::builder()
                    .key("X-Env")
                    .value("prod")
                    .is_value_secret(false)
                    .build(),
            )
            .header_parameters(
                ConnectionHeaderParameter::builder()
                    .key("X-Signature")
                    .value(SIGNATURE)
                    .is_value_secret(true)
                    .build(),
            )
            .query_string_parameters(
                ConnectionQueryStringParameter::builder()
                    .key("tenant")
                    .value("acme")
                    .is_value_secret(false)
                    .build(),
            )
            .build();
        ev.create_connection()
            .name("acme-orders-api")
            .description("Orders API at Acme")
            .authorization_type(ConnectionAuthorizationType::ApiKey)
            .auth_parameters(api_key().invocation_http_parameters(http).build())
            .send()
            .await
            .unwrap();
        let oauth = CreateConnectionOAuthRequestParameters::builder()
            .client_parameters(
                CreateConnectionOAuthClientRequestParameters::builder()
                    .client_id("outbound-client")
                    .client_secret(CLIENT_SECRET)
                    .build()
                    .unwrap(),
            )
            .authorization_endpoint("https://auth.partner.example/oauth/token")
            .http_method(ConnectionOAuthHttpMethod::Post)
            .o_auth_http_parameters(
                ConnectionHttpParameters::builder()
                    .body_parameters(
                        ConnectionBodyParameter::builder()
                            .key("audience")
                            .value("orders")
                            .is_value_secret(false)
                            .build(),
                    )
                    .build(),
            )
            .build()
            .unwrap();
        ev.create_connection()
            .name("partner-oauth")
            .authorization_type(ConnectionAuthorizationType::OauthClientCredentials)
            .auth_parameters(
                CreateConnectionAuthRequestParameters::builder()
                    .o_auth_parameters(oauth)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let elsewhere_arn = ev
            .create_connection()
            .name("elsewhere")
            .authorization_type(ConnectionAuthorizationType::Basic)
            .auth_parameters(basic("basic-password-value"))
            .send()
            .await
            .unwrap()
            .connection_arn
            .unwrap();
        let acme_arn = ev
            .describe_connection()
            .name("acme-orders-api")
            .send()
            .await
            .unwrap()
            .connection_arn
            .unwrap();
        for (name, arn, rate) in [
            ("acme-orders", &acme_arn, Some(50)),
            ("audit-feed", &elsewhere_arn, None),
        ] {
            ev.create_api_destination()
                .name(name)
                .description(format!("{name} by hand"))
                .connection_arn(arn)
                .invocation_endpoint(format!("https://api.example.com/{name}"))
                .http_method(events::types::ApiDestinationHttpMethod::Post)
                .set_invocation_rate_limit_per_second(rate)
                .send()
                .await
                .unwrap();
        }
        let as2 = tr
            .create_connector()
            .url("https://as2.partner.example/as2")
            .access_role("arn:aws:iam::111122223333:role/TransferConnector")
            .as2_config(
                As2ConnectorConfig::builder()
                    .local_profile_id("p-0123456789abcdef0")
                    .partner_profile_id("p-0fedcba9876543210")
                    .message_subject("Invoices")
                    .compression(transfer::types::CompressionEnum::Zlib)
                    .encryption_algorithm(transfer::types::EncryptionAlg::Aes256Cbc)
                    .signing_algorithm(transfer::types::SigningAlg::Sha256)
                    .mdn_signing_algorithm(transfer::types::MdnSigningAlg::Default)
                    .mdn_response(transfer::types::MdnResponse::Sync)
                    .build(),
            )
            .tags(Tag::builder().key("team").value("edi").build().unwrap())
            .send()
            .await
            .unwrap()
            .connector_id;
        let sftp = tr
            .create_connector()
            .url("sftp://sftp.partner.example")
            .access_role("arn:aws:iam::111122223333:role/TransferConnector")
            .sftp_config(
                SftpConnectorConfig::builder()
                    .user_secret_id(
                        "arn:aws:secretsmanager:eu-west-1:111122223333:secret:sftp-user-AbCdEf",
                    )
                    .trusted_host_keys("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyForTests")
                    .max_concurrent_connections(2)
                    .build(),
            )
            .tags(
                Tag::builder()
                    .key("outbound:name")
                    .value("partner-sftp")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap()
            .connector_id;
        HandMade {
            elsewhere_arn,
            as2,
            sftp,
        }
    })
}

/// Every resource of the region as the SDK describes it, field by field (`Debug` of each
/// member), keyed `"<resource> <field>"`. Tags are returned apart.
fn describe_all(
    region: &str,
    hand: &HandMade,
) -> (BTreeMap<String, String>, BTreeMap<String, Vec<String>>) {
    let (ev, tr, rt) = sdk(region);
    rt.block_on(async {
        let mut fields = BTreeMap::new();
        let mut put = |resource: &str, members: Vec<(&str, &dyn std::fmt::Debug)>| {
            for (member, value) in members {
                fields.insert(format!("{resource} {member}"), format!("{value:?}"));
            }
        };
        for name in ["acme-orders-api", "partner-oauth", "elsewhere"] {
            let o = ev.describe_connection().name(name).send().await.unwrap();
            put(
                name,
                vec![
                    ("arn", &o.connection_arn),
                    ("description", &o.description),
                    ("state", &o.connection_state),
                    ("stateReason", &o.state_reason),
                    ("authorizationType", &o.authorization_type),
                    ("secretArn", &o.secret_arn),
                    ("authParameters", &o.auth_parameters),
                    ("creationTime", &o.creation_time),
                    ("lastModifiedTime", &o.last_modified_time),
                ],
            );
        }
        for name in ["acme-orders", "audit-feed"] {
            let o = ev
                .describe_api_destination()
                .name(name)
                .send()
                .await
                .unwrap();
            put(
                name,
                vec![
                    ("arn", &o.api_destination_arn),
                    ("description", &o.description),
                    ("state", &o.api_destination_state),
                    ("connectionArn", &o.connection_arn),
                    ("endpoint", &o.invocation_endpoint),
                    ("httpMethod", &o.http_method),
                    ("rate", &o.invocation_rate_limit_per_second),
                    ("creationTime", &o.creation_time),
                    ("lastModifiedTime", &o.last_modified_time),
                ],
            );
        }
        let mut tags = BTreeMap::new();
        for id in [&hand.as2, &hand.sftp] {
            let mut c = tr
                .describe_connector()
                .connector_id(id)
                .send()
                .await
                .unwrap()
                .connector
                .unwrap();
            let mut t: Vec<String> = c
                .tags
                .take()
                .unwrap_or_default()
                .iter()
                .map(|t| format!("{}={}", t.key(), t.value()))
                .collect();
            t.sort();
            tags.insert(id.clone(), t);
            put(id, vec![("everything but tags", &c)]);
        }
        (fields, tags)
    })
}

/// The environment variables the imported manifests name, with the values AWS holds.
fn secret_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("OUTBOUND_ACME_ORDERS_API_API_KEY_VALUE", CANARY),
        ("OUTBOUND_ACME_ORDERS_API_HEADER_X_SIGNATURE", SIGNATURE),
        ("OUTBOUND_PARTNER_OAUTH_CLIENT_SECRET", CLIENT_SECRET),
    ]
}

/// `outbound ARGS` with the imported secrets set: no secret (the canary included) may be in
/// its output.
fn run_with_secrets(p: &Project, args: &[&str]) -> Run {
    p.run_with_env(args, &secret_env())
}

/// Snapshots `text` with the project's redactions and state lineages (UUIDs) replaced.
fn snapshot(p: &Project, name: &str, text: &str) {
    let mut redactions = p.redactions();
    redactions.push((
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}".to_owned(),
        "[lineage]",
    ));
    insta::with_settings!({
        omit_expression => true,
        filters => redactions.iter().map(|(regex, to)| (regex.as_str(), *to)),
    }, {
        insta::assert_snapshot!(name, text);
    });
}

/// The files in `dir`, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Operations the proxy recorded in the region, counted.
fn counted(p: &Project) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for op in p.operations() {
        *counts.entry(op).or_default() += 1;
    }
    counts
}

#[allow(
    clippy::too_many_lines,
    reason = "one scenario end to end, read top to bottom"
)]
/// Issue 15 item 9: import -> manifests marked `adopt`, the state untouched -> plan shows
/// `adopt` -> apply records it (sending the secrets once, adding the tags) -> plan empty.
#[test]
fn import_round_trip_changes_aws_only_by_the_secrets_sent_and_the_tags() {
    let p = Project::new();
    let hand = make_by_hand(&p.region);
    // An OAuth connection is AUTHORIZING at first (docs/testing.md); the emulator settles
    // it after one Describe, as AWS does after a while: compare settled resources only.
    describe_all(&p.region, &hand);
    let (before, tags_before) = describe_all(&p.region, &hand);

    // 1. Import: the two connections by name, then everything else this state does not
    //    manage. Only reads reach AWS.
    support::moto().forget_calls(&p.region);
    let first = p.run(&[
        "import",
        "Connection/acme-orders-api",
        "Connection/partner-oauth",
    ]);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    let all = p.run(&[
        "import",
        "--all",
        "--yes",
        "--kind",
        "ApiDestination",
        "--kind",
        "Connector",
    ]);
    assert_eq!(all.code, 0, "{}\n{}", all.stdout, all.stderr);
    let calls = counted(&p);
    assert!(
        calls.keys().all(|op| op.starts_with("List")
            || op.starts_with("Describe")
            || op == "ListTagsForResource"
            || op == "GetCallerIdentity"),
        "import changed AWS: {calls:?}"
    );
    assert_eq!(
        calls,
        BTreeMap::from([
            // The account guard, once per run.
            ("GetCallerIdentity".to_owned(), 2),
            ("DescribeApiDestination".to_owned(), 2),
            ("DescribeConnection".to_owned(), 2),
            ("DescribeConnector".to_owned(), 2),
            ("ListApiDestinations".to_owned(), 1),
            ("ListConnectors".to_owned(), 1),
        ])
    );
    // The state is left alone: the adoption is reviewed in the next plan.
    assert!(!p.state_path().exists(), "import wrote a state");
    // The secrets to set are listed at the end, on stderr.
    let listed = first.stderr[first.stderr.find("Set these").unwrap()..].to_owned();
    for (env, _) in secret_env() {
        assert!(listed.contains(env), "{env} not listed:\n{}", first.stderr);
    }
    snapshot(
        &p,
        "import-stdout.txt",
        &format!("{}{}", first.stdout, all.stdout),
    );
    snapshot(&p, "import-stderr.txt", &first.stderr);

    // 2. The manifests: one file per resource, deterministic, valid.
    let dir = p.dir.path().join("manifests/imported");
    let names = files(&dir);
    assert_eq!(names.len(), 6, "{names:?}");
    let mut manifests = String::new();
    for name in &names {
        manifests.push_str(&format!("--- {name}\n"));
        manifests.push_str(&std::fs::read_to_string(dir.join(name)).unwrap());
    }
    assert!(
        manifests.contains("  connection: acme-orders-api\n"),
        "{manifests}"
    );
    assert!(
        manifests.contains(&format!("  connectionArn: {}\n", hand.elsewhere_arn)),
        "{manifests}"
    );
    snapshot(&p, "imported-manifests.yaml", &manifests);
    let validate = run_with_secrets(&p, &["validate"]);
    assert_eq!(validate.code, 0, "{}\n{}", validate.stdout, validate.stderr);

    // 3. The plan: six adoptions, only the labelled secret sends and the connector tag
    //    additions as changes.
    let plan = run_with_secrets(&p, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains(
            "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete, 6 to adopt; 0 unchanged."
        ),
        "{}",
        plan.stdout
    );
    snapshot(&p, "plan-after-import.txt", &plan.stdout);
    let json: serde_json::Value =
        serde_json::from_str(&run_with_secrets(&p, &["plan", "--format", "json"]).stdout).unwrap();
    assert_eq!(json["summary"]["adopt"], 6, "{json}");
    let reasons: BTreeMap<String, String> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "adopt" && c["fields"] != serde_json::json!([]))
        .map(|c| {
            (
                c["address"].as_str().unwrap().to_owned(),
                c["reasons"].to_string(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        BTreeMap::from([
            (
                "Connection/acme-orders-api".to_owned(),
                r#"["secrets-never-sent"]"#.to_owned()
            ),
            (
                "Connection/partner-oauth".to_owned(),
                r#"["secrets-never-sent"]"#.to_owned()
            ),
            (
                format!("Connector/{}", hand.as2),
                r#"["ownership-tags"]"#.to_owned()
            ),
            (
                "Connector/partner-sftp".to_owned(),
                r#"["ownership-tags"]"#.to_owned()
            ),
        ])
    );

    // 4. Apply: the secrets sent once, the tags added, all six recorded; then nothing to do
    //    (the `adopt` markers left in the manifests change nothing).
    support::moto().forget_calls(&p.region);
    let apply = run_with_secrets(&p, &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert_eq!(
        p.managed(),
        [
            "ApiDestination/acme-orders",
            "ApiDestination/audit-feed",
            "Connection/acme-orders-api",
            "Connection/partner-oauth",
            format!("Connector/{}", hand.as2).as_str(),
            "Connector/partner-sftp",
        ]
    );
    let mut mutations = p.mutations();
    mutations.sort();
    assert_eq!(
        mutations,
        [
            "TagResource",
            "TagResource",
            "UpdateConnection",
            "UpdateConnection"
        ]
    );
    let again = run_with_secrets(&p, &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);
    assert!(
        !std::fs::read_to_string(p.state_path())
            .unwrap()
            .contains("\"imported\""),
        "the first apply clears the import flag"
    );

    // 5. AWS unchanged but for the two connections' modification times and the tags.
    let (after, tags_after) = describe_all(&p.region, &hand);
    let differing: Vec<&String> = before
        .keys()
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert_eq!(
        differing,
        [
            "acme-orders-api lastModifiedTime",
            "partner-oauth lastModifiedTime"
        ],
        "before: {before:#?}\nafter: {after:#?}"
    );
    let lineage = p.state()["lineage"].as_str().unwrap().to_owned();
    for (id, name) in [(&hand.as2, hand.as2.as_str()), (&hand.sftp, "partner-sftp")] {
        let mut want = tags_before[id].clone();
        want.retain(|t| !t.starts_with("outbound:"));
        want.push(format!("outbound:lineage={lineage}"));
        want.push(format!("outbound:name={name}"));
        want.sort();
        assert_eq!(tags_after[id], want, "tags of {id}");
    }

    // 6. A second state's `import --all` in the same account and region: the connectors are
    //    the first state's (their lineage tag says so) and are left out; connections and
    //    destinations carry no tags, so outbound cannot tell whether another state manages
    //    them: it lists them and, without a terminal, refuses unless `--yes`.
    let second = Project::in_region(p.region.clone());
    let refused = second.run(&["import", "--all"]);
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused
            .stderr
            .contains("cannot tell whether another state manages")
            && refused.stderr.contains("  Connection/elsewhere\n")
            && refused.stderr.contains("--yes"),
        "{}",
        refused.stderr
    );
    assert!(!second.dir.path().join("manifests/imported").exists());
    assert!(!second.state_path().exists());
    let run = second.run(&["import", "--all", "--yes"]);
    assert_eq!(
        run.code, 0,
        "{}
{}",
        run.stdout, run.stderr
    );
    assert_eq!(
        files(&second.dir.path().join("manifests/imported")),
        [
            "apidestination-acme-orders.yaml",
            "apidestination-audit-feed.yaml",
            "connection-acme-orders-api.yaml",
            "connection-elsewhere.yaml",
            "connection-partner-oauth.yaml",
        ]
    );
    assert!(!second.state_path().exists(), "import wrote a state");
    for id in [&hand.as2, &hand.sftp] {
        assert!(
            run.stderr.contains(&format!("connector {id}")) && run.stderr.contains(&lineage),
            "{}",
            run.stderr
        );
    }
    let audit = std::fs::read_to_string(
        second
            .dir
            .path()
            .join("manifests/imported/apidestination-audit-feed.yaml"),
    )
    .unwrap();
    assert!(audit.contains("  connection: elsewhere\n"), "{audit}");
    // Deterministic: the same resource in AWS gives the same bytes, run after run.
    for file in [
        "connection-acme-orders-api.yaml",
        "connection-partner-oauth.yaml",
        "apidestination-acme-orders.yaml",
    ] {
        let read = |q: &Project| {
            std::fs::read(q.dir.path().join("manifests/imported").join(file)).unwrap()
        };
        assert_eq!(
            read(&p),
            read(&second),
            "{file} differs between two imports"
        );
    }
}

#[test]
fn a_connector_of_another_state_is_refused_unless_forced() {
    let p = Project::new();
    let (_, tr, rt) = sdk(&p.region);
    let other = "7d3c1f9e-0000-4000-8000-000000000001";
    let id = rt.block_on(async {
        tr.create_connector()
            .url("https://as2.other.example/as2")
            .access_role("arn:aws:iam::111122223333:role/TransferConnector")
            .as2_config(
                As2ConnectorConfig::builder()
                    .local_profile_id("p-0123456789abcdef0")
                    .partner_profile_id("p-0fedcba9876543210")
                    .build(),
            )
            .tags(
                Tag::builder()
                    .key("outbound:name")
                    .value("theirs")
                    .build()
                    .unwrap(),
            )
            .tags(
                Tag::builder()
                    .key("outbound:lineage")
                    .value(other)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap()
            .connector_id
    });
    let named = format!("Connector/theirs={id}");
    let refused = p.run(&["import", &named]);
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains(other) && refused.stderr.contains("--force"),
        "{}",
        refused.stderr
    );
    assert!(!p.state_path().exists(), "no state written");
    assert!(!p.dir.path().join("manifests/imported").exists());

    // --all leaves it out, saying why.
    let all = p.run(&["import", "--all"]);
    assert_eq!(all.code, 0, "{}\n{}", all.stdout, all.stderr);
    assert!(
        all.stderr.contains(&id) && all.stderr.contains(other),
        "{}",
        all.stderr
    );
    assert!(all.stderr.contains("Nothing to import"), "{}", all.stderr);

    // Forced: taken over; the next plan re-tags it with this state's lineage.
    let forced = p.run(&["import", "--force", &named]);
    assert_eq!(forced.code, 0, "{}\n{}", forced.stdout, forced.stderr);
    assert!(!p.state_path().exists(), "the next plan adopts it");
    let plan = p.plan();
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains(&format!("tags.outbound:lineage: \"{other}\" -> ")),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("tags.outbound:name"),
        "{}",
        plan.stdout
    );
    p.apply();
    p.assert_no_changes();

    // Now it is this state's: importing it again, under any name, is refused.
    let again = p.run(&["import", &named]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("already managed"), "{}", again.stderr);
    let renamed = p.run(&["import", &format!("Connector/mine={id}")]);
    assert_eq!(renamed.code, 1);
    assert!(
        renamed
            .stderr
            .contains("is already managed by this state as Connector/theirs"),
        "{}",
        renamed.stderr
    );
    assert_eq!(p.managed(), ["Connector/theirs"]);
}

#[test]
fn unknown_resources_bad_addresses_and_existing_files_write_nothing() {
    let p = Project::new();
    for args in [
        &["import", "Connection/nope"][..],
        &["import", "Conection/acme"],
        &["import", "Connection/acme=c-0123456789abcdef0"],
        &["import", "Connector/ghost=c-0123456789abcdef0"],
        &["import", "Connector/untagged"],
    ] {
        let run = p.run(args);
        assert_eq!(run.code, 1, "{args:?}:\n{}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("error:"), "{args:?}: {}", run.stderr);
        assert!(!p.state_path().exists(), "{args:?} wrote a state");
        assert!(
            !p.dir.path().join("manifests/imported").exists(),
            "{args:?} wrote manifests"
        );
    }
    let run = p.run(&["import", "Connection/nope"]);
    assert!(
        run.stderr.contains("Connection/nope does not exist in AWS"),
        "{}",
        run.stderr
    );
    // A writer holds the lock: `import --write-state` waits for no one and reads nothing
    // (after the guard).
    let lock = p.dir.path().join("state.json.lock");
    // Held by a process of another host: never stale, never taken over.
    let holder = r#"{"id":"held-by-another-run","holder":"ci","host":"another-host","pid":1,"operation":"apply","since":"2026-01-01T00:00:00Z"}"#;
    std::fs::write(&lock, holder).unwrap();
    support::moto().forget_calls(&p.region);
    let run = p.run(&["import", "--all", "--write-state"]);
    std::fs::remove_file(&lock).unwrap();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("is locked by"), "{}", run.stderr);
    assert_eq!(
        p.operations(),
        ["GetCallerIdentity"],
        "the account guard's call only"
    );

    // An existing file is not overwritten without --force.
    let (ev, _, rt) = sdk(&p.region);
    rt.block_on(async {
        ev.create_connection()
            .name("acme")
            .authorization_type(ConnectionAuthorizationType::ApiKey)
            .auth_parameters(api_key().build())
            .send()
            .await
            .unwrap();
    });
    let file = p.dir.path().join("manifests/imported/connection-acme.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "# mine\n").unwrap();
    let run = p.run(&["import", "Connection/acme"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "# mine\n");
    assert!(!p.state_path().exists());

    // --write-state: recorded at once, for a state only this user has.
    let run = p.run(&["import", "--force", "--write-state", "Connection/acme"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("fromEnv: OUTBOUND_ACME_API_KEY_VALUE")
    );
    assert_eq!(p.managed(), ["Connection/acme"]);
    assert_eq!(p.state()["resources"]["Connection/acme"]["imported"], true);
    let again = p.run(&["import", "Connection/acme"]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("already managed"), "{}", again.stderr);
}

#[test]
fn ownership_tags_removed_outside_outbound_are_drift_and_restored() {
    let p = Project::new();
    p.write(
        "as2.yaml",
        &support::project::connector("acme-as2", "Invoices"),
    );
    p.apply();
    let id = p.connector_id("acme-as2");
    let arn = p.state()["resources"]["Connector/acme-as2"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    support::project::outside(&p.region, async |aws| {
        aws.untag_connector(&arn.into(), &["outbound:lineage".to_owned()])
            .await
            .unwrap()
    });
    let plan = p.plan();
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains("Connector/acme-as2 will be updated in place (revert drift)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("+ tags.outbound:lineage: (unset) -> ")
            && plan.stdout.contains("# drift"),
        "{}",
        plan.stdout
    );
    support::moto().forget_calls(&p.region);
    p.apply();
    assert_eq!(p.mutations(), ["TagResource"]);
    assert_eq!(p.connector_id("acme-as2"), id);
    p.assert_no_changes();
}

#[test]
fn a_deauthorized_connection_is_imported_as_it_is_and_left_alone() {
    let p = Project::new();
    let (ev, _, rt) = sdk(&p.region);
    rt.block_on(async {
        ev.create_connection()
            .name("paused")
            .authorization_type(ConnectionAuthorizationType::Basic)
            .auth_parameters(basic(CANARY))
            .send()
            .await
            .unwrap();
        ev.deauthorize_connection()
            .name("paused")
            .send()
            .await
            .unwrap();
    });
    let run = p.run(&["import", "Connection/paused"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let yaml = std::fs::read_to_string(
        p.dir
            .path()
            .join("manifests/imported/connection-paused.yaml"),
    )
    .unwrap();
    assert!(yaml.contains("  deauthorized: true\n"), "{yaml}");
    // Its secret need not be set: a deauthorized connection's secrets are not resolved. The
    // plan adopts it with nothing to change; apply only records it.
    support::moto().forget_calls(&p.region);
    let plan = p.plan();
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains("Connection/paused will be adopted (recorded in the state)"),
        "{}",
        plan.stdout
    );
    p.apply();
    assert_eq!(p.managed(), ["Connection/paused"]);
    p.assert_no_changes();
    assert!(p.mutations().is_empty(), "{:?}", p.mutations());
}

/// Issue 15 item 9: an adoption goes through a saved plan too (`plan --out`, `apply --plan`),
/// and a manifest whose marker is changed to set another description adopts with that one
/// change; the Markdown plan shows the `adopt` action.
#[test]
fn an_adoption_is_saved_reviewed_and_applied_from_the_plan_file() {
    let p = Project::new();
    let (ev, _, rt) = sdk(&p.region);
    rt.block_on(async {
        ev.create_connection()
            .name("acme")
            .description("Made by hand")
            .authorization_type(ConnectionAuthorizationType::ApiKey)
            .auth_parameters(api_key().build())
            .send()
            .await
            .unwrap();
    });
    let run = p.run(&["import", "Connection/acme"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let file = p.dir.path().join("manifests/imported/connection-acme.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    assert!(
        yaml.contains("metadata:\n  name: acme\n  adopt: true\n"),
        "{yaml}"
    );
    std::fs::write(&file, yaml.replace("Made by hand", "Orders")).unwrap();
    let env = [("OUTBOUND_ACME_API_KEY_VALUE", CANARY)];

    let markdown = p.run_with_env(&["plan", "--format", "markdown"], &env);
    assert_eq!(markdown.code, 0, "{}", markdown.stderr);
    assert!(
        markdown.stdout.contains("1 to adopt") && markdown.stdout.contains("adopt"),
        "{}",
        markdown.stdout
    );
    let plan_file = p.dir.path().join("plan.json");
    let plan = p.run_with_env(
        &[
            "plan",
            "--out",
            plan_file.to_str().unwrap(),
            "--detailed-exitcode",
        ],
        &env,
    );
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains("Connection/acme will be adopted (recorded in the state)")
            && plan.stdout.contains("\"Made by hand\" -> \"Orders\""),
        "{}",
        plan.stdout
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    assert_eq!(saved["changes"][0]["action"], "adopt", "{saved}");
    assert!(!p.state_path().exists(), "plan wrote a state");

    support::moto().forget_calls(&p.region);
    let apply = p.run_with_env(&["apply", "--plan", plan_file.to_str().unwrap()], &env);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert_eq!(p.mutations(), ["UpdateConnection"]);
    assert_eq!(p.managed(), ["Connection/acme"]);
    for out in [&apply.stdout, &apply.stderr, &plan.stdout, &plan.stderr] {
        assert!(!out.contains(CANARY));
    }
    let again = p.run_with_env(&["plan", "--detailed-exitcode"], &env);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    let described =
        rt.block_on(async { ev.describe_connection().name("acme").send().await.unwrap() });
    assert_eq!(described.description(), Some("Orders"));
}

/// Issue 15 item 9: a marker whose resource AWS does not have is a clear error, and nothing is
/// created; a connector's marker names its id.
#[test]
fn an_adopt_marker_without_its_resource_in_aws_is_an_error() {
    let p = Project::new();
    p.write(
        "c.yaml",
        &support::project::connection("ghost", "Orders").replace(
            "metadata: { name: ghost }",
            "metadata: { name: ghost, adopt: true }",
        ),
    );
    p.write(
        "as2.yaml",
        &support::project::connector("edi", "Invoices").replace(
            "metadata: { name: edi }",
            "metadata: { name: edi, adopt: c-0123456789abcdef0 }",
        ),
    );
    let plan = p.run_with_env(&["plan"], &[("ACME_API_KEY", CANARY)]);
    assert_eq!(plan.code, 1, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stderr.contains(
            "2 marked `metadata.adopt` but not found in AWS: Connection/ghost, Connector/edi"
        ),
        "{}",
        plan.stderr
    );
    let apply = p.run_with_env(&["apply", "--auto-approve"], &[("ACME_API_KEY", CANARY)]);
    assert_eq!(apply.code, 1, "{}\n{}", apply.stdout, apply.stderr);
    assert!(p.mutations().is_empty(), "{:?}", p.mutations());
    assert!(!p.state_path().exists());
}
