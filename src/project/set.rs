//! An environment's manifest set: the shared documents, its overlays merged in (documents
//! left out with `metadata.absent: true`, documents of its own added), its values
//! substituted, ARNs checked against its account and region; then validated as manifests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

use super::Environment;
use super::overlay;
use super::values::Values;
use crate::manifest::diag::{Diagnostic, Diagnostics, did_you_mean};
use crate::manifest::load::{self, Loaded, Override, RawDoc};
use crate::manifest::{self, DesiredState, span};
use crate::resource::Address;
use crate::resource::problem::Problem;

/// What validating an environment's set gave: the desired state, and warnings (an IAM role
/// of another account) to show either way.
pub struct Validated {
    pub desired: Result<DesiredState, Diagnostics>,
    pub warnings: Diagnostics,
}

/// The merged, substituted and validated manifest set of `env`; `paths` (the command line's)
/// replace its shared manifests when given.
pub fn validate(
    env: &Environment,
    paths: Option<&[PathBuf]>,
    options: load::Options,
    resolve_secrets: bool,
) -> Validated {
    let mut diags = Diagnostics::default();
    let shared = paths.map_or_else(|| env.manifests.clone(), <[PathBuf]>::to_vec);
    let mut loaded = load::load(&shared, options, &mut diags);
    // An environment's overlay directory may be empty (nothing differs there).
    let overlays = load::load(
        &env.overlays,
        load::Options { allow_empty: true },
        &mut diags,
    );
    let first_overlay = loaded.append(overlays);
    merge_overlays(&mut loaded, first_overlay, &mut diags);
    let mut warnings = Diagnostics::default();
    let values = Values {
        name: &env.name,
        account: &env.account,
        region: &env.region,
        values: &env.values,
    };
    for i in 0..loaded.docs.len() {
        let mut problems = Vec::new();
        let mut cautions = Vec::new();
        values.substitute(&mut loaded.docs[i].value, &mut problems);
        check_arns(&loaded.docs[i].value, env, &mut problems, &mut cautions);
        report(&loaded, &loaded.docs[i], problems, &mut diags);
        report(&loaded, &loaded.docs[i], cautions, &mut warnings);
    }
    // A field whose placeholder failed is reported for that alone, not also for what the
    // unsubstituted text breaks (a pattern, a length).
    let failed: Vec<Diagnostic> = diags
        .0
        .iter()
        .filter(|d| is_placeholder(d))
        .cloned()
        .collect();
    let desired = manifest::validate_loaded(&loaded, diags, resolve_secrets).map_err(|all| {
        let at = |d: &Diagnostic| (d.file.clone(), d.line, d.column, d.path.clone());
        Diagnostics(
            all.0
                .into_iter()
                .filter(|d| is_placeholder(d) || !failed.iter().any(|f| at(f) == at(d)))
                .collect(),
        )
    });
    Validated {
        desired,
        warnings: warnings.sorted(),
    }
}

/// A problem of a `${...}` placeholder ([`Values::expand`]).
fn is_placeholder(d: &Diagnostic) -> bool {
    d.message.starts_with("unknown value `${") || d.message.starts_with("a `${` without")
}

fn report(loaded: &Loaded, raw: &RawDoc, problems: Vec<Problem>, diags: &mut Diagnostics) {
    for p in problems {
        let (file, line, column) = loaded.locate(raw, &p.pointer);
        diags.push(
            Diagnostic::new(&file.path, p.message)
                .at(line, column)
                .address(
                    address(&raw.value).and_then(|(k, n)| {
                        k.parse().ok().map(|k| crate::resource::Address::new(k, n))
                    }),
                )
                .path(span::display_path(&p.pointer))
                .hint(p.hint),
        );
    }
}

/// `kind` and `metadata.name` of a document, when it has both as strings.
fn address(doc: &Value) -> Option<(String, String)> {
    let kind = doc.get("kind")?.as_str()?;
    let name = doc.get("metadata")?.get("name")?.as_str()?;
    Some((kind.to_owned(), name.to_owned()))
}

/// Merges the documents from `first_overlay` on into the shared ones before them.
fn merge_overlays(loaded: &mut Loaded, first_overlay: usize, diags: &mut Diagnostics) {
    let docs = std::mem::take(&mut loaded.docs);
    let (mut shared, overlays): (Vec<RawDoc>, Vec<RawDoc>) =
        docs.into_iter().partition(|d| d.file < first_overlay);
    let mut index: BTreeMap<(String, String), usize> = shared
        .iter()
        .enumerate()
        .filter_map(|(i, d)| address(&d.value).map(|a| (a, i)))
        .collect();
    let mut absent = Vec::new();
    for o in overlays {
        let Some(addr) = address(&o.value) else {
            let (line, column) = loaded.files[o.file].locate(o.index, "");
            diags.push(
                Diagnostic::new(
                    &loaded.files[o.file].path,
                    "an overlay document needs `kind` and `metadata.name`",
                )
                .at(line, column)
                .hint(Some(
                    "they name the shared document it changes, or the environment's own resource"
                        .into(),
                )),
            );
            continue;
        };
        let leave_out = o.value.pointer("/metadata/absent");
        if leave_out == Some(&Value::Bool(true)) {
            match index.get(&addr) {
                Some(&i) => absent.push(i),
                None => {
                    let (line, column) = loaded.files[o.file].locate(o.index, "/metadata/absent");
                    let names: Vec<String> =
                        index.keys().map(|(k, n)| format!("{k}/{n}")).collect();
                    let wanted = format!("{}/{}", addr.0, addr.1);
                    diags.push(
                        Diagnostic::new(
                            &loaded.files[o.file].path,
                            format!("`metadata.absent`: no shared document {wanted} to leave out"),
                        )
                        .at(line, column)
                        .path("metadata.absent")
                        .hint(did_you_mean(&wanted, names.iter().map(String::as_str))),
                    );
                }
            }
            continue;
        }
        let mut value = o.value;
        if let Some(Value::Object(m)) = value.get_mut("metadata") {
            m.remove("absent");
        }
        match index.get(&addr) {
            Some(&i) => {
                let base = &mut shared[i];
                let placed = overlay::merge(&mut base.value, &value);
                loaded
                    .overrides
                    .entry((base.file, base.index))
                    .or_default()
                    .extend(placed.into_iter().map(|p| Override {
                        pointer: p.merged,
                        file: o.file,
                        index: o.index,
                        source: p.overlay,
                    }));
            }
            None => {
                index.insert(addr, shared.len());
                shared.push(RawDoc { value, ..o });
            }
        }
    }
    absent.sort_unstable();
    absent.dedup();
    for i in absent.into_iter().rev() {
        shared.remove(i);
    }
    loaded.docs = shared;
}

/// ARNs checked against the environment: a `connectionArn` of another account or region is
/// an error; an IAM role of another account a warning (a cross-account role can be meant).
fn check_arns(
    doc: &Value,
    env: &Environment,
    errors: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) {
    let Some(spec) = doc.get("spec") else {
        return;
    };
    let mut strings = Vec::new();
    strings_of(spec, "/spec".to_owned(), &mut strings);
    for (pointer, s) in strings {
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        if parts.len() < 6 || parts[0] != "arn" {
            continue;
        }
        let (service, region, account) = (parts[2], parts[3], parts[4]);
        if pointer.ends_with("/connectionArn") && service == "events" {
            if !account.is_empty() && account != env.account {
                errors.push(
                    Problem::new(
                        &pointer,
                        format!(
                            "the connection is in account {account}, environment `{}` in {}",
                            env.name, env.account
                        ),
                    )
                    .hint("an API destination uses a connection of its own account"),
                );
            }
            if !region.is_empty() && region != env.region {
                errors.push(Problem::new(&pointer, format!(
                    "the connection is in {region}, environment `{}` in {}", env.name, env.region
                )).hint("an API destination uses a connection of its own Region; `${env.region}` and `${env.account}` fit an ARN to each environment"));
            }
        } else if service == "iam" && parts[5].starts_with("role/") && account != env.account {
            warnings.push(Problem::new(&pointer, format!(
                "the role is in account {account}, environment `{}` in {}", env.name, env.account
            )).hint("fine for a cross-account role; otherwise `${env.account}` fits the ARN to each environment"));
        }
    }
}

/// What an environment's shared manifests declare, for `import --env` (which writes into the
/// environment's overlay): the addresses of the shared documents, and those of them an
/// overlay leaves out of the environment (`metadata.absent`), with that overlay's file.
#[derive(Debug, Default)]
pub struct Shared {
    pub declared: BTreeSet<Address>,
    pub left_out: BTreeMap<Address, PathBuf>,
}

/// The shared documents of `env` (`paths`, the command line's, replacing its manifests when
/// given) and what its overlays leave out; read, not validated (a document without a known
/// kind and a name is not counted). A file that cannot be read or parsed is an error.
pub fn shared(env: &Environment, paths: Option<&[PathBuf]>) -> Result<Shared, Diagnostics> {
    let mut diags = Diagnostics::default();
    let all = load::Options { allow_empty: true };
    let paths = paths.map_or_else(|| env.manifests.clone(), <[PathBuf]>::to_vec);
    let shared = load::load(&paths, all, &mut diags);
    let overlays = load::load(&env.overlays, all, &mut diags);
    if !diags.0.is_empty() {
        return Err(diags);
    }
    let parsed =
        |doc: &Value| address(doc).and_then(|(k, n)| k.parse().ok().map(|k| Address::new(k, n)));
    let declared: BTreeSet<Address> = shared
        .docs
        .iter()
        .filter_map(|d| parsed(&d.value))
        .collect();
    let left_out = overlays
        .docs
        .iter()
        .filter(|d| d.value.pointer("/metadata/absent") == Some(&Value::Bool(true)))
        .filter_map(|d| Some((parsed(&d.value)?, overlays.files[d.file].path.clone())))
        .filter(|(a, _)| declared.contains(a))
        .collect();
    Ok(Shared { declared, left_out })
}

/// The overlay document `import --env` writes for a resource the shared manifests declare:
/// only `metadata.adopt` (`adopt`: `true`, or the connector's id), merged into the shared
/// document in environment `env` alone, so the spec stays the shared one and the next plan
/// shows what adopting it changes.
pub fn adoption(address: &Address, adopt: Value, env: &str) -> String {
    let doc = serde_json::json!({
        "kind": address.kind.as_str(),
        "metadata": { "name": address.name, "adopt": adopt },
    });
    let body = serde_yaml::to_string(&doc).unwrap_or_default();
    format!(
        "# {address}: found in AWS by `outbound import --env {env}`. The shared manifests declare\n\
         # it, so this overlay only marks it for the next plan of `{env}` to adopt (apply records\n\
         # it in the state); the shared document's spec is what that plan compares with AWS.\n\
         # Once applied, the marker changes nothing.\n{body}"
    )
}

fn strings_of<'a>(value: &'a Value, at: String, out: &mut Vec<(String, &'a str)>) {
    match value {
        Value::String(s) => out.push((at, s)),
        Value::Object(map) => {
            for (k, v) in map {
                strings_of(
                    v,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                strings_of(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn env(dir: &Path) -> Environment {
        Environment {
            name: "staging".into(),
            account: "111122223333".into(),
            region: "eu-west-1".into(),
            state: "s.json".into(),
            manifests: vec![dir.join("manifests")],
            overlays: vec![dir.join("environments/staging")],
            values: BTreeMap::from([("host".to_owned(), "staging.partner.example".to_owned())]),
            role: None,
            rate_limit: None,
        }
    }

    fn write(dir: &Path, file: &str, text: &str) {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    const SHARED: &str = "apiVersion: outbound/v1
kind: Connection
metadata: { name: orders }
spec:
  authorizationType: API_KEY
  authParameters:
    apiKeyAuthParameters: { apiKeyName: x-api-key, apiKeyValue: { fromEnv: OUTBOUND_TEST_UNSET_KEY } }
    invocationHttpParameters:
      headerParameters:
        - { key: X-Env, value: shared }
        - { key: X-Keep, value: kept }
---
apiVersion: outbound/v1
kind: ApiDestination
metadata: { name: orders }
spec:
  connection: orders
  invocationEndpoint: https://${values.host}/orders
  httpMethod: POST
  invocationRateLimitPerSecond: 10
---
apiVersion: outbound/v1
kind: ApiDestination
metadata: { name: legacy }
spec:
  connection: orders
  invocationEndpoint: https://legacy.example/x
  httpMethod: POST
";

    #[test]
    fn overlays_values_and_absent_make_the_environment_set() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "manifests/all.yaml", SHARED);
        write(
            dir.path(),
            "environments/staging/o.yaml",
            "apiVersion: outbound/v1
kind: Connection
metadata: { name: orders }
spec:
  authParameters:
    invocationHttpParameters:
      headerParameters:
        - { key: X-Env, value: '${env.name}' }
---
kind: ApiDestination
metadata: { name: legacy, absent: true }
---
apiVersion: outbound/v1
kind: ApiDestination
metadata: { name: only-staging }
spec:
  connection: orders
  description: costs $${literal}
  invocationEndpoint: https://staging.example/x
  httpMethod: GET
",
        );
        let v = validate(&env(dir.path()), None, load::Options::default(), false);
        assert!(v.warnings.is_empty());
        let desired = v.desired.unwrap();
        let mut names: Vec<String> = desired.resources.keys().map(ToString::to_string).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "ApiDestination/only-staging",
                "ApiDestination/orders",
                "Connection/orders"
            ]
        );
        let json = |a: &str| {
            let r = desired
                .resources
                .values()
                .find(|r| r.address.to_string() == a)
                .unwrap();
            r.spec.aws_json(&|_, _| None)
        };
        let c = json("Connection/orders");
        assert_eq!(
            c.pointer("/authParameters/invocationHttpParameters/headerParameters")
                .unwrap(),
            &serde_json::json!([{"key": "X-Env", "value": "staging"}, {"key": "X-Keep", "value": "kept"}])
        );
        assert_eq!(
            json("ApiDestination/orders")["invocationEndpoint"],
            "https://staging.partner.example/orders"
        );
        assert_eq!(
            json("ApiDestination/only-staging")["description"],
            "costs ${literal}"
        );
    }

    #[test]
    fn a_problem_in_an_overlay_field_names_the_overlay_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "manifests/all.yaml", SHARED);
        write(
            dir.path(),
            "environments/staging/o.yaml",
            "kind: ApiDestination
metadata: { name: orders }
spec:
  httpMethod: FETCH
  invocationEndpoint: https://${values.hots}/x
---
kind: Connection
metadata: { name: nope, absent: true }
",
        );
        let v = validate(&env(dir.path()), None, load::Options::default(), false);
        let diags = v.desired.unwrap_err();
        let overlay = dir.path().join("environments/staging/o.yaml");
        let shown: Vec<String> = diags
            .0
            .iter()
            .map(|d| {
                format!(
                    "{}:{} {}",
                    d.file.strip_prefix(dir.path()).unwrap().display(),
                    d.line.unwrap(),
                    d.path.clone().unwrap_or_default()
                )
            })
            .collect();
        assert!(diags.0.iter().all(|d| d.file == overlay), "{diags}");
        assert!(
            shown.contains(&"environments/staging/o.yaml:4 spec.httpMethod".to_owned()),
            "{shown:?}"
        );
        assert!(
            shown.contains(&"environments/staging/o.yaml:5 spec.invocationEndpoint".to_owned()),
            "{shown:?}"
        );
        assert!(
            shown.contains(&"environments/staging/o.yaml:8 metadata.absent".to_owned()),
            "{shown:?}"
        );
        // The failed placeholder alone, not also the pattern its raw text breaks.
        let endpoint = shown
            .iter()
            .filter(|s| s.ends_with("spec.invocationEndpoint"))
            .count();
        assert_eq!(endpoint, 1, "{diags}");
    }

    #[test]
    fn an_adoption_overlay_holds_only_the_marker_and_quotes_what_yaml_would_type() {
        let a = Address::new(crate::resource::Kind::Connector, "true".to_owned());
        let text = adoption(&a, Value::String("c-0123456789abcdef0".into()), "staging");
        assert!(
            text.starts_with("# Connector/true: found in AWS by `outbound import --env staging`")
        );
        let doc: Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(
            doc,
            serde_json::json!({"kind": "Connector", "metadata": {"name": "true", "adopt": "c-0123456789abcdef0"}})
        );
    }

    #[test]
    fn shared_names_the_shared_addresses_and_what_overlays_leave_out() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            "manifests/c.yaml",
            "kind: Connection\nmetadata: { name: a }\n---\nkind: Connection\nmetadata: { name: b }\n",
        );
        write(
            d,
            "environments/staging/o.yaml",
            "kind: Connection\nmetadata: { name: b, absent: true }\n---\nkind: Connection\nmetadata: { name: own }\n",
        );
        let s = shared(&env(d), None).unwrap();
        let conn = |n: &str| Address::new(crate::resource::Kind::Connection, n.to_owned());
        assert_eq!(s.declared, [conn("a"), conn("b")].into());
        assert_eq!(
            s.left_out,
            [(conn("b"), d.join("environments/staging/o.yaml"))].into()
        );
    }

    #[test]
    fn arns_of_another_account_or_region() {
        let e = Environment {
            manifests: vec![],
            overlays: vec![],
            ..env(Path::new("."))
        };
        let doc = serde_json::json!({"spec": {
            "connectionArn": "arn:aws:events:us-east-1:999999999999:connection/x/1",
            "accessRole": "arn:aws:iam::999999999999:role/r",
            "loggingRole": "arn:aws:iam::111122223333:role/ok",
        }});
        let (mut errors, mut warnings) = (Vec::new(), Vec::new());
        check_arns(&doc, &e, &mut errors, &mut warnings);
        let errors: Vec<&str> = errors.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            errors,
            [
                "the connection is in account 999999999999, environment `staging` in 111122223333",
                "the connection is in us-east-1, environment `staging` in eu-west-1"
            ]
        );
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].pointer, "/spec/accessRole");
    }
}
