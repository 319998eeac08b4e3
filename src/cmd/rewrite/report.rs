//! What `rewrite` reports: per file and for the run.

use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::site::state::Origin;

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
