//! The watch loop (placeholder: being written).
