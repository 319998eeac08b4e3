//! One conformance suite that every object store passes: the local directory store and the S3
//! store against a real S3 server (in-process s3s-fs checking SigV4, or CDNPUB_TEST_S3_ENDPOINT).

use crate::common;

use std::collections::BTreeMap;

use cdnpub::store::local::LocalStore;
use cdnpub::store::s3::{S3Options, S3Store};
use cdnpub::store::{Meta, ObjectStore};
use common::s3::S3Server;

fn meta(ct: &str, sha: &str) -> Meta {
    Meta {
        content_type: Some(ct.into()),
        cache_control: Some("public, max-age=31536000, immutable".into()),
        content_encoding: Some("gzip".into()),
        metadata: BTreeMap::from([("sha256".to_string(), sha.to_string())]),
    }
}

async fn conformance<S: ObjectStore>(store: &S) {
    let what = store.describe();
    assert!(
        store.list().await.unwrap().is_empty(),
        "{what}: not empty at start"
    );
    store
        .put(
            "assets/app.js",
            b"console.log(1)".to_vec(),
            &meta("text/javascript; charset=utf-8", "aa"),
        )
        .await
        .unwrap();
    store
        .put(
            "index.html",
            b"<html></html>".to_vec(),
            &Meta {
                content_type: Some("text/html; charset=utf-8".into()),
                cache_control: Some("no-cache".into()),
                ..Meta::default()
            },
        )
        .await
        .unwrap();
    let odd = "dir/with space/文件 (1)+x.txt";
    store
        .put(odd, b"odd".to_vec(), &Meta::default())
        .await
        .unwrap();

    let listed = store.list().await.unwrap();
    let keys: Vec<&str> = listed.iter().map(|l| l.key.as_str()).collect();
    assert_eq!(keys, ["assets/app.js", odd, "index.html"], "{what}");
    assert_eq!(listed[0].size, 14);
    // s3s-fs lists without ETags (S3, OSS and MinIO send them): an ETag may be missing, never quoted.
    assert!(
        !listed[0].etag.contains('"'),
        "{what}: etag {:?}",
        listed[0].etag
    );

    let head = store.head("assets/app.js").await.unwrap().unwrap();
    assert_eq!(head.size, 14);
    assert_eq!(
        head.meta,
        meta("text/javascript; charset=utf-8", "aa"),
        "{what}"
    );
    assert_eq!(store.get(odd).await.unwrap().unwrap(), b"odd");

    store
        .put(
            "assets/app.js",
            b"console.log(2);".to_vec(),
            &meta("text/javascript; charset=utf-8", "bb"),
        )
        .await
        .unwrap();
    assert_eq!(
        store.get("assets/app.js").await.unwrap().unwrap(),
        b"console.log(2);"
    );
    assert_eq!(
        store
            .head("assets/app.js")
            .await
            .unwrap()
            .unwrap()
            .meta
            .metadata["sha256"],
        "bb"
    );

    assert_eq!(store.get("missing.js").await.unwrap(), None, "{what}");
    assert_eq!(store.head("missing.js").await.unwrap(), None, "{what}");

    store
        .delete(&[
            "assets/app.js".to_string(),
            "never-existed".to_string(),
            odd.to_string(),
        ])
        .await
        .unwrap();
    let keys: Vec<String> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.key)
        .collect();
    assert_eq!(keys, ["index.html"], "{what}");
}

fn s3(server: &S3Server, prefix: &str, secret: Option<&str>, bucket: Option<&str>) -> S3Options {
    S3Options {
        bucket: bucket.unwrap_or(&server.bucket).to_string(),
        prefix: prefix.to_string(),
        endpoint: Some(server.endpoint.clone()),
        region: Some("us-east-1".into()),
        path_style: true,
        keys: Some((
            server.access_key.clone(),
            secret.unwrap_or(&server.secret_key).to_string(),
        )),
        timeouts: Default::default(),
    }
}

#[tokio::test]
async fn local_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance(&LocalStore::new(dir.path().join("site"))).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_store_conforms_against_a_real_server() {
    let server = S3Server::start();
    let prefix = server.unique_prefix("conformance");
    let store = S3Store::connect(s3(&server, &prefix, None, None))
        .await
        .unwrap();
    conformance(&store).await;
    // Every request was signed and accepted; the delete went out as one DeleteObjects.
    if let Some(seen) = server.requests() {
        assert_eq!(
            seen.iter()
                .filter(|(m, p)| m == "POST" && p.contains("delete"))
                .count(),
            1,
            "{seen:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_never_leave_a_local_target() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path().join("site"));
    for bad in ["../escape.txt", "/etc/passwd", "a/../../b", ""] {
        assert!(
            store
                .put(bad, b"x".to_vec(), &Meta::default())
                .await
                .is_err(),
            "{bad}"
        );
    }
    assert!(!dir.path().join("escape.txt").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_secret_is_refused_with_a_clear_error_and_nothing_is_written() {
    let server = S3Server::start();
    if !server.checks_auth() {
        return;
    }
    let prefix = server.unique_prefix("wrong-secret");
    let bad = S3Store::connect(s3(&server, &prefix, Some("not-the-secret"), None))
        .await
        .unwrap();
    let err = bad
        .put("x.txt", b"x".to_vec(), &Meta::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("SignatureDoesNotMatch")
            || err.contains("InvalidAccessKeyId")
            || err.contains("AccessDenied"),
        "{err}"
    );
    assert!(
        !err.contains(&server.secret_key) && !err.contains("not-the-secret"),
        "a secret was printed: {err}"
    );
    let good = S3Store::connect(s3(&server, &prefix, None, None))
        .await
        .unwrap();
    assert!(good.list().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_bucket_and_endpoint_down_are_named() {
    let server = S3Server::start();
    let store = S3Store::connect(s3(&server, "p", None, Some("no-such-bucket-cdnpub")))
        .await
        .unwrap();
    let err = store.list().await.unwrap_err().to_string();
    assert!(
        err.contains("NoSuchBucket") && err.contains("s3://no-such-bucket-cdnpub"),
        "{err}"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut opts = s3(&server, "p", None, None);
    opts.endpoint = Some(format!("http://127.0.0.1:{port}"));
    let down = S3Store::connect(opts).await.unwrap();
    let started = std::time::Instant::now();
    let err = down.list().await.unwrap_err().to_string();
    assert!(err.contains(&server.bucket), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn virtual_hosted_by_default_path_style_on_request() {
    // The addresses the configured client would send to (computed locally, no request made):
    // OSS refuses path-style (SecondLevelDomainForbidden), MinIO usually needs it.
    let opts = |path_style: bool| S3Options {
        bucket: "my-site".into(),
        prefix: "web/prod".into(),
        endpoint: Some("https://oss-cn-hangzhou.aliyuncs.com".into()),
        region: Some("cn-hangzhou".into()),
        path_style,
        keys: Some(("id".into(), "secret".into())),
        timeouts: Default::default(),
    };
    let vhost = S3Store::connect(opts(false)).await.unwrap();
    assert_eq!(
        vhost.object_url("js/app.1234567890.js").await.unwrap(),
        "https://my-site.oss-cn-hangzhou.aliyuncs.com/web/prod/js/app.1234567890.js"
    );
    let path = S3Store::connect(opts(true)).await.unwrap();
    assert_eq!(
        path.object_url("index.html").await.unwrap(),
        "https://oss-cn-hangzhou.aliyuncs.com/my-site/web/prod/index.html"
    );
}

/// `list_near` plans its requests from the expected keys and runs them at once; whatever the
/// expectation (exact, stale, empty, beyond every key, missing a directory), the result is the
/// plain listing.
#[tokio::test(flavor = "multi_thread")]
async fn ranged_listing_equals_the_plain_one_whatever_was_expected() {
    let server = S3Server::start();
    let prefix = server.unique_prefix("ranges");
    let store = S3Store::connect(s3(&server, &prefix, None, None))
        .await
        .unwrap()
        .with_list_page(5);
    // 60 files in assets/ and 68 keys in all: with pages of 5 that is over 10 pages, so
    // assets/ (a page of files and more) is listed one level deep.
    let mut stored: Vec<String> = (0..60).map(|i| format!("assets/f{i:02}.js")).collect();
    stored.extend(
        [
            "assets/f05.js.gz",
            "index.html",
            "_cdnpub/releases/20261125T000000Z-aa.json",
            "dir/with space/文件 (1)+x.txt",
            "z/é/ü.txt",
            "z/é/ü.txt.br",
            "z/éa",
            "assets/sub/deep/x.js",
        ]
        .map(String::from),
    );
    for k in &stored {
        store
            .put(k, k.as_bytes().to_vec(), &Meta::default())
            .await
            .unwrap();
    }
    stored.sort();
    let plain = store.list().await.unwrap();
    let plain_keys: Vec<&str> = plain.iter().map(|l| l.key.as_str()).collect();
    assert_eq!(plain_keys, stored, "plain listing");

    let mut stale: Vec<String> = stored.iter().step_by(2).cloned().collect();
    stale.extend(["assets/", "assets/f05.jsa", "b", "z/é", "zz", "0"].map(String::from));
    stale.sort();
    let beyond: Vec<String> = (0..12).map(|i| format!("~~{i:02}")).collect();
    let unexpected_subdir: Vec<String> = stored
        .iter()
        .filter(|k| !k.contains("sub/"))
        .cloned()
        .collect();
    for (name, expected) in [
        ("exact", stored.clone()),
        (
            "a walked directory holds an unexpected one",
            unexpected_subdir,
        ),
        ("stale", stale),
        ("empty", Vec::new()),
        ("beyond every key", beyond),
    ] {
        server.clear();
        assert_eq!(store.list_near(&expected).await.unwrap(), plain, "{name}");
        if name == "exact" {
            if let Some(seen) = server.requests() {
                let lists: Vec<&String> = seen
                    .iter()
                    .map(|(_, p)| p)
                    .filter(|p| p.contains("list-type=2"))
                    .collect();
                // About one request per page of keys: ceil(68 / 5) = 14 pages, plus the root's
                // one-level listing and one range for the small directories on each side of
                // assets/ (which holds a page of files directly, so it is walked).
                assert!(lists.len() <= stored.len().div_ceil(5) + 3, "{lists:?}");
                // assets/ is listed one level deep, in ranges split at its own files, so a
                // server that keeps objects as files reads that one directory per request.
                let walked = lists
                    .iter()
                    .filter(|p| p.contains("delimiter=%2F") && p.contains("%2Fassets%2F"))
                    .count();
                assert!(walked >= 12, "{lists:?}");
            }
        }
    }
}
