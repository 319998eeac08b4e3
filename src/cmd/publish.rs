//! `cdnpub publish`: build (rendering placeholders for the environment before hashing) →
//! upload to every target → purge what changed → prefetch the entry points → prune what no
//! recent release needs. Each stage reports; `--dry-run` plans every stage and writes nothing
//! but a temporary build.

use serde::Serialize;

use crate::cdn::provider::{open_provider, ProviderSettings};
use crate::cdn::release::{purge_keys, ReleaseJobs};
use crate::cdn::urls::Domains;
use crate::cdn::{CdnReport, JobOptions};
use crate::cmd::build::{BuildConfig, BuildReport};
use crate::cmd::upload::{UploadConfig, UploadReport};
use crate::error::{Error, Result};
use crate::release::retention::{prune_targets, Pruned};
use crate::release::size::SizeReport;
use crate::site::fingerprint::resolve::{normalize_base, Base};
use crate::store::target::{Location, Target};

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
    /// A staged release's site URL (its preview is this + `?cdnpub-release=<id>`).
    pub preview: Option<String>,
}

pub use super::Stage;

fn skipped<T>(why: impl Into<String>) -> Stage<T> {
    Stage::Skipped {
        skipped: why.into(),
    }
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
    /// A staged release's preview URL (with a site URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
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
    let mut servers = build_cfg.servers.clone();
    servers.push(cfg.server.clone());
    let previous = previous_release(cfg).await;
    let size = crate::release::size::measure_build(
        &build_cfg.out,
        &servers,
        &build_cfg.prefix,
        crate::sync::wire_encoding(
            &cfg.upload.targets,
            cfg.upload.encoding,
            cfg.upload.siblings,
        ),
        previous.as_ref(),
        &cfg.budget,
    )
    .await?;
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
        preview: None,
    };
    if report.upload.outcome().is_err() {
        return Ok(report);
    }
    report.preview = match (&cfg.preview, &report.release) {
        (Some(site), Some(id)) => Some(crate::release::rollout::preview_url(site, id)),
        _ => None,
    };
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
    let ctx = ReleaseJobs {
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
                Stage::from_result(ctx.purge(&keys).await.map(Stage::from))
            }
        }
    } else {
        skipped("--no-purge")
    };
    report.prefetch = if cfg.prefetch {
        if ctx.ready(&changed).is_ok() {
            started(cfg, "prefetch", "the entry points");
        }
        Stage::from_result(
            ctx.prefetch(&changed, &build_cfg.out)
                .await
                .map(Stage::from),
        )
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
        Stage::from_result(verify_published(cfg, &report).await.map(Stage::Ran))
    };
    report.prune = if !cfg.prune {
        skipped("--no-prune")
    } else if cfg.upload.stage {
        skipped("a staged release: the live one and its assets stay")
    } else {
        started(cfg, "prune", &cfg.upload.targets.join(", "));
        let u = &cfg.upload;
        let pruned = prune_targets(
            &u.targets,
            &u.endpoint,
            u.keep_releases,
            u.max_deletes,
            u.dry_run,
        );
        Stage::from_result(pruned.await.map(Stage::Ran))
    };
    Ok(report)
}

/// Say on stderr that a stage started (build, upload, purge, prefetch, verify, prune), before it
/// waits on anything (a CI log shows which stage a slow run is in); not with -q, --json or a
/// dry run.
fn started(cfg: &PublishConfig, stage: &str, what: &str) {
    if cfg.upload.progress {
        eprintln!("{stage:<9} started: {what}");
    }
}

/// The first target's live release record, if there is one and it can be read (a target that
/// cannot be reached fails the upload, which says why).
async fn previous_release(cfg: &PublishConfig) -> Option<crate::release::Release> {
    let loc = Location::parse(cfg.upload.targets.first()?).ok()?;
    let target = Target::open(&loc, &cfg.upload.endpoint).await.ok()?;
    let id = crate::release::pointed(&target).await.ok()??;
    crate::release::fetch(&target, &id).await.ok()?
}

/// `publish --verify`: the release just published, through the server and the deploy sub-path
/// the pages load the tree from.
async fn verify_published(
    cfg: &PublishConfig,
    report: &PublishReport,
) -> Result<crate::cmd::verify::VerifyReport> {
    let url_prefix = cfg.cdn.url_prefix.as_deref();
    let vcfg = crate::cmd::verify::of_publish(
        &cfg.upload,
        &cfg.server,
        url_prefix.unwrap_or(&report.build.base_path),
        report.release.clone(),
        (&cfg.cdn, &cfg.job),
    )?;
    crate::cmd::verify::run(&vcfg).await
}
