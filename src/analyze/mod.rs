//! Analysis: which watched targets a post mentions, which risk categories apply, which
//! personal data it holds, and how severe it is.
//!
//! The flow for one post: normalize → fold → prefilter (names automaton + personal-data
//! shapes). Most posts stop there: no tokenization, no allocation beyond the normalized text.
//! Candidates are tokenized once with Lindera; mentions are checked against the tokens,
//! personal data is detected and compared with watched values, and the risk lexicon is scored
//! against each mentioned target. Everything here is a pure function of the post and the
//! watchlist: no I/O, no `.await`.

pub mod gate;
pub mod matcher;
pub mod pii;
pub mod risk;
mod window;

use std::collections::BTreeSet;
use std::ops::Range;

use serde::Serialize;

use crate::config::{PersonalValue, Target, TargetKind, Watchlist};
pub use crate::model::PostInput;
use crate::text::normalize;
use crate::text::tokenize;
use matcher::{MatchHow, Matcher, MatcherError};
use pii::{PiiFound, PiiKind};
use risk::{Category, Lexicon, LexiconError};

/// Where in the post a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The body (`text`).
    Text,
    /// The title.
    Title,
}

/// What a match is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MatchDetail {
    /// A mention of a target.
    Target {
        /// How it was recognized.
        how: MatchHow,
    },
    /// A risk term about a target.
    Risk {
        /// Its category.
        category: Category,
        /// The lexicon entry.
        term: String,
        /// Its score in context (0-100).
        score: u8,
    },
    /// Personal data.
    Pii {
        /// Its kind.
        pii: PiiKind,
        /// True if it is one of the target's watched values.
        watched: bool,
    },
}

/// One match, located in the original input so it can be shown in place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    /// Target id the match is about (absent for personal data about nobody watched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// What matched.
    #[serde(flatten)]
    pub detail: MatchDetail,
    /// Which field holds it.
    pub field: Field,
    /// Byte offset in that field.
    pub start: usize,
    /// Byte offset one past the end.
    pub end: usize,
    /// The matched text; personal values are masked.
    pub text: String,
}

/// The result of analyzing one post (`design.md` §3).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Analysis {
    /// The input's id.
    pub id: String,
    /// Ids of the targets the post is about.
    pub targets: Vec<String>,
    /// Whether the post needs a human's attention.
    pub flagged: bool,
    /// Risk categories found (defamation, insult, threat, personal_data).
    pub categories: Vec<Category>,
    /// Personal-data kinds leaked.
    pub pii: Vec<PiiKind>,
    /// Severity 0–100 (0 when not flagged).
    pub severity: u8,
    /// Every match, in text order.
    pub matches: Vec<Match>,
    /// Set when the post was too long, or held too many matches, to be analyzed or listed
    /// whole: what was left out (see the limits in `analyze/window.rs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limited: Option<String>,
}

/// Why an analyzer could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// The matcher could not be compiled.
    #[error(transparent)]
    Matcher(#[from] MatcherError),
    /// The lexicon data is broken.
    #[error(transparent)]
    Lexicon(#[from] LexiconError),
    /// The dictionary could not be loaded.
    #[error(transparent)]
    Tokenize(#[from] tokenize::TokenizeError),
}

/// Analyzes posts against a watchlist. Build once, then call [`Analyzer::analyze`] from any
/// number of threads.
#[derive(Debug, Clone)]
pub struct Analyzer {
    targets: Vec<Target>,
    matcher: Matcher,
    lexicon: Lexicon,
    watched: Vec<(usize, PersonalValue)>,
    gate: gate::Gate,
}

/// Separator between title and body in the analyzed text: a sentence end.
const TITLE_SEP: &str = "\n";

impl Analyzer {
    /// Builds the analyzer for a watchlist (compiles the automaton, loads the lexicon).
    pub fn new(watchlist: &Watchlist) -> Result<Self, AnalyzeError> {
        tokenize::warm_up()?;
        let matcher = Matcher::new(&watchlist.targets)?;
        let lexicon = Lexicon::embedded()?;
        let all_watched: Vec<PersonalValue> = watchlist
            .targets
            .iter()
            .flat_map(|t| t.personal.iter().cloned())
            .collect();
        let gate = gate::Gate::new(&matcher, &all_watched);
        let watched = watchlist
            .targets
            .iter()
            .enumerate()
            .flat_map(|(i, t)| t.personal.iter().map(move |p| (i, p.clone())))
            .collect();
        Ok(Analyzer {
            targets: watchlist.targets.clone(),
            matcher,
            lexicon,
            watched,
            gate,
        })
    }

    /// Analyzes one post. Most posts are dismissed by the [`gate::Gate`], a single pass over
    /// the raw text, and the rest go through the full pipeline.
    pub fn analyze(&self, post: &PostInput) -> Analysis {
        let mut out = Analysis::default();
        self.analyze_into(post, &mut out);
        out
    }

    /// [`Analyzer::analyze`] into `out`, reusing its buffers: a stream of posts (as `mimamori
    /// analyze` reads them) then allocates nothing for the posts that mention no target.
    pub fn analyze_into(&self, post: &PostInput, out: &mut Analysis) {
        let gated = match post.title.as_deref() {
            Some(t) => {
                self.gate.pass(&self.matcher, t)
                    || self.gate.pass(&self.matcher, &post.text)
                    || self
                        .gate
                        .pass(&self.matcher, &format!("{t}{TITLE_SEP}{}", post.text))
            }
            None => self.gate.pass(&self.matcher, &post.text),
        };
        if !gated {
            // Every field named, so that a new one cannot be left over from the post before.
            let Analysis {
                id,
                targets,
                flagged,
                categories,
                pii,
                severity,
                matches,
                limited,
            } = out;
            id.clone_from(&post.id);
            targets.clear();
            *flagged = false;
            categories.clear();
            pii.clear();
            *severity = 0;
            matches.clear();
            *limited = None;
            return;
        }
        *out = self.analyze_bounded(post);
    }

    /// Why the gate lets `text` through (`None`: it does not), for tuning the gate.
    pub fn gate_reason(&self, text: &str) -> Option<gate::Reason> {
        self.gate.reason(&self.matcher, text)
    }

    /// Whether `text` passes the gate's byte-level prescreen (a necessary condition of
    /// [`Analyzer::gate_reason`]).
    pub fn prescreen(&self, text: &str) -> bool {
        self.gate.prescreen(text)
    }

    /// The full pipeline without the gate (the gate's tests compare the two).
    pub fn analyze_ungated(&self, post: &PostInput) -> Analysis {
        let mut out = Analysis {
            id: post.id.clone(),
            ..Default::default()
        };
        let title = post.title.as_deref().filter(|t| !t.trim().is_empty());
        let combined;
        let (text, body_offset) = match title {
            Some(t) => {
                combined = format!("{t}{TITLE_SEP}{}", post.text);
                (combined.as_str(), t.len() + TITLE_SEP.len())
            }
            None => (post.text.as_str(), 0),
        };
        let norm = normalize::normalize(text);
        let folded = normalize::fold(&norm.text);
        let name_candidate = self.matcher.is_candidate(&norm, &folded);
        let pii_candidate = pii::might_contain_pii(&norm.text);
        if !name_candidate && !pii_candidate {
            return out;
        }
        let found = if pii_candidate {
            pii::detect(&norm.text)
        } else {
            Vec::new()
        };
        let watched_hits: Vec<(usize, &PiiFound)> = found
            .iter()
            .flat_map(|f| {
                self.watched
                    .iter()
                    .filter(|(_, w)| w.kind == f.kind && pii::watched_matches(f.kind, &w.value, f))
                    .map(move |(ti, _)| (*ti, f))
            })
            .collect();
        if !name_candidate && watched_hits.is_empty() {
            return out;
        }
        let tokens = match tokenize::tokenize(&norm.text) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(post = %post.id, error = %e, "tokenizing failed; matching without word boundaries");
                Vec::new()
            }
        };
        let mentions = if name_candidate {
            self.matcher.mentions(text, &norm, &folded, &tokens)
        } else {
            Vec::new()
        };
        let locate = |norm_range: &Range<usize>| {
            let orig = norm.original_range(norm_range.clone());
            let snippet = text.get(orig.clone()).unwrap_or("").to_string();
            if orig.start >= body_offset {
                (
                    Field::Text,
                    orig.start - body_offset,
                    orig.end - body_offset,
                    snippet,
                )
            } else {
                let title_len = body_offset - TITLE_SEP.len();
                (
                    Field::Title,
                    orig.start,
                    orig.end.min(title_len).max(orig.start),
                    snippet,
                )
            }
        };
        let mut target_ids: BTreeSet<usize> = mentions.iter().map(|m| m.target).collect();
        target_ids.extend(watched_hits.iter().map(|(t, _)| *t));
        let mut categories = BTreeSet::new();
        let mut pii_kinds = BTreeSet::new();
        let mut severity = 0u8;
        let ctx = &self.lexicon.context;
        for &ti in &target_ids {
            let target = &self.targets[ti];
            let id = Some(target.id.clone());
            let mine: Vec<&matcher::Mention> = mentions.iter().filter(|m| m.target == ti).collect();
            let mut anchors: Vec<Range<usize>> = mine.iter().map(|m| m.norm.clone()).collect();
            for m in &mine {
                let (field, start, end, snippet) = locate(&m.norm);
                out.matches.push(Match {
                    target: id.clone(),
                    detail: MatchDetail::Target { how: m.how },
                    field,
                    start,
                    end,
                    text: snippet,
                });
            }
            // Personal data: watched values anywhere; other values next to a person's name.
            let mut leaks: Vec<(PiiKind, u8)> = Vec::new();
            for f in &found {
                let watched = watched_hits
                    .iter()
                    .any(|(t, w)| *t == ti && std::ptr::eq(*w, f));
                let leak = watched
                    || match target.kind {
                        TargetKind::Person => !mine.is_empty(),
                        TargetKind::Business => {
                            !mine.is_empty()
                                && (matches!(f.kind, PiiKind::MyNumber | PiiKind::CreditCard)
                                    || ctx.person_context_near(&folded, &f.range))
                        }
                    };
                if !leak {
                    continue;
                }
                if watched {
                    anchors.push(f.range.clone());
                    if mine.is_empty() {
                        let (field, start, end, _) = locate(&f.range);
                        out.matches.push(Match {
                            target: id.clone(),
                            detail: MatchDetail::Target {
                                how: MatchHow::PersonalValue,
                            },
                            field,
                            start,
                            end,
                            text: pii::mask(f.kind, &f.normalized),
                        });
                    }
                }
                leaks.push((f.kind, ctx.pii_severity(f.kind)));
                let (field, start, end, _) = locate(&f.range);
                out.matches.push(Match {
                    target: id.clone(),
                    detail: MatchDetail::Pii {
                        pii: f.kind,
                        watched,
                    },
                    field,
                    start,
                    end,
                    text: pii::mask(f.kind, &f.normalized),
                });
            }
            let risks = self.lexicon.assess(&folded, &tokens, &anchors);
            let mut best: Vec<(Category, u8)> = Vec::new();
            for r in &risks {
                match best.iter_mut().find(|(c, _)| *c == r.category) {
                    Some((_, s)) => *s = (*s).max(r.score),
                    None => best.push((r.category, r.score)),
                }
            }
            best.retain(|(_, s)| *s >= ctx.threshold);
            let mut shown: Vec<(Category, Range<usize>)> = Vec::new();
            for r in risks
                .iter()
                .filter(|r| best.iter().any(|(c, _)| *c == r.category))
            {
                // 産地偽装 and the 偽装 inside it are one finding.
                if shown
                    .iter()
                    .any(|(c, s)| *c == r.category && s.start < r.norm.end && r.norm.start < s.end)
                {
                    continue;
                }
                shown.push((r.category, r.norm.clone()));
                let (field, start, end, snippet) = locate(&r.norm);
                out.matches.push(Match {
                    target: id.clone(),
                    detail: MatchDetail::Risk {
                        category: r.category,
                        term: r.term.clone(),
                        score: r.score,
                    },
                    field,
                    start,
                    end,
                    text: snippet,
                });
            }
            if let Some(max) = leaks.iter().map(|(_, s)| *s).max() {
                best.push((Category::PersonalData, max));
                pii_kinds.extend(leaks.iter().map(|(k, _)| *k));
            }
            if !best.is_empty() {
                let top = best.iter().map(|(_, s)| u32::from(*s)).max().unwrap_or(0);
                let extra = u32::from(ctx.extra_category_bonus) * (best.len() as u32 - 1);
                let evasion = if mine.iter().any(|m| {
                    matches!(
                        m.how,
                        MatchHow::Masked | MatchHow::Spaced | MatchHow::Romaji
                    )
                }) {
                    u32::from(ctx.evasion_bonus)
                } else {
                    0
                };
                severity = severity.max((top + extra + evasion).min(100) as u8);
                categories.extend(best.iter().map(|(c, _)| *c));
            }
            out.targets.push(target.id.clone());
        }
        out.flagged = !categories.is_empty();
        out.categories = categories.into_iter().collect();
        out.pii = pii_kinds.into_iter().collect();
        out.severity = if out.flagged { severity } else { 0 };
        out.matches
            .sort_by_key(|m| (m.field == Field::Text, m.start));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simweb::corpus::Generator;

    const WATCHLIST: &str = include_str!("../../watchlists/example.toml");
    const FIXTURE_WATCHLIST: &str = include_str!("../../tests/fixtures/analyze/watchlist.toml");
    const FIXTURE_POSTS: &str = include_str!("../../tests/fixtures/analyze/posts.jsonl");

    /// A post of `text` alone.
    fn text_post(text: &str) -> PostInput {
        PostInput {
            id: "t".into(),
            text: text.into(),
            ..Default::default()
        }
    }

    /// The full pipeline without the gate finds a target in `text`, and the gate changes
    /// nothing.
    fn finds_a_target_with_and_without_the_gate(analyzer: &Analyzer, text: &str) {
        let post = text_post(text);
        assert!(
            !analyzer.analyze_ungated(&post).targets.is_empty(),
            "slow path should find a target in {text:?}"
        );
        same_verdict(analyzer, &post);
    }

    /// The gate changes neither the targets nor the flag of `post`.
    fn same_verdict(analyzer: &Analyzer, post: &PostInput) {
        let fast = analyzer.analyze(post);
        let slow = analyzer.analyze_ungated(post);
        assert_eq!(
            fast.targets, slow.targets,
            "gate changed targets of {:?}",
            post.text
        );
        assert_eq!(
            fast.flagged, slow.flagged,
            "gate changed the flag of {:?}",
            post.text
        );
    }

    /// One output reused over a stream (as `mimamori analyze` does) holds exactly what a
    /// fresh one would: nothing of the post before is left in it.
    #[test]
    fn analyze_into_leaves_nothing_of_the_post_before() {
        let wl = crate::config::parse_str(WATCHLIST, std::path::Path::new("example.toml"))
            .expect("watchlist");
        let analyzer = Analyzer::new(&wl).expect("analyzer");
        let posts = [
            (
                "a-long-identifier-0001",
                "さくら食品は詐欺、田中美咲の電話 080-3141-5926",
            ),
            ("2", "今日は雨でした"),
            ("3", "ｻｸﾗ食品の店員ｷﾓい"),
            ("4", ""),
            (
                "a-long-identifier-0005",
                "たなかみさき ブス misaki.tanaka@example.jp",
            ),
            ("6", "普通の書き込み"),
        ];
        let mut out = Analysis::default();
        let mut hits = 0;
        for (id, text) in posts {
            let post = PostInput {
                id: id.into(),
                text: text.into(),
                ..Default::default()
            };
            analyzer.analyze_into(&post, &mut out);
            let fresh = analyzer.analyze(&post);
            hits += usize::from(!fresh.targets.is_empty());
            assert_eq!(
                serde_json::to_string(&out).expect("json"),
                serde_json::to_string(&fresh).expect("json"),
                "reused output differs for {text:?}"
            );
        }
        assert_eq!(hits, 3, "the stream mixes hits and misses");
    }

    /// The gate is a necessary condition: it never hides what the full pipeline finds.
    #[test]
    fn gate_never_changes_a_verdict() {
        let wl = crate::config::parse_str(WATCHLIST, std::path::Path::new("example.toml"))
            .expect("watchlist");
        let analyzer = Analyzer::new(&wl).expect("analyzer");
        let mut generator = Generator::new(11, &wl).expect("generator");
        for i in 0..3000 {
            let g = generator.post();
            same_verdict(
                &analyzer,
                &PostInput {
                    id: i.to_string(),
                    text: g.text,
                    ..Default::default()
                },
            );
        }
        let tricky = [
            "ｻｸﾗ食品の店員ｷﾓい",
            "さ く ら 食 品",
            "さ.く.ら.食.品",
            "さ〇ら食品は詐欺",
            "⼩林クリニック",
            "ＳＡＫＵＲＡ　ＦＯＯＤＳ　is a scam",
            "sakura\u{200B}foods scam",
            "田中美咲の電話 ０８０ー３１４１ー５９２６",
            "misaki.tanaka(at)example.jp",
            "世田谷区三軒茶屋二丁目11番5号",
            "たなかみさき ブス",
            "タナカミサキの家",
            "sakura\u{061C}foods scam",
            "\u{202E}品食らくさ\u{202C}は詐欺",
            "さくら\u{202E}あいうえおかきくけこさしすせそ品食\u{202C}",
            "田中美咲の電話 \u{202E}6295-1413-080\u{202C}",
        ];
        for t in tricky {
            finds_a_target_with_and_without_the_gate(&analyzer, t);
        }
        let fwl =
            crate::config::parse_str(FIXTURE_WATCHLIST, std::path::Path::new("fixtures.toml"))
                .expect("fixture watchlist");
        let fanalyzer = Analyzer::new(&fwl).expect("analyzer");
        for line in FIXTURE_POSTS.lines().filter(|l| !l.trim().is_empty()) {
            let post: PostInput = serde_json::from_str(line).expect("fixture line");
            same_verdict(&fanalyzer, &post);
        }
    }

    /// The prescreen is a necessary condition of the gate: whatever the gate passes, it
    /// passes — on generated posts and on the forms used to evade search.
    #[test]
    fn prescreen_passes_whatever_the_gate_passes() {
        let example = crate::config::parse_str(WATCHLIST, std::path::Path::new("example.toml"))
            .expect("watchlist");
        let bench = crate::bench::builtin_watchlist().expect("bench watchlist");
        for (wl, seed) in [(&example, 5), (&bench, 6)] {
            let analyzer = Analyzer::new(wl).expect("analyzer");
            let mut generator = Generator::new(seed, wl).expect("generator");
            let (mut gated, mut screened_out) = (0, 0);
            let total = 6000;
            for _ in 0..total {
                let text = generator.post().text;
                let pre = analyzer.prescreen(&text);
                screened_out += usize::from(!pre);
                if analyzer.gate_reason(&text).is_some() {
                    gated += 1;
                    assert!(pre, "prescreen rejects what the gate passes: {text:?}");
                }
            }
            assert!(gated > 0, "no generated post passed the gate");
            assert!(
                screened_out * 10 > total,
                "the prescreen rejects only {screened_out} of {total} posts"
            );
        }
        let tricky: [(&Watchlist, &str); 20] = [
            (&bench, "ﾔﾏﾀﾞ商事の社長"),
            (&bench, "ＹＡＭＡＤＡ　ＳＨＯＪＩ"),
            (&bench, "Ｙａｍａｄａ Shoji は"),
            (&bench, "山〇商事は詐欺"),
            (&bench, "山 田 商 事"),
            (&bench, "山田.商事"),
            (&bench, "電話 ０９０－２３４５－６７８９ まで"),
            (&bench, "+81 90 2345 6789"),
            (&example, "misaki.tanaka＠example.jp"),
            (&example, "misaki.tanaka(at)example.jp"),
            (&example, "ｻｸﾗ食品"),
            (&example, "⼩林クリニック"),
            (&example, "ｶﾌﾞｼｷｶﾞｲｼｬｻｸﾗ食品"),
            (&example, "かふ\u{3099}しきか\u{3099}いしゃさくら食品の社長"),
            (&example, "Tanaka Misaki"),
            (&example, "SAKURA  FOODS"),
            (&example, "電話は080.3141.5926"),
            (&example, "mail: misaki . tanaka at example . jp"),
            (&example, "sakura\u{061C}foods"),
            (&example, "さくら\u{202E}あいうえおかきくけこさしすせそ品食"),
        ];
        for (wl, text) in tricky {
            let analyzer = Analyzer::new(wl).expect("analyzer");
            assert!(
                analyzer.gate_reason(text).is_some(),
                "gate should pass {text:?}"
            );
            assert!(analyzer.prescreen(text), "prescreen should pass {text:?}");
            same_verdict(&analyzer, &text_post(text));
        }
    }

    /// Bidi and zero-width characters cannot hide a word from the analyzer: a word split by
    /// them is read whole, and a run under a right-to-left override is read as displayed.
    #[test]
    fn hidden_and_reversed_words_are_read_as_displayed() {
        let wl = crate::config::parse_str(WATCHLIST, std::path::Path::new("example.toml"))
            .expect("watchlist");
        let analyzer = Analyzer::new(&wl).expect("analyzer");
        let defamation = |text: &str| {
            let a = analyzer.analyze(&text_post(text));
            same_verdict(&analyzer, &text_post(text));
            a.flagged && a.categories.contains(&Category::Defamation)
        };
        assert!(defamation("さくら食品は詐欺"));
        // Split by zero-width and bidi marks: stripped.
        assert!(defamation("さくら食品は詐\u{200B}欺"));
        assert!(defamation("さくら\u{200D}食品は詐\u{2060}欺\u{FEFF}"));
        assert!(defamation("さくら食品は詐\u{200F}欺\u{061C}"));
        // Displayed 詐欺 (reversed by the override): read as displayed.
        assert!(defamation("さくら食品は\u{202E}欺詐\u{202C}"));
        assert!(defamation("さくら食品は\u{202E}欺詐"));
        // Logically 詐欺 but displayed 欺詐: no reader sees the word.
        assert!(!defamation("さくら食品は\u{202E}詐欺\u{202C}"));
        let a = analyzer.analyze(&text_post("さくら食品は\u{202E}欺詐\u{202C}です"));
        let risk = a
            .matches
            .iter()
            .find(|m| matches!(m.detail, MatchDetail::Risk { .. }))
            .expect("a risk match");
        assert_eq!(
            risk.text, "\u{202E}欺詐\u{202C}",
            "located on the whole reversed run"
        );
    }

    /// A service number is ten digits, but not a watched phone: it no longer opens the gate.
    #[test]
    fn unwatched_numbers_do_not_open_the_gate() {
        let wl = crate::config::parse_str(WATCHLIST, std::path::Path::new("example.toml"))
            .expect("watchlist");
        let analyzer = Analyzer::new(&wl).expect("analyzer");
        assert_eq!(
            analyzer.gate_reason("問い合わせ窓口は0120-128-981らしい"),
            None
        );
        assert_eq!(
            analyzer.gate_reason("番号は080-3141-5926"),
            Some(gate::Reason::Digits)
        );
        assert_eq!(
            analyzer.gate_reason("番号 123456789012 です"),
            Some(gate::Reason::Digits),
            "a hashed My Number needs any 12-digit chain"
        );
    }

    /// Romanized names as people write them (Hepburn or Kunrei, long vowels written or not,
    /// `oh`, upper or full-width case, words joined or apart): the gate finds each, and the
    /// prescreen's in-order spelling test of a run lets each through.
    #[test]
    fn prescreen_spells_romaji_as_the_matcher_reads_it() {
        let toml = r#"
[[target]]
id = "joji"
kind = "person"
names = ["東海林丈治"]
readings = ["しょうじじょうじ"]

[[target]]
id = "chie"
kind = "person"
names = ["土屋千恵"]
readings = ["つちやちえ"]
"#;
        let wl =
            crate::config::parse_str(toml, std::path::Path::new("romaji.toml")).expect("watchlist");
        let analyzer = Analyzer::new(&wl).expect("analyzer");
        for text in [
            "Shoji Joji",
            "shouji jouji の件",
            "SHOHJI JOHJI",
            "Syozi Zyozi",
            "Syouzi Zyouzi",
            "shojijoji",
            "Ｓｈｏｊｉ　Ｊｏｊｉ",
            "Tsuchiya Chie",
            "Tutiya Tie",
            "TSUCHIYA CHIE",
            "tuchiya chie",
        ] {
            finds_a_target_with_and_without_the_gate(&analyzer, text);
            assert!(analyzer.prescreen(text), "prescreen should pass {text:?}");
        }
        for text in [
            "https://example.net/oshijijo",
            "Ijohs ijoj",
            "eihc ayihcust",
        ] {
            assert!(
                !analyzer.prescreen(text),
                "prescreen should reject {text:?}"
            );
        }
    }
}
