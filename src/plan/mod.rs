//! Changes + graph -> an immutable, fully specified plan: what to do to each resource, why,
//! field by field, and what each action must wait for. Pure: no I/O, no clock.

mod build;
pub mod file;
mod fresh;
pub mod in_use;
mod order;
pub mod saved;

pub use build::build;
pub use fresh::{Stale, check_fresh};

use std::collections::{BTreeMap, BTreeSet};

use crate::diff::{FieldChange, Reason};
use crate::graph::{self, Graph};
use crate::live::Live;
use crate::resource::{Address, Arn, FieldPath, Kind, ResourceId, SpecJson};
use serde::{Deserialize, Serialize};

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
    /// Copies an interrupted create or replacement left (`Observed::leftovers`), of a kind
    /// AWS assigns the ids of:
    /// the change deletes them before anything else (issue 10 item 1).
    pub leftovers: Vec<ResourceId>,
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
