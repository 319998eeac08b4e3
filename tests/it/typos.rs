//! What a person mistypes fails loudly, with the fix: a target with one slash or an unknown
//! scheme, a target with no release records, a purge with no URL, a config key typo, an unknown
//! release id, an empty or source directory as SRC; at container start, a placeholder typo, a
//! server with a fragment or query (differential.rs), and a state directory it cannot write.

use crate::common;

use std::fs;

use common::{cdnpub, fixtures, site};
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

#[test]
fn a_target_with_one_slash_or_an_unknown_scheme_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixtures().join("frameworks/vite-mpa/dist");
    for (to, says) in [
        ("s3:/my-bucket/web", "two slashes (s3://…)"),
        ("gs://my-bucket/web", "unknown scheme \"gs\""),
    ] {
        cdnpub(tmp.path())
            .arg("publish")
            .arg(&src)
            .args(["--server", "https://cdn.example.com", "--to", to])
            .assert()
            .code(2)
            .stderr(contains(says))
            .stderr(contains("oss://bucket/prefix"));
    }
    assert!(!tmp.path().join("s3:").exists(), "no directory named s3:");
    // ossutil's spelling is accepted; its endpoint needs the region.
    cdnpub(tmp.path())
        .args(["releases", "--to", "oss://my-bucket/web"])
        .assert()
        .code(2)
        .stderr(contains("oss:// target needs its region"))
        .stderr(contains("--region"));
}

#[test]
fn a_target_with_no_release_records_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    for cmd in [&["releases"][..], &["rollback", "--no-purge"]] {
        cdnpub(tmp.path())
            .args(cmd)
            .args(["--to", "./nosuch"])
            .assert()
            .code(1)
            .stderr(contains("no release records here"))
            .stderr(contains("Check --to"));
    }
    // An unknown release id is a usage error.
    let src = fixtures().join("frameworks/vite-mpa/dist");
    cdnpub(tmp.path())
        .arg("publish")
        .arg(&src)
        .args(["--server", "https://cdn.example.com", "--to", "site"])
        .args(["--no-purge", "--no-prefetch"])
        .assert()
        .success();
    cdnpub(tmp.path())
        .args([
            "rollback",
            "20200101T000000Z-deadbeef",
            "--to",
            "site",
            "--no-purge",
        ])
        .assert()
        .code(2)
        .stderr(contains("no release 20200101T000000Z-deadbeef"));
}

#[test]
fn a_purge_with_no_url_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    cdnpub(tmp.path())
        .args(["purge", "--dry-run", "--provider", "aliyun"])
        .assert()
        .code(2)
        .stderr(contains("no URL given"));
}

#[test]
fn a_config_key_typo_names_the_nearest_key() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("cdnpub.toml"),
        "cdn_sever = \"https://cdn.example.com\"\n",
    )
    .unwrap();
    cdnpub(tmp.path())
        .args(["config", "check"])
        .assert()
        .code(2)
        .stderr(contains(
            "unknown key `cdn_sever`: did you mean `cdn_server`?",
        ))
        .stderr(contains("cdn_distribution_id").not());
}

#[test]
fn an_empty_or_source_directory_is_not_published() {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir_all(tmp.path().join("empty")).unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("components")).unwrap();
    fs::write(src.join("package.json"), "{}").unwrap();
    fs::write(src.join("components/App.vue"), "<template/>").unwrap();
    fs::write(src.join("main.js"), "import './components/App.vue'").unwrap();
    for (dir, says) in [
        ("empty", "holds no file"),
        (
            "src",
            "has no HTML page and holds sources (components/App.vue)",
        ),
    ] {
        cdnpub(tmp.path())
            .arg("publish")
            .arg(tmp.path().join(dir))
            .args(["--server", "https://cdn.example.com", "--to", "site"])
            .assert()
            .code(2)
            .stderr(contains(says))
            .stderr(contains("dist/, build/, out/"));
    }
    assert!(!tmp.path().join("site").exists(), "nothing published");
}

#[test]
fn a_placeholder_typo_at_container_start_fails_and_a_start_is_quiet() {
    let (_t, root) = site("bundlers/vite-vue/dist");
    let run = |prefix: &str, extra: &[&str]| {
        cdnpub(root.parent().unwrap())
            .args(["rewrite", "--root"])
            .arg(&root)
            .args(extra)
            .env("CDN_SERVER", "https://cdn.example.com")
            .env("CDN_PREFIX", prefix)
            .env("CDN_REPLACE_FILES", "index.html assets/*.js assets/*.css")
            .assert()
    };
    run("EGOVA_CND", &[])
        .code(1)
        .stderr(contains("the placeholder EGOVA_CND is in none of the"))
        .stderr(contains("--allow-empty"));
    run("EGOVA_CND", &["--allow-empty"]).success();
    // Quiet: a line of settings and a summary, however many files; each file with -v.
    let a = run("EGOVA_CDN", &[]).success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert_eq!(out.lines().count(), 2, "{out}");
    let a = run("EGOVA_CDN", &["-v"]).success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(out.lines().any(|l| l.contains("index.html")), "{out}");
}

#[test]
fn a_start_whose_state_directory_cannot_be_made_uses_the_next_one() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("html");
    common::copy_tree(&fixtures().join("bundlers/vite-vue/dist"), &root);
    // Where the state would go beside the root cannot be a directory (as a root-owned parent
    // refuses a non-root user).
    fs::write(tmp.path().join(".cdnpub"), "not a directory").unwrap();
    let home = tmp.path().join("home");
    let run = |server: &str| {
        cdnpub(tmp.path())
            .args(["rewrite", "--root"])
            .arg(&root)
            .env("HOME", &home)
            .env_remove("XDG_STATE_HOME")
            .env("CDN_SERVER", server)
            .env("CDN_REPLACE_FILES", "index.html")
            .assert()
            .success()
    };
    run("https://a.example.com");
    let state = home.join(".local/state/cdnpub");
    assert!(
        state.is_dir(),
        "the state went to the user's state directory"
    );
    // A restart with another server renders from the template it kept there.
    run("https://b.example.com");
    let page = fs::read_to_string(root.join("index.html")).unwrap();
    assert!(page.contains("https://b.example.com/"), "{page}");
    assert!(!page.contains("a.example.com"), "{page}");
}

/// No region, or no credentials: one short message naming the flag or the variables, exit 2,
/// and none of the SDK's own warnings below -vv.
#[test]
fn a_missing_region_or_missing_credentials_says_what_to_set() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        cdnpub(tmp.path())
            .args(["releases", "--to", "s3://my-bucket/web"])
            .args(extra)
            .env("HOME", tmp.path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", tmp.path().join("none"))
            .env("AWS_SHARED_CREDENTIALS_FILE", tmp.path().join("none"))
            .assert()
            .code(2)
            .stderr(contains("WARN").not())
            .stderr(contains("DispatchFailure").not())
    };
    run(&[])
        .stderr(contains("s3://my-bucket/web: no region"))
        .stderr(contains("--region"))
        .stderr(contains("AWS_REGION"));
    run(&["--region", "eu-west-1"])
        .stderr(contains("no credentials"))
        .stderr(contains("AWS_ACCESS_KEY_ID"));
}

/// A file name no URL can name (not UTF-8) is refused before any PUT, naming the file.
#[cfg(unix)]
#[test]
fn a_file_name_the_store_cannot_take_is_refused_before_any_put() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    fs::create_dir_all(&tree).unwrap();
    fs::write(tree.join("index.html"), "<p>x</p>").unwrap();
    fs::write(tree.join(std::ffi::OsStr::from_bytes(b"bad-\xff.js")), "x").unwrap();
    cdnpub(tmp.path())
        .args(["upload", "--to", "site"])
        .arg(&tree)
        .assert()
        .code(2)
        .stderr(contains("the file name is not UTF-8"));
    assert!(!tmp.path().join("site").exists(), "nothing was uploaded");
}

/// A container that starts as a non-root user (uid 65534: the html tree is its own, the
/// directory above it root's, where the old sed script worked): the render state goes to the
/// next directory it can write, and a restart re-renders. Switching users needs root and
/// setpriv (CI runs as root, so it runs there); elsewhere the test says it is skipped.
#[cfg(unix)]
#[test]
fn a_non_root_container_start_works_where_the_old_script_did() {
    use std::os::unix::fs::PermissionsExt;
    let uid = std::process::Command::new("id").arg("-u").output().unwrap();
    let root_user = String::from_utf8_lossy(&uid.stdout).trim() == "0";
    let setpriv = std::path::Path::new("/usr/bin/setpriv").exists();
    if !root_user || !setpriv {
        assert!(
            !root_user || !common::in_ci(),
            "setpriv (util-linux) is required under CI"
        );
        eprintln!("SKIPPED: switching to uid 65534 needs root and setpriv");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let html = tmp.path().join("html");
    common::copy_tree(&fixtures().join("bundlers/vite-vue/dist"), &html);
    for entry in walkdir::WalkDir::new(&html) {
        std::os::unix::fs::chown(entry.unwrap().path(), Some(65534), Some(65534)).unwrap();
    }
    let bin = assert_cmd::cargo::cargo_bin("cdnpub");
    let start = |server: &str| {
        let out = std::process::Command::new("/usr/bin/setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .args(["rewrite", "--root"])
            .arg(&html)
            .env_clear()
            .env("HOME", "/nonexistent")
            .env("CDN_SERVER", server)
            .env("CDN_REPLACE_FILES", "index.html assets/*.js assets/*.css")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::output_log(&out));
    };
    start("https://a.example.com");
    start("https://b.example.com");
    let page = fs::read_to_string(html.join("index.html")).unwrap();
    assert!(page.contains("https://b.example.com/"), "{page}");
    assert!(
        !tmp.path().join(".cdnpub").exists(),
        "nothing beside the root"
    );
    // The state it kept in the temporary directory.
    let state = std::env::temp_dir().join("cdnpub-state");
    let ours: Vec<_> = fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|d| {
            fs::read_to_string(d.join("state.json")).is_ok_and(|s| s.contains("b.example.com"))
        })
        .collect();
    assert!(!ours.is_empty(), "the state went to {}", state.display());
    for d in ours {
        let _ = fs::remove_dir_all(d);
    }
}

/// `config check` and publish agree about `[[budget]]`: a rule with no limit is refused by both,
/// with the same words, before anything is built or uploaded.
#[test]
fn a_budget_with_no_limit_is_refused_by_check_and_publish_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    fs::write(
        t.join("cdnpub.toml"),
        "[[budget]]\nentry = \"index.html\"\n",
    )
    .unwrap();
    let check = cdnpub(t).args(["config", "check"]).output().unwrap();
    assert!(!check.status.success());
    assert!(
        common::output_log(&check).contains("sets no limit"),
        "{}",
        common::output_log(&check)
    );
    let publish = cdnpub(t)
        .arg("publish")
        .arg(fixtures().join("bundlers/vite-vue/dist"))
        .args(["--to", "./site"])
        .output()
        .unwrap();
    assert_eq!(
        publish.status.code(),
        Some(2),
        "{}",
        common::output_log(&publish)
    );
    assert!(common::output_log(&publish).contains("sets no limit"));
    assert!(!t.join("site").exists(), "nothing uploaded");
}
