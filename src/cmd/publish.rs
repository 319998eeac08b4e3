//! `cdnpub publish`: build (rendering placeholders for the environment before hashing) →
//! upload to every target → purge what changed → prefetch the entry points → prune what no
//! recent release needs. Each stage reports; `--dry-run` plans every stage and writes nothing
//! but a temporary build.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cdn::entry::entry_points;
use crate::cdn::provider::{open_provider, ProviderSettings};
use crate::cdn::urls::{key_paths, normalize, Domains};
use crate::cdn::Cdn as _;
use crate::cdn::{self, Action, CdnReport, JobOptions, ObjectKind, Provider};
use crate::cmd::build::{BuildConfig, BuildReport};
use crate::cmd::upload::{UploadConfig, UploadReport};
use crate::error::{Error, Result};
use crate::release::size::SizeReport;
use crate::site::fingerprint::resolve::{normalize_base, Base};
use crate::store::target::{Location, Target};
use crate::store::ObjectStore;

/// Everything `publish` needs, resolved.
#[derive(Debug, Clone)]
pub struct PublishConfig {
    /// The build (its `out` is a temporary directory unless `--out` was given).
    pub build: BuildConfig,
    /// True when `build.out` is the user's `--out` (kept); false: a temporary directory.
    pub keep_out: bool,
    /// The upload (its `dir` is replaced by the build's output).
    pub upload: UploadConfig,
    /// The CDN provider, or none (the CDN stages are skipped).
    pub cdn: ProviderSettings,
    /// CDN job options (`dry_run` follows the publish).
    pub job: JobOptions,
    /// Purge what changed.
    pub purge: bool,
    /// Purge new keys too (`--purge-new`).
    pub purge_new: bool,
    /// Prefetch the entry points.
    pub prefetch: bool,
    /// Delete what no recent release needs, last.
    pub prune: bool,
    /// The server placeholders were rendered with, for the report.
    pub server: String,
    /// The profile used, for the report.
    pub env: Option<String>,
    /// Size budgets per entry page (`[[budget]]`), checked before anything is uploaded.
    pub budget: Vec<crate::release::size::BudgetRule>,
    /// Verify the release through the CDN after the CDN stages.
    pub verify: bool,
}

pub use super::Stage;

fn skipped<T>(why: impl Into<String>) -> Stage<T> {
    Stage::Skipped {
        skipped: why.into(),
    }
}

/// Pruning on one target.
#[derive(Debug, Clone, Serialize)]
pub struct Pruned {
    /// The target.
    pub target: String,
    /// Keys deleted (or that would be).
    pub deleted: Vec<String>,
    /// Why it failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a publish did.
#[derive(Debug, Clone, Serialize)]
pub struct PublishReport {
    /// The command ("publish").
    pub command: &'static str,
    /// Nothing was written (but a temporary build).
    pub dry_run: bool,
    /// The profile.
    pub env: Option<String>,
    /// What placeholders became.
    pub server: String,
    /// The release id (the first target's).
    pub release: Option<String>,
    /// Build.
    pub build: BuildReport,
    /// What a first visit downloads, against the previous release and the budgets.
    pub size: Option<SizeReport>,
    /// Upload.
    pub upload: UploadReport,
    /// CDN purge.
    pub purge: Stage<CdnReport>,
    /// CDN prefetch.
    pub prefetch: Stage<CdnReport>,
    /// Prune.
    pub prune: Stage<Vec<Pruned>>,
    /// What the CDN serves, against the release (`--verify`).
    pub verify: Stage<crate::cmd::verify::VerifyReport>,
}

impl PublishReport {
    /// Exit status: the first stage that failed, named.
    pub fn outcome(&self) -> Result<()> {
        self.upload.outcome()?;
        for (name, stage) in [("purge", &self.purge), ("prefetch", &self.prefetch)] {
            stage.check(name)?;
            if let Stage::Ran(r) = stage {
                r.outcome()
                    .map_err(|e| Error::Failed(format!("{name}: {e}")))?;
            }
        }
        self.prune.check("prune")?;
        self.verify.check("verify")?;
        if let Stage::Ran(v) = &self.verify {
            v.outcome()
                .map_err(|e| Error::Failed(format!("verify: {e}")))?;
        }
        if let Stage::Ran(p) = &self.prune {
            if let Some(bad) = p.iter().find(|p| p.error.is_some()) {
                return Err(Error::Failed(format!(
                    "prune on {}: {}",
                    bad.target,
                    bad.error.clone().unwrap_or_default()
                )));
            }
        }
        Ok(())
    }

    /// The number of objects uploaded (first target).
    pub fn uploaded(&self) -> usize {
        self.upload.targets.first().map_or(0, |t| t.uploaded.len())
    }
}

/// Run a publish.
pub async fn run(cfg: &PublishConfig) -> Result<PublishReport> {
    // Refuse bad CDN settings before anything is built or sent.
    let domains = Domains::parse(&cfg.cdn.domains)?;
    let provider = match cfg.cdn.kind {
        Some(_) if cfg.purge || cfg.prefetch => {
            if domains.is_empty() {
                return Err(Error::Usage(
                    "a CDN provider is set but no CDN domain: give --domain, cdn_domains or cdn_server".into(),
                ));
            }
            Some(open_provider(&cfg.cdn, cfg.job.dry_run, None).await?)
        }
        _ => None,
    };
    let first = cfg
        .upload
        .targets
        .first()
        .map(|t| Location::parse(t))
        .transpose()?;
    let tmp;
    let mut build_cfg = cfg.build.clone();
    if build_cfg.base == Base::Infer {
        // The first target's key prefix is the likeliest deploy sub-path.
        let hint = first.as_ref().map_or("", Location::key_prefix);
        if let Ok(p) = normalize_base(hint) {
            build_cfg.base = Base::Hint(p);
        }
    }
    if !cfg.keep_out {
        tmp = tempfile::tempdir().map_err(|e| Error::io("create", std::env::temp_dir(), e))?;
        build_cfg.out = tmp.path().join("site");
    }
    // The build is blocking CPU and file-system work: it runs on tokio's blocking pool.
    started(cfg, "build", &cfg.build.src.display().to_string());
    let build = {
        let build_cfg = build_cfg.clone();
        crate::util::tasks::blocking(move || crate::cmd::build::run(&build_cfg)).await?
    };
    let size = measure(cfg, &build_cfg).await?;
    if !size.over_budget.is_empty() {
        // The numbers reach --results even though the publish stops here.
        crate::util::results::record(
            &serde_json::json!({"command": "publish", "size": &size}),
            &[],
        );
        return Err(Error::Failed(format!(
            "over the size budget; nothing was uploaded:\n  {}\n(raise the [[budget]] limits \
             in cdnpub.toml, or make the entry smaller)",
            size.over_budget.join("\n  ")
        )));
    }
    let upload_cfg = UploadConfig {
        dir: build_cfg.out.clone(),
        delete: false,
        size: Some(size.summary()),
        ..cfg.upload.clone()
    };
    started(cfg, "upload", &cfg.upload.targets.join(", "));
    let upload = crate::cmd::upload::run(&upload_cfg).await?;
    let mut report = PublishReport {
        command: "publish",
        dry_run: cfg.upload.dry_run,
        env: cfg.env.clone(),
        server: cfg.server.clone(),
        release: upload.targets.first().and_then(|t| t.release.clone()),
        build,
        size: Some(size),
        upload,
        purge: skipped("not reached"),
        prefetch: skipped("not reached"),
        prune: skipped("not reached"),
        verify: skipped("not reached"),
    };
    if report.upload.outcome().is_err() {
        return Ok(report);
    }
    let changed: Vec<String> = report
        .upload
        .targets
        .first()
        .map(|t| t.uploaded.clone())
        .unwrap_or_default();
    let url_prefix = cfg
        .cdn
        .url_prefix
        .clone()
        .unwrap_or_else(|| first.as_ref().map_or("", Location::key_prefix).to_string());
    let ctx = CdnStage {
        provider: provider.as_ref(),
        domains: &domains,
        url_prefix: &url_prefix,
        job: &cfg.job,
        staged: cfg.upload.stage,
    };
    // From here on the release is out: a failing stage is kept in the report (with the
    // release id), never dropped with it.
    report.purge = if cfg.purge {
        let first = report.upload.targets.first();
        let replaced = first.map_or(&[][..], |t| t.replaced.as_slice());
        let keys = purge_keys(&changed, replaced, cfg.purge_new);
        let first_release = first.is_some_and(|t| !t.had_release);
        match ctx.ready(&changed) {
            Err(why) => skipped(why),
            Ok(_) if keys.is_empty() && first_release => skipped(
                "a first release: nothing was cached under its URLs (--purge-new purges them \
                 anyway, for a CDN that caches 404s)",
            ),
            Ok(_) if keys.is_empty() => {
                skipped("nothing an earlier release served changed (new keys: --purge-new)")
            }
            Ok(_) => {
                started(cfg, "purge", &format!("{} URL(s)", keys.len()));
                Stage::from_result(ctx.purge(&keys).await)
            }
        }
    } else {
        skipped("--no-purge")
    };
    report.prefetch = if cfg.prefetch {
        if ctx.ready(&changed).is_ok() {
            started(cfg, "prefetch", "the entry points");
        }
        Stage::from_result(ctx.prefetch(&changed, &build_cfg.out).await)
    } else {
        skipped("--no-prefetch")
    };
    report.verify = if !cfg.verify {
        skipped("not asked (--verify)")
    } else if cfg.upload.dry_run {
        skipped("a dry run: nothing was published")
    } else if cfg.upload.stage {
        skipped("a staged release: its pages are not live")
    } else {
        started(cfg, "verify", &cfg.server);
        Stage::from_result(
            // Where the pages load the tree from: the server and the deploy sub-path.
            verify_release(
                cfg,
                report.release.clone(),
                cfg.cdn
                    .url_prefix
                    .as_deref()
                    .unwrap_or(&report.build.base_path),
            )
            .await
            .map(Stage::Ran),
        )
    };
    report.prune = if !cfg.prune {
        skipped("--no-prune")
    } else if cfg.upload.stage {
        skipped("a staged release: the live one and its assets stay")
    } else {
        started(cfg, "prune", &cfg.upload.targets.join(", "));
        Stage::from_result(prune_all(cfg).await.map(Stage::Ran))
    };
    Ok(report)
}

/// What the CDN stages share.
struct CdnStage<'a> {
    provider: Option<&'a Provider>,
    domains: &'a Domains,
    url_prefix: &'a str,
    job: &'a JobOptions,
    staged: bool,
}

/// Say on stderr that a stage started (build, upload, purge, prefetch, verify, prune), before it
/// waits on anything (a CI log shows which stage a slow run is in); not with -q, --json or a
/// dry run.
fn started(cfg: &PublishConfig, stage: &str, what: &str) {
    if cfg.upload.progress {
        eprintln!("{stage:<9} started: {what}");
    }
}

/// What a purge sends: the keys an earlier release served that changed (`replaced`), or every
/// uploaded key with `all_new`; never a `.gz`/`.br` sibling of another key (browsers ask for
/// the plain URL) nor a source map no earlier release had.
pub fn purge_keys(uploaded: &[String], replaced: &[String], all_new: bool) -> Vec<String> {
    let served: std::collections::BTreeSet<&str> = replaced.iter().map(String::as_str).collect();
    let keys: std::collections::BTreeSet<&str> = uploaded.iter().map(String::as_str).collect();
    uploaded
        .iter()
        .filter(|k| all_new || served.contains(k.as_str()))
        .filter(|k| {
            let sibling = [".gz", ".br"].iter().any(|ext| {
                k.strip_suffix(ext)
                    .is_some_and(|plain| keys.contains(plain))
            });
            let new_map = k.ends_with(".map") && !served.contains(k.as_str());
            !sibling && !new_map
        })
        .cloned()
        .collect()
}

impl CdnStage<'_> {
    fn ready(&self, changed: &[String]) -> std::result::Result<&Provider, String> {
        let Some(p) = self.provider else {
            return Err(
                "no CDN provider is set (--provider, or cdn_provider in cdnpub.toml)".into(),
            );
        };
        if self.staged {
            return Err("a staged release: its pages have new keys, nothing is cached yet".into());
        }
        if changed.is_empty() {
            return Err("nothing changed".into());
        }
        Ok(p)
    }

    async fn purge(&self, changed: &[String]) -> Result<Stage<CdnReport>> {
        let p = match self.ready(changed) {
            Ok(p) => p,
            Err(why) => return Ok(skipped(why)),
        };
        let urls = normalize(&key_paths(changed, self.url_prefix), self.domains)?;
        Ok(Stage::Ran(
            cdn::run(p, Action::Purge, ObjectKind::File, &urls, self.job).await?,
        ))
    }

    async fn prefetch(
        &self,
        changed: &[String],
        out: &std::path::Path,
    ) -> Result<Stage<CdnReport>> {
        let p = match self.ready(changed) {
            Ok(p) => p,
            Err(why) => return Ok(skipped(why)),
        };
        if !p.can_prefetch() {
            return Ok(skipped(format!("{} has no prefetch API", p.name())));
        }
        let (out, pages) = (out.to_path_buf(), changed.to_vec());
        let (keys, html) = crate::util::tasks::blocking(move || {
            let manifest = crate::site::manifest::Manifest::read(&out)?.unwrap_or_default();
            let keys: Vec<String> = manifest.files.iter().map(|f| f.path.clone()).collect();
            let mut html = BTreeMap::new();
            for k in pages.iter().filter(|k| crate::cdn::entry::is_html(k)) {
                let path = out.join(k);
                let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
                html.insert(k.clone(), bytes);
            }
            Ok((keys, html))
        })
        .await?;
        let (keys, absolute) = entry_points(changed, &keys, &html, self.domains);
        let mut inputs: Vec<String> = key_paths(&keys, self.url_prefix)
            .into_iter()
            .filter(|p| !p.ends_with('/'))
            .collect();
        inputs.extend(absolute);
        let urls = normalize(&inputs, self.domains)?;
        Ok(Stage::Ran(
            cdn::run(p, Action::Prefetch, ObjectKind::File, &urls, self.job).await?,
        ))
    }
}

/// `cdnpub verify` of the release just published, through `cdn_server` + the URL prefix.
async fn verify_release(
    cfg: &PublishConfig,
    release: Option<String>,
    url_prefix: &str,
) -> Result<crate::cmd::verify::VerifyReport> {
    let target = cfg
        .upload
        .targets
        .first()
        .cloned()
        .ok_or_else(|| Error::Usage("verify needs a target".into()))?;
    let base = crate::store::target::cdn_base(&cfg.server, Some(url_prefix), &target).ok_or_else(
        || {
            Error::Usage(format!(
            "--verify fetches the release through the CDN: the server {:?} is not an http(s) URL",
            cfg.server
        ))
        },
    )?;
    let vcfg = crate::cmd::verify::VerifyConfig {
        target,
        endpoint: cfg.upload.endpoint.clone(),
        release,
        cdn_base: base,
        sample: None,
        concurrency: usize::from(crate::util::DEFAULT_CONCURRENCY),
        timeout: crate::cmd::verify::REQUEST_TIMEOUT,
        purge_stale: false,
        settings: cfg.cdn.clone(),
        job: cfg.job.clone(),
        progress: cfg.upload.progress,
    };
    crate::cmd::verify::run(&vcfg).await
}

/// The encoding browsers get from these targets: what buckets store under plain keys, brotli
/// from directories with siblings (nginx `brotli_static`).
fn wire_encoding(cfg: &PublishConfig) -> &'static str {
    let dirs = cfg
        .upload
        .targets
        .iter()
        .filter(|t| matches!(Location::parse(t), Ok(Location::Dir(_))))
        .count();
    match cfg
        .upload
        .encoding
        .resolve(cfg.upload.siblings, dirs, cfg.upload.targets.len())
    {
        Ok((crate::sync::Encoding::Identity, true)) if dirs > 0 => "br",
        Ok((e, _)) => e.content_encoding().unwrap_or("identity"),
        Err(_) => "identity",
    }
}

/// The size report of the build in `build_cfg.out`, against the first target's live release
/// (when it can be read), with the budgets checked.
async fn measure(cfg: &PublishConfig, build_cfg: &BuildConfig) -> Result<SizeReport> {
    let started = std::time::Instant::now();
    let out = build_cfg.out.clone();
    let (manifest, html) = crate::util::tasks::blocking(move || {
        let manifest = crate::site::manifest::Manifest::read(&out)?.unwrap_or_default();
        let mut html = BTreeMap::new();
        for f in manifest
            .files
            .iter()
            .filter(|f| crate::cdn::entry::is_html(&f.path))
        {
            let path = out.join(&f.path);
            let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            html.insert(f.path.clone(), bytes);
        }
        Ok((manifest, html))
    })
    .await?;
    let mut servers = build_cfg.servers.clone();
    servers.push(cfg.server.clone());
    let mut size = crate::release::size::measure(
        &manifest,
        &html,
        &servers,
        &build_cfg.prefix,
        wire_encoding(cfg),
    );
    if let Some(previous) = previous_release(cfg).await {
        crate::release::size::compare(&mut size, &manifest, &previous);
    }
    crate::release::size::check_budget(&mut size, &cfg.budget)?;
    size.ms = started.elapsed().as_millis() as u64;
    Ok(size)
}

/// The first target's live release record, if there is one and it can be read (a target that
/// cannot be reached fails the upload, which says why).
async fn previous_release(cfg: &PublishConfig) -> Option<crate::release::Release> {
    let loc = Location::parse(cfg.upload.targets.first()?).ok()?;
    let target = Target::open(&loc, &cfg.upload.endpoint).await.ok()?;
    let id = crate::release::pointed(&target).await.ok()??;
    crate::release::fetch(&target, &id).await.ok()?
}

async fn prune_all(cfg: &PublishConfig) -> Result<Vec<Pruned>> {
    let mut out = Vec::new();
    for raw in &cfg.upload.targets {
        let target = Target::open(&Location::parse(raw)?, &cfg.upload.endpoint).await?;
        let r = crate::release::retention::prune(
            &target,
            cfg.upload.keep_releases,
            cfg.upload.max_deletes,
            cfg.upload.dry_run,
        )
        .await;
        out.push(match r {
            Ok(deleted) => Pruned {
                target: target.describe(),
                deleted,
                error: None,
            },
            Err(e) => Pruned {
                target: target.describe(),
                deleted: Vec::new(),
                error: Some(e.to_string()),
            },
        });
    }
    Ok(out)
}

/// The default files rendered at publish: every text file a site serves (pages; scripts, where
/// Vite's preload helper and webpack's public path hold the base; styles; Next.js's `.txt`
/// route payloads; JSON payloads and manifests; SVG; source maps).
pub const DEFAULT_RENDER: [&str; 13] = [
    "**/*.html",
    "**/*.htm",
    "**/*.js",
    "**/*.mjs",
    "**/*.cjs",
    "**/*.css",
    "**/*.json",
    "**/*.txt",
    "**/*.webmanifest",
    "**/*.svg",
    "**/*.xml",
    "**/*.map",
    "**/*.xhtml",
];

#[cfg(test)]
mod tests {
    use super::purge_keys;

    #[test]
    fn purges_what_browsers_can_have_cached() {
        let up: Vec<String> = [
            "index.html",
            "index.html.gz",
            "index.html.br",
            "assets/a-Ab12Cd34.js",
            "assets/a-Ab12Cd34.js.map",
            "data.tar.gz",
            "old.js.map",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let replaced: Vec<String> = ["index.html", "index.html.gz", "old.js.map"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            purge_keys(&up, &replaced, false),
            ["index.html", "old.js.map"]
        );
        assert_eq!(
            purge_keys(&up, &replaced, true),
            [
                "index.html",
                "assets/a-Ab12Cd34.js",
                "data.tar.gz",
                "old.js.map"
            ]
        );
        assert!(purge_keys(&up, &[], false).is_empty());
    }
}
