//! The saved-plan file format (`formatVersion: 2`; docs/plan-file.md): what `plan --out FILE`
//! saves and `apply --plan FILE` reads back (and what `plan --format json` prints). Secret
//! values are never in it: secrets are references and fingerprints, shown as `"(sensitive)"`.
//!
//! A file is sealed: `checksum` is SHA-256 over its canonical content (the JSON without
//! `checksum`, object keys sorted, no whitespace), so a file edited by hand or cut short is
//! refused before anything else is read from it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Action, Change, ChangeReason, Plan, Summary};
use crate::diff::{FieldChange, Leaf, Reason};
use crate::resource::{Address, Arn, FieldPath, Kind, ResourceId, SpecJson};
use crate::state::State;
use crate::state::guard::AccountId;

/// 2: `fingerprintSalt`, `secretsChecked`, `checksum`, `secretsNotCompared`, and a change's
/// `spec` holds its references (`connection`, `deauthorized`). Plans of format 1 are refused.
pub const FORMAT_VERSION: u32 = 2;
const SENSITIVE: &str = "(sensitive)";
const KNOWN_AFTER_APPLY: &str = "(known after apply)";
const CHECKSUM_PREFIX: &str = "sha256:";
/// The largest plan file `apply --plan` reads: 64 MiB, several times a plan of every resource
/// at the default account quotas (3,000 connections and 3,000 API destinations); a larger file
/// is refused before it is read whole.
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;
/// The most changes a plan file may hold: 20,000 (every resource at the default quotas is
/// about 6,000), refused before the changes are read.
pub const MAX_CHANGES: usize = 20_000;

/// The AWS account and region a plan was made for (the state's, which the account guard
/// checked), and the environment's name where a project file names one: `apply --plan`
/// refuses the plan anywhere else.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The `--target`s the plan was made with (none: every resource): `apply --plan` plans
    /// again with the same ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

impl Scope {
    /// The account and region `state` records (no environment: the command sets it).
    pub fn of_state(state: &State) -> Scope {
        Scope {
            account: state.account.clone(),
            region: state.region.clone(),
            environment: None,
            targets: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanFile {
    pub format_version: u32,
    pub state_lineage: String,
    pub state_serial: u64,
    /// Where the plan may be applied: `account`, `region` and `environment` at the top level.
    #[serde(flatten)]
    pub scope: Scope,
    /// The salt of the secret fingerprints: `apply --plan` on a project without state creates
    /// the state with this lineage and salt, so the plan's fingerprints stay comparable.
    pub fingerprint_salt: String,
    /// `false` for a plan made with `--secrets skip`: its secret fields were not compared
    /// (each change lists them in `secretsNotCompared`), and apply fingerprints the values.
    pub secrets_checked: bool,
    pub summary: Summary,
    pub changes: Vec<ChangeJson>,
    /// Every field changed outside outbound: what the manifests expect, what AWS has.
    pub drift: Vec<DriftJson>,
    /// A hash of what AWS held for each address when planned; `apply --plan` refuses to run
    /// when any differs.
    pub live_fingerprints: BTreeMap<Address, String>,
    /// `sha256:<hex>` of the canonical content (see the module documentation).
    #[serde(default)]
    pub checksum: String,
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
    pub id: Option<ResourceId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<Arn>,
    /// The spec to send, with secret references (never values) and the references apply
    /// resolves (`connection`, `deauthorized`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<SpecJson>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_fingerprints: BTreeMap<FieldPath, String>,
    /// Secret fields not compared (`--secrets skip`), by path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets_not_compared: Vec<FieldPath>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
    /// JSON pointers of the fields to reset.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "crate::resource::path::as_pointers"
    )]
    pub clear: Vec<FieldPath>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<Address>,
    /// Connector copies left by an interrupted create or replacement, deleted by this change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftovers: Vec<ResourceId>,
    /// A replacement of a resource others name: the old one is deleted after these changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retire_after: Vec<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldJson {
    pub path: FieldPath,
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
    pub path: FieldPath,
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
                secrets_not_compared: c.not_compared.clone(),
                protect: c.protect,
                clear: c.clear.clone(),
                after: c.after.clone(),
                leftovers: c.leftovers.clone(),
                retire_after: c.retire_after.clone(),
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
        let mut file = PlanFile {
            format_version: FORMAT_VERSION,
            state_lineage: plan.state_lineage.clone(),
            state_serial: plan.state_serial,
            scope: plan.scope.clone(),
            fingerprint_salt: plan.fingerprint_salt.clone(),
            secrets_checked: plan.secrets_checked,
            summary: plan.summary(),
            changes,
            drift,
            live_fingerprints: plan.live_fingerprints.clone(),
            checksum: String::new(),
        };
        // Plain structs of strings, numbers and maps: they always serialize.
        let content = serde_json::to_value(&file).unwrap_or_default();
        file.checksum = checksum(content);
        file
    }

    /// The plan this file describes, for `apply --plan`.
    pub fn into_plan(self) -> Plan {
        Plan {
            state_lineage: self.state_lineage,
            state_serial: self.state_serial,
            fingerprint_salt: self.fingerprint_salt,
            secrets_checked: self.secrets_checked,
            live_fingerprints: self.live_fingerprints,
            scope: self.scope,
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
                    not_compared: c.secrets_not_compared,
                    protect: c.protect,
                    clear: c.clear,
                    after: c.after,
                    leftovers: c.leftovers,
                    retire_after: c.retire_after,
                    expires: None,
                    status: c.status,
                    status_reason: c.status_reason,
                })
                .collect(),
        }
    }
}

/// `sha256:<hex>` of `content` without its `checksum`: serde_json's maps keep their keys
/// sorted, and `to_string` writes no whitespace, so the text hashed is canonical.
fn checksum(mut content: Value) -> String {
    use sha2::{Digest, Sha256};
    if let Some(o) = content.as_object_mut() {
        o.remove("checksum");
    }
    let digest = Sha256::digest(content.to_string().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{CHECKSUM_PREFIX}{hex}")
}

/// Why a file is not a plan `apply --plan` runs.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("it is not a complete plan made by `outbound plan --out`")]
    NotJson(#[source] serde_json::Error),
    #[error("it has plan format {0}; this outbound reads format {FORMAT_VERSION}: make a new plan")]
    Version(String),
    #[error(
        "its checksum does not match its content: it was edited or damaged after `outbound plan --out`; make a new plan"
    )]
    Checksum,
    #[error("it does not have the shape of a plan")]
    Shape(#[source] serde_json::Error),
    #[error("it is larger than {MAX_BYTES} bytes, the most a plan file may be")]
    TooLarge,
    #[error("it holds {0} changes; a plan file may hold at most {MAX_CHANGES}")]
    TooManyChanges(usize),
    #[error(
        "it records no AWS account and region (it was made by an older outbound), so where it \
         may be applied is unknown; make a new plan"
    )]
    NoScope,
    #[error(transparent)]
    Inconsistent(#[from] super::Inconsistent),
}

/// The plan saved in `text`, checked before it is trusted: JSON, the format version, the
/// checksum over its content, its shape, the account and region it was made for (compared
/// with the run's by the command), and that it can run to its end
/// ([`Plan::check_consistent`]). Freshness is checked once AWS is read.
pub fn read(text: &str) -> Result<Plan, FileError> {
    if text.len() as u64 > MAX_BYTES {
        return Err(FileError::TooLarge);
    }
    let content: Value = serde_json::from_str(text).map_err(FileError::NotJson)?;
    match content.get("formatVersion") {
        Some(v) if v.as_u64() == Some(u64::from(FORMAT_VERSION)) => {}
        other => {
            return Err(FileError::Version(
                other.map_or_else(|| "(none)".to_owned(), ToString::to_string),
            ));
        }
    }
    let changes = content
        .get("changes")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if changes > MAX_CHANGES {
        return Err(FileError::TooManyChanges(changes));
    }
    let stored = content
        .get("checksum")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if stored.as_deref() != Some(checksum(content.clone()).as_str()) {
        return Err(FileError::Checksum);
    }
    let file: PlanFile = serde_json::from_value(content).map_err(FileError::Shape)?;
    if file.scope.account.is_none() || file.scope.region.is_none() {
        return Err(FileError::NoScope);
    }
    let plan = file.into_plan();
    plan.check_consistent()?;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed() -> String {
        let plan = Plan {
            state_lineage: "00000000-0000-4000-8000-000000000001".into(),
            state_serial: 3,
            fingerprint_salt: "salt".into(),
            secrets_checked: false,
            changes: Vec::new(),
            live_fingerprints: BTreeMap::from([(
                Address::new(Kind::Connection, "acme"),
                "absent".to_owned(),
            )]),
            scope: Scope {
                account: Some(AccountId::parse("111122223333").unwrap()),
                region: Some("eu-west-1".into()),
                environment: None,
                targets: Vec::new(),
            },
        };
        serde_json::to_string_pretty(&PlanFile::from_plan(&plan)).unwrap()
    }

    #[test]
    fn a_sealed_plan_reads_back_whatever_its_layout() {
        let text = sealed();
        let plan = read(&text).unwrap();
        assert_eq!(plan.state_serial, 3);
        assert_eq!(
            plan.scope.account.as_ref().map(AccountId::as_str),
            Some("111122223333")
        );
        assert_eq!(plan.scope.region.as_deref(), Some("eu-west-1"));
        assert!(text.contains("\"account\": \"111122223333\""), "{text}");
        assert_eq!(plan.fingerprint_salt, "salt");
        assert!(!plan.secrets_checked);
        // The checksum is over the content, not the bytes: compact JSON reads the same.
        let compact: Value = serde_json::from_str(&text).unwrap();
        assert!(read(&compact.to_string()).is_ok());
    }

    #[test]
    fn an_edited_cut_or_old_plan_is_refused_with_its_reason() {
        let text = sealed();
        let edited = text.replace("\"stateSerial\": 3", "\"stateSerial\": 4");
        assert_ne!(edited, text);
        assert!(matches!(read(&edited), Err(FileError::Checksum)));
        assert!(matches!(
            read(&text[..text.len() - 2]),
            Err(FileError::NotJson(_))
        ));
        let unsealed = text.replace("\"checksum\"", "\"checksum-was-here\"");
        assert!(matches!(read(&unsealed), Err(FileError::Checksum)));
        let old = text.replace("\"formatVersion\": 2", "\"formatVersion\": 1");
        assert!(
            matches!(read(&old), Err(FileError::Version(ref v)) if v == "1"),
            "{:?}",
            read(&old)
        );
    }

    #[test]
    fn a_plan_without_account_or_region_is_refused() {
        let mut file: Value = serde_json::from_str(&sealed()).unwrap();
        file.as_object_mut().unwrap().remove("account");
        file["checksum"] = checksum(file.clone()).into();
        assert!(matches!(read(&file.to_string()), Err(FileError::NoScope)));
    }

    #[test]
    fn a_plan_over_the_bounds_is_refused_before_its_checksum() {
        let mut file: Value = serde_json::from_str(&sealed()).unwrap();
        file["changes"] = Value::Array(vec![Value::Null; MAX_CHANGES + 1]);
        assert!(matches!(
            read(&file.to_string()),
            Err(FileError::TooManyChanges(n)) if n == MAX_CHANGES + 1
        ));
    }
}
