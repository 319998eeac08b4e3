//! The CDN job engine: plan, check the quota, send with pacing and retries, stop cleanly with a
//! remainder file, wait for the tasks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

use super::{
    Action, ApiError, Batch, Cdn, CdnReport, ErrorClass, ObjectKind, Provider, Quota, TaskState,
    WaitReport,
};
use crate::error::{Error, Result};

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
