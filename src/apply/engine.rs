//! The loop's bookkeeping: what is ready, running, finished; pending marks; the state
//! saved along the way.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::task::JoinSet;

use crate::aws::cloud::Cloud;
use crate::aws::{AwsError, ErrorClass};
use crate::manifest::DesiredState;
use crate::plan::{Action, Change, Plan};
use crate::resource::{Address, Arn, ResourceId};
use crate::state::{Pending, Record, State, StateError};
use crate::store::Store;

use super::job::{Created, Job, resolved_spec};
use super::{ApplyOptions, Effect, Outcome, Row, SAVE_EVERY};

/// What the loop of [`apply`](super::apply) knows between its steps.
pub(super) struct Tally<'p> {
    /// The changes not started yet.
    todo: BTreeMap<&'p Address, &'p Change>,
    pub(super) outcomes: BTreeMap<Address, Outcome>,
    /// The id and ARN of every resource in the state, for the changes that name it.
    arns: BTreeMap<Address, (ResourceId, Arn)>,
    /// Replacements done whose old resource waits for the changes that repoint its
    /// referrers: the kind, the old id, and those changes.
    retiring: BTreeMap<Address, (ResourceId, Vec<Address>)>,
    pub(super) running: JoinSet<Finished>,
    in_flight: BTreeSet<Address>,
}

impl<'p> Tally<'p> {
    pub(super) fn new(plan: &'p Plan, state: &State) -> Self {
        Tally {
            todo: plan
                .changes
                .iter()
                .filter(|c| c.action != Action::Noop)
                .map(|c| (&c.address, c))
                .collect(),
            outcomes: BTreeMap::new(),
            arns: identities(state),
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
    pub(super) fn finished(
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
    pub(super) fn go_on_idle(&mut self, started: &[Address], cancelled: bool) -> bool {
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
pub(super) struct Saves {
    last: tokio::time::Instant,
    pub(super) unsaved: bool,
}

impl Saves {
    pub(super) fn new() -> Self {
        Saves {
            last: tokio::time::Instant::now(),
            unsaved: false,
        }
    }

    /// Changes were recorded: saves them if the last save is old enough.
    pub(super) fn changed(&mut self, store: &Store, state: &mut State) -> Result<(), StateError> {
        self.unsaved = true;
        if self.last.elapsed() >= SAVE_EVERY {
            save(store, state)?;
            self.last = tokio::time::Instant::now();
            self.unsaved = false;
        }
        Ok(())
    }

    /// The last write, if anything is unsaved.
    pub(super) fn flush(self, store: &Store, state: &mut State) -> Result<(), StateError> {
        if self.unsaved {
            save(store, state)?;
        }
        Ok(())
    }
}

/// What a job's task returns.
type Finished = (Address, Result<Effect, Failure>);

/// A change that failed.
pub(super) struct Failure {
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
pub(super) fn start_ready<C: Cloud>(
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

/// Saves the id AWS assigned to what a job just created as pending, then lets the job go on.
pub(super) fn save_created(
    created: Created,
    store: &Store,
    state: &mut State,
) -> Result<(), StateError> {
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
pub(super) fn unmark_unstarted(
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
pub(super) fn restore(address: &Address, previous: Option<Pending>, state: &mut State) -> bool {
    let was = match previous.clone() {
        Some(p) => state.pending.insert(address.clone(), p),
        None => state.pending.remove(address),
    };
    was != previous
}

/// A report row for every change that was to run, in plan order.
pub(super) fn rows(plan: &Plan, mut outcomes: BTreeMap<Address, Outcome>) -> Vec<Row> {
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
pub(super) fn mark_pending(
    plan: &Plan,
    store: &Store,
    state: &mut State,
) -> Result<Before, StateError> {
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
            replaces: (change.action == Action::Replace && change.address.kind.assigns_ids())
                .then(|| change.id.clone())
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

/// The id and ARN of every resource `state` records: what references resolve to.
fn identities(state: &State) -> BTreeMap<Address, (ResourceId, Arn)> {
    state
        .resources
        .iter()
        .map(|(a, r)| (a.clone(), (r.id.clone(), r.arn.clone())))
        .collect()
}

/// Unchanged resources whose record is out of date (an adopted creation, a new protect flag,
/// a first apply after an upgrade) get their record refreshed without an AWS call.
pub(super) fn refresh_noops(
    plan: &Plan,
    store: &Store,
    state: &mut State,
) -> Result<(), StateError> {
    let mut changed = false;
    // Recorded as a job records: references resolved (a profile's certificate ids), so an
    // unchanged resource's record is the one its last apply wrote.
    let arns = identities(state);
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
