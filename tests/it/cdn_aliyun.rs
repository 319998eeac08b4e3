//! `cdnpub purge` / `prefetch` against a local stand-in for Alibaba Cloud CDN's API that checks
//! signatures, parameters, per-call limits, quotas and rates as documented (tests/it/common/aliyun.rs).

use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::aliyun::{hashed_canonical_request, server_signature, AliyunConfig, AliyunServer};
use common::{cdnpub, fixtures};
use serde_json::Value;

/// `cdnpub <action> --provider aliyun` pointed at the stand-in, with its keys, in `cwd`.
fn cmd(server: &AliyunServer, cwd: &Path, action: &str) -> assert_cmd::Command {
    let mut c = cdnpub(cwd);
    c.args([
        action,
        "--provider",
        "aliyun",
        "--cdn-endpoint",
        &server.endpoint,
    ])
    .args(["--domain", "cdn.example.com", "--poll-interval", "50ms"]);
    for (k, v) in server.env() {
        c.env(k, v);
    }
    c
}

fn json(a: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&a.get_output().stdout).unwrap()
}

fn urls(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("https://cdn.example.com/assets/f{i}.js"))
        .collect()
}

#[test]
fn the_stand_in_verifies_the_published_example() {
    // Alibaba Cloud's "V3 request structure and signature" worked example, checked with the
    // stand-in's own implementation (not cdnpub's signer).
    let h: BTreeMap<String, String> = [
        ("host", "ecs.cn-shanghai.aliyuncs.com"),
        ("x-acs-action", "RunInstances"),
        ("x-acs-version", "2014-05-26"),
        ("x-acs-date", "2023-10-26T10:22:32Z"),
        ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
        (
            "x-acs-content-sha256",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let signed: Vec<String> = h.keys().cloned().collect();
    let query = "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai";
    assert_eq!(
        hashed_canonical_request("POST", query, &h, &signed),
        "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    );
    assert_eq!(
        server_signature("POST", "/", query, &h, &signed, "YourAccessKeySecret"),
        "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    );
}

#[test]
fn batches_of_2500_urls_follow_the_per_call_limit_after_a_quota_check() {
    let server = AliyunServer::start(AliyunConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    let list = tmp.path().join("urls.txt");
    let mut body = urls(2500).join("\n");
    body.push_str("\n# a comment\n\nhttps://cdn.example.com/assets/f0.js\n");
    fs::write(&list, body).unwrap();
    let out = json(
        &cmd(&server, tmp.path(), "purge")
            .args(["--json", "--from-file"])
            .arg(&list)
            .assert()
            .success(),
    );
    assert_eq!(out["urls"], 2500, "duplicates removed");
    assert_eq!(out["sent"], 2500);
    assert_eq!(out["tasks"].as_array().unwrap().len(), 3);
    let got = server.received();
    let actions: Vec<&str> = got.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "DescribeRefreshQuota",
            "RefreshObjectCaches",
            "RefreshObjectCaches",
            "RefreshObjectCaches"
        ]
    );
    let sizes: Vec<usize> = server
        .accepted("RefreshObjectCaches")
        .iter()
        .map(|r| {
            assert_eq!(r.params["ObjectType"], "File");
            r.params["ObjectPath"].split('\n').count()
        })
        .collect();
    assert_eq!(sizes, [1000, 1000, 500]);
    assert_eq!(server.paths("RefreshObjectCaches"), urls(2500));
}

#[test]
fn directory_refresh_sends_directories() {
    let server = AliyunServer::start(AliyunConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    cmd(&server, tmp.path(), "purge")
        .args([
            "--dir",
            "/assets",
            "https://cdn.example.com/img/",
            "assets/",
        ])
        .assert()
        .success();
    let calls = server.accepted("RefreshObjectCaches");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].params["ObjectType"], "Directory");
    assert_eq!(
        calls[0].params["ObjectPath"],
        "https://cdn.example.com/assets/\nhttps://cdn.example.com/img/"
    );
}

#[test]
fn a_job_over_the_remaining_quota_is_refused_before_sending() {
    let server = AliyunServer::start(AliyunConfig {
        url_quota: 100,
        ..AliyunConfig::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let a = cmd(&server, tmp.path(), "purge")
        .args(urls(150))
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("150") && err.contains("100 left") && err.contains("nothing was sent"),
        "{err}"
    );
    assert!(server.accepted("RefreshObjectCaches").is_empty());
    assert_eq!(server.received().len(), 1);
}

#[test]
fn throttling_is_retried_with_backoff() {
    let server = AliyunServer::start(AliyunConfig {
        throttle_first: 2,
        ..AliyunConfig::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = json(
        &cmd(&server, tmp.path(), "purge")
            .arg("--json")
            .args(urls(3))
            .env("CDNPUB_DEBUG_JITTER_SEED", "42")
            .assert()
            .success(),
    );
    assert_eq!(out["retries"], 2);
    let refresh: Vec<_> = server
        .received()
        .into_iter()
        .filter(|r| r.action == "RefreshObjectCaches")
        .collect();
    assert_eq!(refresh.len(), 3);
    assert_eq!(refresh[0].error.as_deref(), Some("Throttling.User"));
    assert!(refresh[2].error.is_none());
    // Backoff: under a fixed jitter seed the pauses are exactly the policy's (full jitter on
    // 0.2 s × 2^n, retry::CDN), recorded by the engine; the stand-in saw each retry no sooner.
    let mut want = cdnpub::retry::Backoff::with_jitter(
        cdnpub::retry::CDN,
        cdnpub::retry::ClockJitter::seeded(42),
    );
    let expected: Vec<u64> = (0..2)
        .map(|_| want.next_delay().unwrap().as_millis() as u64)
        .collect();
    assert_eq!(out["backoff_ms"], serde_json::json!(expected));
    for (pair, pause) in refresh.windows(2).zip(&expected) {
        assert!(pair[1].at.duration_since(pair[0].at).as_millis() as u64 >= *pause);
    }
}

#[test]
fn a_per_second_limit_is_met_by_pacing_and_retrying() {
    // 12 calls against an account allowed 4 a second: cdnpub paces at the documented 50/s,
    // so the stand-in throttles some; every URL still lands exactly once.
    let server = AliyunServer::start(AliyunConfig {
        per_second: 4,
        url_quota: 20_000,
        ..AliyunConfig::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let list = tmp.path().join("urls.txt");
    fs::write(&list, urls(11_500).join("\n")).unwrap();
    let out = json(
        &cmd(&server, tmp.path(), "purge")
            .args(["--json", "--from-file"])
            .arg(&list)
            .assert()
            .success(),
    );
    assert_eq!(server.accepted("RefreshObjectCaches").len(), 12);
    assert!(out["retries"].as_u64().unwrap() > 0, "{out}");
    assert_eq!(server.paths("RefreshObjectCaches"), urls(11_500));
}

#[test]
fn wait_polls_until_tasks_complete() {
    let server = AliyunServer::start(AliyunConfig {
        polls_until_done: 2,
        ..AliyunConfig::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = json(
        &cmd(&server, tmp.path(), "purge")
            .args(["--json", "--wait"])
            .args(urls(2))
            .assert()
            .success(),
    );
    assert_eq!(out["wait"]["done"], 1);
    let polls = server.accepted("DescribeRefreshTaskById");
    assert_eq!(polls.len(), 3, "Refreshing, Refreshing, Complete");
    assert_eq!(polls[0].params["TaskId"], out["tasks"][0].as_str().unwrap());
    // A task that does not finish in time: exit 1 naming it.
    let slow = AliyunServer::start(AliyunConfig {
        polls_until_done: 1000,
        ..AliyunConfig::default()
    });
    let a = cmd(&slow, tmp.path(), "purge")
        .args(["--wait", "--timeout", "300ms"])
        .args(urls(1))
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(err.contains("still running"), "{err}");
}

#[test]
fn status_calls_carry_at_most_ten_task_ids() {
    // 25 prefetch batches of 100 → 25 tasks → 3 status calls.
    let server = AliyunServer::start(AliyunConfig {
        preload_quota: 5000,
        ..AliyunConfig::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let list = tmp.path().join("urls.txt");
    fs::write(&list, urls(2500).join("\n")).unwrap();
    let out = json(
        &cmd(&server, tmp.path(), "prefetch")
            .args(["--json", "--wait", "--area", "domestic", "--from-file"])
            .arg(&list)
            .assert()
            .success(),
    );
    assert_eq!(out["tasks"].as_array().unwrap().len(), 25);
    let pushes = server.accepted("PushObjectCache");
    assert_eq!(pushes.len(), 25);
    assert!(pushes.iter().all(|p| p.params["Area"] == "domestic"));
    let sizes: Vec<usize> = server
        .accepted("DescribeRefreshTaskById")
        .iter()
        .map(|r| r.params["TaskId"].split(',').count())
        .collect();
    assert_eq!(sizes, [10, 10, 5]);
}

#[test]
fn a_wrong_secret_is_surfaced_clearly_and_never_printed() {
    let server = AliyunServer::start(AliyunConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    let wrong = "WrongSecretValue0123456789abcdef";
    let a = cmd(&server, tmp.path(), "purge")
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", wrong)
        .args(["-vv", "/index.html"])
        .assert()
        .code(1);
    let out = a.get_output();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("SignatureDoesNotMatch") && all.contains("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
        "{all}"
    );
    assert!(!all.contains(wrong) && !all.contains(&server.config.secret));
    assert!(server.accepted("RefreshObjectCaches").is_empty());
    // An unknown key id is named as such.
    let a = cmd(&server, tmp.path(), "purge")
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI-unknown")
        .arg("/index.html")
        .assert()
        .code(1);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("InvalidAccessKeyId.NotFound"));
    // No key at all: a usage error naming the variables.
    let a = cdnpub(tmp.path())
        .args([
            "purge",
            "--provider",
            "aliyun",
            "--domain",
            "cdn.example.com",
            "/x",
        ])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("ALIBABA_CLOUD_ACCESS_KEY_ID"));
}

#[test]
fn quota_exhausted_mid_job_stops_and_writes_the_remainder() {
    let server = AliyunServer::start(AliyunConfig {
        exhaust_after_calls: Some(2),
        ..AliyunConfig::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let list = tmp.path().join("urls.txt");
    fs::write(&list, urls(3500).join("\n")).unwrap();
    let a = cmd(&server, tmp.path(), "purge")
        .args(["--json", "--from-file"])
        .arg(&list)
        .assert()
        .code(1);
    let out = json(&a);
    assert_eq!(out["sent"], 2000);
    assert_eq!(out["not_sent"], 1500);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("QuotaExceeded.Refresh")
            && err.contains("1500 paths were not purged")
            && err.contains("--from-file"),
        "{err}"
    );
    let rest = tmp.path().join(out["remainder_file"].as_str().unwrap());
    let remaining: Vec<String> = fs::read_to_string(&rest)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(remaining, urls(3500)[2000..].to_vec());
    // Resuming from the file sends exactly the rest.
    let fresh = AliyunServer::start(AliyunConfig::default());
    cmd(&fresh, tmp.path(), "purge")
        .arg("--from-file")
        .arg(&rest)
        .assert()
        .success();
    assert_eq!(
        fresh.paths("RefreshObjectCaches"),
        urls(3500)[2000..].to_vec()
    );
}

#[test]
fn dry_run_and_url_hygiene_send_nothing() {
    let server = AliyunServer::start(AliyunConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    let a = cmd(&server, tmp.path(), "purge")
        .args(["--dry-run", "/a b.js", "/a%20b.js", "js/x.js#top"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(
        text.contains("call 1: RefreshObjectCaches ObjectType=File (2 paths)"),
        "{text}"
    );
    assert!(
        text.contains("    https://cdn.example.com/a%20b.js\n"),
        "{text}"
    );
    assert!(
        text.contains("    https://cdn.example.com/js/x.js\n"),
        "{text}"
    );
    let a = cmd(&server, tmp.path(), "purge")
        .args([
            "https://cdn.example.com/ok.js",
            "https://evil.example.org/x.js",
        ])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("evil.example.org/x.js"));
    assert!(server.received().is_empty());
}

/// Build fixtures/vite-vue/dist and upload it to a local-directory target; returns the target.
fn released(tmp: &Path) -> std::path::PathBuf {
    common::build_and_release(tmp, &fixtures().join("vite-vue/dist"))
}

#[test]
fn changed_keys_of_a_release_are_purged_and_its_entry_points_prefetched() {
    let server = AliyunServer::start(AliyunConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    let site = released(tmp.path());
    let record: Value = {
        let dir = site.join("_cdnpub/releases");
        let f = fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
        serde_json::from_slice(&fs::read(f).unwrap()).unwrap()
    };
    let changed: Vec<String> = record["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    cmd(&server, tmp.path(), "purge")
        .args(["--changed", "--url-prefix", "/app", "--to"])
        .arg(&site)
        .assert()
        .success();
    let purged = server.paths("RefreshObjectCaches");
    let mut want: Vec<String> = changed
        .iter()
        .map(|k| format!("https://cdn.example.com/app/{k}"))
        .collect();
    want.push("https://cdn.example.com/app/".into());
    let (mut got, mut want) = (purged.clone(), want);
    got.sort();
    want.sort();
    assert_eq!(got, want, "each changed key, plus / for index.html");

    // Prefetch: the entry HTML and the assets it names directly, no more.
    cmd(&server, tmp.path(), "prefetch")
        .args(["--changed", "--to"])
        .arg(&site)
        .assert()
        .success();
    let warmed = server.paths("PushObjectCache");
    assert_eq!(warmed[0], "https://cdn.example.com/index.html");
    let html = fs::read_to_string(site.join("index.html")).unwrap();
    for u in &warmed[1..] {
        let key = u.strip_prefix("https://cdn.example.com/").unwrap();
        assert!(
            html.contains(key.rsplit('/').next().unwrap()),
            "{key} not named by index.html"
        );
    }
    assert!(
        warmed.iter().any(|u| u.ends_with(".js")) && warmed.iter().any(|u| u.ends_with(".css")),
        "{warmed:?}"
    );
    assert!(
        warmed.len() < changed.len(),
        "only what the entry names: {warmed:?}"
    );

    // An unknown release is named.
    let a = cmd(&server, tmp.path(), "purge")
        .args(["--release", "20990101T000000Z-deadbeef", "--to"])
        .arg(&site)
        .assert()
        .code(1);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("20990101T000000Z-deadbeef"));
}

#[test]
fn provider_domain_and_target_come_from_the_profile() {
    let server = AliyunServer::start(AliyunConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    let site = released(tmp.path());
    fs::write(
        tmp.path().join("cdnpub.toml"),
        format!(
            "[env.prod]\ncdn_server = \"https://cdn.example.com\"\ncdn_provider = \"aliyun\"\n\
             cdn_endpoint = \"{}\"\ntargets = [\"{}\"]\n\n[env.typo]\ncdn_provider = \"akamai\"\n",
            server.endpoint,
            site.display()
        ),
    )
    .unwrap();
    let mut c = cdnpub(tmp.path());
    for (k, v) in server.env() {
        c.env(k, v);
    }
    let out = json(
        &c.args(["--env", "prod", "purge", "--changed", "--json"])
            .assert()
            .success(),
    );
    assert_eq!(out["provider"], "aliyun");
    let purged = server.paths("RefreshObjectCaches");
    assert!(
        purged.contains(&"https://cdn.example.com/index.html".to_string())
            && purged.contains(&"https://cdn.example.com/".to_string()),
        "{purged:?}"
    );
    let a = cdnpub(tmp.path())
        .args([
            "--env",
            "typo",
            "purge",
            "/x",
            "--domain",
            "cdn.example.com",
        ])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("cdn_provider") && err.contains("akamai"),
        "{err}"
    );
}
