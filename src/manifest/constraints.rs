//! Every string and number an AWS model constrains, checked offline from one table
//! ([`table::TABLE`], generated from `scripts/aws-api/` by `scripts/gen-constraints.py`): a
//! document field, or a resolved secret, that AWS would refuse at apply is refused here.
//! Messages name the AWS shape and limit and never quote the value.

mod table;

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::diag::Problem;
use crate::resource::Kind;

/// What a [`Constraint`] applies to at its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A string's length (in characters) and pattern, or an integer's range.
    Value,
    /// The number of items of a list, or of entries of a map.
    Items,
    /// The keys of a map, as strings.
    Keys,
}

/// One row of the table: a field of one kind's documents and its AWS shape's limits.
#[derive(Debug, Clone, Copy)]
pub struct Constraint {
    pub kind: Kind,
    pub target: Target,
    /// JSON pointer into the document; `*` stands for any list index or map key.
    pub path: &'static str,
    /// The AWS member the field is sent as (`service:Shape.Member`).
    pub member: &'static str,
    pub shape: &'static str,
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// The AWS pattern, matched against the whole value.
    pub pattern: Option<&'static str>,
    /// The AWS model marks the shape sensitive (it may hold a secret).
    pub sensitive: bool,
}

/// The table, with each pattern compiled once and anchored (AWS matches the whole value).
static COMPILED: LazyLock<Vec<(Constraint, Option<Regex>)>> = LazyLock::new(|| {
    table::TABLE
        .iter()
        .map(|c| {
            let re = c.pattern.map(|p| {
                // The patterns come from the AWS models, and a unit test compiles each one.
                Regex::new(&format!("^(?:{p})$"))
                    .unwrap_or_else(|e| panic!("AWS pattern of {} does not compile: {e}", c.shape))
            });
            (*c, re)
        })
        .collect()
});

/// Every AWS constraint that `doc`, a document of `kind`, breaks. Values of the wrong type
/// are left to the schema.
pub fn check(kind: Kind, doc: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    for (c, re) in COMPILED.iter().filter(|(c, _)| c.kind == kind) {
        let segments: Vec<&str> = c.path.split('/').skip(1).collect();
        let mut found = Vec::new();
        find(doc, &segments, String::new(), &mut found);
        for (pointer, value) in found {
            match c.target {
                Target::Value => match value {
                    Value::String(s) => out
                        .extend(check_str(c, re.as_ref(), s, c.sensitive).map(|p| p.at(&pointer))),
                    Value::Number(n) => out.extend(check_number(c, n, &pointer)),
                    _ => {}
                },
                Target::Items => {
                    let n = match value {
                        Value::Array(a) => a.len(),
                        Value::Object(o) => o.len(),
                        _ => continue,
                    };
                    out.extend(check_count(c, n, &pointer));
                }
                Target::Keys => {
                    let Value::Object(o) = value else { continue };
                    for key in o.keys() {
                        let at = format!("{pointer}/{}", escape(key));
                        out.extend(check_str(c, re.as_ref(), key, false).map(|p| p.at(&at)));
                    }
                }
            }
        }
    }
    out
}

/// Why the resolved secret at `pointer` (in a document of `kind`) breaks its AWS constraint,
/// if it does; never quotes the value.
pub fn check_secret(kind: Kind, pointer: &str, value: &str) -> Option<String> {
    let (c, re) = COMPILED
        .iter()
        .find(|(c, _)| c.kind == kind && c.target == Target::Value && matches(c.path, pointer))?;
    check_str(c, re.as_ref(), value, true).map(|p| p.message)
}

/// The values at `segments` under `node` (`*` matches every item or entry), with pointers.
fn find<'a>(
    node: &'a Value,
    segments: &[&str],
    pointer: String,
    out: &mut Vec<(String, &'a Value)>,
) {
    let Some((first, rest)) = segments.split_first() else {
        out.push((pointer, node));
        return;
    };
    match (node, *first) {
        (Value::Object(o), "*") => {
            for (k, v) in o {
                find(v, rest, format!("{pointer}/{}", escape(k)), out);
            }
        }
        (Value::Array(a), "*") => {
            for (i, v) in a.iter().enumerate() {
                find(v, rest, format!("{pointer}/{i}"), out);
            }
        }
        (Value::Object(o), key) => {
            if let Some(v) = o.get(key) {
                find(v, rest, format!("{pointer}/{key}"), out);
            }
        }
        _ => {}
    }
}

/// Whether the concrete `pointer` is one the table `path` names.
fn matches(path: &str, pointer: &str) -> bool {
    let (mut p, mut q) = (path.split('/'), pointer.split('/'));
    loop {
        match (p.next(), q.next()) {
            (None, None) => return true,
            (Some("*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// A problem without its pointer yet (the caller knows where the value sits).
struct Unplaced {
    message: String,
    hint: Option<String>,
}

impl Unplaced {
    fn at(self, pointer: &str) -> Problem {
        Problem::new(pointer, self.message).hint_opt(self.hint)
    }
}

fn check_str(c: &Constraint, re: Option<&Regex>, s: &str, secret: bool) -> Option<Unplaced> {
    let len = s.chars().count() as i64;
    let what = if secret { "the value" } else { "it" };
    if let Some(min) = c.min.filter(|m| len < *m) {
        return Some(Unplaced {
            message: format!(
                "AWS needs at least {min} characters here ({}), {what} has {len}",
                c.shape
            ),
            hint: None,
        });
    }
    if let Some(max) = c.max.filter(|m| len > *m) {
        return Some(Unplaced {
            message: format!(
                "AWS accepts at most {max} characters here ({}), {what} has {len}",
                c.shape
            ),
            hint: None,
        });
    }
    let re = re?;
    if re.is_match(s) {
        return None;
    }
    // Say which character is refused, when one alone is (a secret's is not located).
    let hint = if secret { None } else { first_refused(re, s) };
    Some(Unplaced {
        message: format!(
            "{} characters AWS does not accept here ({}, pattern `{}`)",
            if secret { "the value has" } else { "has" },
            c.shape,
            c.pattern.unwrap_or_default()
        ),
        hint,
    })
}

/// "character N is a line break": the first character whose removal makes `s` match.
fn first_refused(re: &Regex, s: &str) -> Option<String> {
    for (n, (i, ch)) in s.char_indices().enumerate() {
        if ch.is_ascii() && !ch.is_control() {
            continue;
        }
        let without = format!("{}{}", &s[..i], &s[i + ch.len_utf8()..]);
        if re.is_match(&without) {
            let name = match ch {
                '\n' => "a line break".to_owned(),
                '\r' => "a carriage return".to_owned(),
                '\t' => "a tab".to_owned(),
                c => format!("U+{:04X}", u32::from(c)),
            };
            let fix = if ch == '\n' {
                ": AWS takes one line here (a YAML `|` or `>` block ends with a line break, \
                 `|-` and `>-` do not)"
            } else {
                ""
            };
            return Some(format!("character {} is {name}{fix}", n + 1));
        }
    }
    None
}

fn check_number(c: &Constraint, n: &serde_json::Number, pointer: &str) -> Option<Problem> {
    // A fraction or an out-of-range number is the schema's to report (it is not an integer).
    let v = n.as_i64()?;
    if let Some(min) = c.min.filter(|m| v < *m) {
        return Some(Problem::new(
            pointer,
            format!("AWS needs at least {min} here ({})", c.shape),
        ));
    }
    if let Some(max) = c.max.filter(|m| v > *m) {
        return Some(Problem::new(
            pointer,
            format!("AWS accepts at most {max} here ({})", c.shape),
        ));
    }
    None
}

fn check_count(c: &Constraint, n: usize, pointer: &str) -> Option<Problem> {
    let n = n as i64;
    if let Some(min) = c.min.filter(|m| n < *m) {
        return Some(Problem::new(
            pointer,
            format!(
                "AWS needs at least {min} items here ({}), this has {n}",
                c.shape
            ),
        ));
    }
    if let Some(max) = c.max.filter(|m| n > *m) {
        return Some(Problem::new(
            pointer,
            format!(
                "AWS accepts at most {max} items here ({}), this has {n}",
                c.shape
            ),
        ));
    }
    None
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_pattern_of_the_table_compiles() {
        assert_eq!(COMPILED.len(), table::TABLE.len());
        assert!(table::TABLE.len() >= 45, "{} rows", table::TABLE.len());
    }

    #[test]
    fn a_description_with_a_line_break_is_refused_and_the_character_named() {
        let doc = json!({"spec": {"description": "Orders\nAPI"}});
        let problems = check(Kind::Connection, &doc);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].pointer, "/spec/description");
        assert!(problems[0].message.contains("ConnectionDescription"));
        assert_eq!(
            problems[0]
                .hint
                .as_deref()
                .map(|h| h.starts_with("character 7 is a line break")),
            Some(true),
            "{problems:?}"
        );
    }

    #[test]
    fn wildcards_reach_list_items_and_map_keys_and_values() {
        let long = "k".repeat(129);
        let doc = json!({"spec": {
            "tags": {long.clone(): "v", "ok": "v".repeat(257)},
            "as2Config": {"asyncMdnConfig": {"serverIds": ["s-0123456789abcdef0", "bad"]}},
        }});
        let mut pointers: Vec<String> = check(Kind::Connector, &doc)
            .into_iter()
            .map(|p| p.pointer)
            .collect();
        pointers.sort();
        assert_eq!(
            pointers,
            [
                "/spec/as2Config/asyncMdnConfig/serverIds/1".to_owned(),
                format!("/spec/tags/{long}"),
                "/spec/tags/ok".to_owned(),
            ]
        );
    }

    #[test]
    fn numbers_are_checked_against_their_range() {
        let doc = json!({"spec": {"egressConfig": {"vpcLattice": {"portNumber": 70000}}}});
        let problems = check(Kind::Connector, &doc);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("at most 65535"));
    }

    #[test]
    fn a_secret_is_checked_by_its_pointer_and_never_quoted() {
        let pointer = "/spec/authParameters/invocationHttpParameters/headerParameters/3/value";
        let why = check_secret(Kind::Connection, pointer, "CANARY\u{7}").unwrap();
        assert!(!why.contains("CANARY"), "{why}");
        assert!(check_secret(Kind::Connection, pointer, "fine value").is_none());
        // Body parameters are not constrained by AWS.
        let body = "/spec/authParameters/invocationHttpParameters/bodyParameters/0/value";
        assert!(check_secret(Kind::Connection, body, "any\nthing").is_none());
    }

    #[test]
    fn values_of_another_type_are_left_to_the_schema() {
        let doc = json!({"spec": {"description": 5, "url": ["x"]}});
        assert!(check(Kind::Connection, &doc).is_empty());
        assert!(check(Kind::Connector, &doc).is_empty());
    }
}
