//! Object stores: one trait, a backend per kind (S3-compatible, local directory), so `upload`
//! and release records never know which one they talk to. Both pass the same conformance tests.

pub mod cos;
pub mod listing;
pub mod local;
pub mod s3;
pub mod target;

use std::collections::BTreeMap;

use crate::error::Result;

/// What a listing says about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Key relative to the store's prefix.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Entity tag as the store reports it (quotes removed); not an MD5 for multipart objects.
    pub etag: String,
}

/// Headers and metadata of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// Content-Type.
    pub content_type: Option<String>,
    /// Cache-Control.
    pub cache_control: Option<String>,
    /// Content-Encoding.
    pub content_encoding: Option<String>,
    /// User metadata (`x-amz-meta-*`), lower-case names without the prefix.
    pub metadata: BTreeMap<String, String>,
}

pub use crate::util::net::{Timeouts, CONNECT_TIMEOUT, READ_TIMEOUT};

/// What a HEAD returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Size in bytes.
    pub size: u64,
    /// Headers and metadata.
    pub meta: Meta,
}

/// An object store scoped to a prefix: keys are relative to it.
#[allow(async_fn_in_trait)]
pub trait ObjectStore: Send + Sync {
    /// A human-readable name of the target (`s3://bucket/prefix`, `file:///dir`).
    fn describe(&self) -> String;
    /// Every object under the prefix, sorted by key (one paginated listing).
    async fn list(&self) -> Result<Vec<Listed>>;
    /// The same as `list`, given the keys the store most likely holds (e.g. the latest
    /// release's): stores that can plan the listing from them (`listing`) fetch its pages at
    /// once, so a large listing takes a few pages' time, not pages × round trips.
    async fn list_near(&self, expected: &[String]) -> Result<Vec<Listed>> {
        let _ = expected;
        self.list().await
    }
    /// Store `body` at `key` with `meta`. Returns only once the store confirmed it.
    async fn put(&self, key: &str, body: Vec<u8>, meta: &Meta) -> Result<()>;
    /// Store the file at `path` (`size` bytes) at `key`; large files are streamed in parts by
    /// stores that can, so memory stays bounded.
    async fn put_file(
        &self,
        key: &str,
        path: &std::path::Path,
        size: u64,
        meta: &Meta,
    ) -> Result<()> {
        let _ = size;
        let body = tokio::fs::read(path)
            .await
            .map_err(|e| crate::error::Error::io("read", path, e))?;
        self.put(key, body, meta).await
    }
    /// The object's bytes, or None when it does not exist.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// The object's size and headers, or None when it does not exist.
    async fn head(&self, key: &str) -> Result<Option<Head>>;
    /// Copy the object at `from` to `to` with `meta` (its headers replaced); false when `from`
    /// does not exist. Stores that can copy on the server do (S3 CopyObject); the default
    /// reads and writes the bytes.
    async fn copy(&self, from: &str, to: &str, meta: &Meta) -> Result<bool> {
        copy_through(self, from, to, meta).await
    }
    /// Delete these keys (missing keys are not an error).
    async fn delete(&self, keys: &[String]) -> Result<()>;
}

/// Copy by reading the bytes and writing them back (stores without a server-side copy); false
/// when `from` does not exist.
pub async fn copy_through<S: ObjectStore + ?Sized>(
    store: &S,
    from: &str,
    to: &str,
    meta: &Meta,
) -> Result<bool> {
    match store.get(from).await? {
        Some(bytes) => store.put(to, bytes, meta).await.map(|()| true),
        None => Ok(false),
    }
}
