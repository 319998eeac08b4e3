//! Hostile and broken input: secrets never printed by any command, malformed configuration,
//! manifest and release records named with their position, unsafe values refused.

use crate::common;

use std::fs;

use common::clouds::{CloudConfig, CloudServer, Dialect};
use common::s3::S3Server;
use common::{cdnpub, copy_tree, fixtures};

const AWS_ID: &str = "AKIAFAKEIDENTIFIER77";
const AWS_SECRET: &str = "fakeAwsSecretKey/ShouldNeverPrint0123456";
const ALI_ID: &str = "LTAIfakeAliyunIdent88";
const ALI_SECRET: &str = "fakeAliyunSecretNeverPrint0987654321";
/// The other providers' keys: wrong for their stand-ins, so every call is refused.
const CLOUD_KEYS: [(&str, &str); 7] = [
    ("TENCENTCLOUD_SECRET_ID", "AKIDfakeTencentId"),
    (
        "TENCENTCLOUD_SECRET_KEY",
        "fakeTencentSecretNeverPrint01234",
    ),
    ("CLOUDFLARE_API_TOKEN", "fakeCloudflareTokenNeverPrint0123"),
    ("QINIU_ACCESS_KEY", "fakeQiniuAccessKey"),
    ("QINIU_SECRET_KEY", "fakeQiniuSecretNeverPrint0123456"),
    ("HUAWEICLOUD_SDK_AK", "FAKEHUAWEIAK"),
    ("HUAWEICLOUD_SDK_SK", "fakeHuaweiSecretNeverPrint012345"),
];
const CLOUD_SECRETS: [&str; 4] = [
    "fakeTencentSecretNeverPrint01234",
    "fakeCloudflareTokenNeverPrint0123",
    "fakeQiniuSecretNeverPrint0123456",
    "fakeHuaweiSecretNeverPrint012345",
];

fn output(a: &assert_cmd::assert::Assert) -> String {
    let o = a.get_output();
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn secrets_appear_in_no_output_of_any_command() {
    let s3 = S3Server::start();
    let cdn = CloudServer::start(CloudConfig::new(Dialect::Aliyun));
    let clouds: Vec<CloudServer> = [
        Dialect::Tencent,
        Dialect::Cloudflare,
        Dialect::Qiniu,
        Dialect::Huawei,
    ]
    .into_iter()
    .map(|d| CloudServer::start(CloudConfig::new(d)))
    .collect();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let src = t.join("dist");
    copy_tree(&fixtures().join("vite-vue/dist"), &src);
    let s3_target = format!("s3://{}/{}", s3.bucket, s3.unique_prefix("secrets"));
    fs::write(
        t.join("cdnpub.toml"),
        format!(
            "[env.prod]\ncdn_server = \"https://cdn.example.com\"\ntargets = [\"{s3_target}\"]\n\
             endpoint = \"{}\"\npath_style = true\nregion = \"us-east-1\"\ncdn_provider = \"aliyun\"\n\
             cdn_endpoint = \"{}\"\n",
            s3.endpoint, cdn.endpoint
        ) + &clouds
            .iter()
            .map(|c| {
                format!(
                    "[env.{0}]\ncdn_server = \"https://cdn.example.com\"\ncdn_provider = \"{0}\"\n\
                     cdn_endpoint = \"{1}\"\ncdn_zone_id = \"{2}\"\n",
                    c.config.dialect.name(),
                    c.endpoint,
                    c.config.zone_id
                )
            })
            .collect::<String>(),
    )
    .unwrap();
    let site = t.join("site").display().to_string();
    let src_s = src.display().to_string();
    // (arguments, expected to succeed)
    let runs: Vec<(Vec<&str>, bool)> = vec![
        (
            vec![
                "rewrite",
                "--root",
                &src_s,
                "--server",
                "https://cdn.example.com",
                "index.html",
            ],
            true,
        ),
        (
            vec![
                "--env",
                "prod",
                "build",
                &src_s,
                "--out",
                "built",
                "--brotli-quality",
                "3",
            ],
            true,
        ),
        (vec!["upload", "built", "--to", &site], true),
        (
            vec![
                "upload",
                "built",
                "--to",
                &s3_target,
                "--endpoint",
                &s3.endpoint,
                "--path-style",
            ],
            false,
        ),
        (vec!["--env", "prod", "publish", &src_s], false),
        (vec!["--env", "prod", "purge", "/index.html"], false),
        (
            vec!["--env", "prod", "purge", "/index.html", "--dry-run"],
            true,
        ),
        (vec!["--env", "prod", "prefetch", "/index.html"], false),
        (vec!["--env", "prod", "releases"], false),
        (vec!["releases", "--to", &site], true),
        (vec!["rollback", "--to", &site], false),
        (vec!["--env", "prod", "config", "show"], true),
        (vec!["config", "check"], true),
    ];
    let mut runs = runs;
    for c in &clouds {
        let name = c.config.dialect.name();
        runs.push((vec!["--env", name, "purge", "/index.html"], false));
        runs.push((
            vec!["--env", name, "purge", "--dry-run", "/index.html"],
            true,
        ));
        runs.push((vec!["--env", name, "prefetch", "/index.html"], false));
    }
    let mut seen_ok = 0;
    for (args, ok) in &runs {
        for extra in [["-vv"], ["--json"]] {
            let a = cdnpub(t)
                .args(extra)
                .args(args)
                .env("AWS_ACCESS_KEY_ID", AWS_ID)
                .env("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
                .env("AWS_REGION", "us-east-1")
                .env("ALIBABA_CLOUD_ACCESS_KEY_ID", ALI_ID)
                .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ALI_SECRET)
                .envs(CLOUD_KEYS)
                .assert();
            let success = a.get_output().status.success();
            assert_eq!(success, *ok, "{extra:?} {args:?}: {}", output(&a));
            seen_ok += usize::from(success);
            let all = output(&a);
            for secret in [AWS_SECRET, ALI_SECRET].into_iter().chain(CLOUD_SECRETS) {
                assert!(
                    !all.contains(secret),
                    "{args:?} {extra:?} printed a secret:\n{all}"
                );
            }
        }
    }
    assert!(seen_ok >= 10);
}

#[test]
fn malformed_files_are_named_with_their_position() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // cdnpub.toml
    fs::write(
        t.join("cdnpub.toml"),
        "cdn_prefix = \"X\"\n[env.prod\ncdn_server = 1\n",
    )
    .unwrap();
    let a = cdnpub(t).args(["config", "check"]).assert().code(2);
    let err = output(&a);
    assert!(
        err.contains("cdnpub.toml") && err.contains("line 2"),
        "{err}"
    );
    fs::remove_file(t.join("cdnpub.toml")).unwrap();

    // manifest.json of a built tree
    let out = common::build_public(t, &fixtures().join("vue-cli"), &["--no-compress"]);
    let manifest = out.join(".cdnpub/manifest.json");
    let good = fs::read(&manifest).unwrap();
    fs::write(
        &manifest,
        b"{\n  \"version\": 1,\n  \"files\": [ oops ]\n}\n",
    )
    .unwrap();
    let a = cdnpub(t)
        .args(["upload"])
        .arg(&out)
        .args(["--to", "site"])
        .assert()
        .code(2);
    let err = output(&a);
    assert!(
        err.contains("manifest.json") && err.contains("line 3") && err.contains("rebuild"),
        "{err}"
    );
    fs::write(&manifest, good).unwrap();

    // a release record of a target
    cdnpub(t)
        .args(["upload", "-q"])
        .arg(&out)
        .args(["--to", "site"])
        .assert()
        .success();
    let rec = fs::read_dir(t.join("site/_cdnpub/releases"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    fs::write(&rec, b"{\"version\": 1,\n\"id\": 7}").unwrap();
    let a = cdnpub(t)
        .args(["upload"])
        .arg(&out)
        .args(["--to", "site"])
        .assert()
        .code(1);
    let err = output(&a);
    let name = rec.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        err.contains(&name) && err.contains("line 2") && err.contains("damaged"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn unsafe_server_values_and_escaping_paths_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let src = t.join("dist");
    copy_tree(&fixtures().join("vite-vue/dist"), &src);
    for bad in [
        "javascript:alert(1)",
        "https://cdn.example.com\" onload=\"x",
        "https://cdn.example.com/<script>",
        "https://cdn example.com",
    ] {
        let a = cdnpub(t)
            .args(["publish"])
            .arg(&src)
            .args(["--to", "site", "--server", bad])
            .assert()
            .code(2);
        assert!(output(&a).contains("--server"), "{bad}");
        assert!(!t.join("site").exists(), "nothing written for {bad}");
    }
    // A link out of SRC is refused by build and publish.
    std::os::unix::fs::symlink("/etc/passwd", src.join("passwd.txt")).unwrap();
    for cmd in [
        vec!["build", "dist", "--out", "out"],
        vec!["publish", "dist", "--to", "site"],
    ] {
        let a = cdnpub(t).args(&cmd).assert().code(2);
        assert!(
            output(&a).contains("outside SRC"),
            "{cmd:?}: {}",
            output(&a)
        );
    }
    assert!(!t.join("out").exists() && !t.join("site").exists());
    // Targets that would leave their root.
    for bad in ["s3://bucket/../x", "s3://bucket/a/./b"] {
        let a = cdnpub(t)
            .args(["upload", "dist", "--to", bad])
            .assert()
            .code(2);
        assert!(output(&a).contains(bad), "{bad}");
    }
}
