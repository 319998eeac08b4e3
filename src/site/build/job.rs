//! The build's scheduler and output: files are named as soon as the files they name have their
//! final names (leaves first), on all cores, then written with their `.gz`/`.br` siblings.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::config::*;
use super::input::Input;

use crate::error::{Error, Result};
use crate::site::classify;
use crate::site::compress;
use crate::site::fingerprint::check::Resolution;
use crate::site::fingerprint::{self, file_name, hashed_name, sourcemap, Plan, Refs};
use crate::site::manifest::{Encoding, FileRecord};
use crate::site::state::{hex, sha256_hex};

/// A file to write: its source, its final path, its bytes, whether it is immutable.
pub(super) type Output = (String, String, Vec<u8>, bool);

/// Shared state of one build's workers.
pub(super) struct Job<'a> {
    pub(super) cfg: &'a BuildConfig,
    pub(super) cache: Option<&'a crate::site::cache::Cache>,
    pub(super) inputs: &'a [Input],
    pub(super) refs: &'a [Refs],
    pub(super) plan: &'a Plan,
    pub(super) rels: &'a [String],
    pub(super) staging: &'a Path,
    pub(super) names: Vec<OnceLock<String>>,
    pub(super) records: Mutex<Vec<FileRecord>>,
    /// Pages held back until every other file is written (Subresource Integrity needs their bytes).
    pub(super) deferred: Mutex<Vec<Output>>,
    pub(super) failure: Mutex<Option<Error>>,
    pub(super) rewritten: AtomicUsize,
    pub(super) rendered: &'a [bool],
    /// Files done, on a terminal.
    pub(super) bar: Option<indicatif::ProgressBar>,
    pub(super) group_hashes: Vec<OnceLock<String>>,
}

impl Job<'_> {
    /// Add integrity to the pages held back by [`Job::task`] (every other file is written by
    /// now) and write them; returns what was added and notes for the report.
    pub(super) fn write_pages_with_integrity(
        &self,
        how: &Resolution,
    ) -> Result<(SriReport, Vec<String>)> {
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
    pub(super) fn run_all(&self) {
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

    pub(super) fn task<'s>(
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
    pub(super) fn work<'s>(
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

    pub(super) fn final_name(&self, t: usize) -> Option<String> {
        self.names[t].get().cloned().or_else(|| {
            let g = self.plan.group_of[t].filter(|_| self.plan.env_named[t])?;
            Some(rename_rel(&self.rels[t], self.group_hash(g)))
        })
    }

    /// The name suffix of a cycle's members: SHA-256 of the placeholder, the rendered server
    /// and the final names of every file the cycle names outside itself (all named before any
    /// member is processed), so the members' names cover what cdnpub changes in their bytes.
    pub(super) fn group_hash(&self, g: usize) -> &str {
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
    pub(super) fn name(&self, i: usize) -> Result<Vec<(String, String, Vec<u8>)>> {
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
    pub(super) fn render(
        &self,
        i: usize,
        content: Option<Vec<u8>>,
        bytes: &[u8],
    ) -> Option<Vec<u8>> {
        match (&self.cfg.render, self.rendered[i]) {
            (Some(r), true) => Some(r.renderer.render(content.as_deref().unwrap_or(bytes)).bytes),
            _ => content,
        }
    }

    /// A map's bytes with its `sources` rewritten.
    pub(super) fn read_map(&self, m: usize) -> Result<Vec<u8>> {
        let path = &self.inputs[m].path;
        let bytes = fs::read(path).map_err(|e| Error::io("read", path, e))?;
        let names = |t: usize| self.final_name(t);
        Ok(fingerprint::rewrite(&bytes, &self.refs[m].links, self.rels, &names).unwrap_or(bytes))
    }

    /// `encoder`'s output for the input with digest `sha256`: from the cache when there is one.
    pub(super) fn compressed(
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
    pub(super) fn write(
        &self,
        source: &str,
        rel: &str,
        bytes: &[u8],
        immutable: bool,
    ) -> Result<FileRecord> {
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
pub(super) fn rename_rel(rel: &str, hash: &str) -> String {
    match rel.rfind('/') {
        Some(p) => format!("{}/{}", &rel[..p], hashed_name(&rel[p + 1..], hash)),
        None => hashed_name(rel, hash),
    }
}

pub(super) fn rename_rel_opt(rel: &str, hash: Option<&str>) -> String {
    hash.map_or_else(|| rel.to_string(), |h| rename_rel(rel, h))
}

/// A map with its `file` field set to `name`.
pub(super) fn set_map_file(map: &[u8], name: &str) -> Vec<u8> {
    match sourcemap::file_field(map) {
        Some(s) => [&map[..s.start], name.as_bytes(), &map[s.end..]].concat(),
        None => map.to_vec(),
    }
}

/// Create `path` (and its directories) in the staging tree.
pub(super) fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    }
    fs::write(path, bytes).map_err(|e| Error::io("write", path, e))
}
