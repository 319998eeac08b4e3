//! The commands, one module each: every one takes its resolved configuration (from
//! [`crate::config`]) and returns a report (printed by [`crate::report`]). `publish` composes
//! `build` and `upload`; no other command calls another (what they share lives below them:
//! [`crate::release`], [`crate::cdn::provider`], [`crate::cdn::entry`], [`Stage`]).

pub mod build;
pub mod man;
pub mod publish;
pub mod purge;
pub mod releases;
pub mod rewrite;
pub mod rollout;
pub mod upload;
pub mod verify;

use serde::Serialize;

use crate::error::{Error, Result};

/// A stage that ran or was skipped.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Stage<T> {
    /// It ran.
    Ran(T),
    /// It did not, and why.
    Skipped {
        /// Why.
        skipped: String,
    },
    /// It failed after the stages before it had run (their results are kept in the report).
    Failed {
        /// What went wrong.
        failed: String,
    },
}

impl From<crate::cdn::release::Job> for Stage<crate::cdn::CdnReport> {
    fn from(job: crate::cdn::release::Job) -> Self {
        match job {
            crate::cdn::release::Job::Ran(r) => Stage::Ran(*r),
            crate::cdn::release::Job::Skipped(why) => Stage::Skipped { skipped: why },
        }
    }
}

impl<T> Stage<T> {
    /// The stage's result, an error kept as [`Stage::Failed`] so the report survives it.
    pub fn from_result(r: Result<Stage<T>>) -> Stage<T> {
        r.unwrap_or_else(|e| Stage::Failed {
            failed: e.to_string(),
        })
    }

    /// The error of a failed stage, named.
    pub fn check(&self, name: &str) -> Result<()> {
        match self {
            Stage::Failed { failed } => Err(Error::Failed(format!("{name}: {failed}"))),
            _ => Ok(()),
        }
    }
}
