//! Tencent Cloud CDN (API 2018-06-06 on cdn.tencentcloudapi.com), signed with TC3-HMAC-SHA256:
//! PurgeUrlsCache / PurgePathCache (purge), PushUrlsCache (prefetch), DescribePurgeQuota /
//! DescribePushQuota (quota), DescribePurgeTasks / DescribePushTasks (status, one task a call).
//! Every answer is HTTP 200 with `{"Response": {...}}`; errors are `Response.Error.Code`.

pub mod tc3;

use serde_json::{json, Value};
use url::Url;

use super::{
    Action, ApiError, Batch, Cdn, DirMode, ErrorClass, Limits, ObjectKind, Plan, Quota, TaskBook,
    TaskState,
};
use crate::error::Result;

/// The public endpoint (cdn.intl.tencentcloudapi.com serves the international site).
pub const DEFAULT_ENDPOINT: &str = "https://cdn.tencentcloudapi.com";
/// API version.
pub const VERSION: &str = "2018-06-06";
/// EdgeOne's API.
pub const TEO_ENDPOINT: &str = "https://teo.tencentcloudapi.com";
/// EdgeOne's API version.
pub const TEO_VERSION: &str = "2022-09-01";
/// The service name in the credential scope.
const SERVICE: &str = "cdn";
/// URLs per PurgeUrlsCache call.
pub const PURGE_URLS_PER_CALL: usize = 1000;
/// Directories per PurgePathCache call.
pub const PURGE_PATHS_PER_CALL: usize = 500;
/// URLs per PushUrlsCache call.
pub const PUSH_URLS_PER_CALL: usize = 500;
/// Requests a second, each API.
pub const CALLS_PER_SECOND: f64 = 20.0;

/// From TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY (the SDKs' and tccli's variables),
/// with TENCENTCLOUD_SESSION_TOKEN.
pub fn credentials_from_env() -> Result<super::keys::Credentials> {
    super::keys::Credentials::from_vars(
        &[("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY")],
        &["TENCENTCLOUD_SESSION_TOKEN"],
        "Tencent Cloud API",
    )
}

/// Tencent Cloud CDN.
#[derive(Debug)]
pub struct Tencent {
    http: reqwest::Client,
    endpoint: Url,
    creds: super::keys::Credentials,
    tasks: TaskBook,
    /// Region of purge and prefetch (`mainland`, `overseas`, `global`); None: the domain's.
    pub area: Option<String>,
    /// Prefetch to middle-tier nodes only (`Layer=middle`).
    pub middle_layer: bool,
    /// The API's service name and version (`cdn`, 2018-06-06; EdgeOne: `teo`, 2022-09-01).
    api: (&'static str, &'static str),
    /// Directory refresh: everything (`delete`) or changed resources (`flush`).
    pub dir_mode: DirMode,
}

impl Tencent {
    /// A client for `endpoint` (default cdn.tencentcloudapi.com).
    pub fn new(
        endpoint: Option<&str>,
        timeouts: crate::util::net::Timeouts,
        creds: super::keys::Credentials,
    ) -> Result<Self> {
        let (endpoint, http) = super::api_client(endpoint, DEFAULT_ENDPOINT, timeouts)?;
        Ok(Tencent {
            http,
            endpoint,
            creds,
            tasks: TaskBook::default(),
            area: None,
            middle_layer: false,
            dir_mode: DirMode::All,
            api: (SERVICE, VERSION),
        })
    }

    /// A client of EdgeOne's API (`teo`, 2022-09-01) at `endpoint` (default
    /// teo.tencentcloudapi.com), signed the same way.
    pub fn teo(
        endpoint: Option<&str>,
        timeouts: crate::util::net::Timeouts,
        creds: super::keys::Credentials,
    ) -> Result<Self> {
        let (endpoint, _) = super::api_client(endpoint, TEO_ENDPOINT, timeouts)?;
        let mut t = Tencent::new(Some(endpoint.as_str()), timeouts, creds)?;
        t.api = ("teo", TEO_VERSION);
        Ok(t)
    }

    /// The API's address.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// One signed call; `Response` of the answer, or the provider's error.
    pub async fn call(&self, action: &str, params: &Value) -> Result<Value, ApiError> {
        let body = params.to_string();
        let host = super::urls::host_port(&self.endpoint).unwrap_or_default();
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let content_type = "application/json; charset=utf-8";
        let signed: [(&str, &str); 3] = [
            ("content-type", content_type),
            ("host", &host),
            ("x-tc-action", action),
        ];
        let req = tc3::Request {
            method: "POST",
            query: "",
            headers: &signed,
            payload: body.as_bytes(),
        };
        let auth = tc3::authorization(
            &req,
            timestamp,
            self.api.0,
            &self.creds.id,
            &self.creds.secret,
        );
        let mut builder = self
            .http
            .post(self.endpoint.clone())
            .header("content-type", content_type)
            .header("x-tc-action", action)
            .header("x-tc-version", self.api.1)
            .header("x-tc-timestamp", timestamp.to_string())
            .header("authorization", auth);
        if let Some(t) = &self.creds.token {
            builder = builder.header("x-tc-token", t);
        }
        let (status, bytes) =
            super::exchange(builder.body(body), self.endpoint.as_str(), action).await?;
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let resp = v["Response"].clone();
        match resp["Error"]["Code"].as_str() {
            None if status.is_success() && resp.is_object() => Ok(resp),
            code => Err(classify(
                status.as_u16(),
                code.unwrap_or(""),
                resp["Error"]["Message"].as_str().unwrap_or(""),
                action,
            )),
        }
    }

    fn area_param(&self, params: &mut Value) {
        if let Some(a) = &self.area {
            params["Area"] = json!(a);
        }
    }
}

/// What an error code means for the job, with what to do.
fn classify(status: u16, code: &str, message: &str, action: &str) -> ApiError {
    use ErrorClass::*;
    let (class, hint) = match code {
        c if c.starts_with("RequestLimitExceeded") => (Retry, "throttled; retried with backoff"),
        "FailedOperation.FunctionDeploying" => (
            Retry,
            "EdgeOne is still deploying the function's last change; retried with backoff",
        ),
        c if c.ends_with("ExceedDayLimit") => (
            Exhausted,
            "today's quota is used up; resume tomorrow or ask Tencent Cloud for more",
        ),
        c if c.ends_with("ExceedBatchLimit") => (
            Fatal,
            "too many paths in one call (the provider's limit changed?)",
        ),
        "AuthFailure.SignatureFailure" => (
            Fatal,
            "the signature is wrong: check TENCENTCLOUD_SECRET_KEY",
        ),
        "AuthFailure.SecretIdNotFound" | "AuthFailure.InvalidSecretId" => (
            Fatal,
            "the SecretId is unknown or disabled: check TENCENTCLOUD_SECRET_ID",
        ),
        "AuthFailure.SignatureExpire" => (
            Fatal,
            "the request time is off by more than 5 minutes: check the clock",
        ),
        c if c.starts_with("AuthFailure") || c.starts_with("UnauthorizedOperation") => (
            Fatal,
            "the key may not do this: grant QcloudCDNFullAccess or the purge/push actions",
        ),
        c if c.starts_with("ResourceNotFound.CdnHost") => (
            Fatal,
            "a domain is not a CDN domain of this account: check --domain",
        ),
        c if c.starts_with("InternalError") || c == "FailedOperation" => (Unsure, "transient"),
        _ if status >= 500 => (Unsure, "server error"),
        _ => (Fatal, ""),
    };
    ApiError::answered(status, code, message, action, class, hint)
}

/// The smallest `Available` among quota entries of `area` (all areas when None).
fn available(list: &Value, area: Option<&str>) -> Option<u64> {
    list.as_array()?
        .iter()
        .filter(|q| area.is_none_or(|a| q["Area"].as_str() == Some(a)))
        .filter_map(|q| q["Available"].as_u64())
        .min()
}

/// The state of a task from its log entries (one per URL).
fn task_state(logs: &[Value]) -> TaskState {
    let states: Vec<&str> = logs.iter().filter_map(|l| l["Status"].as_str()).collect();
    super::task_state_of(&states, &["fail", "invalid"], "done")
}

impl Cdn for Tencent {
    fn name(&self) -> &'static str {
        "tencent"
    }

    fn limits(&self) -> Limits {
        Limits {
            calls_per_second: CALLS_PER_SECOND,
            status_ids_per_call: 1,
            status_calls_per_second: CALLS_PER_SECOND,
        }
    }

    fn plan(&self, action: Action, kind: ObjectKind, urls: &[String]) -> Result<Plan> {
        let (call, per_call) = match (action, kind) {
            (Action::Purge, ObjectKind::File) => {
                ("PurgeUrlsCache".to_string(), PURGE_URLS_PER_CALL)
            }
            (Action::Purge, ObjectKind::Directory) => (
                format!("PurgePathCache FlushType={}", flush_type(self.dir_mode)),
                PURGE_PATHS_PER_CALL,
            ),
            (Action::Prefetch, ObjectKind::File) => {
                ("PushUrlsCache".to_string(), PUSH_URLS_PER_CALL)
            }
            (Action::Prefetch, ObjectKind::Directory) => return Err(super::no_directory_prefetch()),
        };
        let mut call = call;
        if let Some(a) = &self.area {
            call.push_str(&format!(" Area={a}"));
        }
        if action == Action::Prefetch && self.middle_layer {
            call.push_str(" Layer=middle");
        }
        Ok(super::chunks(&call, kind, urls, per_call))
    }

    fn has_quota(&self) -> bool {
        true
    }

    async fn quota(&self, action: Action) -> Result<Option<Quota>, ApiError> {
        let area = self.area.as_deref().filter(|a| *a != "global");
        Ok(Some(match action {
            Action::Purge => {
                let v = self.call("DescribePurgeQuota", &json!({})).await?;
                Quota {
                    urls: available(&v["UrlPurge"], area),
                    dirs: available(&v["PathPurge"], area),
                    prefetch: None,
                }
            }
            Action::Prefetch => {
                let v = self.call("DescribePushQuota", &json!({})).await?;
                Quota {
                    prefetch: available(&v["UrlPush"], area),
                    ..Quota::default()
                }
            }
        }))
    }

    async fn submit(&self, action: Action, batch: &Batch) -> Result<Vec<String>, ApiError> {
        let (api, mut params) = match (action, batch.kind) {
            (Action::Purge, ObjectKind::File) => ("PurgeUrlsCache", json!({"Urls": batch.paths})),
            (Action::Purge, ObjectKind::Directory) => (
                "PurgePathCache",
                json!({"Paths": batch.paths, "FlushType": flush_type(self.dir_mode)}),
            ),
            (Action::Prefetch, _) => {
                let mut p = json!({"Urls": batch.paths});
                if self.middle_layer {
                    p["Layer"] = json!("middle");
                }
                ("PushUrlsCache", p)
            }
        };
        self.area_param(&mut params);
        let v = self.call(api, &params).await?;
        let ids: Vec<String> = v["TaskId"]
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
            let (api, field) = match self.tasks.action(id) {
                Action::Purge => ("DescribePurgeTasks", "PurgeLogs"),
                Action::Prefetch => ("DescribePushTasks", "PushLogs"),
            };
            let v = self.call(api, &json!({"TaskId": id})).await?;
            let logs = v[field].as_array().cloned().unwrap_or_default();
            out.push((id.clone(), task_state(&logs)));
        }
        Ok(out)
    }
}

/// PurgePathCache's FlushType for a directory mode.
fn flush_type(mode: DirMode) -> &'static str {
    match mode {
        DirMode::All => "delete",
        DirMode::Changed => "flush",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_classified() {
        let c = |code| classify(200, code, "", "PurgeUrlsCache").class;
        assert_eq!(c("RequestLimitExceeded"), ErrorClass::Retry);
        assert_eq!(
            c("LimitExceeded.CdnPurgeUrlExceedDayLimit"),
            ErrorClass::Exhausted
        );
        assert_eq!(
            c("LimitExceeded.CdnPushExceedDayLimit"),
            ErrorClass::Exhausted
        );
        assert_eq!(
            c("LimitExceeded.CdnPurgeUrlExceedBatchLimit"),
            ErrorClass::Fatal
        );
        assert_eq!(c("InternalError.CdnSystemError"), ErrorClass::Unsure);
        let e = classify(200, "AuthFailure.SignatureFailure", "bad", "PurgeUrlsCache");
        assert!(e.to_string().contains("TENCENTCLOUD_SECRET_KEY"), "{e}");
    }

    #[test]
    fn quota_is_the_smallest_available_of_the_areas_asked() {
        let list = json!([
            {"Type": "url", "Total": 10000, "Available": 9000, "Batch": 1000, "Area": "mainland"},
            {"Type": "url", "Total": 10000, "Available": 4000, "Batch": 1000, "Area": "overseas"},
        ]);
        assert_eq!(available(&list, None), Some(4000));
        assert_eq!(available(&list, Some("mainland")), Some(9000));
        assert_eq!(available(&json!(null), None), None);
    }

    #[test]
    fn a_task_is_done_when_every_url_is() {
        let l = |s: &[&str]| s.iter().map(|s| json!({"Status": s})).collect::<Vec<_>>();
        assert_eq!(task_state(&l(&["done", "done"])), TaskState::Done);
        assert_eq!(task_state(&l(&["done", "process"])), TaskState::Pending);
        assert_eq!(task_state(&l(&["fail", "process"])), TaskState::Failed);
        assert_eq!(task_state(&[]), TaskState::Pending);
    }
}
