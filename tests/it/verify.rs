//! `cdnpub verify` through a real CDN: nginx as the CDN with a proxy cache in front of the
//! in-process S3 server, caching even `no-cache` pages for an hour (as a CDN misconfigured, or
//! simply not yet purged, does). After a release the CDN serves the old page: verify finds
//! exactly that key, `--purge-stale` sends exactly its URL to the Alibaba Cloud CDN stand-in,
//! whose refresh drops nginx's copy, and the next verify is clean.

use crate::common;

use std::fs;
use std::path::Path;
use std::sync::Arc;

use common::clouds::{CloudConfig, CloudServer, Dialect, PurgeHook};
use common::nginx::{self, Nginx};
use common::s3::S3Server;
use common::{cdnpub, copy_tree, fixtures};
use md5::{Digest, Md5};
use serde_json::Value;

fn json(a: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&a.get_output().stdout).unwrap()
}

fn keys(v: &Value, kind: &str) -> Vec<String> {
    v[kind]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_string())
        .collect()
}

/// nginx's cache file of a URL path (`proxy_cache_key $uri`, no levels): md5 of the path.
fn cache_file(cache: &Path, url: &str) -> std::path::PathBuf {
    let path = url
        .split_once("://")
        .map_or(url, |(_, r)| &r[r.find('/').unwrap_or(r.len())..]);
    let digest = Md5::digest(path.as_bytes());
    cache.join(
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
    )
}

#[test]
fn verify_finds_exactly_the_stale_page_and_purge_stale_clears_it() {
    let Some(bin) = nginx::binary() else { return };
    let s3 = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let prefix = s3.unique_prefix("verify");
    let s3_port = s3.endpoint.rsplit(':').next().unwrap().to_string();
    let cache = t.join("nginx-cache");
    fs::create_dir_all(&cache).unwrap();
    let cdn = Nginx::start_with(
        bin,
        t,
        &format!(
            "proxy_cache_path {} levels= keys_zone=cdn:1m inactive=1h;",
            cache.display()
        ),
        &format!(
            "location / {{ proxy_pass http://127.0.0.1:{s3_port}/{b}/; proxy_cache cdn; \
             proxy_cache_key $uri; proxy_cache_valid 200 1h; \
             proxy_ignore_headers Cache-Control Expires Set-Cookie; \
             add_header X-Cache $upstream_cache_status always; }}",
            b = s3.bucket
        ),
    );
    // The CDN serves the bucket's root, as publish assumes (the key prefix is the URL path).
    let server = cdn.url("");
    let base = format!("{server}/{prefix}");
    let host = server.trim_start_matches("http://").to_string();
    let dropped = cache.clone();
    let provider = CloudServer::start(CloudConfig {
        domains: vec![host.clone()],
        on_purge: Some(PurgeHook(Arc::new(move |urls: &[String]| {
            for u in urls {
                let _ = fs::remove_file(cache_file(&dropped, u));
            }
        }))),
        ..CloudConfig::new(Dialect::Aliyun)
    });
    let target = format!("s3://{}/{prefix}", s3.bucket);
    let src = t.join("dist");
    copy_tree(&fixtures().join("vite-vue/dist"), &src);
    let s3_env = |c: &mut assert_cmd::Command| {
        c.env("AWS_ACCESS_KEY_ID", &s3.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key)
            .env("AWS_REGION", "us-east-1");
        for (k, v) in provider.env() {
            c.env(k, v);
        }
    };
    let publish = || {
        let mut c = cdnpub(t);
        c.args([
            "publish",
            "--no-cache",
            "--json",
            "--server",
            &server,
            "--to",
            &target,
        ])
        .args([
            "--endpoint",
            &s3.endpoint,
            "--path-style",
            "--no-purge",
            "--no-prefetch",
        ])
        .arg(&src);
        s3_env(&mut c);
        c
    };
    // Release A, verified through the CDN as it is published: every key fresh (and now cached).
    let a = json(&publish().arg("--verify").assert().success());
    let v = &a["verify"];
    assert_eq!(v["checked"], v["ok"], "{v}");
    assert!(v["checked"].as_u64().unwrap() >= 10, "{v}");
    assert!(
        cache_file(&cache, &format!("{base}/index.html")).exists(),
        "the CDN cached the page"
    );

    // Release B changes the page; nothing is purged, so the CDN still serves A's.
    common::retitle(&src.join("index.html"), "Second");
    publish().assert().success();
    let verify = || {
        let mut c = cdnpub(t);
        c.args(["verify", "--json", "--to", &target, "--cdn-base", &base])
            .args(["--endpoint", &s3.endpoint, "--path-style"]);
        s3_env(&mut c);
        c
    };
    let found = verify().assert().code(1);
    let r = json(&found);
    assert_eq!(keys(&r, "stale"), ["index.html"], "{r}");
    assert!(
        keys(&r, "missing").is_empty() && keys(&r, "wrong").is_empty(),
        "{r}"
    );
    assert_eq!(
        r["ok"].as_u64().unwrap() + 1,
        r["checked"].as_u64().unwrap()
    );
    let err = String::from_utf8_lossy(&found.get_output().stderr).to_string();
    assert!(
        err.contains("1 stale") && err.contains("--purge-stale"),
        "{err}"
    );
    assert!(
        provider.received().is_empty(),
        "verify alone purges nothing"
    );

    // A sample: the entry page and what it loads come first.
    let sampled = json(&verify().args(["--sample", "3"]).assert().code(1));
    assert_eq!(sampled["checked"], 3);
    assert_eq!(keys(&sampled, "stale"), ["index.html"]);

    // --purge-stale sends exactly the stale URL; the stand-in's refresh drops nginx's copy.
    let purged = json(
        &verify()
            .args([
                "--purge-stale",
                "--provider",
                "aliyun",
                "--cdn-endpoint",
                &provider.endpoint,
            ])
            .args(["--domain", &format!("http://{host}")])
            .assert()
            .code(1),
    );
    assert_eq!(purged["purge"]["sent"], 1, "{purged}");
    assert_eq!(provider.paths("purge-url"), [format!("{base}/index.html")]);
    let clean = json(&verify().assert().success());
    assert_eq!(clean["checked"], clean["ok"], "{clean}");
    assert!(clean["stale"].as_array().unwrap().is_empty());

    // An edge rule that overrides Cache-Control on stylesheets: the bytes are right, the
    // headers are not, and verify says which.
    let edge = Nginx::start(
        bin,
        t,
        &format!(
            "location ~ \\.css$ {{ rewrite ^ /{b}$uri break; proxy_pass http://127.0.0.1:{s3_port}; \
             proxy_hide_header Cache-Control; add_header Cache-Control \"max-age=60\" always; }}\n    \
             location / {{ proxy_pass http://127.0.0.1:{s3_port}/{b}/; }}",
            b = s3.bucket
        ),
    );
    let mut c = cdnpub(t);
    c.args(["verify", "--json", "--to", &target])
        .args(["--cdn-base", &format!("{}/{prefix}", edge.url(""))])
        .args(["--endpoint", &s3.endpoint, "--path-style"]);
    s3_env(&mut c);
    let r = json(&c.assert().code(1));
    let wrong = keys(&r, "wrong");
    assert!(
        !wrong.is_empty() && wrong.iter().all(|k| k.ends_with(".css")),
        "{r}"
    );
    assert!(
        r["wrong"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("Cache-Control \"max-age=60\""),
        "{r}"
    );
    assert!(keys(&r, "stale").is_empty(), "{r}");
}

#[test]
fn verify_names_a_missing_object_and_refuses_without_a_url() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // No cdn_server and no --cdn-base: a usage error naming both.
    let a = cdnpub(t).args(["verify", "--to", "site"]).assert().code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("--cdn-base") && err.contains("cdn_server"),
        "{err}"
    );
    let Some(bin) = nginx::binary() else { return };
    // A directory release served by nginx; one object deleted behind the release's back.
    let site = t.join("site");
    cdnpub(t)
        .args(["publish", "--no-cache", "--to", "site"])
        .arg(fixtures().join("vite-vue/dist"))
        .assert()
        .success();
    let cdn = Nginx::start(bin, &site, "");
    fs::remove_file(site.join("favicon.ico")).ok();
    let logo = fs::read_dir(site.join("assets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "svg"))
        .unwrap();
    fs::remove_file(&logo).unwrap();
    let r = json(
        &cdnpub(t)
            .args([
                "verify",
                "--json",
                "--to",
                "site",
                "--cdn-base",
                &cdn.url(""),
            ])
            .assert()
            .code(1),
    );
    let missing = keys(&r, "missing");
    assert!(
        missing
            .iter()
            .any(|k| logo.to_string_lossy().ends_with(k.as_str())),
        "{r}"
    );
    assert!(keys(&r, "stale").is_empty(), "{r}");
}
