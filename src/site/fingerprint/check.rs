//! The self-check: before anything is uploaded, prove that a built tree is the site the
//! bundler made. Every reference found in the bundler's output must resolve, in the built tree,
//! to the file it named (under its new name); every file cdnpub renamed must be named by some
//! reference (else code that builds its URL at run time requests the old name); the chunk files
//! webpack's runtime builds names for must exist; a placeholder or server URL under the tree's
//! deploy sub-path must name a file of the tree.

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;

use super::resolve::{Base, Index};
use super::{analyze, webpack, Refs};
use crate::error::{Error, Result};
use crate::site::classify::{kind, Kind};

/// How references of the tree are resolved.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// The CDN placeholder.
    pub prefix: String,
    /// What is known of the deploy sub-path.
    pub base: Base,
    /// Server URLs rendered references start with.
    pub servers: Vec<String>,
    /// Globs of bundler paths found through the manifest, not by a reference.
    pub manifest_named: Vec<String>,
}

impl Resolution {
    /// An index over `rels` with these rules.
    pub fn index(&self, rels: &[String]) -> Index {
        Index::new(rels, &self.prefix)
            .with_base(self.base.clone())
            .with_servers(&self.servers)
    }
}

/// One file of a built tree.
#[derive(Debug, Clone)]
pub struct Built {
    /// Its path in the tree.
    pub path: String,
    /// The path of the bundler's file it came from (the same when cdnpub kept the name).
    pub source: String,
}

/// What the bundler's output named, to be found again in the built tree.
pub struct Expected<'a> {
    /// The bundler's files.
    pub rels: &'a [String],
    /// Their references.
    pub refs: &'a [Refs],
    /// The built path of each.
    pub finals: &'a [String],
}

/// Check the built tree `dir` (its files `built`); `expected` is the analysis of the bundler's
/// output it was built from (None for a tree checked on its own). Returns every problem found.
pub fn problems(
    dir: &Path,
    built: &[Built],
    how: &Resolution,
    expected: Option<&Expected>,
) -> Result<Vec<String>> {
    let rels: Vec<String> = built.iter().map(|b| b.path.clone()).collect();
    let index = how.index(&rels);
    let found: Vec<(Refs, Vec<webpack::ChunkFile>)> = rels
        .par_iter()
        .map(|rel| {
            let k = kind(rel);
            if k == Kind::Other {
                return Ok((Refs::default(), Vec::new()));
            }
            let path = dir.join(rel);
            let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            let chunks = if k == Kind::Js {
                webpack::chunk_files(&bytes)
            } else {
                Vec::new()
            };
            Ok((analyze(rel, &bytes, &index), chunks))
        })
        .collect::<Result<_>>()?;
    let mut out = Vec::new();
    let mut named = vec![false; rels.len()];
    for (refs, _) in &found {
        for l in refs.links.iter().chain(refs.source_map.iter()) {
            named[l.target] = true;
        }
    }
    for (i, (_, chunks)) in found.iter().enumerate() {
        for c in chunks {
            match index.resolve(&rels[i], c.path.as_bytes(), true) {
                Some((t, _)) => named[t] = true,
                None => out.push(format!(
                    "{}: webpack's runtime builds the chunk file name {}{} and no such file is in the tree",
                    rels[i],
                    c.path,
                    if c.id.is_empty() { String::new() } else { format!(" (chunk {})", c.id) }
                )),
            }
        }
    }
    let refs: Vec<&Refs> = found.iter().map(|(r, _)| r).collect();
    out.extend(unresolved_site_paths(dir, &rels, &refs, &index)?);
    if let Some(exp) = expected {
        out.extend(lost_references(&rels, &found, &index, exp));
    }
    let exempt = crate::site::classify::glob_set(&how.manifest_named, "--manifest-named glob")?;
    for (i, b) in built.iter().enumerate() {
        if b.source != b.path
            && !named[i]
            && !is_map_of_renamed(&b.path, built)
            && !exempt.is_match(&b.source)
        {
            out.push(format!(
                "{} (the bundler's {}) was renamed by cdnpub, but nothing in the tree names the new name, \
                 so whatever asks for the file still asks for {}, which is not uploaded. Keep its name: \
                 --keep '{}' (keep_names in cdnpub.toml); or, if a server finds it through manifest.json, \
                 --manifest-named '{}'",
                b.path,
                b.source,
                b.source,
                stable_glob(&b.source),
                stable_glob(&b.source)
            ));
        }
    }
    Ok(out)
}

/// A glob for `path` a team can commit: every piece of a name that one build made (a content
/// hash, a build id, a UUID) becomes `*`, so the glob still matches after the next build.
pub fn stable_glob(path: &str) -> String {
    fn built(piece: &str) -> bool {
        piece.len() >= 8
            && piece
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            && (piece.bytes().any(|b| b.is_ascii_digit())
                || (piece.len() == 8
                    && piece.bytes().any(|b| b.is_ascii_uppercase())
                    && piece.bytes().any(|b| b.is_ascii_lowercase())))
    }
    fn uuid(p: &str) -> bool {
        let groups: Vec<&str> = p.split('-').collect();
        groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
            && groups
                .iter()
                .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
    }
    fn part(p: &str) -> String {
        if uuid(p) {
            return "*".into();
        }
        match p.rsplit_once('-') {
            Some((head, tail)) if built(tail) => format!("{head}-*"),
            // A hash may hold a dash itself (`BZ_jIf--`): eight characters are one.
            Some(_) if p.len() == 8 && built(p) => "*".into(),
            Some(_) => p.to_string(),
            None if built(p) => "*".into(),
            None => p.to_string(),
        }
    }
    path.split('/')
        .map(|seg| {
            let mut parts: Vec<String> = seg.split('.').map(part).collect();
            parts.dedup_by(|a, b| a == "*" && b == "*");
            parts.join(".")
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A source map that follows a renamed file (`app.HASH.js.map` beside `app.HASH.js`).
fn is_map_of_renamed(path: &str, built: &[Built]) -> bool {
    path.strip_suffix(".map")
        .is_some_and(|owner| built.iter().any(|b| b.path == owner))
}

/// Placeholder or server URLs of files (a name with an extension) under the tree's deploy
/// sub-path that name no file of it: `refs[i]` are the references of `rels[i]` in `dir`.
/// (Without a sub-path, such a URL may name anything else the CDN serves: not checked.)
///
/// The build runs this on the bundler's output before anything is written or compressed, and
/// again (through [`problems`]) on the built tree.
pub fn unresolved_site_paths(
    dir: &Path,
    rels: &[String],
    refs: &[&Refs],
    index: &Index,
) -> Result<Vec<String>> {
    let base = index.base().path();
    if base.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (i, refs) in refs.iter().enumerate() {
        if refs.unresolved.is_empty() {
            continue;
        }
        let path = dir.join(&rels[i]);
        let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
        for s in &refs.unresolved {
            let text = String::from_utf8_lossy(&bytes[s.start..s.end]);
            let site = index.site_path(&text).unwrap_or_default();
            // A file name (with an extension), not an API path or a route.
            let file = site.rsplit('/').next().unwrap_or_default();
            if site.starts_with(&format!("{base}/")) && file.contains('.') {
                out.push(format!(
                    "{}: {text} names no file of the tree under its deploy sub-path {base}; if the tree \
                     is served under another sub-path, set base_path (--base-path)",
                    rels[i]
                ));
            }
        }
    }
    Ok(out)
}

/// References of the bundler's output that no longer reach their file in the built tree.
fn lost_references(
    rels: &[String],
    found: &[(Refs, Vec<webpack::ChunkFile>)],
    index: &Index,
    exp: &Expected,
) -> Vec<String> {
    let mut have: HashMap<(usize, usize), usize> = HashMap::new();
    for (i, (refs, _)) in found.iter().enumerate() {
        for l in refs.links.iter().chain(refs.source_map.iter()) {
            *have.entry((i, l.target)).or_default() += 1;
        }
    }
    // (built file, the bundler's target) → how often the bundler's file named it.
    let mut want: std::collections::BTreeMap<(usize, usize), usize> = Default::default();
    for (i, refs) in exp.refs.iter().enumerate() {
        let Some(from) = index.get(&exp.finals[i]) else {
            continue;
        };
        for l in refs.links.iter().chain(refs.source_map.iter()) {
            *want.entry((from, l.target)).or_default() += 1;
        }
    }
    want.into_iter()
        .filter_map(|((from, t), n)| {
            let got = index
                .get(&exp.finals[t])
                .and_then(|to| have.get(&(from, to)))
                .copied()
                .unwrap_or(0);
            (got < n).then(|| {
                format!(
                    "{}: {} of {n} references to the bundler's {} do not reach it as {}",
                    rels[from],
                    n - got,
                    exp.rels[t],
                    exp.finals[t]
                )
            })
        })
        .collect()
}

/// The problems as one error (exit 2): the tree must not be published.
pub fn refuse(what: &str, problems: Vec<String>) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    let n = problems.len();
    let shown: Vec<String> = problems.into_iter().take(20).collect();
    Err(Error::Broken(format!(
        "{what}: the built tree is not the site the bundler made ({n} problem{}); nothing was written or uploaded:\n  {}{}",
        if n == 1 { "" } else { "s" },
        shown.join("\n  "),
        if n > 20 { format!("\n  … and {} more", n - 20) } else { String::new() }
    )))
}

#[cfg(test)]
mod tests {
    use super::stable_glob;

    #[test]
    fn suggested_globs_name_no_hash_or_uuid() {
        for (path, glob) in [
            ("js/chunk-2d0c.js", "js/chunk-2d0c.js"),
            ("assets/index-Ab12Cd34.js", "assets/index-*.js"),
            ("_nuxt/DlAUqK2U.js", "_nuxt/*.js"),
            (
                "_nuxt/builds/meta/8c6f2d3a-4b1e-4f7a-9d2c-5e0b7a1c3f96.json",
                "_nuxt/builds/meta/*.json",
            ),
            ("_astro/Go.DzfrAhSK.js", "_astro/Go.*.js"),
            ("_nuxt/BZ_jIf--.js", "_nuxt/*.js"),
            ("js/chunk-vendors.js", "js/chunk-vendors.js"),
            ("js/lazy.9b6aebf5.js", "js/lazy.*.js"),
            (
                "_next/static/a1b2c3d4e5f6/_buildManifest.js",
                "_next/static/*/_buildManifest.js",
            ),
        ] {
            assert_eq!(stable_glob(path), glob, "{path}");
        }
    }
}
