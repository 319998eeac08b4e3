//! The size report of a release: per entry page, the bytes a first visit downloads (the page and
//! the scripts, styles and preloads it names, at raw, gzip and brotli sizes and at the encoding
//! browsers get from the targets), the site's total, the change against the previous release
//! (files added, removed and changed; the share of a returning visitor's cached bytes that must
//! be fetched again), and the `[[budget]]` rules a publish must meet before anything is uploaded.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::release::Release;
pub use crate::release::{Sizes, Summary};
use crate::site::manifest::{FileRecord, Manifest};
use crate::site::tags::tags;

/// One entry page's first visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// The page's key.
    pub page: String,
    /// The page and the files it loads, in page order.
    pub files: Vec<String>,
    /// Their bytes.
    pub bytes: Sizes,
    /// Bytes at the encoding browsers get.
    pub wire: u64,
}

/// A file that changed since the previous release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileChange {
    /// Key.
    pub key: String,
    /// Bytes stored for it by the previous release (None: new).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
    /// Its bytes now (None: removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Sizes>,
}

/// An entry page against the previous release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageChange {
    /// The page.
    pub page: String,
    /// Its first visit's wire bytes in the previous release (None: unknown or new).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
    /// Now.
    pub after: u64,
    /// Growth in percent (None when `before` is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub growth_pct: Option<f64>,
}

/// The release against the previous one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// The previous release's id.
    pub previous: String,
    /// Files it did not have.
    pub added: Vec<FileChange>,
    /// Files it had that are gone.
    pub removed: Vec<FileChange>,
    /// Same key, other bytes.
    pub changed: Vec<FileChange>,
    /// Per entry page.
    pub pages: Vec<PageChange>,
    /// Wire bytes of the entry pages' files a returning visitor (who has the previous release
    /// cached) must download again.
    pub redownload: u64,
    /// `redownload` as a share of all the entry pages' wire bytes (0 to 1).
    pub redownload_share: f64,
}

/// The size report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeReport {
    /// The encoding browsers get from the targets: `gzip`, `br` or `identity`.
    pub wire: String,
    /// Entry pages.
    pub pages: Vec<Page>,
    /// Every file of the site (source maps excluded).
    pub site: Sizes,
    /// Against the previous release, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<Delta>,
    /// Budget rules broken (empty: all met, or none set).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub over_budget: Vec<String>,
    /// Milliseconds the report took (reading the pages and the previous record included).
    pub ms: u64,
}

impl SizeReport {
    /// What the release record keeps.
    pub fn summary(&self) -> Summary {
        Summary {
            wire: self.wire.clone(),
            pages: self
                .pages
                .iter()
                .map(|p| (p.page.clone(), p.bytes))
                .collect(),
            site: self.site,
        }
    }
}

/// Measure a built tree: `html` holds each page's bytes; `servers` are the URLs rendered
/// references start with (the CDN server), `prefix` the placeholder; `wire` the encoding
/// browsers get.
pub fn measure(
    manifest: &Manifest,
    html: &BTreeMap<String, Vec<u8>>,
    servers: &[String],
    prefix: &str,
    wire: &str,
) -> SizeReport {
    let keys: Vec<String> = manifest.files.iter().map(|f| f.path.clone()).collect();
    let index = crate::site::fingerprint::resolve::Index::new(&keys, prefix).with_servers(servers);
    let mut pages = Vec::new();
    for (page, bytes) in html {
        let mut files = vec![page.clone()];
        for t in tags(bytes) {
            let Some((_, url)) = t.loads() else {
                continue;
            };
            if let Some((id, _)) = index.resolve(page, url.as_bytes(), false) {
                if !files.contains(&keys[id]) {
                    files.push(keys[id].clone());
                }
            }
        }
        let mut total = Sizes::default();
        for f in &files {
            if let Some(id) = index.get(f) {
                total.add(Sizes::of(&manifest.files[id]));
            }
        }
        pages.push(Page {
            page: page.clone(),
            files,
            wire: total.at(wire),
            bytes: total,
        });
    }
    let mut site = Sizes::default();
    for f in manifest.files.iter().filter(|f| !f.path.ends_with(".map")) {
        site.add(Sizes::of(f));
    }
    SizeReport {
        wire: wire.to_string(),
        pages,
        site,
        delta: None,
        over_budget: Vec::new(),
        ms: 0,
    }
}

/// Compare with the previous release's record.
pub fn compare(report: &mut SizeReport, manifest: &Manifest, previous: &Release) {
    let now: BTreeMap<&str, &FileRecord> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f))
        .collect();
    let same = |f: &FileRecord, o: &crate::release::Object| match o.content_encoding.as_deref() {
        Some(e) => f
            .encodings
            .iter()
            .find(|v| v.encoding == e)
            .is_some_and(|v| v.sha256 == o.sha256),
        None => f.sha256 == o.sha256,
    };
    let (mut added, mut removed, mut changed) = (Vec::new(), Vec::new(), Vec::new());
    let mut unchanged = BTreeSet::new();
    for (key, f) in &now {
        match previous.objects.get(*key) {
            None => added.push(FileChange {
                key: key.to_string(),
                before: None,
                after: Some(Sizes::of(f)),
            }),
            Some(o) if same(f, o) => {
                unchanged.insert(key.to_string());
            }
            Some(o) => changed.push(FileChange {
                key: key.to_string(),
                before: Some(o.size),
                after: Some(Sizes::of(f)),
            }),
        }
    }
    for (key, o) in &previous.objects {
        if !now.contains_key(key.as_str()) && previous.is_site_key(key) {
            removed.push(FileChange {
                key: key.clone(),
                before: Some(o.size),
                after: None,
            });
        }
    }
    let mut first_visit: BTreeMap<&str, u64> = BTreeMap::new();
    for p in &report.pages {
        for f in &p.files {
            if let Some(rec) = now.get(f.as_str()) {
                first_visit.insert(f, Sizes::of(rec).at(&report.wire));
            }
        }
    }
    let all: u64 = first_visit.values().sum();
    let redownload: u64 = first_visit
        .iter()
        .filter(|(k, _)| !unchanged.contains(**k))
        .map(|(_, v)| v)
        .sum();
    let before_pages = previous.size.as_ref().filter(|s| s.wire == report.wire);
    let pages = report
        .pages
        .iter()
        .map(|p| {
            let before = before_pages
                .and_then(|s| s.pages.get(&p.page))
                .map(|b| b.at(&report.wire));
            PageChange {
                page: p.page.clone(),
                before,
                after: p.wire,
                growth_pct: before
                    .filter(|b| *b > 0)
                    .map(|b| (p.wire as f64 - b as f64) * 100.0 / b as f64),
            }
        })
        .collect();
    report.delta = Some(Delta {
        previous: previous.id.clone(),
        added,
        removed,
        changed,
        pages,
        redownload,
        redownload_share: if all == 0 {
            0.0
        } else {
            redownload as f64 / all as f64
        },
    });
}

/// A byte count in cdnpub.toml: an integer, or a string with a unit (`250 kB`, `1.5MB`,
/// `300KiB`; kB/MB are 1000-based, KiB/MiB 1024-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ByteSize(pub u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(ByteSize(n)),
            Raw::S(s) => parse_bytes(&s)
                .map(ByteSize)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// Parse `250 kB`, `1.5MB`, `300KiB`, `1024`.
pub fn parse_bytes(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = (t[..split].trim(), t[split..].trim());
    let n: f64 = num.parse().map_err(|_| {
        format!("{s:?} is not a size (e.g. 250000, \"250 kB\", \"1.5 MB\", \"300 KiB\")")
    })?;
    let mult = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?} (B, kB, MB, KiB, MiB)"
            ))
        }
    };
    Ok((n * mult).round() as u64)
}

/// A `[[budget]]` rule: limits for the entry pages matching `entry`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetRule {
    /// Glob over entry page keys (`index.html`, `**/*.html`).
    pub entry: String,
    /// Most gzip bytes of a first visit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_gzip: Option<ByteSize>,
    /// Most brotli bytes of a first visit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_br: Option<ByteSize>,
    /// Most growth of a first visit's wire bytes against the previous release, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_growth: Option<f64>,
}

/// Check the rules; each broken one named with its numbers. A rule's glob that matches no
/// entry page is an error too (a typo must not switch a budget off).
pub fn check_budget(report: &mut SizeReport, rules: &[BudgetRule]) -> Result<()> {
    let mut broken = Vec::new();
    for r in rules {
        let glob = globset::Glob::new(&r.entry)
            .map_err(|e| Error::Usage(format!("[[budget]] entry {:?}: {e}", r.entry)))?
            .compile_matcher();
        let pages: Vec<&Page> = report
            .pages
            .iter()
            .filter(|p| glob.is_match(&p.page))
            .collect();
        if pages.is_empty() {
            broken.push(format!(
                "[[budget]] entry {:?} matches no entry page (pages: {})",
                r.entry,
                report
                    .pages
                    .iter()
                    .map(|p| p.page.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for p in pages {
            for (name, limit, got) in [
                ("max_gzip", r.max_gzip, p.bytes.gzip),
                ("max_br", r.max_br, p.bytes.br),
            ] {
                if let Some(ByteSize(max)) = limit.filter(|l| got > l.0) {
                    broken.push(format!(
                        "{}: first visit {got} bytes {} > {name} {max} ({} files: {})",
                        p.page,
                        &name[4..],
                        p.files.len(),
                        p.files.join(" ")
                    ));
                }
            }
            let growth = report
                .delta
                .as_ref()
                .and_then(|d| d.pages.iter().find(|c| c.page == p.page))
                .and_then(|c| Some((c.before?, c.growth_pct?)));
            if let (Some(max), Some((before, pct))) = (r.max_growth, growth) {
                if pct > max {
                    broken.push(format!(
                        "{}: first visit grew {pct:.1}% ({before} → {} bytes {}) > max_growth {max}%",
                        p.page, p.wire, report.wire
                    ));
                }
            }
        }
    }
    report.over_budget = broken;
    Ok(())
}

/// The size report of the build in `out` (pages naming `servers` or the placeholder `prefix`,
/// served with `encoding`), against the `previous` release when there is one, with `budget`
/// checked.
pub async fn measure_build(
    out: &std::path::Path,
    servers: &[String],
    prefix: &str,
    encoding: &str,
    previous: Option<&crate::release::Release>,
    budget: &[BudgetRule],
) -> crate::error::Result<SizeReport> {
    let started = std::time::Instant::now();
    let out = out.to_path_buf();
    let (manifest, html) =
        crate::util::tasks::blocking(move || {
            let manifest = crate::site::manifest::Manifest::read(&out)?.unwrap_or_default();
            let mut html = BTreeMap::new();
            for f in manifest.files.iter().filter(|f| {
                crate::site::classify::kind(&f.path) == crate::site::classify::Kind::Html
            }) {
                let path = out.join(&f.path);
                let bytes =
                    std::fs::read(&path).map_err(|e| crate::error::Error::io("read", &path, e))?;
                html.insert(f.path.clone(), bytes);
            }
            Ok((manifest, html))
        })
        .await?;
    let mut size = measure(&manifest, &html, servers, prefix, encoding);
    if let Some(previous) = previous {
        compare(&mut size, &manifest, previous);
    }
    check_budget(&mut size, budget)?;
    size.ms = started.elapsed().as_millis() as u64;
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::manifest::Encoding;

    fn file(path: &str, size: u64, gz: Option<u64>, br: Option<u64>) -> FileRecord {
        let mut encodings = Vec::new();
        for (e, s) in [("br", br), ("gzip", gz)] {
            if let Some(s) = s {
                encodings.push(Encoding {
                    encoding: e.into(),
                    path: format!("{path}.{}", if e == "gzip" { "gz" } else { "br" }),
                    size: s,
                    sha256: format!("{e}-{path}-{size}"),
                });
            }
        }
        FileRecord {
            path: path.into(),
            source: path.into(),
            sha256: format!("raw-{path}-{size}"),
            size,
            content_type: "text/plain".into(),
            immutable: true,
            encodings,
        }
    }

    fn site() -> (Manifest, BTreeMap<String, Vec<u8>>) {
        let m = Manifest {
            files: vec![
                file("assets/app-AAAAAAAA.js", 10_000, Some(3_000), Some(2_500)),
                file("assets/app-AAAAAAAA.js.map", 50_000, None, None),
                file("assets/lazy-BBBBBBBB.js", 4_000, Some(1_500), Some(1_200)),
                file("assets/app-CCCCCCCC.css", 2_000, Some(600), Some(500)),
                file("favicon.ico", 500, None, None),
                file("index.html", 1_000, Some(400), Some(350)),
            ],
            ..Manifest::default()
        };
        let html = BTreeMap::from([(
            "index.html".to_string(),
            br#"<link rel="icon" href="/favicon.ico"><script type="module" src="https://cdn.example.com/assets/app-AAAAAAAA.js"></script><link rel="stylesheet" href="https://cdn.example.com/assets/app-CCCCCCCC.css">"#.to_vec(),
        )]);
        (m, html)
    }

    #[test]
    fn a_first_visit_is_the_page_and_what_it_loads() {
        let (m, html) = site();
        let r = measure(
            &m,
            &html,
            &["https://cdn.example.com".into()],
            "EGOVA_CDN",
            "gzip",
        );
        let p = &r.pages[0];
        assert_eq!(
            p.files,
            [
                "index.html",
                "assets/app-AAAAAAAA.js",
                "assets/app-CCCCCCCC.css"
            ]
        );
        assert_eq!(
            p.bytes,
            Sizes {
                raw: 13_000,
                gzip: 4_000,
                br: 3_350
            }
        );
        assert_eq!(p.wire, 4_000);
        // The site: everything but source maps; the icon has no variant.
        assert_eq!(r.site.raw, 17_500);
        assert_eq!(r.site.br, 5_050);
    }

    #[test]
    fn the_delta_names_files_and_the_returning_visitors_download() {
        let (m, html) = site();
        let mut r = measure(
            &m,
            &html,
            &["https://cdn.example.com".into()],
            "EGOVA_CDN",
            "gzip",
        );
        let first = r.summary();
        // The previous release: same CSS (stored gzip), an older app chunk, a file since removed.
        let obj = |sha: &str, size| crate::release::Object {
            sha256: sha.into(),
            size,
            content_type: "t".into(),
            cache_control: "c".into(),
            content_encoding: Some("gzip".into()),
        };
        let mut prev = Release::new(
            ("20260101T000000Z-aaaaaaaa".into(), "t".into()),
            BTreeMap::from([
                (
                    "assets/app-CCCCCCCC.css".into(),
                    obj("gzip-assets/app-CCCCCCCC.css-2000", 600),
                ),
                ("assets/app-OLDOLDOL.js".into(), obj("x", 2_000)),
                ("index.html".into(), obj("old", 380)),
                ("_cdnpub/releases/x.json".into(), obj("r", 10)),
            ]),
            vec![],
            vec![],
        );
        prev.size = Some(Summary {
            pages: BTreeMap::from([(
                "index.html".into(),
                Sizes {
                    raw: 1,
                    gzip: 3_200,
                    br: 1,
                },
            )]),
            ..first
        });
        compare(&mut r, &m, &prev);
        let d = r.delta.as_ref().unwrap();
        let keys = |v: &[FileChange]| v.iter().map(|c| c.key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&d.removed), ["assets/app-OLDOLDOL.js"]);
        assert_eq!(keys(&d.changed), ["index.html"]);
        assert!(keys(&d.added).contains(&"assets/app-AAAAAAAA.js".to_string()));
        // index.html (400) and app.js (3000) are new to a returning visitor; the CSS (600) is cached.
        assert_eq!(d.redownload, 3_400);
        assert!((d.redownload_share - 3_400.0 / 4_000.0).abs() < 1e-9);
        assert_eq!(d.pages[0].before, Some(3_200));
        assert!((d.pages[0].growth_pct.unwrap() - 25.0).abs() < 1e-9);
        // Budgets: 25% growth breaks max_growth 10; gzip 4000 > 3999.
        let rules = vec![BudgetRule {
            entry: "*.html".into(),
            max_gzip: Some(ByteSize(3_999)),
            max_br: Some(ByteSize(10_000)),
            max_growth: Some(10.0),
        }];
        check_budget(&mut r, &rules).unwrap();
        assert_eq!(r.over_budget.len(), 2, "{:?}", r.over_budget);
        assert!(r.over_budget[0].contains("4000") && r.over_budget[0].contains("max_gzip 3999"));
        assert!(r.over_budget[1].contains("25.0%") && r.over_budget[1].contains("3200"));
        // A glob that matches nothing is itself a broken rule.
        let none = vec![BudgetRule {
            entry: "admin/*.html".into(),
            max_gzip: None,
            max_br: None,
            max_growth: None,
        }];
        check_budget(&mut r, &none).unwrap();
        assert!(r.over_budget[0].contains("matches no entry page"));
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_bytes("250 kB"), Ok(250_000));
        assert_eq!(parse_bytes("1.5MB"), Ok(1_500_000));
        assert_eq!(parse_bytes("300KiB"), Ok(307_200));
        assert_eq!(parse_bytes("1024"), Ok(1024));
        assert!(parse_bytes("big").is_err() && parse_bytes("3 parsecs").is_err());
    }
}
