//! The contrib/ entrypoint script, run for real with cdnpub on its PATH, as the nginx image's
//! /docker-entrypoint.sh would run it.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{assert_same_tree, site, snapshot};

fn entrypoint(root: &Path, vars: &[(&str, &str)]) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("contrib/docker-entrypoint.d/40-cdnpub-rewrite.sh");
    let bin_dir = assert_cmd::cargo::cargo_bin("cdnpub")
        .parent()
        .unwrap()
        .to_path_buf();
    let mut cmd = Command::new(&script);
    cmd.env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .env("CDNPUB_ROOT", root);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn entrypoint_renders_and_is_a_no_op_without_files() {
    let (_t, root) = site("vite-vue/dist");
    let out = entrypoint(
        &root,
        &[
            ("CDN_REPLACE_FILES", "index.html assets/*.js"),
            ("CDN_SERVER", "https://cdn.example.com"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(root.join("index.html")).unwrap();
    assert!(
        html.contains("src=\"https://cdn.example.com/assets/index-"),
        "{html}"
    );

    let (t2, root2) = site("vite-vue/dist");
    let before = snapshot(t2.path());
    let out = entrypoint(&root2, &[("CDN_SERVER", "https://cdn.example.com")]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to rewrite"));
    assert_same_tree(&before, &snapshot(t2.path()), "empty CDN_REPLACE_FILES");
}

#[test]
fn entrypoint_stops_the_container_on_a_bad_value_or_a_missing_file() {
    let (t, root) = site("vite-vue/dist");
    let before = snapshot(t.path());
    let out = entrypoint(
        &root,
        &[
            ("CDN_REPLACE_FILES", "index.html"),
            ("CDN_SERVER", "https://x\"onload=alert(1)"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not starting nginx"));
    assert_same_tree(&before, &snapshot(t.path()), "refused server value");
    // --strict: a glob that matches nothing (a typo in the manifest) stops the start too.
    let out = entrypoint(
        &root,
        &[
            ("CDN_REPLACE_FILES", "index.htm"),
            ("CDN_SERVER", "https://cdn.example.com"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_same_tree(&before, &snapshot(t.path()), "unmatched glob");
}

/// contrib/cloudfront/encoding.js run under node against recorded viewer-request events (the
/// shape CloudFront documents): br to browsers that take it, gzip to gzip-only clients, the
/// plain key to a client that takes neither, images and directory URIs untouched.
#[test]
fn the_cloudfront_function_sends_browsers_to_the_br_or_gz_key() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Ok(run) = Command::new("node")
        .arg(root.join("tests/browser/cloudfront-function.mjs"))
        .arg(root.join("contrib/cloudfront/encoding.js"))
        .arg(root.join("tests/data/cloudfront-events.json"))
        .output()
    else {
        assert!(!common::in_ci(), "node is required under CI");
        eprintln!("SKIPPED: node is not installed; the CloudFront Function was not run");
        return;
    };
    assert!(run.status.success(), "{}", common::output_log(&run));
    let got: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let events: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("tests/data/cloudfront-events.json")).unwrap(),
    )
    .unwrap();
    let events = events.as_array().unwrap();
    assert_eq!(got.as_array().unwrap().len(), events.len());
    for (g, e) in got.as_array().unwrap().iter().zip(events) {
        assert_eq!(g["uri"], e["uri"], "{}", e["name"]);
    }
}

/// The function rewrites by extension alone, so it must know exactly the extensions cdnpub
/// compresses (and fills siblings for on a bucket).
#[test]
fn the_cloudfront_function_lists_every_compressible_extension() {
    let code = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/cloudfront/encoding.js"),
    )
    .unwrap();
    // CloudFront Functions take at most 10 KB of code.
    assert!(code.len() <= 10 * 1024, "{} bytes", code.len());
    let list = code
        .split("var COMPRESSIBLE = [")
        .nth(1)
        .and_then(|r| r.split("];").next())
        .expect("the COMPRESSIBLE array");
    let mut js: Vec<&str> = list
        .split(',')
        .map(|s| s.trim().trim_matches('\''))
        .filter(|s| !s.is_empty())
        .collect();
    let mut rust = cdnpub::site::classify::COMPRESSIBLE.to_vec();
    js.sort_unstable();
    rust.sort_unstable();
    assert_eq!(js, rust);
}
