//! Which files must keep their names. cdnpub renames a file only when doing so is provably
//! safe: the tree has a page (a tree of vendor files is named by pages elsewhere), some reference
//! cdnpub rewrites names the file, and every mention of the file's name in the tree's text is
//! one of those references. A name that also appears anywhere else (inside inline React data, a
//! runtime's `"_payload.json"`, a JSON manifest, a string cdnpub does not take for a URL) may be
//! how a runtime finds the file, so the file keeps it.

use aho_corasick::{AhoCorasick, MatchKind};

use super::resolve::Index;
use super::span::{Refs, Span};
use crate::site::classify::{file_name, kind, Kind};

/// Extensions of the text files searched for mentions of other files' names (source maps are
/// not: their `sources` name the bundler's inputs, and browsers never read them to load a file).
const TEXT: &[&str] = &[
    "html",
    "htm",
    "css",
    "js",
    "mjs",
    "cjs",
    "json",
    "webmanifest",
    "txt",
    "svg",
    "xml",
];

/// True when `rel` is a text file whose mentions of other files count.
pub fn is_text(rel: &str) -> bool {
    let ext = rel.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    ext.is_some_and(|e| TEXT.contains(&e.as_str()))
}

/// The file names of a tree, searchable all at once.
pub struct Names {
    ac: Option<AhoCorasick>,
    /// For each pattern, the files with that name.
    files: Vec<Vec<usize>>,
    /// Every file's path.
    rels: Vec<String>,
}

impl Names {
    /// The names of `rels` (pages excepted: they keep their names anyway).
    pub fn new(rels: &[String]) -> Names {
        let mut by_name: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        for (i, r) in rels.iter().enumerate() {
            if kind(r) != Kind::Html {
                by_name.entry(file_name(r)).or_default().push(i);
            }
        }
        let patterns: Vec<&str> = by_name.keys().copied().collect();
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .ok();
        Names {
            ac,
            files: by_name.into_values().collect(),
            rels: rels.to_vec(),
        }
    }

    /// The files (other than `from`) whose name appears in `bytes` (the text of file `from`)
    /// outside every span of `covered` (the references cdnpub rewrites there), sorted.
    ///
    /// A mention is the name with the path written before it (`"_payload.json"`,
    /// `static/chunks/a.js`, `../fonts/i.woff`): one that resolves (by `index`) names that file
    /// only; one that does not names every file of that name whose path ends with the
    /// directories written (a bare name: every file of that name).
    pub fn uncovered(
        &self,
        from: usize,
        bytes: &[u8],
        covered: &[Span],
        index: &Index,
    ) -> Vec<usize> {
        let Some(ac) = &self.ac else {
            return Vec::new();
        };
        let from_rel = self.rels.get(from).map_or("", String::as_str);
        let mut out = Vec::new();
        for m in ac.find_overlapping_iter(bytes) {
            let (start, end) = (m.start(), m.end());
            let bounded = (start == 0 || !name_byte(bytes[start - 1]))
                && bytes.get(end).is_none_or(|&b| !name_byte(b));
            if !bounded || covered.iter().any(|s| s.start <= start && end <= s.end) {
                continue;
            }
            let same_name = self.files[m.pattern().as_usize()].iter().copied();
            let path = &bytes[path_start(bytes, start)..end];
            let named: Vec<usize> = if start > 0 && bytes[start - 1] == b'/' {
                match index.resolve(from_rel, path, true) {
                    Some((t, _)) => same_name.filter(|&f| f == t).collect(),
                    // A whole URL (placeholder, server, `./`, `../`) that names no file here.
                    None if is_whole_url(index, path) => Vec::new(),
                    None => {
                        let dirs = written_dirs(path);
                        same_name
                            .filter(|&f| {
                                let rel = &self.rels[f];
                                let parent = &rel[..rel.len() - file_name(rel).len()];
                                parent.trim_end_matches('/').ends_with(dirs.as_str())
                            })
                            .collect()
                    }
                }
            } else {
                same_name.collect()
            };
            out.extend(named.into_iter().filter(|&f| f != from));
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Where the path that ends at `end` starts: URL path characters before it.
fn path_start(bytes: &[u8], mut at: usize) -> usize {
    while at > 0
        && (name_byte(bytes[at - 1]) || matches!(bytes[at - 1], b'/' | b':' | b'~' | b'@' | b'+'))
    {
        at -= 1;
    }
    at
}

/// True for a path that is a whole URL, not a piece a runtime joins to a base: it starts with
/// the placeholder, a server, `./` or `../`.
fn is_whole_url(index: &Index, path: &[u8]) -> bool {
    let text = String::from_utf8_lossy(path);
    text.starts_with("./") || text.starts_with("../") || index.site_path(&text).is_some()
}

/// The plain directories a written path names before its file name: `../fonts/i.woff` →
/// `fonts`, `EGOVA_CDN/js/a.js` → `js` (a placeholder, `.`, `..`, a host or anything with `:`
/// ends them), `/_buildManifest.js` → "".
fn written_dirs(path: &[u8]) -> String {
    let text = String::from_utf8_lossy(path);
    let segments: Vec<&str> = text.split('/').collect();
    let dirs = &segments[..segments.len().saturating_sub(1)];
    let plain: Vec<&str> = dirs
        .iter()
        .rev()
        .take_while(|s| {
            !s.is_empty()
                && *s != &"."
                && *s != &".."
                && !s.contains(':')
                && !s.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        })
        .copied()
        .collect();
    plain.into_iter().rev().collect::<Vec<_>>().join("/")
}

/// A byte that may continue a file name (so `app.js` is not mentioned by `vendor-app.js` or
/// `app.js.map`).
fn name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'%')
}

/// The spans of `refs` that cdnpub rewrites (references and the source map comment).
pub fn covered(refs: &Refs) -> Vec<Span> {
    refs.links
        .iter()
        .chain(refs.source_map.iter())
        .map(|l| l.span)
        .collect()
}

/// Why a file keeps its name although nothing in the naming rules says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pin {
    /// Free to rename.
    None,
    /// The tree has no page: its files are named by pages elsewhere.
    NoPage,
    /// No reference cdnpub rewrites names it: a runtime builds its URL, or nothing loads it.
    Unreferenced,
    /// Its name appears somewhere cdnpub does not rewrite.
    MentionedElsewhere,
}

/// The pin of every file: `refs` are the files' references, `uncovered[i]` the files whose
/// names file `i` mentions outside its references.
pub fn pins(rels: &[String], refs: &[Refs], uncovered: &[Vec<usize>]) -> Vec<Pin> {
    let n = rels.len();
    if !rels.iter().any(|r| kind(r) == Kind::Html) {
        return vec![Pin::NoPage; n];
    }
    let mut linked = vec![false; n];
    for (i, r) in refs.iter().enumerate() {
        for l in r.links.iter().chain(r.source_map.iter()) {
            if l.target != i {
                linked[l.target] = true;
            }
        }
    }
    let mut mentioned = vec![false; n];
    for u in uncovered {
        for &t in u {
            mentioned[t] = true;
        }
    }
    (0..n)
        .map(|i| {
            if mentioned[i] {
                Pin::MentionedElsewhere
            } else if !linked[i] {
                Pin::Unreferenced
            } else {
                Pin::None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::fingerprint::Link;

    fn rels(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn mentions_outside_references_are_found() {
        let r = rels(&[
            "index.html",
            "app.js",
            "vendor-app.js",
            "_payload.json",
            "a/app.js",
            "b/fonts/i.woff",
            "c/fonts/i.woff",
            "_next/static/x/_buildManifest.js",
        ]);
        let names = Names::new(&r);
        let ix = Index::new(&r, "EGOVA_CDN");
        let text =
            br#"import "./app.js"; x = "_payload.json"; y = "vendor-app.js"; //# app.js.map"#;
        // "./app.js" is a reference (covered); the payload is a bare mention.
        let covered = [Span { start: 8, end: 16 }];
        assert_eq!(names.uncovered(0, text, &covered, &ix), vec![2, 3]);
        // Uncovered, `app.js` names both files called so; `a/app.js` only the one it resolves to.
        assert_eq!(names.uncovered(0, b"'app.js'", &[], &ix), vec![1, 4]);
        assert_eq!(names.uncovered(0, b"'a/app.js'", &[], &ix), vec![4]);
        // A file's mention of itself does not count.
        let none: Vec<usize> = Vec::new();
        assert_eq!(names.uncovered(3, b"_payload.json", &[], &ix), none);
        // Unresolved: the directories written must end the file's directory.
        assert_eq!(
            names.uncovered(0, b"url(fonts/i.woff)", &[], &ix),
            vec![5, 6]
        );
        // A whole URL naming no file of the tree names none.
        assert_eq!(
            names.uncovered(0, b"url(EGOVA_CDN/fonts/i.woff)", &[], &ix),
            none
        );
        assert_eq!(
            names.uncovered(0, b"url(../d/fonts/i.woff)", &[], &ix),
            none
        );
        assert_eq!(names.uncovered(0, b"'x/b/fonts/i.woff'", &[], &ix), none);
        assert_eq!(
            names.uncovered(0, br#"\"static/chunks/b/fonts/i.woff\""#, &[], &ix),
            none
        );
        assert_eq!(
            names.uncovered(0, br#"+"/_buildManifest.js""#, &[], &ix),
            vec![7]
        );
    }

    #[test]
    fn pins_follow_references_and_pages() {
        let r = rels(&["index.html", "a.js", "b.js", "c.js"]);
        let link = |t| Link {
            span: Span { start: 0, end: 1 },
            target: t,
            insert: false,
        };
        let mut refs = vec![Refs::default(); 4];
        refs[0].links = vec![link(1), link(2)];
        let uncovered = vec![vec![2], vec![], vec![], vec![]];
        assert_eq!(
            pins(&r, &refs, &uncovered),
            [
                Pin::Unreferenced,
                Pin::None,
                Pin::MentionedElsewhere,
                Pin::Unreferenced
            ]
        );
        let vendor = rels(&["css/a.css", "fonts/a.woff2"]);
        refs.truncate(2);
        assert_eq!(
            pins(&vendor, &refs, &[vec![], vec![]]),
            [Pin::NoPage, Pin::NoPage]
        );
    }
}
