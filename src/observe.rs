//! Live state as plain data, read concurrently with a bound and the fewest calls: one
//! Describe per managed resource; `ListConnectors` only when a connector must be found
//! (a new one, or one whose creation was interrupted before its id was saved).

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
    let (known, unknown): (Vec<&Address>, Vec<&Address>) = addresses
        .into_iter()
        .partition(|a| a.kind != Kind::Connector || state.resources.contains_key(*a));
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
            });
            (a.clone(), observed)
        })
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await;
    if !unknown.is_empty() {
        out.extend(find_connectors(aws, desired, state, &unknown, parallelism).await);
    }
    out
}

/// Connectors without a recorded id: listed once, and the ones whose url could match
/// described, to find any tagged with their name.
async fn find_connectors(
    aws: &Aws,
    desired: &DesiredState,
    state: &State,
    wanted: &[&Address],
    parallelism: usize,
) -> Observation {
    let listed = match aws.list_connectors().await {
        Ok(l) => l,
        Err(e) => {
            return wanted
                .iter()
                .map(|a| ((*a).clone(), Err(e.clone())))
                .collect();
        }
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
    let mut out = Observation::new();
    for a in wanted {
        out.insert((*a).clone(), Ok(Observed::default()));
    }
    for result in described {
        let live = match result {
            Ok(Some(live)) => live,
            Ok(None) => continue,
            Err(e) => {
                for a in wanted {
                    out.insert((*a).clone(), Err(e.clone()));
                }
                return out;
            }
        };
        let Some(name) = live.tags.get(TAG_NAME) else {
            continue;
        };
        let address = Address::new(Kind::Connector, name.clone());
        if !wanted.contains(&&address) {
            continue;
        }
        let ours = live.tags.get(TAG_LINEAGE) == Some(&state.lineage);
        out.insert(
            address,
            Ok(Observed {
                adopted: ours,
                live: Some(live),
            }),
        );
    }
    out
}
