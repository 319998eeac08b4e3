//! What a build takes (its resolved configuration) and what it reports.

use std::path::PathBuf;

use serde::Serialize;

use crate::error::Result;
use crate::site::classify;
use crate::site::fingerprint::check::{self};
use crate::site::fingerprint::resolve::Base;

/// Everything `cdnpub build` needs, resolved.
#[derive(Debug, Clone)]
pub struct BuildConfig {
    /// The bundler's output directory.
    pub src: PathBuf,
    /// Where the CDN-ready tree goes (replaced as a whole).
    pub out: PathBuf,
    /// Hex characters of content hash in names (8–16).
    pub hash_len: usize,
    /// Globs of files that keep their names (in addition to HTML).
    pub keep: Vec<String>,
    /// Regex for names a bundler already hashed.
    pub hashed_pattern: String,
    /// CDN placeholder that may prefix root paths in references.
    pub prefix: String,
    /// gzip level (1–9).
    pub gzip_level: u32,
    /// brotli quality (0–11).
    pub brotli_quality: u32,
    /// Smallest file that gets siblings, in bytes.
    pub min_size: u64,
    /// A sibling is kept only when smaller than this fraction of the original.
    pub max_ratio: f64,
    /// Write .gz/.br siblings at all.
    pub compress: bool,
    /// The compression cache (`--cache-dir`), or None (`--no-cache`).
    pub cache: Option<crate::site::cache::CacheConfig>,
    /// The tree's deploy sub-path under the site root (`mobile-vue/pass`): set, hinted (the
    /// target's key prefix) or inferred from the references.
    pub base: Base,
    /// Server URLs (`https://cdn.example.com`) that references may already start with.
    pub servers: Vec<String>,
    /// Globs (on the path before the build) of files found through the manifest, not by a
    /// reference: the self-check does not require a reference to them.
    pub manifest_named: Vec<String>,
    /// Render placeholders in matching files before they are hashed (publish), so a file
    /// whose content depends on the CDN server has a name that does too.
    pub render: Option<Render>,
    /// Add Subresource Integrity to the pages ([`crate::site::sri`]).
    pub sri: bool,
    /// Source maps: uploaded (cheaply compressed) or left out.
    pub source_maps: crate::site::SourceMaps,
}

/// Build-time placeholder rendering: which files, and into what.
#[derive(Debug, Clone)]
pub struct Render {
    /// The placeholder → server replacement.
    pub renderer: crate::site::placeholder::Renderer,
    /// Files (relative to SRC) to render.
    pub globs: globset::GlobSet,
}

impl Render {
    /// A renderer for `server` in files matching `globs`; errors name the bad value.
    pub fn new(
        prefix: &str,
        server: &crate::site::placeholder::Server,
        globs: &[String],
    ) -> Result<Self> {
        Ok(Render {
            renderer: crate::site::placeholder::Renderer::new(prefix, server),
            globs: classify::glob_set(globs, "render glob")?,
        })
    }
}

/// What a build did.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    /// The command ("build").
    pub command: &'static str,
    /// The output directory.
    pub out: PathBuf,
    /// Input files.
    pub files: usize,
    /// Files cdnpub gave a content hash.
    pub fingerprinted: usize,
    /// Files served as immutable.
    pub immutable: usize,
    /// Files whose content had references rewritten.
    pub rewritten: usize,
    /// Files whose placeholders were rendered (publish).
    pub rendered: usize,
    /// Bytes of all output files.
    pub bytes: u64,
    /// Bytes a brotli-capable client downloads for the whole tree (per file the smallest variant).
    pub bytes_smallest: u64,
    /// .gz / .br siblings written.
    pub siblings: usize,
    /// The deploy sub-path references were resolved under ("" for the site root), and how it
    /// was known: "set", "target prefix", "inferred" or "none".
    pub base_path: String,
    /// How `base_path` was known.
    pub base_path_from: &'static str,
    /// Milliseconds the self-check of the built tree took (part of `elapsed_ms`).
    pub check_ms: u64,
    /// Reference cycles (their members keep their names).
    pub cycles: Vec<Vec<String>>,
    /// Warnings.
    pub warnings: Vec<String>,
    /// What the compression cache served and computed (None with `--no-cache`).
    pub cache: Option<crate::site::cache::CacheStats>,
    /// Subresource Integrity added (None: not asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sri: Option<SriReport>,
    /// Source maps left out (`--source-maps skip`).
    #[serde(skip_serializing_if = "is_zero")]
    pub source_maps_skipped: usize,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
}

/// What Subresource Integrity added to the pages.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SriReport {
    /// Pages changed.
    pub pages: usize,
    /// Script, stylesheet and preload tags given `integrity`.
    pub tags: usize,
    /// Lazy chunks named in import maps.
    pub import_map_entries: usize,
    /// Milliseconds it took (digests of what the pages load, the pages rewritten and compressed).
    pub ms: u64,
}

/// What a CDN must not do to pages with integrity, said whenever it is added.
pub const SRI_WARNING: &str = "Subresource Integrity is on: the CDN must serve the bytes as \
    stored (compression is fine; turn off minification and page optimisation such as Cloudflare \
    Auto Minify / Rocket Loader, Alibaba Cloud and Tencent Cloud page optimisation) and, for a \
    CDN on another origin than the page, send Access-Control-Allow-Origin, or browsers block \
    the scripts and styles";

/// gzip level of a source map's `.gz`: only devtools download maps, so the best level (9) buys
/// nobody anything; 6 is zlib's default, several times faster on large maps.
pub const SOURCE_MAP_GZIP_LEVEL: u32 = 6;
/// brotli quality of a source map's `.br` (5 instead of 11: about 30 times faster, about 10%
/// more bytes, for files browsers never load).
pub const SOURCE_MAP_BROTLI_QUALITY: u32 = 5;

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What `cdnpub build --check` found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The command ("check").
    pub command: &'static str,
    /// The tree checked.
    pub dir: PathBuf,
    /// Files in it.
    pub files: usize,
    /// Files cdnpub renamed (from its manifest; 0 for a tree cdnpub did not build).
    pub renamed: usize,
    /// The deploy sub-path used.
    pub base_path: String,
    /// Every problem found.
    pub problems: Vec<String>,
}

impl CheckReport {
    /// Exit status: a tree with problems must not be published (exit 2).
    pub fn outcome(&self) -> Result<()> {
        check::refuse("build --check", self.problems.clone())
    }
}
