//! Release records: `_cdnpub/releases/<id>.json` beside the site, one per upload. The latest is
//! the index change detection reads (a listing carries no metadata); the last N protect the
//! assets browsers holding older HTML still need.
//!
//! This module is the one home of release records: their ids, format, reading and writing, the
//! latest pointer, the keys of rollback copies and the survey of a target that commands with no
//! local tree start from. What may be deleted lives beside it in [`retention`].

pub mod edge;
pub mod retention;
pub mod rollout;
pub mod router;
pub mod size;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::store::target::Target;
use crate::store::{Listed, Meta, ObjectStore};

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
    /// The release's size summary (per entry page first visit, the site), when publish
    /// measured it: the next release's `max_growth` budget compares against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<Summary>,
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

    /// True for a key browsers request: not cdnpub's own (`_cdnpub/`, `.cdnpub/`) and not a
    /// stored `.gz`/`.br` sibling of another key of the release.
    pub fn is_site_key(&self, key: &str) -> bool {
        !(key.starts_with("_cdnpub/")
            || key.starts_with(".cdnpub/")
            || [".gz", ".br"].iter().any(|ext| {
                key.strip_suffix(ext)
                    .is_some_and(|stem| self.objects.contains_key(stem))
            }))
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

/// The git commit being released, when it can be found; asked once per process (one `git`
/// process however many targets a release goes to).
pub fn current_commit() -> Option<String> {
    static COMMIT: OnceLock<Option<String>> = OnceLock::new();
    COMMIT.get_or_init(find_commit).clone()
}

fn find_commit() -> Option<String> {
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

/// Cache-Control of HTML and other files whose name does not change with their content (and of
/// release records and pointers).
pub const NO_CACHE: &str = "no-cache";

/// Headers of release records and pointers.
pub fn record_meta() -> Meta {
    Meta {
        content_type: Some("application/json; charset=utf-8".into()),
        cache_control: Some(NO_CACHE.into()),
        ..Meta::default()
    }
}

/// The key prefix of a staged release's pages.
pub fn stage_prefix(id: &str) -> String {
    format!("releases/{id}/")
}

/// A new release id and creation time for a release holding `objects`.
pub fn id_for<'a>(objects: impl IntoIterator<Item = (&'a str, &'a Object)>) -> (String, String) {
    let all: BTreeMap<&str, &Object> = objects.into_iter().collect();
    let digest = Sha256::digest(serde_json::to_vec(&all).unwrap_or_default());
    new_id(&crate::site::state::hex(&digest))
}

impl Release {
    /// A new record: `objects` as they will be live, the keys this release uploaded and deleted.
    pub fn new(
        (id, created): (String, String),
        objects: BTreeMap<String, Object>,
        changed: Vec<String>,
        deleted: Vec<String>,
    ) -> Release {
        Release {
            version: VERSION,
            id,
            created,
            commit: current_commit(),
            objects,
            changed,
            deleted,
            rollback_of: None,
            stage: None,
            size: None,
        }
    }
}

/// A release record of the target, or None when it does not exist.
pub async fn fetch(target: &Target, id: &str) -> Result<Option<Release>> {
    let key = Release::key(id);
    match target.get(&key).await? {
        Some(bytes) => Release::parse(&key, &bytes).map(Some),
        None => Ok(None),
    }
}

/// A release record that must exist; the error names the target and says how to list them.
pub async fn fetch_required(target: &Target, id: &str) -> Result<Release> {
    fetch(target, id).await?.ok_or_else(|| {
        Error::Failed(format!(
            "{}: no release {id} (no {}); `cdnpub releases` lists them",
            target.describe(),
            Release::key(id)
        ))
    })
}

/// The id the latest pointer names, or None when there is no pointer.
pub async fn pointed(target: &Target) -> Result<Option<String>> {
    target
        .get(LATEST_KEY)
        .await?
        .map(|b| parse_pointer(&b))
        .transpose()
}

/// Point the latest pointer at release `id` (its record must be stored).
pub async fn point(target: &Target, id: &str) -> Result<()> {
    target
        .put(LATEST_KEY, latest_pointer(id), &record_meta())
        .await
}

/// Store `record`; with `live`, point the latest pointer at it (after the record, so the
/// pointer never names a record that is not there).
pub async fn write(target: &Target, record: &Release, live: bool) -> Result<()> {
    target
        .put(&Release::key(&record.id), record.to_bytes(), &record_meta())
        .await?;
    if live {
        target
            .put(LATEST_KEY, latest_pointer(&record.id), &record_meta())
            .await?;
    }
    Ok(())
}

/// A target's listing and its latest pointer, read once for commands that have no local files
/// to go by (prune, releases, rollback).
pub struct Survey {
    /// Every object, sorted by key.
    pub listing: Vec<Listed>,
    /// The bytes of `_cdnpub/latest.json`, when there is one.
    pub pointer: Option<Vec<u8>>,
}

impl Survey {
    /// Release ids of the listing, oldest first.
    pub fn ids(&self) -> Vec<String> {
        ids_in(self.listing.iter().map(|l| &l.key))
    }

    /// The live release: the latest pointer, or the newest record when there is none.
    pub fn live(&self) -> Result<Option<String>> {
        Ok(match &self.pointer {
            Some(b) => Some(parse_pointer(b)?),
            None => self.ids().last().cloned(),
        })
    }
}

/// The target's listing, planned from its live release: the record `_cdnpub/latest.json`
/// names is read first and its keys tell an S3 store where the listing's pages fall, so it
/// fetches them at once (`ObjectStore::list_near`) instead of one page per round trip. No
/// pointer, or a damaged one or record, only means one sequential listing (whoever needs the
/// pointer or the record reports the damage).
pub async fn survey(target: &Target) -> Result<Survey> {
    let pointer = target.get(LATEST_KEY).await?;
    if matches!(target, Target::Local(_)) {
        let listing = target.list().await?;
        return Ok(Survey { listing, pointer });
    }
    let id = pointer.as_deref().and_then(|b| parse_pointer(b).ok());
    let record = match id {
        Some(id) => target
            .get(&Release::key(&id))
            .await?
            .and_then(|bytes| Release::parse(&Release::key(&id), &bytes).ok()),
        None => None,
    };
    let expected: Vec<String> = record
        .map(|r| r.objects.into_keys().collect())
        .unwrap_or_default();
    let listing = target.list_near(&expected).await?;
    Ok(Survey { listing, pointer })
}

/// Bytes of a file or a set of files at each encoding. `gzip` is the gzip variant's size (the
/// plain size where the build kept none); `br` the brotli variant's (else the gzip size).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sizes {
    /// Plain bytes.
    pub raw: u64,
    /// gzip.
    pub gzip: u64,
    /// brotli.
    pub br: u64,
}

impl Sizes {
    /// A file's sizes, from its manifest record.
    pub fn of(f: &crate::site::manifest::FileRecord) -> Sizes {
        let variant = |e: &str| f.encodings.iter().find(|v| v.encoding == e).map(|v| v.size);
        let gzip = variant("gzip").unwrap_or(f.size);
        Sizes {
            raw: f.size,
            gzip,
            br: variant("br").unwrap_or(gzip),
        }
    }

    /// Add `o` to these.
    pub fn add(&mut self, o: Sizes) {
        self.raw += o.raw;
        self.gzip += o.gzip;
        self.br += o.br;
    }

    /// The size at `encoding` (`identity`, `gzip`, `br`).
    pub fn at(&self, encoding: &str) -> u64 {
        match encoding {
            "gzip" => self.gzip,
            "br" => self.br,
            _ => self.raw,
        }
    }
}

/// What the release record keeps (for the next release's growth check).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// The encoding browsers get.
    pub wire: String,
    /// Each entry page's first visit.
    pub pages: BTreeMap<String, Sizes>,
    /// Every file of the site (source maps excluded).
    pub site: Sizes,
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
            size: None,
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
