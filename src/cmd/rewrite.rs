//! `cdnpub rewrite`: render placeholders in served files, in place, atomically and re-runnably,
//! regenerating existing `.gz` / `.br` siblings from the new content.
//!
//! A run has four steps: validate everything (nothing is touched on bad input), plan every file
//! in memory in parallel (template, rendering, digests), save the render state, then write the
//! changed files in parallel, each file's siblings before the file itself.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::site::compress;
use crate::site::placeholder::{check_prefix, resolve_server, Rendered, Renderer};
use crate::site::scan::{self, Selected};
use crate::site::state::{Found, Origin, StateStore};
use crate::util::atomic::{self, WriteOptions};

/// Precompressed sibling kinds nginx serves (gzip_static, brotli_static).
#[derive(Debug, Clone, Copy)]
enum Sibling {
    Gzip,
    Brotli,
}

impl Sibling {
    const ALL: [Sibling; 2] = [Sibling::Gzip, Sibling::Brotli];

    fn ext(self) -> &'static str {
        match self {
            Sibling::Gzip => ".gz",
            Sibling::Brotli => ".br",
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileOutcome {
    /// Path relative to the root.
    pub path: String,
    /// Placeholders replaced (in the template).
    pub replacements: usize,
    /// Of those, how many had a URL-leading `/` consumed.
    pub slashes_consumed: usize,
    /// True when the file's content changed (or would, with `--dry-run`).
    pub changed: bool,
    /// Where the template came from.
    pub template: Origin,
    /// Siblings regenerated (`index.html.gz` …), or that would be.
    pub siblings: Vec<String>,
    /// Milliseconds spent compressing and writing siblings.
    pub siblings_ms: u64,
    /// Placeholders still present after rendering (non-zero fails `--check`).
    pub remaining: usize,
    /// The error that stopped this file, if any (the file itself is untouched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The result of a whole `rewrite` run.
#[derive(Debug, Clone, Serialize)]
pub struct RewriteReport {
    /// The command ("rewrite").
    pub command: &'static str,
    /// Canonical root (empty when there was nothing to do).
    pub root: PathBuf,
    /// Server value placeholders became.
    pub server: String,
    /// The placeholder token.
    pub prefix: String,
    /// Render state directory.
    pub state_dir: PathBuf,
    /// Nothing was written.
    pub dry_run: bool,
    /// One entry per selected file, sorted by path.
    pub files: Vec<FileOutcome>,
    /// Globs that matched nothing.
    pub unmatched: Vec<String>,
    /// Warnings (fallback server, unmatched globs, ownership, adopted files).
    pub warnings: Vec<String>,
    /// Wall time of the run in milliseconds.
    pub elapsed_ms: u64,
    /// Whether `--check` was asked for.
    #[serde(skip)]
    pub check: bool,
    /// Whether `--allow-empty` was given.
    #[serde(skip)]
    pub allow_empty: bool,
    /// Print a line per file.
    #[serde(skip)]
    pub per_file: bool,
}

impl RewriteReport {
    /// The error this run ends with: failed files (exit 1), else remaining placeholders under
    /// `--check` (exit 3).
    pub fn outcome(&self) -> Result<()> {
        let failed: Vec<String> = self
            .files
            .iter()
            .filter_map(|f| f.error.as_ref().map(|e| format!("  {}: {e}", f.path)))
            .collect();
        if !failed.is_empty() {
            return Err(Error::Failed(format!(
                "{} of {} files could not be rewritten (each is left as it was):\n{}",
                failed.len(),
                self.files.len(),
                failed.join("\n")
            )));
        }
        let remaining: Vec<String> = self
            .files
            .iter()
            .filter(|f| f.remaining > 0)
            .map(|f| format!("  {}: {} × {}", f.path, f.remaining, self.prefix))
            .collect();
        let found: usize = self.files.iter().map(|f| f.replacements).sum();
        if found == 0 && !self.files.is_empty() && !self.allow_empty {
            return Err(Error::Failed(format!(
                "the placeholder {} is in none of the {} file(s) named (e.g. {}): a typo in CDN_PREFIX \
                 (--prefix), or the wrong files in CDN_REPLACE_FILES? Nothing would point at the CDN. \
                 A tree that holds no placeholder: --allow-empty",
                self.prefix,
                self.files.len(),
                self.files[0].path
            )));
        }
        if self.check && !remaining.is_empty() {
            return Err(Error::CheckFailed(format!(
                "placeholders remain after rendering:\n{}",
                remaining.join("\n")
            )));
        }
        Ok(())
    }
}

/// One file, planned: everything needed to write it.
struct Plan {
    file: Selected,
    found: Found,
    rendered: Rendered,
    changed: bool,
}

/// Everything `cdnpub rewrite` needs, resolved.
#[derive(Debug, Clone)]
pub struct RewriteConfig {
    /// Served directory.
    pub root: PathBuf,
    /// Globs relative to the root (empty: nothing to do).
    pub patterns: Vec<String>,
    /// The raw server value (validated later) and where it came from.
    pub server: String,
    /// Where the server value came from, for messages.
    pub server_origin: String,
    /// The placeholder token.
    pub prefix: String,
    /// Render state directory (None: the default beside the root).
    pub state_dir: Option<PathBuf>,
    /// Write nothing.
    pub dry_run: bool,
    /// Exit 3 when placeholders remain.
    pub check: bool,
    /// Unmatched globs are errors.
    pub strict: bool,
    /// A placeholder found in none of the files is fine (`--allow-empty`).
    pub allow_empty: bool,
    /// Print a line per file (`-v`, or a dry run); else one summary line.
    pub per_file: bool,
    /// gzip level for siblings.
    pub gzip_level: u32,
    /// brotli quality for siblings.
    pub brotli_quality: u32,
    /// fsync before rename.
    pub fsync: bool,
}

/// Run `rewrite` with a resolved configuration. An empty pattern list does nothing (exit 0,
/// like the old entrypoint with an empty CDN_REPLACE_FILES).
pub fn run(cfg: &RewriteConfig) -> Result<RewriteReport> {
    let started = Instant::now();
    let mut report = RewriteReport {
        command: "rewrite",
        root: PathBuf::new(),
        server: String::new(),
        prefix: cfg.prefix.clone(),
        state_dir: PathBuf::new(),
        dry_run: cfg.dry_run,
        files: Vec::new(),
        unmatched: Vec::new(),
        warnings: Vec::new(),
        elapsed_ms: 0,
        check: cfg.check,
        allow_empty: cfg.allow_empty,
        per_file: cfg.per_file,
    };
    if cfg.patterns.is_empty() {
        return Ok(report);
    }
    // 1. Validate: nothing is touched on bad input.
    check_prefix(&cfg.prefix).map_err(|e| Error::Usage(format!("--prefix / CDN_PREFIX: {e}")))?;
    let server = resolve_server(&cfg.server)
        .map_err(|e| Error::Usage(format!("{}: {e}", cfg.server_origin)))?;
    report.warnings.extend(
        server
            .warning
            .iter()
            .map(|w| format!("{}: {w}", cfg.server_origin)),
    );
    let root = scan::canonical_root(&cfg.root)?;
    let store = StateStore::new(state_dir(cfg, &root)?);
    if store.dir().starts_with(&root) {
        report.warnings.push(format!(
            "the render state is kept inside the web root ({}): deny it in nginx (docs/container.md) or move it with --state-dir",
            store.dir().display()
        ));
    }
    let selection = scan::select(&root, &cfg.patterns, Some(store.dir()))?;
    if !selection.unmatched.is_empty() {
        let quoted: Vec<String> = selection
            .unmatched
            .iter()
            .map(|p| format!("{p:?}"))
            .collect();
        let msg = format!(
            "no file under {} matches {}",
            root.display(),
            quoted.join(", ")
        );
        if cfg.strict {
            return Err(Error::Usage(format!("{msg} (--strict)")));
        }
        report.warnings.push(msg);
    }
    // From here on files may change. The lock is held until the run ends, so concurrent runs
    // on one root take turns.
    let _lock = if cfg.dry_run {
        None
    } else {
        Some(store.lock()?)
    };
    if !cfg.dry_run {
        remove_stale_temps(&selection.stale_temps);
    }
    let mut state = store.load()?;
    tracing::debug!(
        "selected {} files in {:?}",
        selection.files.len(),
        started.elapsed()
    );
    // 2. Plan every file in memory.
    let renderer = Renderer::new(&cfg.prefix, &server);
    let planned: Vec<Result<Plan, (Selected, Error)>> = selection
        .files
        .into_par_iter()
        .map(|file| plan(&state, &renderer, file))
        .collect();
    let (plans, failures): (Vec<_>, Vec<_>) = planned.into_iter().partition(|p| p.is_ok());
    let plans: Vec<Plan> = plans.into_iter().filter_map(Result::ok).collect();
    tracing::debug!(
        "planned (read, rendered, hashed) in {:?}",
        started.elapsed()
    );
    // 3. Record what is about to be written, before anything is.
    let dirty: Vec<&Plan> = plans
        .iter()
        .filter(|p| p.changed || p.found.origin != Origin::Kept)
        .collect();
    if !cfg.dry_run && !dirty.is_empty() {
        for p in &dirty {
            state.record(
                &rel_key(&p.file),
                &p.found,
                &p.rendered,
                &server.value,
                &cfg.prefix,
            );
        }
        store.save(&state, WriteOptions { fsync: cfg.fsync })?;
    }
    // 4. Write.
    let writer = Writer {
        cfg,
        write: WriteOptions { fsync: cfg.fsync },
    };
    // One writer per core: more only adds file-system lock contention (measured: 32 writers
    // take 2.3x the time of 2 on ext4).
    let written: Vec<(FileOutcome, Vec<String>)> = plans
        .par_iter()
        .map(|p| writer.write(p, &renderer))
        .collect();
    tracing::debug!("state saved and files written in {:?}", started.elapsed());
    for (outcome, warnings) in written {
        report.files.push(outcome);
        report.warnings.extend(warnings);
    }
    for failure in failures.into_iter().filter_map(Result::err) {
        report.files.push(failed_outcome(&failure.0, &failure.1));
    }
    report.files.sort_by(|a, b| a.path.cmp(&b.path));
    report.unmatched = selection.unmatched;
    report.root = root;
    report.state_dir = store.dir().to_path_buf();
    report.server = server.value;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The state's key for a file: its path relative to the root, `/`-separated.
fn rel_key(file: &Selected) -> String {
    crate::util::platform::slash_path_lossy(&file.rel)
}

fn plan(
    state: &crate::site::state::State,
    renderer: &Renderer,
    file: Selected,
) -> Result<Plan, (Selected, Error)> {
    let current = match fs::read(&file.path) {
        Ok(c) => c,
        Err(e) => {
            let err = Error::io("read", &file.path, e);
            return Err((file, err));
        }
    };
    let found = state.template_for(&rel_key(&file), &current);
    let rendered = renderer.render(&found.template);
    let changed = rendered.bytes != current;
    Ok(Plan {
        file,
        found,
        rendered,
        changed,
    })
}

fn failed_outcome(file: &Selected, error: &Error) -> FileOutcome {
    FileOutcome {
        path: rel_key(file),
        replacements: 0,
        slashes_consumed: 0,
        changed: false,
        template: Origin::New,
        siblings: Vec::new(),
        siblings_ms: 0,
        remaining: 0,
        error: Some(error.to_string()),
    }
}

/// Remove temp files a killed run left (safe: we hold the state's lock, so no run is writing).
fn remove_stale_temps(paths: &[PathBuf]) {
    for p in paths {
        match fs::remove_file(p) {
            Ok(()) => tracing::debug!("removed {}, left by an interrupted run", p.display()),
            Err(e) => tracing::warn!(
                "could not remove {}, left by an interrupted run: {e}",
                p.display()
            ),
        }
    }
}

fn state_dir(cfg: &RewriteConfig, root: &Path) -> Result<PathBuf> {
    let dir = match &cfg.state_dir {
        Some(d) => d.clone(),
        None => StateStore::pick_dir(root, !cfg.dry_run).ok_or_else(|| {
            Error::Usage(format!(
                "no directory to keep the render state of {} can be written (tried: {}); set --state-dir / CDNPUB_STATE_DIR",
                root.display(),
                StateStore::candidate_dirs(root)
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?,
    };
    // Canonicalise what exists so "inside the root" comparisons hold through symlinks.
    Ok(fs::canonicalize(&dir).unwrap_or_else(|_| std::path::absolute(&dir).unwrap_or(dir)))
}

/// Writes planned files.
struct Writer<'a> {
    cfg: &'a RewriteConfig,
    write: WriteOptions,
}

impl Writer<'_> {
    fn write(&self, p: &Plan, renderer: &Renderer) -> (FileOutcome, Vec<String>) {
        let mut warnings = Vec::new();
        let mut out = FileOutcome {
            path: rel_key(&p.file),
            replacements: p.rendered.at.len(),
            slashes_consumed: p.rendered.slash.len(),
            changed: p.changed,
            template: p.found.origin,
            siblings: Vec::new(),
            siblings_ms: 0,
            remaining: renderer.count(&p.rendered.bytes),
            error: None,
        };
        if p.found.origin == Origin::Adopted {
            warnings.push(format!(
                "{}: changed since the last rewrite (a new deploy?): its current content is the new template",
                out.path
            ));
        }
        if !p.changed {
            return (out, warnings);
        }
        let siblings = existing_siblings(&p.file.path);
        if self.cfg.dry_run {
            out.siblings = siblings.iter().map(|(_, s)| display_name(s)).collect();
            return (out, warnings);
        }
        let started = Instant::now();
        let result = self
            .write_siblings(&siblings, &p.rendered.bytes, &mut out, &mut warnings)
            .and_then(|()| {
                out.siblings_ms = started.elapsed().as_millis() as u64;
                // The file itself last: it is the commit point a re-run looks at.
                atomic::replace(&p.file.path, &p.rendered.bytes, self.write)
            });
        match result {
            Ok(w) => warnings.extend(w),
            Err(e) => out.error = Some(e.to_string()),
        }
        (out, warnings)
    }

    fn write_siblings(
        &self,
        siblings: &[(Sibling, PathBuf)],
        content: &[u8],
        out: &mut FileOutcome,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        let results: Vec<Result<Option<String>>> = siblings
            .par_iter()
            .map(|(kind, path)| {
                let encoded = match kind {
                    Sibling::Gzip => compress::gzip(content, self.cfg.gzip_level),
                    Sibling::Brotli => compress::brotli(content, self.cfg.brotli_quality),
                };
                atomic::replace(path, &encoded, self.write)
            })
            .collect();
        for ((_, path), r) in siblings.iter().zip(results) {
            warnings.extend(r?);
            out.siblings.push(display_name(path));
        }
        Ok(())
    }
}

/// The `.gz` / `.br` siblings of `path` that exist as regular files.
fn existing_siblings(path: &Path) -> Vec<(Sibling, PathBuf)> {
    Sibling::ALL
        .iter()
        .map(|&s| {
            let mut p = path.as_os_str().to_owned();
            p.push(s.ext());
            (s, PathBuf::from(p))
        })
        .filter(|(_, p)| fs::symlink_metadata(p).is_ok_and(|m| m.is_file()))
        .collect()
}

fn display_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
