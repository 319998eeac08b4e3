//! `cdnpub purge` and `cdnpub prefetch`: gather URLs (arguments, a file, or what a release
//! changed), make them hygienic, and hand them to the configured CDN provider.

use std::io::Read;
use std::path::PathBuf;

use crate::cdn::entry::{entry_points, is_html};
use crate::cdn::provider::{open_provider, ProviderSettings};
use crate::cdn::urls::{key_paths, normalize, Domains};
use crate::cdn::{self, Action, CdnReport, JobOptions, ObjectKind};
use crate::error::{Error, Result};
use crate::release::{self, Release};
use crate::store::target::{Endpoint, Location, Target};
use crate::store::ObjectStore;

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
    if cfg.inputs.is_empty() && cfg.from_file.is_none() && cfg.release == ReleaseChoice::None {
        return Err(Error::Usage(
            "no URL given: name the URLs or paths, --from-file FILE (- for standard input), or \
             --changed / --release ID to take them from a release record"
                .into(),
        ));
    }
    let domains = Domains::parse(&cfg.settings.domains)?;
    let mut inputs = cfg.inputs.clone();
    if let Some(f) = &cfg.from_file {
        let f = f.clone();
        inputs.extend(crate::util::tasks::blocking(move || read_list(&f)).await?);
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
