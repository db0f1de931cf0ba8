//! No perpetual diffs: for every kind, every optional field set, changed and removed, HTTP
//! parameters reordered, tags added outside outbound — after each apply, the plan is empty.

use crate::support;

use support::project::{Project, outside};

/// A project with the OAuth client secret that [`OAUTH_FULL`] reads from `../oauth.secret`.
fn project() -> Project {
    let p = Project::new();
    std::fs::write(
        p.dir.path().join("oauth.secret"),
        "client-secret-from-file\n",
    )
    .unwrap();
    p
}

/// Writes `yaml` as the only manifest; the plan must show changes; after the apply, the next
/// plan must be empty.
fn converge(p: &Project, step: &str, yaml: &str) {
    p.write("m.yaml", yaml);
    let plan = p.plan();
    assert_eq!(
        plan.code, 2,
        "{step}: the plan shows no change:\n{}{}",
        plan.stdout, plan.stderr
    );
    let apply = p.run(&["apply", "--auto-approve"]);
    assert_eq!(
        apply.code, 0,
        "{step}: apply failed:\n{}{}",
        apply.stdout, apply.stderr
    );
    assert_empty(p, step);
}

fn assert_empty(p: &Project, step: &str) {
    let plan = p.plan();
    assert_eq!(
        plan.code, 0,
        "{step}: the plan after apply is not empty:\n{}{}",
        plan.stdout, plan.stderr
    );
    // What List pages stand in for is what Describe says: the same plan, live fingerprints
    // included.
    let listed = p.run(&["plan", "--format", "json"]);
    let described = p.run(&["plan", "--format", "json", "--refresh", "full"]);
    assert_eq!(
        listed.stdout, described.stdout,
        "{step}: the plan from List pages differs from the described one"
    );
}

const AS2_FULL: &str = "apiVersion: outbound/v1
kind: Connector
metadata: { name: as2 }
spec:
  url: https://as2.partner.example/as2
  accessRole: arn:aws:iam::111122223333:role/TransferConnector
  loggingRole: arn:aws:iam::111122223333:role/TransferLogging
  as2Config:
    localProfileId: p-0123456789abcdef0
    partnerProfileId: p-0fedcba9876543210
    messageSubject: Invoices
    compression: ZLIB
    encryptionAlgorithm: AES256_CBC
    signingAlgorithm: SHA256
    mdnSigningAlgorithm: SHA512
    mdnResponse: ASYNC
    basicAuthSecretId: arn:aws:secretsmanager:eu-west-1:111122223333:secret:as2-basic-AbCdEf
    preserveContentType: ENABLED
    asyncMdnConfig:
      url: https://mdn.example.com/as2
      serverIds: [s-0123456789abcdef0, s-0fedcba9876543210]
  ipAddressType: DUALSTACK
  tags: { team: edi, partner: acme }
";

#[test]
fn as2_connector_every_field_set_changed_removed_and_tags_added_outside() {
    let p = project();
    converge(&p, "set", AS2_FULL);
    let changed = AS2_FULL
        .replace("Invoices", "Invoices v2")
        .replace("ZLIB", "DISABLED")
        .replace("AES256_CBC", "AES128_CBC")
        .replace("signingAlgorithm: SHA256", "signingAlgorithm: SHA384")
        .replace("SHA512", "SHA1")
        .replace("ENABLED", "DISABLED")
        .replace("DUALSTACK", "IPV4")
        .replace(
            "[s-0123456789abcdef0, s-0fedcba9876543210]",
            "[s-0fedcba9876543210, s-0123456789abcdef0]",
        )
        .replace("partner: acme", "partner: acme-corp");
    converge(&p, "changed", &changed);
    let removed = changed
        .replace("    basicAuthSecretId: arn:aws:secretsmanager:eu-west-1:111122223333:secret:as2-basic-AbCdEf\n", "")
        .replace("    mdnSigningAlgorithm: SHA1\n", "")
        .replace("    preserveContentType: DISABLED\n", "")
        .replace("  ipAddressType: IPV4\n", "")
        .replace(", partner: acme-corp", "");
    converge(&p, "removed", &removed);
    // Tags added in the console are left alone.
    let arn = p.state()["resources"]["Connector/as2"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    outside(&p.region, async |aws| {
        aws.tag_connector(
            &arn.into(),
            &[("cost-center".to_owned(), "42".to_owned())].into(),
        )
        .await
        .unwrap();
    });
    assert_empty(&p, "tag added outside");
}

#[test]
fn sftp_connector_every_field_set_changed_removed() {
    let p = project();
    let full = "apiVersion: outbound/v1
kind: Connector
metadata: { name: sftp }
spec:
  url: sftp://sftp.partner.example:22
  accessRole: arn:aws:iam::111122223333:role/TransferConnector
  sftpConfig:
    userSecretId: arn:aws:secretsmanager:eu-west-1:111122223333:secret:sftp-user-AbCdEf
    trustedHostKeys: [\"ssh-ed25519 AAAAkeyone\", \"ssh-rsa AAAAkeytwo\"]
    maxConcurrentConnections: 3
  securityPolicyName: TransferSFTPConnectorSecurityPolicy-2024-03
";
    converge(&p, "set", full);
    let changed = full
        .replace(
            "[\"ssh-ed25519 AAAAkeyone\", \"ssh-rsa AAAAkeytwo\"]",
            "[\"ssh-rsa AAAAkeytwo\", \"ssh-ed25519 AAAAkeythree\"]",
        )
        .replace("maxConcurrentConnections: 3", "maxConcurrentConnections: 5")
        .replace("2024-03", "2023-07");
    converge(&p, "changed", &changed);
    let removed = changed
        .replace(
            "    trustedHostKeys: [\"ssh-rsa AAAAkeytwo\", \"ssh-ed25519 AAAAkeythree\"]\n",
            "",
        )
        .replace("    maxConcurrentConnections: 5\n", "");
    converge(&p, "removed", &removed);
}

const OAUTH_FULL: &str = "apiVersion: outbound/v1
kind: Connection
metadata: { name: oauth }
spec:
  description: OAuth partner
  authorizationType: OAUTH_CLIENT_CREDENTIALS
  authParameters:
    oAuthParameters:
      clientParameters: { clientID: outbound, clientSecret: { fromFile: ../oauth.secret } }
      authorizationEndpoint: https://auth.partner.example/token
      httpMethod: POST
      oAuthHttpParameters:
        headerParameters: [ { key: X-A, value: a }, { key: X-B, value: { fromEnv: CONV_SECRET } } ]
        queryStringParameters: [ { key: qa, value: one }, { key: qb, value: two } ]
        bodyParameters: [ { key: scope, value: events.write }, { key: audience, value: partner } ]
    invocationHttpParameters:
      headerParameters: [ { key: X-Env, value: prod }, { key: X-Sig, value: { fromEnv: CONV_SECRET } } ]
      queryStringParameters: [ { key: source, value: outbound }, { key: v, value: '2' } ]
      bodyParameters: [ { key: tenant, value: t1 }, { key: region, value: eu } ]
---
apiVersion: outbound/v1
kind: ApiDestination
metadata: { name: events }
spec:
  description: Events to the partner
  connection: oauth
  invocationEndpoint: https://api.partner.example/events
  httpMethod: POST
  invocationRateLimitPerSecond: 25
";

/// Reverses the items of every inline `[ {..}, {..} ]` list.
fn reorder(yaml: &str) -> String {
    yaml.lines()
        .map(|l| match (l.find("[ {"), l.rfind("} ]")) {
            (Some(a), Some(b)) => {
                let items: Vec<&str> = l[a + 2..b + 1].split("}, {").collect();
                let mut items: Vec<String> = items
                    .iter()
                    .map(|i| i.trim_start_matches('{').trim_end_matches('}').to_owned())
                    .collect();
                items.reverse();
                let inner: Vec<String> = items.iter().map(|i| format!("{{{i}}}")).collect();
                format!("{}[ {} ]{}", &l[..a], inner.join(", "), &l[b + 3..])
            }
            _ => l.to_owned(),
        })
        .map(|l| l + "\n")
        .collect()
}

#[test]
fn connection_and_destination_every_field_set_reordered_changed_removed() {
    let p = project();
    converge(&p, "set", OAUTH_FULL);
    let reordered = reorder(OAUTH_FULL);
    assert_ne!(reordered, OAUTH_FULL);
    p.write("m.yaml", &reordered);
    assert_empty(&p, "HTTP parameters reordered");
    let changed = reordered
        .replace("value: prod", "value: staging")
        .replace(
            "httpMethod: POST\n      oAuthHttpParameters",
            "httpMethod: PUT\n      oAuthHttpParameters",
        )
        .replace(
            "invocationRateLimitPerSecond: 25",
            "invocationRateLimitPerSecond: 40",
        )
        .replace("Events to the partner", "Events, v2");
    converge(&p, "changed", &changed);
    let start = changed.find("      oAuthHttpParameters:").unwrap();
    let end = changed.find("    invocationHttpParameters:").unwrap();
    let removed = format!("{}{}", &changed[..start], &changed[end..])
        .replace("  description: OAuth partner\n", "")
        .replace("  description: Events, v2\n", "")
        .replace("  invocationRateLimitPerSecond: 40\n", "");
    converge(&p, "removed", &removed);
    let basic = removed.replace(
        &removed[removed.find("  authorizationType").unwrap()..removed.find("---").unwrap()],
        "  authorizationType: BASIC\n  authParameters:\n    basicAuthParameters: { username: svc, password: { fromEnv: CONV_SECRET } }\n",
    );
    converge(&p, "auth type changed to BASIC", &basic);
}
