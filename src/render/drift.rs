//! The drift report (SPEC §6) as text for people and cron mail, JSON for scripts, and
//! Markdown for issues and chat (under 60,000 characters, however large the account).

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use crate::diff::Leaf;
use crate::drift::{DriftReport, FieldDrift, PendingChange, Summary, Unhealthy, Verdict};
use crate::plan::Action;
use crate::resource::rules::Identity;
use crate::resource::{Address, ResourceId};

const BAD: Style = AnsiColor::Red.on_default();
const WARN: Style = AnsiColor::Yellow.on_default();
const GOOD: Style = AnsiColor::Green.on_default();
const DIM: Style = Style::new().dimmed();

pub const JSON_FORMAT_VERSION: u32 = 1;
/// GitHub refuses comments over 65,536 characters; SPEC §5 asks for under 60,000.
pub const MARKDOWN_LIMIT: usize = 60_000;
/// Room kept for the closing note once rows start being left out.
const MARKDOWN_RESERVE: usize = 1_000;
/// Longest value shown in a Markdown cell; JSON has them whole.
const MARKDOWN_VALUE: usize = 200;

fn show(l: &Option<Leaf>) -> String {
    l.as_ref().map_or("(unset)".to_owned(), ToString::to_string)
}

fn action_words(action: Action) -> &'static str {
    match action {
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Replace => "must be replaced",
        Action::Delete => "will be deleted",
        Action::Forget => "will be forgotten",
        Action::Deauthorize => "will be deauthorized",
        Action::Adopt => "will be adopted",
        Action::Noop => "is unchanged",
    }
}

/// The resources in sync that no other bucket lists: each resource is in one bucket, and one
/// with a pending manifest change is listed there, not as in sync.
fn in_sync_only(report: &DriftReport) -> Vec<&Address> {
    let elsewhere: std::collections::BTreeSet<&Address> = report
        .pending_manifest_changes
        .iter()
        .map(|p| &p.address)
        .chain(report.modified_outside.iter().map(|m| &m.address))
        .chain(report.deleted_outside.iter().map(|d| &d.address))
        .chain(report.unhealthy.iter().map(|u| &u.address))
        .chain(report.waiting.iter().map(|u| &u.address))
        .collect();
    report
        .in_sync
        .iter()
        .filter(|a| !elsewhere.contains(a))
        .collect()
}

/// `Connection/legacy-x`, `Connector/c-0123…`: an unmanaged resource by its kind and what
/// AWS knows it by, and the `outbound import` that adopts it (a connector, known by an id,
/// needs a name for its manifest).
fn unmanaged_words(u: &crate::drift::Unmanaged) -> (String, String) {
    let import = match u.kind.rules().identity {
        Identity::Name => format!("outbound import {}/{}", u.kind, u.id),
        Identity::Tagged { .. } => format!("outbound import {}/NAME={}", u.kind, u.id),
    };
    (format!("{}/{}", u.kind, u.id), import)
}

/// What the next apply does to changes made outside, and how to keep one.
const REVERTS: &str = "The next `outbound apply` reverts these to the last applied values; \
                       to keep a change made outside (a hotfix), write it into the manifests first.";

/// `Drift found: 1 modified outside, 1 unhealthy; 2 in sync.`
fn headline(report: &DriftReport) -> String {
    let in_sync_count = in_sync_only(report).len();
    let Summary {
        in_sync: _,
        modified_outside,
        deleted_outside,
        unhealthy,
        not_checked,
        unmanaged,
        pending_manifest_changes: _,
    } = report.summary();
    let mut parts = Vec::new();
    for (n, words) in [
        (not_checked, "not checked"),
        (modified_outside, "modified outside"),
        (deleted_outside, "deleted outside"),
        (unhealthy, "unhealthy"),
        (unmanaged.unwrap_or(0), "unmanaged"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {words}"));
        }
    }
    let in_sync = format!("{in_sync_count} in sync");
    match report.verdict() {
        Verdict::InSync => format!(
            "No drift: AWS matches the last apply ({}).",
            // Every managed resource AWS holds as last applied (some may be settling).
            super::count(report.in_sync.len(), "managed resource")
        ),
        Verdict::Drift => format!("Drift found: {}; {in_sync}.", parts.join(", ")),
        Verdict::Incomplete => format!(
            "Incomplete: some resources could not be checked. {}; {in_sync}.",
            parts.join(", ")
        ),
    }
}

/// `outbound drift` (the default format).
pub fn text(report: &DriftReport) -> String {
    let mut out = String::new();
    let style = match report.verdict() {
        Verdict::InSync => GOOD,
        Verdict::Drift => BAD,
        Verdict::Incomplete => WARN,
    };
    let _ = writeln!(out, "{style}{}{style:#}", headline(report));
    if !report.not_checked.is_empty() {
        section(
            &mut out,
            "Not checked (AWS could not be read; never counted as in sync):",
        );
        for n in &report.not_checked {
            let _ = writeln!(out, "  {WARN}?{WARN:#} {}: {}", n.subject, n.reason);
        }
    }
    changed_outside(&mut out, report);
    statuses(&mut out, report);
    unmanaged(&mut out, report);
    if !report.pending_manifest_changes.is_empty() {
        section(
            &mut out,
            "Pending manifest changes (not drift; `outbound plan` shows them, `outbound apply` makes them):",
        );
        for p in &report.pending_manifest_changes {
            pending(&mut out, p);
        }
    }
    let in_sync = in_sync_only(report);
    if report.verdict() != Verdict::InSync && !in_sync.is_empty() {
        section(&mut out, "In sync:");
        for a in in_sync {
            let _ = writeln!(out, "  {DIM}={DIM:#} {a}");
        }
    }
    out
}

/// The resources modified or deleted outside outbound, field by field.
fn changed_outside(out: &mut String, report: &DriftReport) {
    if !report.modified_outside.is_empty() {
        section(
            out,
            "Modified outside outbound (expected: the last apply; actual: AWS):",
        );
        let _ = writeln!(out, "  {}", REVERTS.replace('`', ""));
        for m in &report.modified_outside {
            let _ = writeln!(
                out,
                "  {BAD}~{BAD:#} {}{}",
                m.address,
                id_note(&m.address, &m.id)
            );
            for f in &m.fields {
                let _ = writeln!(out, "      {}", drifted(f, &|s| s.to_owned()));
            }
        }
    }
    if !report.deleted_outside.is_empty() {
        section(out, "Deleted outside outbound:");
        for d in &report.deleted_outside {
            let note = if d.in_manifests {
                ""
            } else {
                " (its manifest is gone too)"
            };
            let _ = writeln!(
                out,
                "  {BAD}-{BAD:#} {}{}{note}",
                d.address,
                id_note(&d.address, &d.id)
            );
        }
    }
}

/// The resources unhealthy, and those AWS is still settling (not drift).
fn statuses(out: &mut String, report: &DriftReport) {
    if !report.unhealthy.is_empty() {
        section(out, "Unhealthy:");
        for u in &report.unhealthy {
            status_line(out, BAD, '!', u);
        }
    }
    if !report.waiting.is_empty() {
        section(out, "Waiting (AWS is still settling these; not drift):");
        for w in &report.waiting {
            status_line(out, DIM, '.', w);
        }
    }
}

/// What the account holds that neither the manifests nor the state name.
fn unmanaged(out: &mut String, report: &DriftReport) {
    if let Some(unmanaged) = report.unmanaged.as_ref().filter(|u| !u.is_empty()) {
        section(
            out,
            "Unmanaged (in the account and region; neither the manifests nor the state name them):",
        );
        for u in unmanaged {
            let url = u
                .url
                .as_deref()
                .map(|u| format!(" ({u})"))
                .unwrap_or_default();
            let (name, import) = unmanaged_words(u);
            let _ = writeln!(out, "  {BAD}+{BAD:#} {name}{url}");
            let _ = writeln!(out, "      adopt it: {import}");
        }
    }
}

/// `path: expected X, actual Y`, each part through `quote`; a secret only as changed.
fn drifted(f: &FieldDrift, quote: &dyn Fn(&str) -> String) -> String {
    let secret = |l: &Option<Leaf>| matches!(l, Some(Leaf::Sensitive(_)));
    if secret(&f.expected) && secret(&f.actual) {
        format!(
            "{}: changed (secret values cannot be read back)",
            quote(f.path.as_str())
        )
    } else {
        format!(
            "{}: expected {}, actual {}",
            quote(f.path.as_str()),
            quote(&show(&f.expected)),
            quote(&show(&f.actual))
        )
    }
}

/// `  ! Connection/x is DEAUTHORIZED: reason`.
fn status_line(out: &mut String, style: Style, mark: char, u: &Unhealthy) {
    let reason = u
        .reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  {style}{mark}{style:#} {}{} is {}{reason}",
        u.address,
        id_note(&u.address, &u.id),
        u.status
    );
}

fn section(out: &mut String, title: &str) {
    let _ = writeln!(out, "\n{title}");
}

/// The AWS id of a resource AWS knows by an id it assigned (its name says nothing there).
fn id_note(address: &Address, id: &Option<ResourceId>) -> String {
    match (address.kind.rules().identity, id) {
        (Identity::Tagged { .. }, Some(id)) => format!(" ({id})"),
        _ => String::new(),
    }
}

fn pending(out: &mut String, p: &PendingChange) {
    let _ = writeln!(
        out,
        "  {DIM}*{DIM:#} {} {}",
        p.address,
        action_words(p.action)
    );
    if p.action == Action::Create {
        return;
    }
    for f in &p.fields {
        let _ = writeln!(
            out,
            "      {}: {} -> {}",
            f.path,
            show(&f.before),
            show(&f.after)
        );
    }
}

/// `outbound drift --format json`: the report with its verdict and counts.
#[allow(
    clippy::expect_used,
    reason = "the report is plain data: serializing cannot fail"
)]
pub fn json(report: &DriftReport) -> String {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct File<'a> {
        format_version: u32,
        verdict: Verdict,
        summary: Summary,
        #[serde(flatten)]
        report: &'a DriftReport,
    }
    let file = File {
        format_version: JSON_FORMAT_VERSION,
        verdict: report.verdict(),
        summary: report.summary(),
        report,
    };
    let mut s = serde_json::to_string_pretty(&file).expect("reports serialize");
    s.push('\n');
    s
}

/// `outbound drift --format markdown`: counts first, then a list per finding (each resource
/// in one), then folded sections for pending manifest changes and what is in sync. Lines
/// that would pass [`MARKDOWN_LIMIT`] are left out and counted.
pub fn markdown(report: &DriftReport) -> String {
    let mut md = Markdown::default();
    let verdict = match report.verdict() {
        Verdict::InSync => "no drift",
        Verdict::Drift => "drift found",
        Verdict::Incomplete => "incomplete (some resources could not be checked)",
    };
    let s = report.summary();
    let in_sync = in_sync_only(report);
    md.push(&format!("### outbound drift: {verdict}\n\n"));
    md.push("| in sync | modified outside | deleted outside | unhealthy | not checked | unmanaged | pending manifest changes |\n");
    md.push("|---:|---:|---:|---:|---:|---:|---:|\n");
    md.push(&format!(
        "| {} | {} | {} | {} | {} | {} | {} |\n\n",
        in_sync.len(),
        s.modified_outside,
        s.deleted_outside,
        s.unhealthy,
        s.not_checked,
        s.unmanaged
            .map_or("not looked for".to_owned(), |n| n.to_string()),
        s.pending_manifest_changes
    ));
    findings(&mut md, report);
    pending_changes(&mut md, report);
    if !in_sync.is_empty() {
        md.push(&format!(
            "<details><summary>In sync ({})</summary>\n\n",
            in_sync.len()
        ));
        for a in in_sync {
            md.row(&format!("- {}\n", span(&a.to_string())));
        }
        md.push("\n</details>\n");
    }
    md.finish()
}

/// A heading and its list items, if there are any.
fn bucket(md: &mut Markdown, title: &str, note: Option<&str>, items: Vec<String>) {
    if items.is_empty() {
        return;
    }
    md.push(&format!("#### {title}\n\n"));
    if let Some(n) = note {
        md.push(&format!("{n}\n\n"));
    }
    for i in items {
        md.row(&i);
    }
    md.push("\n");
}

/// One list per finding: not checked, modified or deleted outside, unhealthy, waiting,
/// unmanaged.
fn findings(md: &mut Markdown, report: &DriftReport) {
    let not_checked = report
        .not_checked
        .iter()
        .map(|n| format!("- {}: {}\n", span(&n.subject.to_string()), cell(&n.reason)))
        .collect();
    bucket(
        md,
        "Not checked (never counted as in sync)",
        None,
        not_checked,
    );
    let modified = report
        .modified_outside
        .iter()
        .map(|m| {
            let mut item = format!("- {}\n", span(&m.address.to_string()));
            for f in &m.fields {
                item.push_str(&drifted_item(f));
            }
            item
        })
        .collect();
    bucket(md, "Modified outside outbound", Some(REVERTS), modified);
    let deleted = report
        .deleted_outside
        .iter()
        .map(|d| {
            let detail = if d.in_manifests {
                "the next `outbound apply` creates it again"
            } else {
                "its manifest is gone too"
            };
            format!("- {}: {detail}\n", span(&d.address.to_string()))
        })
        .collect();
    bucket(md, "Deleted outside outbound", None, deleted);
    for (title, list) in [
        ("Unhealthy", &report.unhealthy),
        (
            "Waiting (AWS is still settling these; not drift)",
            &report.waiting,
        ),
    ] {
        let items = list
            .iter()
            .map(|u| {
                let reason = u
                    .reason
                    .as_deref()
                    .map(|r| format!(": {}", cell(r)))
                    .unwrap_or_default();
                format!(
                    "- {}: {}{reason}\n",
                    span(&u.address.to_string()),
                    span(&u.status)
                )
            })
            .collect();
        bucket(md, title, None, items);
    }
    let unmanaged: Vec<(String, String)> = report
        .unmanaged
        .iter()
        .flatten()
        .map(|u| {
            let (name, import) = unmanaged_words(u);
            let url = u
                .url
                .as_deref()
                .map(|url| format!(" ({})", span(url)))
                .unwrap_or_default();
            (format!("- {}{url}\n", span(&name)), import)
        })
        .collect();
    if unmanaged.is_empty() {
        return;
    }
    // The commands in a block of their own: copied whole, never wrapped at a hyphen.
    let imports: Vec<&str> = unmanaged.iter().map(|(_, i)| i.as_str()).collect();
    let block = imports.join("\n");
    let fence = super::markdown::fence(&block);
    bucket(
        md,
        "Unmanaged (neither the manifests nor the state name them)",
        None,
        unmanaged.iter().map(|(item, _)| item.clone()).collect(),
    );
    md.push(&format!(
        "Adopt them with `outbound import` (a connector needs a NAME for its manifest):\n\n\
         {fence}sh\n{block}\n{fence}\n\n"
    ));
}

/// One drifted field as a sub-item: short values inline, long ones as a `diff` block whole
/// (`-` what AWS holds now, `+` what the next apply restores), wrapped by their parts.
fn drifted_item(f: &FieldDrift) -> String {
    use super::compare::compare;
    if compare(f.actual.as_ref(), f.expected.as_ref()).is_none() {
        return format!("  - {}\n", drifted(f, &span));
    }
    let mut lines = Vec::new();
    for (leaf, sign) in [(&f.actual, '-'), (&f.expected, '+')] {
        let text = show(leaf).replace('\r', "\\r");
        for part in super::layout::wrap(&text, super::markdown::DIFF_WIDTH) {
            lines.push(format!("{sign} {part}"));
        }
    }
    let fence = super::markdown::fence(&lines.join("\n"));
    let mut s = format!(
        "  - {}: `-` in AWS now, `+` restored by the next apply\n\n    {fence}diff\n",
        span(f.path.as_str())
    );
    for l in lines {
        let _ = writeln!(s, "    {l}");
    }
    let _ = writeln!(s, "    {fence}");
    s
}

/// The folded section of pending manifest changes (not drift), if any.
fn pending_changes(md: &mut Markdown, report: &DriftReport) {
    if report.pending_manifest_changes.is_empty() {
        return;
    }
    md.push(&format!(
        "<details><summary>Pending manifest changes ({}): not drift</summary>\n\n\
         | resource | change | fields |\n|---|---|---|\n",
        report.pending_manifest_changes.len()
    ));
    for p in &report.pending_manifest_changes {
        let fields: Vec<String> = if p.action == Action::Create {
            Vec::new()
        } else {
            p.fields
                .iter()
                .map(|f| {
                    format!(
                        "{}: {} → {}",
                        code(f.path.as_str()),
                        code(&show(&f.before)),
                        code(&show(&f.after))
                    )
                })
                .collect()
        };
        md.row(&row(
            &p.address.to_string(),
            action_words(p.action),
            &fields.join("<br>"),
        ));
    }
    md.push("\n</details>\n\n");
}

/// Markdown with a size budget: rows past it are counted instead of written.
#[derive(Default)]
struct Markdown {
    out: String,
    left_out: usize,
}

impl Markdown {
    fn push(&mut self, s: &str) {
        if self.left_out == 0 || s.len() < MARKDOWN_RESERVE / 4 {
            self.out.push_str(s);
        }
    }

    fn row(&mut self, r: &str) {
        if self.left_out == 0 && self.out.len() + r.len() + MARKDOWN_RESERVE <= MARKDOWN_LIMIT {
            self.out.push_str(r);
        } else {
            self.left_out += 1;
        }
    }

    fn finish(mut self) -> String {
        if self.left_out > 0 {
            let _ = write!(
                self.out,
                "\n_{} left out to keep this under {MARKDOWN_LIMIT} characters; \
                 `outbound drift --format json` has them all._\n",
                super::count(self.left_out, "more line")
            );
        }
        self.out
    }
}

fn row(subject: &str, finding: &str, detail: &str) -> String {
    format!("| {} | {finding} | {detail} |\n", code(subject))
}

/// Text in a table cell: no pipes, no line breaks, no HTML.
fn cell(s: &str) -> String {
    shorten(s)
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A code span in a table cell, whatever backticks the value holds.
fn code(s: &str) -> String {
    fenced(&shorten(s).replace('|', "\\|"))
}

/// A code span in a list (where a `|` is plain text), whatever backticks the value holds.
fn span(s: &str) -> String {
    fenced(&shorten(s))
}

/// `s` on one line in a code span whose fence is longer than any run of backticks in it.
fn fenced(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ");
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest > 0 {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= MARKDOWN_VALUE {
        return s.to_owned();
    }
    let mut short: String = s.chars().take(MARKDOWN_VALUE - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{Deleted, Modified};
    use crate::resource::{Address, Kind};

    #[test]
    fn markdown_stays_under_the_limit_for_a_large_account() {
        let long = "x".repeat(5_000);
        let report = DriftReport {
            modified_outside: (0..3_000)
                .map(|i| Modified {
                    address: Address::new(Kind::ApiDestination, format!("destination-{i}")),
                    id: None,
                    fields: vec![FieldDrift {
                        path: crate::resource::FieldPath::parse("description"),
                        expected: Some(Leaf::Value(long.clone().into())),
                        actual: Some(Leaf::Value("changed | by hand\n<b>".into())),
                    }],
                })
                .collect(),
            deleted_outside: vec![Deleted {
                address: Address::new(Kind::Connection, "gone"),
                id: None,
                in_manifests: true,
            }],
            in_sync: (0..3_000)
                .map(|i| Address::new(Kind::Connection, format!("c-{i}")))
                .collect(),
            ..DriftReport::default()
        };
        let md = markdown(&report);
        assert!(md.len() < MARKDOWN_LIMIT, "{}", md.len());
        assert!(md.contains("more lines left out"), "{md}");
        assert!(
            md.contains(r#"- "changed | by hand\n<b>""#),
            "a long value is a diff block, whole: {md}"
        );
        assert_eq!(
            cell("a <b>|\nc"),
            "a &lt;b&gt;\\| c",
            "no HTML, pipes or breaks"
        );
    }

    #[test]
    fn code_spans_hold_backticks() {
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(code("plain"), "`plain`");
    }
}
