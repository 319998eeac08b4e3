//! Release records: `_cdnpub/releases/<id>.json` beside the site, one per upload. The latest is
//! the index change detection reads (a listing carries no metadata); the last N protect the
//! assets browsers holding older HTML still need.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where release records live, relative to the target's prefix.
pub const RELEASES_DIR: &str = "_cdnpub/releases/";
/// A small pointer to the latest release (`{"id": …}`), so keys that may not list a bucket can
/// still find it.
pub const LATEST_KEY: &str = "_cdnpub/latest.json";
/// Content-addressed copies of HTML and other no-cache objects (`<dir><sha256>`), which a
/// rollback restores (their live keys are overwritten by later releases).
pub const SNAPSHOTS_DIR: &str = "_cdnpub/objects/";

/// The snapshot key of a no-cache object's bytes.
pub fn snapshot_key(sha256: &str) -> String {
    format!("{SNAPSHOTS_DIR}{sha256}")
}

/// Release record format version.
pub const VERSION: u32 = 1;

/// One object as a release published it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Object {
    /// SHA-256 (hex) of the stored bytes.
    pub sha256: String,
    /// Stored size in bytes.
    pub size: u64,
    /// Content-Type.
    pub content_type: String,
    /// Cache-Control.
    pub cache_control: String,
    /// Content-Encoding, when not identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
}

/// A release record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// Format version.
    pub version: u32,
    /// Sortable id: `YYYYMMDDTHHMMSSZ-<8 hex of the content digest>`.
    pub id: String,
    /// RFC 3339 UTC time of the upload.
    pub created: String,
    /// Git commit, when known (GITHUB_SHA, CI_COMMIT_SHA, or `git rev-parse HEAD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Every object of the release by key.
    pub objects: BTreeMap<String, Object>,
    /// Keys this release uploaded (new or changed).
    pub changed: Vec<String>,
    /// Keys this release deleted.
    pub deleted: Vec<String>,
    /// Set when this release made an earlier one live again: that release's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<String>,
    /// Set for a staged release: its HTML and other no-cache objects are stored under this
    /// key prefix (`releases/<id>/`) instead of replacing the live ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
}

impl Release {
    /// The record's key relative to the target prefix.
    pub fn key(id: &str) -> String {
        format!("{RELEASES_DIR}{id}.json")
    }

    /// Parse a record fetched from `key`; errors name it.
    pub fn parse(key: &str, bytes: &[u8]) -> Result<Release> {
        let r: Release = serde_json::from_slice(bytes).map_err(|e| {
            Error::Failed(format!(
                "release record {key} is damaged ({e}); remove it or restore it from a backup"
            ))
        })?;
        if r.version != VERSION {
            return Err(Error::Failed(format!(
                "release record {key} has version {}, not {VERSION}",
                r.version
            )));
        }
        Ok(r)
    }

    /// Serialise (pretty, sorted keys).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}

/// Release ids found in a listing, oldest first.
pub fn ids_in(keys: impl Iterator<Item = impl AsRef<str>>) -> Vec<String> {
    let mut ids: Vec<String> = keys
        .filter_map(|k| {
            k.as_ref()
                .strip_prefix(RELEASES_DIR)
                .and_then(|n| n.strip_suffix(".json"))
                .map(str::to_owned)
        })
        .collect();
    ids.sort();
    ids
}

/// A new release id from the current time (to the millisecond, so two releases made within
/// one second still sort in the order they were made) and a digest of the release's content,
/// with the creation time to show (to the second).
pub fn new_id(digest_hex: &str) -> (String, String) {
    let now = std::time::SystemTime::now();
    let created = humantime::format_rfc3339_seconds(now).to_string();
    let compact: String = humantime::format_rfc3339_millis(now)
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T' || *c == 'Z')
        .collect();
    (
        format!("{compact}-{}", &digest_hex[..8.min(digest_hex.len())]),
        created,
    )
}

/// The git commit being released, when it can be found.
pub fn current_commit() -> Option<String> {
    for var in ["GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT"] {
        if let Ok(v) = std::env::var(var) {
            if !v.is_empty() {
                return Some(v);
            }
        }
    }
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| s.len() == 40)
}

/// The body of the latest-release pointer.
pub fn latest_pointer(id: &str) -> Vec<u8> {
    format!("{{\"id\":\"{id}\"}}\n").into_bytes()
}

/// The id in a latest-release pointer; errors name it.
pub fn parse_pointer(bytes: &[u8]) -> Result<String> {
    #[derive(Deserialize)]
    struct Pointer {
        id: String,
    }
    serde_json::from_slice::<Pointer>(bytes)
        .map(|p| p.id)
        .map_err(|e| Error::Failed(format!("{LATEST_KEY} is damaged ({e}); upload once without --no-check-bucket to rewrite it")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_records_round_trip() {
        let keys = [
            "_cdnpub/releases/20261124T110000Z-bbbbbbbb.json",
            "index.html",
            "_cdnpub/releases/20261124T090000Z-aaaaaaaa.json",
        ];
        assert_eq!(
            ids_in(keys.iter()),
            ["20261124T090000Z-aaaaaaaa", "20261124T110000Z-bbbbbbbb"]
        );
        let (id, created) = new_id("0123456789abcdef");
        assert!(
            id.ends_with("Z-01234567") && id.len() == "20261124T110000123Z-01234567".len(),
            "{id}"
        );
        assert!(created.ends_with('Z'));
        let r = Release {
            version: VERSION,
            id,
            created,
            commit: None,
            objects: BTreeMap::new(),
            changed: vec![],
            deleted: vec![],
            rollback_of: None,
            stage: None,
        };
        assert_eq!(Release::parse("k", &r.to_bytes()).unwrap(), r);
        let err = Release::parse("_cdnpub/releases/x.json", b"{\"version\":1")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("_cdnpub/releases/x.json") && err.contains("damaged"),
            "{err}"
        );
    }
}
