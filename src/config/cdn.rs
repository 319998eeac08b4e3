//! The CDN settings of purge, prefetch and verify: the provider, its domains, job options.

use super::file::*;
use super::upload::*;
use crate::cli::GlobalArgs;
use crate::error::{Error, Result};
use std::path::PathBuf;

/// The CDN provider settings: flags, then the profile (domains default to cdn_server's host).
pub(super) fn provider_settings(
    args: &crate::cli::CdnProviderArgs,
    timeouts: crate::util::Timeouts,
    layers: &Layers,
) -> Result<crate::cdn::provider::ProviderSettings> {
    use crate::cdn::provider::ProviderKind;
    let kind = match args.provider {
        Some(p) => Some(p),
        None => match layers.pick("cdn_provider", |s| s.cdn_provider.clone()) {
            Some((name, origin)) => Some(ProviderKind::parse(&name).ok_or_else(|| {
                Error::Usage(format!(
                    "{origin} = {name:?}: use {}",
                    crate::cdn::provider::NAMES
                ))
            })?),
            None => None,
        },
    };
    let mut domains = args.domains.clone();
    if domains.is_empty() {
        domains = layers
            .value("cdn_domains", |s| s.cdn_domains.clone())
            .unwrap_or_default();
    }
    if domains.is_empty() {
        // The rewrite server is the CDN's address: its host is the natural domain.
        if let Some(server) = layers.value("cdn_server", |s| s.cdn_server.clone()) {
            if let Ok(u) = url::Url::parse(&server) {
                if let Some(h) = u.host_str() {
                    let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
                    domains.push(format!("{}://{h}{port}", u.scheme()));
                }
            }
        }
    }
    Ok(crate::cdn::provider::ProviderSettings {
        timeouts,
        kind,
        domains,
        distribution_id: args
            .distribution_id
            .clone()
            .or_else(|| layers.value("cdn_distribution_id", |s| s.cdn_distribution_id.clone())),
        zone_id: args
            .zone_id
            .clone()
            .or_else(|| layers.value("cdn_zone_id", |s| s.cdn_zone_id.clone())),
        dir_mode: crate::cdn::DirMode::All,
        cdn_endpoint: args
            .cdn_endpoint
            .clone()
            .or_else(|| layers.value("cdn_endpoint", |s| s.cdn_endpoint.clone())),
        url_prefix: args
            .url_prefix
            .clone()
            .or_else(|| layers.value("cdn_url_prefix", |s| s.cdn_url_prefix.clone())),
        max_paths: args
            .max_paths
            .unwrap_or(crate::cdn::cloudfront::DEFAULT_MAX_PATHS),
        area: None,
        l2_preload: false,
    })
}

/// Job options of a CDN job.
pub(super) fn job_options(
    args: &crate::cli::CdnProviderArgs,
    dry_run: bool,
) -> crate::cdn::JobOptions {
    crate::cdn::JobOptions {
        dry_run,
        wait: args.wait,
        timeout: args.timeout,
        poll: args.poll_interval,
        remainder_dir: PathBuf::from("."),
        retry: crate::retry::CDN,
    }
}

/// Resolve `purge`: the shared CDN settings, files or directories (`--dir`, `--dir-mode`).
pub fn resolve_purge(
    global: &GlobalArgs,
    args: &crate::cli::PurgeArgs,
) -> Result<crate::cmd::purge::CdnConfig> {
    let kind = if args.dir {
        crate::cdn::ObjectKind::Directory
    } else {
        crate::cdn::ObjectKind::File
    };
    let mut cfg = resolve_cdn(global, &args.cdn, crate::cdn::Action::Purge, kind)?;
    cfg.settings.dir_mode = args.dir_mode;
    Ok(cfg)
}

/// Resolve `prefetch`: the shared CDN settings and where to warm (`--area`, `--l2-preload`).
pub fn resolve_prefetch(
    global: &GlobalArgs,
    args: &crate::cli::PrefetchArgs,
) -> Result<crate::cmd::purge::CdnConfig> {
    let mut cfg = resolve_cdn(
        global,
        &args.cdn,
        crate::cdn::Action::Prefetch,
        crate::cdn::ObjectKind::File,
    )?;
    cfg.settings.area = args.area.clone();
    cfg.settings.l2_preload = args.l2_preload;
    Ok(cfg)
}

/// Resolve `purge`/`prefetch` from flags/variables and the file.
pub fn resolve_cdn(
    global: &GlobalArgs,
    args: &crate::cli::CdnArgs,
    action: crate::cdn::Action,
    kind: crate::cdn::ObjectKind,
) -> Result<crate::cmd::purge::CdnConfig> {
    use crate::cmd::purge::ReleaseChoice;
    let file = ConfigFile::load(global.config.as_deref())?;
    let layers = Layers::new(file.as_ref(), global.env.as_deref())?;
    let release = match (&args.release, args.changed) {
        (Some(id), _) => ReleaseChoice::Id(id.clone()),
        (None, true) => ReleaseChoice::Latest,
        (None, false) => ReleaseChoice::None,
    };
    let ep = endpoint(&args.store, &layers)?;
    let settings = provider_settings(&args.cdn, ep.timeouts, &layers)?;
    Ok(crate::cmd::purge::CdnConfig {
        action,
        kind,
        inputs: args.urls.clone(),
        from_file: args.from_file.clone(),
        release,
        target: args.to.clone().or_else(|| {
            layers
                .value("targets", |s| s.targets.clone())
                .and_then(|t| t.into_iter().next())
        }),
        endpoint: ep,
        settings,
        job: job_options(&args.cdn, args.dry_run),
    })
}

/// Resolve `verify`.
pub fn resolve_verify(
    global: &GlobalArgs,
    args: &crate::cli::VerifyArgs,
) -> Result<crate::cmd::verify::VerifyConfig> {
    let file = ConfigFile::load(global.config.as_deref())?;
    let layers = Layers::new(file.as_ref(), global.env.as_deref())?;
    let target = args
        .to
        .clone()
        .or_else(|| {
            layers
                .value("targets", |s| s.targets.clone())
                .and_then(|t| t.into_iter().next())
        })
        .ok_or_else(|| {
            Error::Usage(
                "verify reads the release record of a target: give --to (or targets in the profile)"
                    .into(),
            )
        })?;
    let ep = endpoint(&args.store, &layers)?;
    let settings = provider_settings(&args.cdn, ep.timeouts, &layers)?;
    let base = match &args.cdn_base {
        Some(b) => b.trim_end_matches('/').to_string(),
        None => layers
            .value("cdn_server", |s| s.cdn_server.clone())
            .and_then(|s| crate::store::target::cdn_base(&s, settings.url_prefix.as_deref(), &target))
            .ok_or_else(|| {
                Error::Usage(
                    "verify needs the public URL of the release: give --cdn-base (or an http(s) cdn_server in the profile)"
                        .into(),
                )
            })?,
    };
    url::Url::parse(&base)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| Error::Usage(format!("--cdn-base {base:?} is not an http(s) URL")))?;
    Ok(crate::cmd::verify::VerifyConfig {
        target,
        endpoint: ep,
        release: args.release.clone(),
        cdn_base: base,
        sample: args.sample.map(|n| n as usize),
        concurrency: usize::from(args.concurrency),
        timeout: args.request_timeout,
        purge_stale: args.purge_stale,
        settings,
        job: job_options(&args.cdn, args.dry_run),
        progress: !global.quiet && !global.json,
    })
}
