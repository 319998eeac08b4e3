//! The npm packages (npm/): the launcher package and a platform package carrying the binary are
//! staged, `npm pack`ed, installed from the tarballs into a fresh project offline, and run
//! through `npx`: `--version`, `build` on the bundled example, `CDNPUB_BINARY`, and a binary
//! that does not match its published SHA-256.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common;

fn have_npm() -> bool {
    let ok = Command::new("npm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !common::in_ci(),
            "npm is required under CI (node 20 ships it)"
        );
        eprintln!("SKIPPED: npm is not installed; the npm package test did not run");
    }
    ok
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    let log = common::output_log(&out);
    (out.status.success(), log)
}

/// `npm …` in `dir` with a cache of the test's own (nothing from the developer's).
fn npm(dir: &Path, cache: &Path, args: &[&str]) -> (bool, String) {
    run(Command::new("npm")
        .args(args)
        .args([
            "--cache",
            cache.to_str().unwrap(),
            "--no-audit",
            "--no-fund",
        ])
        .current_dir(dir)
        .env_remove("CDNPUB_BINARY"))
}

fn npx(app: &Path, cache: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("npx");
    c.args(["--offline", "--cache", cache.to_str().unwrap(), "cdnpub"])
        .args(args)
        .current_dir(app)
        .env_remove("CDNPUB_BINARY");
    c
}

#[test]
fn the_npm_packages_install_offline_and_run_the_binary() {
    if !have_npm() || std::env::consts::ARCH != "x86_64" {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (stage, packs, cache, app) = (
        tmp.path().join("stage"),
        tmp.path().join("packs"),
        tmp.path().join("cache"),
        tmp.path().join("app"),
    );
    let bin = assert_cmd::cargo::cargo_bin("cdnpub");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("npm/stage.sh");
    let (ok, log) = run(Command::new("bash")
        .arg(&script)
        .arg(&stage)
        .arg(format!("linux-x64={}", bin.display())));
    assert!(ok, "{log}");
    fs::create_dir_all(&packs).unwrap();
    for pkg in ["cdnpub", "linux-x64"] {
        let (ok, log) = npm(
            &stage.join(pkg),
            &cache,
            &["pack", "--pack-destination", packs.to_str().unwrap()],
        );
        assert!(ok, "{log}");
    }
    let platform: serde_json::Value =
        serde_json::from_slice(&fs::read(stage.join("linux-x64/package.json")).unwrap()).unwrap();
    assert_eq!(
        (platform["os"][0].as_str(), platform["cpu"][0].as_str()),
        (Some("linux"), Some("x64"))
    );
    fs::create_dir_all(&app).unwrap();
    fs::write(
        app.join("package.json"),
        r#"{"name":"app","version":"1.0.0","private":true}"#,
    )
    .unwrap();
    let (ok, log) = npm(
        &app,
        &cache,
        &[
            "install",
            "--offline",
            packs.join("cdnpub-linux-x64-0.1.0.tgz").to_str().unwrap(),
            packs.join("cdnpub-0.1.0.tgz").to_str().unwrap(),
        ],
    );
    assert!(ok, "{log}");

    let (ok, log) = run(&mut npx(&app, &cache, &["--version"]));
    assert!(ok, "{log}");
    assert_eq!(log.trim(), format!("cdnpub {}", env!("CARGO_PKG_VERSION")));

    let dist = common::fixtures().join("vite-vue/dist");
    let (ok, log) = run(&mut npx(
        &app,
        &cache,
        &["build", dist.to_str().unwrap(), "--out", "out"],
    ));
    assert!(ok, "{log}");
    let manifest = fs::read_to_string(app.join("out/.cdnpub/manifest.json")).unwrap();
    assert!(manifest.contains("\"index.html\""), "{manifest}");

    // Exit codes pass through: a usage error is 2.
    let out = npx(&app, &cache, &["build"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));

    // A binary of one's own.
    let own = tmp.path().join("own-cdnpub");
    fs::write(&own, "#!/bin/sh\necho \"own $*\"\n").unwrap();
    fs::set_permissions(&own, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (ok, log) = run(npx(&app, &cache, &["--version"]).env("CDNPUB_BINARY", &own));
    assert!(ok && log.trim() == "own --version", "{log}");

    // A binary that is not the one published: refused, not run.
    let installed = app.join("node_modules/@cdnpub/linux-x64/bin/cdnpub");
    let mut bytes = fs::read(&installed).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&installed, bytes).unwrap();
    let out = npx(&app, &cache, &["--version"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("does not match the SHA-256 @cdnpub/linux-x64 was published with"),
        "{err}"
    );
}
