//! Source maps: the `sources` entries that name files of the tree, and the `file` field that
//! names the generated file (rewritten to its final name when the map follows it).

use super::span::{Link, Span};
use crate::site::fingerprint::css::string_end;
use crate::site::fingerprint::resolve::Index;

/// Links from the `sources` array of the map `rel` to assets of the tree.
pub fn refs(rel: &str, map: &[u8], index: &Index) -> Vec<Link> {
    let Some(start) = array_after_key(map, b"\"sources\"") else {
        return Vec::new();
    };
    let mut links = Vec::new();
    let mut i = start;
    while i < map.len() && map[i] != b']' {
        if map[i] == b'"' {
            let end = string_end(map, i);
            let span = Span {
                start: i + 1,
                end: end.saturating_sub(1).max(i + 1),
            };
            if let Some((target, len)) = index.resolve(rel, &map[span.start..span.end], false) {
                links.push(Link {
                    span: Span {
                        start: span.start,
                        end: span.start + len,
                    },
                    target,
                    insert: false,
                });
            }
            i = end;
        } else {
            i += 1;
        }
    }
    links
}

/// The span of the `file` field's string value.
pub fn file_field(map: &[u8]) -> Option<Span> {
    let at = memchr::memmem::find(map, b"\"file\"")? + 6;
    let rest = &map[at..];
    let colon = rest.iter().position(|c| !c.is_ascii_whitespace())?;
    if rest[colon] != b':' {
        return None;
    }
    let q = at
        + colon
        + 1
        + rest[colon + 1..]
            .iter()
            .position(|c| !c.is_ascii_whitespace())?;
    if map[q] != b'"' {
        return None;
    }
    let end = string_end(map, q);
    Some(Span {
        start: q + 1,
        end: end.saturating_sub(1).max(q + 1),
    })
}

/// Index just inside the `[` of the array value of `key`.
fn array_after_key(map: &[u8], key: &[u8]) -> Option<usize> {
    let at = memchr::memmem::find(map, key)? + key.len();
    let mut i = at;
    while i < map.len() && (map[i].is_ascii_whitespace() || map[i] == b':') {
        i += 1;
    }
    (map.get(i) == Some(&b'[')).then_some(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_file() {
        let rels: Vec<String> = ["js/app.js", "js/app.js.map", "src/a.ts"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let ix = Index::new(&rels, "");
        let map = br#"{"version":3,"file":"app.js","sources":["../src/a.ts","webpack:///x.js"],"mappings":"AAAA"}"#;
        let links = refs("js/app.js.map", map, &ix);
        assert_eq!(links.len(), 1);
        assert_eq!(&map[links[0].span.start..links[0].span.end], b"../src/a.ts");
        let f = file_field(map).unwrap();
        assert_eq!(&map[f.start..f.end], b"app.js");
    }
}
