//! Facet counts and a per-day histogram over *every* document a query matches, not just the
//! page of results shown: the web page and `GET /api/search` show "yamada 12 · sakurai 3" and
//! a posts-per-day chart beside the ten best results.
//!
//! One Tantivy [`Collector`] reads the fast columns `target`, `category`, `source`
//! (multi-valued strings: counted per term ordinal in each segment, turned into strings once
//! per segment at harvest) and `posted_at` (bucketed by calendar day in JST, the time zone the
//! boards write in). Nothing is scored, so collection is a column scan of the matching docs.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::search::{Deadline, SEARCH_BUDGET, SearchRequest};
use super::{IndexError, SearchIndex, tv};
use crate::model::jst;

/// Counts per facet value, and posts per day, over all documents a query matches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facets {
    /// Documents matched in all.
    pub total: u64,
    /// Target id → documents that mention it.
    pub targets: BTreeMap<String, u64>,
    /// Category → documents with a hit of that category.
    pub categories: BTreeMap<String, u64>,
    /// Source kind → documents from it.
    pub sources: BTreeMap<String, u64>,
    /// Documents per posted-at day (JST), oldest first; days without posts are left out.
    pub histogram: Vec<DayCount>,
}

/// Documents posted on one day (JST).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCount {
    /// The day, `YYYY-MM-DD` (JST).
    pub day: String,
    /// Documents posted that day.
    pub count: u64,
}

/// The collector: facet counts and a day histogram of the matching documents.
#[derive(Debug, Clone, Copy, Default)]
pub struct FacetCollector;

/// What one segment yields: counts by value, and by JST day.
#[derive(Debug, Default)]
pub struct SegmentFacets {
    total: u64,
    targets: BTreeMap<String, u64>,
    categories: BTreeMap<String, u64>,
    sources: BTreeMap<String, u64>,
    days: BTreeMap<NaiveDate, u64>,
}

/// Counts per term ordinal of one string column.
struct OrdCounts {
    column: Option<StrColumn>,
    counts: Vec<u64>,
}

impl OrdCounts {
    fn new(column: Option<StrColumn>) -> OrdCounts {
        let n = column.as_ref().map_or(0, |c| c.num_terms());
        OrdCounts {
            column,
            counts: vec![0; n],
        }
    }

    fn collect(&mut self, doc: DocId) {
        let Some(col) = &self.column else { return };
        for ord in col.term_ords(doc) {
            if let Some(c) = self.counts.get_mut(ord as usize) {
                *c += 1;
            }
        }
    }

    fn harvest(self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        let Some(col) = self.column else { return out };
        let mut term = String::new();
        for (ord, n) in self.counts.into_iter().enumerate() {
            if n == 0 {
                continue;
            }
            term.clear();
            if col.ord_to_str(ord as u64, &mut term).unwrap_or(false) {
                out.insert(term.clone(), n);
            }
        }
        out
    }
}

/// The segment half of [`FacetCollector`].
pub struct FacetSegmentCollector {
    total: u64,
    targets: OrdCounts,
    categories: OrdCounts,
    sources: OrdCounts,
    posted_at: Option<Column<tantivy::DateTime>>,
    days: BTreeMap<NaiveDate, u64>,
}

fn jst_day(t: tantivy::DateTime) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp(t.into_timestamp_secs(), 0)
        .map(|d| d.with_timezone(&jst()).date_naive())
}

impl SegmentCollector for FacetSegmentCollector {
    type Fruit = SegmentFacets;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.total += 1;
        self.targets.collect(doc);
        self.categories.collect(doc);
        self.sources.collect(doc);
        if let Some(col) = &self.posted_at
            && let Some(day) = col.first(doc).and_then(jst_day)
        {
            *self.days.entry(day).or_default() += 1;
        }
    }

    fn harvest(self) -> SegmentFacets {
        SegmentFacets {
            total: self.total,
            targets: self.targets.harvest(),
            categories: self.categories.harvest(),
            sources: self.sources.harvest(),
            days: self.days,
        }
    }
}

fn add_all<K: Ord>(into: &mut BTreeMap<K, u64>, from: BTreeMap<K, u64>) {
    for (k, n) in from {
        *into.entry(k).or_default() += n;
    }
}

impl Collector for FacetCollector {
    type Fruit = Facets;
    type Child = FacetSegmentCollector;

    fn for_segment(
        &self,
        _segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<FacetSegmentCollector> {
        let ff = segment.fast_fields();
        Ok(FacetSegmentCollector {
            total: 0,
            targets: OrdCounts::new(ff.str("target")?),
            categories: OrdCounts::new(ff.str("category")?),
            sources: OrdCounts::new(ff.str("source")?),
            posted_at: ff.column_opt::<tantivy::DateTime>("posted_at")?,
            days: BTreeMap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<SegmentFacets>) -> tantivy::Result<Facets> {
        let mut all = SegmentFacets::default();
        for s in segments {
            all.total += s.total;
            add_all(&mut all.targets, s.targets);
            add_all(&mut all.categories, s.categories);
            add_all(&mut all.sources, s.sources);
            add_all(&mut all.days, s.days);
        }
        Ok(Facets {
            total: all.total,
            targets: all.targets,
            categories: all.categories,
            sources: all.sources,
            histogram: all
                .days
                .into_iter()
                .map(|(day, count)| DayCount {
                    day: day.format("%Y-%m-%d").to_string(),
                    count,
                })
                .collect(),
        })
    }
}

impl SearchIndex {
    /// Facet counts and the day histogram of every document `request` matches (its `limit` is
    /// ignored), within [`SEARCH_BUDGET`].
    pub fn facets(&self, request: &SearchRequest) -> Result<Facets, IndexError> {
        self.facets_within(request, &Deadline::after(SEARCH_BUDGET))
    }

    /// [`SearchIndex::facets`], failing with [`IndexError::TimedOut`] once `deadline` passes
    /// (counts cut short by the deadline are never returned).
    pub fn facets_within(
        &self,
        request: &SearchRequest,
        deadline: &Deadline,
    ) -> Result<Facets, IndexError> {
        let query = deadline.wrap(self.query(request)?);
        deadline.check()?;
        let facets = self
            .searcher()?
            .search(&query, &FacetCollector)
            .map_err(tv(&self.path, "facet counts failed"))?;
        deadline.check()?;
        Ok(facets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_jst_calendar_days() {
        // 2024-05-01T15:30:00Z is 2024-05-02 00:30 in JST.
        let t = tantivy::DateTime::from_timestamp_secs(1_714_577_400);
        assert_eq!(jst_day(t), NaiveDate::from_ymd_opt(2024, 5, 2));
        let t = tantivy::DateTime::from_timestamp_secs(1_714_577_400 - 3600);
        assert_eq!(jst_day(t), NaiveDate::from_ymd_opt(2024, 5, 1));
    }
}
