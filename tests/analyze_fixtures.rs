//! Scores the analyzer on the labeled fixtures in `tests/fixtures/analyze/` (labeling rules in
//! its README) and fails when quality drops below the floor. Hard cases are reported apart.

use std::collections::BTreeSet;

use mimamori::analyze::{Analyzer, PostInput};
use serde::Deserialize;

use crate::support::fixture;

#[derive(Deserialize)]
struct Labeled {
    id: String,
    target: Option<String>,
    text: String,
    flag: bool,
    categories: Vec<String>,
    pii: Vec<String>,
    hard: bool,
}

#[derive(Default, Debug)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn f1(&self) -> f64 {
        let p = if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        };
        let r = if self.tp + self.fn_ == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        };
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

#[test]
fn labeled_fixtures_meet_the_quality_floor() {
    let watchlist = mimamori::config::load(&fixture("analyze/watchlist.toml"))
        .expect("fixture watchlist loads");
    let analyzer = Analyzer::new(&watchlist).expect("analyzer builds");
    let text = std::fs::read_to_string(fixture("analyze/posts.jsonl")).expect("read fixtures");
    let labels: Vec<Labeled> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("fixture line"))
        .collect();
    assert!(
        labels.len() >= 150,
        "the fixture set must hold at least 150 posts, has {}",
        labels.len()
    );
    let (mut targets, mut flags, mut cats) =
        (Counts::default(), Counts::default(), Counts::default());
    let (mut pii_hit, mut pii_all) = (0, 0);
    let mut misses = Vec::new();
    for l in labels.iter().filter(|l| !l.hard) {
        let a = analyzer.analyze(&PostInput {
            id: l.id.clone(),
            text: l.text.clone(),
            ..Default::default()
        });
        let expected: BTreeSet<&str> = l.target.iter().map(String::as_str).collect();
        let got: BTreeSet<&str> = a.targets.iter().map(String::as_str).collect();
        targets.tp += expected.intersection(&got).count();
        targets.fp += got.difference(&expected).count();
        targets.fn_ += expected.difference(&got).count();
        let flagged =
            a.flagged && (expected.is_empty() || expected.iter().any(|t| got.contains(t)));
        match (l.flag, flagged, a.flagged) {
            (true, true, _) => flags.tp += 1,
            (true, false, _) => flags.fn_ += 1,
            (false, _, true) => flags.fp += 1,
            _ => {}
        }
        let got_cats: BTreeSet<&str> = a.categories.iter().map(|c| c.as_str()).collect();
        if l.flag && flagged {
            let exp_cats: BTreeSet<&str> = l.categories.iter().map(String::as_str).collect();
            cats.tp += exp_cats.intersection(&got_cats).count();
            cats.fp += got_cats.difference(&exp_cats).count();
            cats.fn_ += exp_cats.difference(&got_cats).count();
        }
        let got_pii: BTreeSet<&str> = a.pii.iter().map(|k| k.as_str()).collect();
        for k in &l.pii {
            pii_all += 1;
            if got_pii.contains(k.as_str()) {
                pii_hit += 1;
            }
        }
        if expected != got
            || l.flag != a.flagged
            || l.pii.iter().any(|k| !got_pii.contains(k.as_str()))
        {
            misses.push(format!(
                "{} want target={:?} flag={} cats={:?} pii={:?} | got targets={:?} flag={} cats={:?} pii={:?} | {}",
                l.id, l.target, l.flag, l.categories, l.pii, a.targets, a.flagged, got_cats, got_pii, l.text.replace('\n', "⏎")
            ));
        }
    }
    eprintln!("fixture misses ({}):\n{}", misses.len(), misses.join("\n"));
    let summary = format!(
        "target F1 {:.3}, flag F1 {:.3}, category F1 {:.3}, pii recall {pii_hit}/{pii_all}",
        targets.f1(),
        flags.f1(),
        cats.f1()
    );
    eprintln!("fixture scores: {summary}");
    assert!(targets.f1() >= 0.95, "target F1 below 0.95: {summary}");
    assert!(flags.f1() >= 0.90, "flag F1 below 0.90: {summary}");
    assert!(cats.f1() >= 0.80, "category F1 below 0.80: {summary}");
    assert!(
        pii_hit * 100 >= pii_all * 95,
        "pii recall below 95%: {summary}"
    );
}
