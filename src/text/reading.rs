//! Kana folding and romaji (placeholder: being written).
