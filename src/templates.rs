//! The template store that makes `rewrite` re-runnable.
//!
//! The first run keeps each file's pristine bytes (with placeholders) under
//! `DIR/files/<rel>`; every run renders from there. `DIR/rendered/<rel>.sha256` lists the
//! SHA-256 of outputs rendered from that template, so a file replaced since (a new deploy
//! copied over the web root) is recognised and becomes the new template instead of being
//! reverted to the old one.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::atomic::{self, WriteOptions};
use crate::error::{Error, Result};

/// How many rendered digests are remembered per file (the current and a few before it).
const KEEP_DIGESTS: usize = 4;

/// Where a file's template came from on this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// First run for this file: its current bytes become the template.
    New,
    /// A template kept by an earlier run.
    Kept,
    /// The file changed since cdnpub last wrote it: its current bytes become the new template.
    Adopted,
}

/// A directory of pristine templates.
#[derive(Debug, Clone)]
pub struct TemplateStore {
    dir: PathBuf,
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl TemplateStore {
    /// The default place for the templates of `root` (canonical): a hidden sibling directory,
    /// `<parent>/.cdnpub-templates/<root name>`, outside the web root so nginx never serves it.
    pub fn default_dir(root: &Path) -> Option<PathBuf> {
        let parent = root.parent()?;
        let name = root.file_name()?;
        Some(parent.join(".cdnpub-templates").join(name))
    }

    /// A store rooted at `dir` (created on first write).
    pub fn new(dir: PathBuf) -> Self {
        TemplateStore { dir }
    }

    /// Take the store's exclusive lock (waiting for another run to finish), creating the
    /// directory. While it is held, cdnpub temp files under the root are leftovers of a killed run.
    pub fn lock(&self) -> Result<fs::File> {
        fs::create_dir_all(&self.dir).map_err(|e| {
            Error::io("create the template directory (set --template-dir / CDNPUB_TEMPLATE_DIR to a writable place)", &self.dir, e)
        })?;
        let path = self.dir.join(".lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        file.lock().map_err(|e| Error::io("lock", &path, e))?;
        Ok(file)
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn template_path(&self, rel: &Path) -> PathBuf {
        self.dir.join("files").join(rel)
    }

    fn digests_path(&self, rel: &Path) -> PathBuf {
        let mut p = self.dir.join("rendered").join(rel).into_os_string();
        p.push(".sha256");
        PathBuf::from(p)
    }

    fn digests(&self, rel: &Path) -> Result<Vec<String>> {
        let p = self.digests_path(rel);
        match fs::read_to_string(&p) {
            Ok(s) => Ok(s.lines().map(str::to_owned).collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io("read", p, e)),
        }
    }

    /// The template to render `rel` from, given the file's `current` bytes.
    pub fn template_for(&self, rel: &Path, current: &[u8]) -> Result<(Vec<u8>, Origin)> {
        let tpath = self.template_path(rel);
        let template = match fs::read(&tpath) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((current.to_vec(), Origin::New))
            }
            Err(e) => return Err(Error::io("read template", tpath, e)),
        };
        if template == current || self.digests(rel)?.contains(&sha256_hex(current)) {
            Ok((template, Origin::Kept))
        } else {
            Ok((current.to_vec(), Origin::Adopted))
        }
    }

    /// Record that `rendered` (with digest `digest`) is about to be written for `rel`, saving
    /// `template` first when it is new or adopted. Call before the file itself is replaced, so
    /// a crash in between is recognised on the next run.
    pub fn record(
        &self,
        rel: &Path,
        template: &[u8],
        origin: Origin,
        digest: &str,
        opts: WriteOptions,
    ) -> Result<()> {
        let mut digests = Vec::new();
        if origin == Origin::Kept {
            digests = self.digests(rel)?;
        } else {
            write_creating_dirs(&self.template_path(rel), template, opts)?;
        }
        digests.retain(|d| d != digest && d.len() == 64);
        digests.push(digest.to_string());
        let skip = digests.len().saturating_sub(KEEP_DIGESTS);
        let text: String = digests[skip..].iter().map(|d| format!("{d}\n")).collect();
        write_creating_dirs(&self.digests_path(rel), text.as_bytes(), opts)
    }
}

fn write_creating_dirs(path: &Path, bytes: &[u8], opts: WriteOptions) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| {
            Error::io("create the template directory (set --template-dir / CDNPUB_TEMPLATE_DIR to a writable place)", parent, e)
        })?;
    }
    atomic::replace(path, bytes, opts).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_new_kept_adopted() {
        let dir = tempfile::tempdir().unwrap();
        let store = TemplateStore::new(dir.path().join("t"));
        let rel = Path::new("a/index.html");
        let (t, o) = store.template_for(rel, b"X EGOVA_CDN").unwrap();
        assert_eq!((t.as_slice(), o), (&b"X EGOVA_CDN"[..], Origin::New));
        store
            .record(
                rel,
                &t,
                o,
                &sha256_hex(b"X https://one"),
                WriteOptions::default(),
            )
            .unwrap();
        // The file now holds the rendered output: the kept template is used.
        let (t, o) = store.template_for(rel, b"X https://one").unwrap();
        assert_eq!((t.as_slice(), o), (&b"X EGOVA_CDN"[..], Origin::Kept));
        // A crash before the file was replaced: the file still holds the template.
        assert_eq!(
            store.template_for(rel, b"X EGOVA_CDN").unwrap().1,
            Origin::Kept
        );
        // A new deploy replaced the file: it becomes the template.
        let (t, o) = store.template_for(rel, b"Y EGOVA_CDN").unwrap();
        assert_eq!((t.as_slice(), o), (&b"Y EGOVA_CDN"[..], Origin::Adopted));
    }
}
