//! The GitHub Action (action.yml): every input maps to a real flag of the built binary, and the
//! publish step, run as the runner would run it, publishes to a real S3 server and writes the
//! outputs and the job summary.

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
    for out in ["release-id", "uploaded", "purged", "summary"] {
        assert!(
            a["outputs"][out]["value"].as_str().is_some(),
            "output {out}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_publish_step_runs_against_a_real_s3_server() {
    let server = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("step.sh");
    fs::write(&script, publish_step(&action())["run"].as_str().unwrap()).unwrap();
    let (output, summary) = (tmp.path().join("output"), tmp.path().join("summary.md"));
    let prefix = server.unique_prefix("action");
    let bin = assert_cmd::cargo::cargo_bin("cdnpub");
    let inputs = [
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
        ("INPUT_SERVER", "https://cdn.example.com".into()),
        ("INPUT_BASE_PATH", String::new()),
        ("INPUT_DRY_RUN", "false".into()),
        ("INPUT_ARGS", "--brotli-quality 5".into()),
        ("INPUT_BINARY", bin.display().to_string()),
    ];
    let run = std::process::Command::new("bash")
        .arg(&script)
        .current_dir(tmp.path())
        .envs(inputs.iter().map(|(k, v)| (*k, v.as_str())))
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("RUNNER_TEMP", tmp.path())
        .env("AWS_ACCESS_KEY_ID", &server.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &server.secret_key)
        .env_remove("AWS_PROFILE")
        .env_remove("CDN_SERVER")
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "{log}");
    assert!(!log.contains(&server.secret_key), "the secret was echoed");
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
    assert!(!out.contains(&server.secret_key) && !md.contains(&server.secret_key));
    // The objects are on the server, rendered for the CDN server.
    let s3 = cdnpub::store::s3::S3Store::connect(cdnpub::store::s3::S3Options {
        bucket: server.bucket.clone(),
        prefix,
        endpoint: Some(server.endpoint.clone()),
        region: Some("us-east-1".into()),
        path_style: true,
        keys: Some((server.access_key.clone(), server.secret_key.clone())),
    })
    .await
    .unwrap();
    use cdnpub::store::ObjectStore;
    let html = s3.get("index.html").await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&html).contains("https://cdn.example.com/assets/"));
}
