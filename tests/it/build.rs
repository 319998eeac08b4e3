//! `cdnpub build` through the real binary on the fixtures.

use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::{assert_same_tree, cdnpub, copy_tree, final_of, fixtures, gunzip, snapshot, unbrotli};
use predicates::prelude::PredicateBooleanExt;
use serde_json::Value;

/// Build `src` into `<tmp>/out`; returns the manifest.
fn build(tmp: &Path, src: &Path, extra: &[&str]) -> Value {
    let out = tmp.join("out");
    cdnpub(tmp)
        .arg("build")
        .arg(src)
        .arg("--out")
        .arg(&out)
        .args(extra)
        .assert()
        .success();
    serde_json::from_slice(&fs::read(out.join(".cdnpub/manifest.json")).unwrap()).unwrap()
}

fn read(tmp: &Path, rel: &str) -> String {
    fs::read_to_string(tmp.join("out").join(rel)).unwrap()
}

fn is_hashed(path: &str, stem: &str, ext: &str) -> bool {
    let name = path.rsplit('/').next().unwrap();
    name.len() == stem.len() + 1 + 10 + ext.len()
        && name.starts_with(&format!("{stem}."))
        && name.ends_with(ext)
        && name[stem.len() + 1..stem.len() + 11]
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
}

#[test]
fn every_reference_form_is_rewritten_and_external_ones_are_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let m = build(tmp.path(), &fixtures().join("forms"), &[]);
    let f = |s: &str| final_of(&m, s);
    let name = |s: &str| f(s).rsplit('/').next().unwrap().to_string();
    for (src, stem, ext) in [
        ("js/app.js", "app", ".js"),
        ("css/site.css", "site", ".css"),
        ("img/logo.png", "logo", ".png"),
        ("fonts/icons.woff2", "icons", ".woff2"),
    ] {
        assert!(is_hashed(&f(src), stem, ext), "{src} → {}", f(src));
    }
    for kept in ["index.html", "other.html", "favicon.ico", "robots.txt"] {
        assert_eq!(f(kept), kept);
    }
    let html = read(tmp.path(), "index.html");
    for want in [
        format!("href=\"fonts/{}\"", name("fonts/icons.woff2")),
        format!("href=\"./js/{}\"", name("js/app.js")),
        format!("href=\"/css/{}\"", name("css/site.css")),
        format!("href=\"EGOVA_CDN/css/{}\"", name("css/print.css")),
        format!("url(img/{})", name("img/hero.png")),
        format!(
            "srcset=\"img/{} 1x, img/{} 2x\"",
            name("img/logo.png"),
            name("img/logo@2x.png")
        ),
        format!("<img src=img/{} alt=unquoted>", name("img/logo.png")),
        format!("poster=\"media/{}\"", name("media/poster.jpg")),
        format!("url('img/{}')", name("img/hero.png")),
        format!("src=\"vendor/{}\"", name("vendor/lib.min.js")),
    ] {
        assert!(html.contains(&want), "index.html lacks {want}\n{html}");
    }
    for untouched in [
        "https://cdn.example.com/lib/external.css",
        "href=\"//cdn.example.com\"",
        "data:image/png;base64,iVBORw0KGgo=",
        "href=\"#top\"",
        "href=\"other.html\"",
        "href=\"favicon.ico\"",
    ] {
        assert!(html.contains(untouched), "index.html changed {untouched}");
    }
    let css = read(tmp.path(), &f("css/site.css"));
    for want in [
        format!("@import \"{}\"", name("css/print.css")),
        format!("@import url({})", name("css/theme.css")),
        format!(
            "url(\"../fonts/{}?v=4.7.0#iefix\")",
            name("fonts/icons.eot")
        ),
        format!("url(../fonts/{}?v=4.7.0)", name("fonts/icons.woff2")),
        format!(
            "image-set(\"../img/{}\" 1x, \"../img/{}\" 2x)",
            name("img/logo.png"),
            name("img/logo@2x.png")
        ),
        format!("url(/img/{})", name("img/hero.png")),
        "url(blob:https://example.com/1234)".to_string(),
        "/* url(../img/commented-out.png) */".to_string(),
        format!("sourceMappingURL={}", name("css/site.css.map")),
    ] {
        assert!(css.contains(&want), "site.css lacks {want}\n{css}");
    }
    let js = read(tmp.path(), &f("js/app.js"));
    for want in [
        format!("from \"./{}\"", name("js/util.js")),
        format!("import(\"./{}\")", name("js/lazy.js")),
        format!(
            "new URL(\"../img/{}\", import.meta.url)",
            name("img/logo.png")
        ),
        format!("hero: \"img/{}\"", name("img/hero.png")),
        "\"https://cdn.example.com/js/app.js\"".to_string(),
        format!("sourceMappingURL={}", name("js/app.js.map")),
    ] {
        assert!(js.contains(&want), "app.js lacks {want}\n{js}");
    }
    // The map follows its file and names it.
    assert_eq!(name("js/app.js.map"), format!("{}.map", name("js/app.js")));
    let map = read(tmp.path(), &f("js/app.js.map"));
    assert!(
        map.contains(&format!("\"file\":\"{}\"", name("js/app.js"))),
        "{map}"
    );
    let css_map = read(tmp.path(), &f("css/site.css.map"));
    assert!(
        css_map.contains(&format!("\"../img/{}\"", name("img/logo.png"))),
        "{css_map}"
    );
}

#[test]
fn a_cycle_keeps_its_names_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    cdnpub(tmp.path())
        .arg("build")
        .arg(fixtures().join("forms"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stderr(predicates::str::contains("reference cycle"))
        .stderr(predicates::str::contains("js/cycle-a.js → js/cycle-b.js"))
        .stderr(predicates::str::contains("named by no HTML, CSS or JS").not());
    let m: Value =
        serde_json::from_slice(&fs::read(out.join(".cdnpub/manifest.json")).unwrap()).unwrap();
    for f in ["js/cycle-a.js", "js/cycle-b.js"] {
        assert_eq!(final_of(&m, f), f);
        let rec = m["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["source"] == f)
            .unwrap();
        assert_eq!(rec["immutable"], false, "{f} must not be cached for a year");
    }
}

#[test]
fn two_builds_are_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let one = tmp.path().join("one");
    let two = tmp.path().join("two");
    fs::create_dir_all(&one).unwrap();
    fs::create_dir_all(&two).unwrap();
    build(&one, &fixtures().join("forms"), &[]);
    build(&two, &fixtures().join("forms"), &[]);
    // Every file but the stat cache (file times; never uploaded) is the same.
    let built = |dir: &Path| {
        let mut s = snapshot(&dir.join("out"));
        assert!(s.remove(Path::new(".cdnpub/stat.json")).is_some());
        s
    };
    assert_same_tree(&built(&one), &built(&two), "second build");
    // Sorted manifest.
    let m = build(&one, &fixtures().join("vue-cli"), &[]);
    let paths: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
}

#[test]
fn a_changed_leaf_changes_exactly_the_hashes_up_its_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_tree(&fixtures().join("vue-cli"), &src);
    let before = names(&build(tmp.path(), &src, &[]));
    let mut png = fs::read(src.join("mobile-vue/citizen/img/logo.png")).unwrap();
    png.push(0);
    fs::write(src.join("mobile-vue/citizen/img/logo.png"), png).unwrap();
    let after = names(&build(tmp.path(), &src, &[]));
    let changed: Vec<&String> = before.keys().filter(|k| before[*k] != after[*k]).collect();
    // The logo, the stylesheet and the script that name it; nothing else (HTML keeps its name).
    assert_eq!(
        changed,
        [
            "mobile-vue/citizen/css/app.css",
            "mobile-vue/citizen/img/logo.png",
            "mobile-vue/citizen/js/app.js"
        ]
    );
}

fn names(m: &Value) -> BTreeMap<String, String> {
    m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["source"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
            )
        })
        .filter(|(s, _)| !s.ends_with(".map"))
        .collect()
}

#[test]
fn bundler_hashed_files_keep_their_names_unless_their_content_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let m = build(tmp.path(), &fixtures().join("vite-vue/dist"), &[]);
    let renamed: Vec<&String> = m["renamed"].as_object().unwrap().keys().collect();
    assert_eq!(
        renamed,
        ["favicon.svg"],
        "only the unhashed public file is renamed"
    );
    let html = read(tmp.path(), "index.html");
    assert!(
        html.contains(&format!(
            "href=\"/EGOVA_CDN/{}\"",
            final_of(&m, "favicon.svg")
        )),
        "{html}"
    );
    assert!(m["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] != "index.html")
        .all(|f| f["immutable"] == true));
    // A bundler-hashed file that names a renamed file gets a hash of its own.
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("assets")).unwrap();
    fs::write(
        src.join("assets/index-AbCd1234.js"),
        "const u = new URL('./logo.svg', import.meta.url);",
    )
    .unwrap();
    fs::write(src.join("assets/logo.svg"), "<svg/>").unwrap();
    fs::write(
        src.join("index.html"),
        r#"<script type="module" src="/assets/index-AbCd1234.js"></script>"#,
    )
    .unwrap();
    let tmp2 = tempfile::tempdir().unwrap();
    let m = build(tmp2.path(), &src, &[]);
    assert!(
        is_hashed(
            &final_of(&m, "assets/index-AbCd1234.js"),
            "index-AbCd1234",
            ".js"
        ),
        "{}",
        final_of(&m, "assets/index-AbCd1234.js")
    );
}

#[test]
fn siblings_decode_to_the_file_and_only_where_they_pay() {
    let tmp = tempfile::tempdir().unwrap();
    let m = build(
        tmp.path(),
        &fixtures().join("forms"),
        &["--brotli-quality", "5"],
    );
    let out = tmp.path().join("out");
    let files = m["files"].as_array().unwrap();
    let encs = |src: &str| -> Vec<String> {
        files.iter().find(|f| f["source"] == src).unwrap()["encodings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["encoding"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(encs("fonts/icons.ttf").len() == 2, "ttf compresses");
    assert!(
        encs("fonts/icons.woff2").is_empty(),
        "woff2 is already compressed"
    );
    assert!(encs("img/logo.png").is_empty(), "png is not compressible");
    assert!(encs("css/theme.css").is_empty(), "under 1 KiB");
    for f in files {
        let plain = fs::read(out.join(f["path"].as_str().unwrap())).unwrap();
        assert_eq!(f["size"].as_u64().unwrap(), plain.len() as u64);
        for e in f["encodings"].as_array().unwrap() {
            let bytes = fs::read(out.join(e["path"].as_str().unwrap())).unwrap();
            assert!((bytes.len() as f64) < plain.len() as f64 * 0.9);
            let decoded = if e["encoding"] == "gzip" {
                gunzip(&bytes)
            } else {
                unbrotli(&bytes)
            };
            assert_eq!(decoded, plain, "{}", e["path"]);
        }
    }
}

#[cfg(unix)]
#[test]
fn bad_input_gives_a_clear_error_and_leaves_out_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_tree(&fixtures().join("forms"), &src);
    let out = tmp.path().join("out");
    build(tmp.path(), &src, &[]);
    let before = snapshot(&out);
    let run = |src: &Path, out: &Path| {
        cdnpub(tmp.path())
            .arg("build")
            .arg(src)
            .arg("--out")
            .arg(out)
            .assert()
    };
    run(&tmp.path().join("missing"), &out)
        .code(2)
        .stderr(predicates::str::contains("missing"));
    run(&src, &src)
        .code(2)
        .stderr(predicates::str::contains("same directory"));
    run(&src, &src.join("public"))
        .code(2)
        .stderr(predicates::str::contains("inside"));
    fs::create_dir(tmp.path().join("other")).unwrap();
    fs::write(tmp.path().join("other/keep.txt"), "mine").unwrap();
    run(&src, &tmp.path().join("other"))
        .code(2)
        .stderr(predicates::str::contains("not a cdnpub build"));
    assert_eq!(
        fs::read_to_string(tmp.path().join("other/keep.txt")).unwrap(),
        "mine"
    );
    fs::write(tmp.path().join("secret.txt"), "s").unwrap();
    std::os::unix::fs::symlink(tmp.path().join("secret.txt"), src.join("img/link.png")).unwrap();
    run(&src, &out)
        .code(2)
        .stderr(predicates::str::contains("outside SRC"));
    fs::remove_file(src.join("img/link.png")).unwrap();
    std::os::unix::fs::symlink(src.join("img/nothing.png"), src.join("img/dangling.png")).unwrap();
    run(&src, &out)
        .code(1)
        .stderr(predicates::str::contains("dangling.png"));
    assert_same_tree(&before, &snapshot(&out), "failed builds");
    let leftovers: Vec<PathBuf> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("cdnpub-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "staging directories left: {leftovers:?}"
    );
}

#[test]
fn a_file_nothing_names_keeps_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_tree(&fixtures().join("vue-cli"), &src);
    // A chunk webpack loads by a computed URL ("js/"+id+".js"): no literal names it.
    fs::write(
        src.join("mobile-vue/citizen/js/chunk-2d0c.js"),
        "(window.webpackJsonp=window.webpackJsonp||[]).push([[1],{}]);",
    )
    .unwrap();
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
    // Nothing cdnpub rewrites names it: it keeps its name, with no flag (a runtime may build
    // its URL), and is not cached as immutable.
    run(&[]).success();
    let m: Value =
        serde_json::from_slice(&fs::read(out.join(".cdnpub/manifest.json")).unwrap()).unwrap();
    let chunk = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source"] == "mobile-vue/citizen/js/chunk-2d0c.js")
        .unwrap();
    assert_eq!(chunk["path"], "mobile-vue/citizen/js/chunk-2d0c.js");
    assert_eq!(chunk["immutable"], false);
    // Found through the manifest (a server template reads `renamed`): renamed, accepted.
    run(&["--manifest-named", "**/js/chunk-*.js"]).success();
    let m: Value =
        serde_json::from_slice(&fs::read(out.join(".cdnpub/manifest.json")).unwrap()).unwrap();
    assert!(m["renamed"]["mobile-vue/citizen/js/chunk-2d0c.js"]["file"].is_string());
    run(&["--keep", "**/js/chunk-*.js"]).success();
    assert!(
        out.join("mobile-vue/citizen/js/chunk-2d0c.js").is_file(),
        "--keep keeps the name"
    );
}

#[test]
fn profile_keys_apply_and_flags_override_them() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("cdnpub.toml"),
        "hash_length = 12\n\n[env.prod]\nkeep_names = [\"**/chunk-vendors.js\"]\ncompress = false\nbrotli_quality = 5\n",
    )
    .unwrap();
    let src = fixtures().join("vue-cli");
    let m = build(tmp.path(), &src, &["--env", "prod"]);
    assert!(is_hashed12(&final_of(&m, "mobile-vue/citizen/js/app.js")));
    assert_eq!(
        final_of(&m, "mobile-vue/citizen/js/chunk-vendors.js"),
        "mobile-vue/citizen/js/chunk-vendors.js"
    );
    assert!(m["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["encodings"].as_array().unwrap().is_empty()));
    // The flag wins over the file.
    let m = build(tmp.path(), &src, &["--env", "prod", "--hash-length", "8"]);
    let name = final_of(&m, "mobile-vue/citizen/js/app.js");
    assert_eq!(
        name.len(),
        "mobile-vue/citizen/js/app..js".len() + 8,
        "{name}"
    );
    fs::write(tmp.path().join("cdnpub.toml"), "hash_length = 40\n").unwrap();
    cdnpub(tmp.path())
        .arg("build")
        .arg(&src)
        .arg("--out")
        .arg(tmp.path().join("out"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "hash_length = 40 is out of range",
        ));
}

fn is_hashed12(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap();
    name.len() == "app..js".len() + 12
}

#[test]
fn a_map_named_by_two_files_is_written_once() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(
        src.join("a.js"),
        "a();\n//# sourceMappingURL=shared.js.map\n",
    )
    .unwrap();
    fs::write(
        src.join("b.js"),
        "b();\n//# sourceMappingURL=shared.js.map\n",
    )
    .unwrap();
    fs::write(
        src.join("shared.js.map"),
        r#"{"version":3,"file":"a.js","sources":[],"mappings":""}"#,
    )
    .unwrap();
    fs::write(
        src.join("index.html"),
        r#"<script src="a.js"></script><script src="b.js"></script>"#,
    )
    .unwrap();
    let m = build(tmp.path(), &src, &[]);
    let maps: Vec<&Value> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["source"] == "shared.js.map")
        .collect();
    assert_eq!(maps.len(), 1, "{maps:?}");
    let a = read(tmp.path(), &final_of(&m, "a.js"));
    assert!(
        a.contains(&format!(
            "sourceMappingURL={}",
            maps[0]["path"].as_str().unwrap()
        )),
        "{a}"
    );
    // b.js names the same map: its comment follows the map's new name too.
    let b = read(tmp.path(), &final_of(&m, "b.js"));
    assert!(
        b.contains(&format!(
            "sourceMappingURL={}",
            maps[0]["path"].as_str().unwrap()
        )),
        "{b}"
    );
}

#[test]
fn a_map_whose_sources_name_its_own_file_follows_the_new_name() {
    // bootstrap's CSS maps list the CSS itself among their sources.
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("css")).unwrap();
    fs::write(
        src.join("css/grid.css"),
        ".g{}\n/*# sourceMappingURL=grid.css.map */",
    )
    .unwrap();
    fs::write(
        src.join("css/grid.css.map"),
        r#"{"version":3,"sources":["../scss/_grid.scss","grid.css"],"names":[],"mappings":"","file":"grid.css"}"#,
    )
    .unwrap();
    fs::write(
        src.join("index.html"),
        r#"<link rel="stylesheet" href="css/grid.css">"#,
    )
    .unwrap();
    let m = build(tmp.path(), &src, &[]);
    let css = final_of(&m, "css/grid.css");
    let map = read(tmp.path(), &final_of(&m, "css/grid.css.map"));
    let name = css.trim_start_matches("css/");
    assert!(map.contains(&format!("\"{name}\"],")), "{map}");
}

/// `cdnpub build --json` into `<cwd>/out` with `args`; the report.
fn build_report(cwd: &Path, src: &Path, args: &[&str]) -> Value {
    let a = cdnpub(cwd)
        .args(["build", "--json"])
        .arg(src)
        .arg("--out")
        .arg(cwd.join("out"))
        .args(args)
        .assert()
        .success();
    serde_json::from_slice(&a.get_output().stdout).unwrap()
}

/// The built tree without the stat cache (file times).
fn built_tree(out: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut s = snapshot(out);
    s.remove(Path::new(".cdnpub/stat.json"));
    s
}

/// The compression cache: a warm build reuses every output and is byte-identical to a cold one;
/// one changed file recompresses only what changed; damaged entries are recomputed, never
/// served; `--no-cache` neither reads nor writes it; the default lives in `.cdnpub/cache`.
#[test]
fn the_compression_cache_reuses_outputs_and_never_serves_a_damaged_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_tree(&fixtures().join("bundlers/vite-react-legacy/dist"), &src);
    let (cold_dir, warm_dir) = (tmp.path().join("cold"), tmp.path().join("warm"));
    fs::create_dir_all(&cold_dir).unwrap();
    fs::create_dir_all(&warm_dir).unwrap();
    let cold = build_report(&cold_dir, &src, &["--no-cache"]);
    assert!(cold["cache"].is_null(), "{cold}");
    assert!(
        !cold_dir.join(".cdnpub").exists(),
        "--no-cache wrote a cache"
    );
    let outputs = cold["siblings"].as_u64().unwrap();
    assert!(outputs > 0);

    let first = build_report(&warm_dir, &src, &[]);
    let compressed_first = first["cache"]["misses"].as_u64().unwrap();
    assert_eq!(first["cache"]["hits"], 0, "{first}");
    assert!(compressed_first >= outputs, "{first}");
    assert!(warm_dir.join(".cdnpub/cache").is_dir());
    assert_same_tree(
        &built_tree(&cold_dir.join("out")),
        &built_tree(&warm_dir.join("out")),
        "first cached build",
    );

    let second = build_report(&warm_dir, &src, &[]);
    assert_eq!(second["cache"]["misses"], 0, "{second}");
    assert_eq!(second["cache"]["hits"].as_u64(), Some(compressed_first));
    assert_same_tree(
        &built_tree(&cold_dir.join("out")),
        &built_tree(&warm_dir.join("out")),
        "warm build",
    );

    // Damage every entry: each is recomputed (and rewritten), the output still the cold one.
    let entries: Vec<PathBuf> = walkdir::WalkDir::new(warm_dir.join(".cdnpub/cache"))
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    assert_eq!(entries.len() as u64, compressed_first);
    for (i, e) in entries.iter().enumerate() {
        let mut bytes = fs::read(e).unwrap();
        match i % 3 {
            0 => *bytes.last_mut().unwrap() ^= 0x55,
            1 => bytes.truncate(bytes.len() / 2),
            _ => bytes[0] = b'?',
        }
        fs::write(e, bytes).unwrap();
    }
    let repaired = build_report(&warm_dir, &src, &[]);
    assert_eq!(
        repaired["cache"]["repaired"].as_u64(),
        Some(compressed_first),
        "{repaired}"
    );
    assert_eq!(repaired["cache"]["hits"], 0);
    assert_same_tree(
        &built_tree(&cold_dir.join("out")),
        &built_tree(&warm_dir.join("out")),
        "after damage",
    );
    let again = build_report(&warm_dir, &src, &[]);
    assert_eq!(
        again["cache"]["hits"].as_u64(),
        Some(compressed_first),
        "entries were rewritten"
    );

    // One changed file: its outputs (and those of files whose references to it changed) are
    // compressed again; everything else is reused.
    let m: Value =
        serde_json::from_slice(&fs::read(cold_dir.join("out/.cdnpub/manifest.json")).unwrap())
            .unwrap();
    let compressed: Vec<&Value> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["encodings"].as_array().unwrap().is_empty())
        .collect();
    assert!(compressed.len() >= 3, "{m}");
    let victim = compressed
        .iter()
        .min_by_key(|f| f["size"].as_u64())
        .unwrap()["source"]
        .as_str()
        .unwrap();
    let mut text = fs::read(src.join(victim)).unwrap();
    text.extend_from_slice(b"\n/* changed for the cached rebuild */\n");
    fs::write(src.join(victim), text).unwrap();
    let changed = build_report(&warm_dir, &src, &[]);
    let (hits, misses) = (
        changed["cache"]["hits"].as_u64().unwrap(),
        changed["cache"]["misses"].as_u64().unwrap(),
    );
    assert!(misses >= 1 && hits >= 1, "{changed}");
    assert!(misses < compressed_first, "{changed}");
    build_report(&cold_dir, &src, &["--no-cache"]);
    assert_same_tree(
        &built_tree(&cold_dir.join("out")),
        &built_tree(&warm_dir.join("out")),
        "changed file",
    );
}

/// Two builds at once sharing one cache directory (two CI jobs on one runner): both succeed,
/// both trees are the cold build's byte for byte, and the cache serves them afterwards.
#[test]
fn concurrent_builds_share_the_compression_cache_safely() {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixtures().join("bundlers/vite-react-legacy/dist");
    let cache = tmp.path().join("shared-cache");
    let cold = tmp.path().join("cold");
    fs::create_dir_all(&cold).unwrap();
    build_report(&cold, &src, &["--no-cache"]);
    let bin = assert_cmd::cargo::cargo_bin("cdnpub");
    let jobs: Vec<(PathBuf, std::process::Child)> = (0..4)
        .map(|i| {
            let dir = tmp.path().join(format!("job{i}"));
            fs::create_dir_all(&dir).unwrap();
            let child = std::process::Command::new(&bin)
                .current_dir(&dir)
                .args(["build", "-q"])
                .arg(&src)
                .arg("--out")
                .arg(dir.join("out"))
                .arg("--cache-dir")
                .arg(&cache)
                .spawn()
                .unwrap();
            (dir, child)
        })
        .collect();
    for (dir, mut child) in jobs {
        assert!(child.wait().unwrap().success(), "{}", dir.display());
        assert_same_tree(
            &built_tree(&cold.join("out")),
            &built_tree(&dir.join("out")),
            "a concurrent build",
        );
    }
    let after = tmp.path().join("after");
    fs::create_dir_all(&after).unwrap();
    let r = build_report(&after, &src, &["--cache-dir", cache.to_str().unwrap()]);
    assert_eq!(r["cache"]["misses"], 0, "{r}");
    assert_eq!(r["cache"]["repaired"], 0, "{r}");
}

/// Source maps: by default uploaded with siblings at a cheap setting (what browsers download
/// keeps the best one); `--source-maps skip` leaves them out and no script or style names one.
#[test]
fn source_maps_are_cheap_by_default_and_gone_with_skip() {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixtures().join("vite-vue/dist");
    let m = build(tmp.path(), &src, &["--no-cache"]);
    let out = tmp.path().join("out");
    let files = m["files"].as_array().unwrap();
    let sibling =
        |path: &str, enc: &str| -> Vec<u8> { fs::read(out.join(format!("{path}.{enc}"))).unwrap() };
    let mut maps = 0;
    for f in files {
        let path = f["path"].as_str().unwrap();
        let plain = fs::read(out.join(path)).unwrap();
        if f["encodings"].as_array().unwrap().is_empty() {
            continue;
        }
        let (quality, level) = if path.ends_with(".map") {
            maps += 1;
            (5, 6)
        } else {
            (11, 9)
        };
        assert_eq!(
            sibling(path, "br"),
            cdnpub::site::compress::brotli(&plain, quality),
            "{path}.br at quality {quality}"
        );
        assert_eq!(
            sibling(path, "gz"),
            cdnpub::site::compress::gzip(&plain, level),
            "{path}.gz at level {level}"
        );
    }
    assert!(maps >= 1, "the fixture's maps got siblings");

    let skip = tempfile::tempdir().unwrap();
    let m = build(skip.path(), &src, &["--source-maps", "skip"]);
    let out = skip.path().join("out");
    for f in m["files"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap();
        assert!(!path.ends_with(".map"), "{path} was left in");
        let text = String::from_utf8_lossy(&fs::read(out.join(path)).unwrap()).to_string();
        assert!(
            !text.contains("sourceMappingURL"),
            "{path} still names a map"
        );
    }
    assert!(walkdir::WalkDir::new(&out).into_iter().all(|e| !e
        .unwrap()
        .path()
        .to_string_lossy()
        .contains(".map")));
    // A script whose comment was removed is no longer the bundler's bytes: its name is not the
    // bundler's either (an immutable key never changes bytes), and it stays immutable.
    let js: Vec<&Value> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["source"].as_str().unwrap().ends_with(".js"))
        .collect();
    assert!(!js.is_empty());
    for f in js {
        assert_ne!(f["path"], f["source"], "{f}");
        assert_eq!(f["immutable"], true, "{f}");
    }
    // The same from cdnpub.toml.
    let cfg = tempfile::tempdir().unwrap();
    fs::write(cfg.path().join("cdnpub.toml"), "source_maps = \"skip\"\n").unwrap();
    let m = build(cfg.path(), &src, &[]);
    assert!(m["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| !f["path"].as_str().unwrap().ends_with(".map")));
}
