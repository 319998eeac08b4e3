//! The tags of a page that load code and styles: `<script src>`, `<link rel=stylesheet>`,
//! `<link rel=modulepreload>` and `<link rel=preload>`, with their attributes and byte offsets.
//! The size report counts what they name; Subresource Integrity adds attributes to them.

use std::ops::Range;

use super::fingerprint::css::find;
use super::fingerprint::html::find_ci;

/// One attribute of a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// Name, lower case.
    pub name: String,
    /// Value (entities left as written).
    pub value: String,
    /// Where the whole attribute is in the page.
    pub span: Range<usize>,
}

/// What a tag loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loads {
    /// A classic or module script (`<script src>`).
    Script,
    /// A stylesheet.
    Style,
    /// `<link rel=modulepreload>`.
    ModulePreload,
    /// `<link rel=preload as=script|style>`.
    Preload,
    /// `<link rel=preload>` of anything else (fonts, images): downloaded, not integrity-checked.
    OtherPreload,
}

/// A `<script>` or `<link>` start tag.
#[derive(Debug, Clone)]
pub struct Tag {
    /// `script` or `link`.
    pub name: String,
    /// Offset of `<`.
    pub start: usize,
    /// Offset of the closing `>` (or of `/>`).
    pub close: usize,
    /// Attributes in order.
    pub attrs: Vec<Attr>,
}

impl Tag {
    /// An attribute by (lower-case) name.
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }

    /// What it loads and from which URL, if it loads anything.
    pub fn loads(&self) -> Option<(Loads, &str)> {
        if self.name == "script" {
            return self.attr("src").map(|a| (Loads::Script, a.value.as_str()));
        }
        let href = self.attr("href")?.value.as_str();
        let rel = self.attr("rel")?.value.to_ascii_lowercase();
        let rels: Vec<&str> = rel.split_ascii_whitespace().collect();
        if rels.contains(&"stylesheet") {
            Some((Loads::Style, href))
        } else if rels.contains(&"modulepreload") {
            Some((Loads::ModulePreload, href))
        } else if rels.contains(&"preload") {
            match self
                .attr("as")
                .map(|a| a.value.to_ascii_lowercase())
                .as_deref()
            {
                Some("script") | Some("style") => Some((Loads::Preload, href)),
                _ => Some((Loads::OtherPreload, href)),
            }
        } else {
            None
        }
    }
}

/// Every `<script>` and `<link>` start tag of `html`, outside comments and script bodies.
pub fn tags(html: &[u8]) -> Vec<Tag> {
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
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-')
                .count();
        let name = String::from_utf8_lossy(&html[lt + 1..name_end]).to_ascii_lowercase();
        if name_end == lt + 1 {
            i = lt + 1;
            continue;
        }
        let (attrs, close) = attributes(html, name_end);
        i = (close + 1).min(html.len());
        match name.as_str() {
            "script" => {
                out.push(Tag {
                    name,
                    start: lt,
                    close,
                    attrs,
                });
                // Skip the body: `<link` inside JS is not a tag.
                i = find_ci(html, i, b"</script").unwrap_or(html.len());
            }
            "link" => out.push(Tag {
                name,
                start: lt,
                close,
                attrs,
            }),
            "style" | "textarea" | "title" => {
                let close_tag = format!("</{name}");
                i = find_ci(html, i, close_tag.as_bytes()).unwrap_or(html.len());
            }
            _ => {}
        }
    }
    out
}

/// Attributes from `i` to the end of the tag, and the offset of its `>` (or `/>`).
fn attributes(html: &[u8], mut i: usize) -> (Vec<Attr>, usize) {
    let mut attrs = Vec::new();
    loop {
        while i < html.len() && html[i].is_ascii_whitespace() {
            i += 1;
        }
        match html.get(i) {
            None => return (attrs, html.len()),
            Some(b'>') => return (attrs, i),
            Some(b'/') if html.get(i + 1) == Some(&b'>') => return (attrs, i),
            Some(b'/') => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let start = i;
        while i < html.len() && !html[i].is_ascii_whitespace() && !matches!(html[i], b'=' | b'>') {
            if html[i] == b'/' && html.get(i + 1) == Some(&b'>') {
                break;
            }
            i += 1;
        }
        let name = String::from_utf8_lossy(&html[start..i]).to_ascii_lowercase();
        let mut j = i;
        while j < html.len() && html[j].is_ascii_whitespace() {
            j += 1;
        }
        if html.get(j) != Some(&b'=') {
            attrs.push(Attr {
                name,
                value: String::new(),
                span: start..i,
            });
            continue;
        }
        j += 1;
        while j < html.len() && html[j].is_ascii_whitespace() {
            j += 1;
        }
        let (value, end) = match html.get(j) {
            Some(&q) if q == b'"' || q == b'\'' => {
                let close = memchr::memchr(q, &html[j + 1..]).map_or(html.len(), |p| j + 1 + p);
                (&html[j + 1..close], (close + 1).min(html.len()))
            }
            _ => {
                let end = j + html[j..]
                    .iter()
                    .take_while(|c| !c.is_ascii_whitespace() && **c != b'>')
                    .count();
                (&html[j..end], end)
            }
        };
        attrs.push(Attr {
            name,
            value: String::from_utf8_lossy(value).into_owned(),
            span: start..end,
        });
        i = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_a_page_loads() {
        let html = br#"<!doctype html><html><head>
<!-- <script src="commented.js"></script> -->
<script type="module" crossorigin src="/assets/index-AbCd1234.js"></script>
<link rel="modulepreload" href="/assets/vendor-Ef567890.js">
<link rel=stylesheet href=/assets/index-12345678.css />
<link rel="preload" as="font" href="/f.woff2" crossorigin>
<link rel="icon" href="/favicon.ico">
<script>var s = '<link rel="stylesheet" href="x.css">';</script>
</head></html>"#;
        let found: Vec<(Loads, String)> = tags(html)
            .iter()
            .filter_map(|t| t.loads().map(|(l, u)| (l, u.to_string())))
            .collect();
        assert_eq!(
            found,
            [
                (Loads::Script, "/assets/index-AbCd1234.js".to_string()),
                (Loads::ModulePreload, "/assets/vendor-Ef567890.js".into()),
                (Loads::Style, "/assets/index-12345678.css".into()),
                (Loads::OtherPreload, "/f.woff2".into()),
            ]
        );
        let t = &tags(html)[0];
        assert_eq!(&html[t.close..t.close + 1], b">");
        let cross = t.attr("crossorigin").unwrap();
        assert_eq!(cross.value, "");
        let link = &tags(html)[2];
        assert_eq!(&html[link.close..link.close + 2], b"/>");
    }
}
