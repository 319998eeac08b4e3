//! The built tree as it is on disk, checked against its manifest before an upload plans
//! anything: a file changed since the build, a file the build never saw and a file gone are
//! found here, so an upload never reports "unchanged" while the store keeps other bytes.
//!
//! `build` leaves `.cdnpub/stat.json` beside the manifest: the size and modification time of
//! every file it wrote. A file whose size and time still match is taken as built; any other is
//! hashed and compared with the manifest. (The stat file is the one file of a build that is not
//! deterministic; it is never uploaded.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Instant, UNIX_EPOCH};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::site::manifest::{FileRecord, Manifest};
use crate::site::state::sha256_hex;

/// Where the stat file lives inside a built tree.
pub const STAT_PATH: &str = ".cdnpub/stat.json";

/// Size and modification time (ns since the epoch) of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: u128,
}

/// What the check found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TreeCheck {
    /// Files whose bytes differ from the build's and may be sent as they are now (no-cache
    /// files: their names promise nothing); their precompressed siblings are not used.
    pub changed: Vec<String>,
    /// Files in the tree the manifest does not know, sent as unbuilt no-cache files.
    pub added: Vec<String>,
    /// Files hashed because size or time disagreed with the stat file.
    pub hashed: usize,
    /// Time the check took, in milliseconds.
    pub elapsed_ms: f64,
}

/// The stat of `path`, None when it cannot be read.
pub fn stat(path: &Path) -> Option<Stat> {
    let m = std::fs::metadata(path).ok()?;
    let mtime_ns = m
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(Stat {
        size: m.len(),
        mtime_ns,
    })
}

/// Write the stat file of a freshly built tree `dir` for the files of `manifest`.
pub fn write_stats(dir: &Path, manifest: &Manifest) -> Result<()> {
    let stats: BTreeMap<&str, Stat> = manifest
        .files
        .iter()
        .flat_map(|f| {
            std::iter::once(f.path.as_str()).chain(f.encodings.iter().map(|e| e.path.as_str()))
        })
        .filter_map(|p| Some((p, stat(&dir.join(p))?)))
        .collect();
    let bytes = serde_json::to_vec(&stats).unwrap_or_default();
    let path = dir.join(STAT_PATH);
    std::fs::write(&path, bytes).map_err(|e| Error::io("write", &path, e))
}

fn read_stats(dir: &Path) -> BTreeMap<String, Stat> {
    std::fs::read(dir.join(STAT_PATH))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Compare the tree `dir` with `manifest` and bring the manifest in line with what will be
/// sent. Refused (exit 2, naming every file): a file gone, a changed file whose name promises
/// its content (immutable), a changed precompressed sibling. Changed no-cache files are
/// re-hashed; files the build did not write are added as no-cache files.
pub fn reconcile(dir: &Path, manifest: &mut Manifest) -> Result<TreeCheck> {
    let started = Instant::now();
    let stats = read_stats(dir);
    let expected: Vec<(usize, Option<usize>, String, String, u64)> = manifest
        .files
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            std::iter::once((i, None, f.path.clone(), f.sha256.clone(), f.size)).chain(
                f.encodings
                    .iter()
                    .enumerate()
                    .map(move |(k, e)| (i, Some(k), e.path.clone(), e.sha256.clone(), e.size)),
            )
        })
        .collect();
    // (file, sibling, now: Some((sha, size)) when it differs, hashed?) or gone.
    type Seen = (
        usize,
        Option<usize>,
        String,
        std::result::Result<Option<(String, u64)>, ()>,
        bool,
    );
    let seen: Vec<Seen> = expected
        .par_iter()
        .map(|(i, k, rel, sha, size)| {
            let path = dir.join(rel);
            let Some(now) = stat(&path) else {
                return Ok((*i, *k, rel.clone(), Err(()), false));
            };
            if now.size == *size && stats.get(rel) == Some(&now) {
                return Ok((*i, *k, rel.clone(), Ok(None), false));
            }
            let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            let digest = sha256_hex(&bytes);
            let len = bytes.len() as u64;
            let differs = (digest != *sha || len != *size).then_some((digest, len));
            Ok((*i, *k, rel.clone(), Ok(differs), true))
        })
        .collect::<Result<_>>()?;
    let mut check = TreeCheck {
        hashed: seen.iter().filter(|s| s.4).count(),
        ..TreeCheck::default()
    };
    let (mut gone, mut refused) = (Vec::new(), Vec::new());
    for (i, k, rel, state, _) in seen {
        match state {
            Err(()) => gone.push(rel),
            Ok(None) => {}
            Ok(Some((sha, size))) => {
                let f = &mut manifest.files[i];
                if k.is_some() || f.immutable {
                    refused.push(rel);
                } else {
                    f.sha256 = sha;
                    f.size = size;
                    f.encodings.clear();
                    check.changed.push(rel);
                }
            }
        }
    }
    if !gone.is_empty() || !refused.is_empty() {
        let mut lines = Vec::new();
        if !gone.is_empty() {
            lines.push(format!("gone since the build: {}", gone.join(", ")));
        }
        if !refused.is_empty() {
            lines.push(format!(
                "changed since the build, and their names promise the built content (immutable, or a precompressed sibling): {}",
                refused.join(", ")
            ));
        }
        return Err(Error::Broken(format!(
            "{}: the tree is not the one `cdnpub build` wrote; nothing was uploaded.\n  {}\n  Rebuild (cdnpub build SRC --out {}) after the step that changes the tree, or change files before the build",
            dir.display(),
            lines.join("\n  "),
            dir.display()
        )));
    }
    check.added = added_files(dir, manifest)?;
    for rel in &check.added {
        let path = dir.join(rel);
        let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
        manifest.files.push(FileRecord {
            path: rel.clone(),
            source: rel.clone(),
            sha256: sha256_hex(&bytes),
            size: bytes.len() as u64,
            content_type: crate::site::classify::content_type(rel),
            immutable: false,
            encodings: Vec::new(),
        });
    }
    manifest.files.sort_by(|a, b| a.path.cmp(&b.path));
    check.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(check)
}

/// Regular files under `dir` (outside `.cdnpub/`) that the manifest names neither as a file nor
/// as a sibling. Links are refused: a link could lead out of the tree.
fn added_files(dir: &Path, manifest: &Manifest) -> Result<Vec<String>> {
    let known: BTreeSet<&str> = manifest
        .files
        .iter()
        .flat_map(|f| {
            std::iter::once(f.path.as_str()).chain(f.encodings.iter().map(|e| e.path.as_str()))
        })
        .collect();
    let mut added = Vec::new();
    let walk = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() != 1 || e.file_name() != ".cdnpub");
    for entry in walk {
        let entry = entry.map_err(|e| Error::io("read directory", dir, e.into()))?;
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let Some(rel) = crate::util::platform::slash_path(rel) else {
            return Err(Error::Usage(format!(
                "{}: file names must be UTF-8 to be served by URL",
                entry.path().display()
            )));
        };
        if known.contains(rel.as_str()) {
            continue;
        }
        if entry.file_type().is_symlink() {
            return Err(Error::Usage(format!(
                "{} is a link added after the build; copy the file in or remove the link",
                entry.path().display()
            )));
        }
        added.push(rel);
    }
    Ok(added)
}
