//! An endpoint that accepts connections and never answers: every command that talks to a store
//! fails within its timeouts, naming the endpoint, the timeout and the flag, instead of waiting
//! silently.

use crate::common;

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{cdnpub, fixtures};
use predicates::str::contains;

/// A loopback server that accepts every connection and never sends a byte; stopped on drop.
struct Silent {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Silent {
    fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(c) = conn {
                    held.push(c);
                }
            }
        });
        Silent {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn a_store_that_never_answers_fails_within_the_timeouts() {
    let silent = Silent::start();
    let tmp = tempfile::tempdir().unwrap();
    let endpoint = format!("http://127.0.0.1:{}", silent.port);
    let flags = [
        "--endpoint",
        endpoint.as_str(),
        "--path-style",
        "--region",
        "us-east-1",
        "--connect-timeout",
        "1s",
        "--read-timeout",
        "1s",
    ];
    let run = |args: &[&str]| {
        let started = Instant::now();
        let a = cdnpub(tmp.path())
            .args(args)
            .args(flags)
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .timeout(Duration::from_secs(120))
            .assert()
            .code(1)
            .stderr(contains(endpoint.as_str()))
            .stderr(contains("timed out"))
            .stderr(contains("--read-timeout"));
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{:?}",
            started.elapsed()
        );
        a
    };
    let src = fixtures().join("frameworks/vite-mpa/dist");
    run(&[
        "publish",
        src.to_str().unwrap(),
        "--server",
        "https://cdn.example.com",
        "--to",
        "s3://bucket/web",
        "--no-purge",
        "--no-prefetch",
    ])
    // The stage said it started before it waited.
    .stderr(contains("upload    started: s3://bucket/web"));
    run(&["releases", "--to", "s3://bucket/web"]);
}

#[test]
fn verify_against_an_edge_that_never_answers_reports_every_key_unanswered() {
    let silent = Silent::start();
    let tmp = tempfile::tempdir().unwrap();
    cdnpub(tmp.path())
        .arg("publish")
        .arg(fixtures().join("frameworks/vite-mpa/dist"))
        .args(["--server", "https://cdn.example.com", "--to", "site"])
        .args(["--no-purge", "--no-prefetch"])
        .assert()
        .success();
    let base = format!("http://127.0.0.1:{}", silent.port);
    let started = Instant::now();
    cdnpub(tmp.path())
        .args([
            "verify",
            "--to",
            "site",
            "--cdn-base",
            &base,
            "--sample",
            "2",
        ])
        .args(["--request-timeout", "1s"])
        .timeout(Duration::from_secs(120))
        .assert()
        .code(1)
        .stdout(contains("unanswered"));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

/// Every CDN provider's API, silent: the purge fails within the timeouts and says so.
#[test]
fn every_cdn_api_that_never_answers_fails_within_the_timeouts() {
    let silent = Silent::start();
    let tmp = tempfile::tempdir().unwrap();
    let endpoint = format!("http://127.0.0.1:{}", silent.port);
    // (provider, its flags, its key variables)
    type Provider<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);
    let providers: [Provider; 6] = [
        (
            "aliyun",
            &[],
            &[
                ("ALIBABA_CLOUD_ACCESS_KEY_ID", "id"),
                ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret"),
            ],
        ),
        (
            "tencent",
            &[],
            &[
                ("TENCENTCLOUD_SECRET_ID", "id"),
                ("TENCENTCLOUD_SECRET_KEY", "key"),
            ],
        ),
        (
            "cloudflare",
            &["--zone-id", "023e105f4ecef8ad9ca31a8372d0c353"],
            &[("CLOUDFLARE_API_TOKEN", "token")],
        ),
        (
            "qiniu",
            &[],
            &[("QINIU_ACCESS_KEY", "ak"), ("QINIU_SECRET_KEY", "sk")],
        ),
        (
            "huawei",
            &[],
            &[("HUAWEICLOUD_SDK_AK", "ak"), ("HUAWEICLOUD_SDK_SK", "sk")],
        ),
        (
            "cloudfront",
            &["--distribution-id", "E123ABC"],
            &[
                ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", "secret"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ],
        ),
    ];
    std::thread::scope(|s| {
        for (provider, flags, vars) in providers {
            let (tmp, endpoint) = (&tmp, &endpoint);
            s.spawn(move || {
                let started = Instant::now();
                let mut c = cdnpub(tmp.path());
                c.args(["purge", "--provider", provider, "--cdn-endpoint", endpoint])
                    .args(flags)
                    .args(["--domain", "cdn.example.com", "/index.html"])
                    .args(["--connect-timeout", "1s", "--read-timeout", "1s"])
                    .timeout(Duration::from_secs(180));
                for (k, v) in vars {
                    c.env(k, v);
                }
                c.assert()
                    .code(1)
                    .stderr(contains(endpoint.as_str()))
                    .stderr(contains("timed out"))
                    .stderr(contains("--read-timeout"));
                assert!(
                    started.elapsed() < Duration::from_secs(90),
                    "{provider}: {:?}",
                    started.elapsed()
                );
            });
        }
    });
}
