//! `cdnpub purge --provider cloudfront` against moto_server (a second implementation of the
//! CloudFront API), checked with the aws CLI.

use crate::common;

use std::fs;
use std::path::Path;

use common::moto::Moto;
use common::{cdnpub, fixtures};
use serde_json::Value;

fn cmd(moto: &Moto, cwd: &Path, dist: &str) -> assert_cmd::Command {
    let mut c = cdnpub(cwd);
    c.args([
        "purge",
        "--provider",
        "cloudfront",
        "--cdn-endpoint",
        &moto.endpoint,
    ])
    .args(["--distribution-id", dist, "--domain", "d111.cloudfront.net"])
    .args(["--poll-interval", "100ms"])
    .envs(Moto::env());
    c
}

fn json(a: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&a.get_output().stdout).unwrap()
}

fn invalidation(moto: &Moto, dist: &str, id: &str) -> Value {
    moto.aws(&[
        "cloudfront",
        "get-invalidation",
        "--distribution-id",
        dist,
        "--id",
        id,
    ])["Invalidation"]
        .clone()
}

fn sorted(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn a_release_is_invalidated_with_its_paths_and_reference_and_wait_sees_completed() {
    let Some(moto) = Moto::start() else { return };
    let dist = moto.distribution();
    let tmp = tempfile::tempdir().unwrap();
    let site = common::build_and_release(tmp.path(), &fixtures().join("vue-cli"));
    let latest: Value =
        serde_json::from_slice(&fs::read(site.join("_cdnpub/latest.json")).unwrap()).unwrap();
    let release = latest["id"].as_str().unwrap();
    let record: Value = serde_json::from_slice(
        &fs::read(site.join(format!("_cdnpub/releases/{release}.json"))).unwrap(),
    )
    .unwrap();

    let report = json(
        &cmd(&moto, tmp.path(), &dist)
            .args(["--json", "--wait", "--changed", "--to"])
            .arg(&site)
            .assert()
            .success(),
    );
    assert_eq!(report["wait"]["done"], 1);
    let id = report["tasks"][0].as_str().unwrap();
    let inv = invalidation(&moto, &dist, id);
    let mut want: Vec<String> = record["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| format!("/{}", k.as_str().unwrap()))
        .collect();
    for dir in [
        "/",
        "/mobile-vue/citizen/",
        "/mobile-vue/service/",
        "/mobile-vue/legacy-gbk/",
    ] {
        want.push(dir.to_string());
    }
    want.sort();
    assert_eq!(sorted(&inv["InvalidationBatch"]["Paths"]["Items"]), want);
    let reference = inv["InvalidationBatch"]["CallerReference"]
        .as_str()
        .unwrap();
    assert!(
        reference.starts_with(&format!("cdnpub-{release}-0-")),
        "{reference}"
    );
    assert!(inv["Status"]
        .as_str()
        .unwrap()
        .eq_ignore_ascii_case("completed"));
}

#[test]
fn five_thousand_changed_files_collapse_to_common_directories() {
    let Some(moto) = Moto::start() else { return };
    let dist = moto.distribution();
    let tmp = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = (0..3000)
        .map(|i| format!("/web/assets/js/c{i}.js"))
        .collect();
    lines.extend((0..2000).map(|i| format!("/web/assets/img/i{i}.png")));
    lines.push("/web/index.html".into());
    fs::write(tmp.path().join("changed.txt"), lines.join("\n")).unwrap();
    let a = cmd(&moto, tmp.path(), &dist)
        .args(["--json", "--from-file", "changed.txt"])
        .assert()
        .success();
    let report = json(&a);
    assert!(
        report["notes"][0]
            .as_str()
            .unwrap()
            .contains("5001 paths collapsed to 3"),
        "{report}"
    );
    let inv = invalidation(&moto, &dist, report["tasks"][0].as_str().unwrap());
    assert_eq!(
        sorted(&inv["InvalidationBatch"]["Paths"]["Items"]),
        ["/web/assets/img/*", "/web/assets/js/*", "/web/index.html"]
    );
    // Three files stay three exact paths: never `/*` for a small change.
    let report = json(
        &cmd(&moto, tmp.path(), &dist)
            .args([
                "--json",
                "/a.js",
                "/b/c.js",
                "https://d111.cloudfront.net/b/d e.js",
            ])
            .assert()
            .success(),
    );
    let inv = invalidation(&moto, &dist, report["tasks"][0].as_str().unwrap());
    assert_eq!(
        sorted(&inv["InvalidationBatch"]["Paths"]["Items"]),
        ["/a.js", "/b/c.js", "/b/d%20e.js"]
    );
}

#[test]
fn an_unknown_distribution_is_named() {
    let Some(moto) = Moto::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let a = cmd(&moto, tmp.path(), "ENOSUCHDIST")
        .arg("/index.html")
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("NoSuchDistribution") && err.contains("ENOSUCHDIST"),
        "{err}"
    );
    // Prefetch is refused with the reason.
    let a = cdnpub(tmp.path())
        .args([
            "prefetch",
            "--provider",
            "cloudfront",
            "--distribution-id",
            "E1",
        ])
        .args(["--domain", "d111.cloudfront.net", "/index.html"])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("no prefetch"));
}
