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

use crate::aws::events::Listed;
use crate::aws::{Aws, AwsError, Live};
use crate::live::Observed;
use crate::manifest::DesiredState;
use crate::resource::connector::{TAG_LINEAGE, TAG_NAME};
use crate::resource::rules::Health;
use crate::resource::{Address, ConnectorId, Kind, ResourceId, Spec};
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

/// Reads every resource `desired` or `state` names, at most `parallelism` calls at a time.
pub async fn observe(
    aws: &Aws,
    desired: &DesiredState,
    state: &State,
    parallelism: usize,
    refresh: Refresh,
) -> (Observation, Reads) {
    let addresses = crate::live::addresses(desired, state);
    let known: Vec<&Address> = addresses
        .iter()
        .copied()
        .filter(|a| a.kind != Kind::Connector || state.resources.contains_key(*a))
        .collect();
    // Connectors are searched by tag when no id is recorded, and also whenever a create or
    // replacement of the address was interrupted (still pending): the copy it made may be
    // in AWS with no id in state (issue 10 item 1).
    let searched: Vec<&Address> = addresses
        .iter()
        .copied()
        .filter(|a| {
            a.kind == Kind::Connector
                && (!state.resources.contains_key(*a) || state.pending.contains_key(*a))
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
        (describe(aws, state, &direct, parallelism).await, lists)
    } else {
        let lists = async { tokio::join!(connections, destinations) };
        tokio::join!(describe(aws, state, &direct, parallelism), lists)
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
    out.extend(describe(aws, state, &again, parallelism).await);
    if !searched.is_empty() {
        let mut found = find_connectors(aws, desired, &searched, parallelism).await;
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
    let mut spec = as_described(&crate::resource::strip_references(&record.spec));
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
        // Every field but the description is on the page: the page's win.
        _ => {
            spec_fields.retain(|k, _| k == "description");
            spec_fields.extend(page_fields.clone());
        }
    }
    Some(Live {
        id: ResourceId::name(&entry.name),
        arn: entry.arn.clone(),
        spec,
        status: entry.status.clone(),
        status_reason: entry.status_reason.clone(),
        last_modified: entry.last_modified.clone(),
        tags: BTreeMap::new(),
    })
}

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

/// One Describe per address (by its recorded id), at most `parallelism` at a time.
async fn describe(
    aws: &Aws,
    state: &State,
    addresses: &[&Address],
    parallelism: usize,
) -> Observation {
    stream::iter(addresses.iter().copied())
        .map(|a| async move {
            let pending = state.pending.contains_key(a);
            let id = state
                .resources
                .get(a)
                .map_or(a.name.as_str(), |r| r.id.as_str());
            let live = match a.kind {
                Kind::Connection => aws.describe_connection(id).await,
                Kind::ApiDestination => aws.describe_api_destination(id).await,
                // Not a connector id: AWS has no connector by it.
                Kind::Connector => match ConnectorId::parse(id) {
                    Ok(id) => aws.describe_connector(&id).await,
                    Err(_) => Ok(None),
                },
            };
            let observed = live.map(|live| Observed {
                adopted: pending && live.is_some() && !state.resources.contains_key(a),
                live,
                leftovers: Vec::new(),
            });
            (a.clone(), observed)
        })
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await
}

/// One searched connector address: the recorded connector while it exists, else a copy of
/// ours (the one whose id was saved first), else one tagged by another lineage (which the
/// plan refuses as unmanaged); every other copy of ours is a leftover to delete.
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
        .and_then(|p| p.id.as_ref().map(ConnectorId::as_str));
    let (mut ours, theirs): (Vec<Live>, Vec<Live>) = tagged
        .into_iter()
        .filter(|l| Some(l.id.as_str()) != recorded_id)
        .partition(|l| l.tags.get(TAG_LINEAGE) == Some(&state.lineage));
    ours.sort_by_key(|l| Some(l.id.as_str()) != saved_id);
    match recorded {
        Some(Err(e)) => Err(e),
        Some(Ok(o)) if o.live.is_some() => Ok(Observed {
            leftovers: ours.iter().filter_map(|l| l.id.connector().ok()).collect(),
            ..o
        }),
        _ => {
            let mut ours = ours.into_iter();
            Ok(match ours.next() {
                Some(live) => Observed {
                    live: Some(live),
                    adopted: true,
                    leftovers: ours.filter_map(|l| l.id.connector().ok()).collect(),
                },
                // A connector recorded but gone is deleted outside, whatever else is tagged.
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

/// The connectors tagged with each `wanted` name (any lineage): listed once, and the ones
/// whose url could match described.
async fn find_connectors(
    aws: &Aws,
    desired: &DesiredState,
    wanted: &[&Address],
    parallelism: usize,
) -> BTreeMap<Address, Result<Vec<Live>, AwsError>> {
    let failed = |e: &AwsError| {
        wanted
            .iter()
            .map(|a| ((*a).clone(), Err(e.clone())))
            .collect()
    };
    let listed = match aws.list_connectors().await {
        Ok(l) => l,
        Err(e) => return failed(&e),
    };
    let urls: BTreeSet<Option<&str>> = wanted
        .iter()
        .map(|a| match desired.resources.get(*a).map(|r| &r.spec) {
            Some(Spec::Connector(c)) => Some(c.url.as_str()),
            _ => None,
        })
        .collect();
    // A pending creation without a manifest could have any url: look at all of them then.
    let any_url = urls.contains(&None);
    let candidates: Vec<_> = listed
        .into_iter()
        .filter(|c| any_url || urls.contains(&c.url.as_deref()))
        .collect();
    let described: Vec<Result<Option<Live>, AwsError>> = stream::iter(candidates)
        .map(|c| async move { aws.describe_connector(&c.id).await })
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await;
    let mut out: BTreeMap<Address, Result<Vec<Live>, AwsError>> = wanted
        .iter()
        .map(|a| ((*a).clone(), Ok(Vec::new())))
        .collect();
    for result in described {
        let live = match result {
            Ok(Some(live)) => live,
            Ok(None) => continue,
            Err(e) => return failed(&e),
        };
        let Some(name) = live.tags.get(TAG_NAME) else {
            continue;
        };
        if let Some(Ok(found)) = out.get_mut(&Address::new(Kind::Connector, name.clone())) {
            found.push(live);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::state::LiveMarkers;

    const T0: &str = "2026-12-02T08:00:00.123Z";
    const T1: &str = "2026-12-02T09:00:00.456Z";

    fn record(spec: Value, last_modified: Option<&str>, status: Option<&str>) -> Record {
        Record {
            id: ResourceId::name("n"),
            arn: "arn:recorded".into(),
            spec,
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
            unchanged(Kind::ApiDestination, &r, &entry(page, Some(T0), "INACTIVE")),
            None
        );
    }
}
