//! `cdnpub upload DIR --to URL`: make each target match a built tree, sending only what
//! changed, in an order that never serves a page pointing at a missing asset:
//! immutable assets → HTML and other no-cache files → release record → deletes.
//!
//! This module only orchestrates: the tree's objects come from [`crate::sync::local`], what a
//! target needs from the pure [`crate::sync::plan`], sending from [`crate::sync::put`], records
//! and retention from [`crate::release`].

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::release::{self, retention};
use crate::site::headers::HeaderRules;
use crate::store::target::{Endpoint, Location, Target};
use crate::store::ObjectStore;
use crate::sync::plan::{self};
use crate::sync::put::{self, Progress};
use crate::sync::steps::{
    put_snapshots, read_target, refuse_immutable_overwrites, replaced, settle_heads,
};
use crate::sync::LocalObject;

pub use crate::sync::{meta_of, Encoding, IMMUTABLE, NO_CACHE};

/// Everything `upload` needs, resolved.
#[derive(Debug, Clone)]
pub struct UploadConfig {
    /// The built tree.
    pub dir: PathBuf,
    /// `--to` values.
    pub targets: Vec<String>,
    /// How to reach S3-compatible targets.
    pub endpoint: Endpoint,
    /// Requests in flight per target.
    pub concurrency: usize,
    /// Delete objects no recent release references.
    pub delete: bool,
    /// Releases whose objects are never deleted.
    pub keep_releases: usize,
    /// More deletes than this: error, nothing deleted.
    pub max_deletes: usize,
    /// Print the plan, write nothing.
    pub dry_run: bool,
    /// Variant stored under plain keys.
    pub encoding: Encoding,
    /// Also store .gz/.br siblings under their own keys.
    pub siblings: bool,
    /// Show progress on stderr (a bar on a terminal, one line per object otherwise).
    pub progress: bool,
    /// Do not list the target (keys that may write but not list): trust the latest release record.
    pub no_check_bucket: bool,
    /// Cache-Control / Content-Type overrides per glob.
    pub headers: HeaderRules,
    /// Staged release: HTML and other no-cache objects go under `releases/<id>/`, the live
    /// ones stay as they are (a gateway routes a share of users to the new entry pages).
    pub stage: bool,
    /// The size summary the release record keeps (publish measures it).
    pub size: Option<crate::release::size::Summary>,
}

/// What happened on one target.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetReport {
    /// The target (`s3://bucket/prefix`, `file:///dir`).
    pub target: String,
    /// Release id written (none on dry run or failure).
    pub release: Option<String>,
    /// Keys uploaded (or that would be), in the order sent.
    pub uploaded: Vec<String>,
    /// Bytes uploaded.
    pub bytes: u64,
    /// Objects already in place.
    pub unchanged: usize,
    /// HEAD requests made where the listing disagreed with the release record.
    pub heads: usize,
    /// Rollback copies of no-cache objects stored (`_cdnpub/objects/<sha256>`).
    pub snapshots: usize,
    /// Keys deleted (or that would be).
    pub deleted: Vec<String>,
    /// Keys that failed, with the error.
    pub failed: Vec<(String, String)>,
    /// The error that stopped this target, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The latest pointer named an older release than the newest record, and was repaired.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub repaired_pointer: bool,
    /// The target had a release before this one.
    #[serde(skip)]
    pub had_release: bool,
    /// Uploaded keys the previous release already held (other bytes now): what a CDN may have
    /// cached.
    #[serde(skip)]
    pub replaced: Vec<String>,
}

/// The result of an upload to every target.
#[derive(Debug, Clone, Serialize)]
pub struct UploadReport {
    /// The command ("upload").
    pub command: &'static str,
    /// Nothing was written.
    pub dry_run: bool,
    /// The tree checked against its manifest before planning (changed, added files).
    pub tree: crate::site::tree::TreeCheck,
    /// The variant stored under plain keys (`auto` resolved for these targets).
    pub encoding: Encoding,
    /// .gz/.br siblings stored under their own keys too.
    pub siblings: bool,
    /// One entry per target, in `--to` order.
    pub targets: Vec<TargetReport>,
}

impl UploadReport {
    /// Exit status: any failed target is an error naming it and its failed keys.
    pub fn outcome(&self) -> Result<()> {
        let bad: Vec<String> = self
            .targets
            .iter()
            .filter(|t| t.error.is_some() || !t.failed.is_empty())
            .map(|t| {
                let keys: Vec<String> = t
                    .failed
                    .iter()
                    .map(|(k, e)| format!("    {k}: {e}"))
                    .collect();
                format!(
                    "  {}: {}\n{}",
                    t.target,
                    t.error.clone().unwrap_or_default(),
                    keys.join("\n")
                )
            })
            .collect();
        if bad.is_empty() {
            Ok(())
        } else {
            Err(Error::Failed(format!(
                "upload failed on {} target(s):\n{}",
                bad.len(),
                bad.join("\n")
            )))
        }
    }
}

/// Run an upload to every target. A failing target does not stop the others.
pub async fn run(cfg: &UploadConfig) -> Result<UploadReport> {
    if cfg.no_check_bucket && cfg.delete {
        return Err(Error::Usage(
            "--delete needs a listing of the target, which --no-check-bucket forgoes; drop one of them".into(),
        ));
    }
    let locations = cfg
        .targets
        .iter()
        .map(|t| Location::parse(t))
        .collect::<Result<Vec<_>>>()?;
    if locations.is_empty() {
        return Err(Error::Usage(
            "no target: give --to s3://bucket/prefix, file:///dir or a directory".into(),
        ));
    }
    let directories = locations
        .iter()
        .filter(|l| matches!(l, Location::Dir(_)))
        .count();
    let (encoding, siblings) = cfg
        .encoding
        .resolve(cfg.siblings, directories, locations.len())
        .map_err(Error::Usage)?;
    // Reading, checking and hashing the tree is blocking work: off the runtime.
    let (dir, headers) = (cfg.dir.clone(), cfg.headers.clone());
    let (mut objects, tree) = crate::util::tasks::blocking(move || {
        let choices = crate::sync::local::Choices {
            headers: &headers,
            encoding,
            siblings,
            fill_siblings: siblings && directories == 0,
        };
        crate::sync::local::objects(&dir, &choices)
    })
    .await?;
    // One id for every target: the two data centres hold the same release.
    let id = release::id_for(objects.iter().map(|o| (o.key.as_str(), &o.object)));
    if cfg.stage {
        for o in objects.iter_mut().filter(|o| !o.immutable) {
            o.key = format!("{}{}", release::stage_prefix(&id.0), o.key);
        }
        objects.sort_by(|a, b| a.key.cmp(&b.key));
    }
    let objects = Arc::new(objects);
    let mut reports = Vec::new();
    for loc in &locations {
        let target = Target::open(loc, &cfg.endpoint).await?;
        let mut report = TargetReport {
            target: target.describe(),
            ..TargetReport::default()
        };
        if let Err(e) = upload_to(&target, cfg, &objects, &id, &mut report).await {
            report.error = Some(e.to_string());
        }
        reports.push(report);
    }
    Ok(UploadReport {
        command: "upload",
        dry_run: cfg.dry_run,
        tree,
        encoding,
        siblings,
        targets: reports,
    })
}

async fn upload_to(
    target: &Target,
    cfg: &UploadConfig,
    objects: &Arc<Vec<LocalObject>>,
    id: &(String, String),
    report: &mut TargetReport,
) -> Result<()> {
    let (listing, ids, latest) = read_target(target, cfg.no_check_bucket, objects).await?;
    report.had_release = latest.is_some();
    let mut plan = plan::plan(objects, listing.as_deref(), latest.as_ref());
    refuse_immutable_overwrites(objects, plan::record_conflicts(objects, latest.as_ref()))?;
    report.heads = settle_heads(target, cfg.concurrency, objects, &mut plan).await?;
    let deletes = match (&listing, cfg.delete) {
        (Some(listing), true) => {
            // The release being made counts as one of the last `keep_releases`.
            let recent = cfg.keep_releases.saturating_sub(1);
            let all = retention::recent(target, &ids, ids.len()).await?;
            let serving = retention::serving(target).await?;
            retention::unreferenced(
                plan::keep_set(objects),
                listing,
                &retention::kept(&all, recent, &serving),
                &retention::written(&all),
                cfg.max_deletes,
            )?
        }
        _ => Vec::new(),
    };
    report.unchanged = plan.unchanged();
    report.deleted = deletes.clone();
    let phases = plan.phases(objects);
    if cfg.dry_run {
        let order = phases.iter().flatten();
        report.uploaded = order.clone().map(|&i| objects[i].key.clone()).collect();
        report.replaced = replaced(&report.uploaded, latest.as_ref());
        report.bytes = order.map(|&i| objects[i].object.size).sum();
        return Ok(());
    }
    // Assets first: no HTML goes out unless every asset it may name has landed.
    let progress = Progress::new(
        cfg.progress,
        &report.target,
        phases[0].len() + phases[1].len(),
    );
    for (n, phase) in phases.iter().enumerate() {
        if n == 1 {
            // Rollback copies of the pages, before the pages themselves go live.
            report.snapshots =
                put_snapshots(target, cfg.concurrency, objects, &plan, listing.as_deref()).await?;
        }
        let (sent, failed) = put::put_all(target, cfg.concurrency, objects, phase, &progress).await;
        report.bytes += sent.iter().map(|&i| objects[i].object.size).sum::<u64>();
        report
            .uploaded
            .extend(sent.iter().map(|&i| objects[i].key.clone()));
        if !failed.is_empty() {
            report.failed = failed;
            return Err(Error::Failed(format!(
                "{} objects failed; nothing after them was sent (HTML and the release record wait for every asset)",
                report.failed.len()
            )));
        }
    }
    report.replaced = replaced(&report.uploaded, latest.as_ref());
    // Nothing sent, nothing to delete, and the latest record already describes this tree: no new
    // release (a no-op upload makes no PUT at all).
    if let Some(r) = latest.as_ref().filter(|r| {
        report.uploaded.is_empty()
            && deletes.is_empty()
            && !cfg.stage
            && plan::describes(r, objects)
    }) {
        report.release = Some(r.id.clone());
        // A run that stopped between the record and the pointer left the pointer behind: the
        // re-run repairs it.
        if !cfg.dry_run
            && r.stage.is_none()
            && release::pointed(target).await?.as_deref() != Some(r.id.as_str())
        {
            release::point(target, &r.id).await?;
            report.repaired_pointer = true;
        }
        return Ok(());
    }
    let mut record = plan::record(objects, id.clone(), &report.uploaded, &deletes);
    if cfg.stage {
        record.stage = Some(release::stage_prefix(&record.id));
    }
    record.size = cfg.size.clone();
    // A staged release is not live: the pointer keeps naming the live one.
    release::write(target, &record, !cfg.stage).await?;
    if !cfg.stage {
        // A release published during a rollout (a hotfix) is what the stable cohort now sees.
        crate::release::rollout::follow_live(target, &record.id).await?;
    }
    report.release = Some(record.id);
    if !deletes.is_empty() {
        target.delete(&deletes).await?;
    }
    Ok(())
}
