//! What AWS holds, as plain data: the live view `aws` converts SDK answers into, `observe`
//! gathers, and `plan` and `drift` consume. No I/O.

use std::collections::{BTreeMap, BTreeSet};

use crate::manifest::DesiredState;
use crate::resource::{Address, Arn, ConnectorId, ResourceId, SpecJson};
use crate::state::State;

/// A resource as AWS has it.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    /// The identity AWS knows it by: the name (connections, API destinations) or `c-…` id.
    pub id: ResourceId,
    pub arn: Arn,
    /// The spec in manifest shape (camelCase, tags as a map without `aws:` keys); secret
    /// values AWS does not return are `{"$sensitive": true}`.
    pub spec: SpecJson,
    /// `ConnectionState`, `ApiDestinationState` or connector `Status`.
    pub status: Option<String>,
    /// `StateReason` of a connection, `ErrorMessage` of a connector.
    pub status_reason: Option<String>,
    /// RFC 3339; the drift marker of connections (and API destinations).
    pub last_modified: Option<String>,
    /// RFC 3339 `CreationTime` of a connection or API destination (connectors have none):
    /// the evidence that an interrupted creation made it (see `observe`).
    pub created: Option<String>,
    /// Tags including the reserved `outbound:` ones (Transfer Family kinds; empty for others).
    pub tags: BTreeMap<String, String>,
    /// RFC 3339 end of validity (a certificate's `NotAfterDate`): plan and drift report it
    /// when it is near or past.
    pub expires: Option<String>,
}

/// A connector as `ListConnectors` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedConnector {
    pub id: ConnectorId,
    pub arn: Arn,
    pub url: Option<String>,
}

/// What `observe` found for one address.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub live: Option<Live>,
    /// Found through an interrupted creation (pending in state, or tagged with our lineage).
    pub adopted: bool,
    /// Others of its kind (one AWS assigns the ids of) tagged with this address and our
    /// lineage: copies left by an interrupted create or replacement, to be deleted.
    pub leftovers: Vec<ResourceId>,
}

/// Every address the manifests or the state name (pending creations included): what is
/// observed, planned and reported on.
pub fn addresses<'a>(desired: &'a DesiredState, state: &'a State) -> BTreeSet<&'a Address> {
    desired
        .resources
        .keys()
        .chain(state.resources.keys())
        .chain(state.pending.keys())
        .collect()
}
