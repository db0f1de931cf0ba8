//! A resource's end of validity (a certificate's `NotAfterDate`, any kind's `Live::expires`):
//! what it means at a given time, for drift and plan, whatever the kind.

use std::time::SystemTime;

/// Seconds from `now` to `not_after` (RFC 3339): negative once expired.
pub fn seconds_left(not_after: &str, now: SystemTime) -> Option<i64> {
    let end = humantime::parse_rfc3339_weak(not_after.trim_end_matches('Z'))
        .ok()
        .or_else(|| humantime::parse_rfc3339(not_after).ok())?;
    match end.duration_since(now) {
        Ok(d) => i64::try_from(d.as_secs()).ok(),
        Err(e) => i64::try_from(e.duration().as_secs())
            .ok()
            .map(|s| -s.max(1)),
    }
}

/// Days from `now` to `not_after`, a day begun counting whole ("expires in 10 days" up to
/// ten days ahead); negative once expired.
pub fn days_left(not_after: &str, now: SystemTime) -> Option<i64> {
    let secs = seconds_left(not_after, now)?;
    Some(if secs < 0 {
        secs.div_euclid(86_400)
    } else {
        (secs + 86_399) / 86_400
    })
}

/// What a certificate's expiry means at `now` with a warning window of `warn_days`: `None`
/// when it ends later than the window, else "expires in N days" or "expired".
pub fn expiry(not_after: &str, now: SystemTime, warn_days: u64) -> Option<String> {
    let secs = seconds_left(not_after, now)?;
    let window = i64::try_from(warn_days.saturating_mul(86_400)).unwrap_or(i64::MAX);
    if secs < 0 {
        Some(format!("expired on {not_after}"))
    } else if secs < window {
        let days = days_left(not_after, now)?;
        Some(format!(
            "expires in {days} day{} ({not_after})",
            if days == 1 { "" } else { "s" }
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32) -> SystemTime {
        let text = format!("{y:04}-{m:02}-{d:02}T00:00:00Z");
        humantime::parse_rfc3339(&text).unwrap()
    }

    #[test]
    fn days_left_counts_whole_days() {
        assert_eq!(days_left("2026-01-31T00:00:00Z", at(2026, 1, 1)), Some(30));
        assert_eq!(days_left("2026-01-01T00:00:00Z", at(2026, 1, 2)), Some(-1));
        assert_eq!(
            expiry("2026-01-31T00:00:00Z", at(2026, 1, 1), 30),
            None,
            "30 days left is outside a 30-day window"
        );
    }
}
