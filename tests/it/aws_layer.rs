//! The AWS layer (`outbound::aws`) against the moto emulator, through the real SDK clients:
//! round trips in manifest shape, updates and clear encodings read back, deletes, lists,
//! error classes, redaction, and the call counts.

use crate::support;

use std::collections::BTreeMap;

use aws_smithy_types::date_time::{DateTime, Format};
use serde_json::{Value, json};

use crate::support::moto;
use outbound::aws::events::Secrets;
use outbound::aws::{Aws, AwsError, AwsOptions, ErrorClass, Live};
use outbound::manifest::secret::SecretRef;
use outbound::resource::{
    ApiDestinationSpec, Arn, ConnectionSpec, ConnectorId, ConnectorSpec, FieldPath,
};

// ---- helpers --------------------------------------------------------------------------

/// The AWS layer for `region`, through the proxy, with dummy credentials; `redact` are the
/// secrets to scrub from errors.
async fn aws(region: &str, redact: &[String]) -> Aws {
    connect(&support::aws_options(region), redact).await
}

async fn connect(options: &AwsOptions, redact: &[String]) -> Aws {
    Aws::connect_with_credentials(
        options,
        support::ACCESS_KEY_ID,
        support::SECRET_ACCESS_KEY,
        redact.to_vec(),
    )
    .await
    .expect("connect")
}

fn connection(v: Value) -> ConnectionSpec {
    serde_json::from_value(v).expect("a ConnectionSpec")
}

fn destination(v: Value) -> ApiDestinationSpec {
    serde_json::from_value(v).expect("an ApiDestinationSpec")
}

fn connector(v: Value) -> ConnectorSpec {
    serde_json::from_value(v).expect("a ConnectorSpec")
}

/// Resolved secrets for every reference in `spec` (`s3cr3t-<tag>-<n>`, through real files),
/// and their values for redaction.
fn resolve(spec: &ConnectionSpec, tag: &str) -> (Secrets, Vec<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut map = Secrets::new();
    let mut values = Vec::new();
    for (n, (pointer, _, _)) in spec.secrets().into_iter().enumerate() {
        let value = format!("s3cr3t-{tag}-{n}");
        let file = dir.path().join(format!("{n}.txt"));
        std::fs::write(&file, format!("{value}\n")).expect("write secret");
        let resolved = SecretRef::FromFile(file)
            .resolve(dir.path())
            .expect("resolve");
        map.insert(pointer, resolved);
        values.push(value);
    }
    (map, values)
}

/// `spec` as AWS shows it: every secret reference becomes `{"$sensitive": true}`.
fn hidden(spec: Value) -> Value {
    match spec {
        Value::Object(o) if o.contains_key("fromEnv") || o.contains_key("fromFile") => {
            json!({"$sensitive": true})
        }
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, hidden(v))).collect()),
        Value::Array(a) => Value::Array(a.into_iter().map(hidden).collect()),
        other => other,
    }
}

fn counts(aws: &Aws) -> Vec<(&'static str, usize)> {
    aws.calls.counts().into_iter().collect()
}

fn time(live: &Live) -> DateTime {
    let text = live.last_modified.as_deref().expect("last_modified");
    DateTime::from_str(text, Format::DateTime)
        .unwrap_or_else(|e| panic!("{text} is not RFC 3339: {e}"))
}

fn assert_class(err: &AwsError, class: ErrorClass, code: Option<&str>) {
    assert_eq!((err.class, err.code.as_deref()), (class, code), "{err}");
}

fn api_key_connection() -> Value {
    json!({
        "description": "Orders API at Acme",
        "authorizationType": "API_KEY",
        "authParameters": {
            "apiKeyAuthParameters": {"apiKeyName": "x-api-key", "apiKeyValue": {"fromEnv": "ACME_API_KEY"}},
            "invocationHttpParameters": {
                "headerParameters": [
                    {"key": "X-Env", "value": "prod"},
                    {"key": "X-Signature", "value": {"fromEnv": "ACME_SIG"}}
                ],
                "queryStringParameters": [{"key": "tenant", "value": "acme"}],
                "bodyParameters": [{"key": "token", "value": {"fromFile": "token.txt"}}]
            }
        }
    })
}

const ROLE: &str = "arn:aws:iam::111122223333:role/TransferConnector";
const LOGGING_ROLE: &str = "arn:aws:iam::111122223333:role/TransferLogging";

fn as2_connector() -> Value {
    json!({
        "url": "https://as2.acme.example/as2",
        "accessRole": ROLE,
        "loggingRole": LOGGING_ROLE,
        "as2Config": {
            "localProfileId": "p-0123456789abcdef0",
            "partnerProfileId": "p-0fedcba987654321f",
            "messageSubject": "Invoices",
            "compression": "ZLIB",
            "encryptionAlgorithm": "AES256_CBC",
            "signingAlgorithm": "SHA256",
            "mdnSigningAlgorithm": "SHA512",
            "mdnResponse": "ASYNC",
            "basicAuthSecretId": "arn:aws:secretsmanager:us-east-1:111122223333:secret:as2-basic",
            "preserveContentType": "ENABLED",
            "asyncMdnConfig": {"url": "https://mdn.example.com/as2", "serverIds": ["s-0123456789abcdef0"]}
        },
        "tags": {"team": "edi", "cost-center": "42"}
    })
}

fn sftp_connector() -> Value {
    json!({
        "url": "sftp://sftp.acme.example",
        "accessRole": ROLE,
        "sftpConfig": {
            "userSecretId": "arn:aws:secretsmanager:us-east-1:111122223333:secret:sftp-user",
            "trustedHostKeys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKey"],
            "maxConcurrentConnections": 3
        },
        "securityPolicyName": "TransferSFTPConnectorSecurityPolicy-2024-03",
        "egressConfig": {"vpcLattice": {
            "resourceConfigurationArn": "arn:aws:vpc-lattice:us-east-1:111122223333:resourceconfiguration/rcfg-0123456789abcdef0",
            "portNumber": 2222
        }},
        "ipAddressType": "DUALSTACK"
    })
}

// ---- connections ----------------------------------------------------------------------

#[tokio::test]
async fn connection_round_trip_shows_the_manifest_shape_with_secrets_hidden() {
    let region = support::region();
    let manifest = api_key_connection();
    let spec = connection(manifest.clone());
    let (secrets, values) = resolve(&spec, "rt");
    let aws = aws(&region, &values).await;

    let arn = aws
        .create_connection("acme-orders-api", &spec, &secrets)
        .await
        .unwrap()
        .arn;
    assert!(
        arn.as_str().starts_with(&format!(
            "arn:aws:events:{region}:{}:connection/acme-orders-api/",
            support::ACCOUNT
        )),
        "{arn}"
    );
    let live = aws
        .describe_connection("acme-orders-api")
        .await
        .unwrap()
        .expect("created");

    assert_eq!(live.id, "acme-orders-api");
    assert_eq!(live.arn, arn);
    assert_eq!(live.spec, hidden(manifest));
    assert_eq!(live.status.as_deref(), Some("AUTHORIZED"));
    assert_eq!(live.status_reason, None);
    assert!(live.tags.is_empty());
    time(&live);
    let shown = format!("{live:?}");
    assert!(
        values.iter().all(|v| !shown.contains(v.as_str())),
        "a secret leaked: {shown}"
    );

    assert_eq!(
        counts(&aws),
        [("CreateConnection", 1), ("DescribeConnection", 1)]
    );
    assert_eq!(
        moto().operations(&region),
        ["CreateConnection", "DescribeConnection"]
    );
}

#[tokio::test]
async fn basic_and_oauth_connections_round_trip() {
    let region = support::region();
    let basic = json!({
        "authorizationType": "BASIC",
        "authParameters": {"basicAuthParameters": {"username": "svc", "password": {"fromFile": "acme.pw"}}}
    });
    let oauth = json!({
        "description": "token flow",
        "authorizationType": "OAUTH_CLIENT_CREDENTIALS",
        "authParameters": {
            "oAuthParameters": {
                "clientParameters": {"clientID": "abc", "clientSecret": {"fromEnv": "ACME_CLIENT_SECRET"}},
                "authorizationEndpoint": "https://auth.acme.example/oauth/token",
                "httpMethod": "POST",
                "oAuthHttpParameters": {
                    "bodyParameters": [{"key": "grant_type", "value": "client_credentials"}],
                    "headerParameters": [{"key": "X-Audience", "value": {"fromEnv": "AUD"}}]
                }
            },
            "invocationHttpParameters": {"queryStringParameters": [{"key": "v", "value": "2"}]}
        }
    });
    for (name, manifest) in [("basic", basic), ("oauth", oauth)] {
        let spec = connection(manifest.clone());
        let (secrets, values) = resolve(&spec, name);
        let aws = aws(&region, &values).await;
        aws.create_connection(name, &spec, &secrets).await.unwrap();
        let live = aws
            .describe_connection(name)
            .await
            .unwrap()
            .expect("created");
        assert_eq!(live.spec, hidden(manifest), "{name}");
        // As AWS recorded it: BASIC is AUTHORIZED at once; OAuth is still AUTHORIZING at the
        // Describe right after its creation (the emulator settles it at the next one).
        let first = if name == "oauth" {
            "AUTHORIZING"
        } else {
            "AUTHORIZED"
        };
        assert_eq!(live.status.as_deref(), Some(first), "{name}");
        let again = aws
            .describe_connection(name)
            .await
            .unwrap()
            .expect("created");
        assert_eq!(again.status.as_deref(), Some("AUTHORIZED"), "{name}");
    }
}

#[tokio::test]
async fn connection_update_sends_the_spec_and_clears_removed_fields() {
    let region = support::region();
    let spec = connection(api_key_connection());
    let (secrets, values) = resolve(&spec, "up");
    let aws = aws(&region, &values).await;
    aws.create_connection("c", &spec, &secrets).await.unwrap();
    let before = aws.describe_connection("c").await.unwrap().unwrap();

    // The description, the query-string and the body parameters leave the manifest; the diff
    // names the parameter block (its lists are re-sent whole).
    let changed = json!({
        "authorizationType": "API_KEY",
        "authParameters": {
            "apiKeyAuthParameters": {"apiKeyName": "x-api-key-2", "apiKeyValue": {"fromEnv": "ACME_API_KEY"}},
            "invocationHttpParameters": {
                "headerParameters": [
                    {"key": "X-Env", "value": "staging"},
                    {"key": "X-Trace", "value": {"fromEnv": "TRACE"}}
                ]
            }
        }
    });
    let spec = connection(changed.clone());
    let (secrets, _) = resolve(&spec, "up2");
    let clear = [
        FieldPath::from_pointer("/spec/description"),
        FieldPath::from_pointer("/spec/authParameters/invocationHttpParameters"),
    ];
    aws.update_connection("c", &spec, &secrets, &clear)
        .await
        .unwrap();
    let after = aws.describe_connection("c").await.unwrap().unwrap();
    assert_eq!(after.spec, hidden(changed));
    assert!(
        time(&after) > time(&before),
        "LastModifiedTime moves on update"
    );

    // The whole block removed: every list is sent empty.
    let bare = json!({
        "authorizationType": "API_KEY",
        "authParameters": {"apiKeyAuthParameters": {"apiKeyName": "x-api-key-2", "apiKeyValue": {"fromEnv": "K"}}}
    });
    let spec = connection(bare.clone());
    let (secrets, _) = resolve(&spec, "up3");
    aws.update_connection(
        "c",
        &spec,
        &secrets,
        &[FieldPath::from_pointer(
            "/spec/authParameters/invocationHttpParameters",
        )],
    )
    .await
    .unwrap();
    assert_eq!(
        aws.describe_connection("c").await.unwrap().unwrap().spec,
        hidden(bare)
    );
    assert_eq!(aws.calls.counts()["UpdateConnection"], 2);
}

#[tokio::test]
async fn connection_type_change_drops_the_old_block() {
    let region = support::region();
    let spec = connection(api_key_connection());
    let (secrets, values) = resolve(&spec, "tc");
    let aws = aws(&region, &values).await;
    aws.create_connection("c", &spec, &secrets).await.unwrap();

    let basic = json!({
        "authorizationType": "BASIC",
        "authParameters": {"basicAuthParameters": {"username": "svc", "password": {"fromEnv": "PW"}}}
    });
    let spec = connection(basic.clone());
    let (secrets, _) = resolve(&spec, "tc2");
    let clear = [
        FieldPath::from_pointer("/spec/description"),
        FieldPath::from_pointer("/spec/authParameters/apiKeyAuthParameters/apiKeyName"),
        FieldPath::from_pointer("/spec/authParameters/apiKeyAuthParameters/apiKeyValue"),
        FieldPath::from_pointer("/spec/authParameters/invocationHttpParameters"),
    ];
    aws.update_connection("c", &spec, &secrets, &clear)
        .await
        .unwrap();
    let live = aws.describe_connection("c").await.unwrap().unwrap();
    assert_eq!(live.spec, hidden(basic));
    assert_eq!(live.status.as_deref(), Some("AUTHORIZED"));
}

#[tokio::test]
async fn connection_requests_that_cannot_be_sent_fail_before_any_call() {
    let region = support::region();
    let spec = connection(api_key_connection());
    let aws = aws(&region, &[]).await;

    // A secret that was not resolved: named by pointer and reference, never by value.
    let (mut partial, _) = resolve(&spec, "ms");
    partial.remove("/spec/authParameters/invocationHttpParameters/headerParameters/1/value");
    let err = aws
        .create_connection("c", &spec, &partial)
        .await
        .unwrap_err();
    assert_class(&err, ErrorClass::Invalid, None);
    assert!(
        err.message
            .contains("/spec/authParameters/invocationHttpParameters/headerParameters/1/value")
            && err.message.contains("env ACME_SIG"),
        "{err}"
    );

    // A required field has no clear encoding.
    let (secrets, _) = resolve(&spec, "ms2");
    let clear = [FieldPath::from_pointer(
        "/spec/authParameters/apiKeyAuthParameters/apiKeyName",
    )];
    let err = aws
        .update_connection("c", &spec, &secrets, &clear)
        .await
        .unwrap_err();
    assert_class(&err, ErrorClass::Invalid, None);
    assert!(err.message.contains("cannot be cleared in place"), "{err}");

    assert_eq!(aws.calls.total(), 0);
    assert!(moto().calls(&region).is_empty());
}

#[tokio::test]
async fn deauthorize_then_update_authorizes_again() {
    let region = support::region();
    let spec = connection(api_key_connection());
    let (secrets, values) = resolve(&spec, "de");
    let aws = aws(&region, &values).await;
    aws.create_connection("c", &spec, &secrets).await.unwrap();

    aws.deauthorize_connection("c").await.unwrap();
    let live = aws.describe_connection("c").await.unwrap().unwrap();
    assert_eq!(live.status.as_deref(), Some("DEAUTHORIZED"));
    assert!(live.status_reason.is_some());
    assert_eq!(
        live.spec,
        hidden(api_key_connection()),
        "the non-secret parts stay"
    );

    aws.update_connection("c", &spec, &secrets, &[])
        .await
        .unwrap();
    let live = aws.describe_connection("c").await.unwrap().unwrap();
    assert_eq!(live.status.as_deref(), Some("AUTHORIZED"));
    assert_eq!(live.status_reason, None);
}

#[tokio::test]
async fn connections_list_across_pages_and_delete() {
    let region = support::region();
    moto().configure(&region, json!({"pageSize": 2}));
    let spec = connection(api_key_connection());
    let (secrets, values) = resolve(&spec, "ls");
    let aws = aws(&region, &values).await;
    for name in ["e", "b", "d", "a", "c"] {
        aws.create_connection(name, &spec, &secrets).await.unwrap();
    }

    assert_eq!(
        aws.list_connections().await.unwrap(),
        ["a", "b", "c", "d", "e"]
    );
    assert_eq!(aws.calls.counts()["ListConnections"], 3);

    aws.delete_connection("c").await.unwrap();
    assert_eq!(aws.describe_connection("c").await.unwrap(), None);
    let err = aws.delete_connection("c").await.unwrap_err();
    assert_class(
        &err,
        ErrorClass::NotFound,
        Some("ResourceNotFoundException"),
    );
    assert_eq!(err.operation, "DeleteConnection");
    assert_eq!(aws.list_connections().await.unwrap(), ["a", "b", "d", "e"]);
}

// ---- API destinations -----------------------------------------------------------------

#[tokio::test]
async fn api_destination_round_trip_update_and_clears() {
    let region = support::region();
    let spec = connection(api_key_connection());
    let (secrets, values) = resolve(&spec, "ad");
    let aws = aws(&region, &values).await;
    let connection_arn = aws
        .create_connection("acme-orders-api", &spec, &secrets)
        .await
        .unwrap()
        .arn;

    let manifest = json!({
        "description": "New orders to Acme",
        "connection": "acme-orders-api",
        "invocationEndpoint": "https://api.acme.example/v2/orders",
        "httpMethod": "POST",
        "invocationRateLimitPerSecond": 50
    });
    let arn = aws
        .create_api_destination("acme-orders", &destination(manifest), &connection_arn)
        .await
        .unwrap()
        .arn;
    let live = aws
        .describe_api_destination("acme-orders")
        .await
        .unwrap()
        .expect("created");
    assert_eq!(
        (live.id.as_str(), live.arn.as_str()),
        ("acme-orders", arn.as_str())
    );
    assert!(arn.as_str().starts_with(&format!(
        "arn:aws:events:{region}:{}:api-destination/acme-orders/",
        support::ACCOUNT
    )));
    assert_eq!(
        live.spec,
        json!({
            "description": "New orders to Acme",
            "connectionArn": connection_arn,
            "invocationEndpoint": "https://api.acme.example/v2/orders",
            "httpMethod": "POST",
            "invocationRateLimitPerSecond": 50
        })
    );
    assert_eq!(live.status.as_deref(), Some("ACTIVE"));
    let created = time(&live);

    let changed = destination(json!({
        "connectionArn": connection_arn,
        "invocationEndpoint": "https://api.acme.example/v3/orders",
        "httpMethod": "PUT"
    }));
    let clear = [
        FieldPath::from_pointer("/spec/description"),
        FieldPath::from_pointer("/spec/invocationRateLimitPerSecond"),
        FieldPath::from_pointer("/spec/connection"),
    ];
    aws.update_api_destination("acme-orders", &changed, &connection_arn, &clear)
        .await
        .unwrap();
    let live = aws
        .describe_api_destination("acme-orders")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        live.spec,
        json!({
            "connectionArn": connection_arn,
            "invocationEndpoint": "https://api.acme.example/v3/orders",
            "httpMethod": "PUT",
            "invocationRateLimitPerSecond": 300
        })
    );
    assert!(time(&live) > created);

    let err = aws
        .update_api_destination(
            "acme-orders",
            &changed,
            &connection_arn,
            &[FieldPath::from_pointer("/spec/httpMethod")],
        )
        .await
        .unwrap_err();
    assert_class(&err, ErrorClass::Invalid, None);

    assert_eq!(
        counts(&aws),
        [
            ("CreateApiDestination", 1),
            ("CreateConnection", 1),
            ("DescribeApiDestination", 2),
            ("UpdateApiDestination", 1)
        ]
    );
}

#[tokio::test]
async fn api_destinations_list_delete_and_errors() {
    let region = support::region();
    moto().configure(&region, json!({"pageSize": 1}));
    let spec = connection(api_key_connection());
    let (secrets, values) = resolve(&spec, "al");
    let aws = aws(&region, &values).await;
    let connection_arn = aws
        .create_connection("conn", &spec, &secrets)
        .await
        .unwrap()
        .arn;
    let spec = destination(json!({
        "connectionArn": connection_arn, "invocationEndpoint": "https://x.example/", "httpMethod": "GET"
    }));
    for name in ["two", "one"] {
        aws.create_api_destination(name, &spec, &connection_arn)
            .await
            .unwrap();
    }
    assert_eq!(aws.list_api_destinations().await.unwrap(), ["one", "two"]);
    assert_eq!(aws.calls.counts()["ListApiDestinations"], 2);

    aws.delete_api_destination("one").await.unwrap();
    assert_eq!(aws.describe_api_destination("one").await.unwrap(), None);
    let err = aws.delete_api_destination("one").await.unwrap_err();
    assert_class(
        &err,
        ErrorClass::NotFound,
        Some("ResourceNotFoundException"),
    );

    let err = aws
        .create_api_destination("two", &spec, &connection_arn)
        .await
        .unwrap_err();
    assert_class(
        &err,
        ErrorClass::Conflict,
        Some("ResourceAlreadyExistsException"),
    );
    let unknown = Arn::new(
        connection_arn
            .as_str()
            .replace(":connection/conn/", ":connection/gone/"),
    );
    let err = aws
        .create_api_destination("three", &spec, &unknown)
        .await
        .unwrap_err();
    assert_class(
        &err,
        ErrorClass::NotFound,
        Some("ResourceNotFoundException"),
    );
    let http = destination(json!({
        "connectionArn": connection_arn, "invocationEndpoint": "http://x.example/", "httpMethod": "GET"
    }));
    let err = aws
        .create_api_destination("four", &http, &connection_arn)
        .await
        .unwrap_err();
    assert_class(&err, ErrorClass::Invalid, Some("ValidationException"));
}

// ---- connectors -----------------------------------------------------------------------

fn outbound_tags(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("outbound:name".to_owned(), name.to_owned()),
        (
            "outbound:lineage".to_owned(),
            "7f9c0e4e-0000-4000-8000-000000000000".to_owned(),
        ),
    ])
}

#[tokio::test]
async fn as2_connector_round_trip_keeps_reserved_tags_out_of_the_spec() {
    let region = support::region();
    let aws = aws(&region, &[]).await;
    let manifest = as2_connector();
    let (id, arn) = aws
        .create_connector(&connector(manifest.clone()), &outbound_tags("acme-as2"))
        .await
        .unwrap();
    assert!(
        id.as_str().len() == 19 && id.as_str().starts_with("c-"),
        "{id}"
    );
    assert_eq!(
        arn.as_str(),
        format!(
            "arn:aws:transfer:{region}:{}:connector/{id}",
            support::ACCOUNT
        )
    );

    let live = aws.describe_connector(&id).await.unwrap().expect("created");
    assert_eq!(
        (live.id.as_str(), live.arn.as_str()),
        (id.as_str(), arn.as_str())
    );
    assert_eq!(live.spec, manifest);
    assert_eq!(live.status.as_deref(), Some("ACTIVE"));
    assert_eq!(live.status_reason, None);
    let mut all = outbound_tags("acme-as2");
    all.extend([
        ("team".to_owned(), "edi".to_owned()),
        ("cost-center".to_owned(), "42".to_owned()),
    ]);
    assert_eq!(live.tags, all);

    assert_eq!(
        counts(&aws),
        [("CreateConnector", 1), ("DescribeConnector", 2)]
    );
}

#[tokio::test]
async fn sftp_connector_round_trip() {
    let region = support::region();
    let aws = aws(&region, &[]).await;
    let manifest = sftp_connector();
    let (id, _) = aws
        .create_connector(&connector(manifest.clone()), &BTreeMap::new())
        .await
        .unwrap();
    let live = aws.describe_connector(&id).await.unwrap().expect("created");
    assert_eq!(live.spec, manifest);
    assert!(live.tags.is_empty());
}

#[tokio::test]
async fn connector_update_sends_the_spec_and_clear_encodings() {
    let region = support::region();
    let aws = aws(&region, &[]).await;

    // AS2: Basic auth off, MDN signing back to DEFAULT, content type back to DISABLED.
    let (as2, _) = aws
        .create_connector(&connector(as2_connector()), &outbound_tags("a"))
        .await
        .unwrap();
    let mut manifest = as2_connector();
    let config = manifest["as2Config"].as_object_mut().unwrap();
    for field in [
        "basicAuthSecretId",
        "mdnSigningAlgorithm",
        "preserveContentType",
    ] {
        config.remove(field);
    }
    config.insert("compression".into(), json!("DISABLED"));
    manifest["url"] = json!("https://as2-new.acme.example/as2");
    let clear = [
        FieldPath::from_pointer("/spec/as2Config/basicAuthSecretId"),
        FieldPath::from_pointer("/spec/as2Config/mdnSigningAlgorithm"),
        FieldPath::from_pointer("/spec/as2Config/preserveContentType"),
        FieldPath::from_pointer("/spec/tags/old"),
    ];
    aws.update_connector(&as2, &connector(manifest.clone()), &clear)
        .await
        .unwrap();
    let live = aws.describe_connector(&as2).await.unwrap().unwrap();
    let mut expected = manifest.clone();
    expected["as2Config"]["mdnSigningAlgorithm"] = json!("DEFAULT");
    expected["as2Config"]["preserveContentType"] = json!("DISABLED");
    assert_eq!(live.spec, expected);
    assert_eq!(live.tags.len(), 4, "update_connector leaves tags alone");

    // SFTP: host keys emptied, defaults for the connection count, port and address type.
    let (sftp, _) = aws
        .create_connector(&connector(sftp_connector()), &BTreeMap::new())
        .await
        .unwrap();
    let mut manifest = sftp_connector();
    manifest["sftpConfig"]
        .as_object_mut()
        .unwrap()
        .remove("trustedHostKeys");
    manifest["sftpConfig"]
        .as_object_mut()
        .unwrap()
        .remove("maxConcurrentConnections");
    manifest["egressConfig"]["vpcLattice"]
        .as_object_mut()
        .unwrap()
        .remove("portNumber");
    manifest.as_object_mut().unwrap().remove("ipAddressType");
    let clear = [
        FieldPath::from_pointer("/spec/sftpConfig/trustedHostKeys"),
        FieldPath::from_pointer("/spec/sftpConfig/maxConcurrentConnections"),
        FieldPath::from_pointer("/spec/egressConfig/vpcLattice/portNumber"),
        FieldPath::from_pointer("/spec/ipAddressType"),
    ];
    aws.update_connector(&sftp, &connector(manifest.clone()), &clear)
        .await
        .unwrap();
    let live = aws.describe_connector(&sftp).await.unwrap().unwrap();
    let mut expected = manifest;
    expected["sftpConfig"]["maxConcurrentConnections"] = json!(1);
    expected["egressConfig"]["vpcLattice"]["portNumber"] = json!(22);
    expected["ipAddressType"] = json!("IPV4");
    assert_eq!(live.spec, expected);

    // A value the manifest never managed is left alone (the SDK would send its default, 1).
    let (other, _) = aws
        .create_connector(&connector(sftp_connector()), &BTreeMap::new())
        .await
        .unwrap();
    let mut unmanaged = sftp_connector();
    unmanaged["sftpConfig"]
        .as_object_mut()
        .unwrap()
        .remove("maxConcurrentConnections");
    unmanaged["sftpConfig"]["userSecretId"] =
        json!("arn:aws:secretsmanager:us-east-1:111122223333:secret:other");
    aws.update_connector(&other, &connector(unmanaged), &[])
        .await
        .unwrap();
    let live = aws.describe_connector(&other).await.unwrap().unwrap();
    assert_eq!(
        live.spec.value()["sftpConfig"]["maxConcurrentConnections"],
        json!(3)
    );
    assert_eq!(aws.calls.counts()["UpdateConnector"], 3);
}

#[tokio::test]
async fn connector_fields_without_a_clear_encoding_fail_before_any_call() {
    let region = support::region();
    let aws = aws(&region, &[]).await;
    let (id, _) = aws
        .create_connector(&connector(as2_connector()), &BTreeMap::new())
        .await
        .unwrap();
    let mut manifest = as2_connector();
    manifest.as_object_mut().unwrap().remove("loggingRole");
    manifest["as2Config"]
        .as_object_mut()
        .unwrap()
        .remove("messageSubject");
    manifest["as2Config"]
        .as_object_mut()
        .unwrap()
        .remove("signingAlgorithm");
    let spec = connector(manifest);
    let before = aws.calls.total();
    for pointer in [
        "/spec/loggingRole",
        "/spec/as2Config/messageSubject",
        "/spec/as2Config/signingAlgorithm",
    ] {
        let err = aws
            .update_connector(&id, &spec, &[FieldPath::from_pointer(pointer)])
            .await
            .unwrap_err();
        assert_class(&err, ErrorClass::Invalid, None);
        assert!(
            err.message.contains(pointer) && err.message.contains("cannot be cleared in place"),
            "{err}"
        );
    }
    assert_eq!(aws.calls.total(), before);
}

/// Why `loggingRole` and `messageSubject` have no clear encoding: the values that would mean
/// "none" are rejected (the API model's lengths, which the emulator enforces like AWS).
#[tokio::test]
async fn empty_logging_role_and_message_subject_are_rejected() {
    let region = support::region();
    let aws = aws(&region, &[]).await;
    let (id, _) = aws
        .create_connector(&connector(as2_connector()), &BTreeMap::new())
        .await
        .unwrap();
    let client = aws_sdk_transfer::Client::from_conf(
        aws_sdk_transfer::Config::builder()
            .behavior_version(aws_sdk_transfer::config::BehaviorVersion::latest())
            .region(aws_sdk_transfer::config::Region::new(region.clone()))
            .endpoint_url(&moto().moto)
            .credentials_provider(aws_sdk_transfer::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .build(),
    );
    let err = client
        .update_connector()
        .connector_id(id.as_str())
        .logging_role("")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_transfer::error::ProvideErrorMetadata::code(&err),
        Some("ValidationException")
    );
    let subject = aws_sdk_transfer::types::As2ConnectorConfig::builder()
        .message_subject("")
        .build();
    let err = client
        .update_connector()
        .connector_id(id.as_str())
        .as2_config(subject)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_transfer::error::ProvideErrorMetadata::code(&err),
        Some("ValidationException")
    );
}

#[tokio::test]
async fn connector_tags_change_only_through_tag_and_untag() {
    let region = support::region();
    let aws = aws(&region, &[]).await;
    let (id, arn) = aws
        .create_connector(&connector(sftp_connector()), &outbound_tags("s"))
        .await
        .unwrap();

    aws.tag_connector(
        &arn,
        &BTreeMap::from([("team".to_owned(), "edi".to_owned())]),
    )
    .await
    .unwrap();
    let live = aws.describe_connector(&id).await.unwrap().unwrap();
    assert_eq!(live.spec.value()["tags"], json!({"team": "edi"}));
    assert_eq!(live.tags.len(), 3);

    aws.untag_connector(&arn, &["team".to_owned()])
        .await
        .unwrap();
    let live = aws.describe_connector(&id).await.unwrap().unwrap();
    assert_eq!(live.spec.get("tags"), None);
    assert_eq!(live.tags, outbound_tags("s"));

    aws.tag_connector(&arn, &BTreeMap::new()).await.unwrap();
    aws.untag_connector(&arn, &[]).await.unwrap();
    assert_eq!(
        counts(&aws),
        [
            ("CreateConnector", 1),
            ("DescribeConnector", 3),
            ("TagResource", 1),
            ("UntagResource", 1)
        ]
    );
}

#[tokio::test]
async fn connectors_list_across_pages_and_delete() {
    let region = support::region();
    moto().configure(&region, json!({"pageSize": 2}));
    let aws = aws(&region, &[]).await;
    let mut created = Vec::new();
    for _ in 0..3 {
        created.push(
            aws.create_connector(&connector(as2_connector()), &BTreeMap::new())
                .await
                .unwrap(),
        );
    }
    let listed = aws.list_connectors().await.unwrap();
    let ids: Vec<_> = listed
        .iter()
        .map(|c| (c.id.clone(), c.arn.clone()))
        .collect();
    assert_eq!(ids, created);
    assert!(
        listed
            .iter()
            .all(|c| c.url.as_deref() == Some("https://as2.acme.example/as2"))
    );
    assert_eq!(aws.calls.counts()["ListConnectors"], 2);

    let (gone, _) = &created[1];
    aws.delete_connector(gone).await.unwrap();
    assert_eq!(aws.describe_connector(gone).await.unwrap(), None);
    let err = aws.delete_connector(gone).await.unwrap_err();
    assert_class(
        &err,
        ErrorClass::NotFound,
        Some("ResourceNotFoundException"),
    );
    let err = aws
        .update_connector(gone, &connector(as2_connector()), &[])
        .await
        .unwrap_err();
    assert_class(
        &err,
        ErrorClass::NotFound,
        Some("ResourceNotFoundException"),
    );
    assert_eq!(aws.list_connectors().await.unwrap().len(), 2);
}

// ---- errors ---------------------------------------------------------------------------

#[tokio::test]
async fn aws_errors_are_classified() {
    let region = support::region();
    let aws = aws(&region, &[]).await;

    // The emulator validates like AWS: a role that is not a role ARN.
    let mut bad = as2_connector();
    bad["accessRole"] = json!("arn:aws:iam::111122223333:user/not-a-role");
    let err = aws
        .create_connector(&connector(bad), &BTreeMap::new())
        .await
        .unwrap_err();
    assert_class(&err, ErrorClass::Invalid, Some("ValidationException"));
    assert_eq!(err.operation, "CreateConnector");
    assert!(err.message.contains("accessRole"), "{err}");

    let spec = connection(api_key_connection());
    let (secrets, _) = resolve(&spec, "er");
    aws.create_connection("dup", &spec, &secrets).await.unwrap();
    let err = aws
        .create_connection("dup", &spec, &secrets)
        .await
        .unwrap_err();
    assert_class(
        &err,
        ErrorClass::Conflict,
        Some("ResourceAlreadyExistsException"),
    );

    moto().fault(
        &region,
        json!({"operation": "ListConnectors", "fault": "access_denied"}),
    );
    let err = aws.list_connectors().await.unwrap_err();
    assert_class(
        &err,
        ErrorClass::AccessDenied,
        Some("AccessDeniedException"),
    );

    // A quota error is final: exactly one attempt, although the SDK retries it by default.
    let quota = json!({"operation": "CreateApiDestination", "fault": "error", "code": "LimitExceededException", "count": 3});
    moto().fault(&region, quota);
    let arn = aws.describe_connection("dup").await.unwrap().unwrap().arn;
    let destination = destination(
        json!({"connectionArn": arn, "invocationEndpoint": "https://x.example/", "httpMethod": "GET"}),
    );
    let err = aws
        .create_api_destination("d", &destination, &arn)
        .await
        .unwrap_err();
    assert_class(&err, ErrorClass::Quota, Some("LimitExceededException"));
    assert_eq!(moto().count(&region, "CreateApiDestination"), 1);
    moto().clear_faults(&region);

    assert_eq!(
        aws.describe_connector(&ConnectorId::parse("c-0123456789abcdef0").unwrap())
            .await
            .unwrap(),
        None
    );
    assert_eq!(aws.describe_api_destination("none").await.unwrap(), None);
    assert_eq!(aws.describe_connection("none").await.unwrap(), None);
}

/// Transient errors and throttling are retried by the SDK (adaptive mode) and counted once.
/// Only one throttle here: in adaptive mode a throttled retry costs 10 tokens of a bucket that
/// refills at 0.5/s at low call rates, so each one waits about 20 s. Running out of attempts on
/// throttling (class `Throttled`) is covered by the unit tests of `classify`.
#[tokio::test]
async fn transient_errors_and_throttling_are_retried_and_counted_once() {
    let region = support::region();
    let aws = aws(&region, &[]).await;

    moto().fault(
        &region,
        json!({"operation": "ListConnectors", "fault": "server_error", "count": 2}),
    );
    assert!(aws.list_connectors().await.unwrap().is_empty());
    assert_eq!(
        moto().count(&region, "ListConnectors"),
        3,
        "two failed attempts, then success"
    );

    moto().fault(
        &region,
        json!({"operation": "ListConnections", "fault": "throttle", "count": 1}),
    );
    assert!(aws.list_connections().await.unwrap().is_empty());
    assert_eq!(
        moto().count(&region, "ListConnections"),
        2,
        "one throttled attempt, then success"
    );

    assert_eq!(
        counts(&aws),
        [("ListConnections", 1), ("ListConnectors", 1)],
        "one call, however many attempts"
    );

    moto().fault(
        &region,
        json!({"operation": "DescribeConnector", "fault": "server_error", "count": -1}),
    );
    let err = aws
        .describe_connector(&ConnectorId::parse("c-0123456789abcdef0").unwrap())
        .await
        .unwrap_err();
    moto().clear_faults(&region);
    assert_class(&err, ErrorClass::Other, Some("InternalServiceError"));
    assert_eq!(
        moto().count(&region, "DescribeConnector"),
        5,
        "max attempts"
    );
}

#[tokio::test]
async fn secrets_are_scrubbed_from_aws_error_messages() {
    let region = support::region();
    let spec = connection(api_key_connection());
    let (secrets, values) = resolve(&spec, "canary");
    let aws = aws(&region, &values).await;
    let message = format!(
        "Value {} at 'authParameters' failed to satisfy constraint",
        values[0]
    );
    moto().fault(
        &region,
        json!({"operation": "CreateConnection", "fault": "error", "message": message}),
    );
    let err = aws
        .create_connection("c", &spec, &secrets)
        .await
        .unwrap_err();
    assert_class(&err, ErrorClass::Invalid, Some("ValidationException"));
    assert_eq!(
        err.message,
        "ValidationException: Value (sensitive) at 'authParameters' failed to satisfy constraint"
    );
    assert!(!format!("{err:?}").contains("s3cr3t"), "{err:?}");
}

// ---- connect ---------------------------------------------------------------------------

/// `Aws::connect` takes credentials, region and endpoint from the standard chain
/// (`AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT_URL`, the default or a named profile's region), and
/// `AwsOptions` override them. The environment is the process's, so this test runs itself again as a child
/// process with the environment it needs.
#[test]
fn connect_uses_the_standard_chain_and_options_override_it() {
    const CHILD: &str = "OUTBOUND_AWS_LAYER_CONNECT_CHILD";
    if let Ok(vars) = std::env::var(CHILD) {
        let vars: Value = serde_json::from_str(&vars).expect("child vars");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        return runtime.block_on(connect_child(&vars));
    }

    let moto = moto();
    let (from_env, from_option, from_profile, direct) = (
        support::region(),
        support::region(),
        support::region(),
        support::region(),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config");
    let profiles = format!(
        "[default]\nregion = {from_env}\n\n[profile outbound-test]\nregion = {from_profile}\n"
    );
    std::fs::write(&config, profiles).expect("config");
    let vars = json!({
        "fromEnv": from_env, "fromOption": from_option, "fromProfile": from_profile, "direct": direct, "moto": moto.moto,
    });

    let mut command = std::process::Command::new(std::env::current_exe().expect("test binary"));
    command.args([
        "--exact",
        // The test's own name in this binary: a child that matched no test would pass.
        "aws_layer::connect_uses_the_standard_chain_and_options_override_it",
        "--nocapture",
    ]);
    for name in support::ENV_REMOVE {
        command.env_remove(name);
    }
    command
        .envs(support::cli_env(&from_env))
        .env("AWS_CONFIG_FILE", &config)
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env(CHILD, vars.to_string());
    let out = command.output().expect("run the child");
    assert!(
        out.status.success(),
        "child failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    assert_eq!(moto.operations(&from_env), ["ListConnections"]);
    assert_eq!(moto.operations(&from_option), ["ListConnectors"]);
    assert_eq!(moto.operations(&from_profile), ["ListApiDestinations"]);
    assert!(
        moto.calls(&direct).is_empty(),
        "an endpoint option overrides AWS_ENDPOINT_URL"
    );
}

async fn connect_child(vars: &Value) {
    let var = |k: &str| vars[k].as_str().expect(k).to_owned();
    // The default profile's region, AWS_ENDPOINT_URL and the credentials from the environment.
    let defaults = Aws::connect(&AwsOptions::default(), vec![])
        .await
        .expect("connect");
    assert_eq!(defaults.region(), Some(var("fromEnv")));
    defaults
        .list_connections()
        .await
        .expect("through AWS_ENDPOINT_URL");

    let region = AwsOptions {
        region: Some(var("fromOption")),
        ..AwsOptions::default()
    };
    let aws = Aws::connect(&region, vec![]).await.expect("connect");
    assert_eq!(aws.region(), Some(var("fromOption")));
    aws.list_connectors().await.expect("list");

    let profile = AwsOptions {
        profile: Some("outbound-test".to_owned()),
        ..AwsOptions::default()
    };
    let aws = Aws::connect(&profile, vec![]).await.expect("connect");
    assert_eq!(aws.region(), Some(var("fromProfile")));
    aws.list_api_destinations().await.expect("list");

    let direct = AwsOptions {
        region: Some(var("direct")),
        endpoint_url: Some(var("moto")),
        profile: None,
        ..AwsOptions::default()
    };
    let aws = Aws::connect(&direct, vec![]).await.expect("connect");
    aws.list_connections().await.expect("straight to moto");
}
