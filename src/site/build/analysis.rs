//! What the build learns from each input before naming anything: references, placeholders,
//! mentions of other files, Workers; and what it refuses from that alone.

use super::config::*;
use super::input::Input;

use crate::error::{Error, Result};
use crate::site::classify;
use crate::site::fingerprint::{self, pins, Refs};

/// What the analysis of one input found.
#[derive(Default)]
pub(super) struct Analysis {
    /// Its references.
    pub(super) refs: Refs,
    /// Rendering placeholders changes it.
    pub(super) rendered: bool,
    /// `--source-maps skip` removed its source map comment.
    pub(super) map_comment_removed: bool,
    /// Files whose names it mentions outside its references.
    pub(super) mentions: Vec<usize>,
    /// A text file that holds the placeholder.
    pub(super) holds_prefix: bool,
    /// Where it writes the placeholder as a host (`https://EGOVA_CDN/…`), the URL's start.
    pub(super) fake_host: Option<String>,
    /// A script that starts a Worker from a script URL.
    pub(super) starts_worker: bool,
}

/// References of every file, whether rendering placeholders changes it, and the files whose
/// names it mentions elsewhere.
pub(super) fn analyze_all(
    inputs: &[Input],
    index: &fingerprint::resolve::Index,
    render: Option<&Render>,
    names: &pins::Names,
    prefix: &str,
) -> Result<Vec<Analysis>> {
    use rayon::prelude::*;
    inputs
        .par_iter()
        .enumerate()
        .map(|(id, i)| {
            let renders = render.filter(|r| r.globs.is_match(&i.rel));
            let text = pins::is_text(&i.rel);
            if classify::kind(&i.rel) == classify::Kind::Other && renders.is_none() && !text {
                return Ok(Analysis::default());
            }
            let (bytes, map_comment_removed) = i.read_marked()?;
            let rendered = renders.is_some_and(|r| r.renderer.count(&bytes) > 0);
            let refs = fingerprint::analyze(&i.rel, &bytes, index);
            let mentions = if text {
                names.uncovered(id, &bytes, &pins::covered(&refs), index)
            } else {
                Vec::new()
            };
            let holds_prefix = text && memchr::memmem::find(&bytes, prefix.as_bytes()).is_some();
            let starts_worker = classify::kind(&i.rel) == classify::Kind::Js
                && fingerprint::js::starts_worker_from_url(&bytes);
            Ok(Analysis {
                refs,
                rendered,
                map_comment_removed,
                mentions,
                starts_worker,
                holds_prefix,
                fake_host: holds_prefix.then(|| fake_host(&bytes, prefix)).flatten(),
            })
        })
        .collect()
}

/// `https://EGOVA_CDN` where the placeholder `prefix` (written with no scheme) follows `://`:
/// a host the framework required an absolute URL for.
pub(super) fn fake_host(bytes: &[u8], prefix: &str) -> Option<String> {
    if prefix.contains("://") {
        return None;
    }
    memchr::memmem::find_iter(bytes, prefix.as_bytes()).find_map(|at| {
        let before = &bytes[..at];
        let scheme_start = before.strip_suffix(b"://").map(|b| {
            b.len()
                - b.iter()
                    .rev()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .count()
        })?;
        (scheme_start < at - 3)
            .then(|| String::from_utf8_lossy(&bytes[scheme_start..at + prefix.len()]).into_owned())
    })
}

/// Before anything is built: a placeholder written as a host (`https://EGOVA_CDN`) needs
/// `--prefix` to name that whole start; with rendering (publish), every text file holding the
/// placeholder must be rendered, or the site would ship it.
pub(super) fn check_placeholders(
    cfg: &BuildConfig,
    rels: &[String],
    found: &[Analysis],
) -> Result<()> {
    let hosts: Vec<(&str, &str)> = found
        .iter()
        .zip(rels)
        .filter_map(|(a, r)| Some((r.as_str(), a.fake_host.as_deref()?)))
        .collect();
    if let Some((file, host)) = hosts.first() {
        return Err(Error::Usage(format!(
            "{file} writes the placeholder as a host ({host}/…, as frameworks that need an absolute asset URL do); \
             rendering {p} alone would give {scheme}://<server>: give the whole start as the placeholder: --prefix {host} \
             (prefix in cdnpub.toml); {n} file(s) write it so",
            p = cfg.prefix,
            scheme = host.split("://").next().unwrap_or("https"),
            n = hosts.len()
        )));
    }
    let Some(render) = &cfg.render else {
        return Ok(());
    };
    let left: Vec<&str> = found
        .iter()
        .zip(rels)
        .filter(|(a, r)| a.holds_prefix && !render.globs.is_match(r.as_str()))
        .map(|(_, r)| r.as_str())
        .collect();
    if left.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = left.iter().take(10).copied().collect();
    Err(Error::Broken(format!(
        "{} file(s) hold the placeholder {} but are not rendered, so the site would ship it unrendered: {}{}; \
         render them too: --render '<glob>' (replace_files in cdnpub.toml), e.g. --render '**/*.{}'",
        left.len(),
        cfg.prefix,
        shown.join(", "),
        if left.len() > shown.len() { ", …" } else { "" },
        left[0].rsplit('.').next().unwrap_or("txt")
    )))
}

/// Scripts that start a Worker from a script URL, when the site's files are served from another
/// origin than its pages (an absolute server): browsers refuse such a worker.
pub(super) fn worker_warnings(
    cfg: &BuildConfig,
    rels: &[String],
    found: &[Analysis],
) -> Vec<String> {
    let server = cfg
        .render
        .as_ref()
        .map(|r| String::from_utf8_lossy(r.renderer.server()).to_string())
        .or_else(|| cfg.servers.first().cloned())
        .filter(|s| s.starts_with("http://") || s.starts_with("https://"));
    let Some(server) = server else {
        return Vec::new();
    };
    found
        .iter()
        .zip(rels)
        .filter(|(a, _)| a.starts_worker)
        .map(|(_, rel)| {
            format!(
                "{rel} starts a Worker from a script URL, and is served from {server}: browsers refuse a worker \
                 script from another origin than the page (SecurityError). Start it through a same-origin blob \
                 that imports the script (new Worker(URL.createObjectURL(new Blob([`import \"${{url}}\"`], \
                 {{type: 'text/javascript'}})), {{type: 'module'}})), or keep that script on the pages' origin"
            )
        })
        .collect()
}
