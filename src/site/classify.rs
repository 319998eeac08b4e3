//! What kind of file an asset is: how to scan it for references, whether it keeps its name,
//! whether a bundler already hashed its name, its Content-Type, and whether it compresses.

use std::path::Path;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use regex::Regex;

use crate::error::{Error, Result};

/// Files that keep their names by default: entry points and well-known fixed URLs.
pub const DEFAULT_KEEP: &[&str] = &[
    "**/*.html",
    "**/*.htm",
    "**/favicon.ico",
    "**/robots.txt",
    "**/manifest.webmanifest",
    "**/manifest.json",
    "**/browserconfig.xml",
    "**/sitemap*.xml",
    "**/sw.js",
    "**/service-worker.js",
    "**/*-sw.js",
    "**/.well-known/**",
    "**/apple-touch-icon*.png",
    "**/CNAME",
    // Data a runtime fetches by a name it knows (Nuxt's `_payload.json` and
    // `_nuxt/builds/latest.json`, SvelteKit's `_app/version.json` and `__data.json`, Next's
    // `index.txt` route payloads): bundlers inline the JSON code imports, so what is left in the
    // output is fetched by name.
    "**/*.json",
    "**/*.txt",
];

/// Directories whose every file a framework named after its content (SvelteKit says so in
/// the name; Next.js puts only content-hashed chunks, styles and media there).
pub const DEFAULT_HASHED_DIRS: &[&str] = &[
    "**/_app/immutable/**",
    "**/_next/static/chunks/**",
    "**/_next/static/css/**",
    "**/_next/static/media/**",
];

/// Names a bundler already content-hashed, a hash after `-` or `.` or as the whole stem:
/// 8 base64url characters (Vite, Rollup, esbuild and Angular `name-Hash8.ext`, Astro, Nuxt and
/// SvelteKit `name.Hash8.ext` and `Hash8.ext`; not a word: see [`Naming::bundler_hashed`]), or
/// 8-64 hex digits (webpack `name.hex8.ext`, Next.js `name-hex16.ext`, Turbopack `hex16.ext`).
pub const DEFAULT_HASHED_PATTERN: &str =
    r"(?:^|[-.])(?:[A-Za-z0-9_-]{8}|[0-9a-f]{8,64})(?:\.[A-Za-z0-9]+)+$";

/// How an asset's references are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// HTML document.
    Html,
    /// Stylesheet.
    Css,
    /// JavaScript module or script.
    Js,
    /// Source map (JSON).
    Map,
    /// Anything else: no references.
    Other,
}

/// The kind of a file by its name.
pub fn kind(name: &str) -> Kind {
    match extension(name).as_str() {
        "html" | "htm" => Kind::Html,
        "css" => Kind::Css,
        "js" | "mjs" | "cjs" => Kind::Js,
        "map" => Kind::Map,
        _ => Kind::Other,
    }
}

fn extension(name: &str) -> String {
    Path::new(name)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Content-Type for a file name, with `charset=utf-8` for text.
pub fn content_type(name: &str) -> String {
    let mime = match extension(name).as_str() {
        "map" => "application/json".to_string(),
        "webmanifest" => "application/manifest+json".to_string(),
        "mjs" | "cjs" => "text/javascript".to_string(),
        _ => mime_guess::from_path(name)
            .first_or_octet_stream()
            .essence_str()
            .to_string(),
    };
    let texty = mime.starts_with("text/")
        || matches!(
            mime.as_str(),
            "application/javascript"
                | "application/json"
                | "application/manifest+json"
                | "image/svg+xml"
                | "application/xml"
        );
    if texty {
        format!("{mime}; charset=utf-8")
    } else {
        mime
    }
}

/// True for types worth precompressing (text, JS, CSS, SVG, JSON, wasm, uncompressed fonts).
pub fn compressible(name: &str) -> bool {
    COMPRESSIBLE.contains(&extension(name).as_str())
}

/// Extensions (lower case) of the files that get .gz/.br variants. The CloudFront Function in
/// contrib/cloudfront/encoding.js carries the same list (tests/it/contrib.rs compares them).
pub const COMPRESSIBLE: &[&str] = &[
    "html",
    "htm",
    "css",
    "js",
    "mjs",
    "cjs",
    "map",
    "json",
    "webmanifest",
    "svg",
    "xml",
    "txt",
    "md",
    "csv",
    "wasm",
    "ttf",
    "otf",
    "eot",
    "ico",
    "bmp",
    "glsl",
    "vert",
    "frag",
    "less",
    "scss",
    "ts",
];

/// A set of path globs (`*` stays within a directory, `**` crosses them); an invalid one is a
/// usage error naming it as `what`.
pub fn glob_set(patterns: &[String], what: &str) -> Result<GlobSet> {
    let mut set = GlobSetBuilder::new();
    for g in patterns {
        set.add(
            GlobBuilder::new(g)
                .literal_separator(true)
                .build()
                .map_err(|e| Error::Usage(format!("{what} {g:?} is not valid: {e}")))?,
        );
    }
    set.build()
        .map_err(|e| Error::Usage(format!("{what}s: {e}")))
}

/// Naming rules for one build.
#[derive(Debug, Clone)]
pub struct Naming {
    keep: GlobSet,
    hashed: Regex,
    hashed_dirs: GlobSet,
}

impl Naming {
    /// Rules from keep-name globs and the bundler-hash pattern (regex on the file name).
    pub fn new(keep: &[String], hashed_pattern: &str) -> Result<Self> {
        let keep = glob_set(keep, "keep-name glob")?;
        let hashed = Regex::new(hashed_pattern).map_err(|e| {
            Error::Usage(format!(
                "--hashed-pattern {hashed_pattern:?} is not a valid regex: {e}"
            ))
        })?;
        let dirs: Vec<String> = DEFAULT_HASHED_DIRS.iter().map(|s| s.to_string()).collect();
        let hashed_dirs = glob_set(&dirs, "hashed directory glob")?;
        Ok(Naming {
            keep,
            hashed,
            hashed_dirs,
        })
    }

    /// True when `rel` keeps its name (HTML, fixed URLs, user globs).
    pub fn keeps_name(&self, rel: &str) -> bool {
        kind(rel) == Kind::Html || self.keep.is_match(rel)
    }

    /// True when a bundler already put a content hash in the file name (or the file is in a
    /// directory a framework fills with content-hashed files only).
    ///
    /// An 8-character base64url hash is told from a word: `validate` (only lower-case
    /// letters) and `jquery-1` (a dash and no capital) are words; `ty7liqwf` and `DlAUqK2U`
    /// are hashes.
    pub fn bundler_hashed(&self, rel: &str) -> bool {
        if self.hashed_dirs.is_match(rel) && kind(rel) != Kind::Html {
            return true;
        }
        let name = file_name(rel);
        self.hashed.find(name).is_some_and(|m| {
            let tag = name[m.start()..].trim_start_matches(['-', '.']);
            let hash = tag.split('.').next().unwrap_or_default();
            hash.len() != 8 || hash.bytes().all(|b| b.is_ascii_hexdigit()) || !is_word(hash)
        })
    }
}

/// An 8-character name piece that reads as a word, not a hash.
fn is_word(piece: &str) -> bool {
    let lower = piece.bytes().all(|b| b.is_ascii_lowercase());
    let dashed = piece.contains('-') && !piece.bytes().any(|b| b.is_ascii_uppercase());
    lower || dashed
}

/// Where the content hash goes in a file name: before the last extension (`app.js` →
/// `app.HASH.js`), or before `.js.map` for a source map.
pub fn stem_len(name: &str) -> usize {
    let base = name.strip_suffix(".map").unwrap_or(name);
    match base.rfind('.') {
        Some(dot) if dot > 0 => dot,
        _ => base.len(),
    }
}

/// The last component of a `/`-separated path.
pub fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naming() -> Naming {
        let keep: Vec<String> = DEFAULT_KEEP.iter().map(|s| s.to_string()).collect();
        Naming::new(&keep, DEFAULT_HASHED_PATTERN).unwrap()
    }

    #[test]
    fn bundler_hashes_are_recognised() {
        let n = naming();
        for hashed in [
            "assets/index-BXc8f2aK.js",
            "assets/logo-C1-eG4Xp.svg",
            "js/app.3f9a1c2b.js",
            "css/chunk-vendors.0123456789abcdef.css",
            "assets/index-ty7liqwf.css",
            // Nuxt, SvelteKit: the whole stem; Astro, Nuxt CSS: after a dot.
            "_nuxt/DlAUqK2U.js",
            "_app/immutable/chunks/Dx8Kq1ab.js",
            "_astro/Lazy.C1a2B3c4.js",
            "_nuxt/entry.Cz5Ff3Sd.css",
            // Next.js (webpack): 16 hex after a dash; Turbopack: a hex stem.
            "_next/static/chunks/app/page-0123456789abcdef.js",
            "_next/static/chunks/0a1b2c3d4e5f6a7b.js",
            "_next/static/chunks/[turbopack]_runtime.js",
            // Angular's application builder.
            "chunk-ABCD2345.js",
        ] {
            assert!(n.bundler_hashed(hashed), "{hashed}");
        }
        for plain in [
            "js/app.js",
            "js/chunk-vendors.js",
            "img/vue-carousel.png",
            "fonts/element-icons.woff",
            "app.min.js",
            "jquery.validate.js",
            "jquery-1.js",
            "polyfill.js",
            "fa-solid-900.woff2",
            "bootstrap.bundle.min.js",
            "_nuxt/builds/latest.json",
            "_app/version.json",
        ] {
            assert!(!n.bundler_hashed(plain), "{plain}");
        }
    }

    #[test]
    fn fixed_names_are_kept() {
        let n = naming();
        for kept in [
            "index.html",
            "a/b/page.htm",
            "favicon.ico",
            "robots.txt",
            "sw.js",
            "x/manifest.webmanifest",
            "_payload.json",
            "about/index.txt",
        ] {
            assert!(n.keeps_name(kept), "{kept}");
        }
        assert!(!n.keeps_name("js/app.js"));
    }

    #[test]
    fn hash_position_and_types() {
        assert_eq!(stem_len("app.js"), 3);
        assert_eq!(stem_len("app.min.js"), 7);
        assert_eq!(stem_len("app.js.map"), 3);
        assert_eq!(stem_len("LICENSE"), 7);
        assert_eq!(content_type("a.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("a.png"), "image/png");
        assert_eq!(content_type("a.svg"), "image/svg+xml; charset=utf-8");
        assert!(compressible("a.ttf") && !compressible("a.woff2") && !compressible("a.png"));
    }
}
