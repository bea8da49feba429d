use super::*;
use PiiKind::*;

/// One expected value: kind, the text it covers, its normalized form.
type Want = (PiiKind, &'static str, &'static str);

/// Texts that hold exactly the listed values.
const POSITIVE: &[(&str, &[Want])] = &[
    // phone
    (
        "こいつの番号 090-2345-6789 晒す",
        &[(Phone, "090-2345-6789", "09023456789")],
    ),
    (
        "佐藤の携帯 +81 90 2345 6789",
        &[(Phone, "+81 90 2345 6789", "09023456789")],
    ),
    (
        "連絡は+81-3-1234-5678まで",
        &[(Phone, "+81-3-1234-5678", "0312345678")],
    ),
    (
        "+81(0)90-2345-6789に電話しろ",
        &[(Phone, "+81(0)90-2345-6789", "09023456789")],
    ),
    ("+819023456789", &[(Phone, "+819023456789", "09023456789")]),
    (
        "実家の電話 03(1234)5678 らしい",
        &[(Phone, "03(1234)5678", "0312345678")],
    ),
    (
        "藤沢の店 0466-12-3456 に凸しようぜ",
        &[(Phone, "0466-12-3456", "0466123456")],
    ),
    (
        "045-123-4567（自宅）",
        &[(Phone, "045-123-4567", "0451234567")],
    ),
    (
        "ｹｰﾀｲ ０８０－１２３４－５６７８ やで",
        &[(Phone, "０８０－１２３４－５６７８", "08012345678")],
    ),
    (
        "電話番号は09012345678です",
        &[(Phone, "09012345678", "09012345678")],
    ),
    (
        "090ー2345ー6789に鬼電",
        &[(Phone, "090ー2345ー6789", "09023456789")],
    ),
    ("070.1234.5678", &[(Phone, "070.1234.5678", "07012345678")]),
    ("TEL:0312345678", &[(Phone, "0312345678", "0312345678")]),
    ("TEL0312345678", &[(Phone, "0312345678", "0312345678")]),
    ("090 2345 6789", &[(Phone, "090 2345 6789", "09023456789")]),
    (
        "050-1234-5678はIP電話",
        &[(Phone, "050-1234-5678", "05012345678")],
    ),
    (
        "電話 03-1234-5678/090-2345-6789",
        &[
            (Phone, "03-1234-5678", "0312345678"),
            (Phone, "090-2345-6789", "09023456789"),
        ],
    ),
    (
        "2024-01-15 090-2345-6789 書き込み",
        &[(Phone, "090-2345-6789", "09023456789")],
    ),
    (
        "【拡散】山田 09023456789 08012345678",
        &[
            (Phone, "09023456789", "09023456789"),
            (Phone, "08012345678", "08012345678"),
        ],
    ),
    ("(03)1234-5678", &[(Phone, "(03)1234-5678", "0312345678")]),
    (
        "+81 090 1234 5678",
        &[(Phone, "+81 090 1234 5678", "09012345678")],
    ),
    // e-mail
    (
        "メールはhanako.yamada@example.co.jpだって",
        &[(
            Email,
            "hanako.yamada@example.co.jp",
            "hanako.yamada@example.co.jp",
        )],
    ),
    (
        "Hanako@Example.COM に送れ",
        &[(Email, "Hanako@Example.COM", "hanako@example.com")],
    ),
    (
        "連絡先 hanako＠example.com",
        &[(Email, "hanako＠example.com", "hanako@example.com")],
    ),
    (
        "ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｃｏｍ",
        &[(
            Email,
            "ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｃｏｍ",
            "hanako@example.com",
        )],
    ),
    (
        "捨てアドhanako(at)example.com",
        &[(Email, "hanako(at)example.com", "hanako@example.com")],
    ),
    (
        "hanako [at] example [dot] com にスパム送ろうぜ",
        &[(Email, "hanako [at] example [dot] com", "hanako@example.com")],
    ),
    (
        "hanako（ａｔ）example．com",
        &[(Email, "hanako（ａｔ）example．com", "hanako@example.com")],
    ),
    (
        "hanako あっと example.com",
        &[(Email, "hanako あっと example.com", "hanako@example.com")],
    ),
    (
        "taro_99 at example dot co dot jp",
        &[(
            Email,
            "taro_99 at example dot co dot jp",
            "taro_99@example.co.jp",
        )],
    ),
    (
        "09023456789@docomo.ne.jp",
        &[(
            Email,
            "09023456789@docomo.ne.jp",
            "09023456789@docomo.ne.jp",
        )],
    ),
    // address
    (
        "住所 横浜市港北区日吉三丁目2番1号",
        &[(
            Address,
            "横浜市港北区日吉三丁目2番1号",
            "横浜市港北区日吉3-2-1",
        )],
    ),
    (
        "港北区日吉3丁目2-1に住んでる",
        &[(Address, "港北区日吉3丁目2-1", "港北区日吉3-2-1")],
    ),
    (
        "神奈川県横浜市港北区日吉3-2-1 日吉ハイツ101号室",
        &[(
            Address,
            "神奈川県横浜市港北区日吉3-2-1",
            "神奈川県横浜市港北区日吉3-2-1",
        )],
    ),
    (
        "自宅は東京都港区六本木六丁目10番1号",
        &[(
            Address,
            "東京都港区六本木六丁目10番1号",
            "東京都港区六本木6-10-1",
        )],
    ),
    (
        "〒223-0061 神奈川県横浜市港北区日吉３丁目２−１",
        &[(
            Address,
            "神奈川県横浜市港北区日吉３丁目２−１",
            "神奈川県横浜市港北区日吉3-2-1",
        )],
    ),
    (
        "西多摩郡瑞穂町箱根ケ崎2335番地に実家",
        &[(
            Address,
            "西多摩郡瑞穂町箱根ケ崎2335番地",
            "西多摩郡瑞穂町箱根ケ崎2335",
        )],
    ),
    (
        "さいたま市大宮区桜木町1-7-5",
        &[(
            Address,
            "さいたま市大宮区桜木町1-7-5",
            "さいたま市大宮区桜木町1-7-5",
        )],
    ),
    (
        "住所横浜市港北区日吉3-2-1",
        &[(Address, "横浜市港北区日吉3-2-1", "横浜市港北区日吉3-2-1")],
    ),
    (
        "実家神奈川県横浜市港北区日吉3-2-1",
        &[(
            Address,
            "神奈川県横浜市港北区日吉3-2-1",
            "神奈川県横浜市港北区日吉3-2-1",
        )],
    ),
    (
        "千代田区霞が関1-1-1の庁舎",
        &[(Address, "千代田区霞が関1-1-1", "千代田区霞が関1-1-1")],
    ),
    (
        "横浜市港北区日吉二十三番地",
        &[(Address, "横浜市港北区日吉二十三番地", "横浜市港北区日吉23")],
    ),
    (
        "港北区日吉3-2-101号室に住んでる",
        &[(Address, "港北区日吉3-2-101号", "港北区日吉3-2")],
    ),
    (
        "千代田区一番町1-2",
        &[(Address, "千代田区一番町1-2", "千代田区一番町1-2")],
    ),
    (
        "港区三田1-2-3",
        &[(Address, "港区三田1-2-3", "港区三田1-2-3")],
    ),
    (
        "横浜市中区山下町1番地",
        &[(Address, "横浜市中区山下町1番地", "横浜市中区山下町1")],
    ),
    (
        "大阪市北区梅田１－２－３に住む女",
        &[(Address, "大阪市北区梅田１－２－３", "大阪市北区梅田1-2-3")],
    ),
    (
        "港北区日吉123に住んでる",
        &[(Address, "港北区日吉123", "港北区日吉123")],
    ),
    (
        "東京都千代田区丸の内1-9-1",
        &[(
            Address,
            "東京都千代田区丸の内1-9-1",
            "東京都千代田区丸の内1-9-1",
        )],
    ),
    (
        "山田の嫁の実家、横浜市青葉区美しが丘2-15-3らしいぞ",
        &[(
            Address,
            "横浜市青葉区美しが丘2-15-3",
            "横浜市青葉区美しが丘2-15-3",
        )],
    ),
    (
        "札幌市中央区北一条西二丁目1番地",
        &[(
            Address,
            "札幌市中央区北一条西二丁目1番地",
            "札幌市中央区北1条西2-1",
        )],
    ),
    // My Number
    (
        "マイナンバー 1234-5678-9018",
        &[(MyNumber, "1234-5678-9018", "123456789018")],
    ),
    (
        "個人番号123456789018を晒す",
        &[(MyNumber, "123456789018", "123456789018")],
    ),
    (
        "マイナンバー 3456 7890 1234 流出",
        &[(MyNumber, "3456 7890 1234", "345678901234")],
    ),
    // card
    (
        "カード 5520 6677 6123 4588",
        &[(CreditCard, "5520 6677 6123 4588", "5520667761234588")],
    ),
    (
        "カード番号4980-1234-5678-9011 期限12/27",
        &[(CreditCard, "4980-1234-5678-9011", "4980123456789011")],
    ),
    (
        "アメックス 3782 123456 78903",
        &[(CreditCard, "3782 123456 78903", "378212345678903")],
    ),
    (
        "JCB 3540123456789016",
        &[(CreditCard, "3540123456789016", "3540123456789016")],
    ),
    (
        "ダイナース 30012345678907",
        &[(CreditCard, "30012345678907", "30012345678907")],
    ),
    (
        "銀聯 6221 2612 3456 7897",
        &[(CreditCard, "6221 2612 3456 7897", "6221261234567897")],
    ),
    (
        "2221 0012 3456 7896",
        &[(CreditCard, "2221 0012 3456 7896", "2221001234567896")],
    ),
    (
        "6011123456789019",
        &[(CreditCard, "6011123456789019", "6011123456789019")],
    ),
    // bank account
    (
        "三井住友銀行 渋谷支店 普通 1234567",
        &[(BankAccount, "1234567", "1234567")],
    ),
    (
        "口座番号:7654321 に振り込め",
        &[(BankAccount, "7654321", "7654321")],
    ),
    (
        "ゆうちょ銀行 12345-12345678",
        &[(BankAccount, "12345-12345678", "1234512345678")],
    ),
    (
        "振込先 みずほ銀行 新宿支店 123-1234567",
        &[(BankAccount, "123-1234567", "1234567")],
    ),
    ("信金の口座 0012345", &[(BankAccount, "0012345", "0012345")]),
    // several kinds
    (
        "山田花子 090-2345-6789 hanako@example.com 横浜市港北区日吉3-2-1 マイナンバー 1234 5678 9018",
        &[
            (Phone, "090-2345-6789", "09023456789"),
            (Email, "hanako@example.com", "hanako@example.com"),
            (Address, "横浜市港北区日吉3-2-1", "横浜市港北区日吉3-2-1"),
            (MyNumber, "1234 5678 9018", "123456789018"),
        ],
    ),
];

/// Texts where nothing is personal data.
#[rustfmt::skip]
const NEGATIVE: &[&str] = &[
    "フリーダイヤル 0120-000-000", "お問い合わせは0120-123-456まで", "ナビダイヤル 0570-000-111", "0800-123-4567",
    "0990-123-456", "〒223-0061", "郵便番号 223-0061", "2024-01-15 12:30 に投稿", "2024/1/15", "2024.01.15",
    "2024年1月15日 12時30分", "12:30", "v1.2.3", "バージョン 10.0.19041.1234", "価格 12,800円", "1,234,567,890円",
    "マイナンバー 1234-5678-9012", "123456789012", "4111 1111 1111 1111", "4242424242424242",
    "5555-5555-5555-4444", "1111 1111 1111 1111", "101号室", "港北区日吉のラーメン屋", "東京都渋谷区", "東京都渋谷区在住",
    "港区六本木3丁目", "渋谷区役所2階", "1234567", "会員番号 1234567", "銀行に1000000円振り込んだ", "09023456789012",
    "03-1234-5678-9", "ID:abc09023456789", "https://example.com/img/09023456789.jpg", "0000000000",
    "090-0000-0000", "look at example.com", "@yamada_taro おはよう", "3.14159265358979",
    "ID:a1b2c3d4 >>123", "tel 03-1234", "1234 5678 9018 1234", "スレ立て 1705300000",
    "https://egg.5ch.net/test/read.cgi/software/1705300000/", "", "ｗｗｗｗｗ", "山田商事はクソ",
    "JANコード 4901234567894", "銀行員の年収 8000000", "注文番号 0312345678", "お客様番号 0123456789",
    "新宿区で3人逮捕", "港区2-3", "横浜市の人口は377万人", "渋谷区役所 2階", "足立区竹の塚3丁目に出没",
    "大田区の2019年", "第3回口座開設キャンペーン 普通預金 1234567円", "2024-01-15T12:30:00+09:00",
    "192.168.0.1", "ISBN978-4-06-123456-7", "0312345678901", "4980 1234 5678 9011 1234",
    "yamada @example.com", "0123456789",
];

/// Detection results as (kind, text covered, normalized); checks the prefilter on the way.
fn found(text: &str) -> Vec<(PiiKind, &str, String)> {
    let f = detect(text);
    assert!(
        f.is_empty() || might_contain_pii(text),
        "prefilter missed {text:?}"
    );
    f.into_iter()
        .map(|f| {
            (
                f.kind,
                text.get(f.range.clone()).unwrap_or("<bad range>"),
                f.normalized,
            )
        })
        .collect()
}

#[test]
fn positives_found_with_range_and_normalized_form() {
    let mut bad = Vec::new();
    for (text, want) in POSITIVE {
        let want: Vec<(PiiKind, &str, String)> = want
            .iter()
            .map(|&(k, s, n)| (k, s, n.to_string()))
            .collect();
        let got = found(text);
        if got != want {
            bad.push(format!("{text:?}\n  got  {got:?}\n  want {want:?}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn negatives_find_nothing() {
    let bad: Vec<String> = NEGATIVE
        .iter()
        .map(|t| (t, found(t)))
        .filter(|(_, f)| !f.is_empty())
        .map(|(t, f)| format!("{t:?}: {f:?}"))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Every text used by the tests in this module.
fn all_inputs() -> Vec<String> {
    let mut v: Vec<String> = POSITIVE.iter().map(|(t, _)| t.to_string()).collect();
    v.extend(NEGATIVE.iter().map(|t| t.to_string()));
    v.extend(EXTRA.iter().map(|t| t.to_string()));
    v.push(
        POSITIVE
            .iter()
            .map(|(t, _)| *t)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    v
}

/// Texts used in the other tests below.
const EXTRA: &[&str] = &[
    "口座 1234567 と 電話 0312345678 と カード 5520 6677 6123 4588",
    "普通預金 8 7 6 5 4 3 2 1",
    "電話 09023456789 口座1234567",
    "5520667761234588",
    "住所は横浜市港北区日吉三丁目2番1号、電話は045-123-4567、メールはhanako@example.com",
    "\u{0}\u{FFFF}090-2345-6789\u{10FFFF}",
    "＠",
    "at",
    "市1",
];

#[test]
fn prefilter_never_misses_what_detect_finds() {
    for text in all_inputs() {
        if !detect(&text).is_empty() {
            assert!(might_contain_pii(&text), "prefilter missed {text:?}");
        }
    }
    assert!(!might_contain_pii("山田商事はクソ、二度と行かない"));
    assert!(!might_contain_pii("2024年1月15日 12時30分"));
    assert!(!might_contain_pii(""));
}

#[test]
fn one_kind_per_digit_run() {
    let f = found(EXTRA[0]);
    let kinds: Vec<PiiKind> = f.iter().map(|x| x.0).collect();
    assert_eq!(kinds, vec![BankAccount, Phone, CreditCard]);
    // A card is never also a phone or a My Number.
    assert_eq!(
        found(EXTRA[3]),
        vec![(CreditCard, "5520667761234588", "5520667761234588".into())]
    );
    let f = detect(EXTRA[4]);
    let kinds: Vec<PiiKind> = f.iter().map(|x| x.kind).collect();
    assert_eq!(kinds, vec![Address, Phone, Email]);
    for w in f.windows(2) {
        assert!(w[0].range.end <= w[1].range.start);
    }
}

#[test]
fn bank_account_needs_context_nearby() {
    let far = format!("口座{}1234567", "あ".repeat(30));
    assert!(detect(&far).is_empty());
    let near = format!("口座{}1234567", "あ".repeat(10));
    assert_eq!(detect(&near).len(), 1);
    assert_eq!(found("電話 09023456789 口座1234567").len(), 2);
}

#[test]
fn odd_and_huge_inputs_do_not_panic() {
    let odd = [
        EXTRA[5],
        EXTRA[6],
        EXTRA[7],
        EXTRA[8],
        "+",
        "+8",
        "+81",
        "+81 ",
        "+81(0)",
        "0",
        "-0-",
        "〒",
        "市区町村郡1",
        "県県県県市1-1",
        "一二三四五六七八九十百千",
        "丁目番地号1-1",
        "@.",
        "a@b.c",
        "(at)",
        "ー0ー0ー0ー",
        "1ー",
        "１２３４５６７８９０１２３４５６７８９０",
        "e\u{301}\u{301}0312345678",
    ];
    for t in odd {
        let f = detect(t);
        for x in &f {
            assert!(t.get(x.range.clone()).is_some(), "{t:?}");
        }
        if !f.is_empty() {
            assert!(might_contain_pii(t), "{t:?}");
        }
    }
    let pieces = [
        "港北区日吉",
        "3-2-",
        "090-2345-",
        "ｈａｎａｋｏ＠",
        "市",
        "1",
        " ",
        "口座",
        "ー",
        "＋８１",
    ];
    let mut big = String::new();
    let mut i = 0usize;
    while big.len() < 400_000 {
        big.push_str(pieces[(i * 7 + i / 3) % pieces.len()]);
        i += 1;
    }
    let start = std::time::Instant::now();
    let f = detect(&big);
    for x in &f {
        assert!(big.get(x.range.clone()).is_some());
    }
    assert!(might_contain_pii(&big));
    let plain =
        "あ".repeat(300_000) + &"1".repeat(100_000) + &"市".repeat(100_000) + &"-".repeat(100_000);
    assert!(detect(&plain).is_empty());
    assert!(
        start.elapsed().as_secs() < 60,
        "too slow: {:?}",
        start.elapsed()
    );
}

#[test]
fn my_number_check_digit() {
    assert_eq!(
        normalize_value(MyNumber, "1234-5678-9018"),
        Ok("123456789018".into())
    );
    assert_eq!(
        normalize_value(MyNumber, "９８７６ ５４３２ １０９３"),
        Ok("987654321093".into())
    );
    assert!(
        normalize_value(MyNumber, "1234-5678-9012")
            .unwrap_err()
            .contains("check digit")
    );
    assert!(normalize_value(MyNumber, "1234-5678").is_err());
    assert!(found("番号 987654321093").iter().any(|f| f.0 == MyNumber));
    assert!(found("番号 987654321094").is_empty());
}

#[test]
fn normalize_values() {
    let n = |k, v: &str| normalize_value(k, v);
    assert_eq!(n(Phone, "090-2345-6789"), Ok("09023456789".into()));
    assert_eq!(n(Phone, "+81 90 2345 6789"), Ok("09023456789".into()));
    assert_eq!(n(Phone, "+81 (0)3-1234-5678"), Ok("0312345678".into()));
    assert_eq!(
        n(Phone, "０３（１２３４）５６７８"),
        Ok("0312345678".into())
    );
    let e = n(Phone, "12345").unwrap_err();
    assert!(
        e.starts_with("not a phone number: expected 10 or 11 digits starting with 0"),
        "{e}"
    );
    assert!(n(Phone, "0120-123-456").is_err());
    assert!(n(Phone, "090-abcd-6789").is_err());
    assert!(n(Phone, "+1 212 555 0100").is_err());
    assert_eq!(
        n(Email, " Hanako@Example.COM "),
        Ok("hanako@example.com".into())
    );
    assert_eq!(
        n(Email, "hanako(at)example(dot)com"),
        Ok("hanako@example.com".into())
    );
    assert_eq!(
        n(Email, "ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
        Ok("hanako@example.com".into())
    );
    assert!(n(Email, "hanako").is_err());
    assert!(n(Email, "hanako@example").is_err());
    assert_eq!(
        n(Address, "神奈川県横浜市港北区日吉3-2-1"),
        Ok("神奈川県横浜市港北区日吉3-2-1".into())
    );
    assert_eq!(
        n(Address, "神奈川県横浜市港北区日吉三丁目2番1号"),
        Ok("神奈川県横浜市港北区日吉3-2-1".into())
    );
    assert_eq!(
        n(
            Address,
            "〒223-0061 神奈川県 横浜市 港北区 日吉 ３丁目 ２−１ 日吉ハイツ101号室"
        ),
        Ok("神奈川県横浜市港北区日吉3-2-1".into())
    );
    assert_eq!(
        n(Address, "横浜市港北区日吉3丁目2-1 101"),
        Ok("横浜市港北区日吉3-2-1".into())
    );
    assert_eq!(
        n(Address, "東京都港区六本木六丁目10番1号"),
        Ok("東京都港区六本木6-10-1".into())
    );
    assert_eq!(
        n(Address, "横浜市港北区日吉百二番地"),
        Ok("横浜市港北区日吉102".into())
    );
    assert!(n(Address, "東京都渋谷区").is_err());
    assert!(n(Address, "横浜市港北区日吉三丁目").is_err());
    assert_eq!(
        n(CreditCard, "5520 6677 6123 4588"),
        Ok("5520667761234588".into())
    );
    assert!(
        n(CreditCard, "5520 6677 6123 4589")
            .unwrap_err()
            .contains("Luhn")
    );
    assert!(n(CreditCard, "1234").is_err());
    assert_eq!(n(BankAccount, "1234567"), Ok("1234567".into()));
    assert_eq!(n(BankAccount, "12345-12345678"), Ok("1234512345678".into()));
    assert!(n(BankAccount, "12").is_err());
    assert!(n(BankAccount, "12345x7").is_err());
}

#[test]
fn kanji_numbers() {
    for (k, d) in [
        ("三", "3"),
        ("十", "10"),
        ("二十三", "23"),
        ("百", "100"),
        ("百五", "105"),
        ("千二百三十四", "1234"),
        ("二〇一", "201"),
        ("十一", "11"),
        ("05", "5"),
        ("0", "0"),
    ] {
        assert_eq!(address::number_to_ascii(k), d, "{k}");
    }
}

#[test]
fn hash_is_sha256_hex() {
    assert_eq!(
        hash_value(""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        hash_value("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(hash_value("09023456789").len(), 64);
}

/// The single value detected in `text`; checks the prefilter on the way.
fn one(text: &str) -> PiiFound {
    let mut f = detect(text);
    assert!(might_contain_pii(text), "prefilter missed {text:?}");
    assert_eq!(f.len(), 1, "{text:?}: {f:?}");
    f.remove(0)
}

#[test]
fn watched_phone_and_email() {
    let clear = WatchedValue::Clear("09023456789".into());
    let hashed = WatchedValue::Hashed(hash_value("09023456789"));
    for t in [
        "携帯 +81 90 2345 6789",
        "090-2345-6789",
        "０９０（２３４５）６７８９",
    ] {
        let f = one(t);
        assert!(watched_matches(Phone, &clear, &f), "{t}");
        assert!(watched_matches(Phone, &hashed, &f), "{t}");
        assert!(!watched_matches(Email, &clear, &f), "{t}");
    }
    assert!(!watched_matches(Phone, &clear, &one("090-2345-6788")));
    // A clear value that was not normalized yet still matches.
    assert!(watched_matches(
        Phone,
        &WatchedValue::Clear("090-2345-6789".into()),
        &one("09023456789")
    ));
    let f = one("hanako [at] example [dot] com");
    assert!(watched_matches(
        Email,
        &WatchedValue::Clear("hanako@example.com".into()),
        &f
    ));
    assert!(watched_matches(
        Email,
        &WatchedValue::Hashed(hash_value("hanako@example.com").to_uppercase()),
        &f
    ));
    assert!(!watched_matches(
        Email,
        &WatchedValue::Clear("taro@example.com".into()),
        &f
    ));
}

#[test]
fn watched_addresses_allow_a_missing_prefecture_or_city() {
    let full = "神奈川県横浜市港北区日吉3-2-1";
    let clear = WatchedValue::Clear(full.into());
    let hashed = WatchedValue::Hashed(hash_value(full));
    for t in [
        "神奈川県横浜市港北区日吉三丁目2番1号",
        "横浜市港北区日吉3丁目2-1",
        "港北区日吉3-2-1",
        "住所 港北区日吉３ー２ー１",
    ] {
        let f = one(t);
        assert!(watched_matches(Address, &clear, &f), "{t}");
        assert!(watched_matches(Address, &hashed, &f), "{t}");
    }
    for t in [
        "大阪市港北区日吉3-2-1",
        "港北区日吉3-2-2",
        "港北区日吉3-2",
        "港北区矢上3-2-1",
    ] {
        let f = one(t);
        assert!(!watched_matches(Address, &clear, &f), "{t}");
        assert!(!watched_matches(Address, &hashed, &f), "{t}");
    }
    // The watched value may itself leave out the prefecture.
    let short = WatchedValue::Clear("横浜市港北区日吉3-2-1".into());
    assert!(watched_matches(
        Address,
        &short,
        &one("神奈川県横浜市港北区日吉3-2-1")
    ));
    let short_hash = WatchedValue::Hashed(hash_value("横浜市港北区日吉3-2-1"));
    assert!(watched_matches(
        Address,
        &short_hash,
        &one("神奈川県横浜市港北区日吉3-2-1")
    ));
    assert!(watched_matches(
        Address,
        &short_hash,
        &one("港北区日吉3-2-1")
    ));
    // A name glued before the address (normalization drops the space between them).
    for t in ["山田花子横浜市港北区日吉3-2-1", "元カノ港北区日吉3-2-1"] {
        let f = one(t);
        assert!(watched_matches(Address, &clear, &f), "{t}: {f:?}");
        assert!(watched_matches(Address, &hashed, &f), "{t}: {f:?}");
    }
    assert_eq!(
        one("山田花子横浜市港北区日吉3-2-1").normalized,
        "横浜市港北区日吉3-2-1"
    );
    let machida = WatchedValue::Hashed(hash_value("東京都町田市森野2-2-22"));
    assert!(watched_matches(
        Address,
        &machida,
        &one("佐藤町田市森野2-2-22")
    ));
    assert!(!watched_matches(
        Address,
        &machida,
        &one("大和市森野2-2-22")
    ));
    // Tokyo's special wards: prefecture only.
    let tokyo = WatchedValue::Hashed(hash_value("東京都港区六本木6-10-1"));
    assert!(watched_matches(Address, &tokyo, &one("港区六本木6-10-1")));
}

#[test]
fn watched_numbers() {
    let mn = WatchedValue::Hashed(hash_value("123456789018"));
    assert!(watched_matches(
        MyNumber,
        &mn,
        &one("マイナンバー 1234 5678 9018")
    ));
    let card = WatchedValue::Clear("5520667761234588".into());
    assert!(watched_matches(
        CreditCard,
        &card,
        &one("5520-6677-6123-4588")
    ));
    let bank = WatchedValue::Clear("1234567".into());
    assert!(watched_matches(BankAccount, &bank, &one("普通 1234567")));
    assert!(!watched_matches(Phone, &bank, &one("普通 1234567")));
}

#[test]
fn masks_hide_values() {
    assert_eq!(mask(Phone, "09023456789"), "090-****-6789");
    assert_eq!(mask(Phone, "0312345678"), "031-****-5678");
    assert_eq!(mask(Email, "hanako@example.com"), "h****@example.com");
    assert_eq!(
        mask(Address, "神奈川県横浜市港北区日吉3-2-1"),
        "神奈川県横浜市港北区****"
    );
    assert_eq!(mask(Address, "港北区日吉3-2-1"), "港北区****");
    assert_eq!(mask(MyNumber, "123456789018"), "********9018");
    assert_eq!(mask(CreditCard, "5520667761234588"), "**** **** **** 4588");
    assert_eq!(mask(CreditCard, "378212345678903"), "**** **** **** 8903");
    assert_eq!(mask(BankAccount, "1234567"), "****567");
    for k in PiiKind::ALL {
        for v in ["", "1", "@", "日吉", "あいうえお"] {
            let m = mask(k, v);
            assert!(m.contains("****"), "{k}: {v:?} → {m:?}");
        }
    }
}

#[test]
fn kinds_serialize_snake_case() {
    let names: Vec<&str> = PiiKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "phone",
            "email",
            "address",
            "my_number",
            "credit_card",
            "bank_account"
        ]
    );
    for k in PiiKind::ALL {
        let json = serde_json::to_string(&k).unwrap_or_default();
        assert_eq!(json, format!("\"{}\"", k.as_str()));
        assert_eq!(serde_json::from_str::<PiiKind>(&json).ok(), Some(k));
    }
}

#[test]
fn generated_texts_keep_the_invariants() {
    let pieces = [
        "0",
        "9",
        "81",
        "090",
        "2345",
        "6789",
        "12",
        "1234567",
        "+",
        "-",
        ".",
        " ",
        "(",
        ")",
        "ー",
        "−",
        "／",
        ":",
        "０",
        "９",
        "＋",
        "－",
        "　",
        "@",
        "＠",
        "(at)",
        " at ",
        "あっと",
        "[dot]",
        ".com",
        "example",
        "hanako",
        "口座",
        "普通",
        "ゆうちょ",
        "支店",
        "市",
        "区",
        "町",
        "港北",
        "日吉",
        "丁目",
        "番地",
        "番",
        "号",
        "室",
        "の",
        "三",
        "十",
        "百",
        "神奈川県",
        "〒",
        "円",
        "a",
        "Z",
        "_",
        "/",
        "\u{301}",
        "\u{FFFD}",
        "😀",
        "\u{0}",
        "\n",
        "が",
        "丘",
        "条",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    for _ in 0..4000 {
        let len = 1 + next(24);
        let text: String = (0..len).map(|_| pieces[next(pieces.len())]).collect();
        let found = detect(&text);
        for f in &found {
            assert!(text.get(f.range.clone()).is_some(), "{text:?}: {f:?}");
            assert!(!f.normalized.is_empty(), "{text:?}: {f:?}");
        }
        for w in found.windows(2) {
            assert!(w[0].range.end <= w[1].range.start, "{text:?}: {found:?}");
        }
        if !found.is_empty() {
            assert!(
                might_contain_pii(&text),
                "prefilter missed {text:?}: {found:?}"
            );
        }
    }
}

/// The analyzer runs detection on `text::normalize` output (spaces between Japanese characters
/// dropped, dashes unified): the results must be the same as on the text as posted.
#[test]
fn same_results_on_normalized_text() {
    let mut bad = Vec::new();
    for (text, want) in POSITIVE {
        let n = crate::text::normalize::normalize(text);
        let got: Vec<(PiiKind, String)> = detect(&n.text)
            .into_iter()
            .map(|f| (f.kind, f.normalized))
            .collect();
        let want: Vec<(PiiKind, String)> =
            want.iter().map(|&(k, _, v)| (k, v.to_string())).collect();
        if got != want {
            bad.push(format!("{text:?} → {:?}: got {got:?}", n.text));
        }
        assert!(might_contain_pii(&n.text), "{:?}", n.text);
    }
    for text in NEGATIVE {
        let n = crate::text::normalize::normalize(text);
        let got = detect(&n.text);
        if !got.is_empty() {
            bad.push(format!("{text:?} → {:?}: got {got:?}", n.text));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
