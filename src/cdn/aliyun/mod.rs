//! Alibaba Cloud CDN (RPC API 2018-05-10 on cdn.aliyuncs.com), signed with ACS3-HMAC-SHA256:
//! RefreshObjectCaches (purge), PushObjectCache (prefetch), DescribeRefreshTaskById (status),
//! DescribeRefreshQuota (quota, values as strings).

pub mod acs3;

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use url::Url;

use super::{Action, ApiError, Batch, Cdn, ErrorClass, Limits, ObjectKind, Plan, Quota, TaskState};
use crate::error::{Error, Result};

/// The public endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://cdn.aliyuncs.com";
/// API version.
pub const VERSION: &str = "2018-05-10";
/// URLs per RefreshObjectCaches call.
pub const REFRESH_URLS_PER_CALL: usize = 1000;
/// Directories per RefreshObjectCaches call.
pub const REFRESH_DIRS_PER_CALL: usize = 100;
/// URLs per PushObjectCache call.
pub const PUSH_URLS_PER_CALL: usize = 100;
/// Refresh and prefetch calls per second per account.
pub const CALLS_PER_SECOND: f64 = 50.0;
/// DescribeRefreshTaskById calls per second.
pub const STATUS_CALLS_PER_SECOND: f64 = 30.0;
/// Task ids per DescribeRefreshTaskById call.
pub const STATUS_IDS_PER_CALL: usize = 10;

pub use super::keys::Credentials;

/// From ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET (or the older
/// ALICLOUD_ACCESS_KEY / ALICLOUD_SECRET_KEY), with ALIBABA_CLOUD_SECURITY_TOKEN.
pub fn credentials_from_env() -> Result<Credentials> {
    Credentials::from_vars(
        &[
            (
                "ALIBABA_CLOUD_ACCESS_KEY_ID",
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            ),
            ("ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY"),
            ("ALICLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY_SECRET"),
        ],
        &["ALIBABA_CLOUD_SECURITY_TOKEN", "ALICLOUD_SECURITY_TOKEN"],
        "Alibaba Cloud AccessKey",
    )
}

/// Alibaba Cloud CDN.
#[derive(Debug)]
pub struct Aliyun {
    http: reqwest::Client,
    endpoint: Url,
    creds: Credentials,
    /// Prefetch region (`domestic`, `overseas`, `global`); None lets the service choose.
    pub area: Option<String>,
    /// Prefetch to L2 nodes only.
    pub l2_preload: bool,
}

static NONCE: AtomicU64 = AtomicU64::new(0);

/// A fresh nonce: time, process and a counter, hashed.
fn nonce() -> String {
    let n = NONCE.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    acs3::sha256(format!("{t}-{}-{n}", std::process::id()).as_bytes())[..32].to_string()
}

impl Aliyun {
    /// A client for `endpoint` (default cdn.aliyuncs.com).
    pub fn new(
        endpoint: Option<&str>,
        timeouts: crate::util::net::Timeouts,
        creds: Credentials,
    ) -> Result<Self> {
        let (endpoint, http) = super::api_client(endpoint, DEFAULT_ENDPOINT, timeouts)?;
        Ok(Aliyun {
            http,
            endpoint,
            creds,
            area: None,
            l2_preload: false,
        })
    }

    /// The API's address.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    fn host(&self) -> String {
        super::urls::host_port(&self.endpoint).unwrap_or_default()
    }

    /// One signed RPC call with form parameters; the JSON answer or the provider's error.
    pub async fn call(&self, action: &str, params: &[(&str, &str)]) -> Result<Value, ApiError> {
        let body = acs3::canonical_query(params);
        let body_sha = acs3::sha256(body.as_bytes());
        let date = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let (host, nonce) = (self.host(), nonce());
        let mut headers: Vec<(&str, &str)> = vec![
            ("host", &host),
            ("x-acs-action", action),
            ("x-acs-version", VERSION),
            ("x-acs-date", &date),
            ("x-acs-signature-nonce", &nonce),
            ("x-acs-content-sha256", &body_sha),
            ("content-type", "application/x-www-form-urlencoded"),
        ];
        if let Some(t) = &self.creds.token {
            headers.push(("x-acs-security-token", t));
        }
        let req = acs3::Request {
            method: "POST",
            path: "/",
            query: &[],
            headers: &headers,
            body_sha256: &body_sha,
        };
        let auth = acs3::authorization(&req, &self.creds.id, &self.creds.secret);
        let mut builder = self.http.post(self.endpoint.clone());
        for (k, v) in headers.iter().filter(|(k, _)| *k != "host") {
            builder = builder.header(*k, *v);
        }
        let req = builder.header("authorization", auth).body(body);
        let (status, bytes) = super::exchange(req, self.endpoint.as_str(), action).await?;
        let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(json);
        }
        let code = json["Code"].as_str().unwrap_or("").to_string();
        let message = json["Message"].as_str().unwrap_or("").to_string();
        Err(classify(status.as_u16(), &code, &message, action))
    }
}

/// What an error code means for the job, with what to do.
fn classify(status: u16, code: &str, message: &str, action: &str) -> ApiError {
    let (class, hint) = match code {
        c if c.starts_with("Throttling") => (ErrorClass::Retry, "throttled; retried with backoff"),
        "ServiceUnavailable" | "InternalError" => (ErrorClass::Unsure, "transient"),
        "QuotaExceeded.Refresh" | "QuotaExceeded.Preload" | "QuotaExceeded.Push" => (
            ErrorClass::Exhausted,
            "today's quota is used up; resume tomorrow or ask Alibaba Cloud for more",
        ),
        "QuotaPerMinuteExceeded.Refresh" => (
            ErrorClass::Exhausted,
            "the per-minute refresh limit was reached; wait a minute and resume",
        ),
        "PreloadQueueFull" => (
            ErrorClass::Exhausted,
            "the prefetch queue is full; resume later",
        ),
        "SingleRequest.OverLimit" => (
            ErrorClass::Fatal,
            "too many paths in one call (the provider's limit changed?)",
        ),
        "InvalidDomain.NotFound" => (
            ErrorClass::Fatal,
            "a domain is not a CDN domain of this account: check --domain",
        ),
        "InvalidObjectPath.Malformed" => (
            ErrorClass::Fatal,
            "a URL is malformed: check the scheme and domain of each",
        ),
        "SignatureDoesNotMatch" | "IncompleteSignature" => (
            ErrorClass::Fatal,
            "the AccessKey secret is wrong: check ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        ),
        "InvalidAccessKeyId.NotFound" | "InvalidAccessKeyId.Inactive" => (
            ErrorClass::Fatal,
            "the AccessKey id is unknown or disabled: check ALIBABA_CLOUD_ACCESS_KEY_ID",
        ),
        "Forbidden.RAM" | "Forbidden" => (
            ErrorClass::Fatal,
            "the key may not do this: grant AliyunCDNFullAccess or the refresh/prefetch actions",
        ),
        _ if status >= 500 => (ErrorClass::Unsure, "server error"),
        _ => (ErrorClass::Fatal, ""),
    };
    ApiError::answered(status, code, message, action, class, hint)
}

/// A quota value (the API returns numbers as strings).
fn count(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

impl Cdn for Aliyun {
    fn name(&self) -> &'static str {
        "aliyun"
    }

    fn limits(&self) -> Limits {
        Limits {
            calls_per_second: CALLS_PER_SECOND,
            status_ids_per_call: STATUS_IDS_PER_CALL,
            status_calls_per_second: STATUS_CALLS_PER_SECOND,
        }
    }

    fn plan(&self, action: Action, kind: ObjectKind, urls: &[String]) -> Result<Plan> {
        let (per_call, call) = match (action, kind) {
            (Action::Purge, ObjectKind::File) => {
                (REFRESH_URLS_PER_CALL, "RefreshObjectCaches ObjectType=File")
            }
            (Action::Purge, ObjectKind::Directory) => (
                REFRESH_DIRS_PER_CALL,
                "RefreshObjectCaches ObjectType=Directory",
            ),
            (Action::Prefetch, ObjectKind::File) => (PUSH_URLS_PER_CALL, "PushObjectCache"),
            (Action::Prefetch, ObjectKind::Directory) => {
                return Err(Error::Usage(
                    "prefetch takes file URLs, not directories (drop --dir)".into(),
                ))
            }
        };
        let mut call = call.to_string();
        if action == Action::Prefetch {
            if let Some(a) = &self.area {
                call.push_str(&format!(" Area={a}"));
            }
            if self.l2_preload {
                call.push_str(" L2Preload=true");
            }
        }
        Ok(Plan {
            batches: urls
                .chunks(per_call)
                .map(|c| super::Batch {
                    call: call.clone(),
                    kind,
                    paths: c.to_vec(),
                    reference: None,
                })
                .collect(),
            notes: Vec::new(),
        })
    }

    fn has_quota(&self) -> bool {
        true
    }

    async fn quota(&self, _action: Action) -> Result<Option<Quota>, ApiError> {
        let v = self.call("DescribeRefreshQuota", &[]).await?;
        Ok(Some(Quota {
            urls: count(&v["UrlRemain"]),
            dirs: count(&v["DirRemain"]),
            prefetch: count(&v["PreloadRemain"]),
        }))
    }

    async fn submit(&self, action: Action, batch: &Batch) -> Result<Vec<String>, ApiError> {
        let paths = batch.paths.join("\n");
        let v = match action {
            Action::Purge => {
                let kind = match batch.kind {
                    ObjectKind::File => "File",
                    ObjectKind::Directory => "Directory",
                };
                self.call(
                    "RefreshObjectCaches",
                    &[("ObjectPath", &paths), ("ObjectType", kind)],
                )
                .await?
            }
            Action::Prefetch => {
                let mut params = vec![("ObjectPath", paths.as_str())];
                if let Some(a) = &self.area {
                    params.push(("Area", a));
                }
                if self.l2_preload {
                    params.push(("L2Preload", "true"));
                }
                self.call("PushObjectCache", &params).await?
            }
        };
        let field = match action {
            Action::Purge => "RefreshTaskId",
            Action::Prefetch => "PushTaskId",
        };
        let ids = match &v[field] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        Ok(ids
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect())
    }

    async fn status(&self, ids: &[String]) -> Result<Vec<(String, TaskState)>, ApiError> {
        let joined = ids.join(",");
        let v = self
            .call("DescribeRefreshTaskById", &[("TaskId", &joined)])
            .await?;
        let tasks = v["Tasks"].as_array().cloned().unwrap_or_default();
        Ok(tasks
            .iter()
            .filter_map(|t| {
                let id = match &t["TaskId"] {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                let state = match t["Status"].as_str().unwrap_or("") {
                    "Complete" => TaskState::Done,
                    "Failed" => TaskState::Failed,
                    _ => TaskState::Pending,
                };
                Some((id, state))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_are_unsure_throttling_is_not() {
        // A 5xx may come after the task was created: a submit is not retried on it.
        for (status, code) in [
            (500, "InternalError"),
            (503, "ServiceUnavailable"),
            (502, ""),
        ] {
            assert_eq!(
                classify(status, code, "", "X").class,
                ErrorClass::Unsure,
                "{code}"
            );
        }
    }

    #[test]
    fn error_codes_are_classified() {
        assert_eq!(
            classify(503, "Throttling.User", "", "X").class,
            ErrorClass::Retry
        );
        assert_eq!(
            classify(400, "QuotaExceeded.Refresh", "", "X").class,
            ErrorClass::Exhausted
        );
        let e = classify(
            400,
            "SignatureDoesNotMatch",
            "Specified signature is not matched",
            "RefreshObjectCaches",
        );
        assert_eq!(e.class, ErrorClass::Fatal);
        assert!(
            e.to_string().contains("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
            "{e}"
        );
        assert_eq!(classify(502, "", "", "X").code, "HTTP502");
        assert_eq!(count(&Value::String("9990".into())), Some(9990));
    }

    #[test]
    fn batches_follow_the_documented_limits() {
        let a = Aliyun::new(
            None,
            Default::default(),
            Credentials {
                id: "i".into(),
                secret: "s".into(),
                token: None,
            },
        )
        .unwrap();
        let urls: Vec<String> = (0..2500).map(|i| format!("https://c/{i}")).collect();
        let sizes = |p: Plan| p.batches.iter().map(|b| b.paths.len()).collect::<Vec<_>>();
        assert_eq!(
            sizes(a.plan(Action::Purge, ObjectKind::File, &urls).unwrap()),
            [1000, 1000, 500]
        );
        assert_eq!(
            sizes(
                a.plan(Action::Purge, ObjectKind::Directory, &urls[..250])
                    .unwrap()
            ),
            [100, 100, 50]
        );
        assert_eq!(
            sizes(
                a.plan(Action::Prefetch, ObjectKind::File, &urls[..250])
                    .unwrap()
            ),
            [100, 100, 50]
        );
        assert!(a
            .plan(Action::Prefetch, ObjectKind::Directory, &urls)
            .is_err());
    }
}
