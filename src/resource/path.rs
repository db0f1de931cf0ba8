//! [`FieldPath`]: where a field sits in a spec, one type for the two ways outbound writes it:
//! the dotted display path (`authParameters.invocationHttpParameters.headerParameters[X-Env].value`,
//! `tags.team`) that plans, fingerprints and people use, and the JSON pointer
//! (`/spec/authParameters/invocationHttpParameters/headerParameters/0/value`) that manifests,
//! resolved secrets and `clear` use. Every conversion between the two lives here.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// An object member.
    Field(String),
    /// An item of a list of `{key, value}`: known by its key (display) and its index
    /// (pointer). A path read from a pointer has no key, one read from a display path no
    /// index.
    Item {
        key: Option<String>,
        index: Option<usize>,
    },
}

/// A field's path in a spec. Equal, ordered and hashed by its display form (so a path read
/// back from the state equals the one a spec is flattened into, and maps keep the order they
/// had as strings); serialized as the display form.
#[derive(Debug, Clone)]
pub struct FieldPath {
    dotted: String,
    segments: Vec<Segment>,
}

impl FieldPath {
    /// The path of the spec itself (no segment).
    pub fn root() -> Self {
        FieldPath {
            dotted: String::new(),
            segments: Vec::new(),
        }
    }

    /// A line of a plan where no single field applies (`authParameters (secrets, modified
    /// outside outbound)`): shown as it is, never a pointer.
    pub fn label(text: &str) -> Self {
        FieldPath {
            dotted: text.to_owned(),
            segments: vec![Segment::Field(text.to_owned())],
        }
    }

    fn from_segments(segments: Vec<Segment>) -> Self {
        let mut dotted = String::new();
        for s in &segments {
            match s {
                Segment::Field(f) => {
                    if !dotted.is_empty() {
                        dotted.push('.');
                    }
                    dotted.push_str(f);
                }
                Segment::Item { key, index } => {
                    dotted.push('[');
                    match (key, index) {
                        (Some(k), _) => dotted.push_str(k),
                        (None, Some(i)) => dotted.push_str(&i.to_string()),
                        (None, None) => {}
                    }
                    dotted.push(']');
                }
            }
        }
        FieldPath { dotted, segments }
    }

    /// This path and then the member `field`.
    pub fn field(&self, field: &str) -> Self {
        let mut segments = self.segments.clone();
        segments.push(Segment::Field(field.to_owned()));
        FieldPath::from_segments(segments)
    }

    /// This path and then the list item at `index` whose key is `key`.
    pub fn item(&self, key: &str, index: usize) -> Self {
        let mut segments = self.segments.clone();
        segments.push(Segment::Item {
            key: Some(key.to_owned()),
            index: Some(index),
        });
        FieldPath::from_segments(segments)
    }

    /// Reads a display path (`a.b[key].c`). List keys may hold `.` and nested brackets.
    pub fn parse(dotted: &str) -> Self {
        let mut segments = Vec::new();
        let mut field = String::new();
        let mut key = String::new();
        let mut depth = 0usize;
        for ch in dotted.chars() {
            match ch {
                '[' if depth == 0 => {
                    if !field.is_empty() {
                        segments.push(Segment::Field(std::mem::take(&mut field)));
                    }
                    depth = 1;
                }
                '[' => {
                    depth += 1;
                    key.push(ch);
                }
                ']' if depth == 1 => {
                    depth = 0;
                    segments.push(Segment::Item {
                        key: Some(std::mem::take(&mut key)),
                        index: None,
                    });
                }
                ']' if depth > 1 => {
                    depth -= 1;
                    key.push(ch);
                }
                '.' if depth == 0 => {
                    if !field.is_empty() {
                        segments.push(Segment::Field(std::mem::take(&mut field)));
                    }
                }
                c if depth == 0 => field.push(c),
                c => key.push(c),
            }
        }
        if !field.is_empty() {
            segments.push(Segment::Field(field));
        }
        // The text as given stays the identity, whatever the segments made of it.
        FieldPath {
            dotted: dotted.to_owned(),
            segments,
        }
    }

    /// Reads a JSON pointer into a spec (`/spec/a/b/0/c`): numbers are list items.
    pub fn from_pointer(pointer: &str) -> Self {
        let segments = pointer
            .strip_prefix("/spec")
            .unwrap_or(pointer)
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| match s.parse::<usize>() {
                Ok(index) if s.bytes().all(|b| b.is_ascii_digit()) => Segment::Item {
                    key: None,
                    index: Some(index),
                },
                _ => Segment::Field(s.replace("~1", "/").replace("~0", "~")),
            })
            .collect();
        FieldPath::from_segments(segments)
    }

    /// The display form: `a.b[key].c`.
    pub fn as_str(&self) -> &str {
        &self.dotted
    }

    /// The JSON pointer into the document (`/spec/…`); an item whose index is not known (a
    /// path read from its display form) is written by its key.
    pub fn pointer(&self) -> String {
        let mut out = String::from("/spec");
        for s in &self.segments {
            out.push('/');
            match s {
                Segment::Field(f) => out.push_str(&f.replace('~', "~0").replace('/', "~1")),
                Segment::Item { index: Some(i), .. } => out.push_str(&i.to_string()),
                Segment::Item {
                    key: Some(k),
                    index: None,
                } => out.push_str(&k.replace('~', "~0").replace('/', "~1")),
                Segment::Item {
                    key: None,
                    index: None,
                } => {}
            }
        }
        out
    }

    /// The display form without list items: `a.b[k].c` -> `a.b.c`, `/spec/a/0/c` -> `a.c`;
    /// what a kind's rules are keyed by.
    pub fn unkeyed(&self) -> String {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Field(f) => Some(f.as_str()),
                Segment::Item { .. } => None,
            })
            .collect::<Vec<_>>()
            .join(".")
    }

    /// Whether this path is `prefix` (a display path) or lies under it.
    pub fn is_under(&self, prefix: &str) -> bool {
        is_under(&self.dotted, prefix)
    }

    /// The key of a tag (`tags.KEY`).
    pub fn tag_key(&self) -> Option<&str> {
        self.dotted.strip_prefix("tags.")
    }

    /// Whether any segment is a list item.
    pub fn in_list(&self) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Item { .. }))
    }

    /// The nearest ancestor outside a keyed list: the path itself when it is in none, else
    /// the parent of the list (a list's block is re-sent whole).
    pub fn outside_lists(&self) -> Self {
        match self
            .segments
            .iter()
            .position(|s| matches!(s, Segment::Item { .. }))
        {
            None => self.clone(),
            Some(i) => FieldPath::from_segments(self.segments[..i.saturating_sub(1)].to_vec()),
        }
    }
}

/// Whether the display path `path` is `prefix` or lies under it.
pub fn is_under(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.dotted)
    }
}

impl PartialEq for FieldPath {
    fn eq(&self, other: &Self) -> bool {
        self.dotted == other.dotted
    }
}

impl Eq for FieldPath {}

impl PartialOrd for FieldPath {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FieldPath {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.dotted.cmp(&other.dotted)
    }
}

impl std::hash::Hash for FieldPath {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.dotted.hash(state);
    }
}

/// Maps keyed by path are looked up by display path (`fields.get("connectionState")`).
impl Borrow<str> for FieldPath {
    fn borrow(&self) -> &str {
        &self.dotted
    }
}

impl PartialEq<str> for FieldPath {
    fn eq(&self, other: &str) -> bool {
        self.dotted == other
    }
}

impl PartialEq<&str> for FieldPath {
    fn eq(&self, other: &&str) -> bool {
        self.dotted == *other
    }
}

impl Serialize for FieldPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.dotted)
    }
}

impl<'de> Deserialize<'de> for FieldPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(FieldPath::parse(&String::deserialize(d)?))
    }
}

/// A list of paths serialized as JSON pointers (`clear` in a saved plan).
pub mod as_pointers {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::FieldPath;

    pub fn serialize<S: Serializer>(paths: &[FieldPath], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(paths.iter().map(FieldPath::pointer))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<FieldPath>, D::Error> {
        let pointers = Vec::<String>::deserialize(d)?;
        Ok(pointers
            .iter()
            .map(|p| FieldPath::from_pointer(p))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flattened_path_renders_both_forms() {
        let p = FieldPath::root()
            .field("authParameters")
            .field("invocationHttpParameters")
            .field("headerParameters")
            .item("X-a.b", 1)
            .field("value");
        assert_eq!(
            p.to_string(),
            "authParameters.invocationHttpParameters.headerParameters[X-a.b].value"
        );
        assert_eq!(
            p.pointer(),
            "/spec/authParameters/invocationHttpParameters/headerParameters/1/value"
        );
        assert_eq!(
            p.unkeyed(),
            "authParameters.invocationHttpParameters.headerParameters.value"
        );
        assert_eq!(
            p.outside_lists().pointer(),
            "/spec/authParameters/invocationHttpParameters"
        );
        assert_eq!(FieldPath::root().field("a/b~").pointer(), "/spec/a~1b~0");
    }

    #[test]
    fn a_path_read_back_equals_the_flattened_one() {
        let flat = FieldPath::root().field("p").item("X-a.b", 3).field("value");
        let read = FieldPath::parse("p[X-a.b].value");
        assert_eq!(flat, read);
        assert_eq!(read.unkeyed(), "p.value");
        let tag = FieldPath::parse("tags.team");
        assert_eq!(tag.tag_key(), Some("team"));
        assert!(tag.is_under("tags"));
        assert!(!FieldPath::parse("descriptionX").is_under("description"));
        assert!(FieldPath::parse("a.b[k].c").is_under("a.b"));
        let json = serde_json::to_string(&read).unwrap();
        assert_eq!(json, "\"p[X-a.b].value\"");
    }

    #[test]
    fn a_pointer_reads_as_its_unkeyed_path() {
        let p = FieldPath::from_pointer(
            "/spec/authParameters/invocationHttpParameters/headerParameters/0",
        );
        assert_eq!(
            p.unkeyed(),
            "authParameters.invocationHttpParameters.headerParameters"
        );
        assert_eq!(
            p.pointer(),
            "/spec/authParameters/invocationHttpParameters/headerParameters/0"
        );
        assert_eq!(
            FieldPath::from_pointer("/spec/tags/a~1b").unkeyed(),
            "tags.a/b"
        );
        assert_eq!(
            FieldPath::from_pointer("/spec/tags/a~1b").pointer(),
            "/spec/tags/a~1b"
        );
    }
}
