//! `cdnpub rewrite`: render placeholders in served files, in place, atomically and re-runnably,
//! regenerating existing `.gz` / `.br` siblings from the new content.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::atomic::{self, WriteOptions};
use crate::compress;
use crate::config::RewriteConfig;
use crate::error::{Error, Result};
use crate::placeholder::{check_prefix, resolve_server, Renderer};
use crate::scan::{self, Selected};
use crate::templates::{sha256_hex, Origin, TemplateStore};

/// Precompressed sibling kinds nginx serves (gzip_static, brotli_static).
const SIBLINGS: [Sibling; 2] = [Sibling::Gzip, Sibling::Brotli];

#[derive(Debug, Clone, Copy)]
enum Sibling {
    Gzip,
    Brotli,
}

impl Sibling {
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
    /// Siblings regenerated (`index.html.gz` …).
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
    /// Template store directory.
    pub template_dir: PathBuf,
    /// Nothing was written.
    pub dry_run: bool,
    /// One entry per selected file, sorted by path.
    pub files: Vec<FileOutcome>,
    /// Globs that matched nothing.
    pub unmatched: Vec<String>,
    /// Warnings (fallback server, unmatched globs, ownership).
    pub warnings: Vec<String>,
    /// Wall time of the run in milliseconds.
    pub elapsed_ms: u64,
    /// Whether `--check` was asked for.
    #[serde(skip)]
    pub check: bool,
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
        if self.check && !remaining.is_empty() {
            return Err(Error::CheckFailed(format!(
                "placeholders remain after rendering:\n{}",
                remaining.join("\n")
            )));
        }
        Ok(())
    }
}

/// Everything a worker needs for one file.
struct Job<'a> {
    renderer: &'a Renderer,
    store: &'a TemplateStore,
    cfg: &'a RewriteConfig,
    write: WriteOptions,
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
        template_dir: PathBuf::new(),
        dry_run: cfg.dry_run,
        files: Vec::new(),
        unmatched: Vec::new(),
        warnings: Vec::new(),
        elapsed_ms: 0,
        check: cfg.check,
    };
    if cfg.patterns.is_empty() {
        return Ok(report);
    }
    check_prefix(&cfg.prefix).map_err(|e| Error::Usage(format!("--prefix / CDN_PREFIX: {e}")))?;
    let server = resolve_server(&cfg.server)
        .map_err(|e| Error::Usage(format!("{}: {e}", cfg.server_origin)))?;
    report.warnings.extend(
        server
            .warning
            .iter()
            .map(|w| format!("{w} (from {})", cfg.server_origin)),
    );
    let root = scan::canonical_root(&cfg.root)?;
    let store = TemplateStore::new(template_dir(cfg, &root)?);
    if store.dir().starts_with(&root) {
        report.warnings.push(format!(
            "templates are kept inside the web root ({}): deny them in nginx (see the README) or move them with --template-dir",
            store.dir().display()
        ));
    }
    let selection = scan::select(&root, &cfg.patterns, Some(store.dir()))?;
    if !selection.unmatched.is_empty() {
        let msg = format!(
            "no file under {} matches {}",
            root.display(),
            selection
                .unmatched
                .iter()
                .map(|p| format!("{p:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if cfg.strict {
            return Err(Error::Usage(format!("{msg} (--strict)")));
        }
        report.warnings.push(msg);
    }
    // Everything is validated: from here on files may change. The lock is held until the run
    // ends, so concurrent runs on one root take turns.
    let _lock = if cfg.dry_run {
        None
    } else {
        Some(store.lock()?)
    };
    if !cfg.dry_run {
        remove_stale_temps(&selection.stale_temps);
    }
    let job = Job {
        renderer: &Renderer::new(&cfg.prefix, &server),
        store: &store,
        cfg,
        write: WriteOptions { fsync: cfg.fsync },
    };
    let results: Vec<(FileOutcome, Vec<String>)> =
        selection.files.par_iter().map(|f| job.process(f)).collect();
    for (outcome, warnings) in results {
        report.files.push(outcome);
        report.warnings.extend(warnings);
    }
    report.unmatched = selection.unmatched;
    report.root = root;
    report.template_dir = store.dir().to_path_buf();
    report.server = server.value.clone();
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Remove temp files a killed run left (safe: we hold the store's lock, so no run is writing).
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

fn template_dir(cfg: &RewriteConfig, root: &Path) -> Result<PathBuf> {
    let dir = match &cfg.template_dir {
        Some(d) => d.clone(),
        None => TemplateStore::default_dir(root).ok_or_else(|| {
            Error::Usage(format!(
                "root {} has no parent directory to keep templates beside; set --template-dir / CDNPUB_TEMPLATE_DIR",
                root.display()
            ))
        })?,
    };
    // Canonicalise the part that exists so "inside the root" comparisons hold through symlinks.
    Ok(fs::canonicalize(&dir).unwrap_or_else(|_| std::path::absolute(&dir).unwrap_or(dir)))
}

impl Job<'_> {
    fn process(&self, file: &Selected) -> (FileOutcome, Vec<String>) {
        let mut outcome = FileOutcome {
            path: file.rel.to_string_lossy().into_owned(),
            replacements: 0,
            slashes_consumed: 0,
            changed: false,
            template: Origin::New,
            siblings: Vec::new(),
            siblings_ms: 0,
            remaining: 0,
            error: None,
        };
        let mut warnings = Vec::new();
        if let Err(e) = self.render_file(file, &mut outcome, &mut warnings) {
            outcome.error = Some(e.to_string());
        }
        (outcome, warnings)
    }

    fn render_file(
        &self,
        file: &Selected,
        out: &mut FileOutcome,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        let current = fs::read(&file.path).map_err(|e| Error::io("read", &file.path, e))?;
        let (template, origin) = self.store.template_for(&file.rel, &current)?;
        let rendered = self.renderer.render(&template);
        out.template = origin;
        out.replacements = rendered.replacements;
        out.slashes_consumed = rendered.slashes_consumed;
        out.remaining = self.renderer.count(&rendered.bytes);
        out.changed = rendered.bytes != current;
        if origin == Origin::Adopted {
            warnings.push(format!(
                "{}: changed since the last rewrite (a new deploy?): its current content is the new template",
                out.path
            ));
        }
        if self.cfg.dry_run {
            out.siblings = self
                .existing_siblings(&file.path)
                .iter()
                .map(|(_, p)| display_name(p))
                .collect();
            return Ok(());
        }
        if out.changed || origin != Origin::Kept {
            self.store.record(
                &file.rel,
                &template,
                origin,
                &sha256_hex(&rendered.bytes),
                self.write,
            )?;
        }
        if !out.changed {
            return Ok(());
        }
        let started = Instant::now();
        out.siblings = self.write_siblings(&file.path, &rendered.bytes, warnings)?;
        out.siblings_ms = started.elapsed().as_millis() as u64;
        // The file itself last: it is the commit point a re-run looks at.
        warnings.extend(atomic::replace(&file.path, &rendered.bytes, self.write)?);
        Ok(())
    }

    fn existing_siblings(&self, path: &Path) -> Vec<(Sibling, PathBuf)> {
        SIBLINGS
            .iter()
            .map(|&s| {
                let mut p = path.as_os_str().to_owned();
                p.push(s.ext());
                (s, PathBuf::from(p))
            })
            .filter(|(_, p)| fs::symlink_metadata(p).is_ok_and(|m| m.is_file()))
            .collect()
    }

    fn write_siblings(
        &self,
        path: &Path,
        content: &[u8],
        warnings: &mut Vec<String>,
    ) -> Result<Vec<String>> {
        let results: Vec<Result<(String, Option<String>)>> = self
            .existing_siblings(path)
            .into_par_iter()
            .map(|(kind, sib)| {
                let encoded = match kind {
                    Sibling::Gzip => compress::gzip(content, self.cfg.gzip_level),
                    Sibling::Brotli => compress::brotli(content, self.cfg.brotli_quality),
                };
                let warning = atomic::replace(&sib, &encoded, self.write)?;
                Ok((display_name(&sib), warning))
            })
            .collect();
        let mut names = Vec::new();
        for r in results {
            let (name, warning) = r?;
            names.push(name);
            warnings.extend(warning);
        }
        Ok(names)
    }
}

fn display_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
