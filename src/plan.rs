//! Changes + graph -> an immutable, fully specified plan: what to do to each resource, why,
//! field by field, and what each action must wait for. Pure: no I/O, no clock.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::Live;
use crate::diff::{self, FieldChange, Flat, Leaf, Reason};
use crate::graph::{self, Graph};
use crate::manifest::DesiredState;
use crate::resource::{Address, Kind, Spec};
use crate::state::State;

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    /// Delete and create again: a change AWS cannot make in place.
    Replace,
    Delete,
    /// Only drop the record: the resource is gone from AWS and from the manifests.
    Forget,
    Noop,
}

/// Why a resource changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeReason {
    ManifestChange,
    Drift,
    DeletedOutside,
    /// A creation interrupted before state was saved, found in AWS and taken over.
    Adopted,
}

impl From<Reason> for ChangeReason {
    fn from(r: Reason) -> Self {
        match r {
            Reason::ManifestChange => ChangeReason::ManifestChange,
            Reason::Drift => ChangeReason::Drift,
        }
    }
}

/// One resource's part of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub address: Address,
    pub action: Action,
    pub reasons: BTreeSet<ChangeReason>,
    pub fields: Vec<FieldChange>,
    /// Position in execution order (creates in dependency order, then deletes in reverse).
    pub order: usize,
    /// The AWS identity (name or `c-…` id) and ARN of an existing resource.
    pub id: Option<String>,
    pub arn: Option<String>,
    /// The spec to send, in manifest shape with references, never secret values.
    pub desired: Option<Value>,
    /// Secret fingerprints of `desired`, by path.
    pub fingerprints: BTreeMap<String, String>,
    pub protect: bool,
    /// JSON pointers of fields to reset (removed from the manifest since the last apply).
    pub clear: Vec<String>,
    /// Changes that must succeed before this one runs.
    pub after: Vec<Address>,
    /// Connection state or connector status, as AWS reported it.
    pub status: Option<String>,
    pub status_reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub deauthorize: usize,
    pub noop: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub state_lineage: String,
    pub state_serial: u64,
    /// Every managed resource, in execution order; `Noop` ones included.
    pub changes: Vec<Change>,
}

/// Why no plan can be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{} already exist in AWS but not in outbound's state: {}", .0.len(), list(.0))]
    Unmanaged(Vec<Address>),
    #[error("the plan would delete or replace protected resources: {}", list(.0))]
    Protected(Vec<Address>),
    #[error("reference cycle: {0}")]
    Cycle(graph::Cycle),
}

fn list(a: &[Address]) -> String {
    a.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl PlanError {
    pub fn hint(&self) -> Option<String> {
        match self {
            PlanError::Unmanaged(_) => Some(
                "outbound never takes over what it did not create: import them with `outbound import KIND/NAME`, or pick other names".into(),
            ),
            PlanError::Protected(_) => Some(
                "remove `protect: true` from the manifest and apply, then delete; or restore the manifest".into(),
            ),
            PlanError::Cycle(_) => None,
        }
    }
}

/// What `observe` found for one address.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub live: Option<Live>,
    /// Found through an interrupted creation (pending in state, or tagged with our lineage).
    pub adopted: bool,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Replace => s.replace += 1,
                Action::Delete | Action::Forget => s.delete += 1,
                Action::Noop => s.noop += 1,
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::Noop)
    }
}

/// The plan that makes AWS match `desired`.
pub fn build(
    desired: &DesiredState,
    state: &State,
    observed: &BTreeMap<Address, Observed>,
    fingerprints: &BTreeMap<Address, BTreeMap<String, String>>,
) -> Result<Plan, PlanError> {
    let addresses: BTreeSet<&Address> = desired
        .resources
        .keys()
        .chain(state.resources.keys())
        .chain(state.pending.keys())
        .collect();
    let arn_of = |a: &Address| {
        observed
            .get(a)
            .and_then(|o| o.live.as_ref())
            .map(|l| l.arn.clone())
            .or_else(|| state.resources.get(a).map(|r| r.arn.clone()))
    };
    let mut unmanaged = Vec::new();
    let mut protected = Vec::new();
    let mut changes = Vec::new();
    for address in addresses {
        let d = desired.resources.get(address);
        let r = state.resources.get(address);
        let o = observed.get(address).cloned().unwrap_or_default();
        let live = o.live.as_ref();
        if d.is_some() && r.is_none() && live.is_some() && !o.adopted {
            unmanaged.push(address.clone());
            continue;
        }
        let fps = fingerprints.get(address).cloned().unwrap_or_default();
        let desired_json = d.map(|d| manifest_json(&d.spec, &arn_of));
        let desired_flat = desired_json.as_ref().map(|j| {
            let mut f = Flat::of(j).with_fingerprints(&fps);
            if matches!(&d.map(|d| &d.spec), Some(Spec::ApiDestination(s)) if s.connection.is_some())
                && j.get("connectionArn").is_none()
            {
                f.fields.insert("connectionArn".into(), Leaf::KnownAfterApply);
            }
            f
        });
        let recorded_flat = r.map(|r| Flat::of(&strip(&r.spec)).with_fingerprints(&r.fingerprints));
        let live_flat = live.map(|l| Flat::of(&l.spec));
        let protect = d.is_some_and(|d| d.protect) || r.is_some_and(|r| r.protect);
        let mut reasons = BTreeSet::new();
        if o.adopted {
            reasons.insert(ChangeReason::Adopted);
        }
        let (action, fields) = match (&desired_flat, &live_flat) {
            (Some(want), None) => {
                if r.is_some() {
                    reasons.insert(ChangeReason::DeletedOutside);
                } else {
                    reasons.insert(ChangeReason::ManifestChange);
                }
                (Action::Create, creation_fields(want))
            }
            (Some(want), Some(have)) => {
                let fields = diff::diff(address.kind, want, recorded_flat.as_ref(), have);
                reasons.extend(fields.iter().map(|f| ChangeReason::from(f.reason)));
                let action = if fields.iter().any(|f| f.forces_replacement) {
                    Action::Replace
                } else if fields.is_empty() {
                    Action::Noop
                } else {
                    Action::Update
                };
                (action, fields)
            }
            (None, Some(_)) => {
                reasons.insert(ChangeReason::ManifestChange);
                (Action::Delete, Vec::new())
            }
            (None, None) => {
                reasons.insert(ChangeReason::DeletedOutside);
                (Action::Forget, Vec::new())
            }
        };
        if protect && matches!(action, Action::Delete | Action::Replace) {
            protected.push(address.clone());
        }
        let clear = match (&desired_flat, action) {
            (Some(want), Action::Update) => fields
                .iter()
                .filter(|f| f.after.is_none() || !want.fields.contains_key(&f.path))
                .map(|f| diff::clear_pointer(recorded_flat.as_ref().unwrap_or(want), &f.path))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            _ => Vec::new(),
        };
        changes.push(Change {
            address: address.clone(),
            action,
            reasons: if action == Action::Noop {
                BTreeSet::new()
            } else {
                reasons
            },
            fields,
            order: 0,
            id: live
                .map(|l| l.id.clone())
                .or_else(|| r.map(|r| r.id.clone())),
            arn: live
                .map(|l| l.arn.clone())
                .or_else(|| r.map(|r| r.arn.clone())),
            desired: desired_json,
            fingerprints: fps,
            protect,
            clear,
            after: Vec::new(),
            status: live.and_then(|l| l.status.clone()),
            status_reason: live.and_then(|l| l.status_reason.clone()),
        });
    }
    if !unmanaged.is_empty() {
        return Err(PlanError::Unmanaged(unmanaged));
    }
    if !protected.is_empty() {
        return Err(PlanError::Protected(protected));
    }
    order(&mut changes, desired, state)?;
    Ok(Plan {
        state_lineage: state.lineage.clone(),
        state_serial: state.serial,
        changes,
    })
}

/// Every field of a new resource, as `after` values.
fn creation_fields(want: &Flat) -> Vec<FieldChange> {
    want.fields
        .iter()
        .map(|(path, leaf)| FieldChange {
            path: path.clone(),
            before: None,
            after: Some(leaf.clone()),
            reason: Reason::ManifestChange,
            forces_replacement: false,
        })
        .collect()
}

/// The spec as AWS will hold it: `connection: name` becomes `connectionArn` (when the ARN is
/// known), `deauthorized` is not a field of the resource.
pub fn manifest_json(spec: &Spec, arn_of: &dyn Fn(&Address) -> Option<String>) -> Value {
    let mut json = match spec {
        Spec::Connection(s) => serde_json::to_value(s),
        Spec::ApiDestination(s) => serde_json::to_value(s),
        Spec::Connector(s) => serde_json::to_value(s),
    }
    .expect("specs serialize");
    if let (Spec::ApiDestination(s), Some(o)) = (spec, json.as_object_mut())
        && let Some(name) = &s.connection
    {
        o.remove("connection");
        if let Some(arn) = arn_of(&Address::new(Kind::Connection, name.clone())) {
            o.insert("connectionArn".into(), arn.into());
        }
    }
    strip(&json)
}

/// A recorded or desired spec without the fields that are not attributes of the resource.
fn strip(spec: &Value) -> Value {
    let mut spec = spec.clone();
    if let Some(o) = spec.as_object_mut() {
        o.remove("deauthorized");
        o.remove("connection");
    }
    spec
}

/// Sets each change's `order` and `after`: creates and updates follow the dependency graph,
/// deletes run in reverse, each after every change of a resource that still used it.
fn order(changes: &mut [Change], desired: &DesiredState, state: &State) -> Result<(), PlanError> {
    let recorded_deps = |a: &Address| -> Vec<Address> {
        state
            .resources
            .get(a)
            .and_then(|r| {
                r.spec
                    .get("connection")
                    .and_then(Value::as_str)
                    .map(String::from)
            })
            .map(|c| vec![Address::new(Kind::Connection, c)])
            .unwrap_or_default()
    };
    let deps: Vec<(Address, Vec<Address>)> = changes
        .iter()
        .map(|c| {
            let mut d = desired
                .resources
                .get(&c.address)
                .map(|r| graph::dependencies(&r.spec))
                .unwrap_or_default();
            d.extend(recorded_deps(&c.address));
            (c.address.clone(), d)
        })
        .collect();
    let g = Graph::from_deps(deps.clone());
    let creation = g.order().map_err(PlanError::Cycle)?;
    let rank: BTreeMap<&Address, usize> =
        creation.iter().enumerate().map(|(i, a)| (a, i)).collect();
    let actions: BTreeMap<Address, Action> = changes
        .iter()
        .map(|c| (c.address.clone(), c.action))
        .collect();
    let changing = |a: &Address| actions.get(a).is_some_and(|x| *x != Action::Noop);
    for c in changes.iter_mut() {
        c.after = match c.action {
            Action::Create | Action::Update | Action::Replace => desired
                .resources
                .get(&c.address)
                .map(|r| graph::dependencies(&r.spec))
                .unwrap_or_default()
                .into_iter()
                .filter(|d| {
                    matches!(
                        actions.get(d),
                        Some(Action::Create | Action::Update | Action::Replace)
                    )
                })
                .collect(),
            Action::Delete | Action::Forget => deps
                .iter()
                .filter(|(a, _)| changing(a))
                .filter(|(_, ds)| ds.contains(&c.address))
                .map(|(a, _)| a.clone())
                .filter(|a| a != &c.address)
                .collect(),
            Action::Noop => Vec::new(),
        };
    }
    let n = creation.len();
    changes.sort_by_key(|c| {
        let r = rank[&c.address];
        match c.action {
            Action::Delete | Action::Forget => n + (n - r),
            _ => r,
        }
    });
    for (i, c) in changes.iter_mut().enumerate() {
        c.order = i + 1;
    }
    Ok(())
}
