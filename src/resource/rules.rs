//! What outbound knows about a kind beyond its spec, declared once per kind (`RULES` in each
//! kind's module) and asked by generic code (`diff`, `plan`, `apply`, `drift`, `render`,
//! `aws`): defaults AWS reports for unset fields, how a removed field is reset (or that it
//! forces a replacement), what the statuses AWS reports mean, and how a resource is found.
//! Generic code never matches on a kind name for these facts.

use serde_json::Value;

use super::Kind;
use super::path::FieldPath;
pub use super::path::is_under;

/// A value AWS reports for a field left unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    Int(i64),
    Str(&'static str),
}

impl Scalar {
    pub fn to_value(self) -> Value {
        match self {
            Scalar::Int(i) => i.into(),
            Scalar::Str(s) => s.into(),
        }
    }
}

/// How a field removed from the manifest since the last apply is reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    /// Sent as `""`; AWS then stores none.
    EmptyString,
    /// The list it belongs to is sent as `[]` (a list that is sent replaces the stored one).
    EmptyList,
    /// Sent as the default AWS reports when it is unset ([`Rules::defaults`]).
    Default,
    /// Removed with the kind's untag call.
    Untag,
    /// Dropped by the same update that changes the connection's `authorizationType`.
    DroppedWithAuthType,
    /// Not an attribute of the resource in AWS (a reference resolved to another field, a
    /// flag acted on by its own call): nothing to send.
    NotSent,
    /// AWS cannot reset it in place: the resource must be replaced. `why` names the API
    /// constraint.
    Replace { why: &'static str },
}

impl Reset {
    pub fn in_place(self) -> bool {
        !matches!(self, Reset::Replace { .. })
    }
}

/// What a status AWS reports means for generic code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Working.
    Healthy,
    /// In transition: wait for it.
    Waiting,
    /// Not working; AWS gives a reason.
    Failed,
    /// Switched off (a deauthorized connection): healthy if the manifest asks for it, failed
    /// otherwise.
    Off,
    /// Not working because a resource it depends on is not (an API destination `INACTIVE`
    /// behind a connection that is not authorized): never reported itself, the dependency
    /// is (waiting while it waits, unhealthy when it fails).
    Blocked,
}

/// How a resource is known in AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// By its `metadata.name`: the AWS name.
    Name,
    /// By an id AWS assigns; outbound tags what it creates with `name` (its
    /// `metadata.name`) and `lineage` (the state's lineage), finds a resource whose id was
    /// not saved by those tags, and adopts it only if both match.
    Tagged {
        name: &'static str,
        lineage: &'static str,
    },
}

/// What a reference sends to AWS in place of the name it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sends {
    /// The target's AWS id (`p-…`, `cert-…`): [`Identity::Tagged`] kinds.
    Id,
    /// The target's ARN.
    Arn,
}

/// A field of a spec that names other resources of the manifests (a dependency edge):
/// `field` holds a `metadata.name` (or a list of them, `list`), and AWS gets, in
/// `sends_in`, the target's id or ARN instead (for a list: added to the list there, beside
/// the ids the manifest gives itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference {
    /// Path of the field in the spec (`as2Config.localProfile`).
    pub field: &'static str,
    pub target: Kind,
    /// Path of the AWS field the id or ARN is sent in (`as2Config.localProfileId`).
    pub sends_in: &'static str,
    pub sends: Sends,
    pub list: bool,
    /// What the target's spec must hold (field, value), checked offline: a connector's
    /// `localProfile` names a `LOCAL` profile.
    pub target_must: Option<(&'static str, &'static str)>,
}

/// What a kind checks in its resolved secret values (a certificate's PEM): problems, each
/// an error or (`warning`) only reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub problem: super::problem::Problem,
    pub warning: bool,
}

/// The resolved value of a secret by its JSON pointer (`/spec/certificate`).
pub type SecretValues<'a> = &'a dyn Fn(&str) -> Option<&'a str>;

/// A read-only view of a spec in canonical form (`diff::Flat`): paths `a.b[key].c`.
pub trait SpecView {
    /// The plain value at `path`, if any (secrets have none).
    fn value(&self, path: &str) -> Option<&Value>;
    /// Whether any field lies under `prefix.`.
    fn any_under(&self, prefix: &str) -> bool;
}

/// Everything generic code asks of a kind.
#[derive(Debug)]
pub struct Rules {
    pub kind: Kind,
    /// Values AWS reports for fields left unset, by path: a manifest that sets them is in
    /// sync, and a removed one is reset to them.
    pub defaults: &'static [(&'static str, Scalar)],
    /// How a field removed from the manifest is reset, given the desired spec. `path` has
    /// no list keys (`authParameters.invocationHttpParameters.headerParameters`).
    pub reset: fn(path: &str, desired: &dyn SpecView) -> Reset,
    /// Whether changing the field at `path` (present in the manifest) forces a replacement.
    pub replaces: fn(path: &str, desired: &dyn SpecView, live: &dyn SpecView) -> bool,
    /// What a status AWS reports means; unknown statuses are `Waiting` (a new state AWS
    /// added is most likely a transition) unless the kind says otherwise.
    pub health: fn(status: &str) -> Health,
    pub identity: Identity,
    /// The slots that may hold a secret reference (unkeyed paths): an object there is a
    /// secret (`{fromEnv}`, `{fromFile}`, or AWS's `{"$sensitive": true}`), a string a
    /// literal. Secrecy is decided here, by the schema, never by key names found in data.
    pub secret_slots: &'static [&'static str],
    /// Transitional statuses (AWS is still working on the resource; drift reports them as
    /// waiting), each with the status it becomes when all goes well where a saved plan may
    /// count it as that one (`None`: settling there is a change the plan did not see).
    pub settling: &'static [(&'static str, Option<&'static str>)],
    /// The fields that name other resources, and what AWS gets instead.
    pub references: &'static [Reference],
    /// Checks of the resolved secret values (run once they resolve), at time `now`, with
    /// `warn_days`: the window within which an expiry is a warning.
    pub check_secrets:
        fn(values: SecretValues<'_>, now: std::time::SystemTime, warn_days: u64) -> Vec<Finding>,
}

/// For kinds whose secrets need no check beyond AWS's limits.
pub fn no_secret_checks(_: SecretValues<'_>, _: std::time::SystemTime, _: u64) -> Vec<Finding> {
    Vec::new()
}

impl Rules {
    /// Whether `status` is transitional: AWS is still working on the resource.
    pub fn is_settling(&self, status: &str) -> bool {
        self.settling.iter().any(|(s, _)| *s == status)
    }

    /// The status `status` becomes when all goes well, where a saved plan may count it as
    /// that one; any other status as it is.
    pub fn settled<'a>(&self, status: &'a str) -> &'a str {
        self.settling
            .iter()
            .find(|(s, _)| *s == status)
            .and_then(|(_, to)| *to)
            .unwrap_or(status)
    }

    /// The default AWS reports for `path` when unset.
    pub fn default_of(&self, path: &str) -> Option<Value> {
        self.defaults
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, v)| v.to_value())
    }

    /// The integer default AWS reports for `path` when unset.
    pub fn default_i32(&self, path: &str) -> Option<i32> {
        self.defaults
            .iter()
            .find(|(p, _)| *p == path)
            .and_then(|(_, v)| match v {
                Scalar::Int(i) => i32::try_from(*i).ok(),
                Scalar::Str(_) => None,
            })
    }

    /// Whether the field at `path` (list keys allowed) may hold a secret reference.
    pub fn is_secret_slot(&self, path: &FieldPath) -> bool {
        self.secret_slots.contains(&path.unkeyed().as_str())
    }

    /// How the field at `path` (list keys allowed: `a.b[key].c`) is reset.
    pub fn reset_of(&self, path: &FieldPath, desired: &dyn SpecView) -> Reset {
        (self.reset)(&path.unkeyed(), desired)
    }
}
