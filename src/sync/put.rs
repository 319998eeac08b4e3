//! Sending objects: `concurrency` requests at a time and at most [`BYTES_IN_FLIGHT`] of file
//! bytes held in memory, each file's bytes checked against the manifest (off the async runtime)
//! before they go. Retries are the store client's ([`crate::retry::STORE`]); a phase with
//! failures is reported as a whole and nothing after it is sent.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use super::{meta_of, LocalObject};
use crate::error::{Error, Result};
use crate::site::state::{hex, sha256_hex};
use crate::store::s3::MULTIPART_THRESHOLD;
use crate::store::target::Target;
use crate::store::ObjectStore;
use crate::util::tasks::blocking;

/// Most bytes of file contents held by requests in flight at once (a file under the multipart
/// threshold is read whole; a larger one is streamed and counts as one threshold's worth).
/// Without it, `--concurrency 256` of 16 MiB files held 4 GiB.
pub const BYTES_IN_FLIGHT: u64 = 256 * 1024 * 1024;

/// What a phase sent: the objects the store confirmed (in the order given) and the failures
/// (key, error), sorted.
pub type Sent = (Vec<usize>, Vec<(String, String)>);

/// PUT the objects at `indices`, `concurrency` at a time, within [`BYTES_IN_FLIGHT`].
pub async fn put_all(
    target: &Target,
    concurrency: usize,
    objects: &Arc<Vec<LocalObject>>,
    indices: &[usize],
    progress: &Progress,
) -> Sent {
    let (mut sent, mut failed) = (Vec::new(), Vec::new());
    let budget = Budget::new(BYTES_IN_FLIGHT);
    let jobs = indices.iter().map(|&i| {
        let (target, objects, budget) = (target.clone(), objects.clone(), budget.clone());
        async move {
            let o = &objects[i];
            let _held = budget.hold(o.object.size.min(MULTIPART_THRESHOLD)).await;
            (i, put_checked(&target, o).await)
        }
    });
    crate::util::tasks::bounded(jobs, concurrency, |outcome| match outcome {
        Ok((i, Ok(()))) => {
            progress.sent(&objects[i].key);
            sent.push(i);
        }
        Ok((i, Err(e))) => failed.push((objects[i].key.clone(), e.to_string())),
        Err(e) => failed.push(("?".into(), e.to_string())),
    })
    .await;
    let rank: BTreeMap<usize, usize> = indices.iter().enumerate().map(|(r, &i)| (i, r)).collect();
    sent.sort_by_key(|i| rank[i]);
    failed.sort();
    (sent, failed)
}

/// A bound on bytes held at once, counted in KiB.
#[derive(Clone)]
struct Budget {
    kib: Arc<Semaphore>,
    total: u32,
}

impl Budget {
    fn new(bytes: u64) -> Self {
        let total = kib(bytes).clamp(1, u64::from(u32::MAX)) as u32;
        Budget {
            kib: Arc::new(Semaphore::new(total as usize)),
            total,
        }
    }

    /// Wait until `bytes` fit in the budget (more than the whole budget waits for all of it);
    /// they are given back when the permit drops.
    async fn hold(&self, bytes: u64) -> Option<tokio::sync::SemaphorePermit<'_>> {
        let cost = kib(bytes).clamp(1, u64::from(self.total)) as u32;
        self.kib.acquire_many(cost).await.ok()
    }
}

/// Bytes in KiB, rounded up.
fn kib(bytes: u64) -> u64 {
    bytes.div_ceil(1024)
}

/// Upload one object after checking its bytes are still the ones the manifest describes. A file
/// that fits in one request is read once, for both the check and the body; a larger one is
/// hashed in chunks and then streamed in parts. Reading and hashing run on tokio's blocking
/// pool, never on the runtime's workers.
async fn put_checked(target: &Target, o: &LocalObject) -> Result<()> {
    let meta = meta_of(&o.object);
    let (path, sha256) = (o.path.clone(), o.object.sha256.clone());
    let changed = || {
        Error::Failed(format!(
            "{} changed since it was built; rebuild",
            o.path.display()
        ))
    };
    if o.object.size < MULTIPART_THRESHOLD {
        let (body, digest) = blocking(move || {
            let body = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            let digest = sha256_hex(&body);
            Ok((body, digest))
        })
        .await?;
        if digest != sha256 {
            return Err(changed());
        }
        return target.put(&o.key, body, &meta).await;
    }
    if blocking(move || file_sha256(&path)).await? != sha256 {
        return Err(changed());
    }
    target.put_file(&o.key, &o.path, o.object.size, &meta).await
}

/// SHA-256 of a file, read in chunks (large files are never held whole).
fn file_sha256(path: &Path) -> Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io("read", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Live progress of one target's uploads on stderr: a bar on a terminal; off a terminal, with
/// `-v`, one plain line per object the store confirmed (a CI log otherwise gets the stage's
/// summary only).
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    lines: bool,
    /// Without a terminal, a line every this many (1: every object).
    every: usize,
    total: usize,
    done: std::sync::atomic::AtomicUsize,
}

impl Progress {
    /// Progress of `total` objects to `target`; `enabled` false prints nothing.
    pub fn new(enabled: bool, target: &str, total: usize) -> Self {
        let bar = if enabled {
            crate::util::console::bar(total, target)
        } else {
            None
        };
        Progress {
            // No bar while enabled: off a terminal (or nothing to count).
            lines: enabled && bar.is_none() && crate::util::console::verbose(),
            bar,
            every: 1,
            total,
            done: Default::default(),
        }
    }

    /// Without a terminal, a line per twentieth of the total instead of one per object.
    pub fn sparse(mut self) -> Self {
        self.every = (self.total / 20).max(1);
        self
    }

    /// Progress that prints nothing.
    pub fn quiet() -> Self {
        Progress::new(false, "", 0)
    }

    fn sent(&self, key: &str) {
        self.tick("put", key);
    }

    /// One more done: the bar moves, or a line `  VERB key (n/total)`.
    pub fn tick(&self, verb: &str, key: &str) {
        let n = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            bar.set_message(key.to_string());
            bar.inc(1);
        } else if self.lines && (n.is_multiple_of(self.every) || n == self.total) {
            eprintln!("  {verb} {key} ({n}/{})", self.total);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_budget_holds_back_bytes_beyond_it_until_some_are_given_back() {
        let budget = Budget::new(2 << 20);
        let a = budget.hold(1 << 20).await;
        let b = budget.hold(1 << 20).await;
        let wait = std::time::Duration::from_secs(60);
        assert!(
            tokio::time::timeout(wait, budget.hold(1)).await.is_err(),
            "a third MiB waits while two are held"
        );
        drop(a);
        assert!(tokio::time::timeout(wait, budget.hold(1 << 20))
            .await
            .is_ok());
        drop(b);
    }
}
