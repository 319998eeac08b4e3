//! moto_server (pip package moto[server]) on a loopback port, for CloudFront tests; stopped by
//! process id when the guard drops. Missing moto_server or aws: the test is skipped, except
//! under CI=true, where it fails.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto_server.
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    child: Child,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

impl Moto {
    /// Start moto_server, or None (after printing SKIPPED) when it or the aws CLI is missing.
    pub fn start() -> Option<Moto> {
        if !have("moto_server") || !have("aws") {
            assert!(
                !super::in_ci(),
                "CI=true but moto_server or aws is not installed (.ci/run installs them)"
            );
            eprintln!(
                "SKIPPED: moto_server or aws is not installed (pip install awscli 'moto[server]')"
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto_server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    /// `aws --endpoint-url … ARGS` with moto's dummy credentials; stdout as JSON.
    pub fn aws(&self, args: &[&str]) -> serde_json::Value {
        let out = Command::new("aws")
            .args(["--endpoint-url", &self.endpoint, "--output", "json"])
            .args(args)
            .envs(Self::env())
            .output()
            .expect("run aws");
        assert!(
            out.status.success(),
            "aws {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
    }

    /// Dummy AWS credentials moto accepts.
    pub fn env() -> [(&'static str, &'static str); 3] {
        [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ]
    }

    /// A new distribution's id.
    pub fn distribution(&self) -> String {
        let v = self.aws(&[
            "cloudfront",
            "create-distribution",
            "--origin-domain-name",
            "site.s3.amazonaws.com",
        ]);
        v["Distribution"]["Id"].as_str().unwrap().to_string()
    }
}
