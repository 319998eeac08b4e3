//! What a CDN job reports: the calls, tasks, retries, waiting, and its outcome.

use std::path::PathBuf;

use serde::Serialize;

use super::{Batch, Quota};
use crate::error::{Error, Result};

/// What waiting found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WaitReport {
    /// Tasks finished.
    pub done: usize,
    /// Tasks the provider reports failed.
    pub failed: Vec<String>,
    /// Tasks still running at the timeout.
    pub pending: Vec<String>,
    /// Seconds waited.
    pub seconds: f64,
}

/// The result of a purge or prefetch.
#[derive(Debug, Clone, Serialize)]
pub struct CdnReport {
    /// `purge` or `prefetch`.
    pub command: &'static str,
    /// Provider name.
    pub provider: &'static str,
    /// Nothing was sent.
    pub dry_run: bool,
    /// URLs asked for (after de-duplication).
    pub urls: usize,
    /// The calls, as planned (on a dry run) or as sent.
    pub batches: Vec<Batch>,
    /// Notes from planning (collapsed paths…).
    pub notes: Vec<String>,
    /// The quota before the job, when checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
    /// Task ids returned.
    pub tasks: Vec<String>,
    /// API requests made (quota, submits, retries, status).
    pub api_calls: usize,
    /// Throttling/transient answers retried.
    pub retries: usize,
    /// The pause before each retry, in milliseconds, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backoff_ms: Vec<u64>,
    /// Paths sent and accepted.
    pub sent: usize,
    /// Paths not sent because the job stopped.
    pub not_sent: usize,
    /// File listing what was not sent (for `--from-file`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remainder_file: Option<PathBuf>,
    /// Waiting, with `--wait`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<WaitReport>,
    /// Why the job stopped, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl CdnReport {
    /// Exit status: a stopped job or unfinished wait is an error saying what to do.
    pub fn outcome(&self) -> Result<()> {
        if let Some(e) = &self.error {
            return Err(Error::Failed(e.clone()));
        }
        if let Some(w) = &self.wait {
            if !w.failed.is_empty() || !w.pending.is_empty() {
                return Err(Error::Failed(format!(
                    "{} task(s) failed ({}), {} still running after {:.0} s ({})",
                    w.failed.len(),
                    w.failed.join(", "),
                    w.pending.len(),
                    w.seconds,
                    w.pending.join(", ")
                )));
            }
        }
        Ok(())
    }
}

impl CdnReport {
    /// The report of a job before anything is sent: no batches, notes, calls or tasks yet.
    pub(crate) fn planned(
        command: &'static str,
        provider: &'static str,
        dry_run: bool,
        urls: usize,
    ) -> Self {
        CdnReport {
            command,
            provider,
            dry_run,
            urls,
            batches: Vec::new(),
            notes: Vec::new(),
            quota: None,
            tasks: Vec::new(),
            api_calls: 0,
            retries: 0,
            backoff_ms: Vec::new(),
            sent: 0,
            not_sent: 0,
            remainder_file: None,
            wait: None,
            error: None,
        }
    }
}
