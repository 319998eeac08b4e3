//! cdnpub: a static release in one tool.
//!
//! The binary (`src/main.rs`) only parses flags and maps errors to exit codes; every step lives
//! here so that tests and benchmarks can call it directly. ARCHITECTURE.md (beside Cargo.toml)
//! draws the pipeline these modules form and says where each behaviour lives.
//!
//! Layers, each using only the ones below it:
//! - [`cli`], [`config`], [`report`]: flags, cdnpub.toml and output.
//! - [`cmd`]: one module per command, each `cli → config → cmd::X::run → report`.
//! - [`sync`], [`release`]: what an upload decides (a pure plan) and the release records.
//! - [`site`]: the pure pipeline steps on a built tree (classify, fingerprint, compress, render).
//! - [`store`], [`cdn`]: object stores and CDN providers behind one trait each.
//! - [`util`], [`retry`], [`error`]: shared plumbing.

pub mod cdn;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod error;
pub mod release;
pub mod report;
pub mod retry;
pub mod site;
pub mod store;
pub mod sync;
pub mod util;

pub use error::{Error, Result};
