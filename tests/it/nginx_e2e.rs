//! End to end: a real nginx with gzip_static serves a directory `cdnpub rewrite` rendered; plain
//! and gzip responses both carry the new CDN server, before and after a second rewrite with
//! another server. Skipped with a visible message only when nginx is absent outside CI.

use crate::common;

use std::fs;
use std::path::Path;

use common::nginx::{self, Nginx};
use common::{cdnpub, count, gunzip, site};

fn get(url: &str, gzip: bool) -> (u16, Option<String>, Vec<u8>) {
    let client = reqwest::blocking::Client::new();
    let mut req = client.get(url);
    if gzip {
        req = req.header("Accept-Encoding", "gzip");
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    let enc = resp
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_string());
    (status, enc, resp.bytes().unwrap().to_vec())
}

fn rewrite(root: &Path, tpl: &Path, server: &str) {
    cdnpub(root.parent().unwrap())
        .args(["rewrite", "--root"])
        .arg(root)
        .arg("--state-dir")
        .arg(tpl)
        .env("CDN_SERVER", server)
        .env("CDN_REPLACE_FILES", "index.html assets/*.js")
        .assert()
        .success();
}

#[test]
fn nginx_serves_the_new_server_plain_and_gzip_static() {
    let Some(bin) = nginx::binary() else { return };
    let (_t, root) = site("vite-vue/dist");
    let js = fs::read_dir(root.join("assets"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.starts_with("index-") && n.ends_with(".js"))
        .unwrap();
    for rel in ["index.html".to_string(), format!("assets/{js}")] {
        let original = fs::read(root.join(&rel)).unwrap();
        fs::write(
            root.join(format!("{rel}.gz")),
            cdnpub::site::compress::gzip(&original, 9),
        )
        .unwrap();
    }
    // The render state inside the web root, hidden by the README's nginx rule.
    let tpl = root.join(".cdnpub");
    let server = Nginx::start(
        bin,
        &root,
        "gzip_static on;\n    location ~ /\\.cdnpub { deny all; }",
    );
    for cdn in ["https://one.example.com", "https://two.example.com"] {
        rewrite(&root, &tpl, cdn);
        for path in [
            "/".to_string(),
            "/index.html".to_string(),
            format!("/assets/{js}"),
        ] {
            let (status, enc, body) = get(&server.url(&path), false);
            assert_eq!((status, enc), (200, None), "{path}");
            let (gstatus, genc, gbody) = get(&server.url(&path), true);
            assert_eq!(
                (gstatus, genc.as_deref()),
                (200, Some("gzip")),
                "{path} gzip"
            );
            let unzipped = gunzip(&gbody);
            assert_eq!(
                unzipped, body,
                "{path}: gzip_static body differs from the plain one"
            );
            assert!(count(&body, cdn) > 0, "{path} does not mention {cdn}");
            assert_eq!(
                count(&body, "EGOVA_CDN"),
                0,
                "{path} still has the placeholder"
            );
            assert_eq!(count(&body, "/https:"), 0, "{path} has /https:");
            let other = if cdn.contains("one") {
                "two.example.com"
            } else {
                "one.example.com"
            };
            assert_eq!(count(&body, other), 0, "{path} mentions {other}");
        }
    }
    assert!(tpl.join("state.json").is_file());
    let (status, _, _) = get(&server.url("/.cdnpub/state.json"), false);
    assert_eq!(status, 403, "the render state must not be served");
}

fn get_with(url: &str, accept: Option<&str>) -> (u16, Option<String>, Option<String>, Vec<u8>) {
    let client = reqwest::blocking::Client::new();
    let mut req = client.get(url);
    if let Some(a) = accept {
        req = req.header("Accept-Encoding", a);
    }
    let resp = req.send().unwrap();
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let (enc, vary) = (header("content-encoding"), header("vary"));
    (
        resp.status().as_u16(),
        enc,
        vary,
        resp.bytes().unwrap().to_vec(),
    )
}

/// The default `--encoding auto` into a directory stores plain files and .gz/.br siblings; the
/// README's nginx recipe (gzip_static + brotli_static, gzip_vary) serves br to a browser that
/// takes it, gzip to one that takes only gzip, and the plain file to a client that takes none.
#[test]
fn a_directory_release_is_served_br_gzip_or_plain_by_nginx_static_modules() {
    let Some(bin) = nginx::binary() else { return };
    let Some(brotli) = nginx::brotli_static_module() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let public = tmp.path().join("public");
    let a = cdnpub(tmp.path())
        .arg("publish")
        .arg(common::fixtures().join("vite-vue/dist"))
        .arg("--to")
        .arg(&public)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(stdout.contains("plain + .gz/.br siblings"), "{stdout}");
    let js = fs::read_dir(public.join("assets"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.ends_with(".js"))
        .expect("a script in assets/");
    let path = public.join("assets").join(&js);
    let (plain, gz, br) = (
        fs::read(&path).unwrap(),
        fs::read(path.with_file_name(format!("{js}.gz"))).unwrap(),
        fs::read(path.with_file_name(format!("{js}.br"))).unwrap(),
    );
    assert!(br.len() < gz.len() && gz.len() < plain.len());
    let server = Nginx::start_full(
        bin,
        &public,
        &format!("load_module {brotli};"),
        "gzip_static on; brotli_static on; gzip_vary on;",
        "",
    );
    let url = server.url(&format!("/assets/{js}"));
    let (status, enc, vary, body) = get_with(&url, Some("gzip, deflate, br"));
    assert_eq!((status, enc.as_deref()), (200, Some("br")));
    assert_eq!(vary.as_deref(), Some("Accept-Encoding"));
    assert_eq!(body, br);
    let (_, enc, _, body) = get_with(&url, Some("gzip"));
    assert_eq!(enc.as_deref(), Some("gzip"));
    assert_eq!(body, gz);
    let (_, enc, _, body) = get_with(&url, None);
    assert_eq!(enc, None);
    assert_eq!(body, plain);
}
