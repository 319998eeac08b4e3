//! `cdnpub publish`, `releases`, `rollback`, `config`, `completions` through the binary.

use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::clouds::{CloudConfig, CloudServer, Dialect};
use common::s3::S3Server;
use common::{cdnpub, copy_tree, fixtures, page_refs};
use serde_json::Value;

fn json(a: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&a.get_output().stdout).unwrap()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).to_string()
}

/// A copy of the Vite example's dist at `<tmp>/dist`.
fn dist(tmp: &Path) -> PathBuf {
    let d = tmp.join("dist");
    copy_tree(&fixtures().join("vite-vue/dist"), &d);
    d
}

/// The latest release record of a local target.
fn latest(site: &Path) -> Value {
    let p: Value =
        serde_json::from_slice(&fs::read(site.join("_cdnpub/latest.json")).unwrap()).unwrap();
    let id = p["id"].as_str().unwrap();
    serde_json::from_slice(&fs::read(site.join(format!("_cdnpub/releases/{id}.json"))).unwrap())
        .unwrap()
}

#[test]
fn the_readme_first_command_publishes_the_example_with_no_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    // Run from a copy of the repository layout: fixtures/ beside the working directory.
    let a = cdnpub(tmp.path())
        .arg("publish")
        .arg(fixtures().join("vite-vue/dist"))
        .args(["--to", "./public"])
        .assert()
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(
        out.contains("purge     skipped: no CDN provider is set"),
        "{out}"
    );
    assert!(out.contains("placeholders → ."), "{out}");
    let public = tmp.path().join("public");
    let html = fs::read_to_string(public.join("index.html")).unwrap();
    assert!(!html.contains("EGOVA_CDN"), "{html}");
    let refs = page_refs(&html);
    assert!(refs.len() >= 3, "{refs:?}");
    for r in refs {
        // "/./assets/x.js" and "./assets/x.js" both name public/assets/x.js.
        let rel = r.trim_start_matches('/').trim_start_matches("./");
        assert!(
            public.join(rel).is_file(),
            "{r} does not name a published file"
        );
    }
    for entry in walkdir::WalkDir::new(&public) {
        let entry = entry.unwrap();
        let name = entry.path().to_string_lossy().to_string();
        // Source maps describe the sources (which hold the placeholder); they are not served to pages.
        if entry.file_type().is_file() && !name.contains("_cdnpub") && !name.ends_with(".map") {
            let bytes = fs::read(entry.path()).unwrap();
            assert!(
                !bytes.windows(9).any(|w| w == b"EGOVA_CDN"),
                "placeholder left in {}",
                entry.path().display()
            );
        }
    }
}

fn two_envs(tmp: &Path, target: &str, extra: &str) {
    fs::write(
        tmp.join("cdnpub.toml"),
        format!(
            "targets = [\"{target}\"]\n{extra}\n[env.a]\ncdn_server = \"https://a.example.com\"\n\n\
             [env.b]\ncdn_server = \"https://b.example.com/static\"\n"
        ),
    )
    .unwrap();
}

#[test]
fn an_immutable_key_never_changes_content_across_environments() {
    let tmp = tempfile::tempdir().unwrap();
    let src = dist(tmp.path());
    let site = tmp.path().join("site");
    two_envs(tmp.path(), site.to_str().unwrap(), "");
    let publish = |env: &str| {
        json(
            &cdnpub(tmp.path())
                .args(["--env", env, "--json", "publish"])
                .arg(&src)
                .assert()
                .success(),
        )
    };
    publish("a");
    let a = latest(&site);
    let immutable: BTreeMap<String, String> = a["objects"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, o)| o["cache_control"].as_str().unwrap().contains("immutable"))
        .map(|(k, o)| (k.clone(), o["sha256"].as_str().unwrap().to_string()))
        .collect();
    assert!(immutable.len() >= 5, "{immutable:?}");
    let b_report = publish("b");
    assert!(
        b_report["upload"]["targets"][0]["uploaded"]
            .as_array()
            .unwrap()
            .len()
            > 1
    );
    // Env b shares the target: every immutable key env a published still holds a's bytes.
    for (key, sha) in &immutable {
        let bytes = fs::read(site.join(key)).unwrap();
        assert_eq!(
            &cdnpub::site::state::sha256_hex(&bytes),
            sha,
            "{key} was overwritten"
        );
    }
    // And b's page names b's server and files that exist.
    let html = fs::read_to_string(site.join("index.html")).unwrap();
    let scripts: Vec<String> = page_refs(&html)
        .into_iter()
        .filter(|r| r.ends_with(".js"))
        .collect();
    assert!(!scripts.is_empty());
    for s in scripts {
        let key = s.strip_prefix("https://b.example.com/static/").expect(&s);
        assert!(site.join(key).is_file(), "{key}");
    }
    // Publishing a again changes only the pages (its assets are all still there).
    let again = publish("a");
    let sent: Vec<&str> = again["upload"]["targets"][0]["uploaded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(sent, ["index.html"]);
}

#[test]
fn publish_to_s3_purges_what_changed_and_prefetches_the_entry() {
    let s3 = S3Server::start();
    let cdn = CloudServer::start(CloudConfig::new(Dialect::Aliyun));
    let tmp = tempfile::tempdir().unwrap();
    let src = dist(tmp.path());
    let prefix = s3.unique_prefix("publish");
    fs::write(
        tmp.path().join("cdnpub.toml"),
        format!(
            "[env.prod]\ncdn_server = \"https://cdn.example.com\"\ntargets = [\"s3://{}/{prefix}\"]\n\
             endpoint = \"{}\"\npath_style = true\nregion = \"us-east-1\"\ncdn_provider = \"aliyun\"\n\
             cdn_endpoint = \"{}\"\ncdn_url_prefix = \"/\"\n",
            s3.bucket, s3.endpoint, cdn.endpoint
        ),
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut c = cdnpub(tmp.path());
        c.args(["--env", "prod", "--json", "publish"])
            .arg(&src)
            .args(extra)
            .env("AWS_ACCESS_KEY_ID", &s3.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key);
        for (k, v) in cdn.env() {
            c.env(k, v);
        }
        c.assert()
    };
    // Dry run: the whole plan, nothing written or sent. A first release purges nothing (no
    // URL of it was cached), so the plan asks for new keys too.
    s3.clear();
    let plan = json(&run(&["--dry-run"]).success());
    assert!(plan["purge"]["skipped"]
        .as_str()
        .unwrap()
        .contains("a first release"));
    let plan = json(&run(&["--dry-run", "--purge-new"]).success());
    assert!(plan["dry_run"].as_bool().unwrap());
    assert!(
        plan["purge"]["batches"][0]["paths"]
            .as_array()
            .unwrap()
            .len()
            > 5
    );
    if let Some(seen) = s3.requests() {
        assert!(
            seen.iter().all(|(m, _)| m == "GET" || m == "HEAD"),
            "{seen:?}"
        );
    }
    assert!(
        cdn.received().is_empty(),
        "a dry run sends nothing to the CDN"
    );

    let first = json(&run(&["--purge-new"]).success());
    let uploaded: Vec<&str> = first["upload"]["targets"][0]["uploaded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    let maps = uploaded.iter().filter(|k| k.ends_with(".map")).count();
    let purged = cdn.paths("purge-url");
    assert!(maps > 0);
    assert_eq!(
        purged.len(),
        uploaded.len() - maps + 1,
        "every key but new source maps, plus / for index.html"
    );
    assert!(purged.contains(&"https://cdn.example.com/".to_string()));
    let warmed = cdn.paths("prefetch");
    assert_eq!(warmed[0], "https://cdn.example.com/index.html");
    assert!(
        warmed
            .iter()
            .any(|u| u.contains("/assets/index-") && u.ends_with(".js")),
        "{warmed:?}"
    );
    assert!(warmed.len() < purged.len());

    // Nothing changed: nothing uploaded, CDN stages skipped.
    let again = json(&run(&[]).success());
    assert_eq!(again["purge"]["skipped"], "nothing changed");
    assert_eq!(cdn.accepted("purge-url").len(), 1);

    // The page changes: exactly what browsers can have cached under an old URL is purged.
    let page = src.join("index.html");
    let html = fs::read_to_string(&page).unwrap();
    fs::write(&page, html.replacen("<title>", "<title>v2 ", 1)).unwrap();
    let before = cdn.paths("purge-url").len();
    json(&run(&[]).success());
    assert_eq!(
        cdn.paths("purge-url")[before..],
        [
            "https://cdn.example.com/index.html",
            "https://cdn.example.com/"
        ]
    );
}

#[test]
fn releases_rollback_and_pruned_releases() {
    let tmp = tempfile::tempdir().unwrap();
    let src = dist(tmp.path());
    let site = tmp.path().join("site");
    let cdn = CloudServer::start(CloudConfig::new(Dialect::Aliyun));
    fs::write(
        tmp.path().join("cdnpub.toml"),
        format!(
            "targets = [\"{}\"]\ncdn_server = \"https://cdn.example.com\"\ncdn_provider = \"aliyun\"\ncdn_endpoint = \"{}\"\n",
            site.display(),
            cdn.endpoint
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut c = cdnpub(tmp.path());
        c.args(args);
        for (k, v) in cdn.env() {
            c.env(k, v);
        }
        c.assert()
    };
    let version = |n: usize| {
        let p = src.join("index.html");
        let html = fs::read_to_string(&p).unwrap();
        let html = match html.find("<title>") {
            Some(_) if n > 1 => html.replacen("<title>", &format!("<title>v{n} "), 1),
            _ => html,
        };
        fs::write(&p, html).unwrap();
        run(&["-q", "publish", src.to_str().unwrap()]).success();
        fs::read_to_string(site.join("index.html")).unwrap()
    };
    let v1 = version(1);
    let v2 = version(2);
    assert_ne!(v1, v2);
    let list = json(&run(&["--json", "releases"]).success());
    let rel = list[0]["releases"].as_array().unwrap();
    assert_eq!(rel.len(), 2);
    assert_eq!(rel[0]["live"], true);
    let (id2, id1) = (
        rel[0]["id"].as_str().unwrap(),
        rel[1]["id"].as_str().unwrap(),
    );
    assert!(id2 > id1);

    // Dry run: says what, writes nothing.
    let dry = json(&run(&["--json", "rollback", "--dry-run"]).success());
    assert_eq!(dry["targets"][0]["to"], id1);
    assert_eq!(
        dry["targets"][0]["restored"],
        serde_json::json!(["index.html"])
    );
    assert_eq!(fs::read_to_string(site.join("index.html")).unwrap(), v2);

    // Roll back: v1's page is live again, a record says so, the page is purged.
    let before = cdn.paths("purge-url").len();
    let done = json(&run(&["--json", "rollback"]).success());
    assert_eq!(fs::read_to_string(site.join("index.html")).unwrap(), v1);
    let rec = latest(&site);
    assert_eq!(rec["rollback_of"], id1);
    assert_eq!(rec["id"], done["targets"][0]["release"]);
    let purged = cdn.paths("purge-url")[before..].to_vec();
    assert_eq!(
        purged,
        [
            "https://cdn.example.com/index.html",
            "https://cdn.example.com/"
        ]
    );
    // Every asset v1's page names is there.
    for r in page_refs(&v1) {
        if let Some(key) = r.strip_prefix("https://cdn.example.com/") {
            assert!(site.join(key).is_file(), "{key}");
        }
    }

    // A release whose assets were pruned is refused, by name. Each later build changes the
    // favicon, which cdnpub names after its content (a bundler-hashed file never changes bytes
    // under its name).
    fs::write(src.join("robots.txt"), "User-agent: *\n").unwrap();
    for n in 3..=5 {
        let icon = src.join("favicon.svg");
        let mut svg = fs::read(&icon).unwrap();
        svg.extend_from_slice(format!("<!-- {n} -->").as_bytes());
        fs::write(&icon, svg).unwrap();
        version(n);
    }
    let a = run(&["rollback", id1, "--no-purge"]).code(1);
    let err = stderr(&a);
    assert!(err.contains(id1) && err.contains("pruned"), "{err}");
}

#[test]
fn a_staged_release_leaves_the_live_page_until_promoted() {
    let tmp = tempfile::tempdir().unwrap();
    let src = dist(tmp.path());
    let site = tmp.path().join("site");
    let publish = |extra: &[&str]| {
        json(
            &cdnpub(tmp.path())
                .args(["--json", "publish"])
                .arg(&src)
                .arg("--to")
                .arg(&site)
                .args(["--server", "https://cdn.example.com"])
                .args(extra)
                .assert()
                .success(),
        )
    };
    publish(&[]);
    let live = fs::read_to_string(site.join("index.html")).unwrap();
    common::retitle(&src.join("index.html"), "new");
    let staged = publish(&["--stage"]);
    let id = staged["release"].as_str().unwrap();
    assert!(staged["prune"]["skipped"]
        .as_str()
        .unwrap()
        .contains("staged"));
    let staged_page = site.join(format!("releases/{id}/index.html"));
    assert!(fs::read_to_string(&staged_page)
        .unwrap()
        .contains("<title>new "));
    assert_eq!(fs::read_to_string(site.join("index.html")).unwrap(), live);
    // Its scripts are the live tree's keys: the staged page works from the same assets.
    for r in page_refs(&fs::read_to_string(&staged_page).unwrap()) {
        if let Some(key) = r.strip_prefix("https://cdn.example.com/") {
            assert!(site.join(key).is_file(), "{key}");
        }
    }
    // Promote it.
    cdnpub(tmp.path())
        .args(["rollback", id, "--to"])
        .arg(&site)
        .assert()
        .success();
    assert!(fs::read_to_string(site.join("index.html"))
        .unwrap()
        .contains("<title>new "));
}

#[test]
fn config_check_names_problems_and_show_masks_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("cdnpub.toml"),
        "gzip_level = 12\n\n[env.prod]\ncdn_server = \"https://cdn.example.com\"\ncdn_provider = \"akamai\"\ntargets = [\"gs://x\"]\n",
    )
    .unwrap();
    let a = cdnpub(tmp.path())
        .args(["config", "check"])
        .assert()
        .code(2);
    let err = stderr(&a);
    for want in [
        "line 1: gzip_level: 12 is out of range",
        "line 5: [env.prod] cdn_provider",
        "line 6: [env.prod] targets",
    ] {
        assert!(err.contains(want), "{want:?} not in {err}");
    }
    fs::write(
        tmp.path().join("cdnpub.toml"),
        "[env.prod]\ncdn_sever = \"x\"\n",
    )
    .unwrap();
    let err = stderr(
        &cdnpub(tmp.path())
            .args(["config", "check"])
            .assert()
            .code(2),
    );
    assert!(err.contains("cdn_sever") && err.contains("line 2"), "{err}");

    fs::write(
        tmp.path().join("cdnpub.toml"),
        "endpoint = \"https://user:hunter2@oss.example.com\"\n[env.prod]\ncdn_server = \"https://cdn.example.com\"\n",
    )
    .unwrap();
    cdnpub(tmp.path())
        .args(["config", "check"])
        .assert()
        .success()
        .stdout(predicates::str::contains("OK (profiles: prod)"));
    let a = cdnpub(tmp.path())
        .args(["--env", "prod", "config", "show"])
        .env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/SECRETVALUE")
        .assert()
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(
        out.contains("cdn_server = \"https://cdn.example.com\""),
        "{out}"
    );
    assert!(out.contains("keep_releases = 3"), "defaults shown: {out}");
    assert!(out.contains("AWS_SECRET_ACCESS_KEY: set (hidden)"), "{out}");
    assert!(
        !out.contains("SECRETVALUE") && !out.contains("hunter2"),
        "{out}"
    );
}

#[test]
fn completions_and_help_with_examples_on_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let a = cdnpub(tmp.path())
            .args(["completions", shell])
            .assert()
            .success();
        let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
        assert!(
            out.contains("publish") && out.contains("rollback"),
            "{shell}"
        );
    }
    for cmd in [
        "rewrite",
        "build",
        "upload",
        "purge",
        "prefetch",
        "publish",
        "releases",
        "rollback",
        "config",
        "completions",
    ] {
        let a = cdnpub(tmp.path()).args([cmd, "--help"]).assert().success();
        let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
        assert!(out.contains("Examples:"), "{cmd} --help has no examples");
    }
}
