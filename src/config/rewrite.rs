//! `rewrite`'s configuration: flags, the old entrypoint's variables, the profile, defaults.

use super::build::*;
use super::defaults;
use super::file::*;
use crate::cli::{value_origin, GlobalArgs, RewriteArgs};
use crate::cmd::rewrite::RewriteConfig;
use crate::error::Result;
use clap::ArgMatches;
use std::path::PathBuf;

/// Resolve `rewrite`'s configuration from flags/variables (`args`, `matches`) and the file.
pub fn resolve_rewrite(
    global: &GlobalArgs,
    args: &RewriteArgs,
    matches: &ArgMatches,
) -> Result<RewriteConfig> {
    let file = ConfigFile::load(global.config.as_deref())?;
    let layers = Layers::new(file.as_ref(), global.env.as_deref())?;
    let flags = if !args.globs.is_empty() {
        Some(args.globs.clone())
    } else {
        (args.files.as_deref()).map(|f| f.split_whitespace().map(str::to_owned).collect())
    };
    let patterns = layers.optional("replace_files", flags)?.unwrap_or_default();
    let (server, server_origin) = match (
        &args.server,
        value_origin(matches, "server", "--server", "CDN_SERVER"),
    ) {
        (Some(s), Some(origin)) => (s.clone(), origin),
        _ => layers
            .checked("cdn_server")?
            .unwrap_or_else(|| (String::new(), "CDN_SERVER (unset)".into())),
    };
    let prefix = layers.setting("cdn_prefix", args.prefix.clone().filter(|p| !p.is_empty()))?;
    let root = layers
        .path("root", args.root.clone())?
        .unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT));
    let state_dir = layers.path("state_dir", args.state_dir.clone())?;
    let (gzip_level, brotli_quality) = compression(
        args.gzip_level,
        args.brotli_quality,
        &layers,
        defaults::REWRITE_BROTLI_QUALITY,
    )?;
    Ok(RewriteConfig {
        root,
        patterns,
        server,
        server_origin,
        prefix,
        state_dir,
        dry_run: args.dry_run,
        check: args.check,
        strict: args.strict,
        allow_empty: args.allow_empty,
        per_file: global.verbose > 0 || args.dry_run,
        gzip_level,
        brotli_quality,
        fsync: args.fsync,
    })
}
