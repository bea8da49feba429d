//! Japanese street addresses: `[都道府県] 市区町村 (1–3 levels) 町名 番地`.
//!
//! An address counts only with identifying block numbers: at least two numbers
//! (`3丁目2番`, `2番1号`, `3-2-1`), one number with 番地/番, or a bare digit group right after
//! the town name (`日吉123`). Room numbers and building names are dropped from the
//! normalized form, which is `prefecture + municipalities + town + "n-n-n"`.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

/// The 47 prefectures.
#[rustfmt::skip]
pub(crate) const PREFECTURES: [&str; 47] = [
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県",
    "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県",
    "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県",
    "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県", "香川県", "愛媛県", "高知県", "福岡県",
    "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
];

/// The 20 designated cities (the only cities divided into wards) with their prefecture.
#[rustfmt::skip]
const DESIGNATED_CITIES: [(&str, &str); 20] = [
    ("北海道", "札幌市"), ("宮城県", "仙台市"), ("埼玉県", "さいたま市"), ("千葉県", "千葉市"),
    ("神奈川県", "横浜市"), ("神奈川県", "川崎市"), ("神奈川県", "相模原市"), ("新潟県", "新潟市"),
    ("静岡県", "静岡市"), ("静岡県", "浜松市"), ("愛知県", "名古屋市"), ("京都府", "京都市"),
    ("大阪府", "大阪市"), ("大阪府", "堺市"), ("兵庫県", "神戸市"), ("岡山県", "岡山市"),
    ("広島県", "広島市"), ("福岡県", "北九州市"), ("福岡県", "福岡市"), ("熊本県", "熊本市"),
];

/// Municipalities whose names hold hiragana (the generic pattern takes kanji and katakana).
const HIRAGANA_MUNICIPALITIES: &str = "さいたま市|つくばみらい市|つくば市|いわき市|ひたちなか市|みどり市|あきる野市|かすみがうら市|いちき串木野市|うきは市|みやま市|えびの市|さくら市|むつ市|つがる市|にかほ市|かほく市|あわら市|いなべ市|たつの市|みよし市|ふじみ野市|南さつま市|みなかみ町|ときがわ町|せたな町|みやき町|きやま町";

/// Words that often stand glued before an address and are never the start of a city name.
#[rustfmt::skip]
const LEADING_NOISE: [&str; 24] = [
    "現住所", "旧住所", "新住所", "住所", "自宅", "実家", "本籍地", "本籍", "所在地", "勤務先", "職場",
    "宛先", "送付先", "届け先", "連絡先", "居住地", "住居", "在住", "引越先", "場所", "特定", "判明",
    "家", "宅",
];

/// Characters that end a prefecture or municipality name.
pub(crate) const UNIT_END: &str = "都道府県市区町村郡";

const KANJI_DIGITS: &str = "〇一二三四五六七八九";

fn pattern() -> String {
    let pref = PREFECTURES.join("|");
    let muni = format!(
        r"(?:{HIRAGANA_MUNICIPALITIES}|[\p{{Han}}\p{{Katakana}}ー&&[^県\s]]{{1,7}}?[市区町村郡])"
    );
    // Town: kanji/katakana; hiragana only right before a kanji (丸の内, 美しが丘, 霞が関); a
    // numbered 条/線 (札幌市中央区北1条西).
    let kk = r"[\p{Han}\p{Katakana}ー々〆&&[^県]]";
    let jo = r"[0-9〇一二三四五六七八九十]{1,3}[条線]";
    let town = format!(r"(?:{kk}|{jo})(?:{kk}|{jo}|[ぁ-ゖ]{{1,3}}[\p{{Han}}々]){{0,11}}?");
    let num = r"(?:[0-9]{1,5}|[〇一二三四五六七八九十百千]{1,6})";
    let sep = r"(?:丁目\s?|番地の?|番の?|号|の|[-ー])";
    format!(
        r"(?P<pref>{pref})?(?P<muni>{muni}{{1,3}})(?P<town>{town})(?P<block>{num}{sep}{num}(?:{sep}{num}){{0,4}}(?:丁目|番地|番|号)?|{num}(?:番地|番)|(?P<bare>[0-9]{{1,5}})(?:$|[\s、。,!?」』)】\]>:;/ぁ-ゖ]|\.(?:$|[^0-9])))"
    )
}

static ADDR: LazyLock<Regex> = LazyLock::new(|| Regex::new(&pattern()).expect("address regex"));
static ADDR_AT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("^(?:{})", pattern())).expect("address regex"));
static PREF_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&PREFECTURES.join("|")).expect("prefecture regex"));
static BLOCK_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[0-9]+|[〇一二三四五六七八九十百千]+|丁目|番地|番|号|の|[-ー]")
        .expect("token regex")
});
static TOWN_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([〇一二三四五六七八九十]{1,3})([条線])").expect("town number regex")
});
static POSTAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"〒\s*[0-9]{3}-?[0-9]{4}|^\s*[0-9]{3}-[0-9]{4}\s").expect("postal regex")
});

/// A parsed address.
pub(crate) struct Address {
    /// End of the address text (bytes, relative to where parsing started).
    pub end: usize,
    /// Prefecture + municipalities + town, NFKC.
    pub head: String,
    /// Prefecture + municipalities, NFKC (what a mask keeps).
    pub area: String,
    /// Block numbers as ASCII digits, room numbers dropped.
    pub numbers: Vec<String>,
}

impl Address {
    /// The normalized form.
    pub fn normalized(&self) -> String {
        format!("{}{}", self.head, self.numbers.join("-"))
    }
}

/// Converts a number written in ASCII digits or 漢数字 (二十三, 百五, 二〇一) to ASCII digits.
pub(crate) fn number_to_ascii(s: &str) -> String {
    let value = if s.chars().any(|c| "十百千".contains(c)) {
        let (mut total, mut cur) = (0u64, 0u64);
        for c in s.chars() {
            let unit = match c {
                '十' => 10,
                '百' => 100,
                '千' => 1000,
                _ => {
                    cur = cur * 10 + KANJI_DIGITS.chars().position(|k| k == c).unwrap_or(0) as u64;
                    continue;
                }
            };
            total += cur.max(1) * unit;
            cur = 0;
        }
        (total + cur).to_string()
    } else {
        s.chars()
            .map(|c| match KANJI_DIGITS.chars().position(|k| k == c) {
                Some(d) => char::from(b'0' + d as u8),
                None => c,
            })
            .collect()
    };
    let trimmed = value.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Parses an address starting exactly at the beginning of `t` (folded text).
pub(crate) fn parse_at(t: &str) -> Option<Address> {
    let c = ADDR_AT.captures(t)?;
    let block = c.name("block")?;
    // A bare number's match includes the character after it (checked by the pattern).
    let end = c.name("bare").map_or(block.end(), |b| b.end());
    let block = &t[block.start()..end];
    let next = t[end..].chars().next();
    if next.is_some_and(|ch| ch.is_ascii_digit()) {
        return None;
    }
    // Block numbers: nothing after 号 (a room), at most three; `101号室` at the end is a room.
    let mut numbers = Vec::new();
    let (mut last_marker, mut after_go, mut last_kept) = ("", false, false);
    for tok in BLOCK_TOKEN.find_iter(block) {
        let s = tok.as_str();
        if s.starts_with(|ch: char| {
            ch.is_ascii_digit() || "〇一二三四五六七八九十百千".contains(ch)
        }) {
            last_kept = !after_go && numbers.len() < 3;
            if last_kept {
                numbers.push(number_to_ascii(s));
            }
            last_marker = "";
        } else {
            last_marker = s;
            after_go |= s == "号";
        }
    }
    if t[end..].starts_with('室') && last_marker == "号" && last_kept {
        numbers.pop();
    }
    let identifying = numbers.len() >= 2
        || (numbers.len() == 1
            && (matches!(last_marker, "番地" | "番") || c.name("bare").is_some()));
    if !identifying {
        return None;
    }
    let pref = c.name("pref").map_or("", |m| m.as_str());
    let area: String = format!("{pref}{}", c.name("muni")?.as_str())
        .nfkc()
        .collect();
    let town: String = c.name("town")?.as_str().nfkc().collect();
    let town = TOWN_NUMBER.replace_all(&town, |c: &regex::Captures<'_>| {
        format!("{}{}", number_to_ascii(&c[1]), &c[2])
    });
    let strip = |s: String| {
        s.chars()
            .filter(|ch| !ch.is_whitespace())
            .collect::<String>()
    };
    let area = strip(area);
    Some(Address {
        end,
        head: format!("{area}{}", strip(town.into_owned())),
        area,
        numbers,
    })
}

/// Every address in folded text: (folded byte range, normalized address).
pub(crate) fn detect(t: &str) -> Vec<(Range<usize>, String)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < t.len() {
        let Some(c) = ADDR.captures_at(t, pos) else {
            break;
        };
        let (Some(m), Some(town)) = (c.get(0), c.name("town")) else {
            break;
        };
        let mut start = m.start();
        if c.name("pref").is_none() {
            // Post text often glues a name before the address (`山田花子横浜市港北区…`, spaces
            // between Japanese characters being dropped by normalization): start at a
            // prefecture, else at a designated city, found inside the municipality part.
            let head = &t[start..town.start()];
            let anchor = PREF_RE.find(head).map(|p| p.start()).or_else(|| {
                DESIGNATED_CITIES
                    .iter()
                    .filter_map(|(_, city)| head.find(city))
                    .min()
            });
            if let Some(k) = anchor
                && parse_at(&t[start + k..]).is_some()
            {
                start += k;
            }
        }
        'strip: loop {
            for w in LEADING_NOISE {
                if t[start..].starts_with(w) && parse_at(&t[start + w.len()..]).is_some() {
                    start += w.len();
                    continue 'strip;
                }
            }
            break;
        }
        match parse_at(&t[start..]) {
            Some(a) => {
                out.push((start..start + a.end, a.normalized()));
                pos = start + a.end;
            }
            None => pos = m.start() + t[m.start()..].chars().next().map_or(1, char::len_utf8),
        }
    }
    out
}

/// Normalizes a watchlist address; `Err` says what is missing.
pub(crate) fn normalize(v: &str) -> Result<String, String> {
    let v: String = v.nfkc().map(super::fold::fold_char).collect();
    let v = POSTAL.replace_all(&v, " ");
    // Drop spaces unless they separate two digits ("3-2-1 101" keeps the room apart).
    let chars: Vec<char> = v.trim().chars().collect();
    let mut s = String::with_capacity(v.len());
    for (i, &ch) in chars.iter().enumerate() {
        if ch.is_whitespace() {
            let prev = s.chars().next_back().is_some_and(|p| p.is_ascii_digit());
            let next = chars[i + 1..]
                .iter()
                .find(|c| !c.is_whitespace())
                .is_some_and(char::is_ascii_digit);
            if !(prev && next) {
                continue;
            }
        }
        s.push(ch);
    }
    match parse_at(&s) {
        Some(a) => Ok(a.normalized()),
        None => Err(
            "not an address: expected [prefecture] city/ward + town + block numbers, e.g. 神奈川県横浜市港北区日吉3-2-1"
                .to_string(),
        ),
    }
}

/// Suffixes of a normalized address that start at a prefecture/municipality boundary and are
/// still addresses (with a municipality, town and block numbers), longest first.
fn suffixes(n: &str) -> Vec<&str> {
    let mut out = vec![n];
    let mut prev_unit = false;
    for (i, ch) in n.char_indices() {
        if ch.is_ascii_digit() {
            break;
        }
        if prev_unit && parse_at(&n[i..]).is_some() {
            out.push(&n[i..]);
        }
        prev_unit = UNIT_END.contains(ch);
    }
    out
}

/// Whether `short` is `long` or a suffix of it that starts right after a prefecture or
/// municipality.
fn boundary_suffix(long: &str, short: &str) -> bool {
    long.strip_suffix(short).is_some_and(|head| {
        head.is_empty()
            || head
                .chars()
                .next_back()
                .is_some_and(|c| UNIT_END.contains(c))
    })
}

/// The found form and, when it has no prefecture, its suffixes starting inside its first
/// municipality name that are still addresses: a name glued before the address
/// (`元カノ港北区日吉3-2-1`) cannot be told from the municipality without a dictionary.
fn found_forms(found: &str) -> Vec<&str> {
    let mut out = vec![found];
    if PREFECTURES.iter().any(|p| found.starts_with(p)) {
        return out;
    }
    for (n, (i, ch)) in found.char_indices().enumerate().skip(1) {
        if ch.is_ascii_digit() {
            break;
        }
        if parse_at(&found[i..]).is_some() {
            out.push(&found[i..]);
        }
        if n >= 1 && "市区町村郡".contains(ch) {
            break;
        }
    }
    out
}

/// Whether a found address and a watched one (both normalized) name the same place: one must be
/// a suffix of the other starting at a prefecture/municipality boundary (a post often leaves
/// out the prefecture or city), and the shorter must still hold a municipality, the town and
/// all block numbers.
pub(crate) fn clear_matches(watched: &str, found: &str) -> bool {
    if boundary_suffix(found, watched) && parse_at(watched).is_some() {
        return true;
    }
    found_forms(found)
        .iter()
        .any(|f| boundary_suffix(watched, f))
}

/// Every string whose hash a watchlist may hold for the place a found address names: the found
/// form's suffixes at prefecture/municipality boundaries (the watched value may leave out the
/// prefecture or city), and [`found_forms`] as they are and completed with each prefecture
/// (and, when they start at a ward, with each designated city).
pub(crate) fn hash_candidates(found: &str) -> Vec<String> {
    let mut out: Vec<String> = suffixes(found).into_iter().map(str::to_string).collect();
    for f in found_forms(found) {
        out.push(f.to_string());
        if PREFECTURES.iter().any(|p| f.starts_with(p)) {
            continue;
        }
        out.extend(PREFECTURES.iter().map(|p| format!("{p}{f}")));
        if f.chars().find(|&c| "市区町村郡".contains(c)) == Some('区') {
            for (p, city) in DESIGNATED_CITIES {
                out.push(format!("{city}{f}"));
                out.push(format!("{p}{city}{f}"));
            }
        }
    }
    out
}

/// Masks a normalized address: keeps prefecture and municipalities, hides town and numbers.
pub(crate) fn mask(n: &str) -> String {
    if let Some(a) = parse_at(n) {
        return format!("{}****", a.area);
    }
    let head: String = n.chars().take_while(|c| !c.is_ascii_digit()).collect();
    match head
        .char_indices()
        .rfind(|(_, c)| "市区町村郡".contains(*c))
    {
        Some((i, c)) => format!("{}****", &head[..i + c.len_utf8()]),
        None => "****".to_string(),
    }
}
