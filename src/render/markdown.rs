//! The plan as a GitHub pull-request comment (SPEC §5), kept under 60,000 characters.
//!
//! Values go into code spans, where `<`, `>`, `*`, `@` and the like are inert; a backtick in
//! a value gets a longer fence, `|` is escaped in table cells, and the `<summary>` (HTML,
//! not Markdown) gets HTML entities.

use std::fmt::Write;

use similar::ChangeTag;

use super::compare::{Comparison, compare};
use super::layout;
use crate::diff::{FieldChange, Leaf, Reason};
use crate::plan::{Action, Change, Plan};
use crate::resource::rules::Health;

use super::text::reason_words;

/// Fewer bytes than this (so fewer characters too): GitHub refuses comments over 65,536
/// characters, and a bot may add its own lines.
pub const LIMIT: usize = 60_000;
/// Room kept for the notice that ends a cut comment.
const NOTICE_ROOM: usize = 400;
const HEADING: &str = "### outbound plan\n\n";
const TABLE_HEAD: &str = "| Action | Resource | Why |\n|---|---|---|\n";

/// `plan --format markdown`.
pub fn plan(plan: &Plan) -> String {
    let changing = table_order(plan);
    if changing.is_empty() {
        return format!(
            "{HEADING}No changes. AWS matches the manifests ({}).\n",
            super::count(plan.changes.len(), "resource")
        );
    }
    let head = format!(
        "{HEADING}{}{}\n{TABLE_HEAD}",
        callout(&changing),
        counts(plan)
    );
    let rows: Vec<String> = changing.iter().map(|c| row(c)).collect();
    // Folds are open where the reviewer must look (deletes, replacements, protected), and
    // all of them when the plan is short.
    let open_all = changing.len() <= OPEN_ALL;
    let sections: Vec<String> = changing
        .iter()
        .map(|c| section(c, open_all || layout::destroys(c) || c.protect))
        .collect();
    fit(head, &rows, &sections)
}

/// A plan refused for a protected resource, under the error block that says so: the plan
/// without its heading (the comment has one).
pub fn refused(p: &Plan) -> String {
    let md = plan(p);
    md.strip_prefix(HEADING).map(str::to_owned).unwrap_or(md)
}

/// Up to this many changed resources, every fold of the comment is open.
const OPEN_ALL: usize = 5;

/// A `> [!CAUTION]` naming each delete and replacement and why (the kind's words), with
/// protected resources marked; empty when the plan destroys nothing.
fn callout(changing: &[&Change]) -> String {
    let destroying: Vec<&&Change> = changing.iter().filter(|c| layout::destroys(c)).collect();
    if destroying.is_empty() {
        return String::new();
    }
    let protected = destroying.iter().filter(|c| c.protect).count();
    let mut s = format!(
        "> [!CAUTION]\n> **This plan deletes or replaces {}.**{}\n",
        super::count(destroying.len(), "resource"),
        if protected > 0 {
            format!(
                " {} protected (`protect: true`): outbound refuses to apply it.",
                if protected == 1 { "One is" } else { "Some are" }
            )
        } else {
            String::new()
        }
    );
    for c in destroying {
        let what = match c.action {
            Action::Replace => "is **replaced** (deleted, then created again)",
            _ => "is **deleted**",
        };
        let mark = if c.protect { " — **protected**" } else { "" };
        let _ = writeln!(s, "> - {} {what}{mark}:", code(&c.address.to_string()));
        for (path, why) in layout::destroy_reasons(c) {
            match path {
                Some(p) => {
                    let _ = writeln!(s, ">   - {} {}", code(&p), inline(&why));
                }
                None => {
                    let _ = writeln!(s, ">   - {}", inline(&why));
                }
            }
        }
    }
    s.push('\n');
    s
}

/// Text of the kind's or outbound's own words, inert in Markdown.
fn inline(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('*', "\\*")
        .replace('_', "\\_")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The changes to show, destructive ones first (deletes, then replacements), otherwise in
/// execution order.
fn table_order(plan: &Plan) -> Vec<&Change> {
    let mut changing: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Noop)
        .collect();
    changing.sort_by_key(|c| match c.action {
        Action::Delete | Action::Forget => 0,
        Action::Replace => 1,
        _ => 2,
    });
    changing
}

/// The counts line, and how much drift the plan reverts (field changes and re-creates).
fn counts(plan: &Plan) -> String {
    let s = plan.summary();
    let mut deauthorize = if s.deauthorize > 0 {
        format!(", {} to deauthorize", s.deauthorize)
    } else {
        String::new()
    };
    if s.adopt > 0 {
        deauthorize.push_str(&format!(", {} to adopt", s.adopt));
    }
    format!(
        "**Plan:** {} to create, {} to update, {} to replace, {} to delete{deauthorize}; {} unchanged.\n\n\
         **Reverting drift** (changes made outside outbound): {}.\n",
        s.create,
        s.update,
        s.replace,
        s.delete,
        s.noop,
        layout::drift_words(&plan.changes),
    )
}

/// The whole comment if it fits; otherwise as many rows, then folded sections, as fit,
/// and a notice.
fn fit(head: String, rows: &[String], sections: &[String]) -> String {
    let mut full = head.clone();
    full.extend(rows.iter().map(String::as_str));
    full.push('\n');
    full.push_str(&sections.join("\n"));
    if full.len() < LIMIT {
        return full;
    }
    let budget = LIMIT - NOTICE_ROOM;
    let mut out = head;
    let shown_rows = take(&mut out, rows, "", budget);
    out.push('\n');
    let shown_sections = if shown_rows == rows.len() {
        take(&mut out, sections, "\n", budget)
    } else {
        0
    };
    out.push_str(&notice(rows.len(), shown_rows, shown_sections));
    out
}

/// Appends the leading `parts`, each followed by `sep`, that keep `out` within `budget`;
/// returns how many.
fn take(out: &mut String, parts: &[String], sep: &str, budget: usize) -> usize {
    let mut n = 0;
    for part in parts {
        if out.len() + part.len() + sep.len() > budget {
            break;
        }
        out.push_str(part);
        out.push_str(sep);
        n += 1;
    }
    n
}

fn notice(total: usize, rows: usize, sections: usize) -> String {
    let left_out = if rows < total {
        format!(
            "{} of {total} changed resources are left out of the table, and no field changes are shown",
            total - rows
        )
    } else {
        format!(
            "the field changes of {} of {total} changed resources are left out",
            total - sections
        )
    };
    format!(
        "> [!NOTE]\n> Cut to stay under {},{:03} characters: {left_out}. \
         Run `outbound plan` for the full plan.\n",
        LIMIT / 1000,
        LIMIT % 1000
    )
}

/// The symbol and word of an action, as in the text plan.
fn action(a: Action) -> (&'static str, &'static str) {
    match a {
        Action::Create => ("+", "create"),
        Action::Update => ("~", "update"),
        Action::Replace => ("-/+", "replace"),
        Action::Delete => ("-", "delete"),
        Action::Forget => ("-", "forget"),
        Action::Deauthorize => ("!", "deauthorize"),
        Action::Adopt => ("<=", "adopt"),
        Action::Noop => (" ", "unchanged"),
    }
}

fn row(c: &Change) -> String {
    let mut why: Vec<String> = c.reasons.iter().map(|r| reason_words(*r).into()).collect();
    if c.protect {
        why.push(if layout::destroys(c) {
            "**protected: refused**".into()
        } else {
            "protected".into()
        });
    }
    if let Some(status) = unhealthy(c) {
        why.push(format!("AWS reports {}", code(status)));
    }
    let (symbol, word) = action(c.action);
    format!(
        "| `{symbol}` {word} | {} | {} |\n",
        cell(&code(&c.address.to_string())),
        cell(&why.join(", "))
    )
}

/// A folded section with the field changes of one resource; `open` unfolds it.
fn section(c: &Change, open: bool) -> String {
    let (_, word) = action(c.action);
    let protect = if c.protect { ", protected" } else { "" };
    let mut s = format!(
        "<details{}><summary><code>{}</code> ({word}{protect})</summary>\n\n",
        if open { " open" } else { "" },
        html(&c.address.to_string())
    );
    if let Some(status) = unhealthy(c) {
        let reason = c.status_reason.as_deref().map(code).unwrap_or_default();
        let sep = if reason.is_empty() { "" } else { ": " };
        let _ = write!(
            s,
            "> [!WARNING]\n> AWS reports {}{sep}{reason}\n\n",
            code(status)
        );
    }
    if c.fields.is_empty() {
        s.push_str(&no_fields(c));
    }
    for f in &c.fields {
        s.push_str(&field(c, f));
    }
    s.push_str("\n</details>\n");
    s
}

/// What a section says when there are no field changes to list.
fn no_fields(c: &Change) -> String {
    match (c.action, &c.id) {
        (Action::Delete, Some(id)) => {
            format!("_Deletes {} with all its fields._\n", code(id.as_str()))
        }
        (Action::Delete, None) => "_Deleted with all its fields._\n".into(),
        (Action::Forget, _) => "_Already gone from AWS: only its record is dropped._\n".into(),
        _ => "_No field changes._\n".into(),
    }
}

fn field(c: &Change, f: &FieldChange) -> String {
    let a = c.action;
    let mut notes = String::new();
    if f.forces_replacement {
        let _ = write!(
            notes,
            " — **forces replacement**: {}",
            inline(&layout::forcing_why(c, f))
        );
    }
    if f.reason == Reason::Drift {
        notes.push_str(" — _revert drift_");
    }
    if a != Action::Create && layout::secret_sent_again(f) {
        return format!(
            "- {}: _{}_{notes}\n",
            code(f.path.as_str()),
            layout::SECRET_SENT_AGAIN
        );
    }
    let compared = (a != Action::Create)
        .then(|| compare(f.before.as_ref(), f.after.as_ref()))
        .flatten();
    if let Some(cmp) = compared {
        return format!(
            "- {}:{notes}\n{}",
            code(f.path.as_str()),
            compared_block(&cmp, f)
        );
    }
    let mut line = format!("- {}: ", code(f.path.as_str()));
    if a != Action::Create {
        let _ = write!(line, "{} → ", leaf(f.before.as_ref()));
    }
    line.push_str(&leaf(f.after.as_ref()));
    line.push_str(&notes);
    line.push('\n');
    line
}

/// Width of a line in a `diff` block: GitHub's comment column (about 900 pixels) holds some
/// 110 characters of its code font; the sign, its space and the list indent take 4.
pub const DIFF_WIDTH: usize = 100;

/// A compared value as a `diff` block inside the field's list item (GitHub colours its
/// `-` and `+` lines): a one-line value whole, old then new, each wrapped by its parts
/// with its sign on every line; a multi-line value or a list by its changed lines (one item a
/// line), each wrapped the same way, unchanged ones around them.
fn compared_block(c: &Comparison, f: &FieldChange) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut signed = |sign: char, text: &str| {
        let text = text.replace('\r', "\\r");
        for part in layout::wrap(&text, DIFF_WIDTH) {
            lines.push(format!("{sign} {part}"));
        }
    };
    match c {
        Comparison::Words(_) => {
            for (leaf, sign) in [(&f.before, '-'), (&f.after, '+')] {
                if let Some(l) = leaf {
                    signed(sign, &l.to_string());
                }
            }
        }
        Comparison::Lines(changed) => {
            for l in changed {
                match l {
                    None => signed(' ', "…"),
                    Some(l) => {
                        let sign = match l.tag {
                            ChangeTag::Delete => '-',
                            ChangeTag::Insert => '+',
                            ChangeTag::Equal => ' ',
                        };
                        signed(sign, &l.text);
                    }
                }
            }
        }
    }
    let fence = fence(&lines.join("\n"));
    let mut s = format!("  {fence}diff\n");
    for l in lines {
        let _ = writeln!(s, "  {l}");
    }
    let _ = writeln!(s, "  {fence}");
    s
}

fn leaf(l: Option<&Leaf>) -> String {
    match l {
        None => "_(unset)_".into(),
        Some(Leaf::Sensitive(_)) => "_(sensitive)_".into(),
        Some(Leaf::KnownAfterApply) => "_(known after apply)_".into(),
        Some(v @ Leaf::Value(_)) => code(&v.to_string()),
    }
}

/// The status AWS reports when it is not a healthy one.
fn unhealthy(c: &Change) -> Option<&str> {
    c.status
        .as_deref()
        .filter(|s| (c.address.kind.rules().health)(s) != Health::Healthy)
}

/// `s` as an inline code span: the fence is longer than any run of backticks in `s`, and
/// line breaks are shown as `\n` so that they cannot end a list item or a table row.
fn code(s: &str) -> String {
    let s = s.replace('\r', "\\r").replace('\n', "\\n");
    let longest = s.split(|ch| ch != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = s.starts_with(['`', ' ']) || s.ends_with(['`', ' ']);
    let pad = if pad { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// The fence of a code block holding `text`: longer than any run of backticks in it, so
/// nothing in it can close the block.
pub(super) fn fence(text: &str) -> String {
    let longest = text.split(|ch| ch != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// Text for a table cell: `|` would end the cell, even inside a code span.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// Text for HTML (the `<summary>` line is not Markdown).
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace(['\n', '\r'], " ")
}
