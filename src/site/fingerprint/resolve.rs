//! Resolving a URL found in a file to an asset of the tree.

use std::collections::HashMap;

/// The assets of a tree by relative path, the placeholder that may prefix site paths, the
/// tree's place under the site root, and the server URLs rendered references start with.
///
/// A *site path* is a path from the root of the site the CDN serves: what follows the
/// placeholder (`EGOVA_CDN/mobile-vue/pass/assets/x.js`), a rendered server URL
/// (`https://cdn.example.com/mobile-vue/pass/assets/x.js`) or a root-relative URL
/// (`/mobile-vue/pass/assets/x.js`). The tree may be the site root, or live under a deploy
/// sub-path (`mobile-vue/pass`, the *base*): see [`Index::resolve_via`] for the rules.
#[derive(Debug, Clone)]
pub struct Index {
    by_rel: HashMap<String, usize>,
    prefix: String,
    base: Base,
    servers: Vec<String>,
}

/// What is known of the tree's deploy sub-path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Base {
    /// Nothing: a site path resolves from the tree's root, a directory above the file, or by
    /// the longest suffix that names a file of the tree (the sub-path is inferred).
    #[default]
    Infer,
    /// A likely sub-path (the target's key prefix): stripped when a site path starts with it,
    /// otherwise as [`Base::Infer`].
    Hint(String),
    /// Set by the user (`--base-path`, `base_path`): stripped when a site path starts with it;
    /// no suffix is guessed.
    Set(String),
}

impl Base {
    /// The sub-path, without slashes at either end ("" for none).
    pub fn path(&self) -> &str {
        match self {
            Base::Infer => "",
            Base::Hint(p) | Base::Set(p) => p,
        }
    }
}

/// How a reference reached its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// Relative to the file, from the tree root, or a directory above the file.
    Direct,
    /// A site path under the base sub-path.
    Base,
    /// A site path whose leading segments (this sub-path) were dropped to name a file.
    Suffix(String),
}

/// A deploy sub-path as given by a user or a target prefix: slashes trimmed; `..`, `.` and
/// empty segments refused.
pub fn normalize_base(raw: &str) -> std::result::Result<String, String> {
    let trimmed = raw.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if trimmed
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == ".." || s.contains(['?', '#', '\\']))
    {
        return Err(format!(
            "{raw:?} is not a sub-path (segments separated by single slashes, no . or .., e.g. mobile-vue/pass)"
        ));
    }
    Ok(trimmed.to_string())
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
            base: Base::Infer,
            servers: Vec::new(),
        }
    }

    /// The same index with what is known of the deploy sub-path.
    pub fn with_base(mut self, base: Base) -> Self {
        self.base = base;
        self
    }

    /// The same index with server URLs (`https://cdn.example.com`, `https://cdn/static`, or a
    /// relative `.`) that stand for the site root in rendered references.
    pub fn with_servers(mut self, servers: &[String]) -> Self {
        self.servers = servers
            .iter()
            .map(|s| s.trim_end_matches('/').to_string())
            .collect();
        self
    }

    /// What is known of the deploy sub-path.
    pub fn base(&self) -> &Base {
        &self.base
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
        self.resolve_via(from, url, bare_from_root)
            .map(|(id, len, _)| (id, len))
    }

    /// Like [`Index::resolve`], and how the file was reached.
    ///
    /// A site path is tried, in order: under the base sub-path (when it starts with it), from
    /// the tree's root, from each directory above `from` (the placeholder standing for an app's
    /// directory in a tree that holds several), and, unless the base was set by the user, by its
    /// longest suffix that names a file of the tree.
    pub fn resolve_via(
        &self,
        from: &str,
        url: &[u8],
        bare_from_root: bool,
    ) -> Option<(usize, usize, Via)> {
        let url = std::str::from_utf8(url).ok()?;
        let path_len = url.find(['?', '#']).unwrap_or(url.len());
        let path = &url[..path_len];
        if path.is_empty() {
            return None;
        }
        let dir = from.rfind('/').map_or("", |p| &from[..p]);
        if let Some(site) = self.site_path(path) {
            return self
                .site(dir, site, true)
                .map(|(id, via)| (id, path_len, via));
        }
        if path.starts_with("//") || has_scheme(path) {
            return None;
        }
        let found = if let Some(rest) = path.strip_prefix('/') {
            self.site(dir, rest, false)
        } else if bare_from_root && !path.starts_with('.') {
            ancestors(dir)
                .find_map(|base| self.lookup(&join(base, path)))
                .map(|id| (id, Via::Direct))
        } else {
            self.lookup(&join(dir, path)).map(|id| (id, Via::Direct))
        };
        found
            .or_else(|| {
                // A relative server (`.`): `./mobile-vue/pass/x.js` is a rendered site path.
                let site = self
                    .servers
                    .iter()
                    .filter(|s| !s.contains("://"))
                    .find_map(|s| path.strip_prefix(s.as_str())?.strip_prefix('/'))?;
                self.site(dir, site, true)
            })
            .map(|(id, via)| (id, path_len, via))
    }

    /// The site path of a placeholder-prefixed or rendered-server URL path, None otherwise.
    pub fn site_path<'a>(&self, path: &'a str) -> Option<&'a str> {
        if !self.prefix.is_empty() {
            let p = path.strip_prefix('/').unwrap_or(path);
            if let Some(rest) = p
                .strip_prefix(self.prefix.as_str())
                .and_then(|r| r.strip_prefix('/'))
            {
                return Some(rest);
            }
        }
        self.servers
            .iter()
            .filter(|s| s.contains("://"))
            .find_map(|s| path.strip_prefix(s.as_str())?.strip_prefix('/'))
    }

    /// A site path seen from the directory `dir`; `app_dirs` lets the placeholder stand for a
    /// directory above the file (root-relative URLs always start at the site root).
    fn site(&self, dir: &str, site: &str, app_dirs: bool) -> Option<(usize, Via)> {
        let base = self.base.path();
        if !base.is_empty() {
            if let Some(rest) = site.strip_prefix(base).and_then(|r| r.strip_prefix('/')) {
                if let Some(id) = self.lookup(rest) {
                    return Some((id, Via::Base));
                }
            }
        }
        let direct = if app_dirs {
            ancestors(dir).find_map(|d| self.lookup(&join(d, site)))
        } else {
            self.lookup(site)
        };
        if let Some(id) = direct {
            return Some((id, Via::Direct));
        }
        if matches!(self.base, Base::Set(_)) {
            return None;
        }
        let mut rest = site;
        while let Some(p) = rest.find('/') {
            rest = &rest[p + 1..];
            if let Some(id) = self.lookup(rest) {
                let dropped = site[..site.len() - rest.len() - 1].to_string();
                return Some((id, Via::Suffix(dropped)));
            }
        }
        None
    }

    fn lookup(&self, candidate: &str) -> Option<usize> {
        let normal = normalize(candidate)?;
        self.get(&normal)
            .or_else(|| percent_decode(&normal).and_then(|d| self.get(&d)))
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
