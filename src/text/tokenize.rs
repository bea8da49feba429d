//! Lindera tokenization over the IPADIC dictionary embedded at build time (see `build.rs`).

mod embedded {
    lindera_dictionary::embedded_dictionary!("/lindera-ipadic", EmbeddedIpadicLoader);
}

/// Loads the embedded dictionary.
pub fn load_dictionary() -> lindera_dictionary::LinderaResult<lindera_dictionary::dictionary::Dictionary> {
    embedded::load()
}
