//! The order of a plan's changes, and what each waits for.

use std::collections::BTreeMap;

use crate::graph::{self, Graph};
use crate::manifest::DesiredState;
use crate::resource::Address;
use crate::state::State;

use super::{Action, Change, PlanError};

/// Sets each change's `order` and `after`: creates and updates follow the dependency graph,
/// deletes run in reverse, each after every change of a resource that still used it.
pub(super) fn order(
    changes: &mut [Change],
    desired: &DesiredState,
    state: &State,
) -> Result<(), PlanError> {
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
