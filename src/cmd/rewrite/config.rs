//! What `rewrite` needs, resolved.

use std::path::PathBuf;

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
