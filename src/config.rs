//! Watchlist loading (placeholder: being written).
