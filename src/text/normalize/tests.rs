//! Tests of the normalization steps, shared tables and the offset map.

use super::*;

/// Collects pieces: the end of a chain in tests.
impl Step for Vec<Piece> {
    type Out = Vec<Piece>;
    fn put(&mut self, p: Piece) {
        self.push(p);
    }
    fn finish(self) -> Vec<Piece> {
        self
    }
}

/// Cases no step changes (every step's table also runs these).
#[rustfmt::skip]
const UNCHANGED: &[&str] = &[
    "", "山田商事", "Yamada Shoji", "東京都港区1-2-3", "hanako@example.com", "ラーメン",
    "a\nb", "ヤマダ商事の営業はカス", "「山田」、『商事』。", "090 2345 6789",
];

#[rustfmt::skip]
const STRIP: &[(&str, &str)] = &[
    ("a\u{200B}b", "ab"), ("山\u{FEFF}田\u{200C}商\u{200D}事", "山田商事"), ("葛\u{E0100}城", "葛城"),
    ("👨\u{200D}👩\u{200D}👧", "👨👩👧"), ("❤\u{FE0F}", "❤"), ("soft\u{AD}hyphen", "softhyphen"),
    ("\u{202E}abc\u{202C}\u{2066}d\u{2069}", "abcd"), ("\u{2060}\u{2061}\u{2062}\u{2063}\u{2064}", ""),
    ("詐\u{061C}欺", "詐欺"), ("詐\u{200E}欺\u{200F}", "詐欺"),
];

/// Step 0 alone: runs under a right-to-left override in display order (controls still in).
#[rustfmt::skip]
const OVERRIDES: &[(&str, &str)] = &[
    ("は\u{202E}欺詐\u{202C}だ", "は詐欺だ"), ("\u{202E}事商田山", "山田商事"),
    ("a\u{202E}bc\nde", "acb\nde"), ("\u{202E}e\u{301}x\u{202C}", "xe\u{301}"),
    ("\u{202E}a\u{202D}bc\u{202C}d\u{202C}e", "dcbae"), ("\u{202E}\u{202C}x", "x"),
    ("\u{202C}ab", "\u{202C}ab"), ("\u{202B}ab\u{202C}", "\u{202B}ab\u{202C}"),
    ("\u{202E}12-34\r\n", "43-21\r\n"),
];

#[rustfmt::skip]
const NFKC: &[(&str, &str)] = &[
    ("ﾔﾏﾀﾞ", "ヤマダ"), ("ﾊﾟﾝ", "パン"), ("ｶﾞｷﾞｸﾞｹﾞｺﾞ", "ガギグゲゴ"), ("ｳﾞ", "ヴ"),
    ("０９０２３４５６７８９", "09023456789"), ("Ｙａｍａｄａ", "Yamada"), ("＠", "@"),
    ("①②⑳", "1220"), ("㈱山田", "(株)山田"), ("e\u{301}", "é"), ("\u{301}a", "\u{301}a"),
    ("か\u{3099}", "が"), ("\u{1100}\u{1161}\u{11A8}", "각"), ("…", "..."), ("\u{3000}", " "),
    ("ｰ－﹣", "ｰ－﹣"), ("か゛", "か゛"), ("ﾞ", "\u{3099}"), ("ｱｲｳｴｵ｡｢｣､･", "アイウエオ。「」、・"),
    ("ｱﾞﾝﾟﾞ", "ア\u{3099}ン\u{309A}\u{3099}"), ("ﾊﾞ\u{301}", "バ\u{301}"), ("ｰ\u{301}", "ｰ\u{301}"),
];

#[rustfmt::skip]
const DASHES: &[(&str, &str)] = &[
    ("ラ—メン", "ラーメン"), ("ラ−メン", "ラーメン"), ("ラｰメン", "ラーメン"), ("ラ－メン", "ラーメン"),
    ("ラ─メン", "ラーメン"), ("ラーーーメン", "ラーメン"), ("すごーーい", "すごーい"),
    ("すご〜〜い", "すご~~い"), ("a−b", "a-b"), ("3‐2‐1", "3-2-1"), ("090—1234", "090-1234"),
    ("ｰ", "-"), ("─━", "--"), ("ラ-メン", "ラ-メン"), ("漢ーー", "漢ー"), ("∼∾〜〰～~", "~~~~~~"),
];

#[rustfmt::skip]
const SPACES: &[(&str, &str)] = &[
    ("山 田 商 事 は 倒 産 寸 前", "山田商事は倒産寸前"), ("a  b", "a b"), ("  a  ", "a"),
    ("a\r\nb", "a\nb"), ("a\rb\u{2028}c", "a\nb\nc"), ("a \n b", "a\nb"), ("a\r \nb", "a\n\nb"),
    ("山田 abc", "山田abc"), ("abc 山田", "abc山田"), ("a\tb\u{A0}c\u{3000}d", "a b c d"),
    ("\n\n", "\n\n"), ("山田 \t 商事", "山田商事"), ("ー ー", "ー"), ("Привет мир", "Привет мир"),
    ("山田 Привет", "山田 Привет"), ("「山田」 です", "「山田」です"), ("a\r\r\n", "a\n\n"),
];

/// `normalize` end to end.
#[rustfmt::skip]
const FULL: &[(&str, &str)] = &[
    ("山 田 商 事 は 倒 産 寸 前", "山田商事は倒産寸前"), ("ﾔﾏﾀﾞ商事の営業はカス", "ヤマダ商事の営業はカス"),
    ("０９０２３４５６７８９", "09023456789"), ("Ｙａｍａｄａ　Ｓｈｏｊｉ", "Yamada Shoji"),
    ("ﾗｰﾒﾝ", "ラーメン"), ("ラ ー メ ン", "ラーメン"), ("ラー ー", "ラー"), ("ﾊ\u{200B}ﾞｶ", "バカ"),
    ("山\u{200B}田\u{200B}商\u{200B}事", "山田商事"), ("  山田商事　\r\n  詐欺  ", "山田商事\n詐欺"),
    ("０９０－２３４５－６７８９", "090-2345-6789"), ("ＴＥＬ：０９０ ２３４５", "TEL:090 2345"),
    ("ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "hanako@example.com"), ("㈱山田 ①", "(株)山田1"),
    ("\u{301}", "\u{301}"), ("", ""), ("   ", ""), ("👨\u{200D}👩 ok", "👨👩 ok"),
    ("山田商事は\u{202E}欺詐\u{202C}", "山田商事は詐欺"), ("\u{202E}事商田山\u{202C}は詐欺", "山田商事は詐欺"),
    ("詐\u{200B}欺", "詐欺"), ("詐\u{2060}欺\u{FEFF}", "詐欺"), ("\u{202E}ﾞﾀﾞｶ", "ガダ"),
];

fn text_of(p: &[Piece]) -> String {
    p.iter().map(|p| p.ch).collect()
}

/// Runs one step's table (plus the shared unchanged cases), checking its pieces too.
fn run_table<S: Step<Out = Vec<Piece>>>(step: impl Fn() -> S, table: &[(&str, &str)]) {
    for (input, want) in table
        .iter()
        .copied()
        .chain(UNCHANGED.iter().map(|&s| (s, s)))
    {
        let pieces = feed(step(), input);
        let mut last = 0;
        for p in &pieces {
            let (s, e) = (p.start as usize, p.end as usize);
            assert!(s < e && e <= input.len() && s >= last, "{input:?}: {p:?}");
            assert!(
                input.is_char_boundary(s) && input.is_char_boundary(e),
                "{input:?}"
            );
            last = s;
        }
        assert_eq!(text_of(&pieces), want, "input {input:?}");
    }
}

#[test]
fn step_reverse_overrides() {
    run_table(|| ReverseOverrides::new(Vec::new()), OVERRIDES);
}

/// Every char of a reversed run points at the whole run: a highlight of 詐欺 covers the
/// override through its PDF, and what is before and after keeps its own place.
#[test]
fn a_reversed_run_maps_to_the_whole_run() {
    let input = "山田商事は\u{202E}欺詐\u{202C}です";
    let n = normalize(input);
    assert_eq!(n.text, "山田商事は詐欺です");
    let fraud = n.text.find("詐欺").unwrap_or(0);
    assert_eq!(
        &input[n.original_range(fraud..fraud + "詐欺".len())],
        "\u{202E}欺詐\u{202C}"
    );
    assert_eq!(&input[n.original_range(0..12)], "山田商事");
    let desu = n.text.find("です").unwrap_or(0);
    assert_eq!(&input[n.original_range(desu..n.text.len())], "です");
}

#[test]
fn step_strip_format() {
    run_table(|| StripFormat(Vec::new()), STRIP);
}

#[test]
fn step_nfkc() {
    run_table(|| Nfkc::new(Vec::new()), NFKC);
}

#[test]
fn step_unify_dashes() {
    run_table(|| UnifyDashes::new(Vec::new()), DASHES);
}

#[test]
fn step_collapse_spaces() {
    run_table(|| CollapseSpaces::new(Vec::new()), SPACES);
}

#[test]
fn normalize_table() {
    for &(input, want) in FULL {
        let n = normalize(input);
        assert_eq!(n.text, want, "input {input:?}");
        check_map(input, &n);
    }
}

#[test]
fn fast_path_is_identity() {
    for &s in UNCHANGED {
        assert!(is_already_normal(s), "{s:?}");
        assert_eq!(normalize(s), Normalized::identity(s));
    }
    for s in [
        "a  b", " a", "a ", "山 田", "ーー", "ｱ", "a\r\n", "a\tb", "〜", "a\u{301}",
    ] {
        assert!(!is_already_normal(s), "{s:?}");
    }
}

/// A context-free class of a char, to check a char against its origin alone.
fn class(c: char) -> char {
    match c {
        c if is_dash(c) || c == '-' || c == 'ー' => '-',
        c if is_tilde(c) => '~',
        c if is_newline(c) => '\n',
        c if c.is_whitespace() => ' ',
        c => c,
    }
}

/// Every normalized char's original range is sane, and its origin (NFKC'd alone) holds it.
fn check_map(input: &str, n: &Normalized) {
    assert_eq!(n.map.len(), n.text.len() + 1);
    assert_eq!(n.original_offset(n.text.len()), input.len());
    let mut last = 0;
    for (i, c) in n.text.char_indices() {
        let r = n.original_range(i..i + c.len_utf8());
        assert!(
            r.start < r.end && r.end <= input.len() && r.start >= last,
            "{input:?} {r:?}"
        );
        assert!(input.is_char_boundary(r.start) && input.is_char_boundary(r.end));
        last = r.start;
        let slice = &input[r];
        let origin = feed(
            ReverseOverrides::new(StripFormat(Nfkc::new(Vec::new()))),
            slice,
        );
        let ok = origin.iter().any(|p| class(p.ch) == class(c))
            || (c == ' ' && slice.chars().all(|o| !o.is_alphanumeric()));
        assert!(ok, "{input:?}: {c:?} at {i} maps to {slice:?}");
    }
}

/// Strings from a small xorshift over an alphabet of troublesome pieces.
fn random_strings(count: usize) -> Vec<String> {
    #[rustfmt::skip]
    const ALPHABET: &[&str] = &[
        "a", "Z", "0", " ", "  ", "\u{3000}", "\t", "\n", "\r\n", "\r", "山", "田", "や", "マ",
        "ﾔ", "ﾏ", "ﾀ", "ﾞ", "ﾟ", "ｰ", "ー", "—", "−", "－", "-", "~", "〜", "・", "･", ".", "_",
        "\u{200B}", "\u{200D}", "\u{FE0F}", "\u{E0100}", "\u{301}", "\u{3099}", "゛", "e", "Ａ",
        "１", "①", "㈱", "…", "👨", "❤", "\u{1100}", "\u{1161}", "\u{11A8}", "가", "Я", "\u{A0}",
        "\u{2028}", "、", "。", "ｶ", "ﾊ", "ｳ", "ｱ", "！", "\u{FEFF}", "ﬁ", "½", "﹣", "─",
        "\u{202E}", "\u{202C}", "\u{202D}", "\u{061C}", "\u{2067}",
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as usize
    };
    let mut one = move || {
        (0..next() % 24)
            .map(|_| ALPHABET[next() % ALPHABET.len()])
            .collect()
    };
    (0..count).map(|_| one()).collect()
}

#[test]
fn offset_map_property() {
    let tables = FULL
        .iter()
        .map(|&(s, _)| s)
        .chain(UNCHANGED.iter().copied());
    for input in tables.map(str::to_owned).chain(random_strings(3000)) {
        let n = normalize(&input);
        check_map(&input, &n);
        check_map(&input, &compact(&n));
        assert_eq!(
            normalize(&n.text).text,
            n.text,
            "not idempotent for {input:?}"
        );
        if !input.chars().any(is_nfkc_exempt) {
            let nfkc = feed(Nfkc::new(Vec::new()), &input);
            assert_eq!(
                text_of(&nfkc),
                input.nfkc().collect::<String>(),
                "{input:?}"
            );
        }
    }
}

#[test]
fn original_range_ends_at_last_char() {
    let input = "山\u{200B}田 \u{200B}商事";
    let n = normalize(input);
    assert_eq!(n.text, "山田商事");
    assert_eq!(&input[n.original_range(0..3)], "山");
    assert_eq!(&input[n.original_range(0..6)], "山\u{200B}田");
    assert_eq!(&input[n.original_range(6..12)], "商事");
    assert_eq!(n.original_offset(3), 6);
    // Mid-char and out-of-range bounds widen / clamp instead of panicking.
    assert_eq!(&input[n.original_range(1..4)], "山\u{200B}田");
    assert_eq!(n.original_range(10..99), n.original_range(9..12));
    let (five, two) = (5, 2);
    assert_eq!(n.original_range(five..two), 0..0);
    assert_eq!(normalize("ｶﾞｽ").original_range(0..3), 0..6);
    assert_eq!(normalize("㈱x").original_range(1..4), 0..3);
    assert_eq!(Normalized::identity("abc").original_range(1..2), 1..2);
}

#[test]
fn compact_table() {
    #[rustfmt::skip]
    let table = [
        ("山.田.商.事", "山田商事"), ("山_田_商_事", "山田商事"), ("山・田・商・事", "山田商事"),
        ("山／田｜商＊事", "山田商事"), ("ヤ-マ-ダ", "ヤマダ"), ("山 / 田", "山田"),
        ("Y.a.m.a.d.a Shoji", "YamadaShoji"), ("山田☆商事", "山田商事"), ("山田、", "山田、"),
        ("090-2345-6789", "090-2345-6789"), ("日吉3-2-1", "日吉3-2-1"), ("・山田", "・山田"),
        ("山田\n商事", "山田\n商事"), ("", ""), ("山 .\u{200B}田", "山田"),
    ];
    for (input, want) in table {
        let c = compact(&normalize(input));
        assert_eq!(c.text, want, "input {input:?}");
        check_map(input, &c);
    }
    let input = "山 . 田";
    let c = compact(&normalize(input));
    assert_eq!(&input[c.original_range(0..6)], input);
    assert_eq!(&input[c.original_range(0..3)], "山");
}

#[test]
fn fold_keeps_byte_length() {
    #[rustfmt::skip]
    let table = [
        ("ヤマダ商事", "やまだ商事"), ("YAMADA shoji", "yamada shoji"), ("ＡＢＣ", "ＡＢＣ"),
        ("ヴヵヶヽヾー", "ゔゕゖゝゞー"), ("ㇰヷ", "ㇰヷ"),
    ];
    for (input, want) in table {
        assert_eq!(fold(input), want);
    }
    for s in random_strings(500) {
        let n = normalize(&s);
        assert_eq!(fold(&n.text).len(), n.text.len());
    }
}

#[test]
fn never_panics_on_large_or_odd_input() {
    let unit = "ﾔﾏﾀﾞ商事の営業は　カス！！ ０９０－２３４５－６７８９ ラ—メン\r\n";
    let mixed = unit.repeat(1_000_000 / unit.len());
    assert!(normalize(&mixed).text.len() < mixed.len());
    check_map(&mixed[..2000], &normalize(&mixed[..2000]));
    let marks = "\u{301}".repeat(300_000);
    assert_eq!(normalize(&marks).text.chars().count(), 300_000);
    let plain = "山田商事は倒産寸前".repeat(40_000);
    assert_eq!(normalize(&plain).text, plain);
    let _ = compact(&normalize(&"山.田 ".repeat(100_000)));
}
