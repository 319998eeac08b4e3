//! Issue 12: every base form resolves, the self-check stops a build whose output would not be
//! the bundler's site, Vite's import cycle stays immutable and silent, upload sends the tree as
//! it is, and the review's defects stay fixed.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{cdnpub, copy_tree, final_of, fixtures, manifest};
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

fn write(dir: &Path, rel: &str, body: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, body).unwrap();
}

/// A tree whose page and stylesheet name an unhashed (so renamed) script, style and image
/// with `base` in front.
fn app(dir: &Path, base: &str) {
    write(
        dir,
        "index.html",
        &format!(
            r#"<link rel="stylesheet" href="{base}css/app.css"><script src="{base}js/app.js"></script>"#
        ),
    );
    // A relative base is relative to the stylesheet's directory there.
    let css_base = if base == "./" { "../" } else { base };
    write(
        dir,
        "css/app.css",
        &format!("body{{background:url({css_base}img/a.png)}}"),
    );
    write(dir, "js/app.js", "console.log(1)");
    write(dir, "img/a.png", "PNG");
}

#[test]
fn every_base_form_resolves() {
    let forms: [(&str, &[&str], &str); 7] = [
        ("EGOVA_CDN/", &[], "none"),
        (
            "EGOVA_CDN/mobile-vue/pass/",
            &[],
            "mobile-vue/pass (inferred)",
        ),
        (
            "/EGOVA_CDN/mobile-vue/pass/",
            &[],
            "mobile-vue/pass (inferred)",
        ),
        (
            "https://cdn.example.com/mobile-vue/pass/",
            &["--server", "https://cdn.example.com"],
            "mobile-vue/pass (inferred)",
        ),
        ("./", &[], "none"),
        ("/mobile-vue/pass/", &[], "mobile-vue/pass (inferred)"),
        (
            "/EGOVA_CDN/mobile-vue/pass/",
            &["--base-path", "/mobile-vue/pass/"],
            "mobile-vue/pass (set)",
        ),
    ];
    for (base, extra, sub) in forms {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("dist");
        app(&src, base);
        let out = tmp.path().join("out");
        cdnpub(tmp.path())
            .arg("build")
            .arg(&src)
            .arg("--out")
            .arg(&out)
            .args(extra)
            .assert()
            .success()
            .stdout(contains(format!("deploy sub-path {sub}")));
        let m = manifest(&out);
        let html = fs::read_to_string(out.join("index.html")).unwrap();
        for rel in ["js/app.js", "css/app.css"] {
            let f = final_of(&m, rel);
            assert_ne!(f, rel, "{base}: {rel} is renamed");
            assert!(html.contains(&format!("{base}{f}")), "{base}: {html}");
        }
        let css = fs::read_to_string(out.join(final_of(&m, "css/app.css"))).unwrap();
        let css_base = if base == "./" { "../" } else { base };
        assert!(
            css.contains(&format!("{css_base}{}", final_of(&m, "img/a.png"))),
            "{base}: {css}"
        );
        cdnpub(tmp.path())
            .args(["build", "--check"])
            .arg(&out)
            .args(
                extra
                    .iter()
                    .filter(|a| a.starts_with("http") || **a == "--server"),
            )
            .assert()
            .success();
    }
}

#[test]
fn ambiguous_and_unmappable_references_stop_the_build() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("dist");
    app(&src, "EGOVA_CDN/mobile-vue/pass/");
    // A second reference to the same renamed script under another sub-path.
    write(
        &src,
        "other.html",
        r#"<script src="EGOVA_CDN/mobile-vue/other/js/app.js"></script>"#,
    );
    let out = tmp.path().join("out");
    let run = |extra: &[&str]| {
        cdnpub(tmp.path())
            .arg("build")
            .arg(&src)
            .arg("--out")
            .arg(&out)
            .args(extra)
            .assert()
    };
    run(&[])
        .code(2)
        .stderr(contains(
            "different deploy sub-paths (mobile-vue/other, mobile-vue/pass)",
        ))
        .stderr(contains(
            "other.html: EGOVA_CDN/mobile-vue/other/js/app.js → js/app.js",
        ))
        .stderr(contains("--base-path"));
    assert!(!out.exists(), "nothing written");
    // Set, the sub-path decides; the other page's reference names nothing of this tree (it is
    // not under the sub-path): left as it is.
    run(&["--base-path", "mobile-vue/pass"]).success();
    // A reference under the sub-path that names nothing is an error naming it and the setting.
    write(
        &src,
        "other.html",
        r#"<script src="EGOVA_CDN/mobile-vue/pass/js/gone.js"></script>"#,
    );
    run(&["--base-path", "mobile-vue/pass"])
        .code(2)
        .stderr(contains(
            "other.html: EGOVA_CDN/mobile-vue/pass/js/gone.js names no file of the tree",
        ))
        .stderr(contains("base_path"));
    // The wrong sub-path, set: nothing resolves, so nothing is renamed (a file no reference
    // cdnpub rewrites names keeps its name) and the pages still name every file as it is.
    fs::remove_file(src.join("other.html")).unwrap();
    run(&["--base-path", "mobile-vue/wrong"])
        .success()
        .stdout(contains("0 fingerprinted"));
    run(&["--base-path", "../x"])
        .code(2)
        .stderr(contains("--base-path"));
}

/// A Vite-like entry and lazy chunk that import each other; `entry_ph`/`chunk_ph` put the
/// placeholder in the entry's or the chunk's content.
fn vite_cycle(dir: &Path, entry_ph: bool, chunk_ph: bool) {
    let ph = |yes: bool| {
        if yes {
            "const b=\"/EGOVA_CDN/app/\";"
        } else {
            ""
        }
    };
    write(
        dir,
        "index.html",
        r#"<script type="module" crossorigin src="/EGOVA_CDN/app/assets/index-Ab12Cd34.js"></script>"#,
    );
    write(
        dir,
        "assets/index-Ab12Cd34.js",
        &format!(
            "{}const l=()=>import(\"./Lazy-Zz98Yy76.js\");const d=[\"assets/Lazy-Zz98Yy76.js\",\"assets/Lazy-Qq11Ww22.css\"];export const x=1;",
            ph(entry_ph)
        ),
    );
    write(
        dir,
        "assets/Lazy-Zz98Yy76.js",
        &format!(
            "{}import{{x}}from\"./index-Ab12Cd34.js\";export default x;",
            ph(chunk_ph)
        ),
    );
    write(
        dir,
        "assets/Lazy-Qq11Ww22.css",
        ".l{background:url(/EGOVA_CDN/app/assets/bg-Pp33Oo44.png)}",
    );
    write(dir, "assets/bg-Pp33Oo44.png", "PNG");
}

#[test]
fn vite_import_cycles_are_immutable_and_silent_in_every_form() {
    // (placeholder in entry, in chunk)
    for (entry_ph, chunk_ph) in [(true, false), (false, true), (true, true), (false, false)] {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("dist");
        vite_cycle(&src, entry_ph, chunk_ph);
        let mut names = Vec::new();
        for (n, server) in ["https://a.example", "https://b.example"]
            .iter()
            .enumerate()
        {
            let out = tmp.path().join(format!("out{n}"));
            let a = cdnpub(tmp.path())
                .arg("publish")
                .arg(&src)
                .args(["--server", server, "--no-purge", "--no-prefetch", "--to"])
                .arg(tmp.path().join(format!("site{n}")))
                .arg("--out")
                .arg(&out)
                .assert()
                .success();
            let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
            assert!(!err.contains("warning"), "({entry_ph}, {chunk_ph}): {err}");
            let m = manifest(&out);
            for f in m["files"].as_array().unwrap() {
                if f["path"] != "index.html" {
                    assert_eq!(f["immutable"], true, "({entry_ph}, {chunk_ph}): {f}");
                }
            }
            let (entry, lazy) = (
                final_of(&m, "assets/index-Ab12Cd34.js"),
                final_of(&m, "assets/Lazy-Zz98Yy76.js"),
            );
            // The lazy chunk names the entry by its new name and the other way round.
            let lazy_js = fs::read_to_string(out.join(&lazy)).unwrap();
            assert!(
                lazy_js.contains(&format!("./{}", &entry["assets/".len()..])),
                "{lazy_js}"
            );
            let entry_js = fs::read_to_string(out.join(&entry)).unwrap();
            assert!(
                entry_js.contains(&format!("./{}", &lazy["assets/".len()..])),
                "{entry_js}"
            );
            names.push((entry, lazy));
        }
        // Each server its own names: two environments never share a key with other bytes.
        assert_ne!(names[0].0, names[1].0, "({entry_ph}, {chunk_ph})");
        assert_ne!(names[0].1, names[1].1, "({entry_ph}, {chunk_ph})");
    }
    // A plain build (no rendering) of a cycle that names nothing renamed: names kept, silent.
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("dist");
    vite_cycle(&src, false, false);
    let out = tmp.path().join("out");
    cdnpub(tmp.path())
        .arg("build")
        .arg(&src)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stderr(contains("cycle").not());
    assert_eq!(
        final_of(&manifest(&out), "assets/Lazy-Zz98Yy76.js"),
        "assets/Lazy-Zz98Yy76.js"
    );
}

#[test]
fn a_webpack_chunk_the_runtime_map_names_is_renamed_through_the_map() {
    // The vue-cli fixture's lazy chunk holds the placeholder (app code), so rendering changes it.
    let tmp = tempfile::tempdir().unwrap();
    let src = fixtures().join("bundlers/vue-cli5/dist");
    let lazy = fs::read_dir(src.join("js"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.starts_with("lazy.") && n.ends_with(".js"))
        .unwrap();
    let hash = &lazy["lazy.".len()..lazy.len() - 3];
    let out = tmp.path().join("out");
    cdnpub(tmp.path())
        .arg("publish")
        .arg(&src)
        .args([
            "--server",
            "https://cdn.example.com",
            "--no-purge",
            "--no-prefetch",
            "--to",
        ])
        .arg(tmp.path().join("site"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let m = manifest(&out);
    let renamed = final_of(&m, &format!("js/{lazy}"));
    assert_ne!(
        renamed,
        format!("js/{lazy}"),
        "the rendered chunk is renamed"
    );
    let new_hash = &renamed[format!("js/lazy.{hash}.").len()..renamed.len() - 3];
    // The runtime's chunk map carries the new name: `{…:"<bundler hash>.<cdnpub hash>"}`.
    let app = final_of(
        &m,
        m["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["source"].as_str().unwrap())
            .find(|s| s.starts_with("js/app.") && s.ends_with(".js"))
            .unwrap(),
    );
    let runtime = fs::read_to_string(out.join(app)).unwrap();
    assert!(
        runtime.contains(&format!("\"{hash}.{new_hash}\"")),
        "{new_hash}"
    );
    // The chunk that did not change keeps its name and its map entry.
    assert!(out.join("js/about.737f35a6.js").is_file());
    cdnpub(tmp.path())
        .args(["build", "--check"])
        .arg(&out)
        .args(["--server", "https://cdn.example.com"])
        .assert()
        .success();
    // A runtime map whose chunk cannot be renamed through it (the stem ends in the chunk id):
    // the chunk keeps its name (rendered, revalidated), and the site works as built.
    let bad = tmp.path().join("bad");
    write(
        &bad,
        "index.html",
        r#"<script src="EGOVA_CDN/js/app.5d41402a.js"></script>"#,
    );
    write(
        &bad,
        "js/app.5d41402a.js",
        r#"n.p="EGOVA_CDN/",n.u=function(e){return"js/"+{7:"x"}[e]+"."+e+".js"};"#,
    );
    write(&bad, "js/x.7.js", r#"var u="EGOVA_CDN/api";"#);
    cdnpub(tmp.path())
        .arg("publish")
        .arg(&bad)
        .args([
            "--server",
            "https://cdn.example.com",
            "--no-purge",
            "--no-prefetch",
            "--to",
            "site2",
        ])
        .assert()
        .success();
    let chunk = fs::read_to_string(tmp.path().join("site2/js/x.7.js")).unwrap();
    assert_eq!(chunk, r#"var u="https://cdn.example.com/api";"#);
    let record = latest_record(&tmp.path().join("site2"));
    assert_eq!(
        record["objects"]["js/x.7.js"]["cache_control"], "no-cache",
        "its bytes follow the server: revalidated, never immutable"
    );
}

/// The latest release record of a directory target.
fn latest_record(site: &Path) -> serde_json::Value {
    let latest: serde_json::Value =
        serde_json::from_slice(&fs::read(site.join("_cdnpub/latest.json")).unwrap()).unwrap();
    let id = latest["id"].as_str().unwrap();
    serde_json::from_slice(&fs::read(site.join(format!("_cdnpub/releases/{id}.json"))).unwrap())
        .unwrap()
}

/// Build `fixtures/bundlers/vite-vue/dist` into `<tmp>/public`.
fn built(tmp: &Path) -> PathBuf {
    common::build_public(
        tmp,
        &fixtures().join("bundlers/vite-vue/dist"),
        &["--no-compress"],
    )
}

fn upload(tmp: &Path, out: &Path) -> assert_cmd::assert::Assert {
    cdnpub(tmp)
        .arg("upload")
        .arg(out)
        .arg("--to")
        .arg(tmp.join("site"))
        .assert()
}

#[test]
fn upload_sends_the_tree_as_it_is() {
    let tmp = tempfile::tempdir().unwrap();
    let out = built(tmp.path());
    upload(tmp.path(), &out).success();
    // A no-cache page changed after the build: re-hashed and sent, never "unchanged".
    let page = out.join("index.html");
    let html = fs::read_to_string(&page)
        .unwrap()
        .replace("<title>pass", "<title>edited");
    fs::write(&page, &html).unwrap();
    // Files a CI step adds after the build: sent as no-cache files, named.
    write(&out, "robots.txt", "User-agent: *\n");
    write(&out, "meta/version.json", "{\"v\":2}");
    upload(tmp.path(), &out)
        .success()
        .stdout(contains(
            "changed since the build (no-cache, sent as they are now, without .gz/.br): index.html",
        ))
        .stdout(contains(
            "added since the build (sent as unbuilt no-cache files): meta/version.json, robots.txt",
        ));
    let site = tmp.path().join("site");
    assert_eq!(fs::read_to_string(site.join("index.html")).unwrap(), html);
    assert_eq!(
        fs::read_to_string(site.join("robots.txt")).unwrap(),
        "User-agent: *\n"
    );
    // An immutable file changed after the build: its name promises other bytes. Refused, named.
    let logo = out.join("assets/logo-D9KDT35y.png");
    let mut png = fs::read(&logo).unwrap();
    png.push(0);
    fs::write(&logo, &png).unwrap();
    let listing = common::snapshot(&site);
    upload(tmp.path(), &out)
        .code(2)
        .stderr(contains(
            "changed since the build, and their names promise the built content",
        ))
        .stderr(contains("assets/logo-D9KDT35y.png"));
    assert_eq!(common::snapshot(&site), listing, "nothing uploaded");
    // A file gone since the build.
    fs::remove_file(&logo).unwrap();
    upload(tmp.path(), &out)
        .code(2)
        .stderr(contains("gone since the build: assets/logo-D9KDT35y.png"));
    // Same size, same time, other bytes is the one change the stat shortcut cannot see; a
    // different time with the same size is hashed.
    let out = built(tmp.path());
    let lazy_css = fs::read_dir(out.join("assets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("Lazy-") && p.extension().unwrap() == "css")
        .unwrap();
    let mut css = fs::read(&lazy_css).unwrap();
    css[0] ^= 1;
    fs::write(&lazy_css, &css).unwrap();
    upload(tmp.path(), &out).code(2).stderr(contains("Lazy-"));
}

#[test]
fn a_manifest_that_leaves_the_tree_or_is_from_another_version_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = built(tmp.path());
    let path = out.join(".cdnpub/manifest.json");
    let good = fs::read_to_string(&path).unwrap();
    fs::write(
        &path,
        good.replacen(
            "\"path\": \"index.html\"",
            "\"path\": \"../../etc/passwd\"",
            1,
        ),
    )
    .unwrap();
    upload(tmp.path(), &out)
        .code(2)
        .stderr(contains("manifest.json"))
        .stderr(contains("\"../../etc/passwd\" leaves the tree"));
    fs::write(&path, good.replacen("\"version\": 1", "\"version\": 99", 1)).unwrap();
    upload(tmp.path(), &out)
        .code(2)
        .stderr(contains("manifest version 99"));
    assert!(!tmp.path().join("site").exists());
}

#[test]
fn review_defects_stay_fixed() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("dist");
    write(&src, "index.html", r#"<script src="a-x.js"></script>"#);
    write(&src, "a-x.js", "1");
    // A --hashed-pattern whose match is shorter than Vite's 8 characters.
    cdnpub(tmp.path())
        .arg("build")
        .arg(&src)
        .args(["--out", "out", r"--hashed-pattern=-x\.js$"])
        .assert()
        .success();
    // A non-ASCII commit id in a release record.
    cdnpub(tmp.path())
        .args(["upload", "out", "--to", "site"])
        .env("GITHUB_SHA", "提交提交提交提交提交提交提交")
        .assert()
        .success();
    cdnpub(tmp.path())
        .args(["releases", "--to", "site"])
        .assert()
        .success()
        .stdout(contains("提交提交提交提交提交提交提交").not())
        .stdout(contains("提交"));
    // A panic is one line and exit 70.
    cdnpub(tmp.path())
        .args(["releases", "--to", "site"])
        .env("CDNPUB_DEBUG_PANIC", "1")
        .assert()
        .code(70)
        .stderr(contains("internal error"))
        .stderr(contains("stack backtrace").not());
}

#[test]
fn rollback_over_several_targets_reports_the_one_it_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("dist");
    copy_tree(&fixtures().join("vite-vue/dist"), &src);
    let out = common::build_public(tmp.path(), &src, &["--no-compress"]);
    let up = |to: &str| {
        cdnpub(tmp.path())
            .args(["upload", "-q"])
            .arg(&out)
            .args(["--to", to])
            .assert()
            .success();
    };
    up("one");
    common::retitle(&src.join("index.html"), "v2");
    common::build_public(tmp.path(), &src, &["--no-compress"]);
    up("one");
    up("two"); // one release only: nothing to roll back to
    let a = cdnpub(tmp.path())
        .args(["rollback", "--to", "one", "--to", "two", "--no-purge"])
        .assert()
        .code(1);
    let o = a.get_output();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(
        stdout.contains("one"),
        "the changed target is reported: {stdout}"
    );
    assert!(stderr.contains("no earlier release"), "{stderr}");
    assert!(!fs::read_to_string(tmp.path().join("one/index.html"))
        .unwrap()
        .contains("v2 "));
}

#[test]
fn a_publish_whose_purge_fails_keeps_its_report_and_release_id() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("dist");
    copy_tree(&fixtures().join("bundlers/vite-vue/dist"), &src);
    let a = cdnpub(tmp.path())
        .arg("publish")
        .arg(&src)
        .args([
            "--server",
            "https://cdn.example.com",
            "--to",
            "site",
            "--provider",
            "aliyun",
        ])
        .args(["--domain", "cdn.example.com"])
        .args([
            "--cdn-endpoint",
            "http://127.0.0.1:1",
            "--no-prefetch",
            "--purge-new",
        ])
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", "id")
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret")
        .assert()
        .code(1);
    let o = a.get_output();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("release   2"), "{stdout}");
    assert!(stdout.contains("purge     FAILED"), "{stdout}");
    assert!(
        tmp.path().join("site/index.html").is_file(),
        "the upload happened"
    );
}

/// A script that starts a Worker from a script URL, served from the CDN, is named with the fix
/// (browsers refuse a cross-origin worker script); one that starts it through a blob is not.
#[test]
fn a_worker_started_from_a_cdn_url_is_named_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("dist");
    write(
        &src,
        "index.html",
        r#"<script type="module" src="EGOVA_CDN/assets/app-Ab12Cd34.js"></script>"#,
    );
    write(
        &src,
        "assets/app-Ab12Cd34.js",
        r#"const w=new Worker(new URL("./w-Xy12Ab34.js",import.meta.url),{type:"module"});"#,
    );
    write(
        &src,
        "assets/w-Xy12Ab34.js",
        "onmessage=()=>postMessage(1);",
    );
    let publish = |to: &str| {
        cdnpub(tmp.path())
            .arg("publish")
            .arg(&src)
            .args(["--server", "https://cdn.example.com", "--to", to])
            .args(["--no-purge", "--no-prefetch"])
            .assert()
            .success()
    };
    publish("site")
        .stderr(contains(
            "assets/app-Ab12Cd34.js starts a Worker from a script URL, and is served from https://cdn.example.com",
        ))
        .stderr(contains("same-origin blob"));
    write(
        &src,
        "assets/app-Ab12Cd34.js",
        r#"const u=new URL("./w-Xy12Ab34.js",import.meta.url).href;new Worker(URL.createObjectURL(new Blob([`import "${u}"`])),{type:"module"});"#,
    );
    // (Another target: the edited file keeps the bundler's name, and an immutable key never
    // gets other bytes.)
    publish("site2").stderr(contains("starts a Worker").not());
}

/// A framework that writes the placeholder as a host (SvelteKit's absolute `paths.assets`) is
/// told the `--prefix` that names it, before anything is built; with it, the tree builds.
#[test]
fn a_placeholder_written_as_a_host_names_the_prefix_to_give() {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixtures().join("frameworks/sveltekit/dist");
    let out = tmp.path().join("out");
    let build = |extra: &[&str]| {
        cdnpub(tmp.path())
            .arg("build")
            .arg(&src)
            .arg("--out")
            .arg(&out)
            .args(extra)
            .assert()
    };
    build(&[])
        .code(2)
        .stderr(contains(
            "writes the placeholder as a host (https://EGOVA_CDN/…",
        ))
        .stderr(contains("--prefix https://EGOVA_CDN"));
    assert!(!out.exists(), "nothing built");
    build(&["--prefix", "https://EGOVA_CDN"]).success();
}

/// At publish, a text file that holds the placeholder and is not rendered would ship it: refused
/// before anything is built, naming the file and the flag.
#[test]
fn a_placeholder_a_publish_would_leave_is_refused_by_file() {
    let tmp = tempfile::tempdir().unwrap();
    cdnpub(tmp.path())
        .arg("publish")
        .arg(fixtures().join("frameworks/vite-mpa/dist"))
        .args(["--server", "https://cdn.example.com", "--to", "site"])
        .args(["--no-purge", "--no-prefetch", "--render", "**/*.html"])
        .assert()
        .code(2)
        .stderr(contains(
            "hold the placeholder EGOVA_CDN but are not rendered",
        ))
        .stderr(contains("assets/main-CKHZvwtB.js"))
        .stderr(contains("--render"));
    assert!(!tmp.path().join("site").exists(), "nothing uploaded");
}
