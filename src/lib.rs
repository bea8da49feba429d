//! mimamori: watches the Japanese web for defamation and leaked personal data about
//! watched names, and keeps court-grade evidence of each hit.

pub mod text;
