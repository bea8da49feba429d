//! The index schema: one document per stored post.
//!
//! | field | type | use |
//! |---|---|---|
//! | `post_key` | STRING, stored | identity (a re-indexed post replaces its document) |
//! | `source` | STRING, stored, fast | source kind (`5ch`, `rss`, …): `--source`, `source:5ch` |
//! | `host` | STRING, stored, fast | host of the post URL: `host:egg.5ch.net` |
//! | `url` | stored | shown with each result |
//! | `title` | [`JA`](super::tokenizer::JA), stored | thread, page or feed title |
//! | `author` | [`JA`](super::tokenizer::JA), stored | poster name |
//! | `author_id` | STRING, stored | poster ID / trip / handle |
//! | `posted_at` | date, indexed, fast, stored | posted-at (the fetch time when the site gives none): `--since`, `--until` |
//! | `fetched_at` | date, fast, stored | when it was fetched |
//! | `body` | [`JA`](super::tokenizer::JA) with positions, stored | the text as posted; snippets |
//! | `body_ngram` | [`BIGRAM`](super::tokenizer::BIGRAM) with positions | substrings Lindera splits badly |
//! | `body_reading` | [`READING_BIGRAM`](super::tokenizer::READING_BIGRAM) with positions | kana queries of kanji text |
//! | `target` | STRING, stored, fast, multi-valued | target ids the post mentions: `--target`, `target:yamada` |
//! | `category` | STRING, stored, fast, multi-valued | risk categories of its hits: `--category`, `category:threat` |
//! | `severity` | u64, indexed, fast, stored | 0–100 |
//! | `status` | STRING, stored, fast | triage status of its hit (`none` when not flagged) |
//! | `hit_id` | u64, stored, multi-valued | hit rows in `state.sqlite` (the evidence refers to them) |
//!
//! Targets and categories are raw strings rather than facets so that the query syntax stays
//! `target:yamada`; their fast columns serve term aggregations (facet counts) just as well.
//! Changing anything here means bumping [`SCHEMA_VERSION`](super::SCHEMA_VERSION).

use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, INDEXED, IndexRecordOption, STORED, STRING,
    Schema, TextFieldIndexing, TextOptions,
};

use super::tokenizer::{BIGRAM, JA, READING_BIGRAM};

/// The fields of the schema, resolved once.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// Post key.
    pub post_key: Field,
    /// Source kind.
    pub source: Field,
    /// Host of the post URL.
    pub host: Field,
    /// Post URL.
    pub url: Field,
    /// Thread title.
    pub title: Field,
    /// Author name.
    pub author: Field,
    /// Author ID / trip / handle.
    pub author_id: Field,
    /// Posted-at (or fetched-at when unknown).
    pub posted_at: Field,
    /// Fetched-at.
    pub fetched_at: Field,
    /// Body (Lindera).
    pub body: Field,
    /// Body bigrams.
    pub body_ngram: Field,
    /// Body reading bigrams.
    pub body_reading: Field,
    /// Target ids.
    pub target: Field,
    /// Risk categories.
    pub category: Field,
    /// Severity 0–100.
    pub severity: Field,
    /// Triage status.
    pub status: Field,
    /// Hit row ids.
    pub hit_id: Field,
}

fn text(tokenizer: &str, stored: bool) -> TextOptions {
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(tokenizer)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let options = TextOptions::default().set_indexing_options(indexing);
    if stored {
        options.set_stored()
    } else {
        options
    }
}

/// Builds the schema.
pub fn build() -> Schema {
    let mut b = Schema::builder();
    let date = DateOptions::default()
        .set_indexed()
        .set_fast()
        .set_stored()
        .set_precision(DateTimePrecision::Seconds);
    b.add_text_field("post_key", STRING | STORED);
    b.add_text_field("source", STRING | STORED | FAST);
    b.add_text_field("host", STRING | STORED | FAST);
    b.add_text_field("url", STORED);
    b.add_text_field("title", text(JA, true));
    b.add_text_field("author", text(JA, true));
    b.add_text_field("author_id", STRING | STORED);
    b.add_date_field("posted_at", date.clone());
    b.add_date_field("fetched_at", date);
    b.add_text_field("body", text(JA, true));
    b.add_text_field("body_ngram", text(BIGRAM, false));
    b.add_text_field("body_reading", text(READING_BIGRAM, false));
    b.add_text_field("target", STRING | STORED | FAST);
    b.add_text_field("category", STRING | STORED | FAST);
    b.add_u64_field("severity", INDEXED | FAST | STORED);
    b.add_text_field("status", STRING | STORED | FAST);
    b.add_u64_field("hit_id", STORED);
    b.build()
}

impl Fields {
    /// Resolves the fields of `schema` (built by [`build`]); `None` if one is missing.
    pub fn resolve(schema: &Schema) -> Option<Fields> {
        let f = |name: &str| schema.get_field(name).ok();
        Some(Fields {
            post_key: f("post_key")?,
            source: f("source")?,
            host: f("host")?,
            url: f("url")?,
            title: f("title")?,
            author: f("author")?,
            author_id: f("author_id")?,
            posted_at: f("posted_at")?,
            fetched_at: f("fetched_at")?,
            body: f("body")?,
            body_ngram: f("body_ngram")?,
            body_reading: f("body_reading")?,
            target: f("target")?,
            category: f("category")?,
            severity: f("severity")?,
            status: f("status")?,
            hit_id: f("hit_id")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_schema_resolves_and_uses_registered_analyzers() {
        let schema = build();
        assert!(Fields::resolve(&schema).is_some());
        for (_, entry) in schema.fields() {
            if let tantivy::schema::FieldType::Str(opts) = entry.field_type()
                && let Some(ix) = opts.get_indexing_options()
            {
                let name = ix.tokenizer();
                assert!(
                    name == "raw" || super::super::tokenizer::NAMES.contains(&name),
                    "{} uses unregistered analyzer {name}",
                    entry.name()
                );
            }
        }
    }
}
