//! Plumbing shared by the layers above: atomic file writes and bounded concurrency.

pub mod atomic;
pub mod tasks;
