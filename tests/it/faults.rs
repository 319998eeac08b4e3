//! Reliability: uploads through a fault-injecting proxy (tests/it/common/faults.rs) in front of the
//! real in-process S3 server; a store going down mid-run; kill -9 at random moments. Every
//! check reads the server's own files (no S3 client involved) or its request log.

use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::faults::{FaultProxy, Faults};
use common::s3::S3Server;
use common::{cdnpub, fixtures};
use serde_json::Value;

/// Build `fixture` into `<tmp>/public`.
fn built(tmp: &Path, src: &Path) -> PathBuf {
    common::build_public(tmp, src, &["--brotli-quality", "4"])
}

/// `cdnpub --json ARGS… --to s3://bucket/prefix` through `endpoint`, with the server's keys.
fn on_s3(
    cwd: &Path,
    endpoint: &str,
    server: &S3Server,
    prefix: &str,
    args: &[&str],
) -> assert_cmd::Command {
    let mut c = cdnpub(cwd);
    c.arg("--json")
        .args(args)
        .args(["--path-style", "--endpoint", endpoint])
        .args(["--to", &format!("s3://{}/{prefix}", server.bucket)])
        .env("AWS_ACCESS_KEY_ID", &server.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &server.secret_key)
        .env("AWS_REGION", "us-east-1");
    c
}

fn upload(endpoint: &str, server: &S3Server, dir: &Path, prefix: &str) -> assert_cmd::Command {
    on_s3(
        dir.parent().unwrap(),
        endpoint,
        server,
        prefix,
        // Plain bytes under plain keys: the checks compare stored bodies with content hashes.
        &["upload", "--encoding", "identity", dir.to_str().unwrap()],
    )
}

/// Upload `dir` (plain bytes under plain keys) through `proxy`, which holds a PUT unanswered;
/// once one is held (at most a minute), kill the client as `kill -9` would. True when a PUT was
/// held: the kill landed mid-upload, at that PUT.
fn kill_while_a_put_is_held(
    proxy: &FaultProxy,
    server: &S3Server,
    dir: &Path,
    prefix: &str,
    extra: &[&str],
) -> bool {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cdnpub"))
        .current_dir(dir.parent().unwrap())
        .args(["upload", "-q", "--encoding", "identity", "--path-style"])
        .args(["--endpoint", &proxy.endpoint])
        .args(extra)
        .arg(dir)
        .args(["--to", &format!("s3://{}/{prefix}", server.bucket)])
        .env("AWS_ACCESS_KEY_ID", &server.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &server.secret_key)
        .env("AWS_REGION", "us-east-1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let held = proxy.wait_held(Duration::from_secs(60));
    child.kill().unwrap();
    child.wait().unwrap();
    held
}

/// The in-process S3 server, or None (saying the test is skipped) for an external endpoint,
/// whose requests and files a test cannot see.
fn in_process_server() -> Option<S3Server> {
    let server = S3Server::start();
    if server.requests().is_none() {
        eprintln!("SKIPPED: needs the in-process S3 server");
        return None;
    }
    Some(server)
}

/// Manifest files (plain keys) with their sha256.
fn manifest(dir: &Path) -> BTreeMap<String, (String, bool)> {
    let m: Value =
        serde_json::from_slice(&fs::read(dir.join(".cdnpub/manifest.json")).unwrap()).unwrap();
    m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                (
                    f["sha256"].as_str().unwrap().to_string(),
                    f["immutable"].as_bool().unwrap(),
                ),
            )
        })
        .collect()
}

/// Every object of the tree is on the server with the tree's bytes (read from the server's files).
fn assert_stored(server: &S3Server, prefix: &str, dir: &Path) -> usize {
    let files = manifest(dir);
    for (key, (sha, _)) in &files {
        let path = server.stored_file(&format!("{prefix}/{key}")).unwrap();
        let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(&cdnpub::site::state::sha256_hex(&bytes), sha, "{key}");
    }
    files.len()
}

/// Headers through awscli, a client that is not ours (when installed): every page and every
/// twelfth other object (one process per object is slow).
fn assert_headers_with_awscli(server: &S3Server, prefix: &str, dir: &Path) {
    if std::process::Command::new("aws")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("awscli missing: headers checked by the bytes only");
        return;
    }
    for (i, (key, (_, immutable))) in manifest(dir).into_iter().enumerate() {
        if !i.is_multiple_of(12) && !key.ends_with(".html") {
            continue;
        }
        let out = std::process::Command::new("aws")
            .args(["--endpoint-url", &server.endpoint, "s3api", "head-object"])
            .args([
                "--bucket",
                &server.bucket,
                "--key",
                &format!("{prefix}/{key}"),
            ])
            .env("AWS_ACCESS_KEY_ID", &server.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &server.secret_key)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .output()
            .unwrap();
        assert!(out.status.success(), "{key}");
        let head: Value = serde_json::from_slice(&out.stdout).unwrap();
        let cc = head["CacheControl"].as_str().unwrap();
        assert_eq!(cc.contains("immutable"), immutable, "{key}: {cc}");
        assert_eq!(
            head["ContentType"].as_str().unwrap(),
            cdnpub::site::classify::content_type(&key),
            "{key}"
        );
    }
}

/// Position of the last PUT of each key in the server's log.
fn put_positions(server: &S3Server) -> Vec<String> {
    server
        .requests()
        .unwrap()
        .into_iter()
        .filter(|(m, _)| m == "PUT")
        .map(|(_, p)| p.split('?').next().unwrap().to_string())
        .collect()
}

#[test]
fn an_upload_through_errors_resets_and_delays_lands_every_object_in_order() {
    let Some(server) = in_process_server() else {
        return;
    };
    let mut injected = 0;
    for seed in [1, 2, 3] {
        // The real vue-cli fixture, then a bigger generated tree (156 objects) for more faults.
        let tmp = tempfile::tempdir().unwrap();
        let src = if seed == 1 {
            fixtures().join("vue-cli")
        } else {
            let s = tmp.path().join("src");
            many_files(&s);
            s
        };
        let dir = built(tmp.path(), &src);
        let proxy = FaultProxy::start(
            &server.endpoint,
            Faults {
                error_pct: 10,
                reset_pct: 5,
                delay_pct: 3,
                delay: Duration::from_secs(2),
                seed,
                down_after: None,
                fail_put: None,
                hold_put: None,
                hold_nth_put: None,
            },
        );
        let prefix = server.unique_prefix(&format!("faults-{seed}"));
        server.clear();
        let a = upload(&proxy.endpoint, &server, &dir, &prefix)
            .args(["--concurrency", "4"])
            .assert();
        let out = a.get_output();
        assert!(
            out.status.success(),
            "seed {seed}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        injected += proxy.injected();
        let n = assert_stored(&server, &prefix, &dir);
        assert!(n > 10);
        assert_headers_with_awscli(&server, &prefix, &dir);
        // Order at the server: every page after every asset, the record after the pages.
        let puts = put_positions(&server);
        let files = manifest(&dir);
        let last_asset = puts
            .iter()
            .rposition(|p| {
                files
                    .iter()
                    .any(|(k, (_, imm))| *imm && p.ends_with(k.as_str()))
            })
            .unwrap();
        let first_page = puts.iter().position(|p| p.ends_with(".html")).unwrap();
        let record = puts
            .iter()
            .position(|p| p.contains("_cdnpub/releases/"))
            .unwrap();
        assert!(
            last_asset < first_page && first_page < record,
            "seed {seed}: {puts:#?}"
        );
        eprintln!(
            "seed {seed}: {} errors, {} resets, {} delays injected, {n} objects verified",
            proxy.stats.errors.load(Ordering::Relaxed),
            proxy.stats.resets.load(Ordering::Relaxed),
            proxy.stats.delays.load(Ordering::Relaxed)
        );
    }
    assert!(injected >= 5, "the proxy injected only {injected} faults");
}

#[test]
fn a_store_going_down_mid_run_updates_no_page_and_a_rerun_completes() {
    let Some(server) = in_process_server() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = built(tmp.path(), &fixtures().join("vue-cli"));
    let prefix = server.unique_prefix("down");
    // The store answers a LIST, a GET and three PUTs, then only 503s.
    let proxy = FaultProxy::start(
        &server.endpoint,
        Faults {
            down_after: Some(5),
            ..Faults::none()
        },
    );
    server.clear();
    let a = upload(&proxy.endpoint, &server, &dir, &prefix)
        .args(["--concurrency", "1"])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("objects failed") && err.contains("ServiceUnavailable"),
        "{err}"
    );
    let report: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    let failed = report["targets"][0]["failed"].as_array().unwrap();
    assert!(!failed.is_empty());
    for f in failed {
        assert!(err.contains(f[0].as_str().unwrap()), "failed key named");
    }
    let puts = put_positions(&server);
    assert!(
        puts.iter()
            .all(|p| !p.ends_with(".html") && !p.contains("_cdnpub/releases")),
        "no page and no record for a release whose assets did not land: {puts:?}"
    );
    // The store is back: a re-run completes the release.
    let healthy = FaultProxy::start(&server.endpoint, Faults::none());
    upload(&healthy.endpoint, &server, &dir, &prefix)
        .assert()
        .success();
    assert_stored(&server, &prefix, &dir);
}

/// A tree big enough for a kill to land mid-upload: pages naming many assets.
fn many_files(root: &Path) {
    fs::create_dir_all(root.join("assets")).unwrap();
    for p in 0..6 {
        let mut html = String::from("<!doctype html><html><head>");
        for a in 0..25 {
            let n = p * 25 + a;
            fs::write(
                root.join(format!("assets/part{n}.js")),
                format!("console.log({n});{}", "x".repeat(2000 + n * 37)),
            )
            .unwrap();
            html.push_str(&format!("<script src=\"assets/part{n}.js\"></script>"));
        }
        html.push_str("</head></html>");
        fs::write(root.join(format!("page{p}.html")), html).unwrap();
    }
}

/// No release record names a key that is missing or has other bytes.
fn records_are_whole(server: &S3Server, prefix: &str) -> usize {
    let dir = server
        .stored_file(&format!("{prefix}/_cdnpub/releases"))
        .unwrap();
    let Ok(entries) = fs::read_dir(&dir) else {
        return 0;
    };
    let mut n = 0;
    for e in entries {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let r: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        for (key, o) in r["objects"].as_object().unwrap() {
            let bytes = fs::read(server.stored_file(&format!("{prefix}/{key}")).unwrap())
                .unwrap_or_else(|_| panic!("record {} names missing {key}", path.display()));
            assert_eq!(
                cdnpub::site::state::sha256_hex(&bytes),
                o["sha256"].as_str().unwrap(),
                "{key}"
            );
        }
        n += 1;
    }
    n
}

#[test]
fn kill_9_during_upload_always_converges() {
    let Some(server) = in_process_server() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    many_files(&src);
    let dir = built(tmp.path(), &src);
    let total = manifest(&dir).len();
    // Kill while the Nth PUT is held by the proxy (an event, not a guessed moment): the first,
    // an early one, a third, the middle, the last assets', the release record's; each on a
    // fresh prefix, then a re-run there.
    for nth in [1, 5, total / 3, total / 2, total - 2, total + 1] {
        let prefix = server.unique_prefix(&format!("kill-{nth}"));
        let proxy = FaultProxy::start(
            &server.endpoint,
            Faults {
                hold_nth_put: Some(nth),
                ..Faults::none()
            },
        );
        let held =
            kill_while_a_put_is_held(&proxy, &server, &dir, &prefix, &["--concurrency", "4"]);
        assert!(held, "PUT {nth} of the upload never arrived");
        // Whatever moment the kill hit, no release record names what is not there, and
        // no object is partial: each key is absent or holds exactly the tree's bytes.
        records_are_whole(&server, &prefix);
        for (key, (sha, _)) in manifest(&dir) {
            let path = server.stored_file(&format!("{prefix}/{key}")).unwrap();
            if let Ok(bytes) = fs::read(&path) {
                assert_eq!(
                    cdnpub::site::state::sha256_hex(&bytes),
                    sha,
                    "partial {key}"
                );
            }
        }
        // A re-run converges to exactly the tree.
        upload(&server.endpoint, &server, &dir, &prefix)
            .assert()
            .success();
        assert_stored(&server, &prefix, &dir);
        assert!(records_are_whole(&server, &prefix) >= 1);
    }
}

/// Run `cdnpub --json rollback --no-purge [ARGS…]` against `endpoint` (no CDN: nothing to purge).
fn rollback(
    endpoint: &str,
    server: &S3Server,
    cwd: &Path,
    prefix: &str,
    args: &[&str],
) -> assert_cmd::Command {
    let mut c = on_s3(cwd, endpoint, server, prefix, &["rollback", "--no-purge"]);
    c.args(args);
    c
}

/// Files the in-process server holds under `prefix/dir` (its own view, no S3 client).
fn stored_under(server: &S3Server, prefix: &str, dir: &str) -> BTreeMap<String, Vec<u8>> {
    let root = server.stored_file(&format!("{prefix}/{dir}")).unwrap();
    fs::read_dir(&root)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        fs::read(e.path()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_rollback_the_store_fails_midway_names_its_pages_writes_no_record_and_a_rerun_finishes() {
    let Some(server) = in_process_server() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    common::copy_tree(&fixtures().join("vue-cli"), &src);
    let prefix = server.unique_prefix("rollback-down");
    let page =
        |key: &str| fs::read(server.stored_file(&format!("{prefix}/{key}")).unwrap()).unwrap();
    let pages = ["index.html", "mobile-vue/citizen/index.html"];
    // Release 1, then release 2 with two retitled pages.
    let dir = built(tmp.path(), &src);
    upload(&server.endpoint, &server, &dir, &prefix)
        .assert()
        .success();
    let v1: Vec<Vec<u8>> = pages.iter().map(|p| page(p)).collect();
    for p in pages {
        common::retitle(&src.join(p), "v2");
    }
    let dir = built(tmp.path(), &src);
    upload(&server.endpoint, &server, &dir, &prefix)
        .assert()
        .success();
    let records = stored_under(&server, &prefix, "_cdnpub/releases");
    let pointer = page("_cdnpub/latest.json");
    assert_eq!(records.len(), 2);

    // What a rollback asks before it writes anything: counted through a healthy proxy.
    let counting = FaultProxy::start(&server.endpoint, Faults::none());
    let dry = rollback(
        &counting.endpoint,
        &server,
        tmp.path(),
        &prefix,
        &["--dry-run"],
    )
    .assert()
    .success();
    let dry: Value = serde_json::from_slice(&dry.get_output().stdout).unwrap();
    let restored: Vec<String> = dry["targets"][0]["restored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    assert_eq!(restored, pages, "the two changed pages");
    let asked = counting.stats.forwarded.load(Ordering::Relaxed);

    // The store answers those, then only 503s: every page restore (a server-side copy of its
    // rollback copy) fails after the store's retries, and all of them are named.
    let failing = FaultProxy::start(
        &server.endpoint,
        Faults {
            down_after: Some(asked),
            ..Faults::none()
        },
    );
    let a = rollback(&failing.endpoint, &server, tmp.path(), &prefix, &[])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("could not be restored") && err.contains("run the same rollback again"),
        "{err}"
    );
    for p in pages {
        assert!(err.contains(p), "{p} named: {err}");
    }
    assert_eq!(
        stored_under(&server, &prefix, "_cdnpub/releases"),
        records,
        "no record written"
    );
    assert_eq!(
        page("_cdnpub/latest.json"),
        pointer,
        "the pointer still names release 2"
    );

    // The store is back: the same rollback finishes, both pages are release 1's again.
    let healthy = FaultProxy::start(&server.endpoint, Faults::none());
    rollback(&healthy.endpoint, &server, tmp.path(), &prefix, &[])
        .assert()
        .success();
    let now: Vec<Vec<u8>> = pages.iter().map(|p| page(p)).collect();
    assert_eq!(now, v1);
    assert_eq!(stored_under(&server, &prefix, "_cdnpub/releases").len(), 3);
}

#[test]
fn heads_onto_a_bucket_without_records_run_concurrently_within_the_concurrency() {
    let Some(server) = in_process_server() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = built(tmp.path(), &fixtures().join("vue-cli"));
    let prefix = server.unique_prefix("heads");
    upload(&server.endpoint, &server, &dir, &prefix)
        .assert()
        .success();
    // Another tool's bucket: the objects are there, no release record says what they are.
    let meta = server.stored_file(&format!("{prefix}/_cdnpub")).unwrap();
    fs::remove_dir_all(meta.join("releases")).unwrap();
    fs::remove_file(meta.join("latest.json")).unwrap();
    let objects = manifest(&dir).len();
    // Every request waits 150 ms at the proxy: one after another, the HEADs would take
    // objects × 150 ms.
    let slow = FaultProxy::start(
        &server.endpoint,
        Faults {
            delay_pct: 100,
            delay: Duration::from_millis(150),
            ..Faults::none()
        },
    );
    let started = std::time::Instant::now();
    let mut cmd = upload(&slow.endpoint, &server, &dir, &prefix);
    let a = cmd.args(["--concurrency", "4"]).assert().success();
    let elapsed = started.elapsed();
    let out: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    let t = &out["targets"][0];
    assert_eq!(t["heads"].as_u64().unwrap() as usize, objects, "{t}");
    assert_eq!(
        t["uploaded"].as_array().unwrap().len(),
        0,
        "the HEADs found every object in place"
    );
    let peak = slow.stats.peak.load(Ordering::SeqCst);
    assert!((2..=4).contains(&peak), "requests at once: {peak}");
    let sequential = Duration::from_millis(150) * objects as u32;
    // The whole run (process start, listing, HEADs) is shorter than the HEADs alone one by one.
    assert!(
        elapsed < sequential,
        "{elapsed:?} for {objects} HEADs (sequential: {sequential:?})"
    );
}

/// A first release of a copy of the example (its source in `<tmp>/src`) uploaded to a fresh
/// prefix through a transparent proxy (returned, for later runs).
fn first_release(name: &str) -> (S3Server, tempfile::TempDir, PathBuf, String, FaultProxy) {
    let server = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    common::copy_tree(&fixtures().join("vite-vue/dist"), &src);
    let prefix = server.unique_prefix(name);
    let clean = FaultProxy::start(&server.endpoint, Faults::none());
    let dir = built(tmp.path(), &src);
    upload(&clean.endpoint, &server, &dir, &prefix)
        .assert()
        .success();
    (server, tmp, src, prefix, clean)
}

/// The one PUT between a release record and the latest pointer fails (the pointer's own PUT,
/// every retry): the upload fails, the record is there, the pointer names the previous release.
/// A re-run repairs the pointer (and makes no other PUT); `releases` then marks the new release
/// live. Runs on the in-process server and on any `CDNPUB_TEST_S3_ENDPOINT` (moto in CI).
#[test]
fn a_failed_pointer_write_is_repaired_by_the_next_run() {
    let (server, tmp, src, prefix, clean) = first_release("pointer");
    // (LIVE as `releases` derives it from what is served, the newest id, and the warning.)
    let live = |endpoint: &str| -> (String, String, Option<String>) {
        let out = on_s3(tmp.path(), endpoint, &server, &prefix, &["releases"])
            .assert()
            .success();
        let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        let rel = &v[0]["releases"];
        (
            v[0]["live"].as_str().unwrap().to_string(),
            rel[0]["id"].as_str().unwrap().to_string(),
            v[0]["warning"].as_str().map(str::to_owned),
        )
    };
    let (v1, _, _) = live(&clean.endpoint);
    common::retitle(&src.join("index.html"), "v2");
    let dir = built(tmp.path(), &src);
    let failing = FaultProxy::start(
        &server.endpoint,
        Faults {
            fail_put: Some("_cdnpub/latest.json"),
            ..Faults::none()
        },
    );
    upload(&failing.endpoint, &server, &dir, &prefix)
        .assert()
        .code(1);
    let (served, newest, warning) = live(&clean.endpoint);
    assert_ne!(newest, v1, "the second release's record was written");
    assert_eq!(
        served, newest,
        "LIVE is what is served: the second release's pages"
    );
    let warning = warning.expect("the stale pointer is named");
    assert!(
        warning.contains(&format!("the latest pointer names {v1}")),
        "{warning}"
    );
    let out = upload(&clean.endpoint, &server, &dir, &prefix)
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let t = &v["targets"][0];
    assert_eq!(t["uploaded"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(t["repaired_pointer"], true, "{v}");
    assert_eq!(t["release"], newest.as_str());
    let (served, _, warning) = live(&clean.endpoint);
    assert_eq!(served, newest);
    assert_eq!(warning, None, "the pointer converged");
}

/// Under sustained faults (a proxy failing 40% of requests) every PUT still gets the attempts
/// the retry policy states: a key that failed was tried 6 times (the SDK's retry quota, which
/// ran dry and left most keys with one attempt, is not used), no key more than 6.
#[test]
fn every_put_gets_its_attempts_under_sustained_faults() {
    let Some(server) = in_process_server() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    fs::create_dir_all(&tree).unwrap();
    fs::write(tree.join("index.html"), "<p>many</p>").unwrap();
    for i in 0..300 {
        fs::write(tree.join(format!("f{i:03}.txt")), format!("file {i}")).unwrap();
    }
    let proxy = FaultProxy::start(
        &server.endpoint,
        Faults {
            error_pct: 40,
            seed: 7,
            ..Faults::none()
        },
    );
    let prefix = server.unique_prefix("attempts");
    let run = upload(&proxy.endpoint, &server, &tree, &prefix)
        .args(["--concurrency", "32"])
        .assert();
    let said = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
    let puts = proxy.stats.puts.lock().unwrap().clone();
    // Rollback copies go up before the files themselves; a copy that fails all its attempts
    // (0.4^6 each, so likely among 300) stops the run before any file, as it must. Either way
    // at least 300 distinct keys were sent, each with its own attempts.
    let files: Vec<_> = puts
        .iter()
        .filter(|(p, _)| p.ends_with(".txt") || p.contains("/_cdnpub/objects/"))
        .collect();
    assert!(files.len() >= 300, "{}: {said}", files.len());
    let retried = files.iter().filter(|(_, (n, _))| *n > 1).count();
    for (path, (attempts, last_ok)) in &files {
        assert!(*attempts <= 6, "{path}: {attempts} attempts");
        assert!(
            *last_ok || *attempts == 6,
            "{path} failed after {attempts} attempt(s)"
        );
    }
    assert!(
        retried > 60,
        "with 40% failing, many keys were retried: {retried}"
    );
}

/// kill -9 while the latest pointer's PUT is in flight (the proxy holds exactly that request
/// and says so; no timing guess): the record is there, the pointer is not updated; the next
/// run repairs the pointer and `releases` agrees.
#[test]
fn a_kill_between_the_record_and_the_pointer_is_repaired_by_the_next_run() {
    let (server, tmp, src, prefix, clean) = first_release("kill-pointer");
    common::retitle(&src.join("index.html"), "v2");
    let dir = built(tmp.path(), &src);
    let holding = FaultProxy::start(
        &server.endpoint,
        Faults {
            hold_put: Some("_cdnpub/latest.json"),
            ..Faults::none()
        },
    );
    let held = kill_while_a_put_is_held(&holding, &server, &dir, &prefix, &[]);
    assert!(held, "the pointer's PUT reached the proxy");
    let releases = || -> Value {
        let out = on_s3(tmp.path(), &clean.endpoint, &server, &prefix, &["releases"])
            .assert()
            .success();
        serde_json::from_slice(&out.get_output().stdout).unwrap()
    };
    let before = releases();
    let newest = before[0]["releases"][0]["id"].as_str().unwrap().to_string();
    assert!(
        before[0]["warning"]
            .as_str()
            .is_some_and(|w| w.contains("latest pointer names")),
        "{before}"
    );
    let out = upload(&clean.endpoint, &server, &dir, &prefix)
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["targets"][0]["repaired_pointer"], true, "{v}");
    let after = releases();
    assert_eq!(after[0]["live"], newest.as_str());
    assert!(after[0].get("warning").is_none(), "{after}");
}
