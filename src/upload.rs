//! `cdnpub upload DIR --to URL`: make each target match a built tree, sending only what
//! changed, in an order that never serves a page pointing at a missing asset:
//! immutable assets → HTML and other no-cache files → release record → deletes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::classify::{self, Naming};
use crate::error::{Error, Result};
use crate::headers::{HeaderRules, Headers};
use crate::manifest::Manifest;
use crate::release::{self, Object, Release};
use crate::state::{hex, sha256_hex};
use crate::store::target::{Endpoint, Location, Target};
use crate::store::{Listed, Meta, ObjectStore};

/// Cache-Control of fingerprinted files.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache-Control of HTML and other files whose name does not change with their content.
pub const NO_CACHE: &str = "no-cache";

/// Which stored variant of compressible files goes under the plain key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// The plain bytes (CDNs compress on the fly).
    Identity,
    /// The .gz sibling, with `Content-Encoding: gzip`.
    Gzip,
    /// The .br sibling, with `Content-Encoding: br`.
    Br,
}

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
}

/// One object to publish.
#[derive(Debug, Clone)]
struct LocalObject {
    key: String,
    path: PathBuf,
    object: Object,
    immutable: bool,
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
}

/// The result of an upload to every target.
#[derive(Debug, Clone, Serialize)]
pub struct UploadReport {
    /// The command ("upload").
    pub command: &'static str,
    /// Nothing was written.
    pub dry_run: bool,
    /// The tree checked against its manifest before planning (changed, added files).
    pub tree: crate::tree::TreeCheck,
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
    let (mut objects, tree) = local_objects(cfg)?;
    // One id for every target: the two data centres hold the same release.
    let id = release_id(&objects);
    if cfg.stage {
        for o in objects.iter_mut().filter(|o| !o.immutable) {
            o.key = format!("{}{}", stage_prefix(&id.0), o.key);
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
        targets: reports,
    })
}

/// The objects of the tree: from its manifest, or by scanning a directory cdnpub did not build.
/// A tree cdnpub built is first checked against its manifest (see [`crate::tree`]).
fn local_objects(cfg: &UploadConfig) -> Result<(Vec<LocalObject>, crate::tree::TreeCheck)> {
    let (manifest, tree) = match Manifest::read(&cfg.dir)? {
        Some(mut m) => {
            let check = crate::tree::reconcile(&cfg.dir, &mut m)?;
            (m, check)
        }
        None => (scan_manifest(&cfg.dir)?, crate::tree::TreeCheck::default()),
    };
    let mut out = Vec::new();
    for f in &manifest.files {
        let headers = cfg.headers.apply(
            &[f.path.as_str(), f.source.as_str()],
            Headers {
                content_type: f.content_type.clone(),
                cache_control: if f.immutable { IMMUTABLE } else { NO_CACHE }.to_string(),
            },
        );
        let cache = headers.cache_control.as_str();
        let mut obj = LocalObject {
            key: f.path.clone(),
            path: cfg.dir.join(&f.path),
            object: Object {
                sha256: f.sha256.clone(),
                size: f.size,
                content_type: headers.content_type.clone(),
                cache_control: cache.to_string(),
                content_encoding: None,
            },
            immutable: f.immutable,
        };
        let wanted = match cfg.encoding {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Br => Some("br"),
        };
        if let Some(e) = f
            .encodings
            .iter()
            .find(|e| Some(e.encoding.as_str()) == wanted)
        {
            obj.path = cfg.dir.join(&e.path);
            obj.object.sha256 = e.sha256.clone();
            obj.object.size = e.size;
            obj.object.content_encoding = Some(e.encoding.clone());
        }
        if cfg.siblings {
            for e in &f.encodings {
                out.push(LocalObject {
                    key: e.path.clone(),
                    path: cfg.dir.join(&e.path),
                    object: Object {
                        sha256: e.sha256.clone(),
                        size: e.size,
                        content_type: headers.content_type.clone(),
                        cache_control: cache.to_string(),
                        content_encoding: Some(e.encoding.clone()),
                    },
                    immutable: f.immutable,
                });
            }
        }
        out.push(obj);
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok((out, tree))
}

/// A manifest for a directory cdnpub did not build: every file, hashed, typed, immutable when
/// a bundler hashed its name.
fn scan_manifest(dir: &Path) -> Result<Manifest> {
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "{} is not a directory; give the built tree to upload",
            dir.display()
        )));
    }
    let naming = Naming::new(&[], classify::DEFAULT_HASHED_PATTERN)?;
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| Error::io("read directory", dir, e.into()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .unwrap_or(entry.path())
            .to_string_lossy()
            .into_owned();
        if rel.starts_with(".cdnpub/") {
            continue;
        }
        let bytes = std::fs::read(entry.path()).map_err(|e| Error::io("read", entry.path(), e))?;
        files.push(crate::manifest::FileRecord {
            immutable: naming.bundler_hashed(&rel) && !naming.keeps_name(&rel),
            content_type: classify::content_type(&rel),
            sha256: sha256_hex(&bytes),
            size: bytes.len() as u64,
            source: rel.clone(),
            path: rel,
            encodings: Vec::new(),
        });
    }
    Ok(Manifest {
        version: crate::manifest::VERSION,
        hash_length: 0,
        files,
        renamed: BTreeMap::new(),
    })
}

/// What one target needs, decided from its listing and latest release record.
#[derive(Debug, Default)]
struct Plan {
    assets: Vec<usize>,
    no_cache: Vec<usize>,
    unchanged: usize,
    deletes: Vec<String>,
}

async fn upload_to(
    target: &Target,
    cfg: &UploadConfig,
    objects: &Arc<Vec<LocalObject>>,
    id: &(String, String),
    report: &mut TargetReport,
) -> Result<()> {
    let listing = if cfg.no_check_bucket {
        Vec::new()
    } else {
        // What we are about to upload is the best guess of what the target holds: it plans the
        // listing (`ObjectStore::list_near`) without an extra request.
        let expected: Vec<String> = objects.iter().map(|o| o.key.clone()).collect();
        target.list_near(&expected).await?
    };
    let listed: BTreeMap<&str, &Listed> = listing.iter().map(|l| (l.key.as_str(), l)).collect();
    let ids = release::ids_in(listing.iter().map(|l| &l.key));
    let latest_id = match (cfg.no_check_bucket, ids.last()) {
        (true, _) => target
            .get(release::LATEST_KEY)
            .await?
            .map(|b| release::parse_pointer(&b))
            .transpose()?,
        (false, id) => id.cloned(),
    };
    let latest = match latest_id {
        Some(id) => fetch_release(target, &id).await?,
        None => None,
    };
    let mut plan = Plan::default();
    for (i, o) in objects.iter().enumerate() {
        let in_record = latest.as_ref().and_then(|r| r.objects.get(&o.key)) == Some(&o.object);
        let size_matches = listed
            .get(o.key.as_str())
            .is_some_and(|l| l.size == o.object.size);
        let same = match (in_record, size_matches) {
            (true, true) => true,
            // Without a listing, the record is all there is.
            (true, false) if cfg.no_check_bucket => true,
            (_, true) => {
                // The listing and the record disagree: ask the object itself.
                report.heads += 1;
                head_matches(target, o).await?
            }
            _ => false,
        };
        if same {
            plan.unchanged += 1;
        } else if o.immutable {
            plan.assets.push(i);
        } else {
            plan.no_cache.push(i);
        }
    }
    if cfg.delete {
        plan.deletes = deletable(target, cfg, objects, &listing, &ids).await?;
    }
    report.unchanged = plan.unchanged;
    report.deleted = plan.deletes.clone();
    if cfg.dry_run {
        let order = plan.assets.iter().chain(&plan.no_cache);
        report.uploaded = order.clone().map(|&i| objects[i].key.clone()).collect();
        report.bytes = order.map(|&i| objects[i].object.size).sum();
        return Ok(());
    }
    // Assets first: no HTML goes out unless every asset it may name has landed.
    let progress = Progress::new(
        cfg.progress,
        &report.target,
        plan.assets.len() + plan.no_cache.len(),
    );
    for (n, phase) in [&plan.assets, &plan.no_cache].into_iter().enumerate() {
        if n == 1 {
            // Rollback copies of the pages, before the pages themselves go live.
            report.snapshots = put_snapshots(target, cfg, objects, &listed, &plan).await?;
        }
        let (sent, failed) = put_phase(target, cfg.concurrency, objects, phase, &progress).await;
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
    // Nothing sent, nothing to delete, and the latest record already describes this tree: no new
    // release (a no-op upload makes no PUT at all).
    let current: BTreeMap<&str, &Object> = objects
        .iter()
        .map(|o| (o.key.as_str(), &o.object))
        .collect();
    if let Some(r) = latest
        .as_ref()
        .filter(|_| report.uploaded.is_empty() && plan.deletes.is_empty() && !cfg.stage)
    {
        if r.objects
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .eq(current.iter().map(|(k, v)| (*k, *v)))
        {
            report.release = Some(r.id.clone());
            return Ok(());
        }
    }
    let mut record = new_release(objects, id, &report.uploaded, &plan.deletes);
    if cfg.stage {
        record.stage = Some(stage_prefix(&record.id));
    }
    target
        .put(&Release::key(&record.id), record.to_bytes(), &record_meta())
        .await?;
    // A staged release is not live: the pointer keeps naming the live one.
    if !cfg.stage {
        target
            .put(
                release::LATEST_KEY,
                release::latest_pointer(&record.id),
                &record_meta(),
            )
            .await?;
    }
    report.release = Some(record.id);
    if !plan.deletes.is_empty() {
        target.delete(&plan.deletes).await?;
    }
    Ok(())
}

/// A release record of the target, or None when it does not exist.
pub async fn fetch_release(target: &Target, id: &str) -> Result<Option<Release>> {
    let key = Release::key(id);
    match target.get(&key).await? {
        Some(bytes) => Release::parse(&key, &bytes).map(Some),
        None => Ok(None),
    }
}

/// A target's listing and its latest pointer, read once for commands that have no local files
/// to go by (prune, releases, rollback).
pub struct Survey {
    /// Every object, sorted by key.
    pub listing: Vec<Listed>,
    /// The bytes of `_cdnpub/latest.json`, when there is one.
    pub pointer: Option<Vec<u8>>,
}

/// The target's listing, planned from its live release: the record `_cdnpub/latest.json`
/// names is read first and its keys tell an S3 store where the listing's pages fall, so it
/// fetches them at once (`ObjectStore::list_near`) instead of one page per round trip. No
/// pointer, or a damaged one or record, only means one sequential listing (whoever needs the
/// pointer or the record reports the damage).
pub async fn survey(target: &Target) -> Result<Survey> {
    let pointer = target.get(release::LATEST_KEY).await?;
    if matches!(target, Target::Local(_)) {
        let listing = target.list().await?;
        return Ok(Survey { listing, pointer });
    }
    let id = pointer
        .as_deref()
        .and_then(|b| release::parse_pointer(b).ok());
    let record = match id {
        Some(id) => target
            .get(&Release::key(&id))
            .await?
            .and_then(|bytes| Release::parse(&Release::key(&id), &bytes).ok()),
        None => None,
    };
    let expected: Vec<String> = record
        .map(|r| r.objects.into_keys().collect())
        .unwrap_or_default();
    let listing = target.list_near(&expected).await?;
    Ok(Survey { listing, pointer })
}

/// True when the stored object's digest and headers are what we would send.
async fn head_matches(target: &Target, o: &LocalObject) -> Result<bool> {
    let Some(head) = target.head(&o.key).await? else {
        return Ok(false);
    };
    let m = head.meta;
    Ok(head.size == o.object.size
        && m.metadata.get("sha256") == Some(&o.object.sha256)
        && m.metadata.get(HEADERS_META) == Some(&headers_digest(&o.object))
        && m.content_type.as_deref() == Some(o.object.content_type.as_str())
        && m.cache_control.as_deref() == Some(o.object.cache_control.as_str())
        && m.content_encoding == o.object.content_encoding)
}

/// Objects of the target that neither this tree nor the last `keep_releases` releases name.
async fn deletable(
    target: &Target,
    cfg: &UploadConfig,
    objects: &[LocalObject],
    listing: &[Listed],
    ids: &[String],
) -> Result<Vec<String>> {
    let mut keep: BTreeSet<String> = objects.iter().map(|o| o.key.clone()).collect();
    keep.extend(
        objects
            .iter()
            .map(|o| release::snapshot_key(&o.object.sha256)),
    );
    // The release being made counts as one of the last `keep_releases`.
    let recent = cfg.keep_releases.saturating_sub(1);
    unreferenced(target, keep, listing, ids, recent, cfg.max_deletes).await
}

/// Keys of `listing` that neither `keep` nor the last `recent` releases of `ids` name (release
/// records themselves are kept; snapshots only while a kept release names their content).
/// More than `max_deletes`: an error, nothing to delete.
async fn unreferenced(
    target: &Target,
    mut keep: BTreeSet<String>,
    listing: &[Listed],
    ids: &[String],
    recent: usize,
    max_deletes: usize,
) -> Result<Vec<String>> {
    for id in &ids[ids.len().saturating_sub(recent)..] {
        if let Some(r) = fetch_release(target, id).await? {
            let stage = r.stage.clone().unwrap_or_default();
            for (k, o) in r.objects {
                keep.insert(release::snapshot_key(&o.sha256));
                // A staged record names its pages by live key; keep both.
                if let Some(live) = k.strip_prefix(&stage).filter(|_| !stage.is_empty()) {
                    keep.insert(live.to_string());
                }
                keep.insert(k);
            }
        }
    }
    let deletes: Vec<String> = listing
        .iter()
        .map(|l| l.key.clone())
        .filter(|k| {
            (!k.starts_with("_cdnpub/") || k.starts_with(release::SNAPSHOTS_DIR))
                && !keep.contains(k)
        })
        .collect();
    if deletes.len() > max_deletes {
        return Err(Error::Failed(format!(
            "{} objects would be deleted, more than --max-deletes {}; nothing was deleted or uploaded. \
             Check the target and prefix, then raise --max-deletes if this is intended",
            deletes.len(),
            max_deletes
        )));
    }
    Ok(deletes)
}

/// Delete what none of the last `keep_releases` releases names (publish's last stage).
/// Returns the keys deleted (or, with `dry_run`, that would be).
pub async fn prune(
    target: &Target,
    keep_releases: usize,
    max_deletes: usize,
    dry_run: bool,
) -> Result<Vec<String>> {
    let listing = survey(target).await?.listing;
    let ids = release::ids_in(listing.iter().map(|l| &l.key));
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let deletes = unreferenced(
        target,
        BTreeSet::new(),
        &listing,
        &ids,
        keep_releases.max(1),
        max_deletes,
    )
    .await?;
    if !dry_run && !deletes.is_empty() {
        target.delete(&deletes).await?;
    }
    Ok(deletes)
}

/// Store a rollback copy of every no-cache object whose content has none yet; returns how
/// many were stored.
async fn put_snapshots(
    target: &Target,
    cfg: &UploadConfig,
    objects: &Arc<Vec<LocalObject>>,
    listed: &BTreeMap<&str, &Listed>,
    plan: &Plan,
) -> Result<usize> {
    let mut seen = BTreeSet::new();
    let candidates: Vec<&LocalObject> = if cfg.no_check_bucket {
        plan.no_cache.iter().map(|&i| &objects[i]).collect()
    } else {
        objects.iter().filter(|o| !o.immutable).collect()
    };
    let snaps: Vec<LocalObject> = candidates
        .into_iter()
        .filter(|o| seen.insert(o.object.sha256.clone()))
        .map(|o| LocalObject {
            key: release::snapshot_key(&o.object.sha256),
            path: o.path.clone(),
            object: Object {
                content_type: "application/octet-stream".into(),
                cache_control: NO_CACHE.into(),
                content_encoding: None,
                ..o.object.clone()
            },
            immutable: false,
        })
        .filter(|s| !listed.contains_key(s.key.as_str()))
        .collect();
    let all: Vec<usize> = (0..snaps.len()).collect();
    let snaps = Arc::new(snaps);
    let quiet = Progress::new(false, "", 0);
    let (sent, failed) = put_phase(target, cfg.concurrency, &snaps, &all, &quiet).await;
    if let Some((key, e)) = failed.first() {
        return Err(Error::Failed(format!(
            "storing rollback copies failed ({key}: {e}); no HTML was sent"
        )));
    }
    Ok(sent.len())
}

/// PUT the objects of a phase; those that failed after the SDK's own retries get one more pass
/// once the others are done (a store that hiccuped for a few seconds recovers).
async fn put_phase(
    target: &Target,
    concurrency: usize,
    objects: &Arc<Vec<LocalObject>>,
    indices: &[usize],
    progress: &Progress,
) -> (Vec<usize>, Vec<(String, String)>) {
    let (mut sent, failed) = put_all(target, concurrency, objects, indices, progress).await;
    if failed.is_empty() {
        return (sent, failed);
    }
    let again: Vec<usize> = indices
        .iter()
        .copied()
        .filter(|&i| failed.iter().any(|(k, _)| *k == objects[i].key))
        .collect();
    tracing::debug!("{} objects failed; one more pass", again.len());
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let (more, failed) = put_all(target, concurrency, objects, &again, progress).await;
    sent.extend(more);
    (sent, failed)
}

/// PUT the objects at `indices`, `concurrency` at a time; returns the objects the store
/// confirmed (in `indices` order) and the failures.
async fn put_all(
    target: &Target,
    concurrency: usize,
    objects: &Arc<Vec<LocalObject>>,
    indices: &[usize],
    progress: &Progress,
) -> (Vec<usize>, Vec<(String, String)>) {
    let (mut sent, mut failed) = (Vec::new(), Vec::new());
    let jobs = indices.iter().map(|&i| {
        let (target, objects) = (target.clone(), objects.clone());
        async move { (i, put_checked(&target, &objects[i]).await) }
    });
    crate::tasks::bounded(jobs, concurrency, |outcome| match outcome {
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

/// Live progress of one target's uploads on stderr: a bar on a terminal, otherwise one plain
/// line per object the store confirmed (CI logs).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    lines: bool,
    total: usize,
    done: std::sync::atomic::AtomicUsize,
}

impl Progress {
    fn new(enabled: bool, target: &str, total: usize) -> Self {
        use std::io::IsTerminal;
        let tty = enabled && std::io::stderr().is_terminal();
        let bar = (tty && total > 0).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            let style = indicatif::ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} {wide_msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix(target.to_string());
            bar
        });
        Progress {
            bar,
            lines: enabled && !tty,
            total,
            done: Default::default(),
        }
    }

    fn sent(&self, key: &str) {
        let n = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            bar.set_message(key.to_string());
            bar.inc(1);
        } else if self.lines {
            eprintln!("  put {key} ({n}/{})", self.total);
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

/// Upload one object after checking its bytes are still the ones the manifest describes. A file
/// that fits in one request is read once, for both the check and the body; a larger one is
/// hashed in chunks and then streamed in parts.
async fn put_checked(target: &Target, o: &LocalObject) -> Result<()> {
    let meta = meta_of(&o.object);
    let changed = || {
        Error::Failed(format!(
            "{} changed since it was built; rebuild",
            o.path.display()
        ))
    };
    if o.object.size < crate::store::s3::MULTIPART_THRESHOLD {
        let body = tokio::fs::read(&o.path)
            .await
            .map_err(|e| Error::io("read", &o.path, e))?;
        if sha256_hex(&body) != o.object.sha256 {
            return Err(changed());
        }
        return target.put(&o.key, body, &meta).await;
    }
    if file_sha256(&o.path).await? != o.object.sha256 {
        return Err(changed());
    }
    target.put_file(&o.key, &o.path, o.object.size, &meta).await
}

/// SHA-256 of a file, read in chunks (large files are never held whole).
async fn file_sha256(path: &Path) -> Result<String> {
    use tokio::io::AsyncReadExt;
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| Error::io("open", path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .await
            .map_err(|e| Error::io("read", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Object metadata naming the digest of the headers an object was stored with.
const HEADERS_META: &str = "cdnpub-headers";

/// A short digest of the headers cdnpub sets (16 hex of SHA-256): a rule change shows as a
/// different value even where a store normalises the headers themselves.
fn headers_digest(o: &Object) -> String {
    let text = format!(
        "content-type:{}\ncache-control:{}\ncontent-encoding:{}\n",
        o.content_type,
        o.cache_control,
        o.content_encoding.as_deref().unwrap_or("")
    );
    sha256_hex(text.as_bytes())[..16].to_string()
}

/// Headers and metadata an object is stored with.
pub fn meta_of(o: &Object) -> Meta {
    Meta {
        content_type: Some(o.content_type.clone()),
        cache_control: Some(o.cache_control.clone()),
        content_encoding: o.content_encoding.clone(),
        metadata: BTreeMap::from([
            ("sha256".to_string(), o.sha256.clone()),
            (HEADERS_META.to_string(), headers_digest(o)),
        ]),
    }
}

/// Headers of release records and pointers.
pub fn record_meta() -> Meta {
    Meta {
        content_type: Some("application/json; charset=utf-8".into()),
        cache_control: Some(NO_CACHE.into()),
        ..Meta::default()
    }
}

/// The key prefix of a staged release's pages.
pub fn stage_prefix(id: &str) -> String {
    format!("releases/{id}/")
}

/// A new release id and time from the tree's objects.
fn release_id(objects: &[LocalObject]) -> (String, String) {
    let all: BTreeMap<&str, &Object> = objects
        .iter()
        .map(|o| (o.key.as_str(), &o.object))
        .collect();
    let digest = Sha256::digest(serde_json::to_vec(&all).unwrap_or_default());
    release::new_id(&hex(&digest))
}

fn new_release(
    objects: &[LocalObject],
    id: &(String, String),
    changed: &[String],
    deleted: &[String],
) -> Release {
    let objects: BTreeMap<String, Object> = objects
        .iter()
        .map(|o| (o.key.clone(), o.object.clone()))
        .collect();
    Release {
        version: release::VERSION,
        id: id.0.clone(),
        created: id.1.clone(),
        commit: release::current_commit(),
        objects,
        changed: changed.to_vec(),
        deleted: deleted.to_vec(),
        rollback_of: None,
        stage: None,
    }
}
