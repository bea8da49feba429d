//! Parsing of realistic RDAP answers (JPRS domain, a registrar's redacted .net answer, an
//! APNIC/JPNIC network), the bootstrap files and the text report; no I/O.

use super::*;

const JPRS: &str = include_str!("../../tests/fixtures/rdap/jprs-domain.json");
const REDACTED: &str = include_str!("../../tests/fixtures/rdap/registrar-net.json");
const JPNIC: &str = include_str!("../../tests/fixtures/rdap/apnic-jpnic-ip.json");

#[test]
fn a_jprs_domain_gives_operator_registrar_and_the_nested_abuse_contact() {
    let r = Record::parse(JPRS.as_bytes()).expect("parse");
    assert!(!r.is_network());
    assert_eq!(r.ldh_name.as_deref(), Some("example-shop.co.jp"));
    assert_eq!(
        r.nameservers,
        ["ns1.example-dns.jp", "ns2.example-dns.jp"],
        "lower-cased, the one without a name skipped"
    );
    let s = r.summary();
    let op = s.operator.as_ref().expect("registrant");
    assert_eq!(op.org.as_deref(), Some("株式会社サンプル商店"));
    assert_eq!(op.address.as_deref(), Some("東京都千代田区神田1-2-3"));
    let registrar = s.registrar.as_ref().expect("registrar");
    assert_eq!(registrar.name.as_deref(), Some("Example Registrar K.K."));
    assert_eq!(registrar.ids, ["JPRS Designated Registrar: 42"]);
    assert_eq!(s.abuse.len(), 1);
    let abuse = &s.abuse[0];
    assert_eq!(abuse.emails, ["abuse@example-registrar.jp"]);
    assert_eq!(abuse.phones, ["+81-3-5555-0199"]);
    assert_eq!(abuse.within, ["registrar"]);
    let tech = r.contact("administrative").expect("admin");
    assert_eq!(tech.phones, ["+81-3-5555-0100"]);
    assert_eq!(s.registered.as_deref(), Some("2009-04-01T00:00:00+09:00"));
    assert_eq!(s.expires, None);
    assert!(r.remarks.iter().any(|m| m.starts_with("Terms of Use: ")));
    assert_eq!(r.port43.as_deref(), Some("whois.jprs.jp"));
}

#[test]
fn redactions_are_kept_and_said_and_odd_shapes_are_skipped() {
    let r = Record::parse(REDACTED.as_bytes()).expect("parse");
    let s = r.summary();
    let op = s.operator.as_ref().expect("registrant");
    assert_eq!(op.name.as_deref(), Some("REDACTED FOR PRIVACY"));
    assert!(is_redacted(op.name.as_deref().unwrap_or_default()));
    assert_eq!(op.org.as_deref(), Some("Loki Technology, Inc."));
    assert_eq!(op.address.as_deref(), Some("PH"));
    assert_eq!(
        s.redacted,
        [
            "Registrant Name (replacementValue: Server policy)",
            "Registrant Email (replacementValue)"
        ]
    );
    // The abuse contact with an empty fn has no name, but its e-mail and phone.
    assert_eq!(s.abuse.len(), 1);
    assert_eq!(s.abuse[0].name, None);
    assert_eq!(s.abuse[0].phones, ["+1.4805058800"]);
    // `roles` as a string, a vcardArray that is not one, a string entity: no crash.
    let tech = r.contact("technical").expect("technical");
    assert!(tech.emails.is_empty() && tech.name.is_none());
    assert_eq!(r.contacts.len(), 4);
    assert_eq!(s.expires.as_deref(), Some("2027-09-12T04:12:00Z"));

    let report = Report {
        input: "https://hayabusa9.5ch.net/".into(),
        query: Query::parse("https://hayabusa9.5ch.net/").expect("query"),
        url: "http://127.0.0.1/domain/5ch.net".into(),
        fetched_at: "2026-11-30T03:34:00Z".into(),
        summary: s,
    };
    let text = report.text();
    for want in [
        "5ch.net (registrable domain of hayabusa9.5ch.net)",
        "redacted (REDACTED FOR PRIVACY) · Loki Technology, Inc. · e-mail redacted (REDACTED FOR PRIVACY)",
        "Example Registrar LLC · e-mail not published",
        "e-mail abuse@registrar.example · phone +1.4805058800 [under registrar]",
        "ns1.cloudflare.example, ns2.cloudflare.example",
        "Registrant Name (replacementValue: Server policy)",
    ] {
        assert!(text.contains(want), "{want:?} not in\n{text}");
    }
}

#[test]
fn a_jpnic_network_gives_its_owner_range_and_both_abuse_contacts() {
    let r = Record::parse(JPNIC.as_bytes()).expect("parse");
    assert!(r.is_network());
    let s = r.summary();
    let net = s.network.as_ref().expect("network");
    assert_eq!(net.name.as_deref(), Some("EXAMPLE-BB-NET"));
    assert_eq!(net.range.as_deref(), Some("203.0.0.0 - 203.0.255.255"));
    assert_eq!(net.country.as_deref(), Some("JP"));
    let owner = s.operator.as_ref().expect("owner");
    assert_eq!(
        owner.org.as_deref(),
        Some("株式会社エグザンプル・ブロードバンド")
    );
    assert_eq!(
        owner.address.as_deref(),
        Some("1-2-3 Otemachi, Chiyoda-ku, Tokyo, 100-0004, JP")
    );
    let emails: Vec<&str> = s
        .abuse
        .iter()
        .flat_map(|a| a.emails.iter().map(String::as_str))
        .collect();
    assert_eq!(emails, ["hostmaster@nic.ad.jp", "abuse@example-bb.ne.jp"]);
    assert_eq!(s.abuse[1].within, ["registrant"]);
    assert_eq!(s.abuse[1].phones, ["+81-3-5555-0111"]);
    assert!(r.remarks.iter().any(|m| m.contains("managed by JPNIC")));
}

#[test]
fn not_rdap_is_an_error_never_a_panic() {
    for (body, want) in [
        (&b"{not json"[..], "not JSON"),
        (b"[1,2]", "not an object"),
        (b"\"text\"", "not an object"),
        (b"{}", "no objectClassName"),
        (
            br#"{"errorCode":404,"title":"Not Found","description":["no such domain"]}"#,
            "RDAP error response 404: Not Found no such domain",
        ),
        (&[0xff, 0xfe, 0x00][..], "not JSON"),
    ] {
        let err = Record::parse(body).expect_err("not a record");
        assert!(err.contains(want), "{err}");
    }
    // Deep nesting stops at MAX_DEPTH instead of recursing without end.
    let mut deep = String::from(r#"{"objectClassName":"domain","ldhName":"x.jp""#);
    for _ in 0..50 {
        deep.push_str(r#","entities":[{"roles":["abuse"]"#);
    }
    deep.push_str(&"}]".repeat(50));
    deep.push('}');
    let r = Record::parse(deep.as_bytes()).expect("deep");
    assert_eq!(r.contacts.len(), record::MAX_DEPTH);
}

#[test]
fn bootstrap_picks_the_longest_match_and_https() {
    let dns = br#"{"version":"1.0","services":[
        [["jp"],["http://rdap.example/jp/","https://rdap.example/jp/"]],
        [["co.jp"],["https://rdap.example/cojp/"]],
        [["net","com"],["https://rdap.example/verisign/"]],
        "junk", [[], ["https://x/"]], [["org"], ["ftp://x/"]]
    ]}"#;
    let services = parse_bootstrap(dns).expect("dns.json");
    assert_eq!(
        services.len(),
        3,
        "junk, empty and ftp-only services dropped"
    );
    let base = |d: &str| best_domain_service(&services, d).map(|u| u[0].to_string());
    assert_eq!(
        base("example.jp").as_deref(),
        Some("http://rdap.example/jp/")
    );
    assert_eq!(
        base("example.co.jp").as_deref(),
        Some("https://rdap.example/cojp/")
    );
    assert_eq!(
        base("5ch.net").as_deref(),
        Some("https://rdap.example/verisign/")
    );
    assert_eq!(base("example.org"), None);
    assert_eq!(base("notjp"), None);

    let v4 = br#"{"services":[[["202.0.0.0/7","203.0.0.0/8"],["https://rdap.apnic.example/"]],
        [["203.0.0.0/16"],["https://rdap.jpnic.example/"]], [["bad/99","x"],["https://y/"]]]}"#;
    let services = parse_bootstrap(v4).expect("ipv4.json");
    let ip =
        |a: &str| best_ip_service(&services, a.parse().expect("addr")).map(|u| u[0].to_string());
    assert_eq!(
        ip("203.0.5.6").as_deref(),
        Some("https://rdap.jpnic.example/")
    );
    assert_eq!(
        ip("203.9.5.6").as_deref(),
        Some("https://rdap.apnic.example/")
    );
    assert_eq!(
        ip("202.11.16.10").as_deref(),
        Some("https://rdap.apnic.example/")
    );
    assert_eq!(ip("8.8.8.8"), None);
    assert_eq!(ip("2001:db8::1"), None);
    assert!(prefix_contains("2001:db8::/32", "2001:db8::1".parse().expect("v6")) == Some(32));
    assert!(prefix_contains("0.0.0.0/0", "8.8.8.8".parse().expect("v4")) == Some(0));

    for bad in [&b"nope"[..], b"{}", b"{\"services\":3}"] {
        assert!(parse_bootstrap(bad).is_err());
    }
}

#[test]
fn servers_prefer_flags_then_the_table() {
    let table = WhoisConfig {
        bootstrap: Some("https://boot.example/rdap".into()),
        rdap: None,
        capture: None,
    };
    let fixed = |u: &str| Servers::Fixed(Url::parse(u).expect("url"));
    let boot = |u: &str| Servers::Bootstrap(Url::parse(u).expect("url"));
    assert_eq!(
        Servers::choose(Some("http://127.0.0.1:9/rdap"), Some("http://x/"), &table).expect("rdap"),
        fixed("http://127.0.0.1:9/rdap/")
    );
    assert_eq!(
        Servers::choose(None, Some("http://127.0.0.1:9"), &table).expect("bootstrap"),
        boot("http://127.0.0.1:9/")
    );
    assert_eq!(
        Servers::choose(None, None, &table).expect("table"),
        boot("https://boot.example/rdap/")
    );
    assert_eq!(
        Servers::choose(None, None, &WhoisConfig::default()).expect("default"),
        boot(DEFAULT_BOOTSTRAP)
    );
    assert!(Servers::choose(Some("ftp://x/"), None, &table).is_err());
    assert!(Servers::choose(None, Some("not a url"), &table).is_err());
}
