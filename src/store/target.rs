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
        /// Whose service the URL's scheme named (`s3://`, `oss://`, `cos://`).
        service: Service,
    },
    /// A local directory.
    Dir(PathBuf),
}

/// The service a bucket URL's scheme names: its endpoint follows from the region when none is
/// given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `s3://`: AWS S3, or any S3-compatible endpoint (`--endpoint`).
    S3,
    /// `oss://` (what ossutil users type): Alibaba Cloud OSS, `https://oss-<region>.aliyuncs.com`.
    Oss,
    /// `cos://` (what coscli users type): Tencent Cloud COS, `https://cos.<region>.myqcloud.com`.
    Cos,
}

/// The forms `--to` accepts, for messages.
const FORMS: &str = "s3://bucket/prefix, oss://bucket/prefix, cos://bucket-appid/prefix, \
                     file:///absolute/path or a directory path";

impl Location {
    /// Parse a `--to` value strictly: a scheme cdnpub does not know, or a bucket URL with one
    /// slash (`s3:/bucket`), is an error naming the value and the accepted forms.
    pub fn parse(raw: &str) -> Result<Self> {
        for (scheme, service) in [
            ("s3", Service::S3),
            ("oss", Service::Oss),
            ("cos", Service::Cos),
        ] {
            if let Some(rest) = raw.strip_prefix(scheme).and_then(|r| r.strip_prefix("://")) {
                return Self::bucket(raw, rest, service);
            }
        }
        if let Some(path) = raw.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(Error::Usage(format!(
                    "--to {raw:?}: file:// URLs take an absolute path (file:///srv/site)"
                )));
            }
            return Ok(Location::Dir(PathBuf::from(path)));
        }
        if raw.is_empty() {
            return Err(Error::Usage(format!("--to is empty; give one of {FORMS}")));
        }
        // `s3:/bucket`, `oss:bucket`, `gs://x`: a scheme (two letters or more: `C:` is a
        // Windows drive) that is not one of ours.
        if let Some((scheme, _)) = raw.split_once(':') {
            let schemey = scheme.len() >= 2
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if schemey {
                let known =
                    ["s3", "oss", "cos", "file"].contains(&scheme.to_ascii_lowercase().as_str());
                return Err(Error::Usage(if known {
                    format!(
                        "--to {raw:?}: a {scheme} URL takes two slashes ({scheme}://…); the forms are {FORMS}"
                    )
                } else {
                    format!("--to {raw:?}: unknown scheme {scheme:?}; the forms are {FORMS}")
                }));
            }
        }
        Ok(Location::Dir(PathBuf::from(raw)))
    }

    fn bucket(raw: &str, rest: &str, service: Service) -> Result<Self> {
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
        if service == Service::Cos {
            super::cos::check_bucket(bucket)?;
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|p| p == ".." || p == ".") {
            return Err(Error::Usage(format!(
                "--to {raw:?}: the prefix may not contain '.' or '..' segments"
            )));
        }
        Ok(Location::S3 {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            service,
        })
    }
}

impl Service {
    /// The endpoint for `region` when none was given: None for `s3://` (the SDK's own).
    pub fn endpoint(self, region: Option<&str>) -> Result<Option<String>> {
        let (name, url): (&str, fn(&str) -> String) = match self {
            Service::S3 => return Ok(None),
            Service::Oss => ("oss", |r| format!("https://oss-{r}.aliyuncs.com")),
            Service::Cos => ("cos", |r| format!("https://cos.{r}.myqcloud.com")),
        };
        match region {
            Some(r) if !r.is_empty() => Ok(Some(url(r))),
            _ => Err(Error::Usage(format!(
                "a {name}:// target needs its region for the endpoint: --region (e.g. {}) or region in \
                 cdnpub.toml; or give the endpoint itself with --endpoint",
                if self == Service::Oss { "cn-hangzhou" } else { "ap-guangzhou" }
            ))),
        }
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
    /// How long requests may wait.
    pub timeouts: super::Timeouts,
}

impl Target {
    /// Open the store a location names.
    pub async fn open(loc: &Location, ep: &Endpoint) -> Result<Self> {
        Ok(match loc {
            Location::S3 {
                bucket,
                prefix,
                service,
            } => {
                let endpoint = match &ep.url {
                    Some(url) => Some(url.clone()),
                    None => service.endpoint(ep.region.as_deref())?,
                };
                Target::S3(
                    S3Store::connect(S3Options {
                        bucket: bucket.clone(),
                        prefix: prefix.clone(),
                        endpoint,
                        region: ep.region.clone(),
                        path_style: ep.path_style,
                        keys: None,
                        timeouts: ep.timeouts,
                    })
                    .await?,
                )
            }
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

/// The public base URL of a target's keys: `cdn_server` + the URL prefix (`--url-prefix`,
/// `cdn_url_prefix`, else the target's key prefix).
pub fn cdn_base(server: &str, url_prefix: Option<&str>, target: &str) -> Option<String> {
    let server = server.trim_end_matches('/');
    if !(server.starts_with("http://") || server.starts_with("https://")) {
        return None;
    }
    let prefix = match url_prefix {
        Some(p) => p.trim_matches('/').to_string(),
        None => Location::parse(target)
            .map(|l| l.key_prefix().trim_matches('/').to_string())
            .unwrap_or_default(),
    };
    Some(if prefix.is_empty() {
        server.to_string()
    } else {
        format!("{server}/{prefix}")
    })
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
                prefix: "site/v1".into(),
                service: Service::S3,
            }
        );
        assert_eq!(
            Location::parse("s3://my-bucket").unwrap(),
            Location::S3 {
                bucket: "my-bucket".into(),
                prefix: String::new(),
                service: Service::S3,
            }
        );
        assert_eq!(
            Location::parse("oss://web-prod/mobile-vue").unwrap(),
            Location::S3 {
                bucket: "web-prod".into(),
                prefix: "mobile-vue".into(),
                service: Service::Oss,
            }
        );
        assert!(matches!(
            Location::parse("cos://web-1250000000/x"),
            Ok(Location::S3 {
                service: Service::Cos,
                ..
            })
        ));
        assert_eq!(
            Service::Oss
                .endpoint(Some("cn-hangzhou"))
                .unwrap()
                .as_deref(),
            Some("https://oss-cn-hangzhou.aliyuncs.com")
        );
        assert_eq!(
            Service::Cos
                .endpoint(Some("ap-guangzhou"))
                .unwrap()
                .as_deref(),
            Some("https://cos.ap-guangzhou.myqcloud.com")
        );
        assert!(Service::Oss
            .endpoint(None)
            .unwrap_err()
            .to_string()
            .contains("--region"));
        assert_eq!(Service::S3.endpoint(None).unwrap(), None);
        assert_eq!(
            Location::parse("C:/site").unwrap(),
            Location::Dir("C:/site".into())
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
            "cos://no-appid/x",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
        for (typo, says) in [
            ("s3:/my-bucket/web", "two slashes (s3://…)"),
            ("oss:my-bucket", "two slashes (oss://…)"),
            ("gs://x/y", "unknown scheme \"gs\""),
        ] {
            let e = Location::parse(typo).unwrap_err().to_string();
            assert!(
                e.contains(says) && e.contains("oss://bucket/prefix"),
                "{typo}: {e}"
            );
        }
    }
}
