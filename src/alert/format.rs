//! What each sink format makes of alerts, escaped for that format.
//!
//! An alert carries text that is not ours: the post's URL and the matched texts come from the
//! crawled page, and a URL such as `data:,<!channel> <https://evil.example/|…>` is what an
//! attacker would post to use the alert as their megaphone. Each format gets that text escaped
//! its own way, after control and bidi characters are shown as `<U+XXXX>`:
//!
//! - **Slack** (`text`, mrkdwn): `&`, `<` and `>` as `&amp;` `&lt;` `&gt;`, as Slack documents,
//!   so no `<!channel>`, `<@U…>` or `<url|label>` can be written by a post. Only the link we
//!   make ourselves uses `<url>`: an http(s) URL (its `|` percent-encoded, `<`/`>` escaped);
//!   any other URL is shown as text. Unfurling is off: a preview would fetch the page for
//!   whoever wrote it.
//! - **Discord** (`content`, markdown): `"allowed_mentions": {"parse": []}` (no mention in the
//!   message pings anyone, whatever it says), a zero-width space after every `@` and `<` of
//!   crawled text (`@everyone`, `<@…>` show as text), markdown characters backslash-escaped
//!   (no `[label](url)` disguised link, no formatting); an http(s) URL as `<url>` (a link
//!   without a preview).
//! - **E-mail**: plain text, controls shown; the subject holds only the target id, severity and
//!   categories (ours), with its controls shown too, so no header can be injected.
//! - **Generic** JSON: the [`Alert`] objects, JSON-escaped by serde.

use super::{Alert, HealthAlert};
use crate::text::control::escape_controls_line;

/// Longest Discord `content` (Discord refuses more than 2,000 characters).
const DISCORD_MAX: usize = 1990;

/// Slack's escaping of `&`, `<` and `>` in message text.
fn slack_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape_controls_line(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// An http(s) URL as a parsed, serialized URL (`None` for every other scheme).
fn http_url(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    matches!(u.scheme(), "http" | "https").then(|| u.to_string())
}

/// The post's URL in Slack text: `<url>` for an http(s) URL, escaped text for anything else.
fn slack_link(url: &str) -> String {
    match http_url(url) {
        Some(u) => format!("<{}>", slack_escape(&u).replace('|', "%7C")),
        None => slack_escape(url),
    }
}

/// Discord markdown made inert: markdown characters backslash-escaped, a zero-width space
/// after `@` and `<`.
fn discord_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape_controls_line(s).chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' | '(' | ')' | '>' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '@' | '<' => {
                out.push(c);
                out.push('\u{200B}');
            }
            c => out.push(c),
        }
    }
    out
}

/// The post's URL in Discord content: `<url>` for an http(s) URL, escaped text otherwise.
fn discord_link(url: &str) -> String {
    match http_url(url) {
        Some(u) if !u.contains(['<', '>', ' ']) => format!("<{u}>"),
        _ => discord_escape(url),
    }
}

/// The body of a Slack incoming webhook: one line per alert.
pub fn slack(alerts: &[Alert]) -> serde_json::Value {
    let text = alerts
        .iter()
        .map(|a| a.line_with(&slack_escape, &slack_link))
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::json!({ "text": text, "unfurl_links": false, "unfurl_media": false })
}

/// The body of a Discord webhook: one line per alert, mentions off.
pub fn discord(alerts: &[Alert]) -> serde_json::Value {
    let mut content = alerts
        .iter()
        .map(|a| a.line_with(&discord_escape, &discord_link))
        .collect::<Vec<_>>()
        .join("\n");
    if content.chars().count() > DISCORD_MAX {
        content = content.chars().take(DISCORD_MAX).collect::<String>() + "…";
    }
    serde_json::json!({ "content": content, "allowed_mentions": { "parse": [] } })
}

/// The Slack body of an operational alert (its text escaped like a post's).
pub fn slack_health(alert: &HealthAlert) -> serde_json::Value {
    serde_json::json!({
        "text": slack_escape(&alert.line()),
        "unfurl_links": false,
        "unfurl_media": false,
    })
}

/// The Discord body of an operational alert, mentions off.
pub fn discord_health(alert: &HealthAlert) -> serde_json::Value {
    serde_json::json!({
        "content": discord_escape(&alert.line()),
        "allowed_mentions": { "parse": [] },
    })
}

/// The subject of an operational alert's e-mail.
pub fn email_health_subject(alert: &HealthAlert) -> String {
    escape_controls_line(&format!(
        "[mimamori] source {}: {}",
        alert.state, alert.source
    ))
    .into_owned()
}

/// The subject of an alert e-mail (one alert, or a digest).
pub fn email_subject(alerts: &[Alert]) -> String {
    let subject = match alerts {
        [one] => format!(
            "[mimamori] {} severity {} {}",
            one.target,
            one.severity,
            one.categories.join(",")
        ),
        many => format!("[mimamori] {} new hits", many.len()),
    };
    escape_controls_line(&subject).into_owned()
}

/// The plain-text body of an alert e-mail.
pub fn email_body(alerts: &[Alert]) -> String {
    let mut body = String::new();
    for a in alerts {
        body.push_str(&a.line());
        body.push_str(&format!(
            "\nhit {} · mimamori evidence export {}\n\n",
            a.hit_id, a.hit_id
        ));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A crawled URL written to take over the channel.
    const HOSTILE_URL: &str = "data:,<!channel> <https://evil.example/|…>";

    fn alert(url: &str, matched: &str) -> Alert {
        Alert {
            idempotency_key: "k".into(),
            hit_id: 7,
            target: "yamada".into(),
            categories: vec!["defamation".into()],
            severity: 80,
            pii: vec![],
            matched: vec![format!("defamation:詐欺: 「{matched}」")],
            url: url.into(),
            posted_at: None,
            deadline: None,
        }
    }

    #[test]
    fn slack_text_cannot_mention_or_link() {
        let body = slack(&[alert(HOSTILE_URL, "<@U123> & [x](https://evil.example)")]);
        let text = body["text"].as_str().unwrap_or_default();
        assert!(!text.contains('<') && !text.contains('>'), "{text}");
        assert!(text.contains("&lt;!channel&gt;"), "{text}");
        assert!(text.contains("&lt;@U123&gt; &amp; "), "{text}");
        assert_eq!(body["unfurl_links"], false);
        // Our own link: an http(s) URL, its `|` encoded so no label can be smuggled in.
        let body = slack(&[alert(
            "https://egg.5ch.net/test/read.cgi/x/1/?a=1|b",
            "詐欺",
        )]);
        let text = body["text"].as_str().unwrap_or_default();
        assert!(
            text.contains("<https://egg.5ch.net/test/read.cgi/x/1/?a=1%7Cb>"),
            "{text}"
        );
    }

    #[test]
    fn discord_content_pings_nobody_and_links_nothing() {
        let body = discord(&[alert(
            HOSTILE_URL,
            "@everyone @here <@123> [x](https://e.x)",
        )]);
        assert_eq!(body["allowed_mentions"]["parse"], serde_json::json!([]));
        let content = body["content"].as_str().unwrap_or_default();
        for bad in ["@everyone", "@here", "<@", "[x]", "](", "<!", "<https"] {
            assert!(!content.contains(bad), "{bad} in {content}");
        }
        let body = discord(&[alert("https://example.com/a_b", "詐欺")]);
        let content = body["content"].as_str().unwrap_or_default();
        assert!(content.contains("<https://example.com/a_b>"), "{content}");
    }

    #[test]
    fn email_subject_and_body_hold_no_control() {
        let mut a = alert(
            "https://e.x/\r\nBcc: victim@example.jp",
            "x\x1b[2J\u{202E}y",
        );
        a.target = "yamada\r\nBcc: all@example.jp".into();
        let subject = email_subject(std::slice::from_ref(&a));
        assert!(!subject.contains(['\r', '\n']), "{subject}");
        let body = email_body(&[a]);
        assert!(!body.contains(['\r', '\x1b', '\u{202E}']), "{body:?}");
        assert!(body.contains("<U+001B>[2J<U+202E>"), "{body}");
    }
}
