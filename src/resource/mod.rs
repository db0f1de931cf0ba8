//! The three kinds of resource outbound manages: addresses, manifest documents and specs.

pub mod api_destination;
pub mod certificate;
pub mod connection;
pub mod connector;
pub mod expiry;
pub mod ids;
pub mod json;
pub mod path;
pub mod patterns;
pub mod problem;
pub mod profile;
pub mod rules;
pub mod secret;

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use api_destination::ApiDestinationSpec;
pub use certificate::CertificateSpec;
pub use connection::ConnectionSpec;
pub use connector::ConnectorSpec;
pub use ids::{Arn, ConnectorId, ResourceId};
pub use json::SpecJson;
pub use path::FieldPath;
pub use profile::ProfileSpec;

use rules::{Rules, Sends};

/// The kinds of resource, in the order a plan lists them. A kind comes after every kind
/// its references name (`rules::Reference::target`): the planner relies on it (a test checks
/// it).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum Kind {
    Connection,
    ApiDestination,
    Certificate,
    Profile,
    Connector,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Connection,
        Kind::ApiDestination,
        Kind::Certificate,
        Kind::Profile,
        Kind::Connector,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Connection => "Connection",
            Kind::ApiDestination => "ApiDestination",
            Kind::Certificate => "Certificate",
            Kind::Profile => "Profile",
            Kind::Connector => "Connector",
        }
    }

    /// The kind's rules: the registry of kinds, one line per kind.
    pub fn rules(self) -> &'static Rules {
        match self {
            Kind::Connection => &connection::RULES,
            Kind::ApiDestination => &api_destination::RULES,
            Kind::Certificate => &certificate::RULES,
            Kind::Profile => &profile::RULES,
            Kind::Connector => &connector::RULES,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown kind `{s}`"))
    }
}

/// `KIND/NAME`: the address of a resource everywhere (CLI, plan, state).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub kind: Kind,
    pub name: String,
}

impl Address {
    pub fn new(kind: Kind, name: impl Into<String>) -> Self {
        Address {
            kind,
            name: name.into(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

impl FromStr for Address {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, name) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not an address of the form KIND/NAME"))?;
        if name.is_empty() {
            return Err(format!("`{s}` has no name after the `/`"));
        }
        Ok(Address::new(kind.parse()?, name))
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The only `apiVersion` this release reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ApiVersion {
    #[serde(rename = "outbound/v1")]
    V1,
}

/// `metadata:` of every document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    /// The resource's name: the AWS `Name` of connections and API destinations, the
    /// `outbound:name` tag of connectors.
    #[schemars(length(min = 1, max = 64), regex(pattern = patterns::NAME))]
    pub name: String,
    /// Refuse any plan that would delete or replace this resource.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
    /// Take over this resource, which exists in AWS but in no state (written by `outbound
    /// import`): `true` for a connection or API destination (found by its name), its AWS id
    /// for a connector (`c-…`), certificate (`cert-…`) or profile (`p-…`). The next plan
    /// shows an `adopt` action; once
    /// applied, the marker changes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<Adopt>,
}

/// `metadata.adopt`: `true`, or an AWS id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Adopt {
    /// `adopt: true` (a connection or API destination, by its name); `false` is no marker.
    Flag(bool),
    /// `adopt: c-…` (`cert-…`, `p-…`): the connector (certificate, profile) to take over.
    Id(String),
}

/// One manifest document of a known kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Doc<S> {
    pub api_version: ApiVersion,
    pub metadata: Metadata,
    pub spec: S,
}

/// Every manifest document, discriminated by `kind`; the root of `outbound schema`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind")]
#[schemars(title = "outbound manifest document")]
pub enum Manifest {
    Connection(Doc<ConnectionSpec>),
    ApiDestination(Doc<ApiDestinationSpec>),
    Certificate(Doc<CertificateSpec>),
    Profile(Doc<ProfileSpec>),
    Connector(Doc<ConnectorSpec>),
}

/// A validated spec of any kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    Connection(ConnectionSpec),
    ApiDestination(ApiDestinationSpec),
    Certificate(CertificateSpec),
    Profile(ProfileSpec),
    Connector(ConnectorSpec),
}

impl Spec {
    pub fn kind(&self) -> Kind {
        match self {
            Spec::Connection(_) => Kind::Connection,
            Spec::ApiDestination(_) => Kind::ApiDestination,
            Spec::Certificate(_) => Kind::Certificate,
            Spec::Profile(_) => Kind::Profile,
            Spec::Connector(_) => Kind::Connector,
        }
    }

    /// A spec of `kind` from its manifest-shaped JSON.
    pub fn from_json(kind: Kind, json: &SpecJson) -> Result<Spec, serde_json::Error> {
        Ok(match kind {
            Kind::Connection => Spec::Connection(json.typed()?),
            Kind::ApiDestination => Spec::ApiDestination(json.typed()?),
            Kind::Certificate => Spec::Certificate(json.typed()?),
            Kind::Profile => Spec::Profile(json.typed()?),
            Kind::Connector => Spec::Connector(json.typed()?),
        })
    }

    /// Cross-field rules of the spec's kind.
    pub fn check(&self, out: &mut Vec<problem::Problem>) {
        match self {
            Spec::Connection(s) => s.check(out),
            Spec::ApiDestination(s) => s.check(out),
            Spec::Certificate(s) => s.check(out),
            Spec::Profile(s) => s.check(out),
            Spec::Connector(s) => s.check(out),
        }
    }

    /// Every secret reference with its JSON pointer (none for a connection to deauthorize:
    /// its secrets need not resolve).
    pub fn secret_refs(&self) -> Vec<(String, &secret::SecretRef)> {
        match self {
            Spec::Connection(c) if !c.deauthorized => {
                c.secrets().into_iter().map(|(p, r, _)| (p, r)).collect()
            }
            Spec::Certificate(c) => c.secrets(),
            _ => Vec::new(),
        }
    }

    /// The spec as YAML, in the field order of its type (the schema's order).
    pub fn yaml(&self) -> Result<serde_yaml::Value, String> {
        let yaml = match self {
            Spec::Connection(s) => serde_yaml::to_value(s),
            Spec::ApiDestination(s) => serde_yaml::to_value(s),
            Spec::Certificate(s) => serde_yaml::to_value(s),
            Spec::Profile(s) => serde_yaml::to_value(s),
            Spec::Connector(s) => serde_yaml::to_value(s),
        };
        yaml.map_err(|e| e.to_string())
    }

    /// The spec as manifest-shaped JSON, references by name.
    pub fn json(&self) -> serde_json::Value {
        let json = match self {
            Spec::Connection(s) => serde_json::to_value(s),
            Spec::ApiDestination(s) => serde_json::to_value(s),
            Spec::Certificate(s) => serde_json::to_value(s),
            Spec::Profile(s) => serde_json::to_value(s),
            Spec::Connector(s) => serde_json::to_value(s),
        };
        // Specs are plain structs of strings, numbers and maps: they always serialize.
        json.unwrap_or_default()
    }
}

impl Manifest {
    pub fn into_parts(self) -> (Metadata, Spec) {
        match self {
            Manifest::Connection(d) => (d.metadata, Spec::Connection(d.spec)),
            Manifest::ApiDestination(d) => (d.metadata, Spec::ApiDestination(d.spec)),
            Manifest::Certificate(d) => (d.metadata, Spec::Certificate(d.spec)),
            Manifest::Profile(d) => (d.metadata, Spec::Profile(d.spec)),
            Manifest::Connector(d) => (d.metadata, Spec::Connector(d.spec)),
        }
    }
}

impl Spec {
    /// The spec as AWS will hold it: each reference's names become the ids or ARNs
    /// `identity_of` knows (a name it does not know is left out), `deauthorized` is not a
    /// field of the resource.
    pub fn aws_json(&self, identity_of: Identify<'_>) -> serde_json::Value {
        let mut json = self.json();
        resolve_references(self.kind(), &mut json, identity_of);
        strip_references(json)
    }

    /// The addresses the spec names (its dependencies).
    pub fn references(&self) -> Vec<Address> {
        references(self.kind(), &self.json())
    }
}

/// The id or ARN (as `Sends` asks) of the resource at an address, where known.
pub type Identify<'a> = &'a dyn Fn(&Address, Sends) -> Option<String>;

/// The names at a dotted `path` of a spec: a string, or a list of strings.
fn names_at(spec: &serde_json::Value, path: &str) -> Vec<String> {
    let pointer = format!("/{}", path.replace('.', "/"));
    match spec.pointer(&pointer) {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The object holding the last segment of a dotted `path`, and that segment.
fn parent_mut<'a>(
    spec: &'a mut serde_json::Value,
    path: &'a str,
) -> Option<(&'a mut serde_json::Map<String, serde_json::Value>, &'a str)> {
    let (parent, leaf) = match path.rsplit_once('.') {
        Some((p, l)) => (format!("/{}", p.replace('.', "/")), l),
        None => (String::new(), path),
    };
    spec.pointer_mut(&parent)?
        .as_object_mut()
        .map(|o| (o, leaf))
}

/// The addresses a spec of `kind` (manifest-shaped JSON, a desired or a recorded one) names
/// through its kind's references.
pub fn references(kind: Kind, spec: &serde_json::Value) -> Vec<Address> {
    kind.rules()
        .references
        .iter()
        .flat_map(|r| {
            names_at(spec, r.field)
                .into_iter()
                .map(|n| Address::new(r.target, n))
        })
        .collect()
}

/// Replaces each reference of `kind` in `spec` by what AWS gets (`sends_in`); returns the
/// `sends_in` paths where a name could not be resolved (known after apply).
pub fn resolve_references(
    kind: Kind,
    spec: &mut serde_json::Value,
    identity_of: Identify<'_>,
) -> Vec<&'static str> {
    let mut unknown = Vec::new();
    for r in kind.rules().references {
        let names = names_at(spec, r.field);
        if names.is_empty() {
            continue;
        }
        let resolved: Vec<Option<String>> = names
            .iter()
            .map(|n| identity_of(&Address::new(r.target, n.clone()), r.sends))
            .collect();
        if resolved.iter().any(Option::is_none) {
            unknown.push(r.sends_in);
        }
        let Some((parent, leaf)) = parent_mut(spec, r.sends_in) else {
            continue;
        };
        let resolved: Vec<String> = resolved.into_iter().flatten().collect();
        if r.list {
            let mut all: Vec<String> = names_at_object(parent, leaf);
            for id in resolved {
                if !all.contains(&id) {
                    all.push(id);
                }
            }
            all.sort();
            parent.insert(leaf.to_owned(), all.into());
        } else if let Some(v) = resolved.into_iter().next() {
            parent.insert(leaf.to_owned(), v.into());
        }
    }
    unknown
}

fn names_at_object(o: &serde_json::Map<String, serde_json::Value>, key: &str) -> Vec<String> {
    match o.get(key) {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Puts back into `json` (a resolved spec) the reference fields of `original` (the spec as
/// the manifest gives it): the names, and for a list reference the manifest's own list of
/// ids, so resolving it again at apply time starts from the manifest, not from ids resolved
/// at plan time (a certificate replaced meanwhile has a new id).
pub fn with_reference_names(
    kind: Kind,
    json: &mut serde_json::Value,
    original: &serde_json::Value,
) {
    for r in kind.rules().references {
        for path in [Some(r.field), r.list.then_some(r.sends_in)]
            .into_iter()
            .flatten()
        {
            let pointer = format!("/{}", path.replace('.', "/"));
            let value = original.pointer(&pointer).cloned();
            if let Some((parent, leaf)) = parent_mut(json, path) {
                match value {
                    Some(v) => parent.insert(leaf.to_owned(), v),
                    None => parent.remove(leaf),
                };
            }
        }
    }
}

/// A recorded or desired spec without the fields that are not attributes of the resource in
/// AWS (`deauthorized`, and the fields of every kind's references).
pub fn strip_references(mut spec: serde_json::Value) -> serde_json::Value {
    if let Some(o) = spec.as_object_mut() {
        o.remove("deauthorized");
    }
    for kind in Kind::ALL {
        for r in kind.rules().references {
            if let Some((parent, leaf)) = parent_mut(&mut spec, r.field) {
                parent.remove(leaf);
            }
        }
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The registry covers every kind, and a kind comes after the kinds it references.
    #[test]
    fn every_kind_is_registered_and_ordered_after_its_references() {
        for kind in Kind::ALL {
            let rules = kind.rules();
            assert_eq!(rules.kind, kind, "{kind}");
            assert_eq!(kind.as_str().parse::<Kind>(), Ok(kind));
            for r in rules.references {
                assert!(r.target < kind, "{kind}.{} names {}", r.field, r.target);
            }
        }
    }

    #[test]
    fn references_resolve_to_ids_and_lists_keep_their_own_ids() {
        let mut spec = serde_json::json!({
            "profileType": "LOCAL", "as2Id": "A",
            "certificates": ["a", "b"], "certificateIds": ["cert-00000000000000009"]
        });
        let known =
            |a: &Address, _: Sends| (a.name == "a").then(|| "cert-0000000000000000a".to_owned());
        let unknown = resolve_references(Kind::Profile, &mut spec, &known);
        assert_eq!(unknown, vec!["certificateIds"]);
        assert_eq!(
            spec["certificateIds"],
            serde_json::json!(["cert-00000000000000009", "cert-0000000000000000a"])
        );
        let stripped = strip_references(spec.clone());
        assert!(stripped.get("certificates").is_none());
        let original = serde_json::json!({"certificates": ["a", "b"], "certificateIds": ["cert-00000000000000009"]});
        with_reference_names(Kind::Profile, &mut spec, &original);
        assert_eq!(spec["certificateIds"], original["certificateIds"]);
        assert_eq!(
            references(Kind::Profile, &spec),
            vec![
                Address::new(Kind::Certificate, "a"),
                Address::new(Kind::Certificate, "b")
            ]
        );
    }
}
