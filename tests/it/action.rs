//! The GitHub Action (action.yml): every input maps to a real flag of the built binary; the
//! publish step, run as the runner would run it, publishes to a real S3 server (and through an
//! nginx CDN with `verify`), and the binary itself writes the outputs and the job summary;
//! `args` is one argument per line, never split or globbed.

use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::s3::S3Server;
use common::{cdnpub, fixtures};
use yaml_rust2::{Yaml, YamlLoader};

fn action() -> Yaml {
    let text =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml")).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

fn publish_step(a: &Yaml) -> Yaml {
    a["runs"]["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|s| s["id"].as_str() == Some("publish"))
        .cloned()
        .expect("a step with id: publish")
}

fn help(args: &[&str]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let a = cdnpub(tmp.path())
        .args(args)
        .arg("--help")
        .assert()
        .success();
    String::from_utf8_lossy(&a.get_output().stdout).to_string()
}

/// Inputs that are not flags: the positional SRC, free arguments, and the install step's.
const NOT_FLAGS: [&str; 4] = ["dist", "args", "version", "binary"];

#[test]
fn every_input_maps_to_a_real_flag() {
    let a = action();
    let inputs: Vec<String> = a["inputs"]
        .as_hash()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let step = publish_step(&a);
    let env: BTreeMap<String, String> = step["env"]
        .as_hash()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_string(),
                v.as_str().unwrap().to_string(),
            )
        })
        .collect();
    let script = step["run"].as_str().unwrap();
    assert!(
        !script.contains("${{"),
        "inputs reach the script through env only (no injection)"
    );
    let flags = format!("{}\n{}", help(&["publish"]), help(&[]));
    for input in &inputs {
        let var = format!("INPUT_{}", input.to_uppercase().replace('-', "_"));
        if input == "version" {
            let cache = &a["runs"]["steps"][0]["with"]["key"];
            assert!(
                cache.as_str().unwrap().contains("inputs.version"),
                "version keys the cache"
            );
            continue;
        }
        assert_eq!(
            env.get(&var).map(String::as_str),
            Some(format!("${{{{ inputs.{input} }}}}").as_str()),
            "input {input} is passed to the step as {var}"
        );
        if NOT_FLAGS.contains(&input.as_str()) {
            continue;
        }
        let used = regex::Regex::new(&format!(r"\${var}\b")).unwrap();
        let line = script
            .lines()
            .find(|l| used.is_match(l))
            .unwrap_or_else(|| panic!("{var} is not used by the script"));
        let flag = line
            .split(|c: char| c == '(' || c == ')' || c.is_whitespace())
            .find(|w| w.starts_with("--"))
            .unwrap_or_else(|| panic!("no flag on the line using {var}: {line}"));
        let listed = regex::Regex::new(&format!(r"(?m)^\s+(-\w, )?{flag}\b")).unwrap();
        assert!(
            listed.is_match(&flags),
            "input {input} maps to {flag}, which `cdnpub publish --help` does not list"
        );
    }
    for out in ["release-id", "uploaded", "purged", "summary", "results"] {
        assert!(
            a["outputs"][out]["value"].as_str().is_some(),
            "output {out}"
        );
    }
    // docs/action.md documents every input and every output.
    let doc =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/action.md")).unwrap();
    let outputs: Vec<String> = a["outputs"]
        .as_hash()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    for name in inputs.iter().chain(&outputs) {
        assert!(
            doc.contains(&format!("`{name}`")),
            "docs/action.md lacks `{name}`"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_publish_step_runs_against_a_real_s3_server() {
    let server = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let (output, summary) = (tmp.path().join("output"), tmp.path().join("summary.md"));
    let prefix = server.unique_prefix("action");
    let mut inputs = step_inputs(&server, &prefix);
    inputs.insert("INPUT_SERVER", "https://cdn.example.com".into());
    inputs.insert("INPUT_ARGS", "--brotli-quality\n5\n".into());
    let run = run_step(tmp.path(), &inputs, &server);
    let log = common::output_log(&run);
    assert!(run.status.success(), "{log}");
    assert!(!log.contains(&server.secret_key), "the secret was echoed");
    assert!(
        tmp.path().join(".cdnpub/cache").is_dir(),
        "the compression cache the Action keeps is .cdnpub/cache in the workspace"
    );
    let out = fs::read_to_string(&output).unwrap();
    let get = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("{k} not in outputs: {out}"))
            .to_string()
    };
    let release = get("release-id");
    assert!(release.len() > 16, "{out}");
    assert_eq!(get("uploaded"), "11");
    assert_eq!(get("purged"), "0");
    let report: serde_json::Value = serde_json::from_str(&get("summary")).unwrap();
    assert_eq!(report["release"], release.as_str());
    let md = fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("| stage | result |") && md.contains("| upload s3://"),
        "{md}"
    );
    assert!(md.contains("| purge | no CDN provider is set"), "{md}");
    // The size table, from the results file the step wrote.
    assert!(
        md.contains("#### What a first visit downloads (gzip)")
            && md.contains("| index.html | 3 |"),
        "{md}"
    );
    let results = get("results");
    let last = fs::read_to_string(&results).unwrap();
    let summary_event: serde_json::Value =
        serde_json::from_str(last.lines().last().unwrap()).unwrap();
    assert_eq!(summary_event["event"], "summary");
    assert_eq!(summary_event["report"]["release"], release.as_str());
    assert!(!out.contains(&server.secret_key) && !md.contains(&server.secret_key));
    // The objects are on the server, rendered for the CDN server.
    let s3 = server.store(&prefix).await;
    use cdnpub::store::ObjectStore;
    let html = s3.get("index.html").await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&html).contains("https://cdn.example.com/assets/"));
}

/// The publish step's inputs (every one the runner sets, defaults as action.yml has them) for
/// the test S3 server's `prefix`.
fn step_inputs(server: &S3Server, prefix: &str) -> BTreeMap<&'static str, String> {
    let bin = assert_cmd::cargo::cargo_bin("cdnpub");
    BTreeMap::from([
        (
            "INPUT_DIST",
            fixtures().join("vite-vue/dist").display().to_string(),
        ),
        ("INPUT_ENV", String::new()),
        ("INPUT_CONFIG", String::new()),
        ("INPUT_TARGETS", format!("s3://{}/{prefix}", server.bucket)),
        ("INPUT_ENDPOINT", server.endpoint.clone()),
        ("INPUT_REGION", "us-east-1".into()),
        ("INPUT_PATH_STYLE", "true".into()),
        ("INPUT_CDN_PROVIDER", String::new()),
        ("INPUT_CDN_DOMAIN", String::new()),
        ("INPUT_DISTRIBUTION_ID", String::new()),
        ("INPUT_ZONE_ID", String::new()),
        ("INPUT_SERVER", String::new()),
        ("INPUT_BASE_PATH", String::new()),
        ("INPUT_DRY_RUN", "false".into()),
        ("INPUT_COMPRESSION_CACHE", "true".into()),
        ("INPUT_VERIFY", "false".into()),
        ("INPUT_WAIT", "false".into()),
        ("INPUT_STAGE", "false".into()),
        ("INPUT_SRI", String::new()),
        ("INPUT_ARGS", String::new()),
        ("INPUT_BINARY", bin.display().to_string()),
    ])
}

/// Run the publish step's script in `cwd` with `inputs`, GitHub's files under `cwd`.
fn run_step(
    cwd: &Path,
    inputs: &BTreeMap<&'static str, String>,
    server: &S3Server,
) -> std::process::Output {
    let script = cwd.join("step.sh");
    fs::write(&script, publish_step(&action())["run"].as_str().unwrap()).unwrap();
    std::process::Command::new("bash")
        .arg(&script)
        .current_dir(cwd)
        .envs(inputs.iter().map(|(k, v)| (*k, v.as_str())))
        .env("GITHUB_OUTPUT", cwd.join("output"))
        .env("GITHUB_STEP_SUMMARY", cwd.join("summary.md"))
        .env("RUNNER_TEMP", cwd)
        .env("AWS_ACCESS_KEY_ID", &server.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &server.secret_key)
        .env_remove("AWS_PROFILE")
        .env_remove("CDN_SERVER")
        .output()
        .unwrap()
}

/// `args` reaches cdnpub one argument per line, as written: no word splitting, no globbing, no
/// quote removal; the switch inputs add their flags; the binary writes the outputs.
#[test]
fn the_args_input_is_one_argument_per_line_and_switches_map_to_flags() {
    let server = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // A file a glob would expand to, in the step's working directory.
    fs::create_dir_all(t.join("assets")).unwrap();
    fs::write(t.join("assets/x.png"), "png").unwrap();
    let argv = t.join("argv");
    let fake = t.join("fake-cdnpub");
    fs::write(
        &fake,
        format!(
            "#!/bin/sh
for a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}'\n",
            argv.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut inputs = step_inputs(&server, "p");
    inputs.insert("INPUT_BINARY", fake.display().to_string());
    inputs.insert("INPUT_VERIFY", "true".into());
    inputs.insert("INPUT_WAIT", "true".into());
    inputs.insert("INPUT_STAGE", "true".into());
    inputs.insert("INPUT_SRI", "false".into());
    inputs.insert(
        "INPUT_ARGS",
        "--keep\nassets/*.png\n\n--render\n  two words \n--brotli-quality\r\n\"5\"\n".into(),
    );
    let run = run_step(t, &inputs, &server);
    assert!(run.status.success(), "{}", common::output_log(&run));
    let got = fs::read_to_string(&argv).unwrap();
    let args: Vec<&str> = got.lines().collect();
    let at = args.iter().position(|a| *a == "--keep").expect(&got);
    assert_eq!(
        &args[at..at + 6],
        [
            "--keep",
            "assets/*.png",
            "--render",
            "  two words ",
            "--brotli-quality",
            "\"5\""
        ],
        "{got}"
    );
    for flag in ["--verify", "--wait", "--stage", "--no-sri"] {
        assert!(args.contains(&flag), "{flag} not passed: {got}");
    }
    assert_eq!(args.last(), Some(&"--github-output"), "{got}");
    assert!(!args.contains(&"--sri"));
}

/// `verify` and `sri` against a CDN: nginx with a proxy cache in front of the S3 server; the
/// job summary carries verify's line, the pages their integrity attributes.
#[tokio::test(flavor = "multi_thread")]
async fn the_verify_and_sri_inputs_publish_through_a_cdn() {
    let Some(bin) = common::nginx::binary() else {
        return;
    };
    let server = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let prefix = server.unique_prefix("action-verify");
    let s3_port = server.endpoint.rsplit(':').next().unwrap().to_string();
    let cache = t.join("nginx-cache");
    fs::create_dir_all(&cache).unwrap();
    let cdn = common::nginx::Nginx::start_with(
        bin,
        t,
        &format!("proxy_cache_path {} levels= keys_zone=cdn:1m inactive=1h;", cache.display()),
        &format!(
            "location / {{ proxy_pass http://127.0.0.1:{s3_port}/{b}/; proxy_cache cdn; proxy_cache_valid 200 1h; }}",
            b = server.bucket
        ),
    );
    let mut inputs = step_inputs(&server, &prefix);
    inputs.insert("INPUT_SERVER", cdn.url(""));
    inputs.insert("INPUT_VERIFY", "true".into());
    inputs.insert("INPUT_SRI", "true".into());
    let work = t.join("work");
    fs::create_dir_all(&work).unwrap();
    let run = run_step(&work, &inputs, &server);
    let log = common::output_log(&run);
    assert!(run.status.success(), "{log}");
    let md = fs::read_to_string(work.join("summary.md")).unwrap();
    let verify = md
        .lines()
        .find(|l| l.starts_with("| verify |"))
        .unwrap_or_else(|| panic!("no verify row: {md}"));
    assert!(verify.contains("0 stale, 0 missing, 0 wrong"), "{verify}");
    let out = fs::read_to_string(work.join("output")).unwrap();
    assert!(out.contains("\nuploaded=11\n"), "{out}");
    let s3 = server.store(&prefix).await;
    use cdnpub::store::ObjectStore;
    let html = s3.get("index.html").await.unwrap().unwrap();
    assert!(
        String::from_utf8_lossy(&html).contains("integrity=\"sha"),
        "SRI on the page"
    );
}

/// The install step's script.
fn install_step() -> String {
    let a = action();
    a["runs"]["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|s| s["name"].as_str() == Some("Install cdnpub"))
        .and_then(|s| s["run"].as_str().map(str::to_owned))
        .expect("an Install cdnpub step")
}

/// A release layout on a loopback HTTP server: `/v<version>/<file>` answers `files`, anything
/// else 404; the paths asked for are logged.
struct Releases {
    url: String,
    asked: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    _served: common::serve::Served,
}

impl Releases {
    fn start(files: BTreeMap<String, Vec<u8>>) -> Releases {
        use http_body_util::Full;
        use hyper::body::Bytes;
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (log, files) = (asked.clone(), std::sync::Arc::new(files));
        let served = common::serve::serve(0, move || {
            move |req: hyper::Request<hyper::body::Incoming>| {
                let (log, files) = (log.clone(), files.clone());
                async move {
                    let path = req.uri().path().to_string();
                    log.lock().unwrap().push(path.clone());
                    let resp = match files.get(&path) {
                        Some(b) => hyper::Response::new(Full::new(Bytes::from(b.clone()))),
                        None => hyper::Response::builder()
                            .status(404)
                            .body(Full::new(Bytes::from_static(b"not found")))
                            .unwrap(),
                    };
                    Ok::<_, std::convert::Infallible>(resp)
                }
            }
        });
        Releases {
            url: format!("http://127.0.0.1:{}", served.port),
            asked,
            _served: served,
        }
    }
}

/// A `.tar.gz` holding one executable `cdnpub` that prints `cdnpub <label>` for `--version`.
fn archive(tmp: &Path, label: &str) -> Vec<u8> {
    let dir = tmp.join(format!("pack-{label}"));
    fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("cdnpub");
    fs::write(&bin, format!("#!/bin/sh\necho 'cdnpub {label}'\n")).unwrap();
    fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = tmp.join(format!("{label}.tar.gz"));
    let ok = std::process::Command::new("tar")
        .args([
            "-czf",
            out.to_str().unwrap(),
            "-C",
            dir.to_str().unwrap(),
            "cdnpub",
        ])
        .status()
        .unwrap();
    assert!(ok.success());
    fs::read(out).unwrap()
}

/// A `.zip` holding one executable `cdnpub.exe` (a script here) that prints `cdnpub <label>`,
/// made by Python's zipfile (another implementation than the `unzip` that reads it).
fn zip_archive(tmp: &Path, label: &str) -> Vec<u8> {
    let dir = tmp.join(format!("pack-{label}"));
    fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("cdnpub.exe");
    fs::write(&bin, format!("#!/bin/sh\necho 'cdnpub {label}'\n")).unwrap();
    let out = tmp.join(format!("{label}.zip"));
    let ok = std::process::Command::new("python3")
        .args(["-m", "zipfile", "-c", out.to_str().unwrap(), "cdnpub.exe"])
        .current_dir(&dir)
        .status()
        .unwrap();
    assert!(ok.success());
    fs::read(out).unwrap()
}

/// The release layout of version 9.8.7 for linux x86_64 and aarch64; `sums` overrides the
/// digest listed for the x86_64 archive.
fn layout(tmp: &Path, sums: Option<&str>) -> BTreeMap<String, Vec<u8>> {
    let x64 = archive(tmp, "x64");
    let arm = archive(tmp, "arm64");
    let name = |t: &str| format!("cdnpub-v9.8.7-{t}.tar.gz");
    let x64_sum = sums
        .map(str::to_owned)
        .unwrap_or_else(|| cdnpub::site::state::sha256_hex(&x64));
    let listing = format!(
        "{x64_sum}  {}\n{}  {}\n",
        name("x86_64-unknown-linux-musl"),
        cdnpub::site::state::sha256_hex(&arm),
        name("aarch64-unknown-linux-musl")
    );
    BTreeMap::from([
        (
            format!("/v9.8.7/{}", name("x86_64-unknown-linux-musl")),
            x64,
        ),
        (
            format!("/v9.8.7/{}", name("aarch64-unknown-linux-musl")),
            arm,
        ),
        ("/v9.8.7/SHA256SUMS".to_string(), listing.into_bytes()),
    ])
}

#[test]
fn the_install_step_unpacks_the_windows_zip() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = zip_archive(tmp.path(), "win");
    let name = "cdnpub-v9.8.7-x86_64-pc-windows-msvc.zip";
    let sums = format!("{}  {name}\n", cdnpub::site::state::sha256_hex(&zip));
    let releases = Releases::start(BTreeMap::from([
        (format!("/v9.8.7/{name}"), zip),
        ("/v9.8.7/SHA256SUMS".to_string(), sums.into_bytes()),
    ]));
    let (ok, log, cargo) = run_install(tmp.path(), &releases.url, "Windows", "X64");
    assert!(ok, "{log}");
    assert_eq!(cargo, None, "{log}");
    assert!(log.contains(&format!("installed {name}")), "{log}");
    assert!(
        log.contains("cdnpub win"),
        "the installed binary ran: {log}"
    );
    let installed = tmp.path().join("home/.cdnpub-action/bin/cdnpub.exe");
    let mode = fs::metadata(&installed).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o111,
        0o111
    );
    assert_eq!(
        *releases.asked.lock().unwrap(),
        ["/v9.8.7/SHA256SUMS".to_string(), format!("/v9.8.7/{name}")]
    );
}

/// Run the install step as the runner would, for `os`/`arch`, with a `cargo` on PATH that only
/// records how it was called; returns (success, log, cargo's arguments if it ran).
fn run_install(tmp: &Path, releases: &str, os: &str, arch: &str) -> (bool, String, Option<String>) {
    let script = tmp.join("install.sh");
    fs::write(&script, install_step()).unwrap();
    let fake = tmp.join("fake-bin");
    fs::create_dir_all(&fake).unwrap();
    let called = tmp.join("cargo-called");
    let _ = fs::remove_file(&called);
    fs::write(
        fake.join("cargo"),
        format!("#!/bin/sh\necho \"$@\" > '{}'\n", called.display()),
    )
    .unwrap();
    fs::set_permissions(
        fake.join("cargo"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let home = tmp.join("home");
    let _ = fs::remove_dir_all(&home);
    fs::create_dir_all(&home).unwrap();
    let run = std::process::Command::new("bash")
        .arg(&script)
        .current_dir(tmp)
        .env("HOME", &home)
        .env(
            "PATH",
            format!("{}:{}", fake.display(), std::env::var("PATH").unwrap()),
        )
        .env("ACTION_PATH", env!("CARGO_MANIFEST_DIR"))
        .env("ACTION_REPOSITORY", "example/cdnpub")
        .env("CDNPUB_VERSION", "9.8.7")
        .env("CDNPUB_RELEASES_URL", releases)
        .env("RUNNER_OS", os)
        .env("RUNNER_ARCH", arch)
        .output()
        .unwrap();
    let log = common::output_log(&run);
    (run.status.success(), log, fs::read_to_string(&called).ok())
}

#[test]
fn the_install_step_downloads_the_runners_archive_and_checks_it() {
    let tmp = tempfile::tempdir().unwrap();
    let releases = Releases::start(layout(tmp.path(), None));
    for (arch, label, target) in [
        ("X64", "x64", "x86_64-unknown-linux-musl"),
        ("ARM64", "arm64", "aarch64-unknown-linux-musl"),
    ] {
        releases.asked.lock().unwrap().clear();
        let (ok, log, cargo) = run_install(tmp.path(), &releases.url, "Linux", arch);
        assert!(ok, "{log}");
        assert_eq!(
            cargo, None,
            "no cargo install when a binary is published: {log}"
        );
        let installed = tmp.path().join("home/.cdnpub-action/bin/cdnpub");
        let version = std::process::Command::new(&installed)
            .arg("--version")
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&version.stdout).trim(),
            format!("cdnpub {label}")
        );
        assert_eq!(
            *releases.asked.lock().unwrap(),
            [
                "/v9.8.7/SHA256SUMS".to_string(),
                format!("/v9.8.7/cdnpub-v9.8.7-{target}.tar.gz")
            ]
        );
        assert!(
            log.contains(&format!("installed cdnpub-v9.8.7-{target}.tar.gz")),
            "{log}"
        );
    }
}

#[test]
fn the_install_step_refuses_an_archive_that_does_not_match_its_checksum() {
    let tmp = tempfile::tempdir().unwrap();
    let wrong = "0".repeat(64);
    let releases = Releases::start(layout(tmp.path(), Some(&wrong)));
    let (ok, log, cargo) = run_install(tmp.path(), &releases.url, "Linux", "X64");
    assert!(!ok, "{log}");
    assert!(
        log.contains("::error::cdnpub-v9.8.7-x86_64-unknown-linux-musl.tar.gz does not match")
            && log.contains("refusing to install it"),
        "{log}"
    );
    assert_eq!(
        cargo, None,
        "a bad download is an error, not a reason to build: {log}"
    );
    assert!(!tmp.path().join("home/.cdnpub-action/bin/cdnpub").exists());
}

#[test]
fn the_install_step_builds_from_source_where_no_binary_is_published() {
    let tmp = tempfile::tempdir().unwrap();
    let releases = Releases::start(layout(tmp.path(), None));
    // A platform with no release binary: no download at all.
    let (ok, log, cargo) = run_install(tmp.path(), &releases.url, "FreeBSD", "X64");
    assert!(ok, "{log}");
    assert!(
        log.contains("no release binary for FreeBSD/X64") && log.contains("cargo install"),
        "{log}"
    );
    let args = cargo.expect("cargo install ran");
    assert!(
        args.starts_with("install --locked --path ")
            && args.contains("--root ")
            && args.contains(".cdnpub-action"),
        "{args}"
    );
    assert!(releases.asked.lock().unwrap().is_empty());
    // A version the mirror does not have: the download fails, the log says so, cargo builds.
    let (ok, log, cargo) = run_install(
        tmp.path(),
        &format!("{}/missing", releases.url),
        "Linux",
        "X64",
    );
    assert!(ok, "{log}");
    assert!(
        log.contains("could not be downloaded from") && cargo.is_some(),
        "{log}"
    );
}
