//! Plumbing shared by the layers above: atomic file writes, bounded concurrency, the results
//! file (`--results`) and the GitHub Action's outputs, platform differences, and what the two
//! network clients (`store`, `cdn`) share: [`net`].

pub mod atomic;
pub mod console;
pub mod github;
pub mod net;
pub mod platform;
pub mod results;
pub mod tasks;

/// Requests in flight per target by default (`--concurrency` of upload, publish and verify).
pub const DEFAULT_CONCURRENCY: u16 = 16;
