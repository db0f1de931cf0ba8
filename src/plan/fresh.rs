//! Whether a saved plan is still what was reviewed: the state, AWS and the secrets it
//! relied on, unchanged.

use std::collections::{BTreeMap, BTreeSet};

use crate::diff::{FieldChange, Flat, Leaf, Reason};
use crate::live::{Live, Observed};
use crate::resource::{Address, FieldPath};
use crate::state::State;

use super::{Action, Change, ChangeReason, Plan, live_fingerprint};

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
