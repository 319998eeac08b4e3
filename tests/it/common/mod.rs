//! Helpers shared by the integration tests: the binary with a clean environment, fixture
//! copies and whole-tree snapshots.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub mod clouds;
pub mod edgescript;
pub mod faults;
pub mod kvs;
pub mod moto;
pub mod nginx;
pub mod s3;
pub mod serve;

/// Prefixes of the variables cdnpub (or a credential chain it uses) reads; every variable of the
/// test process that starts with one is cleared, so the developer's environment never leaks into
/// a test. `CI` stays: it only decides whether a missing tool is a failure ([`in_ci`]).
const PREFIXES: [&str; 7] = [
    "CDN_",
    "CDNPUB_",
    "ALIBABA_CLOUD_",
    "ALICLOUD_",
    "OSS_",
    "AWS_",
    "NO_COLOR",
];
/// Whole names read for the release record's commit.
const NAMES: [&str; 3] = ["GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT"];

/// True when `name` is a variable [`cdnpub`] clears.
pub fn isolated(name: &str) -> bool {
    PREFIXES.iter().any(|p| name.starts_with(p)) || NAMES.contains(&name)
}

/// True under CI (`CI` set to anything but empty, `0` or `false`, as GitHub and .ci/run set it):
/// a test whose tool is missing fails there instead of skipping. The workflow's macOS and
/// Windows legs, which install no nginx, Chromium or moto, set `CDNPUB_TEST_OPTIONAL_TOOLS=1`:
/// there those tests skip, loudly, as on a developer's machine.
pub fn in_ci() -> bool {
    let set =
        |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    set("CI") && !set("CDNPUB_TEST_OPTIONAL_TOOLS")
}

/// The cdnpub binary, run in `cwd`, with none of its variables set.
pub fn cdnpub(cwd: &Path) -> Command {
    let mut cmd = Command::cargo_bin("cdnpub").expect("binary built");
    cmd.current_dir(cwd);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(isolated) {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// A finished process's stdout then stderr, as text (for assertion messages and searches).
pub fn output_log(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The repository's fixtures/ directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Copy a directory tree (files and directories; symlinks as links).
pub fn copy_tree(src: &Path, dst: &Path) {
    for entry in walkdir::WalkDir::new(src) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(src).unwrap();
        let to = dst.join(rel);
        if entry.file_type().is_dir() {
            fs::create_dir_all(&to).unwrap();
        } else if entry.file_type().is_symlink() {
            #[cfg(unix)]
            std::os::unix::fs::symlink(fs::read_link(entry.path()).unwrap(), &to).unwrap();
            #[cfg(not(unix))]
            panic!(
                "{}: the fixtures hold no links off Unix",
                entry.path().display()
            );
        } else {
            fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// Every regular file under `dir` with its bytes, by relative path.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(dir).unwrap().to_path_buf(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// A fresh temp dir holding a copy of `fixtures/<name>` at `<tmp>/html`.
pub fn site(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("html");
    copy_tree(&fixtures().join(name), &root);
    (tmp, root)
}

/// Decode a gzip body.
pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Decode a brotli body.
pub fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Count non-overlapping occurrences of `needle` in `hay`.
pub fn count(hay: &[u8], needle: &str) -> usize {
    memchr::memmem::find_iter(hay, needle.as_bytes()).count()
}

/// Replace every `from` with `to`, byte-wise (the reference the tests compare against).
pub fn replace_all(hay: &[u8], from: &str, to: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut last = 0;
    for at in memchr::memmem::find_iter(hay, from.as_bytes()) {
        out.extend_from_slice(&hay[last..at]);
        out.extend_from_slice(to.as_bytes());
        last = at + from.len();
    }
    out.extend_from_slice(&hay[last..]);
    out
}

/// Assert two snapshots are equal, naming the paths that differ (not dumping the bytes).
pub fn assert_same_tree(
    before: &BTreeMap<PathBuf, Vec<u8>>,
    after: &BTreeMap<PathBuf, Vec<u8>>,
    context: &str,
) {
    let differing: Vec<_> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(
        differing.is_empty(),
        "{context}: these paths changed: {differing:?}"
    );
}

/// `cdnpub build SRC --out <cwd>/public -q ARGS…`; returns the output directory.
pub fn build_public(cwd: &Path, src: &Path, args: &[&str]) -> PathBuf {
    let out = cwd.join("public");
    cdnpub(cwd)
        .arg("build")
        .arg(src)
        .arg("--out")
        .arg(&out)
        .arg("-q")
        .args(args)
        .assert()
        .success();
    out
}

/// Build `src` (no siblings) and upload it to the local target `<cwd>/site`; returns the site.
pub fn build_and_release(cwd: &Path, src: &Path) -> PathBuf {
    let out = build_public(cwd, src, &["--no-compress"]);
    let site = cwd.join("site");
    cdnpub(cwd)
        .args(["upload", "-q"])
        .arg(&out)
        .arg("--to")
        .arg(&site)
        .assert()
        .success();
    site
}

/// Put `word` at the start of a page's `<title>`, so a new release has a visibly new page.
pub fn retitle(page: &Path, word: &str) {
    let html = fs::read_to_string(page).unwrap();
    fs::write(
        page,
        html.replacen("<title>", &format!("<title>{word} "), 1),
    )
    .unwrap();
}

/// `cdnpub --json publish SRC ARGS…` in `cwd`, exit 0: the new release's id.
pub fn published(cwd: &Path, src: &Path, args: &[&str]) -> String {
    let a = cdnpub(cwd)
        .args(["--json", "publish"])
        .arg(src)
        .args(args)
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    v["release"].as_str().unwrap().to_string()
}

/// The vite-vue fixture published to `cwd/site` (copied to `cwd/dist`), then published again
/// staged with a retitled page: (the live release's id, the staged one's).
pub fn live_and_staged(cwd: &Path) -> (String, String) {
    live_and_staged_to(cwd, &["site"])
}

/// [`live_and_staged`] to each of `targets` (directories under `cwd`).
pub fn live_and_staged_to(cwd: &Path, targets: &[&str]) -> (String, String) {
    let src = cwd.join("dist");
    copy_tree(&fixtures().join("vite-vue/dist"), &src);
    let to: Vec<&str> = targets.iter().flat_map(|t| ["--to", *t]).collect();
    let publish = |extra: &[&str]| published(cwd, &src, &[&to[..], extra].concat());
    let stable = publish(&[]);
    retitle(&src.join("index.html"), "staged");
    (stable, publish(&["--stage"]))
}

/// `src`/`href` attribute values of a page, in order (a test's view of what a page loads).
pub fn page_refs(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            let end = rest.find('"').unwrap();
            out.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    out
}

/// The build manifest of a built tree.
pub fn manifest(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(out.join(".cdnpub/manifest.json")).unwrap()).unwrap()
}

/// The built path of the bundler's file `source`, from a manifest's records.
pub fn final_of(m: &serde_json::Value, source: &str) -> String {
    m["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source"] == source)
        .unwrap_or_else(|| panic!("{source} not in manifest"))["path"]
        .as_str()
        .unwrap()
        .to_string()
}
