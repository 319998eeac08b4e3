//! The CDN jobs of one release, as `publish` runs them after the upload: which keys a purge
//! sends ([`purge_keys`]), the purge, and the prefetch of the entry points; each says why it is
//! skipped when it is.

use std::collections::BTreeMap;

use super::entry::entry_points;
use super::urls::{key_paths, normalize, Domains};
use super::Cdn as _;
use super::{Action, CdnReport, JobOptions, ObjectKind, Provider};
use crate::error::{Error, Result};

/// A job's outcome: its report, or why it did not run.
#[derive(Debug)]
pub enum Job {
    /// It ran.
    Ran(Box<CdnReport>),
    /// It did not run, and why.
    Skipped(String),
}

/// What the CDN jobs of one release share.
pub struct ReleaseJobs<'a> {
    /// The provider (None: no CDN is set, every job is skipped).
    pub provider: Option<&'a Provider>,
    /// The domains jobs may touch.
    pub domains: &'a Domains,
    /// URL path under the domain where the target's keys are served.
    pub url_prefix: &'a str,
    /// Job options.
    pub job: &'a JobOptions,
    /// A staged release (nothing of it is cached yet).
    pub staged: bool,
}

/// What a purge sends: the keys an earlier release served that changed (`replaced`), or every
/// uploaded key with `all_new`; never a `.gz`/`.br` sibling of another key (browsers ask for
/// the plain URL) nor a source map no earlier release had.
pub fn purge_keys(uploaded: &[String], replaced: &[String], all_new: bool) -> Vec<String> {
    let served: std::collections::BTreeSet<&str> = replaced.iter().map(String::as_str).collect();
    let keys: std::collections::BTreeSet<&str> = uploaded.iter().map(String::as_str).collect();
    uploaded
        .iter()
        .filter(|k| all_new || served.contains(k.as_str()))
        .filter(|k| {
            let sibling = [".gz", ".br"].iter().any(|ext| {
                k.strip_suffix(ext)
                    .is_some_and(|plain| keys.contains(plain))
            });
            let new_map = k.ends_with(".map") && !served.contains(k.as_str());
            !sibling && !new_map
        })
        .cloned()
        .collect()
}

impl ReleaseJobs<'_> {
    /// The provider, or why no job runs (no provider, a staged release, nothing changed).
    pub fn ready(&self, changed: &[String]) -> std::result::Result<&Provider, String> {
        let Some(p) = self.provider else {
            return Err(
                "no CDN provider is set (--provider, or cdn_provider in cdnpub.toml)".into(),
            );
        };
        if self.staged {
            return Err("a staged release: its pages have new keys, nothing is cached yet".into());
        }
        if changed.is_empty() {
            return Err("nothing changed".into());
        }
        Ok(p)
    }

    /// Purge the keys `changed` (already chosen by [`purge_keys`]).
    pub async fn purge(&self, changed: &[String]) -> Result<Job> {
        let p = match self.ready(changed) {
            Ok(p) => p,
            Err(why) => return Ok(Job::Skipped(why)),
        };
        let urls = normalize(&key_paths(changed, self.url_prefix), self.domains)?;
        Ok(Job::Ran(Box::new(
            super::run(p, Action::Purge, ObjectKind::File, &urls, self.job).await?,
        )))
    }

    /// Warm the entry points of the pages among `changed` in the build at `out` (its
    /// manifest names the release's keys).
    pub async fn prefetch(&self, changed: &[String], out: &std::path::Path) -> Result<Job> {
        let p = match self.ready(changed) {
            Ok(p) => p,
            Err(why) => return Ok(Job::Skipped(why)),
        };
        if !p.can_prefetch() {
            return Ok(Job::Skipped(format!("{} has no prefetch API", p.name())));
        }
        let (out, pages) = (out.to_path_buf(), changed.to_vec());
        let (keys, html) = crate::util::tasks::blocking(move || {
            let manifest = crate::site::manifest::Manifest::read(&out)?.unwrap_or_default();
            let keys: Vec<String> = manifest.files.iter().map(|f| f.path.clone()).collect();
            let mut html = BTreeMap::new();
            for k in pages.iter().filter(|k| super::entry::is_html(k)) {
                let path = out.join(k);
                let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
                html.insert(k.clone(), bytes);
            }
            Ok((keys, html))
        })
        .await?;
        let (keys, absolute) = entry_points(changed, &keys, &html, self.domains);
        let mut inputs: Vec<String> = key_paths(&keys, self.url_prefix)
            .into_iter()
            .filter(|p| !p.ends_with('/'))
            .collect();
        inputs.extend(absolute);
        let urls = normalize(&inputs, self.domains)?;
        Ok(Job::Ran(Box::new(
            super::run(p, Action::Prefetch, ObjectKind::File, &urls, self.job).await?,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::purge_keys;

    #[test]
    fn purges_what_browsers_can_have_cached() {
        let up: Vec<String> = [
            "index.html",
            "index.html.gz",
            "index.html.br",
            "assets/a-Ab12Cd34.js",
            "assets/a-Ab12Cd34.js.map",
            "data.tar.gz",
            "old.js.map",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let replaced: Vec<String> = ["index.html", "index.html.gz", "old.js.map"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            purge_keys(&up, &replaced, false),
            ["index.html", "old.js.map"]
        );
        assert_eq!(
            purge_keys(&up, &replaced, true),
            [
                "index.html",
                "assets/a-Ab12Cd34.js",
                "data.tar.gz",
                "old.js.map"
            ]
        );
        assert!(purge_keys(&up, &[], false).is_empty());
    }
}
