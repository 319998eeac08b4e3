//! A real S3 server for tests: s3s-fs started in-process on 127.0.0.1:0 with a real access key
//! and secret (SigV4 is checked), recording every request it serves; or, when
//! CDNPUB_TEST_S3_ENDPOINT is set, that endpoint (with CDNPUB_TEST_S3_ACCESS_KEY,
//! CDNPUB_TEST_S3_SECRET_KEY, CDNPUB_TEST_S3_BUCKET). Stopped when the guard drops.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use super::serve::{serve, Served};

/// A public-read bucket, as a CDN origin is: anonymous GET and HEAD of objects are allowed,
/// everything else needs a valid signature.
struct PublicRead;

#[async_trait::async_trait]
impl s3s::access::S3Access for PublicRead {
    async fn check(&self, cx: &mut s3s::access::S3AccessContext<'_>) -> s3s::S3Result<()> {
        match (cx.credentials(), cx.s3_op().name()) {
            (Some(_), _) | (None, "GetObject" | "HeadObject") => Ok(()),
            _ => Err(s3s::s3_error!(AccessDenied, "Signature is required")),
        }
    }
}

/// One request the in-process server saw: method and path with query.
pub type Seen = (String, String);

/// A running S3 endpoint.
pub struct S3Server {
    /// `http://127.0.0.1:PORT` (or the external endpoint).
    pub endpoint: String,
    /// Access key id.
    pub access_key: String,
    /// Secret access key.
    pub secret_key: String,
    /// A bucket that exists.
    pub bucket: String,
    log: Option<Arc<Mutex<Vec<Seen>>>>,
    _served: Option<Served>,
    _root: Option<tempfile::TempDir>,
}

impl S3Server {
    /// The external endpoint if configured, else a fresh in-process s3s-fs.
    pub fn start() -> S3Server {
        match std::env::var("CDNPUB_TEST_S3_ENDPOINT") {
            Ok(endpoint) => {
                let var = |n: &str| {
                    std::env::var(n)
                        .unwrap_or_else(|_| panic!("{n} must be set with CDNPUB_TEST_S3_ENDPOINT"))
                };
                S3Server {
                    endpoint,
                    access_key: var("CDNPUB_TEST_S3_ACCESS_KEY"),
                    secret_key: var("CDNPUB_TEST_S3_SECRET_KEY"),
                    bucket: var("CDNPUB_TEST_S3_BUCKET"),
                    log: None,
                    _served: None,
                    _root: None,
                }
            }
            Err(_) => Self::in_process(),
        }
    }

    fn in_process() -> S3Server {
        let root = tempfile::tempdir().unwrap();
        let bucket = "cdnpub-test".to_string();
        std::fs::create_dir(root.path().join(&bucket)).unwrap();
        let (access_key, secret_key) = (
            "CDNPUBTESTKEY0000001".to_string(),
            "cdnpub/test/secret/0123456789abcdefghijkl".to_string(),
        );
        let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let fs_root = root.path().to_path_buf();
        let (ak, sk, thread_log) = (access_key.clone(), secret_key.clone(), log.clone());
        let served = serve(0, move || {
            let fs = s3s_fs::FileSystem::new(fs_root).unwrap();
            let mut b = s3s::service::S3ServiceBuilder::new(fs);
            b.set_auth(s3s::auth::SimpleAuth::from_single(ak, sk));
            b.set_access(PublicRead);
            let service = b.build();
            move |req: hyper::Request<hyper::body::Incoming>| {
                let path = req
                    .uri()
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                thread_log
                    .lock()
                    .unwrap()
                    .push((req.method().to_string(), path));
                hyper::service::Service::call(&service, req)
            }
        });
        let port = served.port;
        S3Server {
            endpoint: format!("http://127.0.0.1:{port}"),
            access_key,
            secret_key,
            bucket,
            log: Some(log),
            _served: Some(served),
            _root: Some(root),
        }
    }

    /// False for an external endpoint declared with CDNPUB_TEST_S3_CHECKS_AUTH=0 (moto_server
    /// accepts any signature): tests of credential errors skip there, saying so.
    pub fn checks_auth(&self) -> bool {
        let declared_off = std::env::var("CDNPUB_TEST_S3_CHECKS_AUTH").is_ok_and(|v| v == "0");
        if declared_off {
            eprintln!(
                "SKIPPED: {} does not check signatures (CDNPUB_TEST_S3_CHECKS_AUTH=0)",
                self.endpoint
            );
        }
        self.log.is_some() || !declared_off
    }

    /// Where the in-process server keeps an object's bytes (None for an external endpoint):
    /// reading them is a check that does not go through any S3 client.
    pub fn stored_file(&self, key: &str) -> Option<std::path::PathBuf> {
        self._root
            .as_ref()
            .map(|r| r.path().join(&self.bucket).join(key))
    }

    /// Requests served so far (None for an external endpoint, which cannot be observed).
    pub fn requests(&self) -> Option<Vec<Seen>> {
        self.log.as_ref().map(|l| l.lock().unwrap().clone())
    }

    /// Forget the requests served so far.
    pub fn clear(&self) {
        if let Some(l) = &self.log {
            l.lock().unwrap().clear();
        }
    }

    /// A prefix no other test uses (external endpoints are shared).
    pub fn unique_prefix(&self, name: &str) -> String {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!("cdnpub-test/{name}-{nanos:x}")
    }

    /// cdnpub's own S3 client on this server's bucket under `prefix` (path-style, its keys).
    pub async fn store(&self, prefix: &str) -> cdnpub::store::s3::S3Store {
        cdnpub::store::s3::S3Store::connect(cdnpub::store::s3::S3Options {
            bucket: self.bucket.clone(),
            prefix: prefix.to_string(),
            endpoint: Some(self.endpoint.clone()),
            region: Some("us-east-1".into()),
            path_style: true,
            keys: Some((self.access_key.clone(), self.secret_key.clone())),
            timeouts: Default::default(),
        })
        .await
        .unwrap()
    }
}
