//! URL references in HTML: `src`, `href`, `srcset`, `poster` and friends (quoted or not), inline
//! `style` attributes and `<style>` blocks (as CSS), inline `<script>` blocks (as JS), and the
//! module URLs of Astro's islands (`<astro-island component-url=… renderer-url=…>`).

use super::css::find;
use super::span::Span;
use super::{css, js};

/// Attributes whose whole value is one URL.
const URL_ATTRS: [&[u8]; 9] = [
    b"src",
    b"href",
    b"xlink:href",
    b"poster",
    b"data-src",
    b"data",
    b"component-url",
    b"renderer-url",
    b"before-hydration-url",
];
/// Attributes holding a comma-separated candidate list (`url 2x, url 640w`).
const SRCSET_ATTRS: [&[u8]; 3] = [b"srcset", b"imagesrcset", b"data-srcset"];

/// Byte spans of every URL (and JS string candidate) referenced by the document `html`.
pub fn refs(html: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(lt) = memchr::memchr(b'<', &html[i..]).map(|p| p + i) {
        if html[lt..].starts_with(b"<!--") {
            i = find(html, lt + 4, b"-->").map_or(html.len(), |e| e + 3);
            continue;
        }
        let name_end = lt
            + 1
            + html[lt + 1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-' || **c == b':')
                .count();
        if name_end == lt + 1 {
            i = lt + 1;
            continue;
        }
        let name = html[lt + 1..name_end].to_ascii_lowercase();
        let tag_end = attributes(html, name_end, &mut out);
        i = tag_end;
        let raw = match name.as_slice() {
            b"script" => Some((b"</script".as_slice(), Kind::Js)),
            b"style" => Some((b"</style".as_slice(), Kind::Css)),
            _ => None,
        };
        if let Some((close, kind)) = raw {
            let end = find_ci(html, tag_end, close).unwrap_or(html.len());
            let body = &html[tag_end..end];
            let inner = match kind {
                Kind::Js => js::refs(body),
                Kind::Css => css::refs(body),
            };
            out.extend(inner.into_iter().map(|s| s.shift(tag_end)));
            i = end;
        }
    }
    out
}

enum Kind {
    Js,
    Css,
}

/// Parse attributes from `i` to the end of the tag; returns the index after `>`.
fn attributes(html: &[u8], mut i: usize, out: &mut Vec<Span>) -> usize {
    loop {
        while i < html.len() && (html[i].is_ascii_whitespace() || html[i] == b'/') {
            i += 1;
        }
        if i >= html.len() {
            return html.len();
        }
        if html[i] == b'>' {
            return i + 1;
        }
        let name_start = i;
        while i < html.len()
            && !html[i].is_ascii_whitespace()
            && !matches!(html[i], b'=' | b'>' | b'/')
        {
            i += 1;
        }
        let name = html[name_start..i].to_ascii_lowercase();
        while i < html.len() && html[i].is_ascii_whitespace() {
            i += 1;
        }
        if html.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while i < html.len() && html[i].is_ascii_whitespace() {
            i += 1;
        }
        let (start, end, next) = match html.get(i) {
            Some(&q) if q == b'"' || q == b'\'' => {
                let close = memchr::memchr(q, &html[i + 1..]).map_or(html.len(), |p| i + 1 + p);
                (i + 1, close, (close + 1).min(html.len()))
            }
            Some(_) => {
                let end = i + html[i..]
                    .iter()
                    .take_while(|c| !c.is_ascii_whitespace() && **c != b'>')
                    .count();
                (i, end, end)
            }
            None => return html.len(),
        };
        value(&name, html, start, end, out);
        i = next;
    }
}

fn value(name: &[u8], html: &[u8], start: usize, end: usize, out: &mut Vec<Span>) {
    if start >= end {
        return;
    }
    if URL_ATTRS.contains(&name) {
        out.push(Span { start, end });
    } else if SRCSET_ATTRS.contains(&name) {
        srcset(html, start, end, out);
    } else if name == b"style" {
        out.extend(
            css::refs(&html[start..end])
                .into_iter()
                .map(|s| s.shift(start)),
        );
    }
}

/// Each candidate URL of a srcset value: `a.png 1x, b.png 2x`.
fn srcset(html: &[u8], start: usize, end: usize, out: &mut Vec<Span>) {
    let mut i = start;
    while i < end {
        while i < end && (html[i].is_ascii_whitespace() || html[i] == b',') {
            i += 1;
        }
        let url_start = i;
        while i < end && !html[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut url_end = i;
        // A URL may itself end with a comma when no descriptor follows.
        while url_end > url_start && html[url_end - 1] == b',' {
            url_end -= 1;
        }
        if url_end > url_start {
            out.push(Span {
                start: url_start,
                end: url_end,
            });
        }
        while i < end && html[i] != b',' {
            i += 1;
        }
    }
}

/// Index of `needle` in `hay` at or after `from`, ignoring ASCII case.
pub(crate) fn find_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let hay = hay.get(from..)?;
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(html: &str) -> Vec<&str> {
        refs(html.as_bytes())
            .iter()
            .map(|s| &html[s.start..s.end])
            .collect()
    }

    #[test]
    fn attributes_quoted_and_unquoted() {
        let html = r##"<!DOCTYPE html><html><head><link rel=icon href=EGOVA_CDN/favicon.ico>
<link rel="modulepreload" crossorigin href="/EGOVA_CDN/assets/a.js"><!-- <img src="no.png"> -->
<script type="module" src='./main.js'></script><script>window.a="js/app.js";</script>
<style>.x{background:url(img/x.png)}</style></head>
<body><img src=img/a.png srcset="img/a.png 1x, img/a@2x.png 2x" alt="a.png">
<video poster="v.jpg"><div style="background:url('img/bg.png')"></div><a href="#top">t</a>
<astro-island uid="z" component-url="/_astro/C.Ab12Cd34.js" renderer-url="/_astro/client.Xy.js" props="{}"></astro-island></body></html>"##;
        assert_eq!(
            texts(html),
            [
                "EGOVA_CDN/favicon.ico",
                "/EGOVA_CDN/assets/a.js",
                "./main.js",
                "js/app.js",
                "img/x.png",
                "img/a.png",
                "img/a.png",
                "img/a@2x.png",
                "v.jpg",
                "img/bg.png",
                "#top",
                "/_astro/C.Ab12Cd34.js",
                "/_astro/client.Xy.js"
            ]
        );
    }

    #[test]
    fn malformed_input_does_not_panic() {
        for html in [
            "<",
            "<a href=",
            "<a href='x",
            "<script>x",
            "<!-- x",
            "<img srcset=\"a.png 1x,",
            "<a b c=d",
        ] {
            let _ = refs(html.as_bytes());
        }
    }
}
