//! Candidate references in JavaScript: the contents of string literals (which covers `import`
//! specifiers, `import()`, `new URL('…', import.meta.url)` and bundler path tables) and the
//! `sourceMappingURL` comment. Whether a candidate is a reference is decided by resolution:
//! only strings that name a file of the tree are rewritten.

use super::Span;
use crate::fingerprint::css::string_end;

/// Longest string literal considered a path.
const MAX_PATH: usize = 1024;

/// Byte spans of string literals in `js` that could be paths (no white space, not too long).
pub fn refs(js: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < js.len() {
        match js[i] {
            b'/' if js.get(i + 1) == Some(&b'/') => {
                i = memchr::memchr(b'\n', &js[i..]).map_or(js.len(), |e| i + e);
            }
            b'/' if js.get(i + 1) == Some(&b'*') => {
                i = memchr::memmem::find(&js[i + 2..], b"*/").map_or(js.len(), |e| i + 2 + e + 2);
            }
            b'"' | b'\'' | b'`' => {
                let end = string_end(js, i);
                let (start, stop) = (i + 1, end.saturating_sub(1));
                let body = js.get(start..stop).unwrap_or_default();
                let closed = end > i + 1 && js.get(end - 1) == Some(&js[i]);
                if closed && !body.is_empty() && body.len() <= MAX_PATH && is_path_like(body) {
                    out.push(Span { start, end: stop });
                }
                i = end.max(i + 1);
            }
            _ => i += 1,
        }
    }
    out
}

fn is_path_like(s: &[u8]) -> bool {
    s.iter()
        .all(|&c| c > b' ' && c != b'\\' && c != b'$' && c != 0x7f)
        && s.contains(&b'.')
}

/// The span of the URL in a trailing `//# sourceMappingURL=…` (JS) or
/// `/*# sourceMappingURL=… */` (CSS) comment.
pub fn source_mapping_url(text: &[u8]) -> Option<Span> {
    const KEY: &[u8] = b"sourceMappingURL=";
    let at = memchr::memmem::rfind(text, KEY)?;
    let before = &text[..at];
    let marker_ok =
        before.ends_with(b"//# ") || before.ends_with(b"//@ ") || before.ends_with(b"/*# ");
    if !marker_ok {
        return None;
    }
    let start = at + KEY.len();
    let end = text[start..]
        .iter()
        .position(|c| c.is_ascii_whitespace() || *c == b'*')
        .map_or(text.len(), |p| start + p);
    (end > start).then_some(Span { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(js: &str) -> Vec<&str> {
        refs(js.as_bytes())
            .iter()
            .map(|s| &js[s.start..s.end])
            .collect()
    }

    #[test]
    fn strings_imports_and_urls() {
        let js = r#"import a from "./a.js";import('./lazy.js');
// "comment.png"
/* 'block.png' */
const u = new URL('./img/logo.png', import.meta.url), s = "hello world", t = `tpl.${x}.js`;
const deps = ["assets/Services-VhxVC417.js","assets/x.css"]; const e = 'it\'s.js';"#;
        assert_eq!(
            texts(js),
            [
                "./a.js",
                "./lazy.js",
                "./img/logo.png",
                "assets/Services-VhxVC417.js",
                "assets/x.css"
            ]
        );
    }

    #[test]
    fn source_map_comments() {
        let js = b"x=1;\n//# sourceMappingURL=app.js.map\n";
        let s = source_mapping_url(js).unwrap();
        assert_eq!(&js[s.start..s.end], b"app.js.map");
        let css = b"a{}\n/*# sourceMappingURL=app.css.map */";
        let s = source_mapping_url(css).unwrap();
        assert_eq!(&css[s.start..s.end], b"app.css.map");
        assert!(source_mapping_url(b"var sourceMappingURL=1").is_none());
    }
}
