//! The saved-plan file format (SPEC §5, `formatVersion: 1`): what `plan --out FILE` saves
//! and `apply --plan FILE` reads back (and what `plan --format json` prints). Secret values
//! are never in it: secrets are references and fingerprints, shown as `"(sensitive)"`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Action, Change, ChangeReason, Plan, Summary};
use crate::diff::{FieldChange, Leaf, Reason};
use crate::resource::{Address, Kind};

pub const FORMAT_VERSION: u32 = 1;
const SENSITIVE: &str = "(sensitive)";
const KNOWN_AFTER_APPLY: &str = "(known after apply)";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanFile {
    pub format_version: u32,
    pub state_lineage: String,
    pub state_serial: u64,
    pub summary: Summary,
    pub changes: Vec<ChangeJson>,
    /// Every field changed outside outbound: what the manifests expect, what AWS has.
    pub drift: Vec<DriftJson>,
    /// A hash of what AWS held for each address when planned; `apply --plan` refuses to run
    /// when any differs.
    pub live_fingerprints: BTreeMap<Address, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeJson {
    pub address: Address,
    pub kind: Kind,
    pub name: String,
    pub action: Action,
    pub reasons: BTreeSet<ChangeReason>,
    pub fields: Vec<FieldJson>,
    pub order: usize,
    /// What apply needs to run exactly this change (extensions of SPEC §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The spec to send, with secret references (never values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_fingerprints: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clear: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<Address>,
    /// Connector copies left by an interrupted create or replacement, deleted by this change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftovers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldJson {
    pub path: String,
    pub before: Value,
    pub after: Value,
    pub sensitive: bool,
    pub forces_replacement: bool,
    pub reason: Reason,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftJson {
    pub address: Address,
    pub path: String,
    pub expected: Value,
    pub actual: Value,
}

fn leaf_json(leaf: &Option<Leaf>) -> Value {
    match leaf {
        None => Value::Null,
        Some(Leaf::Value(v)) => v.clone(),
        Some(Leaf::Sensitive(_)) => SENSITIVE.into(),
        Some(Leaf::KnownAfterApply) => KNOWN_AFTER_APPLY.into(),
    }
}

fn json_leaf(v: &Value, sensitive: bool) -> Option<Leaf> {
    match v {
        Value::Null => None,
        _ if sensitive => Some(Leaf::Sensitive(None)),
        Value::String(s) if s == KNOWN_AFTER_APPLY => Some(Leaf::KnownAfterApply),
        v => Some(Leaf::Value(v.clone())),
    }
}

fn is_sensitive(f: &FieldChange) -> bool {
    matches!(f.before, Some(Leaf::Sensitive(_))) || matches!(f.after, Some(Leaf::Sensitive(_)))
}

impl PlanFile {
    pub fn from_plan(plan: &Plan) -> PlanFile {
        let changes = plan
            .changes
            .iter()
            .map(|c| ChangeJson {
                address: c.address.clone(),
                kind: c.address.kind,
                name: c.address.name.clone(),
                action: c.action,
                reasons: c.reasons.clone(),
                fields: c
                    .fields
                    .iter()
                    .map(|f| FieldJson {
                        path: f.path.clone(),
                        before: leaf_json(&f.before),
                        after: leaf_json(&f.after),
                        sensitive: is_sensitive(f),
                        forces_replacement: f.forces_replacement,
                        reason: f.reason,
                    })
                    .collect(),
                order: c.order,
                id: c.id.clone(),
                arn: c.arn.clone(),
                spec: c.desired.clone(),
                secret_fingerprints: c.fingerprints.clone(),
                protect: c.protect,
                clear: c.clear.clone(),
                after: c.after.clone(),
                leftovers: c.leftovers.clone(),
                status: c.status.clone(),
                status_reason: c.status_reason.clone(),
            })
            .collect();
        let drift = plan
            .changes
            .iter()
            .flat_map(|c| {
                c.fields
                    .iter()
                    .filter(|f| f.reason == Reason::Drift)
                    .map(|f| DriftJson {
                        address: c.address.clone(),
                        path: f.path.clone(),
                        expected: leaf_json(&f.after),
                        actual: leaf_json(&f.before),
                    })
            })
            .collect();
        PlanFile {
            format_version: FORMAT_VERSION,
            state_lineage: plan.state_lineage.clone(),
            state_serial: plan.state_serial,
            summary: plan.summary(),
            changes,
            drift,
            live_fingerprints: plan.live_fingerprints.clone(),
        }
    }

    /// The plan this file describes, for `apply --plan`.
    pub fn into_plan(self) -> Plan {
        Plan {
            state_lineage: self.state_lineage,
            state_serial: self.state_serial,
            live_fingerprints: self.live_fingerprints,
            changes: self
                .changes
                .into_iter()
                .map(|c| Change {
                    fields: c
                        .fields
                        .iter()
                        .map(|f| FieldChange {
                            path: f.path.clone(),
                            before: json_leaf(&f.before, f.sensitive),
                            after: json_leaf(&f.after, f.sensitive),
                            reason: f.reason,
                            forces_replacement: f.forces_replacement,
                        })
                        .collect(),
                    address: c.address,
                    action: c.action,
                    reasons: c.reasons,
                    order: c.order,
                    id: c.id,
                    arn: c.arn,
                    desired: c.spec,
                    fingerprints: c.secret_fingerprints,
                    protect: c.protect,
                    clear: c.clear,
                    after: c.after,
                    leftovers: c.leftovers,
                    status: c.status,
                    status_reason: c.status_reason,
                })
                .collect(),
        }
    }
}
