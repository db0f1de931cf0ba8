//! What the text and Markdown plans share: how wide a line may be, how a long value is
//! wrapped (by its parts), and why a change destroys something, in the kind's words.

use crate::diff::{FieldChange, Flat, Leaf};
use crate::plan::{Action, Change, ChangeReason};
use crate::resource::rules::Reset;

/// Width of the text plan when stdout is not a terminal and `COLUMNS` is not set (a CI log).
pub const DEFAULT_WIDTH: usize = 100;
/// Narrower than this, wrapping would cut every word: the plan is laid out this wide anyway.
const MIN_WIDTH: usize = 40;

/// The width the text plan fits: `COLUMNS`, else the terminal's, else [`DEFAULT_WIDTH`].
pub fn width() -> usize {
    use std::io::IsTerminal;
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0);
    let terminal = || {
        std::io::stdout()
            .is_terminal()
            .then(terminal_size::terminal_size)
            .flatten()
            .map(|(w, _)| usize::from(w.0))
    };
    columns
        .or_else(terminal)
        .unwrap_or(DEFAULT_WIDTH)
        .max(MIN_WIDTH)
}

/// Characters after which a long value may be broken: a URL by its parts, a key list or a
/// sentence at its spaces. Never a hyphen: names (`acme-orders-api`) stay whole.
const BREAK_AFTER: &[char] = &[' ', '/', '?', '&', ',', ';', '='];

/// `text` in lines of at most `width` characters, broken after a [`BREAK_AFTER`] character
/// in the last third of a line when there is one, else exactly at `width`. Nothing is left
/// out: the lines joined are `text`.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= width {
        return vec![text.to_owned()];
    }
    let mut lines = Vec::new();
    let mut start = 0;
    while chars.len() - start > width {
        let end = start + width;
        let soft = (start + width * 2 / 3..end)
            .rev()
            .find(|i| BREAK_AFTER.contains(&chars[*i]))
            .map(|i| i + 1);
        let cut = soft.unwrap_or(end);
        lines.push(chars[start..cut].iter().collect());
        start = cut;
    }
    lines.push(chars[start..].iter().collect());
    lines
}

/// Whether the change deletes a resource in AWS or replaces it (deletes it and creates it
/// again): what a reviewer must not miss. `Forget` deletes nothing (the resource is gone).
pub fn destroys(c: &Change) -> bool {
    matches!(c.action, Action::Delete | Action::Replace)
}

/// Why a field forces its resource to be replaced, in the kind's words (its `reset` rule
/// for a removed field), else that AWS cannot change it in place.
pub fn forcing_why(c: &Change, f: &FieldChange) -> String {
    if f.after.is_none() {
        let desired = c
            .desired
            .as_ref()
            .map(|d| Flat::of(c.address.kind, &d.value()))
            .unwrap_or_default();
        if let Reset::Replace { why } = c.address.kind.rules().reset_of(&f.path, &desired) {
            return format!("removed, and {why}");
        }
        return "removed, and AWS cannot remove it in place".to_owned();
    }
    if f.before.is_none() {
        "added, and AWS cannot add it in place".to_owned()
    } else {
        "changed, and AWS cannot change it in place".to_owned()
    }
}

/// Why a change deletes or replaces its resource: the fields that force a replacement with
/// their reason, or why the resource is deleted.
pub fn destroy_reasons(c: &Change) -> Vec<(Option<String>, String)> {
    match c.action {
        Action::Replace => c
            .fields
            .iter()
            .filter(|f| f.forces_replacement)
            .map(|f| (Some(f.path.as_str().to_owned()), forcing_why(c, f)))
            .collect(),
        Action::Delete => {
            let why = if c.reasons.contains(&ChangeReason::InterruptedDelete) {
                "an interrupted apply had started deleting it"
            } else {
                "its manifest was removed"
            };
            vec![(None, why.to_owned())]
        }
        _ => Vec::new(),
    }
}

/// A secret whose value changed since the last apply: both sides are hidden, and the words
/// say what happens (`(sensitive) -> (sensitive)` read as nothing changing).
pub fn secret_sent_again(f: &FieldChange) -> bool {
    matches!(
        (&f.before, &f.after),
        (Some(Leaf::Sensitive(_)), Some(Leaf::Sensitive(_)))
    )
}

/// The words for [`secret_sent_again`].
pub const SECRET_SENT_AGAIN: &str = "the secret will be sent again";

/// The counts of drift a plan reverts: field changes made outside, and resources deleted
/// outside that it creates again.
pub fn drift_counts(changes: &[Change]) -> (usize, usize) {
    let fields = changes
        .iter()
        .flat_map(|c| &c.fields)
        .filter(|f| f.reason == crate::diff::Reason::Drift)
        .count();
    let recreates = changes
        .iter()
        .filter(|c| c.action == Action::Create && c.reasons.contains(&ChangeReason::DeletedOutside))
        .count();
    (fields, recreates)
}

/// `3 field changes and 1 re-create`, `none`.
pub fn drift_words(changes: &[Change]) -> String {
    let (fields, recreates) = drift_counts(changes);
    let mut parts = Vec::new();
    if fields > 0 {
        parts.push(super::count(fields, "field change"));
    }
    if recreates > 0 {
        let noun = if recreates == 1 {
            "1 re-create (deleted outside)".to_owned()
        } else {
            format!("{recreates} re-creates (deleted outside)")
        };
        parts.push(noun);
    }
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(" and ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_every_character_and_breaks_a_url_by_its_parts() {
        let url = "https://api.acme.example/v2/tenants/eu-central-prod/orders/incoming?x=1&y=2";
        let lines = wrap(url, 30);
        assert_eq!(lines.concat(), url);
        assert!(lines.iter().all(|l| l.chars().count() <= 30), "{lines:?}");
        assert_eq!(lines[0], "https://api.acme.example/v2/");
        let key = "x".repeat(65);
        assert_eq!(
            wrap(&key, 30),
            ["x".repeat(30), "x".repeat(30), "x".repeat(5)]
        );
        assert_eq!(wrap("short", 30), ["short"]);
    }

    #[test]
    fn wrap_never_breaks_at_a_hyphen() {
        let name = "acme-orders-api-eu-central-1-production-blue";
        let lines = wrap(name, 20);
        assert_eq!(lines, [&name[..20], &name[20..40], &name[40..]]);
    }
}
