//! An immutable key never changes bytes, on any target, across releases: a file under a
//! bundler's hashed name edited after the build is refused before any PUT (a directory and a
//! bucket); two environments (two CDN servers) publishing to one prefix, which is also what a
//! change of CDN server is, never give one immutable key two bodies.

use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::s3::S3Server;
use common::{cdnpub, copy_tree, fixtures};
use predicates::str::contains;
use serde_json::Value;

/// Every release record of a directory target, by id.
fn records(site: &Path) -> BTreeMap<String, Value> {
    let dir = site.join("_cdnpub/releases");
    fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let r: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
            (r["id"].as_str().unwrap().to_string(), r)
        })
        .collect()
}

/// Immutable keys of a record and their digests.
fn immutable_keys(record: &Value) -> BTreeMap<String, String> {
    record["objects"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, o)| o["cache_control"].as_str().unwrap().contains("immutable"))
        .map(|(k, o)| (k.clone(), o["sha256"].as_str().unwrap().to_string()))
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A chunk the bundler hashed, that the build keeps under the bundler's name (no placeholder in
/// it, names nothing renamed): immutable as it is.
fn kept_hashed_chunk(out: &Path) -> String {
    let m = common::manifest(out);
    m["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["immutable"] == true
                && f["path"] == f["source"]
                && f["path"].as_str().unwrap().ends_with(".js")
        })
        .map(|f| f["path"].as_str().unwrap().to_string())
        .expect("a bundler-hashed chunk kept as it is")
}

fn publish(
    cwd: &Path,
    src: &Path,
    server: &str,
    target: &str,
    extra: &[&str],
) -> assert_cmd::assert::Assert {
    cdnpub(cwd)
        .arg("publish")
        .arg(src)
        .args(["--server", server, "--to", target])
        .args(["--no-purge", "--no-prefetch", "--encoding", "identity"])
        .arg("--out")
        .arg(cwd.join("out"))
        .args(extra)
        .assert()
}

#[test]
fn an_edited_hashed_file_is_refused_on_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("dist");
    copy_tree(&fixtures().join("bundlers/vite-vue/dist"), &src);
    publish(tmp.path(), &src, "https://cdn.example.com", "site", &[]).success();
    let chunk = kept_hashed_chunk(&tmp.path().join("out"));
    let site = tmp.path().join("site");
    let before = fs::read(site.join(&chunk)).unwrap();
    let pointer = fs::read(site.join("_cdnpub/latest.json")).unwrap();
    // A CI step post-processes the bundler's output.
    let mut edited = fs::read(src.join(&chunk)).unwrap();
    edited.extend_from_slice(b"\n/* post-processed */\n");
    fs::write(src.join(&chunk), edited).unwrap();
    publish(tmp.path(), &src, "https://cdn.example.com", "site", &[])
        .code(1)
        .stderr(contains(chunk.as_str()))
        .stderr(contains("immutable key(s) would get other bytes"))
        .stderr(contains("rebuild so the bundler names the new bytes"))
        .stderr(contains("Nothing was uploaded"));
    assert_eq!(
        fs::read(site.join(&chunk)).unwrap(),
        before,
        "the key kept its bytes"
    );
    assert_eq!(
        fs::read(site.join("_cdnpub/latest.json")).unwrap(),
        pointer,
        "no release was made"
    );
    assert_eq!(records(&site).len(), 1);
}

#[test]
fn an_edited_hashed_file_is_refused_on_a_bucket() {
    let s3 = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("dist");
    copy_tree(&fixtures().join("bundlers/vite-vue/dist"), &src);
    let target = format!("s3://{}/{}", s3.bucket, s3.unique_prefix("edited"));
    let args = [
        "--endpoint",
        s3.endpoint.as_str(),
        "--path-style",
        "--region",
        "us-east-1",
    ];
    let run = || {
        let mut c = cdnpub(tmp.path());
        c.arg("publish")
            .arg(&src)
            .args(["--server", "https://cdn.example.com", "--to", &target])
            .args(["--no-purge", "--no-prefetch", "--out"])
            .arg(tmp.path().join("out"))
            .args(args)
            .env("AWS_ACCESS_KEY_ID", &s3.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key);
        c.assert()
    };
    run().success();
    let chunk = kept_hashed_chunk(&tmp.path().join("out"));
    let mut edited = fs::read(src.join(&chunk)).unwrap();
    edited.extend_from_slice(b"\n/* post-processed */\n");
    fs::write(src.join(&chunk), edited).unwrap();
    s3.clear();
    run()
        .code(1)
        .stderr(contains(chunk.as_str()))
        .stderr(contains("Nothing was uploaded"));
    if let Some(seen) = s3.requests() {
        assert!(
            seen.iter().all(|(method, _)| method != "PUT"),
            "no PUT after the refusal: {seen:?}"
        );
    }
}

#[test]
fn two_servers_on_one_prefix_never_share_an_immutable_key_with_other_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixtures().join("bundlers/vite-vue/dist");
    let site = tmp.path().join("site");
    // Two environments publish one build to one prefix; the second is also a team changing
    // its CDN server.
    publish(tmp.path(), &src, "https://cdn-a.example.com", "site", &[]).success();
    publish(tmp.path(), &src, "https://cdn-b.example.com", "site", &[]).success();
    publish(tmp.path(), &src, "https://cdn-a.example.com", "site", &[]).success();
    let all = records(&site);
    assert!(all.len() >= 2, "{all:?}");
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut per_server = 0;
    for r in all.values() {
        for (key, sha) in immutable_keys(r) {
            match seen.get(&key) {
                Some(before) => assert_eq!(before, &sha, "{key} got other bytes"),
                None => {
                    seen.insert(key, sha);
                }
            }
        }
    }
    // Every immutable key still holds the bytes every record says.
    for (key, sha) in &seen {
        assert_eq!(&sha256(&fs::read(site.join(key)).unwrap()), sha, "{key}");
        let body = fs::read(site.join(key)).unwrap();
        if common::count(&body, "cdn-a.example.com") + common::count(&body, "cdn-b.example.com") > 0
        {
            per_server += 1;
        }
    }
    // The files that hold the server have a key per server.
    assert!(per_server >= 2, "{seen:?}");
}
