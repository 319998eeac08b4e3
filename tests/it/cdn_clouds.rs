//! `cdnpub purge` / `prefetch` on Alibaba Cloud CDN, Tencent Cloud CDN, Cloudflare, Qiniu and
//! Huawei Cloud CDN, each against its local stand-in (tests/it/common/clouds.rs), through one
//! suite: batching to the per-call limits after the quota check, directories, quota refusal
//! before sending, throttling, pacing, waiting for tasks, stopping on an exhausted quota with a
//! remainder file and resuming from it, secrets, dry runs, profiles. What only one provider has
//! is tested after the suite, and Alibaba's in tests/it/cdn_aliyun.rs.

use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::cdnpub;
use common::clouds::{
    apig_canonical, apig_signature, qbox_sign, tc3_canonical, tc3_signature, CloudConfig,
    CloudServer, Dialect,
};
use serde_json::Value;

/// `cdnpub <action> --provider NAME` pointed at the stand-in, with its keys, in `cwd`.
fn cmd(server: &CloudServer, cwd: &Path, action: &str) -> assert_cmd::Command {
    let mut c = cdnpub(cwd);
    c.args([
        action,
        "--provider",
        server.config.dialect.name(),
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

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).to_string()
}

fn urls(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("https://cdn.example.com/assets/f{i}.js"))
        .collect()
}

fn start(d: Dialect, tune: impl FnOnce(&mut CloudConfig)) -> CloudServer {
    let mut cfg = CloudConfig::new(d);
    tune(&mut cfg);
    CloudServer::start(cfg)
}

fn url_list(dir: &Path, n: usize) -> std::path::PathBuf {
    let list = dir.join("urls.txt");
    fs::write(&list, urls(n).join("\n")).unwrap();
    list
}

fn ops(server: &CloudServer) -> Vec<String> {
    server.received().into_iter().map(|r| r.op).collect()
}

/// 2.5 calls' worth of URLs: a quota check (where the provider has one), then full calls.
fn batches_follow_the_per_call_limit(d: Dialect) {
    let (limit, _, _) = d.per_call();
    let n = limit * 5 / 2;
    let server = start(d, |c| c.url_quota = 20_000);
    let tmp = tempfile::tempdir().unwrap();
    let list = url_list(tmp.path(), n);
    // Comments, blank lines and duplicates of a list are not sent.
    let mut text = fs::read_to_string(&list).unwrap();
    text.push_str("\n# a comment\n\nhttps://cdn.example.com/assets/f0.js\n");
    fs::write(&list, text).unwrap();
    let out = json(
        &cmd(&server, tmp.path(), "purge")
            .args(["--json", "--from-file"])
            .arg(&list)
            .assert()
            .success(),
    );
    assert_eq!(
        (out["urls"].as_u64(), out["sent"].as_u64()),
        (Some(n as u64), Some(n as u64))
    );
    let mut want = Vec::new();
    if d.has_quota_api() {
        want.push("quota".to_string());
    }
    want.extend(std::iter::repeat_n("purge-url".to_string(), 3));
    assert_eq!(
        ops(&server),
        want,
        "calls = ceil(URLs / {limit}) plus the quota check"
    );
    let sizes: Vec<usize> = server
        .accepted("purge-url")
        .iter()
        .map(|r| r.paths.len())
        .collect();
    assert_eq!(sizes, [limit, limit, limit / 2]);
    assert_eq!(server.paths("purge-url"), urls(n));
    if d == Dialect::Aliyun {
        for r in server.accepted("purge-url") {
            assert_eq!(
                r.body["ObjectType"], "File",
                "stated, not left to the default"
            );
        }
    }
    let tasks = out["tasks"].as_array().unwrap().len();
    assert_eq!(tasks, if d.has_tasks() { 3 } else { 0 });
}

fn directories_are_sent_as_directories(d: Dialect) {
    let server = start(d, |_| {});
    let tmp = tempfile::tempdir().unwrap();
    cmd(&server, tmp.path(), "purge")
        .args([
            "--dir",
            "--dir-mode",
            "changed",
            "/assets",
            "https://cdn.example.com/img/",
            "assets/",
        ])
        .assert()
        .success();
    let calls = server.accepted("purge-dir");
    assert_eq!(calls.len(), 1);
    let want: Vec<String> = match d {
        Dialect::Cloudflare => vec![
            "cdn.example.com/assets/".into(),
            "cdn.example.com/img/".into(),
        ],
        _ => vec![
            "https://cdn.example.com/assets/".into(),
            "https://cdn.example.com/img/".into(),
        ],
    };
    assert_eq!(calls[0].paths, want);
    let body = &calls[0].body;
    match d {
        Dialect::Aliyun => assert_eq!(body["ObjectType"], "Directory"),
        Dialect::Tencent => assert_eq!(body["FlushType"], "flush"),
        Dialect::Huawei => {
            assert_eq!(body["refresh_task"]["type"], "directory");
            assert_eq!(body["refresh_task"]["mode"], "detect_modify_refresh");
        }
        Dialect::Cloudflare => assert!(body.get("files").is_none(), "{body}"),
        Dialect::Qiniu => assert!(body.get("urls").is_none(), "{body}"),
    }
}

fn a_job_over_the_remaining_quota_is_refused_before_sending(d: Dialect) {
    let server = start(d, |c| c.url_quota = 100);
    let tmp = tempfile::tempdir().unwrap();
    let a = cmd(&server, tmp.path(), "purge")
        .args(urls(150))
        .assert()
        .code(1);
    let err = stderr(&a);
    assert!(
        err.contains("150") && err.contains("100 left") && err.contains("nothing was sent"),
        "{err}"
    );
    assert_eq!(ops(&server), ["quota"]);
}

fn throttling_is_retried_with_backoff(d: Dialect) {
    let server = start(d, |c| c.throttle_first = 2);
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
    let submits: Vec<_> = server
        .received()
        .into_iter()
        .filter(|r| r.op == "purge-url")
        .collect();
    assert_eq!(submits.len(), 3);
    let throttled = match d {
        Dialect::Aliyun => "Throttling.User",
        Dialect::Tencent => "RequestLimitExceeded",
        Dialect::Cloudflare => "971",
        Dialect::Qiniu => "429",
        Dialect::Huawei => "APIGW.0308",
    };
    for r in &submits[..2] {
        assert_eq!(r.error.as_deref(), Some(throttled));
    }
    assert!(submits[2].error.is_none());
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
    for (pair, pause) in submits.windows(2).zip(&expected) {
        assert!(pair[1].at.duration_since(pair[0].at).as_millis() as u64 >= *pause);
    }
    assert_eq!(server.paths("purge-url"), urls(3));
}

fn a_per_second_limit_is_met_by_pacing_and_retrying(d: Dialect) {
    // 8 calls against an account allowed 3 a second: every URL still lands exactly once.
    let (limit, _, _) = d.per_call();
    let server = start(d, |c| {
        c.per_second = 3;
        c.url_quota = 20_000;
    });
    let tmp = tempfile::tempdir().unwrap();
    let list = url_list(tmp.path(), limit * 8);
    let out = json(
        &cmd(&server, tmp.path(), "purge")
            .args(["--json", "--from-file"])
            .arg(&list)
            .assert()
            .success(),
    );
    assert_eq!(server.accepted("purge-url").len(), 8);
    assert_eq!(server.paths("purge-url"), urls(limit * 8));
    // cdnpub paces at the documented rate (4 to 30 a second), faster than this account allows.
    assert!(out["retries"].as_u64().unwrap() > 0, "{out}");
}

fn wait_polls_until_tasks_complete(d: Dialect) {
    let server = start(d, |c| c.polls_until_done = 2);
    let tmp = tempfile::tempdir().unwrap();
    let out = json(
        &cmd(&server, tmp.path(), "purge")
            .args(["--json", "--wait"])
            .args(urls(2))
            .assert()
            .success(),
    );
    if !d.has_tasks() {
        // Cloudflare purges are done when answered: nothing to poll.
        assert_eq!(out["wait"]["done"], 0);
        assert!(server.accepted("status").is_empty());
        return;
    }
    assert_eq!(out["wait"]["done"], 1);
    let polls = server.accepted("status");
    assert_eq!(polls.len(), 3, "in process, in process, done");
    let id = out["tasks"][0].as_str().unwrap();
    let asked = match d {
        Dialect::Aliyun | Dialect::Tencent => polls[0].body["TaskId"].as_str().map(str::to_owned),
        Dialect::Qiniu => polls[0].body["requestId"].as_str().map(str::to_owned),
        _ => None,
    };
    if let Some(asked) = asked {
        assert_eq!(asked, id);
    }
    // A task that does not finish in time: exit 1 naming it.
    let slow = start(d, |c| c.polls_until_done = 1000);
    let a = cmd(&slow, tmp.path(), "purge")
        .args(["--wait", "--timeout", "300ms"])
        .args(urls(1))
        .assert()
        .code(1);
    assert!(stderr(&a).contains("still running"), "{}", stderr(&a));
}

fn a_wrong_secret_is_surfaced_clearly_and_never_printed(d: Dialect) {
    let server = start(d, |_| {});
    let tmp = tempfile::tempdir().unwrap();
    let wrong = "WrongSecretValue0123456789abcdef";
    let a = cmd(&server, tmp.path(), "purge")
        .env(server.secret_var(), wrong)
        .args(["-vv", "/index.html"])
        .assert()
        .code(1);
    let out = a.get_output();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains(server.secret_var()), "{all}");
    assert!(
        !all.contains(wrong) && !all.contains(&server.config.secret),
        "{all}"
    );
    assert!(server.accepted("purge-url").is_empty());
    // No key at all: a usage error naming the variable, before any request.
    let mut c = cdnpub(tmp.path());
    c.args([
        "purge",
        "--provider",
        d.name(),
        "--domain",
        "cdn.example.com",
        "/x",
    ]);
    for (k, _) in server.env() {
        c.env_remove(k);
    }
    if d == Dialect::Cloudflare {
        c.args(["--zone-id", &server.config.zone_id]);
    }
    let a = c.assert().code(2);
    assert!(stderr(&a).contains(server.secret_var()), "{}", stderr(&a));
}

fn quota_exhausted_mid_job_stops_and_writes_the_remainder(d: Dialect) {
    let (limit, _, _) = d.per_call();
    let n = limit * 7 / 2;
    let server = start(d, |c| {
        c.exhaust_after_calls = Some(2);
        c.url_quota = 20_000;
    });
    let tmp = tempfile::tempdir().unwrap();
    let list = url_list(tmp.path(), n);
    let a = cmd(&server, tmp.path(), "purge")
        .args(["--json", "--from-file"])
        .arg(&list)
        .assert()
        .code(1);
    let out = json(&a);
    assert_eq!(out["sent"].as_u64(), Some(2 * limit as u64));
    assert_eq!(out["not_sent"].as_u64(), Some((n - 2 * limit) as u64));
    let err = stderr(&a);
    let code = server.received().last().unwrap().error.clone().unwrap();
    assert!(
        err.contains(&code)
            && err.contains(&format!("{} paths were not purged", n - 2 * limit))
            && err.contains("--from-file"),
        "{err}"
    );
    let rest = tmp.path().join(out["remainder_file"].as_str().unwrap());
    let remaining: Vec<String> = fs::read_to_string(&rest)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(remaining, urls(n)[2 * limit..].to_vec());
    // Resuming from the file sends exactly the rest.
    let fresh = start(d, |c| c.url_quota = 20_000);
    cmd(&fresh, tmp.path(), "purge")
        .arg("--from-file")
        .arg(&rest)
        .assert()
        .success();
    assert_eq!(fresh.paths("purge-url"), urls(n)[2 * limit..].to_vec());
}

fn dry_run_sends_nothing(d: Dialect) {
    let server = start(d, |_| {});
    let tmp = tempfile::tempdir().unwrap();
    let mut c = cdnpub(tmp.path());
    // No credentials at all: a dry run needs none.
    c.args([
        "purge",
        "--provider",
        d.name(),
        "--domain",
        "cdn.example.com",
        "--dry-run",
    ])
    .args(["--cdn-endpoint", &server.endpoint, "/a b.js", "/a%20b.js"]);
    if d == Dialect::Cloudflare {
        c.args(["--zone-id", &server.config.zone_id]);
    }
    let a = c.assert().success();
    let text = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(
        text.contains("call 1: ") && text.contains("(1 paths)"),
        "{text}"
    );
    assert!(
        text.contains("    https://cdn.example.com/a%20b.js\n"),
        "{text}"
    );
    assert!(server.received().is_empty());
}

fn prefetch_batches_and_waits(d: Dialect) {
    let server = start(d, |c| c.polls_until_done = 0);
    let tmp = tempfile::tempdir().unwrap();
    let (_, _, limit) = d.per_call();
    if limit == 0 {
        let a = cmd(&server, tmp.path(), "prefetch")
            .args(urls(2))
            .assert()
            .code(2);
        assert!(stderr(&a).contains("no prefetch API"), "{}", stderr(&a));
        assert!(server.received().is_empty());
        return;
    }
    let n = limit * 5 / 2;
    let list = url_list(tmp.path(), n);
    let out = json(
        &cmd(&server, tmp.path(), "prefetch")
            .args(["--json", "--wait", "--from-file"])
            .arg(&list)
            .assert()
            .success(),
    );
    assert_eq!(out["wait"]["done"], 3);
    let mut want = Vec::new();
    if d.has_quota_api() {
        want.push("quota".to_string());
    }
    want.extend(std::iter::repeat_n("prefetch".to_string(), 3));
    // One status call per task, or per 10 on Alibaba.
    let statuses = 3usize.div_ceil(d.status_ids_per_call());
    want.extend(std::iter::repeat_n("status".to_string(), statuses));
    assert_eq!(ops(&server), want);
    assert_eq!(server.paths("prefetch"), urls(n));
    if d == Dialect::Tencent {
        let apis: Vec<String> = server.received().into_iter().map(|r| r.api).collect();
        assert_eq!(apis[0], "DescribePushQuota");
        assert_eq!(apis[4], "DescribePushTasks");
    }
}

fn provider_and_endpoint_come_from_the_profile(d: Dialect) {
    let server = start(d, |_| {});
    let tmp = tempfile::tempdir().unwrap();
    let zone = if d == Dialect::Cloudflare {
        format!("cdn_zone_id = \"{}\"\n", server.config.zone_id)
    } else {
        String::new()
    };
    fs::write(
        tmp.path().join("cdnpub.toml"),
        format!(
            "[env.prod]\ncdn_server = \"https://cdn.example.com\"\ncdn_provider = \"{}\"\n\
             cdn_endpoint = \"{}\"\n{zone}",
            d.name(),
            server.endpoint
        ),
    )
    .unwrap();
    let mut c = cdnpub(tmp.path());
    for (k, v) in server.env() {
        if k != "CLOUDFLARE_ZONE_ID" {
            c.env(k, v);
        }
    }
    let out = json(
        &c.args(["--env", "prod", "purge", "--json", "/index.html"])
            .assert()
            .success(),
    );
    assert_eq!(out["provider"], d.name());
    assert_eq!(
        server.paths("purge-url"),
        ["https://cdn.example.com/index.html"]
    );
}

macro_rules! suite {
    ($m:ident, $d:expr, [$($t:ident),* $(,)?]) => {
        mod $m {
            use super::*;
            $(
                #[test]
                fn $t() {
                    super::$t($d)
                }
            )*
        }
    };
}

suite!(
    aliyun,
    Dialect::Aliyun,
    [
        batches_follow_the_per_call_limit,
        directories_are_sent_as_directories,
        a_job_over_the_remaining_quota_is_refused_before_sending,
        throttling_is_retried_with_backoff,
        a_per_second_limit_is_met_by_pacing_and_retrying,
        wait_polls_until_tasks_complete,
        a_wrong_secret_is_surfaced_clearly_and_never_printed,
        quota_exhausted_mid_job_stops_and_writes_the_remainder,
        dry_run_sends_nothing,
        prefetch_batches_and_waits,
        provider_and_endpoint_come_from_the_profile,
    ]
);

suite!(
    tencent,
    Dialect::Tencent,
    [
        batches_follow_the_per_call_limit,
        directories_are_sent_as_directories,
        a_job_over_the_remaining_quota_is_refused_before_sending,
        throttling_is_retried_with_backoff,
        a_per_second_limit_is_met_by_pacing_and_retrying,
        wait_polls_until_tasks_complete,
        a_wrong_secret_is_surfaced_clearly_and_never_printed,
        quota_exhausted_mid_job_stops_and_writes_the_remainder,
        dry_run_sends_nothing,
        prefetch_batches_and_waits,
        provider_and_endpoint_come_from_the_profile,
    ]
);

suite!(
    huawei,
    Dialect::Huawei,
    [
        batches_follow_the_per_call_limit,
        directories_are_sent_as_directories,
        a_job_over_the_remaining_quota_is_refused_before_sending,
        throttling_is_retried_with_backoff,
        a_per_second_limit_is_met_by_pacing_and_retrying,
        wait_polls_until_tasks_complete,
        a_wrong_secret_is_surfaced_clearly_and_never_printed,
        quota_exhausted_mid_job_stops_and_writes_the_remainder,
        dry_run_sends_nothing,
        prefetch_batches_and_waits,
        provider_and_endpoint_come_from_the_profile,
    ]
);

// Qiniu has no quota query: an exhausted quota is met mid-job (remainder file).
suite!(
    qiniu,
    Dialect::Qiniu,
    [
        batches_follow_the_per_call_limit,
        directories_are_sent_as_directories,
        throttling_is_retried_with_backoff,
        a_per_second_limit_is_met_by_pacing_and_retrying,
        wait_polls_until_tasks_complete,
        a_wrong_secret_is_surfaced_clearly_and_never_printed,
        quota_exhausted_mid_job_stops_and_writes_the_remainder,
        dry_run_sends_nothing,
        prefetch_batches_and_waits,
        provider_and_endpoint_come_from_the_profile,
    ]
);

// Cloudflare has no quota, no tasks and no prefetch (refused by name).
suite!(
    cloudflare,
    Dialect::Cloudflare,
    [
        batches_follow_the_per_call_limit,
        directories_are_sent_as_directories,
        throttling_is_retried_with_backoff,
        a_per_second_limit_is_met_by_pacing_and_retrying,
        wait_polls_until_tasks_complete,
        a_wrong_secret_is_surfaced_clearly_and_never_printed,
        dry_run_sends_nothing,
        prefetch_batches_and_waits,
        provider_and_endpoint_come_from_the_profile,
    ]
);

#[test]
fn the_stand_ins_verify_the_published_signing_examples() {
    // Tencent "Signature v3": DescribeInstances on cvm at 1551113065 with the published key.
    let h: BTreeMap<String, String> = [
        ("content-type", "application/json; charset=utf-8"),
        ("host", "cvm.tencentcloudapi.com"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let body =
        r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
    let canonical = tc3_canonical(&h, &["content-type", "host"], body.as_bytes());
    assert_eq!(
        tc3_signature(
            &canonical,
            1_551_113_065,
            "2019-02-25",
            "cvm",
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
        ),
        "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    );
    // Qiniu "管理凭证": the move request signed with MY_SECRET_KEY.
    assert_eq!(
        qbox_sign(
            "MY_SECRET_KEY",
            "/move/bmV3ZG9jczpmaW5kX21hbi50eHQ=/bmV3ZG9jczpmaW5kLm1hbi50eHQ=",
            None
        ),
        "FXsYh0wKHYPEsIAgdPD9OfjkeEM="
    );
    // Huawei API Request Signing Guide: GET …/vpcs?limit=2&marker=… at 20191115T033655Z.
    let h: BTreeMap<String, String> = [
        ("content-type", "application/json"),
        ("host", "service.region.example.com"),
        ("x-sdk-date", "20191115T033655Z"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let canonical = apig_canonical(
        "GET",
        "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
        "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0",
        &h,
        &["content-type", "host", "x-sdk-date"],
        b"",
    );
    assert_eq!(
        apig_signature(
            &canonical,
            "20191115T033655Z",
            "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
        ),
        "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
    );
}

#[test]
fn qiniu_stops_when_an_answer_says_the_rest_will_not_fit() {
    // 150 URLs, 100 left today: the first call (60) is answered with urlSurplusDay 40, so the
    // other 90 are not sent into certain refusals but written to the remainder file.
    let server = start(Dialect::Qiniu, |c| c.url_quota = 100);
    let tmp = tempfile::tempdir().unwrap();
    let a = cmd(&server, tmp.path(), "purge")
        .arg("--json")
        .args(urls(150))
        .assert()
        .code(1);
    let out = json(&a);
    assert_eq!(
        (out["sent"].as_u64(), out["not_sent"].as_u64()),
        (Some(60), Some(90))
    );
    assert_eq!(
        server.received().len(),
        1,
        "one call, nothing sent to be refused"
    );
    let err = stderr(&a);
    assert!(
        err.contains("40 URL refreshes are left today and 90 remain")
            && err.contains("--from-file"),
        "{err}"
    );
    let rest = tmp.path().join(out["remainder_file"].as_str().unwrap());
    assert_eq!(fs::read_to_string(rest).unwrap().lines().count(), 90);
}

#[test]
fn cloudflare_needs_a_zone_and_names_it() {
    let server = start(Dialect::Cloudflare, |_| {});
    let tmp = tempfile::tempdir().unwrap();
    let a = cmd(&server, tmp.path(), "purge")
        .env_remove("CLOUDFLARE_ZONE_ID")
        .arg("/x")
        .assert()
        .code(2);
    assert!(stderr(&a).contains("--zone-id"), "{}", stderr(&a));
    // A zone the token cannot reach: the answer names what to check.
    let a = cmd(&server, tmp.path(), "purge")
        .env("CLOUDFLARE_ZONE_ID", "ffffffffffffffffffffffffffffffff")
        .arg("/x")
        .assert()
        .code(1);
    assert!(
        stderr(&a).contains("7003") && stderr(&a).contains("zone"),
        "{}",
        stderr(&a)
    );
    assert!(server.accepted("purge-url").is_empty());
}
