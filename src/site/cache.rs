//! A content-addressed cache of compressed outputs, so a rebuild recompresses only what changed.
//!
//! An entry is keyed by the encoder and its setting (`gzip-9`, `br-11`), and the SHA-256 of the
//! input bytes: `<dir>/<namespace>/<encoder>/<ab>/<sha256>`. The namespace names the cdnpub
//! version, so another encoder build never serves its bytes. An entry is `MAGIC`, the SHA-256 of
//! the payload, then the payload; one that fails that check (a torn write, a flipped bit, a
//! truncated file) is recomputed and rewritten, never served. Entries are written to a temporary
//! file beside them and renamed into place, so concurrent builds sharing the directory only ever
//! see whole entries. After a build the directory is trimmed to its size bound, least recently
//! used entries first (a hit refreshes an entry's modification time).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The first bytes of every entry.
const MAGIC: &[u8; 8] = b"CDNPUBZ1";
/// Bytes before the payload: the magic and the payload's SHA-256.
const HEADER: usize = MAGIC.len() + 32;

/// Default size bound of the cache directory (MiB).
pub const DEFAULT_MAX_MIB: u32 = 1024;

/// Where the cache lives and how large it may grow.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheConfig {
    /// The cache directory (created when missing).
    pub dir: PathBuf,
    /// Trim to this many bytes after a build.
    pub max_bytes: u64,
}

/// What the cache did during one build.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CacheStats {
    /// The cache directory.
    pub dir: PathBuf,
    /// Outputs served from the cache.
    pub hits: u64,
    /// Outputs computed (and stored).
    pub misses: u64,
    /// Damaged entries found, recomputed and rewritten.
    pub repaired: u64,
    /// Entries that could not be written (the build goes on without them).
    pub write_errors: u64,
    /// Entries removed to stay within the size bound.
    pub evicted: u64,
}

/// An open cache.
#[derive(Debug)]
pub struct Cache {
    root: PathBuf,
    dir: PathBuf,
    max_bytes: u64,
    hits: AtomicU64,
    misses: AtomicU64,
    repaired: AtomicU64,
    write_errors: AtomicU64,
}

impl Cache {
    /// Open (creating) the cache described by `cfg`.
    pub fn open(cfg: &CacheConfig) -> crate::error::Result<Cache> {
        let dir = cfg
            .dir
            .join(format!("cdnpub-{}", env!("CARGO_PKG_VERSION")));
        fs::create_dir_all(&dir).map_err(|e| {
            crate::error::Error::io(
                "create the compression cache (--cache-dir, or --no-cache)",
                &dir,
                e,
            )
        })?;
        Ok(Cache {
            root: cfg.dir.clone(),
            dir,
            max_bytes: cfg.max_bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            repaired: AtomicU64::new(0),
            write_errors: AtomicU64::new(0),
        })
    }

    /// The output of `encoder` (`gzip-9`) for the input whose SHA-256 is `input_sha`: from the
    /// cache when a sound entry exists, else `compute()`, stored for the next build.
    pub fn get_or_compute(
        &self,
        encoder: &str,
        input_sha: &str,
        compute: impl FnOnce() -> Vec<u8>,
    ) -> Vec<u8> {
        let path = self.entry_path(encoder, input_sha);
        match fs::read(&path) {
            Ok(bytes) => match payload(&bytes) {
                Some(p) => {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    touch(&path);
                    return p.to_vec();
                }
                None => {
                    self.repaired.fetch_add(1, Ordering::Relaxed);
                }
            },
            Err(_) => {
                self.misses.fetch_add(1, Ordering::Relaxed);
            }
        }
        let out = compute();
        if store(&path, &out).is_err() {
            self.write_errors.fetch_add(1, Ordering::Relaxed);
        }
        out
    }

    /// Remove least recently used entries (every version's) until the directory holds at most
    /// the size bound; returns the counts of the build.
    /// Outputs served from the cache so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// What the cache served and computed, once the build is done.
    pub fn finish(&self) -> CacheStats {
        let evicted = trim(&self.root, self.max_bytes);
        CacheStats {
            dir: self.root.clone(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            repaired: self.repaired.load(Ordering::Relaxed),
            write_errors: self.write_errors.load(Ordering::Relaxed),
            evicted,
        }
    }

    fn entry_path(&self, encoder: &str, sha: &str) -> PathBuf {
        let fan = sha.get(..2).unwrap_or("00");
        self.dir.join(encoder).join(fan).join(sha)
    }
}

/// The payload of a sound entry.
fn payload(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.len() < HEADER || &bytes[..MAGIC.len()] != MAGIC {
        return None;
    }
    let (digest, body) = bytes[MAGIC.len()..].split_at(32);
    (Sha256::digest(body).as_slice() == digest).then_some(body)
}

/// Write an entry atomically: a temporary file beside it, renamed into place.
fn store(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    tmp.write_all(MAGIC)?;
    tmp.write_all(&Sha256::digest(data))?;
    tmp.write_all(data)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Mark an entry as used now (eviction goes by modification time).
fn touch(path: &Path) {
    if let Ok(f) = fs::File::options().append(true).open(path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

/// Delete the oldest entries under `root` until at most `max_bytes` remain; how many went.
fn trim(root: &Path, max_bytes: u64) -> u64 {
    let mut entries: Vec<(SystemTime, u64, PathBuf)> = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            Some((m.modified().ok()?, m.len(), e.into_path()))
        })
        .collect();
    let mut total: u64 = entries.iter().map(|e| e.1).sum();
    if total <= max_bytes {
        return 0;
    }
    entries.sort();
    let mut evicted = 0;
    for (_, size, path) in entries {
        if total <= max_bytes {
            break;
        }
        if fs::remove_file(&path).is_ok() {
            total = total.saturating_sub(size);
            evicted += 1;
        }
    }
    evicted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(dir: &Path, max_bytes: u64) -> Cache {
        Cache::open(&CacheConfig {
            dir: dir.to_path_buf(),
            max_bytes,
        })
        .unwrap()
    }

    #[test]
    fn a_second_lookup_is_served_from_the_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let c = cache(tmp.path(), 1 << 20);
        let mut calls = 0;
        let a = c.get_or_compute("gzip-9", "ab12", || {
            calls += 1;
            b"out".to_vec()
        });
        let b = c.get_or_compute("gzip-9", "ab12", || {
            calls += 1;
            b"other".to_vec()
        });
        assert_eq!(
            (a.as_slice(), b.as_slice(), calls),
            (&b"out"[..], &b"out"[..], 1)
        );
        // Another encoder setting is another entry.
        let other = c.get_or_compute("gzip-6", "ab12", || b"six".to_vec());
        assert_eq!(other, b"six");
        let s = c.finish();
        assert_eq!((s.hits, s.misses, s.repaired), (1, 2, 0));
    }

    #[test]
    fn a_damaged_entry_is_recomputed_and_rewritten_never_served() {
        let tmp = tempfile::tempdir().unwrap();
        let c = cache(tmp.path(), 1 << 20);
        c.get_or_compute("br-11", "cd34", || b"good bytes".to_vec());
        let path = c.entry_path("br-11", "cd34");
        for damage in [
            |b: &mut Vec<u8>| *b.last_mut().unwrap() ^= 1,
            |b: &mut Vec<u8>| b.truncate(20),
            |b: &mut Vec<u8>| b[0] = b'X',
            |b: &mut Vec<u8>| b.clear(),
        ] {
            let mut bytes = fs::read(&path).unwrap();
            damage(&mut bytes);
            fs::write(&path, &bytes).unwrap();
            let got = c.get_or_compute("br-11", "cd34", || b"good bytes".to_vec());
            assert_eq!(got, b"good bytes");
            assert_eq!(payload(&fs::read(&path).unwrap()), Some(&b"good bytes"[..]));
        }
        assert_eq!(c.finish().repaired, 4);
    }

    #[test]
    fn trimming_removes_the_least_recently_used_first() {
        let tmp = tempfile::tempdir().unwrap();
        let c = cache(tmp.path(), 1 << 20);
        let old = SystemTime::now() - std::time::Duration::from_secs(3600);
        for (i, sha) in ["aa01", "aa02", "aa03"].iter().enumerate() {
            c.get_or_compute("gzip-9", sha, || vec![i as u8; 1000]);
            let f = fs::File::options()
                .append(true)
                .open(c.entry_path("gzip-9", sha))
                .unwrap();
            f.set_modified(old + std::time::Duration::from_secs(i as u64))
                .unwrap();
        }
        // A hit makes the oldest the most recent.
        c.get_or_compute("gzip-9", "aa01", Vec::new);
        let small = cache(tmp.path(), 2 * (1000 + HEADER as u64));
        assert_eq!(small.finish().evicted, 1);
        assert!(!c.entry_path("gzip-9", "aa02").exists());
        assert!(c.entry_path("gzip-9", "aa01").exists() && c.entry_path("gzip-9", "aa03").exists());
    }
}
