//! What a release proves about itself: the size report and `[[budget]]` rules (on the bundled
//! example, with a change that grows the entry chunk), the `--results` file of any command, and
//! Subresource Integrity (the digests on disk; in Chromium, through nginx as origin and CDN, a
//! page that loads with integrity and a tampered asset that is blocked).

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use common::nginx::{self, Nginx};
use common::{cdnpub, copy_tree, fixtures};
use serde_json::Value;
use sha2::{Digest, Sha384};

fn events(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn sri(bytes: &[u8]) -> String {
    format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha384::digest(bytes))
    )
}

/// A copy of the bundled example whose entry chunk can be grown.
fn example(dir: &Path) -> PathBuf {
    let src = dir.join("dist");
    copy_tree(&fixtures().join("vite-vue/dist"), &src);
    src
}

/// Grow the entry chunk of `src` (vite-vue's `index-*.js`) by `n` incompressible bytes, as a
/// bundler would: under a new hashed name, with every reference to it (the page, the map, the
/// chunks that import it) following.
fn grow_entry(src: &Path, n: usize) {
    let entry = fs::read_dir(src.join("assets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.starts_with("index-") && n.ends_with(".js")
        })
        .unwrap();
    let old_stem = entry.file_stem().unwrap().to_string_lossy().to_string();
    let new_stem = "index-GrownAAA";
    let mut bytes = fs::read(&entry).unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    bytes.extend_from_slice(b"\nwindow.__pad=\"");
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.push(b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize]);
    }
    bytes.extend_from_slice(b"\";\n");
    fs::write(&entry, bytes).unwrap();
    // A chunk that imports the entry changes with its name, and so does its own hashed name
    // (an immutable key never gets other bytes).
    let mut renames = vec![(old_stem.clone(), new_stem.to_string())];
    for f in walk(src) {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let text = String::from_utf8(fs::read(&f).unwrap()).unwrap_or_default();
        if f != entry && name.ends_with(".js") && text.contains(&old_stem) {
            let stem = name.trim_end_matches(".js");
            let head = stem.rsplit_once('-').unwrap().0;
            renames.push((stem.to_string(), format!("{head}-GrownBBB")));
        }
    }
    for f in walk(src) {
        if let Ok(mut t) = String::from_utf8(fs::read(&f).unwrap()) {
            if renames.iter().any(|(old, _)| t.contains(old.as_str())) {
                for (old, new) in &renames {
                    t = t.replace(old.as_str(), new);
                }
                fs::write(&f, t).unwrap();
            }
        }
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if let Some((old, new)) = renames.iter().find(|(old, _)| name.contains(old.as_str())) {
            fs::rename(&f, f.with_file_name(name.replace(old.as_str(), new))).unwrap();
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn the_size_report_and_budget_stop_a_grown_entry_before_anything_is_uploaded() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let src = example(t);
    fs::write(
        t.join("cdnpub.toml"),
        "[env.prod]\ncdn_server = \"https://cdn.example.com\"\ntargets = [\"site\"]\n\n\
         [[env.prod.budget]]\nentry = \"index.html\"\nmax_br = \"100 kB\"\nmax_growth = 5\n",
    )
    .unwrap();
    let publish = |results: &str| {
        let mut c = cdnpub(t);
        c.args([
            "--env",
            "prod",
            "publish",
            "--no-cache",
            "--json",
            "--results",
            results,
        ])
        .arg(&src);
        c
    };
    let first: Value =
        serde_json::from_slice(&publish("r1.ndjson").assert().success().get_output().stdout)
            .unwrap();
    let size = &first["size"];
    assert_eq!(
        size["wire"], "br",
        "a directory target serves brotli siblings"
    );
    let page = &size["pages"][0];
    assert_eq!(page["page"], "index.html");
    let files: Vec<&str> = page["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(
        files.len(),
        3,
        "the page, its entry script and style: {files:?}"
    );
    assert!(
        files[1].ends_with(".js") && files[2].ends_with(".css"),
        "{files:?}"
    );
    // The numbers are the sizes of the files on disk.
    let site = t.join("site");
    let on_disk = |f: &str, ext: &str| {
        let p = site.join(format!("{f}{ext}"));
        fs::metadata(if p.exists() { p } else { site.join(f) })
            .unwrap()
            .len()
    };
    let br: u64 = files.iter().map(|f| on_disk(f, ".br")).sum();
    let raw: u64 = files.iter().map(|f| on_disk(f, "")).sum();
    assert_eq!(page["bytes"]["br"].as_u64(), Some(br));
    assert_eq!(page["bytes"]["raw"].as_u64(), Some(raw));
    assert_eq!(page["wire"].as_u64(), Some(br));
    // The release record keeps the summary for the next release.
    let records: Vec<PathBuf> = fs::read_dir(site.join("_cdnpub/releases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(records.len(), 1);
    let record: Value = serde_json::from_slice(&fs::read(&records[0]).unwrap()).unwrap();
    assert_eq!(
        record["size"]["pages"]["index.html"]["br"].as_u64(),
        Some(br)
    );

    // The entry chunk grows by 20 kB of incompressible text: over max_growth 5%.
    grow_entry(&src, 20_000);
    let a = publish("r2.ndjson").assert().code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("index.html: first visit grew")
            && err.contains("max_growth 5%")
            && err.contains("nothing was uploaded"),
        "{err}"
    );
    assert_eq!(
        fs::read_dir(site.join("_cdnpub/releases")).unwrap().count(),
        1,
        "nothing uploaded: no second release"
    );
    let ev = events(&t.join("r2.ndjson"));
    let summary = ev.last().unwrap();
    assert_eq!(summary["exit_code"], 1);
    let grown = &summary["report"]["size"];
    let delta = &grown["delta"];
    assert_eq!(delta["previous"], record["id"]);
    assert!(
        delta["pages"][0]["growth_pct"].as_f64().unwrap() > 5.0,
        "{delta}"
    );
    let keys = |k: &str| -> Vec<String> {
        delta[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["key"].as_str().unwrap().to_string())
            .collect()
    };
    let old_entry = files[1].split('.').next().unwrap().to_string();
    assert!(
        keys("added")
            .iter()
            .any(|k| k.starts_with("assets/index-GrownAAA") && k.ends_with(".js")),
        "{delta}"
    );
    assert!(
        keys("removed").iter().any(|k| k.starts_with(&old_entry)),
        "{old_entry}: {delta}"
    );
    assert!(
        keys("changed").contains(&"index.html".to_string()),
        "{delta}"
    );
    let share = delta["redownload_share"].as_f64().unwrap();
    assert!(share > 0.5 && share < 1.0, "the CSS stays cached: {share}");

    // With the budget raised, the grown release goes out and reports its growth.
    fs::write(
        t.join("cdnpub.toml"),
        "[env.prod]\ncdn_server = \"https://cdn.example.com\"\ntargets = [\"site\"]\n\n\
         [[env.prod.budget]]\nentry = \"index.html\"\nmax_br = \"100 kB\"\nmax_growth = 100\n",
    )
    .unwrap();
    let text = cdnpub(t)
        .args(["--env", "prod", "publish", "--no-cache"])
        .arg(&src)
        .assert()
        .success();
    let out = String::from_utf8_lossy(&text.get_output().stdout).to_string();
    assert!(
        out.contains("size      index.html: first visit")
            && out.contains("% since the last release"),
        "{out}"
    );
    // A budget no page can meet: max_br in bytes.
    fs::write(
        t.join("cdnpub.toml"),
        "[env.prod]\ncdn_server = \"https://cdn.example.com\"\ntargets = [\"site\"]\n\n\
         [[env.prod.budget]]\nentry = \"*.html\"\nmax_br = 1000\n",
    )
    .unwrap();
    let a = cdnpub(t)
        .args(["--env", "prod", "publish", "--no-cache"])
        .arg(&src)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(err.contains("> max_br 1000"), "{err}");
}

#[test]
fn a_bad_budget_is_named_by_config_check() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("cdnpub.toml"),
        "[[budget]]\nentry = \"index.html\"\n\n[[budget]]\nentry = \"[\"\nmax_br = \"3 parsecs\"\n",
    )
    .unwrap();
    let a = cdnpub(tmp.path())
        .args(["config", "check"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(err.contains("parsecs") || err.contains("budget"), "{err}");
    fs::write(
        tmp.path().join("cdnpub.toml"),
        "[[budget]]\nentry = \"index.html\"\n",
    )
    .unwrap();
    let a = cdnpub(tmp.path())
        .args(["config", "check"])
        .assert()
        .code(2);
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&a.get_output().stdout),
        String::from_utf8_lossy(&a.get_output().stderr)
    );
    assert!(out.contains("sets no limit"), "{out}");
}

#[test]
fn the_results_file_records_any_command_even_a_failed_one() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    cdnpub(t)
        .args([
            "build",
            "--no-cache",
            "--results",
            "build.ndjson",
            "--out",
            "out",
        ])
        .arg(fixtures().join("vite-vue/dist"))
        .assert()
        .success();
    let ev = events(&t.join("build.ndjson"));
    let kinds: Vec<&str> = ev.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"start"));
    assert_eq!(kinds.last(), Some(&"summary"));
    let summary = ev.last().unwrap();
    assert_eq!(
        (summary["command"].as_str(), summary["exit_code"].as_i64()),
        (Some("build"), Some(0))
    );
    assert_eq!(summary["report"]["files"], 11);
    // A usage error before any report: the summary says so.
    cdnpub(t)
        .args([
            "purge",
            "/x",
            "--domain",
            "cdn.example.com",
            "--results",
            "purge.ndjson",
        ])
        .env_remove("CDNPUB_CDN_PROVIDER")
        .assert()
        .code(2);
    let ev = events(&t.join("purge.ndjson"));
    let summary = ev.last().unwrap();
    assert_eq!(summary["exit_code"], 2);
    assert_eq!(summary["ok"], false);
    assert!(
        summary["error"].as_str().unwrap().contains("provider"),
        "{summary}"
    );
    assert_eq!(summary["report"], Value::Null);
    // A results file in a directory that does not exist: refused before anything is done.
    let a = cdnpub(t)
        .args([
            "build",
            "--no-cache",
            "--out",
            "never",
            "--results",
            "no/such/dir/r.ndjson",
        ])
        .arg(fixtures().join("vite-vue/dist"))
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("no/such/dir") && err.contains("does not exist"),
        "{err}"
    );
    assert!(!t.join("never").exists(), "nothing was built");
    // A publish: one stage event per stage.
    cdnpub(t)
        .args(["publish", "--no-cache", "--to", "site"])
        .arg(fixtures().join("vite-vue/dist"))
        .env("CDNPUB_RESULTS", t.join("publish.ndjson"))
        .assert()
        .success();
    let stages: Vec<String> = events(&t.join("publish.ndjson"))
        .iter()
        .filter(|e| e["event"] == "stage")
        .map(|e| e["stage"].as_str().unwrap().to_string())
        .collect();
    for s in ["build", "size", "upload", "purge", "prefetch", "prune"] {
        assert!(stages.contains(&s.to_string()), "{s}: {stages:?}");
    }
}

#[test]
fn integrity_names_the_bytes_of_the_built_files() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let a = cdnpub(t)
        .args([
            "build",
            "--sri",
            "--no-cache",
            "--server",
            "https://cdn.example.com",
            "--out",
            "out",
        ])
        .arg(fixtures().join("bundlers/vite-vue/dist"))
        .assert()
        .success();
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("Access-Control-Allow-Origin") && err.contains("minification"),
        "{err}"
    );
    let out = t.join("out");
    let html = fs::read_to_string(out.join("index.html")).unwrap();
    let mut checked = 0;
    for part in html.split("integrity=\"").skip(1) {
        let value = &part[..part.find('"').unwrap()];
        // The URL of the same tag: src= or href= before it.
        let tag_start = html[..html.find(part).unwrap()].rfind('<').unwrap();
        let tag = &html[tag_start..html.find(part).unwrap()];
        let url = tag
            .split(['"', ' '])
            .find(|s| s.contains("/assets/"))
            .unwrap_or_else(|| panic!("{tag}"));
        let key = &url[url.find("assets/").unwrap()..];
        assert_eq!(value, sri(&fs::read(out.join(key)).unwrap()), "{key}");
        checked += 1;
    }
    assert!(checked >= 2, "{html}");
    // The lazy chunks are in the import map, before the first module script.
    let map_at = html
        .find("<script type=\"importmap\">")
        .expect("an import map");
    assert!(map_at < html.find("type=\"module\"").unwrap());
    let map: Value = serde_json::from_str(
        &html[map_at + 25..map_at + html[map_at..].find("</script>").unwrap()],
    )
    .unwrap();
    let entries = map["integrity"].as_object().unwrap();
    assert!(!entries.is_empty());
    for (url, value) in entries {
        let key = &url[url.find("assets/").unwrap()..];
        assert!(
            url.starts_with("https://cdn.example.com/mobile-vue/pass/assets/"),
            "{url}"
        );
        assert_eq!(
            value.as_str().unwrap(),
            sri(&fs::read(out.join(key)).unwrap())
        );
    }
    // The self-check still passes on the tree.
    cdnpub(t)
        .args(["build", "--check", "--server", "https://cdn.example.com"])
        .arg(&out)
        .assert()
        .success();
}

#[test]
fn chromium_loads_the_page_with_integrity_and_blocks_a_tampered_asset() {
    let Some(bin) = nginx::binary() else { return };
    let Some(modules) = crate::bundlers_e2e::playwright() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let cdn_root = t.join("cdn");
    let target = cdn_root.join("mobile-vue/pass");
    fs::create_dir_all(&target).unwrap();
    let cdn = Nginx::start(
        bin,
        &cdn_root,
        "gzip_static on;\n    add_header Access-Control-Allow-Origin * always;",
    );
    let origin_root = t.join("origin");
    fs::create_dir_all(origin_root.join("mobile-vue/pass")).unwrap();
    let origin = Nginx::start(bin, &origin_root, "");
    cdnpub(t)
        .args(["publish", "--sri", "--no-cache", "--server", &cdn.url("")])
        .arg("--to")
        .arg(&target)
        .arg(fixtures().join("bundlers/vite-vue/dist"))
        .assert()
        .success();
    fs::copy(
        target.join("index.html"),
        origin_root.join("mobile-vue/pass/index.html"),
    )
    .unwrap();
    let page = origin.url("/mobile-vue/pass/index.html");
    let seen = crate::bundlers_e2e::visit(&modules, &page);
    let ctx = format!("{seen}");
    assert_eq!(seen["failed"].as_array().unwrap().len(), 0, "{ctx}");
    assert_eq!(seen["lazy"], true, "{ctx}");
    assert!(
        !seen["console"].to_string().contains("integrity"),
        "no integrity error on the real bytes: {ctx}"
    );
    // Tamper with the lazy chunk on the CDN (the import map covers it): the route never renders.
    let html = fs::read_to_string(target.join("index.html")).unwrap();
    let lazy_url = {
        let at = html.find("\"integrity\":{\"").unwrap() + 14;
        html[at..at + html[at..].find('"').unwrap()].to_string()
    };
    let lazy = target.join(&lazy_url[lazy_url.find("assets/").unwrap()..]);
    let original = fs::read(&lazy).unwrap();
    let mut tampered = original.clone();
    tampered.extend_from_slice(b"\n/* changed on the CDN */\n");
    fs::write(&lazy, &tampered).unwrap();
    for ext in [".gz", ".br"] {
        let _ = fs::remove_file(format!("{}{ext}", lazy.display()));
    }
    let seen = crate::bundlers_e2e::visit(&modules, &page);
    let console = seen["console"].to_string();
    assert_eq!(
        seen["lazy"], false,
        "a tampered lazy chunk must not run: {seen}"
    );
    assert!(
        console.contains("integrity")
            && console.contains(lazy.file_name().unwrap().to_str().unwrap()),
        "the console names the blocked chunk: {console}"
    );
    // Tamper with the entry stylesheet (tag integrity): blocked, named.
    fs::write(&lazy, &original).unwrap();
    let css_key = {
        let at = html.find("rel=\"stylesheet\"").unwrap();
        let tag = &html[html[..at].rfind('<').unwrap()..at + html[at..].find('>').unwrap()];
        let href = tag.split("href=\"").nth(1).unwrap();
        let url = &href[..href.find('"').unwrap()];
        url[url.find("assets/").unwrap()..].to_string()
    };
    let css = target.join(&css_key);
    let mut bytes = fs::read(&css).unwrap();
    bytes.extend_from_slice(b"\nbody{color:red}\n");
    fs::write(&css, bytes).unwrap();
    for ext in [".gz", ".br"] {
        let _ = fs::remove_file(format!("{}{ext}", css.display()));
    }
    let seen = crate::bundlers_e2e::visit(&modules, &page);
    let console = seen["console"].to_string();
    assert!(
        console.contains("integrity")
            && console.contains(css.file_name().unwrap().to_str().unwrap()),
        "the console names the blocked stylesheet: {seen}"
    );
}
