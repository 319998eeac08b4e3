//! docs/exit-codes.md's table, walked: each case below is named in the row of its code, and
//! the binary exits with that code for it.

use crate::common;

use std::fs;

use common::{cdnpub, fixtures, site};

/// docs/exit-codes.md's row for `code` (all rows of that code, joined).
fn row(code: u8) -> String {
    let page = fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/exit-codes.md"),
    )
    .unwrap();
    let table = page
        .split("| code | meaning |")
        .nth(1)
        .and_then(|t| t.split("\n#").next())
        .expect("docs/exit-codes.md has an exit-code table")
        .to_string();
    table
        .lines()
        .filter(|l| l.starts_with(&format!("| {code} |")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_code_of_the_readme_table_is_what_the_binary_returns() {
    let tmp = tempfile::tempdir().unwrap();
    let (_s, root) = site("bundlers/vite-vue/dist");
    let mpa = fixtures().join("frameworks/vite-mpa/dist");
    let mpa = mpa.to_str().unwrap();
    fs::write(tmp.path().join("bad.toml"), "cdn_sever = \"x\"\n").unwrap();
    let rewrite = |server: &str, prefix: &str, extra: &[&str]| {
        let mut c = cdnpub(root.parent().unwrap());
        c.args(["rewrite", "--root"])
            .arg(&root)
            .args(extra)
            .env("CDN_SERVER", server)
            .env("CDN_PREFIX", prefix)
            .env("CDN_REPLACE_FILES", "index.html");
        c
    };
    type Case<'a> = (u8, &'a str, Box<dyn Fn() -> assert_cmd::Command + 'a>);
    let cases: Vec<Case> = vec![
        (
            0,
            "nothing to do",
            Box::new(|| {
                let mut c = cdnpub(tmp.path());
                c.args(["rewrite", "--root"])
                    .arg(&root)
                    .env("CDN_REPLACE_FILES", "");
                c
            }),
        ),
        (
            1,
            "found the placeholder in none of the named files",
            Box::new(|| rewrite("https://cdn.example.com", "EGOVA_CND", &[])),
        ),
        (
            1,
            "on a target with no release records",
            Box::new(|| {
                let mut c = cdnpub(tmp.path());
                c.args(["releases", "--to", "./nosuch"]);
                c
            }),
        ),
        (
            2,
            "bad flag or value",
            Box::new(|| {
                let mut c = cdnpub(tmp.path());
                c.args(["publish", "--no-such-flag"]);
                c
            }),
        ),
        (
            2,
            "a target with an unknown scheme or one slash",
            Box::new(|| {
                let mut c = cdnpub(tmp.path());
                c.args([
                    "publish",
                    mpa,
                    "--to",
                    "s3:/x/y",
                    "--server",
                    "https://cdn.example.com",
                ]);
                c
            }),
        ),
        (
            2,
            "an unknown config key",
            Box::new(|| {
                let mut c = cdnpub(tmp.path());
                c.args(["--config", "bad.toml", "config", "check"]);
                c
            }),
        ),
        (
            2,
            "`purge` with no URL",
            Box::new(|| {
                let mut c = cdnpub(tmp.path());
                c.args(["purge", "--dry-run", "--provider", "aliyun"]);
                c
            }),
        ),
        (
            2,
            "an empty SRC or a source directory",
            Box::new(|| {
                fs::create_dir_all(tmp.path().join("empty")).unwrap();
                let mut c = cdnpub(tmp.path());
                c.args([
                    "publish",
                    "empty",
                    "--to",
                    "site",
                    "--server",
                    "https://cdn.example.com",
                ]);
                c
            }),
        ),
        (
            2,
            "refused server value",
            Box::new(|| rewrite("https://cdn.example.com/#v2", "EGOVA_CDN", &[])),
        ),
        (
            2,
            "unmatched glob under `--strict`",
            Box::new(|| {
                let mut c = rewrite(
                    "https://cdn.example.com",
                    "EGOVA_CDN",
                    &["--strict", "nosuch/*.html"],
                );
                c.env_remove("CDN_REPLACE_FILES");
                c
            }),
        ),
        (
            3,
            "`--check` failed",
            Box::new(|| {
                // The server itself holds the placeholder: one remains after rendering.
                rewrite(
                    "https://EGOVA_CDN.example.com",
                    "EGOVA_CDN",
                    &["--check", "--dry-run"],
                )
            }),
        ),
    ];
    for (code, phrase, cmd) in cases {
        let text = row(code);
        assert!(
            text.contains(phrase),
            "docs/exit-codes.md's row {code} names {phrase:?}: {text}"
        );
        let out = cmd().output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(i32::from(code)),
            "{phrase}: {}",
            common::output_log(&out)
        );
    }
    assert!(row(70).contains("internal error"));
}
