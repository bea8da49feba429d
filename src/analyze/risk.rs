//! Risk scoring: which categories (defamation, insult, threat) a post's text carries *about
//! the target it mentions*, and how strongly.
//!
//! The terms live in data files (`data/lexicon/*.toml`, embedded at build time) so they can be
//! reviewed and extended without touching code. A term is found as a substring, as a token's
//! surface or base form (so 殺す also hits 殺される, 殺したい), or by a regex, all on the
//! normalized, kana-folded text. Each occurrence is then weighed in context:
//! - negation right after it (詐欺じゃない; but 詐欺じゃないの? stays an insinuation),
//! - denial in its sentence (デマだよ, 事実無根) or disputed hearsay (ブラックとか言われてるけど),
//! - the target as the victim (山田商事を名乗る詐欺メール),
//! - a redirect between the mention and the term (山田商事の向かいの店で食い逃げ),
//! - a question (…なの?) and a term in another sentence than the mention count for less.

use std::ops::Range;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::analyze::matcher::fold_term;
use crate::analyze::pii::PiiKind;
use crate::text::normalize;
use crate::text::prefilter::Prefilter;
use crate::text::reading;
use crate::text::tokenize::Token;

/// A risk category from `design.md` §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 名誉毀損・信用毀損: a factual claim that lowers standing.
    Defamation,
    /// 侮辱: contempt.
    Insult,
    /// 脅迫: harm announced against a person or property.
    Threat,
    /// Personal data posted about a person.
    PersonalData,
}

impl Category {
    /// The name used in output and config.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Defamation => "defamation",
            Category::Insult => "insult",
            Category::Threat => "threat",
            Category::PersonalData => "personal_data",
        }
    }
}

/// Why a lexicon could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    /// A data file is not valid TOML for its format.
    #[error("lexicon {file}: {message}")]
    Invalid {
        /// The data file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLexicon {
    category: Category,
    terms: Vec<RawTerms>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTerms {
    weight: u8,
    #[serde(default)]
    surface: Vec<String>,
    #[serde(default)]
    words: Vec<String>,
    #[serde(default)]
    regex: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContext {
    threshold: u8,
    question_factor: f32,
    other_sentence_factor: f32,
    far_sentence_factor: f32,
    extra_category_bonus: u8,
    evasion_bonus: u8,
    negation_window: usize,
    negation_after: Vec<String>,
    rhetorical_after_negation: Vec<String>,
    denial: Vec<String>,
    hearsay_denial: Vec<String>,
    victim: Vec<String>,
    redirect: Vec<String>,
    person_context: Vec<String>,
    anaphora: Vec<String>,
    roles: Vec<String>,
    pii_severity: std::collections::BTreeMap<PiiKind, u8>,
}

/// The embedded lexicon files: (name, contents).
const LEXICON_FILES: &[(&str, &str)] = &[
    (
        "data/lexicon/defamation.toml",
        include_str!("../../data/lexicon/defamation.toml"),
    ),
    (
        "data/lexicon/insult.toml",
        include_str!("../../data/lexicon/insult.toml"),
    ),
    (
        "data/lexicon/threat.toml",
        include_str!("../../data/lexicon/threat.toml"),
    ),
];
const CONTEXT_FILE: (&str, &str) = (
    "data/lexicon/context.toml",
    include_str!("../../data/lexicon/context.toml"),
);

#[derive(Debug, Clone)]
struct Term {
    category: Category,
    weight: u8,
    label: String,
}

/// Context settings, folded and ready.
#[derive(Debug, Clone)]
pub struct Context {
    /// Score at which a category is reported.
    pub threshold: u8,
    question_factor: f32,
    other_sentence_factor: f32,
    far_sentence_factor: f32,
    /// Severity added per extra category.
    pub extra_category_bonus: u8,
    /// Severity added when a name was obfuscated.
    pub evasion_bonus: u8,
    negation_window: usize,
    negation_after: Vec<String>,
    rhetorical: Vec<String>,
    denial: Vec<String>,
    hearsay_denial: Vec<Regex>,
    victim: Vec<String>,
    redirect: Vec<String>,
    person_context: Vec<String>,
    anaphora: Vec<String>,
    roles: Vec<String>,
    pii_severity: std::collections::BTreeMap<PiiKind, u8>,
}

impl Context {
    /// Severity of a leaked personal-data kind.
    pub fn pii_severity(&self, kind: PiiKind) -> u8 {
        self.pii_severity.get(&kind).copied().unwrap_or(70)
    }

    /// True if the sentence around `at` says the personal data is a person's (社長の携帯).
    pub fn person_context_near(&self, folded: &str, at: &Range<usize>) -> bool {
        let s = sentence_of(folded, at.start);
        let prev = if s.start > 0 {
            sentence_of(folded, s.start - 1).start
        } else {
            s.start
        };
        let text = &folded[prev.min(at.start)..s.end.max(at.end)];
        self.person_context
            .iter()
            .any(|w| text.contains(w.as_str()))
    }
}

/// A risk term found in a post.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskHit {
    /// Its category.
    pub category: Category,
    /// The lexicon entry that matched.
    pub term: String,
    /// Score after context (0-100).
    pub score: u8,
    /// Byte range in the normalized text.
    #[serde(skip)]
    pub norm: Range<usize>,
}

/// The compiled lexicon and context rules.
#[derive(Debug, Clone)]
pub struct Lexicon {
    terms: Vec<Term>,
    surfaces: Prefilter,
    surface_term: Vec<usize>,
    words: std::collections::HashMap<String, usize>,
    regexes: Vec<(Regex, usize)>,
    /// The context rules.
    pub context: Context,
}

fn fold_all(items: &[String]) -> Vec<String> {
    items
        .iter()
        .map(|s| fold_term(s))
        .filter(|s| !s.is_empty())
        .collect()
}

/// Folds a regex source: katakana → hiragana only (case and escapes are left alone).
fn fold_regex(src: &str) -> String {
    reading::kata_to_hira(&normalize::normalize(src).text)
}

impl Lexicon {
    /// Loads the lexicon embedded in the binary.
    pub fn embedded() -> Result<Self, LexiconError> {
        Self::from_sources(LEXICON_FILES, CONTEXT_FILE)
    }

    /// Builds a lexicon from (file name, TOML text) pairs and a context file.
    pub fn from_sources(
        files: &[(&str, &str)],
        context: (&str, &str),
    ) -> Result<Self, LexiconError> {
        let invalid = |file: &str, message: String| LexiconError::Invalid {
            file: file.to_string(),
            message,
        };
        let mut terms = Vec::new();
        let mut surface_texts = Vec::new();
        let mut surface_term = Vec::new();
        let mut words = std::collections::HashMap::new();
        let mut regexes = Vec::new();
        for (file, text) in files {
            let raw: RawLexicon = toml::from_str(text).map_err(|e| invalid(file, e.to_string()))?;
            for group in raw.terms {
                for s in &group.surface {
                    let folded = fold_term(s);
                    if folded.is_empty() {
                        continue;
                    }
                    surface_texts.push(folded);
                    surface_term.push(terms.len());
                    terms.push(Term {
                        category: raw.category,
                        weight: group.weight,
                        label: s.clone(),
                    });
                }
                for w in &group.words {
                    let folded = fold_term(w);
                    words.entry(folded).or_insert(terms.len());
                    terms.push(Term {
                        category: raw.category,
                        weight: group.weight,
                        label: w.clone(),
                    });
                }
                for r in &group.regex {
                    let re = Regex::new(&fold_regex(r))
                        .map_err(|e| invalid(file, format!("regex {r:?}: {e}")))?;
                    regexes.push((re, terms.len()));
                    terms.push(Term {
                        category: raw.category,
                        weight: group.weight,
                        label: r.clone(),
                    });
                }
            }
        }
        let (cfile, ctext) = context;
        let raw: RawContext = toml::from_str(ctext).map_err(|e| invalid(cfile, e.to_string()))?;
        let hearsay_denial = raw
            .hearsay_denial
            .iter()
            .map(|r| {
                Regex::new(&fold_regex(r)).map_err(|e| invalid(cfile, format!("regex {r:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let context = Context {
            threshold: raw.threshold,
            question_factor: raw.question_factor,
            other_sentence_factor: raw.other_sentence_factor,
            far_sentence_factor: raw.far_sentence_factor,
            extra_category_bonus: raw.extra_category_bonus,
            evasion_bonus: raw.evasion_bonus,
            negation_window: raw.negation_window,
            negation_after: fold_all(&raw.negation_after),
            rhetorical: fold_all(&raw.rhetorical_after_negation),
            denial: fold_all(&raw.denial),
            hearsay_denial,
            victim: fold_all(&raw.victim),
            redirect: fold_all(&raw.redirect),
            person_context: fold_all(&raw.person_context),
            anaphora: fold_all(&raw.anaphora),
            roles: fold_all(&raw.roles),
            pii_severity: raw.pii_severity,
        };
        let surfaces =
            Prefilter::new(&surface_texts).map_err(|e| invalid("lexicon", e.to_string()))?;
        Ok(Lexicon {
            terms,
            surfaces,
            surface_term,
            words,
            regexes,
            context,
        })
    }

    /// Finds every risk term in `folded` (the folded normalized text, whose tokens are
    /// `tokens`) and scores it against the mentions (normalized byte ranges) of one target.
    pub fn assess(
        &self,
        folded: &str,
        tokens: &[Token],
        mentions: &[Range<usize>],
    ) -> Vec<RiskHit> {
        let mut found: Vec<(usize, Range<usize>)> = Vec::new();
        for (pi, range) in self.surfaces.find_all(folded) {
            let term = self.surface_term[pi];
            let label = &self.terms[term].label;
            if label.is_ascii() && !ascii_word_at(folded, &range) {
                continue;
            }
            found.push((term, range));
        }
        for t in tokens {
            let surface = normalize::fold(&t.surface);
            let base = normalize::fold(&t.base);
            if let Some(&term) = self.words.get(&surface).or_else(|| self.words.get(&base)) {
                found.push((term, t.start..t.end));
            }
        }
        for (re, term) in &self.regexes {
            for m in re.find_iter(folded) {
                found.push((*term, m.range()));
            }
        }
        let mut hits = Vec::new();
        for (term, range) in found {
            // A term inside the target's own name (山田詐欺対策センター) says nothing.
            if mentions
                .iter()
                .any(|m| m.start <= range.start && range.end <= m.end)
            {
                continue;
            }
            let t = &self.terms[term];
            let factor = self.context_factor(folded, tokens, &range, mentions);
            let score = (f32::from(t.weight) * factor).round().clamp(0.0, 100.0) as u8;
            if score > 0 {
                hits.push(RiskHit {
                    category: t.category,
                    term: t.label.clone(),
                    score,
                    norm: range,
                });
            }
        }
        hits.sort_by(|a, b| b.score.cmp(&a.score).then(a.norm.start.cmp(&b.norm.start)));
        hits
    }

    /// The multiplier (0 = cancelled) for a term at `range` given the target's mentions.
    /// True if the sentence gives the term its own subject before it (チェーン店は…食中毒,
    /// あっちは…): a noun + は/が that is neither an anaphor (こいつ) nor a role (社長は).
    fn other_subject(
        &self,
        folded: &str,
        tokens: &[Token],
        sentence: &Range<usize>,
        range: &Range<usize>,
    ) -> bool {
        let ctx = &self.context;
        let inside: Vec<&Token> = tokens
            .iter()
            .filter(|t| sentence.start <= t.start && t.end <= range.start)
            .collect();
        inside.iter().enumerate().skip(1).any(|(i, particle)| {
            if particle.pos != "助詞" || !matches!(particle.surface.as_str(), "は" | "が") {
                return false;
            }
            // The whole noun compound before the particle (チェーン店, not 店).
            let first = inside[..i]
                .iter()
                .rposition(|t| t.pos != "名詞" && t.pos != "接頭詞")
                .map_or(0, |p| p + 1);
            if first >= i {
                return false;
            }
            let head = inside[i - 1];
            if matches!(head.pos1.as_str(), "数" | "副詞可能" | "非自立") {
                return false;
            }
            let word = &folded[inside[first].start..head.end];
            !ctx.anaphora.iter().any(|a| a.contains(word)) && !ctx.roles.iter().any(|r| r == word)
        })
    }

    fn context_factor(
        &self,
        folded: &str,
        tokens: &[Token],
        range: &Range<usize>,
        mentions: &[Range<usize>],
    ) -> f32 {
        let ctx = &self.context;
        let sentence = sentence_of(folded, range.start);
        let stext = &folded[sentence.clone()];
        // Negation right after the term.
        let after_end = char_window_end(folded, range.end, ctx.negation_window);
        let after = &folded[range.end..after_end];
        for neg in &ctx.negation_after {
            if let Some(pos) = after.find(neg.as_str()) {
                let rest = after[pos + neg.len()..].trim_start();
                let rest_full = &folded
                    [range.end + pos + neg.len()..sentence.end.max(range.end + pos + neg.len())];
                let rest_full = rest_full.trim_start();
                let rhetorical = ctx
                    .rhetorical
                    .iter()
                    .any(|r| rest.starts_with(r.as_str()) || rest_full.starts_with(r.as_str()))
                    || (rest_full.starts_with('の') && !rest_full.starts_with("のに"));
                if !rhetorical {
                    return 0.0;
                }
            }
        }
        // Disputed hearsay after the term in the same sentence.
        let tail = &folded[range.end..sentence.end.max(range.end)];
        if ctx.hearsay_denial.iter().any(|re| re.is_match(tail)) {
            return 0.0;
        }
        // Denial in the sentence or the next one.
        let next = next_sentence(folded, sentence.end);
        let after_next = next_sentence(folded, next.end);
        let denial_scope = [stext, &folded[next.clone()], &folded[after_next]];
        if denial_scope
            .iter()
            .any(|s| ctx.denial.iter().any(|d| s.contains(d.as_str())))
        {
            return 0.0;
        }
        // Relation to the mention.
        let same: Vec<&Range<usize>> = mentions
            .iter()
            .filter(|m| sentence.start <= m.start && m.start < sentence.end.max(sentence.start + 1))
            .collect();
        let mut factor = if let Some(m) = same.iter().min_by_key(|m| m.start.abs_diff(range.start))
        {
            if ctx.victim.iter().any(|v| stext.contains(v.as_str())) {
                return 0.0;
            }
            let between = if m.end <= range.start {
                &folded[m.end..range.start]
            } else if range.end <= m.start {
                &folded[range.end..m.start]
            } else {
                ""
            };
            if ctx.redirect.iter().any(|r| between.contains(r.as_str())) {
                return 0.0;
            }
            1.0
        } else {
            if ctx.redirect.iter().any(|r| stext.contains(r.as_str())) {
                return 0.0;
            }
            let mention_sentences_victim = mentions.iter().any(|m| {
                let ms = sentence_of(folded, m.start);
                ctx.victim
                    .iter()
                    .any(|v| folded[ms.clone()].contains(v.as_str()))
            });
            if mention_sentences_victim {
                return 0.0;
            }
            if ctx.anaphora.iter().any(|a| stext.contains(a.as_str())) {
                1.0
            } else if self.other_subject(folded, tokens, &sentence, range) {
                return 0.0;
            } else {
                let gap = mentions
                    .iter()
                    .map(|m| sentences_between(folded, m.start, range.start))
                    .min()
                    .unwrap_or(usize::MAX);
                if gap <= 1 {
                    ctx.other_sentence_factor
                } else {
                    ctx.far_sentence_factor
                }
            }
        };
        if is_question(folded, &sentence) {
            factor *= ctx.question_factor;
        }
        factor
    }
}

/// The byte range of the sentence holding byte `at` (split on 。!?\n and their variants).
pub fn sentence_of(text: &str, at: usize) -> Range<usize> {
    let is_end = |c: char| matches!(c, '。' | '!' | '?' | '\n' | '｡');
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let start = text[..at]
        .char_indices()
        .rev()
        .find(|(_, c)| is_end(*c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let end = text[at..]
        .char_indices()
        .find(|(_, c)| is_end(*c))
        .map_or(text.len(), |(i, c)| at + i + c.len_utf8());
    start..end
}

/// How many sentence ends lie between two byte offsets.
fn sentences_between(text: &str, a: usize, b: usize) -> usize {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    text[lo.min(text.len())..hi.min(text.len())]
        .chars()
        .filter(|c| matches!(c, '。' | '!' | '?' | '\n' | '｡'))
        .count()
}

fn next_sentence(text: &str, end: usize) -> Range<usize> {
    if end >= text.len() {
        return text.len()..text.len();
    }
    sentence_of(text, end)
}

fn is_question(text: &str, sentence: &Range<usize>) -> bool {
    let s = text[sentence.clone()].trim_end_matches(['\n', ' ', 'w', '笑']);
    s.ends_with('?')
        || s.ends_with("の?")
        || s.ends_with("か?")
        || s.ends_with("かな")
        || s.ends_with("なの")
}

fn char_window_end(text: &str, from: usize, chars: usize) -> usize {
    text[from..]
        .char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| from + i)
}

fn ascii_word_at(text: &str, range: &Range<usize>) -> bool {
    let before = text[..range.start].chars().next_back();
    let after = text[range.end..].chars().next();
    !before.is_some_and(|c| c.is_ascii_alphanumeric())
        && !after.is_some_and(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tokenize::tokenize;

    /// Categories found for a post whose target mention is the first `name` occurrence.
    fn categories(text: &str, name: &str) -> Vec<Category> {
        let lexicon = Lexicon::embedded().expect("lexicon");
        let norm = normalize::normalize(text);
        let folded = normalize::fold(&norm.text);
        let tokens = tokenize(&norm.text).expect("tokens");
        let at = folded.find(&fold_term(name)).expect("name in text");
        let mention = at..at + fold_term(name).len();
        let mut cats: Vec<Category> = lexicon
            .assess(&folded, &tokens, &[mention])
            .into_iter()
            .filter(|h| h.score >= lexicon.context.threshold)
            .map(|h| h.category)
            .collect();
        cats.sort();
        cats.dedup();
        cats
    }

    #[test]
    fn lexicon_loads() {
        let l = Lexicon::embedded().expect("lexicon");
        assert!(l.terms.len() > 100);
    }

    #[test]
    fn conjugations_hit_through_base_forms() {
        for text in [
            "A社の社長を殺す",
            "A社の社長を殺したい",
            "A社の社長を殺してやる",
            "A社の社長ぶっ殺す",
        ] {
            assert_eq!(categories(text, "A社"), vec![Category::Threat], "{text}");
        }
    }

    #[test]
    fn context_cancels_or_keeps_terms() {
        let cases: &[(&str, &[Category])] = &[
            ("A社は詐欺会社", &[Category::Defamation]),
            ("A社は詐欺じゃないよ", &[]),
            ("A社って詐欺じゃないの?", &[Category::Defamation]),
            ("A社が詐欺って噂はデマだよ", &[]),
            ("A社を名乗る詐欺メールに注意", &[]),
            ("A社の向かいの店で食い逃げ事件", &[]),
            ("A社で買った。隣の店の店員は態度最悪でアホ", &[]),
            ("A社の店員はアホしかいない", &[Category::Insult]),
            ("A社やばい。社長が横領してる", &[Category::Defamation]),
            ("A社がブラックとか言われてるけど普通だよ", &[]),
            ("ブラックコーヒーが美味しいA社のカフェ", &[]),
            ("A社の採用ばかり見てる", &[]),
        ];
        for (text, want) in cases {
            assert_eq!(categories(text, "A社"), want.to_vec(), "{text}");
        }
    }

    #[test]
    fn sentences_split_on_japanese_punctuation() {
        let t = "一文目。二文目!三文目";
        for at in 0..=t.len() {
            let s = sentence_of(t, at);
            assert!(
                t.is_char_boundary(s.start) && t.is_char_boundary(s.end),
                "offset {at}"
            );
        }
        assert_eq!(&t[sentence_of(t, 0)], "一文目。");
        assert_eq!(&t[sentence_of(t, "一文目。".len())], "二文目!");
        assert_eq!(sentences_between(t, 0, t.len()), 2);
    }
}
