//! robots.txt per RFC 9309, as a pure parser and matcher (no I/O; the fetcher fetches and
//! caches). Parsing keeps only the rules of the group that applies to us — the groups naming
//! our product token, merged, else the `*` groups, merged — so matching is one pass over a
//! short list. Paths are compared in a canonical percent-encoded form so that `/%7Efoo`,
//! `/~foo` and a rule written in raw UTF-8 all meet; the longest (most octets) matching rule
//! wins and `Allow` wins a tie.

use std::time::Duration;

use url::Url;

/// The product token we answer to in robots.txt (`User-agent: mimamori`).
pub const PRODUCT_TOKEN: &str = "mimamori";

/// The most of a robots.txt we read (RFC 9309 §2.5 asks for at least 500 KiB); the rest is
/// ignored.
pub const MAX_ROBOTS_BYTES: usize = 512 * 1024;

/// The longest `Crawl-delay` honoured, so a typo (`Crawl-delay: 86400000`) cannot stall a host
/// for ever.
pub const MAX_CRAWL_DELAY: Duration = Duration::from_secs(600);

/// The rules of one robots.txt that apply to one product token.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Robots {
    rules: Vec<Rule>,
    crawl_delay: Option<Duration>,
    sitemaps: Vec<String>,
}

/// One `Allow` / `Disallow` line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    allow: bool,
    pattern: Pattern,
}

/// A path pattern: literal pieces (canonical form) separated by `*`, optionally anchored at
/// the end by `$`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    pieces: Vec<Vec<u8>>,
    anchored: bool,
    /// Specificity: octets of the canonical pattern, wildcards and anchor included.
    len: usize,
}

/// A group while parsing: its user-agent tokens, rules and crawl delay.
#[derive(Debug, Default)]
struct Group {
    agents: Vec<String>,
    rules: Vec<Rule>,
    crawl_delay: Option<Duration>,
}

impl Robots {
    /// Everything allowed (robots.txt missing: any 4xx).
    pub fn allow_all() -> Self {
        Robots::default()
    }

    /// Everything disallowed (robots.txt unreachable: 5xx or a network error).
    pub fn disallow_all() -> Self {
        Robots {
            rules: vec![Rule {
                allow: false,
                pattern: Pattern::parse("/"),
            }],
            ..Robots::default()
        }
    }

    /// Parses a robots.txt body and keeps the rules for `product` (matched case-insensitively
    /// against each `User-agent` line's leading token), else those for `*`, else none.
    pub fn parse(text: &str, product: &str) -> Self {
        let product = product.to_ascii_lowercase();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut groups: Vec<Group> = Vec::new();
        let mut sitemaps = Vec::new();
        // True while the current group may still take more user-agent lines.
        let mut in_agents = false;
        for line in text.split(['\n', '\r']) {
            let line = line.split('#').next().unwrap_or("");
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim();
            match key.as_str() {
                "user-agent" | "useragent" | "user agent" => {
                    if !in_agents || groups.is_empty() {
                        groups.push(Group::default());
                    }
                    in_agents = true;
                    if let Some(g) = groups.last_mut() {
                        g.agents.push(agent_token(value));
                    }
                }
                "allow" | "disallow" => {
                    in_agents = false;
                    if value.is_empty() {
                        continue;
                    }
                    if let Some(g) = groups.last_mut() {
                        g.rules.push(Rule {
                            allow: key == "allow",
                            pattern: Pattern::parse(value),
                        });
                    }
                }
                "crawl-delay" => {
                    in_agents = false;
                    if let (Some(g), Some(d)) = (groups.last_mut(), parse_delay(value)) {
                        g.crawl_delay = Some(g.crawl_delay.map_or(d, |old| old.max(d)));
                    }
                }
                "sitemap" => sitemaps.push(value.to_string()),
                _ => {}
            }
        }
        let ours: Vec<&Group> = groups
            .iter()
            .filter(|g| g.agents.contains(&product))
            .collect();
        let chosen = if ours.is_empty() {
            groups
                .iter()
                .filter(|g| g.agents.iter().any(|a| a == "*"))
                .collect()
        } else {
            ours
        };
        let mut robots = Robots {
            sitemaps,
            ..Robots::default()
        };
        for g in chosen {
            robots.rules.extend(g.rules.iter().cloned());
            if let Some(d) = g.crawl_delay {
                robots.crawl_delay = Some(robots.crawl_delay.map_or(d, |old| old.max(d)));
            }
        }
        robots
    }

    /// Whether `path` (path and query as in the request line, e.g. `/a/b?c=d`) may be fetched.
    /// `/robots.txt` itself is always allowed.
    pub fn is_allowed(&self, path: &str) -> bool {
        if path == "/robots.txt" {
            return true;
        }
        let canon = canonical(path.as_bytes());
        let mut best: Option<(usize, bool)> = None;
        for rule in &self.rules {
            if !rule.pattern.matches(&canon) {
                continue;
            }
            let better = match best {
                None => true,
                Some((len, allow)) => {
                    rule.pattern.len > len || (rule.pattern.len == len && rule.allow && !allow)
                }
            };
            if better {
                best = Some((rule.pattern.len, rule.allow));
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }

    /// Whether `url` may be fetched (its path and query checked with [`Robots::is_allowed`]).
    pub fn is_url_allowed(&self, url: &Url) -> bool {
        self.is_allowed(&path_of(url))
    }

    /// The group's `Crawl-delay` (the largest, if merged groups give several), capped at
    /// [`MAX_CRAWL_DELAY`].
    pub fn crawl_delay(&self) -> Option<Duration> {
        self.crawl_delay
    }

    /// `Sitemap:` URLs, in file order (they belong to no group).
    pub fn sitemaps(&self) -> &[String] {
        &self.sitemaps
    }
}

/// The path and query of a URL, as robots.txt rules are matched against.
pub fn path_of(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

/// The product token of a `User-agent` value: its leading letters, `_` and `-`, lower-case
/// (`Mimamori/1.0` → `mimamori`); `*` stays `*`.
fn agent_token(value: &str) -> String {
    if value.starts_with('*') {
        return "*".to_string();
    }
    value
        .chars()
        .take_while(|c| c.is_ascii_alphabetic() || *c == '_' || *c == '-')
        .collect::<String>()
        .to_ascii_lowercase()
}

/// A `Crawl-delay` value in seconds (decimals allowed), capped.
fn parse_delay(value: &str) -> Option<Duration> {
    let secs: f64 = value.parse().ok()?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(
        secs.min(MAX_CRAWL_DELAY.as_secs_f64()),
    ))
}

impl Pattern {
    /// Splits a rule value on `*` and a final `$`, each piece in canonical form.
    fn parse(value: &str) -> Self {
        let (body, anchored) = match value.strip_suffix('$') {
            Some(b) => (b, true),
            None => (value, false),
        };
        let pieces: Vec<Vec<u8>> = body.split('*').map(|p| canonical(p.as_bytes())).collect();
        let len =
            pieces.iter().map(Vec::len).sum::<usize>() + pieces.len() - 1 + usize::from(anchored);
        Pattern {
            pieces,
            anchored,
            len,
        }
    }

    /// Whether the pattern matches a canonical path from its start.
    fn matches(&self, path: &[u8]) -> bool {
        let Some((first, rest)) = self.pieces.split_first() else {
            return true;
        };
        if !path.starts_with(first) {
            return false;
        }
        let mut pos = first.len();
        let Some((last, middle)) = rest.split_last() else {
            return !self.anchored || pos == path.len();
        };
        for piece in middle {
            match find(&path[pos..], piece) {
                Some(at) => pos += at + piece.len(),
                None => return false,
            }
        }
        if self.anchored {
            path.len() >= pos + last.len() && path.ends_with(last)
        } else {
            find(&path[pos..], last).is_some()
        }
    }
}

/// First position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Canonical form for comparison: every `%XX` decoded, then every octet outside printable
/// ASCII (and `%` itself) encoded as upper-case `%XX`. `/%7Efoo` ≡ `/~foo`,
/// `/ツ` ≡ `/%e3%83%84`, `%3A%2F` ≡ `:/` (RFC 9309 §2.2.2 table).
fn canonical(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%'
            && let (Some(h), Some(l)) = (
                input.get(i + 1).and_then(|c| hex(*c)),
                input.get(i + 2).and_then(|c| hex(*c)),
            )
        {
            push_canonical(&mut out, h << 4 | l);
            i += 3;
        } else {
            push_canonical(&mut out, b);
            i += 1;
        }
    }
    out
}

/// Appends one decoded octet in canonical form.
fn push_canonical(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    if b == b'%' || b <= b' ' || b >= 0x7f {
        out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
    } else {
        out.push(b);
    }
}

/// The value of a hex digit.
fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9309 §5.1.
    const RFC_EXAMPLE: &str = "User-Agent: *\n\
        Disallow: *.gif$\n\
        Disallow: /example/\n\
        Allow: /publications/\n\
        \n\
        User-Agent: foobot\n\
        Disallow:/\n\
        Allow:/example/page.html\n\
        Allow:/example/allowed.gif\n\
        \n\
        User-Agent: barbot\n\
        User-Agent: bazbot\n\
        Disallow: /example/page.html\n\
        \n\
        User-Agent: quxbot\n\
        \n\
        EOF\n";

    #[test]
    fn rfc_example_groups() {
        let foo = Robots::parse(RFC_EXAMPLE, "foobot");
        assert!(foo.is_allowed("/example/page.html"));
        assert!(foo.is_allowed("/example/allowed.gif"));
        assert!(!foo.is_allowed("/example/other.html"));
        assert!(!foo.is_allowed("/"));
        assert!(!foo.is_allowed("/publications/"));

        for bot in ["barbot", "bazbot", "BazBot"] {
            let r = Robots::parse(RFC_EXAMPLE, bot);
            assert!(!r.is_allowed("/example/page.html"), "{bot}");
            assert!(r.is_allowed("/example/other.html"), "{bot}");
            assert!(
                r.is_allowed("/foo.gif"),
                "{bot}: the * group does not apply"
            );
        }

        // An empty group that names us: everything allowed.
        let qux = Robots::parse(RFC_EXAMPLE, "quxbot");
        assert!(qux.is_allowed("/example/page.html"));
        assert!(qux.is_allowed("/a.gif"));

        // Nobody names us: the * group.
        let star = Robots::parse(RFC_EXAMPLE, PRODUCT_TOKEN);
        assert!(!star.is_allowed("/picture.gif"));
        assert!(star.is_allowed("/picture.gif?x=1"), "$ anchors at the end");
        assert!(!star.is_allowed("/example/"));
        assert!(!star.is_allowed("/example/page.html"));
        assert!(star.is_allowed("/publications/"));
        assert!(star.is_allowed("/"));
    }

    #[test]
    fn rfc_longest_match() {
        // RFC 9309 §5.2.
        let r = Robots::parse(
            "User-Agent: foobot\nAllow: /example/page/\nDisallow: /example/page/disallowed.gif\n",
            "foobot",
        );
        assert!(r.is_allowed("/example/page/"));
        assert!(r.is_allowed("/example/page/allowed.gif"));
        assert!(!r.is_allowed("/example/page/disallowed.gif"));
    }

    #[test]
    fn groups_naming_us_are_merged() {
        // RFC 9309 §2.2.1.
        let text = "user-agent: ExampleBot\ndisallow: /foo\ndisallow: /bar\n\n\
                    user-agent: ExampleBot\ndisallow: /baz\n";
        let r = Robots::parse(text, "examplebot");
        assert!(!r.is_allowed("/foo"));
        assert!(!r.is_allowed("/bar/x"));
        assert!(!r.is_allowed("/baz"));
        assert!(r.is_allowed("/qux"));
    }

    #[test]
    fn our_group_overrides_star() {
        let text = "User-agent: *\nDisallow: /\n\nUser-agent: mimamori/1.0\nDisallow: /private\n";
        let r = Robots::parse(text, PRODUCT_TOKEN);
        assert!(r.is_allowed("/board/"));
        assert!(!r.is_allowed("/private/x"));
        let other = Robots::parse(text, "otherbot");
        assert!(!other.is_allowed("/board/"));
    }

    #[test]
    fn allow_wins_ties_and_longest_wins() {
        let r = Robots::parse("User-agent: *\nDisallow: /page\nAllow: /page\n", "x");
        assert!(r.is_allowed("/page"));
        let r = Robots::parse("User-agent: *\nAllow: /page\nDisallow: /page\n", "x");
        assert!(r.is_allowed("/page"), "order does not matter");
        let r = Robots::parse(
            "User-agent: *\nAllow: /a\nDisallow: /a/b\nAllow: /a/b/c\n",
            "x",
        );
        assert!(r.is_allowed("/a/x"));
        assert!(!r.is_allowed("/a/b/x"));
        assert!(r.is_allowed("/a/b/c/d"));
    }

    #[test]
    fn wildcards_and_anchor() {
        let r = Robots::parse(
            "User-agent: *\nDisallow: /*.php$\nDisallow: /fish*.html\nDisallow: /x$\nDisallow: /q*id=\n",
            "x",
        );
        assert!(!r.is_allowed("/index.php"));
        assert!(!r.is_allowed("/a/b/index.php"));
        assert!(r.is_allowed("/index.php?x=1"));
        assert!(r.is_allowed("/index.php5"));
        assert!(!r.is_allowed("/fish.html"));
        assert!(!r.is_allowed("/fishheads/catfish.html"));
        assert!(r.is_allowed("/Fish.html"), "paths are case-sensitive");
        assert!(!r.is_allowed("/x"));
        assert!(r.is_allowed("/xy"));
        assert!(!r.is_allowed("/q?session_id=1"));
        assert!(r.is_allowed("/q?page=1"));
        // `*` alone and `/*` match everything; `$` in the middle is literal.
        assert!(!Robots::parse("User-agent: *\nDisallow: *\n", "x").is_allowed("/any"));
        let r = Robots::parse("User-agent: *\nDisallow: /a$b\n", "x");
        assert!(!r.is_allowed("/a$b/c"));
        assert!(r.is_allowed("/ab"));
        // A wildcard rule is not more specific than its literal length says.
        let r = Robots::parse("User-agent: *\nDisallow: /*\nAllow: /ok\n", "x");
        assert!(r.is_allowed("/ok/1"));
        assert!(!r.is_allowed("/no"));
    }

    #[test]
    fn percent_encoding_is_normalized() {
        // RFC 9309 §2.2.2 table.
        let cases = [
            ("/foo/bar?baz=quz", "/foo/bar?baz=quz"),
            (
                "/foo/bar?baz=https://foo.bar",
                "/foo/bar?baz=https%3A%2F%2Ffoo.bar",
            ),
            ("/foo/bar/ツ", "/foo/bar/%E3%83%84"),
            ("/foo/bar/%E3%83%84", "/foo/bar/%E3%83%84"),
            ("/foo/bar/%62%61%7A", "/foo/bar/baz"),
        ];
        for (rule, path) in cases {
            let r = Robots::parse(&format!("User-agent: *\nDisallow: {rule}\n"), "x");
            assert!(!r.is_allowed(path), "{rule} should match {path}");
        }
        let r = Robots::parse("User-agent: *\nDisallow: /~joe\n", "x");
        assert!(!r.is_allowed("/%7ejoe/index.html"));
        let r = Robots::parse("User-agent: *\nDisallow: /%E6%9D%B1\n", "x");
        assert!(!r.is_allowed("/%e6%9d%b1/1"), "hex case does not matter");
        assert!(!r.is_url_allowed(&Url::parse("http://h/東/").expect("url")));
        // An encoded `*` in a rule is a literal star, not a wildcard.
        let r = Robots::parse("User-agent: *\nDisallow: /a%2Ab\n", "x");
        assert!(!r.is_allowed("/a*b"));
        assert!(r.is_allowed("/axb"));
        // A stray % does not break anything.
        let r = Robots::parse("User-agent: *\nDisallow: /100%\n", "x");
        assert!(!r.is_allowed("/100%25"));
        assert!(r.is_allowed("/100"));
    }

    #[test]
    fn syntax_details() {
        let text = "\u{feff}# comment\nSitemap: https://h/s.xml\nDisallow: /before-any-group\n\
                    USER-AGENT : *   # trailing comment\r\nDISALLOW : /a # x\r\nDisallow:\r\n\
                    garbage line\nUnknown: field\nAllow: /a/b\n";
        let r = Robots::parse(text, "x");
        assert!(
            r.is_allowed("/before-any-group"),
            "rules before any user-agent are ignored"
        );
        assert!(!r.is_allowed("/a/c"));
        assert!(
            r.is_allowed("/a/b"),
            "an unknown line does not end the group"
        );
        assert!(r.is_allowed("/z"), "an empty Disallow is no rule");
        assert_eq!(r.sitemaps(), ["https://h/s.xml"]);
        assert_eq!(Robots::parse("", "x"), Robots::allow_all());
        assert!(Robots::parse("User-agent: *\nDisallow: /\n", "x").is_allowed("/robots.txt"));
    }

    #[test]
    fn crawl_delay() {
        let text = "User-agent: *\nCrawl-delay: 2.5\n\nUser-agent: mimamori\nCrawl-delay: 3\nDisallow: /x\n\
                    User-agent: mimamori\nCrawl-delay: 1\n";
        assert_eq!(
            Robots::parse(text, PRODUCT_TOKEN).crawl_delay(),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            Robots::parse(text, "other").crawl_delay(),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(
            Robots::parse("User-agent: *\nCrawl-delay: soon\n", "x").crawl_delay(),
            None
        );
        assert_eq!(
            Robots::parse("User-agent: *\nCrawl-delay: 1e12\n", "x").crawl_delay(),
            Some(MAX_CRAWL_DELAY)
        );
        // A crawl-delay line ends the user-agent run: the next user-agent starts a group.
        let r = Robots::parse(
            "User-agent: a\nCrawl-delay: 5\nUser-agent: b\nDisallow: /\n",
            "a",
        );
        assert!(r.is_allowed("/x"));
    }

    #[test]
    fn allow_and_disallow_all() {
        assert!(Robots::allow_all().is_allowed("/anything"));
        assert!(!Robots::disallow_all().is_allowed("/"));
        assert!(!Robots::disallow_all().is_allowed("/anything?x"));
        assert!(Robots::disallow_all().is_allowed("/robots.txt"));
    }

    #[test]
    fn path_of_keeps_query() {
        let u = Url::parse("http://h:8/a/b?c=d&e").expect("url");
        assert_eq!(path_of(&u), "/a/b?c=d&e");
        assert_eq!(path_of(&Url::parse("http://h").expect("url")), "/");
    }
}
