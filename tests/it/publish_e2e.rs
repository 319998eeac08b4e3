//! End to end: `cdnpub publish` for two profiles into the in-process S3 server; a real nginx
//! on loopback serves the bucket as the "CDN" (proxying the public-read bucket, so objects keep
//! the headers cdnpub stored), a second nginx serves the rendered pages as the origin. Every
//! asset the entry pages name answers 200 with the right Content-Type and Cache-Control; a
//! change is published, rolled back, and the old page is served again.

use crate::common;

use std::fs;
use std::path::Path;

use common::nginx::{self, Nginx};
use common::s3::S3Server;
use common::{cdnpub, copy_tree, fixtures};
use serde_json::Value;

struct Got {
    status: u16,
    content_type: String,
    cache_control: String,
    body: Vec<u8>,
}

fn get(url: &str) -> Got {
    let resp = reqwest::blocking::get(url).unwrap();
    let h = |n: &str| {
        resp.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let (content_type, cache_control) = (h("content-type"), h("cache-control"));
    Got {
        status: resp.status().as_u16(),
        content_type,
        cache_control,
        body: resp.bytes().unwrap().to_vec(),
    }
}

/// Absolute URLs in `src`/`href` attributes of a page.
fn absolute_refs(html: &str) -> Vec<String> {
    common::page_refs(html)
        .into_iter()
        .filter(|r| r.starts_with("http"))
        .collect()
}

/// The live release record of an env, read through the bucket's local store.
fn record(tmp: &Path, env: &str, s3: &S3Server) -> Value {
    let a = cdnpub(tmp)
        .args(["--env", env, "--json", "releases"])
        .env("AWS_ACCESS_KEY_ID", &s3.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key)
        .assert()
        .success();
    serde_json::from_slice(&a.get_output().stdout).unwrap()
}

/// Check that every asset `page` names answers 200 through the CDN with the stored headers.
fn check_assets(page: &str, cdn_base: &str, objects: &serde_json::Map<String, Value>) -> usize {
    let refs = absolute_refs(page);
    assert!(refs.len() >= 3, "{refs:?}");
    for url in &refs {
        let key = url
            .strip_prefix(cdn_base)
            .unwrap_or_else(|| panic!("{url} is not on {cdn_base}"));
        let got = get(url);
        assert_eq!(got.status, 200, "{url}");
        let want = &objects[key];
        assert_eq!(
            got.content_type,
            want["content_type"].as_str().unwrap(),
            "{url}"
        );
        assert_eq!(
            got.cache_control,
            want["cache_control"].as_str().unwrap(),
            "{url}"
        );
        assert_eq!(
            cdnpub::site::state::sha256_hex(&got.body),
            want["sha256"].as_str().unwrap(),
            "{url}"
        );
    }
    refs.len()
}

/// The objects of an env's live release (the record is private: read through the S3 API).
fn latest_objects(tmp: &Path, env: &str, s3: &S3Server) -> serde_json::Map<String, Value> {
    let r = record(tmp, env, s3);
    let id = r[0]["live"].as_str().unwrap().to_string();
    let prefix = r[0]["target"]
        .as_str()
        .unwrap()
        .split_once(&format!("s3://{}/", s3.bucket))
        .unwrap()
        .1
        .to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use cdnpub::store::ObjectStore;
        let store = s3.store(&prefix).await;
        let bytes = store
            .get(&format!("_cdnpub/releases/{id}.json"))
            .await
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        v["objects"].as_object().unwrap().clone()
    })
}

#[test]
fn two_profiles_served_through_nginx_then_a_change_and_a_rollback() {
    let Some(bin) = nginx::binary() else { return };
    let s3 = S3Server::start();
    if s3.requests().is_none() {
        eprintln!("SKIPPED: needs the in-process S3 server (anonymous reads through nginx)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (pa, pb) = (s3.unique_prefix("e2e-a"), s3.unique_prefix("e2e-b"));
    let s3_port = s3.endpoint.rsplit(':').next().unwrap();
    let cdn = Nginx::start(
        bin,
        tmp.path(),
        &format!(
            "location ~ /_cdnpub/ {{ return 403; }}\n    \
             location /a/ {{ proxy_pass http://127.0.0.1:{s3_port}/{b}/{pa}/; }}\n    \
             location /b/ {{ proxy_pass http://127.0.0.1:{s3_port}/{b}/{pb}/; }}",
            b = s3.bucket
        ),
    );
    let origin_root = tmp.path().join("origin");
    fs::create_dir_all(&origin_root).unwrap();
    let origin = Nginx::start(bin, &origin_root, "");
    let src = tmp.path().join("dist");
    copy_tree(&fixtures().join("vite-vue/dist"), &src);
    fs::write(
        tmp.path().join("cdnpub.toml"),
        format!(
            "endpoint = \"{e}\"\npath_style = true\nregion = \"us-east-1\"\n\n\
             [env.a]\ncdn_server = \"{ca}\"\ntargets = [\"s3://{b}/{pa}\"]\n\n\
             [env.b]\ncdn_server = \"{cb}\"\ntargets = [\"s3://{b}/{pb}\"]\n",
            e = s3.endpoint,
            b = s3.bucket,
            ca = cdn.url("/a"),
            cb = cdn.url("/b"),
        ),
    )
    .unwrap();
    let publish = |env: &str| {
        cdnpub(tmp.path())
            .args(["--env", env, "-q", "publish"])
            .arg(&src)
            .arg("--out")
            .arg(origin_root.join(env))
            .env("AWS_ACCESS_KEY_ID", &s3.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key)
            .assert()
            .success();
    };
    for env in ["a", "b"] {
        publish(env);
        let page = get(&origin.url(&format!("/{env}/index.html")));
        assert_eq!(page.status, 200);
        assert!(page.content_type.starts_with("text/html"));
        let html = String::from_utf8(page.body).unwrap();
        let objects = latest_objects(tmp.path(), env, &s3);
        let n = check_assets(
            &html,
            &format!("{}/", cdn.url(&format!("/{env}"))),
            &objects,
        );
        assert!(n >= 3);
        // The CDN serves the same page, as no-cache HTML.
        let via_cdn = get(&cdn.url(&format!("/{env}/index.html")));
        assert_eq!(
            (via_cdn.status, via_cdn.cache_control.as_str()),
            (200, "no-cache")
        );
        assert_eq!(String::from_utf8(via_cdn.body).unwrap(), html);
        // Release records are not for the public.
        assert_eq!(
            get(&cdn.url(&format!("/{env}/_cdnpub/latest.json"))).status,
            403
        );
    }

    // A change to profile a, then a rollback: the old page is served again, assets all 200.
    let old = get(&cdn.url("/a/index.html")).body;
    common::retitle(&src.join("index.html"), "v2");
    publish("a");
    let new = String::from_utf8(get(&cdn.url("/a/index.html")).body).unwrap();
    assert!(new.contains("<title>v2 "));
    cdnpub(tmp.path())
        .args(["--env", "a", "-q", "rollback"])
        .env("AWS_ACCESS_KEY_ID", &s3.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key)
        .assert()
        .success();
    let back = get(&cdn.url("/a/index.html"));
    assert_eq!(back.body, old, "the old page is live again");
    let objects = latest_objects(tmp.path(), "a", &s3);
    check_assets(
        &String::from_utf8(back.body).unwrap(),
        &format!("{}/", cdn.url("/a")),
        &objects,
    );
    // Profile b never moved.
    assert!(!String::from_utf8(get(&cdn.url("/b/index.html")).body)
        .unwrap()
        .contains("v2"));
}
