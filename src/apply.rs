//! Plan -> report: changes run in graph order with bounded concurrency; the state is saved
//! after every successful AWS change; a failed change skips its dependents while the others
//! go on.

mod progress;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinSet;

use crate::aws::cloud::Cloud;
use crate::aws::events::Written;
use crate::aws::{AwsError, ErrorClass, Live};
use crate::manifest::DesiredState;
use crate::plan::{Action, Change, Plan};
use crate::resource::connector::{TAG_LINEAGE, TAG_NAME};
use crate::resource::rules::{Health, Identity, Sends};
use crate::resource::{
    Address, ApiDestinationSpec, Arn, ConnectionSpec, ConnectorId, ConnectorSpec, FieldPath, Kind,
    ResourceId, SpecJson,
};
use crate::state::{LiveMarkers, Pending, Record, State, StateError};
use crate::store::Store;

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub parallelism: usize,
    /// How long to wait for a connection to be `AUTHORIZED`, a connector `ACTIVE`.
    pub wait_timeout: Duration,
    /// Once cancelled (Ctrl-C, SIGTERM), no change starts; those in flight finish.
    pub cancel: tokio_util::sync::CancellationToken,
}

/// While changes run, the state is saved at most this often (and at the end): a change
/// finished but not yet saved is found again by the next run (creations and deletions are
/// pending; a connector's new id is saved before anything waits on it).
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// How one change ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed(String),
    /// Not attempted because a change it waits for did not succeed.
    Skipped(Address),
    /// Not started because the run was interrupted.
    NotStarted,
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
    /// The first write, before any change started.
    #[error("could not save state before the first change; no change was made to AWS")]
    Before(#[source] StateError),
}

/// What a successful change leaves in the state.
enum Effect {
    Record(Record),
    Remove,
    /// The old resource of a replacement was deleted (its record is the new one already).
    Retired,
}

/// Runs `plan`; `state` is updated and saved to `store` as changes succeed.
pub async fn apply<C: Cloud>(
    aws: &Arc<C>,
    plan: &Plan,
    desired: &DesiredState,
    store: &Store,
    state: &mut State,
    options: &ApplyOptions,
) -> Result<Report, ApplyError> {
    // 1. Records out of date are refreshed; every creation and deletion is pending before
    //    the first starts: one write, not one per change.
    refresh_noops(plan, store, state).map_err(ApplyError::Before)?;
    let before = mark_pending(plan, store, state).map_err(ApplyError::Before)?;
    let mut saves = Saves::new();
    let mut tally = Tally::new(plan, state);
    // Jobs report each connector they create here, and wait until it is saved as pending.
    let (created_tx, mut created_rx) = tokio::sync::mpsc::unbounded_channel::<Created>();
    loop {
        // 2. Skip what waits on a failure; start what is ready, up to the bound.
        let started = start_ready(&mut tally, aws, desired, state, options, &created_tx);
        // 3. Save the id of a connector just created (before its job waits on it), or wait
        //    for a job to finish and record it.
        let joined = tokio::select! {
            Some(created) = created_rx.recv() => {
                save_created(created, store, state)?;
                continue;
            }
            joined = tally.running.join_next() => joined,
        };
        let Some(joined) = joined else {
            if tally.go_on_idle(&started, options.cancel.is_cancelled()) {
                continue;
            }
            break;
        };
        tally.finished(joined, state, &before);
        // 4. The state is saved at most every `SAVE_EVERY`.
        saves.changed(store, state)?;
    }
    // 5. Changes that never started are not pending; then the last write.
    saves.unsaved |= unmark_unstarted(&before, &tally.outcomes, state);
    saves.flush(store, state)?;
    Ok(Report {
        rows: rows(plan, tally.outcomes),
    })
}

/// What the loop of [`apply`] knows between its steps.
struct Tally<'p> {
    /// The changes not started yet.
    todo: BTreeMap<&'p Address, &'p Change>,
    outcomes: BTreeMap<Address, Outcome>,
    /// The id and ARN of every resource in the state, for the changes that name it.
    arns: BTreeMap<Address, (ResourceId, Arn)>,
    /// Replacements done whose old resource waits for the changes that repoint its
    /// referrers: the kind, the old id, and those changes.
    retiring: BTreeMap<Address, (ResourceId, Vec<Address>)>,
    running: JoinSet<Finished>,
    in_flight: BTreeSet<Address>,
}

impl<'p> Tally<'p> {
    fn new(plan: &'p Plan, state: &State) -> Self {
        Tally {
            todo: plan
                .changes
                .iter()
                .filter(|c| c.action != Action::Noop)
                .map(|c| (&c.address, c))
                .collect(),
            outcomes: BTreeMap::new(),
            arns: state
                .resources
                .iter()
                .map(|(a, r)| (a.clone(), (r.id.clone(), r.arn.clone())))
                .collect(),
            retiring: plan
                .changes
                .iter()
                .filter(|c| c.action == Action::Replace && !c.retire_after.is_empty())
                .filter_map(|c| Some((c.address.clone(), (c.id.clone()?, c.retire_after.clone()))))
                .collect(),
            running: JoinSet::new(),
            in_flight: BTreeSet::new(),
        }
    }

    /// A job ended (and any other that did meanwhile): each change goes into the state, its
    /// outcome into the tally.
    #[allow(
        clippy::expect_used,
        reason = "a task that panicked is a bug; its address is lost with it"
    )]
    fn finished(
        &mut self,
        joined: Result<Finished, tokio::task::JoinError>,
        state: &mut State,
        before: &Before,
    ) {
        let mut finished = vec![joined];
        while let Some(more) = self.running.try_join_next() {
            finished.push(more);
        }
        for joined in finished {
            let (address, result) = joined.expect("apply tasks do not panic");
            self.in_flight.remove(&address);
            let retired = matches!(result, Ok(Effect::Retired));
            let outcome = record(&address, result, state, &mut self.arns, before);
            if retired && outcome == Outcome::Done {
                continue;
            }
            if outcome != Outcome::Done {
                // A replacement that failed leaves nothing to retire.
                self.retiring.remove(&address);
            }
            self.outcomes.insert(address, outcome);
        }
    }

    /// Nothing runs: whether to go on, since skips may have unblocked (or skipped) more.
    /// When nothing could start either, what is left fails: the run ends, never spins.
    fn go_on_idle(&mut self, started: &[Address], cancelled: bool) -> bool {
        if self.todo.is_empty() && !self.retiring.is_empty() && !cancelled {
            // What waits on the repointing changes that can no longer run stays: the old
            // resource is still named.
            self.retiring.clear();
        }
        if self.todo.is_empty() || cancelled {
            return false;
        }
        if !started.is_empty() {
            return true;
        }
        fail_stuck(std::mem::take(&mut self.todo), &mut self.outcomes);
        false
    }
}

/// While changes finish, the state is saved at most every [`SAVE_EVERY`], and at the end.
struct Saves {
    last: tokio::time::Instant,
    unsaved: bool,
}

impl Saves {
    fn new() -> Self {
        Saves {
            last: tokio::time::Instant::now(),
            unsaved: false,
        }
    }

    /// Changes were recorded: saves them if the last save is old enough.
    fn changed(&mut self, store: &Store, state: &mut State) -> Result<(), StateError> {
        self.unsaved = true;
        if self.last.elapsed() >= SAVE_EVERY {
            save(store, state)?;
            self.last = tokio::time::Instant::now();
            self.unsaved = false;
        }
        Ok(())
    }

    /// The last write, if anything is unsaved.
    fn flush(self, store: &Store, state: &mut State) -> Result<(), StateError> {
        if self.unsaved {
            save(store, state)?;
        }
        Ok(())
    }
}

/// What a job's task returns.
type Finished = (Address, Result<Effect, Failure>);

/// A change that failed.
struct Failure {
    error: AwsError,
    /// AWS refused the change's first write (or it failed before any was sent): nothing
    /// changed in AWS, so this run's pending mark goes (issue 15 item 8).
    nothing_done: bool,
}

/// The pending marks as they were before this run marked its changes (`None`: there was
/// none): what a change that never started, or that AWS refused, restores.
type Before = BTreeMap<Address, Option<Pending>>;

/// Skips what waits on a failure, starts what is ready, up to the bound (none once
/// cancelled). Returns the addresses skipped or started, no longer to do.
fn start_ready<C: Cloud>(
    tally: &mut Tally<'_>,
    aws: &Arc<C>,
    desired: &DesiredState,
    state: &State,
    options: &ApplyOptions,
    created_tx: &tokio::sync::mpsc::UnboundedSender<Created>,
) -> Vec<Address> {
    let Tally {
        todo,
        outcomes,
        arns,
        retiring,
        running,
        in_flight,
    } = tally;
    let mut started = Vec::new();
    start_retiring(retiring, outcomes, aws, running, in_flight, options);
    for (address, change) in todo.iter().filter(|_| !options.cancel.is_cancelled()) {
        if let Some(blocker) = blocked_by(change, outcomes) {
            outcomes.insert((*address).clone(), Outcome::Skipped(blocker.clone()));
            started.push((*address).clone());
            continue;
        }
        let ready = change
            .after
            .iter()
            .all(|a| outcomes.get(a) == Some(&Outcome::Done));
        if ready && in_flight.len() < options.parallelism.max(1) {
            let job = Job::new(change, desired, state, arns);
            let aws = Arc::clone(aws);
            let timeout = options.wait_timeout;
            let created = created_tx.clone();
            running.spawn(async move {
                let address = job.change.address.clone();
                let step = Arc::clone(&job.step);
                let result = job.run(aws.as_ref(), timeout, &created).await;
                step.finished(result.is_ok());
                let result = result.map_err(|error| Failure {
                    nothing_done: job.nothing_done(&error),
                    error,
                });
                (address, result)
            });
            in_flight.insert((*address).clone());
            started.push((*address).clone());
        }
    }
    for a in &started {
        todo.remove(a);
    }
    started
}

/// Deletes the old resource of each replacement whose referrers are all repointed (and was
/// itself done); one whose referrers failed stays (they may still name it).
fn start_retiring<C: Cloud>(
    retiring: &mut BTreeMap<Address, (ResourceId, Vec<Address>)>,
    outcomes: &BTreeMap<Address, Outcome>,
    aws: &Arc<C>,
    running: &mut JoinSet<Finished>,
    in_flight: &mut BTreeSet<Address>,
    options: &ApplyOptions,
) {
    if options.cancel.is_cancelled() {
        return;
    }
    let ready: Vec<Address> = retiring
        .iter()
        .filter(|(a, (_, waits))| {
            outcomes.get(*a) == Some(&Outcome::Done)
                && !in_flight.contains(*a)
                && waits.iter().all(|w| outcomes.contains_key(w))
        })
        .map(|(a, _)| a.clone())
        .collect();
    for address in ready {
        let Some((old, waits)) = retiring.remove(&address) else {
            continue;
        };
        if !waits
            .iter()
            .all(|w| outcomes.get(w) == Some(&Outcome::Done))
        {
            tracing::warn!(%address, old = %old, "the old resource is kept: a resource that named it was not repointed");
            continue;
        }
        let aws = Arc::clone(aws);
        in_flight.insert(address.clone());
        running.spawn(async move {
            let result = match aws.delete_by_id(address.kind, &old).await {
                Ok(()) => Ok(Effect::Retired),
                Err(e) if e.class == ErrorClass::NotFound => Ok(Effect::Retired),
                // The replacement's mark stays: the old resource may still be there.
                Err(error) => Err(Failure {
                    error,
                    nothing_done: false,
                }),
            };
            (address, result)
        });
    }
}

/// Saves the id of a connector a job just created as pending, then lets the job go on.
fn save_created(created: Created, store: &Store, state: &mut State) -> Result<(), StateError> {
    if let Some(p) = state.pending.get_mut(&created.address) {
        p.id = Some(created.id);
    }
    save(store, state)?;
    let _ = created.saved.send(());
    Ok(())
}

/// Puts back the pending marks of the changes that never started (neither done nor
/// failed) as they were before this run: an earlier run's mark survives (issue 15 item 7).
/// Returns whether any changed.
fn unmark_unstarted(
    before: &Before,
    outcomes: &BTreeMap<Address, Outcome>,
    state: &mut State,
) -> bool {
    let mut unmarked = false;
    for (address, previous) in before {
        if !matches!(
            outcomes.get(address),
            Some(Outcome::Done | Outcome::Failed(_))
        ) {
            unmarked |= restore(address, previous.clone(), state);
        }
    }
    unmarked
}

/// Sets the pending mark of `address` back to `previous`; whether that changed it.
fn restore(address: &Address, previous: Option<Pending>, state: &mut State) -> bool {
    let was = match previous.clone() {
        Some(p) => state.pending.insert(address.clone(), p),
        None => state.pending.remove(address),
    };
    was != previous
}

/// A report row for every change that was to run, in plan order.
fn rows(plan: &Plan, mut outcomes: BTreeMap<Address, Outcome>) -> Vec<Row> {
    plan.changes
        .iter()
        .filter(|c| c.action != Action::Noop)
        .map(|c| Row {
            address: c.address.clone(),
            action: c.action,
            outcome: outcomes.remove(&c.address).unwrap_or(Outcome::NotStarted),
        })
        .collect()
}

/// The change `change` waits for that failed or was skipped, if any.
fn blocked_by<'a>(
    change: &'a Change,
    outcomes: &BTreeMap<Address, Outcome>,
) -> Option<&'a Address> {
    change.after.iter().find(|a| {
        matches!(
            outcomes.get(*a),
            Some(Outcome::Failed(_) | Outcome::Skipped(_))
        )
    })
}

/// Records every creation, replacement, update, deauthorization and deletion of `plan` as
/// pending, in one write, before any starts: the next run adopts what an interrupted creation
/// made, knows who deleted what an interrupted deletion removed, and who moved the
/// `LastModifiedTime` of an interrupted update. A mark an earlier run left is kept, merged
/// with this run's ([`Pending::merged`]): it is resolved only when a change of the address
/// succeeds. Returns the marks as they were before.
fn mark_pending(plan: &Plan, store: &Store, state: &mut State) -> Result<Before, StateError> {
    let started = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let mut before = Before::new();
    for change in plan.changes.iter().filter(|c| {
        matches!(
            c.action,
            Action::Create
                | Action::Replace
                | Action::Delete
                | Action::Update
                | Action::Deauthorize
        )
    }) {
        let mark = Pending {
            started: started.clone(),
            delete: change.action == Action::Delete,
            update: matches!(change.action, Action::Update | Action::Deauthorize),
            id: None,
            replaces: (change.action == Action::Replace)
                .then(|| change.id.as_ref().and_then(|i| i.connector().ok()))
                .flatten(),
        };
        let previous = state.pending.get(&change.address).cloned();
        let merged = match &previous {
            Some(earlier) => earlier.merged(mark),
            None => mark,
        };
        state.pending.insert(change.address.clone(), merged);
        before.insert(change.address.clone(), previous);
    }
    if !before.is_empty() {
        save(store, state)?;
    }
    Ok(before)
}

/// What is left waits for changes that will never come (not in the plan, or in a cycle):
/// each fails, naming them.
fn fail_stuck(left: BTreeMap<&Address, &Change>, outcomes: &mut BTreeMap<Address, Outcome>) {
    for (address, change) in left {
        let waits: Vec<String> = change
            .after
            .iter()
            .filter(|a| outcomes.get(*a) != Some(&Outcome::Done))
            .map(ToString::to_string)
            .collect();
        let why = format!("waits for {}, which can never run", waits.join(", "));
        outcomes.insert(address.clone(), Outcome::Failed(why));
    }
}

/// Puts a finished change into the state. A failed change stays pending: its answer may
/// have been lost after AWS acted, and the next run adopts (or forgets) what it finds;
/// unless AWS refused it before anything was done (a validation error, "already exists"):
/// then its mark is as it was before this run (issue 15 item 8).
fn record(
    address: &Address,
    result: Result<Effect, Failure>,
    state: &mut State,
    arns: &mut BTreeMap<Address, (ResourceId, Arn)>,
    before: &Before,
) -> Outcome {
    if result.is_ok() {
        state.pending.remove(address);
    }
    match result {
        Ok(Effect::Record(record)) => {
            arns.insert(address.clone(), (record.id.clone(), record.arn.clone()));
            state.resources.insert(address.clone(), record);
            Outcome::Done
        }
        Ok(Effect::Remove) => {
            state.resources.remove(address);
            Outcome::Done
        }
        Ok(Effect::Retired) => Outcome::Done,
        Err(Failure {
            error,
            nothing_done,
        }) => {
            tracing::warn!(%address, %error, "change failed");
            if nothing_done {
                restore(address, before.get(address).cloned().flatten(), state);
            }
            Outcome::Failed(error.to_string())
        }
    }
}

/// Writes `state` as its next serial.
pub fn save(store: &Store, state: &mut State) -> Result<(), StateError> {
    state.serial += 1;
    store.save(state)
}

/// Unchanged resources whose record is out of date (an adopted creation, a new protect flag,
/// a first apply after an upgrade) get their record refreshed without an AWS call.
fn refresh_noops(plan: &Plan, store: &Store, state: &mut State) -> Result<(), StateError> {
    let mut changed = false;
    // Recorded as a job records: references resolved (a profile's certificate ids), so an
    // unchanged resource's record is the one its last apply wrote.
    let arns: BTreeMap<Address, (ResourceId, Arn)> = state
        .resources
        .iter()
        .map(|(a, r)| (a.clone(), (r.id.clone(), r.arn.clone())))
        .collect();
    for c in plan.changes.iter().filter(|c| c.action == Action::Noop) {
        let (Some(id), Some(arn), Some(_)) = (&c.id, &c.arn, &c.desired) else {
            continue;
        };
        let record = Record {
            id: id.clone(),
            arn: arn.clone(),
            spec: resolved_spec(c, &arns),
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
        } else if state.pending.remove(&c.address).is_some() {
            // An interrupted attempt that left nothing behind: the resource is as wanted.
            changed = true;
        }
    }
    if changed {
        save(store, state)?;
    }
    Ok(())
}

/// The planned spec of `change` with each reference resolved to the id or ARN of its
/// target in `arns`: what a job sends, and what the state records of an unchanged resource.
fn resolved_spec(change: &Change, arns: &BTreeMap<Address, (ResourceId, Arn)>) -> SpecJson {
    let mut spec = change.desired.as_ref().map_or(Value::Null, SpecJson::value);
    crate::resource::resolve_references(change.address.kind, &mut spec, &|a, sends| {
        let (id, arn) = arns.get(a)?;
        Some(match sends {
            Sends::Id => id.as_str().to_owned(),
            Sends::Arn => arn.as_str().to_owned(),
        })
    });
    SpecJson::from(spec)
}

/// A connector a job created: the loop saves its id in `state.pending`, then answers.
struct Created {
    address: Address,
    id: ConnectorId,
    saved: tokio::sync::oneshot::Sender<()>,
}

/// Everything one change needs, owned, so it can run on its own task.
struct Job {
    change: Change,
    /// The planned spec, with `connectionArn` filled in for an API destination from the
    /// connection the plan names; it is also what the state records.
    spec: SpecJson,
    secrets: crate::aws::events::Secrets,
    lineage: String,
    /// Its progress on stderr: its end, and what it waits on.
    step: Arc<progress::Step>,
    /// Whether a write of this change went through (AWS answered it).
    wrote: std::sync::atomic::AtomicBool,
}

impl Job {
    fn new(
        change: &Change,
        desired: &DesiredState,
        state: &State,
        arns: &BTreeMap<Address, (ResourceId, Arn)>,
    ) -> Job {
        // Only the secret values come from `desired`: what to send is the plan's. Each
        // reference is resolved to the id or ARN of its target as it is now (created or
        // replaced earlier in this run).
        Job {
            change: change.clone(),
            spec: resolved_spec(change, arns),
            secrets: desired
                .resources
                .get(&change.address)
                .map(|r| r.secrets.clone())
                .unwrap_or_default(),
            lineage: state.lineage.clone(),
            step: Arc::new(progress::Step::start(&change.address, change.action)),
            wrote: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// A write's answer, noting when it went through.
    fn wrote<T>(&self, answer: Result<T, AwsError>) -> Result<T, AwsError> {
        if answer.is_ok() {
            self.wrote.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        answer
    }

    /// Whether the change failed with `error` before anything changed in AWS: no write went
    /// through, and the failing one (if any) was refused, an answer that proves it was not
    /// carried out (validation, already exists, access denied, quota, throttled, not found),
    /// not a lost answer or a server error, which may hide a change that happened.
    fn nothing_done(&self, error: &AwsError) -> bool {
        !self.wrote.load(std::sync::atomic::Ordering::Relaxed) && error.class != ErrorClass::Other
    }

    /// Runs the change: the AWS calls of its kind and action, each in its own method.
    async fn run<C: Cloud>(
        &self,
        aws: &C,
        timeout: Duration,
        created: &tokio::sync::mpsc::UnboundedSender<Created>,
    ) -> Result<Effect, AwsError> {
        let c = &self.change;
        // Copies an interrupted create or replacement left go first (issue 10 item 1).
        for leftover in &c.leftovers {
            self.wrote(delete_connector(aws, leftover).await)?;
        }
        let by_id = c.address.kind != Kind::Connector
            && matches!(c.address.kind.rules().identity, Identity::Tagged { .. });
        match (c.address.kind, c.action) {
            (_, Action::Noop) => unreachable!("no-ops are not run"),
            (_, Action::Create | Action::Replace) if by_id => self.create_by_id(aws).await,
            (_, Action::Update | Action::Adopt) if by_id => self.update_by_id(aws).await,
            (_, Action::Forget) => Ok(Effect::Remove),
            // An adoption with nothing to change is only recorded.
            (_, Action::Adopt) if c.fields.is_empty() => self.adopt(aws).await,
            (_, Action::Deauthorize) => self.deauthorize(aws, timeout).await,
            (_, Action::Delete) => self.delete(aws).await,
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
            (Kind::Connection, _) => self.connection(aws, timeout).await,
            (Kind::ApiDestination, _) => self.api_destination(aws).await,
            (Kind::Connector, Action::Create | Action::Replace) => {
                self.create_connector(aws, timeout, created).await
            }
            (Kind::Connector, Action::Update | Action::Adopt) => {
                self.update_connector(aws, timeout).await
            }
            // Every other kind is known by an id AWS assigns (`by_id`), handled above.
            (_, _) => Err(AwsError {
                operation: "apply",
                class: ErrorClass::Invalid,
                code: None,
                message: format!("{}: no calls for this kind", c.address),
            }),
        }
    }

    /// Records a resource the manifest adopts, as a Describe shows it now (its drift marker
    /// from a read); gone from AWS since the plan, it is not recorded.
    async fn adopt<C: Cloud>(&self, aws: &C) -> Result<Effect, AwsError> {
        let c = &self.change;
        let id =
            c.id.clone()
                .unwrap_or_else(|| ResourceId::name(&c.address.name));
        let live = match c.address.kind {
            Kind::Connection => aws.describe_connection(id.as_str()).await?,
            Kind::ApiDestination => aws.describe_api_destination(id.as_str()).await?,
            Kind::Connector => aws.describe_connector(&self.connector_id()?).await?,
            kind => aws.describe_by_id(kind, &id).await?,
        };
        let Some(live) = live else {
            return Err(AwsError {
                operation: "apply",
                class: ErrorClass::NotFound,
                code: None,
                message: format!("{} ({id}) to adopt is no longer in AWS", c.address),
            });
        };
        Ok(Effect::Record(self.record(
            id,
            live.arn.clone(),
            Some(&live),
        )))
    }

    /// `UpdateConnection` of its other fields when they change (without auth parameters: the
    /// spec says `deauthorized`), `DeauthorizeConnection`, then wait until AWS reports it
    /// switched off.
    async fn deauthorize<C: Cloud>(&self, aws: &C, timeout: Duration) -> Result<Effect, AwsError> {
        let c = &self.change;
        let name = c.address.name.as_str();
        if c.fields.iter().any(|f| f.path != "connectionState") {
            let spec: ConnectionSpec = typed(&self.spec)?;
            self.wrote(
                aws.update_connection(name, &spec, &self.secrets, &c.clear)
                    .await,
            )?;
        }
        self.wrote(aws.deauthorize_connection(name).await)?;
        let live = wait_for(
            &self.step,
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
            ResourceId::name(name),
            arn,
            live.as_ref(),
        )))
    }

    /// Deletes it; already gone counts as done.
    async fn delete<C: Cloud>(&self, aws: &C) -> Result<Effect, AwsError> {
        let c = &self.change;
        let id =
            c.id.clone()
                .unwrap_or_else(|| ResourceId::name(&c.address.name));
        let deleted = match c.address.kind {
            Kind::Connection => aws.delete_connection(id.as_str()).await,
            Kind::ApiDestination => aws.delete_api_destination(id.as_str()).await,
            Kind::Connector => aws.delete_connector(&self.connector_id()?).await,
            kind => aws.delete_by_id(kind, &id).await,
        };
        match self.wrote(deleted) {
            Ok(()) => Ok(Effect::Remove),
            Err(e) if e.class == ErrorClass::NotFound => Ok(Effect::Remove),
            Err(e) => Err(e),
        }
    }

    /// Creates or updates a connection, then waits until it is ready.
    async fn connection<C: Cloud>(&self, aws: &C, timeout: Duration) -> Result<Effect, AwsError> {
        let c = &self.change;
        let name = c.address.name.as_str();
        let spec: ConnectionSpec = typed(&self.spec)?;
        let written = self.wrote(if c.action == Action::Create {
            aws.create_connection(name, &spec, &self.secrets).await
        } else {
            aws.update_connection(name, &spec, &self.secrets, &c.clear)
                .await
        })?;
        // The markers recorded (`LastModifiedTime`, state) come from a Describe, never from
        // the write's answer (issue 15 item 11): the first one when the state is final,
        // more while it is not (an OAuth connection `AUTHORIZING`). A deauthorized one
        // (updated without its authorization) stays switched off.
        let arn = self.arn_of(&written);
        let want = if spec.deauthorized {
            Health::Off
        } else {
            Health::Healthy
        };
        let live = wait_for(
            &self.step,
            timeout,
            || aws.describe_connection(name),
            Kind::Connection,
            want,
        )
        .await?;
        Ok(Effect::Record(self.record(
            ResourceId::name(name),
            live.as_ref().map_or(arn, |l| l.arn.clone()),
            live.as_ref(),
        )))
    }

    /// Creates or updates an API destination (on its connection's ARN).
    async fn api_destination<C: Cloud>(&self, aws: &C) -> Result<Effect, AwsError> {
        let c = &self.change;
        let name = c.address.name.as_str();
        let spec: ApiDestinationSpec = typed(&self.spec)?;
        let connection_arn = Arn::new(spec.connection_arn.clone().unwrap_or_default());
        let written = self.wrote(if c.action == Action::Create {
            aws.create_api_destination(name, &spec, &connection_arn)
                .await
        } else {
            aws.update_api_destination(name, &spec, &connection_arn, &c.clear)
                .await
        })?;
        // Never waited for: `INACTIVE` follows its connection (recorded as it is). One
        // Describe gives the markers recorded, never the write's answer (issue 15 item 11).
        let arn = self.arn_of(&written);
        let live = aws.describe_api_destination(name).await?;
        Ok(Effect::Record(self.record(
            ResourceId::name(name),
            live.as_ref().map_or(arn, |l| l.arn.clone()),
            live.as_ref(),
        )))
    }

    /// Creates a connector tagged with its name and lineage, has its id saved as pending,
    /// waits until it is ready, and deletes the one it replaces.
    async fn create_connector<C: Cloud>(
        &self,
        aws: &C,
        timeout: Duration,
        created: &tokio::sync::mpsc::UnboundedSender<Created>,
    ) -> Result<Effect, AwsError> {
        let c = &self.change;
        let name = c.address.name.as_str();
        let spec: ConnectorSpec = typed(&self.spec)?;
        let tags = BTreeMap::from([
            (TAG_NAME.to_owned(), name.to_owned()),
            (TAG_LINEAGE.to_owned(), self.lineage.clone()),
        ]);
        let new_id = self.wrote(aws.start_connector(&spec, &tags).await)?;
        // The new id is in state before anything reads or waits on it: a run that dies or
        // fails from here on leaves a pending entry naming the copy it made.
        let (saved, is_saved) = tokio::sync::oneshot::channel();
        let report = Created {
            address: c.address.clone(),
            id: new_id.clone(),
            saved,
        };
        if created.send(report).is_ok() {
            let _ = is_saved.await;
        }
        let live = wait_for(
            &self.step,
            timeout,
            || aws.describe_connector(&new_id),
            Kind::Connector,
            Health::Healthy,
        )
        .await?;
        // The wait's Describe gives the ARN (CreateConnector answers with the id only).
        let arn = match &live {
            Some(l) if !l.arn.is_empty() => l.arn.clone(),
            _ => {
                return Err(AwsError {
                    operation: "DescribeConnector",
                    class: ErrorClass::Other,
                    code: None,
                    message: format!(
                        "connector {new_id} was created, but AWS does not describe it with an ARN"
                    ),
                });
            }
        };
        if c.action == Action::Replace && c.id.is_some() {
            self.wrote(delete_connector(aws, &self.connector_id()?).await)?;
        }
        Ok(Effect::Record(self.record(
            new_id.into(),
            arn,
            live.as_ref(),
        )))
    }

    /// Creates a resource known by an AWS-assigned id (certificate, profile), tagged with its
    /// name and lineage, reads it back for its ARN, and deletes the one it replaces unless
    /// others still name it (the engine deletes that one once they are repointed).
    async fn create_by_id<C: Cloud>(&self, aws: &C) -> Result<Effect, AwsError> {
        let c = &self.change;
        let kind = c.address.kind;
        let tags = BTreeMap::from([
            (TAG_NAME.to_owned(), c.address.name.clone()),
            (TAG_LINEAGE.to_owned(), self.lineage.clone()),
        ]);
        let new_id = self.wrote(
            aws.create_by_id(kind, &self.spec, &self.secrets, &tags)
                .await,
        )?;
        let live = aws.describe_by_id(kind, &new_id).await?;
        let arn = match &live {
            Some(l) if !l.arn.is_empty() => l.arn.clone(),
            _ => {
                return Err(AwsError {
                    operation: "Describe",
                    class: ErrorClass::Other,
                    code: None,
                    message: format!(
                        "{kind} {new_id} was created, but AWS does not describe it with an ARN"
                    ),
                });
            }
        };
        if c.action == Action::Replace
            && c.retire_after.is_empty()
            && let Some(old) = &c.id
        {
            match self.wrote(aws.delete_by_id(kind, old).await) {
                Err(e) if e.class != ErrorClass::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(Effect::Record(self.record(new_id, arn, live.as_ref())))
    }

    /// Updates a resource known by an AWS-assigned id in place: its members, then its tags.
    async fn update_by_id<C: Cloud>(&self, aws: &C) -> Result<Effect, AwsError> {
        let c = &self.change;
        let kind = c.address.kind;
        let Some(id) = c.id.clone() else {
            return Err(AwsError {
                operation: "apply",
                class: ErrorClass::Invalid,
                code: None,
                message: format!("{}: the plan names no id", c.address),
            });
        };
        let arn = c.arn.clone().unwrap_or_default();
        let (tag_changes, other): (Vec<_>, Vec<_>) =
            c.fields.iter().partition(|f| f.path.tag_key().is_some());
        if !other.is_empty() {
            self.wrote(aws.update_by_id(kind, &id, &self.spec).await)?;
        }
        let spec_tags: BTreeMap<String, String> = self
            .spec
            .get("tags")
            .and_then(|t| serde_json::from_value(t).ok())
            .unwrap_or_default();
        let (set, unset) = tag_updates(&tag_changes, &spec_tags);
        // Removed before added, as for connectors.
        if !unset.is_empty() {
            self.wrote(aws.untag_connector(&arn, &unset).await)?;
        }
        if !set.is_empty() {
            self.wrote(aws.tag_connector(&arn, &set).await)?;
        }
        let live = aws.describe_by_id(kind, &id).await?;
        Ok(Effect::Record(self.record(id, arn, live.as_ref())))
    }

    /// Updates a connector in place: its members, then its tags; waits until it is ready.
    async fn update_connector<C: Cloud>(
        &self,
        aws: &C,
        timeout: Duration,
    ) -> Result<Effect, AwsError> {
        let c = &self.change;
        let id = self.connector_id()?;
        let spec: ConnectorSpec = typed(&self.spec)?;
        let arn = c.arn.clone().unwrap_or_default();
        let (tag_changes, other): (Vec<_>, Vec<_>) =
            c.fields.iter().partition(|f| f.path.tag_key().is_some());
        if !other.is_empty() {
            let clear: Vec<FieldPath> = c
                .clear
                .iter()
                .filter(|p| !p.pointer().starts_with("/spec/tags"))
                .cloned()
                .collect();
            self.wrote(aws.update_connector(&id, &spec, &clear).await)?;
        }
        let (set, unset) = tag_updates(&tag_changes, &spec.tags);
        // Removed before added: a connector at AWS's limit of 50 tags can rename one.
        if !unset.is_empty() {
            self.wrote(aws.untag_connector(&arn, &unset).await)?;
        }
        if !set.is_empty() {
            self.wrote(aws.tag_connector(&arn, &set).await)?;
        }
        let live = wait_for(
            &self.step,
            timeout,
            || aws.describe_connector(&id),
            Kind::Connector,
            Health::Healthy,
        )
        .await?;
        Ok(Effect::Record(self.record(id.into(), arn, live.as_ref())))
    }

    /// The ARN of a Create or Update answer, else the one the plan knew.
    /// The id of the connector this change is about (the plan's, from the state or AWS).
    fn connector_id(&self) -> Result<ConnectorId, AwsError> {
        let c = &self.change;
        let id = c.id.as_ref().map(ResourceId::connector);
        match id {
            Some(Ok(id)) => Ok(id),
            Some(Err(e)) => Err(AwsError {
                operation: "apply",
                class: ErrorClass::Invalid,
                code: None,
                message: format!("{}: {e}", c.address),
            }),
            None => Err(AwsError {
                operation: "apply",
                class: ErrorClass::Invalid,
                code: None,
                message: format!("{}: the plan names no connector id", c.address),
            }),
        }
    }

    fn arn_of(&self, written: &Written) -> Arn {
        if written.arn.is_empty() {
            self.change.arn.clone().unwrap_or_default()
        } else {
            written.arn.clone()
        }
    }

    fn record(&self, id: ResourceId, arn: Arn, live: Option<&Live>) -> Record {
        Record {
            id,
            arn,
            spec: self.spec.clone(),
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

/// The tags to set and the keys to remove, from a change's tag fields; `outbound:` tags are
/// not in the spec (`spec_tags`): the plan carries their value.
fn tag_updates(
    tag_changes: &[&crate::diff::FieldChange],
    spec_tags: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let set = tag_changes
        .iter()
        .filter(|f| f.after.is_some())
        .filter_map(|f| {
            let key = f.path.tag_key()?;
            let value = spec_tags.get(key).cloned().or_else(|| match &f.after {
                Some(crate::diff::Leaf::Value(Value::String(v))) => Some(v.clone()),
                _ => None,
            })?;
            Some((key.to_owned(), value))
        })
        .collect();
    let unset = tag_changes
        .iter()
        .filter(|f| f.after.is_none())
        .filter_map(|f| f.path.tag_key().map(str::to_owned))
        .collect();
    (set, unset)
}

/// `DeleteConnector`; a connector already gone counts as deleted.
async fn delete_connector<C: Cloud>(aws: &C, id: &ConnectorId) -> Result<(), AwsError> {
    match aws.delete_connector(id).await {
        Err(e) if e.class != ErrorClass::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn typed<T: serde::de::DeserializeOwned>(spec: &SpecJson) -> Result<T, AwsError> {
    spec.typed().map_err(|e| AwsError {
        operation: "apply",
        class: ErrorClass::Invalid,
        code: None,
        message: format!("the planned spec does not fit its kind: {e}"),
    })
}

/// Describes until the resource's health (by its kind's rules) is `want`; fails on a
/// failed status (or one switched off, when not wanted) or after `timeout`.
async fn wait_for<F, Fut>(
    step: &progress::Step,
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
        step.waiting(s);
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::fake::Fake;
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
            not_compared: Vec::new(),
            protect: false,
            clear: Vec::new(),
            after: after
                .iter()
                .map(|a| Address::new(Kind::Connection, *a))
                .collect(),
            leftovers: Vec::new(),
            retire_after: Vec::new(),
            expires: None,
            status: None,
            status_reason: None,
        }
    }

    /// Issue 10 item 5: a change that waits for one that can never run (not in the plan,
    /// or in a cycle) made the loop spin forever; it now ends with that change failed.
    /// (Forget makes no AWS call: the double logs none.)
    #[tokio::test]
    async fn changes_that_can_never_run_fail_instead_of_spinning() {
        let aws = Arc::new(Fake::default());
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(Arc::new(crate::store::local::LocalFile::new(
            dir.path().join("state.json"),
        )));
        let mut state = State::new();
        let plan = Plan {
            state_lineage: state.lineage.clone(),
            state_serial: 0,
            fingerprint_salt: state.fingerprint_salt.clone(),
            secrets_checked: true,
            changes: vec![
                forget("free", &[]),
                forget("a", &["b"]),
                forget("b", &["a"]),
                forget("orphan", &["ghost"]),
            ],
            live_fingerprints: BTreeMap::new(),
            scope: Default::default(),
        };
        let desired = DesiredState {
            resources: BTreeMap::new(),
            graph: Graph::default(),
            files: 0,
        };
        let options = ApplyOptions {
            parallelism: 4,
            wait_timeout: Duration::from_secs(1),
            cancel: Default::default(),
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
        assert_eq!(aws.calls(), Vec::<String>::new());
    }

    // ---- The engine against the in-process double (crate::aws::fake) -------------------

    use crate::live::Observed;

    const MANIFESTS: &str = "apiVersion: outbound/v1
kind: Connection
metadata: { name: acme }
spec:
  authorizationType: API_KEY
  authParameters:
    apiKeyAuthParameters: { apiKeyName: x-api-key, apiKeyValue: { fromFile: key.txt } }
---
apiVersion: outbound/v1
kind: ApiDestination
metadata: { name: orders }
spec:
  connection: acme
  invocationEndpoint: https://api.example.com/orders
  httpMethod: POST
---
apiVersion: outbound/v1
kind: Connection
metadata: { name: other }
spec:
  authorizationType: API_KEY
  authParameters:
    apiKeyAuthParameters: { apiKeyName: x-api-key, apiKeyValue: { fromFile: key.txt } }
";

    /// Plans `MANIFESTS` from an empty state and applies the plan to `fake`.
    async fn apply_to(fake: Fake) -> (Arc<Fake>, Report, State) {
        apply_from(fake, State::new(), false).await
    }

    /// Plans `MANIFESTS` from `state` and applies the plan to `fake`, stopped before any
    /// change starts when `stopped`.
    async fn apply_from(fake: Fake, mut state: State, stopped: bool) -> (Arc<Fake>, Report, State) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.yaml"), MANIFESTS).unwrap();
        std::fs::write(dir.path().join("key.txt"), "not-a-real-key").unwrap();
        let desired = crate::manifest::validate(&[dir.path().join("m.yaml")]).unwrap();
        let observed: BTreeMap<Address, Observed> = BTreeMap::new();
        let plan = crate::plan::build(&desired, &state, &observed, &BTreeMap::new()).unwrap();
        let store = Store::new(Arc::new(crate::store::local::LocalFile::new(
            dir.path().join("state.json"),
        )));
        let options = ApplyOptions {
            parallelism: 1,
            wait_timeout: Duration::from_secs(10),
            cancel: Default::default(),
        };
        if stopped {
            options.cancel.cancel();
        }
        let fake = Arc::new(fake);
        let report = apply(&fake, &plan, &desired, &store, &mut state, &options)
            .await
            .unwrap();
        (fake, report, state)
    }

    fn outcome(report: &Report, name: &str) -> Outcome {
        report
            .rows
            .iter()
            .find(|r| r.address.name == name)
            .map(|r| r.outcome.clone())
            .unwrap()
    }

    /// A connection is created and waited for (through `AUTHORIZING`, to `ACTIVE`, a state
    /// the SDK does not know: issue 10 item 9) before its destination, which gets its ARN.
    #[tokio::test]
    async fn a_destination_is_created_after_its_connection_is_ready_with_its_arn() {
        let fake = Fake::default();
        fake.script("acme", &["AUTHORIZING", "ACTIVE"]);
        let (fake, report, state) = apply_to(fake).await;
        assert!(!report.failed(), "{:?}", report.rows);
        let calls = fake.calls();
        let position = |c: &str| calls.iter().position(|x| x == c).unwrap();
        assert!(position("CreateConnection acme") < position("CreateApiDestination orders"));
        let describes = calls
            .iter()
            .filter(|c| *c == "DescribeConnection acme")
            .count();
        assert_eq!(describes, 2, "{calls:?}");
        let acme_arn = &state.resources[&Address::new(Kind::Connection, "acme")].arn;
        assert_eq!(
            fake.live("orders").unwrap().spec.value()["connectionArn"],
            acme_arn.as_str()
        );
        assert!(state.pending.is_empty());
    }

    /// `FAILED_CONNECTIVITY` (unknown to the SDK) is a failure with AWS's reason; the
    /// destination waiting on it is skipped, the independent connection still created, and
    /// the failed creation stays pending for the next run to adopt.
    #[tokio::test]
    async fn a_failed_connection_skips_its_destination_and_nothing_else() {
        let fake = Fake::default();
        fake.script("acme", &["FAILED_CONNECTIVITY"]);
        let (fake, report, state) = apply_to(fake).await;
        match outcome(&report, "acme") {
            Outcome::Failed(why) => {
                assert!(
                    why.contains("FAILED_CONNECTIVITY: endpoint unreachable"),
                    "{why}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            outcome(&report, "orders"),
            Outcome::Skipped(Address::new(Kind::Connection, "acme"))
        );
        assert_eq!(outcome(&report, "other"), Outcome::Done);
        assert!(
            !fake
                .calls()
                .iter()
                .any(|c| c.starts_with("CreateApiDestination"))
        );
        assert!(
            state
                .pending
                .contains_key(&Address::new(Kind::Connection, "acme"))
        );
    }

    /// Issue 15 item 7: a mark an earlier, interrupted run left is kept, not overwritten,
    /// and a change that never starts puts it back as it was (it used to be deleted, so the
    /// next plan refused outbound's own connection as not in its state).
    #[tokio::test]
    async fn an_earlier_runs_pending_mark_survives_a_run_that_never_started_its_change() {
        let mut state = State::new();
        let acme = Address::new(Kind::Connection, "acme");
        let earlier = Pending {
            started: "2026-01-01T00:00:00Z".into(),
            delete: false,
            update: false,
            id: None,
            replaces: None,
        };
        state.pending.insert(acme.clone(), earlier.clone());
        let (_, report, state) = apply_from(Fake::default(), state, true).await;
        assert!(report.rows.iter().all(|r| r.outcome == Outcome::NotStarted));
        assert_eq!(state.pending.get(&acme), Some(&earlier));
        assert_eq!(state.pending.len(), 1, "{:?}", state.pending);
    }

    /// Issue 15 item 8: a create AWS refused (here access denied; "already exists" and
    /// validation errors alike) created nothing, so it is not pending; a create that failed
    /// after AWS acted (the wait) stays pending.
    #[tokio::test]
    async fn a_refused_create_is_not_pending_and_a_failed_wait_is() {
        let fake = Fake::default();
        fake.fail("CreateApiDestination", "not allowed");
        let (_, report, state) = apply_to(fake).await;
        assert!(matches!(outcome(&report, "orders"), Outcome::Failed(_)));
        assert!(
            !state
                .pending
                .contains_key(&Address::new(Kind::ApiDestination, "orders")),
            "{:?}",
            state.pending
        );
        let fake = Fake::default();
        fake.script("acme", &["FAILED_CONNECTIVITY"]);
        let (_, _, state) = apply_to(fake).await;
        assert!(
            state
                .pending
                .contains_key(&Address::new(Kind::Connection, "acme"))
        );
    }

    /// A call AWS refuses fails that change only; its dependencies stay done and recorded.
    #[tokio::test]
    async fn a_refused_call_fails_its_change_and_keeps_what_was_done() {
        let fake = Fake::default();
        fake.fail("CreateApiDestination", "not allowed");
        let (_, report, state) = apply_to(fake).await;
        assert_eq!(outcome(&report, "acme"), Outcome::Done);
        assert!(
            matches!(outcome(&report, "orders"), Outcome::Failed(w) if w.contains("not allowed"))
        );
        assert!(
            state
                .resources
                .contains_key(&Address::new(Kind::Connection, "acme"))
        );
        assert!(
            !state
                .resources
                .contains_key(&Address::new(Kind::ApiDestination, "orders"))
        );
    }
}
