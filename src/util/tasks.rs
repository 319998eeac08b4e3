//! Running many store requests at once with a bound: uploads, listing queries and page
//! restores all spawn their jobs through `bounded`, so none holds more than its limit of
//! requests (and their futures) alive.

use std::future::Future;

use tokio::task::{JoinError, JoinSet};

/// Spawn the futures `jobs` yields, at most `at_once` alive at a time, and hand each outcome
/// (its value, or the task's panic) to `done` as it finishes. A job is only taken from `jobs`
/// when there is room, so futures are built lazily: each holds kilobytes, and building one per
/// object up front held ~12 KB per object (600 MB for 50,000 files).
pub async fn bounded<T, F>(
    jobs: impl IntoIterator<Item = F>,
    at_once: usize,
    mut done: impl FnMut(Result<T, JoinError>),
) where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let mut running = JoinSet::new();
    for job in jobs {
        while running.len() >= at_once.max(1) {
            if let Some(outcome) = running.join_next().await {
                done(outcome);
            }
        }
        running.spawn(job);
    }
    while let Some(outcome) = running.join_next().await {
        done(outcome);
    }
}

/// Run blocking file-system or CPU work on tokio's blocking pool, never on the runtime's
/// workers (a panic in it is an error, not a crash of the runtime).
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> crate::error::Result<T> + Send + 'static,
) -> crate::error::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| crate::error::Error::Failed(format!("a background task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_more_than_the_bound_alive_and_every_outcome_handed_back() {
        let (alive, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs = (0..40).map(|i| {
            let (alive, peak) = (alive.clone(), peak.clone());
            async move {
                let now = alive.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                alive.fetch_sub(1, Ordering::SeqCst);
                if i == 7 {
                    panic!("job 7 panics");
                }
                i
            }
        });
        let mut seen = Vec::new();
        let mut panics = 0;
        bounded(jobs, 3, |outcome| match outcome {
            Ok(i) => seen.push(i),
            Err(_) => panics += 1,
        })
        .await;
        seen.sort();
        assert_eq!(seen, (0..40).filter(|&i| i != 7).collect::<Vec<_>>());
        assert_eq!(panics, 1);
        assert!(peak.load(Ordering::SeqCst) <= 3, "{peak:?}");
        assert!(peak.load(Ordering::SeqCst) >= 2, "ran at once: {peak:?}");
    }
}
