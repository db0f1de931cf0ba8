//! (desired, recorded, live) -> field changes. Pure and deterministic.
//!
//! Specs of every kind are compared in one canonical form, [`Flat`]: leaves by path, lists of
//! `{key, value}` keyed by `key` (never by position), tags as a map, lists of strings as sets,
//! empty values as absent, and secrets as [`Leaf::Sensitive`] carrying their fingerprint.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::resource::rules::{Rules, SpecView};
use crate::resource::{FieldPath, Kind};

/// One leaf of a spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Leaf {
    Value(Value),
    /// A secret; its fingerprint where one is known (desired, recorded), `None` from AWS.
    Sensitive(Option<String>),
    /// A value only AWS can tell, after the change (a new connection's ARN).
    KnownAfterApply,
}

impl fmt::Display for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Leaf::Value(Value::String(s)) => write!(f, "{s:?}"),
            Leaf::Value(v) => write!(f, "{v}"),
            Leaf::Sensitive(_) => f.write_str("(sensitive)"),
            Leaf::KnownAfterApply => f.write_str("(known after apply)"),
        }
    }
}

/// A spec in canonical form: path (`authParameters.apiKeyAuthParameters.apiKeyName`,
/// `…headerParameters[X-Env].value`, `tags.team`; each knows its JSON pointer) to leaf.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flat {
    pub fields: BTreeMap<FieldPath, Leaf>,
}

impl Flat {
    /// Flattens a manifest-shaped spec of `kind`: an object in one of the kind's secret
    /// slots (a reference, or AWS's `{"$sensitive": true}`) is a secret; anywhere else an
    /// object is walked, whatever its keys.
    pub fn of(kind: Kind, spec: &Value) -> Flat {
        let mut flat = Flat::default();
        flat.walk(kind.rules(), spec, FieldPath::root());
        flat
    }

    fn walk(&mut self, rules: &Rules, v: &Value, path: FieldPath) {
        match v {
            Value::Null => {}
            Value::String(s) if s.is_empty() => {}
            Value::Object(_) if rules.is_secret_slot(&path) => {
                self.leaf(path, Leaf::Sensitive(None));
            }
            Value::Object(o) => {
                for (k, child) in o {
                    self.walk(rules, child, path.field(k));
                }
            }
            Value::Array(items)
                if items.iter().all(|i| i.get("key").is_some()) && !items.is_empty() =>
            {
                for (i, item) in items.iter().enumerate() {
                    let key = match &item["key"] {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    let mut rest = item.clone();
                    if let Some(o) = rest.as_object_mut() {
                        o.remove("key");
                    }
                    self.walk(rules, &rest, path.item(&key, i));
                }
            }
            Value::Array(items) if items.is_empty() => {}
            Value::Array(items) => {
                let mut sorted = items.clone();
                sorted.sort_by_key(|a| a.to_string());
                self.leaf(path, Leaf::Value(Value::Array(sorted)));
            }
            other => self.leaf(path, Leaf::Value(other.clone())),
        }
    }

    fn leaf(&mut self, path: FieldPath, leaf: Leaf) {
        // A repeated list key: the last item wins, its pointer with it.
        self.fields.remove(&path);
        self.fields.insert(path, leaf);
    }

    /// Paths of secrets (each with its JSON pointer, `FieldPath::pointer`).
    pub fn sensitive(&self) -> impl Iterator<Item = &FieldPath> {
        self.fields
            .iter()
            .filter(|(_, l)| matches!(l, Leaf::Sensitive(_)))
            .map(|(p, _)| p)
    }

    /// Sets the fingerprint of each secret from `fingerprints` (by path).
    pub fn with_fingerprints(mut self, fingerprints: &BTreeMap<FieldPath, String>) -> Self {
        for (path, leaf) in self.fields.iter_mut() {
            if let Leaf::Sensitive(fp) = leaf {
                *fp = fingerprints.get(path).cloned();
            }
        }
        self
    }
}

/// Why a field is to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The manifest changed since the last apply.
    ManifestChange,
    /// AWS changed outside outbound since the last apply.
    Drift,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::ManifestChange => "apply manifest change",
            Reason::Drift => "revert drift",
        })
    }
}

/// One field to change: from what AWS has to what the manifest wants (`None`: absent or
/// reset to the AWS default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub path: FieldPath,
    pub before: Option<Leaf>,
    pub after: Option<Leaf>,
    pub reason: Reason,
    pub forces_replacement: bool,
}

impl SpecView for Flat {
    fn value(&self, path: &str) -> Option<&Value> {
        match self.fields.get(path) {
            Some(Leaf::Value(v)) => Some(v),
            _ => None,
        }
    }

    fn any_under(&self, prefix: &str) -> bool {
        self.fields.keys().any(|p| p.is_under(prefix))
    }
}

/// Field changes that make `live` match `desired`, told apart by `recorded` (the last apply):
/// a field in the manifest is enforced; a field removed from the manifest since the last
/// apply is reset; a field never written is left as AWS has it.
pub fn diff(kind: Kind, desired: &Flat, recorded: Option<&Flat>, live: &Flat) -> Vec<FieldChange> {
    let empty = Flat::default();
    let recorded_or_empty = recorded.unwrap_or(&empty);
    let paths: BTreeSet<&FieldPath> = desired
        .fields
        .keys()
        .chain(recorded_or_empty.fields.keys())
        .collect();
    let rules = kind.rules();
    let mut out = Vec::new();
    for path in paths {
        let d = desired.fields.get(path);
        let r = recorded_or_empty.fields.get(path);
        let default = rules.default_of(path.as_str()).map(Leaf::Value);
        let l = live.fields.get(path).or(default.as_ref());
        let change = match d {
            Some(Leaf::Sensitive(fd)) => match (l, r) {
                (Some(Leaf::Sensitive(_)), Some(Leaf::Sensitive(fr))) if fd == fr => None,
                (Some(Leaf::Sensitive(_)), _) => Some(Reason::ManifestChange),
                _ => Some(if r == d {
                    Reason::Drift
                } else {
                    Reason::ManifestChange
                }),
            },
            Some(Leaf::KnownAfterApply) => Some(Reason::ManifestChange),
            Some(want) => (l != Some(want)).then(|| {
                if r == Some(want) {
                    Reason::Drift
                } else {
                    Reason::ManifestChange
                }
            }),
            // Removed from the manifest since the last apply: reset unless AWS already has
            // the default (or nothing).
            None => (l.is_some() && l != default.as_ref()).then_some(Reason::ManifestChange),
        };
        if let Some(reason) = change {
            let replaced = (rules.replaces)(path.as_str(), desired, live);
            let cannot_clear = d.is_none() && !rules.reset_of(path, desired).in_place();
            out.push(FieldChange {
                path: path.clone(),
                before: l.cloned(),
                after: d.cloned().or(default.clone()),
                reason,
                forces_replacement: replaced || cannot_clear,
            });
        }
    }
    out
}

/// The field to clear for a removed path: its nearest ancestor outside a keyed list (the
/// list's block is re-sent whole, so its parent is named).
pub fn clear_path(path: &FieldPath) -> FieldPath {
    path.outside_lists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flat(v: Value) -> Flat {
        Flat::of(Kind::Connection, &v)
    }

    #[test]
    fn parameters_compare_by_key_and_tags_as_maps() {
        let a = flat(
            json!({"p": {"headerParameters": [{"key": "A", "value": "1"}, {"key": "B", "value": "2"}]}, "tags": {"x": "1", "y": "2"}}),
        );
        let b = flat(
            json!({"p": {"headerParameters": [{"key": "B", "value": "2"}, {"key": "A", "value": "1"}]}, "tags": {"y": "2", "x": "1"}}),
        );
        assert!(diff(Kind::Connection, &a, Some(&a), &b).is_empty());
        assert_eq!(
            a.fields.keys().collect::<Vec<_>>(),
            [
                "p.headerParameters[A].value",
                "p.headerParameters[B].value",
                "tags.x",
                "tags.y"
            ]
        );
    }

    #[test]
    fn a_field_never_written_is_left_alone_and_a_removed_one_is_reset() {
        let desired = flat(json!({"url": "https://a"}));
        let recorded = flat(json!({"url": "https://a", "loggingRole": "arn:role/x"}));
        let live = flat(
            json!({"url": "https://a", "loggingRole": "arn:role/x", "securityPolicyName": "P"}),
        );
        let changes = diff(Kind::Connector, &desired, Some(&recorded), &live);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path, "loggingRole");
        assert_eq!(changes[0].after, None);
    }

    #[test]
    fn drift_is_told_apart_from_a_manifest_change() {
        let desired = flat(json!({"description": "a", "httpMethod": "POST"}));
        let recorded = flat(json!({"description": "a", "httpMethod": "GET"}));
        let live = flat(json!({"description": "changed by hand", "httpMethod": "GET"}));
        let changes = diff(Kind::ApiDestination, &desired, Some(&recorded), &live);
        let reasons: Vec<_> = changes
            .iter()
            .map(|c| (c.path.as_str(), c.reason))
            .collect();
        assert_eq!(
            reasons,
            [
                ("description", Reason::Drift),
                ("httpMethod", Reason::ManifestChange)
            ]
        );
    }

    #[test]
    fn server_defaults_are_not_a_change() {
        let connector = flat(json!({"sftpConfig": {"maxConcurrentConnections": 1}}));
        assert!(diff(Kind::Connector, &connector, None, &flat(json!({}))).is_empty());
        let destination = flat(json!({"invocationRateLimitPerSecond": 300}));
        assert!(diff(Kind::ApiDestination, &destination, None, &flat(json!({}))).is_empty());
        let changed = flat(json!({"invocationRateLimitPerSecond": 20}));
        assert_eq!(
            diff(Kind::ApiDestination, &changed, None, &flat(json!({}))).len(),
            1
        );
    }

    #[test]
    fn secrets_change_by_fingerprint_only() {
        const KEY: &str = "authParameters.apiKeyAuthParameters.apiKeyValue";
        let spec =
            |v: Value| json!({"authParameters": {"apiKeyAuthParameters": {"apiKeyValue": v}}});
        let fp = |v: &str| BTreeMap::from([(FieldPath::parse(KEY), v.to_owned())]);
        let reference = || spec(json!({"fromEnv": "X"}));
        let desired = flat(reference()).with_fingerprints(&fp("one"));
        let live = flat(spec(json!({"$sensitive": true})));
        let same = flat(reference()).with_fingerprints(&fp("one"));
        let other = flat(reference()).with_fingerprints(&fp("two"));
        assert!(diff(Kind::Connection, &desired, Some(&same), &live).is_empty());
        let changes = diff(Kind::Connection, &desired, Some(&other), &live);
        assert_eq!(changes.len(), 1);
        assert_eq!(
            changes[0].after.as_ref().unwrap().to_string(),
            "(sensitive)"
        );
    }

    /// Secrecy is decided by the kind's secret slots, not by key names in data: a connector
    /// tag named `fromEnv` used to make all its tags one secret, hiding every tag change.
    #[test]
    fn a_tag_named_like_a_secret_reference_is_a_tag() {
        let connector = |v: &str| {
            Flat::of(
                Kind::Connector,
                &json!({"tags": {"fromEnv": v, "team": "a"}}),
            )
        };
        let changes = diff(Kind::Connector, &connector("x"), None, &connector("y"));
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].path, "tags.fromEnv");
        assert_eq!(changes[0].after, Some(Leaf::Value("x".into())));
    }
}
