//! `rollback`'s configuration: its targets and the CDN that purges the restored pages.

use super::cdn::*;
use super::file::*;
use super::upload::*;
use crate::cli::GlobalArgs;
use crate::error::Result;

/// What `rollback` resolves: targets, how to reach them, CDN settings and job options.
pub type RollbackConfig = (
    Vec<String>,
    crate::store::target::Endpoint,
    crate::cdn::provider::ProviderSettings,
    crate::cdn::JobOptions,
);

/// Resolve `rollback`'s targets (from `--to`, else the profile), endpoint and CDN settings.
pub fn resolve_rollback(
    global: &GlobalArgs,
    to: &[String],
    store: &crate::cli::StoreArgs,
    cdn: &crate::cli::CdnProviderArgs,
    dry_run: bool,
) -> Result<RollbackConfig> {
    let file = ConfigFile::load(global.config.as_deref())?;
    let layers = Layers::new(file.as_ref(), global.env.as_deref())?;
    let ep = endpoint(store, &layers)?;
    let settings = provider_settings(cdn, ep.timeouts, &layers)?;
    Ok((
        targets(to, &layers)?,
        ep,
        settings,
        job_options(cdn, dry_run),
    ))
}
