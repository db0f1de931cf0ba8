//! Typed AWS identities: an [`Arn`], a connector's [`ConnectorId`], and the [`ResourceId`] a
//! record or live resource is known by. Each serializes as the bare string it wraps, so the
//! state, saved plans and output are the same bytes as when they were strings.

use std::fmt;

use serde::{Deserialize, Serialize};

impl super::Kind {
    /// Whether AWS assigns the ids of the kind ([`Identity::Tagged`](super::rules::Identity):
    /// connectors, profiles, certificates): what outbound creates of it is tagged, and found
    /// again by its recorded id or its tags (`observe`), whatever the kind.
    pub fn assigns_ids(self) -> bool {
        self.ownership_tags().is_some()
    }

    /// The keys of the tags that hold a resource's `metadata.name` and the state's lineage,
    /// for a kind AWS assigns the ids of (its [`Identity::Tagged`](super::rules::Identity)).
    pub fn ownership_tags(self) -> Option<(&'static str, &'static str)> {
        match self.rules().identity {
            super::rules::Identity::Tagged { name, lineage } => Some((name, lineage)),
            super::rules::Identity::Name => None,
        }
    }
}

/// An ARN as AWS hands it back; opaque to outbound (compared, sent back, printed). Empty
/// where an answer carries none (an update: the recorded ARN stands).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Arn(String);

impl Arn {
    pub fn new(arn: impl Into<String>) -> Self {
        Arn(arn.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Arn {
    fn from(arn: String) -> Self {
        Arn(arn)
    }
}

impl From<&str> for Arn {
    fn from(arn: &str) -> Self {
        Arn(arn.to_owned())
    }
}

/// The id AWS assigns a Transfer Family connector: `c-` and then letters and digits (AWS
/// gives 17 lowercase hex digits; any `c-` + alphanumerics is accepted so ids from an
/// emulator or an older state still read). Only [`ConnectorId::parse`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConnectorId(String);

/// A string that is not a connector id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a connector id (c- followed by letters and digits)")]
pub struct NotAConnectorId(pub String);

impl ConnectorId {
    pub const PREFIX: &'static str = "c-";

    pub fn parse(id: &str) -> Result<Self, NotAConnectorId> {
        match id.strip_prefix(Self::PREFIX) {
            Some(rest) if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Ok(ConnectorId(id.to_owned()))
            }
            _ => Err(NotAConnectorId(id.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConnectorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ConnectorId {
    type Error = NotAConnectorId;

    fn try_from(id: String) -> Result<Self, Self::Error> {
        ConnectorId::parse(&id)
    }
}

impl From<ConnectorId> for String {
    fn from(id: ConnectorId) -> Self {
        id.0
    }
}

/// The identity AWS knows a resource by: its name (connections, API destinations) or its
/// [`ConnectorId`] (connectors). Which one it is follows from the kind of the address it
/// belongs to, not from the string (a connection may be named `c-1`), so it stays one
/// string; [`ResourceId::connector`] gives the typed id where a connector's is needed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResourceId(String);

impl ResourceId {
    /// The id of a resource AWS knows by its name.
    pub fn name(name: impl Into<String>) -> Self {
        ResourceId(name.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The connector id this is, if it is one.
    pub fn connector(&self) -> Result<ConnectorId, NotAConnectorId> {
        ConnectorId::parse(&self.0)
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<ConnectorId> for ResourceId {
    fn from(id: ConnectorId) -> Self {
        ResourceId(id.0)
    }
}

impl PartialEq<ConnectorId> for ResourceId {
    fn eq(&self, other: &ConnectorId) -> bool {
        self.0 == other.0
    }
}

/// Compared with plain strings (tests, tags, answers) without a conversion.
macro_rules! eq_str {
    ($($t:ty),*) => {$(
        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    )*};
}

eq_str!(Arn, ConnectorId, ResourceId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connector_ids_start_with_c_dash() {
        assert!(ConnectorId::parse("c-0123456789abcdef0").is_ok());
        assert!(ConnectorId::parse("c-1").is_ok());
        for bad in ["", "c-", "acme", "c_1", "c-1/2", "C-1"] {
            assert!(ConnectorId::parse(bad).is_err(), "{bad}");
        }
        let id: Result<ConnectorId, _> = serde_json::from_str("\"x-1\"");
        assert!(id.is_err());
    }

    #[test]
    fn ids_serialize_as_bare_strings() {
        let id = ConnectorId::parse("c-1").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"c-1\"");
        assert_eq!(
            serde_json::to_string(&Arn::new("arn:x")).unwrap(),
            "\"arn:x\""
        );
        let r: ResourceId = serde_json::from_str("\"acme\"").unwrap();
        assert_eq!(r.to_string(), "acme");
        assert!(r.connector().is_err());
    }
}
