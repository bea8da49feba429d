//! Per-host pacing as a pure, synchronous rate limiter: it is told when requests end and when
//! the server asked us to hold off, and answers "wait this long" for a given instant. The
//! async fetcher does the sleeping (and holds the host's one-request-at-a-time lock), so the
//! arithmetic here is tested with fake instants and no clock.

use std::time::{Duration, Instant};

/// When the next request to one host may start.
#[derive(Debug, Clone)]
pub struct Pacer {
    min_delay: Duration,
    crawl_delay: Option<Duration>,
    last_end: Option<Instant>,
    not_before: Option<Instant>,
}

impl Pacer {
    /// A pacer keeping at least `min_delay` between the end of one request and the start of
    /// the next.
    pub fn new(min_delay: Duration) -> Self {
        Pacer {
            min_delay,
            crawl_delay: None,
            last_end: None,
            not_before: None,
        }
    }

    /// Sets the site's robots.txt `Crawl-delay`; it counts when larger than the minimum delay.
    pub fn set_crawl_delay(&mut self, delay: Option<Duration>) {
        self.crawl_delay = delay;
    }

    /// The delay in force between two requests: the larger of the minimum and `Crawl-delay`.
    pub fn delay(&self) -> Duration {
        self.crawl_delay
            .map_or(self.min_delay, |c| c.max(self.min_delay))
    }

    /// How long to wait at `now` before the next request may start (zero: go).
    pub fn wait(&self, now: Instant) -> Duration {
        let mut ready = now;
        if let Some(end) = self.last_end {
            ready = ready.max(add(end, self.delay()));
        }
        if let Some(nb) = self.not_before {
            ready = ready.max(nb);
        }
        ready.saturating_duration_since(now)
    }

    /// A request ended at `now` (successfully or not).
    pub fn finished(&mut self, now: Instant) {
        self.last_end = Some(self.last_end.map_or(now, |e| e.max(now)));
    }

    /// The server asked us not to come back before `at` (Retry-After, backoff).
    pub fn defer_until(&mut self, at: Instant) {
        self.not_before = Some(self.not_before.map_or(at, |nb| nb.max(at)));
    }
}

/// `at + d`, saturating far in the future instead of panicking on absurd durations.
pub fn add(at: Instant, d: Duration) -> Instant {
    at.checked_add(d)
        .or_else(|| at.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn first_request_goes_at_once() {
        let p = Pacer::new(Duration::from_secs(1));
        assert_eq!(p.wait(Instant::now()), Duration::ZERO);
    }

    #[test]
    fn min_delay_from_the_end_of_the_last_request() {
        let t0 = Instant::now();
        let mut p = Pacer::new(1000 * MS);
        p.finished(t0 + 500 * MS);
        assert_eq!(p.wait(t0 + 500 * MS), 1000 * MS);
        assert_eq!(p.wait(t0 + 1200 * MS), 300 * MS);
        assert_eq!(p.wait(t0 + 1500 * MS), Duration::ZERO);
        assert_eq!(p.wait(t0 + 9000 * MS), Duration::ZERO);
    }

    #[test]
    fn zero_delay_never_waits() {
        let t0 = Instant::now();
        let mut p = Pacer::new(Duration::ZERO);
        p.finished(t0);
        assert_eq!(p.wait(t0), Duration::ZERO);
    }

    #[test]
    fn crawl_delay_counts_only_when_larger() {
        let t0 = Instant::now();
        let mut p = Pacer::new(1000 * MS);
        p.set_crawl_delay(Some(300 * MS));
        assert_eq!(p.delay(), 1000 * MS);
        p.set_crawl_delay(Some(5000 * MS));
        assert_eq!(p.delay(), 5000 * MS);
        p.finished(t0);
        assert_eq!(p.wait(t0 + 1000 * MS), 4000 * MS);
        p.set_crawl_delay(None);
        assert_eq!(p.wait(t0 + 1000 * MS), Duration::ZERO);
    }

    #[test]
    fn retry_after_holds_the_host() {
        let t0 = Instant::now();
        let mut p = Pacer::new(100 * MS);
        p.finished(t0);
        p.defer_until(t0 + 2000 * MS);
        assert_eq!(p.wait(t0 + 500 * MS), 1500 * MS);
        // An earlier deferral does not shorten a later one.
        p.defer_until(t0 + 1000 * MS);
        assert_eq!(p.wait(t0 + 500 * MS), 1500 * MS);
        // The min delay after a later request end still applies.
        p.finished(t0 + 1990 * MS);
        assert_eq!(p.wait(t0 + 2000 * MS), 90 * MS);
    }

    #[test]
    fn ends_never_move_backwards() {
        let t0 = Instant::now();
        let mut p = Pacer::new(100 * MS);
        p.finished(t0 + 50 * MS);
        p.finished(t0);
        assert_eq!(p.wait(t0 + 50 * MS), 100 * MS);
    }

    #[test]
    fn absurd_durations_do_not_panic() {
        let t0 = Instant::now();
        let mut p = Pacer::new(Duration::MAX);
        p.finished(t0);
        assert!(p.wait(t0) > Duration::from_secs(86_400));
        assert!(add(t0, Duration::MAX) >= t0);
    }
}
