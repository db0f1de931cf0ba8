//! Environments on the page: the `envs` list, and one section per environment in the
//! reports of `--env all` (text, JSON `{"environments": {...}}`, Markdown with the
//! environment in the title and in the comment marker).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::manifest::diag::Diagnostics;
use crate::project::Project;

/// `outbound envs --format json`: `[{"name", "account", "region", "state"}]`.
pub fn list_json(project: &Project) -> String {
    let list: Vec<Value> = project
        .environments
        .values()
        .map(|e| {
            serde_json::json!({
                "name": e.name,
                "account": e.account,
                "region": e.region,
                "state": e.state,
            })
        })
        .collect();
    format!("{}\n", Value::Array(list))
}

/// `outbound envs`: one line per environment.
pub fn list_text(project: &Project) -> String {
    let mut s = String::new();
    for e in project.environments.values() {
        let _ = writeln!(s, "{}\t{}\t{}\t{}", e.name, e.account, e.region, e.state);
    }
    s
}

thread_local! {
    /// The environment this thread runs, when several run at once, and whether the next
    /// message starts a line.
    static PREFIX: RefCell<Option<(String, bool)>> = const { RefCell::new(None) };
}

/// Prefixes every line this thread writes on stderr from now on with `[env] `, so that the
/// messages of environments running at once (`--env all`, a thread each) can be told apart.
pub fn prefix_messages(env: &str) {
    PREFIX.with(|p| *p.borrow_mut() = Some((format!("[{env}] "), true)));
}

/// `text` with this thread's environment before each of its lines ([`prefix_messages`]).
pub(super) fn prefixed(text: &str) -> std::borrow::Cow<'_, str> {
    PREFIX.with(|p| match p.borrow_mut().as_mut() {
        None => std::borrow::Cow::Borrowed(text),
        Some((prefix, at_start)) => {
            let mut out = String::with_capacity(text.len() + prefix.len());
            for line in text.split_inclusive('\n') {
                if *at_start {
                    out.push_str(prefix);
                }
                out.push_str(line);
                *at_start = line.ends_with('\n');
            }
            std::borrow::Cow::Owned(out)
        }
    })
}

/// Warnings about the manifests (e.g. an IAM role of another account), on stderr.
pub fn warnings(warnings: &Diagnostics) {
    let mut s = String::new();
    for d in &warnings.0 {
        s.push_str(&d.to_string().replacen(": error: ", ": warning: ", 1));
        s.push('\n');
    }
    if !s.is_empty() {
        super::message(&s);
    }
}

/// The comment marker of `command`'s report for environment `env`: one pull-request
/// comment per environment.
pub fn marker(command: &str, env: &str) -> String {
    format!("<!-- outbound-{command}:{env} -->")
}

/// A Markdown report of one environment: the marker first, the environment named in the
/// first heading (`### outbound plan` -> `### outbound plan: staging`).
pub fn markdown(command: &str, env: &str, report: &str) -> String {
    let mut out = format!("{}\n", marker(command, env));
    let mut named = false;
    for line in report.split_inclusive('\n') {
        if !named && line.starts_with('#') {
            named = true;
            let (text, end) = match line.strip_suffix('\n') {
                Some(t) => (t, "\n"),
                None => (line, ""),
            };
            let _ = write!(out, "{text}: {env}{end}");
        } else {
            out.push_str(line);
        }
    }
    out
}

/// Text reports of several environments, each under its name.
pub fn text(sections: &BTreeMap<String, String>) -> String {
    let mut s = String::new();
    for (env, report) in sections {
        let _ = writeln!(s, "=== environment {env} ===");
        s.push_str(report);
        if !report.ends_with('\n') {
            s.push('\n');
        }
        s.push('\n');
    }
    s
}

/// JSON reports of several environments: `{"environments": {"staging": {...}, ...}}`; a
/// report that is not JSON is kept as a string.
pub fn json(sections: &BTreeMap<String, String>) -> String {
    let environments: serde_json::Map<String, Value> = sections
        .iter()
        .map(|(env, report)| {
            let v = serde_json::from_str(report).unwrap_or_else(|_| Value::String(report.clone()));
            (env.clone(), v)
        })
        .collect();
    format!(
        "{}\n",
        serde_json::to_string_pretty(&serde_json::json!({ "environments": environments }))
            .unwrap_or_default()
    )
}

/// Markdown reports of several environments, each already named ([`markdown`]), one after
/// the other.
pub fn markdown_all(sections: &BTreeMap<String, String>) -> String {
    sections.values().cloned().collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_names_the_environment_in_the_title_and_the_marker() {
        let md = markdown(
            "plan",
            "staging",
            "### outbound plan\n\nNo changes.\n### other\n",
        );
        assert_eq!(
            md,
            "<!-- outbound-plan:staging -->\n### outbound plan: staging\n\nNo changes.\n### other\n"
        );
    }

    #[test]
    fn a_thread_prefixes_each_of_its_lines_with_its_environment() {
        assert_eq!(prefixed("a\n"), "a\n", "no prefix unless asked");
        std::thread::spawn(|| {
            prefix_messages("staging");
            assert_eq!(
                prefixed("Read 3\nerror: x\n"),
                "[staging] Read 3\n[staging] error: x\n"
            );
            // A line written in pieces is prefixed once.
            assert_eq!(prefixed("Import? "), "[staging] Import? ");
            assert_eq!(prefixed("yes\nnext"), "yes\n[staging] next");
        })
        .join()
        .unwrap();
        assert_eq!(prefixed("b\n"), "b\n", "another thread's prefix is its own");
    }

    #[test]
    fn json_sections_nest_under_environments() {
        let sections = BTreeMap::from([
            ("production".to_owned(), "{\"a\": 1}".to_owned()),
            ("staging".to_owned(), "not json".to_owned()),
        ]);
        let v: Value = serde_json::from_str(&json(&sections)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"environments": {"production": {"a": 1}, "staging": "not json"}})
        );
    }
}
