//! Reference extraction and rewriting, the reference graph, and naming.
//!
//! Fingerprinting only ever changes a file's name, never its directory, so a reference is
//! rewritten by inserting `.HASH` into its last path segment: relative, root-relative and
//! placeholder-prefixed forms, `?query` and `#fragment` all keep their shape.

pub mod check;
pub mod css;
pub mod html;
pub mod js;
pub mod pins;
pub mod resolve;
pub mod sourcemap;
pub mod span;
pub mod webpack;

use std::collections::{BTreeMap, HashMap};

use petgraph::graph::{DiGraph, NodeIndex};

use crate::site::classify::{kind, stem_len, Kind, Naming};

pub use span::{Link, Refs, Span};

/// Extract the references of one file (`rel`, with `bytes`) that resolve to assets of `index`.
pub fn analyze(rel: &str, bytes: &[u8], index: &resolve::Index) -> Refs {
    let k = kind(rel);
    let spans = match k {
        Kind::Html => html::refs(bytes),
        Kind::Css => css::refs(bytes),
        Kind::Js => js::refs(bytes),
        Kind::Map => {
            return Refs {
                links: sourcemap::refs(rel, bytes, index),
                ..Refs::default()
            }
        }
        Kind::Other => return Refs::default(),
    };
    let bare_from_root = k == Kind::Js;
    let self_id = index.get(rel);
    let mut guessed = Vec::new();
    let mut unresolved = Vec::new();
    let mut links: Vec<Link> = spans
        .into_iter()
        .filter_map(|s| {
            let raw = &bytes[s.start..s.end];
            let Some((target, path, via)) = index.resolve_via(rel, raw, bare_from_root) else {
                if let Some(len) = site_path_len(index, raw) {
                    unresolved.push(Span {
                        start: s.start,
                        end: s.start + len,
                    });
                }
                return None;
            };
            if Some(target) == self_id {
                return None;
            }
            if let resolve::Via::Suffix(dropped) = via {
                guessed.push((s.start, dropped));
            }
            Some(Link {
                span: Span {
                    start: s.start,
                    end: s.start + path,
                },
                target,
                insert: false,
            })
        })
        .collect();
    let mut source_map = None;
    if matches!(k, Kind::Js | Kind::Css) {
        if let Some(s) = js::source_mapping_url(bytes) {
            if let Some((target, path)) = index.resolve(rel, &bytes[s.start..s.end], false) {
                links.retain(|l| l.span.start != s.start);
                source_map = Some(Link {
                    span: Span {
                        start: s.start,
                        end: s.start + path,
                    },
                    target,
                    insert: false,
                });
            }
        }
    }
    if k == Kind::Js {
        links.extend(chunk_links(rel, bytes, index));
    }
    links.sort_by_key(|l| l.span.start);
    links.dedup_by_key(|l| l.span.start);
    guessed.sort();
    guessed.dedup();
    Refs {
        links,
        source_map,
        guessed,
        unresolved,
    }
}

/// The chunk files webpack's runtime in `bytes` names through its chunk maps, as links on the
/// map value a new name's hash is appended to.
fn chunk_links(rel: &str, bytes: &[u8], index: &resolve::Index) -> Vec<Link> {
    webpack::chunk_files(bytes)
        .into_iter()
        .filter_map(|c| {
            let span = c.stem_value?;
            let (target, _) = index.resolve(rel, c.path.as_bytes(), true)?;
            Some(Link {
                span,
                target,
                insert: true,
            })
        })
        .collect()
}

/// The length of the path part of `raw` when it is a site path (placeholder or server).
fn site_path_len(index: &resolve::Index, raw: &[u8]) -> Option<usize> {
    let url = std::str::from_utf8(raw).ok()?;
    let len = url.find(['?', '#']).unwrap_or(url.len());
    let site = index.site_path(&url[..len])?;
    (!site.is_empty() && !site.ends_with('/')).then_some(len)
}

/// The final name of a file: `stem.HASH.rest`, or the name itself when it is not hashed.
pub fn hashed_name(name: &str, hash: &str) -> String {
    let stem = stem_len(name);
    format!("{}.{hash}{}", &name[..stem], &name[stem..])
}

/// Replace the last path segment of the URL at `span` in `bytes`: `old_name` → `new_name`.
/// The raw segment may be percent-encoded; the hash goes in at the same place from the end.
fn renamed_segment(raw: &[u8], old_name: &str, new_name: &str) -> Option<Vec<u8>> {
    let seg_start = raw.iter().rposition(|&c| c == b'/').map_or(0, |p| p + 1);
    let seg = &raw[seg_start..];
    let suffix = &old_name[stem_len(old_name)..];
    let inserted = &new_name[..new_name.len() - suffix.len()][stem_len(old_name)..];
    if !seg.ends_with(suffix.as_bytes()) {
        return None;
    }
    let cut = raw.len() - suffix.len();
    let mut out = Vec::with_capacity(raw.len() + inserted.len());
    out.extend_from_slice(&raw[..cut]);
    out.extend_from_slice(inserted.as_bytes());
    out.extend_from_slice(&raw[cut..]);
    Some(out)
}

/// What a rename inserts before the suffix: `app.js` → `app.HASH.js` inserts `.HASH`.
fn inserted<'a>(old_name: &str, new_name: &'a str) -> Option<&'a str> {
    let stem = stem_len(old_name);
    let suffix = &old_name[stem..];
    let head = new_name.strip_suffix(suffix)?;
    head.starts_with(&old_name[..stem]).then(|| &head[stem..])
}

/// Rewrite `bytes`: every link whose target has a new name (`names[target]`, differing from
/// `originals[target]`) gets it. Returns None when nothing changes.
pub fn rewrite(
    bytes: &[u8],
    links: &[Link],
    originals: &[String],
    names: &dyn Fn(usize) -> Option<String>,
) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut last = 0;
    let mut changed = false;
    for link in links {
        let Some(new) = names(link.target) else {
            continue;
        };
        let old = file_name(&originals[link.target]);
        let new = file_name(&new);
        if old == new || link.span.start < last {
            continue;
        }
        let raw = &bytes[link.span.start..link.span.end];
        let replacement = if link.insert {
            // A chunk map's hash value: the new name's hash goes after it.
            match inserted(old, new) {
                Some(add) => [raw, add.as_bytes()].concat(),
                None => continue,
            }
        } else {
            match renamed_segment(raw, old, new) {
                Some(r) => r,
                None => continue,
            }
        };
        out.extend_from_slice(&bytes[last..link.span.start]);
        out.extend_from_slice(&replacement);
        last = link.span.end;
        changed = true;
    }
    if !changed {
        return None;
    }
    out.extend_from_slice(&bytes[last..]);
    Some(out)
}

pub use crate::site::classify::file_name;

/// How each asset is named, decided before any content is processed.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Assets that get a content hash from cdnpub.
    pub hashed: Vec<bool>,
    /// Assets whose name reflects their final content (cache them for a year).
    pub immutable: Vec<bool>,
    /// For each asset, the renamed assets its content names (it waits for their names); a
    /// cycle member waits for what any member names outside the cycle.
    pub waits_for: Vec<Vec<usize>>,
    /// Source maps that follow the file that names them (`app.js.map` → `app.HASH.js.map`).
    pub map_owner: Vec<Option<usize>>,
    /// Cycles whose members keep their names (a member cdnpub would content-hash), each
    /// sorted: not cached as immutable, reported.
    pub cycles: Vec<Vec<usize>>,
    /// Every cycle whose members are renamed together (`env_named`), each sorted.
    pub groups: Vec<Vec<usize>>,
    /// The group of each `env_named` asset (an index into `groups`).
    pub group_of: Vec<Option<usize>>,
    /// Cycle members named after what their bytes depend on besides the bundler's content:
    /// the rendered server and the final names of what the cycle names outside itself. Known
    /// once those are named, the same for every member.
    pub env_named: Vec<bool>,
}

/// Decide names: who gets hashed, who is immutable, who waits for whom.
///
/// A file is hashed unless it keeps its name or a bundler already hashed it; a bundler-hashed
/// file is hashed again when its content names a renamed file (otherwise its name would lie about
/// its content).
///
/// Files that name each other (Vite's entry ↔ lazy chunk) cannot be named after their final
/// content. When every member of such a cycle is bundler-hashed, the bundler's hash covers each
/// member's own content and the names of the other members; what cdnpub changes is the rendered
/// server and the names of files outside the cycle: the members get a suffix hashed from those
/// (`index-Ab12Cd34.<suffix>.js`), so their names still cover their bytes: immutable, no
/// warning. A cycle with a member cdnpub would content-hash keeps its names (not immutable;
/// rendered members named after the server), and is reported.
///
/// `rendered[i]` says the file's content differs from the bundler's at build time (placeholders
/// rendered by publish, a source map comment removed): a bundler-hashed file whose content
/// changes is hashed too.
///
/// `pins[i]` says the file must keep its name ([`pins::pins`]: no page in the tree, nothing
/// cdnpub rewrites names it, or its name is mentioned where cdnpub does not rewrite): it is
/// never renamed; a bundler-hashed one stays immutable unless its bytes depend on the server
/// or on a renamed file.
pub fn plan(
    rels: &[String],
    refs: &[Refs],
    naming: &Naming,
    rendered: &[bool],
    pins: &[pins::Pin],
) -> Plan {
    let n = rels.len();
    let mut map_owner = vec![None; n];
    for (i, r) in refs.iter().enumerate() {
        if let Some(m) = r.source_map {
            map_owner[m.target].get_or_insert(i);
        }
    }
    // An owner depends on what its map names, too.
    let deps: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            let mut d: Vec<usize> = refs[i].links.iter().map(|l| l.target).collect();
            if let Some(m) = refs[i].source_map {
                match map_owner[m.target] {
                    // The map's name follows its owner's: another file naming it waits.
                    Some(owner) if owner != i => d.push(owner),
                    _ => d.extend(refs[m.target].links.iter().map(|l| l.target)),
                }
            }
            d.retain(|&t| t != i && map_owner[t].is_none());
            d.sort_unstable();
            d.dedup();
            d
        })
        .collect();
    let pinned = |i: usize| pins.get(i).is_some_and(|p| *p != pins::Pin::None);
    let bundler: Vec<bool> = rels.iter().map(|r| naming.bundler_hashed(r)).collect();
    let keeps: Vec<bool> = (0..n)
        .map(|i| naming.keeps_name(&rels[i]) || (pinned(i) && !bundler[i]))
        .collect();
    let rendered_at = |i: usize| rendered.get(i).copied().unwrap_or(false);
    let mut hashed: Vec<bool> = (0..n)
        .map(|i| {
            !keeps[i] && !pinned(i) && (!bundler[i] || rendered_at(i)) && map_owner[i].is_none()
        })
        .collect();
    // A pinned bundler-hashed file keeps the bundler's name whatever happens to its bytes.
    let mut frozen: Vec<bool> = (0..n).map(|i| pinned(i) && !keeps[i]).collect();
    let mut env_named = vec![false; n];
    loop {
        loop {
            let mut grew = false;
            for i in 0..n {
                if !hashed[i]
                    && !keeps[i]
                    && !frozen[i]
                    && !env_named[i]
                    && map_owner[i].is_none()
                    && deps[i].iter().any(|&d| hashed[d] || env_named[d])
                {
                    hashed[i] = true;
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
        let renamed: Vec<bool> = (0..n).map(|i| hashed[i] || env_named[i]).collect();
        let mut changed = false;
        for c in cycles_among(&renamed, &deps) {
            let pure = c.iter().all(|&m| bundler[m] && !keeps[m] && !frozen[m]);
            for &m in &c {
                let named = if pure {
                    true
                } else {
                    frozen[m] = true;
                    rendered_at(m) && !keeps[m] && !pinned(m)
                };
                changed |= hashed[m] || env_named[m] != named;
                hashed[m] = false;
                env_named[m] = named;
            }
        }
        if !changed {
            break;
        }
    }
    let groups = cycles_among(&env_named, &deps);
    let mut group_of = vec![None; n];
    for (g, c) in groups.iter().enumerate() {
        for &m in c {
            group_of[m] = Some(g);
        }
    }
    // A lone env-named file (a frozen member whose cycle partners keep their names).
    let mut groups = groups;
    for i in 0..n {
        if env_named[i] && group_of[i].is_none() {
            group_of[i] = Some(groups.len());
            groups.push(vec![i]);
        }
    }
    let mut cycles = cycles_among(
        &(0..n)
            .map(|i| frozen[i] || hashed[i] || env_named[i])
            .collect::<Vec<_>>(),
        &deps,
    );
    // Reported: cycles that made a file keep a name cdnpub would have changed.
    cycles.retain(|c| c.iter().any(|&m| frozen[m] && !pinned(m)));
    let outside = |i: usize| -> Vec<usize> {
        let members: &[usize] = group_of[i].map_or(&[][..], |g| &groups[g]);
        let mut w: Vec<usize> = if members.is_empty() {
            deps[i].clone()
        } else {
            members
                .iter()
                .flat_map(|&m| deps[m].iter().copied())
                .collect()
        };
        w.retain(|t| (hashed[*t] || env_named[*t]) && !members.contains(t));
        w.sort_unstable();
        w.dedup();
        w
    };
    let waits_for: Vec<Vec<usize>> = (0..n).map(outside).collect();
    let mut immutable: Vec<bool> = (0..n)
        .map(|i| {
            hashed[i]
                || (env_named[i] && !frozen[i])
                || (bundler[i]
                    && !keeps[i]
                    && !env_named[i]
                    && waits_for[i].is_empty()
                    && !(pinned(i) && rendered_at(i))
                    && !(frozen[i] && deps[i].iter().any(|&d| hashed[d] || env_named[d])))
        })
        .collect();
    for i in 0..n {
        if let Some(owner) = map_owner[i] {
            hashed[i] = hashed[owner];
            immutable[i] = immutable[owner];
            env_named[i] = env_named[owner];
        }
    }
    Plan {
        hashed,
        immutable,
        waits_for,
        map_owner,
        cycles,
        groups,
        group_of,
        env_named,
    }
}

/// Strongly connected components (size > 1, or a self-loop) of the graph of hashed assets.
fn cycles_among(hashed: &[bool], deps: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut g: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..hashed.len()).map(|i| g.add_node(i)).collect();
    let mut by_node: HashMap<NodeIndex, usize> = HashMap::new();
    for (i, &n) in nodes.iter().enumerate() {
        by_node.insert(n, i);
    }
    for (i, d) in deps.iter().enumerate() {
        if !hashed[i] {
            continue;
        }
        for &t in d.iter().filter(|&&t| hashed[t]) {
            g.add_edge(nodes[i], nodes[t], ());
        }
    }
    let mut out: Vec<Vec<usize>> = petgraph::algo::tarjan_scc(&g)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            let mut members: Vec<usize> = c.iter().map(|n| by_node[n]).collect();
            members.sort_unstable();
            members
        })
        .collect();
    out.sort();
    out
}

/// Original → final path for every renamed asset, sorted (the Vite-style map of the manifest).
pub fn renames(originals: &[String], finals: &[String]) -> BTreeMap<String, String> {
    originals
        .iter()
        .zip(finals)
        .filter(|(o, f)| o != f)
        .map(|(o, f)| (o.clone(), f.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renaming_a_segment_keeps_the_url_shape() {
        let cases = [
            (
                "../fonts/i.woff",
                "i.woff",
                "i.0123456789.woff",
                "../fonts/i.0123456789.woff",
            ),
            (
                "EGOVA_CDN/js/app.js",
                "app.js",
                "app.0123456789.js",
                "EGOVA_CDN/js/app.0123456789.js",
            ),
            (
                "My%20Font.ttf",
                "My Font.ttf",
                "My Font.0123456789.ttf",
                "My%20Font.0123456789.ttf",
            ),
            (
                "app.js.map",
                "app.js.map",
                "app.0123456789.js.map",
                "app.0123456789.js.map",
            ),
        ];
        for (raw, old, new, want) in cases {
            assert_eq!(
                renamed_segment(raw.as_bytes(), old, new).unwrap(),
                want.as_bytes(),
                "{raw}"
            );
        }
        assert_eq!(hashed_name("app.min.js", "abc"), "app.min.abc.js");
        assert_eq!(hashed_name("app.js.map", "abc"), "app.abc.js.map");
        assert_eq!(hashed_name("LICENSE", "abc"), "LICENSE.abc");
    }
}
