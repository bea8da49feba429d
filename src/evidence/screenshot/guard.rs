//! What the screenshot browser may open: the fetcher's rules, applied to a browser.
//!
//! A hit's permalink is written by the site, and a feed item's link by whoever posted it, so
//! the browser must not become a way around the crawler's manners or into the local network:
//! only http(s); a private, loopback or link-local address only when the source the post came
//! from is on one too (the simulated web, an intranet board); and robots.txt, read through the
//! one [`Fetcher`] with its cache and pacing, must allow the page. While a public page loads,
//! its subresources on private addresses are blocked ([`private_patterns`]), so a page cannot
//! make the browser reach into the network it runs in.

use std::net::IpAddr;

use crate::fetch::{FetchError, Fetcher};

use super::ShotError;

/// The rules a [`super::Shooter`] checks before it opens a page.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    /// The fetcher whose robots.txt cache decides; without one robots.txt is not read (a
    /// one-off `mimamori evidence screenshot` of a page already fetched).
    fetcher: Option<Fetcher>,
}

impl Guard {
    /// Rules that read robots.txt through `fetcher` when given.
    pub fn new(fetcher: Option<Fetcher>) -> Guard {
        Guard { fetcher }
    }

    /// Whether the browser may open `url`, for a post read from `source`.
    pub async fn check(&self, url: &str, source: Option<&str>) -> Result<(), ShotError> {
        let refuse = |why: String| ShotError::Refused {
            url: url.to_string(),
            why,
        };
        let parsed = url::Url::parse(url).map_err(|e| refuse(format!("not a URL ({e})")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ShotError::Scheme { url: url.into() });
        }
        if is_private(&parsed).await {
            let source_private = match source.and_then(|s| url::Url::parse(s).ok()) {
                Some(s) => is_private(&s).await,
                None => false,
            };
            if !source_private {
                return Err(refuse(
                    "a private, loopback or link-local address, and the source is not on one"
                        .into(),
                ));
            }
        }
        if let Some(f) = &self.fetcher {
            match f.robots_allows(&parsed).await {
                Ok(true) => {}
                Ok(false) => {
                    return Err(refuse(
                        "robots.txt disallows it (product token \"mimamori\")".into(),
                    ));
                }
                Err(e @ FetchError::CircuitOpen { .. }) => return Err(refuse(e.to_string())),
                Err(e) => return Err(refuse(format!("robots.txt could not be read: {e}"))),
            }
        }
        Ok(())
    }

    /// Whether `url` is on a private, loopback or link-local address (its page may then load
    /// subresources from that network: it is in it already).
    pub async fn is_local(&self, url: &str) -> bool {
        match url::Url::parse(url) {
            Ok(u) => is_private(&u).await,
            Err(_) => false,
        }
    }
}

/// True for addresses that are not on the public internet: loopback, private (RFC 1918, ULA),
/// link-local, unspecified, CGNAT (100.64/10), and IPv4-mapped forms of those.
pub fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_ip(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Whether `url`'s host is, or resolves to, a non-public address (any of its addresses).
/// A name that does not resolve is not private: the browser will fail to load it anyway.
async fn is_private(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => is_private_ip(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_private_ip(IpAddr::V6(ip)),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if d == "localhost" || d.ends_with(".localhost") {
                return true;
            }
            let port = url.port_or_known_default().unwrap_or(80);
            match tokio::net::lookup_host((d.as_str(), port)).await {
                Ok(addrs) => addrs.into_iter().any(|a| is_private_ip(a.ip())),
                Err(_) => false,
            }
        }
        None => false,
    }
}

/// `Network.setBlockedURLs` patterns for subresources on private and loopback addresses
/// (literal addresses and `localhost`), set while a public page loads.
pub fn private_patterns() -> Vec<String> {
    let mut hosts: Vec<String> = vec![
        "127.*".into(),
        "10.*".into(),
        "192.168.*".into(),
        "169.254.*".into(),
        "0.*".into(),
        "localhost".into(),
        "localhost:*".into(),
        "[::1]*".into(),
        "[fc*".into(),
        "[fd*".into(),
        "[fe80*".into(),
        "[::ffff:*".into(),
    ];
    hosts.extend((16..32).map(|n| format!("172.{n}.*")));
    hosts.extend((64..128).map(|n| format!("100.{n}.*")));
    hosts
        .iter()
        .flat_map(|h| [format!("http://{h}"), format!("https://{h}")])
        .flat_map(|p| {
            let exact = p.clone();
            [exact, format!("{p}/*")]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_told_from_public_ones() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private_ip(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["8.8.8.8", "172.32.0.1", "100.128.0.1", "2001:4860::8888"] {
            assert!(!is_private_ip(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[tokio::test]
    async fn a_link_to_a_local_address_is_refused_unless_the_source_is_local_too() {
        let g = Guard::default();
        let local = "http://127.0.0.1:9/admin";
        let e = g
            .check(local, Some("https://203.0.113.5/feed.xml"))
            .await
            .expect_err("a public feed's link into the local network");
        assert!(e.to_string().contains("private"), "{e}");
        assert!(g.check(local, None).await.is_err());
        assert!(g.check("http://localhost/x", None).await.is_err());
        assert!(g.check("http://[::1]:8080/", None).await.is_err());
        // The simulated web, an intranet board: the source is local too.
        g.check(local, Some("http://127.0.0.1:8080/feed.xml"))
            .await
            .expect("a local source's own page");
        assert!(matches!(
            g.check("file:///etc/passwd", None).await,
            Err(ShotError::Scheme { .. })
        ));
        g.check("http://203.0.113.5/read.cgi/1", None)
            .await
            .expect("a public address");
    }

    #[test]
    fn the_blocked_patterns_cover_literal_private_hosts() {
        let p = private_patterns();
        for want in [
            "http://127.*/*",
            "https://192.168.*/*",
            "http://172.20.*/*",
            "http://localhost:*/*",
            "http://[::1]*/*",
        ] {
            assert!(p.iter().any(|x| x == want), "{want}");
        }
    }
}
