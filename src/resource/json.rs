//! A spec in manifest shape held as its compact JSON text: how the state's records, the
//! observed resources and the plan's changes keep their specs in memory.
//!
//! A `serde_json::Value` object is a `BTreeMap` whose every node holds room for eleven
//! entries: a connection's spec of a few hundred bytes takes about 4 KB as a tree, and at
//! account-quota scale the three copies (recorded, observed, planned) of 6,000 specs were
//! most of a plan's peak memory (docs/benchmarks.md). As text it takes its own length; the
//! few readers parse it when they need the tree. Serialized, it is the same JSON value as
//! before (state files, saved plans and output are unchanged); equality is that of the
//! values, since `serde_json` writes a `Value` in one canonical way (keys sorted).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

#[derive(Clone, PartialEq, Eq)]
pub struct SpecJson(Box<str>);

impl SpecJson {
    pub fn new(value: &Value) -> Self {
        SpecJson(value.to_string().into_boxed_str())
    }

    /// The spec as a JSON tree.
    pub fn value(&self) -> Value {
        // The text is what `Value`'s `Display` wrote, which always parses back.
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }

    /// The spec as the typed spec of its kind.
    pub fn typed<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.0)
    }

    /// The spec as a JSON tree without the fields that are not attributes of the resource
    /// in AWS ([`super::strip_references`]).
    pub fn without_references(&self) -> Value {
        super::strip_references(self.value())
    }

    /// One top-level field, parsed.
    pub fn get(&self, key: &str) -> Option<Value> {
        match self.value() {
            Value::Object(mut o) => o.remove(key),
            _ => None,
        }
    }
}

impl From<Value> for SpecJson {
    fn from(value: Value) -> Self {
        SpecJson::new(&value)
    }
}

impl PartialEq<Value> for SpecJson {
    /// Equal when the held spec is that value (tests compare live specs with `json!`).
    fn eq(&self, other: &Value) -> bool {
        self.value() == *other
    }
}

impl fmt::Debug for SpecJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for SpecJson {
    /// The compact JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for SpecJson {
    /// As the JSON value (a pretty printer lays it out as any other value).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SpecJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(SpecJson::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn holds_the_value_as_compact_text_and_serializes_it_as_the_value() {
        let value = json!({"b": {"fromEnv": "KEY"}, "a": [1, 2.5, "x"], "c": null});
        let spec = SpecJson::new(&value);
        assert_eq!(
            spec.to_string(),
            r#"{"a":[1,2.5,"x"],"b":{"fromEnv":"KEY"},"c":null}"#
        );
        assert_eq!(spec.value(), value);
        assert_eq!(spec.get("b"), Some(json!({"fromEnv": "KEY"})));
        assert_eq!(spec.get("d"), None);
        assert_eq!(
            serde_json::to_string_pretty(&spec).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
        let back: SpecJson = serde_json::from_str(
            "{ \"c\": null,\n \"b\": {\"fromEnv\": \"KEY\"}, \"a\": [1, 2.5, \"x\"] }",
        )
        .unwrap();
        assert_eq!(
            back, spec,
            "equal values, whatever the layout they were read from"
        );
    }

    #[test]
    fn an_equal_value_is_an_equal_spec_and_a_different_one_is_not() {
        let one = SpecJson::from(json!({"x": 1, "y": "z"}));
        assert_eq!(one, SpecJson::from(json!({"y": "z", "x": 1})));
        assert_ne!(one, SpecJson::from(json!({"x": 1.0, "y": "z"})));
        assert_ne!(one, SpecJson::from(json!({"x": 1})));
        assert!(one == json!({"x": 1, "y": "z"}));
    }
}
