//! Progress of an apply on stderr, for whoever watches a long one: a line when an action
//! ends, with its elapsed time, and a line every 10 s while a resource is waited on. Lines
//! only, never a spinner or a redrawn line, terminal or not: a CI log reads the same.
//!
//! The apply engine is below `render` (docs/architecture.md, layers), so these lines go
//! straight to stderr here; `anstream` keeps them as plain as `render::message`'s.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::plan::Action;
use crate::resource::Address;

/// How often a resource still waited on is reported.
pub const EVERY: Duration = Duration::from_secs(10);

/// One action under way.
#[derive(Debug)]
pub struct Step {
    address: Address,
    action: Action,
    started: Instant,
    /// When the last line about it was printed (its start, at first).
    last_line: Mutex<Instant>,
}

impl Step {
    pub fn start(address: &Address, action: Action) -> Step {
        Step::at(address, action, Instant::now())
    }

    fn at(address: &Address, action: Action, now: Instant) -> Step {
        Step {
            address: address.clone(),
            action,
            started: now,
            last_line: Mutex::new(now),
        }
    }

    /// AWS still reports `status`: a line if none was printed for [`EVERY`].
    pub fn waiting(&self, status: &str) {
        if let Some(line) = self.waiting_line(status, Instant::now()) {
            print(&line);
        }
    }

    /// The action ended: a line with its elapsed time.
    pub fn finished(&self, ok: bool) {
        print(&self.finished_line(ok, Instant::now()));
    }

    fn waiting_line(&self, status: &str, now: Instant) -> Option<String> {
        let mut last = self.last_line.lock().ok()?;
        if now.duration_since(*last) < EVERY {
            return None;
        }
        *last = now;
        let waited = now.duration_since(self.started).as_secs();
        Some(format!(
            "{}: still {status} after {}\n",
            self.address,
            humantime::format_duration(Duration::from_secs(waited))
        ))
    }

    fn finished_line(&self, ok: bool, now: Instant) -> String {
        let elapsed = elapsed(now.duration_since(self.started));
        if ok {
            format!("{}: {} in {elapsed}\n", self.address, done(self.action))
        } else {
            format!("{}: failed after {elapsed}\n", self.address)
        }
    }
}

/// `0.4s`, `12.4s`, `2m 5s`.
fn elapsed(d: Duration) -> String {
    if d < Duration::from_secs(60) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
    }
}

fn done(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Replace => "replaced",
        Action::Delete => "deleted",
        Action::Forget => "forgotten",
        Action::Deauthorize => "deauthorized",
        Action::Adopt => "adopted",
        Action::Noop => "unchanged",
    }
}

fn print(line: &str) {
    // A closed stderr is no reason to stop an apply.
    let _ = anstream::stderr().lock().write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Kind;

    fn step() -> (Step, Instant) {
        let t0 = Instant::now();
        let address = Address::new(Kind::Connection, "acme");
        (Step::at(&address, Action::Create, t0), t0)
    }

    #[test]
    fn a_waited_on_resource_gets_a_line_every_10_seconds() {
        let (step, t0) = step();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let lines: Vec<Option<String>> = [3, 9, 10, 14, 19, 21, 31]
            .iter()
            .map(|s| step.waiting_line("AUTHORIZING", at(*s)))
            .collect();
        assert_eq!(
            lines,
            [
                None,
                None,
                Some("Connection/acme: still AUTHORIZING after 10s\n".into()),
                None,
                None,
                Some("Connection/acme: still AUTHORIZING after 21s\n".into()),
                Some("Connection/acme: still AUTHORIZING after 31s\n".into()),
            ]
        );
    }

    #[test]
    fn a_finished_action_says_how_long_it_took() {
        let (step, t0) = step();
        assert_eq!(
            step.finished_line(true, t0 + Duration::from_millis(12_430)),
            "Connection/acme: created in 12.4s\n"
        );
        assert_eq!(
            step.finished_line(false, t0 + Duration::from_secs(125)),
            "Connection/acme: failed after 2m 5s\n"
        );
    }
}
