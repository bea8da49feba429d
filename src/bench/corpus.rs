//! The benchmark corpus on disk: `corpus.txt` and `names.txt` for the analyzer and its peers.
//! The posts themselves come from the generator in `simweb::corpus` (the simulated web shows
//! the same posts); its items are re-exported here under their old path.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::BenchError;
use crate::config::Watchlist;
pub use crate::simweb::corpus::{Corpus, GeneratedPost, Generator, SplitMix64, target_names};

/// Writes `corpus.txt` (one post per line) and `names.txt` (one name or alias per line)
/// into `dir`, creating it if needed.
pub fn write(corpus: &Corpus, dir: &Path, watchlist: &Watchlist) -> Result<(), BenchError> {
    std::fs::create_dir_all(dir).map_err(|source| BenchError::Io {
        path: dir.to_path_buf(),
        what: "create the work directory",
        source,
    })?;
    write_lines(
        &dir.join("corpus.txt"),
        corpus.posts.iter().map(|p| p.text.as_str()),
    )?;
    write_lines(
        &dir.join("names.txt"),
        target_names(watchlist).iter().flatten().map(String::as_str),
    )
}

fn write_lines<'a>(path: &Path, lines: impl Iterator<Item = &'a str>) -> Result<(), BenchError> {
    let io_err = |source| BenchError::Io {
        path: path.to_path_buf(),
        what: "write",
        source,
    };
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path).map_err(io_err)?);
    for line in lines {
        w.write_all(line.as_bytes()).map_err(io_err)?;
        w.write_all(b"\n").map_err(io_err)?;
    }
    w.flush().map_err(io_err)
}
