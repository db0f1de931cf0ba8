//! All user-facing output goes through here: stdout for data, stderr for messages.

pub mod compare;
pub mod drift;
pub mod envs;
pub mod failure;
pub mod json;
pub mod layout;
pub mod markdown;
pub mod text;

use std::io::Write;

use anstyle::{AnsiColor, Style};

use crate::manifest::diag::Diagnostics;

const ERROR: Style = AnsiColor::Red.on_default().bold();
const HINT: Style = AnsiColor::Cyan.on_default();

/// Writes the requested output to stdout.
pub fn out(text: &str) {
    let mut stdout = anstream::stdout().lock();
    // A closed pipe (`outbound plan | head`) is not an error worth a panic.
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Writes a message to stderr.
pub fn message(text: &str) {
    let text = envs::prefixed(text);
    let _ = anstream::stderr().lock().write_all(text.as_bytes());
}

/// `error: …` on stderr, with its causes and a hint.
pub fn error(err: &anyhow::Error) {
    let mut s = format!("{ERROR}error{ERROR:#}: {err}\n");
    for cause in err.chain().skip(1) {
        s.push_str(&format!("  caused by: {cause}\n"));
    }
    message(&s);
}

/// Every diagnostic on stderr, then a count.
pub fn diagnostics(diags: &Diagnostics) {
    let mut s = String::new();
    for d in &diags.0 {
        let text = d.to_string();
        let text = text.replacen(": error: ", &format!(": {ERROR}error{ERROR:#}: "), 1);
        let text = text.replacen("\n  hint: ", &format!("\n  {HINT}hint{HINT:#}: "), 1);
        s.push_str(&text);
        s.push('\n');
    }
    s.push_str(&format!(
        "{}; nothing was changed\n",
        count(diags.len(), "problem")
    ));
    message(&s);
}

/// `1 file`, `3 files`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `state: 3 writes` and, for a remote backend, its calls (`-v`).
pub fn state_activity(store: &crate::store::Store) -> String {
    let writes = count(store.writes(), "write");
    match store.calls() {
        Some(calls) => format!("state: {writes}; {calls}"),
        None => format!("state: {writes}"),
    }
}
