//! CDN purge and prefetch: one trait, a provider per file (Alibaba Cloud CDN, CloudFront), and
//! the engine that batches to each provider's per-call limits, paces calls to its rate limits,
//! checks the quota before sending anything, retries throttling with backoff, stops cleanly
//! (naming what was not sent) when a quota runs out, and waits for tasks to finish.

pub mod aliyun;
pub mod canonical;
pub mod cloudflare;
pub mod cloudfront;
pub mod engine;
pub mod entry;
pub mod http;
pub mod huawei;
pub mod keys;
pub mod provider;
pub mod qiniu;
pub mod release;
pub mod report;
pub mod routers;
pub mod tencent;
pub mod urls;

use serde::Serialize;

use crate::error::{Error, Result};

pub use engine::{run, JobOptions};
pub use http::{api_client, exchange};
pub use provider::Provider;
pub use report::{CdnReport, WaitReport};

/// What a job asks of the CDN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Drop cached copies (refresh, invalidation).
    Purge,
    /// Fetch into the edge caches ahead of users (push, preload).
    Prefetch,
}

impl Action {
    /// The command's name.
    pub fn name(self) -> &'static str {
        match self {
            Action::Purge => "purge",
            Action::Prefetch => "prefetch",
        }
    }
}

/// Whether the URLs name files or directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    /// Single URLs.
    File,
    /// Everything under each URL (which ends in `/`).
    Directory,
}

/// One API call's worth of work, exactly as it will be sent.
#[derive(Debug, Clone, Serialize)]
pub struct Batch {
    /// The API call and its fixed parameters (`RefreshObjectCaches ObjectType=File`).
    pub call: String,
    /// Files or directories.
    pub kind: ObjectKind,
    /// URLs (Alibaba) or paths (CloudFront) sent in this call.
    pub paths: Vec<String>,
    /// The idempotency token sent with the call (CloudFront's CallerReference), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// A provider's plan for a job: batches plus what it changed on the way (path collapsing).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    /// Calls, in order.
    pub batches: Vec<Batch>,
    /// Things the user should know (collapsed paths…).
    pub notes: Vec<String>,
}

/// Remaining daily quota as the provider reports it (None: not limited or unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Quota {
    /// URL refreshes left today.
    pub urls: Option<u64>,
    /// Directory refreshes left today.
    pub dirs: Option<u64>,
    /// Prefetches left today.
    pub prefetch: Option<u64>,
}

/// How the engine must pace a provider.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Submit calls per second.
    pub calls_per_second: f64,
    /// Task ids per status call.
    pub status_ids_per_call: usize,
    /// Status calls per second.
    pub status_calls_per_second: f64,
}

/// What to do about a provider error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Throttling, or a connection that never opened: the provider did nothing; back off and
    /// try again.
    Retry,
    /// A transport or server error after the request may have reached the provider: retried
    /// only for calls that are idempotent (reads, and submits of a provider that says so).
    Unsure,
    /// A quota or queue is exhausted: stop, and say what was not sent.
    Exhausted,
    /// Anything else: stop.
    Fatal,
}

/// An error a provider answered (or a transport failure), with its code.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The provider's error code (`Throttling`, `QuotaExceeded.Refresh`…).
    pub code: String,
    /// The provider's message plus what to do.
    pub message: String,
    /// Retry, stop, or fail.
    pub class: ErrorClass,
}

impl ApiError {
    /// An error a provider answered: `code` (or `HTTP<status>` when it gave none), its message
    /// and what to do (`hint`), prefixed by the call that failed.
    pub fn answered(
        status: u16,
        code: &str,
        message: &str,
        action: &str,
        class: ErrorClass,
        hint: &str,
    ) -> Self {
        ApiError {
            code: if code.is_empty() {
                format!("HTTP{status}")
            } else {
                code.to_string()
            },
            message: format!(
                "{action}: {}{}{hint}",
                if message.is_empty() {
                    "(no message)"
                } else {
                    message
                },
                if hint.is_empty() { "" } else { " — " }
            ),
            class,
        }
    }
}

/// A task's state from the states of its URLs: failed when any is in `failed`, done when every
/// one is `done`, else (or with none reported yet) pending.
pub fn task_state_of(states: &[&str], failed: &[&str], done: &str) -> TaskState {
    if states.iter().any(|s| failed.contains(s)) {
        TaskState::Failed
    } else if !states.is_empty() && states.iter().all(|s| *s == done) {
        TaskState::Done
    } else {
        TaskState::Pending
    }
}

/// Calls of at most `per_call` paths each, all sent as `call`.
pub fn chunks(call: &str, kind: ObjectKind, urls: &[String], per_call: usize) -> Plan {
    Plan {
        batches: urls
            .chunks(per_call.max(1))
            .map(|c| Batch {
                call: call.to_string(),
                kind,
                paths: c.to_vec(),
                reference: None,
            })
            .collect(),
        notes: Vec::new(),
    }
}

/// The refusal of a provider without directory prefetch.
pub fn no_directory_prefetch() -> Error {
    Error::Usage("prefetch takes file URLs, not directories (drop --dir)".into())
}

/// Which action created each task id, for providers whose status calls differ by action.
#[derive(Debug, Default)]
pub struct TaskBook(std::sync::Mutex<std::collections::HashMap<String, Action>>);

impl TaskBook {
    /// Remember that `action` created `ids`.
    pub fn record(&self, action: Action, ids: &[String]) {
        if let Ok(mut m) = self.0.lock() {
            for id in ids {
                m.insert(id.clone(), action);
            }
        }
    }

    /// The action that created `id` (purge when unknown).
    pub fn action(&self, id: &str) -> Action {
        self.0
            .lock()
            .ok()
            .and_then(|m| m.get(id).copied())
            .unwrap_or(Action::Purge)
    }
}

/// How a directory refresh treats what is under the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DirMode {
    /// Everything under it (Tencent FlushType=delete, Huawei mode=all).
    #[default]
    All,
    /// Only what changed at the origin (Tencent FlushType=flush, Huawei
    /// mode=detect_modify_refresh); other providers refresh everything.
    Changed,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// A task's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    /// Still running.
    Pending,
    /// Finished.
    Done,
    /// The provider gave up on it.
    Failed,
}

/// A CDN provider.
#[allow(async_fn_in_trait)]
pub trait Cdn {
    /// `aliyun`, `cloudfront`.
    fn name(&self) -> &'static str;
    /// Rate limits.
    fn limits(&self) -> Limits;
    /// Split URLs into calls within the provider's per-call limits.
    fn plan(&self, action: Action, kind: ObjectKind, urls: &[String]) -> Result<Plan>;
    /// True when the provider has a quota API worth a request before each job.
    fn has_quota(&self) -> bool;
    /// The remaining quota for `action`'s jobs, when the provider has one.
    async fn quota(&self, action: Action) -> Result<Option<Quota>, ApiError>;
    /// False for providers without a prefetch API (CloudFront, Cloudflare).
    fn can_prefetch(&self) -> bool {
        true
    }
    /// What the provider's last answer said is left of today's quota (Qiniu reports it with
    /// every refresh and prefetch), for providers without a quota query.
    fn quota_left(&self) -> Option<Quota> {
        None
    }
    /// True when sending the same batch twice does the work once (CloudFront: the caller
    /// reference), so a submit may be retried after an [`ErrorClass::Unsure`] error.
    fn idempotent_submit(&self) -> bool {
        false
    }
    /// Send one batch; returns the provider's task ids.
    async fn submit(&self, action: Action, batch: &Batch) -> Result<Vec<String>, ApiError>;
    /// The state of up to `status_ids_per_call` tasks.
    async fn status(&self, ids: &[String]) -> Result<Vec<(String, TaskState)>, ApiError>;
}
