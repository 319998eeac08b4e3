//! Rollout steps updating the edge routers through their APIs (`--router` /
//! `rollout_routers`), each against a stand-in checking the requests as the provider documents
//! them: Alibaba Cloud CDN's EdgeScript rule (tests/it/common/clouds.rs, the Alibaba dialect),
//! CloudFront's KeyValueStore and Functions (tests/it/common/kvs.rs), Cloudflare's Workers KV,
//! Worker upload and routes (tests/it/common/clouds.rs, the Cloudflare dialect).

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::common::clouds::{CloudConfig, CloudServer, Dialect};
use crate::common::{self, cdnpub, output_log};

use common::live_and_staged as staged;

/// The rollout state of `cwd/site`, if any.
fn state(cwd: &Path) -> Option<cdnpub::release::rollout::Rollout> {
    state_of(cwd, "site")
}

/// The rollout state of the directory target `cwd/TARGET`, if any.
fn state_of(cwd: &Path, target: &str) -> Option<cdnpub::release::rollout::Rollout> {
    let bytes = fs::read(cwd.join(target).join("_cdnpub/rollout.json")).ok()?;
    Some(serde_json::from_slice(&bytes).unwrap())
}

/// `cdnpub rollout ARGS --to site --router ROUTER` with `env`.
fn step(
    cwd: &Path,
    env: &[(&'static str, String)],
    router: &str,
    args: &[&str],
) -> assert_cmd::assert::Assert {
    cdnpub(cwd)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .arg("rollout")
        .args(args)
        .args(["--to", "site", "--router", router])
        .assert()
}

/// The page the rule routes a visitor of `bucket` to.
fn routed(rule: &str, bucket: u8) -> Option<String> {
    use crate::common::edgescript::{run, Request};
    let mut req = Request {
        uri: "/mobile-vue/pass/".into(),
        ..Request::default()
    };
    req.cookies
        .insert("cdnpub_bucket".into(), bucket.to_string());
    run(rule, &req).rewritten
}

/// Every step rewrites the domain's one EdgeScript rule in place (found by name, updated by
/// its ConfigId), signed and shaped as documented; `--dry-run` prints the call and changes
/// nothing; a router that fails leaves the state as it was; the secret is never printed.
#[test]
fn each_step_rewrites_the_edgescript_rule_in_place() {
    let cloud = CloudServer::start(CloudConfig::new(Dialect::Aliyun));
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let (_, candidate) = staged(cwd);
    let router = format!(
        "aliyun:cdn.example.com/mobile-vue/pass/?endpoint={}",
        cloud.endpoint
    );
    let env = cloud.env();
    let a = step(
        cwd,
        &env,
        &router,
        &["start", &candidate, "--percent", "10", "--dry-run"],
    )
    .success();
    let out = output_log(a.get_output());
    assert!(
        out.contains("BatchSetCdnDomainConfig") && out.contains("edge_function"),
        "{out}"
    );
    assert!(
        cloud.rules().is_empty() && state(cwd).is_none(),
        "a dry run writes nothing"
    );

    let a = step(
        cwd,
        &env,
        &router,
        &["start", &candidate, "--percent", "10"],
    )
    .success();
    let out = output_log(a.get_output());
    assert!(
        !out.contains(&cloud.config.secret),
        "the secret was printed"
    );
    let rules = cloud.rules();
    assert_eq!(rules.len(), 1);
    let (&id, (domain, args)) = rules.iter().next().unwrap();
    assert_eq!(domain, "cdn.example.com");
    assert_eq!(args["name"], "cdnpub_rollout");
    assert_eq!(
        (
            args["pos"].as_str(),
            args["pri"].as_str(),
            args["enable"].as_str()
        ),
        ("head", "0", "on")
    );
    let now = state(cwd).unwrap();
    assert_eq!(
        args["rule"],
        cdnpub::release::router::edgescript(&now, "/mobile-vue/pass/")
    );
    let staged_page = format!("/mobile-vue/pass/releases/{candidate}/index.html");
    assert_eq!(
        routed(&args["rule"], 9).as_deref(),
        Some(staged_page.as_str())
    );
    assert_eq!(
        routed(&args["rule"], 10).as_deref(),
        Some("/mobile-vue/pass/index.html")
    );

    step(cwd, &env, &router, &["set", "50"]).success();
    let rules = cloud.rules();
    assert_eq!(
        rules.keys().collect::<Vec<_>>(),
        [&id],
        "updated in place, not a second rule"
    );
    assert_eq!(
        routed(&rules[&id].1["rule"], 49).as_deref(),
        Some(staged_page.as_str())
    );

    // A router that refuses: exit 1 naming it; the state keeps the step before.
    let wrong = vec![
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", cloud.config.key_id.clone()),
        (
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "not-the-secret".to_string(),
        ),
    ];
    let a = step(cwd, &wrong, &router, &["set", "90"]).code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("aliyun:cdn.example.com/mobile-vue/pass/")
            && err.contains("the state was not changed"),
        "{err}"
    );
    assert_eq!(state(cwd).unwrap().percent, 50);
    assert!(!err.contains("not-the-secret"));

    step(cwd, &env, &router, &["abort"]).success();
    let rules = cloud.rules();
    assert_eq!(rules.len(), 1);
    assert_eq!(
        routed(&rules[&id].1["rule"], 0).as_deref(),
        Some("/mobile-vue/pass/index.html")
    );
}

/// The stand-in's SigV4A key derivation, written from the documents, gives the public key AWS's
/// published signing test suite (aws-sigv4's `aws-signing-test-suite/v4a/get-vanilla`) lists
/// for its example credentials: so a signature it verifies is one AWS would.
#[test]
fn the_sigv4a_key_derivation_gives_the_published_public_key() {
    use crate::common::kvs::sigv4a_key;
    let key = p256::ecdsa::SigningKey::from(sigv4a_key(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    ));
    let point = key.verifying_key().to_sec1_point(false);
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    assert_eq!(
        hex(point.x().unwrap()),
        "b6618f6a65740a99e650b33b6b4b5bd0d43b176d721a3edfea7e7d2d56d936b1"
    );
    assert_eq!(
        hex(point.y().unwrap()),
        "865ed22a7eadc9c5cb9d2cbaca1b3699139fedc5043dc6661864218330c8e518"
    );
}

/// `rollout deploy` creates and publishes the two CloudFront Functions (the request one
/// associated with the KeyValueStore) and writes the idle value; deploying again updates them;
/// each step then puts the KeyValueStore value (SigV4A, If-Match the store's ETag) and nothing
/// else; a refused signature fails the step and leaves the state.
#[test]
fn cloudfront_steps_put_the_key_value_store_value() {
    use crate::common::kvs::{KvsServer, ARN};
    use cdnpub::release::router::{cloudfront, kvs_value, KVS_KEY};
    let cf = KvsServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let (stable, candidate) = staged(cwd);
    let router = format!("cloudfront:{ARN}?endpoint={}", cf.endpoint);
    let env = KvsServer::env();
    let value = |cf: &KvsServer| -> Value {
        serde_json::from_str(&cf.state.lock().unwrap().items[KVS_KEY]).unwrap()
    };
    step(
        cwd,
        &env,
        &router,
        &["deploy", "--base", "/mobile-vue/pass/"],
    )
    .success();
    {
        let s = cf.state.lock().unwrap();
        let (request, response) =
            cloudfront("/mobile-vue/pass/", "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111");
        let f = &s.functions["cdnpub-rollout-request"];
        assert_eq!(f.live.as_deref(), Some(request.as_str()), "published");
        assert_eq!(f.stores, [ARN]);
        assert_eq!(f.runtime, "cloudfront-js-2.0");
        let g = &s.functions["cdnpub-rollout-response"];
        assert_eq!(g.live.as_deref(), Some(response.as_str()));
        assert!(g.stores.is_empty());
    }
    assert_eq!(
        value(&cf)["percent"],
        0,
        "deployed idle: everyone on {stable}"
    );
    step(
        cwd,
        &env,
        &router,
        &["deploy", "--base", "/mobile-vue/pass/"],
    )
    .success();
    assert!(
        cf.answered(200)
            .iter()
            .filter(|o| *o == "UpdateFunction")
            .count()
            == 2
    );
    assert!(cf.answered(409).is_empty() && cf.answered(403).is_empty());

    for (args, percent) in [
        (vec!["start", candidate.as_str(), "--percent", "10"], 10),
        (vec!["set", "50"], 50),
    ] {
        let before = cf.state.lock().unwrap().log.len();
        step(cwd, &env, &router, &args).success();
        let v = value(&cf);
        assert_eq!(v["percent"], percent);
        assert_eq!(v["candidate_prefix"], format!("releases/{candidate}/"));
        assert_eq!(v.to_string(), kvs_value(&state(cwd).unwrap()));
        let ops: Vec<String> = cf.state.lock().unwrap().log[before..]
            .iter()
            .map(|(o, _)| o.clone())
            .collect();
        assert_eq!(
            ops,
            ["DescribeKeyValueStore", "PutKey"],
            "a step is one KeyValueStore write"
        );
    }
    let wrong = vec![
        ("AWS_ACCESS_KEY_ID", crate::common::kvs::KEY_ID.to_string()),
        ("AWS_SECRET_ACCESS_KEY", "not-the-secret".to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
    ];
    let a = step(cwd, &wrong, &router, &["abort"]).code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("cloudfront:") && err.contains("AccessDenied"),
        "{err}"
    );
    assert_eq!(
        state(cwd).unwrap().percent,
        50,
        "the state keeps the step before"
    );
    step(cwd, &env, &router, &["abort"]).success();
    assert_eq!(value(&cf)["percent"], 0);
    assert_eq!(value(&cf)["candidate_prefix"], "");
}

/// `rollout deploy` uploads the Worker (module syntax, the KV namespace bound as ROLLOUT) and
/// routes the pages to it once (a second deploy adds no route; a route another Worker holds is
/// refused, naming it); each step is one Workers KV write of the value the Worker reads.
#[test]
fn cloudflare_steps_put_the_workers_kv_value() {
    use crate::common::clouds::{CF_ACCOUNT, CF_NAMESPACE};
    use cdnpub::release::router::{cloudflare_worker, kvs_value, KVS_KEY};
    let cloud = CloudServer::start(CloudConfig::new(Dialect::Cloudflare));
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let (stable, candidate) = staged(cwd);
    let router = format!(
        "cloudflare:{CF_ACCOUNT}/{CF_NAMESPACE}?endpoint={}",
        cloud.endpoint
    );
    let env = cloud.env();
    let pattern = "cdn.example.com/mobile-vue/pass/*";
    let deploy = ["deploy", "--base", "/mobile-vue/pass/", "--route", pattern];
    let a = step(cwd, &env, &router, &deploy).success();
    assert!(!output_log(a.get_output()).contains(&cloud.config.secret));
    let scripts = cloud.scripts();
    let (meta, code) = &scripts["cdnpub-rollout"];
    assert_eq!(code, &cloudflare_worker("/mobile-vue/pass/"));
    assert_eq!(meta["main_module"], "cdnpub-rollout-worker.mjs");
    assert_eq!(
        meta["bindings"],
        serde_json::json!([{"type": "kv_namespace", "name": "ROLLOUT", "namespace_id": CF_NAMESPACE}])
    );
    assert_eq!(cloud.routes().len(), 1);
    assert_eq!(cloud.routes()[0].1, pattern);
    let value = || -> Value {
        serde_json::from_str(&cloud.kv()[&(CF_NAMESPACE.to_string(), KVS_KEY.to_string())]).unwrap()
    };
    assert_eq!(value()["percent"], 0);
    step(cwd, &env, &router, &deploy).success();
    assert_eq!(cloud.routes().len(), 1, "deployed twice, routed once");

    step(
        cwd,
        &env,
        &router,
        &["start", &candidate, "--percent", "10"],
    )
    .success();
    assert_eq!(value().to_string(), kvs_value(&state(cwd).unwrap()));
    assert_eq!(value()["percent"], 10);
    let uploads = cloud.accepted("script").len();
    step(cwd, &env, &router, &["set", "90"]).success();
    assert_eq!(value()["percent"], 90);
    assert_eq!(
        cloud.accepted("script").len(),
        uploads,
        "a step is no redeploy"
    );
    step(cwd, &env, &router, &["abort"]).success();
    assert_eq!(value()["candidate_prefix"], "");
    // Promote: the candidate made live, then every router told (everyone on the live pages).
    step(
        cwd,
        &env,
        &router,
        &["start", &candidate, "--percent", "90"],
    )
    .success();
    step(cwd, &env, &router, &["promote"]).success();
    let after = state(cwd).unwrap();
    assert!(
        after.candidate.is_none() && after.stable != stable,
        "{after:?}"
    );
    assert_eq!(value().to_string(), kvs_value(&after));
    assert_eq!(value()["candidate_prefix"], "");
    let live = fs::read_to_string(cwd.join("site/index.html")).unwrap();
    assert!(
        live.contains("<title>staged "),
        "the candidate's page is live"
    );

    let other = "cdn.example.com/other/*";
    cloud.add_route(other, "someone-elses-worker");
    let a = step(cwd, &env, &router, &["deploy", "--route", other]).code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("someone-elses-worker"), "{err}");
}

/// EdgeOne: `rollout deploy` creates the edge function (Service Worker syntax), binds the Edge KV
/// namespace as its global and adds one rule for the host; deploying again modifies the same
/// function and adds no rule; each step is one EdgeKVPut of the value the function reads.
#[test]
fn edgeone_steps_put_the_edge_kv_value() {
    use crate::common::clouds::{TEO_NAMESPACE, TEO_ZONE};
    use cdnpub::release::router::{edgeone_function, kvs_value, KVS_KEY};
    let cloud = CloudServer::start(CloudConfig::new(Dialect::Tencent));
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let (_, candidate) = staged(cwd);
    let router = format!(
        "edgeone:{TEO_ZONE}/{TEO_NAMESPACE}?endpoint={}",
        cloud.endpoint
    );
    let env = cloud.env();
    let deploy = [
        "deploy",
        "--base",
        "/mobile-vue/pass/",
        "--route",
        "www.example.com/mobile-vue/pass/*",
    ];
    let a = step(
        cwd,
        &env,
        &router,
        &["--dry-run"]
            .iter()
            .chain(&deploy)
            .copied()
            .collect::<Vec<_>>(),
    )
    .success();
    assert!(output_log(a.get_output()).contains("CreateFunction"));
    assert!(
        cloud.teo().functions.is_empty(),
        "a dry run creates nothing"
    );
    step(cwd, &env, &router, &deploy).success();
    let teo = cloud.teo();
    assert_eq!(teo.functions.len(), 1);
    let (id, (name, code, _)) = teo.functions.iter().next().unwrap();
    assert_eq!(name, "cdnpub-rollout");
    assert_eq!(code, &edgeone_function("/mobile-vue/pass/"));
    assert_eq!(teo.bindings[id][0]["VariableName"], "CDNPUB_ROLLOUT");
    assert_eq!(teo.rules.len(), 1);
    assert_eq!(
        teo.rules[0].2[0]["RuleConditions"][0]["Values"],
        serde_json::json!(["www.example.com"])
    );
    let value = || -> Value {
        serde_json::from_str(&cloud.teo().kv[&(TEO_NAMESPACE.to_string(), KVS_KEY.to_string())])
            .unwrap()
    };
    assert_eq!(value()["percent"], 0);
    step(cwd, &env, &router, &deploy).success();
    let again = cloud.teo();
    assert_eq!(
        (again.functions.len(), again.rules.len()),
        (1, 1),
        "updated, not doubled"
    );

    step(
        cwd,
        &env,
        &router,
        &["start", &candidate, "--percent", "10"],
    )
    .success();
    assert_eq!(value().to_string(), kvs_value(&state(cwd).unwrap()));
    step(cwd, &env, &router, &["set", "50"]).success();
    assert_eq!(value()["percent"], 50);
    step(cwd, &env, &router, &["abort"]).success();
    assert_eq!(value()["candidate_prefix"], "");
    assert_eq!(
        cloud.teo().functions[id].1,
        code.clone(),
        "a step is no redeploy"
    );
}

/// What goes into router code is checked where a person types it (`--base`, `--root`,
/// `--router`) and again where it is read back from the bucket (`_cdnpub/rollout.json`: a
/// tampered tag or prefix is refused, no router code written); `rollout apply` before any
/// rollout gives the routers the idle step (everyone on the live release).
#[test]
fn router_inputs_are_checked_and_a_tampered_state_writes_no_code() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let (stable, candidate) = staged(cwd);
    let ngx = cwd.join("ngx");
    fs::create_dir_all(&ngx).unwrap();
    let router = format!("nginx:{}", ngx.display());
    step(cwd, &[], &router, &["apply"]).success();
    let http = fs::read_to_string(ngx.join("cdnpub-rollout-http.conf")).unwrap();
    assert!(
        http.contains(&format!("stable {stable}, candidate none at 0%")),
        "{http}"
    );

    for (args, says) in [
        (vec!["deploy", "--base", "/a'b/"], "not a URL path"),
        (
            vec!["nginx", "--root", "/srv/x; return 200", "--base", "/"],
            "nginx configuration",
        ),
        (
            vec!["nginx", "--origin", "ftp://bucket/", "--base", "/"],
            "http(s) URL",
        ),
        (vec!["cloudfront", "--kvs-id", "kvs'1"], "KeyValueStore id"),
    ] {
        let a = step(cwd, &[], &router, &args).code(2);
        let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let a = cdnpub(cwd)
        .args([
            "rollout",
            "status",
            "--to",
            "site",
            "--router",
            "varnish:/etc/varnish",
        ])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("a router is nginx:DIR"));

    step(
        cwd,
        &[],
        &router,
        &["start", &candidate, "--tag", "cookie:gray=1"],
    )
    .success();
    let path = cwd.join("site/_cdnpub/rollout.json");
    let good = fs::read_to_string(&path).unwrap();
    for (from, to) in [
        ("\"gray\"", "\"gray; }} server { listen 81\""),
        (&format!("\"releases/{candidate}/\""), "\"../../etc/\""),
    ] {
        fs::write(&path, good.replace(from, to)).unwrap();
        let a = step(cwd, &[], &router, &["apply"]).code(1);
        let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        assert!(
            err.contains("damaged") && err.contains("no router code"),
            "{err}"
        );
    }
    fs::write(&path, good).unwrap();
    step(cwd, &[], &router, &["apply"]).success();
}

/// A create whose answer is lost (carried out, answered 502) is retried by looking first: one
/// EdgeScript rule, one EdgeOne function and rule, one Cloudflare route, and every step
/// succeeds.
#[test]
fn a_lost_answer_to_a_create_does_not_double_it() {
    use crate::common::clouds::{CF_ACCOUNT, CF_NAMESPACE, TEO_NAMESPACE, TEO_ZONE};
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let (_, candidate) = staged(cwd);
    let lossy = |d: Dialect, calls: &[&str]| {
        let mut c = CloudConfig::new(d);
        c.lose_first_answer = calls.iter().map(|s| s.to_string()).collect();
        CloudServer::start(c)
    };
    let aliyun = lossy(Dialect::Aliyun, &["BatchSetCdnDomainConfig"]);
    let router = format!("aliyun:cdn.example.com/?endpoint={}", aliyun.endpoint);
    step(
        cwd,
        &aliyun.env(),
        &router,
        &["start", &candidate, "--percent", "10"],
    )
    .success();
    assert_eq!(aliyun.rules().len(), 1);

    let teo = lossy(Dialect::Tencent, &["CreateFunction", "CreateFunctionRule"]);
    let router = format!(
        "edgeone:{TEO_ZONE}/{TEO_NAMESPACE}?endpoint={}",
        teo.endpoint
    );
    step(
        cwd,
        &teo.env(),
        &router,
        &["deploy", "--route", "www.example.com"],
    )
    .success();
    let site = teo.teo();
    assert_eq!((site.functions.len(), site.rules.len()), (1, 1));

    let cf = lossy(
        Dialect::Cloudflare,
        &[&format!(
            "POST /client/v4/zones/{}/workers/routes",
            CloudConfig::new(Dialect::Cloudflare).zone_id
        )],
    );
    let router = format!(
        "cloudflare:{CF_ACCOUNT}/{CF_NAMESPACE}?endpoint={}",
        cf.endpoint
    );
    step(
        cwd,
        &cf.env(),
        &router,
        &["deploy", "--route", "cdn.example.com/*"],
    )
    .success();
    assert_eq!(cf.routes().len(), 1);
    assert!(
        cf.received()
            .iter()
            .any(|r| r.error.as_deref() == Some("lost")),
        "an answer was lost"
    );
}

/// Promote on two targets where one cannot make the candidate live: the one that did ends its
/// rollout, the other keeps its state (the candidate still routed by share), the routers are
/// not told, and the promote fails naming the target.
#[test]
fn a_promote_that_fails_on_one_target_leaves_its_rollout_and_the_routers() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let (_, candidate) = common::live_and_staged_to(cwd, &["a", "b"]);
    let ngx = cwd.join("ngx");
    fs::create_dir_all(&ngx).unwrap();
    let router = format!("nginx:{}", ngx.display());
    let run = |args: &[&str]| {
        cdnpub(cwd)
            .arg("rollout")
            .args(args)
            // b first: results are matched to targets by name, not by position.
            .args(["--to", "b", "--to", "a", "--router", &router])
            .assert()
    };
    run(&["start", &candidate, "--percent", "50"]).success();
    let include = fs::read_to_string(ngx.join("cdnpub-rollout-http.conf")).unwrap();
    // b loses what a rollback restores the candidate's pages from.
    fs::remove_dir_all(cwd.join(format!("b/releases/{candidate}"))).unwrap();
    fs::remove_dir_all(cwd.join("b/_cdnpub/objects")).unwrap();
    let a = run(&["promote"]).code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("b"), "{err}");
    let state_of = |t: &str| state_of(cwd, t).unwrap();
    assert!(
        state_of("a").candidate.is_none(),
        "a's candidate is live: its rollout ended"
    );
    assert_eq!(state_of("b").candidate.as_deref(), Some(candidate.as_str()));
    assert_eq!(state_of("b").percent, 50);
    assert_eq!(
        fs::read_to_string(ngx.join("cdnpub-rollout-http.conf")).unwrap(),
        include,
        "the routers were not told"
    );
}

/// The routers take one step for every target: targets whose rollouts would route otherwise
/// (here another tag rule) are refused before anything is written, naming the target.
#[test]
fn targets_that_would_route_otherwise_are_refused_before_any_router_is_told() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let (_, candidate) = common::live_and_staged_to(cwd, &["a", "b"]);
    let start = |to: &str, extra: &[&str]| {
        cdnpub(cwd)
            .args([
                "rollout",
                "start",
                &candidate,
                "--percent",
                "10",
                "--to",
                to,
            ])
            .args(extra)
            .assert()
            .success();
    };
    start("a", &["--tag", "cookie:gray=1"]);
    start("b", &[]);
    let ngx = cwd.join("ngx");
    fs::create_dir_all(&ngx).unwrap();
    let a = cdnpub(cwd)
        .args(["rollout", "set", "50", "--to", "a", "--to", "b"])
        .arg("--router")
        .arg(format!("nginx:{}", ngx.display()))
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("file://b would route otherwise than file://a"),
        "{err}"
    );
    assert!(
        !ngx.join("cdnpub-rollout-http.conf").exists(),
        "no router told"
    );
    for t in ["a", "b"] {
        assert_eq!(state_of(cwd, t).unwrap().percent, 10, "{t} unchanged");
    }
}
