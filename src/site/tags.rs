//! The tags of a page that load code and styles: `<script src>`, `<link rel=stylesheet>`,
//! `<link rel=modulepreload>` and `<link rel=preload>`, with their attributes and byte offsets.
//! The size report counts what they name; Subresource Integrity adds attributes to them. The
//! tags come from the one tokenizer, [`markup`], that renaming reads too.

use std::ops::Range;

use super::markup;

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

/// Every `<script>` and `<link>` start tag of `html`, as [`markup::start_tags`] reads them.
pub fn tags(html: &[u8]) -> Vec<Tag> {
    markup::start_tags(html)
        .into_iter()
        .filter(|t| t.name == "script" || t.name == "link")
        .map(|t| Tag {
            attrs: t
                .attrs
                .into_iter()
                .map(|a| Attr {
                    name: a.name,
                    value: String::from_utf8_lossy(&html[a.value]).into_owned(),
                    span: a.span,
                })
                .collect(),
            name: t.name,
            start: t.start,
            close: t.close,
        })
        .collect()
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

    /// What a page loads is what renaming rewrites: every URL a `<script>`/`<link>` loads is one
    /// of the references `fingerprint::html::refs` finds, on tricky markup and on every page the
    /// real frameworks built in fixtures/ (the two once had tokenizers of their own and
    /// disagreed about title/textarea bodies, `:` in names and `/` between attributes).
    #[test]
    fn every_url_a_tag_loads_is_a_reference_renaming_sees() {
        let tricky = br#"<title>a <script src="no.js"></title><svg:use xlink:href=s.svg/>
<link/rel="stylesheet"/href="a.css"><textarea><link rel=stylesheet href=no.css></textarea>
<script type=module src=m.js /><script>'</script >'</script><link rel=modulepreload href=p.js>"#;
        let mut pages = vec![tricky.to_vec()];
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        for e in walkdir::WalkDir::new(fixtures).into_iter().flatten() {
            if e.path().extension().is_some_and(|x| x == "html")
                && !e.path().to_string_lossy().contains("node_modules")
            {
                pages.push(std::fs::read(e.path()).unwrap());
            }
        }
        assert!(pages.len() > 10, "{} pages", pages.len());
        for html in &pages {
            let refs: Vec<&[u8]> = crate::site::fingerprint::html::refs(html)
                .iter()
                .map(|s| &html[s.start..s.end])
                .collect();
            for t in tags(html) {
                if let Some((_, url)) = t.loads() {
                    assert!(refs.contains(&url.as_bytes()), "{url} not a reference");
                }
            }
        }
        let loads: Vec<String> = tags(tricky)
            .iter()
            .filter_map(|t| t.loads().map(|(_, u)| u.to_string()))
            .collect();
        assert_eq!(loads, ["a.css", "m.js", "p.js"]);
    }
}
