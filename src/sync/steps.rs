//! The steps of making one target match a tree, around the plan ([`super::plan`]) and the
//! sending ([`super::put`]): what the target holds, the HEADs the plan asks for, the refusal
//! to give an immutable key other bytes, and the rollback copies of pages stored before them.
//! `cmd::upload` runs them in order.

use std::sync::Arc;

use super::plan::Plan;
use super::put::{put_all, Progress};
use super::LocalObject;
use crate::error::{Error, Result};
use crate::release::{self, Release};
use crate::store::target::Target;
use crate::store::{Listed, ObjectStore};

/// What the target holds: its listing (None with `--no-check-bucket`) and latest record.
pub async fn read_target(
    target: &Target,
    no_check_bucket: bool,
    objects: &[LocalObject],
) -> Result<(Option<Vec<Listed>>, Vec<String>, Option<Release>)> {
    let (listing, ids, latest_id) = if no_check_bucket {
        (None, Vec::new(), release::pointed(target).await?)
    } else {
        // What we are about to upload is the best guess of what the target holds: it plans the
        // listing (`ObjectStore::list_near`) without an extra request.
        let expected: Vec<String> = objects.iter().map(|o| o.key.clone()).collect();
        let listing = target.list_near(&expected).await?;
        let ids = release::ids_in(listing.iter().map(|l| &l.key));
        let latest = ids.last().cloned();
        (Some(listing), ids, latest)
    };
    let latest = match latest_id {
        Some(id) => release::fetch(target, &id).await?,
        None => None,
    };
    Ok((listing, ids, latest))
}

/// Make the HEADs the plan asks for, `concurrency` at a time, and settle the plan with them.
pub async fn settle_heads(
    target: &Target,
    concurrency: usize,
    objects: &Arc<Vec<LocalObject>>,
    plan: &mut Plan,
) -> Result<usize> {
    let heads = plan.heads();
    let mut answers = Vec::new();
    let mut error = None;
    let jobs = heads.iter().map(|&i| {
        let (target, objects) = (target.clone(), objects.clone());
        async move {
            let head = target.head(&objects[i].key).await;
            let o = &objects[i];
            (
                i,
                head.map(|h| {
                    let conflict = h.as_ref().is_some_and(|h| {
                        super::plan::overwrites_immutable(o, super::plan::Held::of_head(h))
                    });
                    (super::plan::head_matches(h.as_ref(), &o.object), conflict)
                }),
            )
        }
    });
    crate::util::tasks::bounded(jobs, concurrency, |outcome| match outcome {
        Ok((i, Ok(answer))) => answers.push((i, answer)),
        Ok((_, Err(e))) => error = error.take().or(Some(e)),
        Err(e) => error = error.take().or(Some(Error::Failed(e.to_string()))),
    })
    .await;
    if let Some(e) = error {
        return Err(e);
    }
    let mut conflicts = Vec::new();
    for (i, (same, conflict)) in answers {
        plan.settle(i, same);
        if conflict {
            conflicts.push(i);
        }
    }
    refuse_immutable_overwrites(objects, conflicts)?;
    Ok(heads.len())
}

/// The keys of `uploaded` that `latest` (the previous release) held: what a CDN may have cached.
pub fn replaced(uploaded: &[String], latest: Option<&Release>) -> Vec<String> {
    uploaded
        .iter()
        .filter(|k| latest.is_some_and(|r| r.objects.contains_key(*k)))
        .cloned()
        .collect()
}

/// An immutable key never gets other bytes: browsers and CDN edges keep what they have for a
/// year. Refuse the upload (before any PUT), naming the keys and the fix.
pub fn refuse_immutable_overwrites(
    objects: &[LocalObject],
    mut conflicts: Vec<usize>,
) -> Result<()> {
    if conflicts.is_empty() {
        return Ok(());
    }
    conflicts.sort_unstable();
    conflicts.dedup();
    let keys: Vec<&str> = conflicts
        .iter()
        .take(10)
        .map(|&i| objects[i].key.as_str())
        .collect();
    Err(Error::Broken(format!(
        "{} immutable key(s) would get other bytes than the target already serves for a year: {}{}. \
         A file under a bundler's content-hashed name changed after the build (a step that edits the \
         output, or a plugin that is not deterministic); rebuild so the bundler names the new bytes, \
         or stop editing hashed files. Nothing was uploaded",
        conflicts.len(),
        keys.join(", "),
        if conflicts.len() > keys.len() { ", …" } else { "" }
    )))
}

/// Store a rollback copy of every no-cache object whose content has none yet; returns how
/// many were stored.
pub async fn put_snapshots(
    target: &Target,
    concurrency: usize,
    objects: &[LocalObject],
    plan: &Plan,
    listing: Option<&[Listed]>,
) -> Result<usize> {
    let snaps = Arc::new(super::plan::snapshots(objects, plan, listing));
    let all: Vec<usize> = (0..snaps.len()).collect();
    let (sent, failed) = put_all(target, concurrency, &snaps, &all, &Progress::quiet()).await;
    if let Some((key, e)) = failed.first() {
        return Err(Error::Failed(format!(
            "storing rollback copies failed ({key}: {e}); no HTML was sent"
        )));
    }
    Ok(sent.len())
}
