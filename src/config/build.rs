//! `build`'s configuration (and publish's build stage): naming, compression, the cache.

use super::defaults;
use super::file::*;
use crate::cli::{BuildArgs, GlobalArgs};
use crate::cmd::build::BuildConfig;
use crate::error::{Error, Result};
use crate::site::fingerprint::resolve::Base;
use std::path::{Path, PathBuf};

/// gzip level and brotli quality for siblings: flag or variable, then the file, then defaults
/// (`rewrite` at container start has a brotli default of its own).
pub(super) fn compression(
    gzip: Option<u32>,
    brotli: Option<u32>,
    layers: &Layers,
    default_brotli: u32,
) -> Result<(u32, u32)> {
    let gzip = layers.setting("gzip_level", gzip)?;
    let brotli = layers
        .optional("brotli_quality", brotli)?
        .unwrap_or(default_brotli);
    Ok((gzip, brotli))
}

/// Resolve `build`'s configuration from flags/variables and the file.
pub fn resolve_build(global: &GlobalArgs, args: &BuildArgs) -> Result<BuildConfig> {
    let file = ConfigFile::load(global.config.as_deref())?;
    let layers = Layers::new(file.as_ref(), global.env.as_deref())?;
    build_config(&args.src, &args.out, &args.tree, &args.tuning, &layers)
}

/// The compression cache: `--no-cache`, else `--cache-dir` / `CDNPUB_CACHE_DIR`, the file's
/// `cache_dir` (relative to the file), or `.cdnpub/cache` in the working directory.
pub(super) fn cache_config(
    tree: &crate::cli::TreeArgs,
    layers: &Layers,
) -> Result<Option<crate::site::cache::CacheConfig>> {
    if tree.no_cache {
        return Ok(None);
    }
    let dir = layers
        .path("cache_dir", tree.cache_dir.clone())?
        .unwrap_or_else(|| PathBuf::from(defaults::CACHE_DIR));
    let mib: u32 = layers.setting("cache_max_mib", tree.cache_max_mib)?;
    Ok(Some(crate::site::cache::CacheConfig {
        dir,
        max_bytes: u64::from(mib) << 20,
    }))
}

/// `build`'s configuration from flags/variables and the already loaded layers.
pub(super) fn build_config(
    src: &Path,
    out: &Option<PathBuf>,
    tree: &crate::cli::TreeArgs,
    args: &crate::cli::TuningArgs,
    layers: &Layers,
) -> Result<BuildConfig> {
    let hash_len: u8 = layers.setting("hash_length", args.hash_length)?;
    let (gzip_level, brotli_quality) = compression(
        args.gzip_level,
        tree.brotli_quality,
        layers,
        defaults::BROTLI_QUALITY,
    )?;
    let base = match layers.optional::<String>("base_path", tree.base_path.clone())? {
        Some(raw) => Base::Set(
            crate::site::fingerprint::resolve::normalize_base(&raw)
                .map_err(|e| Error::Usage(format!("--base-path / base_path: {e}")))?,
        ),
        None => Base::Infer,
    };
    let mut servers = Vec::new();
    let file_server = layers.optional::<String>("cdn_server", None)?;
    for raw in args.servers.iter().cloned().chain(file_server) {
        let s = crate::site::placeholder::resolve_server(&raw)
            .map_err(|e| Error::Usage(format!("--server {raw:?}: {e}")))?;
        if s.absolute && !servers.contains(&s.value) {
            servers.push(s.value);
        }
    }
    let prefix = tree.prefix.clone().filter(|p| !p.is_empty());
    Ok(BuildConfig {
        base,
        servers,
        manifest_named: layers.list("manifest_named", &args.manifest_named)?,
        src: src.to_path_buf(),
        out: out.clone().unwrap_or_default(),
        hash_len: usize::from(hash_len),
        keep: layers.list("keep_names", &tree.keep)?,
        hashed_pattern: layers.setting("hashed_pattern", args.hashed_pattern.clone())?,
        prefix: layers.setting("cdn_prefix", prefix)?,
        gzip_level,
        brotli_quality,
        min_size: layers.setting("min_compress_size", args.min_size)?,
        max_ratio: layers.setting("max_compress_ratio", args.max_ratio)?,
        compress: !tree.no_compress && layers.setting::<bool>("compress", None)?,
        cache: cache_config(tree, layers)?,
        render: None,
        sri: match (tree.sri, tree.no_sri) {
            (true, _) => true,
            (_, true) => false,
            _ => layers.setting("sri", None)?,
        },
        source_maps: layers.setting("source_maps", tree.source_maps)?,
    })
}
