//! Retention: which objects of a target no recent release names, so `upload --delete` and
//! publish's prune may remove them. The decision ([`unreferenced`]) is pure; reading the
//! records it needs ([`recent`]) and deleting ([`prune`]) are the only requests.

use std::collections::BTreeSet;

use super::{fetch, ids_in, snapshot_key, survey, Release, SNAPSHOTS_DIR};
use crate::error::{Error, Result};
use crate::store::target::Target;
use crate::store::{Listed, ObjectStore};

/// The last `count` release records of `ids` (oldest first) that still exist.
pub async fn recent(target: &Target, ids: &[String], count: usize) -> Result<Vec<Release>> {
    let mut out = Vec::new();
    for id in &ids[ids.len().saturating_sub(count)..] {
        if let Some(r) = fetch(target, id).await? {
            out.push(r);
        }
    }
    Ok(out)
}

/// The releases whose objects stay, oldest first: the last `keep` of `all`, and any a rollout
/// still serves (`serving`: its stable release and its candidate), however old.
pub fn kept(all: &[Release], keep: usize, serving: &[String]) -> Vec<Release> {
    let from = all.len().saturating_sub(keep);
    all.iter()
        .enumerate()
        .filter(|(i, r)| *i >= from || serving.contains(&r.id))
        .map(|(_, r)| r.clone())
        .collect()
}

/// The releases a rollout on `target` serves (stable and candidate; none without a rollout).
pub async fn serving(target: &Target) -> Result<Vec<String>> {
    Ok(match super::rollout::read(target).await? {
        Some(r) => std::iter::once(r.stable).chain(r.candidate).collect(),
        None => Vec::new(),
    })
}

/// Every key any of `records` (this target's release records) names: what this deployment
/// wrote, and so all it may ever delete.
pub fn written(records: &[Release]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in records {
        let stage = r.stage.clone().unwrap_or_default();
        for k in r.objects.keys().chain(&r.changed) {
            if let Some(live) = k.strip_prefix(&stage).filter(|_| !stage.is_empty()) {
                out.insert(live.to_string());
            }
            out.insert(k.clone());
        }
    }
    out
}

/// The sub-prefixes (`mobile-vue/ng/`) of a listing that hold another deployment's release
/// records (`mobile-vue/ng/_cdnpub/releases/…`): everything under them is that deployment's.
fn foreign_prefixes(listing: &[Listed]) -> BTreeSet<String> {
    listing
        .iter()
        .filter_map(|l| {
            let at = l.key.find(&format!("/{}", super::RELEASES_DIR))?;
            Some(l.key[..at + 1].to_string())
        })
        .collect()
}

/// Keys of `listing` that this target's own records wrote (`written`, and its rollback copies)
/// and that neither `keep` nor any of `kept` names (release records themselves are kept;
/// rollback copies only while a kept release names their content; a staged record's pages are
/// kept under both their staged and their live key). Never touched: objects no record of this
/// target named (another tool's, another pipeline's) and everything under a sub-prefix that
/// holds another deployment's release records. More than `max_deletes`: an error, nothing to
/// delete.
pub fn unreferenced(
    mut keep: BTreeSet<String>,
    listing: &[Listed],
    kept: &[Release],
    written: &BTreeSet<String>,
    max_deletes: usize,
) -> Result<Vec<String>> {
    for r in kept {
        let stage = r.stage.clone().unwrap_or_default();
        for (k, o) in &r.objects {
            keep.insert(snapshot_key(&o.sha256));
            if let Some(live) = k.strip_prefix(&stage).filter(|_| !stage.is_empty()) {
                keep.insert(live.to_string());
            }
            keep.insert(k.clone());
        }
    }
    let foreign = foreign_prefixes(listing);
    let (mut others, mut nested) = (0usize, 0usize);
    let deletes: Vec<String> = listing
        .iter()
        .map(|l| l.key.clone())
        .filter(|k| {
            if foreign.iter().any(|p| k.starts_with(p.as_str())) {
                nested += 1;
                return false;
            }
            let ours = k.starts_with(SNAPSHOTS_DIR) || written.contains(k);
            if !ours && !k.starts_with("_cdnpub/") && !keep.contains(k) {
                others += 1;
            }
            ours && !keep.contains(k)
        })
        .collect();
    if nested > 0 {
        tracing::info!(
            "left {nested} object(s) under {}: another deployment's (its own _cdnpub/ records are there)",
            foreign.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    if others > 0 {
        tracing::info!(
            "left {others} object(s) that no release record of this target names (another tool's or pipeline's)"
        );
    }
    if deletes.len() > max_deletes {
        return Err(Error::Failed(format!(
            "{} objects would be deleted, more than --max-deletes {}; nothing was deleted or uploaded. \
             Check the target and prefix, then raise --max-deletes if this is intended",
            deletes.len(),
            max_deletes
        )));
    }
    Ok(deletes)
}

/// Delete what none of the last `keep_releases` releases names, nor a release a rollout still
/// serves (publish's last stage).
/// Returns the keys deleted (or, with `dry_run`, that would be).
pub async fn prune(
    target: &Target,
    keep_releases: usize,
    max_deletes: usize,
    dry_run: bool,
) -> Result<Vec<String>> {
    let listing = survey(target).await?.listing;
    let ids = ids_in(listing.iter().map(|l| &l.key));
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let all = recent(target, &ids, ids.len()).await?;
    let kept = kept(&all, keep_releases.max(1), &serving(target).await?);
    let deletes = unreferenced(
        BTreeSet::new(),
        &listing,
        &kept,
        &written(&all),
        max_deletes,
    )?;
    if !dry_run && !deletes.is_empty() {
        target.delete(&deletes).await?;
    }
    Ok(deletes)
}

/// Pruning on one target.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Pruned {
    /// The target.
    pub target: String,
    /// Keys deleted (or that would be).
    pub deleted: Vec<String>,
    /// Why it failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Prune every target of `targets` ([`prune`] on each): a failure is kept in its entry, the
/// others still run.
pub async fn prune_targets(
    targets: &[String],
    endpoint: &crate::store::target::Endpoint,
    keep_releases: usize,
    max_deletes: usize,
    dry_run: bool,
) -> Result<Vec<Pruned>> {
    let mut out = Vec::new();
    for raw in targets {
        let loc = crate::store::target::Location::parse(raw)?;
        let target = Target::open(&loc, endpoint).await?;
        let r = prune(&target, keep_releases, max_deletes, dry_run).await;
        out.push(match r {
            Ok(deleted) => Pruned {
                target: target.describe(),
                deleted,
                error: None,
            },
            Err(e) => Pruned {
                target: target.describe(),
                deleted: Vec::new(),
                error: Some(e.to_string()),
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::release::Object;

    fn listed(keys: &[&str]) -> Vec<Listed> {
        keys.iter()
            .map(|k| Listed {
                key: k.to_string(),
                size: 1,
                etag: String::new(),
            })
            .collect()
    }

    fn object(sha: &str) -> Object {
        Object {
            sha256: sha.into(),
            size: 1,
            content_type: "text/html".into(),
            cache_control: "no-cache".into(),
            content_encoding: None,
        }
    }

    fn record(id: &str, keys: &[(&str, &str)], stage: Option<&str>) -> Release {
        let objects: BTreeMap<String, Object> = keys
            .iter()
            .map(|(k, s)| (k.to_string(), object(s)))
            .collect();
        let mut r = Release::new((id.into(), "t".into()), objects, vec![], vec![]);
        r.stage = stage.map(str::to_owned);
        r
    }

    #[test]
    fn keeps_what_kept_releases_name_their_copies_and_both_keys_of_a_staged_page() {
        let listing = listed(&[
            "a.js",
            "old.js",
            "index.html",
            "_cdnpub/releases/1.json",
            "_cdnpub/latest.json",
            "_cdnpub/objects/aaa",
            "_cdnpub/objects/zzz",
            "releases/2/index.html",
        ]);
        let kept = [
            record("1", &[("a.js", "x"), ("index.html", "aaa")], None),
            record(
                "2",
                &[("releases/2/index.html", "bbb")],
                Some("releases/2/"),
            ),
        ];
        let old = record("0", &[("old.js", "y"), ("a.js", "x")], None);
        let all = [old, kept[0].clone(), kept[1].clone()];
        let deletes = unreferenced(BTreeSet::new(), &listing, &kept, &written(&all), 10).unwrap();
        assert_eq!(deletes, ["old.js", "_cdnpub/objects/zzz"]);
        // What no record of this target wrote is left alone.
        let deletes = unreferenced(BTreeSet::new(), &listing, &kept, &written(&kept), 10).unwrap();
        assert_eq!(deletes, ["_cdnpub/objects/zzz"]);
    }

    #[test]
    fn another_deployment_under_a_sub_prefix_is_never_touched() {
        let listing = listed(&[
            "index.html",
            "gone.js",
            "mobile-vue/ng/index.html",
            "mobile-vue/ng/main.js",
            "mobile-vue/ng/_cdnpub/releases/9.json",
            "mobile-vue/ng/_cdnpub/objects/abc",
        ]);
        // Even if an old record of ours once named a key there.
        let ours = record(
            "1",
            &[("gone.js", "g"), ("mobile-vue/ng/main.js", "m")],
            None,
        );
        let kept = [record("2", &[("index.html", "i")], None)];
        let deletes = unreferenced(
            BTreeSet::new(),
            &listing,
            &kept,
            &written(&[ours, kept[0].clone()]),
            10,
        )
        .unwrap();
        assert_eq!(deletes, ["gone.js"]);
    }

    #[test]
    fn more_deletes_than_allowed_is_an_error_naming_the_flag() {
        let listing = listed(&["a", "b", "c"]);
        let keep = BTreeSet::from(["a".to_string()]);
        let written: BTreeSet<String> = ["a", "b", "c"].iter().map(|k| k.to_string()).collect();
        let err = unreferenced(keep.clone(), &listing, &[], &written, 1)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("2 objects would be deleted") && err.contains("--max-deletes 1"),
            "{err}"
        );
        assert_eq!(
            unreferenced(keep, &listing, &[], &written, 2).unwrap(),
            ["b", "c"]
        );
    }
}
