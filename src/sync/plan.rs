//! What one target needs, decided without a request: [`plan`] compares the tree's objects with
//! the target's listing and its latest release record. Where the two disagree it cannot decide
//! and asks for a HEAD ([`Decision::Head`]); the caller makes those HEADs (concurrently) and
//! hands the answers back with [`Plan::settle`].

use std::collections::{BTreeMap, BTreeSet};

use super::{headers_digest, LocalObject, HEADERS_META, NO_CACHE};
use crate::release::{self, Object, Release};
use crate::store::{Head, Listed};

/// What to do with one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The target holds these bytes with these headers: nothing to send.
    Unchanged,
    /// Send it.
    Send,
    /// The listing and the record disagree: a HEAD of the object decides.
    Head,
}

/// The decision for each object, in the objects' order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One per object.
    pub decisions: Vec<Decision>,
}

/// Decide each object from the listing (None: the target is not listed, `--no-check-bucket`)
/// and the latest release record:
///
/// | in the record | listed with its size | decision |
/// |---|---|---|
/// | yes | yes | unchanged |
/// | yes | no, and no listing | unchanged (the record is all there is) |
/// | yes | no | send |
/// | no | yes | HEAD |
/// | no | no | send |
pub fn plan(local: &[LocalObject], listing: Option<&[Listed]>, latest: Option<&Release>) -> Plan {
    let listed: BTreeMap<&str, u64> = listing
        .unwrap_or_default()
        .iter()
        .map(|l| (l.key.as_str(), l.size))
        .collect();
    let decisions = local
        .iter()
        .map(|o| {
            let in_record = latest.and_then(|r| r.objects.get(&o.key)) == Some(&o.object);
            let size_matches = listed.get(o.key.as_str()) == Some(&o.object.size);
            match (in_record, size_matches) {
                (true, true) => Decision::Unchanged,
                (true, false) if listing.is_none() => Decision::Unchanged,
                (_, true) => Decision::Head,
                // An immutable key the target holds with other bytes: a HEAD says whose.
                (false, false) if o.immutable && listed.contains_key(o.key.as_str()) => {
                    Decision::Head
                }
                _ => Decision::Send,
            }
        })
        .collect();
    Plan { decisions }
}

/// What a target held under a key before: enough to tell whether it had other bytes.
#[derive(Debug, Clone, Copy)]
pub struct Held<'a> {
    /// SHA-256 of the stored bytes, when recorded.
    pub sha256: Option<&'a str>,
    /// Stored size.
    pub size: u64,
    /// Cache-Control it is served with.
    pub cache_control: Option<&'a str>,
    /// Content-Encoding.
    pub content_encoding: Option<&'a str>,
}

impl<'a> Held<'a> {
    /// What a HEAD says the target holds.
    pub fn of_head(h: &'a Head) -> Self {
        Held {
            sha256: h.meta.metadata.get("sha256").map(String::as_str),
            size: h.size,
            cache_control: h.meta.cache_control.as_deref(),
            content_encoding: h.meta.content_encoding.as_deref(),
        }
    }

    /// What a release record says the target holds.
    pub fn of_record(o: &'a Object) -> Self {
        Held {
            sha256: Some(&o.sha256),
            size: o.size,
            cache_control: Some(&o.cache_control),
            content_encoding: o.content_encoding.as_deref(),
        }
    }
}

/// True when sending `o` would give an immutable key other bytes than browsers and CDN edges
/// may already keep for a year: the target served `held` as immutable under the same key and
/// encoding, with another digest (or, unrecorded, another size).
pub fn overwrites_immutable(o: &LocalObject, held: Held) -> bool {
    o.immutable
        && held.cache_control.is_some_and(|c| c.contains("immutable"))
        && held.content_encoding == o.object.content_encoding.as_deref()
        && match held.sha256 {
            Some(sha) => sha != o.object.sha256,
            None => held.size != o.object.size,
        }
}

/// The objects whose keys the latest record holds as immutable with other bytes.
pub fn record_conflicts(local: &[LocalObject], latest: Option<&Release>) -> Vec<usize> {
    let Some(latest) = latest else {
        return Vec::new();
    };
    (0..local.len())
        .filter(|&i| {
            latest
                .objects
                .get(&local[i].key)
                .is_some_and(|r| overwrites_immutable(&local[i], Held::of_record(r)))
        })
        .collect()
}

/// True when the stored object (its HEAD) has the digest and headers we would send.
pub fn head_matches(head: Option<&Head>, o: &Object) -> bool {
    let Some(head) = head else {
        return false;
    };
    let m = &head.meta;
    head.size == o.size
        && m.metadata.get("sha256") == Some(&o.sha256)
        && m.metadata.get(HEADERS_META) == Some(&headers_digest(o))
        && m.content_type.as_deref() == Some(o.content_type.as_str())
        && m.cache_control.as_deref() == Some(o.cache_control.as_str())
        && m.content_encoding == o.content_encoding
}

impl Plan {
    /// Objects whose HEAD decides them.
    pub fn heads(&self) -> Vec<usize> {
        self.indices(Decision::Head)
    }

    /// Record what a HEAD found for object `i`: the same object, or one to send.
    pub fn settle(&mut self, i: usize, same: bool) {
        self.decisions[i] = if same {
            Decision::Unchanged
        } else {
            Decision::Send
        };
    }

    /// Objects in place.
    pub fn unchanged(&self) -> usize {
        self.indices(Decision::Unchanged).len()
    }

    /// The sending order: fingerprinted assets first, then pages and other no-cache objects, so
    /// no page goes out before every asset it may name has landed. An object still waiting for
    /// its HEAD is sent (unknown is never "unchanged").
    pub fn phases(&self, local: &[LocalObject]) -> [Vec<usize>; 2] {
        let send = (0..self.decisions.len()).filter(|&i| self.decisions[i] != Decision::Unchanged);
        let (assets, pages) = send.partition(|&i| local[i].immutable);
        [assets, pages]
    }

    fn indices(&self, d: Decision) -> Vec<usize> {
        (0..self.decisions.len())
            .filter(|&i| self.decisions[i] == d)
            .collect()
    }
}

/// True when `latest` describes exactly these objects (a no-op upload writes no new record).
pub fn describes(latest: &Release, local: &[LocalObject]) -> bool {
    latest.objects.len() == local.len()
        && local
            .iter()
            .all(|o| latest.objects.get(&o.key) == Some(&o.object))
}

/// Rollback copies to store before the pages go live: one per content of a no-cache object
/// (only those being sent when the target is not listed), unless the listing already has it.
pub fn snapshots(
    local: &[LocalObject],
    plan: &Plan,
    listing: Option<&[Listed]>,
) -> Vec<LocalObject> {
    let listed: BTreeSet<&str> = listing
        .unwrap_or_default()
        .iter()
        .map(|l| l.key.as_str())
        .collect();
    let [_, pages] = plan.phases(local);
    let candidates: Vec<&LocalObject> = match listing {
        None => pages.iter().map(|&i| &local[i]).collect(),
        Some(_) => local.iter().filter(|o| !o.immutable).collect(),
    };
    let mut seen = BTreeSet::new();
    candidates
        .into_iter()
        .filter(|o| seen.insert(o.object.sha256.clone()))
        .map(|o| LocalObject {
            key: release::snapshot_key(&o.object.sha256),
            path: o.path.clone(),
            object: Object {
                content_type: "application/octet-stream".into(),
                cache_control: NO_CACHE.into(),
                content_encoding: None,
                ..o.object.clone()
            },
            immutable: false,
        })
        .filter(|s| !listed.contains(s.key.as_str()))
        .collect()
}

/// What `--delete` must keep besides the recent releases: this tree's keys and the rollback
/// copies of its contents.
pub fn keep_set(local: &[LocalObject]) -> BTreeSet<String> {
    let mut keep: BTreeSet<String> = local.iter().map(|o| o.key.clone()).collect();
    keep.extend(
        local
            .iter()
            .map(|o| release::snapshot_key(&o.object.sha256)),
    );
    keep
}

/// The record of a release of `local` that sent `uploaded` and deleted `deleted`.
pub fn record(
    local: &[LocalObject],
    id: (String, String),
    uploaded: &[String],
    deleted: &[String],
) -> Release {
    let objects = local
        .iter()
        .map(|o| (o.key.clone(), o.object.clone()))
        .collect();
    Release::new(id, objects, uploaded.to_vec(), deleted.to_vec())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::store::Meta;

    fn obj(key: &str, sha: &str, size: u64, immutable: bool) -> LocalObject {
        LocalObject {
            key: key.into(),
            path: PathBuf::from(key),
            object: Object {
                sha256: sha.into(),
                size,
                content_type: "text/plain".into(),
                cache_control: if immutable {
                    super::super::IMMUTABLE
                } else {
                    NO_CACHE
                }
                .into(),
                content_encoding: None,
            },
            immutable,
        }
    }

    fn listed(entries: &[(&str, u64)]) -> Vec<Listed> {
        entries
            .iter()
            .map(|(k, s)| Listed {
                key: k.to_string(),
                size: *s,
                etag: String::new(),
            })
            .collect()
    }

    fn record_of(objects: &[LocalObject]) -> Release {
        record(objects, ("1".into(), "t".into()), &[], &[])
    }

    #[test]
    fn every_row_of_the_table() {
        let local = [
            obj("same.js", "a", 1, true),     // record yes, listed same size
            obj("gone.js", "b", 2, true),     // record yes, not listed
            obj("other.js", "c", 3, true),    // not in record, listed same size
            obj("new.html", "d", 4, false),   // neither
            obj("resized.css", "e", 5, true), // record yes, listed other size
        ];
        let latest = record_of(&[
            local[0].clone(),
            local[1].clone(),
            obj("other.js", "OLD", 3, true),
            local[4].clone(),
        ]);
        let listing = listed(&[("same.js", 1), ("other.js", 3), ("resized.css", 99)]);
        let p = plan(&local, Some(&listing), Some(&latest));
        use Decision::*;
        assert_eq!(p.decisions, [Unchanged, Send, Head, Send, Send]);
        assert_eq!(p.heads(), [2]);
        // Without a listing the record is believed; nothing is ever HEADed.
        let p = plan(&local, None, Some(&latest));
        assert_eq!(p.decisions, [Unchanged, Unchanged, Send, Send, Unchanged]);
        // Onto a bucket another tool filled (no record): every listed object of the right size
        // is asked, and every listed immutable key (its bytes must not change); the rest sent.
        let p = plan(&local, Some(&listing), None);
        assert_eq!(p.decisions, [Head, Send, Head, Send, Head]);
    }

    #[test]
    fn immutable_keys_never_get_other_bytes() {
        let a = obj("assets/a-Ab12Cd34.js", "aa", 10, true);
        let mut edited = a.clone();
        edited.object.sha256 = "bb".into();
        let latest = record_of(std::slice::from_ref(&a));
        assert_eq!(record_conflicts(&[edited.clone()], Some(&latest)), [0]);
        assert!(record_conflicts(std::slice::from_ref(&a), Some(&latest)).is_empty());
        // Stored with another encoding, or not as immutable: not the same bytes to compare.
        let held = |cc: &'static str, enc: Option<&'static str>| Held {
            sha256: Some("aa"),
            size: 10,
            cache_control: Some(cc),
            content_encoding: enc,
        };
        let imm = super::super::IMMUTABLE;
        assert!(overwrites_immutable(&edited, held(imm, None)));
        assert!(!overwrites_immutable(&edited, held(imm, Some("gzip"))));
        assert!(!overwrites_immutable(&edited, held(NO_CACHE, None)));
        // A listed immutable key of another size is looked at, not sent blindly.
        let listing = listed(&[(a.key.as_str(), 99)]);
        assert_eq!(plan(&[a], Some(&listing), None).decisions, [Decision::Head]);
    }

    #[test]
    fn heads_settle_and_phases_put_assets_before_pages() {
        let local = [
            obj("index.html", "a", 1, false),
            obj("app.js", "b", 1, true),
            obj("logo.png", "c", 1, true),
        ];
        let listing = listed(&[("index.html", 1), ("app.js", 1), ("logo.png", 1)]);
        let mut p = plan(&local, Some(&listing), None);
        assert_eq!(p.heads(), [0, 1, 2]);
        // Unanswered HEADs are sent, never skipped.
        assert_eq!(p.phases(&local), [vec![1, 2], vec![0]]);
        p.settle(1, true);
        p.settle(0, false);
        p.settle(2, false);
        assert_eq!(p.unchanged(), 1);
        assert_eq!(p.phases(&local), [vec![2], vec![0]]);
    }

    #[test]
    fn a_head_matches_only_with_digest_and_every_header() {
        let o = obj("a.js", "abc", 3, true).object;
        let good = Head {
            size: 3,
            meta: super::super::meta_of(&o),
        };
        assert!(head_matches(Some(&good), &o));
        assert!(!head_matches(None, &o));
        let mut other_rule = good.clone();
        other_rule.meta.cache_control = Some("no-cache".into());
        assert!(!head_matches(Some(&other_rule), &o));
        let mut no_meta = good.clone();
        no_meta.meta = Meta {
            metadata: BTreeMap::new(),
            ..good.meta.clone()
        };
        assert!(!head_matches(Some(&no_meta), &o));
        let mut short = good;
        short.size = 2;
        assert!(!head_matches(Some(&short), &o));
    }

    #[test]
    fn snapshots_once_per_content_and_not_twice() {
        let local = [
            obj("a/index.html", "same", 1, false),
            obj("b/index.html", "same", 1, false),
            obj("c.html", "c", 1, false),
            obj("app.js", "j", 1, true),
        ];
        let p = plan(&local, Some(&[]), None);
        let keys: Vec<String> = snapshots(&local, &p, Some(&[]))
            .into_iter()
            .map(|s| s.key)
            .collect();
        assert_eq!(keys, ["_cdnpub/objects/same", "_cdnpub/objects/c"]);
        let stored = listed(&[("_cdnpub/objects/same", 1)]);
        let keys: Vec<String> = snapshots(&local, &p, Some(&stored))
            .into_iter()
            .map(|s| s.key)
            .collect();
        assert_eq!(keys, ["_cdnpub/objects/c"]);
    }

    #[test]
    fn a_record_describes_exactly_its_objects() {
        let local = [obj("a", "1", 1, true), obj("b", "2", 1, false)];
        let r = record_of(&local);
        assert!(describes(&r, &local));
        assert!(!describes(&r, &local[..1]));
        let mut changed = local.clone();
        changed[1].object.cache_control = "max-age=60".into();
        assert!(!describes(&r, &changed));
        assert_eq!(
            keep_set(&local).into_iter().collect::<Vec<_>>(),
            ["_cdnpub/objects/1", "_cdnpub/objects/2", "a", "b"]
        );
    }
}
