//! `cdnpub releases` (list a target's release records) and `cdnpub rollback [ID]` (make an
//! earlier, or a staged, release live again from its rollback copies).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::release::{self, fetch as fetch_release, Object, Release};
use crate::store::target::Target;
use crate::store::ObjectStore;
use crate::sync::meta_of;

/// One release, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Release id.
    pub id: String,
    /// When it was made.
    pub created: String,
    /// Git commit, when known.
    pub commit: Option<String>,
    /// Objects in the release.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Keys it uploaded.
    pub changed: usize,
    /// Keys it deleted.
    pub deleted: usize,
    /// The release it rolled back to, for a rollback.
    pub rollback_of: Option<String>,
    /// The key prefix of a staged release's pages.
    pub stage: Option<String>,
    /// The live release (the latest pointer names it).
    pub live: bool,
}

/// `cdnpub releases` for one target.
#[derive(Debug, Clone, Serialize)]
pub struct ReleasesReport {
    /// The command ("releases").
    pub command: &'static str,
    /// The target.
    pub target: String,
    /// The live release: the newest whose pages the target serves (else the latest pointer's).
    pub live: Option<String>,
    /// Newest first.
    pub releases: Vec<Summary>,
    /// The latest pointer disagrees with what is served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// True when the target serves `r`'s pages: every object not cached as immutable (pages,
/// kept names) is listed with the size the record says. A staged release is never live.
fn serves(r: &Release, sizes: &BTreeMap<&str, u64>) -> bool {
    r.stage.is_none()
        && r.objects
            .iter()
            .filter(|(_, o)| !o.cache_control.contains("immutable"))
            .all(|(k, o)| sizes.get(k.as_str()) == Some(&o.size))
}

/// Every release record of a target, newest first.
pub async fn list(target: &Target) -> Result<ReleasesReport> {
    let survey = release::survey(target).await?;
    let (ids, pointed) = (survey.ids(), survey.live()?);
    no_records(target, &ids)?;
    let sizes: BTreeMap<&str, u64> = survey
        .listing
        .iter()
        .map(|l| (l.key.as_str(), l.size))
        .collect();
    let mut records = Vec::new();
    for id in ids.iter().rev() {
        if let Some(r) = fetch_release(target, id).await? {
            records.push(r);
        }
    }
    // LIVE is what is served; the pointer only breaks a tie it cannot see (equal pages).
    let served = match records.iter().find(|r| Some(&r.id) == pointed.as_ref()) {
        Some(p) if serves(p, &sizes) => Some(p.id.clone()),
        _ => records
            .iter()
            .find(|r| serves(r, &sizes))
            .map(|r| r.id.clone()),
    };
    let warning = match (&pointed, &served) {
        (Some(p), Some(s)) if p != s => Some(format!(
            "{}: the latest pointer names {p}, but the target serves {s}'s pages (a run stopped \
             between the release record and the pointer; the next upload repairs the pointer)",
            target.describe()
        )),
        _ => None,
    };
    let live = served.or(pointed);
    let mut releases = Vec::new();
    for r in records {
        let id = r.id.clone();
        releases.push(Summary {
            files: r.objects.len(),
            bytes: r.objects.values().map(|o| o.size).sum(),
            changed: r.changed.len(),
            deleted: r.deleted.len(),
            live: live.as_deref() == Some(id.as_str()),
            id: r.id,
            created: r.created,
            commit: r.commit,
            rollback_of: r.rollback_of,
            stage: r.stage,
        });
    }
    Ok(ReleasesReport {
        command: "releases",
        target: target.describe(),
        live,
        releases,
        warning,
    })
}

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
fn no_records(target: &Target, ids: &[String]) -> Result<()> {
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

/// What `cdnpub rollback` did on every target, and the purge of the restored pages.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackReport {
    /// The command ("rollback").
    pub command: &'static str,
    /// Nothing was written.
    pub dry_run: bool,
    /// Per target.
    pub targets: Vec<RollbackTarget>,
    /// Targets that failed, with the error.
    pub failed: Vec<(String, String)>,
    /// Every failure was a usage error (an unknown release id): exit 2.
    #[serde(skip)]
    pub usage_error: bool,
    /// The CDN purge of the restored pages.
    pub purge: crate::cmd::Stage<crate::cdn::CdnReport>,
}

impl RollbackReport {
    /// Exit status: any failed target or purge.
    pub fn outcome(&self) -> Result<()> {
        if !self.failed.is_empty() {
            let lines: Vec<String> = self
                .failed
                .iter()
                .map(|(t, e)| format!("  {t}: {e}"))
                .collect();
            let error = if self.usage_error {
                Error::Usage
            } else {
                Error::Failed
            };
            return Err(error(format!(
                "rollback failed on {} target(s):\n{}",
                self.failed.len(),
                lines.join("\n")
            )));
        }
        self.purge.check("purge")?;
        if let crate::cmd::Stage::Ran(r) = &self.purge {
            r.outcome()?;
        }
        Ok(())
    }
}

/// Roll back every target, then purge the restored pages' URLs (when a provider is set).
pub async fn rollback_all(
    targets: &[String],
    endpoint: &crate::store::target::Endpoint,
    id: Option<&str>,
    cdn: &crate::cdn::provider::ProviderSettings,
    job: &crate::cdn::JobOptions,
    purge: bool,
) -> Result<RollbackReport> {
    use crate::cmd::Stage;
    use crate::store::target::Location;
    let domains = crate::cdn::urls::Domains::parse(&cdn.domains)?;
    let provider = match cdn.kind {
        Some(_) if purge => {
            Some(crate::cdn::provider::open_provider(cdn, job.dry_run, None).await?)
        }
        _ => None,
    };
    let mut report = RollbackReport {
        command: "rollback",
        dry_run: job.dry_run,
        targets: Vec::new(),
        failed: Vec::new(),
        usage_error: true,
        purge: Stage::Skipped {
            skipped: "no CDN provider is set (--provider, or cdn_provider in cdnpub.toml)".into(),
        },
    };
    // Every target is parsed before any is touched; from the first change on, a failing
    // target is reported beside the ones that changed, never instead of them.
    let locations = targets
        .iter()
        .map(|raw| Location::parse(raw))
        .collect::<Result<Vec<_>>>()?;
    let first_prefix = locations.first().map(|l| l.key_prefix().to_string());
    for (raw, loc) in targets.iter().zip(&locations) {
        let target = match Target::open(loc, endpoint).await {
            Ok(t) => t,
            Err(e) => {
                report.usage_error &= matches!(e, Error::Usage(_));
                report.failed.push((raw.clone(), e.to_string()));
                continue;
            }
        };
        match rollback(&target, id, job.dry_run).await {
            Ok(t) => report.targets.push(t),
            Err(e) => {
                report.usage_error &= matches!(e, Error::Usage(_));
                report.failed.push((target.describe(), e.to_string()))
            }
        }
    }
    let restored: Vec<String> = report
        .targets
        .first()
        .map(|t| t.restored.clone())
        .unwrap_or_default();
    if !purge {
        report.purge = Stage::Skipped {
            skipped: "--no-purge".into(),
        };
    } else if let Some(p) = &provider {
        report.purge = if restored.is_empty() {
            Stage::Skipped {
                skipped: "nothing restored".into(),
            }
        } else {
            let prefix = cdn.url_prefix.clone().or(first_prefix).unwrap_or_default();
            let urls = crate::cdn::urls::normalize(
                &crate::cdn::urls::key_paths(&restored, &prefix),
                &domains,
            )?;
            Stage::from_result(
                crate::cdn::run(
                    p,
                    crate::cdn::Action::Purge,
                    crate::cdn::ObjectKind::File,
                    &urls,
                    job,
                )
                .await
                .map(Stage::Ran),
            )
        };
    }
    Ok(report)
}
