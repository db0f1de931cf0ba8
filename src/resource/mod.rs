//! The three kinds of resource outbound manages: addresses, manifest documents and specs.

pub mod api_destination;
pub mod connection;
pub mod connector;
pub mod ids;
pub mod json;
pub mod path;
pub mod patterns;
pub mod problem;
pub mod rules;
pub mod secret;

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use api_destination::ApiDestinationSpec;
pub use connection::ConnectionSpec;
pub use connector::ConnectorSpec;
pub use ids::{Arn, ConnectorId, ResourceId};
pub use json::SpecJson;
pub use path::FieldPath;

/// The kinds of resource, in the order a plan lists them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum Kind {
    Connection,
    ApiDestination,
    Connector,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Connection, Kind::ApiDestination, Kind::Connector];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Connection => "Connection",
            Kind::ApiDestination => "ApiDestination",
            Kind::Connector => "Connector",
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
    /// import`): `true` for a connection or API destination (found by its name), the
    /// connector's id (`c-…`) for a connector. The next plan shows an `adopt` action; once
    /// applied, the marker changes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<Adopt>,
}

/// `metadata.adopt`: `true`, or a connector's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Adopt {
    /// `adopt: true` (a connection or API destination, by its name); `false` is no marker.
    Flag(bool),
    /// `adopt: c-…`: the connector to take over.
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
    Connector(Doc<ConnectorSpec>),
}

/// A validated spec of any kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    Connection(ConnectionSpec),
    ApiDestination(ApiDestinationSpec),
    Connector(ConnectorSpec),
}

impl Spec {
    pub fn kind(&self) -> Kind {
        match self {
            Spec::Connection(_) => Kind::Connection,
            Spec::ApiDestination(_) => Kind::ApiDestination,
            Spec::Connector(_) => Kind::Connector,
        }
    }
}

impl Manifest {
    pub fn into_parts(self) -> (Metadata, Spec) {
        match self {
            Manifest::Connection(d) => (d.metadata, Spec::Connection(d.spec)),
            Manifest::ApiDestination(d) => (d.metadata, Spec::ApiDestination(d.spec)),
            Manifest::Connector(d) => (d.metadata, Spec::Connector(d.spec)),
        }
    }
}

impl Spec {
    /// The spec as AWS will hold it: `connection: name` becomes `connectionArn` (when
    /// `arn_of` knows the ARN), `deauthorized` is not a field of the resource.
    pub fn aws_json(&self, arn_of: &dyn Fn(&Address) -> Option<Arn>) -> serde_json::Value {
        let json = match self {
            Spec::Connection(s) => serde_json::to_value(s),
            Spec::ApiDestination(s) => serde_json::to_value(s),
            Spec::Connector(s) => serde_json::to_value(s),
        };
        // Specs are plain structs of strings, numbers and maps: they always serialize.
        let mut json = json.unwrap_or_default();
        if let (Spec::ApiDestination(s), Some(o)) = (self, json.as_object_mut())
            && let Some(name) = &s.connection
        {
            o.remove("connection");
            if let Some(arn) = arn_of(&Address::new(Kind::Connection, name.clone())) {
                o.insert("connectionArn".into(), arn.as_str().into());
            }
        }
        strip_references(json)
    }
}

/// A recorded or desired spec without the fields that are not attributes of the resource in
/// AWS (`deauthorized`, the `connection` name).
pub fn strip_references(mut spec: serde_json::Value) -> serde_json::Value {
    if let Some(o) = spec.as_object_mut() {
        o.remove("deauthorized");
        o.remove("connection");
    }
    spec
}
