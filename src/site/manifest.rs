//! `manifest.json`: the contract between `build` and the steps after it. One record per output
//! file (sorted by path) and a Vite-style `original → fingerprinted` map. No timestamps: the same
//! input gives the same bytes.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where the manifest lives inside a built tree.
pub const MANIFEST_PATH: &str = ".cdnpub/manifest.json";
/// The manifest format version.
pub const VERSION: u32 = 1;

/// A precompressed variant of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Encoding {
    /// `gzip` or `br` (the Content-Encoding value).
    pub encoding: String,
    /// Path of the sibling relative to the tree (`app.3f9a1c2b1d.js.br`).
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 (hex) of its bytes.
    pub sha256: String,
}

/// One output file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    /// Path relative to the tree (final name).
    pub path: String,
    /// Path of the input file it came from, relative to SRC.
    pub source: String,
    /// SHA-256 (hex) of its bytes.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Content-Type to serve it with.
    pub content_type: String,
    /// True when its name changes whenever its content does (cache for a year).
    pub immutable: bool,
    /// Precompressed siblings written beside it, smallest first.
    pub encodings: Vec<Encoding>,
}

/// A Vite-compatible entry: `{"file": "assets/app.3f9a1c2b1d.js"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViteEntry {
    /// The fingerprinted path.
    pub file: String,
}

/// The whole manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version.
    pub version: u32,
    /// Hex characters of content hash in fingerprinted names.
    pub hash_length: usize,
    /// Every output file, sorted by path.
    pub files: Vec<FileRecord>,
    /// Original path → fingerprinted path, for renamed files only (Vite's manifest shape).
    pub renamed: BTreeMap<String, ViteEntry>,
}

impl Manifest {
    /// Read the manifest of a built tree; None when `dir` has none (cdnpub did not build it).
    /// A damaged manifest is an error naming it.
    pub fn read(dir: &std::path::Path) -> crate::Result<Option<Manifest>> {
        let path = dir.join(MANIFEST_PATH);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let version = serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|v| v.get("version").and_then(serde_json::Value::as_u64));
                if let Some(v) = version.filter(|&v| v != u64::from(VERSION)) {
                    return Err(crate::Error::Config {
                        path,
                        message: format!(
                            "manifest version {v} is not one this cdnpub reads (version {VERSION}); rebuild with this \
                             cdnpub (`cdnpub build`) or use the cdnpub that built it"
                        ),
                    });
                }
                let m: Manifest =
                    serde_json::from_slice(&bytes).map_err(|e| crate::Error::Config {
                        path: path.clone(),
                        message: format!(
                            "the build manifest is damaged ({e}); rebuild with `cdnpub build`"
                        ),
                    })?;
                check_paths(&m, &path)?;
                Ok(Some(m))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(crate::Error::io("read", path, e)),
        }
    }

    /// Serialise deterministically (sorted records, pretty JSON, trailing newline).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut m = self.clone();
        m.files.sort_by(|a, b| a.path.cmp(&b.path));
        let mut out = serde_json::to_vec_pretty(&m).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

/// A manifest path must stay inside the tree: relative, no `..`, no empty segments.
pub fn confined(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// Check the manifest's paths: every one inside the tree, or an error naming it.
pub fn check_paths(manifest: &Manifest, manifest_path: &Path) -> Result<()> {
    for f in &manifest.files {
        for p in std::iter::once(&f.path)
            .chain(std::iter::once(&f.source))
            .chain(f.encodings.iter().map(|e| &e.path))
        {
            if !confined(p) {
                return Err(Error::Config {
                    path: manifest_path.to_path_buf(),
                    message: format!(
                        "the path {p:?} leaves the tree (absolute, `..` or empty segments); the manifest is damaged or \
                         was not written by cdnpub: rebuild with `cdnpub build`"
                    ),
                });
            }
        }
    }
    Ok(())
}
