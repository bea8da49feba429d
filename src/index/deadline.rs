//! A time budget for one search, enforced inside Tantivy's scoring loop.
//!
//! Why: a search is CPU work on the blocking pool, and an async timeout around it only stops
//! the waiting, not the work. So the query is wrapped ([`Deadline::wrap`]) in a query whose
//! scorers look at the clock every [`CHECK_EVERY`] documents and end early once the budget is
//! spent; the search then fails with [`IndexError::TimedOut`] instead of returning a partial
//! answer. Together with the bounds on the query string (`limits`) a request holds a core for
//! at most about its budget.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, Term};

use super::IndexError;

/// Default budget of one search (CLI `search --timeout`, `serve --search-timeout`).
pub const SEARCH_BUDGET: Duration = Duration::from_secs(5);

/// Documents a scorer steps through between two looks at the clock.
const CHECK_EVERY: u32 = 512;

/// When a search must stop; cheap to clone (clones share the "expired" flag).
#[derive(Debug, Clone)]
pub struct Deadline {
    /// `None` when the budget is too large to represent: never expires.
    at: Option<Instant>,
    budget: Duration,
    expired: Arc<AtomicBool>,
}

impl Deadline {
    /// A deadline `budget` from now.
    pub fn after(budget: Duration) -> Deadline {
        Deadline {
            at: Instant::now().checked_add(budget),
            budget,
            expired: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The budget it was made with.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// True once the budget is spent (and from then on).
    pub fn expired(&self) -> bool {
        if self.expired.load(Ordering::Relaxed) {
            return true;
        }
        if self.at.is_some_and(|at| Instant::now() >= at) {
            self.expired.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// [`IndexError::TimedOut`] once the budget is spent.
    pub fn check(&self) -> Result<(), IndexError> {
        if self.expired() {
            Err(IndexError::TimedOut {
                budget: self.budget,
            })
        } else {
            Ok(())
        }
    }

    /// `query`, stopping its scorers once this deadline passes.
    pub fn wrap(&self, query: Box<dyn Query>) -> Box<dyn Query> {
        Box::new(DeadlineQuery {
            inner: query,
            deadline: self.clone(),
        })
    }
}

/// A query whose scorers stop at a deadline.
#[derive(Debug)]
struct DeadlineQuery {
    inner: Box<dyn Query>,
    deadline: Deadline,
}

impl Clone for DeadlineQuery {
    fn clone(&self) -> DeadlineQuery {
        DeadlineQuery {
            inner: self.inner.box_clone(),
            deadline: self.deadline.clone(),
        }
    }
}

impl Query for DeadlineQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(DeadlineWeight {
            inner: self.inner.weight(enable_scoring)?,
            deadline: self.deadline.clone(),
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.inner.query_terms(visitor);
    }
}

struct DeadlineWeight {
    inner: Box<dyn Weight>,
    deadline: Deadline,
}

impl Weight for DeadlineWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        if self.deadline.expired() {
            return Ok(Box::new(DeadlineScorer::stopped(self.deadline.clone())));
        }
        Ok(Box::new(DeadlineScorer {
            inner: Some(self.inner.scorer(reader, boost)?),
            deadline: self.deadline.clone(),
            countdown: 0,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.inner.explain(reader, doc)
    }
}

/// A scorer that ends (returns [`TERMINATED`]) once the deadline passes.
struct DeadlineScorer {
    /// `None` once stopped.
    inner: Option<Box<dyn Scorer>>,
    deadline: Deadline,
    /// Steps left before the next look at the clock.
    countdown: u32,
}

impl DeadlineScorer {
    fn stopped(deadline: Deadline) -> DeadlineScorer {
        DeadlineScorer {
            inner: None,
            deadline,
            countdown: 0,
        }
    }

    /// False (and the scorer stopped) when the deadline has passed.
    fn tick(&mut self) -> bool {
        if self.countdown == 0 {
            self.countdown = CHECK_EVERY;
            if self.deadline.expired() {
                self.inner = None;
                return false;
            }
        }
        self.countdown -= 1;
        true
    }
}

impl DocSet for DeadlineScorer {
    fn advance(&mut self) -> DocId {
        if !self.tick() {
            return TERMINATED;
        }
        self.inner.as_mut().map_or(TERMINATED, |s| s.advance())
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if !self.tick() {
            return TERMINATED;
        }
        self.inner.as_mut().map_or(TERMINATED, |s| s.seek(target))
    }

    fn doc(&self) -> DocId {
        self.inner.as_ref().map_or(TERMINATED, |s| s.doc())
    }

    fn size_hint(&self) -> u32 {
        self.inner.as_ref().map_or(0, |s| s.size_hint())
    }
}

impl Scorer for DeadlineScorer {
    fn score(&mut self) -> Score {
        self.inner.as_mut().map_or(0.0, |s| s.score())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::Count;
    use tantivy::query::AllQuery;
    use tantivy::schema::{STRING, Schema};
    use tantivy::{Index, TantivyDocument};

    /// An in-memory index of `n` documents.
    fn index(n: usize) -> Index {
        let mut b = Schema::builder();
        let f = b.add_text_field("k", STRING);
        let index = Index::create_in_ram(b.build());
        let mut w = index
            .writer_with_num_threads(1, 15_000_000)
            .expect("writer");
        for i in 0..n {
            let mut d = TantivyDocument::default();
            d.add_text(f, i.to_string());
            w.add_document(d).expect("add");
        }
        w.commit().expect("commit");
        index
    }

    #[test]
    fn a_generous_deadline_changes_nothing() {
        let index = index(3000);
        let searcher = index.reader().expect("reader").searcher();
        let d = Deadline::after(Duration::from_secs(60));
        let n = searcher
            .search(&d.wrap(Box::new(AllQuery)), &Count)
            .expect("search");
        assert_eq!(n, 3000);
        assert!(d.check().is_ok());
    }

    #[test]
    fn a_spent_budget_stops_the_scorer_and_the_search_fails() {
        let index = index(3000);
        let searcher = index.reader().expect("reader").searcher();
        let d = Deadline::after(Duration::ZERO);
        let n = searcher
            .search(&d.wrap(Box::new(AllQuery)), &Count)
            .expect("search");
        assert!(n < 3000, "{n} documents counted after the deadline");
        let e = d.check().expect_err("expired");
        assert!(matches!(e, IndexError::TimedOut { budget } if budget == Duration::ZERO));
        assert!(e.to_string().contains("budget"), "{e}");
    }

    #[test]
    fn the_scorer_stops_mid_segment() {
        let index = index(5000);
        let reader = index.reader().expect("reader");
        let searcher = reader.searcher();
        let segment = searcher.segment_reader(0);
        let d = Deadline::after(Duration::from_secs(60));
        let weight = d
            .wrap(Box::new(AllQuery))
            .weight(EnableScoring::disabled_from_searcher(&searcher))
            .expect("weight");
        let mut scorer = weight.scorer(segment, 1.0).expect("scorer");
        let mut seen = 0;
        while scorer.doc() != TERMINATED && seen < 1000 {
            seen += 1;
            scorer.advance();
        }
        assert_eq!(seen, 1000);
        d.expired.store(true, Ordering::Relaxed);
        while scorer.doc() != TERMINATED {
            seen += 1;
            scorer.advance();
        }
        assert!(
            seen < 1000 + CHECK_EVERY as usize + 1,
            "went on for {seen} documents"
        );
    }

    #[test]
    fn a_huge_budget_never_expires() {
        let d = Deadline::after(Duration::MAX);
        assert!(!d.expired());
    }
}
