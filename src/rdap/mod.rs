//! Who to send it to: RDAP (RFC 9082/9083, the successor of WHOIS) lookups of a site's domain
//! (its operator, registrar, abuse contact, name servers) and of an IP address (the network's
//! owner — the ISP a log-preservation request goes to).
//!
//! Where to ask: the IANA bootstrap files (RFC 9224) — `dns.json` for a domain's TLD,
//! `ipv4.json` / `ipv6.json` for an address's longest matching prefix — at a bootstrap URL
//! (default [`DEFAULT_BOOTSTRAP`], `[whois] bootstrap = "…"` in the watchlist, or
//! `--bootstrap URL`), or one fixed base URL (`[whois] rdap = "…"`, `--rdap URL`) that skips
//! the bootstrap. Then `GET {base}/domain/{name}` or `{base}/ip/{addr}`. For `.jp` the
//! bootstrap names JPRS's server; Japanese address blocks are answered by APNIC for JPNIC.
//!
//! Every request goes through the project's [`Fetcher`] (pacing, retries with Retry-After,
//! the breaker, timeouts, the body cap, redirects checked hop by hop) as an
//! [`FetchRequest::api_query`]: robots.txt is not consulted, because RDAP is a query API
//! asked on a user's behalf (one lookup per domain, at most daily when capturing), not
//! crawling, and its servers rate-limit with 429. Answers larger than [`MAX_ANSWER`] are
//! refused. A 404 is "no RDAP record", a 429 that outlasts the retries is "rate limited", a
//! body that is not RDAP JSON is "malformed" — each an [`RdapError`] naming the URL.
//!
//! - `domain` — the query (`DOMAIN|IP|URL`), the registrable-domain rule, local addresses;
//! - `record` — the RFC 9083 object read leniently, and its [`Summary`].

pub mod domain;
pub mod record;

use std::collections::HashMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use url::Url;

pub use domain::{Query, registrable};
pub use record::{Contact, Record, Summary, is_redacted};

use crate::config::Watchlist;
use crate::fetch::{FetchConfig, FetchError, FetchRequest, FetchResponse, Fetcher};

/// The IANA bootstrap directory.
pub const DEFAULT_BOOTSTRAP: &str = "https://data.iana.org/rdap/";

/// Largest RDAP answer (and bootstrap file) accepted, in bytes.
pub const MAX_ANSWER: usize = 2 * 1024 * 1024;

/// The media types asked for (RFC 7480 §4.2).
const ACCEPT: &str = "application/rdap+json, application/json;q=0.9";

/// Why a lookup failed; each message names what was asked and where.
#[derive(Debug, thiserror::Error)]
pub enum RdapError {
    /// The input is not a domain, an IP address or a URL.
    #[error("{input:?}: {message}")]
    InvalidQuery {
        /// What was given.
        input: String,
        /// Why it is not a query.
        message: String,
    },
    /// A loopback, private or reserved name or address: no registry holds it.
    #[error("{subject}: no RDAP record: {reason}, which no registry holds")]
    Unanswerable {
        /// The domain or address.
        subject: String,
        /// What kind of name or address it is.
        reason: &'static str,
    },
    /// The bootstrap lists no server for the TLD or address.
    #[error(
        "{subject}: the RDAP bootstrap {bootstrap} names no server for it (ask one directly with --rdap URL)"
    )]
    NoService {
        /// The domain or address.
        subject: String,
        /// The bootstrap file.
        bootstrap: String,
    },
    /// The server answered 404.
    #[error("{subject}: no RDAP record ({url} answered 404 Not Found)")]
    NotFound {
        /// The domain or address.
        subject: String,
        /// The URL asked.
        url: String,
    },
    /// 429 through every retry (Retry-After honoured).
    #[error(
        "{url}: rate limited by the RDAP server (HTTP 429 after {attempts} attempts; try again later)"
    )]
    RateLimited {
        /// The URL asked.
        url: String,
        /// Attempts made.
        attempts: u32,
    },
    /// Another status that is not an answer.
    #[error("{url}: RDAP server answered HTTP {status}")]
    Status {
        /// The URL asked.
        url: String,
        /// The status.
        status: u16,
    },
    /// The body is not an RDAP answer (or not a bootstrap file).
    #[error("{url}: malformed RDAP answer: {message}")]
    Malformed {
        /// The URL asked.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// A configured URL is not usable.
    #[error("{what}: {message}")]
    Config {
        /// Which setting.
        what: String,
        /// Why.
        message: String,
    },
    /// The request failed (network, timeout, body cap, redirect loop, breaker).
    #[error(transparent)]
    Fetch(#[from] FetchError),
}

/// `[whois]` table of the watchlist.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WhoisConfig {
    /// Bootstrap directory holding `dns.json`, `ipv4.json`, `ipv6.json`.
    pub bootstrap: Option<String>,
    /// One RDAP base URL for every query (skips the bootstrap).
    pub rdap: Option<String>,
    /// Capture the RDAP record of each new hit's domain into the evidence (default true).
    pub capture: Option<bool>,
}

impl WhoisConfig {
    /// The `[whois]` table of `watchlist` (defaults when absent); errors located at the field.
    pub fn from_watchlist(watchlist: &Watchlist) -> Result<WhoisConfig, RdapError> {
        watchlist
            .section("whois", 0, "[whois]")
            .map(Option::unwrap_or_default)
            .map_err(|message| RdapError::Config {
                what: "[whois]".into(),
                message,
            })
    }
}

/// Where lookups go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Servers {
    /// Ask the bootstrap directory at this URL (ends in `/`).
    Bootstrap(Url),
    /// Ask this base URL for everything (ends in `/`).
    Fixed(Url),
}

impl Servers {
    /// From command-line flags over `[whois]` over the default: `--rdap` wins, then
    /// `--bootstrap`, then the table's `rdap`, then its `bootstrap`.
    pub fn choose(
        rdap: Option<&str>,
        bootstrap: Option<&str>,
        config: &WhoisConfig,
    ) -> Result<Servers, RdapError> {
        if let Some(u) = rdap {
            return Ok(Servers::Fixed(base_url("--rdap", u)?));
        }
        if let Some(u) = bootstrap {
            return Ok(Servers::Bootstrap(base_url("--bootstrap", u)?));
        }
        if let Some(u) = &config.rdap {
            return Ok(Servers::Fixed(base_url("[whois] rdap", u)?));
        }
        let u = config.bootstrap.as_deref().unwrap_or(DEFAULT_BOOTSTRAP);
        Ok(Servers::Bootstrap(base_url("[whois] bootstrap", u)?))
    }
}

/// An http(s) URL with a trailing `/`, so that joining keeps its path.
fn base_url(what: &str, s: &str) -> Result<Url, RdapError> {
    let mut u = Url::parse(s.trim()).map_err(|e| RdapError::Config {
        what: what.to_string(),
        message: format!("{s:?} is not a URL: {e}"),
    })?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(RdapError::Config {
            what: what.to_string(),
            message: format!("{s:?} is not an http(s) URL"),
        });
    }
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    Ok(u)
}

/// Fetch settings for RDAP from the watchlist's: the body capped at [`MAX_ANSWER`], at most
/// two retries, Retry-After honoured up to a minute.
pub fn fetch_config(base: &FetchConfig) -> FetchConfig {
    FetchConfig {
        max_body: base.max_body.min(MAX_ANSWER),
        retries: base.retries.min(2),
        backoff_cap: base.backoff_cap.min(std::time::Duration::from_secs(60)),
        ..base.clone()
    }
}

/// One answer: the record and the exchange it came from (kept as evidence).
#[derive(Debug, Clone)]
pub struct Answer {
    /// What was asked.
    pub query: Query,
    /// The URL asked.
    pub url: Url,
    /// The response (status 200, body = the raw JSON).
    pub response: FetchResponse,
    /// The record read from it.
    pub record: Record,
}

/// The RDAP client: a fetcher and where to ask; bootstrap files are read once per client.
#[derive(Debug)]
pub struct Rdap {
    fetcher: Fetcher,
    servers: Servers,
    bootstrap: tokio::sync::Mutex<HashMap<&'static str, Vec<Service>>>,
}

impl Rdap {
    /// A client asking `servers` through `fetcher`.
    pub fn new(fetcher: Fetcher, servers: Servers) -> Rdap {
        Rdap {
            fetcher,
            servers,
            bootstrap: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Looks `input` (`DOMAIN|IP|URL`) up.
    pub async fn lookup_str(&self, input: &str) -> Result<Answer, RdapError> {
        let query = Query::parse(input).map_err(|message| RdapError::InvalidQuery {
            input: input.to_string(),
            message,
        })?;
        self.lookup(&query).await
    }

    /// Looks one query up: base URL (bootstrap or fixed), then the object.
    pub async fn lookup(&self, query: &Query) -> Result<Answer, RdapError> {
        if let Some(reason) = query.unanswerable() {
            return Err(RdapError::Unanswerable {
                subject: query.subject(),
                reason,
            });
        }
        let base = match &self.servers {
            Servers::Fixed(u) => u.clone(),
            Servers::Bootstrap(dir) => self.base_for(dir, query).await?,
        };
        let path = match query {
            Query::Domain { domain, .. } => format!("domain/{domain}"),
            Query::Ip { addr } => format!("ip/{addr}"),
        };
        let url = base.join(&path).map_err(|e| RdapError::Config {
            what: "RDAP base URL".into(),
            message: format!("{base} + {path}: {e}"),
        })?;
        let response = self.get(&url).await?;
        match response.status {
            200 => {}
            404 => {
                return Err(RdapError::NotFound {
                    subject: query.subject(),
                    url: url.to_string(),
                });
            }
            status => {
                return Err(RdapError::Status {
                    url: url.to_string(),
                    status,
                });
            }
        }
        let record = Record::parse(&response.body).map_err(|message| RdapError::Malformed {
            url: url.to_string(),
            message,
        })?;
        Ok(Answer {
            query: query.clone(),
            url,
            response,
            record,
        })
    }

    async fn get(&self, url: &Url) -> Result<FetchResponse, RdapError> {
        let req = FetchRequest::get(url.clone())
            .with_header("accept", ACCEPT)
            .api_query();
        match self.fetcher.fetch(req).await {
            Ok(r) => Ok(r),
            Err(FetchError::Status {
                url,
                status: 429,
                attempts,
            }) => Err(RdapError::RateLimited { url, attempts }),
            Err(FetchError::Status { url, status, .. }) => Err(RdapError::Status { url, status }),
            Err(e) => Err(e.into()),
        }
    }

    /// The base URL the bootstrap names for `query` (an https one preferred).
    async fn base_for(&self, dir: &Url, query: &Query) -> Result<Url, RdapError> {
        let file = match query {
            Query::Domain { .. } => "dns.json",
            Query::Ip {
                addr: IpAddr::V4(_),
            } => "ipv4.json",
            Query::Ip {
                addr: IpAddr::V6(_),
            } => "ipv6.json",
        };
        let file_url = dir.join(file).map_err(|e| RdapError::Config {
            what: "RDAP bootstrap URL".into(),
            message: format!("{dir} + {file}: {e}"),
        })?;
        let mut cache = self.bootstrap.lock().await;
        if !cache.contains_key(file) {
            let r = self.get(&file_url).await?;
            if r.status != 200 {
                return Err(RdapError::Status {
                    url: file_url.to_string(),
                    status: r.status,
                });
            }
            let services = parse_bootstrap(&r.body).map_err(|message| RdapError::Malformed {
                url: file_url.to_string(),
                message,
            })?;
            cache.insert(file, services);
        }
        let services = cache.get(file).map(Vec::as_slice).unwrap_or_default();
        let found = match query {
            Query::Domain { domain, .. } => best_domain_service(services, domain),
            Query::Ip { addr } => best_ip_service(services, *addr),
        };
        let no_service = || RdapError::NoService {
            subject: query.subject(),
            bootstrap: file_url.to_string(),
        };
        let urls = found.ok_or_else(no_service)?;
        let pick = urls
            .iter()
            .find(|u| u.scheme() == "https")
            .or_else(|| urls.first())
            .ok_or_else(no_service)?;
        let mut base = pick.clone();
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        Ok(base)
    }
}

/// One bootstrap service: its entries (TLDs or prefixes) and its base URLs.
type Service = (Vec<String>, Vec<Url>);

/// `services` of an RFC 9224 bootstrap file: (entries, http(s) base URLs).
fn parse_bootstrap(body: &[u8]) -> Result<Vec<Service>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("bootstrap file is not JSON: {e}"))?;
    let services = v
        .get("services")
        .and_then(serde_json::Value::as_array)
        .ok_or("bootstrap file has no \"services\" array")?;
    let strings = |x: Option<&serde_json::Value>| -> Vec<String> {
        x.and_then(serde_json::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(|s| s.trim().to_ascii_lowercase()))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(services
        .iter()
        .filter_map(|s| {
            let s = s.as_array()?;
            let entries = strings(s.first());
            let urls: Vec<Url> = strings(s.get(1))
                .iter()
                .filter_map(|u| Url::parse(u).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .collect();
            (!entries.is_empty() && !urls.is_empty()).then_some((entries, urls))
        })
        .collect())
}

/// The service whose entry is the longest label-wise suffix of `domain`.
fn best_domain_service<'a>(services: &'a [Service], domain: &str) -> Option<&'a [Url]> {
    let domain = domain.to_ascii_lowercase();
    services
        .iter()
        .flat_map(|(entries, urls)| entries.iter().map(move |e| (e, urls)))
        .filter(|(e, _)| domain == **e || domain.ends_with(&format!(".{e}")))
        .max_by_key(|(e, _)| e.len())
        .map(|(_, urls)| urls.as_slice())
}

/// The service with the longest prefix containing `addr`.
fn best_ip_service(services: &[Service], addr: IpAddr) -> Option<&[Url]> {
    services
        .iter()
        .flat_map(|(entries, urls)| entries.iter().map(move |e| (e, urls)))
        .filter_map(|(e, urls)| prefix_contains(e, addr).map(|len| (len, urls)))
        .max_by_key(|(len, _)| *len)
        .map(|(_, urls)| urls.as_slice())
}

/// The prefix length of `cidr` if it contains `addr`.
fn prefix_contains(cidr: &str, addr: IpAddr) -> Option<u32> {
    let (net, len) = cidr.split_once('/').unwrap_or((cidr, ""));
    let net: IpAddr = net.parse().ok()?;
    match (net, addr) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let len: u32 = if len.is_empty() {
                32
            } else {
                len.parse().ok()?
            };
            if len > 32 {
                return None;
            }
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            (u32::from(n) & mask == u32::from(a) & mask).then_some(len)
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let len: u32 = if len.is_empty() {
                128
            } else {
                len.parse().ok()?
            };
            if len > 128 {
                return None;
            }
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            (u128::from(n) & mask == u128::from(a) & mask).then_some(len)
        }
        _ => None,
    }
}

/// What `whois --json` prints and the packet keeps: the query, where it was asked, the
/// summary.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The input as given.
    pub input: String,
    /// The query derived from it.
    pub query: Query,
    /// The URL asked.
    pub url: String,
    /// When (RFC 3339 UTC).
    pub fetched_at: String,
    /// The answer in brief.
    pub summary: Summary,
}

impl Report {
    /// The report of an answer to `input`.
    pub fn of(input: &str, a: &Answer) -> Report {
        Report {
            input: input.to_string(),
            query: a.query.clone(),
            url: a.url.to_string(),
            fetched_at: crate::model::timestamp(a.response.fetched_at),
            summary: a.record.summary(),
        }
    }

    /// Plain-text lines for a terminal: operator or network owner, registrar, abuse
    /// contacts, name servers, dates; absent values said as such.
    pub fn text(&self) -> String {
        let s = &self.summary;
        let mut out = String::new();
        let mut line = |k: &str, v: String| out.push_str(&format!("{k:<14}{v}\n"));
        let subject = match &self.query {
            Query::Domain { host, domain } if host != domain => {
                format!("{domain} (registrable domain of {host})")
            }
            q => q.subject(),
        };
        line("query", subject);
        line("asked", format!("{} at {}", self.url, self.fetched_at));
        if let Some(n) = &s.network {
            line("network", shown_opt(n.name.as_deref()));
            line("handle", shown_opt(n.handle.as_deref()));
            line("range", shown_opt(n.range.as_deref()));
            line("country", shown_opt(n.country.as_deref()));
        } else {
            line("domain", shown_opt(s.name.as_deref()));
        }
        let who = if s.network.is_some() {
            "owner"
        } else {
            "operator"
        };
        line(who, party(s.operator.as_ref()));
        if s.network.is_none() {
            line("registrar", party(s.registrar.as_ref()));
        }
        if s.abuse.is_empty() {
            line(
                "abuse",
                "not published (write to the registrar or the listed contacts)".into(),
            );
        }
        for a in &s.abuse {
            let under = if a.within.is_empty() {
                String::new()
            } else {
                format!(" [under {}]", a.within.join(", "))
            };
            line("abuse", format!("{}{under}", party(Some(a))));
        }
        if s.network.is_none() {
            let ns = if s.nameservers.is_empty() {
                "not published".to_string()
            } else {
                s.nameservers.join(", ")
            };
            line("nameservers", ns);
            line("registered", shown_opt(s.registered.as_deref()));
            line("expires", shown_opt(s.expires.as_deref()));
        }
        line("last changed", shown_opt(s.last_changed.as_deref()));
        if !s.status.is_empty() {
            line("status", s.status.join(", "));
        }
        if !s.redacted.is_empty() {
            line("redacted", s.redacted.join("; "));
        }
        out
    }
}

fn shown_opt(v: Option<&str>) -> String {
    record::shown(v, "not published")
}

/// One party on one line: name, organisation, e-mail, phone (redacted or absent said).
pub fn party(c: Option<&Contact>) -> String {
    let Some(c) = c else {
        return "not published".into();
    };
    let mut parts = Vec::new();
    match (&c.org, &c.name) {
        (Some(o), Some(n)) if o != n => {
            parts.push(record::shown(Some(n), ""));
            parts.push(record::shown(Some(o), ""));
        }
        (Some(o), _) => parts.push(record::shown(Some(o), "")),
        (None, Some(n)) => parts.push(record::shown(Some(n), "")),
        (None, None) => parts.push(match &c.handle {
            Some(h) => format!("handle {h} (name not published)"),
            None => "name not published".into(),
        }),
    }
    let list = |v: &[String]| {
        v.iter()
            .map(|x| record::shown(Some(x), ""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    parts.push(if c.emails.is_empty() {
        "e-mail not published".into()
    } else {
        format!("e-mail {}", list(&c.emails))
    });
    if !c.phones.is_empty() {
        parts.push(format!("phone {}", list(&c.phones)));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests;
