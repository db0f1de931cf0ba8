//! Live resources -> manifest documents and state records, for `outbound import`. Pure and
//! deterministic: YAML in the schema's field order, secrets (which AWS never returns) as
//! `fromEnv` references with generated names, API destinations on a known connection as
//! `connection:` references.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::live::Live;
use crate::manifest::diag::Problem;
use crate::resource::{
    Address, Adopt, ApiDestinationSpec, ApiVersion, CertificateSpec, ConnectionSpec, ConnectorSpec,
    Kind, Metadata, ProfileSpec, Spec, SpecJson,
};
use crate::state::{LiveMarkers, Record, State};

/// A resource found in AWS that no state owns, under the address it will have.
#[derive(Debug, Clone)]
pub struct Found {
    pub address: Address,
    pub live: Live,
    /// A certificate's body and chain as AWS returns them (public; `Live` shows them only as
    /// `{"$sensitive": true}`): written as PEM files beside the manifest.
    pub pem: Option<Pem>,
}

/// A certificate's PEM body and chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pem {
    pub body: String,
    pub chain: Option<String>,
}

/// A secret AWS did not return, and the environment variable its manifest now names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretEnv {
    pub env: String,
    pub address: Address,
    /// Display path in the spec (`authParameters.apiKeyAuthParameters.apiKeyValue`).
    pub path: String,
}

/// One imported resource: its manifest file, its state record, the secrets it names.
#[derive(Debug, Clone)]
pub struct Imported {
    pub address: Address,
    /// File name inside the output directory: `<kind>-<name>.yaml` (lowercase kind).
    pub file: String,
    pub yaml: String,
    pub record: Record,
    pub secrets: Vec<SecretEnv>,
    /// Files the manifest reads (`fromFile`), to write beside it: (path relative to the
    /// manifest, content): a certificate's PEM body and chain.
    pub files: Vec<(String, String)>,
    /// Files the manifest reads that AWS cannot give (a certificate's private key): for the
    /// user to fill, relative to the manifest.
    pub to_fill: Vec<String>,
    /// Rules of the manifest format that what AWS holds breaks (`outbound validate` will say
    /// so too): the manifest is written anyway, for the user to fix.
    pub problems: Vec<Problem>,
}

/// A live resource that does not fit the manifest format.
#[derive(Debug, thiserror::Error)]
#[error("{address}: what AWS holds does not fit the manifest format: {message}")]
pub struct NotRepresentable {
    pub address: Address,
    pub message: String,
}

/// The manifest file name of `address` (one file per resource).
pub fn file_name(address: &Address) -> String {
    format!(
        "{}-{}.yaml",
        address.kind.as_str().to_lowercase(),
        address.name
    )
}

/// Documents and records for `found`. An API destination whose connection ARN belongs to a
/// connection imported here or recorded in `state` names it with `connection:`.
pub fn documents(found: &[Found], state: &State) -> Result<Vec<Imported>, NotRepresentable> {
    documents_with(found, state, &BTreeMap::new())
}

/// [`documents`], where `earlier` (connection ARN -> name) also names connections: those an
/// earlier import wrote manifests for, not recorded in the state until a plan adopts them.
pub fn documents_with(
    found: &[Found],
    state: &State,
    earlier: &BTreeMap<String, String>,
) -> Result<Vec<Imported>, NotRepresentable> {
    let connections: BTreeMap<&str, &str> = earlier
        .iter()
        .map(|(arn, name)| (arn.as_str(), name.as_str()))
        .chain(
            state
                .resources
                .iter()
                .filter(|(a, _)| a.kind == Kind::Connection)
                .map(|(a, r)| (r.arn.as_str(), a.name.as_str())),
        )
        .chain(
            found
                .iter()
                .filter(|f| f.address.kind == Kind::Connection)
                .map(|f| (f.live.arn.as_str(), f.address.name.as_str())),
        )
        .collect();
    // Certificates by id: those imported here, or recorded in the state, named by a profile.
    let certificates: BTreeMap<&str, &str> = state
        .resources
        .iter()
        .filter(|(a, _)| a.kind == Kind::Certificate)
        .map(|(a, r)| (r.id.as_str(), a.name.as_str()))
        .chain(
            found
                .iter()
                .filter(|f| f.address.kind == Kind::Certificate)
                .map(|f| (f.live.id.as_str(), f.address.name.as_str())),
        )
        .collect();
    let named = Named {
        connections,
        certificates,
    };
    let mut envs = BTreeSet::new();
    found
        .iter()
        .map(|f| document(f, &named, &mut envs))
        .collect()
}

/// The resources a document may name instead of giving their ARN or id.
struct Named<'a> {
    /// Connection ARN -> name.
    connections: BTreeMap<&'a str, &'a str>,
    /// Certificate id -> name.
    certificates: BTreeMap<&'a str, &'a str>,
}

/// One resource: 1. its spec in manifest shape (secrets as references, `connection:` where
/// known); 2. the typed spec (the schema's field order) and its rules; 3. YAML and record.
fn document(
    f: &Found,
    named: &Named<'_>,
    envs: &mut BTreeSet<String>,
) -> Result<Imported, NotRepresentable> {
    let mut files = Vec::new();
    let mut to_fill = Vec::new();
    let address = &f.address;
    let mut spec = f.live.spec.value();
    let mut secrets = Vec::new();
    let mut problems = Vec::new();
    let mut left_out = BTreeMap::new();
    let bad = |e: serde_json::Error| NotRepresentable {
        address: address.clone(),
        message: e.to_string(),
    };
    let (typed, recorded) = match address.kind {
        Kind::Connection => {
            references(&mut spec, address, "", &mut Vec::new(), envs, &mut secrets);
            // Kept as AWS has it: a deauthorized connection is imported deauthorized (its
            // secrets then need not be set, and the plan leaves it alone).
            if let (Some(crate::resource::connection::STATE_DEAUTHORIZED), Some(o)) =
                (f.live.status.as_deref(), spec.as_object_mut())
            {
                o.insert("deauthorized".into(), true.into());
            }
            let s: ConnectionSpec = serde_json::from_value(spec).map_err(bad)?;
            s.check(&mut problems);
            (serde_json::to_value(&s), serde_json::to_value(&s))
        }
        Kind::ApiDestination => {
            let (s, recorded) = destination(spec, &named.connections).map_err(bad)?;
            s.check(&mut problems);
            (serde_json::to_value(&s), Ok(recorded))
        }
        Kind::Connector => {
            let mut s: ConnectorSpec = serde_json::from_value(spec).map_err(bad)?;
            // Recorded with every tag AWS holds: those the manifest leaves out are untagged.
            let recorded = serde_json::to_value(&s);
            left_out = fit_tags(&mut s, &mut problems);
            s.check(&mut problems);
            (serde_json::to_value(&s), recorded)
        }
        Kind::Certificate => {
            pem_files(f, &mut spec, &mut files, &mut to_fill)?;
            let s: CertificateSpec = serde_json::from_value(spec).map_err(bad)?;
            s.check(&mut problems);
            (serde_json::to_value(&s), serde_json::to_value(&s))
        }
        Kind::Profile => {
            let (s, recorded) = profile(spec, &named.certificates).map_err(bad)?;
            s.check(&mut problems);
            (serde_json::to_value(&s), Ok(recorded))
        }
    };
    let (typed, recorded) = (typed.map_err(bad)?, recorded.map_err(bad)?);
    let adopt = match address.kind {
        Kind::Connection | Kind::ApiDestination => Adopt::Flag(true),
        _ => Adopt::Id(f.live.id.to_string()),
    };
    let mut yaml =
        yaml(address, adopt, &typed, &secrets, &to_fill).map_err(|message| NotRepresentable {
            address: address.clone(),
            message,
        })?;
    if !left_out.is_empty() {
        let at = yaml.find('\n').map_or(0, |i| i + 1);
        yaml.insert_str(at, &left_out_comment(&left_out));
    }
    Ok(Imported {
        address: address.clone(),
        file: file_name(address),
        yaml,
        record: Record {
            id: f.live.id.clone(),
            arn: f.live.arn.clone(),
            spec: recorded.into(),
            fingerprints: BTreeMap::new(),
            protect: false,
            live: LiveMarkers {
                last_modified: f.live.last_modified.clone(),
                status: f.live.status.clone(),
            },
            imported: match address.kind {
                Kind::Connection => !secrets.is_empty(),
                Kind::Connector => true,
                _ => false,
            },
        },
        secrets,
        files,
        to_fill,
        problems,
    })
}

/// An API destination's spec naming its connection with `connection:` when `connections`
/// (ARN -> name) knows it; and its record as apply records it (the ARN sent, and the name
/// behind it).
fn destination(
    mut spec: Value,
    connections: &BTreeMap<&str, &str>,
) -> Result<(ApiDestinationSpec, Value), serde_json::Error> {
    let arn = spec
        .get("connectionArn")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let name = arn
        .as_deref()
        .and_then(|a| connections.get(a))
        .map(|n| n.to_string());
    if let (Some(name), Some(o)) = (&name, spec.as_object_mut()) {
        o.remove("connectionArn");
        o.insert("connection".into(), name.clone().into());
    }
    let s: ApiDestinationSpec = serde_json::from_value(spec)?;
    let mut recorded = serde_json::to_value(&s)?;
    if let (Some(arn), Some(o)) = (arn, recorded.as_object_mut()) {
        o.insert("connectionArn".into(), arn.into());
    }
    Ok((s, recorded))
}

/// A profile's spec naming the certificates of `certificates` (id -> name: imported here or
/// recorded in the state) by name, the others by id; and its record as apply records it (the
/// names, and every id sent).
fn profile(
    mut spec: Value,
    certificates: &BTreeMap<&str, &str>,
) -> Result<(ProfileSpec, Value), serde_json::Error> {
    let ids: Vec<String> = spec
        .get("certificateIds")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let (by_name, by_id): (Vec<&String>, Vec<&String>) = ids
        .iter()
        .partition(|id| certificates.contains_key(id.as_str()));
    let names: Vec<&str> = by_name
        .iter()
        .filter_map(|id| certificates.get(id.as_str()).copied())
        .collect();
    if let Some(o) = spec.as_object_mut() {
        o.insert("certificates".into(), names.into());
        o.insert(
            "certificateIds".into(),
            by_id.into_iter().cloned().collect::<Vec<String>>().into(),
        );
    }
    let s: ProfileSpec = serde_json::from_value(spec)?;
    let mut recorded = serde_json::to_value(&s)?;
    if let Some(o) = recorded.as_object_mut() {
        o.insert("certificateIds".into(), ids.into());
    }
    Ok((s, recorded))
}

/// A certificate's body and chain as files beside the manifest (`certs/NAME.pem`,
/// `certs/NAME-chain.pem`), and its private key, which AWS never returns, as a file to fill
/// (`keys/NAME.key`): each a `fromFile` reference in `spec`.
fn pem_files(
    f: &Found,
    spec: &mut Value,
    files: &mut Vec<(String, String)>,
    to_fill: &mut Vec<String>,
) -> Result<(), NotRepresentable> {
    let name = &f.address.name;
    let Some(o) = spec.as_object_mut() else {
        return Ok(());
    };
    let pem = f.pem.as_ref();
    for (field, path, content) in [
        (
            "certificate",
            format!("certs/{name}.pem"),
            pem.map(|p| p.body.clone()),
        ),
        (
            "certificateChain",
            format!("certs/{name}-chain.pem"),
            pem.and_then(|p| p.chain.clone()),
        ),
    ] {
        if !o.contains_key(field) {
            continue;
        }
        let Some(content) = content else {
            return Err(NotRepresentable {
                address: f.address.clone(),
                message: format!("AWS gave no PEM for its {field}"),
            });
        };
        o.insert(field.into(), serde_json::json!({ "fromFile": path }));
        // A `fromFile` value loses one trailing newline: the file ends with one more.
        files.push((path, format!("{content}\n")));
    }
    if o.contains_key("privateKey") {
        let path = format!("keys/{name}.key");
        o.insert("privateKey".into(), serde_json::json!({ "fromFile": path }));
        to_fill.push(path);
    }
    Ok(())
}

/// Leaves out of `spec` the tags past the [`MAX_TAGS`](crate::resource::connector::MAX_TAGS)
/// a manifest may hold (the last by key), with a warning: AWS allows 50 tags per connector and
/// outbound needs 2 of them, so a connector imported with 49 or 50 gets a manifest that
/// validates, and the plan shows the untagging before apply does it (issue 15 item 3).
/// Returns the tags left out.
fn fit_tags(spec: &mut ConnectorSpec, problems: &mut Vec<Problem>) -> BTreeMap<String, String> {
    let max = crate::resource::connector::MAX_TAGS;
    if spec.tags.len() <= max {
        return BTreeMap::new();
    }
    let keep: BTreeMap<String, String> = std::mem::take(&mut spec.tags);
    let mut all = keep.into_iter();
    spec.tags = all.by_ref().take(max).collect();
    let left_out: BTreeMap<String, String> = all.collect();
    let keys: Vec<String> = left_out.keys().map(|k| format!("`{k}`")).collect();
    problems.push(Problem::new(
        "/spec/tags".to_owned(),
        format!(
            "AWS holds {} tags; a manifest holds at most {max} (AWS allows 50 per connector and \
             outbound adds outbound:name and outbound:lineage), so {} {} left out of it (listed \
             in a comment): the next apply removes them from AWS unless you put them back in \
             place of others",
            max + left_out.len(),
            keys.join(", "),
            if left_out.len() == 1 { "is" } else { "are" },
        ),
    ));
    left_out
}

/// The comment that lists the tags [`fit_tags`] left out, as JSON strings (a value may hold
/// any character).
fn left_out_comment(left_out: &BTreeMap<String, String>) -> String {
    let mut out = String::from(
        "# Tags left out (AWS allows 50 per connector, outbound keeps 2 for its own):\n",
    );
    for (k, v) in left_out {
        out.push_str(&format!(
            "#   {}: {}\n",
            Value::from(k.as_str()),
            Value::from(v.as_str())
        ));
    }
    out
}

/// Replaces each `{"$sensitive": true}` under `v` with `{"fromEnv": OUTBOUND_<NAME>_<FIELD>}`.
/// `label` holds the parts of the field's name so far (a parameter list and its key, or a
/// field name); `path` is the display path as the plan shows it.
fn references(
    v: &mut Value,
    address: &Address,
    path: &str,
    label: &mut Vec<String>,
    envs: &mut BTreeSet<String>,
    out: &mut Vec<SecretEnv>,
) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_owned()
        } else {
            format!("{path}.{k}")
        }
    };
    match v {
        Value::Object(o) if o.contains_key("$sensitive") => {
            let env = unique(
                format!(
                    "OUTBOUND_{}_{}",
                    upper_snake(&address.name),
                    label.join("_")
                ),
                envs,
            );
            out.push(SecretEnv {
                env: env.clone(),
                address: address.clone(),
                path: path.to_owned(),
            });
            *v = serde_json::json!({ "fromEnv": env });
        }
        Value::Object(o) => {
            for (k, child) in o.iter_mut() {
                let part = match k.as_str() {
                    "oAuthHttpParameters" => Some("OAUTH".to_owned()),
                    "headerParameters" => Some("HEADER".to_owned()),
                    "queryStringParameters" => Some("QUERY".to_owned()),
                    "bodyParameters" => Some("BODY".to_owned()),
                    // The secret fields themselves: `apiKeyValue`, `password`, `clientSecret`.
                    _ if child.get("$sensitive").is_some() && k != "value" => Some(upper_snake(k)),
                    _ => None,
                };
                let pushed = part.map(|p| label.push(p)).is_some();
                references(child, address, &join(k), label, envs, out);
                if pushed {
                    label.pop();
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                let key = item
                    .get("key")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                label.push(upper_snake(&key));
                let item_path = format!("{path}[{key}]");
                references(item, address, &item_path, label, envs, out);
                label.pop();
            }
        }
        _ => {}
    }
}

/// `name` itself, or with `_2`, `_3`, … when another secret of this import has it already.
fn unique(name: String, taken: &mut BTreeSet<String>) -> String {
    let mut candidate = name.clone();
    let mut n = 1;
    while taken.contains(&candidate) {
        n += 1;
        candidate = format!("{name}_{n}");
    }
    taken.insert(candidate.clone());
    candidate
}

/// `acme-orders-api` -> `ACME_ORDERS_API`, `apiKeyValue` -> `API_KEY_VALUE`: a word break at
/// each lower-to-upper change and at every character that is not a letter or digit.
pub fn upper_snake(s: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && previous_lower {
                out.push('_');
            }
            out.push(c.to_ascii_uppercase());
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            previous_lower = false;
        }
    }
    out.trim_end_matches('_').to_owned()
}

/// The document as YAML, `apiVersion`, `kind`, `metadata` (with the adoption marker), `spec`
/// in that order and the spec in the schema's order, after a comment naming the secrets to
/// set.
fn yaml(
    address: &Address,
    adopt: Adopt,
    spec: &Value,
    secrets: &[SecretEnv],
    to_fill: &[String],
) -> Result<String, String> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Document<'a> {
        api_version: ApiVersion,
        kind: Kind,
        metadata: Metadata,
        spec: &'a serde_yaml::Value,
    }
    let spec = ordered(address.kind, spec)?;
    let doc = Document {
        api_version: ApiVersion::V1,
        kind: address.kind,
        metadata: Metadata {
            name: address.name.clone(),
            protect: false,
            adopt: Some(adopt),
        },
        spec: &spec,
    };
    let body = serde_yaml::to_string(&doc).map_err(|e| e.to_string())?;
    let mut out = format!(
        "# {address}: imported from AWS by `outbound import`. `adopt` marks it for the next\n\
         # plan to adopt (apply records it in the state); once applied, it changes nothing.\n"
    );
    if !secrets.is_empty() {
        out.push_str("# AWS never returns secret values: set these before `outbound plan`:\n");
        for s in secrets {
            out.push_str(&format!("#   {}  ({})\n", s.env, s.path));
        }
    }
    if !to_fill.is_empty() {
        out.push_str(
            "# AWS never returns a private key: write it to these files before `outbound plan`:\n",
        );
        for path in to_fill {
            out.push_str(&format!("#   {path}\n"));
        }
    }
    out.push_str(&body);
    Ok(out)
}

/// The spec as YAML in the field order of its Rust type (the schema's order): serialized
/// through the typed spec, with serde_yaml's `!fromEnv X` enum tags written as the manifest
/// format's `{ fromEnv: X }` maps.
fn ordered(kind: Kind, spec: &Value) -> Result<serde_yaml::Value, String> {
    let typed = Spec::from_json(kind, &SpecJson::from(spec.clone())).map_err(|e| e.to_string())?;
    Ok(untag(typed.yaml()?))
}

fn untag(v: serde_yaml::Value) -> serde_yaml::Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let mut m = serde_yaml::Mapping::new();
            m.insert(
                Y::String(tag.trim_start_matches('!').to_owned()),
                untag(t.value),
            );
            Y::Mapping(m)
        }
        Y::Mapping(m) => Y::Mapping(m.into_iter().map(|(k, v)| (k, untag(v))).collect()),
        Y::Sequence(s) => Y::Sequence(s.into_iter().map(untag).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live(id: &str, arn: &str, spec: Value) -> Live {
        Live {
            expires: None,
            id: crate::resource::ResourceId::name(id),
            arn: arn.into(),
            spec: spec.into(),
            status: None,
            status_reason: None,
            last_modified: Some("2026-01-01T00:00:00Z".into()),
            created: None,
            tags: BTreeMap::new(),
        }
    }

    fn found(kind: Kind, name: &str, arn: &str, spec: Value) -> Found {
        Found {
            pem: None,
            address: Address::new(kind, name),
            live: live(name, arn, spec),
        }
    }

    #[test]
    fn upper_snake_breaks_words_at_case_changes_and_punctuation() {
        assert_eq!(upper_snake("acme-orders-api"), "ACME_ORDERS_API");
        assert_eq!(upper_snake("apiKeyValue"), "API_KEY_VALUE");
        assert_eq!(upper_snake("X-Signature"), "X_SIGNATURE");
        assert_eq!(upper_snake("a..b__c"), "A_B_C");
        assert_eq!(upper_snake("clientSecret"), "CLIENT_SECRET");
    }

    #[test]
    fn secrets_become_generated_references_and_the_yaml_keeps_the_schema_order() {
        let connection = found(
            Kind::Connection,
            "acme-orders-api",
            "arn:aws:events:r:1:connection/acme-orders-api/x",
            json!({
                "authParameters": {
                    "invocationHttpParameters": {"headerParameters": [
                        {"key": "X-Env", "value": "prod"},
                        {"key": "X-Signature", "value": {"$sensitive": true}}
                    ]},
                    "apiKeyAuthParameters": {"apiKeyValue": {"$sensitive": true}, "apiKeyName": "x-api-key"}
                },
                "authorizationType": "API_KEY",
                "description": "Orders"
            }),
        );
        let docs = documents(&[connection], &State::new()).unwrap();
        let d = &docs[0];
        assert_eq!(d.file, "connection-acme-orders-api.yaml");
        let envs: Vec<&str> = d.secrets.iter().map(|s| s.env.as_str()).collect();
        assert_eq!(
            envs,
            [
                "OUTBOUND_ACME_ORDERS_API_API_KEY_VALUE",
                "OUTBOUND_ACME_ORDERS_API_HEADER_X_SIGNATURE"
            ]
        );
        assert_eq!(
            d.yaml,
            "# Connection/acme-orders-api: imported from AWS by `outbound import`. `adopt` marks it for the next
# plan to adopt (apply records it in the state); once applied, it changes nothing.
# AWS never returns secret values: set these before `outbound plan`:
#   OUTBOUND_ACME_ORDERS_API_API_KEY_VALUE  (authParameters.apiKeyAuthParameters.apiKeyValue)
#   OUTBOUND_ACME_ORDERS_API_HEADER_X_SIGNATURE  (authParameters.invocationHttpParameters.headerParameters[X-Signature].value)
apiVersion: outbound/v1
kind: Connection
metadata:
  name: acme-orders-api
  adopt: true
spec:
  description: Orders
  authorizationType: API_KEY
  authParameters:
    apiKeyAuthParameters:
      apiKeyName: x-api-key
      apiKeyValue:
        fromEnv: OUTBOUND_ACME_ORDERS_API_API_KEY_VALUE
    invocationHttpParameters:
      headerParameters:
      - key: X-Env
        value: prod
      - key: X-Signature
        value:
          fromEnv: OUTBOUND_ACME_ORDERS_API_HEADER_X_SIGNATURE
"
        );
        assert!(d.record.imported && d.record.fingerprints.is_empty());
        assert!(d.problems.is_empty());
        let parsed: crate::resource::Manifest = serde_yaml::from_str(&d.yaml).unwrap();
        assert!(matches!(parsed, crate::resource::Manifest::Connection(_)));
    }

    #[test]
    fn a_destination_names_a_known_connection_and_keeps_an_unknown_arn() {
        let known = "arn:aws:events:r:1:connection/acme/x";
        let other = "arn:aws:events:r:1:connection/elsewhere/y";
        let dest = |name: &str, arn: &str| {
            found(
                Kind::ApiDestination,
                name,
                &format!("arn:aws:events:r:1:api-destination/{name}/z"),
                json!({"connectionArn": arn, "invocationEndpoint": "https://a.example/x",
                       "httpMethod": "POST", "invocationRateLimitPerSecond": 300}),
            )
        };
        let mut state = State::new();
        state.resources.insert(
            Address::new(Kind::Connection, "acme"),
            Record {
                id: crate::resource::ResourceId::name("acme"),
                arn: known.into(),
                spec: json!({}).into(),
                fingerprints: BTreeMap::new(),
                protect: false,
                live: LiveMarkers::default(),
                imported: false,
            },
        );
        let docs = documents(&[dest("a", known), dest("b", other)], &state).unwrap();
        assert!(
            docs[0].yaml.contains("\n  connection: acme\n"),
            "{}",
            docs[0].yaml
        );
        assert!(!docs[0].yaml.contains("connectionArn"));
        assert_eq!(docs[0].record.spec.value()["connection"], "acme");
        assert_eq!(docs[0].record.spec.value()["connectionArn"], known);
        assert!(docs[1].yaml.contains(&format!("connectionArn: {other}")));
        assert!(docs[0].secrets.is_empty() && !docs[0].record.imported);
    }

    #[test]
    fn a_deauthorized_connection_is_imported_deauthorized() {
        let mut f = found(
            Kind::Connection,
            "off",
            "arn:1",
            json!({"authorizationType": "BASIC", "authParameters": {
                "basicAuthParameters": {"username": "svc", "password": {"$sensitive": true}}}}),
        );
        f.live.status = Some("DEAUTHORIZED".into());
        let docs = documents(&[f], &State::new()).unwrap();
        assert!(
            docs[0].yaml.ends_with("  deauthorized: true\n"),
            "{}",
            docs[0].yaml
        );
        assert_eq!(docs[0].record.spec.value()["deauthorized"], true);
        assert_eq!(docs[0].secrets[0].env, "OUTBOUND_OFF_PASSWORD");
    }

    /// Issue 15 item 3: a connector with 50 tags (AWS's limit) gets a manifest of 48 that
    /// validates, a warning naming the two left out, a comment listing them, and a record
    /// with all 50 (so the plan shows them untagged).
    #[test]
    fn a_connector_with_50_tags_gets_a_manifest_of_48_that_validates_and_a_warning() {
        let tags: serde_json::Map<String, Value> = (0..50)
            .map(|i| (format!("k{i:02}"), Value::from(format!("v{i}"))))
            .collect();
        let connector = found(
            Kind::Connector,
            "full",
            "arn:aws:transfer:r:1:connector/c-0123456789abcdef0",
            json!({"url": "https://as2.example/as2",
                   "accessRole": "arn:aws:iam::111122223333:role/TransferConnector",
                   "as2Config": {"localProfileId": "p-0123456789abcdef0",
                                 "partnerProfileId": "p-0fedcba9876543210"},
                   "tags": tags}),
        );
        let mut connector = connector;
        connector.live.id = crate::resource::ConnectorId::parse("c-0123456789abcdef0")
            .unwrap()
            .into();
        let docs = documents(&[connector], &State::new()).unwrap();
        let d = &docs[0];
        assert_eq!(d.problems.len(), 1, "{:?}", d.problems);
        assert!(
            d.problems[0].message.contains("`k48`, `k49` are left out"),
            "{}",
            d.problems[0].message
        );
        assert!(d.yaml.contains("#   \"k49\": \"v49\"\n"), "{}", d.yaml);
        assert!(!d.yaml.contains("k48: v48"), "{}", d.yaml);
        let recorded = d.record.spec.value();
        assert_eq!(recorded["tags"].as_object().map(|t| t.len()), Some(50));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(&d.file), &d.yaml).unwrap();
        let desired = crate::manifest::validate(&[dir.path().join(&d.file)]);
        assert!(
            desired.is_ok(),
            "the manifest validates: {:?}",
            desired.err()
        );
    }

    #[test]
    fn what_breaks_a_rule_is_written_and_reported() {
        let connector = found(
            Kind::Connector,
            "plain",
            "arn:aws:transfer:r:1:connector/c-0123456789abcdef0",
            json!({"url": "http://as2.example/as2",
                   "accessRole": "arn:aws:iam::111122223333:role/TransferConnector",
                   "as2Config": {"localProfileId": "p-0123456789abcdef0",
                                 "partnerProfileId": "p-0fedcba9876543210",
                                 "encryptionAlgorithm": "NONE"},
                   "tags": {"team": "edi"}}),
        );
        let docs = documents(&[connector], &State::new()).unwrap();
        let pointers: Vec<&str> = docs[0]
            .problems
            .iter()
            .map(|p| p.pointer.as_str())
            .collect();
        assert_eq!(pointers, ["/spec/as2Config/encryptionAlgorithm"]);
        assert!(docs[0].yaml.contains("encryptionAlgorithm: NONE"));
        assert!(
            docs[0].record.imported,
            "a connector owes its outbound: tags"
        );
        assert!(docs[0].secrets.is_empty());
    }

    #[test]
    fn a_spec_the_format_cannot_hold_is_an_error_naming_the_resource() {
        let odd = found(
            Kind::ApiDestination,
            "odd",
            "arn:1",
            json!({"invocationEndpoint": "https://a.example", "httpMethod": "TRACE"}),
        );
        let err = documents(&[odd], &State::new()).unwrap_err();
        assert_eq!(err.address, Address::new(Kind::ApiDestination, "odd"));
        assert!(err.to_string().starts_with("ApiDestination/odd: "), "{err}");
    }

    #[test]
    fn equal_secret_names_get_a_suffix() {
        let spec = |key: &str| {
            json!({"authorizationType": "API_KEY", "authParameters": {
                "apiKeyAuthParameters": {"apiKeyName": "k", "apiKeyValue": {"$sensitive": true}},
                "invocationHttpParameters": {"bodyParameters": [{"key": key, "value": {"$sensitive": true}}]}}})
        };
        let a = found(Kind::Connection, "a-b", "arn:1", spec("t"));
        let b = found(Kind::Connection, "a_b", "arn:2", spec("t"));
        let docs = documents(&[a, b], &State::new()).unwrap();
        let envs: Vec<&str> = docs
            .iter()
            .flat_map(|d| d.secrets.iter().map(|s| s.env.as_str()))
            .collect();
        assert_eq!(
            envs,
            [
                "OUTBOUND_A_B_API_KEY_VALUE",
                "OUTBOUND_A_B_BODY_T",
                "OUTBOUND_A_B_API_KEY_VALUE_2",
                "OUTBOUND_A_B_BODY_T_2"
            ]
        );
    }
}
