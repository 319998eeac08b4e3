//! `cdnpub upload` through the binary against a real S3 server (in-process s3s-fs with SigV4,
//! or CDNPUB_TEST_S3_ENDPOINT), and against local directories.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};

use cdnpub::store::ObjectStore;
use common::s3::S3Server;
use common::{cdnpub, copy_tree, fixtures};
use serde_json::Value;

/// A built fixture tree at `<tmp>/public`.
fn built(tmp: &Path, fixture: &str) -> PathBuf {
    common::build_public(tmp, &fixtures().join(fixture), &["--brotli-quality", "4"])
}

/// `cdnpub upload DIR --to TO` against the server, with `secret` as the secret key (cwd beside DIR).
fn upload_cmd(server: &S3Server, dir: &Path, to: &str, secret: &str) -> assert_cmd::Command {
    let mut cmd = cdnpub(dir.parent().unwrap());
    cmd.args(["upload", "--path-style", "--endpoint", &server.endpoint])
        .arg(dir)
        .args(["--to", to])
        .env("AWS_ACCESS_KEY_ID", &server.access_key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE");
    cmd
}

fn upload(server: &S3Server, dir: &Path, to: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    upload_cmd(server, dir, to, &server.secret_key)
        .arg("--json")
        .args(extra)
        .assert()
}

fn json(a: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&a.get_output().stdout).unwrap()
}

fn puts(server: &S3Server) -> Option<Vec<String>> {
    server.requests().map(|r| {
        r.into_iter()
            .filter(|(m, _)| m == "PUT")
            .map(|(_, p)| p)
            .collect()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn first_upload_then_noop_then_one_change_in_order() {
    let server = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_tree(&fixtures().join("vue-cli"), &src);
    let dir = tmp.path().join("public");
    let build = |src: &Path| {
        cdnpub(tmp.path())
            .arg("build")
            .arg(src)
            .arg("--out")
            .arg(&dir)
            .args(["-q", "--brotli-quality", "4"])
            .assert()
            .success();
    };
    build(&src);
    let prefix = server.unique_prefix("cycle");
    let to = format!("s3://{}/{prefix}", server.bucket);

    // 1. First upload: every object, with its headers, plus a release record.
    let first = json(&upload(&server, &dir, &to, &[]).success());
    let t = &first["targets"][0];
    let manifest: Value =
        serde_json::from_slice(&fs::read(dir.join(".cdnpub/manifest.json")).unwrap()).unwrap();
    assert_eq!(
        t["uploaded"].as_array().unwrap().len(),
        manifest["files"].as_array().unwrap().len()
    );
    let s = server.store(&prefix).await;
    let html = s
        .head("mobile-vue/citizen/index.html")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(html.meta.cache_control.as_deref(), Some("no-cache"));
    assert_eq!(
        html.meta.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
    let js_key = manifest["renamed"]["mobile-vue/citizen/js/app.js"]["file"]
        .as_str()
        .unwrap()
        .to_string();
    let js = s.head(&js_key).await.unwrap().unwrap();
    assert_eq!(
        js.meta.cache_control.as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    // The default on a bucket (--encoding auto): the build's gzip under the plain key where
    // it made one; this 805-byte script is under the 1 KiB threshold and stays plain.
    assert_eq!(js.meta.content_encoding, None);
    assert_eq!(
        s.get(&js_key).await.unwrap().unwrap(),
        fs::read(dir.join(&js_key)).unwrap()
    );
    let big = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["encodings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["encoding"] == "gzip")
        })
        .expect("a file with a gzip variant");
    let big_key = big["path"].as_str().unwrap();
    let stored = s.head(big_key).await.unwrap().unwrap();
    assert_eq!(
        stored.meta.content_encoding.as_deref(),
        Some("gzip"),
        "{big_key}"
    );
    assert_eq!(
        s.get(big_key).await.unwrap().unwrap(),
        fs::read(dir.join(format!("{big_key}.gz"))).unwrap()
    );
    let release = t["release"].as_str().unwrap();
    assert!(s
        .get(&format!("_cdnpub/releases/{release}.json"))
        .await
        .unwrap()
        .is_some());

    // 2. Nothing changed: no PUT at all (not even a release record), one listing, two GETs
    // (the newest record, and the pointer, which must name it).
    server.clear();
    let again = json(&upload(&server, &dir, &to, &[]).success());
    assert_eq!(again["targets"][0]["uploaded"].as_array().unwrap().len(), 0);
    assert_eq!(
        again["targets"][0]["release"], release,
        "the latest release still describes the bucket"
    );
    if let Some(seen) = server.requests() {
        let puts: Vec<_> = seen.iter().filter(|(m, _)| m == "PUT").collect();
        assert!(puts.is_empty(), "a no-op upload must not PUT: {puts:?}");
        assert_eq!(
            seen.iter()
                .filter(|(m, p)| m == "GET" && !p.contains("list-type=2"))
                .count(),
            2,
            "{seen:?}"
        );
        assert_eq!(
            seen.iter()
                .filter(|(m, p)| m == "GET" && p.contains("list-type=2"))
                .count(),
            1,
            "{seen:?}"
        );
        assert_eq!(
            seen.iter().filter(|(m, _)| m == "HEAD").count(),
            0,
            "{seen:?}"
        );
    }

    // 3. One image changed: exactly the image, the CSS and JS naming it, and the HTML naming
    //    those are sent; the HTML after every asset, the record last.
    let mut png = fs::read(src.join("mobile-vue/citizen/img/logo.png")).unwrap();
    png.push(0);
    fs::write(src.join("mobile-vue/citizen/img/logo.png"), png).unwrap();
    build(&src);
    server.clear();
    let third = json(&upload(&server, &dir, &to, &[]).success());
    let sent: Vec<String> = third["targets"][0]["uploaded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let names: Vec<&str> = sent.iter().map(|k| k.rsplit('/').next().unwrap()).collect();
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert!(
        names[..3]
            .iter()
            .all(|n| n.starts_with("logo.") || n.starts_with("app.")),
        "{names:?}"
    );
    assert_eq!(sent[3], "mobile-vue/citizen/index.html");
    if let Some(p) = puts(&server) {
        assert_eq!(p.len(), 7, "{p:?}");
        let html_at = p
            .iter()
            .position(|x| x.contains("citizen/index.html"))
            .unwrap();
        assert_eq!(html_at, 4, "HTML after every asset: {p:?}");
        assert!(
            p[3].contains("_cdnpub/objects/"),
            "the page's rollback copy before the page: {p:?}"
        );
        assert!(
            p[5].contains("_cdnpub/releases/"),
            "record after the HTML: {p:?}"
        );
        assert!(p[6].contains("_cdnpub/latest.json"), "pointer last: {p:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_writes_nothing() {
    let server = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = built(tmp.path(), "forms");
    let prefix = server.unique_prefix("dry");
    let out = json(
        &upload(
            &server,
            &dir,
            &format!("s3://{}/{prefix}", server.bucket),
            &["--dry-run"],
        )
        .success(),
    );
    assert!(out["targets"][0]["uploaded"].as_array().unwrap().len() > 10);
    assert!(server.store(&prefix).await.list().await.unwrap().is_empty());
    if let Some(p) = puts(&server) {
        assert!(p.is_empty(), "{p:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deletes_keep_recent_releases_and_respect_the_cap() {
    let server = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let prefix = server.unique_prefix("delete");
    let to = format!("s3://{}/{prefix}", server.bucket);
    let dir = tmp.path().join("site");
    let release = |n: usize, extra: &[&str]| {
        fs::create_dir_all(&dir).unwrap();
        for f in fs::read_dir(&dir).unwrap() {
            fs::remove_file(f.unwrap().path()).unwrap();
        }
        fs::write(
            dir.join("index.html"),
            format!("<script src=app-{n:08}.js></script>"),
        )
        .unwrap();
        fs::write(dir.join(format!("app-Abcd{n:04}.js")), format!("v{n}")).unwrap();
        upload(&server, &dir, &to, extra)
    };
    for n in 1..=4 {
        release(n, &["--delete", "--keep-releases", "2"]).success();
    }
    let s = server.store(&prefix).await;
    let keys: Vec<String> = s
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.key)
        .filter(|k| !k.starts_with("_cdnpub/"))
        .collect();
    // --keep-releases 2: release 4 (this one) and release 3 are kept; 1 and 2 are gone.
    assert_eq!(
        keys,
        ["app-Abcd0003.js", "app-Abcd0004.js", "index.html"],
        "{keys:?}"
    );
    // Over the cap: an error, and nothing deleted or uploaded.
    let before = s.list().await.unwrap();
    release(
        5,
        &["--delete", "--keep-releases", "0", "--max-deletes", "1"],
    )
    .code(1)
    .stdout(predicates::str::contains("--max-deletes"));
    assert_eq!(s.list().await.unwrap().len(), before.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_credentials_fail_clearly_and_write_nothing() {
    let server = S3Server::start();
    if !server.checks_auth() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = built(tmp.path(), "forms");
    let prefix = server.unique_prefix("creds");
    let to = format!("s3://{}/{prefix}", server.bucket);
    let a = upload_cmd(&server, &dir, &to, "wrong-secret-value-1234")
        .assert()
        .code(1);
    let out = String::from_utf8_lossy(&a.get_output().stderr).to_string()
        + &String::from_utf8_lossy(&a.get_output().stdout);
    assert!(
        out.contains("SignatureDoesNotMatch")
            || out.contains("InvalidAccessKeyId")
            || out.contains("AccessDenied"),
        "{out}"
    );
    assert!(
        !out.contains("wrong-secret-value-1234") && !out.contains(&server.secret_key),
        "secret printed: {out}"
    );
    assert!(server.store(&prefix).await.list().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn two_targets_each_get_the_full_upload_and_one_failing_is_reported() {
    let server = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = built(tmp.path(), "forms");
    let prefix = server.unique_prefix("two");
    let local = tmp.path().join("mirror");
    let a = upload(
        &server,
        &dir,
        &format!("s3://{}/{prefix}", server.bucket),
        &["--to", local.to_str().unwrap(), "--encoding", "identity"],
    )
    .success();
    let out = json(&a);
    let n = |i: usize| out["targets"][i]["uploaded"].as_array().unwrap().len();
    assert_eq!(n(0), n(1));
    assert!(local.join("index.html").is_file() && local.join("_cdnpub/releases").is_dir());
    // A bucket that does not exist fails its target; the other still completes.
    let local2 = tmp.path().join("mirror2");
    let a = upload(
        &server,
        &dir,
        "s3://no-such-bucket-cdnpub/x",
        &["--to", local2.to_str().unwrap(), "--encoding", "identity"],
    )
    .code(1);
    let out = json(&a);
    assert!(out["targets"][0]["error"]
        .as_str()
        .unwrap()
        .contains("NoSuchBucket"));
    assert!(out["targets"][1]["error"].is_null());
    assert!(local2.join("index.html").is_file());
}

#[tokio::test(flavor = "multi_thread")]
async fn large_files_go_up_in_parts_and_arrive_whole() {
    let server = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("site");
    fs::create_dir_all(&dir).unwrap();
    let big: Vec<u8> = (0..20 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    fs::write(dir.join("video-Abcd1234.mp4"), &big).unwrap();
    fs::write(dir.join("index.html"), "<video src=video-Abcd1234.mp4>").unwrap();
    let prefix = server.unique_prefix("multipart");
    upload(
        &server,
        &dir,
        &format!("s3://{}/{prefix}", server.bucket),
        &[],
    )
    .success();
    let s = server.store(&prefix).await;
    assert_eq!(s.get("video-Abcd1234.mp4").await.unwrap().unwrap(), big);
    let head = s.head("video-Abcd1234.mp4").await.unwrap().unwrap();
    assert_eq!(
        head.meta.cache_control.as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(head.meta.content_type.as_deref(), Some("video/mp4"));
    assert!(head.meta.metadata.contains_key("sha256"));
    if let Some(seen) = server.requests() {
        let parts = seen
            .iter()
            .filter(|(m, p)| m == "PUT" && p.contains("partNumber="))
            .count();
        assert_eq!(parts, 3, "20 MiB in 8 MiB parts: {seen:?}");
        assert!(
            seen.iter()
                .any(|(m, p)| m == "POST" && p.contains("uploads")),
            "{seen:?}"
        );
    }
}

/// `aws s3api …` against the server, as JSON; None (with a visible message) when awscli is absent
/// outside CI.
fn aws(server: &S3Server, args: &[&str]) -> Option<Value> {
    let found = std::process::Command::new("aws")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !common::in_ci(),
            "awscli is required under CI (.ci/run installs it with pip)"
        );
        eprintln!("SKIPPED: awscli is not installed (pip install awscli); the check by a client that is not ours did not run");
        return None;
    }
    let out = std::process::Command::new("aws")
        .args([
            "--endpoint-url",
            &server.endpoint,
            "--output",
            "json",
            "s3api",
        ])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", &server.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &server.secret_key)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "aws s3api {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_is_not_ours_sees_bodies_and_headers() {
    let server = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = built(tmp.path(), "forms");
    let prefix = server.unique_prefix("awscli");
    upload(
        &server,
        &dir,
        &format!("s3://{}/{prefix}", server.bucket),
        &["--encoding", "gzip"],
    )
    .success();
    let manifest: Value =
        serde_json::from_slice(&fs::read(dir.join(".cdnpub/manifest.json")).unwrap()).unwrap();
    let css = manifest["renamed"]["css/site.css"]["file"]
        .as_str()
        .unwrap();
    let key = |k: &str| format!("{prefix}/{k}");
    let Some(listed) = aws(
        &server,
        &[
            "list-objects-v2",
            "--bucket",
            &server.bucket,
            "--prefix",
            &format!("{prefix}/"),
        ],
    ) else {
        return;
    };
    let keys: Vec<&str> = listed["Contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["Key"].as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&key("index.html").as_str()) && keys.contains(&key(css).as_str()),
        "{keys:?}"
    );
    let html = aws(
        &server,
        &[
            "head-object",
            "--bucket",
            &server.bucket,
            "--key",
            &key("index.html"),
        ],
    )
    .unwrap();
    assert_eq!(html["ContentType"], "text/html; charset=utf-8");
    assert_eq!(html["CacheControl"], "no-cache");
    let asset = aws(
        &server,
        &[
            "head-object",
            "--bucket",
            &server.bucket,
            "--key",
            &key(css),
        ],
    )
    .unwrap();
    assert_eq!(asset["ContentType"], "text/css; charset=utf-8");
    assert_eq!(asset["CacheControl"], "public, max-age=31536000, immutable");
    assert_eq!(
        asset["ContentEncoding"], "gzip",
        "--encoding gzip stores the .gz under the plain key"
    );
    let body = tmp.path().join("body");
    aws(
        &server,
        &[
            "get-object",
            "--bucket",
            &server.bucket,
            "--key",
            &key(css),
            body.to_str().unwrap(),
        ],
    )
    .unwrap();
    assert_eq!(
        common::gunzip(&fs::read(&body).unwrap()),
        fs::read(dir.join(css)).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_output_never_shows_credentials() {
    let server = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = built(tmp.path(), "forms");
    let prefix = server.unique_prefix("verbose");
    for (secret, ok) in [
        (server.secret_key.as_str(), true),
        ("wrong-secret-0000000000000000000000", false),
    ] {
        let a = upload_cmd(
            &server,
            &dir,
            &format!("s3://{}/{prefix}", server.bucket),
            secret,
        )
        .arg("-vv")
        .assert();
        let out = a.get_output();
        assert_eq!(out.status.success(), ok || !server.checks_auth());
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for needle in [
            server.access_key.as_str(),
            secret,
            "Authorization",
            "authorization",
            "X-Amz-Signature",
        ] {
            assert!(!text.contains(needle), "{needle:?} appeared in -vv output");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn off_a_terminal_objects_get_a_line_each_only_with_v() {
    let server = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = built(tmp.path(), "forms");
    let run = |prefix: &str, extra: &[&str]| {
        let out = upload_cmd(
            &server,
            &dir,
            &format!("s3://{}/{prefix}", server.bucket),
            &server.secret_key,
        )
        .args(extra)
        .assert()
        .success()
        .get_output()
        .clone();
        (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (_, stderr) = run(&server.unique_prefix("progress-plain"), &[]);
    assert!(
        !stderr.contains("  put "),
        "no per-object lines without -v: {stderr}"
    );
    let (stdout, stderr) = run(&server.unique_prefix("progress"), &["-v"]);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("  put ")).collect();
    let total = lines.len();
    assert!(total > 10, "{stderr}");
    assert!(
        lines.iter().any(|l| l.starts_with("  put index.html (")),
        "{stderr}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(&format!("({total}/{total})"))),
        "{stderr}"
    );
    assert!(
        stdout.contains(&format!("uploaded {total} objects")),
        "{stdout}"
    );
    for quiet in [&["-v", "--json"][..], &["-q"][..]] {
        let (_, stderr) = run(&server.unique_prefix("progress-quiet"), quiet);
        assert!(!stderr.contains("  put "), "{quiet:?}: {stderr}");
    }
    let (stdout, stderr) = run(&server.unique_prefix("progress-dry"), &["--dry-run"]);
    assert!(
        !stderr.contains("  put ") && stdout.contains("  put index.html"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_check_bucket_never_lists_and_trusts_the_latest_record() {
    let server = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = built(tmp.path(), "forms");
    let to = format!("s3://{}/{}", server.bucket, server.unique_prefix("nolist"));
    let first = json(&upload(&server, &dir, &to, &["--no-check-bucket"]).success());
    let n = first["targets"][0]["uploaded"].as_array().unwrap().len();
    assert!(n > 10);
    server.clear();
    let again = json(&upload(&server, &dir, &to, &["--no-check-bucket"]).success());
    assert_eq!(again["targets"][0]["uploaded"].as_array().unwrap().len(), 0);
    assert_eq!(
        again["targets"][0]["release"],
        first["targets"][0]["release"]
    );
    if let Some(seen) = server.requests() {
        assert!(
            !seen.iter().any(|(_, p)| p.contains("list-type")),
            "no LIST: {seen:?}"
        );
        assert!(
            seen.iter().all(|(m, _)| m == "GET"),
            "only the pointer and the record: {seen:?}"
        );
    }
    upload(&server, &dir, &to, &["--no-check-bucket", "--delete"])
        .code(2)
        .stderr(predicates::str::contains("--no-check-bucket"));
}

/// Write `<tmp>/cdnpub.toml` with a `prod` profile naming two targets on the server, the
/// endpoint, path-style, and a Cache-Control rule for CSS.
fn profile(server: &S3Server, tmp: &Path, prefixes: [&str; 2], css_cache: &str) {
    let b = &server.bucket;
    fs::write(
        tmp.join("cdnpub.toml"),
        format!(
            r#"[env.prod]
targets = ["s3://{b}/{}", "s3://{b}/{}"]
endpoint = "{}"
region = "us-east-1"
path_style = true

[[env.prod.headers]]
glob = "**/*.css"
cache_control = "{css_cache}"

[[env.prod.headers]]
glob = "robots.txt"
content_type = "text/plain; charset=us-ascii"
"#,
            prefixes[0], prefixes[1], server.endpoint
        ),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn profile_targets_and_header_rules_and_a_rule_change_resends_only_its_keys() {
    let server = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = built(tmp.path(), "vue-cli");
    let prefixes = [
        server.unique_prefix("prof-a"),
        server.unique_prefix("prof-b"),
    ];
    let run = || {
        let mut cmd = cdnpub(tmp.path());
        cmd.args(["--env", "prod", "upload", "--json"])
            .arg(&dir)
            .env("AWS_ACCESS_KEY_ID", &server.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &server.secret_key)
            .env_remove("AWS_REGION")
            .env_remove("AWS_PROFILE");
        json(&cmd.assert().success())
    };
    profile(
        &server,
        tmp.path(),
        [&prefixes[0], &prefixes[1]],
        "public, max-age=600",
    );
    let first = run();
    let manifest: Value =
        serde_json::from_slice(&fs::read(dir.join(".cdnpub/manifest.json")).unwrap()).unwrap();
    let css: Vec<String> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .filter(|p| p.ends_with(".css"))
        .collect();
    assert_eq!(css.len(), 2, "{css:?}");
    for (i, prefix) in prefixes.iter().enumerate() {
        let t = &first["targets"][i];
        assert_eq!(
            t["target"].as_str().unwrap(),
            format!("s3://{}/{prefix}", server.bucket)
        );
        assert_eq!(
            t["uploaded"].as_array().unwrap().len(),
            manifest["files"].as_array().unwrap().len()
        );
        let s = server.store(prefix).await;
        let head = s.head(&css[0]).await.unwrap().unwrap();
        assert_eq!(
            head.meta.cache_control.as_deref(),
            Some("public, max-age=600")
        );
        assert_eq!(
            head.meta.content_type.as_deref(),
            Some("text/css; charset=utf-8")
        );
        let robots = s.head("robots.txt").await.unwrap().unwrap();
        assert_eq!(
            robots.meta.content_type.as_deref(),
            Some("text/plain; charset=us-ascii")
        );
        assert_eq!(robots.meta.cache_control.as_deref(), Some("no-cache"));
    }

    // Same rules: nothing sent. Changed CSS rule: exactly the CSS keys, on both targets.
    let same = run();
    assert_eq!(same["targets"][0]["uploaded"], serde_json::json!([]));
    profile(
        &server,
        tmp.path(),
        [&prefixes[0], &prefixes[1]],
        "public, max-age=60",
    );
    let changed = run();
    for (i, prefix) in prefixes.iter().enumerate() {
        let mut sent: Vec<String> = changed["targets"][i]["uploaded"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect();
        sent.sort();
        assert_eq!(sent, css);
        let s = server.store(prefix).await;
        let head = s.head(&css[1]).await.unwrap().unwrap();
        assert_eq!(
            head.meta.cache_control.as_deref(),
            Some("public, max-age=60")
        );
    }

    // A flag beats the profile: --to sends to that target only.
    let local = tmp.path().join("mirror");
    let mut cmd = cdnpub(tmp.path());
    let out = cmd
        .args(["--env", "prod", "upload", "--json"])
        .arg(&dir)
        .arg("--to")
        .arg(&local)
        .assert()
        .success();
    assert_eq!(json(&out)["targets"].as_array().unwrap().len(), 1);
    assert!(local.join("robots.txt").is_file());

    // A bad rule is named with the file.
    fs::write(
        tmp.path().join("cdnpub.toml"),
        "[[headers]]\nglob = \"*.js\"\ncache_control = \"max-age=1\\r\\nX-Evil: 1\"\n",
    )
    .unwrap();
    let err = cdnpub(tmp.path())
        .args(["upload"])
        .arg(&dir)
        .arg("--to")
        .arg(&local)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&err.get_output().stderr).to_string();
    assert!(
        err.contains("cdnpub.toml")
            && err.contains("[[headers]] #1")
            && err.contains("cache_control"),
        "{err}"
    );
    // No target anywhere: a usage error saying how to give one.
    fs::remove_file(tmp.path().join("cdnpub.toml")).unwrap();
    let err = cdnpub(tmp.path()).arg("upload").arg(&dir).assert().code(2);
    assert!(String::from_utf8_lossy(&err.get_output().stderr).contains("--to"));
}

/// `--encoding identity --siblings` on a bucket: every compressible file has both sibling keys
/// (the edge function rewrites by extension alone), each the build's variant with its
/// Content-Encoding, or the plain bytes without one where the build made none; other files
/// get none.
#[tokio::test(flavor = "multi_thread")]
async fn siblings_on_a_bucket_give_every_compressible_file_both_keys() {
    let server = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = built(tmp.path(), "forms");
    let prefix = server.unique_prefix("fill");
    let to = format!("s3://{}/{prefix}", server.bucket);
    upload(
        &server,
        &dir,
        &to,
        &["--encoding", "identity", "--siblings"],
    )
    .success();
    let manifest = common::manifest(&dir);
    let s = server.store(&prefix).await;
    let (mut variants, mut filled, mut none) = (0, 0, 0);
    for f in manifest["files"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap();
        let plain = s.head(path).await.unwrap().unwrap();
        assert_eq!(plain.meta.content_encoding, None, "{path}");
        for (name, ext) in [("gzip", "gz"), ("br", "br")] {
            let key = format!("{path}.{ext}");
            let got = s.head(&key).await.unwrap();
            if !cdnpub::site::classify::compressible(path) {
                assert!(got.is_none(), "{key} stored for an incompressible file");
                none += 1;
                continue;
            }
            let got = got.unwrap_or_else(|| panic!("{key} missing"));
            let body = s.get(&key).await.unwrap().unwrap();
            let variant = f["encodings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["encoding"] == name);
            match variant {
                Some(v) => {
                    assert_eq!(got.meta.content_encoding.as_deref(), Some(name), "{key}");
                    assert_eq!(
                        body,
                        fs::read(dir.join(v["path"].as_str().unwrap())).unwrap()
                    );
                    variants += 1;
                }
                None => {
                    assert_eq!(got.meta.content_encoding, None, "{key}");
                    assert_eq!(body, fs::read(dir.join(path)).unwrap(), "{key}");
                    filled += 1;
                }
            }
        }
    }
    assert!(
        variants > 0 && filled > 0 && none > 0,
        "{variants} {filled} {none}"
    );
}

#[test]
fn a_cos_bucket_without_its_appid_is_refused_before_any_request() {
    // COS names buckets <name>-<APPID>: without it every request would be NoSuchBucket. The
    // endpoint is not reachable from here; the refusal comes before any request is made.
    let tmp = tempfile::tempdir().unwrap();
    let public = common::build_public(tmp.path(), &fixtures().join("vite-vue/dist"), &[]);
    let a = cdnpub(tmp.path())
        .args([
            "upload",
            "--endpoint",
            "https://cos.ap-guangzhou.myqcloud.com",
            "--to",
            "s3://web/site",
        ])
        .arg(&public)
        .env("TENCENTCLOUD_SECRET_ID", "AKIDcdnpubTest")
        .env("TENCENTCLOUD_SECRET_KEY", "cdnpubCosSecretDoNotPrint")
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("APPID") && err.contains("s3://web-1250000000"),
        "{err}"
    );
    assert!(!err.contains("cdnpubCosSecretDoNotPrint"));
}
