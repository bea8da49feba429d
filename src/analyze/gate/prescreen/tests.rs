//! The prescreen's tests: each tier against the next, on examples and on random posts.

use super::*;

fn role(flags: u8, value: u8) -> CharSpec {
    CharSpec {
        flags,
        anchors: Vec::new(),
        value,
    }
}

/// Groups 桜+花 (both needed) and 𠮷 (astral); あっと; runs of 6 letters spelling "sakura"
/// (its k also from c); the number 8031415926 in a chain of 10, any chain of 12.
fn screen(at: bool) -> Prescreen {
    screen_with_words(at, &[("あっと", "あ".len()), ("ｱｯﾄ", "ｱ".len())])
}

/// [`screen`] with other literal words (their trigger characters get the WORD role).
fn screen_with_words(at: bool, words: &[(&str, usize)]) -> Prescreen {
    Prescreen::new(spec_with_words(at, words))
}

/// The [`Spec`] of [`screen_with_words`].
fn spec_with_words(at: bool, words: &[(&str, usize)]) -> Spec {
    let mut ascii = Vec::new();
    for b in 0u8..128 {
        let c = char::from(b);
        let mut f = 0;
        let mut value = 0;
        if c.is_ascii_digit() {
            f |= DIGIT | RUN;
            value = b - b'0';
        }
        if c.is_ascii_alphabetic() {
            f |= RUN | LETTER;
            value = (b | 0x20) - b'a';
        }
        if matches!(c, ' ' | '-' | '.' | '\t') {
            f |= SEPARATOR | RUN;
        }
        if at && c == '@' {
            f |= PASS;
        }
        if at && (c == 't' || c == 'T') {
            f |= AT_T;
        }
        ascii.push(role(f, value));
    }
    let anchor = |a: u16| CharSpec {
        anchors: vec![a],
        ..CharSpec::default()
    };
    let mut chars = vec![
        ('桜', anchor(0)),
        ('花', anchor(1)),
        ('𠮷', anchor(2)),
        ('\u{3000}', role(SEPARATOR | RUN, 0)),
        ('\u{200B}', role(TRANSPARENT | RUN, 0)),
        ('ー', role(SEPARATOR, 0)),
        ('\u{3099}', anchor(1)),
    ];
    for (w, at) in words {
        if let Some(t) = w[*at..].chars().next()
            && !chars.iter().any(|(c, _)| *c == t)
        {
            chars.push((t, role(WORD, 0)));
        }
    }
    for (i, c) in ('０'..='９').enumerate() {
        chars.push((c, role(DIGIT | RUN, i as u8)));
    }
    for (i, (u, l)) in ('Ａ'..='Ｚ').zip('ａ'..='ｚ').enumerate() {
        chars.push((u, role(RUN | LETTER, i as u8)));
        chars.push((l, role(RUN | LETTER, i as u8)));
    }
    let bit = |c: u8| 1u32 << (c - b'a');
    Spec {
        chars,
        ascii,
        groups: vec![(vec![0, 1], 2, 3), (vec![2], 1, 2)],
        words: words.iter().map(|(w, at)| (w.to_string(), *at)).collect(),
        letters: Some(6),
        keys: vec![vec![
            bit(b's'),
            bit(b'a'),
            bit(b'k') | bit(b'c'),
            bit(b'u'),
            bit(b'r'),
            bit(b'a'),
        ]],
        digits: Some(12),
        numbers: vec![(b"8031415926".to_vec(), 10)],
    }
}

#[test]
fn groups_need_their_distinct_anchors() {
    let p = screen(false);
    assert!(p.pass("夜桜と花見"));
    assert!(p.pass("花、、桜"));
    assert!(!p.pass("夜桜と夜桜"));
    assert!(!p.pass("桜と夜の花"));
    assert!(!p.pass("花より団子"));
    assert!(p.pass("𠮷野家"));
    assert!(p.pass("メール あっと"));
    assert!(!p.pass("あっち"));
    assert!(!p.pass("っと"));
}

#[test]
fn too_many_open_windows_let_the_post_through() {
    let far = "桜と夜の花";
    assert!(!screen(false).pass(far));
    let mut spec = spec_with_words(false, &[]);
    let pair = spec.groups[0].clone();
    spec.groups = vec![pair; MAX_WINDOWS];
    assert!(!Prescreen::new(spec.clone()).pass(far));
    spec.groups.push(spec.groups[0].clone());
    assert!(Prescreen::new(spec).pass(far));
}

#[test]
fn runs_must_hold_enough_letters_that_can_spell_a_key() {
    let p = screen(false);
    assert!(p.pass("ＳＡＫＵＲＡ"));
    assert!(p.pass("Saku ra"));
    assert!(p.pass("ｓａｃｕ　ra"));
    assert!(!p.pass("Ｓａｋｕｒ"));
    assert!(!p.pass("sakur/axxxxx"));
    assert!(!p.pass("sakur、asaxur"));
    assert!(p.pass("x、sakurax"));
    // The letters must come in order: a URL's random letters hold them all, not "sakura".
    assert!(!p.pass("ｒｕｋａｓａ"));
    assert!(!p.pass("https://matome.example.net/kaurasux"));
    assert!(p.pass("https://matome.example.net/xsakkurraa"));
    assert!(!p.pass("matome.example.net"));
}

#[test]
fn chains_must_end_with_a_watched_number_or_be_long() {
    let p = screen(false);
    assert!(p.pass("０８０-3141-5926"));
    assert!(p.pass("080 - 3141 - 5926 まで"));
    assert!(!p.pass("080 -  - 3141 5926"));
    assert!(!p.pass("0120-128-981"));
    assert!(!p.pass("2026-12-02 12:34:56"));
    assert!(p.pass("1234 5678 9012"));
    assert!(!p.pass("今日は晴れ 12:30 www 😀"));
    assert!(!p.pass("a@b"));
}

#[test]
fn at_signs_and_words_only_when_e_mails_are_watched() {
    let p = screen(true);
    assert!(p.pass("a@b"));
    assert!(p.pass("name AT example"));
    assert!(p.pass("name(at)example"));
    assert!(p.pass("名前at"));
    assert!(!p.pass("that is what"));
    assert!(!p.pass("data atom"));
    assert!(!p.pass("あいうえお a t"));
    assert!(p.pass("名前　ａｔ　ドメイン"));
    assert!(p.pass("名前ＡＴ"));
    assert!(p.pass("ｍａｉｌ(ａｔ)"));
    assert!(!p.pass("ｈｔｔｐｓ：／／ｗｉｋｉ．ｅｘａｍｐｌｅ．ｏｒｇ"));
    assert!(!p.pass("ｃａｔ and ａｔｏｍ"));
    assert!(!screen(false).pass("名前　ａｔ　ドメイン"));
}

/// The next number of a xorshift generator (the tests' posts are reproducible).
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Random strings over the characters every tier looks at (anchors, voicing marks,
/// digits, separators, invisible characters, letters, the words, "at", astral characters).
fn random_posts(seed: u64, count: usize) -> Vec<String> {
    const PALETTE: &[&str] = &[
        "桜", "花", "𠮷", "は", "\u{3099}", "あ", "っ", "と", "ア", "ッ", "ト", "ｱ", "ｯ", "ﾄ",
        "い", "0", "8", "3", "1", "4", "5", "9", "2", "6", "０", "８", "-", " ", ".", "\u{3000}",
        "\u{200B}", "ー", "s", "a", "k", "u", "r", "c", "t", "T", "A", "Ｓ", "ａ", "@", "😀", "、",
        "。", "x", "(", ")", "\u{FFFD}",
    ];
    let mut state = seed | 1;
    let mut next = move || xorshift(&mut state);
    (0..count)
        .map(|_| {
            let len = (next() % 40) as usize;
            (0..len)
                .map(|_| PALETTE[(next() % PALETTE.len() as u64) as usize])
                .collect()
        })
        .collect()
}

#[test]
fn the_first_tier_never_changes_the_verdict() {
    let conflicting = [("あっと", "あ".len()), ("いっと", "い".len()), ("ト", 0)];
    let screens = [
        screen(false),
        screen(true),
        screen_with_words(true, &conflicting),
    ];
    let (mut passed, mut total) = (0, 0);
    for (k, p) in screens.iter().enumerate() {
        for post in random_posts(k as u64 + 7, 20_000) {
            let exact = p.exact(post.as_bytes());
            assert_eq!(p.pass(&post), exact, "screen {k}: {post:?}");
            passed += usize::from(exact);
            total += 1;
        }
        // A post too long for the 16-bit lanes goes to the exact passes.
        let long = format!("{}夜桜と花見", "あ".repeat(QUICK_MAX_BYTES));
        assert!(p.pass(&long));
        assert!(!p.pass(&"桜".repeat(QUICK_MAX_BYTES)));
    }
    assert!(
        passed > total / 10 && passed < total * 9 / 10,
        "{passed} of {total}"
    );
}

#[test]
fn signs_need_the_character_before_their_trigger() {
    let p = screen(true);
    assert!(p.pass("ｱｯﾄ"));
    assert!(p.pass("めーる あっと"));
    assert!(!p.pass("ｲｯﾄ"));
    assert!(!p.pass("いっと"));
    let q = screen_with_words(true, &[("あっと", "あ".len()), ("いっと", "い".len())]);
    assert!(q.pass("いっと"));
    assert!(q.pass("あっと"));
    assert!(!q.pass("うっと"));
    // An astral character is no role there, not the BMP character of its low bits.
    assert!(!p.pass(&"\u{1FF10}".repeat(10)));
}

#[test]
fn roles_past_the_first_tiers_table_go_to_the_exact_passes() {
    // 300 characters, each its own role: the first tier's u8 table holds 255 of them.
    let chars: Vec<(char, CharSpec)> = (0..300u32)
        .filter_map(|k| {
            let c = char::from_u32(0x4E00 + k)?;
            let spec = CharSpec {
                flags: RUN,
                anchors: vec![(k % 70) as u16],
                value: (k % 256) as u8,
            };
            Some((c, spec))
        })
        .collect();
    let p = Prescreen::new(Spec {
        chars: chars.clone(),
        ascii: vec![CharSpec::default(); 128],
        groups: vec![(vec![3, 5], 2, 4), (vec![69, 1], 2, 3)],
        ..Spec::default()
    });
    assert!(p.info.len() > 256, "{} roles", p.info.len());
    let mut state = 99u64;
    let (mut passed, mut total) = (0, 0);
    for _ in 0..20_000 {
        let post: String = (0..(state % 12))
            .map(|_| {
                xorshift(&mut state);
                // Mostly the anchors of the groups, so that some posts pass.
                let k = [3, 5, 69, 1, 73, 75, 139, 299, 260][(state % 9) as usize];
                chars[k].0
            })
            .collect();
        let exact = p.exact(post.as_bytes());
        assert_eq!(p.pass(&post), exact, "{post:?}");
        passed += usize::from(exact);
        total += 1;
    }
    assert!(passed > 0 && passed < total, "{passed} of {total}");
}

#[test]
fn the_sparse_test_reads_only_around_the_rarest_anchors() {
    // Group 0 is 桜+花 within 3 letters; 桜 is its rarest member, the voicing mark counts as 花.
    let p = screen(false);
    assert!(p.rare_near("花見の夜桜と花", 0));
    assert!(!p.rare_near("花見の季節、遠い夜の桜", 0));
    assert!(!p.rare_near("花花花花花花花花", 0));
    assert!(p.rare_near("桜ので\u{3099}", 0));
    assert!(!p.rare_near("花が散って、桜の季節の終わりのて\u{3099}", 0));
    assert!(!p.pass("花見の季節、遠い夜の桜"));
    // Wherever the window test passes, the sparse test passes too, marks included.
    for gap in 0..8 {
        let fill = "の".repeat(gap);
        for post in [
            format!("桜{fill}花"),
            format!("花{fill}桜"),
            format!("桜{fill}て\u{3099}"),
            format!("て\u{3099}{fill}桜"),
        ] {
            assert!(!p.pass(&post) || p.rare_near(&post, 0), "{post}");
            if gap <= 2 {
                assert!(p.pass(&post) && p.rare_near(&post, 0), "{post}");
            }
            if gap >= 5 {
                assert!(!p.rare_near(&post, 0), "{post}");
            }
        }
    }
}
