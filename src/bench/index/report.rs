//! The figures of `bench index`: per-class latency, the goals, and the printed tables.

use std::io::Write;

use super::{
    CLASSES, ClassRow, GOAL_P99_MS, GOAL_POSTS_PER_CORE_S, Goal, IndexBenchError, IndexBenchReport,
    Ingest, LIMIT, Latency, QueryRow,
};
use crate::bench::MB;

macro_rules! say {
    ($out:expr, $($arg:tt)*) => { super::say($out, format_args!($($arg)*)) };
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

fn class_row(class: &str, rows: &[&QueryRow]) -> ClassRow {
    let pool = |f: &dyn Fn(&QueryRow) -> &Vec<f64>| -> Latency {
        let all: Vec<f64> = rows.iter().flat_map(|r| f(r).iter().copied()).collect();
        Latency::of(&all)
    };
    let mimamori = pool(&|r| &r.samples.mimamori);
    let fts5 = pool(&|r| &r.samples.fts5);
    ClassRow {
        class: class.to_string(),
        queries: rows.len(),
        mimamori_no_snippets: pool(&|r| &r.samples.mimamori_no_snippets),
        p50_ratio: ratio(fts5.p50_ms, mimamori.p50_ms),
        p99_ratio: ratio(fts5.p99_ms, mimamori.p99_ms),
        mimamori,
        fts5,
    }
}

/// One row per class in [`CLASSES`] order (classes without queries are left out), then
/// `overall`; every class pools the timed runs of its queries.
pub fn summarize(queries: &[QueryRow]) -> Vec<ClassRow> {
    let mut out = Vec::new();
    for class in CLASSES {
        let rows: Vec<&QueryRow> = queries.iter().filter(|q| q.class == *class).collect();
        if !rows.is_empty() {
            out.push(class_row(class, &rows));
        }
    }
    let all: Vec<&QueryRow> = queries.iter().collect();
    out.push(class_row("overall", &all));
    out
}

/// The goals, judged on this run.
pub fn goals(one_core: Option<&Ingest>, configured: &Ingest, classes: &[ClassRow]) -> Vec<Goal> {
    let mut goals = Vec::new();
    let per_core = configured.posts_per_core_s;
    let (value, how) = match (one_core, per_core) {
        (Some(o), _) => (o.posts_per_s, "pinned to one CPU, wall clock"),
        (None, Some(c)) => (c, "posts per CPU second"),
        (None, None) => (configured.posts_per_s, "wall clock (CPU time unknown)"),
    };
    let per_core_text = per_core.map_or(String::new(), |c| format!("; {c:.0} per CPU second"));
    goals.push(Goal {
        goal: format!("ingest >= {GOAL_POSTS_PER_CORE_S:.0} posts/s on one core"),
        measured: format!("{value:.0} posts/s ({how}{per_core_text})"),
        met: value >= GOAL_POSTS_PER_CORE_S,
    });
    if let Some(overall) = classes.iter().find(|c| c.class == "overall") {
        goals.push(Goal {
            goal: format!(
                "search p99 <= {GOAL_P99_MS:.0} ms at 1M posts (top {LIMIT} with snippets)"
            ),
            measured: format!(
                "{:.2} ms at {} posts",
                overall.mimamori.p99_ms, configured.posts
            ),
            met: overall.mimamori.p99_ms <= GOAL_P99_MS,
        });
        let faster = classes
            .iter()
            .filter(|c| c.class != "overall" && c.mimamori.p99_ms < c.fts5.p99_ms)
            .count();
        goals.push(Goal {
            goal: "search faster than FTS5 at p99".into(),
            measured: format!(
                "{:.2} vs {:.2} ms overall ({:.1}x); faster in {faster} of {} classes",
                overall.mimamori.p99_ms,
                overall.fts5.p99_ms,
                overall.p99_ratio,
                classes.len().saturating_sub(1)
            ),
            met: overall.mimamori.p99_ms < overall.fts5.p99_ms,
        });
    }
    goals
}

/// What a reader must know to compare the counts.
pub fn notes(queries: &[QueryRow]) -> Vec<String> {
    let mut out = Vec::new();
    let like: Vec<&str> = queries
        .iter()
        .filter(|q| q.fts5_like)
        .map(|q| q.query.as_str())
        .collect();
    if !like.is_empty() {
        out.push(format!(
            "FTS5 trigram cannot match fewer than 3 letters: {} ran as LIKE '%..%' scans over title and body (ranked by recency, no bm25)",
            like.join(", ")
        ));
    }
    let kana_short: Vec<String> = queries
        .iter()
        .filter(|q| q.class == "kana" && q.fts5_count < q.mimamori_count)
        .map(|q| format!("{} ({} vs {})", q.query, q.fts5_count, q.mimamori_count))
        .collect();
    if !kana_short.is_empty() {
        out.push(format!(
            "kana readings have no FTS5 equivalent for kanji text (run literally, FTS5 vs mimamori counts): {}",
            kana_short.join(", ")
        ));
    }
    out.push(
        "mimamori folds width and kana (ﾔﾏﾀﾞ = ヤマダ = やまだ) and indexes author names too; FTS5 trigram matches title and body literally (ASCII case folded only)".into(),
    );
    out
}

fn fmt_latency(l: &Latency) -> String {
    format!("{:.2} / {:.2}", l.p50_ms, l.p99_ms)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / MB as f64
}

/// Prints the summary table, the goals, the per-query table and the notes.
pub fn write(r: &IndexBenchReport, out: &mut dyn Write) -> Result<(), IndexBenchError> {
    say!(out, "")?;
    say!(
        out,
        "{} posts ({:.1} MB of bodies), seed {}; MB = 2^20 bytes; latency p50 / p99 in ms, top {LIMIT} with snippets",
        r.posts,
        mb(r.body_bytes),
        r.seed
    )?;
    say!(
        out,
        "{:<40} {:>18} {:>18} {:>10}",
        "",
        "mimamori",
        "FTS5 trigram",
        "FTS5/mim."
    )?;
    let num = |x: f64| format!("{x:.0}");
    let opt = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.0}"));
    let (m, f) = (&r.mimamori_ingest, &r.fts5_ingest);
    say!(
        out,
        "{:<40} {:>18} {:>18} {:>10.2}",
        "ingest posts/s, wall clock",
        num(m.posts_per_s),
        num(f.posts_per_s),
        ratio(f.posts_per_s, m.posts_per_s)
    )?;
    say!(
        out,
        "{:<40} {:>18} {:>18} {:>10.2}",
        "ingest posts/s per core (CPU time)",
        opt(m.posts_per_core_s),
        opt(f.posts_per_core_s),
        ratio(
            f.posts_per_core_s.unwrap_or(f64::NAN),
            m.posts_per_core_s.unwrap_or(f64::NAN)
        )
    )?;
    if let Some(one) = &r.mimamori_ingest_one_core {
        say!(
            out,
            "{:<40} {:>18} {:>18} {:>10.2}",
            "ingest posts/s pinned to one CPU",
            num(one.posts_per_s),
            num(f.posts_per_s),
            ratio(f.posts_per_s, one.posts_per_s)
        )?;
    }
    say!(
        out,
        "{:<40} {:>18.1} {:>18.1} {:>10.2}",
        "size on disk, MB",
        mb(r.mimamori_bytes),
        mb(r.fts5_bytes),
        ratio(r.fts5_bytes as f64, r.mimamori_bytes as f64)
    )?;
    for c in &r.classes {
        say!(
            out,
            "{:<40} {:>18} {:>18} {:>10.1}",
            format!("{} ({} queries), p99 ratio", c.class, c.queries),
            fmt_latency(&c.mimamori),
            fmt_latency(&c.fts5),
            c.p99_ratio
        )?;
    }
    if let Some(o) = r.classes.iter().find(|c| c.class == "overall") {
        say!(
            out,
            "{:<40} {:>18} {:>18} {:>10.1}",
            "overall, mimamori without snippets",
            fmt_latency(&o.mimamori_no_snippets),
            fmt_latency(&o.fts5),
            ratio(o.fts5.p99_ms, o.mimamori_no_snippets.p99_ms)
        )?;
    }
    say!(out, "")?;
    say!(out, "ingest: mimamori {}; FTS5 {}", m.how, f.how)?;
    say!(
        out,
        "analyzer on every post: {} with a target, {} flagged, in {:.1} s (before the ingest, not timed in it)",
        r.with_targets,
        r.flagged,
        r.analysis_s
    )?;
    say!(out, "")?;
    say!(out, "goals:")?;
    for g in &r.goals {
        say!(
            out,
            "  {:<58} {:<8} {}",
            g.goal,
            if g.met { "met" } else { "NOT MET" },
            g.measured
        )?;
    }
    say!(out, "")?;
    say!(
        out,
        "{:<7} {:<40} {:>9} {:>9} {:>4} {:>15} {:>15} {:>15}",
        "class",
        "query (filters)",
        "n mim.",
        "n FTS5",
        "top",
        "mim. p50/p99",
        "no snip.",
        "FTS5 p50/p99"
    )?;
    for q in &r.queries {
        let label = if q.filters.is_empty() {
            q.query.clone()
        } else {
            format!("{} {}", q.query, q.filters)
        };
        let pad = 40usize.saturating_sub(display_width(&label));
        say!(
            out,
            "{:<7} {label}{:pad$} {:>9} {:>9} {:>4} {:>15} {:>15} {:>15}{}",
            q.class,
            "",
            q.mimamori_count,
            q.fts5_count,
            q.top_overlap,
            fmt_latency(&q.mimamori),
            fmt_latency(&q.mimamori_no_snippets),
            fmt_latency(&q.fts5),
            if q.fts5_like {
                "  (FTS5: LIKE scan)"
            } else {
                ""
            }
        )?;
    }
    say!(
        out,
        "(n = posts matched; top = posts in both top-{LIMIT} lists; runs per query: {}-{})",
        r.queries
            .iter()
            .map(|q| q.mimamori.runs.min(q.fts5.runs))
            .min()
            .unwrap_or(0),
        r.queries
            .iter()
            .map(|q| q.mimamori.runs.max(q.fts5.runs))
            .max()
            .unwrap_or(0)
    )?;
    for n in &r.notes {
        say!(out, "note: {n}")?;
    }
    Ok(())
}

/// Terminal columns of `s`: East Asian wide letters take two.
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            if matches!(c, '\u{1100}'..='\u{115F}' | '\u{2E80}'..='\u{A4CF}' | '\u{AC00}'..='\u{D7A3}' | '\u{F900}'..='\u{FAFF}' | '\u{FE30}'..='\u{FE4F}' | '\u{FF00}'..='\u{FF60}' | '\u{FFE0}'..='\u{FFE6}')
            {
                2
            } else {
                1
            }
        })
        .sum()
}
