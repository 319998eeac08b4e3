//! What only Alibaba Cloud CDN has, against its stand-in (tests/it/common/clouds.rs,
//! `Dialect::Aliyun`): the published signing example, status calls carrying up to 10 task ids,
//! its error codes for a wrong secret or an unknown key, its call label and URL hygiene in a dry
//! run, and a release's changed keys and profile targets purged through it. What every provider
//! shares (batching, quotas, throttling, pacing, waiting, remainders, secrets, dry runs,
//! profiles) is the suite in tests/it/cdn_clouds.rs, which runs for Alibaba too.

use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::clouds::{
    acs3_canonical, acs3_signature, sha256_hex, CloudConfig, CloudServer, Dialect,
};
use common::{cdnpub, fixtures};
use serde_json::Value;

/// `cdnpub <action> --provider aliyun` pointed at the stand-in, with its keys, in `cwd`.
fn cmd(server: &CloudServer, cwd: &Path, action: &str) -> assert_cmd::Command {
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

/// A stand-in for Alibaba Cloud CDN, its defaults changed by `tune`.
fn start(tune: impl FnOnce(&mut CloudConfig)) -> CloudServer {
    let mut cfg = CloudConfig::new(Dialect::Aliyun);
    tune(&mut cfg);
    CloudServer::start(cfg)
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
    let signed: Vec<&str> = h.keys().map(String::as_str).collect();
    let query = "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai";
    let canonical = acs3_canonical("POST", "/", query, &h, &signed);
    assert_eq!(
        sha256_hex(canonical.as_bytes()),
        "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    );
    assert_eq!(
        acs3_signature(&canonical, "YourAccessKeySecret"),
        "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    );
}

#[test]
fn status_calls_carry_at_most_ten_task_ids() {
    // 25 prefetch batches of 100 → 25 tasks → 3 status calls.
    let server = start(|c| c.prefetch_quota = 5000);
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
    assert_eq!(out["wait"]["done"], 25);
    let pushes = server.accepted("prefetch");
    assert_eq!(pushes.len(), 25);
    assert!(pushes.iter().all(|p| p.body["Area"] == "domestic"));
    let sizes: Vec<usize> = server
        .accepted("status")
        .iter()
        .map(|r| r.body["TaskId"].as_str().unwrap().split(',').count())
        .collect();
    assert_eq!(sizes, [10, 10, 5]);
}

#[test]
fn a_wrong_secret_or_an_unknown_key_is_named_by_alibabas_code() {
    let server = start(|_| {});
    let tmp = tempfile::tempdir().unwrap();
    let a = cmd(&server, tmp.path(), "purge")
        .env(
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "WrongSecretValue0123456789abcdef",
        )
        .arg("/index.html")
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("SignatureDoesNotMatch") && err.contains("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
        "{err}"
    );
    // An unknown key id is named as such.
    let a = cmd(&server, tmp.path(), "purge")
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI-unknown")
        .arg("/index.html")
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("InvalidAccessKeyId.NotFound") && err.contains("ALIBABA_CLOUD_ACCESS_KEY_ID"),
        "{err}"
    );
    assert!(server.accepted("purge-url").is_empty());
    // No key at all: a usage error naming the id's variable too.
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
fn dry_run_and_url_hygiene_send_nothing() {
    let server = start(|_| {});
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
    let server = start(|_| {});
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
    let purged = server.paths("purge-url");
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
    let warmed = server.paths("prefetch");
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
    let server = start(|_| {});
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
    let purged = server.paths("purge-url");
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
