//! Plan -> report: changes run in graph order with bounded concurrency; the state is saved
//! after every successful AWS change; a failed change skips its dependents while the others
//! go on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinSet;

use crate::aws::events::Written;
use crate::aws::{Aws, AwsError, ErrorClass, Live};
use crate::manifest::DesiredState;
use crate::plan::{Action, Change, Plan};
use crate::resource::connector::{TAG_LINEAGE, TAG_NAME};
use crate::resource::rules::Health;
use crate::resource::{Address, ApiDestinationSpec, ConnectionSpec, ConnectorSpec, Kind};
use crate::state::local::LocalState;
use crate::state::{LiveMarkers, Pending, Record, State, StateError};

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub parallelism: usize,
    /// How long to wait for a connection to be `AUTHORIZED`, a connector `ACTIVE`.
    pub wait_timeout: Duration,
}

/// How one change ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed(String),
    /// Not attempted because a change it waits for did not succeed.
    Skipped(Address),
}

#[derive(Debug, Clone)]
pub struct Row {
    pub address: Address,
    pub action: Action,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub rows: Vec<Row>,
}

impl Report {
    pub fn failed(&self) -> bool {
        self.rows.iter().any(|r| r.outcome != Outcome::Done)
    }
}

/// Why apply stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("could not save state after a change to AWS; AWS and the state now differ")]
    State(#[from] StateError),
}

/// What a successful change leaves in the state.
enum Effect {
    Record(Record),
    Remove,
}

/// Runs `plan`; `state` is updated and saved to `store` as changes succeed.
pub async fn apply(
    aws: &Arc<Aws>,
    plan: &Plan,
    desired: &DesiredState,
    store: &LocalState,
    state: &mut State,
    options: &ApplyOptions,
) -> Result<Report, ApplyError> {
    refresh_noops(plan, desired, store, state)?;
    let mut todo: BTreeMap<&Address, &Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Noop)
        .map(|c| (&c.address, c))
        .collect();
    let mut outcomes: BTreeMap<Address, Outcome> = BTreeMap::new();
    let mut arns: BTreeMap<Address, String> = state
        .resources
        .iter()
        .map(|(a, r)| (a.clone(), r.arn.clone()))
        .collect();
    let mut running = JoinSet::new();
    let mut in_flight = BTreeSet::new();
    loop {
        // 1. Skip what waits on a failure; start what is ready, up to the bound.
        let mut started = Vec::new();
        for (address, change) in &todo {
            if let Some(blocker) = change.after.iter().find(|a| {
                matches!(
                    outcomes.get(*a),
                    Some(Outcome::Failed(_) | Outcome::Skipped(_))
                )
            }) {
                outcomes.insert((*address).clone(), Outcome::Skipped(blocker.clone()));
                started.push((*address).clone());
                continue;
            }
            let ready = change
                .after
                .iter()
                .all(|a| outcomes.get(a) == Some(&Outcome::Done));
            if ready && in_flight.len() < options.parallelism.max(1) {
                let job = Job::new(change, desired, state, &arns);
                // Creations and deletions are recorded as started before the call: the
                // next run adopts what an interrupted creation made, and knows who deleted
                // what an interrupted deletion removed.
                if matches!(
                    change.action,
                    Action::Create | Action::Replace | Action::Delete
                ) {
                    state.pending.insert(
                        change.address.clone(),
                        Pending {
                            started:
                                humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                                    .to_string(),
                            delete: change.action == Action::Delete,
                        },
                    );
                    save(store, state)?;
                }
                let aws = Arc::clone(aws);
                let timeout = options.wait_timeout;
                running.spawn(async move {
                    let address = job.change.address.clone();
                    (address, job.run(&aws, timeout).await)
                });
                in_flight.insert((*address).clone());
                started.push((*address).clone());
            }
        }
        for a in &started {
            todo.remove(a);
        }
        // 2. Wait for one to finish and record it.
        let Some(joined) = running.join_next().await else {
            if !started.is_empty() {
                continue; // skips may have unblocked (or skipped) more
            }
            // Nothing runs and nothing could start: what is left waits for changes that
            // will never come (not in the plan, or in a cycle). End, never spin.
            for (address, change) in std::mem::take(&mut todo) {
                let waits: Vec<String> = change
                    .after
                    .iter()
                    .filter(|a| outcomes.get(*a) != Some(&Outcome::Done))
                    .map(ToString::to_string)
                    .collect();
                let why = format!("waits for {}, which can never run", waits.join(", "));
                outcomes.insert(address.clone(), Outcome::Failed(why));
            }
            break;
        };
        let (address, result) = joined.expect("apply tasks do not panic");
        in_flight.remove(&address);
        // A failed creation (or deletion) stays pending: its answer may have been lost
        // after AWS acted, and the next run adopts (or forgets) what it finds.
        if result.is_ok() {
            state.pending.remove(&address);
        }
        match result {
            Ok(Effect::Record(record)) => {
                arns.insert(address.clone(), record.arn.clone());
                state.resources.insert(address.clone(), record);
                outcomes.insert(address, Outcome::Done);
            }
            Ok(Effect::Remove) => {
                state.resources.remove(&address);
                outcomes.insert(address, Outcome::Done);
            }
            Err(e) => {
                tracing::warn!(%address, error = %e, "change failed");
                outcomes.insert(address, Outcome::Failed(e.to_string()));
            }
        }
        save(store, state)?;
    }
    let rows = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Noop)
        .map(|c| Row {
            address: c.address.clone(),
            action: c.action,
            outcome: outcomes.remove(&c.address).unwrap_or(Outcome::Done),
        })
        .collect();
    Ok(Report { rows })
}

fn save(store: &LocalState, state: &mut State) -> Result<(), StateError> {
    state.serial += 1;
    store.save(state)
}

/// Unchanged resources whose record is out of date (an adopted creation, a new protect flag,
/// a first apply after an upgrade) get their record refreshed without an AWS call.
fn refresh_noops(
    plan: &Plan,
    desired: &DesiredState,
    store: &LocalState,
    state: &mut State,
) -> Result<(), StateError> {
    let mut changed = false;
    for c in plan.changes.iter().filter(|c| c.action == Action::Noop) {
        let (Some(id), Some(arn), Some(spec)) = (&c.id, &c.arn, &c.desired) else {
            continue;
        };
        let record = Record {
            id: id.clone(),
            arn: arn.clone(),
            spec: recorded_spec(spec, desired, &c.address),
            fingerprints: c.fingerprints.clone(),
            protect: c.protect,
            live: state
                .resources
                .get(&c.address)
                .map(|r| r.live.clone())
                .unwrap_or_default(),
            imported: state.resources.get(&c.address).is_some_and(|r| r.imported),
        };
        if state.resources.get(&c.address) != Some(&record) {
            state.pending.remove(&c.address);
            state.resources.insert(c.address.clone(), record);
            changed = true;
        }
    }
    if changed {
        save(store, state)?;
    }
    Ok(())
}

/// The spec kept in state: what was sent (its `connectionArn` included), plus the
/// `connection` name behind that ARN and the `deauthorized` flag.
fn recorded_spec(sent: &Value, desired: &DesiredState, address: &Address) -> Value {
    let mut spec = sent.clone();
    if let (Some(r), Some(o)) = (desired.resources.get(address), spec.as_object_mut()) {
        if let crate::resource::Spec::ApiDestination(d) = &r.spec
            && let Some(name) = &d.connection
        {
            o.insert("connection".into(), name.clone().into());
        }
        if let crate::resource::Spec::Connection(c) = &r.spec
            && c.deauthorized
        {
            o.insert("deauthorized".into(), true.into());
        }
    }
    spec
}

/// Everything one change needs, owned, so it can run on its own task.
struct Job {
    change: Change,
    /// The spec to send, with `connectionArn` filled in for API destinations.
    spec: Value,
    recorded: Value,
    secrets: crate::aws::events::Secrets,
    lineage: String,
}

impl Job {
    fn new(
        change: &Change,
        desired: &DesiredState,
        state: &State,
        arns: &BTreeMap<Address, String>,
    ) -> Job {
        let mut spec = change.desired.clone().unwrap_or(Value::Null);
        let resource = desired.resources.get(&change.address);
        if let (Some(r), Some(o)) = (resource, spec.as_object_mut())
            && let crate::resource::Spec::ApiDestination(d) = &r.spec
            && let Some(name) = &d.connection
            && let Some(arn) = arns.get(&Address::new(Kind::Connection, name.clone()))
        {
            o.insert("connectionArn".into(), arn.clone().into());
        }
        let recorded = recorded_spec(&spec, desired, &change.address);
        Job {
            change: change.clone(),
            spec,
            recorded,
            secrets: resource.map(|r| r.secrets.clone()).unwrap_or_default(),
            lineage: state.lineage.clone(),
        }
    }

    async fn run(self, aws: &Aws, timeout: Duration) -> Result<Effect, AwsError> {
        let c = &self.change;
        let name = c.address.name.as_str();
        let id = c.id.clone().unwrap_or_else(|| name.to_owned());
        match (c.address.kind, c.action) {
            (_, Action::Noop) => unreachable!("no-ops are not run"),
            (_, Action::Forget) => Ok(Effect::Remove),
            (_, Action::Deauthorize) => {
                aws.deauthorize_connection(name).await?;
                let live = wait_for(
                    timeout,
                    || aws.describe_connection(name),
                    c.address.kind,
                    Health::Off,
                )
                .await?;
                let arn = live
                    .as_ref()
                    .map(|l| l.arn.clone())
                    .or(c.arn.clone())
                    .unwrap_or_default();
                Ok(Effect::Record(self.record(
                    name.to_owned(),
                    arn,
                    live.as_ref(),
                )))
            }
            (kind, Action::Delete) => {
                let deleted = match kind {
                    Kind::Connection => aws.delete_connection(&id).await,
                    Kind::ApiDestination => aws.delete_api_destination(&id).await,
                    Kind::Connector => aws.delete_connector(&id).await,
                };
                match deleted {
                    Ok(()) => Ok(Effect::Remove),
                    Err(e) if e.class == ErrorClass::NotFound => Ok(Effect::Remove),
                    Err(e) => Err(e),
                }
            }
            // A named resource cannot be created anew before the old one is gone, and its
            // rules reset every optional field in place: a replacement is never planned.
            (Kind::Connection | Kind::ApiDestination, Action::Replace) => Err(AwsError {
                operation: "apply",
                class: ErrorClass::Invalid,
                code: None,
                message: format!(
                    "{} cannot be replaced: AWS names it, so the old one would have to be deleted first",
                    c.address
                ),
            }),
            // The answer carries the ARN, state and `LastModifiedTime`: a Describe only
            // while the state is not final (an OAuth connection `AUTHORIZING`).
            (Kind::Connection, action) => {
                let spec: ConnectionSpec = typed(&self.spec)?;
                let written = if action == Action::Create {
                    aws.create_connection(name, &spec, &self.secrets).await?
                } else {
                    aws.update_connection(name, &spec, &self.secrets, &c.clear)
                        .await?
                };
                let arn = self.arn_of(&written);
                let settled = written
                    .status
                    .as_deref()
                    .is_some_and(|s| (Kind::Connection.rules().health)(s) == Health::Healthy);
                if settled {
                    return Ok(Effect::Record(self.record_written(name, arn, &written)));
                }
                let live = wait_for(
                    timeout,
                    || aws.describe_connection(name),
                    Kind::Connection,
                    Health::Healthy,
                )
                .await?;
                Ok(Effect::Record(self.record(
                    name.to_owned(),
                    live.as_ref().map_or(arn, |l| l.arn.clone()),
                    live.as_ref(),
                )))
            }
            // Never waited for: `INACTIVE` follows its connection (recorded as it is).
            (Kind::ApiDestination, action) => {
                let spec: ApiDestinationSpec = typed(&self.spec)?;
                let connection_arn = spec.connection_arn.clone().unwrap_or_default();
                let written = if action == Action::Create {
                    aws.create_api_destination(name, &spec, &connection_arn)
                        .await?
                } else {
                    aws.update_api_destination(name, &spec, &connection_arn, &c.clear)
                        .await?
                };
                let arn = self.arn_of(&written);
                Ok(Effect::Record(self.record_written(name, arn, &written)))
            }
            (Kind::Connector, Action::Create | Action::Replace) => {
                let spec: ConnectorSpec = typed(&self.spec)?;
                let tags = BTreeMap::from([
                    (TAG_NAME.to_owned(), name.to_owned()),
                    (TAG_LINEAGE.to_owned(), self.lineage.clone()),
                ]);
                let (new_id, arn) = aws.create_connector(&spec, &tags).await?;
                let live = wait_for(
                    timeout,
                    || aws.describe_connector(&new_id),
                    Kind::Connector,
                    Health::Healthy,
                )
                .await?;
                if c.action == Action::Replace
                    && let Some(old) = &c.id
                {
                    match aws.delete_connector(old).await {
                        Ok(()) => {}
                        Err(e) if e.class == ErrorClass::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(Effect::Record(self.record(new_id, arn, live.as_ref())))
            }
            (Kind::Connector, Action::Update) => {
                let spec: ConnectorSpec = typed(&self.spec)?;
                let arn = c.arn.clone().unwrap_or_default();
                let (tag_changes, other): (Vec<_>, Vec<_>) =
                    c.fields.iter().partition(|f| f.path.starts_with("tags."));
                if !other.is_empty() {
                    let clear: Vec<String> = c
                        .clear
                        .iter()
                        .filter(|p| !p.starts_with("/spec/tags"))
                        .cloned()
                        .collect();
                    aws.update_connector(&id, &spec, &clear).await?;
                }
                let set: BTreeMap<String, String> = tag_changes
                    .iter()
                    .filter(|f| f.after.is_some())
                    .filter_map(|f| {
                        let key = f.path.strip_prefix("tags.")?;
                        // `outbound:` tags are not in the spec: the plan carries their value.
                        let value = spec.tags.get(key).cloned().or_else(|| match &f.after {
                            Some(crate::diff::Leaf::Value(Value::String(v))) => Some(v.clone()),
                            _ => None,
                        })?;
                        Some((key.to_owned(), value))
                    })
                    .collect();
                let unset: Vec<String> = tag_changes
                    .iter()
                    .filter(|f| f.after.is_none())
                    .filter_map(|f| f.path.strip_prefix("tags.").map(str::to_owned))
                    .collect();
                aws.tag_connector(&arn, &set).await?;
                aws.untag_connector(&arn, &unset).await?;
                let live = wait_for(
                    timeout,
                    || aws.describe_connector(&id),
                    Kind::Connector,
                    Health::Healthy,
                )
                .await?;
                Ok(Effect::Record(self.record(id.clone(), arn, live.as_ref())))
            }
        }
    }

    /// The ARN of a Create or Update answer, else the one the plan knew.
    fn arn_of(&self, written: &Written) -> String {
        if written.arn.is_empty() {
            self.change.arn.clone().unwrap_or_default()
        } else {
            written.arn.clone()
        }
    }

    /// The record of a change whose answer said all there is to know.
    fn record_written(&self, name: &str, arn: String, written: &Written) -> Record {
        let mut record = self.record(name.to_owned(), arn, None);
        record.live = LiveMarkers {
            last_modified: written.last_modified.clone(),
            status: written.status.clone(),
        };
        record
    }

    fn record(&self, id: String, arn: String, live: Option<&Live>) -> Record {
        Record {
            id,
            arn,
            spec: self.recorded.clone(),
            fingerprints: self.change.fingerprints.clone(),
            protect: self.change.protect,
            live: LiveMarkers {
                last_modified: live.and_then(|l| l.last_modified.clone()),
                status: live.and_then(|l| l.status.clone()),
            },
            imported: false,
        }
    }
}

fn typed<T: serde::de::DeserializeOwned>(spec: &Value) -> Result<T, AwsError> {
    serde_json::from_value(spec.clone()).map_err(|e| AwsError {
        operation: "apply",
        class: ErrorClass::Invalid,
        code: None,
        message: format!("the planned spec does not fit its kind: {e}"),
    })
}

/// Describes until the resource's health (by its kind's rules) is `want`; fails on a
/// failed status (or one switched off, when not wanted) or after `timeout`.
async fn wait_for<F, Fut>(
    timeout: Duration,
    describe: F,
    kind: Kind,
    want: Health,
) -> Result<Option<Live>, AwsError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Option<Live>, AwsError>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut delay = Duration::from_millis(200);
    loop {
        let live = describe().await?;
        let status = live.as_ref().and_then(|l| l.status.clone());
        // A resource whose API reports no status is ready once it can be read.
        let Some(s) = status.as_deref() else {
            return Ok(live);
        };
        let health = (kind.rules().health)(s);
        if health == want {
            return Ok(live);
        }
        if matches!(health, Health::Failed | Health::Off) {
            let reason = live
                .as_ref()
                .and_then(|l| l.status_reason.clone())
                .unwrap_or_default();
            return Err(AwsError {
                operation: "wait",
                class: ErrorClass::Other,
                code: Some(s.to_owned()),
                message: format!(
                    "the resource is {s}{}",
                    if reason.is_empty() {
                        String::new()
                    } else {
                        format!(": {reason}")
                    }
                ),
            });
        }
        if tokio::time::Instant::now() + delay > deadline {
            return Err(AwsError {
                operation: "wait",
                class: ErrorClass::Other,
                code: None,
                message: format!(
                    "still {s} after {}, expected it {}",
                    humantime::format_duration(timeout),
                    if want == Health::Off {
                        "switched off"
                    } else {
                        "ready"
                    }
                ),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::AwsOptions;
    use crate::graph::Graph;

    fn forget(name: &str, after: &[&str]) -> Change {
        Change {
            address: Address::new(Kind::Connection, name),
            action: Action::Forget,
            reasons: BTreeSet::new(),
            fields: Vec::new(),
            order: 0,
            id: None,
            arn: None,
            desired: None,
            fingerprints: BTreeMap::new(),
            protect: false,
            clear: Vec::new(),
            after: after
                .iter()
                .map(|a| Address::new(Kind::Connection, *a))
                .collect(),
            status: None,
            status_reason: None,
        }
    }

    /// Issue 10 item 5: a change that waits for one that can never run (not in the plan,
    /// or in a cycle) made the loop spin forever; it now ends with that change failed.
    /// (Forget makes no AWS call: the clients point at a closed port and are never used.)
    #[tokio::test]
    async fn changes_that_can_never_run_fail_instead_of_spinning() {
        let options = AwsOptions {
            region: Some("test-1".into()),
            profile: None,
            endpoint_url: Some("http://127.0.0.1:9".into()),
            rate_limits: Default::default(),
        };
        let aws = Arc::new(
            Aws::connect_with_credentials(&options, "testing", "testing", Vec::new())
                .await
                .unwrap(),
        );
        let dir = tempfile::tempdir().unwrap();
        let store = LocalState::new(dir.path().join("state.json"));
        let mut state = State::new();
        let plan = Plan {
            state_lineage: state.lineage.clone(),
            state_serial: 0,
            changes: vec![
                forget("free", &[]),
                forget("a", &["b"]),
                forget("b", &["a"]),
                forget("orphan", &["ghost"]),
            ],
            live_fingerprints: BTreeMap::new(),
        };
        let desired = DesiredState {
            resources: BTreeMap::new(),
            graph: Graph::default(),
            files: 0,
        };
        let options = ApplyOptions {
            parallelism: 4,
            wait_timeout: Duration::from_secs(1),
        };
        let report = apply(&aws, &plan, &desired, &store, &mut state, &options)
            .await
            .unwrap();
        let outcome = |n: &str| {
            report
                .rows
                .iter()
                .find(|r| r.address.name == n)
                .map(|r| r.outcome.clone())
                .unwrap()
        };
        assert_eq!(outcome("free"), Outcome::Done);
        for stuck in ["a", "b", "orphan"] {
            assert!(
                matches!(outcome(stuck), Outcome::Failed(ref why) if why.contains("can never run")),
                "{stuck}: {:?}",
                outcome(stuck)
            );
        }
        assert_eq!(aws.calls.total(), 0);
    }
}
