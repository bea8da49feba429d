//! What to ask RDAP about: a user's `DOMAIN|IP|URL` turned into a [`Query`], a host's
//! registrable domain (the name a registry holds a record for), and the addresses no
//! registry answers for (loopback, private, link-local…).
//!
//! The registrable-domain rule is deliberately small: the last two labels
//! (`hayabusa9.5ch.net` → `5ch.net`), or three under a `.jp` second-level label listed in
//! `data/rdap/jp-second-level.txt` (`www.example.co.jp` → `example.co.jp`, the 都道府県型
//! `shop.example.tokyo.jp` → `example.tokyo.jp`). It knows no other country's second levels
//! (`example.co.uk` would be asked as `co.uk`) and reduces the old four-label 地域型 JP
//! names to three; for those, ask a registry directly with `--rdap` and the full name.

use std::net::IpAddr;

use serde::Serialize;

/// The `.jp` second-level labels below which names are registered (comments and blanks
/// skipped).
const JP_SECOND_LEVEL: &str = include_str!("../../data/rdap/jp-second-level.txt");

/// One lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Query {
    /// A domain: the host as given and the registrable domain asked about.
    Domain {
        /// The host as given (lower-case, IDNA ASCII form).
        host: String,
        /// Its registrable domain.
        domain: String,
    },
    /// An IP address (network lookups).
    Ip {
        /// The address.
        addr: IpAddr,
    },
}

impl Query {
    /// Parses `DOMAIN`, `IP` (`[v6]` allowed) or an http(s) URL (its host).
    pub fn parse(input: &str) -> Result<Query, String> {
        let input = input.trim();
        if input.is_empty() {
            return Err("empty: give a domain, an IP address or a URL".into());
        }
        let host = if input.contains("://") {
            let url = url::Url::parse(input).map_err(|e| format!("not a URL: {e}"))?;
            match url.host() {
                Some(url::Host::Domain(d)) => d.to_string(),
                Some(url::Host::Ipv4(a)) => return Ok(Query::Ip { addr: a.into() }),
                Some(url::Host::Ipv6(a)) => return Ok(Query::Ip { addr: a.into() }),
                None => return Err("the URL has no host".into()),
            }
        } else {
            let bare = input.trim_start_matches('[').trim_end_matches(']');
            if let Ok(addr) = bare.parse::<IpAddr>() {
                return Ok(Query::Ip { addr });
            }
            input.to_string()
        };
        Self::of_host(&host)
    }

    /// The query for a URL's host (a domain or an IP literal).
    pub fn of_host(host: &str) -> Result<Query, String> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(addr) = bare.parse::<IpAddr>() {
            return Ok(Query::Ip { addr });
        }
        let parsed = url::Host::parse(host).map_err(|e| format!("not a host name: {e}"))?;
        let host = match parsed {
            url::Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
            url::Host::Ipv4(a) => return Ok(Query::Ip { addr: a.into() }),
            url::Host::Ipv6(a) => return Ok(Query::Ip { addr: a.into() }),
        };
        if !host.contains('.') {
            return Err(format!(
                "{host:?} is not a domain name (give e.g. example.jp)"
            ));
        }
        let domain = registrable(&host);
        Ok(Query::Domain { host, domain })
    }

    /// What is asked, for messages: the registrable domain or the address.
    pub fn subject(&self) -> String {
        match self {
            Query::Domain { domain, .. } => domain.clone(),
            Query::Ip { addr } => addr.to_string(),
        }
    }

    /// Why no registry can answer for this query (a loopback, private or reserved name or
    /// address), if so.
    pub fn unanswerable(&self) -> Option<&'static str> {
        match self {
            Query::Ip { addr } => local_address(*addr),
            Query::Domain { domain, .. } => {
                let tld = domain.rsplit('.').next().unwrap_or("");
                matches!(tld, "localhost" | "local" | "test" | "invalid" | "internal")
                    .then_some("a reserved or local-only name (RFC 6761)")
            }
        }
    }
}

/// The registrable part of `host` (lower-case ASCII, no trailing dot): two labels, or three
/// under a listed `.jp` second-level label. A host with fewer labels is returned as is.
pub fn registrable(host: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').filter(|l| !l.is_empty()).collect();
    let keep = match labels.as_slice() {
        [.., second, "jp"] if is_jp_second_level(second) => 3,
        _ => 2,
    };
    if labels.len() <= keep {
        return labels.join(".");
    }
    labels[labels.len() - keep..].join(".")
}

fn is_jp_second_level(label: &str) -> bool {
    JP_SECOND_LEVEL
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|l| l == label)
}

/// Why `addr` has no RDAP record, for loopback, private, link-local, shared (CGNAT),
/// unspecified, multicast and unique-local addresses; `None` for a public address.
pub fn local_address(addr: IpAddr) -> Option<&'static str> {
    match addr {
        IpAddr::V4(a) => {
            let [o1, o2, ..] = a.octets();
            if a.is_loopback() {
                Some("a loopback address")
            } else if a.is_private() {
                Some("a private address (RFC 1918)")
            } else if a.is_link_local() {
                Some("a link-local address")
            } else if o1 == 100 && (64..128).contains(&o2) {
                Some("a shared (carrier-grade NAT) address")
            } else if a.is_unspecified() || a.is_broadcast() || a.is_multicast() || o1 == 0 {
                Some("a reserved address")
            } else {
                None
            }
        }
        IpAddr::V6(a) => {
            let first = a.segments()[0];
            if let Some(v4) = a.to_ipv4_mapped() {
                local_address(IpAddr::V4(v4))
            } else if a.is_loopback() {
                Some("a loopback address")
            } else if a.is_unspecified() || a.is_multicast() {
                Some("a reserved address")
            } else if first & 0xfe00 == 0xfc00 {
                Some("a unique-local address")
            } else if first & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrable_strips_subdomains_and_keeps_jp_second_levels() {
        for (host, want) in [
            ("hayabusa9.5ch.net", "5ch.net"),
            ("5ch.net", "5ch.net"),
            ("egg.5ch.net.", "5ch.net"),
            ("jbbs.shitaraba.net", "shitaraba.net"),
            ("www.example.co.jp", "example.co.jp"),
            ("a.b.example.ne.jp", "example.ne.jp"),
            ("example.co.jp", "example.co.jp"),
            ("www.city.lg.jp", "city.lg.jp"),
            ("www.example.jp", "example.jp"),
            ("shop.example.tokyo.jp", "example.tokyo.jp"),
            ("WWW.Example.OR.JP", "example.or.jp"),
            ("co.jp", "co.jp"),
            ("jp", "jp"),
            // `co` is only special under .jp.
            ("www.example.co", "example.co"),
        ] {
            assert_eq!(registrable(host), want, "{host}");
        }
    }

    #[test]
    fn queries_parse_domains_addresses_and_urls() {
        assert_eq!(
            Query::parse("https://hayabusa9.5ch.net/test/read.cgi/news/1/").expect("url"),
            Query::Domain {
                host: "hayabusa9.5ch.net".into(),
                domain: "5ch.net".into()
            }
        );
        assert_eq!(
            Query::parse("202.11.16.10").expect("ip").subject(),
            "202.11.16.10"
        );
        assert_eq!(
            Query::parse("[2001:db8::1]").expect("v6").subject(),
            "2001:db8::1"
        );
        assert_eq!(
            Query::parse("http://[2001:db8::1]:8080/x")
                .expect("v6 url")
                .subject(),
            "2001:db8::1"
        );
        // IDNA: a Japanese domain is asked in its ASCII form.
        assert_eq!(
            Query::parse("www.例え.jp").expect("idn").subject(),
            "xn--r8jz45g.jp"
        );
        for bad in ["", "  ", "localhost:", "nodots", "http://", "a b.jp"] {
            assert!(Query::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn local_addresses_have_no_registry() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:192.168.1.1",
        ] {
            let addr: IpAddr = a.parse().expect("addr");
            assert!(local_address(addr).is_some(), "{a}");
        }
        for a in ["202.11.16.10", "8.8.8.8", "2001:dc0::1"] {
            let addr: IpAddr = a.parse().expect("addr");
            assert_eq!(local_address(addr), None, "{a}");
        }
        assert!(
            Query::parse("shop.localhost")
                .expect("q")
                .unanswerable()
                .is_some()
        );
        assert!(Query::parse("5ch.net").expect("q").unanswerable().is_none());
    }
}
