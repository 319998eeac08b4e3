//! Making an earlier (or a staged) release live again on one target: the release to restore
//! (given, or the newest non-staged one before the live one), every object it names still
//! there or restorable from its rollback copy, the pages written back server-side with the
//! release's headers, and a new record saying it is a rollback. `cmd::releases` runs it on
//! every target and purges what changed.

use std::collections::BTreeMap;

use serde::Serialize;

use super::meta_of;
use crate::error::{Error, Result};
use crate::release::{self, fetch as fetch_release, Object, Release};
use crate::store::target::Target;
use crate::store::ObjectStore;

/// What a rollback did on one target.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RollbackTarget {
    /// The target.
    pub target: String,
    /// The release that was live.
    pub from: Option<String>,
    /// The release made live again.
    pub to: String,
    /// Keys written from rollback copies (or that would be).
    pub restored: Vec<String>,
    /// The new release record (a rollback of `to`).
    pub release: Option<String>,
}

/// Pages restored at once by a rollback (each a server-side copy of its rollback copy).
const RESTORES_AT_ONCE: usize = 16;

/// Write each page back from its content-addressed copy, `RESTORES_AT_ONCE` at a time; every
/// restore is waited for, and the failures are named together.
async fn restore_pages(target: &Target, restore: &[(String, Object)]) -> Result<()> {
    let mut failed = Vec::new();
    let jobs = restore.iter().map(|(key, o)| {
        let (target, key, o) = (target.clone(), key.clone(), o.clone());
        async move {
            let result = restore_page(&target, &key, &o).await;
            (key, result)
        }
    });
    crate::util::tasks::bounded(jobs, RESTORES_AT_ONCE, |outcome| match outcome {
        Ok((_, Ok(()))) => {}
        Ok((key, Err(e))) => failed.push(format!("{key}: {e}")),
        Err(e) => failed.push(e.to_string()),
    })
    .await;
    if failed.is_empty() {
        return Ok(());
    }
    failed.sort();
    Err(Error::Failed(format!(
        "{}: {} page(s) could not be restored, so no rollback record was written (the others were); run the same rollback again to finish: {}",
        target.describe(),
        failed.len(),
        failed.join("; ")
    )))
}

/// Write one page back from its content-addressed copy, with the release's headers: a
/// server-side copy (S3 CopyObject), so the bytes never travel through cdnpub.
async fn restore_page(target: &Target, key: &str, o: &Object) -> Result<()> {
    let snap = release::snapshot_key(&o.sha256);
    if target.copy(&snap, key, &meta_of(o)).await? {
        return Ok(());
    }
    Err(Error::Failed(format!(
        "{}: {snap} vanished during the rollback",
        target.describe()
    )))
}

/// Make release `id` (default: the newest non-staged release older than the live one) live
/// again on `target`: every object it names must still be there (its assets, kept by
/// --keep-releases) or have a rollback copy (its pages); those pages are written back with the
/// release's headers, and a new record says it is a rollback.
pub async fn rollback(target: &Target, id: Option<&str>, dry_run: bool) -> Result<RollbackTarget> {
    let survey = release::survey(target).await?;
    let sizes: BTreeMap<&str, u64> = survey
        .listing
        .iter()
        .map(|l| (l.key.as_str(), l.size))
        .collect();
    let (ids, live) = (survey.ids(), survey.live()?);
    no_records(target, &ids)?;
    let to_id = match id {
        Some(id) => id.to_string(),
        None => previous(target, &ids, live.as_deref()).await?,
    };
    let to = fetch_release(target, &to_id).await?.ok_or_else(|| {
        Error::Usage(format!(
            "{}: no release {to_id}; `cdnpub releases` lists them",
            target.describe()
        ))
    })?;
    let current = match &live {
        Some(l) => fetch_release(target, l).await?,
        None => None,
    };
    let stage = to.stage.clone().unwrap_or_default();
    let mut objects = BTreeMap::new();
    let (mut restore, mut missing) = (Vec::new(), Vec::new());
    for (key, o) in &to.objects {
        let live_key = key.strip_prefix(&stage).unwrap_or(key).to_string();
        let listed_same_size = sizes.get(live_key.as_str()) == Some(&o.size);
        let already_live =
            listed_same_size && current.as_ref().and_then(|c| c.objects.get(&live_key)) == Some(o);
        let has_copy = sizes.contains_key(release::snapshot_key(&o.sha256).as_str());
        if already_live {
            // Nothing to do.
        } else if has_copy {
            restore.push((live_key.clone(), o.clone()));
        } else if !listed_same_size {
            missing.push(live_key.clone());
        }
        // Else: an asset under its content-hashed name, still there.
        objects.insert(live_key, o.clone());
    }
    if !missing.is_empty() {
        return Err(Error::Failed(format!(
            "{}: release {to_id} cannot be restored: {} of its objects are gone (pruned: it is older than the releases --keep-releases keeps), e.g. {}",
            target.describe(),
            missing.len(),
            missing.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let mut report = RollbackTarget {
        target: target.describe(),
        from: live,
        to: to_id.clone(),
        restored: restore.iter().map(|(k, _)| k.clone()).collect(),
        release: None,
    };
    if dry_run {
        return Ok(report);
    }
    restore_pages(target, &restore).await?;
    let digest = crate::site::state::sha256_hex(format!("rollback {to_id}").as_bytes());
    let mut record = Release::new(
        release::new_id(&digest),
        objects,
        report.restored.clone(),
        Vec::new(),
    );
    record.commit = to.commit.clone();
    record.rollback_of = Some(to_id);
    release::write(target, &record, true).await?;
    let new_id = record.id;
    report.release = Some(new_id);
    Ok(report)
}

/// A target with no release record is a typo (`--to ./nosuch`, the wrong prefix), not a target
/// with nothing to list or roll back: say so (exit 1).
pub fn no_records(target: &Target, ids: &[String]) -> Result<()> {
    if !ids.is_empty() {
        return Ok(());
    }
    Err(Error::Failed(format!(
        "{}: no release records here (nothing under _cdnpub/releases/): is this the target a \
         publish wrote? Check --to (or targets in cdnpub.toml) and its prefix",
        target.describe()
    )))
}

/// The newest release older than `live` that is neither staged nor `live` itself.
async fn previous(target: &Target, ids: &[String], live: Option<&str>) -> Result<String> {
    for id in ids.iter().rev() {
        if Some(id.as_str()) >= live || live.is_none() {
            continue;
        }
        if let Some(r) = fetch_release(target, id).await? {
            if r.stage.is_none() {
                return Ok(id.clone());
            }
        }
    }
    Err(Error::Failed(format!(
        "{}: no earlier release to roll back to (`cdnpub releases` lists them; give an ID)",
        target.describe()
    )))
}
