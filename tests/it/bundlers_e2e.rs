//! Real bundlers, a real browser: each app of fixtures/bundlers (vue-cli 5, Vite + Vue with a
//! worker, Vite + React with plugin-legacy, esbuild), built at its `mobile-vue/<app>/` base, is
//! published to the in-process S3 server; one nginx serves the bucket as the CDN, a second the
//! rendered pages as the origin; headless Chromium loads the page, opens the lazy route, and
//! the test asserts: zero failed requests, every script, style and image from the CDN, the lazy
//! route rendered with its CSS image, the worker answered. Every app is published with
//! Subresource Integrity (`--sri`), so this also shows integrity does not break a real page.
//!
//! Needs Debian's `chromium` and npm's `playwright-core` (.ci/run installs both into
//! ~/.cache/cdnpub-ci/browser; CDNPUB_PLAYWRIGHT_DIR overrides). Without them it prints SKIPPED;
//! under CI=true it fails.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::nginx::{self, Nginx};
use common::s3::S3Server;
use common::{cdnpub, fixtures};
use serde_json::Value;

/// Where playwright-core is installed (its node_modules), if it is.
pub(crate) fn playwright() -> Option<PathBuf> {
    let dir = std::env::var_os("CDNPUB_PLAYWRIGHT_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/cdnpub-ci/browser/node_modules"))
        })?;
    let ok = dir.join("playwright-core/package.json").is_file()
        && Path::new("/usr/bin/chromium").exists();
    if !ok {
        assert!(
            !common::in_ci(),
            "chromium and playwright-core are required under CI (.ci/run installs them)"
        );
        eprintln!(
            "SKIPPED: needs Debian's chromium and playwright-core in {} (see .ci/run); the browser test did not run",
            dir.display()
        );
        return None;
    }
    Some(dir)
}

/// Load `url` in Chromium through tests/browser/visit.mjs.
pub(crate) fn visit(modules: &Path, url: &str) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/visit.mjs");
    let out = Command::new("node")
        .arg(script)
        .arg(url)
        .env("PLAYWRIGHT_CORE", format!("{}/", modules.display()))
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "visit.mjs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "visit.mjs output ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

struct App {
    dir: &'static str,
    sub: &'static str,
    extra: &'static [&'static str],
    worker: bool,
}

const APPS: [App; 4] = [
    App {
        dir: "vue-cli5",
        sub: "mobile-vue/wp",
        // The sub-path given, not inferred.
        extra: &["--base-path", "mobile-vue/wp"],
        worker: false,
    },
    App {
        dir: "vite-vue",
        sub: "mobile-vue/pass",
        extra: &[],
        worker: true,
    },
    App {
        dir: "vite-react-legacy",
        sub: "mobile-vue/react",
        extra: &[],
        worker: false,
    },
    App {
        dir: "esbuild",
        sub: "mobile-vue/es",
        extra: &[],
        worker: false,
    },
];

/// Checks one app end to end; returns how many of its scripts and styles came gzip.
fn check_app(app: &App, s3: &S3Server, bin: &str, modules: &Path) -> usize {
    let tmp = tempfile::tempdir().unwrap();
    let prefix = s3.unique_prefix(app.dir);
    let cdn = Nginx::cdn_for_bucket(bin, tmp.path(), s3, &prefix);
    let origin_root = tmp.path().join("origin");
    let out = tmp.path().join("out");
    fs::create_dir_all(origin_root.join(app.sub)).unwrap();
    let origin = Nginx::start(bin, &origin_root, "");
    let cdn_base = cdn.url("");
    let target = format!("s3://{}/{prefix}/{}", s3.bucket, app.sub);
    let a = cdnpub(tmp.path())
        .arg("publish")
        .arg(fixtures().join("bundlers").join(app.dir).join("dist"))
        .args([
            "--server",
            &cdn_base,
            "--to",
            &target,
            "--endpoint",
            &s3.endpoint,
        ])
        .args([
            "--path-style",
            "--region",
            "us-east-1",
            "--no-purge",
            "--no-prefetch",
            "--sri",
        ])
        .arg("--out")
        .arg(&out)
        .args(app.extra)
        .env("AWS_ACCESS_KEY_ID", &s3.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    // The only warning is the one every integrity build gives (the CDN's duties).
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("warning") && !l.contains("Subresource Integrity is on"))
        .collect();
    assert!(warnings.is_empty(), "{}: {stderr}", app.dir);
    let page_html = fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        page_html.contains("integrity=\"sha384-"),
        "{}: the page carries integrity: {page_html}",
        app.dir
    );
    // The built tree passes the check on its own, too.
    cdnpub(tmp.path())
        .args(["build", "--check"])
        .arg(&out)
        .args(["--server", &cdn_base])
        .assert()
        .success()
        .stdout(predicates::str::contains(format!(
            "deploy sub-path {}",
            app.sub
        )));
    fs::copy(
        out.join("index.html"),
        origin_root.join(app.sub).join("index.html"),
    )
    .unwrap();
    let page = origin.url(&format!("/{}/index.html", app.sub));
    let seen = visit(modules, &page);
    let ctx = format!("{}: {seen}", app.dir);
    assert_eq!(seen["failed"].as_array().unwrap().len(), 0, "{ctx}");
    assert_eq!(seen["lazy"], true, "{ctx}");
    let requests = seen["requests"].as_array().unwrap();
    for r in requests {
        let (url, status, kind) = (
            r["url"].as_str().unwrap(),
            r["status"].as_u64().unwrap(),
            r["type"].as_str().unwrap(),
        );
        assert!(
            (200..400).contains(&status),
            "{url} answered {status}: {ctx}"
        );
        // The page itself, and the blob the page makes to start the worker.
        if url == page || url.starts_with("blob:") {
            continue;
        }
        if matches!(
            kind,
            "script" | "stylesheet" | "image" | "font" | "fetch" | "other"
        ) {
            assert!(
                url.starts_with(&format!("{cdn_base}/{}/", app.sub)),
                "{kind} {url} is not from the CDN: {ctx}"
            );
        }
    }
    let from_cdn = |kind: &str| {
        requests
            .iter()
            .filter(|r| r["type"] == kind && r["url"].as_str().unwrap().starts_with(&cdn_base))
            .count()
    };
    assert!(from_cdn("script") >= 2, "entry and lazy chunk: {ctx}");
    assert!(from_cdn("stylesheet") >= 2, "entry and lazy CSS: {ctx}");
    assert!(from_cdn("image") >= 2, "logo and the lazy CSS image: {ctx}");
    let gzipped = check_encoded_bytes(app, requests, &cdn_base, &out, &ctx);
    let bg = seen["lazyBackground"].as_str().unwrap();
    assert!(
        bg.contains(&cdn_base),
        "the lazy route's CSS image: {bg}: {ctx}"
    );
    if app.worker {
        assert_eq!(seen["worker"], "worker: pong", "{ctx}");
    }
    if app.dir == "vue-cli5" {
        // The lazy chunk holds the placeholder: renamed, found through the runtime's chunk map.
        let dist = fixtures().join("bundlers/vue-cli5/dist/js");
        let original = fs::read_dir(dist)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .find(|n| n.starts_with("lazy.") && n.ends_with(".js"))
            .unwrap();
        let stem = original.trim_end_matches(".js");
        assert!(
            requests.iter().any(|r| {
                let u = r["url"].as_str().unwrap();
                u.contains(&format!("/js/{stem}.")) && !u.ends_with(&format!("/js/{original}"))
            }),
            "the renamed lazy chunk {stem}.<hash>.js was loaded: {ctx}"
        );
        assert_eq!(seen["api"], format!("{cdn_base}/api/v1"), "{ctx}");
    }
    gzipped
}

/// Scripts and styles crossed the wire as the gzip objects the build made (the default
/// `--encoding auto` on a bucket), byte for byte their compressed size; a client that sends no
/// Accept-Encoding gets the plain bytes from the CDN (nginx `gunzip on`).
fn check_encoded_bytes(
    app: &App,
    requests: &[Value],
    cdn_base: &str,
    out: &Path,
    ctx: &str,
) -> usize {
    let manifest = common::manifest(out);
    let files = manifest["files"].as_array().unwrap();
    let base = format!("{cdn_base}/{}/", app.sub);
    let mut gzipped = Vec::new();
    for r in requests {
        let url = r["url"].as_str().unwrap();
        if !matches!(r["type"].as_str(), Some("script" | "stylesheet")) || !url.starts_with(&base) {
            continue;
        }
        let path = url[base.len()..].split(['?', '#']).next().unwrap();
        let f = files
            .iter()
            .find(|f| f["path"] == path)
            .unwrap_or_else(|| panic!("{path} not in the manifest: {ctx}"));
        let gz = f["encodings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["encoding"] == "gzip");
        let (want_enc, want_size) = match gz {
            Some(e) => ("gzip", e["size"].as_u64().unwrap()),
            None => ("", f["size"].as_u64().unwrap()),
        };
        assert_eq!(r["encoding"], want_enc, "{url}: {ctx}");
        assert_eq!(
            r["bodySize"].as_u64(),
            Some(want_size),
            "{url} bytes on the wire: {ctx}"
        );
        if gz.is_some() {
            gzipped.push((url.to_string(), path.to_string()));
        }
    }
    // Fixtures whose scripts and styles are all under 1 KiB have nothing gzip (checked above);
    // the caller requires some app to have had some.
    let Some((url, path)) = gzipped.first() else {
        return 0;
    };
    let plain = reqwest::blocking::Client::new().get(url).send().unwrap();
    assert_eq!(plain.status(), 200, "{url}");
    assert!(
        plain.headers().get("content-encoding").is_none(),
        "{url}: {ctx}"
    );
    assert_eq!(
        plain.bytes().unwrap().to_vec(),
        fs::read(out.join(path)).unwrap(),
        "{url}"
    );
    gzipped.len()
}

#[test]
fn every_bundler_fixture_works_in_chromium_through_the_cdn() {
    let Some(bin) = nginx::binary() else { return };
    let Some(modules) = playwright() else { return };
    let s3 = S3Server::start();
    if s3.requests().is_none() {
        eprintln!("SKIPPED: needs the in-process S3 server (anonymous reads through nginx)");
        return;
    }
    let gzipped: usize = APPS
        .iter()
        .map(|app| check_app(app, &s3, bin, &modules))
        .sum();
    assert!(gzipped > 0, "no script or style of any fixture came gzip");
}
