//! A plan that would delete a resource something outside outbound still names is refused
//! (issue 17 §4): a certificate a profile no state of ours manages lists, a profile such a
//! connector uses. Whether AWS itself refuses those deletes is not documented
//! (aws-research/as2-certificates-profiles.md), so outbound does not rely on it either way.
//!
//! Pure: [`wanted`] says which kinds of referrers must be read (none when the plan deletes
//! nothing that kinds known by an AWS-assigned id name), the command reads them from AWS,
//! and [`refusals`] compares. Generic over the kinds: what names what is the kinds'
//! [`Reference`](crate::resource::rules::Reference)s, read in the AWS field they are sent in.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

use super::{Action, Change, Plan};
use crate::live::Live;
use crate::resource::rules::{Identity, Reference, Sends};
use crate::resource::{Address, Kind, ResourceId};
use crate::state::State;

/// What a change deletes: the resource itself (`Delete`), or the old one of a replacement.
fn deletes(change: &Change) -> Option<&ResourceId> {
    matches!(change.action, Action::Delete | Action::Replace)
        .then_some(change.id.as_ref())
        .flatten()
}

/// The references of kinds known by an AWS-assigned id (listed by id, each described) that
/// name a kind the plan deletes a resource of, by the id they send.
fn referring(plan: &Plan) -> Vec<(Kind, &'static Reference)> {
    let deleted: BTreeSet<Kind> = plan
        .changes
        .iter()
        .filter(|c| deletes(c).is_some())
        .map(|c| c.address.kind)
        .collect();
    Kind::ALL
        .into_iter()
        .filter(|k| matches!(k.rules().identity, Identity::Tagged { .. }))
        .flat_map(|k| k.rules().references.iter().map(move |r| (k, r)))
        .filter(|(_, r)| r.sends == Sends::Id && deleted.contains(&r.target))
        .collect()
}

/// The kinds whose resources outside this state must be read to check the plan, each with
/// the ids this state and plan manage (those are repointed or deleted by the plan itself):
/// empty when the plan deletes nothing they could name.
pub fn wanted(plan: &Plan, state: &State) -> BTreeMap<Kind, BTreeSet<ResourceId>> {
    let mut out: BTreeMap<Kind, BTreeSet<ResourceId>> = BTreeMap::new();
    for (kind, _) in referring(plan) {
        let managed = out.entry(kind).or_default();
        managed.extend(
            state
                .resources
                .iter()
                .filter(|(a, _)| a.kind == kind)
                .map(|(_, r)| r.id.clone()),
        );
        for c in plan.changes.iter().filter(|c| c.address.kind == kind) {
            managed.extend(c.id.clone());
            managed.extend(c.leftovers.iter().cloned());
        }
    }
    out
}

/// One resource the plan deletes that resources outside this state still name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InUse {
    pub address: Address,
    pub id: ResourceId,
    /// The kind of what names it, and their ids.
    pub by: Kind,
    pub ids: Vec<ResourceId>,
}

/// The plan's deletes that a resource of `outside` (read from AWS: resources of the
/// [`wanted`] kinds that this state does not manage) names in a referring field.
pub fn refusals(plan: &Plan, outside: &[(Kind, Live)]) -> Vec<InUse> {
    let references = referring(plan);
    let mut out = Vec::new();
    for change in &plan.changes {
        let Some(id) = deletes(change) else { continue };
        for (kind, reference) in references
            .iter()
            .filter(|(_, r)| r.target == change.address.kind)
        {
            let ids: BTreeSet<ResourceId> = outside
                .iter()
                .filter(|(k, _)| k == kind)
                .filter(|(_, live)| names(&live.spec.value(), reference.sends_in, id))
                .map(|(_, live)| live.id.clone())
                .collect();
            if !ids.is_empty() {
                out.push(InUse {
                    address: change.address.clone(),
                    id: id.clone(),
                    by: *kind,
                    ids: ids.into_iter().collect(),
                });
            }
        }
    }
    out
}

/// Whether the field at the dotted `path` of `spec` is `id`, or a list holding it.
fn names(spec: &Value, path: &str, id: &ResourceId) -> bool {
    let field = path
        .split('.')
        .try_fold(spec, |v, key| v.get(key))
        .unwrap_or(&Value::Null);
    match field {
        Value::String(s) => s == id.as_str(),
        Value::Array(items) => items.iter().any(|v| v.as_str() == Some(id.as_str())),
        _ => false,
    }
}

/// The refusal: every delete in use, and what names it.
#[derive(Debug, thiserror::Error)]
pub struct InUseError(pub Vec<InUse>);

impl fmt::Display for InUseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the plan would delete what resources outside outbound's manifests still use: "
        )?;
        let each: Vec<String> = self
            .0
            .iter()
            .map(|u| {
                let ids: Vec<&str> = u.ids.iter().map(ResourceId::as_str).collect();
                format!(
                    "{} ({}) is used by {} {}",
                    u.address,
                    u.id,
                    u.by.as_str().to_lowercase(),
                    ids.join(", ")
                )
            })
            .collect();
        f.write_str(&each.join("; "))
    }
}

impl InUseError {
    pub fn hint(&self) -> String {
        "remove it from them first (or manage them with `outbound import`), or keep the \
         resource in the manifests; nothing was changed"
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::saved::tests::plan;
    use crate::resource::Arn;

    fn change(kind: Kind, name: &str, action: Action, id: &str) -> Change {
        Change {
            address: Address::new(kind, name),
            action,
            reasons: BTreeSet::new(),
            fields: Vec::new(),
            order: 0,
            id: Some(ResourceId::name(id)),
            arn: None,
            desired: None,
            fingerprints: BTreeMap::new(),
            not_compared: Vec::new(),
            protect: false,
            clear: Vec::new(),
            after: Vec::new(),
            status: None,
            status_reason: None,
            leftovers: Vec::new(),
            retire_after: Vec::new(),
            expires: None,
        }
    }

    fn profile(id: &str, certificates: &[&str]) -> (Kind, Live) {
        let live = Live {
            id: ResourceId::name(id),
            arn: Arn::new(""),
            spec: serde_json::json!({ "certificateIds": certificates }).into(),
            status: None,
            status_reason: None,
            last_modified: None,
            created: None,
            tags: BTreeMap::new(),
            expires: None,
        };
        (Kind::Profile, live)
    }

    #[test]
    fn only_deletes_of_named_kinds_ask_for_referrers() {
        let state = State::new();
        let update = plan(vec![change(
            Kind::Certificate,
            "a",
            Action::Update,
            "cert-1",
        )]);
        assert!(wanted(&update, &state).is_empty());
        let delete = plan(vec![
            change(Kind::Certificate, "a", Action::Delete, "cert-1"),
            change(Kind::Profile, "ours", Action::Update, "p-ours"),
        ]);
        let wanted = wanted(&delete, &state);
        assert_eq!(wanted.keys().copied().collect::<Vec<_>>(), [Kind::Profile]);
        assert!(wanted[&Kind::Profile].contains(&ResourceId::name("p-ours")));
    }

    #[test]
    fn a_deleted_or_replaced_certificate_a_profile_lists_is_refused_naming_both() {
        let p = plan(vec![
            change(Kind::Certificate, "old", Action::Delete, "cert-old"),
            change(Kind::Certificate, "rotated", Action::Replace, "cert-rot"),
            change(Kind::Certificate, "free", Action::Delete, "cert-free"),
        ]);
        let outside = [
            profile("p-1", &["cert-old", "cert-x"]),
            profile("p-2", &["cert-old", "cert-rot"]),
        ];
        let found = refusals(&p, &outside);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].address, Address::new(Kind::Certificate, "old"));
        assert_eq!(
            found[0].ids,
            [ResourceId::name("p-1"), ResourceId::name("p-2")]
        );
        assert_eq!(found[1].ids, [ResourceId::name("p-2")]);
        let message = InUseError(found).to_string();
        assert!(
            message.contains("Certificate/old (cert-old) is used by profile p-1, p-2"),
            "{message}"
        );
        assert!(refusals(&p, &[profile("p-3", &["cert-x"])]).is_empty());
    }
}
