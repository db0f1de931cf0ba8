//! (desired, recorded, live) -> the change of each address: what to do, field by field,
//! and why.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::diff::{self, FieldChange, Flat, Leaf, Reason};
use crate::live::{Live, Observed, addresses};
use crate::manifest::{DesiredResource, DesiredState};
use crate::resource::rules::Health;
use crate::resource::rules::Sends;
use crate::resource::{
    Address, FieldPath, Identify, Kind, Spec, SpecJson, connection, resolve_references,
    strip_references, with_reference_names,
};
use crate::state::{Record, State};

use super::order::order;
use super::{Action, Change, ChangeReason, Plan, PlanError, file, live_fingerprint};

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
    let kind = c.address.kind;
    if let (true, Some(r)) = (
        kind.assigns_ids(),
        c.id.as_ref().and_then(|id| {
            state
                .resources
                .iter()
                .find(|(a, r)| a.kind == kind && r.id == *id)
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
        (kind, Some(live)) if kind.assigns_ids() => {
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
        (kind, Some(l), Some(r))
            if kind.assigns_ids()
                && d.is_some()
                && matches!(action, Action::Noop | Action::Update) =>
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

/// A managed resource of a kind AWS assigns the ids of must carry its ownership tags
/// (`outbound:name`, `outbound:lineage`: how an interrupted creation is found again): an
/// update that only adds them where they are missing or wrong.
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
    let Some((name_key, lineage_key)) = address.kind.ownership_tags() else {
        return (action, fields);
    };
    let mut missing = false;
    for (key, want) in [
        (name_key, address.name.as_str()),
        (lineage_key, state.lineage.as_str()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Graph;
    use crate::resource::{Arn, ResourceId};
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
        let address = Address::new(Kind::Connector, "as2");
        lineage_tag_restored(yaml, address, "c-0123456789abcdef0");
    }

    /// Issue 17 §1: the same for every kind AWS assigns the ids of (here a profile).
    #[test]
    fn a_profile_without_its_ownership_tags_gets_them() {
        let yaml = "apiVersion: outbound/v1\nkind: Profile\nmetadata: { name: as2 }\nspec:\n  profileType: LOCAL\n  as2Id: OURS\n  certificates: []\n";
        let address = Address::new(Kind::Profile, "as2");
        lineage_tag_restored(yaml, address, "p-0123456789abcdef0");
    }

    /// Plans `yaml`'s resource at `address` (recorded as `id`, in AWS as recorded but
    /// tagged with its name only): one update that adds the lineage tag, as drift.
    fn lineage_tag_restored(yaml: &str, address: Address, id: &str) {
        let desired = manifests(yaml);
        let spec = desired.resources[&address].spec.aws_json(&|_, _| None);
        let arn = Arn::new(format!("arn:aws:transfer:r:1:x/{id}"));
        let mut state = State::new();
        state.resources.insert(
            address.clone(),
            Record {
                id: ResourceId::name(id),
                arn: arn.clone(),
                spec: spec.clone().into(),
                fingerprints: BTreeMap::new(),
                protect: false,
                live: Default::default(),
                imported: false,
            },
        );
        let live = Live {
            id: ResourceId::name(id),
            arn,
            spec: spec.into(),
            status: Some("ACTIVE".into()),
            status_reason: None,
            last_modified: None,
            created: None,
            expires: None,
            tags: BTreeMap::from([(
                crate::resource::connector::TAG_NAME.to_owned(),
                address.name.clone(),
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
