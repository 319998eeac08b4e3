//! The objects of a built tree: from its manifest (checked against the disk first, see
//! [`crate::site::tree`]), or by scanning a directory cdnpub did not build. Blocking file-system
//! and hashing work: callers on the async runtime run it with `spawn_blocking`.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Encoding, LocalObject, IMMUTABLE, NO_CACHE};
use crate::error::{Error, Result};
use crate::release::Object;
use crate::site::classify::{self, Naming};
use crate::site::headers::{HeaderRules, Headers};
use crate::site::manifest::{FileRecord, Manifest};
use crate::site::state::sha256_hex;
use crate::site::tree::TreeCheck;

/// How the tree's files become objects.
#[derive(Debug, Clone)]
pub struct Choices<'a> {
    /// Cache-Control / Content-Type overrides per glob.
    pub headers: &'a HeaderRules,
    /// Variant stored under plain keys.
    pub encoding: Encoding,
    /// Also store .gz/.br siblings under their own keys.
    pub siblings: bool,
    /// With `siblings`, on buckets only: every compressible file gets both sibling keys, the
    /// plain bytes without Content-Encoding where the build made no smaller variant, so an
    /// edge that rewrites by extension alone (contrib/cloudfront/encoding.js) never misses.
    pub fill_siblings: bool,
}

/// The objects of the tree at `dir`, sorted by key, and what the check of the tree found.
pub fn objects(dir: &Path, choices: &Choices) -> Result<(Vec<LocalObject>, TreeCheck)> {
    let (manifest, tree) = match Manifest::read(dir)? {
        Some(mut m) => {
            let check = crate::site::tree::reconcile(dir, &mut m)?;
            (m, check)
        }
        None => (scan_manifest(dir)?, TreeCheck::default()),
    };
    let mut out = Vec::new();
    for f in &manifest.files {
        out.extend(objects_of(dir, f, choices));
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok((out, tree))
}

/// The object(s) one manifest entry becomes: the plain key (holding the chosen encoding when
/// the build made it) and, with `siblings`, each compressed variant under its own key.
fn objects_of(dir: &Path, f: &FileRecord, choices: &Choices) -> Vec<LocalObject> {
    let headers = choices.headers.apply(
        &[f.path.as_str(), f.source.as_str()],
        Headers {
            content_type: f.content_type.clone(),
            cache_control: if f.immutable { IMMUTABLE } else { NO_CACHE }.to_string(),
        },
    );
    let object = |sha256: &str, size: u64, encoding: Option<&str>| Object {
        sha256: sha256.to_string(),
        size,
        content_type: headers.content_type.clone(),
        cache_control: headers.cache_control.clone(),
        content_encoding: encoding.map(str::to_owned),
    };
    let wanted = choices.encoding.content_encoding();
    let plain = match f
        .encodings
        .iter()
        .find(|e| Some(e.encoding.as_str()) == wanted)
    {
        Some(e) => LocalObject {
            key: f.path.clone(),
            path: dir.join(&e.path),
            object: object(&e.sha256, e.size, Some(&e.encoding)),
            immutable: f.immutable,
        },
        None => LocalObject {
            key: f.path.clone(),
            path: dir.join(&f.path),
            object: object(&f.sha256, f.size, None),
            immutable: f.immutable,
        },
    };
    let mut out = vec![plain];
    if choices.siblings {
        out.extend(f.encodings.iter().map(|e| LocalObject {
            key: e.path.clone(),
            path: dir.join(&e.path),
            object: object(&e.sha256, e.size, Some(&e.encoding)),
            immutable: f.immutable,
        }));
        if choices.fill_siblings && classify::compressible(&f.path) {
            for (name, ext) in [("gzip", ".gz"), ("br", ".br")] {
                if !f.encodings.iter().any(|e| e.encoding == name) {
                    out.push(LocalObject {
                        key: format!("{}{ext}", f.path),
                        path: dir.join(&f.path),
                        object: object(&f.sha256, f.size, None),
                        immutable: f.immutable,
                    });
                }
            }
        }
    }
    out
}

/// The key of `path` under `dir`: refused, before anything is sent, when no store can take it
/// (a name that is not UTF-8, served by no URL; a key longer than S3's 1,024 bytes).
fn key_of(dir: &Path, path: &Path) -> Result<String> {
    let rel = path.strip_prefix(dir).unwrap_or(path);
    let Some(key) = crate::util::platform::slash_path(rel) else {
        return Err(Error::Usage(format!(
            "{}: the file name is not UTF-8, so no URL can name it; rename it (nothing was uploaded)",
            path.display()
        )));
    };
    if key.len() > 1024 {
        return Err(Error::Usage(format!(
            "{}: its key is {} bytes, more than the 1,024 an S3 key may have; shorten the path (nothing was uploaded)",
            path.display(),
            key.len()
        )));
    }
    Ok(key)
}

/// A manifest for a directory cdnpub did not build: every file, hashed, typed, immutable when
/// a bundler hashed its name.
fn scan_manifest(dir: &Path) -> Result<Manifest> {
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "{} is not a directory; give the built tree to upload",
            dir.display()
        )));
    }
    let naming = Naming::new(&[], classify::DEFAULT_HASHED_PATTERN)?;
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| Error::io("read directory", dir, e.into()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = key_of(dir, entry.path())?;
        if rel.starts_with(".cdnpub/") {
            continue;
        }
        let bytes = std::fs::read(entry.path()).map_err(|e| Error::io("read", entry.path(), e))?;
        files.push(FileRecord {
            immutable: naming.bundler_hashed(&rel) && !naming.keeps_name(&rel),
            content_type: classify::content_type(&rel),
            sha256: sha256_hex(&bytes),
            size: bytes.len() as u64,
            source: rel.clone(),
            path: rel,
            encodings: Vec::new(),
        });
    }
    Ok(Manifest {
        version: crate::site::manifest::VERSION,
        hash_length: 0,
        files,
        renamed: BTreeMap::new(),
    })
}
