//! A command that made no plan or report, on stdout in the formats bots read: a Markdown
//! error block and a JSON `{"error": …}` object, so a pull-request comment is never empty.
//!
//! Stderr keeps its own messages (`error:`, diagnostics); what is here says the same, built
//! from the same values, and so holds no more than stderr does: no secret value (diagnostics
//! are built from error kinds, AWS errors are scrubbed of the run's secrets).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::aws::AwsError;
use crate::manifest::diag::Diagnostics;
use crate::resource::Address;

/// Why no plan (or report) was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub message: String,
    /// Located problems: invalid manifests (file, line, field), unreadable resources.
    pub diagnostics: Vec<Item>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// A plan refused for a protected resource, as Markdown without its heading: shown under
    /// the error, whole.
    #[serde(skip)]
    pub refused_plan: Option<String>,
}

/// One located problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The line stderr shows for it (with its hint): the Markdown block's text.
    #[serde(skip)]
    text: String,
}

impl Failure {
    /// Invalid manifests: every diagnostic, located.
    pub fn invalid(diags: &Diagnostics) -> Failure {
        Failure {
            message: format!(
                "{} in the manifests; nothing was changed",
                super::count(diags.len(), "problem")
            ),
            diagnostics: diags
                .0
                .iter()
                .map(|d| Item {
                    file: Some(d.file.display().to_string()),
                    line: d.line,
                    column: d.column,
                    address: d.address.as_ref().map(ToString::to_string),
                    path: d.path.clone(),
                    message: d.message.clone(),
                    hint: d.hint.clone(),
                    text: d.to_string(),
                })
                .collect(),
            causes: Vec::new(),
            hint: None,
            refused_plan: None,
        }
    }

    /// Resources AWS could not be read for (exit 3): neither present nor absent.
    pub fn unreadable(unreadable: &BTreeMap<Address, AwsError>) -> Failure {
        Failure {
            message: format!(
                "{} could not be read from AWS, so no plan was made",
                super::count(unreadable.len(), "resource")
            ),
            diagnostics: unreadable
                .iter()
                .map(|(address, e)| Item {
                    file: None,
                    line: None,
                    column: None,
                    address: Some(address.to_string()),
                    path: None,
                    message: e.to_string(),
                    hint: None,
                    text: format!("{address}: {e}"),
                })
                .collect(),
            causes: Vec::new(),
            hint: None,
            refused_plan: None,
        }
    }

    /// An error with its causes, and the hint printed after it.
    pub fn error(err: &anyhow::Error, hint: Option<String>) -> Failure {
        Failure {
            message: err.to_string(),
            diagnostics: Vec::new(),
            causes: err.chain().skip(1).map(ToString::to_string).collect(),
            hint,
            refused_plan: None,
        }
    }

    /// The failure as text, as stderr says it (without colour).
    fn text(&self) -> String {
        let mut s = format!("error: {}\n", self.message);
        for cause in &self.causes {
            let _ = writeln!(s, "  caused by: {cause}");
        }
        for item in &self.diagnostics {
            let _ = writeln!(s, "{}", item.text);
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(s, "  hint: {hint}");
        }
        s
    }
}

/// `{"error": {"message": …, "diagnostics": […], "causes": […], "hint": …}}`.
pub fn json(failure: &Failure) -> String {
    #[derive(Serialize)]
    struct Wrapped<'a> {
        error: &'a Failure,
    }
    // Plain data: serializing cannot fail.
    let mut s = serde_json::to_string_pretty(&Wrapped { error: failure }).unwrap_or_default();
    s.push('\n');
    s
}

/// `### outbound COMMAND failed` and what stderr says in a fenced block, cut at a line to
/// stay under the comment limit.
pub fn markdown(command: &str, failure: &Failure) -> String {
    let text = failure.text();
    let budget = super::markdown::LIMIT - 1_000;
    let (text, cut) = if text.len() > budget {
        let mut kept = String::new();
        for line in text.lines() {
            if kept.len() + line.len() + 1 > budget {
                break;
            }
            kept.push_str(line);
            kept.push('\n');
        }
        let left_out = text.lines().count() - kept.lines().count();
        (kept, left_out)
    } else {
        (text, 0)
    };
    // Wrapped so that nothing is off-screen in a comment; continuation lines indented.
    let text: String = text
        .lines()
        .flat_map(|line| {
            super::layout::wrap(line, super::markdown::DIFF_WIDTH)
                .into_iter()
                .enumerate()
                .map(|(i, part)| if i == 0 { part } else { format!("    {part}") })
        })
        .map(|l| l + "\n")
        .collect();
    let fence = super::markdown::fence(&text);
    let mut s = format!(
        "### outbound {command} failed\n\nNothing was changed. What outbound reported:\n\n{fence}text\n{text}{fence}\n"
    );
    if cut > 0 {
        let _ = write!(
            s,
            "\n> [!NOTE]\n> Cut to stay under the comment limit: {cut} more lines. Run `outbound {command}` for all of them.\n"
        );
    }
    if let Some(plan) = &failure.refused_plan {
        if s.len() + plan.len() < super::markdown::LIMIT {
            let _ = write!(s, "\nThe plan that was refused:\n\n{plan}");
        } else {
            s.push_str("\nThe refused plan is too long for a comment: run `outbound plan`.\n");
        }
    }
    s
}
