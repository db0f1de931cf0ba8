//! `apply --plan`'s re-plan check (SPEC §2): the plan made now from the manifests, the state
//! and AWS must be the saved one, change for change. The file approves a plan; it cannot carry
//! one of its own, so a file whose content was changed and sealed again (its checksum is
//! integrity, not authenticity) gains nothing. Pure: both plans are data.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Plan;
use super::file::{ChangeJson, PlanFile};
use crate::resource::Address;

/// The first difference between a saved plan and the plan made now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the saved plan is not the plan the manifests, the state and AWS give now: {address}: \
     {what}; nothing was applied"
)]
pub struct Differs {
    pub address: Address,
    pub what: String,
}

impl Differs {
    pub fn hint() -> &'static str {
        "a saved plan is applied only when planning again gives the same changes: the file \
         approves the plan of these manifests, it cannot carry one of its own. Make and review \
         a new plan from the manifests being applied"
    }
}

/// Checks that `saved` and `now` (both made with the same `--target`s, if any) have changes
/// for the same addresses and that each is the same change: action, identity (id, ARN),
/// spec, fields (paths and the values they are set to), fields reset, dependencies, connector
/// copies to delete and protection. Secret fields are left to the fingerprint check (their
/// values are never in a plan); labels (reasons, order, status) are not compared.
pub fn compare(saved: &Plan, now: &Plan) -> Result<(), Differs> {
    let saved = PlanFile::from_plan(saved).changes;
    let now = PlanFile::from_plan(now).changes;
    let by_address = |changes: &[ChangeJson]| -> BTreeMap<Address, ChangeJson> {
        changes
            .iter()
            .map(|c| (c.address.clone(), c.clone()))
            .collect()
    };
    let (saved_by, now_by) = (by_address(&saved), by_address(&now));
    for s in &saved {
        let differs = |what: String| Differs {
            address: s.address.clone(),
            what,
        };
        let Some(n) = now_by.get(&s.address) else {
            return Err(differs(format!(
                "the saved plan has a change for it ({}), the plan made now has none",
                action(s)
            )));
        };
        if let Some(what) = first_difference(s, n) {
            return Err(differs(what));
        }
    }
    match now.iter().find(|n| !saved_by.contains_key(&n.address)) {
        Some(n) => Err(Differs {
            address: n.address.clone(),
            what: format!(
                "the plan made now has a change for it ({}), the saved plan has none",
                action(n)
            ),
        }),
        None => Ok(()),
    }
}

fn action(c: &ChangeJson) -> String {
    serde_json::to_value(c.action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// What differs between two changes of one address, said with both values.
fn first_difference(s: &ChangeJson, n: &ChangeJson) -> Option<String> {
    let both = |what: &str, s: &dyn std::fmt::Debug, n: &dyn std::fmt::Debug| {
        Some(format!(
            "{what}: the saved plan has {s:?}, the plan made now has {n:?}"
        ))
    };
    if s.action != n.action {
        return Some(format!(
            "action: the saved plan has `{}`, the plan made now has `{}`",
            action(s),
            action(n)
        ));
    }
    if s.id != n.id {
        return both("id", &s.id, &n.id);
    }
    if s.arn != n.arn {
        return both("arn", &s.arn, &n.arn);
    }
    let spec = |c: &ChangeJson| c.spec.as_ref().map_or(Value::Null, |j| j.value());
    if let Some(what) = json_difference("spec", &spec(s), &spec(n)) {
        return Some(what);
    }
    if let Some(what) = field_difference(s, n) {
        return Some(what);
    }
    if s.clear != n.clear {
        return both("fields to reset", &s.clear, &n.clear);
    }
    if s.after != n.after {
        return both("waits for", &s.after, &n.after);
    }
    if s.leftovers != n.leftovers {
        return both("connector copies to delete", &s.leftovers, &n.leftovers);
    }
    if s.protect != n.protect {
        return both("protect", &s.protect, &n.protect);
    }
    None
}

/// The first field (not a secret) one change sets and the other does not, or sets otherwise.
fn field_difference(s: &ChangeJson, n: &ChangeJson) -> Option<String> {
    let set = |c: &ChangeJson| -> BTreeMap<String, Value> {
        c.fields
            .iter()
            .filter(|f| !f.sensitive)
            .map(|f| (f.path.to_string(), f.after.clone()))
            .collect()
    };
    let (s, n) = (set(s), set(n));
    let paths: std::collections::BTreeSet<&String> = s.keys().chain(n.keys()).collect();
    paths.into_iter().find_map(|p| {
        let (a, b) = (s.get(p), n.get(p));
        (a != b).then(|| {
            format!(
                "field {p}: the saved plan {}, the plan made now {}",
                sets(a),
                sets(b)
            )
        })
    })
}

fn sets(v: Option<&Value>) -> String {
    match v {
        None => "does not change it".into(),
        Some(v) => format!("sets {v}"),
    }
}

/// The first JSON pointer under which `s` and `n` differ, with both values.
fn json_difference(what: &str, s: &Value, n: &Value) -> Option<String> {
    let (pointer, a, b) = first_pointer(String::new(), s, n)?;
    let show = |v: Option<&Value>| v.map_or("(unset)".to_owned(), Value::to_string);
    Some(format!(
        "{what} {}: the saved plan has {}, the plan made now has {}",
        if pointer.is_empty() { "/" } else { &pointer },
        show(a),
        show(b)
    ))
}

fn first_pointer<'a>(
    at: String,
    s: &'a Value,
    n: &'a Value,
) -> Option<(String, Option<&'a Value>, Option<&'a Value>)> {
    if s == n {
        return None;
    }
    match (s, n) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|k| {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => first_pointer(here, x, y),
                    (x, y) => Some((here, x, y)),
                }
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_pointer(format!("{at}/{i}"), x, y)),
        _ => Some((at, Some(s), Some(n))),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::collections::BTreeSet;

    use serde_json::json;

    use super::*;
    use crate::diff::{FieldChange, Leaf, Reason};
    use crate::plan::{Action, Change};
    use crate::resource::{FieldPath, Kind, SpecJson};

    fn change(name: &str, rate: u64) -> Change {
        let spec = json!({"connection": "acme", "httpMethod": "POST",
                          "invocationEndpoint": "https://api.example.com", "invocationRateLimitPerSecond": rate});
        Change {
            address: Address::new(Kind::ApiDestination, name),
            action: Action::Update,
            reasons: BTreeSet::new(),
            fields: vec![FieldChange {
                path: FieldPath::parse("invocationRateLimitPerSecond"),
                before: Some(Leaf::Value(json!(10))),
                after: Some(Leaf::Value(json!(rate))),
                reason: Reason::ManifestChange,
                forces_replacement: false,
            }],
            order: 1,
            id: Some(crate::resource::ResourceId::name(name)),
            arn: None,
            desired: Some(SpecJson::new(&spec)),
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

    pub(in crate::plan) fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            state_lineage: "l".into(),
            state_serial: 1,
            fingerprint_salt: "s".into(),
            secrets_checked: true,
            changes,
            live_fingerprints: BTreeMap::new(),
            scope: Default::default(),
        }
    }

    #[test]
    fn the_same_plan_passes_and_labels_are_not_compared() {
        let saved = plan(vec![change("orders", 20)]);
        let mut now = saved.clone();
        now.changes[0].order = 7;
        now.changes[0].status = Some("ACTIVE".into());
        assert_eq!(compare(&saved, &now), Ok(()));
    }

    #[test]
    fn a_forged_spec_is_named_with_both_values() {
        let mut saved = plan(vec![change("orders", 20)]);
        let now = saved.clone();
        let mut forged = saved.changes[0].desired.as_ref().unwrap().value();
        forged["invocationEndpoint"] = json!("https://attacker.example");
        saved.changes[0].desired = Some(SpecJson::new(&forged));
        let e = compare(&saved, &now).unwrap_err();
        assert_eq!(e.address.to_string(), "ApiDestination/orders");
        assert_eq!(
            e.what,
            "spec /invocationEndpoint: the saved plan has \"https://attacker.example\", the \
             plan made now has \"https://api.example.com\""
        );
    }

    #[test]
    fn action_identity_fields_and_missing_changes_are_differences() {
        let now = plan(vec![change("orders", 20)]);
        let mut saved = now.clone();
        saved.changes[0].action = Action::Replace;
        assert_eq!(
            compare(&saved, &now).unwrap_err().what,
            "action: the saved plan has `replace`, the plan made now has `update`"
        );

        let mut saved = now.clone();
        saved.changes[0].fields[0].after = Some(Leaf::Value(json!(30)));
        let e = compare(&saved, &now).unwrap_err();
        assert_eq!(
            e.what,
            "field invocationRateLimitPerSecond: the saved plan sets 30, the plan made now sets 20"
        );

        let mut saved = now.clone();
        saved.changes[0].id = Some(crate::resource::ResourceId::name("other"));
        assert!(compare(&saved, &now).unwrap_err().what.starts_with("id"));

        let saved = plan(vec![change("orders", 20), change("extra", 5)]);
        let e = compare(&saved, &now).unwrap_err();
        assert_eq!(e.address.to_string(), "ApiDestination/extra");
    }

    #[test]
    fn a_change_the_saved_plan_left_out_is_a_difference() {
        let saved = plan(vec![change("orders", 20)]);
        let now = plan(vec![change("orders", 20), change("other", 5)]);
        let e = compare(&saved, &now).unwrap_err();
        assert_eq!(e.address.to_string(), "ApiDestination/other");
        assert_eq!(
            e.what,
            "the plan made now has a change for it (update), the saved plan has none"
        );
    }

    #[test]
    fn secret_fields_are_left_to_the_fingerprints() {
        let now = plan(vec![change("orders", 20)]);
        let mut saved = now.clone();
        saved.changes[0].fields.push(FieldChange {
            path: FieldPath::parse("authParameters.apiKeyAuthParameters.apiKeyValue"),
            before: Some(Leaf::Sensitive(None)),
            after: Some(Leaf::Sensitive(Some("argon2id$x".into()))),
            reason: Reason::ManifestChange,
            forces_replacement: false,
        });
        assert_eq!(compare(&saved, &now), Ok(()));
    }
}
