//! Pure scheduling helpers: which host a source talks to (sources on one host share a lock so
//! their requests go in series) and when a source first polls (spread over its first interval
//! so a hundred sources do not all fire at start-up).

use std::hash::{Hash, Hasher};
use std::time::Duration;

/// The host (and port) of a source's base URL: the unit of "one request at a time".
/// An unparsable URL is its own host.
pub fn host_key(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port_or_known_default()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => url.to_string(),
        },
        Err(_) => url.to_string(),
    }
}

/// Delay before a source's first poll: a stable pseudo-random point in `[0, every)` derived
/// from its id, so start times are spread and a restart keeps the same phase.
pub fn initial_delay(source_id: &str, every: Duration) -> Duration {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    source_id.hash(&mut h);
    let frac = (h.finish() % 10_000) as f64 / 10_000.0;
    every.mul_f64(frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_include_the_port_and_default_ports() {
        assert_eq!(host_key("http://127.0.0.1:8080/board/"), "127.0.0.1:8080");
        assert_eq!(host_key("https://egg.5ch.net/software/"), "egg.5ch.net:443");
        assert_eq!(
            host_key("http://jbbs.shitaraba.net/game/1/"),
            "jbbs.shitaraba.net:80"
        );
        assert_eq!(host_key("not a url"), "not a url");
    }

    #[test]
    fn initial_delays_are_within_the_interval_stable_and_spread() {
        let every = Duration::from_secs(60);
        let ids: Vec<String> = (0..50).map(|i| format!("5ch:http://h/{i}/")).collect();
        let delays: Vec<Duration> = ids.iter().map(|id| initial_delay(id, every)).collect();
        assert!(delays.iter().all(|d| *d < every));
        assert_eq!(initial_delay(&ids[0], every), delays[0]);
        let early = delays.iter().filter(|d| **d < every / 2).count();
        assert!(
            (10..=40).contains(&early),
            "{early} of 50 in the first half"
        );
        assert_eq!(initial_delay("x", Duration::ZERO), Duration::ZERO);
    }
}
