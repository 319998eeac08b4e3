//! Source maps: the `sources` entries that name files of the tree, and the `file` field that
//! names the generated file (rewritten to its final name when the map follows it).

use super::span::{Link, Span};
use crate::site::fingerprint::css::string_end;
use crate::site::fingerprint::resolve::Index;

/// Links from the `sources` array of the map `rel` to assets of the tree.
pub fn refs(rel: &str, map: &[u8], index: &Index) -> Vec<Link> {
    let Some(start) = top_level_value(map, b"sources")
        .filter(|&v| map[v] == b'[')
        .map(|v| v + 1)
    else {
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

/// The span of the top-level `file` field's string value.
pub fn file_field(map: &[u8]) -> Option<Span> {
    let q = top_level_value(map, b"file")?;
    if map[q] != b'"' {
        return None;
    }
    let end = string_end(map, q);
    Some(Span {
        start: q + 1,
        end: end.saturating_sub(1).max(q + 1),
    })
}

/// Where the value of the top-level `key` of the JSON object `map` starts: keys are read only
/// at the object's first level, never inside a string (`sourcesContent` holds whole sources,
/// which may spell `"file"`) or a nested object (an index map's `sections`).
fn top_level_value(map: &[u8], key: &[u8]) -> Option<usize> {
    let skip_ws = |mut j: usize| {
        while map.get(j).is_some_and(u8::is_ascii_whitespace) {
            j += 1;
        }
        j
    };
    let (mut depth, mut expect_key, mut i) = (0usize, false, 0usize);
    while i < map.len() {
        match map[i] {
            b'{' | b'[' => {
                depth += 1;
                expect_key = depth == 1 && map[i] == b'{';
            }
            b'}' | b']' => depth = depth.checked_sub(1)?,
            b',' => expect_key = depth == 1,
            b'"' => {
                let end = string_end(map, i);
                if depth == 1 && expect_key {
                    let colon = skip_ws(end);
                    if map.get(colon) != Some(&b':') {
                        return None;
                    }
                    let value = skip_ws(colon + 1);
                    if map.get(i + 1..end.saturating_sub(1)) == Some(key) {
                        return (value < map.len()).then_some(value);
                    }
                    expect_key = false;
                    i = value;
                    continue;
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
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

    /// `"file"` and `"sources"` spelled inside a source's text or a nested section are not the
    /// map's fields.
    #[test]
    fn only_top_level_fields_count() {
        let rels: Vec<String> = ["js/app.js", "src/a.ts", "src/b.ts"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let ix = Index::new(&rels, "");
        let map = br#"{"version":3,"sourcesContent":["const o = {"file":"x.js","sources":["../src/b.ts"]}"],"sections":[{"file":"nested.js"}], "sources" : [ "../src/a.ts" ], "file" : "app.js"}"#;
        let links = refs("js/app.js.map", map, &ix);
        assert_eq!(links.len(), 1);
        assert_eq!(&map[links[0].span.start..links[0].span.end], b"../src/a.ts");
        let f = file_field(map).unwrap();
        assert_eq!(&map[f.start..f.end], b"app.js");
        assert!(file_field(br#"{"sourcesContent":[""file":"x""]}"#).is_none());
    }
}
