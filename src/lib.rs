//! cdnpub: a static release in one tool.
//!
//! The binary (`src/main.rs`) only parses flags and maps errors to exit codes; every step lives
//! here so that tests and benchmarks can call it directly. See `../shared/DESIGN.md` for the
//! pipeline these modules form.

pub mod atomic;
pub mod build;
pub mod cdn;
pub mod classify;
pub mod cli;
pub mod compress;
pub mod config;
pub mod config_cmd;
pub mod error;
pub mod fingerprint;
pub mod headers;
pub mod manifest;
pub mod placeholder;
pub mod publish;
pub mod purge;
pub mod release;
pub mod releases;
pub mod report;
pub mod rewrite;
pub mod scan;
pub mod state;
pub mod store;
pub mod tasks;
pub mod tree;
pub mod upload;

pub use error::{Error, Result};
