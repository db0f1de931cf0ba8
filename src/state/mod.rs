//! The inventory of what outbound manages (SPEC §4): format version, lineage, serial, and per
//! resource its AWS identity, last-applied spec, secret fingerprints (never values), protect
//! flag and live markers. Stored by a backend behind one interface ([`Store`]): the local file
//! or an S3 object, each written only on condition and guarded by a lock beside it.

pub mod fingerprint;
pub mod guard;

use std::collections::BTreeMap;

use crate::resource::{Address, Arn, FieldPath, ResourceId, SpecJson};
use serde::{Deserialize, Serialize};

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct State {
    pub format_version: u32,
    /// Identifies this state across its versions; connectors carry it as `outbound:lineage`.
    pub lineage: String,
    /// Incremented on every write.
    pub serial: u64,
    /// Salt of the secret fingerprints, random per lineage.
    pub fingerprint_salt: String,
    /// The AWS account and region this state is for (the account guard, SPEC §7): written at
    /// the first write after the guard passed, so an older state without them gains them at
    /// its next write; a run in another account or region is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<guard::AccountId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default)]
    pub resources: BTreeMap<Address, Record>,
    /// Creations that were started but not yet recorded: found and adopted by the next run.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pending: BTreeMap<Address, Pending>,
    /// Secret checks by bucket: one Argon2id per bucket of secrets that lets a run whose
    /// secrets did not change skip their fingerprints (see [`fingerprint::all_with`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_checks: BTreeMap<String, String>,
}

/// One managed resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Record {
    /// The name (connections, API destinations) or `c-…` id (connectors).
    pub id: ResourceId,
    pub arn: Arn,
    /// The last-applied spec in manifest shape; secrets are references, never values.
    pub spec: SpecJson,
    /// Secret fingerprints by field path (`authParameters.apiKeyAuthParameters.apiKeyValue`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fingerprints: BTreeMap<FieldPath, String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
    #[serde(default)]
    pub live: LiveMarkers,
    /// Recorded by `outbound import` and not applied since: a connection's secrets were never
    /// sent by outbound, a connector lacks the `outbound:` tags. The next plan does both
    /// (labelled so) and that apply clears the flag.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub imported: bool,
}

/// What AWS said right after outbound's last change, to tell drift from pending changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveMarkers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pending {
    pub started: String,
    /// A deletion (not a creation) was started: if AWS no longer has the resource, the
    /// interrupted apply deleted it, not someone outside outbound.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete: bool,
    /// An update (in place) was started: if AWS applied it but its end was not saved, the
    /// resource's moved `LastModifiedTime` is outbound's own doing, not drift.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub update: bool,
    /// The id AWS assigned to what the create call made (a connector's `c-…`, a
    /// certificate's `cert-…`, a profile's `p-…`), saved before apply reads or waits on it
    /// (issue 10 item 1), so a run that dies or fails later still knows the copy it made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<ResourceId>,
    /// A replacement in progress (of a kind AWS assigns the ids of): the id being replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<ResourceId>,
}

impl Pending {
    /// This earlier mark together with a newer run's `newer` for the same address: each says
    /// what may have happened in AWS since it was written, so both stand until the address
    /// is resolved (issue 15 item 7): the earliest start (the evidence an adoption is judged
    /// by), either flag, the ids each saved.
    pub fn merged(&self, newer: Pending) -> Pending {
        Pending {
            started: self.started.clone().min(newer.started),
            delete: self.delete || newer.delete,
            update: self.update || newer.update,
            id: self.id.clone().or(newer.id),
            replaces: self.replaces.clone().or(newer.replaces),
        }
    }
}

impl State {
    /// A new, empty state with a fresh lineage and salt.
    pub fn new() -> Self {
        State {
            format_version: FORMAT_VERSION,
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            fingerprint_salt: fingerprint::new_salt(),
            account: None,
            region: None,
            resources: BTreeMap::new(),
            pending: BTreeMap::new(),
            secret_checks: BTreeMap::new(),
        }
    }
}

impl State {
    /// What the guard checks a run against.
    pub fn recorded(&self) -> guard::Recorded<'_> {
        guard::Recorded {
            account: self.account.as_ref(),
            region: self.region.as_deref(),
        }
    }

    /// Records where the run that passed the guard is: the next write saves it.
    pub fn stamp(&mut self, caller: &guard::Caller) {
        self.account = Some(caller.account.clone());
        self.region = Some(caller.region.clone());
    }
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}

/// Why the state could not be read, written or locked.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read state {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("state {path} is not a state file outbound can read")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "state {path} has format version {found}; this outbound reads version {FORMAT_VERSION}"
    )]
    Version { path: String, found: u32 },
    #[error("cannot write state {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A backend that is not a file (S3): `problem` already says what and what to do.
    #[error("state {path}: {problem}")]
    Remote { path: String, problem: String },
    #[error(
        "state {path} changed since this run read it (another writer, or its lock was removed \
         with `outbound unlock`); nothing was overwritten. Run `outbound plan` to see the \
         state as it is now"
    )]
    Conflict { path: String },
    #[error(
        "state {path} now belongs to lineage {found}, not {read} that this run read: it is \
         another state, and it was not written"
    )]
    Lineage {
        path: String,
        read: String,
        found: String,
    },
    #[error(
        "state {path} is locked by {holder} (lock id {id}); if that run is over, remove the \
         lock with `outbound unlock {id}`"
    )]
    Locked {
        path: String,
        holder: String,
        id: String,
    },
    #[error("state {path} is not locked; nothing to unlock")]
    NotLocked { path: String },
    #[error(
        "state {path} is locked with id {actual} by {holder}, not {given}; nothing was removed"
    )]
    WrongLock {
        path: String,
        given: String,
        actual: String,
        holder: String,
    },
    #[error("state location `{0}` is not an S3 URL of the form s3://BUCKET/KEY")]
    BadLocation(String),
    /// A lock object that is not a lock (cut short, edited by hand): `id` is what
    /// `outbound unlock` takes to remove exactly this content.
    #[error(
        "the lock {path} is not a lock outbound can read ({problem}); nothing was changed. If no \
         run holds it, remove it with `outbound unlock {id}`"
    )]
    UnreadableLock {
        path: String,
        problem: String,
        id: String,
    },
    #[error("OUTBOUND_LOCK_LEASE `{0}` is not a duration of 10 seconds or more (e.g. `90s`, `5m`)")]
    BadLease(String),
}
