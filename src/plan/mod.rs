//! Changes + graph -> an immutable, fully specified plan: what to do to each resource, why,
//! field by field, and what each action must wait for. Pure: no I/O, no clock.

pub mod file;
pub mod in_use;
pub mod saved;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diff::{self, FieldChange, Flat, Leaf, Reason};
use crate::graph::{self, Graph};
use crate::live::{Live, Observed, addresses};
use crate::manifest::{DesiredResource, DesiredState};
use crate::resource::rules::Health;
use crate::resource::rules::Sends;
use crate::resource::{
    Address, Arn, ConnectorId, FieldPath, Identify, Kind, ResourceId, Spec, SpecJson, connection,
    resolve_references, strip_references, with_reference_names,
};
use crate::state::{Record, State};

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    /// Delete and create again: a change AWS cannot make in place.
    Replace,
    Delete,
    /// `DeauthorizeConnection` (`deauthorized: true`).
    Deauthorize,
    /// Only drop the record: the resource is gone from AWS and from the manifests.
    Forget,
    /// Take over a resource the manifest marks `metadata.adopt` (written by `outbound
    /// import`): its fields the manifest sets differently from AWS are changed once (with
    /// its secrets, its ownership tags), then it is recorded in the state.
    Adopt,
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
    /// A connection adopted by `outbound import`: its secrets were never sent by outbound.
    SecretsNeverSent,
    /// A connector without the `outbound:name`/`outbound:lineage` tags of this state (adopted
    /// by `outbound import`, or the tags were removed outside outbound).
    OwnershipTags,
    /// A deletion outbound started, whose end was not saved: AWS no longer has it.
    InterruptedDelete,
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
    pub id: Option<ResourceId>,
    pub arn: Option<Arn>,
    /// The spec to send, in manifest shape with secret references (never values) and the
    /// references apply resolves (`connection`, `deauthorized`): apply sends exactly this.
    pub desired: Option<SpecJson>,
    /// Secret fingerprints of `desired`, by path.
    pub fingerprints: BTreeMap<FieldPath, String>,
    /// Secret fields of `desired` not compared: their values were not resolved (`--secrets
    /// skip`), by path.
    pub not_compared: Vec<FieldPath>,
    pub protect: bool,
    /// Fields to reset (removed from the manifest since the last apply); the saved plan
    /// writes them as JSON pointers.
    pub clear: Vec<FieldPath>,
    /// Changes that must succeed before this one runs.
    pub after: Vec<Address>,
    /// Connection state or connector status, as AWS reported it.
    pub status: Option<String>,
    pub status_reason: Option<String>,
    /// Connector copies an interrupted create or replacement left (`Observed::leftovers`):
    /// the change deletes them before anything else (issue 10 item 1).
    pub leftovers: Vec<ConnectorId>,
    /// A replacement whose old resource is still named by others: the changes that repoint
    /// them, after which the old one is deleted (create, repoint, delete). Empty: the old
    /// one is deleted by the replacement itself.
    pub retire_after: Vec<Address>,
    /// When the resource stops being valid (a certificate's NotAfter), as AWS reports it.
    pub expires: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub deauthorize: usize,
    pub noop: usize,
    /// Written only when there are adoptions: older plans and readers know no such field.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub adopt: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub state_lineage: String,
    pub state_serial: u64,
    /// The state's fingerprint salt: a saved plan applied where there is no state yet
    /// creates it with this lineage and salt.
    pub fingerprint_salt: String,
    /// `false` when the secrets were not resolved (`--secrets skip`).
    pub secrets_checked: bool,
    /// Every managed resource, in execution order; `Noop` ones included.
    pub changes: Vec<Change>,
    /// A hash of what AWS held for each address (see [`live_fingerprint`]).
    pub live_fingerprints: BTreeMap<Address, String>,
    /// The account, region (and environment) the plan was made for: the state's, which the
    /// account guard checked and stamped before the plan was made.
    pub scope: file::Scope,
}

/// A hash of a resource as AWS holds it (spec, status, last modification), to tell whether
/// it changed between plan and apply; `absent` when AWS has no such resource. A transitional
/// status counts as the one it settles to (`Rules::settled`), so a saved plan is not stale
/// for a resource that settled between plan and apply.
pub fn live_fingerprint(kind: Kind, live: Option<&Live>) -> String {
    use sha2::{Digest, Sha256};
    let Some(l) = live else {
        return "absent".to_owned();
    };
    let canonical = serde_json::json!({
        "id": l.id, "arn": l.arn, "spec": l.spec, "status": l.status.as_deref().map(|s| kind.rules().settled(s)),
        "lastModified": l.last_modified, "tags": l.tags,
    });
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why no plan can be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{} already exist in AWS but not in outbound's state: {}", .0.len(), list(.0))]
    Unmanaged(Vec<Address>),
    /// With the whole plan, which is shown though refused.
    #[error("the plan would delete or replace protected resources: {}", list(.0))]
    Protected(Vec<Address>, Box<Plan>),
    #[error("reference cycle: {0}")]
    Cycle(graph::Cycle),
    #[error("--target {0}: {1}")]
    UnknownTarget(String, String),
    #[error("{} marked `metadata.adopt` but not found in AWS: {}", .0.len(), list(.0))]
    AdoptMissing(Vec<Address>),
    #[error(
        "adopting {0} would replace it ({1} cannot change in place): an adoption only changes fields in place"
    )]
    AdoptReplaces(Address, String),
    #[error("{0} adopts connector {1}, which this state records as {2}")]
    AdoptManaged(Address, String, Address),
}

/// What to do about each refused change: restore what forces a replacement (or the deleted
/// manifest), or unprotect to let it happen.
fn protected_hint(addresses: &[Address], plan: &Plan) -> String {
    let hints: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| addresses.contains(&c.address))
        .map(|c| {
            let forcing: Vec<String> = c
                .fields
                .iter()
                .filter(|f| f.forces_replacement)
                .map(|f| format!("`{}`", f.path))
                .collect();
            if c.action == Action::Replace && !forcing.is_empty() {
                format!(
                    "{}: restore {} as it was (AWS cannot make that change in place), or remove \
                     `protect: true` and apply to replace it",
                    c.address,
                    forcing.join(", ")
                )
            } else {
                format!(
                    "{}: restore its manifest, or remove `protect: true` from it and apply, then \
                     delete it",
                    c.address
                )
            }
        })
        .collect();
    hints.join("; ")
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
                "outbound never takes over what it did not create: adopt them with `outbound import KIND/NAME` (it writes their manifests and records them in state), or pick other names in the manifests".into(),
            ),
            PlanError::Protected(addresses, plan) => Some(protected_hint(addresses, plan)),
            PlanError::Cycle(_) => None,
            PlanError::UnknownTarget(..) => {
                Some("a target is an address KIND/NAME of the manifests or the state".into())
            }
            PlanError::AdoptMissing(_) => Some(
                "check the name (a connector's id), the region and the account; remove `adopt` to create it instead".into(),
            ),
            PlanError::AdoptReplaces(..) => Some(
                "make the manifest match AWS for these fields, apply the adoption, then change them".into(),
            ),
            PlanError::AdoptManaged(..) => Some(
                "a connector is managed under one address: remove the marker or the other manifest".into(),
            ),
        }
    }
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
                Action::Deauthorize => s.deauthorize += 1,
                Action::Adopt => s.adopt += 1,
                Action::Noop => s.noop += 1,
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::Noop)
    }
}

impl Plan {
    /// Keeps only the changes of `targets` and of what they wait for, transitively.
    pub fn target(&mut self, targets: &[String]) -> Result<(), PlanError> {
        if targets.is_empty() {
            return Ok(());
        }
        let known: Vec<String> = self.changes.iter().map(|c| c.address.to_string()).collect();
        let mut keep = BTreeSet::new();
        for t in targets {
            let address: Address = t
                .parse()
                .map_err(|e: String| PlanError::UnknownTarget(t.clone(), e))?;
            if !known.contains(&address.to_string()) {
                let hint = crate::manifest::diag::did_you_mean(t, known.iter().map(String::as_str))
                    .unwrap_or_else(|| "no such resource in the manifests or the state".into());
                return Err(PlanError::UnknownTarget(t.clone(), hint));
            }
            keep.insert(address);
        }
        loop {
            let more: BTreeSet<Address> = self
                .changes
                .iter()
                .filter(|c| keep.contains(&c.address))
                .flat_map(|c| c.after.iter().cloned())
                .filter(|a| !keep.contains(a))
                .collect();
            if more.is_empty() {
                break;
            }
            keep.extend(more);
        }
        self.changes.retain(|c| keep.contains(&c.address));
        self.live_fingerprints.retain(|a, _| keep.contains(a));
        Ok(())
    }
}

/// Why a plan (a saved one: the planner never makes one) cannot run at all.
#[derive(Debug, thiserror::Error)]
pub enum Inconsistent {
    #[error("{0} waits for {1}, which is not in the plan")]
    Missing(Address, Address),
    #[error("the changes wait for each other in a cycle: {0}")]
    Cycle(graph::Cycle),
    #[error("{0} is in the plan twice")]
    Duplicate(Address),
}

impl Plan {
    /// Checks that the plan can run to its end: each address once, every `after` names a
    /// change of the plan, and no change waits (through others) for itself.
    pub fn check_consistent(&self) -> Result<(), Inconsistent> {
        let mut seen = BTreeSet::new();
        for c in &self.changes {
            if !seen.insert(&c.address) {
                return Err(Inconsistent::Duplicate(c.address.clone()));
            }
        }
        for c in &self.changes {
            if let Some(missing) = c.after.iter().find(|a| !seen.contains(a)) {
                return Err(Inconsistent::Missing(c.address.clone(), missing.clone()));
            }
        }
        let waits = self
            .changes
            .iter()
            .map(|c| (c.address.clone(), c.after.clone()));
        Graph::from_deps(waits)
            .order()
            .map(drop)
            .map_err(Inconsistent::Cycle)
    }
}

/// Why a saved plan can no longer be applied as it was reviewed.
#[derive(Debug, thiserror::Error)]
#[error("the saved plan is stale: {}; make a new plan", .0.join("; "))]
pub struct Stale(pub Vec<String>);

/// Checks that nothing a saved plan relied on changed: the state (lineage and serial), each
/// planned resource in AWS, and the secrets it will send.
pub fn check_fresh(
    plan: &Plan,
    state: &State,
    observed: &BTreeMap<Address, Observed>,
    fingerprints: &BTreeMap<Address, BTreeMap<FieldPath, String>>,
) -> Result<(), Stale> {
    let mut why = Vec::new();
    if plan.state_lineage != state.lineage {
        why.push(format!(
            "the plan was made from the state of lineage {}, and this state is another one \
             (lineage {})",
            plan.state_lineage, state.lineage
        ));
    } else if plan.state_serial != state.serial {
        why.push(format!(
            "the state changed since the plan (serial {} -> {})",
            plan.state_serial, state.serial
        ));
    }
    for c in &plan.changes {
        let live = observed.get(&c.address).and_then(|o| o.live.as_ref());
        let then = plan.live_fingerprints.get(&c.address).map(String::as_str);
        if then.is_some_and(|t| t != live_fingerprint(c.address.kind, live)) {
            why.push(stale_fields(c, live));
        }
        let now = fingerprints.get(&c.address).cloned().unwrap_or_default();
        // A plan made without the secrets: apply needs every value it may send.
        if c.desired.is_some() && !matches!(c.action, Action::Deauthorize) {
            for p in c.not_compared.iter().filter(|p| !now.contains_key(*p)) {
                why.push(format!(
                    "{}: the manifests give no value for the secret {p}",
                    c.address
                ));
            }
        }
        if matches!(
            c.action,
            Action::Create | Action::Update | Action::Replace | Action::Adopt
        ) && now != c.fingerprints
        {
            let paths: BTreeSet<&FieldPath> = now.keys().chain(c.fingerprints.keys()).collect();
            for p in paths
                .into_iter()
                .filter(|p| !c.not_compared.contains(p))
                .filter(|p| now.get(*p) != c.fingerprints.get(*p))
            {
                why.push(format!(
                    "{}: the secret value of {p} is not the one planned (its fingerprint differs)",
                    c.address
                ));
            }
        }
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(Stale(why))
    }
}

impl Plan {
    /// A plan made without the secrets (`--secrets skip`), applied where they are: each
    /// change records the fingerprints of the values it sends, and a resource the plan left
    /// unchanged whose secret values differ from the state's is updated to send them.
    pub fn fingerprint_unchecked(
        &mut self,
        state: &State,
        fingerprints: &BTreeMap<Address, BTreeMap<FieldPath, String>>,
    ) {
        for c in &mut self.changes {
            if c.not_compared.is_empty() || c.desired.is_none() {
                continue;
            }
            let now = fingerprints.get(&c.address).cloned().unwrap_or_default();
            let recorded = state.resources.get(&c.address);
            if c.action == Action::Noop && recorded.is_some_and(|r| r.fingerprints != now) {
                c.action = Action::Update;
                c.reasons.insert(ChangeReason::ManifestChange);
                c.fields.push(FieldChange {
                    path: FieldPath::label(
                        "authParameters (secret value changed since the last apply)",
                    ),
                    before: Some(Leaf::Sensitive(None)),
                    after: Some(Leaf::Sensitive(None)),
                    reason: Reason::ManifestChange,
                    forces_replacement: false,
                });
            }
            c.fingerprints = now;
        }
    }

    /// The secret fields, by address, whose value this plan sends and whose fingerprint
    /// differs from the one the state recorded at the last apply.
    pub fn secrets_changed(&self, state: &State) -> BTreeMap<Address, Vec<FieldPath>> {
        self.changes
            .iter()
            .filter(|c| matches!(c.action, Action::Update | Action::Replace))
            .filter_map(|c| {
                let recorded = &state.resources.get(&c.address)?.fingerprints;
                let paths: Vec<FieldPath> = recorded
                    .iter()
                    .filter(|(p, fp)| c.fingerprints.get(*p).is_some_and(|now| now != *fp))
                    .map(|(p, _)| p.clone())
                    .collect();
                (!paths.is_empty()).then(|| (c.address.clone(), paths))
            })
            .collect()
    }
}

/// What changed in AWS for one planned resource, by field where the plan knew the value.
fn stale_fields(c: &Change, live: Option<&Live>) -> String {
    let Some(live) = live else {
        return format!("{} was deleted in AWS", c.address);
    };
    let now = Flat::of(c.address.kind, &live.spec.value());
    let fields: Vec<String> = c
        .fields
        .iter()
        .filter(|f| !matches!(f.before, Some(Leaf::Sensitive(_))))
        .filter(|f| f.path != "connectionState" && now.fields.get(&f.path) != f.before.as_ref())
        .map(|f| {
            let was = f
                .before
                .as_ref()
                .map_or("(unset)".to_owned(), ToString::to_string);
            let is = now
                .fields
                .get(&f.path)
                .map_or("(unset)".to_owned(), ToString::to_string);
            format!("{} was {was}, is {is}", f.path)
        })
        .collect();
    let fields = if fields.is_empty() {
        unplanned_fields(c, live, &now)
    } else {
        fields
    };
    if fields.is_empty() {
        format!(
            "{} changed in AWS outside the fields its manifest sets (a field left unset, or \
             its last modification)",
            c.address
        )
    } else {
        format!("{} changed in AWS: {}", c.address, fields.join(", "))
    }
}

/// What changed in AWS among the fields a change leaves as they were when planned: the
/// fields of its spec it does not change (AWS held the spec's value then, or the plan would
/// change them), and its status. Secrets are never compared (AWS does not return them).
fn unplanned_fields(c: &Change, live: &Live, now: &Flat) -> Vec<String> {
    let planned: BTreeSet<&FieldPath> = c.fields.iter().map(|f| &f.path).collect();
    let mut out = Vec::new();
    if let Some(spec) = &c.desired {
        let then = Flat::of(c.address.kind, &spec.value());
        for (path, was) in &then.fields {
            if planned.contains(path) || matches!(was, Leaf::Sensitive(_)) {
                continue;
            }
            if let Some(is) = now.fields.get(path).filter(|is| *is != was) {
                out.push(format!("{path} was {was}, is {is}"));
            }
        }
    }
    let settled = |s: &Option<String>| {
        s.as_deref()
            .map(|s| c.address.kind.rules().settled(s).to_owned())
    };
    let (was, is) = (settled(&c.status), settled(&live.status));
    if was.is_some() && was != is {
        let show = |s: Option<String>| s.unwrap_or_else(|| "(none)".into());
        out.push(format!("status was {}, is {}", show(was), show(is)));
    }
    out
}

/// The plan that makes AWS match `desired`.
pub fn build(
    desired: &DesiredState,
    state: &State,
    observed: &BTreeMap<Address, Observed>,
    fingerprints: &BTreeMap<Address, BTreeMap<FieldPath, String>>,
) -> Result<Plan, PlanError> {
    // 1. A change for every address of the manifests or the state, but what AWS already
    //    holds and outbound did not create. Addresses come in kind order, and a kind comes
    //    after the kinds its references name: the action of a target is known before its
    //    referrers are planned, and a target created or replaced has an id or ARN known only
    //    after apply.
    let mut unmanaged = Vec::new();
    let mut adopt_missing = Vec::new();
    let addresses = addresses(desired, state);
    let mut changes = Vec::with_capacity(addresses.len());
    let mut renewed: BTreeSet<Address> = BTreeSet::new();
    for address in addresses {
        let sides = Sides::of(address, desired, state, observed);
        if sides.adopt_missing() {
            adopt_missing.push(address.clone());
            continue;
        }
        if sides.unmanaged() && !sides.adopting() {
            unmanaged.push(address.clone());
            continue;
        }
        let identity_of = |a: &Address, sends: Sends| -> Option<String> {
            if renewed.contains(a) {
                return None;
            }
            let live = observed.get(a).and_then(|o| o.live.as_ref());
            let record = state.resources.get(a);
            match sends {
                Sends::Arn => live
                    .map(|l| l.arn.clone())
                    .or_else(|| record.map(|r| r.arn.clone()))
                    .map(|a| a.as_str().to_owned()),
                Sends::Id => live
                    .map(|l| l.id.clone())
                    .or_else(|| record.map(|r| r.id.clone()))
                    .map(|i| i.as_str().to_owned()),
            }
        };
        let fps = fingerprints.get(address).cloned().unwrap_or_default();
        let change = change_of(&sides, state, fps, &identity_of);
        // An adoption keeps the resource (its id is known): judged after it is made one.
        let change = if sides.adopting() {
            adoption(change, &sides, state)?
        } else {
            change
        };
        // (What AWS could not be read for, drift leaves out of `observed`: not renewed.)
        if matches!(change.action, Action::Create | Action::Replace)
            && observed.contains_key(address)
        {
            renewed.insert(address.clone());
        }
        changes.push(change);
    }
    // 2. Refuse to take over what outbound did not create (unless a manifest adopts it), or
    //    to delete what is protected.
    if !unmanaged.is_empty() {
        return Err(PlanError::Unmanaged(unmanaged));
    }
    if !adopt_missing.is_empty() {
        return Err(PlanError::AdoptMissing(adopt_missing));
    }
    let protected = protected(&changes);
    // 3. Execution order, and what each change waits for.
    order(&mut changes, desired, state)?;
    // 4. What AWS held for each address, to tell a saved plan gone stale.
    let live_fingerprints = live_fingerprints(&changes, observed);
    let plan = Plan {
        state_lineage: state.lineage.clone(),
        state_serial: state.serial,
        fingerprint_salt: state.fingerprint_salt.clone(),
        secrets_checked: true,
        changes,
        live_fingerprints,
        scope: file::Scope::of_state(state),
    };
    // A plan that deletes or replaces a protected resource is refused, and shown whole.
    if !protected.is_empty() {
        return Err(PlanError::Protected(protected, Box::new(plan)));
    }
    Ok(plan)
}

/// One address as the planner sees it: its manifest (`d`), its record in the state (`r`),
/// and what AWS holds (`o`).
struct Sides<'a> {
    address: &'a Address,
    d: Option<&'a DesiredResource>,
    r: Option<&'a Record>,
    o: Observed,
}

impl<'a> Sides<'a> {
    fn of(
        address: &'a Address,
        desired: &'a DesiredState,
        state: &'a State,
        observed: &BTreeMap<Address, Observed>,
    ) -> Self {
        Sides {
            address,
            d: desired.resources.get(address),
            r: state.resources.get(address),
            o: observed.get(address).cloned().unwrap_or_default(),
        }
    }

    /// In the manifests and in AWS, but neither in the state nor found through an
    /// interrupted creation: outbound did not create it.
    fn unmanaged(&self) -> bool {
        self.d.is_some() && self.r.is_none() && self.o.live.is_some() && !self.o.adopted
    }

    /// Marked `metadata.adopt`, not in the state, and in AWS: to be adopted.
    fn adopting(&self) -> bool {
        self.d.is_some_and(|d| d.adopt.is_some())
            && self.r.is_none()
            && self.o.live.is_some()
            && !self.o.adopted
    }

    /// Marked `metadata.adopt`, but neither in the state nor in AWS: nothing to adopt.
    fn adopt_missing(&self) -> bool {
        self.d.is_some_and(|d| d.adopt.is_some()) && self.r.is_none() && self.o.live.is_none()
    }

    /// `deauthorized: true` in the manifest.
    fn wants_deauthorized(&self) -> bool {
        matches!(self.d.map(|d| &d.spec), Some(Spec::Connection(c)) if c.deauthorized)
    }
}

/// The change of one managed address, with `order` and `after` left for [`order`].
fn change_of(
    sides: &Sides<'_>,
    state: &State,
    fps: BTreeMap<FieldPath, String>,
    identity_of: Identify<'_>,
) -> Change {
    let Sides { address, d, r, o } = sides;
    let (address, d, r) = (*address, *d, *r);
    let live = o.live.as_ref();
    // 1. The desired and recorded specs as the diff compares them.
    let mut unknown = Vec::new();
    let desired_json = d.map(|d| {
        let mut json = d.spec.json();
        unknown = resolve_references(address.kind, &mut json, identity_of);
        strip_references(json)
    });
    let (mut desired_flat, mut recorded_flat) = compared(
        address.kind,
        (desired_json.as_ref(), &unknown),
        &fps,
        r,
        sides.wants_deauthorized(),
    );
    let not_compared = not_compared(sides, &mut desired_flat, &mut recorded_flat);
    // 2. What to do, field by field, and why.
    let (action, fields, reasons) =
        action_and_fields(sides, state, (&desired_flat, recorded_flat.as_ref()));
    // 3. The change, with all apply needs to make it.
    let clear = clears(&desired_flat, &recorded_flat, action, &fields);
    Change {
        address: address.clone(),
        action,
        reasons,
        fields,
        order: 0,
        id: live
            .map(|l| l.id.clone())
            .or_else(|| r.map(|r| r.id.clone())),
        arn: live
            .map(|l| l.arn.clone())
            .or_else(|| r.map(|r| r.arn.clone())),
        desired: d
            .and_then(|d| with_references(desired_json, address.kind, &d.spec))
            .map(|j| match sides.wants_deauthorized() {
                true => held_authorization(j, r),
                false => j,
            })
            .map(SpecJson::from),
        fingerprints: fps,
        not_compared,
        protect: d.is_some_and(|d| d.protect) || r.is_some_and(|r| r.protect),
        clear,
        after: Vec::new(),
        status: live.and_then(|l| l.status.clone()),
        status_reason: live.and_then(|l| l.status_reason.clone()),
        leftovers: o.leftovers.clone(),
        retire_after: Vec::new(),
        expires: live.and_then(|l| l.expires.clone()),
    }
}

/// The change of a resource the manifest adopts (`metadata.adopt`), from its change as if
/// recorded with no spec: every field the manifest sets differently from AWS is a manifest
/// change (there is no record, so no drift), a connection's secrets are sent once (AWS never
/// shows them), a connector gains outbound's ownership tags. An update (or nothing to change)
/// becomes `Adopt`, recorded by apply; a replacement is refused (an adoption must not delete
/// what it takes over); a deauthorization stays one (recorded by apply all the same).
fn adoption(mut c: Change, sides: &Sides<'_>, state: &State) -> Result<Change, PlanError> {
    // A secret that forces a replacement (a certificate's body, chain or key) cannot be
    // compared with AWS without a record: the adoption records the manifest's values.
    let rules = c.address.kind.rules();
    c.fields
        .retain(|f| !(f.forces_replacement && rules.is_secret_slot(&f.path)));
    if c.action == Action::Replace && !c.fields.iter().any(|f| f.forces_replacement) {
        c.action = if c.fields.is_empty() {
            Action::Noop
        } else {
            Action::Update
        };
    }
    if c.action == Action::Replace {
        let fields: Vec<String> = c
            .fields
            .iter()
            .filter(|f| f.forces_replacement)
            .map(|f| f.path.to_string())
            .collect();
        return Err(PlanError::AdoptReplaces(c.address, fields.join(", ")));
    }
    if let (Kind::Connector, Some(r)) = (
        c.address.kind,
        c.id.as_ref().and_then(|id| {
            state
                .resources
                .iter()
                .find(|(a, r)| a.kind == Kind::Connector && r.id == *id)
        }),
    ) {
        return Err(PlanError::AdoptManaged(
            c.address.clone(),
            c.id.as_ref().map(ToString::to_string).unwrap_or_default(),
            r.0.clone(),
        ));
    }
    if !matches!(c.action, Action::Noop | Action::Update) {
        return Ok(c);
    }
    let mut fields = std::mem::take(&mut c.fields);
    for f in &mut fields {
        f.reason = Reason::ManifestChange;
    }
    let mut reasons: BTreeSet<ChangeReason> = fields
        .iter()
        .map(|f| ChangeReason::from(f.reason))
        .collect();
    let action = c.action;
    let (_, fields) = match (c.address.kind, sides.o.live.as_ref()) {
        (Kind::Connection, Some(_)) if !sides.wants_deauthorized() => {
            secrets_never_sent(action, fields, &mut reasons)
        }
        (kind, Some(live))
            if matches!(
                kind.rules().identity,
                crate::resource::rules::Identity::Tagged { .. }
            ) =>
        {
            ownership_tags(action, fields, live, &c.address, state, true, &mut reasons)
        }
        _ => (action, fields),
    };
    c.action = Action::Adopt;
    c.fields = fields;
    c.reasons = reasons;
    Ok(c)
}

/// The secret fields not compared, dropped from both specs: their values were not resolved
/// (`--secrets skip`; a resolved manifest has every value, or it is invalid), like those of a
/// connection to deauthorize.
fn not_compared(
    sides: &Sides<'_>,
    desired_flat: &mut Option<Flat>,
    recorded_flat: &mut Option<Flat>,
) -> Vec<FieldPath> {
    let unresolved = sides.d.is_some_and(|d| d.secrets.is_empty());
    let not_compared: Vec<FieldPath> = match &desired_flat {
        Some(f) if unresolved && !sides.wants_deauthorized() => f.sensitive().cloned().collect(),
        _ => Vec::new(),
    };
    if !not_compared.is_empty() {
        for f in [desired_flat, recorded_flat].into_iter().flatten() {
            f.fields.retain(|_, l| !matches!(l, Leaf::Sensitive(_)));
        }
    }
    not_compared
}

/// The action, its field changes and why (no reason for a `Noop`): the diff's, then what
/// the diff cannot see.
fn action_and_fields(
    sides: &Sides<'_>,
    state: &State,
    (desired_flat, recorded_flat): (&Option<Flat>, Option<&Flat>),
) -> (Action, Vec<FieldChange>, BTreeSet<ChangeReason>) {
    let address = sides.address;
    let mut reasons = BTreeSet::new();
    if sides.o.adopted {
        reasons.insert(ChangeReason::Adopted);
    }
    let live_flat = sides
        .o
        .live
        .as_ref()
        .map(|l| Flat::of(address.kind, &l.spec.value()));
    let interrupted_delete = state.pending.get(address).is_some_and(|p| p.delete);
    let (action, fields) = action_of(
        address.kind,
        (desired_flat, recorded_flat, &live_flat),
        sides.r.is_some(),
        interrupted_delete,
        &mut reasons,
    );
    let (action, fields) = beyond_the_diff(sides, state, (action, fields), &mut reasons);
    if action == Action::Noop {
        reasons.clear();
    }
    (action, fields, reasons)
}

/// What the diff cannot see: leftover copies to delete, a connection's authorization,
/// secrets never sent, a connector's ownership tags.
fn beyond_the_diff(
    sides: &Sides<'_>,
    state: &State,
    (action, fields): (Action, Vec<FieldChange>),
    reasons: &mut BTreeSet<ChangeReason>,
) -> (Action, Vec<FieldChange>) {
    let (address, d, r, o) = (sides.address, sides.d, sides.r, &sides.o);
    let live = o.live.as_ref();
    let wants_deauthorized = sides.wants_deauthorized();
    // Leftover copies must go even when nothing else changes: the change that deletes
    // them is an update with no fields.
    let action = if action == Action::Noop && !o.leftovers.is_empty() {
        reasons.insert(ChangeReason::Adopted);
        Action::Update
    } else {
        action
    };
    let (action, fields) = match (address.kind, live, r) {
        (Kind::Connection, Some(l), _) if matches!(action, Action::Noop | Action::Update) => {
            // A time that moved before the mark was written is not the interrupted update's
            // doing (issue 15 item 12).
            let interrupted_update = state
                .pending
                .get(address)
                .is_some_and(|p| p.update && !moved_before(l, &p.started));
            connection_state(
                action,
                fields,
                l,
                r,
                (wants_deauthorized, interrupted_update),
                reasons,
            )
        }
        _ => (action, fields),
    };
    match (address.kind, live, r) {
        (Kind::Connection, Some(_), Some(r)) if r.imported && !wants_deauthorized => {
            secrets_never_sent(action, fields, reasons)
        }
        (Kind::Connector, Some(l), Some(r))
            if d.is_some() && matches!(action, Action::Noop | Action::Update) =>
        {
            ownership_tags(action, fields, l, address, state, r.imported, reasons)
        }
        _ => (action, fields),
    }
}

/// A hash of what AWS holds for each planned address (see [`live_fingerprint`]).
fn live_fingerprints(
    changes: &[Change],
    observed: &BTreeMap<Address, Observed>,
) -> BTreeMap<Address, String> {
    changes
        .iter()
        .map(|c| {
            let live = observed.get(&c.address).and_then(|o| o.live.as_ref());
            (c.address.clone(), live_fingerprint(c.address.kind, live))
        })
        .collect()
}

/// The changes that would delete or replace a protected resource.
fn protected(changes: &[Change]) -> Vec<Address> {
    changes
        .iter()
        .filter(|c| c.protect && matches!(c.action, Action::Delete | Action::Replace))
        .map(|c| c.address.clone())
        .collect()
}

/// The desired and recorded specs in canonical form, as the diff compares them: a
/// destination's `connectionArn` not known yet is known after apply, and the secrets of a
/// connection to deauthorize are not compared (they need not resolve).
fn compared(
    kind: Kind,
    (desired_json, unknown): (Option<&Value>, &[&str]),
    fps: &BTreeMap<FieldPath, String>,
    r: Option<&Record>,
    wants_deauthorized: bool,
) -> (Option<Flat>, Option<Flat>) {
    let mut desired_flat = desired_json.map(|j| {
        let mut f = Flat::of(kind, j).with_fingerprints(fps);
        for path in unknown {
            let at = path
                .split('.')
                .fold(FieldPath::root(), |p, segment| p.field(segment));
            f.fields.insert(at, Leaf::KnownAfterApply);
        }
        f
    });
    let mut recorded_flat =
        r.map(|r| Flat::of(kind, &r.spec.without_references()).with_fingerprints(&r.fingerprints));
    if wants_deauthorized {
        for f in [&mut desired_flat, &mut recorded_flat]
            .into_iter()
            .flatten()
        {
            f.fields.retain(|p, _| !is_auth(p));
        }
    }
    (desired_flat, recorded_flat)
}

/// A field of a connection's authorization (`authorizationType`, `authParameters…`): what
/// a deauthorized connection is neither sent nor compared on, since `UpdateConnection` with
/// auth parameters needs the secrets (and re-authorizes it).
fn is_auth(path: &FieldPath) -> bool {
    let p = path.as_str();
    p == "authorizationType" || p == "authParameters" || p.starts_with("authParameters.")
}

/// The spec a deauthorized connection's change sends and records: the manifest's other
/// fields, with the authorization last sent (the record's: the record is only ever what was
/// sent), until `deauthorized` goes back to `false` and the update sends it all.
fn held_authorization(mut desired: Value, recorded: Option<&Record>) -> Value {
    let (Some(o), Some(recorded)) = (desired.as_object_mut(), recorded.map(|r| r.spec.value()))
    else {
        return desired;
    };
    for key in ["authorizationType", "authParameters"] {
        match recorded.get(key) {
            Some(v) => o.insert(key.to_owned(), v.clone()),
            None => o.remove(key),
        };
    }
    desired
}

/// What to do with a resource, and its field changes, from its desired, recorded and live
/// specs: created when AWS lacks it, diffed when both exist, deleted when only AWS has it,
/// forgotten when neither does.
fn action_of(
    kind: Kind,
    (desired, recorded, live): (&Option<Flat>, Option<&Flat>, &Option<Flat>),
    is_recorded: bool,
    interrupted_delete: bool,
    reasons: &mut BTreeSet<ChangeReason>,
) -> (Action, Vec<FieldChange>) {
    match (desired, live) {
        (_, None) if interrupted_delete && is_recorded => {
            reasons.insert(ChangeReason::InterruptedDelete);
            match desired {
                Some(want) => (Action::Create, creation_fields(want)),
                None => (Action::Forget, Vec::new()),
            }
        }
        (Some(want), None) => {
            reasons.insert(if is_recorded {
                ChangeReason::DeletedOutside
            } else {
                ChangeReason::ManifestChange
            });
            (Action::Create, creation_fields(want))
        }
        (Some(want), Some(have)) => {
            let fields = diff::diff(kind, want, recorded, have);
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
    }
}

/// The fields to reset in an update: fields in the last-applied spec, gone from the
/// manifest; in the order of their JSON pointers.
fn clears(
    desired: &Option<Flat>,
    recorded: &Option<Flat>,
    action: Action,
    fields: &[FieldChange],
) -> Vec<FieldPath> {
    match (desired, recorded, action) {
        (Some(want), Some(recorded), Action::Update) => fields
            .iter()
            .filter(|f| !want.fields.contains_key(&f.path) && recorded.fields.contains_key(&f.path))
            .map(|f| diff::clear_path(&f.path))
            .map(|p| (p.pointer(), p))
            .collect::<BTreeMap<_, _>>()
            .into_values()
            .collect(),
        _ => Vec::new(),
    }
}

/// The spec to send with the references apply resolves and records: an API destination's
/// `connection` (its ARN is filled in at apply time from the connection the plan names) and
/// a connection's `deauthorized`.
fn with_references(json: Option<Value>, kind: Kind, spec: &Spec) -> Option<Value> {
    let mut json = json?;
    with_reference_names(kind, &mut json, &spec.json());
    if let (Some(o), Spec::Connection(c)) = (json.as_object_mut(), spec)
        && c.deauthorized
    {
        o.insert("deauthorized".into(), true.into());
    }
    Some(json)
}

/// The authorization of an existing connection: deauthorize it when asked; re-authorize it
/// (re-sending the secrets) when it was deauthorized but should not be, or when it was
/// modified outside outbound (its `LastModifiedTime` moved), since a changed secret cannot be
/// read back. A moved `LastModifiedTime` after an update of outbound's own that was
/// interrupted (`interrupted_update`: still pending) is outbound's doing, not drift: the
/// secrets are sent again all the same, as a manifest change.
fn connection_state(
    action: Action,
    mut fields: Vec<FieldChange>,
    live: &Live,
    recorded: Option<&crate::state::Record>,
    (wants_deauthorized, interrupted_update): (bool, bool),
    reasons: &mut BTreeSet<ChangeReason>,
) -> (Action, Vec<FieldChange>) {
    let status = live.status.as_deref().unwrap_or("UNKNOWN");
    let was_deauthorized =
        recorded.is_some_and(|r| r.spec.get("deauthorized") == Some(Value::Bool(true)));
    let state_change = |after: &str, reason: Reason| FieldChange {
        path: FieldPath::root().field("connectionState"),
        before: Some(Leaf::Value(status.into())),
        after: Some(Leaf::Value(after.into())),
        reason,
        forces_replacement: false,
    };
    let off = (Kind::Connection.rules().health)(status) == Health::Off;
    if wants_deauthorized {
        // Its other fields are managed as ever (the diff left its authorization out): an
        // update that sends them without auth parameters, before the deauthorization.
        if off {
            return (action, fields);
        }
        let reason = if was_deauthorized {
            Reason::Drift
        } else {
            Reason::ManifestChange
        };
        reasons.insert(reason.into());
        fields.push(state_change(connection::STATE_DEAUTHORIZED, reason));
        return (Action::Deauthorize, fields);
    }
    if off {
        let reason = if was_deauthorized {
            Reason::ManifestChange
        } else {
            Reason::Drift
        };
        reasons.insert(reason.into());
        fields.push(state_change(connection::STATE_AUTHORIZED, reason));
        return (Action::Update, fields);
    }
    let recorded_mark = recorded.and_then(|r| r.live.last_modified.as_deref());
    if let (Some(then), Some(now)) = (recorded_mark, live.last_modified.as_deref())
        && then != now
    {
        let (reason, path) = if interrupted_update {
            (
                Reason::ManifestChange,
                "authParameters (secrets, sent again after an interrupted apply)",
            )
        } else {
            (
                Reason::Drift,
                "authParameters (secrets, modified outside outbound)",
            )
        };
        reasons.insert(reason.into());
        fields.push(FieldChange {
            path: FieldPath::label(path),
            before: Some(Leaf::Sensitive(None)),
            after: Some(Leaf::Sensitive(None)),
            reason,
            forces_replacement: false,
        });
        return (Action::Update, fields);
    }
    (action, fields)
}

/// Whether AWS's `LastModifiedTime` of `live` is before `mark` (both RFC 3339).
fn moved_before(live: &Live, mark: &str) -> bool {
    let time = |t: &str| humantime::parse_rfc3339_weak(t).ok();
    match (live.last_modified.as_deref().and_then(time), time(mark)) {
        (Some(moved), Some(mark)) => moved < mark,
        _ => false,
    }
}

/// An imported connection whose secrets outbound never sent: one labelled change that sends
/// them all, instead of a change per secret (each looks changed: no fingerprint is recorded).
fn secrets_never_sent(
    action: Action,
    mut fields: Vec<FieldChange>,
    reasons: &mut BTreeSet<ChangeReason>,
) -> (Action, Vec<FieldChange>) {
    if !matches!(action, Action::Noop | Action::Update) {
        return (action, fields);
    }
    fields.retain(|f| !matches!(f.after, Some(Leaf::Sensitive(_))));
    reasons.retain(|r| *r == ChangeReason::Adopted);
    reasons.extend(fields.iter().map(|f| ChangeReason::from(f.reason)));
    reasons.insert(ChangeReason::SecretsNeverSent);
    fields.push(FieldChange {
        path: FieldPath::label("authParameters (secrets, never sent by outbound)"),
        before: Some(Leaf::Sensitive(None)),
        after: Some(Leaf::Sensitive(None)),
        reason: Reason::ManifestChange,
        forces_replacement: false,
    });
    (Action::Update, fields)
}

/// A managed connector must carry `outbound:name` and `outbound:lineage` (how an interrupted
/// creation is found again): an update that only adds them where they are missing or wrong.
fn ownership_tags(
    action: Action,
    mut fields: Vec<FieldChange>,
    live: &Live,
    address: &Address,
    state: &State,
    imported: bool,
    reasons: &mut BTreeSet<ChangeReason>,
) -> (Action, Vec<FieldChange>) {
    let reason = if imported {
        Reason::ManifestChange
    } else {
        Reason::Drift
    };
    let mut missing = false;
    for (key, want) in [
        (crate::resource::connector::TAG_NAME, address.name.as_str()),
        (
            crate::resource::connector::TAG_LINEAGE,
            state.lineage.as_str(),
        ),
    ] {
        let have = live.tags.get(key);
        if have.map(String::as_str) != Some(want) {
            missing = true;
            fields.push(FieldChange {
                path: FieldPath::root().field("tags").field(key),
                before: have.map(|h| Leaf::Value(h.clone().into())),
                after: Some(Leaf::Value(want.into())),
                reason,
                forces_replacement: false,
            });
        }
    }
    if !missing {
        return (action, fields);
    }
    reasons.insert(if imported {
        ChangeReason::OwnershipTags
    } else {
        ChangeReason::Drift
    });
    (Action::Update, fields)
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

/// Sets each change's `order` and `after`: creates and updates follow the dependency graph,
/// deletes run in reverse, each after every change of a resource that still used it.
fn order(changes: &mut [Change], desired: &DesiredState, state: &State) -> Result<(), PlanError> {
    let recorded_deps = |a: &Address| -> Vec<Address> {
        state
            .resources
            .get(a)
            .map(|r| crate::resource::references(a.kind, &r.spec.value()))
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
            Action::Create
            | Action::Update
            | Action::Replace
            | Action::Deauthorize
            | Action::Adopt => desired
                .resources
                .get(&c.address)
                .map(|r| graph::dependencies(&r.spec))
                .unwrap_or_default()
                .into_iter()
                .filter(|d| {
                    matches!(
                        actions.get(d),
                        Some(Action::Create | Action::Update | Action::Replace | Action::Adopt)
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
        // A replacement the manifests still reference: the old one goes once every
        // resource that names it is repointed at the new one (create, repoint, delete).
        if c.action == Action::Replace {
            c.retire_after = deps
                .iter()
                .filter(|(a, ds)| a != &c.address && changing(a) && ds.contains(&c.address))
                .map(|(a, _)| a.clone())
                .collect();
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Pending, Record};

    fn empty_desired() -> DesiredState {
        DesiredState {
            resources: BTreeMap::new(),
            graph: Graph::default(),
            files: 0,
        }
    }

    fn recorded(state: &mut State, address: &Address) {
        state.resources.insert(
            address.clone(),
            Record {
                id: ResourceId::name(&address.name),
                arn: Arn::new(format!("arn:aws:events:r:1:connection/{}/x", address.name)),
                spec: serde_json::json!({"authorizationType": "API_KEY"}).into(),
                fingerprints: BTreeMap::new(),
                protect: false,
                live: Default::default(),
                imported: false,
            },
        );
    }

    // ---- plan::build's per-kind branches on plain data (issue 15 item 6) ----------------

    const T0: &str = "2026-12-02T08:00:00.000Z";
    const T1: &str = "2026-12-02T09:00:00.000Z";

    /// The desired state of `yaml` (its secrets resolved from `key.txt`).
    fn manifests(yaml: &str) -> DesiredState {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key.txt"), "not-a-real-key").unwrap();
        std::fs::write(dir.path().join("m.yaml"), yaml).unwrap();
        crate::manifest::validate(&[dir.path().join("m.yaml")]).unwrap()
    }

    fn connection_yaml(description: &str, extra: &str) -> String {
        format!(
            "apiVersion: outbound/v1\nkind: Connection\nmetadata: {{ name: acme }}\nspec:\n  description: {description}\n  authorizationType: API_KEY\n  authParameters:\n    apiKeyAuthParameters: {{ apiKeyName: x-api-key, apiKeyValue: {{ fromFile: key.txt }} }}\n{extra}"
        )
    }

    /// `acme` as the state records it after outbound's last change at `T0`, its spec with
    /// `description`, and AWS holding `status` at `time` with `live_description`.
    fn acme(
        description: &str,
        status: &str,
        time: &str,
        live_description: &str,
    ) -> (State, BTreeMap<Address, Observed>) {
        let address = Address::new(Kind::Connection, "acme");
        let mut state = State::new();
        let spec = serde_json::json!({
            "description": description, "authorizationType": "API_KEY",
            "authParameters": {"apiKeyAuthParameters": {"apiKeyName": "x-api-key", "apiKeyValue": {"fromFile": "key.txt"}}}
        });
        state.resources.insert(
            address.clone(),
            Record {
                id: ResourceId::name("acme"),
                arn: Arn::new("arn:aws:events:r:1:connection/acme/x"),
                spec: spec.into(),
                fingerprints: BTreeMap::new(),
                protect: false,
                live: crate::state::LiveMarkers {
                    last_modified: Some(T0.into()),
                    status: Some("AUTHORIZED".into()),
                },
                imported: false,
            },
        );
        let live = Live {
            id: ResourceId::name("acme"),
            arn: Arn::new("arn:aws:events:r:1:connection/acme/x"),
            spec: serde_json::json!({
                "description": live_description, "authorizationType": "API_KEY",
                "authParameters": {"apiKeyAuthParameters": {"apiKeyName": "x-api-key", "apiKeyValue": {"$sensitive": true}}}
            })
            .into(),
            status: Some(status.into()),
            status_reason: None,
            last_modified: Some(time.into()),
            created: Some(T0.into()),
            expires: None,
            tags: BTreeMap::new(),
        };
        let observed = BTreeMap::from([(
            address,
            Observed {
                live: Some(live),
                adopted: false,
                leftovers: Vec::new(),
            },
        )]);
        (state, observed)
    }

    /// The change of `acme` the plan makes, its field paths and reasons.
    fn acme_change(
        desired: &DesiredState,
        state: &State,
        observed: &BTreeMap<Address, Observed>,
    ) -> (Action, Vec<String>, Vec<ChangeReason>, Option<Value>) {
        let fps = crate::state::fingerprint::all(desired, &state.fingerprint_salt);
        // The secrets recorded are the manifest's: only what the test changes differs.
        let mut state = state.clone();
        for (a, r) in &mut state.resources {
            r.fingerprints = fps.get(a).cloned().unwrap_or_default();
        }
        let plan = build(desired, &state, observed, &fps).unwrap();
        let c = plan
            .changes
            .into_iter()
            .find(|c| c.address.name == "acme")
            .unwrap();
        (
            c.action,
            c.fields.iter().map(|f| f.path.to_string()).collect(),
            c.reasons.into_iter().collect(),
            c.desired.map(|d| d.value()),
        )
    }

    /// Issue 15 item 2: deauthorizing with a new description sends the description too, and
    /// the spec sent keeps the authorization last sent (the record's).
    #[test]
    fn a_connection_to_deauthorize_with_a_new_description_updates_it_too() {
        let desired = manifests(&connection_yaml("Paused", "  deauthorized: true\n"));
        let (state, observed) = acme("Orders", "AUTHORIZED", T0, "Orders");
        let (action, fields, reasons, spec) = acme_change(&desired, &state, &observed);
        assert_eq!(action, Action::Deauthorize);
        assert_eq!(fields, ["description", "connectionState"]);
        assert_eq!(reasons, [ChangeReason::ManifestChange]);
        let spec = spec.unwrap();
        assert_eq!(spec["description"], "Paused");
        assert_eq!(spec["deauthorized"], true);
        assert_eq!(
            spec["authParameters"]["apiKeyAuthParameters"]["apiKeyValue"],
            serde_json::json!({"fromFile": "key.txt"})
        );
        // Deauthorized already: an update of the description alone; nothing when equal.
        let (state, observed) = acme("Orders", "DEAUTHORIZED", T0, "Orders");
        let (action, fields, _, _) = acme_change(&desired, &state, &observed);
        assert_eq!(
            (action, fields),
            (Action::Update, vec!["description".to_owned()])
        );
        let (state, observed) = acme("Paused", "DEAUTHORIZED", T0, "Paused");
        assert_eq!(acme_change(&desired, &state, &observed).0, Action::Noop);
    }

    /// A connection AWS deauthorized on its own is drift: re-authorized (secrets sent); one
    /// whose time moved since outbound's change has its secrets sent again as drift.
    #[test]
    fn a_connection_deauthorized_or_modified_outside_is_drift() {
        let desired = manifests(&connection_yaml("Orders", ""));
        let (state, observed) = acme("Orders", "DEAUTHORIZED", T0, "Orders");
        let (action, fields, reasons, _) = acme_change(&desired, &state, &observed);
        assert_eq!(action, Action::Update);
        assert_eq!(fields, ["connectionState"]);
        assert_eq!(reasons, [ChangeReason::Drift]);
        let (state, observed) = acme("Orders", "AUTHORIZED", T1, "Orders");
        let (action, fields, reasons, _) = acme_change(&desired, &state, &observed);
        assert_eq!(action, Action::Update);
        assert_eq!(
            fields,
            ["authParameters (secrets, modified outside outbound)"]
        );
        assert_eq!(reasons, [ChangeReason::Drift]);
    }

    /// Issue 15 item 12: under an interrupted update's mark, a time that moved after the
    /// mark is outbound's own (sent again as a manifest change); one that moved before the
    /// mark was written is drift.
    #[test]
    fn a_pending_update_mark_owns_only_a_time_that_moved_after_it() {
        let desired = manifests(&connection_yaml("Orders", ""));
        for (mark, reason) in [
            ("2026-12-02T08:30:00Z", ChangeReason::ManifestChange),
            ("2026-12-02T09:30:00Z", ChangeReason::Drift),
        ] {
            let (mut state, observed) = acme("Orders", "AUTHORIZED", T1, "Orders");
            state.pending.insert(
                Address::new(Kind::Connection, "acme"),
                Pending {
                    started: mark.into(),
                    delete: false,
                    update: true,
                    id: None,
                    replaces: None,
                },
            );
            let (_, _, reasons, _) = acme_change(&desired, &state, &observed);
            assert_eq!(reasons, [reason], "mark {mark}");
        }
    }

    /// An imported connection gets one labelled change that sends every secret.
    #[test]
    fn an_imported_connection_has_its_secrets_sent_once() {
        let desired = manifests(&connection_yaml("Orders", ""));
        let (mut state, observed) = acme("Orders", "AUTHORIZED", T0, "Orders");
        state.resources.values_mut().for_each(|r| r.imported = true);
        let (action, fields, reasons, _) = acme_change(&desired, &state, &observed);
        assert_eq!(action, Action::Update);
        assert_eq!(fields, ["authParameters (secrets, never sent by outbound)"]);
        assert_eq!(reasons, [ChangeReason::SecretsNeverSent]);
    }

    /// A managed connector lacking outbound's tags gets an update adding them (drift), and
    /// secrets are never in a change's spec: references only.
    #[test]
    fn a_connector_without_its_ownership_tags_gets_them() {
        let yaml = "apiVersion: outbound/v1\nkind: Connector\nmetadata: { name: as2 }\nspec:\n  url: https://as2.partner.example/as2\n  accessRole: arn:aws:iam::111122223333:role/TransferConnector\n  as2Config:\n    localProfileId: p-0123456789abcdef0\n    partnerProfileId: p-0fedcba9876543210\n";
        let desired = manifests(yaml);
        let address = Address::new(Kind::Connector, "as2");
        let spec = desired.resources[&address].spec.aws_json(&|_, _| None);
        let mut state = State::new();
        state.resources.insert(
            address.clone(),
            Record {
                id: ResourceId::name("c-0123456789abcdef0"),
                arn: Arn::new("arn:aws:transfer:r:1:connector/c-0123456789abcdef0"),
                spec: spec.clone().into(),
                fingerprints: BTreeMap::new(),
                protect: false,
                live: Default::default(),
                imported: false,
            },
        );
        let live = Live {
            id: ResourceId::name("c-0123456789abcdef0"),
            arn: Arn::new("arn:aws:transfer:r:1:connector/c-0123456789abcdef0"),
            spec: spec.into(),
            status: Some("ACTIVE".into()),
            status_reason: None,
            last_modified: None,
            created: None,
            expires: None,
            tags: BTreeMap::from([(
                crate::resource::connector::TAG_NAME.to_owned(),
                "as2".to_owned(),
            )]),
        };
        let observed = BTreeMap::from([(
            address,
            Observed {
                live: Some(live),
                adopted: false,
                leftovers: Vec::new(),
            },
        )]);
        let plan = build(&desired, &state, &observed, &BTreeMap::new()).unwrap();
        let c = &plan.changes[0];
        assert_eq!(c.action, Action::Update);
        let paths: Vec<String> = c.fields.iter().map(|f| f.path.to_string()).collect();
        assert_eq!(paths, ["tags.outbound:lineage"]);
        assert_eq!(
            c.reasons.iter().copied().collect::<Vec<_>>(),
            [ChangeReason::Drift]
        );
    }

    /// Each change's address, action and what it waits for, in plan order.
    fn order_of(plan: &Plan) -> Vec<(String, Action, Vec<String>)> {
        plan.changes
            .iter()
            .map(|c| {
                let after = c.after.iter().map(ToString::to_string).collect();
                (c.address.to_string(), c.action, after)
            })
            .collect()
    }

    /// Creates follow the graph (a destination after its connection), deletes run in
    /// reverse (a connection after the destination that used it); a secret is a reference
    /// in the spec a change sends, never its value.
    #[test]
    fn creates_follow_the_graph_and_deletes_run_in_reverse() {
        let destination = "apiVersion: outbound/v1\nkind: ApiDestination\nmetadata: { name: orders }\nspec:\n  connection: acme\n  invocationEndpoint: https://api.example.com/orders\n  httpMethod: POST\n";
        let desired = manifests(&format!(
            "{}---\n{destination}",
            connection_yaml("Orders", "")
        ));
        let state = State::new();
        let plan = build(&desired, &state, &BTreeMap::new(), &BTreeMap::new()).unwrap();
        let order = order_of(&plan);
        assert_eq!(
            order,
            [
                ("Connection/acme".to_owned(), Action::Create, vec![]),
                (
                    "ApiDestination/orders".to_owned(),
                    Action::Create,
                    vec!["Connection/acme".to_owned()]
                ),
            ]
        );
        let sent = plan.changes[0].desired.as_ref().unwrap().to_string();
        assert!(
            sent.contains("fromFile") && !sent.contains("not-a-real-key"),
            "{sent}"
        );
        // Both gone from the manifests: the destination is deleted first.
        let mut state = State::new();
        for c in &plan.changes {
            state.resources.insert(
                c.address.clone(),
                Record {
                    id: ResourceId::name(&c.address.name),
                    arn: Arn::new(format!("arn:aws:events:r:1:{}/x", c.address.name)),
                    spec: c.desired.clone().unwrap(),
                    fingerprints: BTreeMap::new(),
                    protect: false,
                    live: Default::default(),
                    imported: false,
                },
            );
        }
        let observed: BTreeMap<Address, Observed> = plan
            .changes
            .iter()
            .map(|c| {
                let live = Live {
                    id: ResourceId::name(&c.address.name),
                    arn: Arn::new(format!("arn:aws:events:r:1:{}/x", c.address.name)),
                    spec: serde_json::json!({}).into(),
                    status: None,
                    status_reason: None,
                    last_modified: None,
                    created: None,
                    expires: None,
                    tags: BTreeMap::new(),
                };
                (
                    c.address.clone(),
                    Observed {
                        live: Some(live),
                        adopted: false,
                        leftovers: Vec::new(),
                    },
                )
            })
            .collect();
        let plan = build(&empty_desired(), &state, &observed, &BTreeMap::new()).unwrap();
        let order = order_of(&plan);
        assert_eq!(
            order,
            [
                ("ApiDestination/orders".to_owned(), Action::Delete, vec![]),
                (
                    "Connection/acme".to_owned(),
                    Action::Delete,
                    vec!["ApiDestination/orders".to_owned()]
                ),
            ]
        );
    }

    /// Issue 10 item 8, last clause: a deletion outbound started and AWS finished, whose
    /// end was not saved, is outbound's own work, not "deleted outside outbound".
    #[test]
    fn a_resource_gone_after_an_interrupted_delete_is_not_deleted_outside() {
        let ours = Address::new(Kind::Connection, "ours");
        let theirs = Address::new(Kind::Connection, "theirs");
        let mut state = State::new();
        recorded(&mut state, &ours);
        recorded(&mut state, &theirs);
        state.pending.insert(
            ours.clone(),
            Pending {
                started: "2026-01-01T00:00:00Z".into(),
                delete: true,
                update: false,
                id: None,
                replaces: None,
            },
        );
        let observed: BTreeMap<Address, Observed> = [ours.clone(), theirs.clone()]
            .into_iter()
            .map(|a| (a, Observed::default()))
            .collect();
        let plan = build(&empty_desired(), &state, &observed, &BTreeMap::new()).unwrap();
        let reasons = |a: &Address| {
            let c = plan.changes.iter().find(|c| &c.address == a).unwrap();
            (c.action, c.reasons.iter().copied().collect::<Vec<_>>())
        };
        assert_eq!(
            reasons(&ours),
            (Action::Forget, vec![ChangeReason::InterruptedDelete])
        );
        assert_eq!(
            reasons(&theirs),
            (Action::Forget, vec![ChangeReason::DeletedOutside])
        );
    }
}
