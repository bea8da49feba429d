//! The generated corpus: reproducible Japanese board-style posts (5ch, したらば, review sites),
//! shown by the simulated web and measured by the benchmarks (`bench::corpus` writes it to disk).
//!
//! Posts are built from the templates and word lists in `corpus_words.toml` by a seeded
//! splitmix64 generator, so the same seed and watchlist give the same bytes on every machine
//! (no `rand`, no system text that may or may not be installed). A post keeps to one topic,
//! has one to five sentences (a few long ones), `>>123` anchors, ｗ/草, kaomoji, prices, dates,
//! URLs; a few are written in full-width ASCII or half-width katakana. About 1 % mention a
//! watched target by one of its names or aliases, a third of those with a risk word or a phone
//! number, so the analyzer's slow path is exercised at a realistic rate.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::Watchlist;

/// The word lists and templates, embedded at build time.
const WORDS: &str = include_str!("corpus_words.toml");

/// Why the generator could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// The embedded word lists (`src/simweb/corpus_words.toml`) are broken.
    #[error("src/simweb/corpus_words.toml: {0} (fix the word lists and rebuild)")]
    Words(String),
}

/// Share of posts that mention a target.
pub const TARGET_RATE: f64 = 0.01;
/// Share of target posts that carry a risk word or a phone number.
const RISKY_RATE: f64 = 0.35;
/// Share of long posts (several paragraphs' worth of sentences).
const LONG_RATE: f64 = 0.05;
/// Share of posts rewritten in full-width ASCII.
const FULL_WIDTH_RATE: f64 = 0.03;
/// Share of posts rewritten in half-width katakana.
const HALF_WIDTH_RATE: f64 = 0.02;

/// A small, fast, seedable PRNG (splitmix64): reproducible across platforms and Rust versions.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        debug_assert!(lo <= hi);
        lo + self.below((hi - lo + 1) as usize) as u64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    /// One element of a non-empty slice.
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        debug_assert!(!items.is_empty());
        &items[self.below(items.len())]
    }
}

/// One generated post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedPost {
    /// The body: one line, no newline.
    pub text: String,
    /// Index of the watchlist target it mentions, if any.
    pub target: Option<usize>,
    /// Whether the mention carries a risk word or a phone number.
    pub risky: bool,
}

/// A generated corpus.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    /// The posts, in file order.
    pub posts: Vec<GeneratedPost>,
    /// Bytes of `corpus.txt`: every post plus its newline.
    pub bytes: u64,
}

impl Corpus {
    /// Number of posts that mention a target.
    pub fn target_posts(&self) -> usize {
        self.posts.iter().filter(|p| p.target.is_some()).count()
    }
}

/// Every target's names then aliases (non-empty, one line each, no newline).
pub fn target_names(watchlist: &Watchlist) -> Vec<Vec<String>> {
    watchlist
        .targets
        .iter()
        .map(|t| {
            t.names
                .iter()
                .chain(&t.aliases)
                .map(|n| one_line(n))
                .filter(|n| !n.is_empty())
                .collect()
        })
        .collect()
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ").trim().to_string()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWords {
    words: BTreeMap<String, Vec<String>>,
    templates: BTreeMap<String, Vec<String>>,
    topics: BTreeMap<String, Vec<String>>,
    target: RawTargetTemplates,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTargetTemplates {
    neutral: Vec<String>,
    risky: Vec<String>,
}

/// Shapes the generator makes itself rather than picking from a list.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Anchor,
    Num,
    Count,
    Price,
    Date,
    Time,
    Pct,
    Temp,
    Url,
    Tel,
    Year,
    Phone,
    Target,
}

impl Shape {
    fn from_name(name: &str) -> Option<Shape> {
        Some(match name {
            "anchor" => Shape::Anchor,
            "num" => Shape::Num,
            "count" => Shape::Count,
            "price" => Shape::Price,
            "date" => Shape::Date,
            "time" => Shape::Time,
            "pct" => Shape::Pct,
            "temp" => Shape::Temp,
            "url" => Shape::Url,
            "tel" => Shape::Tel,
            "year" => Shape::Year,
            "phone" => Shape::Phone,
            "target" => Shape::Target,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
enum Piece {
    Lit(String),
    List(usize),
    Shape(Shape),
}

type Template = Vec<Piece>;

/// Builds posts from the embedded word lists; one instance per corpus.
pub struct Generator {
    rng: SplitMix64,
    lists: Vec<Vec<String>>,
    groups: BTreeMap<String, Vec<Template>>,
    topics: Vec<Vec<String>>,
    neutral: Vec<Template>,
    risky: Vec<Template>,
    names: Vec<Vec<String>>,
    domains: usize,
    laugh: usize,
    kao: usize,
    reply_short: usize,
}

impl Generator {
    /// Loads the embedded word lists; `seed` fixes every choice, the watchlist gives the names.
    pub fn new(seed: u64, watchlist: &Watchlist) -> Result<Self, CorpusError> {
        let raw: RawWords = toml::from_str(WORDS).map_err(|e| CorpusError::Words(e.to_string()))?;
        let list_names: Vec<String> = raw.words.keys().cloned().collect();
        let index = |name: &str| list_names.iter().position(|n| n == name);
        let compile = |group: &str, text: &str| -> Result<Template, CorpusError> {
            compile_template(text, &index)
                .map_err(|why| CorpusError::Words(format!("template \"{text}\" in {group}: {why}")))
        };
        let mut groups = BTreeMap::new();
        for (name, texts) in &raw.templates {
            let compiled: Vec<Template> = texts
                .iter()
                .map(|t| compile(name, t))
                .collect::<Result<_, _>>()?;
            if compiled.is_empty() {
                return Err(CorpusError::Words(format!(
                    "template group {name} is empty"
                )));
            }
            groups.insert(name.clone(), compiled);
        }
        let neutral: Vec<Template> = raw
            .target
            .neutral
            .iter()
            .map(|t| compile("target.neutral", t))
            .collect::<Result<_, _>>()?;
        let risky: Vec<Template> = raw
            .target
            .risky
            .iter()
            .map(|t| compile("target.risky", t))
            .collect::<Result<_, _>>()?;
        let topics: Vec<Vec<String>> = raw.topics.into_values().filter(|t| !t.is_empty()).collect();
        let fixed = ["long", "misc", "reply", "title"];
        for group in topics.iter().flatten().map(String::as_str).chain(fixed) {
            if !groups.contains_key(group) {
                return Err(CorpusError::Words(format!(
                    "template group {group} is used but not defined"
                )));
            }
        }
        if topics.is_empty() || neutral.is_empty() || risky.is_empty() {
            return Err(CorpusError::Words(
                "topics, target.neutral and target.risky must not be empty".into(),
            ));
        }
        let need = |name: &str| {
            index(name).ok_or_else(|| CorpusError::Words(format!("word list {name} is missing")))
        };
        let (domains, laugh, kao, reply_short) = (
            need("domain")?,
            need("laugh")?,
            need("kao")?,
            need("reply_short")?,
        );
        let lists: Vec<Vec<String>> = raw.words.into_values().collect();
        if let Some(i) = lists.iter().position(|l| l.is_empty()) {
            return Err(CorpusError::Words(format!(
                "word list {} is empty",
                list_names[i]
            )));
        }
        Ok(Generator {
            rng: SplitMix64::new(seed),
            lists,
            groups,
            topics,
            neutral,
            risky,
            names: target_names(watchlist),
            domains,
            laugh,
            kao,
            reply_short,
        })
    }

    /// Generates posts until `corpus.txt` would hold at least `min_bytes`.
    pub fn corpus(&mut self, min_bytes: u64) -> Corpus {
        let mut corpus = Corpus::default();
        while corpus.bytes < min_bytes {
            let post = self.post();
            corpus.bytes += post.text.len() as u64 + 1;
            corpus.posts.push(post);
        }
        corpus
    }

    /// One post.
    pub fn post(&mut self) -> GeneratedPost {
        let mut text = String::with_capacity(256);
        let mut target = None;
        let mut risky = false;
        if self.rng.chance(0.35) {
            self.anchor(&mut text);
        }
        let has_names = self.names.iter().any(|n| !n.is_empty());
        if has_names && self.rng.chance(TARGET_RATE) {
            let mut t = self.rng.below(self.names.len());
            while self.names[t].is_empty() {
                t = (t + 1) % self.names.len();
            }
            target = Some(t);
            risky = self.rng.chance(RISKY_RATE);
            let topic = self.rng.below(self.topics.len());
            if self.rng.chance(0.3) {
                self.sentence_from_topic(topic, &mut text, None);
                text.push(' ');
            }
            let templates = if risky { &self.risky } else { &self.neutral };
            let template = templates[self.rng.below(templates.len())].clone();
            self.expand(&template, &mut text, Some(t));
            if self.rng.chance(0.3) {
                text.push('。');
                self.sentence_from_topic(topic, &mut text, None);
            }
        } else if self.rng.chance(LONG_RATE) {
            self.long_post(&mut text);
        } else if self.rng.chance(0.02) {
            self.sentence_from_group("title", &mut text);
        } else {
            let topic = self.rng.below(self.topics.len());
            let sentences = match self.rng.below(100) {
                0..45 => 1,
                45..75 => 2,
                75..90 => 3,
                90..96 => 4,
                _ => 5,
            };
            for i in 0..sentences {
                if i > 0 {
                    self.separator(&mut text);
                }
                self.sentence_from_topic(topic, &mut text, None);
            }
        }
        match self.rng.below(100) {
            0..12 => {
                let w = self.word(self.laugh).to_string();
                text.push_str(&w);
            }
            12..20 => {
                let w = self.word(self.kao).to_string();
                text.push_str(&w);
            }
            _ => {}
        }
        if self.rng.chance(FULL_WIDTH_RATE) {
            text = to_full_width(&text);
        } else if self.rng.chance(HALF_WIDTH_RATE) {
            text = to_half_width_katakana(&text);
        }
        let text = one_line(&text);
        let text = if text.is_empty() {
            "ｗ".to_string()
        } else {
            text
        };
        GeneratedPost {
            text,
            target,
            risky,
        }
    }

    fn word(&mut self, list: usize) -> &str {
        let items = &self.lists[list];
        &items[self.rng.below(items.len())]
    }

    fn anchor(&mut self, out: &mut String) {
        let n = self.rng.range(1, 1000);
        out.push_str(&format!(">>{n}"));
        match self.rng.below(10) {
            0 => out.push_str(&format!(" >>{}", n + self.rng.range(1, 20))),
            1 => out.push_str(&format!("-{}", n + self.rng.range(1, 5))),
            _ => {}
        }
        out.push(if self.rng.chance(0.8) { ' ' } else { '　' });
    }

    fn separator(&mut self, out: &mut String) {
        let ends_in_mark = out.ends_with(['。', '！', '？', '…', ')', '）', 'ｗ', 'w', '草']);
        let sep = match self.rng.below(6) {
            _ if ends_in_mark => " ",
            0 | 1 => "。",
            2 => " ",
            3 => "　",
            4 => "、",
            _ => "！",
        };
        out.push_str(sep);
    }

    fn sentence_from_topic(&mut self, topic: usize, out: &mut String, target: Option<usize>) {
        let groups = &self.topics[topic];
        let group = groups[self.rng.below(groups.len())].clone();
        let templates = &self.groups[&group];
        let template = templates[self.rng.below(templates.len())].clone();
        self.expand(&template, out, target);
    }

    fn sentence_from_group(&mut self, group: &str, out: &mut String) {
        let Some(templates) = self.groups.get(group) else {
            return;
        };
        let template = templates[self.rng.below(templates.len())].clone();
        self.expand(&template, out, None);
    }

    fn long_post(&mut self, out: &mut String) {
        let sentences = self.rng.range(3, 9);
        let topic = self.rng.below(self.topics.len());
        for i in 0..sentences {
            if i > 0 {
                // A newline in the original post, flattened to a space, or a full stop.
                out.push_str(if self.rng.chance(0.4) { "。 " } else { "。" });
            }
            if self.rng.chance(0.5) {
                self.sentence_from_group("long", out);
            } else {
                self.sentence_from_topic(topic, out, None);
            }
        }
    }

    fn expand(&mut self, template: &Template, out: &mut String, target: Option<usize>) {
        for piece in template {
            match piece {
                Piece::Lit(s) => out.push_str(s),
                Piece::List(i) => {
                    let w = self.word(*i).to_string();
                    out.push_str(&w);
                }
                Piece::Shape(shape) => self.shape(*shape, out, target),
            }
        }
    }

    fn shape(&mut self, shape: Shape, out: &mut String, target: Option<usize>) {
        let r = &mut self.rng;
        let s = match shape {
            Shape::Anchor => format!(">>{}", r.range(1, 1000)),
            Shape::Num => r.range(1, 20).to_string(),
            Shape::Count => {
                let n = r.range(1, 9) * 10u64.pow(r.range(1, 5) as u32) + r.range(0, 99);
                if r.chance(0.3) {
                    with_commas(n)
                } else {
                    n.to_string()
                }
            }
            Shape::Price => {
                let n = r.range(10, 3000) * 10;
                match r.below(5) {
                    0 => format!("¥{}", with_commas(n)),
                    1 => format!("税込{n}円"),
                    2 => format!("{}円", with_commas(n)),
                    _ => format!("{n}円"),
                }
            }
            Shape::Date => {
                let (y, m, d) = (r.range(2015, 2025), r.range(1, 12), r.range(1, 28));
                match r.below(5) {
                    0 => format!("{y}/{m}/{d}"),
                    1 => format!("{m}/{d}"),
                    2 => format!("{y}年{m}月{d}日"),
                    3 => format!("令和{}年{m}月{d}日", r.range(1, 7)),
                    _ => format!("{m}月{d}日"),
                }
            }
            Shape::Time => {
                let (h, m) = (r.range(0, 23), r.range(0, 59));
                match r.below(3) {
                    0 => format!("{h}時"),
                    1 => format!("{h}時半"),
                    _ => format!("{h}:{m:02}"),
                }
            }
            Shape::Pct => format!(
                "{}{}",
                r.range(1, 60),
                if r.chance(0.5) { "%" } else { "％" }
            ),
            Shape::Temp => match r.below(3) {
                0 => format!("{}℃", r.range(0, 39)),
                1 => format!("マイナス{}度", r.range(1, 15)),
                _ => format!("{}度", r.range(0, 39)),
            },
            Shape::Url => {
                let domain =
                    self.lists[self.domains][r.below(self.lists[self.domains].len())].clone();
                let path: String = (0..r.range(6, 11))
                    .map(|_| *r.pick(b"abcdefghijklmnopqrstuvwxyz0123456789") as char)
                    .collect();
                let scheme = if r.chance(0.2) { "ttps" } else { "https" };
                match r.below(3) {
                    0 => format!("{scheme}://{domain}/{path}?id={}", r.range(1, 999_999)),
                    _ => format!("{scheme}://{domain}/{path}"),
                }
            }
            Shape::Tel => format!(
                "{}-{:03}-{:03}",
                if r.chance(0.7) { "0120" } else { "0570" },
                r.range(0, 999),
                r.range(0, 999)
            ),
            Shape::Year => {
                if r.chance(0.7) {
                    format!("{}年", r.range(1990, 2024))
                } else {
                    format!("平成{}年", r.range(2, 30))
                }
            }
            Shape::Phone => {
                let (a, b, c) = (
                    *r.pick(&[70, 80, 90]),
                    r.range(1000, 9999),
                    r.range(0, 9999),
                );
                match r.below(4) {
                    0 => format!("0{a}{b}{c:04}"),
                    1 => format!("0{a} {b} {c:04}"),
                    _ => format!("0{a}-{b}-{c:04}"),
                }
            }
            Shape::Target => match target {
                Some(t) => {
                    let names = &self.names[t];
                    names[r.below(names.len())].clone()
                }
                None => self.lists[self.reply_short][r.below(self.lists[self.reply_short].len())]
                    .clone(),
            },
        };
        out.push_str(&s);
    }
}

fn compile_template(text: &str, index: &dyn Fn(&str) -> Option<usize>) -> Result<Template, String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            pieces.push(Piece::Lit(rest[..open].to_string()));
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("unclosed '{'")?;
        let name = &after[..close];
        let piece = match Shape::from_name(name) {
            Some(shape) => Piece::Shape(shape),
            None => Piece::List(index(name).ok_or_else(|| format!("unknown slot {{{name}}}"))?),
        };
        pieces.push(piece);
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err("stray '}'".into());
    }
    if !rest.is_empty() {
        pieces.push(Piece::Lit(rest.to_string()));
    }
    if text.contains(['\n', '\r']) {
        return Err("contains a newline".into());
    }
    Ok(pieces)
}

fn with_commas(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// ASCII → full-width forms (space → ideographic space), as some posters type.
pub fn to_full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ' ' => '\u{3000}',
            '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Katakana → half-width katakana (ガ → ｶﾞ), as older boards and phones write it.
pub fn to_half_width_katakana(s: &str) -> String {
    const FULL: &str = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンァィゥェォッャュョー。「」、・";
    const HALF: &str = "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝｧｨｩｪｫｯｬｭｮｰ｡｢｣､･";
    const VOICED: &str = "ガギグゲゴザジズゼゾダヂヅデドバビブベボ";
    const VOICED_BASE: &str = "カキクケコサシスセソタチツテトハヒフヘホ";
    const SEMI: &str = "パピプペポ";
    const SEMI_BASE: &str = "ハヒフヘホ";
    let half = |c: char| {
        FULL.chars()
            .position(|f| f == c)
            .and_then(|i| HALF.chars().nth(i))
    };
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if let Some(h) = half(c) {
            out.push(h);
        } else if let Some(i) = VOICED.chars().position(|v| v == c) {
            out.extend(VOICED_BASE.chars().nth(i).and_then(half));
            out.push('ﾞ');
        } else if let Some(i) = SEMI.chars().position(|v| v == c) {
            out.extend(SEMI_BASE.chars().nth(i).and_then(half));
            out.push('ﾟ');
        } else if c == 'ヴ' {
            out.push_str("ｳﾞ");
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watchlist() -> Watchlist {
        crate::bench::builtin_watchlist().expect("builtin watchlist")
    }

    #[test]
    fn same_seed_same_posts_other_seed_other_posts() {
        let w = watchlist();
        let a = Generator::new(7, &w).expect("gen").corpus(200_000);
        let b = Generator::new(7, &w).expect("gen").corpus(200_000);
        let c = Generator::new(8, &w).expect("gen").corpus(200_000);
        assert_eq!(a.posts, b.posts);
        assert_eq!(a.bytes, b.bytes);
        assert_ne!(a.posts[..50], c.posts[..50]);
    }

    #[test]
    fn reaches_the_size_with_varied_one_line_posts() {
        let corpus = Generator::new(42, &watchlist())
            .expect("gen")
            .corpus(1 << 20);
        let sum: u64 = corpus.posts.iter().map(|p| p.text.len() as u64 + 1).sum();
        assert_eq!(sum, corpus.bytes);
        assert!(corpus.bytes >= 1 << 20);
        assert!(
            corpus
                .posts
                .iter()
                .all(|p| !p.text.is_empty() && !p.text.contains(['\n', '\r']))
        );
        assert!(
            corpus.posts.iter().all(|p| p.text.len() < 8000),
            "mecab reads lines of < 8 KiB"
        );
        let distinct: std::collections::HashSet<&str> =
            corpus.posts.iter().map(|p| p.text.as_str()).collect();
        assert!(
            distinct.len() * 10 > corpus.posts.len() * 7,
            "{} distinct of {}",
            distinct.len(),
            corpus.posts.len()
        );
        let texts: Vec<&str> = corpus.posts.iter().map(|p| p.text.as_str()).collect();
        for needle in [">>", "ｗ", "円", "https://", "Ｓ"] {
            assert!(
                texts.iter().any(|t| t.contains(needle)),
                "no post contains {needle}"
            );
        }
        assert!(
            texts.iter().any(|t| t.contains('ｶ') || t.contains('ﾗ')),
            "no half-width katakana"
        );
    }

    #[test]
    fn about_one_percent_mention_a_target_by_name() {
        let w = watchlist();
        let corpus = Generator::new(3, &w).expect("gen").corpus(4 << 20);
        let names = target_names(&w);
        let mentions = corpus.target_posts();
        let rate = mentions as f64 / corpus.posts.len() as f64;
        assert!(
            (0.007..0.013).contains(&rate),
            "rate {rate} over {} posts",
            corpus.posts.len()
        );
        let risky = corpus.posts.iter().filter(|p| p.risky).count();
        assert!(
            risky > mentions / 5 && risky < mentions / 2,
            "{risky} risky of {mentions}"
        );
        // Posts rewritten in full or half width hold the name in another form.
        let literal = corpus
            .posts
            .iter()
            .filter(|p| {
                p.target
                    .is_some_and(|t| names[t].iter().any(|n| p.text.contains(n.as_str())))
            })
            .count();
        assert!(
            literal * 100 >= mentions * 90,
            "{literal} of {mentions} target posts name it"
        );
        let named: usize = corpus
            .posts
            .iter()
            .filter(|p| {
                p.target.is_none() && names.iter().flatten().any(|n| p.text.contains(n.as_str()))
            })
            .count();
        assert_eq!(named, 0, "posts not about a target must not name one");
    }

    #[test]
    fn no_targets_no_mentions() {
        let corpus = Generator::new(1, &Watchlist::default())
            .expect("gen")
            .corpus(100_000);
        assert_eq!(corpus.target_posts(), 0);
    }

    #[test]
    fn width_conversions() {
        assert_eq!(to_full_width("abc 12!"), "ａｂｃ　１２！");
        assert_eq!(to_half_width_katakana("ガッツポーズ、パン"), "ｶﾞｯﾂﾎﾟｰｽﾞ､ﾊﾟﾝ");
        assert_eq!(with_commas(1234567), "1,234,567");
        assert_eq!(with_commas(999), "999");
    }

    #[test]
    fn prng_is_splitmix64() {
        // Reference values of splitmix64 seeded with 0.
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        let mut r = SplitMix64::new(9);
        assert!((0..1000).all(|_| r.below(7) < 7));
        assert_eq!(r.below(0), 0);
    }
}
