//! The commands, one module each: every one takes its resolved configuration (from
//! [`crate::config`]) and returns a report (printed by [`crate::report`]).

pub mod build;
pub mod config;
pub mod publish;
pub mod purge;
pub mod releases;
pub mod rewrite;
pub mod upload;
