//! Huawei Cloud CDN (cdn.myhuaweicloud.com, a global service): CreateRefreshTasks (purge,
//! files or directories, directory mode `all` or `detect_modify_refresh`), CreatePreheatingTasks
//! (prefetch), ShowHistoryTaskDetails (status), ShowQuota (quota), signed with the API
//! gateway's AK/SK scheme SDK-HMAC-SHA256:
//!
//! ```text
//! CanonicalRequest = METHOD \n URI ending in / \n Query \n CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
//! StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(sha256(CanonicalRequest))
//! Signature        = hex(hmac_sha256(SK, StringToSign))
//! ```

use serde_json::{json, Value};
use url::Url;

use super::canonical::hmac_sha256;
use super::canonical::sha256;
use super::{
    Action, ApiError, Batch, Cdn, DirMode, ErrorClass, Limits, ObjectKind, Plan, Quota, TaskState,
};
use crate::error::Result;
use crate::site::state::hex;

/// The public endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://cdn.myhuaweicloud.com";
/// URLs per refresh or preheating task.
pub const URLS_PER_CALL: usize = 1000;
/// Directories per refresh task.
pub const DIRS_PER_CALL: usize = 100;
/// CreateRefreshTasks / CreatePreheatingTasks calls a second per tenant.
pub const CALLS_PER_SECOND: f64 = 30.0;
/// ShowHistoryTaskDetails calls a second.
pub const STATUS_CALLS_PER_SECOND: f64 = 10.0;
/// The algorithm name.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// From HUAWEICLOUD_SDK_AK / HUAWEICLOUD_SDK_SK (the SDKs' environment provider), with
/// HUAWEICLOUD_SDK_SECURITY_TOKEN for temporary keys.
pub fn credentials_from_env() -> Result<super::keys::Credentials> {
    super::keys::Credentials::from_vars(
        &[("HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK")],
        &["HUAWEICLOUD_SDK_SECURITY_TOKEN"],
        "Huawei Cloud AK/SK",
    )
}

/// RFC 3986 encoding of everything but unreserved characters.
fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, super::canonical::RFC3986).to_string()
}

/// The canonical request of the AK/SK scheme: `headers` are (name, value) pairs, names
/// lower-cased here, values trimmed (not lower-cased), all signed.
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: &[u8],
) -> (String, String) {
    let mut uri: String = path.split('/').map(encode).collect::<Vec<_>>().join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    let mut q: Vec<(String, String)> = query.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    q.sort();
    let q = q
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let (lines, names) = super::canonical::headers(
        headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
            .collect(),
    );
    (
        format!("{method}\n{uri}\n{q}\n{lines}\n{names}\n{}", sha256(body)),
        names,
    )
}

/// The string to sign for a canonical request sent at `sdk_date` (`YYYYMMDDTHHMMSSZ`).
pub fn string_to_sign(canonical: &str, sdk_date: &str) -> String {
    format!("{ALGORITHM}\n{sdk_date}\n{}", sha256(canonical.as_bytes()))
}

/// The `Authorization` value.
pub fn authorization(ak: &str, sk: &str, canonical: &str, names: &str, sdk_date: &str) -> String {
    let sig = hex(&hmac_sha256(
        sk.as_bytes(),
        string_to_sign(canonical, sdk_date).as_bytes(),
    ));
    format!("{ALGORITHM} Access={ak}, SignedHeaders={names}, Signature={sig}")
}

/// `YYYYMMDDTHHMMSSZ` now, in UTC.
fn sdk_date() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace(['-', ':'], "")
}

/// Huawei Cloud CDN.
#[derive(Debug)]
pub struct Huawei {
    http: reqwest::Client,
    endpoint: Url,
    creds: super::keys::Credentials,
    domain_id: Option<String>,
    /// Directory refresh: everything (`all`) or changed resources (`detect_modify_refresh`).
    pub dir_mode: DirMode,
}

impl Huawei {
    /// A client for `endpoint` (default cdn.myhuaweicloud.com). HUAWEICLOUD_SDK_DOMAIN_ID (the
    /// account id) is sent as X-Domain-Id when set, as the SDKs do for global services.
    pub fn new(
        endpoint: Option<&str>,
        timeouts: crate::util::net::Timeouts,
        creds: super::keys::Credentials,
    ) -> Result<Self> {
        let (endpoint, http) = super::api_client(endpoint, DEFAULT_ENDPOINT, timeouts)?;
        Ok(Huawei {
            http,
            endpoint,
            creds,
            domain_id: super::keys::var("HUAWEICLOUD_SDK_DOMAIN_ID"),
            dir_mode: DirMode::All,
        })
    }

    /// One signed call; the JSON answer, or the provider's error.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let host = super::urls::host_port(&self.endpoint).unwrap_or_default();
        let body = body.map(Value::to_string).unwrap_or_default();
        let date = sdk_date();
        let mut headers: Vec<(&str, &str)> = vec![
            ("content-type", "application/json"),
            ("host", &host),
            ("x-sdk-date", &date),
        ];
        if let Some(t) = &self.creds.token {
            headers.push(("x-security-token", t));
        }
        if let Some(d) = &self.domain_id {
            headers.push(("x-domain-id", d));
        }
        let (canonical, names) = canonical_request(method, path, &[], &headers, body.as_bytes());
        let auth = authorization(
            &self.creds.id,
            &self.creds.secret,
            &canonical,
            &names,
            &date,
        );
        let url = format!("{}{path}", self.endpoint.as_str().trim_end_matches('/'));
        let mut req = match method {
            "GET" => self.http.get(&url),
            _ => self.http.post(&url).body(body),
        };
        for (k, v) in headers.iter().filter(|(k, _)| *k != "host") {
            req = req.header(*k, *v);
        }
        let (status, bytes) =
            super::exchange(req.header("authorization", auth), &url, path).await?;
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() && v.get("error").is_none() && v.get("error_code").is_none() {
            return Ok(v);
        }
        let e = if v["error"].is_object() {
            &v["error"]
        } else {
            &v
        };
        Err(classify(
            status.as_u16(),
            e["error_code"].as_str().unwrap_or(""),
            e["error_msg"].as_str().unwrap_or(""),
            path,
        ))
    }
}

/// What an error code means for the job, with what to do.
fn classify(status: u16, code: &str, message: &str, path: &str) -> ApiError {
    use ErrorClass::*;
    let (class, hint) = match (status, code) {
        (429, _) | (_, "APIGW.0308") => (Retry, "throttled; retried with backoff"),
        (_, "CDN.0110") => (
            Exhausted,
            "today's refresh/preheating quota is used up; resume tomorrow or ask Huawei Cloud for more",
        ),
        (_, "APIGW.0301") | (_, "CDN.0002") => (
            Fatal,
            "the AK/SK signature is wrong: check HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK",
        ),
        (_, "CDN.0004") | (_, "CDN.0021") | (_, "CDN.0020") => (
            Fatal,
            "the key may not do this: grant CDN Administrator or the refresh/preheat actions",
        ),
        (_, "CDN.0108") | (_, "CDN.0105") => (
            Fatal,
            "a domain is not a CDN domain of this account: check --domain",
        ),
        (_, "CDN.0005") => (Fatal, "too many paths in one call (the provider's limit changed?)"),
        (_, "CDN.0000") => (Unsure, "transient"),
        (s, _) if s >= 500 => (Unsure, "server error"),
        _ => (Fatal, ""),
    };
    ApiError::answered(status, code, message, path, class, hint)
}

/// What is left of quota `kind` (`file_refresh`, `dir_refresh`, `preheat`).
fn left(quotas: &Value, kind: &str) -> Option<u64> {
    quotas["quotas"]
        .as_array()?
        .iter()
        .find(|q| q["type"].as_str() == Some(kind))
        .and_then(|q| {
            Some(
                q["quota_limit"]
                    .as_u64()?
                    .saturating_sub(q["used"].as_u64()?),
            )
        })
}

/// A task's state from ShowHistoryTaskDetails.
fn task_state(v: &Value) -> TaskState {
    match v["status"].as_str() {
        Some("task_done") if v["failed"].as_u64().unwrap_or(0) > 0 => TaskState::Failed,
        Some("task_done") => TaskState::Done,
        _ => TaskState::Pending,
    }
}

impl Cdn for Huawei {
    fn name(&self) -> &'static str {
        "huawei"
    }

    fn limits(&self) -> Limits {
        Limits {
            calls_per_second: CALLS_PER_SECOND,
            status_ids_per_call: 1,
            status_calls_per_second: STATUS_CALLS_PER_SECOND,
        }
    }

    fn plan(&self, action: Action, kind: ObjectKind, urls: &[String]) -> Result<Plan> {
        let mode = match self.dir_mode {
            DirMode::All => "all",
            DirMode::Changed => "detect_modify_refresh",
        };
        Ok(match (action, kind) {
            (Action::Purge, ObjectKind::File) => {
                super::chunks("CreateRefreshTasks type=file", kind, urls, URLS_PER_CALL)
            }
            (Action::Purge, ObjectKind::Directory) => super::chunks(
                &format!("CreateRefreshTasks type=directory mode={mode}"),
                kind,
                urls,
                DIRS_PER_CALL,
            ),
            (Action::Prefetch, ObjectKind::File) => {
                super::chunks("CreatePreheatingTasks", kind, urls, URLS_PER_CALL)
            }
            (Action::Prefetch, ObjectKind::Directory) => return Err(super::no_directory_prefetch()),
        })
    }

    fn has_quota(&self) -> bool {
        true
    }

    async fn quota(&self, _action: Action) -> Result<Option<Quota>, ApiError> {
        let v = self.call("GET", "/v1.0/cdn/quota", None).await?;
        Ok(Some(Quota {
            urls: left(&v, "file_refresh"),
            dirs: left(&v, "dir_refresh"),
            prefetch: left(&v, "preheat"),
        }))
    }

    async fn submit(&self, action: Action, batch: &Batch) -> Result<Vec<String>, ApiError> {
        let (path, field, body) = match (action, batch.kind) {
            (Action::Purge, kind) => {
                let mut task = json!({"type": "file", "zh_url_encode": false, "urls": batch.paths});
                if kind == ObjectKind::Directory {
                    task["type"] = json!("directory");
                    task["mode"] = json!(match self.dir_mode {
                        DirMode::All => "all",
                        DirMode::Changed => "detect_modify_refresh",
                    });
                }
                ("/v1.0/cdn/content/refresh-tasks", "refresh_task", task)
            }
            (Action::Prefetch, _) => (
                "/v1.0/cdn/content/preheating-tasks",
                "preheating_task",
                json!({"zh_url_encode": false, "urls": batch.paths}),
            ),
        };
        let v = self
            .call("POST", path, Some(&json!({ field: body })))
            .await?;
        Ok(match &v[field] {
            Value::String(s) if !s.is_empty() => vec![s.clone()],
            Value::Number(n) => vec![n.to_string()],
            _ => Vec::new(),
        })
    }

    async fn status(&self, ids: &[String]) -> Result<Vec<(String, TaskState)>, ApiError> {
        let mut out = Vec::new();
        for id in ids {
            let path = format!("/v1.0/cdn/historytasks/{}/detail", encode(id));
            let v = self.call("GET", &path, None).await?;
            out.push((id.clone(), task_state(&v)));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The API Request Signing Guide's example: GET …/vpcs?limit=2&marker=… at 20191115T033655Z
    /// with AK QTWAOYTTINDUT2QVKYUC and the published SK.
    #[test]
    fn reproduces_the_signing_guides_example() {
        let headers = [
            ("Content-Type", "application/json"),
            ("Host", "service.region.example.com"),
            ("X-Sdk-Date", "20191115T033655Z"),
        ];
        let (canonical, names) = canonical_request(
            "GET",
            "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
            &[
                ("marker", "13551d6b-755d-4757-b956-536f674975c0"),
                ("limit", "2"),
            ],
            &headers,
            b"",
        );
        assert_eq!(names, "content-type;host;x-sdk-date");
        assert_eq!(
            sha256(canonical.as_bytes()),
            "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
        );
        assert_eq!(
            authorization(
                "QTWAOYTTINDUT2QVKYUC",
                "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc",
                &canonical,
                &names,
                "20191115T033655Z"
            ),
            "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, \
             Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
        );
        assert_eq!(sdk_date().len(), 16);
    }

    #[test]
    fn errors_quotas_and_tasks_are_read() {
        assert_eq!(
            classify(200, "CDN.0110", "", "/r").class,
            ErrorClass::Exhausted
        );
        assert_eq!(
            classify(429, "APIGW.0308", "", "/r").class,
            ErrorClass::Retry
        );
        let e = classify(
            401,
            "APIGW.0301",
            "Incorrect IAM authentication information",
            "/r",
        );
        assert!(e.to_string().contains("HUAWEICLOUD_SDK_SK"), "{e}");
        let q = json!({"quotas": [
            {"type": "file_refresh", "quota_limit": 2000, "used": 10},
            {"type": "dir_refresh", "quota_limit": 100, "used": 100},
        ]});
        assert_eq!(
            (
                left(&q, "file_refresh"),
                left(&q, "dir_refresh"),
                left(&q, "preheat")
            ),
            (Some(1990), Some(0), None)
        );
        assert_eq!(
            task_state(&json!({"status": "task_done", "failed": 0})),
            TaskState::Done
        );
        assert_eq!(
            task_state(&json!({"status": "task_done", "failed": 1})),
            TaskState::Failed
        );
        assert_eq!(
            task_state(&json!({"status": "task_inprocess"})),
            TaskState::Pending
        );
    }
}
