//! webpack 5's runtime chunk maps: `__webpack_require__.u` (script chunks) and `miniCssF`
//! (extracted CSS) build a chunk's file name from pieces,
//! `"js/"+{245:"lazy"}[e]+"."+{245:"9b6aebf5"}[e]+".js"`, so no string of the runtime names the
//! file. This module evaluates those functions for every chunk id they know, giving the file
//! names the runtime will request.

use super::span::Span;
use crate::site::fingerprint::css::string_end;

/// A file name the runtime builds, and the chunk id it is built for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkFile {
    /// The path relative to webpack's public path (`js/lazy.9b6aebf5.js`).
    pub path: String,
    /// The chunk id (`245`), or "" for a function that returns one constant string.
    pub id: String,
    /// Where the function is in the file (for messages).
    pub at: Span,
    /// The map value (a string's contents) the file name's stem ends with
    /// (`"9b6aebf5"` in `{245:"9b6aebf5"}` for `js/lazy.9b6aebf5.js`): where a new name's hash is
    /// inserted. None when the stem ends in a literal or the chunk id.
    pub stem_value: Option<Span>,
}

/// A chunk map's pairs: key, value and the value's span in the file.
type Pairs = Vec<(String, String, Span)>;

/// One piece of the returned expression.
#[derive(Debug)]
enum Term {
    Str(String),
    /// Pairs of key, value and the value's span in the file; with a `||id` fallback.
    Map(Pairs, bool),
    Id,
}

/// Every chunk file the webpack runtime in `js` builds names for.
pub fn chunk_files(js: &[u8]) -> Vec<ChunkFile> {
    let mut out = Vec::new();
    for key in [&b".u="[..], b".miniCssF=", b".u = ", b".miniCssF = "] {
        for at in memchr::memmem::find_iter(js, key) {
            let from = at + key.len();
            let Some((expr, end)) = returned_expression(js, from) else {
                continue;
            };
            let Some(terms) = terms(expr, end - expr.len()) else {
                continue;
            };
            let span = Span { start: at, end };
            out.extend(evaluate(&terms, span));
        }
    }
    out.sort_by(|a, b| (a.at.start, &a.path).cmp(&(b.at.start, &b.path)));
    out.dedup();
    out
}

/// The expression a `function(e){return X}` or `e=>X` / `(e) => { return X; }` returns.
fn returned_expression(js: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let head = js.get(from..(from + 64).min(js.len()))?;
    let start = if head.starts_with(b"function") {
        let ret = memchr::memmem::find(&js[from..(from + 96).min(js.len())], b"return")?;
        from + ret + 6
    } else {
        let arrow = memchr::memmem::find(head, b"=>")?;
        let mut i = from + arrow + 2;
        while js.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if js.get(i) == Some(&b'{') {
            let ret = memchr::memmem::find(&js[i..(i + 96).min(js.len())], b"return")?;
            i + ret + 6
        } else {
            i
        }
    };
    let mut depth = 0i32;
    let mut i = start;
    while i < js.len() {
        match js[i] {
            b'"' | b'\'' => {
                i = string_end(js, i);
                continue;
            }
            b'(' | b'{' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            b'}' if depth == 0 => break,
            b'}' => depth -= 1,
            b';' | b',' if depth == 0 => break,
            _ => {}
        }
        if depth < 0 {
            break;
        }
        i += 1;
    }
    Some((&js[start..i], i))
}

/// The `+`-separated terms of a chunk-name expression (which starts at `base` in the file);
/// None for any other shape.
fn terms(expr: &[u8], base: usize) -> Option<Vec<Term>> {
    let mut out = Vec::new();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while expr.get(*i).is_some_and(u8::is_ascii_whitespace) {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i >= expr.len() {
            break;
        }
        match expr[i] {
            b'"' | b'\'' => {
                let end = string_end(expr, i);
                out.push(Term::Str(
                    String::from_utf8(expr.get(i + 1..end.checked_sub(1)?)?.to_vec()).ok()?,
                ));
                i = end;
            }
            b'(' => {
                // ({…}[e]||e)
                let close = matching(expr, i, b'(', b')')?;
                let inner = &expr[i + 1..close];
                let bar = memchr::memmem::rfind(inner, b"||")?;
                let (map, _) = object_map(&inner[..bar], base + i + 1)?;
                out.push(Term::Map(map, true));
                i = close + 1;
            }
            b'{' => {
                let (map, used) = object_map(&expr[i..], base + i)?;
                out.push(Term::Map(map, false));
                i += used;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => {
                while expr
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$')
                {
                    i += 1;
                }
                out.push(Term::Id);
            }
            _ => return None,
        }
        skip_ws(&mut i);
        match expr.get(i) {
            None => break,
            Some(b'+') => i += 1,
            Some(_) => return None,
        }
    }
    let has_str = out.iter().any(|t| matches!(t, Term::Str(_)));
    has_str.then_some(out)
}

/// `{245:"lazy",594:"about"}[e]` at the start of `s` (at `base` in the file): the pairs, each
/// value's span in the file, and the bytes used.
fn object_map(s: &[u8], base: usize) -> Option<(Pairs, usize)> {
    let close = matching(s, 0, b'{', b'}')?;
    let body = &s[1..close];
    let mut pairs = Vec::new();
    let mut i = 0;
    while i < body.len() {
        while body
            .get(i)
            .is_some_and(|c| c.is_ascii_whitespace() || *c == b',')
        {
            i += 1;
        }
        if i >= body.len() {
            break;
        }
        let key_end = if matches!(body[i], b'"' | b'\'') {
            string_end(body, i)
        } else {
            i + body[i..].iter().position(|&c| c == b':')?
        };
        let key = String::from_utf8(body[i..key_end].to_vec())
            .ok()?
            .trim_matches(['"', '\''])
            .trim()
            .to_string();
        i = key_end;
        while body
            .get(i)
            .is_some_and(|c| c.is_ascii_whitespace() || *c == b':')
        {
            i += 1;
        }
        if !matches!(body.get(i), Some(b'"' | b'\'')) {
            return None;
        }
        let end = string_end(body, i);
        let value = String::from_utf8(body.get(i + 1..end.checked_sub(1)?)?.to_vec()).ok()?;
        // body starts one byte into s.
        let span = Span {
            start: base + 1 + i + 1,
            end: base + 1 + end - 1,
        };
        pairs.push((key, value, span));
        i = end;
    }
    let mut used = close + 1;
    while s.get(used).is_some_and(u8::is_ascii_whitespace) {
        used += 1;
    }
    if s.get(used) != Some(&b'[') {
        return None;
    }
    used += s[used..].iter().position(|&c| c == b']')? + 1;
    Some((pairs, used))
}

fn matching(s: &[u8], open_at: usize, open: u8, close: u8) -> Option<usize> {
    let mut depth = 0;
    let mut i = open_at;
    while i < s.len() {
        match s[i] {
            b'"' | b'\'' => {
                i = string_end(s, i);
                continue;
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn evaluate(terms: &[Term], at: Span) -> Vec<ChunkFile> {
    let mut ids: Vec<&str> = terms
        .iter()
        .filter_map(|t| match t {
            Term::Map(m, false) => Some(m.iter().map(|(k, _, _)| k.as_str())),
            _ => None,
        })
        .flatten()
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        if terms.iter().any(|t| !matches!(t, Term::Str(_))) {
            return Vec::new(); // "js/"+e+".js": names every chunk id; nothing to check
        }
        let path: String = terms
            .iter()
            .filter_map(|t| match t {
                Term::Str(s) => Some(s.as_str()),
                _ => None,
            })
            .collect();
        return vec![ChunkFile {
            path,
            id: String::new(),
            at,
            stem_value: None,
        }];
    }
    ids.into_iter()
        .filter_map(|id| {
            let mut path = String::new();
            // (where a piece ends in the path, the map value span it came from)
            let mut pieces: Vec<(usize, Option<Span>)> = Vec::new();
            for t in terms {
                match t {
                    Term::Str(s) => {
                        path.push_str(s);
                        pieces.push((path.len(), None));
                    }
                    Term::Id => {
                        path.push_str(id);
                        pieces.push((path.len(), None));
                    }
                    Term::Map(m, fallback) => match m.iter().find(|(k, _, _)| k == id) {
                        Some((_, v, span)) => {
                            path.push_str(v);
                            pieces.push((path.len(), Some(*span)));
                        }
                        None if *fallback => {
                            path.push_str(id);
                            pieces.push((path.len(), None));
                        }
                        None => return None,
                    },
                }
            }
            let name_start = path.rfind('/').map_or(0, |p| p + 1);
            let stem_end = name_start + crate::site::classify::stem_len(&path[name_start..]);
            let stem_value = pieces
                .iter()
                .find(|(end, _)| *end == stem_end)
                .and_then(|(_, span)| *span);
            Some(ChunkFile {
                path,
                id: id.to_string(),
                at,
                stem_value,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(js: &str) -> Vec<String> {
        chunk_files(js.as_bytes())
            .into_iter()
            .map(|c| c.path)
            .collect()
    }

    #[test]
    fn minified_vue_cli_runtime() {
        let js = r#"n.u=function(e){return"js/"+{245:"lazy",594:"about"}[e]+"."+{245:"9b6aebf5",594:"737f35a6"}[e]+".js"},n.miniCssF=function(e){return"css/"+{245:"lazy",594:"about"}[e]+"."+{245:"dd35110b",594:"1a98c575"}[e]+".css"},n.g=function(){}"#;
        assert_eq!(
            paths(js),
            [
                "js/about.737f35a6.js",
                "js/lazy.9b6aebf5.js",
                "css/about.1a98c575.css",
                "css/lazy.dd35110b.css"
            ]
        );
    }

    #[test]
    fn fallback_names_single_chunks_and_arrows() {
        let js = r#"t.u=function(e){return"js/"+({245:"lazy"}[e]||e)+"."+{245:"9b6aebf5",77:"0a1b2c3d"}[e]+".js"};
r.u = (chunkId) => {
    return "js/" + chunkId + "." + {"12":"aaaa1111"}[chunkId] + ".js";
};
t.miniCssF=function(e){return"css/lazy.dd35110b.css"};x.u=function(e){return"js/"+e+".js"}"#;
        assert_eq!(
            paths(js),
            [
                "js/77.0a1b2c3d.js",
                "js/lazy.9b6aebf5.js",
                "js/12.aaaa1111.js",
                "css/lazy.dd35110b.css"
            ]
        );
    }

    #[test]
    fn the_hash_value_of_each_chunk_is_found() {
        let js = r#"n.u=function(e){return"js/"+{245:"lazy"}[e]+"."+{245:"9b6aebf5"}[e]+".js"}"#;
        let c = &chunk_files(js.as_bytes())[0];
        let s = c.stem_value.unwrap();
        assert_eq!(&js[s.start..s.end], "9b6aebf5");
        let single = r#"n.u=function(e){return"js/lazy.9b6aebf5.js"}"#;
        assert_eq!(chunk_files(single.as_bytes())[0].stem_value, None);
    }

    #[test]
    fn other_code_is_left_alone() {
        for js in [
            "a.u=5",
            "a.u=function(e){return e.x}",
            "a.u=",
            "a.u=function(e){return\"x\"+",
        ] {
            let _ = chunk_files(js.as_bytes());
        }
        assert!(paths("a.u=function(e){return e.x}").is_empty());
    }
}
