//! The build's inputs: the bundler's output scanned (UTF-8 names, links confined to SRC), the
//! directories checked, source maps left out on request.

use std::fs;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::error::{Error, Result};
use crate::site::classify;
use crate::site::fingerprint::{self};
use crate::site::manifest::MANIFEST_PATH;

/// One input file.
#[derive(Debug, Clone)]
pub(super) struct Input {
    pub(super) rel: String,
    pub(super) path: PathBuf,
    pub(super) size: u64,
    /// Read without its trailing `sourceMappingURL` comment (`--source-maps skip`).
    pub(super) strip_map_comment: bool,
}

impl Input {
    /// The file's bytes as the build sees them.
    pub(super) fn read(&self) -> Result<Vec<u8>> {
        self.read_marked().map(|(bytes, _)| bytes)
    }

    /// [`Input::read`], and whether a source map comment was removed (the bytes then differ
    /// from the bundler's, so a name the bundler hashed no longer addresses them).
    pub(super) fn read_marked(&self) -> Result<(Vec<u8>, bool)> {
        let bytes = fs::read(&self.path).map_err(|e| Error::io("read", &self.path, e))?;
        if !self.strip_map_comment {
            return Ok((bytes, false));
        }
        Ok(match fingerprint::js::strip_source_mapping_url(&bytes) {
            Some(stripped) => (stripped, true),
            None => (bytes, false),
        })
    }
}

/// With `--source-maps skip`: the inputs without their `.map` files, scripts and styles read
/// without the comment naming one; and how many maps were left out.
pub(super) fn leave_out_maps(
    mut inputs: Vec<Input>,
    how: crate::site::SourceMaps,
) -> (Vec<Input>, usize) {
    if how != crate::site::SourceMaps::Skip {
        return (inputs, 0);
    }
    let before = inputs.len();
    inputs.retain(|i| !i.rel.ends_with(".map"));
    for i in &mut inputs {
        i.strip_map_comment = matches!(
            classify::kind(&i.rel),
            classify::Kind::Js | classify::Kind::Css
        );
    }
    let skipped = before - inputs.len();
    (inputs, skipped)
}

/// SRC must exist; OUT must not be SRC, inside it, or contain it; an existing OUT must be a
/// previous cdnpub build (or empty), so nothing else is ever replaced.
pub(super) fn check_dirs(src: &Path, out: &Path) -> Result<(PathBuf, PathBuf)> {
    let src_c = fs::canonicalize(src).map_err(|e| {
        Error::Usage(format!(
            "SRC {} cannot be opened ({e}); give the bundler's output directory",
            src.display()
        ))
    })?;
    if !src_c.is_dir() {
        return Err(Error::Usage(format!(
            "SRC {} is not a directory",
            src.display()
        )));
    }
    let out_abs = std::path::absolute(out).map_err(|e| Error::io("resolve", out, e))?;
    let out_parent = out_abs
        .parent()
        .ok_or_else(|| Error::Usage(format!("--out {} has no parent directory", out.display())))?;
    let parent_c = fs::canonicalize(out_parent).map_err(|e| {
        Error::Usage(format!(
            "the parent of --out {} cannot be opened ({e}); create it first",
            out.display()
        ))
    })?;
    let out_c = parent_c.join(out_abs.file_name().unwrap_or_default());
    if out_c == src_c || out_c.starts_with(&src_c) {
        return Err(Error::Usage(format!(
            "--out {} is {} SRC {}; write the build somewhere else (e.g. a sibling directory)",
            out.display(),
            if out_c == src_c {
                "the same directory as"
            } else {
                "inside"
            },
            src.display()
        )));
    }
    if src_c.starts_with(&out_c) {
        return Err(Error::Usage(format!(
            "SRC {} is inside --out {}; replacing OUT would delete it",
            src.display(),
            out.display()
        )));
    }
    if out_c.exists() {
        let ours = out_c.join(MANIFEST_PATH).is_file();
        let empty = fs::read_dir(&out_c)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !ours && !empty {
            return Err(Error::Usage(format!(
                "--out {} exists and is not a cdnpub build (no {MANIFEST_PATH}); refusing to replace it. Remove it or choose another directory",
                out.display()
            )));
        }
    }
    Ok((src_c, out_c))
}

/// Every regular file under `src`, sorted. Links leading outside SRC are refused; `.gz` / `.br`
/// files whose plain version exists are skipped (they are regenerated).
pub(super) fn scan_tree(src: &Path) -> Result<Vec<Input>> {
    let mut inputs = Vec::new();
    // `.cdnpub/` at the top of SRC is cdnpub's own (a manifest, the compression cache).
    let own = src.join(".cdnpub");
    for entry in WalkDir::new(src)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.path() != own)
    {
        let entry = entry.map_err(|e| {
            let path = e
                .path()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| src.to_path_buf());
            Error::io("read directory", path, e.into())
        })?;
        let ft = entry.file_type();
        if ft.is_dir() {
            continue;
        }
        let path = entry.path().to_path_buf();
        if ft.is_symlink() {
            let target = fs::canonicalize(&path).map_err(|e| Error::io("resolve", &path, e))?;
            if !target.starts_with(src) {
                return Err(Error::Usage(format!(
                    "{} is a link to {}, outside SRC {}; refusing to publish it (copy the file in, or remove the link)",
                    path.display(),
                    target.display(),
                    src.display()
                )));
            }
            if target.is_dir() {
                continue;
            }
        }
        let rel = path.strip_prefix(src).unwrap_or(&path);
        let Some(rel) = crate::util::platform::slash_path(rel) else {
            return Err(Error::Usage(format!(
                "{}: file names must be UTF-8 to be served by URL",
                path.display()
            )));
        };
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        inputs.push(Input {
            rel,
            path,
            size,
            strip_map_comment: false,
        });
    }
    let all: std::collections::HashSet<&str> = inputs.iter().map(|i| i.rel.as_str()).collect();
    let skip: std::collections::HashSet<String> = inputs
        .iter()
        .filter(|i| {
            [".gz", ".br"]
                .iter()
                .any(|ext| i.rel.strip_suffix(ext).is_some_and(|s| all.contains(s)))
        })
        .map(|i| i.rel.clone())
        .collect();
    inputs.retain(|i| !skip.contains(&i.rel));
    inputs.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(inputs)
}

/// SRC must be a bundler's output: not empty, and not a source tree (no page, but a
/// `package.json` at the top or component sources). A page-less tree of built files (vendor
/// libraries) is fine.
pub(super) fn check_is_output(src: &Path, rels: &[String]) -> Result<()> {
    if rels.is_empty() {
        return Err(Error::Usage(format!(
            "SRC {} holds no file: give the directory your bundler writes (dist/, build/, out/), after the build",
            src.display()
        )));
    }
    if rels
        .iter()
        .any(|r| classify::kind(r) == classify::Kind::Html)
    {
        return Ok(());
    }
    let source = rels.iter().find(|r| {
        r.as_str() == "package.json"
            || [".vue", ".svelte", ".jsx", ".tsx", ".astro"]
                .iter()
                .any(|ext| r.ends_with(ext))
            || (r.ends_with(".ts") && !r.ends_with(".d.ts"))
    });
    match source {
        Some(file) => Err(Error::Usage(format!(
            "SRC {} has no HTML page and holds sources ({file}): is this the bundler's output? \
             Give the directory your bundler writes (dist/, build/, out/)",
            src.display()
        ))),
        None => Ok(()),
    }
}
