//! `cdnpub purge` and `cdnpub prefetch`: gather URLs (arguments, a file, or what a release
//! changed), make them hygienic, and hand them to the configured CDN provider.

use std::io::Read;
use std::path::PathBuf;

use crate::cdn::urls::{key_paths, normalize, Domains};
use crate::cdn::{self, Action, CdnReport, JobOptions, ObjectKind, Provider};
use crate::error::{Error, Result};
use crate::release::{self, Release};
use crate::store::target::{Endpoint, Location, Target};
use crate::store::ObjectStore;

/// Which CDN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderKind {
    /// Alibaba Cloud CDN.
    Aliyun,
    /// AWS CloudFront.
    Cloudfront,
}

impl ProviderKind {
    /// Parse a configuration value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "aliyun" => Some(ProviderKind::Aliyun),
            "cloudfront" => Some(ProviderKind::Cloudfront),
            _ => None,
        }
    }
}

/// Which release's changes to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseChoice {
    /// None: only explicit inputs.
    None,
    /// The latest release of the target.
    Latest,
    /// A release by id.
    Id(String),
}

/// The CDN provider and how to reach it, resolved from flags and the profile.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// Provider (None: CDN stages are skipped by publish, an error for purge).
    pub kind: Option<ProviderKind>,
    /// Domains jobs may touch.
    pub domains: Vec<String>,
    /// CloudFront distribution.
    pub distribution_id: Option<String>,
    /// Provider API endpoint override.
    pub cdn_endpoint: Option<String>,
    /// URL path where the target's keys are served (None: the target's prefix).
    pub url_prefix: Option<String>,
    /// CloudFront collapse threshold.
    pub max_paths: usize,
    /// Alibaba prefetch area.
    pub area: Option<String>,
    /// Alibaba L2 prefetch.
    pub l2_preload: bool,
}

/// Everything `purge`/`prefetch` needs, resolved.
#[derive(Debug, Clone)]
pub struct CdnConfig {
    /// Purge or prefetch.
    pub action: Action,
    /// Files or directories.
    pub kind: ObjectKind,
    /// URLs or paths from the command line.
    pub inputs: Vec<String>,
    /// More inputs, one per line (`-`: stdin).
    pub from_file: Option<PathBuf>,
    /// A release whose changes to add.
    pub release: ReleaseChoice,
    /// The target holding release records.
    pub target: Option<String>,
    /// How to reach it.
    pub endpoint: Endpoint,
    /// The provider and its options.
    pub settings: ProviderSettings,
    /// Dry run, wait, pacing.
    pub job: JobOptions,
}

/// Run a purge or prefetch job.
pub async fn run(cfg: &CdnConfig) -> Result<CdnReport> {
    let domains = Domains::parse(&cfg.settings.domains)?;
    let mut inputs = cfg.inputs.clone();
    if let Some(f) = &cfg.from_file {
        inputs.extend(read_list(f)?);
    }
    let mut reference = None;
    if cfg.release != ReleaseChoice::None {
        let (id, paths) = release_paths(cfg, &domains).await?;
        inputs.extend(paths);
        reference = Some(id);
    }
    let mut urls = normalize(&inputs, &domains)?;
    if cfg.kind == ObjectKind::Directory {
        for u in &mut urls {
            if !u.ends_with('/') {
                u.push('/');
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        urls.retain(|u| seen.insert(u.clone()));
    }
    let provider = open_provider(&cfg.settings, cfg.job.dry_run, reference).await?;
    cdn::run(&provider, cfg.action, cfg.kind, &urls, &cfg.job).await
}

/// Lines of a file (or stdin), without blanks and `#` comments.
fn read_list(path: &PathBuf) -> Result<Vec<String>> {
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Error::io("read", "standard input", e))?;
        s
    } else {
        std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?
    };
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

/// Open the configured provider; `reference` seeds CloudFront caller references (a release id).
pub async fn open_provider(
    cfg: &ProviderSettings,
    dry_run: bool,
    reference: Option<String>,
) -> Result<Provider> {
    let kind = cfg.kind.ok_or_else(|| {
        Error::Usage(
            "no CDN provider: give --provider aliyun|cloudfront (or cdn_provider in cdnpub.toml)"
                .into(),
        )
    })?;
    Ok(match kind {
        ProviderKind::Aliyun => {
            let creds = match cdn::aliyun::Credentials::from_env() {
                Ok(c) => c,
                // A dry run sends nothing, so it needs no key.
                Err(_) if dry_run => cdn::aliyun::Credentials {
                    id: String::new(),
                    secret: String::new(),
                    token: None,
                },
                Err(e) => return Err(e),
            };
            let mut a = cdn::aliyun::Aliyun::new(cfg.cdn_endpoint.as_deref(), creds)?;
            a.area = cfg.area.clone();
            a.l2_preload = cfg.l2_preload;
            Provider::Aliyun(a)
        }
        ProviderKind::Cloudfront => {
            let reference = reference.unwrap_or_else(|| {
                let secs = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                format!("manual-{secs}")
            });
            Provider::CloudFront(
                cdn::cloudfront::CloudFront::connect(
                    cfg.distribution_id.as_deref().unwrap_or(""),
                    cfg.cdn_endpoint.as_deref(),
                    reference,
                    cfg.max_paths,
                )
                .await?,
            )
        }
    })
}

/// The release's id and the URL paths to purge or prefetch for it.
async fn release_paths(cfg: &CdnConfig, domains: &Domains) -> Result<(String, Vec<String>)> {
    let raw = cfg.target.as_deref().ok_or_else(|| {
        Error::Usage(
            "--changed / --release read the release records of a target: give --to (or targets in the profile)".into(),
        )
    })?;
    let loc = Location::parse(raw)?;
    let target = Target::open(&loc, &cfg.endpoint).await?;
    let id = match &cfg.release {
        ReleaseChoice::Id(id) => id.clone(),
        _ => release::pointed(&target).await?.ok_or_else(|| {
            Error::Failed(format!(
                "{}: no release yet (no {}); upload first",
                target.describe(),
                release::LATEST_KEY
            ))
        })?,
    };
    let record = release::fetch_required(&target, &id).await?;
    let prefix = cfg
        .settings
        .url_prefix
        .clone()
        .unwrap_or_else(|| loc.key_prefix().to_string());
    let (keys, urls) = match cfg.action {
        Action::Purge => {
            let mut k = record.changed.clone();
            k.extend(record.deleted.iter().cloned());
            (k, Vec::new())
        }
        Action::Prefetch => entry_set(&target, &record, domains).await?,
    };
    let mut paths = key_paths(&keys, &prefix);
    if cfg.action == Action::Prefetch {
        // Warm files, not directory URLs.
        paths.retain(|p| !p.ends_with('/'));
    }
    paths.extend(urls);
    Ok((id, paths))
}

/// What to warm after a release, read from the target: see [`entry_points`].
async fn entry_set(
    target: &Target,
    record: &Release,
    domains: &Domains,
) -> Result<(Vec<String>, Vec<String>)> {
    let mut html = std::collections::BTreeMap::new();
    for k in record.changed.iter().filter(|k| is_html(k)) {
        if let Some(bytes) = target.get(k).await? {
            html.insert(k.clone(), bytes);
        }
    }
    let keys: Vec<String> = record.objects.keys().cloned().collect();
    Ok(entry_points(&record.changed, &keys, &html, domains))
}

/// True for a page (the classifier's HTML kind).
pub fn is_html(key: &str) -> bool {
    crate::site::classify::kind(key) == crate::site::classify::Kind::Html
}

/// What to warm after a release: the HTML it changed and the assets that HTML names directly
/// (resolved against the release's `keys`); with no HTML changed, the changed keys themselves.
/// `html` holds the changed pages' bytes. Returns keys, and the absolute URLs on the job's
/// domains the pages name (pages rendered for the CDN hold those).
pub fn entry_points(
    changed: &[String],
    keys: &[String],
    html: &std::collections::BTreeMap<String, Vec<u8>>,
    domains: &Domains,
) -> (Vec<String>, Vec<String>) {
    let pages: Vec<&String> = changed.iter().filter(|k| is_html(k)).collect();
    if pages.is_empty() {
        return (changed.to_vec(), Vec::new());
    }
    let index = crate::site::fingerprint::resolve::Index::new(
        keys,
        crate::site::placeholder::DEFAULT_PREFIX,
    );
    let (mut out, mut urls) = (Vec::new(), Vec::new());
    for page in pages {
        out.push(page.clone());
        let Some(bytes) = html.get(page) else {
            continue;
        };
        for span in crate::site::fingerprint::html::refs(bytes) {
            let raw = &bytes[span.start..span.end];
            if let Some((id, _)) = index.resolve(page, raw, false) {
                out.push(keys[id].clone());
            } else if let Ok(s) = std::str::from_utf8(raw) {
                if domains.has_url(s) {
                    urls.push(s.to_string());
                }
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|k| seen.insert(k.clone()));
    (out, urls)
}
