//! Resolving a URL found in a file to an asset of the tree.

use std::collections::HashMap;

/// The assets of a tree by relative path, and the placeholder that may prefix root paths.
#[derive(Debug, Clone)]
pub struct Index {
    by_rel: HashMap<String, usize>,
    prefix: String,
}

impl Index {
    /// An index over `rels` (`/`-separated paths relative to the root); `prefix` is the CDN
    /// placeholder (`EGOVA_CDN`), so `EGOVA_CDN/js/app.js` and `/EGOVA_CDN/js/app.js` name `js/app.js`.
    pub fn new(rels: &[String], prefix: &str) -> Self {
        Index {
            by_rel: rels
                .iter()
                .enumerate()
                .map(|(i, r)| (r.clone(), i))
                .collect(),
            prefix: prefix.to_string(),
        }
    }

    /// The asset id of `rel`.
    pub fn get(&self, rel: &str) -> Option<usize> {
        self.by_rel.get(rel).copied()
    }

    /// The asset `url` names, seen from the file `from`, and the length of the URL's path part
    /// (before `?` / `#`). External (`scheme:`, `//host`), fragment-only and unknown URLs give
    /// None. With `bare_from_root`, a bare relative path that names nothing beside `from` is
    /// also tried from the root (bundler path tables such as Vite's `"assets/x.js"`).
    pub fn resolve(&self, from: &str, url: &[u8], bare_from_root: bool) -> Option<(usize, usize)> {
        let url = std::str::from_utf8(url).ok()?;
        let path_len = url.find(['?', '#']).unwrap_or(url.len());
        let path = &url[..path_len];
        if path.is_empty() || path.starts_with("//") || has_scheme(path) {
            return None;
        }
        let dir = from.rfind('/').map_or("", |p| &from[..p]);
        // The placeholder stands for a base directory: the file's own or one above it (the seed's
        // `mobile-vue/<app>/` layout), nearest first. Bare strings in JS (bundler path tables,
        // webpack's `n.p+"img/x.png"`) are relative to such a base too.
        let candidates: Vec<String> = if let Some(rest) = self.strip_prefix(path) {
            ancestors(dir).map(|base| join(base, rest)).collect()
        } else if let Some(rest) = path.strip_prefix('/') {
            vec![rest.to_string()]
        } else if bare_from_root && !path.starts_with('.') {
            ancestors(dir).map(|base| join(base, path)).collect()
        } else {
            vec![join(dir, path)]
        };
        candidates.iter().find_map(|c| {
            let normal = normalize(c)?;
            self.get(&normal)
                .or_else(|| percent_decode(&normal).and_then(|d| self.get(&d)))
                .map(|id| (id, path_len))
        })
    }

    fn strip_prefix<'a>(&self, path: &'a str) -> Option<&'a str> {
        if self.prefix.is_empty() {
            return None;
        }
        let p = path.strip_prefix('/').unwrap_or(path);
        p.strip_prefix(self.prefix.as_str())?.strip_prefix('/')
    }
}

fn has_scheme(path: &str) -> bool {
    let Some(colon) = path.find(':') else {
        return false;
    };
    let scheme = &path[..colon];
    !scheme.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn join(dir: &str, path: &str) -> String {
    if dir.is_empty() {
        path.to_string()
    } else {
        format!("{dir}/{path}")
    }
}

/// `a/b/c`, `a/b`, `a`, `` (the root).
fn ancestors(dir: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(dir);
    std::iter::from_fn(move || {
        let cur = next?;
        next = if cur.is_empty() {
            None
        } else {
            Some(cur.rfind('/').map_or("", |p| &cur[..p]))
        };
        Some(cur)
    })
}

/// Collapse `.` and `..`; None when `..` climbs above the root.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return None;
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> Index {
        let rels: Vec<String> = [
            "index.html",
            "js/app.js",
            "css/app.css",
            "fonts/i.woff",
            "img/My Logo.png",
            "assets/x.js",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        Index::new(&rels, "EGOVA_CDN")
    }

    #[test]
    fn every_form_resolves() {
        let ix = index();
        fn r<'u>(ix: &Index, from: &str, url: &'u str, bare: bool) -> Option<(usize, &'u str)> {
            ix.resolve(from, url.as_bytes(), bare)
                .map(|(id, len)| (id, &url[..len]))
        }
        assert_eq!(
            r(&ix, "css/app.css", "../fonts/i.woff?v=4.7.0#iefix", false),
            Some((3, "../fonts/i.woff"))
        );
        assert_eq!(
            r(&ix, "index.html", "EGOVA_CDN/js/app.js", false),
            Some((1, "EGOVA_CDN/js/app.js"))
        );
        assert_eq!(
            r(&ix, "index.html", "/EGOVA_CDN/js/app.js", false),
            Some((1, "/EGOVA_CDN/js/app.js"))
        );
        assert_eq!(
            r(&ix, "css/app.css", "/js/app.js", false),
            Some((1, "/js/app.js"))
        );
        assert_eq!(
            r(&ix, "index.html", "./img/My%20Logo.png", false),
            Some((4, "./img/My%20Logo.png"))
        );
        assert_eq!(
            r(&ix, "assets/y.js", "assets/x.js", true),
            Some((5, "assets/x.js"))
        );
        assert_eq!(r(&ix, "assets/y.js", "assets/x.js", false), None);
        // The placeholder as an app base above the file (the seed's mobile-vue/<app>/ layout).
        let apps: Vec<String> = [
            "m/a/index.html",
            "m/a/js/app.js",
            "m/a/css/app.css",
            "m/a/fonts/i.woff",
            "js/app.js",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let apps = Index::new(&apps, "EGOVA_CDN");
        assert_eq!(
            r(&apps, "m/a/index.html", "EGOVA_CDN/js/app.js", false)
                .unwrap()
                .0,
            1
        );
        assert_eq!(
            r(&apps, "m/a/css/app.css", "EGOVA_CDN/fonts/i.woff", false)
                .unwrap()
                .0,
            3
        );
        assert_eq!(
            r(&apps, "m/a/js/app.js", "fonts/i.woff", true).unwrap().0,
            3
        );
        assert_eq!(
            r(&apps, "index.html", "EGOVA_CDN/js/app.js", false)
                .unwrap()
                .0,
            4
        );
        for external in [
            "https://cdn.example.com/js/app.js",
            "//cdn/js/app.js",
            "data:image/png;base64,xx",
            "blob:x",
            "#top",
            "../../../js/app.js",
            "mailto:a@b",
        ] {
            assert_eq!(r(&ix, "css/app.css", external, true), None, "{external}");
        }
    }
}
