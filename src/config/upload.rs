//! `upload`'s configuration and what every command with a target shares: targets, the endpoint,
//! transfer settings.

use super::file::*;
use crate::cli::{GlobalArgs, UploadArgs};
use crate::error::{Error, Result};
use std::path::PathBuf;

/// Resolve `upload`'s configuration from flags/variables and the file.
pub fn resolve_upload(
    global: &GlobalArgs,
    args: &UploadArgs,
) -> Result<crate::cmd::upload::UploadConfig> {
    let file = ConfigFile::load(global.config.as_deref())?;
    let layers = Layers::new(file.as_ref(), global.env.as_deref())?;
    let transfer = Transfer {
        to: &args.to,
        store: &args.store,
        transfer: &args.transfer,
        dry_run: args.dry_run,
    };
    Ok(crate::cmd::upload::UploadConfig {
        size: None,
        dir: args.dir.clone(),
        delete: args.delete,
        no_check_bucket: args.no_check_bucket,
        ..upload_config(global, &transfer, &layers)?
    })
}

/// The flag groups `upload` and `publish` share (borrowed from either command's arguments).
pub(super) struct Transfer<'a> {
    pub(super) to: &'a [String],
    pub(super) store: &'a crate::cli::StoreArgs,
    pub(super) transfer: &'a crate::cli::TransferArgs,
    pub(super) dry_run: bool,
}

/// `upload`'s configuration from the shared flag groups and the already loaded layers
/// (`dir`, `delete` and `no_check_bucket` are upload's own: left empty and off).
pub(super) fn upload_config(
    global: &GlobalArgs,
    args: &Transfer,
    layers: &Layers,
) -> Result<crate::cmd::upload::UploadConfig> {
    let t = args.transfer;
    let concurrency: u16 = layers.setting("concurrency", t.concurrency)?;
    let rules: Vec<crate::site::headers::HeaderRule> =
        layers.optional("headers", None)?.unwrap_or_default();
    Ok(crate::cmd::upload::UploadConfig {
        size: None,
        dir: PathBuf::new(),
        targets: targets(args.to, layers)?,
        endpoint: endpoint(args.store, layers)?,
        concurrency: usize::from(concurrency),
        delete: false,
        keep_releases: layers.setting("keep_releases", t.keep_releases)?,
        max_deletes: layers.setting("max_deletes", t.max_deletes)?,
        dry_run: args.dry_run,
        encoding: layers.setting("encoding", t.encoding)?,
        siblings: t.siblings || layers.setting::<bool>("siblings", None)?,
        progress: !global.quiet && !global.json && !args.dry_run,
        no_check_bucket: false,
        headers: crate::site::headers::HeaderRules::new(&rules)?,
        stage: false,
    })
}

/// How to reach S3-compatible targets: flags, then the profile.
pub(super) fn endpoint(
    args: &crate::cli::StoreArgs,
    layers: &Layers,
) -> Result<crate::store::target::Endpoint> {
    let timeout = |flag: Option<std::time::Duration>, key: &str| -> Result<std::time::Duration> {
        let text = match flag {
            Some(d) => humantime::format_duration(d).to_string(),
            None => layers.setting::<String>(key, None)?,
        };
        let d =
            humantime::parse_duration(&text).map_err(|e| Error::Usage(format!("{key}: {e}")))?;
        if d.is_zero() {
            return Err(Error::Usage(format!(
                "{key} (--{}) must be longer than 0",
                key.replace('_', "-")
            )));
        }
        Ok(d)
    };
    Ok(crate::store::target::Endpoint {
        timeouts: crate::store::Timeouts {
            connect: timeout(args.connect_timeout, "connect_timeout")?,
            read: timeout(args.read_timeout, "read_timeout")?,
        },
        url: layers.optional("endpoint", args.endpoint.clone())?,
        region: layers.optional("region", args.region.clone())?,
        path_style: args.path_style || layers.setting::<bool>("path_style", None)?,
    })
}

/// Targets from `--to`, else the profile's, with how to reach them.
pub fn resolve_targets(
    global: &GlobalArgs,
    to: &[String],
    store: &crate::cli::StoreArgs,
) -> Result<(Vec<String>, crate::store::target::Endpoint)> {
    let file = ConfigFile::load(global.config.as_deref())?;
    let layers = Layers::new(file.as_ref(), global.env.as_deref())?;
    Ok((targets(to, &layers)?, endpoint(store, &layers)?))
}

/// `--to` targets, else the profile's `targets`; none at all is a usage error.
pub(super) fn targets(to: &[String], layers: &Layers) -> Result<Vec<String>> {
    let flags = (!to.is_empty()).then(|| to.to_vec());
    let targets: Vec<String> = layers.optional("targets", flags)?.unwrap_or_default();
    if targets.is_empty() {
        return Err(Error::Usage(
            "no target: give --to s3://bucket/prefix, file:///dir or a directory, or `targets = [...]` in the profile".into(),
        ));
    }
    Ok(targets)
}
