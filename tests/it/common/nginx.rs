//! A real nginx (Debian's package) started by a test on a loopback port and stopped by
//! process id when the guard drops, even when the test fails.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running nginx; killed on drop.
pub struct Nginx {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The nginx binary, or None (the caller skips, loudly; under CI=true it fails instead).
pub fn binary() -> Option<&'static str> {
    let found = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    if found.is_none() {
        assert!(
            !super::in_ci(),
            "nginx is required under CI (.ci/run installs Debian's nginx package)"
        );
        eprintln!("SKIPPED: nginx is not installed (apt-get install nginx); this end-to-end test did not run");
    }
    found
}

impl Nginx {
    /// Serve `root` with `server_body` (directives inside `server { }` besides listen and root).
    pub fn start(bin: &str, root: &Path, server_body: &str) -> Nginx {
        Self::start_with(bin, root, "", server_body)
    }

    /// Like [`Nginx::start`], with `http_body` added at the `http { }` level.
    pub fn start_with(bin: &str, root: &Path, http_body: &str, server_body: &str) -> Nginx {
        Self::start_full(bin, root, "", http_body, server_body)
    }

    /// Like [`Nginx::start_with`], with `main_body` at the top (`load_module …;`).
    pub fn start_full(
        bin: &str,
        root: &Path,
        main_body: &str,
        http_body: &str,
        server_body: &str,
    ) -> Nginx {
        for _attempt in 0..5 {
            let port = free_port();
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().display();
            let conf = format!(
                "{main_body}\ndaemon off;\nmaster_process off;\npid {p}/nginx.pid;\nerror_log {p}/error.log warn;\n\
                 events {{ worker_connections 64; }}\n\
                 http {{\n  access_log off;\n  client_body_temp_path {p}/cb;\n  proxy_temp_path {p}/px;\n  \
                 fastcgi_temp_path {p}/fc;\n  uwsgi_temp_path {p}/uw;\n  scgi_temp_path {p}/sc;\n  \
                 include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n  \
                 {http_body}\n  server {{\n    listen 127.0.0.1:{port};\n    root {root};\n    {server_body}\n  }}\n}}\n",
                root = root.display()
            );
            fs::write(dir.path().join("nginx.conf"), conf).unwrap();
            let mut child = Command::new(bin)
                .args(["-p"])
                .arg(dir.path())
                .args(["-e"])
                .arg(dir.path().join("error.log"))
                .args(["-c"])
                .arg(dir.path().join("nginx.conf"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start nginx");
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // exited: port taken or bad config; try again
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Nginx {
                        child,
                        port,
                        _dir: dir,
                    };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            eprintln!(
                "nginx did not start: {}",
                fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
            );
        }
        panic!("nginx did not start after 5 attempts");
    }

    /// nginx as the CDN in front of `prefix` of the in-process S3 server's bucket, as browsers
    /// need it: release records hidden, gzip objects decoded for clients that do not ask for
    /// gzip, CORS for module scripts.
    pub fn cdn_for_bucket(bin: &str, dir: &Path, s3: &super::s3::S3Server, prefix: &str) -> Nginx {
        let s3_port = s3.endpoint.rsplit(':').next().unwrap();
        Self::start(
            bin,
            dir,
            &format!(
                "location ~ /_cdnpub/ {{ return 403; }}\n    \
                 location / {{ proxy_pass http://127.0.0.1:{s3_port}/{b}/{prefix}/; gunzip on; \
                 add_header Access-Control-Allow-Origin * always; }}",
                b = s3.bucket
            ),
        )
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Debian's brotli_static module (package libnginx-mod-http-brotli-static), if installed.
pub fn brotli_static_module() -> Option<&'static str> {
    let path = "/usr/lib/nginx/modules/ngx_http_brotli_static_module.so";
    let found = Path::new(path).exists();
    if !found {
        assert!(
            !super::in_ci(),
            "the brotli_static module is required under CI (.ci/run installs libnginx-mod-http-brotli-static)"
        );
        eprintln!(
            "SKIPPED: libnginx-mod-http-brotli-static is not installed; brotli_static not tested"
        );
    }
    found.then_some(path)
}
