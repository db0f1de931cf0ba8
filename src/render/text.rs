//! The plan and the apply report as text for people (SPEC §2).

use std::collections::BTreeMap;
use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use similar::ChangeTag;

use super::compare::{Comparison, Segment, compare};
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

/// The whole plan, as `outbound plan` prints it.
pub fn plan(plan: &Plan) -> String {
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
    out.push_str("outbound will make these changes, in this order:\n\n");
    for c in changing {
        change(&mut out, c);
    }
    let s = plan.summary();
    let _ = writeln!(
        out,
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
    out
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

fn change(out: &mut String, c: &Change) {
    let (sym, style) = symbol(c.action);
    let reasons: Vec<&str> = c.reasons.iter().map(|r| reason_words(*r)).collect();
    let _ = writeln!(
        out,
        "  {DIM}# {} {}{}{DIM:#}",
        c.address,
        action_words(c),
        if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(", "))
        }
    );
    if let Some(status) = &c.status
        && (c.address.kind.rules().health)(status) != Health::Healthy
    {
        let reason = c
            .status_reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        let _ = writeln!(out, "  {DIM}# AWS reports it {status}{reason}{DIM:#}");
    }
    let _ = writeln!(out, "  {style}{sym} {}{style:#}", c.address);
    for f in &c.fields {
        field(out, c.action, f);
    }
    out.push('\n');
}

fn field(out: &mut String, action: Action, f: &FieldChange) {
    let show =
        |l: &Option<crate::diff::Leaf>| l.as_ref().map_or("(unset)".to_owned(), |l| l.to_string());
    let (sym, style) = match (&f.before, &f.after) {
        (None, Some(_)) => ("+", ADD),
        (Some(_), None) => ("-", REMOVE),
        _ => ("~", CHANGE),
    };
    let replace = if f.forces_replacement {
        "  # forces replacement"
    } else {
        ""
    };
    let why = if action == Action::Update && f.reason == crate::diff::Reason::Drift {
        "  # drift"
    } else {
        ""
    };
    if action == Action::Create {
        let _ = writeln!(
            out,
            "      {style}{sym}{style:#} {}: {}",
            f.path,
            show(&f.after)
        );
    } else if let Some(c) = compare(f.before.as_ref(), f.after.as_ref()) {
        let _ = write!(out, "      {style}{sym}{style:#} {}:", f.path);
        compared(out, &c, &format!("{replace}{why}"));
    } else {
        let _ = writeln!(
            out,
            "      {style}{sym}{style:#} {}: {} -> {}{replace}{why}",
            f.path,
            show(&f.before),
            show(&f.after)
        );
    }
}

/// A compared value, after `path:`, then the field's `notes`: changed words inline
/// (`[-old-]{+new+}`, as `git diff --word-diff`), or changed lines under the field, each with
/// its `-`/`+`.
fn compared(out: &mut String, c: &Comparison, notes: &str) {
    match c {
        Comparison::Words(segments) => {
            out.push_str(" \"");
            for s in segments {
                match s {
                    Segment::Same(t) => out.push_str(&visible(t)),
                    Segment::Changed { removed, added } => {
                        if !removed.is_empty() {
                            let _ = write!(out, "{REMOVE}[-{}-]{REMOVE:#}", visible(removed));
                        }
                        if !added.is_empty() {
                            let _ = write!(out, "{ADD}{{+{}+}}{ADD:#}", visible(added));
                        }
                    }
                }
            }
            let _ = writeln!(out, "\"{notes}");
        }
        Comparison::Lines(lines) => {
            let _ = writeln!(out, "{notes}");
            for line in lines {
                let _ = match line {
                    None => writeln!(out, "          {DIM}…{DIM:#}"),
                    Some(l) => {
                        let (sign, style) = match l.tag {
                            ChangeTag::Delete => ("-", REMOVE),
                            ChangeTag::Insert => ("+", ADD),
                            ChangeTag::Equal => (" ", Style::new()),
                        };
                        writeln!(out, "          {style}{sign} {}{style:#}", visible(&l.text))
                    }
                };
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
