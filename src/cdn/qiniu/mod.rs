//! Qiniu CDN (fusion.qiniuapi.com): `/v2/tune/refresh` (purge, `urls` or `dirs`),
//! `/v2/tune/prefetch`, and their `/list` calls (status, by the request id each submit returns),
//! with Qiniu's management token (`QBox AK:sign`, HMAC-SHA1 of the path and a newline; a JSON
//! body is not signed). Qiniu has no quota query: each answer carries what is left
//! (`urlSurplusDay`, `dirSurplusDay`, `surplusDay`), so a job stops (with its remainder file)
//! as soon as an answer says the rest will not fit, and an exhausted quota (400034, 400033…)
//! met anyway stops it the same way.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha1::Sha1;
use url::Url;

use super::{
    Action, ApiError, Batch, Cdn, ErrorClass, Limits, ObjectKind, Plan, Quota, TaskBook, TaskState,
};
use crate::error::Result;

/// The public endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://fusion.qiniuapi.com";
/// URLs per refresh or prefetch call.
pub const URLS_PER_CALL: usize = 60;
/// Directories per refresh call.
pub const DIRS_PER_CALL: usize = 10;
/// Calls a second: Qiniu allows 240 URLs and directories a second across refresh and
/// prefetch, four full calls.
pub const CALLS_PER_SECOND: f64 = 4.0;

/// From QINIU_ACCESS_KEY / QINIU_SECRET_KEY (the SDKs' examples' variables).
pub fn credentials_from_env() -> Result<super::keys::Credentials> {
    super::keys::Credentials::from_vars(
        &[("QINIU_ACCESS_KEY", "QINIU_SECRET_KEY")],
        &[],
        "Qiniu AccessKey",
    )
}

/// The management token for a request: `AK:urlsafe_base64(hmac_sha1(SK, path[?query]\n[body]))`,
/// the body signed only when it is a form.
pub fn access_token(ak: &str, sk: &str, path_and_query: &str, form_body: Option<&[u8]>) -> String {
    let mut data = format!("{path_and_query}\n").into_bytes();
    if let Some(body) = form_body {
        data.extend_from_slice(body);
    }
    let mut mac = match Hmac::<Sha1>::new_from_slice(sk.as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(&data);
    let sign = base64::engine::general_purpose::URL_SAFE.encode(mac.finalize().into_bytes());
    format!("{ak}:{sign}")
}

/// Qiniu CDN.
#[derive(Debug)]
pub struct Qiniu {
    http: reqwest::Client,
    endpoint: Url,
    creds: super::keys::Credentials,
    tasks: TaskBook,
    left: std::sync::Mutex<Option<Quota>>,
}

impl Qiniu {
    /// A client for `endpoint` (default fusion.qiniuapi.com).
    pub fn new(
        endpoint: Option<&str>,
        timeouts: crate::util::net::Timeouts,
        creds: super::keys::Credentials,
    ) -> Result<Self> {
        let (endpoint, http) = super::api_client(endpoint, DEFAULT_ENDPOINT, timeouts)?;
        Ok(Qiniu {
            http,
            endpoint,
            creds,
            tasks: TaskBook::default(),
            left: std::sync::Mutex::new(None),
        })
    }

    /// One signed JSON call to `path`; the answer, or the provider's error.
    pub async fn call(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        let url = format!("{}{path}", self.endpoint.as_str().trim_end_matches('/'));
        let token = access_token(&self.creds.id, &self.creds.secret, path, None);
        let req = self
            .http
            .post(&url)
            .header("authorization", format!("QBox {token}"))
            .header("content-type", "application/json")
            .body(body.to_string());
        let (status, bytes) = super::exchange(req, &url, path).await?;
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let code = v["code"].as_u64().unwrap_or(0);
        if status.is_success() && code == 200 {
            return Ok(v);
        }
        Err(classify(
            status.as_u16(),
            code,
            v["error"].as_str().unwrap_or(""),
            path,
        ))
    }
}

/// What an answer means for the job, with what to do.
fn classify(status: u16, code: u64, message: &str, path: &str) -> ApiError {
    use ErrorClass::*;
    let (class, hint) = match (status, code) {
        (429, _) | (_, 429) => (Retry, "rate limited; retried with backoff"),
        (_, 400033..=400035) | (_, 400038) => (
            Exhausted,
            "today's quota is used up; resume tomorrow or ask Qiniu for more",
        ),
        (401, _) | (_, 401) => (
            Fatal,
            "the token is wrong: check QINIU_ACCESS_KEY and QINIU_SECRET_KEY",
        ),
        (_, 400031) => (
            Fatal,
            "a URL is malformed: check the scheme and domain of each",
        ),
        (_, 400032) => (
            Fatal,
            "a domain is not a CDN domain of this account: check --domain",
        ),
        (_, 400036) | (_, 400037) => (
            Fatal,
            "too many paths in one call (the provider's limit changed?)",
        ),
        (s, _) if s >= 500 => (Unsure, "server error"),
        (_, c) if c >= 500_000 => (Unsure, "server error"),
        _ => (Fatal, ""),
    };
    let code = if code == 0 {
        String::new()
    } else {
        code.to_string()
    };
    ApiError::answered(status, &code, message, path, class, hint)
}

/// A task's state from the `/list` items of one request.
fn task_state(items: &[Value]) -> TaskState {
    let states: Vec<&str> = items.iter().filter_map(|i| i["state"].as_str()).collect();
    super::task_state_of(&states, &["failure"], "success")
}

impl Cdn for Qiniu {
    fn name(&self) -> &'static str {
        "qiniu"
    }

    fn limits(&self) -> Limits {
        Limits {
            calls_per_second: CALLS_PER_SECOND,
            status_ids_per_call: 1,
            status_calls_per_second: CALLS_PER_SECOND,
        }
    }

    fn plan(&self, action: Action, kind: ObjectKind, urls: &[String]) -> Result<Plan> {
        Ok(match (action, kind) {
            (Action::Purge, ObjectKind::File) => {
                super::chunks("/v2/tune/refresh urls", kind, urls, URLS_PER_CALL)
            }
            (Action::Purge, ObjectKind::Directory) => {
                super::chunks("/v2/tune/refresh dirs", kind, urls, DIRS_PER_CALL)
            }
            (Action::Prefetch, ObjectKind::File) => {
                super::chunks("/v2/tune/prefetch urls", kind, urls, URLS_PER_CALL)
            }
            (Action::Prefetch, ObjectKind::Directory) => return Err(super::no_directory_prefetch()),
        })
    }

    fn has_quota(&self) -> bool {
        false
    }

    async fn quota(&self, _action: Action) -> Result<Option<Quota>, ApiError> {
        Ok(None)
    }

    fn quota_left(&self) -> Option<Quota> {
        self.left.lock().ok().and_then(|l| *l)
    }

    async fn submit(&self, action: Action, batch: &Batch) -> Result<Vec<String>, ApiError> {
        let (path, body) = match (action, batch.kind) {
            (Action::Purge, ObjectKind::File) => ("/v2/tune/refresh", json!({"urls": batch.paths})),
            (Action::Purge, ObjectKind::Directory) => {
                ("/v2/tune/refresh", json!({"dirs": batch.paths}))
            }
            (Action::Prefetch, _) => ("/v2/tune/prefetch", json!({"urls": batch.paths})),
        };
        let v = self.call(path, &body).await?;
        if let Ok(mut left) = self.left.lock() {
            *left = Some(Quota {
                urls: v["urlSurplusDay"].as_u64(),
                dirs: v["dirSurplusDay"].as_u64(),
                prefetch: v["surplusDay"].as_u64(),
            });
        }
        let ids: Vec<String> = v["requestId"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(|s| vec![s.to_string()])
            .unwrap_or_default();
        self.tasks.record(action, &ids);
        Ok(ids)
    }

    async fn status(&self, ids: &[String]) -> Result<Vec<(String, TaskState)>, ApiError> {
        let mut out = Vec::new();
        for id in ids {
            let path = match self.tasks.action(id) {
                Action::Purge => "/v2/tune/refresh/list",
                Action::Prefetch => "/v2/tune/prefetch/list",
            };
            let v = self
                .call(path, &json!({"requestId": id, "pageSize": 100}))
                .await?;
            let items = v["items"].as_array().cloned().unwrap_or_default();
            out.push((id.clone(), task_state(&items)));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_the_published_management_token_example() {
        // Qiniu's "管理凭证" (access token) document: MY_ACCESS_KEY / MY_SECRET_KEY signing
        // the move request; HMAC-SHA1 157b1887…47843, URL-safe base64 as printed.
        assert_eq!(
            access_token(
                "MY_ACCESS_KEY",
                "MY_SECRET_KEY",
                "/move/bmV3ZG9jczpmaW5kX21hbi50eHQ=/bmV3ZG9jczpmaW5kLm1hbi50eHQ=",
                None
            ),
            "MY_ACCESS_KEY:FXsYh0wKHYPEsIAgdPD9OfjkeEM="
        );
        // A form body is signed; a different path signs differently.
        let a = access_token("a", "s", "/v2/tune/refresh", None);
        assert_ne!(a, access_token("a", "s", "/v2/tune/refresh", Some(b"x=1")));
        assert_ne!(a, access_token("a", "s", "/v2/tune/prefetch", None));
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(
            classify(400, 400034, "refresh url limit error", "/r").class,
            ErrorClass::Exhausted
        );
        assert_eq!(classify(400, 400033, "", "/p").class, ErrorClass::Exhausted);
        assert_eq!(classify(429, 0, "", "/r").class, ErrorClass::Retry);
        let e = classify(401, 0, "bad token", "/r");
        assert!(
            e.to_string().contains("QINIU_SECRET_KEY") && e.code == "HTTP401",
            "{e}"
        );
        assert_eq!(classify(503, 0, "", "/r").class, ErrorClass::Unsure);
    }

    #[test]
    fn a_request_is_done_when_every_item_is() {
        let l = |s: &[&str]| s.iter().map(|s| json!({"state": s})).collect::<Vec<_>>();
        assert_eq!(task_state(&l(&["success"])), TaskState::Done);
        assert_eq!(
            task_state(&l(&["success", "processing"])),
            TaskState::Pending
        );
        assert_eq!(task_state(&l(&["failure", "success"])), TaskState::Failed);
    }
}
