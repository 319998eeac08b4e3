//! The precompressed siblings nginx serves next to a file (`index.html.gz` for gzip_static,
//! `index.html.br` for brotli_static): which exist, and regenerating them from new content,
//! each written atomically. `rewrite` regenerates those that exist before the file itself.

use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::Result;
use crate::site::compress;
use crate::util::atomic::{self, WriteOptions};

/// Precompressed sibling kinds nginx serves (gzip_static, brotli_static).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sibling {
    /// `.gz`.
    Gzip,
    /// `.br`.
    Brotli,
}

impl Sibling {
    /// Both kinds.
    pub const ALL: [Sibling; 2] = [Sibling::Gzip, Sibling::Brotli];

    /// The suffix (`.gz`, `.br`).
    pub fn ext(self) -> &'static str {
        match self {
            Sibling::Gzip => ".gz",
            Sibling::Brotli => ".br",
        }
    }
}

/// The `.gz` / `.br` siblings of `path` that exist as regular files.
pub fn existing(path: &Path) -> Vec<(Sibling, PathBuf)> {
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

/// The file name of `p`, for reports.
pub fn name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Write each of `siblings` from `content` (gzip level, brotli quality in `levels`), in
/// parallel; their names and the writes' warnings.
pub fn regenerate(
    siblings: &[(Sibling, PathBuf)],
    content: &[u8],
    levels: (u32, u32),
    write: WriteOptions,
) -> Result<(Vec<String>, Vec<String>)> {
    let results: Vec<Result<Option<String>>> = siblings
        .par_iter()
        .map(|(kind, path)| {
            let encoded = match kind {
                Sibling::Gzip => compress::gzip(content, levels.0),
                Sibling::Brotli => compress::brotli(content, levels.1),
            };
            atomic::replace(path, &encoded, write)
        })
        .collect();
    let (mut names, mut warnings) = (Vec::new(), Vec::new());
    for ((_, path), r) in siblings.iter().zip(results) {
        warnings.extend(r?);
        names.push(name(path));
    }
    Ok((names, warnings))
}
