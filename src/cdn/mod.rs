//! CDN purge and prefetch: one trait, a provider per file (Alibaba Cloud CDN, CloudFront), and
//! the engine that batches to each provider's per-call limits, paces calls to its rate limits,
//! checks the quota before sending anything, retries throttling with backoff, stops cleanly
//! (naming what was not sent) when a quota runs out, and waits for tasks to finish.

pub mod acs3;
pub mod aliyun;
pub mod canonical;
pub mod cloudflare;
pub mod cloudfront;
pub mod entry;
pub mod huawei;
pub mod keys;
pub mod provider;
pub mod qiniu;
pub mod tc3;
pub mod tencent;
pub mod urls;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

use serde::Serialize;

use crate::error::{Error, Result};

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

/// What a transport failure says: a timeout is named as one, with the flags that set it.
fn transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        // The endpoint only (scheme, host, port): a query may carry a signature and key id.
        let from = e
            .url()
            .map(|u| format!(" from {}", u.origin().ascii_serialization()))
            .unwrap_or_default();
        format!(
            "no answer{from} (timed out: --connect-timeout to connect, --read-timeout of silence \
             once connected; each call is tried up to {} times)",
            crate::retry::CDN.attempts
        )
    } else {
        e.to_string()
    }
}

/// A provider's API endpoint (`--cdn-endpoint`, else `default`) and the HTTP client for it
/// (`timeouts` to connect and of silence; the engine retries, the client sends once).
pub fn api_client(
    endpoint: Option<&str>,
    default: &str,
    timeouts: crate::util::Timeouts,
) -> Result<(url::Url, reqwest::Client)> {
    let raw = endpoint.unwrap_or(default);
    let url = url::Url::parse(raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| {
            Error::Usage(format!(
                "--cdn-endpoint {raw:?} is not an http(s) URL (e.g. {default})"
            ))
        })?;
    let http = reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .read_timeout(timeouts.read)
        .build()
        .map_err(|e| Error::Failed(format!("starting the HTTP client: {e}")))?;
    Ok((url, http))
}

/// Send one API request and read its answer: the status and body, or the transport failure
/// classified (a connection that never opened carried nothing and is retried; anything later
/// may have reached the provider). `target` names the endpoint or resource in the message.
pub async fn exchange(
    req: reqwest::RequestBuilder,
    target: &str,
    action: &str,
) -> std::result::Result<(reqwest::StatusCode, Vec<u8>), ApiError> {
    let resp = req.send().await.map_err(|e| ApiError {
        code: "NetworkError".into(),
        message: format!("{action} on {target}: {}", transport(&e)),
        class: if e.is_connect() {
            ErrorClass::Retry
        } else {
            ErrorClass::Unsure
        },
    })?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| ApiError {
        code: "NetworkError".into(),
        message: format!(
            "reading the answer of {action} on {target}: {}",
            transport(&e)
        ),
        class: ErrorClass::Unsure,
    })?;
    Ok((status, body.to_vec()))
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

/// The configured provider.
#[derive(Debug)]
pub enum Provider {
    /// Alibaba Cloud CDN.
    Aliyun(aliyun::Aliyun),
    /// AWS CloudFront.
    CloudFront(cloudfront::CloudFront),
    /// Tencent Cloud CDN.
    Tencent(tencent::Tencent),
    /// Cloudflare.
    Cloudflare(cloudflare::Cloudflare),
    /// Qiniu CDN.
    Qiniu(qiniu::Qiniu),
    /// Huawei Cloud CDN.
    Huawei(huawei::Huawei),
}

macro_rules! delegate {
    ($self:ident, $p:ident => $e:expr) => {
        match $self {
            Provider::Aliyun($p) => $e,
            Provider::CloudFront($p) => $e,
            Provider::Tencent($p) => $e,
            Provider::Cloudflare($p) => $e,
            Provider::Qiniu($p) => $e,
            Provider::Huawei($p) => $e,
        }
    };
}

impl Cdn for Provider {
    fn name(&self) -> &'static str {
        delegate!(self, p => p.name())
    }
    fn limits(&self) -> Limits {
        delegate!(self, p => p.limits())
    }
    fn plan(&self, action: Action, kind: ObjectKind, urls: &[String]) -> Result<Plan> {
        delegate!(self, p => p.plan(action, kind, urls))
    }
    fn has_quota(&self) -> bool {
        delegate!(self, p => p.has_quota())
    }
    fn idempotent_submit(&self) -> bool {
        delegate!(self, p => p.idempotent_submit())
    }
    async fn quota(&self, action: Action) -> Result<Option<Quota>, ApiError> {
        delegate!(self, p => p.quota(action).await)
    }
    fn can_prefetch(&self) -> bool {
        delegate!(self, p => p.can_prefetch())
    }
    fn quota_left(&self) -> Option<Quota> {
        delegate!(self, p => p.quota_left())
    }
    async fn submit(&self, action: Action, batch: &Batch) -> Result<Vec<String>, ApiError> {
        delegate!(self, p => p.submit(action, batch).await)
    }
    async fn status(&self, ids: &[String]) -> Result<Vec<(String, TaskState)>, ApiError> {
        delegate!(self, p => p.status(ids).await)
    }
}

/// How a job runs.
#[derive(Debug, Clone)]
pub struct JobOptions {
    /// Print the plan; send nothing.
    pub dry_run: bool,
    /// Poll task status until done or `timeout`.
    pub wait: bool,
    /// Longest wait.
    pub timeout: Duration,
    /// Pause between status rounds.
    pub poll: Duration,
    /// Where a remainder file is written when a job stops early.
    pub remainder_dir: PathBuf,
    /// How calls are retried ([`crate::retry::CDN`]).
    pub retry: crate::retry::Policy,
}

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

/// Spaces calls so no more than `per_second` start in any second.
struct Pacer {
    interval: Duration,
    last: Option<Instant>,
}

impl Pacer {
    fn new(per_second: f64) -> Self {
        Pacer {
            interval: Duration::from_secs_f64(1.0 / per_second.max(0.001)),
            last: None,
        }
    }

    async fn tick(&mut self) {
        if let Some(last) = self.last {
            let next = last + self.interval;
            let now = Instant::now();
            if next > now {
                tokio::time::sleep(next - now).await;
            }
        }
        self.last = Some(Instant::now());
    }
}

impl CdnReport {
    /// The report of a job before anything is sent: no batches, notes, calls or tasks yet.
    fn planned(command: &'static str, provider: &'static str, dry_run: bool, urls: usize) -> Self {
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

/// Run one job: plan, check the quota, send with pacing and retries, wait if asked.
pub async fn run(
    cdn: &Provider,
    action: Action,
    kind: ObjectKind,
    urls: &[String],
    opts: &JobOptions,
) -> Result<CdnReport> {
    let plan = cdn.plan(action, kind, urls)?;
    let mut report = CdnReport::planned(action.name(), cdn.name(), opts.dry_run, urls.len());
    report.batches = plan.batches.clone();
    report.notes = plan.notes;
    if opts.dry_run || plan.batches.is_empty() {
        return Ok(report);
    }
    check_quota(cdn, action, kind, &plan.batches, &mut report, opts).await?;
    let limits = cdn.limits();
    let mut pacer = Pacer::new(limits.calls_per_second);
    for (i, batch) in plan.batches.iter().enumerate() {
        let idempotent = cdn.idempotent_submit();
        let submit = || cdn.submit(action, batch);
        match call_with_retry(opts, &mut pacer, &mut report, idempotent, submit).await {
            Ok(ids) => {
                report.sent += batch.paths.len();
                report.tasks.extend(ids);
                if let Some(e) = quota_runs_out(cdn, action, kind, &plan.batches[i + 1..]) {
                    stop_with_remainder(
                        &mut report,
                        &plan.batches[i + 1..],
                        action,
                        kind,
                        opts,
                        &e,
                    );
                    return Ok(report);
                }
            }
            Err(e) => {
                stop_with_remainder(&mut report, &plan.batches[i..], action, kind, opts, &e);
                return Ok(report);
            }
        }
    }
    if opts.wait {
        wait_for(cdn, &mut report, opts).await;
    }
    Ok(report)
}

/// Refuse a job the remaining quota cannot hold, before sending anything.
async fn check_quota(
    cdn: &Provider,
    action: Action,
    kind: ObjectKind,
    batches: &[Batch],
    report: &mut CdnReport,
    opts: &JobOptions,
) -> Result<()> {
    if !cdn.has_quota() {
        return Ok(());
    }
    let mut pacer = Pacer::new(cdn.limits().calls_per_second);
    let quota = call_with_retry(opts, &mut pacer, report, true, || cdn.quota(action))
        .await
        .map_err(|e| Error::Failed(format!("{} quota check failed: {e}", cdn.name())))?;
    let Some(q) = quota else {
        return Ok(());
    };
    report.quota = Some(q);
    let asked: u64 = batches.iter().map(|b| b.paths.len() as u64).sum();
    let (left, what) = q.left_for(action, kind);
    match left {
        Some(left) if asked > left => Err(Error::Failed(format!(
            "refused: this job needs {asked} {what} but today's quota has {left} left \
             ({}'s quota API); nothing was sent. Split the job, use --dir for whole \
             directories, or wait for the quota to reset",
            cdn.name()
        ))),
        _ => Ok(()),
    }
}

impl Quota {
    /// What is left for a job of `action` on `kind`, and its name.
    pub fn left_for(&self, action: Action, kind: ObjectKind) -> (Option<u64>, &'static str) {
        match (action, kind) {
            (Action::Purge, ObjectKind::File) => (self.urls, "URL refreshes"),
            (Action::Purge, ObjectKind::Directory) => (self.dirs, "directory refreshes"),
            (Action::Prefetch, _) => (self.prefetch, "prefetches"),
        }
    }
}

/// When the provider's last answer says less is left today than the `rest` of the job needs:
/// the error that stops the job before sending calls the provider would refuse.
fn quota_runs_out(
    cdn: &Provider,
    action: Action,
    kind: ObjectKind,
    rest: &[Batch],
) -> Option<ApiError> {
    let needed: u64 = rest.iter().map(|b| b.paths.len() as u64).sum();
    let (left, what) = cdn.quota_left()?.left_for(action, kind);
    let left = left.filter(|l| needed > *l)?;
    Some(ApiError {
        code: "QuotaLeft".into(),
        message: format!(
            "{} says {left} {what} are left today and {needed} remain to send; stopped before \
             sending what it would refuse",
            cdn.name()
        ),
        class: ErrorClass::Exhausted,
    })
}

/// One API call, paced, retried under the job's policy ([`crate::retry`]): always on
/// [`ErrorClass::Retry`], on [`ErrorClass::Unsure`] only when the call is `idempotent`. A
/// non-idempotent call that ends unsure says so: the provider may have carried it out.
async fn call_with_retry<T, F, Fut>(
    opts: &JobOptions,
    pacer: &mut Pacer,
    report: &mut CdnReport,
    idempotent: bool,
    mut call: F,
) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let mut backoff = crate::retry::Backoff::new(opts.retry);
    loop {
        pacer.tick().await;
        report.api_calls += 1;
        let e = match call().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let retryable = match e.class {
            ErrorClass::Retry => true,
            ErrorClass::Unsure => idempotent,
            ErrorClass::Exhausted | ErrorClass::Fatal => false,
        };
        match backoff.next_delay().filter(|_| retryable) {
            Some(delay) => {
                tracing::debug!("{e}; retrying in {delay:?}");
                report.retries += 1;
                report.backoff_ms.push(delay.as_millis() as u64);
                tokio::time::sleep(delay).await;
            }
            None if e.class == ErrorClass::Unsure && !idempotent => {
                return Err(ApiError {
                    message: format!(
                        "{} (not retried: the call may have reached the provider and created its \
                         task; check the provider's task list before resubmitting the remainder)",
                        e.message
                    ),
                    ..e
                })
            }
            None => return Err(e),
        }
    }
}

/// Record why the job stopped and write what was not sent to a file `--from-file` can resume from.
fn stop_with_remainder(
    report: &mut CdnReport,
    rest: &[Batch],
    action: Action,
    kind: ObjectKind,
    opts: &JobOptions,
    e: &ApiError,
) {
    let paths: Vec<&str> = rest
        .iter()
        .flat_map(|b| b.paths.iter().map(String::as_str))
        .collect();
    report.not_sent = paths.len();
    let file = remainder_path(&opts.remainder_dir, action);
    let mut body = paths.join("\n");
    body.push('\n');
    let resume = match crate::util::atomic::replace(&file, body.as_bytes(), Default::default()) {
        Ok(_) => {
            report.remainder_file = Some(file.clone());
            format!(
                "; resume with: cdnpub {}{} --from-file {}",
                action.name(),
                if kind == ObjectKind::Directory {
                    " --dir"
                } else {
                    ""
                },
                file.display()
            )
        }
        Err(err) => format!("; the list of what was not sent could not be written: {err}"),
    };
    report.error = Some(format!(
        "{} stopped after {} of {} paths: {e}. {} paths were not {}{resume}",
        action.name(),
        report.sent,
        report.sent + report.not_sent,
        report.not_sent,
        match action {
            Action::Purge => "purged",
            Action::Prefetch => "prefetched",
        }
    ));
}

fn remainder_path(dir: &Path, action: Action) -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace(':', "");
    dir.join(format!("cdnpub-{}-remaining-{stamp}.txt", action.name()))
}

/// Poll task status until every task is done or failed, or the timeout passes.
async fn wait_for(cdn: &Provider, report: &mut CdnReport, opts: &JobOptions) {
    let started = Instant::now();
    let limits = cdn.limits();
    let mut pacer = Pacer::new(limits.status_calls_per_second);
    let mut pending: Vec<String> = report.tasks.clone();
    let mut wait = WaitReport::default();
    loop {
        let mut still = Vec::new();
        for chunk in pending.chunks(limits.status_ids_per_call.max(1)) {
            match call_with_retry(opts, &mut pacer, report, true, || cdn.status(chunk)).await {
                Ok(states) => {
                    for id in chunk {
                        match states.iter().find(|(t, _)| t == id).map(|(_, s)| *s) {
                            Some(TaskState::Done) => wait.done += 1,
                            Some(TaskState::Failed) => wait.failed.push(id.clone()),
                            _ => still.push(id.clone()),
                        }
                    }
                }
                Err(e) => {
                    report.error = Some(format!("checking task status: {e}"));
                    still.extend(chunk.iter().cloned());
                }
            }
        }
        pending = still;
        if pending.is_empty() || report.error.is_some() || started.elapsed() >= opts.timeout {
            break;
        }
        tokio::time::sleep(
            opts.poll
                .min(opts.timeout.saturating_sub(started.elapsed())),
        )
        .await;
    }
    wait.pending = pending;
    wait.seconds = started.elapsed().as_secs_f64();
    report.wait = Some(wait);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> JobOptions {
        JobOptions {
            dry_run: false,
            wait: false,
            timeout: Duration::from_secs(1),
            poll: Duration::from_secs(1),
            remainder_dir: PathBuf::from("."),
            retry: crate::retry::CDN,
        }
    }

    fn report() -> CdnReport {
        CdnReport::planned("purge", "test", false, 0)
    }

    fn failing(class: ErrorClass) -> ApiError {
        ApiError {
            code: "X".into(),
            message: "m".into(),
            class,
        }
    }

    /// Runs `call_with_retry` on answers that fail with `classes` in turn, then succeed; returns
    /// the outcome, the calls made and the (paused) time slept.
    async fn answers(
        classes: &[ErrorClass],
        idempotent: bool,
    ) -> (Result<u32, ApiError>, usize, Duration) {
        let (opts, mut report) = (options(), report());
        let mut pacer = Pacer::new(1000.0);
        let mut left = classes.iter().copied();
        let start = tokio::time::Instant::now();
        let out = call_with_retry(&opts, &mut pacer, &mut report, idempotent, || {
            let next = left.next();
            async move { next.map_or(Ok(7), |c| Err(failing(c))) }
        })
        .await;
        (out, report.api_calls, start.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_retried_with_backoff_until_the_attempts_run_out() {
        use ErrorClass::*;
        let (out, calls, slept) = answers(&[Retry, Retry], false).await;
        assert_eq!((out.unwrap(), calls), (7, 3));
        assert!(slept >= Duration::from_millis(40), "{slept:?}");
        let (out, calls, _) = answers(&[Retry; 20], false).await;
        assert_eq!(
            (out.unwrap_err().code, calls),
            ("X".to_string(), crate::retry::CDN.attempts as usize)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_unsure_submit_is_not_retried_but_an_unsure_read_is() {
        use ErrorClass::*;
        let (out, calls, _) = answers(&[Unsure], false).await;
        let e = out.unwrap_err();
        assert_eq!(calls, 1, "a task-creating call is sent once");
        assert!(
            e.message.contains("not retried") && e.message.contains("task list"),
            "{e}"
        );
        let (out, calls, _) = answers(&[Unsure, Unsure], true).await;
        assert_eq!((out.unwrap(), calls), (7, 3));
        let (out, calls, _) = answers(&[Fatal], true).await;
        assert_eq!((out.is_err(), calls), (true, 1));
    }
}
