//! Live state as plain data, read concurrently with a bound and the fewest calls:
//! - connections and API destinations that outbound changed last are read from their List
//!   pages (one `ListConnections` and one `ListApiDestinations`, paginated): when the page
//!   shows the `LastModifiedTime` and state recorded after outbound's last change, the
//!   recorded spec is the live spec (see [`unchanged`]);
//! - every other resource is described: changed outside, unhealthy, not in state, pending,
//!   without a recorded timestamp, absent from its page, or all of them with
//!   [`Refresh::Full`]; connectors (which have no timestamp) always, concurrently with the
//!   List calls;
//! - `ListConnectors` only when a connector must be found (a new one, or one whose creation
//!   or replacement was interrupted: its copies are found by their tags).

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::{self, StreamExt};
use serde_json::Value;

use crate::aws::cloud::Observe;
use crate::aws::events::Listed;
use crate::aws::{AwsError, Live};
use crate::live::Observed;
use crate::manifest::DesiredState;
use crate::resource::rules::Health;
use crate::resource::{Address, Kind, ResourceId, Spec};
use crate::state::{Record, State};

/// What AWS holds for each address the manifests or the state name; an address AWS could
/// not be asked about carries the error.
pub type Observation = BTreeMap<Address, Result<Observed, AwsError>>;

/// How much to describe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Refresh {
    /// Read unchanged connections and API destinations from their List pages.
    #[default]
    Changed,
    /// Describe every resource.
    Full,
}

/// How the resources were read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reads {
    /// Connections and API destinations whose List page showed them unchanged.
    pub from_list: usize,
    /// Resources described (connectors found through `ListConnectors` included).
    pub described: usize,
}

/// Reads every resource `desired` or `state` names, at most `parallelism` calls at a time,
/// through `aws` (the real clients, or the unit tests' double).
pub async fn observe<A: Observe>(
    aws: &A,
    desired: &DesiredState,
    state: &State,
    parallelism: usize,
    refresh: Refresh,
) -> (Observation, Reads) {
    let addresses = crate::live::addresses(desired, state);
    let known: Vec<&Address> = addresses
        .iter()
        .copied()
        .filter(|a| {
            !a.kind.assigns_ids()
                || state.resources.contains_key(*a)
                || adopted(desired, a).is_some()
        })
        .collect();
    // The kinds known by an AWS-assigned id (connectors, certificates, profiles) are
    // searched by tag when no id is recorded, and also whenever a create or replacement of
    // the address was interrupted (still pending): the copy it made may be in AWS with no id
    // in state (issue 10 item 1).
    let searched: Vec<&Address> = addresses
        .iter()
        .copied()
        .filter(|a| {
            a.kind.assigns_ids()
                && (!state.resources.contains_key(*a) || state.pending.contains_key(*a))
                && (state.resources.contains_key(*a) || adopted(desired, a).is_none())
        })
        .collect();
    let (listable, direct): (Vec<&Address>, Vec<&Address>) = known
        .into_iter()
        .partition(|a| refresh == Refresh::Changed && listable(a, state));
    // 1. Describe what must be, while the List pages of the rest are read.
    let wants = |kind: Kind| listable.iter().any(|a| a.kind == kind);
    let connections = listed(wants(Kind::Connection), aws.listed_connections());
    let destinations = listed(wants(Kind::ApiDestination), aws.listed_api_destinations());
    let (mut out, (connections, destinations)) = if parallelism <= 1 {
        // One call at a time, in a fixed order: `--parallelism 1` makes a run's calls
        // repeatable (the fault matrix counts on it).
        let lists = (connections.await, destinations.await);
        (
            describe(aws, desired, state, &direct, parallelism).await,
            lists,
        )
    } else {
        let lists = async { tokio::join!(connections, destinations) };
        tokio::join!(describe(aws, desired, state, &direct, parallelism), lists)
    };
    // 2. What the pages show unchanged is read; the rest is described.
    let mut again = Vec::new();
    let mut from_list = 0;
    for a in listable {
        let page = match a.kind {
            Kind::Connection => &connections,
            _ => &destinations,
        };
        let live = state
            .resources
            .get(a)
            .zip(page.get(a.name.as_str()))
            .and_then(|(record, entry)| unchanged(a.kind, record, entry));
        match live {
            Some(live) => {
                from_list += 1;
                let observed = Observed {
                    live: Some(live),
                    adopted: false,
                    leftovers: Vec::new(),
                };
                out.insert(a.clone(), Ok(observed));
            }
            None => again.push(a),
        }
    }
    out.extend(describe(aws, desired, state, &again, parallelism).await);
    if !searched.is_empty() {
        let mut found = find_tagged(aws, desired, state, &searched, parallelism).await;
        for a in searched {
            let tagged = found.remove(a).unwrap_or(Ok(Vec::new()));
            let recorded = out.remove(a);
            out.insert(a.clone(), settle(a, state, recorded, tagged));
        }
    }
    let reads = Reads {
        from_list,
        described: out.len() - from_list,
    };
    (out, reads)
}

/// A connection or API destination that could be read from its List page: outbound
/// recorded it, with the `LastModifiedTime` of its last change, and no creation or deletion
/// of it was interrupted.
fn listable(address: &Address, state: &State) -> bool {
    matches!(address.kind, Kind::Connection | Kind::ApiDestination)
        && !state.pending.contains_key(address)
        && state
            .resources
            .get(address)
            .is_some_and(|r| r.live.last_modified.is_some())
}

/// One List of a kind by name, when `wanted`; a failed List only means describing instead.
async fn listed(
    wanted: bool,
    list: impl Future<Output = Result<Vec<Listed>, AwsError>>,
) -> BTreeMap<String, Listed> {
    if !wanted {
        return BTreeMap::new();
    }
    match list.await {
        Ok(entries) => entries.into_iter().map(|e| (e.name.clone(), e)).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "a List call failed; describing instead");
            BTreeMap::new()
        }
    }
}

/// The live resource, when its List entry shows it as outbound left it: the same
/// `LastModifiedTime` as recorded after outbound's last change, a healthy state (the
/// recorded one, when recorded), and for a connection the same `authorizationType`. The spec
/// is then the recorded one (secret references as the `{"$sensitive": true}` AWS shows),
/// with the fields the page gives taken from the page. `None`: describe it.
pub fn unchanged(kind: Kind, record: &Record, entry: &Listed) -> Option<Live> {
    let recorded_time = record.live.last_modified.as_deref()?;
    if entry.last_modified.as_deref() != Some(recorded_time) {
        return None;
    }
    let status = entry.status.as_deref()?;
    if (kind.rules().health)(status) != Health::Healthy
        || record.live.status.as_deref().is_some_and(|s| s != status)
    {
        return None;
    }
    let mut spec = as_described(&record.spec.without_references());
    let (Some(spec_fields), Some(page_fields)) = (spec.as_object_mut(), entry.spec.as_object())
    else {
        return None;
    };
    match kind {
        Kind::Connection => {
            if spec_fields.get("authorizationType") != page_fields.get("authorizationType") {
                return None;
            }
        }
        // Every field but the description is on the page: the page's win. A page entry
        // lacking one (a rate, say) is described, not read as AWS's default (issue 15 item
        // 12).
        _ => {
            if DESTINATION_PAGE_FIELDS
                .iter()
                .any(|f| !page_fields.contains_key(*f))
            {
                return None;
            }
            spec_fields.retain(|k, _| k == "description");
            spec_fields.extend(page_fields.clone());
        }
    }
    Some(Live {
        expires: None,
        id: ResourceId::name(&entry.name),
        arn: entry.arn.clone(),
        spec: spec.into(),
        status: entry.status.clone(),
        status_reason: entry.status_reason.clone(),
        last_modified: entry.last_modified.clone(),
        created: None,
        tags: BTreeMap::new(),
    })
}

/// The fields of an API destination its List page entry carries (all but the description).
const DESTINATION_PAGE_FIELDS: [&str; 4] = [
    "connectionArn",
    "invocationEndpoint",
    "httpMethod",
    "invocationRateLimitPerSecond",
];

/// A recorded spec as Describe shows it: secret references become `{"$sensitive": true}`.
fn as_described(spec: &Value) -> Value {
    match spec {
        Value::Object(o) if o.contains_key("fromEnv") || o.contains_key("fromFile") => {
            serde_json::json!({ "$sensitive": true })
        }
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), as_described(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(as_described).collect()),
        other => other.clone(),
    }
}

/// The AWS id a manifest adopts (`metadata.adopt: c-…`, `cert-…`, `p-…`), if any.
fn adopted<'a>(desired: &'a DesiredState, address: &Address) -> Option<&'a str> {
    match desired.resources.get(address)?.adopt.as_ref()? {
        crate::manifest::Adoption::Connector(id) => Some(id.as_str()),
        crate::manifest::Adoption::Id(id) => Some(id.as_str()),
        crate::manifest::Adoption::ByName => None,
    }
}

/// One Describe per address (by its recorded id, else the connector id its manifest
/// adopts), at most `parallelism` at a time.
async fn describe<A: Observe>(
    aws: &A,
    desired: &DesiredState,
    state: &State,
    addresses: &[&Address],
    parallelism: usize,
) -> Observation {
    stream::iter(addresses.iter().copied())
        .map(|a| async move {
            let mark = state.pending.get(a);
            let id = state.resources.get(a).map_or_else(
                || adopted(desired, a).unwrap_or(a.name.as_str()),
                |r| r.id.as_str(),
            );
            let live = match a.kind {
                Kind::Connection => aws.describe_connection(id).await,
                Kind::ApiDestination => aws.describe_api_destination(id).await,
                kind => aws.describe_by_id(kind, &ResourceId::name(id)).await,
            };
            let observed = live.map(|live| Observed {
                adopted: match (mark, &live) {
                    (Some(mark), Some(live)) => {
                        !state.resources.contains_key(a) && created_since(live, mark)
                    }
                    _ => false,
                },
                live,
                leftovers: Vec::new(),
            });
            (a.clone(), observed)
        })
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await
}

/// Whether `live`, found where an interrupted creation was marked, is that creation's: AWS
/// says it was created at or after the mark was written (issue 15 item 8). A same-named
/// resource someone else made before is not adopted (the plan refuses it as unmanaged); a
/// resource AWS gives no creation time is not either. Connectors are judged by their tags
/// instead ([`settle`]).
fn created_since(live: &Live, mark: &crate::state::Pending) -> bool {
    let time = |t: &str| humantime::parse_rfc3339_weak(t).ok();
    match (live.created.as_deref().and_then(time), time(&mark.started)) {
        (Some(created), Some(started)) => created >= started,
        _ => false,
    }
}

/// One searched address (of any kind AWS assigns the ids of): the recorded resource while it
/// exists, else a copy of ours (the one whose id was saved first), else one tagged by another
/// lineage (which the plan refuses as unmanaged); every other copy of ours is a leftover to
/// delete.
fn settle(
    address: &Address,
    state: &State,
    recorded: Option<Result<Observed, AwsError>>,
    tagged: Result<Vec<Live>, AwsError>,
) -> Result<Observed, AwsError> {
    let tagged = tagged?;
    let recorded_id = state.resources.get(address).map(|r| r.id.as_str());
    let saved_id = state
        .pending
        .get(address)
        .and_then(|p| p.id.as_ref().map(ResourceId::as_str));
    let lineage_key = address.kind.ownership_tags().map_or("", |(_, l)| l);
    let (mut ours, theirs): (Vec<Live>, Vec<Live>) = tagged
        .into_iter()
        .filter(|l| Some(l.id.as_str()) != recorded_id)
        .partition(|l| l.tags.get(lineage_key) == Some(&state.lineage));
    ours.sort_by_key(|l| Some(l.id.as_str()) != saved_id);
    match recorded {
        Some(Err(e)) => Err(e),
        Some(Ok(o)) if o.live.is_some() => Ok(Observed {
            leftovers: ours.iter().map(|l| l.id.clone()).collect(),
            ..o
        }),
        _ => {
            let mut ours = ours.into_iter();
            Ok(match ours.next() {
                Some(live) => Observed {
                    live: Some(live),
                    adopted: true,
                    leftovers: ours.map(|l| l.id).collect(),
                },
                // A resource recorded but gone is deleted outside, whatever else is tagged.
                None if recorded_id.is_some() => Observed::default(),
                None => Observed {
                    live: theirs.into_iter().next(),
                    adopted: false,
                    leftovers: Vec::new(),
                },
            })
        }
    }
}

/// The resources tagged with each `wanted` name (any lineage), by kind: connectors through
/// [`find_connectors`] (which narrows what it describes by url), every other kind known by an
/// AWS-assigned id through [`find_by_id`].
async fn find_tagged<A: Observe>(
    aws: &A,
    desired: &DesiredState,
    state: &State,
    wanted: &[&Address],
    parallelism: usize,
) -> BTreeMap<Address, Result<Vec<Live>, AwsError>> {
    let (connectors, others): (Vec<&Address>, Vec<&Address>) =
        wanted.iter().partition(|a| a.kind == Kind::Connector);
    let mut out = BTreeMap::new();
    if !connectors.is_empty() {
        out.extend(find_connectors(aws, desired, state, &connectors, parallelism).await);
    }
    let kinds: BTreeSet<Kind> = others.iter().map(|a| a.kind).collect();
    for kind in kinds {
        let of_kind: Vec<&Address> = others.iter().copied().filter(|a| a.kind == kind).collect();
        out.extend(find_by_id(aws, state, kind, &of_kind, parallelism).await);
    }
    out
}

/// The resources of `kind` tagged with each `wanted` name (any lineage): one List and a
/// Describe of each id it lists, and of each id an interrupted creation saved, even when the
/// List does not show it (yet).
async fn find_by_id<A: Observe>(
    aws: &A,
    state: &State,
    kind: Kind,
    wanted: &[&Address],
    parallelism: usize,
) -> BTreeMap<Address, Result<Vec<Live>, AwsError>> {
    match aws.list_ids(kind).await {
        Ok(ids) => describe_tagged(aws, state, kind, wanted, ids, parallelism).await,
        Err(e) => all_failed(wanted, &e),
    }
}

/// Describes `ids`, and the ids interrupted creations of `wanted` saved even when a List does
/// not show them (yet), and groups what they find by the wanted address its `outbound:name`
/// tag names; the first failed Describe fails them all.
async fn describe_tagged<A: Observe>(
    aws: &A,
    state: &State,
    kind: Kind,
    wanted: &[&Address],
    mut ids: Vec<ResourceId>,
    parallelism: usize,
) -> BTreeMap<Address, Result<Vec<Live>, AwsError>> {
    for saved in wanted
        .iter()
        .filter_map(|a| state.pending.get(*a)?.id.as_ref())
    {
        if !ids.contains(saved) {
            ids.push(saved.clone());
        }
    }
    let described: Vec<Result<Option<Live>, AwsError>> = stream::iter(ids)
        .map(|id| async move { aws.describe_by_id(kind, &id).await })
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await;
    tagged_by_name(kind, wanted, described).unwrap_or_else(|e| all_failed(wanted, &e))
}

/// Every wanted address, failed with `e`.
fn all_failed(wanted: &[&Address], e: &AwsError) -> BTreeMap<Address, Result<Vec<Live>, AwsError>> {
    wanted
        .iter()
        .map(|a| ((*a).clone(), Err(e.clone())))
        .collect()
}

/// What Describes found, by the wanted address its `outbound:name` tag names; the first
/// failed Describe fails them all.
fn tagged_by_name(
    kind: Kind,
    wanted: &[&Address],
    described: Vec<Result<Option<Live>, AwsError>>,
) -> Result<BTreeMap<Address, Result<Vec<Live>, AwsError>>, AwsError> {
    let mut out: BTreeMap<Address, Result<Vec<Live>, AwsError>> = wanted
        .iter()
        .map(|a| ((*a).clone(), Ok(Vec::new())))
        .collect();
    let name_key = kind.ownership_tags().map_or("", |(n, _)| n);
    for result in described {
        let Some(live) = result? else {
            continue;
        };
        let Some(name) = live.tags.get(name_key) else {
            continue;
        };
        if let Some(Ok(found)) = out.get_mut(&Address::new(kind, name.clone())) {
            found.push(live);
        }
    }
    Ok(out)
}

/// The connectors tagged with each `wanted` name (any lineage): listed once, and described:
/// those whose url could match, and those whose id an interrupted creation saved, whatever
/// their url (issue 15 item 6: the manifest's url may have been fixed since). A creation
/// interrupted before its id was saved could have made a connector at any url: every
/// connector is described then, until that mark is resolved.
async fn find_connectors<A: Observe>(
    aws: &A,
    desired: &DesiredState,
    state: &State,
    wanted: &[&Address],
    parallelism: usize,
) -> BTreeMap<Address, Result<Vec<Live>, AwsError>> {
    let listed = match aws.list_connectors().await {
        Ok(l) => l,
        Err(e) => return all_failed(wanted, &e),
    };
    let urls: BTreeSet<Option<&str>> = wanted
        .iter()
        .map(|a| match desired.resources.get(*a).map(|r| &r.spec) {
            Some(Spec::Connector(c)) => Some(c.url.as_str()),
            _ => None,
        })
        .collect();
    let marks = wanted
        .iter()
        .filter_map(|a| Some((*a, state.pending.get(*a)?)));
    let saved: BTreeSet<&ResourceId> = marks.clone().filter_map(|(_, p)| p.id.as_ref()).collect();
    // A creation whose id was never saved: what it made is known by its tags only.
    let lost = marks
        .filter(|(_, p)| p.id.is_none() && !p.delete)
        .any(|(a, p)| !state.resources.contains_key(a) || p.replaces.is_some());
    // A pending creation without a manifest could have any url: look at all of them then.
    let any_url = urls.contains(&None) || lost;
    let candidates: Vec<ResourceId> = listed
        .into_iter()
        .map(|c| (ResourceId::from(c.id), c.url))
        .filter(|(id, url)| any_url || urls.contains(&url.as_deref()) || saved.contains(id))
        .map(|(id, _)| id)
        .collect();
    describe_tagged(aws, state, Kind::Connector, wanted, candidates, parallelism).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resource::connector::{TAG_LINEAGE, TAG_NAME};
    use crate::state::LiveMarkers;

    const T0: &str = "2026-12-02T08:00:00.123Z";
    const T1: &str = "2026-12-02T09:00:00.456Z";

    fn record(spec: Value, last_modified: Option<&str>, status: Option<&str>) -> Record {
        Record {
            id: ResourceId::name("n"),
            arn: "arn:recorded".into(),
            spec: spec.into(),
            fingerprints: BTreeMap::new(),
            protect: false,
            live: LiveMarkers {
                last_modified: last_modified.map(str::to_owned),
                status: status.map(str::to_owned),
            },
            imported: false,
        }
    }

    fn entry(spec: Value, last_modified: Option<&str>, status: &str) -> Listed {
        Listed {
            name: "n".into(),
            arn: "arn:listed".into(),
            status: Some(status.into()),
            status_reason: None,
            last_modified: last_modified.map(str::to_owned),
            spec,
        }
    }

    fn connection_spec() -> Value {
        json!({
            "description": "Orders",
            "authorizationType": "API_KEY",
            "deauthorized": false,
            "authParameters": {
                "apiKeyAuthParameters": {"apiKeyName": "x-api-key", "apiKeyValue": {"fromEnv": "KEY"}},
                "invocationHttpParameters": {"headerParameters": [
                    {"key": "X-Env", "value": "prod"},
                    {"key": "X-Sig", "value": {"fromFile": "sig.txt"}}
                ]}
            }
        })
    }

    #[test]
    fn an_unchanged_connection_is_its_recorded_spec_as_describe_shows_it() {
        let r = record(connection_spec(), Some(T0), Some("AUTHORIZED"));
        let e = entry(
            json!({"authorizationType": "API_KEY"}),
            Some(T0),
            "AUTHORIZED",
        );
        let live = unchanged(Kind::Connection, &r, &e).unwrap();
        assert_eq!(live.arn, "arn:listed");
        assert_eq!(live.last_modified.as_deref(), Some(T0));
        assert_eq!(
            live.spec,
            json!({
                "description": "Orders",
                "authorizationType": "API_KEY",
                "authParameters": {
                    "apiKeyAuthParameters": {"apiKeyName": "x-api-key", "apiKeyValue": {"$sensitive": true}},
                    "invocationHttpParameters": {"headerParameters": [
                        {"key": "X-Env", "value": "prod"},
                        {"key": "X-Sig", "value": {"$sensitive": true}}
                    ]}
                }
            })
        );
    }

    #[test]
    fn a_moved_or_missing_timestamp_is_described() {
        let page = json!({"authorizationType": "API_KEY"});
        let moved = entry(page.clone(), Some(T1), "AUTHORIZED");
        let r = record(connection_spec(), Some(T0), Some("AUTHORIZED"));
        assert_eq!(unchanged(Kind::Connection, &r, &moved), None);
        let no_page_time = entry(page.clone(), None, "AUTHORIZED");
        assert_eq!(unchanged(Kind::Connection, &r, &no_page_time), None);
        let no_record_time = record(connection_spec(), None, Some("AUTHORIZED"));
        let same = entry(page, Some(T0), "AUTHORIZED");
        assert_eq!(unchanged(Kind::Connection, &no_record_time, &same), None);
    }

    #[test]
    fn an_unhealthy_or_other_state_or_another_type_is_described() {
        let r = record(connection_spec(), Some(T0), Some("AUTHORIZED"));
        let page = json!({"authorizationType": "API_KEY"});
        for state in ["DEAUTHORIZED", "AUTHORIZING", "FAILED_CONNECTIVITY"] {
            let e = entry(page.clone(), Some(T0), state);
            assert_eq!(unchanged(Kind::Connection, &r, &e), None, "{state}");
        }
        // Healthy, but not the state recorded after outbound's change.
        let e = entry(page, Some(T0), "ACTIVE");
        assert_eq!(unchanged(Kind::Connection, &r, &e), None);
        let basic = entry(
            json!({"authorizationType": "BASIC"}),
            Some(T0),
            "AUTHORIZED",
        );
        assert_eq!(unchanged(Kind::Connection, &r, &basic), None);
    }

    #[test]
    fn an_unchanged_destination_takes_the_page_fields_and_the_recorded_description() {
        let r = record(
            json!({
                "description": "Orders",
                "connection": "acme",
                "connectionArn": "arn:old",
                "invocationEndpoint": "https://old.example/",
                "httpMethod": "POST"
            }),
            Some(T0),
            Some("ACTIVE"),
        );
        let page = json!({
            "connectionArn": "arn:conn",
            "invocationEndpoint": "https://api.example/",
            "httpMethod": "PUT",
            "invocationRateLimitPerSecond": 300
        });
        let live = unchanged(
            Kind::ApiDestination,
            &r,
            &entry(page.clone(), Some(T0), "ACTIVE"),
        )
        .unwrap();
        let mut want = page.clone();
        want["description"] = json!("Orders");
        assert_eq!(live.spec, want);
        // INACTIVE (its connection authorizing) is described.
        assert_eq!(
            unchanged(
                Kind::ApiDestination,
                &r,
                &entry(page.clone(), Some(T0), "INACTIVE")
            ),
            None
        );
        // Issue 15 item 12: an entry lacking a field is described, not read as the default.
        for missing in DESTINATION_PAGE_FIELDS {
            let mut partial = page.clone();
            partial.as_object_mut().unwrap().remove(missing);
            assert_eq!(
                unchanged(
                    Kind::ApiDestination,
                    &r,
                    &entry(partial, Some(T0), "ACTIVE")
                ),
                None,
                "{missing}"
            );
        }
    }

    // ---- observe against the in-process double (crate::aws::fake) -----------------------

    use crate::aws::fake::Fake;
    use crate::resource::{ConnectorId, ResourceId};
    use crate::state::Pending;

    const MANIFESTS: &str = "apiVersion: outbound/v1
kind: Connection
metadata: { name: a }
spec:
  authorizationType: API_KEY
  authParameters:
    apiKeyAuthParameters: { apiKeyName: x-api-key, apiKeyValue: { fromFile: key.txt } }
---
apiVersion: outbound/v1
kind: ApiDestination
metadata: { name: to-a }
spec:
  connection: a
  invocationEndpoint: https://api.example.com/orders
  httpMethod: POST
---
apiVersion: outbound/v1
kind: Connector
metadata: { name: as2 }
spec:
  url: https://as2.partner.example/as2
  accessRole: arn:aws:iam::111122223333:role/TransferConnector
  as2Config:
    localProfileId: p-0123456789abcdef0
    partnerProfileId: p-0fedcba9876543210
";

    const CONNECTION_ARN: &str = "arn:aws:events:fake:1:connection/a/1";
    const CONNECTOR_URL: &str = "https://as2.partner.example/as2";

    fn a() -> Address {
        Address::new(Kind::Connection, "a")
    }
    fn to_a() -> Address {
        Address::new(Kind::ApiDestination, "to-a")
    }
    fn as2() -> Address {
        Address::new(Kind::Connector, "as2")
    }

    /// The desired state of `MANIFESTS` (validated from a temporary directory).
    fn desired() -> DesiredState {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.yaml"), MANIFESTS).unwrap();
        std::fs::write(dir.path().join("key.txt"), "not-a-real-key").unwrap();
        crate::manifest::validate(&[dir.path().join("m.yaml")]).unwrap()
    }

    fn connection_live(time: &str, status: &str) -> Live {
        Live {
            expires: None,
            id: ResourceId::name("a"),
            arn: CONNECTION_ARN.into(),
            spec: json!({
                "authorizationType": "API_KEY",
                "authParameters": {"apiKeyAuthParameters": {
                    "apiKeyName": "x-api-key", "apiKeyValue": {"$sensitive": true}
                }}
            })
            .into(),
            status: Some(status.into()),
            status_reason: None,
            last_modified: Some(time.into()),
            created: Some(T0.into()),
            tags: BTreeMap::new(),
        }
    }

    fn destination_live(time: &str) -> Live {
        Live {
            expires: None,
            id: ResourceId::name("to-a"),
            arn: "arn:aws:events:fake:1:api-destination/to-a/1".into(),
            spec: json!({
                "connectionArn": CONNECTION_ARN,
                "invocationEndpoint": "https://api.example.com/orders",
                "httpMethod": "POST",
                "invocationRateLimitPerSecond": 300
            })
            .into(),
            status: Some("ACTIVE".into()),
            status_reason: None,
            last_modified: Some(time.into()),
            created: None,
            tags: BTreeMap::new(),
        }
    }

    /// A connector tagged as outbound tags the copies it creates.
    fn connector_live(id: &str, name: &str, lineage: &str) -> Live {
        Live {
            expires: None,
            id: ConnectorId::parse(id).unwrap().into(),
            arn: format!("arn:aws:transfer:fake:1:connector/{id}").into(),
            spec: json!({"url": CONNECTOR_URL}).into(),
            status: Some("ACTIVE".into()),
            status_reason: None,
            last_modified: None,
            created: None,
            tags: [(TAG_NAME, name), (TAG_LINEAGE, lineage)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    /// The record outbound keeps of `live` after its last change (timestamp and state as
    /// that change left them, when `markers`).
    fn recorded(live: &Live, spec: Value, markers: bool) -> Record {
        Record {
            id: live.id.clone(),
            arn: live.arn.clone(),
            spec: spec.into(),
            fingerprints: BTreeMap::new(),
            protect: false,
            live: LiveMarkers {
                last_modified: live.last_modified.clone().filter(|_| markers),
                status: live.status.clone().filter(|_| markers),
            },
            imported: false,
        }
    }

    fn connection_record(markers: bool) -> Record {
        let spec = json!({
            "authorizationType": "API_KEY",
            "authParameters": {"apiKeyAuthParameters": {
                "apiKeyName": "x-api-key", "apiKeyValue": {"fromFile": "key.txt"}
            }}
        });
        recorded(&connection_live(T0, "AUTHORIZED"), spec, markers)
    }

    fn destination_record() -> Record {
        let spec = json!({
            "connection": "a",
            "connectionArn": CONNECTION_ARN,
            "invocationEndpoint": "https://api.example.com/orders",
            "httpMethod": "POST"
        });
        recorded(&destination_live(T0), spec, true)
    }

    fn pending(id: Option<&str>) -> Pending {
        Pending {
            started: T0.into(),
            delete: false,
            update: false,
            id: id.map(ResourceId::name),
            replaces: None,
        }
    }

    /// A state where outbound applied `a`, `to-a` and the connector `c-1` (as2) at `T0`.
    fn applied() -> State {
        let mut state = State::new();
        state.resources.insert(a(), connection_record(true));
        state.resources.insert(to_a(), destination_record());
        let connector = connector_live("c-1", "as2", &state.lineage);
        let record = recorded(&connector, json!({"url": CONNECTOR_URL}), true);
        state.resources.insert(as2(), record);
        state
    }

    /// AWS as `applied` left it, nothing changed since.
    fn unchanged_since(state: &State) -> Fake {
        let fake = Fake::default();
        fake.insert(connection_live(T0, "AUTHORIZED"));
        fake.insert(destination_live(T0));
        fake.insert(connector_live("c-1", "as2", &state.lineage));
        fake
    }

    /// Observes with `parallelism` 1 (the calls in their fixed order) and `refresh`.
    async fn run(fake: &Fake, state: &State, refresh: Refresh) -> (Observation, Reads) {
        observe(fake, &desired(), state, 1, refresh).await
    }

    fn live_of<'o>(observation: &'o Observation, address: &Address) -> Option<&'o Live> {
        observation[address].as_ref().unwrap().live.as_ref()
    }

    #[tokio::test]
    async fn an_unchanged_timestamp_and_state_is_read_from_the_list_page_without_describe() {
        let state = applied();
        let fake = unchanged_since(&state);
        let (observation, reads) = run(&fake, &state, Refresh::Changed).await;
        assert_eq!(
            fake.calls(),
            [
                "ListConnections",
                "ListApiDestinations",
                "DescribeConnector c-1"
            ],
            "List pages, and a Describe for the connector only"
        );
        assert_eq!(
            reads,
            Reads {
                from_list: 2,
                described: 1
            }
        );
        let connection = live_of(&observation, &a()).unwrap();
        assert_eq!(connection.arn, CONNECTION_ARN);
        assert_eq!(
            connection.spec.value()["authParameters"]["apiKeyAuthParameters"]["apiKeyValue"],
            json!({"$sensitive": true})
        );
        let destination = live_of(&observation, &to_a()).unwrap();
        assert_eq!(
            destination.spec.value()["invocationRateLimitPerSecond"],
            300
        );
        assert_eq!(live_of(&observation, &as2()).unwrap().id, "c-1");
    }

    #[tokio::test]
    async fn a_changed_timestamp_is_described() {
        let state = applied();
        let fake = unchanged_since(&state);
        fake.insert(connection_live(T1, "AUTHORIZED"));
        let (observation, reads) = run(&fake, &state, Refresh::Changed).await;
        let calls = fake.calls();
        assert!(
            calls.contains(&"DescribeConnection a".to_owned()),
            "{calls:?}"
        );
        assert!(!calls.contains(&"DescribeApiDestination to-a".to_owned()));
        assert_eq!(reads.from_list, 1);
        let connection = live_of(&observation, &a()).unwrap();
        assert_eq!(connection.last_modified.as_deref(), Some(T1));
    }

    #[tokio::test]
    async fn an_unhealthy_or_changed_state_is_described() {
        // Unhealthy, and healthy but not the state outbound's last change left.
        for status in ["DEAUTHORIZED", "FAILED_CONNECTIVITY", "ACTIVE"] {
            let state = applied();
            let fake = unchanged_since(&state);
            fake.insert(connection_live(T0, status));
            let (observation, reads) = run(&fake, &state, Refresh::Changed).await;
            let calls = fake.calls();
            assert!(
                calls.contains(&"DescribeConnection a".to_owned()),
                "{status}: {calls:?}"
            );
            assert_eq!(reads.from_list, 1, "{status}");
            let connection = live_of(&observation, &a()).unwrap();
            assert_eq!(connection.status.as_deref(), Some(status));
        }
    }

    #[tokio::test]
    async fn no_recorded_timestamp_is_described_without_reading_its_page() {
        let mut state = applied();
        state.resources.insert(a(), connection_record(false));
        let fake = unchanged_since(&state);
        let (_, reads) = run(&fake, &state, Refresh::Changed).await;
        let calls = fake.calls();
        assert!(
            calls.contains(&"DescribeConnection a".to_owned()),
            "{calls:?}"
        );
        assert!(
            !calls.contains(&"ListConnections".to_owned()),
            "no connection is listable: {calls:?}"
        );
        assert_eq!(reads.from_list, 1, "the destination still is");
    }

    #[tokio::test]
    async fn absent_from_its_page_is_described_and_gone_when_describe_finds_nothing() {
        let state = applied();
        let fake = Fake::default();
        fake.insert(destination_live(T0));
        fake.insert(connector_live("c-1", "as2", &state.lineage));
        let (observation, reads) = run(&fake, &state, Refresh::Changed).await;
        assert!(
            fake.calls().contains(&"DescribeConnection a".to_owned()),
            "{:?}",
            fake.calls()
        );
        assert_eq!(reads.from_list, 1);
        let observed = observation[&a()].as_ref().unwrap();
        assert!(observed.live.is_none(), "gone: {observed:?}");
        assert!(!observed.adopted);
    }

    #[tokio::test]
    async fn a_failed_list_means_describing_instead() {
        let state = applied();
        let fake = unchanged_since(&state);
        fake.fail("ListApiDestinations", "not allowed");
        let (observation, reads) = run(&fake, &state, Refresh::Changed).await;
        assert!(
            fake.calls()
                .contains(&"DescribeApiDestination to-a".to_owned())
        );
        assert_eq!(reads.from_list, 1);
        assert!(live_of(&observation, &to_a()).is_some());
    }

    #[tokio::test]
    async fn refresh_full_describes_every_resource_and_reads_no_page() {
        let state = applied();
        for parallelism in [1, 4] {
            let fake = unchanged_since(&state);
            let (observation, reads) =
                observe(&fake, &desired(), &state, parallelism, Refresh::Full).await;
            let mut calls = fake.calls();
            calls.sort();
            assert_eq!(
                calls,
                [
                    "DescribeApiDestination to-a",
                    "DescribeConnection a",
                    "DescribeConnector c-1"
                ],
                "parallelism {parallelism}"
            );
            assert_eq!(
                reads,
                Reads {
                    from_list: 0,
                    described: 3
                }
            );
            assert_eq!(
                live_of(&observation, &a())
                    .unwrap()
                    .last_modified
                    .as_deref(),
                Some(T0)
            );
        }
    }

    /// `--parallelism 1` makes the calls of a run repeatable (the fault matrix counts on
    /// it): the List pages, then the describes in address order, then the connector search.
    #[tokio::test]
    async fn with_parallelism_1_the_calls_come_in_a_fixed_order() {
        let mut state = applied();
        state.resources.insert(a(), connection_record(false));
        state.pending.insert(as2(), pending(None));
        let fake = unchanged_since(&state);
        fake.insert(destination_live(T1));
        run(&fake, &state, Refresh::Changed).await;
        assert_eq!(
            fake.calls(),
            [
                "ListApiDestinations",
                "DescribeConnection a",
                "DescribeConnector c-1",
                "DescribeApiDestination to-a",
                "ListConnectors",
                "DescribeConnector c-1"
            ]
        );
    }

    /// A creation interrupted after CreateConnector: the copy whose id was saved is adopted,
    /// the other copies of this lineage are leftovers, another lineage's is neither.
    #[tokio::test]
    async fn a_pending_connector_found_by_its_tags_is_adopted_and_other_copies_are_leftovers() {
        let mut state = State::new();
        state.pending.insert(as2(), pending(Some("c-2")));
        let fake = Fake::default();
        for id in ["c-1", "c-2", "c-3"] {
            fake.insert(connector_live(id, "as2", &state.lineage));
        }
        fake.insert(connector_live("c-4", "as2", "another-lineage"));
        fake.insert(connector_live("c-5", "other-name", &state.lineage));
        let (observation, reads) = run(&fake, &state, Refresh::Changed).await;
        let observed = observation[&as2()].as_ref().unwrap();
        assert_eq!(observed.live.as_ref().unwrap().id, "c-2");
        assert!(observed.adopted);
        assert_eq!(observed.leftovers, ["c-1", "c-3"]);
        let calls = fake.calls();
        let searched = calls.iter().position(|c| c == "ListConnectors").unwrap();
        assert_eq!(
            calls[searched..],
            [
                "ListConnectors",
                "DescribeConnector c-1",
                "DescribeConnector c-2",
                "DescribeConnector c-3",
                "DescribeConnector c-4",
                "DescribeConnector c-5"
            ],
            "every connector at the manifest's url is described for its tags"
        );
        assert_eq!(reads.described, 3, "a, to-a and as2");
    }

    /// A replacement interrupted after CreateConnector: the recorded connector stands, the
    /// new copy is a leftover.
    #[tokio::test]
    async fn a_recorded_connector_stays_and_the_copy_of_an_interrupted_replacement_is_a_leftover() {
        let mut state = applied();
        state.pending.insert(as2(), pending(Some("c-2")));
        let fake = unchanged_since(&state);
        fake.insert(connector_live("c-2", "as2", &state.lineage));
        let (observation, _) = run(&fake, &state, Refresh::Changed).await;
        let observed = observation[&as2()].as_ref().unwrap();
        assert_eq!(observed.live.as_ref().unwrap().id, "c-1");
        assert!(!observed.adopted);
        assert_eq!(observed.leftovers, ["c-2"]);
    }

    /// A new connector another state's lineage tagged is seen (the plan refuses it as
    /// unmanaged), not adopted.
    #[tokio::test]
    async fn a_connector_of_another_lineage_is_seen_not_adopted() {
        let state = State::new();
        let fake = Fake::default();
        fake.insert(connector_live("c-9", "as2", "another-lineage"));
        let (observation, _) = run(&fake, &state, Refresh::Changed).await;
        let observed = observation[&as2()].as_ref().unwrap();
        assert_eq!(observed.live.as_ref().unwrap().id, "c-9");
        assert!(!observed.adopted);
        assert!(observed.leftovers.is_empty());
    }

    fn certificate() -> Address {
        Address::new(Kind::Certificate, "acme-signing")
    }

    /// A certificate tagged as outbound tags the copies it creates (with `name`, `lineage`).
    fn certificate_live(id: &str, name: &str, lineage: &str) -> Live {
        Live {
            expires: None,
            id: ResourceId::name(id),
            arn: format!("arn:aws:transfer:fake:1:certificate/{id}").into(),
            spec: json!({"usage": "SIGNING"}).into(),
            status: Some("ACTIVE".into()),
            status_reason: None,
            last_modified: None,
            created: None,
            tags: [(TAG_NAME, name), (TAG_LINEAGE, lineage)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    /// Issue 17 §1: identity by tags is one mechanism. A certificate import interrupted
    /// after `ImportCertificate` is found again as a connector is: the copy whose id was
    /// saved is adopted, the other copies of this lineage are leftovers, another lineage's
    /// is neither.
    #[tokio::test]
    async fn a_pending_certificate_found_by_its_saved_id_is_adopted_and_other_copies_are_leftovers()
    {
        let mut state = applied();
        state.pending.insert(certificate(), pending(Some("cert-2")));
        let fake = unchanged_since(&state);
        for id in ["cert-1", "cert-3"] {
            fake.insert(certificate_live(id, "acme-signing", &state.lineage));
        }
        fake.insert(certificate_live(
            "cert-4",
            "acme-signing",
            "another-lineage",
        ));
        fake.insert(certificate_live("cert-5", "other-name", &state.lineage));
        fake.insert(certificate_live("cert-2", "acme-signing", &state.lineage));
        let (observation, _) = run(&fake, &state, Refresh::Changed).await;
        let observed = observation[&certificate()].as_ref().unwrap();
        assert_eq!(observed.live.as_ref().unwrap().id, "cert-2");
        assert!(observed.adopted);
        assert_eq!(observed.leftovers, ["cert-1", "cert-3"]);
        assert!(fake.calls().contains(&"Describe cert-2".to_owned()));
    }

    /// A recorded certificate whose replacement was interrupted after the new import: the
    /// recorded one stands, the new copy is a leftover (as a connector's, below).
    #[tokio::test]
    async fn a_recorded_certificate_stays_and_the_copy_of_an_interrupted_replacement_is_a_leftover()
    {
        let mut state = applied();
        let old = certificate_live("cert-1", "acme-signing", &state.lineage);
        state.resources.insert(
            certificate(),
            recorded(&old, json!({"usage": "SIGNING"}), true),
        );
        let mut mark = pending(Some("cert-2"));
        mark.replaces = Some(ResourceId::name("cert-1"));
        state.pending.insert(certificate(), mark);
        let fake = unchanged_since(&state);
        fake.insert(old);
        fake.insert(certificate_live("cert-2", "acme-signing", &state.lineage));
        let (observation, _) = run(&fake, &state, Refresh::Changed).await;
        let observed = observation[&certificate()].as_ref().unwrap();
        assert_eq!(observed.live.as_ref().unwrap().id, "cert-1");
        assert!(!observed.adopted);
        assert_eq!(observed.leftovers, ["cert-2"]);
    }

    /// A connector recorded but gone was deleted outside, whatever another lineage tags.
    #[tokio::test]
    async fn a_recorded_connector_that_is_gone_is_absent_even_when_another_lineage_tags_one() {
        let mut state = applied();
        state.pending.insert(as2(), pending(None));
        let fake = Fake::default();
        fake.insert(connection_live(T0, "AUTHORIZED"));
        fake.insert(destination_live(T0));
        fake.insert(connector_live("c-9", "as2", "another-lineage"));
        let (observation, _) = run(&fake, &state, Refresh::Changed).await;
        let observed = observation[&as2()].as_ref().unwrap();
        assert!(observed.live.is_none(), "{observed:?}");
        assert!(!observed.adopted);
    }

    /// A connection whose creation was interrupted is found by its name and adopted: AWS
    /// created it at or after the mark (`T0`, the mark's second).
    #[tokio::test]
    async fn a_pending_connection_found_by_its_name_is_adopted() {
        let mut state = State::new();
        state.pending.insert(a(), pending(None));
        state.pending.get_mut(&a()).unwrap().started = "2026-12-02T08:00:00Z".into();
        let fake = Fake::default();
        fake.insert(connection_live(T0, "AUTHORIZED"));
        let (observation, _) = run(&fake, &state, Refresh::Changed).await;
        let observed = observation[&a()].as_ref().unwrap();
        assert!(observed.adopted);
        assert_eq!(observed.live.as_ref().unwrap().arn, CONNECTION_ARN);
    }

    /// Issue 15 item 8: a same-named connection AWS created before the interrupted
    /// creation's mark (someone else's), or with no creation time, is not adopted.
    #[tokio::test]
    async fn a_pending_connection_created_before_the_mark_is_not_adopted() {
        let mut state = State::new();
        state.pending.insert(a(), pending(None));
        state.pending.get_mut(&a()).unwrap().started = T1.into();
        for created in [Some(T0), None] {
            let fake = Fake::default();
            let mut live = connection_live(T1, "AUTHORIZED");
            live.created = created.map(str::to_owned);
            fake.insert(live);
            let (observation, _) = run(&fake, &state, Refresh::Changed).await;
            let observed = observation[&a()].as_ref().unwrap();
            assert!(observed.live.is_some(), "{created:?}");
            assert!(!observed.adopted, "{created:?}");
        }
    }

    /// Issue 15 item 6: a connector whose creation was interrupted after its id was saved is
    /// described by that id and adopted, though the manifest's url changed since (no
    /// connector is at the new url).
    #[tokio::test]
    async fn a_pending_connector_is_found_by_its_saved_id_whatever_its_url() {
        let mut state = State::new();
        state.pending.insert(as2(), pending(Some("c-2")));
        let fake = Fake::default();
        let mut old_url = connector_live("c-2", "as2", &state.lineage);
        old_url.spec = json!({"url": "https://typo.partner.example/as2"}).into();
        fake.insert(old_url);
        let (observation, _) = run(&fake, &state, Refresh::Changed).await;
        let observed = observation[&as2()].as_ref().unwrap();
        assert_eq!(observed.live.as_ref().map(|l| l.id.as_str()), Some("c-2"));
        assert!(observed.adopted);
        assert!(
            fake.calls().contains(&"DescribeConnector c-2".to_owned()),
            "{:?}",
            fake.calls()
        );
    }

    /// A connector creation interrupted before its id was saved (its answer lost) is found by
    /// its tags at any url: every connector is described while that mark stands.
    #[tokio::test]
    async fn a_pending_connector_without_a_saved_id_is_searched_at_every_url() {
        let mut state = State::new();
        state.pending.insert(as2(), pending(None));
        let fake = Fake::default();
        let mut elsewhere = connector_live("c-3", "as2", &state.lineage);
        elsewhere.spec = json!({"url": "https://typo.partner.example/as2"}).into();
        fake.insert(elsewhere);
        let (observation, _) = run(&fake, &state, Refresh::Changed).await;
        let observed = observation[&as2()].as_ref().unwrap();
        assert_eq!(observed.live.as_ref().map(|l| l.id.as_str()), Some("c-3"));
        assert!(observed.adopted);
    }

    #[tokio::test]
    async fn an_address_neither_in_state_nor_in_aws_is_absent() {
        let state = State::new();
        let fake = Fake::default();
        let (observation, reads) = run(&fake, &state, Refresh::Changed).await;
        assert_eq!(
            fake.calls(),
            [
                "DescribeConnection a",
                "DescribeApiDestination to-a",
                "ListConnectors"
            ]
        );
        for address in [a(), to_a(), as2()] {
            let observed = observation[&address].as_ref().unwrap();
            assert!(observed.live.is_none(), "{address}");
            assert!(!observed.adopted, "{address}");
            assert!(observed.leftovers.is_empty(), "{address}");
        }
        assert_eq!(reads.from_list, 0);
    }

    /// An error reading one address is that address's, not the run's.
    #[tokio::test]
    async fn a_failed_describe_is_the_error_of_its_address_only() {
        let state = applied();
        let fake = unchanged_since(&state);
        fake.fail("DescribeConnector", "not allowed");
        let (observation, _) = run(&fake, &state, Refresh::Changed).await;
        assert!(observation[&as2()].is_err());
        assert!(observation[&a()].is_ok());
        assert!(observation[&to_a()].is_ok());
    }
}
