//! URL references in HTML: `src`, `href`, `srcset`, `poster` and friends (quoted or not), inline
//! `style` attributes and `<style>` blocks (as CSS), inline `<script>` blocks (as JS), and the
//! module URLs of Astro's islands (`<astro-island component-url=… renderer-url=…>`).

use super::span::Span;
use super::{css, js};
use crate::site::markup;

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

/// Byte spans of every URL (and JS string candidate) referenced by the document `html`, in
/// the start tags [`markup::start_tags`] reads (the tokenizer SRI and the size report use).
pub fn refs(html: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    for tag in markup::start_tags(html) {
        for a in &tag.attrs {
            value(
                a.name.as_bytes(),
                html,
                a.value.start,
                a.value.end,
                &mut out,
            );
        }
        let Some(body) = tag.body else { continue };
        let inner = match tag.name.as_str() {
            "script" => js::refs(&html[body.clone()]),
            "style" => css::refs(&html[body.clone()]),
            _ => continue,
        };
        out.extend(inner.into_iter().map(|s| s.shift(body.start)));
    }
    out
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
