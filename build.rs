//! Builds the embedded IPADIC dictionary offline.
//!
//! Lindera's `embed-ipadic` feature downloads its dictionary in its build script, which fails
//! on machines that reach only package registries. We ship the IPADIC source in
//! `dict/ipadic/` instead, unpack it into `OUT_DIR`, build the Lindera dictionary there and
//! point `LINDERA_WORKDIR` at it so `lindera_dictionary::embedded_dictionary!` can embed it.

use std::fs::File;
use std::path::{Path, PathBuf};

const ARCHIVE: &str = "dict/ipadic/mecab-ipadic-2.7.0-20070801.tar.gz";
const METADATA: &str = "dict/ipadic/metadata.json";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo::rerun-if-changed={ARCHIVE}");
    println!("cargo::rerun-if-changed={METADATA}");
    println!("cargo::rerun-if-changed=build.rs");

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let src_dir = out_dir.join("ipadic-src");
    let dict_dir = out_dir.join("lindera-ipadic");
    let stamp = dict_dir.join("metadata.json");

    if !stamp.exists() {
        unpack(Path::new(ARCHIVE), &src_dir)?;
        let metadata_json = std::fs::read_to_string(METADATA)
            .map_err(|e| format!("cannot read {METADATA}: {e}"))?;
        let metadata: lindera_dictionary::dictionary::metadata::Metadata =
            serde_json::from_str(&metadata_json)
                .map_err(|e| format!("{METADATA} is not valid Lindera metadata: {e}"))?;
        let builder = lindera_dictionary::builder::DictionaryBuilder::new(metadata);
        builder
            .build_dictionary(&src_dir, &dict_dir)
            .map_err(|e| format!("building the IPADIC dictionary from {ARCHIVE} failed: {e}"))?;
        std::fs::remove_dir_all(&src_dir)?;
    }
    println!("cargo::rustc-env=LINDERA_WORKDIR={}", out_dir.display());
    Ok(())
}

fn unpack(archive: &Path, into: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let file = File::open(archive).map_err(|e| {
        format!(
            "cannot open {}: {e} (the IPADIC source archive ships with the repository)",
            archive.display()
        )
    })?;
    std::fs::create_dir_all(into)?;
    tar::Archive::new(flate2::read::GzDecoder::new(file)).unpack(into)?;
    Ok(())
}
