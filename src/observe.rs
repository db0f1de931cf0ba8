//! Live state as plain data, read concurrently with a bound and the fewest calls: one
//! Describe per managed resource; `ListConnectors` only when a connector must be found
//! (a new one, or one whose creation or replacement was interrupted).

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::{self, StreamExt};

use crate::aws::{Aws, AwsError, Live};
use crate::live::Observed;
use crate::manifest::DesiredState;
use crate::resource::connector::{TAG_LINEAGE, TAG_NAME};
use crate::resource::{Address, Kind, Spec};
use crate::state::State;

/// What AWS holds for each address the manifests or the state name; an address AWS could
/// not be asked about carries the error.
pub type Observation = BTreeMap<Address, Result<Observed, AwsError>>;

/// Reads every resource `desired` or `state` names, at most `parallelism` calls at a time.
pub async fn observe(
    aws: &Aws,
    desired: &DesiredState,
    state: &State,
    parallelism: usize,
) -> Observation {
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
    let mut out: Observation = stream::iter(known)
        .map(|a| async move {
            let pending = state.pending.contains_key(a);
            let id = state
                .resources
                .get(a)
                .map_or(a.name.as_str(), |r| r.id.as_str());
            let live = match a.kind {
                Kind::Connection => aws.describe_connection(id).await,
                Kind::ApiDestination => aws.describe_api_destination(id).await,
                Kind::Connector => aws.describe_connector(id).await,
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
        .await;
    if searched.is_empty() {
        return out;
    }
    let mut found = find_connectors(aws, desired, &searched, parallelism).await;
    for a in searched {
        let tagged = found.remove(a).unwrap_or(Ok(Vec::new()));
        let recorded = out.remove(a);
        out.insert(a.clone(), settle(a, state, recorded, tagged));
    }
    out
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
    let saved_id = state.pending.get(address).and_then(|p| p.id.as_deref());
    let (mut ours, theirs): (Vec<Live>, Vec<Live>) = tagged
        .into_iter()
        .filter(|l| Some(l.id.as_str()) != recorded_id)
        .partition(|l| l.tags.get(TAG_LINEAGE) == Some(&state.lineage));
    ours.sort_by_key(|l| Some(l.id.as_str()) != saved_id);
    match recorded {
        Some(Err(e)) => Err(e),
        Some(Ok(o)) if o.live.is_some() => Ok(Observed {
            leftovers: ours.into_iter().map(|l| l.id).collect(),
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
