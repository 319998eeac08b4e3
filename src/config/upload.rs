//! `upload`'s configuration and what every command with a target shares: targets, the endpoint,
//! transfer settings.

use super::build::*;
use super::file::*;
use super::{defaults, Settings};
use crate::cli::{GlobalArgs, UploadArgs};
use crate::error::{Error, Result};
use std::path::PathBuf;

/// Default of `--keep-releases`.
pub const DEFAULT_KEEP_RELEASES: usize = defaults::KEEP_RELEASES;
/// Default of `--max-deletes`.
pub const DEFAULT_MAX_DELETES: usize = defaults::MAX_DELETES;
/// Default of `--concurrency`.
pub const DEFAULT_CONCURRENCY: u16 = defaults::CONCURRENCY;

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
        ..upload_config(global, &transfer, &layers, &file)?
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
    file: &Option<ConfigFile>,
) -> Result<crate::cmd::upload::UploadConfig> {
    let targets = targets(args.to, layers)?;
    let concurrency = args
        .transfer
        .concurrency
        .or_else(|| layers.value("concurrency", |s| s.concurrency))
        .unwrap_or(DEFAULT_CONCURRENCY);
    check_range("concurrency", u32::from(concurrency), file)?;
    let rules = layers
        .value("headers", |s| s.headers.clone())
        .unwrap_or_default();
    let headers = crate::site::headers::HeaderRules::new(&rules).map_err(|e| match &file {
        Some(f) => Error::Config {
            path: f.path.clone(),
            message: e.to_string(),
        },
        None => e,
    })?;
    Ok(crate::cmd::upload::UploadConfig {
        size: None,
        dir: PathBuf::new(),
        targets,
        endpoint: endpoint(args.store, layers)?,
        concurrency: usize::from(concurrency),
        delete: false,
        keep_releases: args
            .transfer
            .keep_releases
            .or_else(|| layers.value("keep_releases", |s| s.keep_releases))
            .unwrap_or(DEFAULT_KEEP_RELEASES),
        max_deletes: args
            .transfer
            .max_deletes
            .or_else(|| layers.value("max_deletes", |s| s.max_deletes))
            .unwrap_or(DEFAULT_MAX_DELETES),
        dry_run: args.dry_run,
        encoding: args
            .transfer
            .encoding
            .or_else(|| layers.value("encoding", |s| s.encoding))
            .unwrap_or(crate::sync::Encoding::Auto),
        siblings: args.transfer.siblings
            || layers.value("siblings", |s| s.siblings).unwrap_or(false),
        progress: !global.quiet && !global.json && !args.dry_run,
        no_check_bucket: false,
        headers,
        stage: false,
    })
}

/// How to reach S3-compatible targets: flags, then the profile.
pub(super) fn endpoint(
    args: &crate::cli::StoreArgs,
    layers: &Layers,
) -> Result<crate::store::target::Endpoint> {
    type Get = fn(&Settings) -> Option<String>;
    let timeout = |flag: Option<std::time::Duration>,
                   key: &str,
                   get: Get,
                   default: std::time::Duration|
     -> Result<std::time::Duration> {
        let d = match (flag, layers.value(key, get)) {
            (Some(d), _) => d,
            (None, Some(text)) => humantime::parse_duration(&text).map_err(|e| {
                Error::Usage(format!(
                    "{key} = {text:?} in cdnpub.toml is not a duration (e.g. \"10s\", \"2m\"): {e}"
                ))
            })?,
            (None, None) => default,
        };
        if d.is_zero() {
            return Err(Error::Usage(format!(
                "{key} (--{}) must be longer than 0",
                key.replace('_', "-")
            )));
        }
        Ok(d)
    };
    let timeouts = crate::store::Timeouts {
        connect: timeout(
            args.connect_timeout,
            "connect_timeout",
            |s| s.connect_timeout.clone(),
            defaults::CONNECT_TIMEOUT,
        )?,
        read: timeout(
            args.read_timeout,
            "read_timeout",
            |s| s.read_timeout.clone(),
            defaults::READ_TIMEOUT,
        )?,
    };
    Ok(crate::store::target::Endpoint {
        timeouts,
        url: args
            .endpoint
            .clone()
            .or_else(|| layers.value("endpoint", |s| s.endpoint.clone())),
        region: args
            .region
            .clone()
            .or_else(|| layers.value("region", |s| s.region.clone())),
        path_style: args.path_style
            || layers
                .value("path_style", |s| s.path_style)
                .unwrap_or(false),
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
    let targets = if to.is_empty() {
        layers
            .value("targets", |s| s.targets.clone())
            .unwrap_or_default()
    } else {
        to.to_vec()
    };
    if targets.is_empty() {
        return Err(Error::Usage(
            "no target: give --to s3://bucket/prefix, file:///dir or a directory, or `targets = [...]` in the profile".into(),
        ));
    }
    Ok(targets)
}
