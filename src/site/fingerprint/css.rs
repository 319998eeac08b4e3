//! URL references in CSS: `url(…)`, `@import "…"` and the strings of `image-set(…)`.

use super::span::Span;

/// Byte spans of every URL referenced by the stylesheet `css` (offsets are relative to it).
pub fn refs(css: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut image_set_depth: Option<usize> = None;
    let mut depth = 0usize;
    while i < css.len() {
        match css[i] {
            b'/' if css.get(i + 1) == Some(&b'*') => {
                i = find(css, i + 2, b"*/").map_or(css.len(), |e| e + 2);
            }
            b'"' | b'\'' => {
                let end = string_end(css, i);
                let in_image_set = image_set_depth.is_some_and(|d| depth == d);
                if in_image_set || preceded_by_import(css, i) {
                    push(&mut out, i + 1, end.saturating_sub(1).max(i + 1));
                }
                i = end;
            }
            b'(' => {
                depth += 1;
                if ends_with_ci(&css[..i], b"image-set") {
                    image_set_depth = Some(depth);
                }
                i += 1;
            }
            b')' => {
                if image_set_depth == Some(depth) {
                    image_set_depth = None;
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'u' | b'U' if starts_with_ci(&css[i..], b"url(") && !is_ident(css, i) => {
                i = url_function(css, i + 4, &mut out);
            }
            _ => i += 1,
        }
    }
    out
}

/// Parse the inside of `url(` starting at `i`; returns the index after `)`.
fn url_function(css: &[u8], mut i: usize, out: &mut Vec<Span>) -> usize {
    while i < css.len() && css[i].is_ascii_whitespace() {
        i += 1;
    }
    if i < css.len() && (css[i] == b'"' || css[i] == b'\'') {
        let end = string_end(css, i);
        push(out, i + 1, end.saturating_sub(1).max(i + 1));
        return find(css, end, b")").map_or(css.len(), |e| e + 1);
    }
    let close = find(css, i, b")").unwrap_or(css.len());
    let mut end = close;
    while end > i && css[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    push(out, i, end);
    (close + 1).min(css.len())
}

fn push(out: &mut Vec<Span>, start: usize, end: usize) {
    if end > start {
        out.push(Span { start, end });
    }
}

/// Index just past the closing quote of the string opening at `i` (or the end of the line).
pub(crate) fn string_end(s: &[u8], i: usize) -> usize {
    let quote = s[i];
    let mut j = i + 1;
    while j < s.len() {
        match s[j] {
            b'\\' => j += 2,
            b'\n' => return j,
            c if c == quote => return j + 1,
            _ => j += 1,
        }
    }
    s.len()
}

fn preceded_by_import(css: &[u8], i: usize) -> bool {
    let before = css[..i].trim_ascii_end();
    ends_with_ci(before, b"@import")
}

fn is_ident(css: &[u8], i: usize) -> bool {
    i > 0 && (css[i - 1].is_ascii_alphanumeric() || css[i - 1] == b'-' || css[i - 1] == b'_')
}

/// Index of `needle` in `hay` at or after `from`.
pub(crate) fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay.get(from..)?, needle).map(|p| p + from)
}

fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn ends_with_ci(s: &[u8], suffix: &[u8]) -> bool {
    s.len() >= suffix.len() && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(css: &str) -> Vec<&str> {
        refs(css.as_bytes())
            .iter()
            .map(|s| &css[s.start..s.end])
            .collect()
    }

    #[test]
    fn every_form() {
        let css = r#"@import "base.css"; @import url(theme.css);
/* url(commented.png) */
.a{background:url( "../img/a.png?v=1#x" ) no-repeat}
.b{background-image:URL(img/b.png)}
.c{background-image:image-set("c.png" 1x, 'c@2x.png' 2x)}
@font-face{src:url(fonts/i.woff2) format("woff2"),url('fonts/i.ttf') format("truetype")}
.d{content:"not a url.png"}"#;
        assert_eq!(
            texts(css),
            [
                "base.css",
                "theme.css",
                "../img/a.png?v=1#x",
                "img/b.png",
                "c.png",
                "c@2x.png",
                "fonts/i.woff2",
                "fonts/i.ttf"
            ]
        );
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for css in [
            "url(",
            "url(\"a",
            "@import '",
            "/* x",
            "image-set(\"a",
            "a{b:url( )}",
        ] {
            let _ = refs(css.as_bytes());
        }
    }
}
