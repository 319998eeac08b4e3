//! `rollback`'s configuration: its targets and the CDN that purges the restored pages.

use super::cdn::*;
use super::file::*;
use super::upload::*;
use crate::cli::GlobalArgs;
use crate::error::{Error, Result};

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

/// What a rollout step needs: the targets, how to reach them, and the routers it updates
/// (`--router`, else the profile's `rollout_routers`), parsed.
pub fn resolve_rollout(
    global: &GlobalArgs,
    args: &crate::cli::RolloutArgs,
) -> Result<(
    Vec<String>,
    crate::store::target::Endpoint,
    Vec<crate::cdn::routers::Spec>,
)> {
    let file = ConfigFile::load(global.config.as_deref())?;
    let layers = Layers::new(file.as_ref(), global.env.as_deref())?;
    let flags = (!args.routers.is_empty()).then(|| args.routers.clone());
    let specs: Vec<String> = layers
        .optional("rollout_routers", flags)?
        .unwrap_or_default();
    let routers = specs
        .iter()
        .map(|s| crate::cdn::routers::Spec::parse(s).map_err(Error::Usage))
        .collect::<Result<Vec<_>>>()?;
    Ok((
        targets(&args.to, &layers)?,
        endpoint(&args.store, &layers)?,
        routers,
    ))
}
