//! Subresource Integrity for what a page loads from the CDN: `integrity="sha384-…"` and
//! `crossorigin="anonymous"` on every `<script src>`, `<link rel=stylesheet>`,
//! `<link rel=modulepreload>` and `<link rel=preload as=script|style>` that names a file of the
//! tree, and, for pages that load ES modules, an import map with an `integrity` section for
//! every other script of the tree (lazy chunks reached by `import()`), where the CDN server is
//! an absolute URL. The digest is of the file's plain bytes: a browser checks the decoded body,
//! so gzip or brotli on the way does not change it (a CDN that minifies or "optimises" pages
//! does, and breaks the page).

use base64::Engine as _;
use sha2::{Digest, Sha384};

use super::fingerprint::resolve::Index;
use super::tags::{tags, Loads};

/// `sha384-<base64>` of `bytes`.
pub fn integrity(bytes: &[u8]) -> String {
    format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha384::digest(bytes))
    )
}

/// What adding integrity to a page did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Tags given integrity.
    pub tags: usize,
    /// Entries of the import map added (0: none added).
    pub import_map: usize,
    /// Why an import map could not be added, if one was wanted.
    pub note: Option<String>,
}

/// The inputs of [`apply`] that do not change per page.
pub struct Site<'a> {
    /// Final paths of the tree's files.
    pub keys: &'a [String],
    /// Resolves a page's URLs to `keys` (placeholder, servers, base path).
    pub index: &'a Index,
    /// The absolute CDN server URL the pages were rendered with (`https://cdn.example.com`),
    /// if any: the import map's URLs start with it.
    pub server: Option<&'a str>,
    /// The integrity of a key's bytes (None: unreadable, left alone).
    pub digest: &'a (dyn Fn(&str) -> Option<String> + Sync),
}

/// Add integrity to the page `page` (its bytes `html`); returns the new bytes and what changed.
pub fn apply(page: &str, html: &[u8], site: &Site) -> (Vec<u8>, Applied) {
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut applied = Applied::default();
    let mut named = std::collections::BTreeSet::new();
    let mut modules = false;
    let mut first_module: Option<usize> = None;
    let mut has_map = false;
    for t in tags(html) {
        if t.name == "script" {
            let ty = t.attr("type").map(|a| a.value.to_ascii_lowercase());
            match ty.as_deref() {
                Some("module") => {
                    modules = true;
                    first_module.get_or_insert(t.start);
                }
                Some("importmap") => has_map = true,
                _ => {}
            }
        }
        let Some((loads, url)) = t.loads() else {
            continue;
        };
        if loads == Loads::OtherPreload {
            continue;
        }
        if loads == Loads::ModulePreload {
            // An import map after a module preload is ignored: it goes before both.
            modules = true;
            first_module.get_or_insert(t.start);
        }
        let Some((id, _)) = site.index.resolve(page, url.as_bytes(), false) else {
            continue;
        };
        let key = &site.keys[id];
        let Some(sri) = (site.digest)(key) else {
            continue;
        };
        named.insert(key.clone());
        // Replace an integrity the bundler wrote (it named other bytes); keep a crossorigin.
        let mut insert = format!(" integrity=\"{sri}\"");
        if let Some(old) = t.attr("integrity") {
            edits.push((old.span.start, old.span.end, format!("integrity=\"{sri}\"")));
            insert.clear();
        }
        if t.attr("crossorigin").is_none() {
            insert.push_str(" crossorigin=\"anonymous\"");
        }
        if !insert.is_empty() {
            edits.push((t.close, t.close, insert));
        }
        applied.tags += 1;
    }
    if modules {
        match (has_map, site.server, first_module) {
            (true, _, _) => {
                applied.note = Some(format!(
                    "{page} has its own import map: lazy chunks get no integrity (add an \
                     \"integrity\" section to it)"
                ))
            }
            (false, Some(server), Some(at)) => {
                let map = import_map(site, server, &named);
                if map.1 > 0 {
                    edits.push((at, at, map.0));
                    applied.import_map = map.1;
                }
            }
            (false, None, _) => {
                applied.note = Some(format!(
                    "{page}: lazy chunks get no integrity without an absolute CDN server URL \
                     (the import map's keys are absolute URLs)"
                ))
            }
            _ => {}
        }
    }
    (splice(html, edits), applied)
}

/// `<script type="importmap">{"integrity": {URL: sri, …}}</script>` for every script of the tree
/// not already named by a tag, and how many entries it has.
fn import_map(
    site: &Site,
    server: &str,
    named: &std::collections::BTreeSet<String>,
) -> (String, usize) {
    // Sorted: the page's bytes must not depend on the order the build finished files in.
    let mut entries = std::collections::BTreeMap::new();
    for key in site.keys {
        let script = key.ends_with(".js") || key.ends_with(".mjs");
        if !script || named.contains(key) {
            continue;
        }
        if let Some(sri) = (site.digest)(key) {
            let url = format!("{}/{}", server.trim_end_matches('/'), key);
            entries.insert(url, sri);
        }
    }
    let n = entries.len();
    let body = serde_json::json!({ "integrity": entries });
    // `</` cannot appear in JSON of URLs and base64, but escape it anyway.
    let text = body.to_string().replace("</", "<\\/");
    (format!("<script type=\"importmap\">{text}</script>\n"), n)
}

/// Apply non-overlapping edits `(start, end, replacement)`.
fn splice(html: &[u8], mut edits: Vec<(usize, usize, String)>) -> Vec<u8> {
    edits.sort_by_key(|e| (e.0, e.1));
    let mut out = Vec::with_capacity(html.len() + edits.len() * 100);
    let mut at = 0;
    for (start, end, text) in edits {
        out.extend_from_slice(&html[at..start]);
        out.extend_from_slice(text.as_bytes());
        at = end;
    }
    out.extend_from_slice(&html[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(html: &str, server: Option<&str>) -> (String, Applied) {
        let keys: Vec<String> = [
            "index.html",
            "assets/index-AAAAAAAA.js",
            "assets/vendor-BBBBBBBB.js",
            "assets/lazy-CCCCCCCC.js",
            "assets/index-DDDDDDDD.css",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let index =
            Index::new(&keys, "EGOVA_CDN").with_servers(&["https://cdn.example.com".into()]);
        let digest = |k: &str| Some(integrity(k.as_bytes()));
        let site = Site {
            keys: &keys,
            index: &index,
            server,
            digest: &digest,
        };
        let (out, a) = apply("index.html", html.as_bytes(), &site);
        (String::from_utf8(out).unwrap(), a)
    }

    #[test]
    fn the_digest_is_sha384_base64() {
        // echo -n abc | openssl dgst -sha384 -binary | base64
        assert_eq!(
            integrity(b"abc"),
            "sha384-ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn"
        );
    }

    #[test]
    fn tags_get_integrity_and_lazy_chunks_an_import_map() {
        let page = r#"<head><script type="module" crossorigin src="https://cdn.example.com/assets/index-AAAAAAAA.js"></script>
<link rel="modulepreload" href="https://cdn.example.com/assets/vendor-BBBBBBBB.js">
<link rel="stylesheet" href="https://cdn.example.com/assets/index-DDDDDDDD.css">
<link rel="icon" href="/favicon.ico"><script src="https://other.example.org/x.js"></script></head>"#;
        let (out, a) = run(page, Some("https://cdn.example.com"));
        assert_eq!((a.tags, a.import_map), (3, 1), "{out}");
        let sri = integrity(b"assets/index-AAAAAAAA.js");
        assert!(
            out.contains(&format!(
                r#"<script type="module" crossorigin src="https://cdn.example.com/assets/index-AAAAAAAA.js" integrity="{sri}">"#
            )),
            "{out}"
        );
        assert!(
            out.contains(r#"index-DDDDDDDD.css" integrity="sha384-"#)
                && out.contains(r#"crossorigin="anonymous">"#)
        );
        // The import map comes before the first module script and names only the lazy chunk.
        let map_at = out.find(r#"<script type="importmap">"#).unwrap();
        assert!(map_at < out.find("index-AAAAAAAA.js").unwrap());
        assert!(out.contains(&format!(
            r#"{{"integrity":{{"https://cdn.example.com/assets/lazy-CCCCCCCC.js":"{}"}}}}"#,
            integrity(b"assets/lazy-CCCCCCCC.js")
        )));
        // Foreign scripts are left alone; running twice replaces, never duplicates.
        assert!(out.contains(r#"<script src="https://other.example.org/x.js"></script>"#));
        let twice = run(&out, Some("https://cdn.example.com")).0;
        assert_eq!(twice.matches("integrity=").count(), 3, "{twice}");
    }

    #[test]
    fn classic_scripts_get_no_import_map_and_a_relative_server_says_why() {
        let (out, a) = run(
            r#"<script src="/assets/index-AAAAAAAA.js"></script>"#,
            Some("https://cdn.example.com"),
        );
        assert_eq!((a.tags, a.import_map, a.note), (1, 0, None), "{out}");
        let (_, a) = run(
            r#"<script type="module" src="/assets/index-AAAAAAAA.js"></script>"#,
            None,
        );
        assert!(a.note.unwrap().contains("absolute CDN server"));
    }
}
