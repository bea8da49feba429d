//! SQLite state (placeholder: being written).
