//! Plan -> report: changes run in graph order with bounded concurrency; the state is saved
//! after every successful AWS change; a failed change skips its dependents while the others
//! go on.

mod engine;
mod job;
mod progress;
mod wait;

pub use engine::save;
use engine::{
    Saves, Tally, mark_pending, refresh_noops, rows, save_created, start_ready, unmark_unstarted,
};
use job::Created;

use std::sync::Arc;
use std::time::Duration;

use crate::aws::cloud::Cloud;
use crate::manifest::DesiredState;
use crate::plan::{Action, Plan};
use crate::resource::Address;
use crate::state::{Record, State, StateError};
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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::aws::Live;
    use crate::aws::fake::Fake;
    use crate::graph::Graph;
    use crate::plan::Change;
    use crate::resource::{Arn, Kind, ResourceId};
    use crate::state::Pending;

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

    // ---- Identity by tags, whatever the kind (issue 17 §1) -------------------------------

    const PROFILE: &str = "apiVersion: outbound/v1
kind: Profile
metadata: { name: acme }
spec:
  profileType: LOCAL
  as2Id: OURS
  certificates: []
";

    /// Observes, plans and applies `PROFILE` from `state` against `fake`.
    async fn apply_profile(fake: &Arc<Fake>, mut state: State) -> (Report, State) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.yaml"), PROFILE).unwrap();
        let desired = crate::manifest::validate(&[dir.path().join("m.yaml")]).unwrap();
        let (observation, _) = crate::observe::observe(
            fake.as_ref(),
            &desired,
            &state,
            1,
            crate::observe::Refresh::Changed,
        )
        .await;
        let observed: BTreeMap<Address, Observed> = observation
            .into_iter()
            .map(|(a, o)| (a, o.unwrap()))
            .collect();
        let plan = crate::plan::build(&desired, &state, &observed, &BTreeMap::new()).unwrap();
        let store = Store::new(Arc::new(crate::store::local::LocalFile::new(
            dir.path().join("state.json"),
        )));
        let options = ApplyOptions {
            parallelism: 1,
            wait_timeout: Duration::from_secs(10),
            cancel: Default::default(),
        };
        let report = apply(fake, &plan, &desired, &store, &mut state, &options)
            .await
            .unwrap();
        (report, state)
    }

    fn acme_profile() -> Address {
        Address::new(Kind::Profile, "acme")
    }

    /// The id AWS assigned to a profile just created is saved in its pending mark before
    /// anything reads it back, as a connector's is: a read that fails leaves the mark naming
    /// the copy the create made.
    #[tokio::test]
    async fn the_id_of_a_created_profile_is_pending_before_it_is_read_back() {
        let fake = Arc::new(Fake::default());
        fake.fail("Describe", "not allowed");
        let (report, state) = apply_profile(&fake, State::new()).await;
        assert!(matches!(outcome(&report, "acme"), Outcome::Failed(_)));
        let created = fake
            .calls()
            .iter()
            .find_map(|c| c.strip_prefix("Describe ").map(str::to_owned))
            .unwrap();
        let mark = &state.pending[&acme_profile()];
        assert_eq!(
            mark.id.as_ref().map(ResourceId::as_str),
            Some(created.as_str())
        );
    }

    /// The next run finds that profile again by the saved id and its tags, records it, and
    /// deletes the other copies of its lineage an earlier attempt left (leftovers).
    #[tokio::test]
    async fn a_pending_profile_is_adopted_by_its_saved_id_and_its_leftover_copies_deleted() {
        let fake = Arc::new(Fake::default());
        let mut state = State::new();
        for id in ["p-1", "p-2"] {
            fake.insert(Live {
                id: ResourceId::name(id),
                arn: Arn::new(format!("arn:aws:transfer:fake:1:profile/{id}")),
                spec: serde_json::json!({"profileType": "LOCAL", "as2Id": "OURS"}).into(),
                status: None,
                status_reason: None,
                last_modified: None,
                created: None,
                expires: None,
                tags: [
                    ("outbound:name", "acme"),
                    ("outbound:lineage", state.lineage.as_str()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            });
        }
        state.pending.insert(
            acme_profile(),
            Pending {
                started: "2026-01-01T00:00:00Z".into(),
                delete: false,
                update: false,
                id: Some(ResourceId::name("p-2")),
                replaces: None,
            },
        );
        let (report, state) = apply_profile(&fake, state).await;
        assert_eq!(outcome(&report, "acme"), Outcome::Done);
        assert_eq!(state.resources[&acme_profile()].id, "p-2");
        assert!(
            fake.calls().contains(&"Delete p-1".to_owned()),
            "{:?}",
            fake.calls()
        );
        assert!(fake.live("p-1").is_none());
        assert!(fake.live("p-2").is_some());
        assert!(state.pending.is_empty(), "{:?}", state.pending);
    }
}
