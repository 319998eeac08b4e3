//! `build`'s configuration (and publish's build stage): naming, compression, the cache.

use super::file::*;
use super::{defaults, validate};
use crate::cli::{BuildArgs, GlobalArgs};
use crate::cmd::build::BuildConfig;
use crate::error::{Error, Result};
use crate::site::fingerprint::resolve::Base;
use std::path::{Path, PathBuf};

/// gzip level and brotli quality for siblings: flag or variable, then the file, then defaults.
pub(super) fn compression(
    gzip: Option<u32>,
    brotli: Option<u32>,
    layers: &Layers,
    file: &Option<ConfigFile>,
    default_brotli: u32,
) -> Result<(u32, u32)> {
    let gzip = gzip
        .or_else(|| layers.value("gzip_level", |s| s.gzip_level))
        .unwrap_or(defaults::GZIP_LEVEL);
    let brotli = brotli
        .or_else(|| layers.value("brotli_quality", |s| s.brotli_quality))
        .unwrap_or(default_brotli);
    check_range("gzip_level", gzip, file)?;
    check_range("brotli_quality", brotli, file)?;
    Ok((gzip, brotli))
}

pub(super) fn check_range(key: &str, value: u32, file: &Option<ConfigFile>) -> Result<()> {
    validate::range(key, value).map_err(|e| Error::Config {
        path: file.as_ref().map(|f| f.path.clone()).unwrap_or_default(),
        message: format!("{key} = {e}"),
    })
}

/// Resolve `build`'s configuration from flags/variables and the file.
pub fn resolve_build(global: &GlobalArgs, args: &BuildArgs) -> Result<BuildConfig> {
    let file = ConfigFile::load(global.config.as_deref())?;
    let layers = Layers::new(file.as_ref(), global.env.as_deref())?;
    build_config(
        &args.src,
        &args.out,
        &args.tree,
        &args.tuning,
        &layers,
        &file,
    )
}

/// The compression cache: `--no-cache`, else `--cache-dir` / `CDNPUB_CACHE_DIR`, the file's
/// `cache_dir` (relative to the file), or `.cdnpub/cache` in the working directory.
pub(super) fn cache_config(
    tree: &crate::cli::TreeArgs,
    layers: &Layers,
    file: &Option<ConfigFile>,
) -> Result<Option<crate::site::cache::CacheConfig>> {
    if tree.no_cache {
        return Ok(None);
    }
    let dir = tree
        .cache_dir
        .clone()
        .or_else(|| layers.pick_path("cache_dir", |s| s.cache_dir.clone()))
        .unwrap_or_else(|| PathBuf::from(defaults::CACHE_DIR));
    let mib = tree
        .cache_max_mib
        .or_else(|| layers.value("cache_max_mib", |s| s.cache_max_mib))
        .unwrap_or(crate::site::cache::DEFAULT_MAX_MIB);
    check_range("cache_max_mib", mib, file)?;
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
    file: &Option<ConfigFile>,
) -> Result<BuildConfig> {
    let hash_len = args
        .hash_length
        .or_else(|| layers.value("hash_length", |s| s.hash_length))
        .unwrap_or(defaults::HASH_LENGTH);
    check_range("hash_length", u32::from(hash_len), file)?;
    let max_ratio = args
        .max_ratio
        .or_else(|| layers.value("max_compress_ratio", |s| s.max_compress_ratio))
        .unwrap_or(defaults::MAX_COMPRESS_RATIO);
    validate::ratio(max_ratio)
        .map_err(|e| Error::Usage(format!("--max-ratio / max_compress_ratio {e}")))?;
    let (gzip_level, brotli_quality) = compression(
        args.gzip_level,
        tree.brotli_quality,
        layers,
        file,
        defaults::BROTLI_QUALITY,
    )?;
    let mut keep = layers
        .value("keep_names", |s| s.keep_names.clone())
        .unwrap_or_default();
    keep.extend(tree.keep.iter().cloned());
    let base = match tree
        .base_path
        .clone()
        .or_else(|| layers.value("base_path", |s| s.base_path.clone()))
    {
        Some(raw) => Base::Set(
            crate::site::fingerprint::resolve::normalize_base(&raw)
                .map_err(|e| Error::Usage(format!("--base-path / base_path: {e}")))?,
        ),
        None => Base::Infer,
    };
    let mut servers = Vec::new();
    for raw in args
        .servers
        .iter()
        .cloned()
        .chain(layers.value("cdn_server", |s| s.cdn_server.clone()))
    {
        let s = crate::site::placeholder::resolve_server(&raw)
            .map_err(|e| Error::Usage(format!("--server {raw:?}: {e}")))?;
        if s.absolute && !servers.contains(&s.value) {
            servers.push(s.value);
        }
    }
    let mut manifest_named = layers
        .value("manifest_named", |s| s.manifest_named.clone())
        .unwrap_or_default();
    manifest_named.extend(args.manifest_named.iter().cloned());
    Ok(BuildConfig {
        base,
        servers,
        manifest_named,
        src: src.to_path_buf(),
        out: out.clone().unwrap_or_default(),
        hash_len: usize::from(hash_len),
        keep,
        hashed_pattern: args
            .hashed_pattern
            .clone()
            .or_else(|| layers.value("hashed_pattern", |s| s.hashed_pattern.clone()))
            .unwrap_or_else(|| crate::site::classify::DEFAULT_HASHED_PATTERN.to_string()),
        prefix: tree
            .prefix
            .clone()
            .filter(|p| !p.is_empty())
            .or_else(|| layers.value("cdn_prefix", |s| s.cdn_prefix.clone()))
            .unwrap_or_else(|| defaults::CDN_PREFIX.to_string()),
        gzip_level,
        brotli_quality,
        min_size: args
            .min_size
            .or_else(|| layers.value("min_compress_size", |s| s.min_compress_size))
            .unwrap_or(defaults::MIN_COMPRESS_SIZE),
        max_ratio,
        compress: !tree.no_compress
            && layers
                .pick("compress", |s| s.compress)
                .is_none_or(|(v, _)| v),
        cache: cache_config(tree, layers, file)?,
        render: None,
        sri: match (tree.sri, tree.no_sri) {
            (true, _) => true,
            (_, true) => false,
            _ => layers.value("sri", |s| s.sri).unwrap_or(false),
        },
        source_maps: tree
            .source_maps
            .or_else(|| layers.value("source_maps", |s| s.source_maps))
            .unwrap_or_default(),
    })
}
