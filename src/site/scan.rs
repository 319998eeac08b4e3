//! Selecting files under a root by glob, confined to the root: patterns that climb out with `..`
//! or are absolute are refused, and so are matches that are symlinks leading outside the root.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use walkdir::WalkDir;

use crate::error::{Error, Result};

/// A file chosen by a pattern, inside the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// Path relative to the root, `/`-separated (the symlink's target for a link inside the root).
    pub rel: PathBuf,
    /// Absolute, canonical path of the file.
    pub path: PathBuf,
}

/// Every file the patterns chose, and the patterns that chose nothing.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Files, sorted by relative path, each once.
    pub files: Vec<Selected>,
    /// Patterns that matched no file.
    pub unmatched: Vec<String>,
    /// cdnpub temporary files left by a killed run in the directories walked.
    pub stale_temps: Vec<PathBuf>,
}

/// One pattern, compiled: the literal directory it starts in and how deep it may reach.
struct Pattern {
    text: String,
    matcher: GlobMatcher,
    base: PathBuf,
    max_depth: Option<usize>,
}

fn is_meta(component: &str) -> bool {
    component.contains(['*', '?', '[', '{', '\\'])
}

/// Refuse patterns that could name a file outside the root; compile the rest.
fn compile(raw: &str) -> Result<Pattern> {
    let text = raw.trim_start_matches("./");
    let refuse = |why: &str| {
        Err(Error::Usage(format!(
            "file pattern {raw:?} {why}; patterns are relative to the root (--root / CDNPUB_ROOT), e.g. mobile-vue/*/index.html"
        )))
    };
    if text.is_empty() {
        return refuse("is empty");
    }
    if text.starts_with('/') {
        return refuse("is absolute");
    }
    if Path::new(text)
        .components()
        .any(|c| c == Component::ParentDir)
    {
        return refuse("climbs out of the root with '..'");
    }
    let matcher = GlobBuilder::new(text)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| Error::Usage(format!("file pattern {raw:?} is not a valid glob: {e}")))?
        .compile_matcher();
    let parts: Vec<&str> = text
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() {
        return refuse("names no file");
    }
    // The walk starts in the deepest literal directory (never at the file itself, so that
    // temp files beside a literal file name are seen too).
    let literal = parts
        .iter()
        .take_while(|p| !is_meta(p))
        .count()
        .min(parts.len() - 1);
    let base: PathBuf = parts[..literal].iter().collect();
    let rest = &parts[literal..];
    let max_depth = (!rest.contains(&"**")).then_some(rest.len());
    Ok(Pattern {
        text: raw.to_string(),
        matcher,
        base,
        max_depth,
    })
}

/// The canonical form of `root`, with an error that names the flag when it is missing.
pub fn canonical_root(root: &Path) -> Result<PathBuf> {
    let canon = fs::canonicalize(root).map_err(|e| {
        Error::Usage(format!(
            "root directory {} cannot be opened ({e}); set --root or CDNPUB_ROOT to the served directory",
            root.display()
        ))
    })?;
    if !canon.is_dir() {
        return Err(Error::Usage(format!(
            "root {} is not a directory; set --root or CDNPUB_ROOT to the served directory",
            root.display()
        )));
    }
    Ok(canon)
}

/// True for `x.gz` / `x.br` when `x` itself was selected: those are regenerated as siblings.
fn is_sibling_of_selected(path: &Path, chosen: &BTreeMap<PathBuf, PathBuf>) -> bool {
    let s = path.as_os_str().to_string_lossy();
    [".gz", ".br"]
        .iter()
        .filter_map(|ext| s.strip_suffix(ext))
        .any(|stem| chosen.contains_key(Path::new(stem)))
}

/// The canonical directory a pattern's walk starts in; None when it does not exist. A start
/// that resolves outside the root (a symlinked directory) is refused.
fn walk_start(root: &Path, base: &Path) -> Result<Option<PathBuf>> {
    let joined = root.join(base);
    let canon = match fs::canonicalize(&joined) {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("resolve", joined, e)),
    };
    if !canon.starts_with(root) {
        return Err(Error::Usage(format!(
            "{} leads to {}, outside the root {}; refusing to write there (remove the link or narrow the pattern)",
            joined.display(),
            canon.display(),
            root.display()
        )));
    }
    Ok(canon.is_dir().then_some(canon))
}

/// Select the files under `root` (already canonical) matching any of `patterns`.
///
/// `exclude` (the template store, when it lives inside the root) is never selected, nor are
/// cdnpub's own temporary files. A match that resolves outside the root is an error.
pub fn select(root: &Path, patterns: &[String], exclude: Option<&Path>) -> Result<Selection> {
    let compiled = patterns
        .iter()
        .map(|p| compile(p))
        .collect::<Result<Vec<_>>>()?;
    let mut chosen: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    let mut unmatched = Vec::new();
    let mut stale_temps = Vec::new();
    for pat in &compiled {
        let mut matched_any = false;
        // Resolve the walk's start once: a symlinked directory leading out is refused here, and
        // below it regular files need no resolving (the walk does not follow links).
        let Some(start) = walk_start(root, &pat.base)? else {
            unmatched.push(pat.text.clone());
            continue;
        };
        let mut walk = WalkDir::new(&start).follow_links(false);
        if let Some(depth) = pat.max_depth {
            walk = walk.max_depth(depth);
        }
        for entry in walk.into_iter().filter_map(|e| e.ok()) {
            let kind = entry.file_type();
            if kind.is_dir() {
                continue;
            }
            let Ok(rel) = entry.path().strip_prefix(root) else {
                continue;
            };
            if is_own_temp(rel) {
                stale_temps.push(entry.path().to_path_buf());
                continue;
            }
            if !pat.matcher.is_match(rel) {
                continue;
            }
            let selected = if kind.is_symlink() {
                confine(root, entry.path(), exclude)?
            } else {
                (kind.is_file() && !exclude.is_some_and(|x| entry.path().starts_with(x))).then(
                    || Selected {
                        rel: rel.to_path_buf(),
                        path: entry.path().to_path_buf(),
                    },
                )
            };
            if let Some(sel) = selected {
                matched_any = true;
                chosen.insert(sel.path, sel.rel);
            }
        }
        if !matched_any {
            unmatched.push(pat.text.clone());
        }
    }
    let mut files: Vec<Selected> = chosen
        .iter()
        .filter(|(path, _)| !is_sibling_of_selected(path, &chosen))
        .map(|(path, rel)| Selected {
            rel: rel.clone(),
            path: path.clone(),
        })
        .collect();
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    stale_temps.sort();
    stale_temps.dedup();
    Ok(Selection {
        files,
        unmatched,
        stale_temps,
    })
}

/// True for the temporary files [`crate::util::atomic::replace`] creates.
pub fn is_own_temp(rel: &Path) -> bool {
    rel.file_name()
        .map(|n| {
            n.to_string_lossy()
                .ends_with(crate::util::atomic::TEMP_SUFFIX)
        })
        .unwrap_or(false)
}

/// Resolve a matched path; refuse it when it leads outside the root, skip it when it is not a
/// regular file or lies in `exclude`.
fn confine(root: &Path, path: &Path, exclude: Option<&Path>) -> Result<Option<Selected>> {
    let canon = fs::canonicalize(path).map_err(|e| Error::io("resolve", path, e))?;
    let Ok(rel) = canon.strip_prefix(root) else {
        return Err(Error::Usage(format!(
            "{} leads to {}, outside the root {}; refusing to write there (remove the link or narrow the pattern)",
            path.display(),
            canon.display(),
            root.display()
        )));
    };
    if exclude.is_some_and(|x| canon.starts_with(x)) || !canon.is_file() {
        return Ok(None);
    }
    Ok(Some(Selected {
        rel: rel.to_path_buf(),
        path: canon,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("html");
        for f in [
            "mobile-vue/a/index.html",
            "mobile-vue/b/index.html",
            "mobile-vue/b/x/index.html",
            "index.html",
            "mobile-vue/a/index.html.gz",
        ] {
            let p = root.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, "x").unwrap();
        }
        let canon = fs::canonicalize(&root).unwrap();
        (dir, canon)
    }

    fn rels(sel: &Selection) -> Vec<String> {
        sel.files
            .iter()
            .map(|f| f.rel.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn star_does_not_cross_directories() {
        let (_d, root) = tree();
        let sel = select(&root, &["mobile-vue/*/index.html".into()], None).unwrap();
        assert_eq!(
            rels(&sel),
            ["mobile-vue/a/index.html", "mobile-vue/b/index.html"]
        );
        let sel = select(
            &root,
            &["mobile-vue/**/index.html".into(), "nope/*.html".into()],
            None,
        )
        .unwrap();
        assert_eq!(rels(&sel).len(), 3);
        assert_eq!(sel.unmatched, ["nope/*.html"]);
    }

    #[test]
    fn siblings_are_not_selected_with_their_file() {
        let (_d, root) = tree();
        let sel = select(&root, &["mobile-vue/a/*".into()], None).unwrap();
        assert_eq!(rels(&sel), ["mobile-vue/a/index.html"]);
    }

    #[cfg(unix)]
    #[test]
    fn escapes_are_refused() {
        let (_d, root) = tree();
        for bad in ["../x", "a/../../x", "/etc/passwd", "", ".", "./"] {
            assert!(
                matches!(select(&root, &[bad.into()], None), Err(Error::Usage(_))),
                "{bad}"
            );
        }
        let outside = root.parent().unwrap().join("secret.html");
        fs::write(&outside, "s").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link.html")).unwrap();
        let err = select(&root, &["*.html".into()], None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("link.html") && err.contains("outside the root"),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_directory_leading_out_is_refused() {
        let (_d, root) = tree();
        let outside = root.parent().unwrap().join("elsewhere");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("index.html"), "x").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("linked")).unwrap();
        let err = select(&root, &["linked/*.html".into()], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("outside the root"), "{err}");
        // A pattern that only crosses it with ** does not follow the link.
        let sel = select(&root, &["**/*.html".into()], None).unwrap();
        assert!(
            rels(&sel).iter().all(|r| !r.starts_with("linked")),
            "{:?}",
            rels(&sel)
        );
    }

    #[cfg(unix)]
    #[test]
    fn links_inside_the_root_resolve_to_their_target() {
        let (_d, root) = tree();
        std::os::unix::fs::symlink(root.join("index.html"), root.join("alias.html")).unwrap();
        let sel = select(&root, &["*.html".into()], None).unwrap();
        assert_eq!(rels(&sel), ["index.html"]);
    }
}
