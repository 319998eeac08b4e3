//! Differential test: `cdnpub rewrite` against the old entrypoint it replaces
//! (tests/data/seed-replace_cdn.sh, a verbatim copy of ../shared/seed-replace_cdn.sh), run by
//! bash with its root pointed at a temp copy. Where the old script is correct the outputs are
//! byte-identical; where cdnpub differs on purpose, the cdnpub result is asserted.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_same_tree, cdnpub, site, snapshot};

const VUE_CLI_FILES: &str = "mobile-vue/*/index.html mobile-vue/*/js/*.js mobile-vue/*/css/*.css";
const VITE_FILES: &str = "index.html assets/*.js assets/*.css";

fn seed_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/seed-replace_cdn.sh")
}

/// Run the old `replace_cdn` on `root` with the given variables (None: unset).
fn run_old(
    root: &Path,
    files: &str,
    server: Option<&str>,
    prefix: Option<&str>,
) -> std::process::Output {
    let body = fs::read_to_string(seed_script()).unwrap();
    let body = body.replace("/usr/share/Nginx/html", root.to_str().unwrap());
    let empty = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!("{body}\nreplace_cdn\n"))
        .current_dir(empty.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LC_ALL", "C")
        .env("CDN_REPLACE_FILES", files);
    if let Some(s) = server {
        cmd.env("CDN_SERVER", s);
    }
    if let Some(p) = prefix {
        cmd.env("CDN_PREFIX", p);
    }
    cmd.output().unwrap()
}

fn run_new(root: &Path, files: &str, server: Option<&str>, prefix: Option<&str>) {
    let mut cmd = cdnpub(root.parent().unwrap());
    cmd.args(["rewrite", "--root"])
        .arg(root)
        .env("CDN_REPLACE_FILES", files);
    if let Some(s) = server {
        cmd.env("CDN_SERVER", s);
    }
    if let Some(p) = prefix {
        cmd.env("CDN_PREFIX", p);
    }
    cmd.assert().success();
}

/// Both tools on fresh copies of `fixture`; returns (old tree, new tree).
fn both(
    fixture: &str,
    files: &str,
    server: Option<&str>,
    prefix: Option<&str>,
) -> [std::collections::BTreeMap<PathBuf, Vec<u8>>; 2] {
    let (_a, old_root) = site(fixture);
    let out = run_old(&old_root, files, server, prefix);
    assert!(
        out.status.success(),
        "old script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_b, new_root) = site(fixture);
    run_new(&new_root, files, server, prefix);
    [snapshot(&old_root), snapshot(&new_root)]
}

#[test]
fn vendored_seed_script_is_the_published_one() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seed-replace_cdn.sh");
    if shared.exists() {
        assert_eq!(fs::read(shared).unwrap(), fs::read(seed_script()).unwrap());
    }
    assert!(fs::read_to_string(seed_script())
        .unwrap()
        .contains("sed -i \"s#${CDN_PREFIX}#${CDN_SERVER}#g\""));
}

#[test]
fn identical_to_the_old_script_where_it_is_correct() {
    let servers: [Option<&str>; 10] = [
        Some("https://cdn.example.com"),
        Some("http://10.1.2.3:8080/static/v2"),
        Some("https://cdn-1.example.com.cn/mobile_vue/path.with.dots"),
        Some("http://localhost"),
        Some(""),
        None,
        Some("."),
        Some("ftp://files.example.com"),
        Some("/static"),
        Some("cdn.example.com"),
    ];
    let mut rendered = 0;
    for server in servers {
        for prefix in [None, Some(""), Some("EGOVA_CDN"), Some("EGOVA")] {
            let [old, new] = both("vue-cli", VUE_CLI_FILES, server, prefix);
            let ctx = format!("server {server:?} prefix {prefix:?}");
            assert_same_tree(&old, &new, &ctx);
            // Where the placeholder is the fixture's and the server a URL, both put the server
            // into the page: the trees agree on a rendered page, not on two untouched ones.
            if let (Some(url), None | Some("EGOVA_CDN")) = (server, prefix) {
                if url.starts_with("http") {
                    let pages: Vec<_> = new
                        .iter()
                        .filter(|(p, _)| p.starts_with("mobile-vue") && p.ends_with("index.html"))
                        .collect();
                    assert!(!pages.is_empty(), "{ctx}: no page");
                    for (path, page) in pages {
                        assert!(
                            memchr::memmem::find(page, url.as_bytes()).is_some(),
                            "{ctx}: {} does not name the server",
                            path.display()
                        );
                    }
                    rendered += 1;
                }
            }
        }
    }
    assert_eq!(
        rendered, 8,
        "every http(s) server with the fixture's placeholder was checked"
    );
    // The old script changed something in these runs: the comparison is not vacuous.
    let [old, _] = both(
        "vue-cli",
        VUE_CLI_FILES,
        Some("https://cdn.example.com"),
        None,
    );
    let (_t, pristine) = site("vue-cli");
    assert_ne!(old, snapshot(&pristine));
}

#[test]
fn identical_on_the_vite_build_with_the_dot_fallback() {
    for server in [
        Some(""),
        None,
        Some("ftp://x.example"),
        Some("cdn.example.com"),
    ] {
        let [old, new] = both("vite-vue/dist", VITE_FILES, server, None);
        assert_same_tree(&old, &new, &format!("vite, server {server:?}"));
    }
}

fn page_after(tool: &str, server: &str) -> String {
    let (_t, root) = site("vue-cli");
    if tool == "old" {
        run_old(&root, "mobile-vue/citizen/index.html", Some(server), None);
    } else {
        run_new(&root, "mobile-vue/citizen/index.html", Some(server), None);
    }
    fs::read_to_string(root.join("mobile-vue/citizen/index.html")).unwrap()
}

#[test]
fn ampersand_and_hash_are_literal_where_sed_broke() {
    let amp = "https://cdn.example.com/a&b";
    assert!(page_after("old", amp).contains("src=https://cdn.example.com/aEGOVA_CDNb/js/app.js"));
    assert!(page_after("new", amp).contains("src=https://cdn.example.com/a&b/js/app.js"));
    // A fragment (or a query) in the server would make every asset URL load the CDN's root:
    // sed fails on '#' and leaves the page unrendered; cdnpub refuses it, naming the value, and
    // changes nothing.
    let hash = "https://cdn.example.com/#v2";
    assert!(
        page_after("old", hash).contains("src=EGOVA_CDN/js/app.js"),
        "sed fails on '#'"
    );
    for bad in [hash, "https://cdn.example.com/?v=2"] {
        let (_t, root) = site("vue-cli");
        let before = fs::read(root.join("mobile-vue/citizen/index.html")).unwrap();
        cdnpub(root.parent().unwrap())
            .args(["rewrite", "--root"])
            .arg(&root)
            .env("CDN_REPLACE_FILES", "mobile-vue/citizen/index.html")
            .env("CDN_SERVER", bad)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(format!("CDN server {bad:?}")))
            .stderr(predicates::str::contains("give the server without it"));
        assert_eq!(
            fs::read(root.join("mobile-vue/citizen/index.html")).unwrap(),
            before
        );
    }
}

#[test]
fn trailing_slash_gives_no_double_slash() {
    assert!(page_after("old", "https://cdn.example.com/")
        .contains("src=https://cdn.example.com//js/app.js"));
    assert!(page_after("new", "https://cdn.example.com/")
        .contains("src=https://cdn.example.com/js/app.js"));
}

#[test]
fn rerun_with_a_new_server_works_where_sed_was_one_shot() {
    let (_a, old_root) = site("vue-cli");
    let (_b, new_root) = site("vue-cli");
    for server in ["https://one.example.com", "https://two.example.com"] {
        run_old(&old_root, "mobile-vue/*/index.html", Some(server), None);
        run_new(&new_root, "mobile-vue/*/index.html", Some(server), None);
    }
    let page = "mobile-vue/citizen/index.html";
    assert!(fs::read_to_string(old_root.join(page))
        .unwrap()
        .contains("src=https://one.example.com/js/app.js"));
    assert!(fs::read_to_string(new_root.join(page))
        .unwrap()
        .contains("src=https://two.example.com/js/app.js"));
}

#[test]
fn vite_absolute_server_has_no_leading_slash_where_sed_broke_it() {
    let (_a, old_root) = site("vite-vue/dist");
    let (_b, new_root) = site("vite-vue/dist");
    run_old(
        &old_root,
        "index.html",
        Some("https://cdn.example.com"),
        None,
    );
    run_new(
        &new_root,
        "index.html",
        Some("https://cdn.example.com"),
        None,
    );
    assert!(fs::read_to_string(old_root.join("index.html"))
        .unwrap()
        .contains("src=\"/https://cdn.example.com/assets/"));
    assert!(fs::read_to_string(new_root.join("index.html"))
        .unwrap()
        .contains("src=\"https://cdn.example.com/assets/"));
}

#[test]
fn values_the_old_grep_let_through_become_dot() {
    // The old pattern '^http*' accepts "htt" and "httpfoo" and used them as URLs.
    assert!(page_after("old", "httpfoo").contains("src=httpfoo/js/app.js"));
    assert!(page_after("new", "httpfoo").contains("src=./js/app.js"));
    // And it refused uppercase schemes.
    assert!(page_after("old", "HTTPS://CDN.EXAMPLE.COM").contains("src=./js/app.js"));
    assert!(page_after("new", "HTTPS://CDN.EXAMPLE.COM")
        .contains("src=https://CDN.EXAMPLE.COM/js/app.js"));
}
