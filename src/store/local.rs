//! The local-directory store (`file:///path` or a plain path): objects are files under the
//! root, written atomically; headers and metadata live in a JSON sidecar under `.cdnpub/meta/`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use walkdir::WalkDir;

use super::{Head, Listed, Meta, ObjectStore};
use crate::error::{Error, Result};
use crate::util::atomic::{self, WriteOptions};

/// Where sidecars live, relative to the root.
const META_DIR: &str = ".cdnpub/meta";

/// A directory acting as an object store.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Sidecar {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_control: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content_encoding: Option<String>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

impl LocalStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: PathBuf) -> Self {
        LocalStore { root }
    }

    /// The path of `key`; keys that would leave the root are refused.
    fn path(&self, key: &str) -> Result<PathBuf> {
        let rel = Path::new(key);
        let safe = !key.is_empty()
            && crate::util::platform::key_fits_file_system(key)
            && rel.components().all(|c| matches!(c, Component::Normal(_)));
        if !safe {
            return Err(Error::Usage(format!(
                "object key {key:?} would leave the target directory"
            )));
        }
        Ok(self.root.join(rel))
    }

    fn sidecar(&self, key: &str) -> Result<PathBuf> {
        self.path(key)?;
        Ok(self.root.join(META_DIR).join(format!("{key}.json")))
    }
}

/// A file's modification time as one number for its listing tag (nanoseconds since the epoch;
/// 0 where the file system keeps none).
fn mtime_stamp(m: &std::fs::Metadata) -> u64 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The store's work, done synchronously: [`ObjectStore`] runs each on tokio's blocking pool so
/// no file-system call blocks the runtime's workers.
impl LocalStore {
    fn list_blocking(&self) -> Result<Vec<Listed>> {
        if !self.root.exists() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for entry in WalkDir::new(&self.root).sort_by_file_name() {
            let entry = entry.map_err(|e| Error::io("list", self.root.clone(), e.into()))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(&self.root)
                .unwrap_or(entry.path());
            let key = crate::util::platform::slash_path_lossy(rel);
            if key.starts_with(".cdnpub/") || key.ends_with(atomic::TEMP_SUFFIX) {
                continue;
            }
            let m = entry
                .metadata()
                .map_err(|e| Error::io("stat", entry.path(), e.into()))?;
            out.push(Listed {
                key,
                size: m.len(),
                etag: format!("{:x}-{:x}", mtime_stamp(&m), m.len()),
            });
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn put_blocking(&self, key: &str, body: &[u8], meta: &Meta) -> Result<()> {
        let path = self.path(key)?;
        let sidecar = Sidecar {
            content_type: meta.content_type.clone(),
            cache_control: meta.cache_control.clone(),
            content_encoding: meta.content_encoding.clone(),
            metadata: meta.metadata.clone(),
        };
        let side = self.sidecar(key)?;
        for p in [&path, &side] {
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
            }
        }
        let json =
            serde_json::to_vec(&sidecar).map_err(|e| Error::Failed(format!("{key}: {e}")))?;
        atomic::replace(&side, &json, WriteOptions::default())?;
        atomic::replace(&path, body, WriteOptions::default())?;
        Ok(())
    }

    fn get_blocking(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path(key)?;
        match fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read", path, e)),
        }
    }

    fn head_blocking(&self, key: &str) -> Result<Option<Head>> {
        let path = self.path(key)?;
        let size = match fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("stat", path, e)),
        };
        let side: Sidecar = fs::read(self.sidecar(key)?)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Ok(Some(Head {
            size,
            meta: Meta {
                content_type: side.content_type,
                cache_control: side.cache_control,
                content_encoding: side.content_encoding,
                metadata: side.metadata,
            },
        }))
    }

    fn delete_blocking(&self, keys: &[String]) -> Result<()> {
        for key in keys {
            for p in [self.path(key)?, self.sidecar(key)?] {
                match fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io("delete", p, e)),
                }
            }
        }
        Ok(())
    }
}

impl LocalStore {
    /// Run `work` on a clone of the store on tokio's blocking pool.
    async fn off<T: Send + 'static>(
        &self,
        work: impl FnOnce(&LocalStore) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .map_err(|e| {
                Error::Failed(format!(
                    "{}: a background task failed: {e}",
                    self.describe()
                ))
            })?
    }
}

impl ObjectStore for LocalStore {
    fn describe(&self) -> String {
        format!("file://{}", self.root.display())
    }

    async fn list(&self) -> Result<Vec<Listed>> {
        self.off(|s| s.list_blocking()).await
    }

    async fn put(&self, key: &str, body: Vec<u8>, meta: &Meta) -> Result<()> {
        let (key, meta) = (key.to_string(), meta.clone());
        self.off(move |s| s.put_blocking(&key, &body, &meta)).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let key = key.to_string();
        self.off(move |s| s.get_blocking(&key)).await
    }

    async fn head(&self, key: &str) -> Result<Option<Head>> {
        let key = key.to_string();
        self.off(move |s| s.head_blocking(&key)).await
    }

    async fn copy(&self, from: &str, to: &str, meta: &Meta) -> Result<bool> {
        let (from, to, meta) = (from.to_string(), to.to_string(), meta.clone());
        self.off(move |s| match s.get_blocking(&from)? {
            Some(bytes) => s.put_blocking(&to, &bytes, &meta).map(|()| true),
            None => Ok(false),
        })
        .await
    }

    async fn delete(&self, keys: &[String]) -> Result<()> {
        let keys = keys.to_vec();
        self.off(move |s| s.delete_blocking(&keys)).await
    }
}
