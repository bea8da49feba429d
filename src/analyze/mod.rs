//! Analysis: which watched targets a post mentions, which risk categories apply, which
//! personal data it holds, and how severe it is.

pub mod pii;
