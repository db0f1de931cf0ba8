//! The plan and the apply report as text for people (SPEC §2).

use std::collections::BTreeMap;
use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use similar::ChangeTag;

use super::compare::{Comparison, compare};
use super::layout;
use crate::apply::{Outcome, Report};
use crate::diff::FieldChange;
use crate::plan::{Action, Change, ChangeReason, Plan};
use crate::resource::Address;
use crate::resource::rules::Health;

const ADD: Style = AnsiColor::Green.on_default();
const CHANGE: Style = AnsiColor::Yellow.on_default();
const REMOVE: Style = AnsiColor::Red.on_default();
const DIM: Style = Style::new().dimmed();

fn symbol(action: Action) -> (&'static str, Style) {
    match action {
        Action::Create => ("+", ADD),
        Action::Update => ("~", CHANGE),
        Action::Replace => ("-/+", REMOVE),
        Action::Delete | Action::Forget => ("-", REMOVE),
        Action::Deauthorize => ("!", CHANGE),
        Action::Adopt => ("<=", ADD),
        Action::Noop => (" ", Style::new()),
    }
}

pub fn action_words(c: &Change) -> &'static str {
    match c.action {
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Replace => "must be replaced",
        Action::Delete => "will be deleted",
        Action::Forget => "will be forgotten (already gone from AWS)",
        Action::Deauthorize => "will be deauthorized",
        Action::Adopt => "will be adopted (recorded in the state)",
        Action::Noop => "is unchanged",
    }
}

pub fn reason_words(r: ChangeReason) -> &'static str {
    match r {
        ChangeReason::ManifestChange => "apply manifest change",
        ChangeReason::Drift => "revert drift",
        ChangeReason::DeletedOutside => "deleted outside outbound",
        ChangeReason::Adopted => "adopt interrupted creation",
        ChangeReason::SecretsNeverSent => "send secrets (never sent by outbound)",
        ChangeReason::OwnershipTags => "add outbound's ownership tags",
        ChangeReason::InterruptedDelete => "deleted by an interrupted apply",
    }
}

/// The whole plan, as `outbound plan` prints it, fitted to [`layout::width`].
pub fn plan(plan: &Plan) -> String {
    plan_at(plan, layout::width())
}

/// The plan with no line wider than `width` (a value too long for one line is wrapped, its
/// gutter repeated on every line): the summary first and last, then each change.
pub fn plan_at(plan: &Plan, width: usize) -> String {
    let mut out = String::new();
    let changing: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Noop)
        .collect();
    if changing.is_empty() {
        let _ = writeln!(
            out,
            "No changes. AWS matches the manifests ({}).",
            super::count(plan.changes.len(), "resource")
        );
        return out;
    }
    let s = plan.summary();
    let summary = format!(
        "Plan: {} to create, {} to update, {} to replace, {} to delete{}{}; {} unchanged.",
        s.create,
        s.update,
        s.replace,
        s.delete,
        if s.deauthorize > 0 {
            format!(", {} to deauthorize", s.deauthorize)
        } else {
            String::new()
        },
        if s.adopt > 0 {
            format!(", {} to adopt", s.adopt)
        } else {
            String::new()
        },
        s.noop
    );
    let drift = layout::drift_words(&plan.changes);
    let mut head = vec![summary.clone()];
    if drift != "none" {
        head.push(format!(
            "Reverting drift (changes made outside outbound): {drift}."
        ));
    }
    for line in &head {
        for l in layout::wrap(line, width) {
            let _ = writeln!(out, "{l}");
        }
    }
    out.push_str("\noutbound will make these changes, in this order:\n\n");
    for c in changing {
        change(&mut out, c, width);
    }
    for l in layout::wrap(&summary, width) {
        let _ = writeln!(out, "{l}");
    }
    out
}

/// Writes `text` after `gutter` (`      - `), wrapped to `width`; every continuation line
/// repeats the gutter's mark (with two more spaces), so a wrapped line still says whether it
/// is removed or added, with or without colour.
fn gutter(out: &mut String, indent: usize, mark: &str, style: Style, text: &str, width: usize) {
    let pad = " ".repeat(indent);
    // The mark, a space, and two more spaces on continuation lines.
    let room = width.saturating_sub(indent + mark.chars().count() + 3);
    for (i, line) in layout::wrap(text, room).into_iter().enumerate() {
        let more = if i == 0 { "" } else { "  " };
        let _ = writeln!(out, "{pad}{style}{mark}{style:#} {more}{line}");
    }
}

/// The secret fields a plan made with `--secrets skip` did not compare, one line each
/// (`ADDRESS: PATH: not compared (no value here)`); empty when every secret was compared.
pub fn not_compared(plan: &Plan) -> String {
    let lines: String = plan
        .changes
        .iter()
        .flat_map(|c| {
            c.not_compared
                .iter()
                .map(move |p| format!("  {}: {p}: not compared (no value here)\n", c.address))
        })
        .collect();
    if lines.is_empty() {
        return lines;
    }
    format!(
        "\nSecrets not compared (--secrets skip): apply resolves them, and sends those whose value changed since the last apply.\n{lines}"
    )
}

fn change(out: &mut String, c: &Change, width: usize) {
    let (sym, style) = symbol(c.action);
    let reasons: Vec<&str> = c.reasons.iter().map(|r| reason_words(*r)).collect();
    let header = format!(
        "{} {}{}",
        c.address,
        action_words(c),
        if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(", "))
        }
    );
    gutter(out, 2, "#", DIM, &header, width);
    if c.protect && layout::destroys(c) {
        gutter(
            out,
            2,
            "#",
            REMOVE,
            "PROTECTED (protect: true): outbound refuses to apply this plan",
            width,
        );
    }
    if let Some(status) = &c.status
        && (c.address.kind.rules().health)(status) != Health::Healthy
    {
        let reason = c
            .status_reason
            .as_deref()
            .map(|r| format!(": {}", visible(r)))
            .unwrap_or_default();
        gutter(
            out,
            2,
            "#",
            DIM,
            &format!("AWS reports it {status}{reason}"),
            width,
        );
    }
    let _ = writeln!(out, "  {style}{sym} {}{style:#}", c.address);
    for f in &c.fields {
        field(out, c, f, width);
    }
    out.push('\n');
}

fn field(out: &mut String, c: &Change, f: &FieldChange, width: usize) {
    let show = |l: &Option<crate::diff::Leaf>| {
        l.as_ref()
            .map_or("(unset)".to_owned(), |l| visible(&l.to_string()))
    };
    let (sym, style) = match (&f.before, &f.after) {
        (None, Some(_)) => ("+", ADD),
        (Some(_), None) => ("-", REMOVE),
        _ => ("~", CHANGE),
    };
    let drift = if c.action == Action::Update && f.reason == crate::diff::Reason::Drift {
        "  # drift"
    } else {
        ""
    };
    if c.action == Action::Create {
        gutter(
            out,
            6,
            sym,
            style,
            &format!("{}: {}", f.path, show(&f.after)),
            width,
        );
    } else if layout::secret_sent_again(f) {
        let text = format!("{}: {}{drift}", f.path, layout::SECRET_SENT_AGAIN);
        gutter(out, 6, sym, style, &text, width);
    } else if let Some(cmp) = compare(f.before.as_ref(), f.after.as_ref()) {
        gutter(out, 6, sym, style, &format!("{}:{drift}", f.path), width);
        compared(out, &cmp, f, width);
    } else {
        let text = format!(
            "{}: {} -> {}{drift}",
            f.path,
            show(&f.before),
            show(&f.after)
        );
        gutter(out, 6, sym, style, &text, width);
    }
    if f.forces_replacement {
        let why = format!("forces replacement: {}", layout::forcing_why(c, f));
        gutter(out, 8, "#", REMOVE, &why, width);
    }
}

/// A compared value under its field: a one-line value whole, old then new, each with its
/// `-`/`+` on every wrapped line; a multi-line value (or a list) by its changed lines.
fn compared(out: &mut String, cmp: &Comparison, f: &FieldChange, width: usize) {
    match cmp {
        Comparison::Words(_) => {
            for (leaf, sign, style) in [(&f.before, "-", REMOVE), (&f.after, "+", ADD)] {
                if let Some(l) = leaf {
                    gutter(out, 8, sign, style, &visible(&l.to_string()), width);
                }
            }
        }
        Comparison::Lines(lines) => {
            for line in lines {
                match line {
                    None => {
                        let _ = writeln!(out, "          {DIM}…{DIM:#}");
                    }
                    Some(l) => {
                        let (sign, style) = match l.tag {
                            ChangeTag::Delete => ("-", REMOVE),
                            ChangeTag::Insert => ("+", ADD),
                            ChangeTag::Equal => (" ", Style::new()),
                        };
                        gutter(out, 8, sign, style, &visible(&l.text), width);
                    }
                }
            }
        }
    }
}

/// Text with its control characters escaped (a line break or an escape sequence in a value
/// cannot break the plan's lines or colour it).
fn visible(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The table that ends `outbound apply`.
pub fn report(report: &Report) -> String {
    let done = report
        .rows
        .iter()
        .filter(|r| r.outcome == Outcome::Done)
        .count();
    let failed = report
        .rows
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
        .count();
    let skipped = report
        .rows
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Skipped(_)))
        .count();
    let not_started = report
        .rows
        .iter()
        .filter(|r| r.outcome == Outcome::NotStarted)
        .count();
    let mut out = if not_started == 0 {
        format!("Apply finished: {done} done, {failed} failed, {skipped} skipped.\n")
    } else {
        format!(
            "Apply interrupted: {done} done, {failed} failed, {skipped} skipped, {not_started} \
             not started.\n"
        )
    };
    let width = report
        .rows
        .iter()
        .map(|r| r.address.to_string().len())
        .max()
        .unwrap_or(0);
    for r in &report.rows {
        let action = format!("{:?}", r.action).to_lowercase();
        let (result, style, detail) = match &r.outcome {
            Outcome::Done => ("done", ADD, String::new()),
            Outcome::Failed(e) => ("failed", REMOVE, e.clone()),
            Outcome::Skipped(a) => (
                "skipped",
                CHANGE,
                format!("not attempted: {a} did not succeed"),
            ),
            Outcome::NotStarted => (
                "stopped",
                CHANGE,
                "not started: the run was interrupted first".to_owned(),
            ),
        };
        let _ = writeln!(
            out,
            "  {style}{result:<8}{style:#} {action:<8} {:<width$}  {detail}",
            r.address.to_string()
        );
    }
    out
}

/// A line for each change done that sent a secret value changed since the last apply.
pub fn secrets_sent(
    report: &Report,
    secrets_changed: &BTreeMap<Address, Vec<crate::resource::FieldPath>>,
) -> String {
    report
        .rows
        .iter()
        .filter(|r| r.outcome == Outcome::Done)
        .filter_map(|r| {
            let paths = secrets_changed.get(&r.address)?;
            Some(format!(
                "{}: secret value changed since the last apply ({})\n",
                r.address,
                paths
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
        .collect()
}
