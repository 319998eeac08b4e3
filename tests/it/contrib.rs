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
