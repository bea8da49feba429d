//! When to try again and when to stop: which statuses are worth a retry, exponential backoff
//! with jitter, `Retry-After` parsing, and the per-host circuit breaker. All pure (instants
//! and random numbers come in as arguments) so the policy is tested without sleeping.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::fetch::pacing::add;

/// Whether a status is worth retrying: 429 and every 5xx. Other 4xx are the site's answer.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// Whether a status honours `Retry-After` (429 Too Many Requests, 503 Service Unavailable).
pub fn honours_retry_after(status: u16) -> bool {
    status == 429 || status == 503
}

/// The delay before retry number `retry` (0 for the first): `base · 2^retry`, capped at
/// `cap`, with "equal jitter" — half fixed, half scaled by `unit` in `[0, 1)` — so that many
/// clients backing off from one host do not return in step.
pub fn backoff(base: Duration, cap: Duration, retry: u32, unit: f64) -> Duration {
    let factor = 2u32.checked_pow(retry.min(31)).unwrap_or(u32::MAX);
    let full = base.checked_mul(factor).unwrap_or(cap).min(cap);
    let half = full / 2;
    half + half.mul_f64(unit.clamp(0.0, 1.0))
}

/// A uniformly distributed number in `[0, 1)` for jitter (std's randomly keyed hasher; no
/// extra dependency, not for cryptography).
pub fn jitter_unit() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Parses a `Retry-After` value: delay seconds (`120`) or an HTTP date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`), relative to `now`. A date in the past is zero; anything
/// else unparsable is `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for u64 still means "a long time".
        return Some(
            value
                .parse::<u64>()
                .map(Duration::from_secs)
                .unwrap_or(Duration::MAX),
        );
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A per-host circuit breaker: `threshold` consecutive failed fetches open it for `cooldown`;
/// a success closes it. After the cooldown one trial goes through; if it fails too, the
/// breaker opens again at once (the failure count is still at or over the threshold).
#[derive(Debug, Clone)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    consecutive: u32,
    open_until: Option<Instant>,
}

impl Breaker {
    /// A closed breaker; `threshold` 0 disables it.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Breaker {
            threshold,
            cooldown,
            consecutive: 0,
            open_until: None,
        }
    }

    /// `Some(until)` if the breaker is open at `now`.
    pub fn open_until(&self, now: Instant) -> Option<Instant> {
        self.open_until.filter(|until| *until > now)
    }

    /// A fetch succeeded: close the breaker and forget past failures.
    pub fn success(&mut self) {
        self.consecutive = 0;
        self.open_until = None;
    }

    /// A fetch failed at `now`; returns true if this opened the breaker.
    pub fn failure(&mut self, now: Instant) -> bool {
        self.consecutive = self.consecutive.saturating_add(1);
        if self.threshold == 0 || self.consecutive < self.threshold {
            return false;
        }
        self.open_until = Some(add(now, self.cooldown));
        true
    }

    /// Failed fetches since the last success.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn retryable_statuses() {
        for s in [429, 500, 502, 503, 504, 599] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 206, 304, 400, 401, 403, 404, 410, 416, 451] {
            assert!(!is_retryable_status(s), "{s}");
        }
        assert!(honours_retry_after(429) && honours_retry_after(503) && !honours_retry_after(500));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_cap() {
        let base = 500 * MS;
        let cap = 10_000 * MS;
        assert_eq!(backoff(base, cap, 0, 0.0), 250 * MS);
        assert_eq!(backoff(base, cap, 0, 1.0), 500 * MS);
        assert_eq!(backoff(base, cap, 1, 0.0), 500 * MS);
        assert_eq!(backoff(base, cap, 2, 0.5), 1500 * MS);
        assert_eq!(backoff(base, cap, 5, 1.0), cap, "16 s capped at 10 s");
        assert_eq!(
            backoff(base, cap, 100, 0.0),
            cap / 2,
            "huge retry counts do not overflow"
        );
        assert_eq!(backoff(Duration::MAX, cap, 3, 1.0), cap);
        for retry in 0..8 {
            let d = backoff(base, cap, retry, jitter_unit());
            let full = (base * 2u32.pow(retry)).min(cap);
            assert!(d >= full / 2 && d <= full, "{retry}: {d:?}");
        }
    }

    #[test]
    fn jitter_is_in_range_and_varies() {
        let xs: Vec<f64> = (0..64).map(|_| jitter_unit()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        assert!(xs.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").expect("date");
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::MAX)
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        // The obsolete RFC 850 and asctime forms are HTTP dates too.
        assert_eq!(
            parse_retry_after("Wednesday, 21-Oct-15 07:29:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Wed Oct 21 07:28:01 2015", now),
            Some(Duration::from_secs(1))
        );
        for bad in ["", "-5", "1.5", "soon", "Wed, 32 Oct 2015 07:28:00 GMT"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn breaker_opens_after_threshold_and_closes_on_success() {
        let t0 = Instant::now();
        let mut b = Breaker::new(3, 1000 * MS);
        assert!(!b.failure(t0));
        assert!(!b.failure(t0));
        assert_eq!(b.open_until(t0), None);
        assert!(b.failure(t0 + 10 * MS));
        assert_eq!(b.open_until(t0 + 20 * MS), Some(t0 + 1010 * MS));
        assert_eq!(b.consecutive_failures(), 3);
        // Cooldown over: one trial may go.
        assert_eq!(b.open_until(t0 + 1010 * MS), None);
        // The trial fails: open again at once.
        assert!(b.failure(t0 + 1100 * MS));
        assert_eq!(b.open_until(t0 + 1200 * MS), Some(t0 + 2100 * MS));
        b.success();
        assert_eq!(b.open_until(t0 + 1200 * MS), None);
        assert_eq!(b.consecutive_failures(), 0);
        assert!(!b.failure(t0 + 1300 * MS), "the count starts over");
    }

    #[test]
    fn success_between_failures_resets_the_count() {
        let t0 = Instant::now();
        let mut b = Breaker::new(2, 1000 * MS);
        b.failure(t0);
        b.success();
        assert!(!b.failure(t0));
        assert_eq!(b.open_until(t0), None);
    }

    #[test]
    fn threshold_zero_disables_the_breaker() {
        let t0 = Instant::now();
        let mut b = Breaker::new(0, 1000 * MS);
        for _ in 0..100 {
            assert!(!b.failure(t0));
        }
        assert_eq!(b.open_until(t0), None);
    }
}
