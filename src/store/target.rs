//! `--to` values (`s3://bucket/prefix`, `file:///path`, a plain path) and the store they open.

use std::path::PathBuf;

use super::local::LocalStore;
use super::s3::{S3Options, S3Store};
use super::{Head, Listed, Meta, ObjectStore};
use crate::error::{Error, Result};

/// Where objects go, parsed from `--to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A bucket and key prefix.
    S3 {
        /// Bucket.
        bucket: String,
        /// Prefix without leading/trailing `/`.
        prefix: String,
    },
    /// A local directory.
    Dir(PathBuf),
}

impl Location {
    /// Parse a `--to` value.
    pub fn parse(raw: &str) -> Result<Self> {
        if let Some(rest) = raw.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let valid = bucket.len() >= 3
                && bucket.len() <= 63
                && bucket
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
            if !valid {
                return Err(Error::Usage(format!(
                    "--to {raw:?}: {bucket:?} is not a valid bucket name (3-63 lower-case letters, digits, '-', '.')"
                )));
            }
            let prefix = prefix.trim_matches('/');
            if prefix.split('/').any(|p| p == ".." || p == ".") {
                return Err(Error::Usage(format!(
                    "--to {raw:?}: the prefix may not contain '.' or '..' segments"
                )));
            }
            return Ok(Location::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.to_string(),
            });
        }
        if let Some(path) = raw.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(Error::Usage(format!(
                    "--to {raw:?}: file:// URLs take an absolute path (file:///srv/site)"
                )));
            }
            return Ok(Location::Dir(PathBuf::from(path)));
        }
        if raw.contains("://") {
            return Err(Error::Usage(format!(
                "--to {raw:?}: unknown scheme; use s3://bucket/prefix, file:///path or a directory path"
            )));
        }
        if raw.is_empty() {
            return Err(Error::Usage("--to is empty".into()));
        }
        Ok(Location::Dir(PathBuf::from(raw)))
    }
}

impl Location {
    /// The key prefix objects are stored under (empty for a directory): by default, the URL
    /// path under which a CDN in front of the bucket serves them.
    pub fn key_prefix(&self) -> &str {
        match self {
            Location::S3 { prefix, .. } => prefix,
            Location::Dir(_) => "",
        }
    }
}

/// An opened target: one of the stores.
#[derive(Debug, Clone)]
pub enum Target {
    /// S3-compatible.
    S3(S3Store),
    /// Local directory.
    Local(LocalStore),
}

/// How to reach S3-compatible endpoints (from flags / profile).
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    /// Endpoint URL.
    pub url: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Path-style addressing.
    pub path_style: bool,
}

impl Target {
    /// Open the store a location names.
    pub async fn open(loc: &Location, ep: &Endpoint) -> Result<Self> {
        Ok(match loc {
            Location::S3 { bucket, prefix } => Target::S3(
                S3Store::connect(S3Options {
                    bucket: bucket.clone(),
                    prefix: prefix.clone(),
                    endpoint: ep.url.clone(),
                    region: ep.region.clone(),
                    path_style: ep.path_style,
                    keys: None,
                })
                .await?,
            ),
            Location::Dir(p) => Target::Local(LocalStore::new(p.clone())),
        })
    }
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Target::S3($s) => $e,
            Target::Local($s) => $e,
        }
    };
}

impl ObjectStore for Target {
    fn describe(&self) -> String {
        delegate!(self, s => s.describe())
    }
    async fn list(&self) -> Result<Vec<Listed>> {
        delegate!(self, s => s.list().await)
    }
    async fn list_near(&self, expected: &[String]) -> Result<Vec<Listed>> {
        delegate!(self, s => s.list_near(expected).await)
    }
    async fn put(&self, key: &str, body: Vec<u8>, meta: &Meta) -> Result<()> {
        delegate!(self, s => s.put(key, body, meta).await)
    }
    async fn put_file(
        &self,
        key: &str,
        path: &std::path::Path,
        size: u64,
        meta: &Meta,
    ) -> Result<()> {
        delegate!(self, s => s.put_file(key, path, size, meta).await)
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        delegate!(self, s => s.get(key).await)
    }
    async fn head(&self, key: &str) -> Result<Option<Head>> {
        delegate!(self, s => s.head(key).await)
    }
    async fn copy(&self, from: &str, to: &str, meta: &Meta) -> Result<bool> {
        delegate!(self, s => s.copy(from, to, meta).await)
    }
    async fn delete(&self, keys: &[String]) -> Result<()> {
        delegate!(self, s => s.delete(keys).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_targets() {
        assert_eq!(
            Location::parse("s3://my-bucket/site/v1/").unwrap(),
            Location::S3 {
                bucket: "my-bucket".into(),
                prefix: "site/v1".into()
            }
        );
        assert_eq!(
            Location::parse("s3://my-bucket").unwrap(),
            Location::S3 {
                bucket: "my-bucket".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            Location::parse("file:///srv/site").unwrap(),
            Location::Dir("/srv/site".into())
        );
        assert_eq!(
            Location::parse("./public").unwrap(),
            Location::Dir("./public".into())
        );
        for bad in [
            "s3://B",
            "s3://ab",
            "s3://bucket/../x",
            "gs://x/y",
            "file://relative",
            "",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
    }
}
