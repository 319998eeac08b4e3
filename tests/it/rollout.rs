//! A rollout through a real nginx with the router `cdnpub rollout nginx` writes: 1,000 visitors,
//! each keeping its cookies, through 10% → 50% → 90% → 100% and an abort; previews; prune keeps
//! what a rollout serves.

use std::collections::HashMap;
use std::fs;

use std::path::Path;

use serde_json::Value;

use crate::common::nginx::{self, Nginx};
use crate::common::{self, cdnpub, copy_tree, fixtures};

/// One visitor: its user agent and the cookies nginx gave it.
struct Visitor {
    agent: String,
    cookies: HashMap<String, String>,
}

impl Visitor {
    /// GET `/` as this visitor (with `extra` headers); true when it got the candidate's page.
    fn visit(
        &mut self,
        client: &reqwest::blocking::Client,
        web: &Nginx,
        extra: &[(&str, &str)],
    ) -> bool {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut req = client
            .get(web.url("/"))
            .header("User-Agent", &self.agent)
            .header("Cookie", cookie.join("; "));
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let resp = req.send().unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        // No shared cache may keep one cohort's page for another.
        assert_eq!(resp.headers()["cache-control"], "private, no-cache");
        for set in resp.headers().get_all("set-cookie") {
            let first = set.to_str().unwrap().split(';').next().unwrap();
            if let Some((k, v)) = first.split_once('=') {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        resp.text().unwrap().contains("<title>staged ")
    }
}

/// `cdnpub rollout ARGS --to site` in `cwd`, exit 0.
fn rollout(cwd: &Path, args: &[&str]) {
    cdnpub(cwd)
        .arg("rollout")
        .args(args)
        .args(["--to", "site"])
        .assert()
        .success();
}

/// nginx serving `cwd/site` with the router `cdnpub rollout nginx` writes for the current step.
fn serve(bin: &str, cwd: &Path) -> Nginx {
    serve_under(bin, cwd, "site", "/")
}

/// nginx serving `cwd/site` with the router for the target `cwd/TARGET`, whose pages are served
/// under `base`.
fn serve_under(bin: &str, cwd: &Path, target: &str, base: &str) -> Nginx {
    let site = cwd.join("site");
    let conf = cwd.join("nginx");
    fs::create_dir_all(&conf).unwrap();
    cdnpub(cwd)
        .args(["rollout", "nginx", "--root", site.to_str().unwrap()])
        .args([
            "--base",
            base,
            "--out",
            conf.to_str().unwrap(),
            "--to",
            target,
        ])
        .assert()
        .success();
    let http = fs::read_to_string(conf.join("cdnpub-rollout-http.conf")).unwrap();
    let server = fs::read_to_string(conf.join("cdnpub-rollout-server.conf")).unwrap();
    // The test server already sets the root.
    let server: String = server
        .lines()
        .filter(|l| !l.starts_with("root "))
        .map(|l| format!("{l}\n"))
        .collect();
    Nginx::start_with(bin, &site, &http, &server)
}

#[test]
fn a_thousand_visitors_move_with_the_share_and_back_at_once_on_abort() {
    let Some(bin) = nginx::binary() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("dist");
    copy_tree(&fixtures().join("vite-vue/dist"), &src);
    let site = tmp.path().join("site");
    let to = site.to_str().unwrap();
    let publish = |extra: &[&str]| {
        let args = [&["--to", to, "--server", "https://cdn.example.com"], extra].concat();
        common::published(tmp.path(), &src, &args)
    };
    publish(&[]);
    common::retitle(&src.join("index.html"), "staged");
    let candidate_id = publish(&["--stage"]);
    let cwd = tmp.path();
    rollout(
        cwd,
        &[
            "start",
            &candidate_id,
            "--percent",
            "10",
            "--tag",
            "header:x-gray=1",
        ],
    );

    let client = reqwest::blocking::Client::new();
    let mut visitors: Vec<Visitor> = (0..1000)
        .map(|i| Visitor {
            agent: format!("visitor-{i}"),
            cookies: HashMap::new(),
        })
        .collect();
    let mut on_candidate = vec![false; visitors.len()];
    for percent in [10u8, 50, 90, 100] {
        rollout(cwd, &["set", &percent.to_string()]);
        let web = serve(bin, cwd);
        let mut share = 0;
        for (i, v) in visitors.iter_mut().enumerate() {
            let now = v.visit(&client, &web, &[]);
            assert!(
                now || !on_candidate[i],
                "visitor {i} left the candidate while the share rose to {percent}%"
            );
            // Its navigations agree with its first page.
            assert_eq!(v.visit(&client, &web, &[]), now, "visitor {i} flipped");
            on_candidate[i] = now;
            share += usize::from(now);
        }
        let got = share as f64 / 10.0;
        eprintln!("{percent}%: {share} of 1000 visitors on the candidate");
        assert!(
            (got - f64::from(percent)).abs() <= 3.0,
            "{got}% on the candidate at {percent}%"
        );
        // A request the gateway marked gray sees the candidate, whatever its bucket.
        for v in visitors.iter_mut().take(50) {
            assert!(v.visit(&client, &web, &[("x-gray", "1")]));
        }
    }
    // Abort: every visitor back on the stable pages with its next request.
    rollout(cwd, &["abort"]);
    let web = serve(bin, cwd);
    for (i, v) in visitors.iter_mut().enumerate() {
        assert!(
            !v.visit(&client, &web, &[]),
            "visitor {i} still on the candidate"
        );
        assert!(!v.visit(&client, &web, &[("x-gray", "1")]));
    }
    // A preview pins whoever asks to the staged release; a normal visit gets the stable page.
    let mut reviewer = Visitor {
        agent: "reviewer".into(),
        cookies: HashMap::new(),
    };
    let page = client
        .get(web.url(&format!("/?cdnpub-release={candidate_id}")))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains("<title>staged "));
    reviewer
        .cookies
        .insert("cdnpub_release".into(), candidate_id.clone());
    assert!(
        reviewer.visit(&client, &web, &[]),
        "the preview cookie keeps it"
    );
    let mut someone = Visitor {
        agent: "someone".into(),
        cookies: HashMap::new(),
    };
    assert!(!someone.visit(&client, &web, &[]));
    assert_eq!(
        client
            .get(web.url("/_cdnpub/rollout.json"))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        403
    );
}

/// `verify --site-url` during a rollout fetches each release's pages through the router as a
/// visitor of each cohort: both pass; a candidate page that is not the release's fails it,
/// naming the page and the cohort.
#[test]
fn verify_fetches_the_stable_and_the_candidate_through_the_router() {
    let Some(bin) = nginx::binary() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let (stable, candidate) = common::live_and_staged(cwd);
    rollout(cwd, &["start", &candidate, "--percent", "50"]);
    // The release history shows the rollout: each release's part and every step.
    let a = cdnpub(cwd)
        .args(["--json", "releases", "--to", "site"])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    let part = |id: &str| {
        v[0]["releases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()["rollout"]
            .clone()
    };
    assert_eq!(part(&stable), "stable");
    assert!(part(&candidate)
        .as_str()
        .unwrap()
        .starts_with("candidate at 50% since "));
    assert_eq!(v[0]["rollout"]["history"][0]["action"], "start");
    let web = serve(bin, cwd);
    let verify = || {
        let mut c = cdnpub(cwd);
        c.args(["--json", "verify", "--to", "site"]).args([
            "--cdn-base",
            &web.url("/"),
            "--site-url",
            &web.url("/"),
        ]);
        c
    };
    let a = verify().assert().success();
    let v: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    let pages = v["routed"]["pages"].as_array().unwrap();
    let of =
        |cohort: &str| -> Vec<&Value> { pages.iter().filter(|p| p["cohort"] == cohort).collect() };
    assert!(
        !of("stable").is_empty() && !of("candidate").is_empty(),
        "{v}"
    );
    assert!(of("stable").iter().all(|p| p["release"] == stable.as_str()));
    assert!(of("candidate")
        .iter()
        .all(|p| p["release"] == candidate.as_str()));
    assert!(pages.iter().all(|p| p["verdict"] == "ok"), "{v}");

    // The router serving another page than the candidate's is a failed verify.
    let staged = cwd.join(format!("site/releases/{candidate}/index.html"));
    let good = fs::read(&staged).unwrap();
    fs::write(&staged, b"<!doctype html><title>not the release</title>").unwrap();
    let a = verify().assert().code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("through the rollout router")
            && err.contains("candidate")
            && err.contains(&candidate),
        "{err}"
    );
    fs::write(&staged, good).unwrap();
    verify().assert().success();
    // Without --site-url verify checks only what it did before.
    let a = cdnpub(cwd)
        .args([
            "--json",
            "verify",
            "--to",
            "site",
            "--cdn-base",
            &web.url("/"),
        ])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert!(v.get("routed").is_none());
    // At 100% nobody gets the stable pages: verify leaves them out, saying so, and checks the
    // candidate's through the router.
    rollout(cwd, &["set", "100"]);
    drop(web);
    let web = serve(bin, cwd);
    let a = cdnpub(cwd)
        .args(["--json", "verify", "--to", "site"])
        .args(["--cdn-base", &web.url("/"), "--site-url", &web.url("/")])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert!(v["notes"][0].as_str().unwrap().contains("100%"), "{v}");
    let pages = v["routed"]["pages"].as_array().unwrap();
    assert!(
        !pages.is_empty()
            && pages
                .iter()
                .all(|p| p["cohort"] == "candidate" && p["verdict"] == "ok"),
        "{v}"
    );
}

/// Releases published during a rollout (hotfixes) become its stable release and never prune the
/// candidate's pages, however many go out (`--keep-releases 1`); after an abort they may.
#[test]
fn prune_keeps_what_a_rollout_serves() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let src = cwd.join("dist");
    copy_tree(&fixtures().join("vite-vue/dist"), &src);
    let publish = |title: &str, extra: &[&str]| {
        common::retitle(&src.join("index.html"), title);
        let args = [&["--to", "site", "--keep-releases", "1"], extra].concat();
        common::published(cwd, &src, &args)
    };
    publish("one", &[]);
    let candidate = publish("staged", &["--stage"]);
    rollout(cwd, &["start", &candidate, "--percent", "10"]);
    // The CloudFront router for this step: two functions and the KeyValueStore value.
    rollout(cwd, &["cloudfront", "--kvs-id", "kvs-1", "--out", "."]);
    let kvs: Value =
        serde_json::from_slice(&fs::read(cwd.join("cdnpub-rollout-kvs.json")).unwrap()).unwrap();
    assert_eq!(kvs["percent"], 10);
    assert_eq!(kvs["candidate_prefix"], format!("releases/{candidate}/"));
    let request = fs::read_to_string(cwd.join("cdnpub-rollout-request.js")).unwrap();
    assert!(request.contains("cf.kvs('kvs-1')"));
    assert!(cwd.join("cdnpub-rollout-response.js").is_file());
    rollout(cwd, &["cloudflare", "--base", "/", "--out", "."]);
    let worker = fs::read_to_string(cwd.join("cdnpub-rollout-worker.mjs")).unwrap();
    assert!(worker.contains("env.ROLLOUT.get('cdnpub-rollout')"));
    let page = cwd.join(format!("site/releases/{candidate}/index.html"));
    for title in ["two", "three"] {
        publish(title, &[]);
        assert!(
            page.is_file(),
            "the candidate's page survived release {title}"
        );
    }
    rollout(cwd, &["abort"]);
    publish("four", &[]);
    assert!(
        !page.exists(),
        "an aborted candidate is pruned like any old release"
    );
}

/// Previews: a staged publish never prunes, so with `--keep-releases 1` staged releases waiting
/// for review keep their pages, and the live release keeps every object; a live publish then
/// prunes them like any older release.
#[test]
fn previews_and_the_live_release_survive_pruning_until_a_new_live_release() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let src = cwd.join("dist");
    copy_tree(&fixtures().join("vite-vue/dist"), &src);
    let publish = |title: &str, extra: &[&str]| {
        common::retitle(&src.join("index.html"), title);
        let args = [&["--to", "site", "--keep-releases", "1"], extra].concat();
        common::published(cwd, &src, &args)
    };
    let page = |id: &str| cwd.join(format!("site/releases/{id}/index.html"));
    // A file only the live release has: pruning the live release would delete it.
    let script = src.join("live-only.js");
    fs::write(&script, "console.log('live')").unwrap();
    let live_id = publish("live", &[]);
    fs::remove_file(&script).unwrap();
    let first = publish("review one", &["--stage"]);
    let second = publish("review two", &["--stage"]);
    assert!(
        page(&first).is_file() && page(&second).is_file(),
        "both previews kept"
    );
    let live = fs::read_to_string(cwd.join("site/index.html")).unwrap();
    assert!(
        live.contains("<title>live "),
        "the live page is still served"
    );
    let record: Value = serde_json::from_slice(
        &fs::read(cwd.join(format!("site/_cdnpub/releases/{live_id}.json"))).unwrap(),
    )
    .unwrap();
    for key in record["objects"].as_object().unwrap().keys() {
        assert!(
            cwd.join("site").join(key).is_file(),
            "the live release lost {key}"
        );
    }
    publish("next", &[]);
    assert!(
        !page(&first).exists() && !page(&second).exists(),
        "superseded previews pruned"
    );
}

/// Headless Chromium through the router: the preview URL of a staged release loads its pages
/// (lazy route included, every asset from the CDN, nothing failed) while a normal visit gets
/// the stable ones.
#[test]
fn chromium_sees_the_candidate_by_preview_and_the_stable_page_otherwise() {
    let Some(bin) = nginx::binary() else { return };
    let Some(modules) = crate::bundlers_e2e::playwright() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let src = cwd.join("dist");
    copy_tree(&fixtures().join("bundlers/vite-vue/dist"), &src);
    let site = cwd.join("site");
    fs::create_dir_all(&site).unwrap();
    // The CDN: the published tree, with CORS for module scripts.
    let cdn = Nginx::start(
        bin,
        &site,
        "add_header Access-Control-Allow-Origin * always;",
    );
    let server = cdn.url("");
    let publish = |extra: &[&str]| {
        let args = [
            &["--to", "site/mobile-vue/pass", "--server", server.as_str()],
            extra,
        ]
        .concat();
        common::published(cwd, &src, &args)
    };
    publish(&[]);
    common::retitle(&src.join("index.html"), "staged");
    let candidate = publish(&["--stage"]);
    cdnpub(cwd)
        .args(["rollout", "start", &candidate, "--percent", "0"])
        .args(["--to", "site/mobile-vue/pass"])
        .assert()
        .success();
    let web = serve_under(bin, cwd, "site/mobile-vue/pass", "/mobile-vue/pass/");
    let cdn_host = cdn.url("");
    for (url, title) in [
        (
            web.url(&format!("/mobile-vue/pass/?cdnpub-release={candidate}")),
            "staged pass",
        ),
        (web.url("/mobile-vue/pass/"), "pass"),
    ] {
        let v = crate::bundlers_e2e::visit(&modules, &url);
        assert_eq!(v["title"], title, "{url}: {v}");
        assert_eq!(v["failed"], serde_json::json!([]), "{url}: {v}");
        assert_eq!(v["lazy"], true, "{url}: {v}");
        let requests = v["requests"].as_array().unwrap();
        // Scripts fetched over HTTP (a worker's blob: bootstrap is made by the page itself).
        let assets: Vec<&Value> = requests
            .iter()
            .filter(|r| r["type"] == "script" && r["url"].as_str().unwrap().starts_with("http"))
            .collect();
        assert!(!assets.is_empty(), "{v}");
        for r in requests {
            assert!(r["status"].as_u64().unwrap() < 400, "{r}");
        }
        assert!(
            assets
                .iter()
                .all(|r| r["url"].as_str().unwrap().starts_with(&cdn_host)),
            "every script from the CDN: {v}"
        );
    }
}

/// `publish --stage --preview` says the URL that shows the staged release (the site URL from
/// the profile), in its report and its JSON; without a site URL `--preview` is a usage error.
#[test]
fn a_staged_publish_prints_its_preview_url() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    fs::write(
        cwd.join("cdnpub.toml"),
        "[env.prod]\nsite_url = \"https://www.example.com/mobile-vue/pass/\"\n",
    )
    .unwrap();
    let src = fixtures().join("vite-vue/dist");
    let publish = |extra: &[&str]| {
        let mut c = cdnpub(cwd);
        c.args(extra)
            .arg("publish")
            .arg(&src)
            .args(["--to", "site"]);
        c
    };
    publish(&[]).assert().success();
    let out = publish(&["--env", "prod", "--json"])
        .args(["--stage", "--preview"])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let id = v["release"].as_str().unwrap();
    assert_eq!(
        v["preview"],
        format!("https://www.example.com/mobile-vue/pass/?cdnpub-release={id}")
    );
    let text = publish(&["--env", "prod"])
        .arg("--stage")
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&text.get_output().stdout).into_owned();
    assert!(
        stdout.contains("preview   https://www.example.com/mobile-vue/pass/?cdnpub-release="),
        "{stdout}"
    );
    publish(&[])
        .args(["--stage", "--preview"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--site-url"));
}

/// A rollout at 10% of staged release `r2` over `r1`, with one tag rule, for the edge routers'
/// tests (no target: the routers only read the state).
fn staged_rollout(tag: &str) -> cdnpub::release::rollout::Rollout {
    use cdnpub::release::rollout::{Rollout, Tag};
    let (_, created) = cdnpub::release::new_id("00");
    let mut candidate = cdnpub::release::Release::new(
        ("r2".into(), created),
        Default::default(),
        Vec::new(),
        Vec::new(),
    );
    candidate.stage = Some("releases/r2/".into());
    Rollout::start("r1", &candidate, 10, vec![Tag::parse(tag).unwrap()]).unwrap()
}

/// A viewer-request event of the shape CloudFront documents.
fn viewer_request(
    name: &str,
    ip: &str,
    uri: &str,
    headers: Value,
    cookies: Value,
    query: Value,
) -> Value {
    serde_json::json!({
        "name": name,
        "event": {
            "version": "1.0",
            "context": {"eventType": "viewer-request"},
            "viewer": {"ip": ip},
            "request": {"method": "GET", "uri": uri, "querystring": query, "headers": headers, "cookies": cookies}
        }
    })
}

/// The rollout's CloudFront Functions under node with the KeyValueStore stubbed: 1,000 visitors
/// at 10% and 50% (the share within 3 points, a bucket only joins as the share rises, the cookie
/// keeps it), a gray-tagged request always on the candidate, a preview, assets untouched, and no
/// rollout in the store (or after an abort) sending everyone to the stable page.
#[test]
fn the_cloudfront_functions_route_by_the_key_value_store() {
    use cdnpub::release::router::{cloudfront, kvs_value, KVS_KEY};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let (request, response) = cloudfront("/mobile-vue/pass/", "kvs-0123");
    fs::write(tmp.path().join("request.js"), &request).unwrap();
    fs::write(tmp.path().join("response.js"), &response).unwrap();
    let mut state = staged_rollout("header:x-gray=1");
    let mut events: Vec<Value> = (0..1000)
        .map(|i| {
            viewer_request(
                &format!("visitor {i}"),
                &format!("198.51.{}.{}", i / 250, i % 250),
                "/mobile-vue/pass/",
                serde_json::json!({"user-agent": {"value": format!("visitor-{i}")}}),
                serde_json::json!({}),
                serde_json::json!({}),
            )
        })
        .collect();
    events.push(viewer_request(
        "gray",
        "203.0.113.1",
        "/mobile-vue/pass/index.html",
        serde_json::json!({"x-gray": {"value": "1"}}),
        serde_json::json!({"cdnpub_bucket": {"value": "99"}}),
        serde_json::json!({}),
    ));
    events.push(viewer_request(
        "preview",
        "203.0.113.2",
        "/mobile-vue/pass/",
        serde_json::json!({}),
        serde_json::json!({"cdnpub_bucket": {"value": "99"}}),
        serde_json::json!({"cdnpub-release": {"value": "r7"}}),
    ));
    events.push(viewer_request(
        "asset",
        "203.0.113.3",
        "/mobile-vue/pass/assets/index-AbCd1234.js",
        serde_json::json!({}),
        serde_json::json!({"cdnpub_bucket": {"value": "0"}}),
        serde_json::json!({}),
    ));
    fs::write(
        tmp.path().join("events.json"),
        Value::Array(events).to_string(),
    )
    .unwrap();
    let run = |kvs: Value| -> Value {
        fs::write(tmp.path().join("kvs.json"), kvs.to_string()).unwrap();
        let mut cmd = std::process::Command::new("node");
        cmd.arg(root.join("tests/browser/cloudfront-rollout.mjs"));
        for f in ["request.js", "response.js", "kvs.json", "events.json"] {
            cmd.arg(tmp.path().join(f));
        }
        let out = cmd.output().expect("node runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(!common::in_ci(), "node is required under CI");
        eprintln!("SKIPPED: node is not installed; the CloudFront Functions were not run");
        return;
    }
    let on = |v: &Value, name: &str| -> String {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()["uri"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let mut before: Vec<bool> = vec![false; 1000];
    for percent in [10u8, 50] {
        state.set(percent).unwrap();
        let v = run(serde_json::json!({KVS_KEY: kvs_value(&state)}));
        assert_eq!(v["kvsIds"], serde_json::json!(["kvs-0123"]));
        let mut share = 0;
        for (i, was) in before.iter_mut().enumerate() {
            let uri = on(&v, &format!("visitor {i}"));
            let now = uri == "/mobile-vue/pass/releases/r2/index.html";
            assert!(now || uri == "/mobile-vue/pass/index.html", "{uri}");
            assert!(now || !*was, "visitor {i} left the candidate at {percent}%");
            *was = now;
            share += usize::from(now);
        }
        eprintln!("{percent}%: {share} of 1000 visitors on the candidate");
        assert!(
            (share as f64 / 10.0 - f64::from(percent)).abs() <= 3.0,
            "{share} at {percent}%"
        );
        assert_eq!(on(&v, "gray"), "/mobile-vue/pass/releases/r2/index.html");
        assert_eq!(on(&v, "preview"), "/mobile-vue/pass/releases/r7/index.html");
        assert_eq!(on(&v, "asset"), "/mobile-vue/pass/assets/index-AbCd1234.js");
        // The preview link's release is kept in a cookie; nobody else gets one.
        let results = v["results"].as_array().unwrap();
        let previews: Vec<&Value> = results.iter().filter(|r| !r["preview"].is_null()).collect();
        assert_eq!(previews.len(), 1, "{previews:?}");
        assert_eq!(
            (
                previews[0]["name"].as_str(),
                previews[0]["preview"].as_str()
            ),
            (Some("preview"), Some("r7"))
        );
        let first = &v["results"][0];
        assert!(first["cookie"].as_str().unwrap().parse::<u8>().unwrap() < 100);
        assert_eq!(
            v["results"][1000]["cookie"],
            Value::Null,
            "a visitor with a bucket keeps it"
        );
    }
    state.abort().unwrap();
    for kvs in [
        serde_json::json!({KVS_KEY: kvs_value(&state)}),
        serde_json::json!({}),
    ] {
        let v = run(kvs);
        for i in 0..1000 {
            assert_eq!(
                on(&v, &format!("visitor {i}")),
                "/mobile-vue/pass/index.html"
            );
        }
        assert_eq!(on(&v, "gray"), "/mobile-vue/pass/index.html");
    }
}

/// The rollout's Cloudflare Worker under node with the KV namespace stubbed: 1,000 visitors at
/// 10% and 50% (the share within 3 points, none leaving as it rises), the bucket cookie set once
/// and kept, a gray-tagged request and a preview on their release, assets passed through,
/// routed pages `private, no-cache`, and everyone on stable with no rollout or after an abort.
#[test]
fn the_cloudflare_worker_routes_by_the_kv_value() {
    fetch_router_routes_by_the_kv_value(
        &cdnpub::release::router::cloudflare_worker("/mobile-vue/pass/"),
        "cloudflare",
    );
}

/// The EdgeOne edge function: the same routing in Service Worker syntax, the same visitors
/// landing the same way (the bucket drawn from `request.eo.clientIp`).
#[test]
fn the_edgeone_function_routes_by_the_kv_value() {
    fetch_router_routes_by_the_kv_value(
        &cdnpub::release::router::edgeone_function("/mobile-vue/pass/"),
        "edgeone",
    );
}

/// A fetch router (`script`, run by tests/browser/worker-rollout.mjs in `mode`) through 10% and
/// 50% with 1,000 visitors, a tagged request, a preview, an asset, and an abort.
fn fetch_router_routes_by_the_kv_value(script: &str, mode: &str) {
    use cdnpub::release::router::{kvs_value, KVS_KEY};
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(!common::in_ci(), "node is required under CI");
        eprintln!("SKIPPED: node is not installed; the Worker was not run");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("worker.mjs"), script).unwrap();
    let mut state = staged_rollout("cookie:gray=1");
    let site = "https://www.example.com/mobile-vue/pass/";
    let mut visits: Vec<Value> = (0..1000)
        .map(|i| {
            serde_json::json!({
                "name": format!("visitor {i}"),
                "url": site,
                "headers": {"cf-connecting-ip": format!("198.51.{}.{}", i / 250, i % 250),
                            "user-agent": format!("visitor-{i}")}
            })
        })
        .collect();
    visits.push(
        serde_json::json!({"name": "gray", "url": format!("{site}index.html"),
        "headers": {"cookie": "cdnpub_bucket=99; gray=1"}}),
    );
    visits.push(
        serde_json::json!({"name": "preview", "url": format!("{site}?cdnpub-release=r7"),
        "headers": {"cookie": "cdnpub_bucket=99"}}),
    );
    visits.push(
        serde_json::json!({"name": "asset", "url": format!("{site}assets/index-AbCd1234.js"),
        "headers": {"cookie": "cdnpub_bucket=0"}}),
    );
    visits.push(
        serde_json::json!({"name": "preview, next page", "url": format!("{site}about.html"),
        "headers": {"cookie": "cdnpub_bucket=99; cdnpub_release=r7"}}),
    );
    fs::write(
        tmp.path().join("visits.json"),
        Value::Array(visits).to_string(),
    )
    .unwrap();
    let run = |kv: Value| -> Vec<Value> {
        fs::write(tmp.path().join("kv.json"), kv.to_string()).unwrap();
        let out = std::process::Command::new("node")
            .arg(root.join("tests/browser/worker-rollout.mjs"))
            .arg(tmp.path().join("worker.mjs"))
            .arg(tmp.path().join("kv.json"))
            .arg(tmp.path().join("visits.json"))
            .arg(mode)
            .output()
            .expect("node runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    };
    let stable = "/mobile-vue/pass/index.html";
    let staged = "/mobile-vue/pass/releases/r2/index.html";
    let mut before = vec![false; 1000];
    for percent in [10u8, 50] {
        state.set(percent).unwrap();
        let got = run(serde_json::json!({KVS_KEY: kvs_value(&state)}));
        let mut share = 0;
        for (i, was) in before.iter_mut().enumerate() {
            let now = got[i]["fetched"] == staged;
            assert!(now || got[i]["fetched"] == stable, "{}", got[i]);
            assert!(now || !*was, "visitor {i} left the candidate at {percent}%");
            assert_eq!(got[i]["cacheControl"], "private, no-cache");
            let cookie = got[i]["setCookie"].as_str().unwrap();
            assert!(cookie.starts_with("cdnpub_bucket=") && cookie.contains("Max-Age=31536000"));
            *was = now;
            share += usize::from(now);
        }
        eprintln!("{percent}%: {share} of 1000 visitors on the candidate");
        assert!(
            (share as f64 / 10.0 - f64::from(percent)).abs() <= 3.0,
            "{share} at {percent}%"
        );
        assert_eq!(got[1000]["fetched"], staged, "a gray-tagged request");
        assert_eq!(
            got[1000]["setCookie"],
            Value::Null,
            "a kept bucket is not set again"
        );
        assert_eq!(
            got[1001]["fetched"],
            "/mobile-vue/pass/releases/r7/index.html"
        );
        assert_eq!(
            got[1002]["fetched"],
            "/mobile-vue/pass/assets/index-AbCd1234.js"
        );
        let kept = got[1001]["setCookie"].as_str().unwrap_or_default();
        assert!(kept.contains("cdnpub_release=r7; Path=/"), "{kept}");
        assert_eq!(
            got[1003]["fetched"],
            "/mobile-vue/pass/releases/r7/about.html"
        );
        assert!(!got[1003]["setCookie"]
            .as_str()
            .unwrap_or_default()
            .contains("cdnpub_release"));
    }
    state.abort().unwrap();
    for kv in [
        serde_json::json!({KVS_KEY: kvs_value(&state)}),
        serde_json::json!({}),
    ] {
        let got = run(kv);
        assert!(
            got[..1001].iter().all(|g| g["fetched"] == stable),
            "everyone on stable"
        );
    }
}

/// The EdgeScript rule, run by an interpreter of the documented language
/// (tests/it/common/edgescript.rs): the same 1,000 visitors (address + user agent) through
/// 10% → 50% → 90% → 100%, each keeping its cookies: the share within 3 points, nobody leaving
/// the candidate while it rises, a visitor's next page on the same release, tagged requests on
/// the candidate, nested pages and previews routed, assets untouched, and after an abort
/// everyone on the stable pages.
#[test]
fn the_edgescript_rule_routes_by_the_step_it_carries() {
    use crate::common::edgescript::{run, Effect, Request};
    use cdnpub::release::router::edgescript;
    use std::collections::BTreeMap;
    let base = "/mobile-vue/pass/";
    let mut state = staged_rollout("header:x-gray=1");
    let visit = |rule: &str, i: usize, uri: &str, cookies: &BTreeMap<String, String>| -> Effect {
        let req = Request {
            uri: uri.into(),
            headers: BTreeMap::from([("user-agent".into(), format!("visitor-{i}"))]),
            cookies: cookies.clone(),
            remote_addr: format!("198.51.{}.{}", i / 250, i % 250),
            ..Request::default()
        };
        run(rule, &req)
    };
    let stable = Some("/mobile-vue/pass/index.html".to_string());
    let staged = Some("/mobile-vue/pass/releases/r2/index.html".to_string());
    let mut jars: Vec<BTreeMap<String, String>> = vec![BTreeMap::new(); 1000];
    let mut before = vec![false; 1000];
    for percent in [10u8, 50, 90, 100] {
        state.set(percent).unwrap();
        let rule = edgescript(&state, base);
        let mut share = 0;
        for (i, jar) in jars.iter_mut().enumerate() {
            let first = visit(&rule, i, base, jar);
            let now = first.rewritten == staged;
            assert!(now || first.rewritten == stable, "{first:?}");
            assert!(
                now || !before[i],
                "visitor {i} left the candidate at {percent}%"
            );
            assert!(first
                .headers
                .contains(&("Cache-Control".into(), "private, no-cache".into())));
            for (k, v, _) in &first.cookies {
                jar.insert(k.clone(), v.clone());
            }
            let next = visit(&rule, i, base, jar);
            assert_eq!(next.rewritten, first.rewritten, "visitor {i} flipped");
            assert!(next.cookies.is_empty(), "the bucket cookie is set once");
            before[i] = now;
            share += usize::from(now);
        }
        eprintln!("EdgeScript {percent}%: {share} of 1000 visitors on the candidate");
        assert!(
            (share as f64 / 10.0 - f64::from(percent)).abs() <= 3.0,
            "{share} at {percent}%"
        );
    }
    state.set(10).unwrap();
    let rule = edgescript(&state, base);
    let late = BTreeMap::from([("cdnpub_bucket".to_string(), "99".to_string())]);
    let mut gray = Request {
        uri: format!("{base}about/team.html"),
        cookies: late.clone(),
        ..Request::default()
    };
    assert_eq!(
        run(&rule, &gray).rewritten.as_deref(),
        Some("/mobile-vue/pass/about/team.html")
    );
    gray.headers.insert("x-gray".into(), "1".into());
    assert_eq!(
        run(&rule, &gray).rewritten.as_deref(),
        Some("/mobile-vue/pass/releases/r2/about/team.html")
    );
    let mut preview = Request {
        uri: base.into(),
        cookies: late.clone(),
        ..Request::default()
    };
    preview.args.insert("cdnpub-release".into(), "r7".into());
    let e = run(&rule, &preview);
    assert_eq!(
        e.rewritten.as_deref(),
        Some("/mobile-vue/pass/releases/r7/index.html")
    );
    assert!(e
        .cookies
        .iter()
        .any(|(k, v, _)| k == "cdnpub_release" && v == "r7"));
    preview
        .args
        .insert("cdnpub-release".into(), "../../etc".into());
    let e = run(&rule, &preview);
    assert_eq!(e.rewritten, stable, "a preview id never leaves releases/");
    assert!(
        e.cookies.iter().all(|(k, _, _)| k != "cdnpub_release"),
        "no cookie for a refused preview id"
    );
    let asset = Request {
        uri: format!("{base}assets/index-AbCd1234.js"),
        cookies: BTreeMap::from([("cdnpub_bucket".to_string(), "0".to_string())]),
        ..Request::default()
    };
    let e = run(&rule, &asset);
    assert!(e.rewritten.is_none() && e.headers.is_empty() && e.cookies.is_empty());
    state.abort().unwrap();
    let rule = edgescript(&state, base);
    for (i, jar) in jars.iter().enumerate() {
        assert_eq!(
            visit(&rule, i, base, jar).rewritten,
            stable,
            "visitor {i} after the abort"
        );
    }
    gray.headers.insert("x-gray".into(), "1".into());
    assert_eq!(
        run(&rule, &gray).rewritten.as_deref(),
        Some("/mobile-vue/pass/about/team.html")
    );
}
