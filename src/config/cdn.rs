//! The CDN settings of purge, prefetch and verify: the provider, its domains, job options.

use super::file::*;
use super::upload::*;
use crate::cli::GlobalArgs;
use crate::error::{Error, Result};
use std::path::PathBuf;

/// The CDN provider settings: flags, then the profile (domains default to cdn_server's host).
pub(super) fn provider_settings(
    args: &crate::cli::CdnProviderArgs,
    timeouts: crate::util::net::Timeouts,
    layers: &Layers,
) -> Result<crate::cdn::provider::ProviderSettings> {
    use crate::cdn::provider::ProviderKind;
    let kind = match args.provider {
        Some(p) => Some(p),
        None => layers
            .optional::<String>("cdn_provider", None)?
            .and_then(|name| ProviderKind::parse(&name)),
    };
    let flags = (!args.domains.is_empty()).then(|| args.domains.clone());
    let mut domains: Vec<String> = layers.optional("cdn_domains", flags)?.unwrap_or_default();
    let server = layers.optional::<String>("cdn_server", None)?;
    if domains.is_empty() {
        // The rewrite server is the CDN's address: its host is the natural domain.
        if let Some(server) = server {
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
        distribution_id: layers.optional("cdn_distribution_id", args.distribution_id.clone())?,
        zone_id: layers.optional("cdn_zone_id", args.zone_id.clone())?,
        dir_mode: crate::cdn::DirMode::All,
        cdn_endpoint: layers.optional("cdn_endpoint", args.cdn_endpoint.clone())?,
        url_prefix: layers.optional("cdn_url_prefix", args.url_prefix.clone())?,
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
        target: first_target(args.to.clone(), &layers)?,
        endpoint: ep,
        settings,
        job: job_options(&args.cdn, args.dry_run),
    })
}

/// `--to`, else the first of the profile's `targets`.
fn first_target(to: Option<String>, layers: &Layers) -> Result<Option<String>> {
    Ok(layers
        .optional("targets", to.map(|t| vec![t]))?
        .and_then(|t: Vec<String>| t.into_iter().next()))
}

/// Resolve `verify`.
pub fn resolve_verify(
    global: &GlobalArgs,
    args: &crate::cli::VerifyArgs,
) -> Result<crate::cmd::verify::VerifyConfig> {
    let file = ConfigFile::load(global.config.as_deref())?;
    let layers = Layers::new(file.as_ref(), global.env.as_deref())?;
    let target = first_target(args.to.clone(), &layers)?.ok_or_else(|| {
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
            .optional::<String>("cdn_server", None)?
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
        site_url: layers.optional::<String>("site_url", args.site_url.clone())?,
    })
}
