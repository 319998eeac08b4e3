//! `cdnpub rewrite` through the real binary, on copies of the fixtures.

use crate::common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use common::{cdnpub, count, gunzip, site, snapshot, unbrotli};

const VITE_GLOBS: &str = "index.html assets/*.js assets/*.css";

fn vite_site() -> (tempfile::TempDir, std::path::PathBuf) {
    site("vite-vue/dist")
}

fn rewrite(root: &Path, server: &str, globs: &str) -> assert_cmd::assert::Assert {
    cdnpub(root.parent().unwrap())
        .args(["rewrite", "--root"])
        .arg(root)
        .env("CDN_SERVER", server)
        .env("CDN_REPLACE_FILES", globs)
        .assert()
}

/// `cdnpub rewrite FLAGS --root ROOT --server SERVER GLOB…`, run beside the root.
fn rewrite_args(root: &Path, flags: &[&str], server: &str, globs: &[&str]) -> assert_cmd::Command {
    let mut cmd = cdnpub(root.parent().unwrap());
    cmd.arg("rewrite")
        .args(flags)
        .arg("--root")
        .arg(root)
        .args(["--server", server])
        .args(globs);
    cmd
}

fn read(root: &Path, rel: &str) -> String {
    String::from_utf8(fs::read(root.join(rel)).unwrap()).unwrap()
}

fn js_bundle(root: &Path) -> String {
    let name = fs::read_dir(root.join("assets"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.starts_with("index-") && n.ends_with(".js"))
        .unwrap();
    format!("assets/{name}")
}

#[test]
fn vite_build_gets_absolute_urls_without_a_leading_slash() {
    let (_t, root) = vite_site();
    rewrite(&root, "https://cdn.example.com", VITE_GLOBS).success();
    let html = read(&root, "index.html");
    assert!(
        html.contains(r#"src="https://cdn.example.com/assets/index-"#),
        "{html}"
    );
    assert!(
        html.contains(r#"href="https://cdn.example.com/favicon.svg""#),
        "{html}"
    );
    let js = read(&root, &js_bundle(&root));
    assert!(
        js.contains(r#"return"https://cdn.example.com/"+e"#),
        "preload helper not rewritten"
    );
    for (rel, text) in [("index.html", html), ("js", js)] {
        assert_eq!(
            count(text.as_bytes(), "/https:"),
            0,
            "{rel} has a /https: URL"
        );
        assert_eq!(
            count(text.as_bytes(), "EGOVA_CDN"),
            0,
            "{rel} kept a placeholder"
        );
    }
    let css = fs::read_dir(root.join("assets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.to_string_lossy().contains("/index-") && p.extension().is_some_and(|e| e == "css")
        })
        .unwrap();
    assert!(fs::read_to_string(css)
        .unwrap()
        .contains("url(https://cdn.example.com/assets/bg-"));
}

#[test]
fn vite_build_with_dot_fallback_keeps_the_slash() {
    let (_t, root) = vite_site();
    // The documented local environment: no warning.
    rewrite(&root, "", VITE_GLOBS)
        .success()
        .stderr(predicates::prelude::PredicateBooleanExt::not(
            predicates::str::contains("warning"),
        ));
    let html = read(&root, "index.html");
    assert!(html.contains(r#"src="/./assets/index-"#), "{html}");
    assert!(read(&root, &js_bundle(&root)).contains(r#"return"/./"+e"#));
}

#[test]
fn rerun_with_new_server_renders_from_template_and_same_server_changes_nothing() {
    let (t, root) = site("vue-cli");
    let globs = "mobile-vue/*/index.html mobile-vue/*/js/*.js";
    rewrite(&root, "https://one.example.com", globs).success();
    assert!(read(&root, "mobile-vue/citizen/index.html")
        .contains("src=https://one.example.com/js/app.js"));
    rewrite(&root, "https://two.example.com", globs).success();
    let html = read(&root, "mobile-vue/citizen/index.html");
    assert!(
        html.contains("src=https://two.example.com/js/app.js"),
        "{html}"
    );
    assert!(!html.contains("one.example.com"));
    // Same value again: no file is replaced (same inode, same mtime).
    let before = fs::metadata(root.join("mobile-vue/citizen/index.html")).unwrap();
    let snap = snapshot(&root);
    rewrite(&root, "https://two.example.com", globs)
        .success()
        .stdout(predicates::str::contains("0 changed"));
    let after = fs::metadata(root.join("mobile-vue/citizen/index.html")).unwrap();
    assert_eq!(
        (before.ino(), before.mtime_nsec()),
        (after.ino(), after.mtime_nsec())
    );
    common::assert_same_tree(&snap, &snapshot(&root), "second run with the same server");
    // The render state lives outside the web root.
    let state = fs::read_to_string(t.path().join(".cdnpub/html/state.json")).unwrap();
    assert!(
        state.contains("mobile-vue/citizen/index.html")
            && state.contains("https://two.example.com")
    );
    assert!(!snapshot(&root)
        .keys()
        .any(|k| k.to_string_lossy().contains("cdnpub")));
}

#[test]
fn a_new_deploy_over_a_rewritten_file_becomes_the_new_template() {
    let (_t, root) = site("vue-cli");
    let page = root.join("mobile-vue/service/index.html");
    rewrite(&root, "https://one.example.com", "mobile-vue/*/index.html").success();
    fs::write(&page, "<script src=EGOVA_CDN/js/v2.js></script>").unwrap();
    rewrite(&root, "https://one.example.com", "mobile-vue/*/index.html")
        .success()
        .stderr(predicates::str::contains("changed since the last rewrite"));
    assert_eq!(
        fs::read_to_string(&page).unwrap(),
        "<script src=https://one.example.com/js/v2.js></script>"
    );
    rewrite(&root, "https://two.example.com", "mobile-vue/*/index.html").success();
    assert_eq!(
        fs::read_to_string(&page).unwrap(),
        "<script src=https://two.example.com/js/v2.js></script>"
    );
}

#[test]
fn special_characters_in_the_server_are_literal() {
    let (_t, root) = site("vue-cli");
    // (`#` and `?` are refused: see differential.rs.)
    let server = r"https://cdn.example.com/a&b\d%41";
    rewrite(&root, server, "mobile-vue/citizen/index.html").success();
    assert!(
        read(&root, "mobile-vue/citizen/index.html").contains(&format!("src={server}/js/app.js"))
    );
}

#[test]
fn one_trailing_slash_is_trimmed() {
    let (_t, root) = site("vue-cli");
    rewrite(
        &root,
        "https://cdn.example.com/",
        "mobile-vue/citizen/index.html",
    )
    .success();
    let html = read(&root, "mobile-vue/citizen/index.html");
    assert!(html.contains("src=https://cdn.example.com/js/app.js"));
    assert!(!html.contains("example.com//"));
}

#[test]
fn uppercase_scheme_is_accepted_and_other_values_fall_back_with_a_warning() {
    let (_t, root) = site("vue-cli");
    rewrite(
        &root,
        "HTTPS://CDN.example.com",
        "mobile-vue/citizen/index.html",
    )
    .success();
    assert!(read(&root, "mobile-vue/citizen/index.html")
        .contains("src=https://CDN.example.com/js/app.js"));
    let (_t, root) = site("vue-cli");
    rewrite(&root, "cdn.example.com", "mobile-vue/citizen/index.html")
        .success()
        .stderr(predicates::str::contains(
            "\"cdn.example.com\" does not start with http",
        ));
    assert!(read(&root, "mobile-vue/citizen/index.html").contains("src=./js/app.js"));
}

#[test]
fn unsafe_server_values_are_refused_and_nothing_is_touched() {
    for bad in [
        "https://cdn.example.com\"><script>alert(1)</script>",
        "https://cdn.example.com/ x",
        "javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "https://cdn.example.com/`x`",
        "https://cdn.example.com/\u{1b}[31m",
    ] {
        let (t, root) = site("vue-cli");
        let before = snapshot(t.path());
        rewrite(&root, bad, "mobile-vue/*/index.html")
            .code(2)
            .stderr(predicates::str::contains("CDN_SERVER"));
        common::assert_same_tree(&before, &snapshot(t.path()), bad);
        assert!(!t.path().join(".cdnpub").exists());
    }
}

#[test]
fn empty_file_list_is_a_no_op_like_the_old_script() {
    let (t, root) = site("vue-cli");
    let before = snapshot(t.path());
    rewrite(&root, "javascript:ignored-when-nothing-to-do", "")
        .code(0)
        .stdout(predicates::str::contains("nothing done"));
    common::assert_same_tree(&before, &snapshot(t.path()), "tree");
}

#[test]
fn escaping_patterns_and_links_are_refused() {
    let (t, root) = site("vue-cli");
    fs::write(t.path().join("secret.html"), "EGOVA_CDN").unwrap();
    std::os::unix::fs::symlink(
        t.path().join("secret.html"),
        root.join("mobile-vue/evil.html"),
    )
    .unwrap();
    let before = snapshot(t.path());
    for globs in [
        "../secret.html",
        "mobile-vue/../../secret.html",
        "/etc/hostname",
    ] {
        rewrite(&root, "https://x.example", globs)
            .code(2)
            .stderr(predicates::str::contains("root"));
    }
    rewrite(&root, "https://x.example", "mobile-vue/*.html")
        .code(2)
        .stderr(predicates::str::contains("outside the root"));
    common::assert_same_tree(&before, &snapshot(t.path()), "tree");
}

#[test]
fn unmatched_glob_warns_and_strict_fails() {
    let (_t, root) = site("vue-cli");
    rewrite(
        &root,
        "https://x.example",
        "mobile-vue/*/index.html nothing/*.html",
    )
    .success()
    .stderr(predicates::str::contains("\"nothing/*.html\""));
    let (t2, root2) = site("vue-cli");
    let before = snapshot(t2.path());
    rewrite_args(
        &root2,
        &["--strict"],
        "https://x.example",
        &["mobile-vue/*/index.html", "nothing/*.html"],
    )
    .assert()
    .code(2);
    common::assert_same_tree(&before, &snapshot(t2.path()), "tree");
}

#[test]
fn dry_run_writes_nothing_and_check_fails_on_remaining_placeholders() {
    let (t, root) = site("vue-cli");
    let before = snapshot(t.path());
    rewrite_args(
        &root,
        &["--dry-run"],
        "https://cdn.example.com",
        &["mobile-vue/*/index.html"],
    )
    .assert()
    .success()
    .stdout(predicates::str::contains("would rewrite"));
    common::assert_same_tree(&before, &snapshot(t.path()), "dry run wrote something");
    // The prefix inside the server value survives rendering: --check catches it.
    rewrite_args(
        &root,
        &["--dry-run", "--check"],
        "https://EGOVA_CDN.example.com",
        &["mobile-vue/citizen/index.html"],
    )
    .assert()
    .code(3)
    .stderr(predicates::str::contains("mobile-vue/citizen/index.html"));
    rewrite_args(
        &root,
        &["--check"],
        "https://cdn.example.com",
        &["mobile-vue/*/index.html"],
    )
    .assert()
    .code(0);
}

#[test]
fn json_summary_lists_every_file() {
    let (_t, root) = site("vue-cli");
    let out = rewrite_args(
        &root,
        &["--json"],
        "https://cdn.example.com",
        &["mobile-vue/*/index.html"],
    )
    .output()
    .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["server"], "https://cdn.example.com");
    let files = v["files"].as_array().unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "mobile-vue/citizen/index.html",
            "mobile-vue/legacy-gbk/index.html",
            "mobile-vue/service/index.html"
        ]
    );
    assert_eq!(files[0]["replacements"], 8);
    assert_eq!(files[0]["template"], "new");
    assert_eq!(files[0]["changed"], true);
}

#[test]
fn siblings_are_regenerated_with_the_new_content() {
    let (_t, root) = site("vite-vue/dist");
    let js = js_bundle(&root);
    for rel in ["index.html".to_string(), js.clone()] {
        let original = fs::read(root.join(&rel)).unwrap();
        fs::write(
            root.join(format!("{rel}.gz")),
            cdnpub::site::compress::gzip(&original, 9),
        )
        .unwrap();
        fs::write(
            root.join(format!("{rel}.br")),
            cdnpub::site::compress::brotli(&original, 5),
        )
        .unwrap();
    }
    rewrite_args(
        &root,
        &["--brotli-quality", "4", "-v"],
        "https://cdn.example.com",
        &["index.html", "assets/*.js"],
    )
    .assert()
    .success()
    .stdout(predicates::str::contains(
        "regenerated index.html.gz index.html.br",
    ));
    for rel in ["index.html".to_string(), js] {
        let plain = fs::read(root.join(&rel)).unwrap();
        assert_eq!(count(&plain, "EGOVA_CDN"), 0);
        assert_eq!(
            gunzip(&fs::read(root.join(format!("{rel}.gz"))).unwrap()),
            plain,
            "{rel}.gz"
        );
        let br = fs::read(root.join(format!("{rel}.br"))).unwrap();
        assert_eq!(unbrotli(&br), plain, "{rel}.br");
        assert_eq!(
            br,
            cdnpub::site::compress::brotli(&plain, 4),
            "{rel}.br not at --brotli-quality 4"
        );
    }
}

#[test]
fn permissions_are_kept_and_non_utf8_is_byte_exact() {
    let (_t, root) = site("vue-cli");
    let gbk = root.join("mobile-vue/legacy-gbk/index.html");
    fs::set_permissions(&gbk, fs::Permissions::from_mode(0o640)).unwrap();
    let original = fs::read(&gbk).unwrap();
    assert!(
        std::str::from_utf8(&original).is_err(),
        "fixture must not be UTF-8"
    );
    rewrite(
        &root,
        "https://cdn.example.com",
        "mobile-vue/legacy-gbk/index.html",
    )
    .success();
    let expected = common::replace_all(&original, "EGOVA_CDN", "https://cdn.example.com");
    assert_eq!(count(&original, "EGOVA_CDN"), 3);
    assert_eq!(fs::read(&gbk).unwrap(), expected);
    assert_eq!(fs::metadata(&gbk).unwrap().mode() & 0o7777, 0o640);
}

#[test]
fn a_50_mb_file_is_rewritten() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("html");
    fs::create_dir(&root).unwrap();
    let chunk = "var a=\"EGOVA_CDN/js/x.js\";function f(){return 1}\n".repeat(1000);
    let big: String = chunk.repeat(50 * 1024 * 1024 / chunk.len() + 1);
    fs::write(root.join("big.js"), &big).unwrap();
    rewrite(&root, "https://cdn.example.com", "big.js").success();
    let out = fs::read(root.join("big.js")).unwrap();
    assert_eq!(count(&out, "EGOVA_CDN"), 0);
    assert_eq!(
        count(&out, "https://cdn.example.com/js/x.js"),
        count(big.as_bytes(), "EGOVA_CDN")
    );
}

#[test]
fn profile_values_and_precedence() {
    let (t, root) = site("vue-cli");
    fs::write(
        t.path().join("cdnpub.toml"),
        "root = \"html\"\nreplace_files = [\"mobile-vue/citizen/index.html\"]\n\n[env.prod]\ncdn_server = \"https://prod.example.com\"\n\n[env.dev]\ncdn_server = \"https://dev.example.com\"\n",
    )
    .unwrap();
    let page = root.join("mobile-vue/citizen/index.html");
    // Profile only.
    cdnpub(t.path())
        .args(["rewrite", "--env", "prod"])
        .assert()
        .success();
    assert!(fs::read_to_string(&page)
        .unwrap()
        .contains("src=https://prod.example.com/js/app.js"));
    // The environment variable overrides the profile.
    cdnpub(t.path())
        .args(["rewrite", "--env", "prod"])
        .env("CDN_SERVER", "https://env.example.com")
        .assert()
        .success();
    assert!(fs::read_to_string(&page)
        .unwrap()
        .contains("src=https://env.example.com/js/app.js"));
    // The flag overrides both.
    cdnpub(t.path())
        .args([
            "rewrite",
            "--env",
            "dev",
            "--server",
            "https://flag.example.com",
        ])
        .env("CDN_SERVER", "https://env.example.com")
        .assert()
        .success();
    assert!(fs::read_to_string(&page)
        .unwrap()
        .contains("src=https://flag.example.com/js/app.js"));
    cdnpub(t.path())
        .args(["rewrite", "--env", "staging"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "no profile [env.staging] (profiles: dev, prod)",
        ));
}

#[test]
fn malformed_config_names_file_line_and_key() {
    let t = tempfile::tempdir().unwrap();
    fs::write(
        t.path().join("cdnpub.toml"),
        "[env.prod]\ncdn_server = \"https://x\"\ncdn_sevrer = \"y\"\n",
    )
    .unwrap();
    cdnpub(t.path())
        .args(["rewrite", "--env", "prod", "x.html"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("cdnpub.toml"))
        .stderr(predicates::str::contains("line 3"))
        .stderr(predicates::str::contains("cdn_sevrer"));
}

#[test]
fn stale_temp_files_from_a_killed_run_are_removed() {
    let (_t, root) = site("vue-cli");
    let stale = root.join("mobile-vue/citizen/.index.html.AbC123.cdnpub-tmp");
    fs::write(&stale, "half").unwrap();
    rewrite(&root, "https://cdn.example.com", "mobile-vue/*/index.html").success();
    assert!(!stale.exists());
}

/// At container start the default brotli quality is 9 (fast enough to keep a first start under
/// 100 ms, bench/rewrite.sh), gzip stays at 9; `brotli_quality` in cdnpub.toml still wins.
#[test]
fn siblings_regenerated_at_start_default_to_brotli_9_and_gzip_9() {
    let (_t, root) = site("vite-vue/dist");
    let js = js_bundle(&root);
    let original = fs::read(root.join(&js)).unwrap();
    fs::write(
        root.join(format!("{js}.gz")),
        cdnpub::site::compress::gzip(&original, 9),
    )
    .unwrap();
    fs::write(
        root.join(format!("{js}.br")),
        cdnpub::site::compress::brotli(&original, 11),
    )
    .unwrap();
    rewrite_args(&root, &[], "https://cdn.example.com", &["assets/*.js"])
        .assert()
        .success();
    let plain = fs::read(root.join(&js)).unwrap();
    assert_eq!(
        fs::read(root.join(format!("{js}.br"))).unwrap(),
        cdnpub::site::compress::brotli(&plain, 9)
    );
    assert_eq!(
        fs::read(root.join(format!("{js}.gz"))).unwrap(),
        cdnpub::site::compress::gzip(&plain, 9)
    );
    // The file's setting wins over the start-time default.
    // (./cdnpub.toml of the working directory, root's parent)
    fs::write(
        root.parent().unwrap().join("cdnpub.toml"),
        "brotli_quality = 3\n",
    )
    .unwrap();
    rewrite_args(&root, &[], "https://cdn.other.example", &["assets/*.js"])
        .assert()
        .success();
    let plain = fs::read(root.join(&js)).unwrap();
    assert_eq!(
        fs::read(root.join(format!("{js}.br"))).unwrap(),
        cdnpub::site::compress::brotli(&plain, 3)
    );
}
