//! `cdnpub build SRC --out DIR`: fingerprint, rewrite references, precompress, write a manifest.
//!
//! The tree is built in a temporary directory beside OUT and swapped in at the end, so a failed
//! build leaves OUT as it was. Files are processed as soon as the files they name have their
//! final names (leaves first), on all cores; a file's dependents are released before its own
//! compression starts.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};
use walkdir::WalkDir;

use crate::error::{Error, Result};
use crate::site::classify::{self, Naming};
use crate::site::compress;
use crate::site::fingerprint::check::{self, Built, Expected, Resolution};
use crate::site::fingerprint::resolve::Base;
use crate::site::fingerprint::{self, file_name, hashed_name, pins, sourcemap, Plan, Refs};
use crate::site::manifest::{Encoding, FileRecord, Manifest, ViteEntry, MANIFEST_PATH, VERSION};
use crate::site::state::{hex, sha256_hex};

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

/// One input file.
#[derive(Debug, Clone)]
struct Input {
    rel: String,
    path: PathBuf,
    size: u64,
    /// Read without its trailing `sourceMappingURL` comment (`--source-maps skip`).
    strip_map_comment: bool,
}

impl Input {
    /// The file's bytes as the build sees them.
    fn read(&self) -> Result<Vec<u8>> {
        self.read_marked().map(|(bytes, _)| bytes)
    }

    /// [`Input::read`], and whether a source map comment was removed (the bytes then differ
    /// from the bundler's, so a name the bundler hashed no longer addresses them).
    fn read_marked(&self) -> Result<(Vec<u8>, bool)> {
        let bytes = fs::read(&self.path).map_err(|e| Error::io("read", &self.path, e))?;
        if !self.strip_map_comment {
            return Ok((bytes, false));
        }
        Ok(match fingerprint::js::strip_source_mapping_url(&bytes) {
            Some(stripped) => (stripped, true),
            None => (bytes, false),
        })
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// With `--source-maps skip`: the inputs without their `.map` files, scripts and styles read
/// without the comment naming one; and how many maps were left out.
fn leave_out_maps(mut inputs: Vec<Input>, how: crate::site::SourceMaps) -> (Vec<Input>, usize) {
    if how != crate::site::SourceMaps::Skip {
        return (inputs, 0);
    }
    let before = inputs.len();
    inputs.retain(|i| !i.rel.ends_with(".map"));
    for i in &mut inputs {
        i.strip_map_comment = matches!(
            classify::kind(&i.rel),
            classify::Kind::Js | classify::Kind::Css
        );
    }
    let skipped = before - inputs.len();
    (inputs, skipped)
}

/// Run a build.
pub fn run(cfg: &BuildConfig) -> Result<BuildReport> {
    let started = Instant::now();
    let (src, out) = check_dirs(&cfg.src, &cfg.out)?;
    let (inputs, maps_skipped) = leave_out_maps(scan_tree(&src)?, cfg.source_maps);
    let rels: Vec<String> = inputs.iter().map(|i| i.rel.clone()).collect();
    check_is_output(&src, &rels)?;
    let mut how = resolution(cfg);
    let index = how.index(&rels);
    let names = pins::Names::new(&rels);
    let mut refs = Vec::with_capacity(rels.len());
    let mut rendered = Vec::with_capacity(rels.len());
    // Bytes that are not the bundler's (rendered, or a map comment removed): a bundler's hash
    // no longer addresses them, so the file is named by its content where that is safe.
    let mut changed = Vec::with_capacity(rels.len());
    let mut mentions = Vec::with_capacity(rels.len());
    let analyses = analyze_all(&inputs, &index, cfg.render.as_ref(), &names, &cfg.prefix)?;
    check_placeholders(cfg, &rels, &analyses)?;
    let worker_warnings = worker_warnings(cfg, &rels, &analyses);
    for a in analyses {
        refs.push(a.refs);
        rendered.push(a.rendered);
        changed.push(a.rendered || a.map_comment_removed);
        mentions.push(a.mentions);
    }
    let naming = Naming::new(&keep_globs(cfg), &cfg.hashed_pattern)?;
    let mut pins = pins::pins(&rels, &refs, &mentions);
    // Found through the manifest (a server template reads `renamed`): free to rename.
    let found = classify::glob_set(&cfg.manifest_named, "--manifest-named glob")?;
    for (p, rel) in pins.iter_mut().zip(&rels) {
        if *p == pins::Pin::Unreferenced && found.is_match(rel) {
            *p = pins::Pin::None;
        }
    }
    for (i, p) in pins.iter().enumerate() {
        if *p == pins::Pin::MentionedElsewhere {
            tracing::debug!(
                "{} keeps its name: it is mentioned where cdnpub does not rewrite",
                rels[i]
            );
        }
    }
    let plan = fingerprint::plan(&rels, &refs, &naming, &changed, &pins);
    let base_from = settle_base(&mut how, &refs, &plan, &rels, &inputs)?;
    // What the self-check can tell from the bundler's output alone, before the expensive part.
    let checking = Instant::now();
    let refs_of: Vec<&Refs> = refs.iter().collect();
    check::refuse(
        "build",
        check::unresolved_site_paths(&src, &rels, &refs_of, &how.index(&rels))?,
    )?;
    let precheck = checking.elapsed();
    let parent = out.parent().unwrap_or(Path::new("."));
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{}.", file_name(&out.to_string_lossy())))
        .suffix(".cdnpub-build")
        .tempdir_in(parent)
        .map_err(|e| Error::io("create a staging directory beside --out in", parent, e))?;
    let cache = match (&cfg.cache, cfg.compress) {
        (Some(c), true) => Some(crate::site::cache::Cache::open(c)?),
        _ => None,
    };
    let job = Job {
        cfg,
        cache: cache.as_ref(),
        inputs: &inputs,
        refs: &refs,
        plan: &plan,
        rels: &rels,
        staging: staging.path(),
        names: (0..inputs.len()).map(|_| OnceLock::new()).collect(),
        group_hashes: (0..plan.groups.len()).map(|_| OnceLock::new()).collect(),
        records: Mutex::new(Vec::new()),
        deferred: Mutex::new(Vec::new()),
        failure: Mutex::new(None),
        rewritten: AtomicUsize::new(0),
        rendered: &rendered,
        bar: crate::util::console::bar(
            plan.map_owner.iter().filter(|o| o.is_none()).count(),
            "build",
        ),
    };
    job.run_all();
    if let Some(bar) = &job.bar {
        bar.finish_and_clear();
    }
    if let Some(e) = job.failure.lock().ok().and_then(|mut f| f.take()) {
        return Err(e);
    }
    let sri = if cfg.sri {
        Some(job.write_pages_with_integrity(&how)?)
    } else {
        None
    };
    let records = std::mem::take(
        &mut *job
            .records
            .lock()
            .map_err(|_| Error::Failed("internal error: a build task panicked".into()))?,
    );
    let finals: Vec<String> = job
        .names
        .iter()
        .map(|n| n.get().cloned().unwrap_or_default())
        .collect();
    if let Some(i) = finals.iter().position(String::is_empty) {
        return Err(Error::Failed(format!(
            "internal error: {} was never processed",
            rels[i]
        )));
    }
    let manifest = Manifest {
        version: VERSION,
        hash_length: cfg.hash_len,
        files: records,
        renamed: fingerprint::renames(&rels, &finals)
            .into_iter()
            .map(|(o, f)| (o, ViteEntry { file: f }))
            .collect(),
    };
    let built: Vec<Built> = manifest
        .files
        .iter()
        .map(|f| Built {
            path: f.path.clone(),
            source: f.source.clone(),
        })
        .collect();
    let expected = Expected {
        rels: &rels,
        refs: &refs,
        finals: &finals,
    };
    let checking = Instant::now();
    check::refuse(
        "build",
        check::problems(staging.path(), &built, &how, Some(&expected))?,
    )?;
    let check_ms = (checking.elapsed() + precheck).as_millis() as u64;
    write_new(&staging.path().join(MANIFEST_PATH), &manifest.to_bytes())?;
    crate::site::tree::write_stats(staging.path(), &manifest)?;
    let mut report = summarize(
        &out,
        &manifest,
        &plan,
        &rels,
        job.rewritten.into_inner(),
        started,
    );
    report.rendered = rendered.iter().filter(|&&r| r).count();
    report.warnings.extend(worker_warnings);
    report.base_path = how.base.path().to_string();
    report.check_ms = check_ms;
    report.base_path_from = base_from;
    report.source_maps_skipped = maps_skipped;
    swap_into_place(staging, &out)?;
    report.cache = cache.map(|c| c.finish());
    if let Some((s, notes)) = sri {
        report.warnings.push(SRI_WARNING.to_string());
        report.warnings.extend(notes);
        report.sri = Some(s);
    }
    Ok(report)
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

/// `cdnpub build --check DIR`: check a built tree on its own (SRC is the tree).
pub fn check_tree(cfg: &BuildConfig) -> Result<CheckReport> {
    let dir = fs::canonicalize(&cfg.src).map_err(|e| {
        Error::Usage(format!(
            "{} cannot be opened ({e}); give the built tree to check",
            cfg.src.display()
        ))
    })?;
    let manifest = crate::site::manifest::Manifest::read(&dir)?;
    let built: Vec<Built> = match &manifest {
        Some(m) => m
            .files
            .iter()
            .map(|f| Built {
                path: f.path.clone(),
                source: f.source.clone(),
            })
            .collect(),
        None => scan_tree(&dir)?
            .into_iter()
            .filter(|i| !i.rel.starts_with(".cdnpub/"))
            .map(|i| Built {
                path: i.rel.clone(),
                source: i.rel,
            })
            .collect(),
    };
    let mut how = resolution(cfg);
    if how.base == Base::Infer {
        // The sub-path a check resolves under: the one the tree's references agree on.
        let rels: Vec<String> = built.iter().map(|b| b.path.clone()).collect();
        let index = how.index(&rels);
        let mut refs = Vec::new();
        for rel in rels
            .iter()
            .filter(|r| classify::kind(r) != classify::Kind::Other)
        {
            let path = dir.join(rel);
            let bytes = fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            refs.push(fingerprint::analyze(rel, &bytes, &index));
        }
        if let [one] = dropped_subpaths(&refs).as_slice() {
            how.base = Base::Hint(one.to_string());
        }
    }
    let problems = check::problems(&dir, &built, &how, None)?;
    Ok(CheckReport {
        command: "check",
        dir,
        files: built.len(),
        renamed: built.iter().filter(|b| b.path != b.source).count(),
        base_path: how.base.path().to_string(),
        problems,
    })
}

fn keep_globs(cfg: &BuildConfig) -> Vec<String> {
    classify::DEFAULT_KEEP
        .iter()
        .map(|s| s.to_string())
        .chain(cfg.keep.iter().cloned())
        .collect()
}

/// How references resolve: the placeholder, the deploy sub-path, the known servers (the
/// rendered server included).
fn resolution(cfg: &BuildConfig) -> Resolution {
    let mut servers = cfg.servers.clone();
    if let Some(r) = &cfg.render {
        let s = String::from_utf8_lossy(r.renderer.server()).to_string();
        if !s.is_empty() && !servers.contains(&s) {
            servers.push(s);
        }
    }
    Resolution {
        prefix: cfg.prefix.clone(),
        base: cfg.base.clone(),
        servers,
        manifest_named: cfg.manifest_named.clone(),
    }
}

/// The distinct leading segments that references dropped to reach a file of the tree (by
/// suffix), sorted: one is the tree's deploy sub-path; several disagree.
fn dropped_subpaths(refs: &[Refs]) -> Vec<&str> {
    let mut dropped: Vec<&str> = refs
        .iter()
        .flat_map(|r| r.guessed.iter().map(|(_, d)| d.as_str()))
        .collect();
    dropped.sort_unstable();
    dropped.dedup();
    dropped
}

/// Settle the deploy sub-path: references that reached their file only by dropping leading
/// segments must agree on what they dropped (then that is the sub-path, inferred); when they
/// disagree and any of them names a file cdnpub renames, the build stops naming them.
fn settle_base(
    how: &mut Resolution,
    refs: &[Refs],
    plan: &Plan,
    rels: &[String],
    inputs: &[Input],
) -> Result<&'static str> {
    let from = match &how.base {
        Base::Set(_) => "set",
        Base::Hint(p) if !p.is_empty() => "target prefix",
        _ => "none",
    };
    let dropped = dropped_subpaths(refs);
    match dropped.as_slice() {
        [] => Ok(from),
        [one] if !matches!(how.base, Base::Set(_)) => {
            how.base = Base::Hint(one.to_string());
            Ok("inferred")
        }
        _ => {
            let renamed = |t: usize| plan.hashed[t] || plan.env_named[t];
            let mut bad = Vec::new();
            for (i, r) in refs.iter().enumerate() {
                for (start, d) in &r.guessed {
                    let Some(l) = r.links.iter().find(|l| l.span.start == *start) else {
                        continue;
                    };
                    if renamed(l.target) {
                        let bytes = inputs[i].read()?;
                        bad.push(format!(
                            "{}: {} → {} (sub-path {d})",
                            rels[i],
                            String::from_utf8_lossy(&bytes[l.span.start..l.span.end]),
                            rels[l.target]
                        ));
                    }
                }
            }
            if bad.is_empty() {
                return Ok(from);
            }
            bad.truncate(20);
            Err(Error::Broken(format!(
                "references name files of the tree under different deploy sub-paths ({}), so cdnpub cannot tell which is the tree's; set it with --base-path SUBPATH (base_path in cdnpub.toml). References to renamed files:\n  {}",
                dropped.join(", "),
                bad.join("\n  ")
            )))
        }
    }
}

fn summarize(
    out: &Path,
    m: &Manifest,
    plan: &Plan,
    rels: &[String],
    rewritten: usize,
    started: Instant,
) -> BuildReport {
    let cycles: Vec<Vec<String>> = plan
        .cycles
        .iter()
        .map(|c| c.iter().map(|&i| rels[i].clone()).collect())
        .collect();
    let warnings = cycles
        .iter()
        .map(|c| {
            format!(
                "reference cycle, these files keep their names and are not cached as immutable: {}",
                c.join(" → ")
            )
        })
        .collect();
    BuildReport {
        command: "build",
        out: out.to_path_buf(),
        files: m.files.len(),
        fingerprinted: m.renamed.len(),
        immutable: m.files.iter().filter(|f| f.immutable).count(),
        rewritten,
        rendered: 0,
        bytes: m.files.iter().map(|f| f.size).sum(),
        bytes_smallest: m
            .files
            .iter()
            .map(|f| {
                f.encodings
                    .iter()
                    .map(|e| e.size)
                    .chain([f.size])
                    .min()
                    .unwrap_or(f.size)
            })
            .sum(),
        siblings: m.files.iter().map(|f| f.encodings.len()).sum(),
        base_path: String::new(),
        base_path_from: "none",
        check_ms: 0,
        cycles,
        warnings,
        cache: None,
        sri: None,
        source_maps_skipped: 0,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

/// SRC must exist; OUT must not be SRC, inside it, or contain it; an existing OUT must be a
/// previous cdnpub build (or empty), so nothing else is ever replaced.
fn check_dirs(src: &Path, out: &Path) -> Result<(PathBuf, PathBuf)> {
    let src_c = fs::canonicalize(src).map_err(|e| {
        Error::Usage(format!(
            "SRC {} cannot be opened ({e}); give the bundler's output directory",
            src.display()
        ))
    })?;
    if !src_c.is_dir() {
        return Err(Error::Usage(format!(
            "SRC {} is not a directory",
            src.display()
        )));
    }
    let out_abs = std::path::absolute(out).map_err(|e| Error::io("resolve", out, e))?;
    let out_parent = out_abs
        .parent()
        .ok_or_else(|| Error::Usage(format!("--out {} has no parent directory", out.display())))?;
    let parent_c = fs::canonicalize(out_parent).map_err(|e| {
        Error::Usage(format!(
            "the parent of --out {} cannot be opened ({e}); create it first",
            out.display()
        ))
    })?;
    let out_c = parent_c.join(out_abs.file_name().unwrap_or_default());
    if out_c == src_c || out_c.starts_with(&src_c) {
        return Err(Error::Usage(format!(
            "--out {} is {} SRC {}; write the build somewhere else (e.g. a sibling directory)",
            out.display(),
            if out_c == src_c {
                "the same directory as"
            } else {
                "inside"
            },
            src.display()
        )));
    }
    if src_c.starts_with(&out_c) {
        return Err(Error::Usage(format!(
            "SRC {} is inside --out {}; replacing OUT would delete it",
            src.display(),
            out.display()
        )));
    }
    if out_c.exists() {
        let ours = out_c.join(MANIFEST_PATH).is_file();
        let empty = fs::read_dir(&out_c)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !ours && !empty {
            return Err(Error::Usage(format!(
                "--out {} exists and is not a cdnpub build (no {MANIFEST_PATH}); refusing to replace it. Remove it or choose another directory",
                out.display()
            )));
        }
    }
    Ok((src_c, out_c))
}

/// Every regular file under `src`, sorted. Links leading outside SRC are refused; `.gz` / `.br`
/// files whose plain version exists are skipped (they are regenerated).
fn scan_tree(src: &Path) -> Result<Vec<Input>> {
    let mut inputs = Vec::new();
    // `.cdnpub/` at the top of SRC is cdnpub's own (a manifest, the compression cache).
    let own = src.join(".cdnpub");
    for entry in WalkDir::new(src)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.path() != own)
    {
        let entry = entry.map_err(|e| {
            let path = e
                .path()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| src.to_path_buf());
            Error::io("read directory", path, e.into())
        })?;
        let ft = entry.file_type();
        if ft.is_dir() {
            continue;
        }
        let path = entry.path().to_path_buf();
        if ft.is_symlink() {
            let target = fs::canonicalize(&path).map_err(|e| Error::io("resolve", &path, e))?;
            if !target.starts_with(src) {
                return Err(Error::Usage(format!(
                    "{} is a link to {}, outside SRC {}; refusing to publish it (copy the file in, or remove the link)",
                    path.display(),
                    target.display(),
                    src.display()
                )));
            }
            if target.is_dir() {
                continue;
            }
        }
        let rel = path.strip_prefix(src).unwrap_or(&path);
        let Some(rel) = crate::util::platform::slash_path(rel) else {
            return Err(Error::Usage(format!(
                "{}: file names must be UTF-8 to be served by URL",
                path.display()
            )));
        };
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        inputs.push(Input {
            rel,
            path,
            size,
            strip_map_comment: false,
        });
    }
    let all: std::collections::HashSet<&str> = inputs.iter().map(|i| i.rel.as_str()).collect();
    let skip: std::collections::HashSet<String> = inputs
        .iter()
        .filter(|i| {
            [".gz", ".br"]
                .iter()
                .any(|ext| i.rel.strip_suffix(ext).is_some_and(|s| all.contains(s)))
        })
        .map(|i| i.rel.clone())
        .collect();
    inputs.retain(|i| !skip.contains(&i.rel));
    inputs.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(inputs)
}

/// What the analysis of one input found.
#[derive(Default)]
struct Analysis {
    /// Its references.
    refs: Refs,
    /// Rendering placeholders changes it.
    rendered: bool,
    /// `--source-maps skip` removed its source map comment.
    map_comment_removed: bool,
    /// Files whose names it mentions outside its references.
    mentions: Vec<usize>,
    /// A text file that holds the placeholder.
    holds_prefix: bool,
    /// Where it writes the placeholder as a host (`https://EGOVA_CDN/…`), the URL's start.
    fake_host: Option<String>,
    /// A script that starts a Worker from a script URL.
    starts_worker: bool,
}

/// References of every file, whether rendering placeholders changes it, and the files whose
/// names it mentions elsewhere.
fn analyze_all(
    inputs: &[Input],
    index: &fingerprint::resolve::Index,
    render: Option<&Render>,
    names: &pins::Names,
    prefix: &str,
) -> Result<Vec<Analysis>> {
    use rayon::prelude::*;
    inputs
        .par_iter()
        .enumerate()
        .map(|(id, i)| {
            let renders = render.filter(|r| r.globs.is_match(&i.rel));
            let text = pins::is_text(&i.rel);
            if classify::kind(&i.rel) == classify::Kind::Other && renders.is_none() && !text {
                return Ok(Analysis::default());
            }
            let (bytes, map_comment_removed) = i.read_marked()?;
            let rendered = renders.is_some_and(|r| r.renderer.count(&bytes) > 0);
            let refs = fingerprint::analyze(&i.rel, &bytes, index);
            let mentions = if text {
                names.uncovered(id, &bytes, &pins::covered(&refs), index)
            } else {
                Vec::new()
            };
            let holds_prefix = text && memchr::memmem::find(&bytes, prefix.as_bytes()).is_some();
            let starts_worker = classify::kind(&i.rel) == classify::Kind::Js
                && fingerprint::js::starts_worker_from_url(&bytes);
            Ok(Analysis {
                refs,
                rendered,
                map_comment_removed,
                mentions,
                starts_worker,
                holds_prefix,
                fake_host: holds_prefix.then(|| fake_host(&bytes, prefix)).flatten(),
            })
        })
        .collect()
}

/// SRC must be a bundler's output: not empty, and not a source tree (no page, but a
/// `package.json` at the top or component sources). A page-less tree of built files (vendor
/// libraries) is fine.
fn check_is_output(src: &Path, rels: &[String]) -> Result<()> {
    if rels.is_empty() {
        return Err(Error::Usage(format!(
            "SRC {} holds no file: give the directory your bundler writes (dist/, build/, out/), after the build",
            src.display()
        )));
    }
    if rels
        .iter()
        .any(|r| classify::kind(r) == classify::Kind::Html)
    {
        return Ok(());
    }
    let source = rels.iter().find(|r| {
        r.as_str() == "package.json"
            || [".vue", ".svelte", ".jsx", ".tsx", ".astro"]
                .iter()
                .any(|ext| r.ends_with(ext))
            || (r.ends_with(".ts") && !r.ends_with(".d.ts"))
    });
    match source {
        Some(file) => Err(Error::Usage(format!(
            "SRC {} has no HTML page and holds sources ({file}): is this the bundler's output? \
             Give the directory your bundler writes (dist/, build/, out/)",
            src.display()
        ))),
        None => Ok(()),
    }
}

/// `https://EGOVA_CDN` where the placeholder `prefix` (written with no scheme) follows `://`:
/// a host the framework required an absolute URL for.
fn fake_host(bytes: &[u8], prefix: &str) -> Option<String> {
    if prefix.contains("://") {
        return None;
    }
    memchr::memmem::find_iter(bytes, prefix.as_bytes()).find_map(|at| {
        let before = &bytes[..at];
        let scheme_start = before.strip_suffix(b"://").map(|b| {
            b.len()
                - b.iter()
                    .rev()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .count()
        })?;
        (scheme_start < at - 3)
            .then(|| String::from_utf8_lossy(&bytes[scheme_start..at + prefix.len()]).into_owned())
    })
}

/// Before anything is built: a placeholder written as a host (`https://EGOVA_CDN`) needs
/// `--prefix` to name that whole start; with rendering (publish), every text file holding the
/// placeholder must be rendered, or the site would ship it.
fn check_placeholders(cfg: &BuildConfig, rels: &[String], found: &[Analysis]) -> Result<()> {
    let hosts: Vec<(&str, &str)> = found
        .iter()
        .zip(rels)
        .filter_map(|(a, r)| Some((r.as_str(), a.fake_host.as_deref()?)))
        .collect();
    if let Some((file, host)) = hosts.first() {
        return Err(Error::Usage(format!(
            "{file} writes the placeholder as a host ({host}/…, as frameworks that need an absolute asset URL do); \
             rendering {p} alone would give {scheme}://<server>: give the whole start as the placeholder: --prefix {host} \
             (prefix in cdnpub.toml); {n} file(s) write it so",
            p = cfg.prefix,
            scheme = host.split("://").next().unwrap_or("https"),
            n = hosts.len()
        )));
    }
    let Some(render) = &cfg.render else {
        return Ok(());
    };
    let left: Vec<&str> = found
        .iter()
        .zip(rels)
        .filter(|(a, r)| a.holds_prefix && !render.globs.is_match(r.as_str()))
        .map(|(_, r)| r.as_str())
        .collect();
    if left.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = left.iter().take(10).copied().collect();
    Err(Error::Broken(format!(
        "{} file(s) hold the placeholder {} but are not rendered, so the site would ship it unrendered: {}{}; \
         render them too: --render '<glob>' (replace_files in cdnpub.toml), e.g. --render '**/*.{}'",
        left.len(),
        cfg.prefix,
        shown.join(", "),
        if left.len() > shown.len() { ", …" } else { "" },
        left[0].rsplit('.').next().unwrap_or("txt")
    )))
}

/// Scripts that start a Worker from a script URL, when the site's files are served from another
/// origin than its pages (an absolute server): browsers refuse such a worker.
fn worker_warnings(cfg: &BuildConfig, rels: &[String], found: &[Analysis]) -> Vec<String> {
    let server = cfg
        .render
        .as_ref()
        .map(|r| String::from_utf8_lossy(r.renderer.server()).to_string())
        .or_else(|| cfg.servers.first().cloned())
        .filter(|s| s.starts_with("http://") || s.starts_with("https://"));
    let Some(server) = server else {
        return Vec::new();
    };
    found
        .iter()
        .zip(rels)
        .filter(|(a, _)| a.starts_worker)
        .map(|(_, rel)| {
            format!(
                "{rel} starts a Worker from a script URL, and is served from {server}: browsers refuse a worker \
                 script from another origin than the page (SecurityError). Start it through a same-origin blob \
                 that imports the script (new Worker(URL.createObjectURL(new Blob([`import \"${{url}}\"`], \
                 {{type: 'text/javascript'}})), {{type: 'module'}})), or keep that script on the pages' origin"
            )
        })
        .collect()
}

/// Shared state of one build's workers.
/// A file to write: its source, its final path, its bytes, whether it is immutable.
type Output = (String, String, Vec<u8>, bool);

struct Job<'a> {
    cfg: &'a BuildConfig,
    cache: Option<&'a crate::site::cache::Cache>,
    inputs: &'a [Input],
    refs: &'a [Refs],
    plan: &'a Plan,
    rels: &'a [String],
    staging: &'a Path,
    names: Vec<OnceLock<String>>,
    records: Mutex<Vec<FileRecord>>,
    /// Pages held back until every other file is written (Subresource Integrity needs their bytes).
    deferred: Mutex<Vec<Output>>,
    failure: Mutex<Option<Error>>,
    rewritten: AtomicUsize,
    rendered: &'a [bool],
    /// Files done, on a terminal.
    bar: Option<indicatif::ProgressBar>,
    group_hashes: Vec<OnceLock<String>>,
}

impl Job<'_> {
    /// Add integrity to the pages held back by [`Job::task`] (every other file is written by
    /// now) and write them; returns what was added and notes for the report.
    fn write_pages_with_integrity(&self, how: &Resolution) -> Result<(SriReport, Vec<String>)> {
        let started = Instant::now();
        let pages = std::mem::take(
            &mut *self
                .deferred
                .lock()
                .map_err(|_| Error::Failed("internal error: a build task panicked".into()))?,
        );
        let mut keys: Vec<String> = self
            .records
            .lock()
            .map(|r| r.iter().map(|f| f.path.clone()).collect())
            .unwrap_or_default();
        keys.extend(pages.iter().map(|p| p.1.clone()));
        let index = how.index(&keys);
        let staging = self.staging;
        // Each file read and hashed once, however many pages name it or list it in a map.
        let known: Mutex<std::collections::HashMap<String, Option<String>>> = Mutex::default();
        let digest = |key: &str| -> Option<String> {
            if let Some(d) = known.lock().ok().and_then(|k| k.get(key).cloned()) {
                return d;
            }
            let d = fs::read(staging.join(key))
                .ok()
                .map(|b| crate::site::sri::integrity(&b));
            if let Ok(mut k) = known.lock() {
                k.insert(key.to_string(), d.clone());
            }
            d
        };
        let server = self
            .cfg
            .render
            .as_ref()
            .map(|r| String::from_utf8_lossy(r.renderer.server()).to_string())
            .filter(|s| s.starts_with("http://") || s.starts_with("https://"))
            .or_else(|| self.cfg.servers.first().cloned())
            // The tree is served under its deploy sub-path.
            .map(|s| match how.base.path() {
                "" => s,
                base => format!("{}/{base}", s.trim_end_matches('/')),
            });
        let site = crate::site::sri::Site {
            keys: &keys,
            index: &index,
            server: server.as_deref(),
            digest: &digest,
        };
        let (mut report, mut notes) = (SriReport::default(), Vec::new());
        for (source, rel, bytes, immutable) in pages {
            let (bytes, applied) = crate::site::sri::apply(&rel, &bytes, &site);
            if applied.tags + applied.import_map > 0 {
                report.pages += 1;
            }
            report.tags += applied.tags;
            report.import_map_entries += applied.import_map;
            notes.extend(applied.note);
            let record = self.write(&source, &rel, &bytes, immutable)?;
            if let Ok(mut v) = self.records.lock() {
                v.push(record);
            }
        }
        report.ms = started.elapsed().as_millis() as u64;
        Ok((report, notes))
    }

    /// Process every file, each once the files it names are named.
    fn run_all(&self) {
        let n = self.inputs.len();
        let mut dependents = vec![Vec::new(); n];
        for (i, w) in self.plan.waits_for.iter().enumerate() {
            for &d in w {
                dependents[d].push(i);
            }
        }
        let pending: Vec<AtomicUsize> = self
            .plan
            .waits_for
            .iter()
            .map(|w| AtomicUsize::new(w.len()))
            .collect();
        // Largest first (FIFO): a multi-megabyte brotli job started last would leave cores idle.
        let mut ready: Vec<usize> = (0..n)
            .filter(|&i| pending[i].load(Ordering::Relaxed) == 0)
            .collect();
        ready.sort_by_key(|&i| std::cmp::Reverse(self.inputs[i].size));
        rayon::scope_fifo(|s| {
            for i in ready {
                let (pending, dependents) = (&pending, &dependents);
                s.spawn_fifo(move |s| self.task(s, i, pending, dependents));
            }
        });
    }

    fn task<'s>(
        &'s self,
        s: &rayon::ScopeFifo<'s>,
        i: usize,
        pending: &'s [AtomicUsize],
        dependents: &'s [Vec<usize>],
    ) {
        if self.plan.map_owner[i].is_some() {
            return; // written with the file that names it
        }
        if self.failure.lock().map(|f| f.is_some()).unwrap_or(true) {
            return;
        }
        self.work(s, i, pending, dependents);
        if let Some(bar) = &self.bar {
            bar.inc(1);
            if let Some(c) = self.cache {
                bar.set_message(format!("{} reused from the cache", c.hits()));
            }
        }
    }

    /// Name, rewrite and write file `i`, then start the files that waited for its name.
    fn work<'s>(
        &'s self,
        s: &rayon::ScopeFifo<'s>,
        i: usize,
        pending: &'s [AtomicUsize],
        dependents: &'s [Vec<usize>],
    ) {
        let outputs = match self.name(i) {
            Ok(o) => o,
            Err(e) => {
                if let Ok(mut f) = self.failure.lock() {
                    f.get_or_insert(e);
                }
                return;
            }
        };
        for &d in &dependents[i] {
            if pending[d].fetch_sub(1, Ordering::AcqRel) == 1 {
                s.spawn_fifo(move |s| self.task(s, d, pending, dependents));
            }
        }
        for (source, rel, bytes) in outputs {
            if self.cfg.sri && classify::kind(&rel) == classify::Kind::Html {
                if let Ok(mut d) = self.deferred.lock() {
                    d.push((source, rel, bytes, self.plan.immutable[i]));
                }
                continue;
            }
            match self.write(&source, &rel, &bytes, self.plan.immutable[i]) {
                Ok(r) => {
                    if let Ok(mut v) = self.records.lock() {
                        v.push(r);
                    }
                }
                Err(e) => {
                    if let Ok(mut f) = self.failure.lock() {
                        f.get_or_insert(e);
                    }
                }
            }
        }
    }

    fn final_name(&self, t: usize) -> Option<String> {
        self.names[t].get().cloned().or_else(|| {
            let g = self.plan.group_of[t].filter(|_| self.plan.env_named[t])?;
            Some(rename_rel(&self.rels[t], self.group_hash(g)))
        })
    }

    /// The name suffix of a cycle's members: SHA-256 of the placeholder, the rendered server
    /// and the final names of every file the cycle names outside itself (all named before any
    /// member is processed), so the members' names cover what cdnpub changes in their bytes.
    fn group_hash(&self, g: usize) -> &str {
        self.group_hashes[g].get_or_init(|| {
            let mut h = Sha256::new();
            h.update(self.cfg.prefix.as_bytes());
            h.update(b"\n");
            if let Some(r) = &self.cfg.render {
                h.update(r.renderer.server());
            }
            h.update(b"\n");
            let members = &self.plan.groups[g];
            let mut outside: Vec<usize> = members
                .iter()
                .flat_map(|&m| self.plan.waits_for[m].iter().copied())
                .collect();
            outside.sort_unstable_by(|a, b| self.rels[*a].cmp(&self.rels[*b]));
            outside.dedup();
            for t in outside {
                h.update(self.rels[t].as_bytes());
                h.update(b"\0");
                h.update(self.final_name(t).unwrap_or_default().as_bytes());
                h.update(b"\n");
            }
            hex(&h.finalize())[..self.cfg.hash_len].to_string()
        })
    }

    /// Read, rewrite and name file `i` (and the map that follows it); returns what to write.
    fn name(&self, i: usize) -> Result<Vec<(String, String, Vec<u8>)>> {
        let input = &self.inputs[i];
        let bytes = input.read()?;
        let mut links = self.refs[i].links.clone();
        // A map another file writes: this file's comment follows the map's new name.
        if let Some(m) = self.refs[i].source_map {
            if self.plan.map_owner[m.target].is_some_and(|o| o != i) {
                links.push(m);
                links.sort_by_key(|l| l.span.start);
            }
        }
        let links = &links;
        let names = |t: usize| self.final_name(t);
        // The hash covers the content with its references rewritten (the map comment left as
        // it is: the map's name follows this file's) and the rewritten map.
        let hashed_content = self.render(
            i,
            fingerprint::rewrite(&bytes, links, self.rels, &names),
            &bytes,
        );
        // Only the file a map follows writes it; another file naming the same map leaves its
        // comment as it is.
        let map = match self.refs[i].source_map {
            Some(link) if self.plan.map_owner[link.target] == Some(i) => {
                Some((link, self.read_map(link.target)?))
            }
            _ => None,
        };
        let hash = self.plan.hashed[i].then(|| {
            let mut h = Sha256::new();
            h.update(hashed_content.as_deref().unwrap_or(&bytes));
            if let Some((_, m)) = &map {
                h.update(Sha256::digest(m));
            }
            hex(&h.finalize())[..self.cfg.hash_len].to_string()
        });
        let hash = hash.or_else(|| {
            let g = self.plan.group_of[i].filter(|_| self.plan.env_named[i])?;
            Some(self.group_hash(g).to_string())
        });
        let final_rel = rename_rel_opt(&input.rel, hash.as_deref());
        let _ = self.names[i].set(final_rel.clone());
        let mut outputs = Vec::new();
        let mut content = hashed_content;
        if let Some((link, map_bytes)) = map {
            let map_rel = rename_rel_opt(&self.rels[link.target], hash.as_deref());
            let _ = self.names[link.target].set(map_rel.clone());
            // One pass over the original bytes with every link, the map comment included.
            let mut all = links.clone();
            all.push(link);
            all.sort_by_key(|l| l.span.start);
            content = self
                .render(
                    i,
                    fingerprint::rewrite(&bytes, &all, self.rels, &names),
                    &bytes,
                )
                .or(content);
            // A map whose `sources` name the file it follows (bootstrap's CSS maps) is read
            // again now that the file has its name; the hash covered the map before that
            // rename, which the file's own name already determines.
            let names_owner = self.refs[link.target].links.iter().any(|l| l.target == i);
            let map_bytes = if names_owner {
                self.read_map(link.target)?
            } else {
                map_bytes
            };
            outputs.push((
                self.rels[link.target].clone(),
                map_rel,
                set_map_file(&map_bytes, file_name(&final_rel)),
            ));
        }
        if content.is_some() {
            self.rewritten.fetch_add(1, Ordering::Relaxed);
        }
        outputs.push((input.rel.clone(), final_rel, content.unwrap_or(bytes)));
        Ok(outputs)
    }

    /// Render placeholders in file `i`'s content (`content`, or the original `bytes` when the
    /// content was not rewritten), when the build renders and the file has any.
    fn render(&self, i: usize, content: Option<Vec<u8>>, bytes: &[u8]) -> Option<Vec<u8>> {
        match (&self.cfg.render, self.rendered[i]) {
            (Some(r), true) => Some(r.renderer.render(content.as_deref().unwrap_or(bytes)).bytes),
            _ => content,
        }
    }

    /// A map's bytes with its `sources` rewritten.
    fn read_map(&self, m: usize) -> Result<Vec<u8>> {
        let path = &self.inputs[m].path;
        let bytes = fs::read(path).map_err(|e| Error::io("read", path, e))?;
        let names = |t: usize| self.final_name(t);
        Ok(fingerprint::rewrite(&bytes, &self.refs[m].links, self.rels, &names).unwrap_or(bytes))
    }

    /// `encoder`'s output for the input with digest `sha256`: from the cache when there is one.
    fn compressed(
        &self,
        encoder: &str,
        sha256: &str,
        compute: impl FnOnce() -> Vec<u8>,
    ) -> Vec<u8> {
        match self.cache {
            Some(c) => c.get_or_compute(encoder, sha256, compute),
            None => compute(),
        }
    }

    /// Write one output file and its siblings into the staging tree.
    fn write(&self, source: &str, rel: &str, bytes: &[u8], immutable: bool) -> Result<FileRecord> {
        let path = self.staging.join(rel);
        write_new(&path, bytes)?;
        let mut encodings = Vec::new();
        let size = bytes.len() as u64;
        let sha256 = sha256_hex(bytes);
        if self.cfg.compress && size >= self.cfg.min_size && classify::compressible(rel) {
            let limit = (size as f64 * self.cfg.max_ratio) as usize;
            let (gzip_level, quality) = if rel.ends_with(".map") {
                (
                    self.cfg.gzip_level.min(SOURCE_MAP_GZIP_LEVEL),
                    self.cfg.brotli_quality.min(SOURCE_MAP_BROTLI_QUALITY),
                )
            } else {
                (self.cfg.gzip_level, self.cfg.brotli_quality)
            };
            let (gz, br) = rayon::join(
                || {
                    self.compressed(&format!("gzip-{gzip_level}"), &sha256, || {
                        compress::gzip(bytes, gzip_level)
                    })
                },
                || {
                    self.compressed(&format!("br-{quality}"), &sha256, || {
                        compress::brotli(bytes, quality)
                    })
                },
            );
            for (name, ext, data) in [("gzip", ".gz", gz), ("br", ".br", br)] {
                if data.len() < limit {
                    let sib = format!("{rel}{ext}");
                    write_new(&self.staging.join(&sib), &data)?;
                    encodings.push(Encoding {
                        encoding: name.into(),
                        path: sib,
                        size: data.len() as u64,
                        sha256: sha256_hex(&data),
                    });
                }
            }
            encodings.sort_by_key(|e| e.size);
        }
        Ok(FileRecord {
            path: rel.to_string(),
            source: source.to_string(),
            sha256,
            size,
            content_type: classify::content_type(rel),
            immutable,
            encodings,
        })
    }
}

/// `dir/app.js` → `dir/app.HASH.js` (`dir/app.js.map` → `dir/app.HASH.js.map`).
fn rename_rel(rel: &str, hash: &str) -> String {
    match rel.rfind('/') {
        Some(p) => format!("{}/{}", &rel[..p], hashed_name(&rel[p + 1..], hash)),
        None => hashed_name(rel, hash),
    }
}

fn rename_rel_opt(rel: &str, hash: Option<&str>) -> String {
    hash.map_or_else(|| rel.to_string(), |h| rename_rel(rel, h))
}

/// A map with its `file` field set to `name`.
fn set_map_file(map: &[u8], name: &str) -> Vec<u8> {
    match sourcemap::file_field(map) {
        Some(s) => [&map[..s.start], name.as_bytes(), &map[s.end..]].concat(),
        None => map.to_vec(),
    }
}

/// Create `path` (and its directories) in the staging tree.
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    }
    fs::write(path, bytes).map_err(|e| Error::io("write", path, e))
}

/// Move the staging tree to `out`, replacing a previous build.
fn swap_into_place(staging: tempfile::TempDir, out: &Path) -> Result<()> {
    let staged = staging.keep();
    if out.exists() {
        let parent = out.parent().unwrap_or(Path::new("."));
        let old = tempfile::Builder::new()
            .prefix(&format!(".{}.", file_name(&out.to_string_lossy())))
            .suffix(".cdnpub-old")
            .tempdir_in(parent)
            .map_err(|e| Error::io("create a directory beside", out, e))?
            .keep();
        fs::rename(out, old.join("tree"))
            .map_err(|e| Error::io("move the previous build aside", out, e))?;
        fs::rename(&staged, out).map_err(|e| Error::io("move the new build into place", out, e))?;
        fs::remove_dir_all(&old).map_err(|e| Error::io("remove the previous build", &old, e))?;
    } else {
        fs::rename(&staged, out).map_err(|e| Error::io("move the new build into place", out, e))?;
    }
    Ok(())
}
