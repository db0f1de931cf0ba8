//! Long or multi-line values (descriptions, body parameters, trusted host keys, endpoints)
//! compared by line or by word, so a reviewer sees what changed instead of two whole values
//! side by side. Short values are left to `before -> after`. Pure: text and Markdown render
//! the [`Comparison`] each in its own way.

use serde_json::Value;
use similar::{Algorithm, ChangeTag, TextDiff};

use crate::diff::Leaf;

/// Longer than this (in characters, on either side), a one-line value is compared by word.
const SHORT: usize = 60;
/// Unchanged lines shown around a changed one.
const CONTEXT_LINES: usize = 2;
/// Unchanged text longer than this, inside a word comparison, is shortened to its ends.
const LONG_RUN: usize = 60;
/// What is kept of each end of a shortened run.
const RUN_END: usize = 24;

/// How a changed value is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// One line: unchanged text and the words changed in it.
    Words(Vec<Segment>),
    /// Several lines (a multi-line string, a list): the changed ones, with some context;
    /// `None` stands for unchanged lines left out.
    Lines(Vec<Option<Line>>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Same(String),
    Changed { removed: String, added: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub tag: ChangeTag,
    pub text: String,
}

/// The comparison of two values, or `None` when `before -> after` reads well enough: short
/// one-line values, values that are not text, and a side that is unset or sensitive.
pub fn compare(before: Option<&Leaf>, after: Option<&Leaf>) -> Option<Comparison> {
    let (Some(Leaf::Value(before)), Some(Leaf::Value(after))) = (before, after) else {
        return None;
    };
    let (old, new) = (lines(before)?, lines(after)?);
    let multi = old.len() > 1 || new.len() > 1 || before.is_array() || after.is_array();
    if multi {
        return Some(Comparison::Lines(line_diff(&old, &new)));
    }
    let (old, new) = (old.concat(), new.concat());
    if old.chars().count() <= SHORT && new.chars().count() <= SHORT {
        return None;
    }
    Some(Comparison::Words(word_diff(&old, &new)))
}

/// A value as lines of text: a string by its line breaks, a list one item a line; other
/// values are not compared.
fn lines(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(s.split('\n').map(str::to_owned).collect()),
        Value::Array(items) => Some(
            items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.replace('\n', "\\n"),
                    other => other.to_string(),
                })
                .collect(),
        ),
        _ => None,
    }
}

fn line_diff(old: &[String], new: &[String]) -> Vec<Option<Line>> {
    let old: Vec<&str> = old.iter().map(String::as_str).collect();
    let new: Vec<&str> = new.iter().map(String::as_str).collect();
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .diff_slices(&old, &new);
    let groups = diff.grouped_ops(CONTEXT_LINES);
    let last = old.len().max(new.len());
    let mut out = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        let starts_late = group
            .first()
            .is_some_and(|op| op.old_range().start > 0 || op.new_range().start > 0);
        if i > 0 || starts_late {
            out.push(None);
        }
        for op in group {
            for change in diff.iter_changes(op) {
                out.push(Some(Line {
                    tag: change.tag(),
                    text: change.value().to_owned(),
                }));
            }
        }
    }
    let ends_early = groups
        .last()
        .and_then(|g| g.last())
        .is_some_and(|op| op.old_range().end.max(op.new_range().end) < last);
    if ends_early {
        out.push(None);
    }
    out
}

/// Words are runs of letters and digits; every other character is a word of its own, so a
/// URL or a path is compared by its parts.
fn words(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_word = false;
    for (i, c) in s.char_indices() {
        let alnum = c.is_alphanumeric();
        if i > start && !(alnum && in_word) {
            out.push(&s[start..i]);
            start = i;
        }
        in_word = alnum;
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

fn word_diff(old: &str, new: &str) -> Vec<Segment> {
    let (old, new) = (words(old), words(new));
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .diff_slices(&old, &new);
    let mut segments: Vec<Segment> = Vec::new();
    for change in diff.iter_all_changes() {
        let text = change.value();
        match (change.tag(), segments.last_mut()) {
            (ChangeTag::Equal, Some(Segment::Same(s))) => s.push_str(text),
            (ChangeTag::Equal, _) => segments.push(Segment::Same(text.to_owned())),
            (tag, Some(Segment::Changed { removed, added })) => {
                if tag == ChangeTag::Delete {
                    removed
                } else {
                    added
                }
                .push_str(text);
            }
            (tag, _) => {
                let (removed, added) = if tag == ChangeTag::Delete {
                    (text.to_owned(), String::new())
                } else {
                    (String::new(), text.to_owned())
                };
                segments.push(Segment::Changed { removed, added });
            }
        }
    }
    shorten(merge_small_gaps(segments))
}

/// `[-a-]{+b+} [-c-]{+d+}` reads worse than `[-a c-]{+b d+}`: a gap of one or two unchanged
/// characters between two changes joins them.
fn merge_small_gaps(segments: Vec<Segment>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let mut iter = segments.into_iter().peekable();
    while let Some(segment) = iter.next() {
        let gap = matches!(&segment, Segment::Same(s) if s.chars().count() <= 2);
        let between = gap
            && matches!(out.last(), Some(Segment::Changed { .. }))
            && matches!(iter.peek(), Some(Segment::Changed { .. }));
        if let (true, Segment::Same(s)) = (between, &segment)
            && let Some(Segment::Changed { removed, added }) = out.last_mut()
            && let Some(Segment::Changed {
                removed: r,
                added: a,
            }) = iter.next()
        {
            removed.push_str(s);
            removed.push_str(&r);
            added.push_str(s);
            added.push_str(&a);
            continue;
        }
        out.push(segment);
    }
    out
}

/// Long unchanged runs keep their ends: the start of the value, the end, and the text next
/// to each change.
fn shorten(segments: Vec<Segment>) -> Vec<Segment> {
    let count = segments.len();
    segments
        .into_iter()
        .enumerate()
        .map(|(i, segment)| match segment {
            Segment::Same(s) if s.chars().count() > LONG_RUN => {
                let chars: Vec<char> = s.chars().collect();
                let head: String = chars[..RUN_END].iter().collect();
                let tail: String = chars[chars.len() - RUN_END..].iter().collect();
                Segment::Same(match (i == 0, i + 1 == count) {
                    (true, true) => s,
                    (true, false) => format!("…{tail}"),
                    (false, true) => format!("{head}…"),
                    (false, false) => format!("{head}…{tail}"),
                })
            }
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn leaf(v: Value) -> Option<Leaf> {
        Some(Leaf::Value(v))
    }

    fn words_of(before: &str, after: &str) -> Vec<Segment> {
        match compare(leaf(json!(before)).as_ref(), leaf(json!(after)).as_ref()) {
            Some(Comparison::Words(w)) => w,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn short_values_are_not_compared() {
        assert_eq!(
            compare(leaf(json!("a")).as_ref(), leaf(json!("b")).as_ref()),
            None
        );
        assert_eq!(
            compare(leaf(json!(1)).as_ref(), leaf(json!(2)).as_ref()),
            None
        );
        let long = leaf(json!("x".repeat(100)));
        assert_eq!(compare(None, long.as_ref()), None);
        // A secret is never compared: its side shows `(sensitive)`, nothing else.
        let secret = Some(Leaf::Sensitive(Some("fingerprint".into())));
        assert_eq!(compare(long.as_ref(), secret.as_ref()), None);
        assert_eq!(compare(secret.as_ref(), long.as_ref()), None);
    }

    #[test]
    fn a_long_line_is_compared_by_word_and_a_url_by_its_parts() {
        let before = "https://api.acme.example/v2/orders/submit?tenant=eu&format=json&trace=off";
        let after = "https://api.acme.example/v3/orders/submit?tenant=eu&format=json&trace=off";
        assert_eq!(
            words_of(before, after),
            [
                Segment::Same("https://api.acme.example/".into()),
                Segment::Changed {
                    removed: "v2".into(),
                    added: "v3".into()
                },
                Segment::Same("/orders/submit?tenant=eu&format=json&trace=off".into()),
            ]
        );
    }

    #[test]
    fn close_changes_join_and_long_unchanged_runs_keep_their_ends() {
        let filler = "unchanged words that nobody needs to read again in a review ".repeat(2);
        let before = format!("{filler}old text here");
        let after = format!("{filler}new data here");
        let w = words_of(&before, &after);
        assert_eq!(
            w[1],
            Segment::Changed {
                removed: "old text".into(),
                added: "new data".into()
            }
        );
        let Segment::Same(head) = &w[0] else {
            panic!("{w:?}")
        };
        assert!(
            head.starts_with('…') && head.chars().count() == RUN_END + 1,
            "{head}"
        );
    }

    #[test]
    fn lists_and_multi_line_text_are_compared_by_line() {
        let keys = |k: &[&str]| leaf(json!(k));
        let c = compare(
            keys(&["ssh-ed25519 AAAA one", "ssh-rsa BBBB two"]).as_ref(),
            keys(&["ssh-ed25519 AAAA one", "ssh-rsa CCCC three"]).as_ref(),
        );
        let line = |tag, text: &str| {
            Some(Line {
                tag,
                text: text.into(),
            })
        };
        assert_eq!(
            c,
            Some(Comparison::Lines(vec![
                line(ChangeTag::Equal, "ssh-ed25519 AAAA one"),
                line(ChangeTag::Delete, "ssh-rsa BBBB two"),
                line(ChangeTag::Insert, "ssh-rsa CCCC three"),
            ]))
        );
        let text: Vec<String> = (1..=9).map(|i| format!("line {i}")).collect();
        let mut changed = text.clone();
        changed[4] = "line five".into();
        let c = compare(
            leaf(json!(text.join("\n"))).as_ref(),
            leaf(json!(changed.join("\n"))).as_ref(),
        );
        let Some(Comparison::Lines(lines)) = c else {
            panic!("{c:?}")
        };
        let shown: Vec<String> = lines
            .iter()
            .map(|l| {
                l.as_ref()
                    .map_or("…".into(), |l| format!("{:?} {}", l.tag, l.text))
            })
            .collect();
        assert_eq!(
            shown,
            [
                "…",
                "Equal line 3",
                "Equal line 4",
                "Delete line 5",
                "Insert line five",
                "Equal line 6",
                "Equal line 7",
                "…"
            ]
        );
    }
}
