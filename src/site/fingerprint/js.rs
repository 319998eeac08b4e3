//! Candidate references in JavaScript: the contents of string literals (which covers `import`
//! specifiers, `import()`, `new URL('…', import.meta.url)` and bundler path tables) and the
//! `sourceMappingURL` comment. Whether a candidate is a reference is decided by resolution:
//! only strings that name a file of the tree are rewritten. A bare file name (no `/`: a
//! runtime's `"_payload.json"` or `"index.txt"`, joined with a route at run time) is never a
//! candidate: it is not a URL of one file.

use super::span::Span;
use crate::site::fingerprint::css::string_end;

/// Longest string literal considered a path.
const MAX_PATH: usize = 1024;

/// Byte spans of string literals in `js` that could be paths (no white space, not too long).
///
/// A small lexer: comments, regular expression literals (told from division by what precedes
/// them) and template literals (with `${…}` code inside, scanned as code) are skipped, so a
/// quote inside a regex such as `/["'&<>]/` never shifts which text is taken for a string.
pub fn refs(js: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    code(js, 0, false, &mut out);
    out
}

/// Keywords after which a `/` starts a regular expression.
const BEFORE_REGEX: [&[u8]; 12] = [
    b"return", b"typeof", b"case", b"do", b"else", b"in", b"of", b"new", b"delete", b"void",
    b"throw", b"yield",
];

/// Scan code from `i`; inside a template's `${`, stop after the matching `}`. Returns where
/// scanning ended.
fn code(js: &[u8], mut i: usize, in_template: bool, out: &mut Vec<Span>) -> usize {
    let mut depth = 0usize;
    // What came last: None (start), Some(b'a') a word or value, or the punctuator.
    let mut last: Option<u8> = None;
    let mut word: &[u8] = b"";
    while i < js.len() {
        let c = js[i];
        match c {
            b'/' if js.get(i + 1) == Some(&b'/') => {
                i = memchr::memchr(b'\n', &js[i..]).map_or(js.len(), |e| i + e);
            }
            b'/' if js.get(i + 1) == Some(&b'*') => {
                i = memchr::memmem::find(&js[i + 2..], b"*/").map_or(js.len(), |e| i + 2 + e + 2);
            }
            b'/' if regex_allowed(last, word) => {
                i = regex_end(js, i);
                last = Some(b'a');
                word = b"";
            }
            b'"' | b'\'' => {
                let end = string_end(js, i);
                let (start, stop) = (i + 1, end.saturating_sub(1));
                let closed = end > i + 1 && js.get(end - 1) == Some(&c);
                push(js, start, stop, closed, out);
                i = end.max(i + 1);
                last = Some(b'a');
                word = b"";
            }
            b'`' => {
                i = template(js, i, out);
                last = Some(b'a');
                word = b"";
            }
            b'{' => {
                depth += 1;
                i += 1;
                last = Some(c);
            }
            b'}' => {
                if in_template && depth == 0 {
                    return i + 1;
                }
                depth = depth.saturating_sub(1);
                i += 1;
                last = Some(c);
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 => {
                let start = i;
                while i < js.len()
                    && (js[i].is_ascii_alphanumeric()
                        || js[i] == b'_'
                        || js[i] == b'$'
                        || js[i] >= 0x80)
                {
                    i += 1;
                }
                word = &js[start..i];
                last = Some(b'a');
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                last = Some(c);
                word = b"";
                i += 1;
            }
        }
    }
    i
}

fn regex_allowed(last: Option<u8>, word: &[u8]) -> bool {
    match last {
        None => true,
        Some(b'a') => BEFORE_REGEX.contains(&word),
        Some(b')' | b']') => false,
        Some(_) => true,
    }
}

/// The end of the regular expression literal starting at `i` (after its flags); a `/` that
/// does not close on its line is taken for division.
fn regex_end(js: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    let mut class = false;
    while j < js.len() {
        match js[j] {
            b'\\' => j += 2,
            b'\n' => return i + 1,
            b'[' => {
                class = true;
                j += 1;
            }
            b']' => {
                class = false;
                j += 1;
            }
            b'/' if !class => {
                j += 1;
                while js.get(j).is_some_and(u8::is_ascii_alphabetic) {
                    j += 1;
                }
                return j;
            }
            _ => j += 1,
        }
    }
    i + 1
}

/// Skip the template literal at `i`; a template without `${…}` is a candidate like a string.
fn template(js: &[u8], i: usize, out: &mut Vec<Span>) -> usize {
    let mut j = i + 1;
    let mut plain = true;
    while j < js.len() {
        match js[j] {
            b'\\' => j += 2,
            b'`' => {
                if plain {
                    push(js, i + 1, j, true, out);
                }
                return j + 1;
            }
            b'$' if js.get(j + 1) == Some(&b'{') => {
                plain = false;
                j = code(js, j + 2, true, out);
            }
            _ => j += 1,
        }
    }
    js.len()
}

fn push(js: &[u8], start: usize, stop: usize, closed: bool, out: &mut Vec<Span>) {
    let body = js.get(start..stop).unwrap_or_default();
    if closed && !body.is_empty() && body.len() <= MAX_PATH && is_path_like(body) {
        out.push(Span { start, end: stop });
    }
}

fn is_path_like(s: &[u8]) -> bool {
    s.iter()
        .all(|&c| c > b' ' && c != b'\\' && c != b'$' && c != 0x7f)
        && s.contains(&b'.')
        && s.contains(&b'/')
}

/// True when `js` starts a Worker (or SharedWorker) from a script URL rather than from a
/// `blob:` or `data:` URL it made itself: browsers refuse a worker script from another origin
/// than the page's (SecurityError), so served from a CDN such a file breaks.
pub fn starts_worker_from_url(js: &[u8]) -> bool {
    [&b"new Worker("[..], b"new SharedWorker("]
        .iter()
        .flat_map(|key| memchr::memmem::find_iter(js, key).map(move |at| at + key.len()))
        .any(|arg| {
            let window = &js[arg..(arg + 200).min(js.len())];
            let blob = [&b"createObjectURL"[..], b"blob:", b"data:"]
                .iter()
                .any(|k| memchr::memmem::find(window, k).is_some());
            !blob
        })
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

/// `text` without its trailing source map comment (`//# sourceMappingURL=…` to the end of
/// its line, or the whole `/*# sourceMappingURL=… */`), or None when it has none. What is left
/// ends where the comment began, so a script keeps its last newline.
pub fn strip_source_mapping_url(text: &[u8]) -> Option<Vec<u8>> {
    let url = source_mapping_url(text)?;
    let marker = url.start - b"sourceMappingURL=".len() - b"//# ".len();
    let end = if text[marker..].starts_with(b"/*") {
        memchr::memmem::find(&text[url.end..], b"*/").map_or(text.len(), |p| url.end + p + 2)
    } else {
        memchr::memchr(b'\n', &text[url.end..]).map_or(text.len(), |p| url.end + p)
    };
    let mut out = Vec::with_capacity(text.len() - (end - marker));
    out.extend_from_slice(&text[..marker]);
    out.extend_from_slice(&text[end..]);
    Some(out)
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
const deps = ["assets/Services-VhxVC417.js","assets/x.css"]; const e = 'it\'s.js', p = "_payload.json";
const re = /["'&<>]/g, q = a / 2 / b, r = x.replace(/'/g, "q"); import("./after-regex.js");
const t = `multi
line ${ "./in-template.js" } still`, u = `./plain-template.js`;"#;
        assert_eq!(
            texts(js),
            [
                "./a.js",
                "./lazy.js",
                "./img/logo.png",
                "assets/Services-VhxVC417.js",
                "assets/x.css",
                "./after-regex.js",
                "./in-template.js",
                "./plain-template.js"
            ]
        );
    }

    #[test]
    fn workers_started_from_a_url() {
        assert!(starts_worker_from_url(
            br#"const w=new Worker(new URL("./w-Ab12Cd34.js",import.meta.url),{type:"module"})"#
        ));
        assert!(starts_worker_from_url(b"new SharedWorker('/assets/s.js')"));
        assert!(!starts_worker_from_url(
            b"const w=new Worker(URL.createObjectURL(new Blob([`import \"${u}\"`])))"
        ));
        assert!(!starts_worker_from_url(
            b"w=new Worker(\"data:text/javascript,x\")"
        ));
        assert!(!starts_worker_from_url(b"const Worker = 1"));
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
        assert_eq!(
            strip_source_mapping_url(b"x=1;\n//# sourceMappingURL=app.js.map\n").as_deref(),
            Some(&b"x=1;\n\n"[..])
        );
        assert_eq!(
            strip_source_mapping_url(b"a{}\n/*# sourceMappingURL=app.css.map */").as_deref(),
            Some(&b"a{}\n"[..])
        );
        assert!(strip_source_mapping_url(b"x=1;\n").is_none());
    }
}
