//! Every mainstream framework, as its own CLI builds it (fixtures/frameworks: Nuxt 3, Next.js
//! with Turbopack and with webpack, Astro, SvelteKit, Angular, Vite multi-page, a container tree
//! of two apps), each at its `mobile-vue/<app>/` sub-path, in the two ways a team ships it:
//! - `cdnpub publish` with no option beyond what the framework forces (SvelteKit's absolute
//!   asset URL: `--prefix https://EGOVA_CDN`) to the in-process S3 server; an nginx CDN serves
//!   the bucket, an nginx origin the built tree;
//! - `cdnpub rewrite` at container start (twice, as restarts do) on the framework's own output
//!   in the origin's root, the CDN nginx in front of the origin.
//!
//! Headless Chromium loads every app's page through the origin: zero failed requests, no page
//! error, the lazy part renders with its CSS image from the CDN, a client-side navigation keeps
//! the document, and every script and stylesheet comes from the CDN.
//!
//! Needs nginx, Debian's `chromium` and npm's `playwright-core` (see bundlers_e2e.rs); under
//! CI=true a missing one fails the test.

use crate::bundlers_e2e::{playwright, visit};
use crate::common;

use std::fs;
use std::path::Path;

use common::nginx::{self, Nginx};
use common::s3::S3Server;
use common::{cdnpub, copy_tree, fixtures};
use serde_json::Value;

/// One framework fixture.
struct App {
    /// Its directory under fixtures/frameworks.
    dist: &'static str,
    /// Where its tree sits under the site root ("" for a container tree that holds the apps).
    mount: &'static str,
    /// The apps' sub-paths whose pages are visited.
    pages: &'static [&'static str],
    /// The placeholder, when the framework forces an absolute one.
    prefix: Option<&'static str>,
    /// It has a client-side router link (`#nav` → `#about`).
    nav: bool,
}

const APPS: [App; 8] = [
    App {
        dist: "nuxt/dist",
        mount: "mobile-vue/nuxt",
        pages: &["mobile-vue/nuxt"],
        prefix: None,
        nav: true,
    },
    App {
        dist: "next/dist-turbopack",
        mount: "mobile-vue/next",
        pages: &["mobile-vue/next"],
        prefix: None,
        nav: true,
    },
    App {
        dist: "next/dist-webpack",
        mount: "mobile-vue/next",
        pages: &["mobile-vue/next"],
        prefix: None,
        nav: true,
    },
    App {
        dist: "astro/dist",
        mount: "mobile-vue/astro",
        pages: &["mobile-vue/astro"],
        prefix: None,
        nav: true,
    },
    App {
        dist: "sveltekit/dist",
        mount: "mobile-vue/svelte",
        pages: &["mobile-vue/svelte"],
        prefix: Some("https://EGOVA_CDN"),
        nav: true,
    },
    App {
        dist: "angular/dist",
        mount: "mobile-vue/ng",
        pages: &["mobile-vue/ng"],
        prefix: None,
        nav: true,
    },
    App {
        dist: "vite-mpa/dist",
        mount: "mobile-vue/mpa",
        pages: &["mobile-vue/mpa"],
        prefix: None,
        nav: false,
    },
    App {
        dist: "container/dist",
        mount: "",
        pages: &["mobile-vue/a", "mobile-vue/b"],
        prefix: None,
        nav: false,
    },
];

/// nginx serving a site root: directories answer with their index.html, and a route without
/// its trailing slash (Angular's and Nuxt's links) finds its page.
const ORIGIN: &str = "location / { try_files $uri $uri/index.html $uri.html =404; }";

fn join(a: &str, b: &str) -> String {
    [a, b]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/")
}

/// Visit every page of `app` on `origin`, assets expected from `cdn_base`; `how` names the flow.
fn check_pages(app: &App, origin: &Nginx, cdn_base: &str, modules: &Path, how: &str) {
    for sub in app.pages {
        let page = origin.url(&format!("/{sub}/"));
        let seen = visit(modules, &page);
        let ctx = format!("{} ({how}) {page}: {seen}", app.dist);
        assert_eq!(seen["failed"].as_array().unwrap().len(), 0, "{ctx}");
        let errors: Vec<&Value> = seen["console"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| {
                let m = m.as_str().unwrap_or_default();
                m.starts_with("pageerror") || m.starts_with("error") || m.starts_with("visit:")
            })
            .collect();
        assert!(errors.is_empty(), "page errors: {ctx}");
        assert_eq!(seen["lazy"], true, "{ctx}");
        if app.nav {
            assert_eq!(seen["about"], true, "{ctx}");
            assert_eq!(seen["clientNav"], true, "the document was reloaded: {ctx}");
        }
        let bg = seen["lazyBackground"].as_str().unwrap_or_default();
        assert!(bg.contains(cdn_base), "the lazy part's CSS image: {ctx}");
        let requests = seen["requests"].as_array().unwrap();
        let mut from_cdn = 0;
        for r in requests {
            let (url, status) = (r["url"].as_str().unwrap(), r["status"].as_u64().unwrap());
            assert!(
                (200..400).contains(&status),
                "{url} answered {status}: {ctx}"
            );
            if matches!(r["type"].as_str(), Some("script" | "stylesheet")) {
                assert!(
                    url.starts_with(&format!("{cdn_base}/{sub}/")),
                    "{url} is not from the CDN: {ctx}"
                );
                from_cdn += 1;
            }
        }
        assert!(from_cdn >= 2, "scripts and styles from the CDN: {ctx}");
    }
}

/// The built tree keeps the promises of "rename only what is provably safe".
fn check_names(app: &App, out: &Path, cdn_base: &str) {
    let m = common::manifest(out);
    for f in m["files"].as_array().unwrap() {
        let (path, source) = (f["path"].as_str().unwrap(), f["source"].as_str().unwrap());
        let immutable = f["immutable"] == true;
        // Data a runtime fetches by its name: kept, revalidated.
        if source.ends_with(".json") || source.ends_with(".txt") {
            assert_eq!(path, source, "{}: {source} keeps its name", app.dist);
            assert!(!immutable, "{}: {source} is revalidated", app.dist);
        }
        // Bytes that follow the server are immutable only under a name that follows it too.
        let bytes = fs::read(out.join(path)).unwrap();
        if immutable && common::count(&bytes, cdn_base) > 0 {
            assert_ne!(
                path, source,
                "{}: {source} holds the server and is immutable under the bundler's name",
                app.dist
            );
        }
        // What the bundler named keeps that name in the final one.
        let base = source.strip_suffix(".map").unwrap_or(source);
        let stem = base.rsplit_once('.').map_or(base, |(s, _)| s);
        assert!(path.starts_with(stem), "{}: {source} → {path}", app.dist);
    }
    // No placeholder is left in anything published.
    for f in m["files"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap();
        let bytes = fs::read(out.join(path)).unwrap();
        assert_eq!(
            common::count(&bytes, "EGOVA_CDN"),
            0,
            "{}: {path} still holds the placeholder",
            app.dist
        );
    }
}

fn publish_flow(app: &App, s3: &S3Server, bin: &str, modules: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let name = app.dist.replace('/', "-");
    let prefix = s3.unique_prefix(&name);
    let cdn = Nginx::cdn_for_bucket(bin, tmp.path(), s3, &prefix);
    let cdn_base = cdn.url("");
    let out = tmp.path().join("out");
    let target = format!("s3://{}/{}", s3.bucket, join(&prefix, app.mount));
    let mut cmd = cdnpub(tmp.path());
    cmd.arg("publish")
        .arg(fixtures().join("frameworks").join(app.dist))
        .args(["--server", &cdn_base, "--to", &target])
        .args([
            "--endpoint",
            &s3.endpoint,
            "--path-style",
            "--region",
            "us-east-1",
        ])
        .args(["--no-purge", "--no-prefetch", "--out"])
        .arg(&out)
        .env("AWS_ACCESS_KEY_ID", &s3.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key);
    if let Some(p) = app.prefix {
        cmd.args(["--prefix", p]);
    }
    let a = cmd.assert().success();
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert!(warnings.is_empty(), "{}: {stderr}", app.dist);
    check_names(app, &out, &cdn_base);
    // The origin holds the built tree (pages, and the payloads routers fetch from it).
    let origin_root = tmp.path().join("origin");
    copy_tree(&out, &origin_root.join(app.mount));
    let origin = Nginx::start(bin, &origin_root, ORIGIN);
    check_pages(app, &origin, &cdn_base, modules, "publish");
}

fn rewrite_flow(app: &App, bin: &str, modules: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("html");
    copy_tree(
        &fixtures().join("frameworks").join(app.dist),
        &root.join(app.mount),
    );
    let origin = Nginx::start(bin, &root, ORIGIN);
    let cdn = Nginx::start(
        bin,
        tmp.path(),
        &format!(
            "location / {{ proxy_pass http://127.0.0.1:{}; \
             add_header Access-Control-Allow-Origin * always; }}",
            origin.port
        ),
    );
    let cdn_base = cdn.url("");
    let globs: Vec<String> = ["html", "js", "css", "json", "txt", "svg"]
        .iter()
        .map(|ext| join(app.mount, &format!("**/*.{ext}")))
        .collect();
    // A restart renders again from the kept templates: the same files.
    for _start in 0..2 {
        let mut cmd = cdnpub(tmp.path());
        cmd.args(["rewrite", "--root"])
            .arg(&root)
            .arg("--state-dir")
            .arg(tmp.path().join("state"))
            .args(["--server", &cdn_base])
            .args(&globs);
        if let Some(p) = app.prefix {
            cmd.args(["--prefix", p]);
        }
        cmd.assert().success();
    }
    check_pages(app, &origin, &cdn_base, modules, "rewrite");
}

#[test]
fn every_framework_publishes_and_rewrites_into_a_working_site() {
    let Some(bin) = nginx::binary() else { return };
    let Some(modules) = playwright() else { return };
    let s3 = S3Server::start();
    if s3.requests().is_none() {
        eprintln!("SKIPPED: needs the in-process S3 server (anonymous reads through nginx)");
        return;
    }
    for app in &APPS {
        publish_flow(app, &s3, bin, &modules);
        rewrite_flow(app, bin, &modules);
    }
}

/// A page-less tree of vendor libraries (bootstrap, bootstrap-icons, font-awesome, chart.js)
/// publishes with no flag: nothing renamed (pages elsewhere name these files), nothing cached
/// as immutable (no name says its content), fonts found from the CSS untouched.
#[test]
fn a_vendor_tree_with_no_page_publishes_with_no_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixtures().join("frameworks/vendor/dist");
    let out = tmp.path().join("out");
    cdnpub(tmp.path())
        .arg("publish")
        .arg(&src)
        .args(["--server", "https://cdn.example.com", "--to", "site"])
        .args(["--no-purge", "--no-prefetch", "--out"])
        .arg(&out)
        .assert()
        .success();
    let m = common::manifest(&out);
    let files = m["files"].as_array().unwrap();
    assert!(files.len() >= 20);
    assert!(m["renamed"].as_object().unwrap().is_empty(), "{m}");
    assert!(files.iter().all(|f| f["immutable"] == false));
    for f in files {
        let path = f["path"].as_str().unwrap();
        assert_eq!(
            fs::read(tmp.path().join("site").join(path)).unwrap(),
            fs::read(src.join(path)).unwrap(),
            "{path} is published as the package ships it"
        );
    }
}
