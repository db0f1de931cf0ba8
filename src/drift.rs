//! (plan, unreadable resources, state, unmanaged resources) -> the drift report (SPEC §6):
//! what changed in AWS outside outbound since the last apply, bucket by bucket. Pure.
//!
//! Drift is live ≠ recorded. A pending manifest change (desired ≠ recorded) is listed apart
//! and is not drift. A resource AWS could not be read for is "not checked", never in sync.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::aws::{AwsError, ErrorClass};
use crate::diff::{Flat, Leaf, Reason};
use crate::live::Observed;
use crate::manifest::DesiredState;
use crate::plan::{Action, Change, ChangeReason, Plan};
use crate::resource::rules::{Health, Identity};
use crate::resource::{Address, Arn, FieldPath, Kind, ResourceId, Spec, SpecJson};
use crate::state::{Record, State};

/// The pseudo-field through which the plan changes a connection's authorization.
const CONNECTION_STATE: &str = "connectionState";

/// Every managed resource in one bucket or more, and what else the run found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftReport {
    /// Managed resources AWS holds as they were last applied (pending manifest changes
    /// aside).
    pub in_sync: Vec<Address>,
    pub modified_outside: Vec<Modified>,
    pub deleted_outside: Vec<Deleted>,
    pub unhealthy: Vec<Unhealthy>,
    /// Resources AWS reports in a transitional state (a connection `AUTHORIZING`, an API
    /// destination `INACTIVE` meanwhile, a connector `PENDING`): settling, neither drift nor
    /// a fault.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<Unhealthy>,
    pub not_checked: Vec<NotChecked>,
    /// Resources in the account and region that neither the manifests nor the state name;
    /// `None` when not looked for (`--include-unmanaged`).
    pub unmanaged: Option<Vec<Unmanaged>>,
    /// Changes of the manifests since the last apply: not drift, listed for context.
    pub pending_manifest_changes: Vec<PendingChange>,
}

/// A resource whose fields AWS changed outside outbound.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Modified {
    pub address: Address,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<ResourceId>,
    pub fields: Vec<FieldDrift>,
}

/// One field: what the last apply set (`expected`), what AWS has (`actual`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDrift {
    pub path: FieldPath,
    #[serde(serialize_with = "leaf")]
    pub expected: Option<Leaf>,
    #[serde(serialize_with = "leaf")]
    pub actual: Option<Leaf>,
}

/// A managed resource AWS no longer has.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deleted {
    pub address: Address,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<ResourceId>,
    /// `false` when the manifest is gone too: apply will only forget it.
    pub in_manifests: bool,
}

/// A resource AWS reports as not working: a connection `DEAUTHORIZED` that nobody asked to
/// deauthorize, a connector `ERRORED`; or, in [`DriftReport::waiting`], one still settling.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unhealthy {
    pub address: Address,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<ResourceId>,
    pub status: String,
    /// `StateReason` of a connection, `ErrorMessage` of a connector.
    pub reason: Option<String>,
}

/// Something AWS could not be asked about, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotChecked {
    pub subject: Subject,
    pub reason: String,
}

/// What was not checked: one resource, or the search for unmanaged ones of a kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    Resource(Address),
    Unmanaged(Kind),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Resource(a) => write!(f, "{a}"),
            Subject::Unmanaged(kind) => write!(f, "unmanaged {kind} resources"),
        }
    }
}

impl Serialize for Subject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A resource in the account that neither the manifests nor the state name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unmanaged {
    pub kind: Kind,
    /// The name (connections, API destinations) or AWS-assigned id (`c-…`, `cert-…`,
    /// `p-…`).
    pub id: ResourceId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<Arn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A change of the manifests since the last apply, as `plan` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingChange {
    pub address: Address,
    pub action: Action,
    pub fields: Vec<PendingField>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingField {
    pub path: FieldPath,
    #[serde(serialize_with = "leaf")]
    pub before: Option<Leaf>,
    #[serde(serialize_with = "leaf")]
    pub after: Option<Leaf>,
}

/// The report's conclusion, and the exit code's (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    InSync,
    Drift,
    /// Something could not be checked; wins over drift.
    Incomplete,
}

/// Counts per bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub in_sync: usize,
    pub modified_outside: usize,
    pub deleted_outside: usize,
    pub unhealthy: usize,
    pub not_checked: usize,
    /// `None` when not looked for.
    pub unmanaged: Option<usize>,
    pub pending_manifest_changes: usize,
}

impl DriftReport {
    /// Every bucket is named, so a new one forces a decision here.
    pub fn verdict(&self) -> Verdict {
        let DriftReport {
            in_sync: _,
            modified_outside,
            deleted_outside,
            unhealthy,
            // Settling is neither drift nor a fault.
            waiting: _,
            not_checked,
            unmanaged,
            pending_manifest_changes: _,
        } = self;
        if !not_checked.is_empty() {
            Verdict::Incomplete
        } else if !modified_outside.is_empty()
            || !deleted_outside.is_empty()
            || !unhealthy.is_empty()
            || unmanaged.as_ref().is_some_and(|u| !u.is_empty())
        {
            Verdict::Drift
        } else {
            Verdict::InSync
        }
    }

    pub fn summary(&self) -> Summary {
        Summary {
            in_sync: self.in_sync.len(),
            modified_outside: self.modified_outside.len(),
            deleted_outside: self.deleted_outside.len(),
            unhealthy: self.unhealthy.len(),
            not_checked: self.not_checked.len(),
            unmanaged: self.unmanaged.as_ref().map(Vec::len),
            pending_manifest_changes: self.pending_manifest_changes.len(),
        }
    }
}

/// What the report is made from.
pub struct Inputs<'a> {
    /// The plan of every resource that could be read.
    pub plan: &'a Plan,
    /// Resources that could not be checked, with why; their part of the plan is ignored.
    pub not_checked: &'a BTreeMap<Address, String>,
    pub state: &'a State,
    /// Connections the manifests or the last apply asked to be deauthorized.
    pub deauthorize_asked: &'a BTreeSet<Address>,
    /// The time of the report, and how many days before an expiry it is reported.
    pub now: std::time::SystemTime,
    pub expiry_warning_days: u64,
    /// What `--include-unmanaged` found, and the kinds it could not list; `None` when not
    /// asked.
    pub unmanaged: Option<(Vec<Unmanaged>, Vec<NotChecked>)>,
}

/// The report, in address order within each bucket.
pub fn report(inputs: Inputs<'_>) -> DriftReport {
    let mut report = DriftReport::default();
    // 1. What could not be read is not checked, whatever the plan made of it.
    for (address, reason) in inputs.not_checked {
        report.not_checked.push(NotChecked {
            subject: Subject::Resource(address.clone()),
            reason: reason.clone(),
        });
    }
    // 2. Each readable resource, from its part of the plan.
    let mut changes: Vec<&Change> = inputs
        .plan
        .changes
        .iter()
        .filter(|c| !inputs.not_checked.contains_key(&c.address))
        .collect();
    changes.sort_by(|a, b| a.address.cmp(&b.address));
    for change in changes {
        classify(change, &inputs, &mut report);
    }
    // 3. Unmanaged resources, when looked for.
    if let Some((mut found, failed)) = inputs.unmanaged {
        found.sort();
        report.unmanaged = Some(found);
        report.not_checked.extend(failed);
    }
    report
}

/// The resources of `plan` that expire within `days` of `now`, or have expired: one line
/// each (`Certificate/x expires in 20 days (…)`), for the plan's warnings.
pub fn expiring(plan: &Plan, now: std::time::SystemTime, days: u64) -> Vec<String> {
    plan.changes
        .iter()
        .filter(|c| c.action != Action::Delete)
        .filter_map(|c| {
            let why = crate::resource::expiry::expiry(c.expires.as_deref()?, now, days)?;
            Some(format!("{} {why}", c.address))
        })
        .collect()
}

/// Puts one resource into its buckets:
/// 1. deleted outside (nothing else can be said of it);
/// 2. unhealthy, from the status AWS reports;
/// 3. modified outside: the plan's drift fields, and manifest changes of fields AWS no longer
///    holds as applied (the plan shows those as manifest changes only);
/// 4. pending manifest changes;
/// 5. in sync, if managed and none of 1-3.
fn classify(c: &Change, inputs: &Inputs<'_>, report: &mut DriftReport) {
    let record = inputs.state.resources.get(&c.address);
    let id = c.id.clone().or_else(|| record.map(|r| r.id.clone()));
    if c.reasons.contains(&ChangeReason::DeletedOutside) {
        report.deleted_outside.push(Deleted {
            address: c.address.clone(),
            id,
            in_manifests: c.action != Action::Forget,
        });
        return;
    }
    let mut drifted = false;
    let unhealthy = c.status.as_deref().filter(|s| {
        is_unhealthy(
            c.address.kind,
            s,
            inputs.deauthorize_asked.contains(&c.address),
        )
    });
    if let Some(status) = unhealthy {
        report.unhealthy.push(Unhealthy {
            address: c.address.clone(),
            id: id.clone(),
            status: status.to_owned(),
            reason: c.status_reason.clone(),
        });
        drifted = true;
    }
    if let Some(why) = c
        .expires
        .as_deref()
        .and_then(|e| crate::resource::expiry::expiry(e, inputs.now, inputs.expiry_warning_days))
    {
        report.unhealthy.push(Unhealthy {
            address: c.address.clone(),
            id: id.clone(),
            status: if why.starts_with("expired") {
                "EXPIRED"
            } else {
                "EXPIRING"
            }
            .to_owned(),
            reason: Some(why),
        });
        drifted = true;
    }
    if let Some(status) = c
        .status
        .as_deref()
        .filter(|s| is_settling(c.address.kind, s))
    {
        report.waiting.push(Unhealthy {
            address: c.address.clone(),
            id: id.clone(),
            status: status.to_owned(),
            reason: c
                .status_reason
                .clone()
                .or_else(|| connection_note(c, inputs)),
        });
    }
    let (modified, pending) = fields_of(c, record, unhealthy.is_some());
    if !modified.is_empty() {
        report.modified_outside.push(Modified {
            address: c.address.clone(),
            id,
            fields: modified,
        });
        drifted = true;
    }
    let for_manifest = c
        .reasons
        .iter()
        .any(|r| !matches!(r, ChangeReason::Drift | ChangeReason::DeletedOutside));
    if c.action != Action::Noop && (for_manifest || !pending.is_empty()) {
        report.pending_manifest_changes.push(PendingChange {
            address: c.address.clone(),
            action: c.action,
            fields: pending,
        });
    }
    if record.is_some() && !drifted {
        report.in_sync.push(c.address.clone());
    }
}

/// A change's fields as drift (AWS no longer holds what was applied) and as pending
/// manifest changes; the state of a connection reported unhealthy is not repeated.
fn fields_of(
    c: &Change,
    record: Option<&Record>,
    unhealthy: bool,
) -> (Vec<FieldDrift>, Vec<PendingField>) {
    let applied = record.map(|r| recorded_flat(c.address.kind, &r.spec));
    let mut modified = Vec::new();
    let mut pending = Vec::new();
    for f in &c.fields {
        match f.reason {
            // Reported as unhealthy, with AWS's reason.
            Reason::Drift if f.path == CONNECTION_STATE && unhealthy => {}
            Reason::Drift => modified.push(FieldDrift {
                path: f.path.clone(),
                expected: f.after.clone(),
                actual: f.before.clone(),
            }),
            Reason::ManifestChange => {
                pending.push(PendingField {
                    path: f.path.clone(),
                    before: f.before.clone(),
                    after: f.after.clone(),
                });
                if let Some(was) = applied.as_ref().and_then(|a| a.fields.get(&f.path))
                    && changed_since(was, f.before.as_ref())
                {
                    modified.push(FieldDrift {
                        path: f.path.clone(),
                        expected: Some(was.clone()),
                        actual: f.before.clone(),
                    });
                }
            }
        }
    }
    (modified, pending)
}

/// Whether AWS no longer holds the value last applied (secrets cannot be compared).
fn changed_since(applied: &Leaf, live: Option<&Leaf>) -> bool {
    let secret = |l: &Leaf| matches!(l, Leaf::Sensitive(_) | Leaf::KnownAfterApply);
    !secret(applied) && !live.is_some_and(secret) && live != Some(applied)
}

/// The last-applied spec in canonical form, without what is not a field of the resource.
fn recorded_flat(kind: Kind, spec: &SpecJson) -> Flat {
    Flat::of(kind, &spec.without_references())
}

/// Statuses that mean the resource does not work, by its kind's rules: a failure, or
/// switched off without being asked; transitions (`AUTHORIZING`, `PENDING`, …) do not
/// count, nor a resource blocked by its dependency (which is reported itself).
fn is_unhealthy(kind: Kind, status: &str, deauthorize_asked: bool) -> bool {
    match (kind.rules().health)(status) {
        Health::Failed => true,
        Health::Off => !deauthorize_asked,
        Health::Healthy | Health::Waiting | Health::Blocked => false,
    }
}

/// A transitional status: AWS is still working on the resource (the kind's rules say which).
fn is_settling(kind: Kind, status: &str) -> bool {
    kind.rules().is_settling(status)
}

/// `its connection NAME is STATE` for an API destination, from the connection's part of the
/// plan.
fn connection_note(c: &Change, inputs: &Inputs<'_>) -> Option<String> {
    if c.address.kind != Kind::ApiDestination {
        return None;
    }
    let record = inputs.state.resources.get(&c.address)?;
    let name = record.spec.get("connection")?;
    let name = name.as_str()?;
    let connection = Address::new(Kind::Connection, name.to_owned());
    let status = inputs
        .plan
        .changes
        .iter()
        .find(|x| x.address == connection)?
        .status
        .as_deref()?;
    Some(format!("its connection {name} is {status}"))
}

/// Connections that are meant to be `DEAUTHORIZED`: `deauthorized: true` in the manifest, or
/// in the last apply (a manifest that sets it back is a pending change, not a fault).
pub fn deauthorize_asked(desired: &DesiredState, state: &State) -> BTreeSet<Address> {
    let in_manifest = desired.resources.iter().filter_map(|(a, r)| match &r.spec {
        Spec::Connection(c) if c.deauthorized => Some(a.clone()),
        _ => None,
    });
    let applied = state
        .resources
        .iter()
        .filter(|(a, r)| {
            a.kind == Kind::Connection && r.spec.get("deauthorized") == Some(Value::Bool(true))
        })
        .map(|(a, _)| a.clone());
    in_manifest.chain(applied).collect()
}

/// Why AWS could not be read, in a few words and AWS's own (secrets already scrubbed).
pub fn unreadable_reason(e: &AwsError) -> String {
    let class = match e.class {
        ErrorClass::Throttled => "throttled",
        ErrorClass::AccessDenied => "access denied",
        ErrorClass::Quota => "quota exceeded",
        ErrorClass::NotFound => "not found",
        ErrorClass::Conflict => "conflict",
        ErrorClass::Invalid => "rejected",
        ErrorClass::Other => "error",
    };
    format!("{class}: {e}")
}

/// What the List calls of `--include-unmanaged` returned: every resource of each kind in
/// the account and region (its name or AWS-assigned id, and what the page shows), or why
/// the kind could not be listed.
pub type Listed = BTreeMap<Kind, Result<Vec<Unmanaged>, AwsError>>;

/// Listed resources that neither the manifests nor the state name, and the kinds that could
/// not be listed. A kind known by its name is named by an address of the manifests or the
/// state (a connection also by the `connectionArn` of an API destination); a kind known by
/// an AWS-assigned id by the id recorded in state or found through its tags.
pub fn unmanaged(
    listed: Listed,
    desired: &DesiredState,
    state: &State,
    observed: &BTreeMap<Address, Observed>,
) -> (Vec<Unmanaged>, Vec<NotChecked>) {
    let named = crate::live::addresses(desired, state);
    let by_arn: BTreeSet<&str> = desired
        .resources
        .values()
        .filter_map(|r| match &r.spec {
            Spec::ApiDestination(d) => d.connection_arn.as_deref().and_then(connection_name),
            _ => None,
        })
        .collect();
    let ids: BTreeSet<(Kind, &str)> = state
        .resources
        .iter()
        .map(|(a, r)| (a.kind, r.id.as_str()))
        .chain(
            observed
                .iter()
                .filter_map(|(a, o)| o.live.as_ref().map(|l| (a.kind, l.id.as_str()))),
        )
        .collect();
    let mut found = Vec::new();
    let mut failed = Vec::new();
    for (kind, listed) in listed {
        let by_name = kind.rules().identity == Identity::Name;
        match listed {
            Ok(all) => found.extend(all.into_iter().filter(|u| {
                let id = u.id.as_str();
                if by_name {
                    !named.contains(&Address::new(kind, id))
                        && (kind != Kind::Connection || !by_arn.contains(id))
                } else {
                    !ids.contains(&(kind, id))
                }
            })),
            Err(e) => failed.push(NotChecked {
                subject: Subject::Unmanaged(kind),
                reason: unreadable_reason(&e),
            }),
        }
    }
    (found, failed)
}

/// `NAME` of `arn:aws:events:REGION:ACCOUNT:connection/NAME/UUID`.
fn connection_name(arn: &str) -> Option<&str> {
    arn.splitn(6, ':')
        .nth(5)?
        .strip_prefix("connection/")?
        .split('/')
        .next()
}

/// A leaf as JSON: secrets are `"(sensitive)"`, never a value.
fn leaf<S: Serializer>(l: &Option<Leaf>, s: S) -> Result<S::Ok, S::Error> {
    match l {
        None => s.serialize_none(),
        Some(Leaf::Value(v)) => v.serialize(s),
        Some(Leaf::Sensitive(_)) => s.serialize_str("(sensitive)"),
        Some(Leaf::KnownAfterApply) => s.serialize_str("(known after apply)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_of_a_connection_arn() {
        assert_eq!(
            connection_name("arn:aws:events:us-east-1:123456789012:connection/acme/5c1f-9a"),
            Some("acme")
        );
        assert_eq!(
            connection_name("arn:aws:events:us-east-1:1:rule/acme"),
            None
        );
    }

    #[test]
    fn not_checked_wins_over_drift_and_pending_changes_are_not_drift() {
        let address = Address::new(Kind::Connection, "acme");
        let pending = DriftReport {
            pending_manifest_changes: vec![PendingChange {
                address: address.clone(),
                action: Action::Update,
                fields: Vec::new(),
            }],
            ..DriftReport::default()
        };
        assert_eq!(pending.verdict(), Verdict::InSync);
        let drift = DriftReport {
            deleted_outside: vec![Deleted {
                address: address.clone(),
                id: None,
                in_manifests: true,
            }],
            unmanaged: Some(Vec::new()),
            ..pending
        };
        assert_eq!(drift.verdict(), Verdict::Drift);
        let incomplete = DriftReport {
            not_checked: vec![NotChecked {
                subject: Subject::Unmanaged(Kind::Connector),
                reason: "throttled".into(),
            }],
            ..drift
        };
        assert_eq!(incomplete.verdict(), Verdict::Incomplete);
    }

    #[test]
    fn a_resource_still_settling_is_waiting_not_drift() {
        assert!(is_settling(Kind::Connection, "AUTHORIZING"));
        assert!(is_settling(Kind::ApiDestination, "INACTIVE"));
        assert!(is_settling(Kind::Connector, "PENDING"));
        for (kind, status) in [
            (Kind::Connection, "AUTHORIZED"),
            (Kind::Connection, "DEAUTHORIZED"),
            (Kind::ApiDestination, "ACTIVE"),
            (Kind::Connector, "ERRORED"),
        ] {
            assert!(!is_settling(kind, status), "{kind} {status}");
        }
        let waiting = DriftReport {
            waiting: vec![Unhealthy {
                address: Address::new(Kind::ApiDestination, "orders"),
                id: None,
                status: "INACTIVE".into(),
                reason: None,
            }],
            ..DriftReport::default()
        };
        assert_eq!(waiting.verdict(), Verdict::InSync);
    }

    #[test]
    fn a_value_changed_in_aws_is_drift_a_secret_cannot_tell() {
        let v = |x: i32| Leaf::Value(x.into());
        assert!(changed_since(&v(10), Some(&v(25))));
        assert!(changed_since(&v(10), None));
        assert!(!changed_since(&v(10), Some(&v(10))));
        assert!(!changed_since(
            &Leaf::Sensitive(Some("fp".into())),
            Some(&Leaf::Sensitive(None))
        ));
    }
}
