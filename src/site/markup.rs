//! The one HTML tokenizer: every reader of a page's tags (references for renaming, what the
//! size report and `verify` count, Subresource Integrity) takes its start tags from here, so a
//! tag one of them sees is a tag all of them see.
//!
//! It follows the WHATWG tokenizer's states where they decide what is a tag: comments
//! (`<!--…-->`, also the abrupt `<!-->` and `<!--->`), doctypes and bogus comments (`<!…>`,
//! `<?…>`), end tags, tag names up to whitespace, `/` or `>` (so `svg:image` and
//! `astro-island` are names), `/` between attributes read as whitespace, attribute names that
//! start with `=`, values quoted, unquoted or missing, and the bodies of the raw-text elements
//! (`script`, `style`, `textarea`, `title`, `xmp`, `iframe`, `noembed`, `noframes`, and
//! `plaintext` to the end), which hold no tags. `noscript` is read as markup: what it names
//! is loaded where scripting is off. Offsets are bytes of the input; values are left as written
//! (character references are not decoded), so a span can be replaced in place.
//!
//! html5gum 0.8.4 was weighed for this and left: its unquoted attribute values' spans start one
//! byte late (`<link rel=stylesheet>` gives 11..20 for the bytes at 10..20), and everything here
//! replaces bytes in place from spans.

use std::ops::Range;

/// One attribute of a start tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// Name, lower case.
    pub name: String,
    /// The value's bytes as written, without quotes (empty at the name's end when there is no
    /// value).
    pub value: Range<usize>,
    /// The whole attribute, name to closing quote.
    pub span: Range<usize>,
}

/// A start tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartTag {
    /// Name, lower case.
    pub name: String,
    /// Offset of `<`.
    pub start: usize,
    /// Offset of the closing `>`, or of the `/` of `/>` (the input's length if the tag never
    /// closes).
    pub close: usize,
    /// Attributes in order (a repeated name is kept: the first is the one a browser reads).
    pub attrs: Vec<Attr>,
    /// The raw text of a raw-text element (`script`, `style`, …): after `>` up to its end tag.
    pub body: Option<Range<usize>>,
}

impl StartTag {
    /// The first attribute named `name` (lower case).
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }
}

/// Elements whose content is text up to their own end tag.
const RAW_TEXT: [&str; 8] = [
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
];

/// Every start tag of `html`, in order, outside comments and raw-text bodies.
pub fn start_tags(html: &[u8]) -> Vec<StartTag> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(lt) = memchr::memchr(b'<', &html[i..]).map(|p| p + i) {
        let next = html.get(lt + 1).copied();
        i = match next {
            Some(b'!') if html[lt..].starts_with(b"<!--") => comment_end(html, lt + 4),
            Some(b'!') | Some(b'?') => to_after_gt(html, lt + 2),
            // An end tag, `</>` or a bogus comment: all end at the next `>`.
            Some(b'/') => to_after_gt(html, lt + 2),
            Some(c) if c.is_ascii_alphabetic() => {
                let tag = start_tag(html, lt);
                let resume = match &tag.body {
                    Some(body) => body.end,
                    None => after_close(html, tag.close),
                };
                out.push(tag);
                resume
            }
            _ => lt + 1,
        };
    }
    out
}

/// The start tag at `lt` (`<` then a letter), with its raw-text body.
fn start_tag(html: &[u8], lt: usize) -> StartTag {
    let name_end = lt
        + 1
        + html[lt + 1..]
            .iter()
            .take_while(|c| !c.is_ascii_whitespace() && !matches!(c, b'/' | b'>'))
            .count();
    let name = String::from_utf8_lossy(&html[lt + 1..name_end]).to_ascii_lowercase();
    let (attrs, close) = attributes(html, name_end);
    let after = after_close(html, close);
    let body = if name == "plaintext" {
        Some(after..html.len())
    } else if RAW_TEXT.contains(&name.as_str()) {
        Some(after..end_tag(html, after, name.as_bytes()))
    } else {
        None
    };
    StartTag {
        name,
        start: lt,
        close,
        attrs,
        body,
    }
}

/// Attributes from `i` to the end of the tag, and the offset of its `>` (or of `/>`'s `/`).
fn attributes(html: &[u8], mut i: usize) -> (Vec<Attr>, usize) {
    let mut attrs = Vec::new();
    loop {
        while i < html.len() && (html[i].is_ascii_whitespace() || html[i] == b'/') {
            if html[i] == b'/' && html.get(i + 1) == Some(&b'>') {
                return (attrs, i);
            }
            i += 1;
        }
        match html.get(i) {
            None => return (attrs, html.len()),
            Some(b'>') => return (attrs, i),
            _ => {}
        }
        let start = i;
        // A name may start with `=`; it ends at whitespace, `/`, `>` or `=`.
        i += 1;
        while i < html.len()
            && !html[i].is_ascii_whitespace()
            && !matches!(html[i], b'/' | b'>' | b'=')
        {
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
                value: i..i,
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
                (j + 1..close, (close + 1).min(html.len()))
            }
            Some(b'>') | None => (j..j, j),
            Some(_) => {
                let end = j + html[j..]
                    .iter()
                    .take_while(|c| !c.is_ascii_whitespace() && **c != b'>')
                    .count();
                (j..end, end)
            }
        };
        attrs.push(Attr {
            name,
            value,
            span: start..end,
        });
        i = end;
    }
}

/// Just past a tag that closes at `close` (its `>`, or the `/` of `/>`).
fn after_close(html: &[u8], close: usize) -> usize {
    (close + 1 + usize::from(html.get(close) == Some(&b'/'))).min(html.len())
}

/// After the comment whose text starts at `from` (just past `<!--`).
fn comment_end(html: &[u8], from: usize) -> usize {
    let rest = &html[from.min(html.len())..];
    if rest.starts_with(b">") {
        return from + 1;
    }
    if rest.starts_with(b"->") {
        return from + 2;
    }
    let ends = [&b"-->"[..], b"--!>"];
    ends.iter()
        .filter_map(|e| memchr::memmem::find(rest, e).map(|p| from + p + e.len()))
        .min()
        .unwrap_or(html.len())
}

/// Just past the next `>` at or after `from` (the end of the input when there is none).
fn to_after_gt(html: &[u8], from: usize) -> usize {
    memchr::memchr(b'>', &html[from.min(html.len())..]).map_or(html.len(), |p| from + p + 1)
}

/// Offset of the end tag `</name` (any case, then whitespace, `/` or `>`) at or after `from`;
/// the input's length when there is none.
fn end_tag(html: &[u8], from: usize, name: &[u8]) -> usize {
    let mut at = from;
    while let Some(p) = find_ci(html, at, b"</") {
        let after = p + 2 + name.len();
        let named = html
            .get(p + 2..after)
            .is_some_and(|n| n.eq_ignore_ascii_case(name));
        let delimited = matches!(html.get(after), Some(c) if c.is_ascii_whitespace() || *c == b'/' || *c == b'>');
        if named && delimited {
            return p;
        }
        at = p + 2;
    }
    html.len()
}

/// Index of `needle` in `hay` at or after `from`, ignoring ASCII case.
pub fn find_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let hay = hay.get(from..)?;
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(html: &str) -> Vec<String> {
        start_tags(html.as_bytes())
            .into_iter()
            .map(|t| t.name)
            .collect()
    }

    #[test]
    fn raw_text_bodies_and_comments_hold_no_tags() {
        let html = "<!doctype html><title><script src=t.js></title>\
            <textarea><link href=a.css></textarea><style>a{}</style>\
            <!-- <script src=c.js> --><!--><img src=a.png><!---><img src=b.png>\
            <script>var s = '<link href=x.css>'; '</scripts>'</script><p>\
            <script>if (a</script >b)</script><i>";
        assert_eq!(
            names(html),
            ["title", "textarea", "style", "img", "img", "script", "p", "script", "i"]
        );
        let tags = start_tags(html.as_bytes());
        let body = tags[5].body.clone().unwrap();
        assert!(html[body].ends_with("'</scripts>'"));
    }

    #[test]
    fn names_attributes_and_spans_as_a_browser_reads_them() {
        let html =
            r#"<svg:image xlink:href=a.png/><img/src="x.png"/alt=y><a =b href = 'c' checked>"#;
        let tags = start_tags(html.as_bytes());
        assert_eq!(tags[0].name, "svg:image");
        let v = &tags[0].attrs[0];
        assert_eq!(
            (v.name.as_str(), &html[v.value.clone()]),
            ("xlink:href", "a.png/")
        );
        assert_eq!(&html[tags[0].close..=tags[0].close], ">");
        let img = &tags[1];
        assert_eq!(img.attrs.len(), 2);
        assert_eq!(&html[img.attr("src").unwrap().value.clone()], "x.png");
        assert_eq!(&html[img.attr("alt").unwrap().value.clone()], "y");
        let a = &tags[2];
        let got: Vec<(&str, &str, &str)> = a
            .attrs
            .iter()
            .map(|x| {
                (
                    x.name.as_str(),
                    &html[x.value.clone()],
                    &html[x.span.clone()],
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("=b", "", "=b"),
                ("href", "c", "href = 'c'"),
                ("checked", "", "checked")
            ]
        );
    }

    #[test]
    fn self_closing_tags_close_at_the_slash() {
        let html = "<link rel=stylesheet href=a.css /><br/>";
        let tags = start_tags(html.as_bytes());
        assert_eq!(&html[tags[0].close..tags[0].close + 2], "/>");
        assert_eq!(tags[1].name, "br");
        assert_eq!(&html[tags[1].close..tags[1].close + 2], "/>");
    }

    #[test]
    fn malformed_input_ends_cleanly() {
        for html in [
            "<",
            "<a",
            "<a href=",
            "<a href='x",
            "<script>x",
            "<!-- x",
            "</",
            "</a",
            "<!",
            "<?x",
            "<a b c=d",
            "<a =",
            "<title>",
            "<a/",
            "<plaintext><b>",
        ] {
            for t in start_tags(html.as_bytes()) {
                assert!(t.start < t.close.max(1) && t.close <= html.len(), "{html}");
                for a in &t.attrs {
                    assert!(
                        a.value.end <= html.len() && a.span.end <= html.len(),
                        "{html}"
                    );
                }
            }
        }
    }
}
