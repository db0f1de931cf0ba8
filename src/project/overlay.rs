//! An environment's overlay documents merged into the shared ones (SPEC §7): maps key by
//! key, lists outbound compares by key (`{key, ...}` items, as `diff` does) by key, other
//! lists and scalars replaced, `null` removes a field. Plain data in, plain data out; every
//! field an overlay set is recorded, so a problem in it names the overlay's file and line.

use serde_json::Value;

/// Where, in the merged document, an overlay placed a value, and where it is in the overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub merged: String,
    pub overlay: String,
}

/// Merges `overlay` into `base` (both whole documents); returns the fields the overlay set.
pub fn merge(base: &mut Value, overlay: &Value) -> Vec<Placed> {
    let mut placed = Vec::new();
    merge_at(base, overlay, "", "", &mut placed);
    placed
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn merge_at(base: &mut Value, overlay: &Value, at: &str, from: &str, placed: &mut Vec<Placed>) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            for (key, value) in o {
                let (here, there) = (
                    format!("{at}/{}", escape(key)),
                    format!("{from}/{}", escape(key)),
                );
                match (b.get_mut(key), value) {
                    (_, Value::Null) => {
                        b.remove(key);
                    }
                    (Some(existing), _) => merge_at(existing, value, &here, &there, placed),
                    (None, _) => {
                        b.insert(key.clone(), value.clone());
                        placed.push(Placed {
                            merged: here,
                            overlay: there,
                        });
                    }
                }
            }
        }
        (Value::Array(b), Value::Array(o)) if keyed(b) && keyed(o) => {
            for (i, item) in o.iter().enumerate() {
                let there = format!("{from}/{i}");
                let key = &item["key"];
                let found = b.iter().position(|x| &x["key"] == key);
                let absent = item.get("absent") == Some(&Value::Bool(true));
                match (found, absent) {
                    (Some(j), true) => {
                        b.remove(j);
                    }
                    (None, true) => {}
                    (Some(j), false) => {
                        merge_at(&mut b[j], item, &format!("{at}/{j}"), &there, placed)
                    }
                    (None, false) => {
                        placed.push(Placed {
                            merged: format!("{at}/{}", b.len()),
                            overlay: there,
                        });
                        b.push(item.clone());
                    }
                }
            }
        }
        (b, o) => {
            *b = o.clone();
            placed.push(Placed {
                merged: at.to_owned(),
                overlay: from.to_owned(),
            });
        }
    }
}

/// A list of `{key, ...}` items, which outbound compares (and merges) by key.
fn keyed(items: &[Value]) -> bool {
    !items.is_empty()
        && items
            .iter()
            .all(|i| i.get("key").is_some_and(Value::is_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(base: Value, overlay: Value) -> (Value, Vec<(String, String)>) {
        let mut base = base;
        let placed = merge(&mut base, &overlay);
        (
            base,
            placed.into_iter().map(|p| (p.merged, p.overlay)).collect(),
        )
    }

    #[test]
    fn maps_merge_key_by_key_and_scalars_are_replaced() {
        let (doc, placed) = merged(
            json!({"spec": {"url": "https://a", "as2Config": {"compression": "ZLIB", "messageSubject": "x"}}}),
            json!({"spec": {"as2Config": {"compression": "DISABLED"}, "loggingRole": "r"}}),
        );
        assert_eq!(
            doc,
            json!({"spec": {"url": "https://a", "loggingRole": "r", "as2Config": {"compression": "DISABLED", "messageSubject": "x"}}})
        );
        assert_eq!(
            placed,
            vec![
                (
                    "/spec/as2Config/compression".into(),
                    "/spec/as2Config/compression".into()
                ),
                ("/spec/loggingRole".into(), "/spec/loggingRole".into()),
            ]
        );
    }

    #[test]
    fn tags_merge_as_maps() {
        let (doc, _) = merged(
            json!({"spec": {"tags": {"team": "edi", "cost": "1"}}}),
            json!({"spec": {"tags": {"cost": "2", "env": "prod"}}}),
        );
        assert_eq!(
            doc,
            json!({"spec": {"tags": {"team": "edi", "cost": "2", "env": "prod"}}})
        );
    }

    #[test]
    fn keyed_lists_merge_by_key_and_record_the_overlay_index() {
        let (doc, placed) = merged(
            json!({"p": [{"key": "A", "value": "1"}, {"key": "B", "value": "2"}, {"key": "C", "value": "3"}]}),
            json!({"p": [{"key": "D", "value": "4"}, {"key": "B", "value": "20"}, {"key": "C", "absent": true}]}),
        );
        assert_eq!(
            doc,
            json!({"p": [{"key": "A", "value": "1"}, {"key": "B", "value": "20"}, {"key": "D", "value": "4"}]})
        );
        assert_eq!(
            placed,
            vec![
                ("/p/3".into(), "/p/0".into()),
                ("/p/1/key".into(), "/p/1/key".into()),
                ("/p/1/value".into(), "/p/1/value".into()),
            ]
        );
    }

    #[test]
    fn other_lists_are_replaced_whole() {
        let (doc, placed) = merged(
            json!({"spec": {"trustedHostKeys": ["a", "b"]}}),
            json!({"spec": {"trustedHostKeys": ["c"]}}),
        );
        assert_eq!(doc, json!({"spec": {"trustedHostKeys": ["c"]}}));
        assert_eq!(
            placed,
            vec![(
                "/spec/trustedHostKeys".into(),
                "/spec/trustedHostKeys".into()
            )]
        );
    }

    #[test]
    fn null_removes_a_field() {
        let (doc, placed) = merged(
            json!({"spec": {"description": "d", "loggingRole": "r"}}),
            json!({"spec": {"loggingRole": null, "nothing": null}}),
        );
        assert_eq!(doc, json!({"spec": {"description": "d"}}));
        assert!(placed.is_empty());
    }

    #[test]
    fn a_type_change_replaces() {
        let (doc, _) = merged(json!({"a": {"b": 1}}), json!({"a": "s"}));
        assert_eq!(doc, json!({"a": "s"}));
    }
}
