//! Several deployments in one bucket or directory: an app published under `mobile-vue/ng/` and
//! a container tree published at the root, in either order, on a directory and on a bucket.
//! Prune and `--delete` remove only what the target's own records wrote: the other app keeps
//! every object and its release records, and can still roll back.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use common::s3::S3Server;
use common::{cdnpub, fixtures};

/// cdnpub in `cwd` with `args`, and the in-process server's flags and keys on a bucket.
fn cmd(cwd: &Path, args: &[&str], s3: Option<&S3Server>) -> assert_cmd::Command {
    let mut c = cdnpub(cwd);
    c.args(args);
    if let Some(s3) = s3 {
        c.args([
            "--endpoint",
            &s3.endpoint,
            "--path-style",
            "--region",
            "us-east-1",
        ])
        .env("AWS_ACCESS_KEY_ID", &s3.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key);
    }
    c
}

/// Publishes `dist` (under fixtures/frameworks) to `to`.
fn publish(cwd: &Path, dist: &str, to: &str, s3: Option<&S3Server>) {
    let src = fixtures().join("frameworks").join(dist);
    let src = src.to_str().unwrap();
    let args = [
        "publish",
        src,
        "--server",
        "https://cdn.example.com",
        "--to",
        to,
    ];
    cmd(cwd, &args, s3)
        .args(["--no-purge", "--no-prefetch", "--keep-releases", "1"])
        .assert()
        .success();
}

/// The objects of the live release of `to`, by `cdnpub releases --json`.
fn live_objects(cwd: &Path, to: &str, s3: Option<&S3Server>) -> usize {
    let mut c = cmd(cwd, &["--json", "releases", "--to", to], s3);
    let out = c.assert().success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let rel = &v[0]["releases"][0];
    assert_eq!(rel["live"], true, "{v}");
    rel["files"].as_u64().unwrap() as usize
}

/// Every key under `dir` with its bytes (a directory target).
fn tree(dir: &Path) -> BTreeMap<std::path::PathBuf, Vec<u8>> {
    common::snapshot(dir)
}

fn both_orders(base: &str, cwd: &Path, s3: Option<&S3Server>, check: &dyn Fn(&str)) {
    for (n, app_first) in [true, false].into_iter().enumerate() {
        let root = format!("{base}/order{n}");
        let app = format!("{root}/mobile-vue/ng");
        if app_first {
            publish(cwd, "angular/dist", &app, s3);
            publish(cwd, "container/dist", &root, s3);
        } else {
            publish(cwd, "container/dist", &root, s3);
            publish(cwd, "angular/dist", &app, s3);
        }
        // Another release of each: both prune.
        publish(cwd, "container/dist", &root, s3);
        publish(cwd, "angular/dist", &app, s3);
        publish(cwd, "container/dist", &root, s3);
        assert!(
            live_objects(cwd, &app, s3) > 5,
            "the app's records are there"
        );
        assert!(live_objects(cwd, &root, s3) > 5);
        check(&root);
    }
}

#[test]
fn two_deployments_in_one_directory_keep_each_others_objects() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("site").display().to_string();
    both_orders(&base, tmp.path(), None, &|root| {
        let app = Path::new(root).join("mobile-vue/ng");
        let files = tree(&app);
        for key in [
            "index.html",
            "main-X2CW3BHC.03ba9d536c.js",
            "media/logo-OZRBAHC6.png",
        ] {
            assert!(
                files.keys().any(|k| k.to_string_lossy() == key),
                "{key} of the app is gone: {:?}",
                files.keys().collect::<Vec<_>>()
            );
        }
        assert!(app.join("_cdnpub/latest.json").is_file());
        assert!(Path::new(root).join("mobile-vue/a/index.html").is_file());
    });
}

#[test]
fn two_deployments_in_one_bucket_keep_each_others_objects() {
    let s3 = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let base = format!("s3://{}/{}", s3.bucket, s3.unique_prefix("shared"));
    both_orders(&base, tmp.path(), Some(&s3), &|_| {});
}
