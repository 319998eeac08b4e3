//! A stand-in for Alibaba Cloud CDN's RPC API (2018-05-10) on 127.0.0.1:0, for tests and
//! bench/purge.sh. It checks requests as the documentation describes them:
//! - the ACS3-HMAC-SHA256 signature, computed here by its own code from the documented
//!   algorithm (checked against the published example in tests/cdn_aliyun.rs), the body digest,
//!   the version, a fresh nonce;
//! - the four actions' parameters and per-call limits (1,000 URLs / 100 directories per
//!   refresh, 100 URLs per prefetch, 10 task ids per status call), answering the real error
//!   codes (SingleRequest.OverLimit, InvalidObjectPath.Malformed, InvalidDomain.NotFound…);
//! - a daily quota (QuotaExceeded.Refresh) and a per-second call limit (Throttling).
//!
//! It records every request it accepted or refused. Stopped when the guard drops.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use sha2::{Digest, Sha256};

use super::serve::{serve, Served};

/// How the stand-in behaves.
#[derive(Debug, Clone)]
pub struct AliyunConfig {
    /// The account's AccessKey id and secret.
    pub key_id: String,
    /// Secret.
    pub secret: String,
    /// CDN domains of the account.
    pub domains: Vec<String>,
    /// Daily URL refresh quota.
    pub url_quota: u64,
    /// Daily directory refresh quota.
    pub dir_quota: u64,
    /// Daily prefetch quota.
    pub preload_quota: u64,
    /// Refresh + prefetch calls allowed per second (the documented 50).
    pub per_second: usize,
    /// DescribeRefreshTaskById calls allowed per second (the documented 30).
    pub status_per_second: usize,
    /// Answer Throttling to this many submit calls first.
    pub throttle_first: usize,
    /// After this many accepted refresh calls, answer QuotaExceeded.Refresh (quota used
    /// elsewhere meanwhile) although DescribeRefreshQuota said otherwise.
    pub exhaust_after_calls: Option<usize>,
    /// Status polls a task needs before it is Complete.
    pub polls_until_done: usize,
    /// Called with the URLs of every accepted refresh (a test's CDN drops its copies).
    pub on_refresh: Option<RefreshHook>,
}

/// A callback given the URLs of a refresh.
pub type OnRefresh = dyn Fn(&[String]) + Send + Sync;

/// What a refresh does to the test's CDN.
#[derive(Clone)]
pub struct RefreshHook(pub Arc<OnRefresh>);

impl std::fmt::Debug for RefreshHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshHook")
    }
}

impl Default for AliyunConfig {
    fn default() -> Self {
        AliyunConfig {
            key_id: "LTAI5tCdnpubTestKey0001".into(),
            secret: "cdnpubTestSecretDoNotPrint0123456789".into(),
            domains: vec!["cdn.example.com".into()],
            url_quota: 10_000,
            dir_quota: 100,
            preload_quota: 1_000,
            per_second: 50,
            status_per_second: 30,
            throttle_first: 0,
            exhaust_after_calls: None,
            polls_until_done: 0,
            on_refresh: None,
        }
    }
}

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Received {
    /// x-acs-action.
    pub action: String,
    /// Parameters (query and form body).
    pub params: BTreeMap<String, String>,
    /// The error code answered, if any.
    pub error: Option<String>,
    /// When it arrived.
    pub at: Instant,
}

#[derive(Default)]
struct State {
    used_urls: u64,
    used_dirs: u64,
    used_preload: u64,
    refresh_calls: usize,
    throttled: usize,
    submits: VecDeque<Instant>,
    statuses: VecDeque<Instant>,
    nonces: HashSet<String>,
    tasks: HashMap<String, usize>,
    next_task: u64,
    log: Vec<Received>,
}

/// A running stand-in.
pub struct AliyunServer {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Its configuration.
    pub config: AliyunConfig,
    state: Arc<Mutex<State>>,
    _served: Served,
}

impl AliyunServer {
    /// Start on 127.0.0.1 with a random port.
    pub fn start(config: AliyunConfig) -> AliyunServer {
        Self::start_on(0, config)
    }

    /// Start on 127.0.0.1:`port` (0: a random one).
    pub fn start_on(port: u16, config: AliyunConfig) -> AliyunServer {
        let state: Arc<Mutex<State>> = Arc::default();
        let (cfg, st) = (config.clone(), state.clone());
        let served = serve(port, move || {
            move |req: hyper::Request<hyper::body::Incoming>| {
                let (cfg, st) = (cfg.clone(), st.clone());
                async move { Ok::<_, std::convert::Infallible>(handle(req, &cfg, &st).await) }
            }
        });
        AliyunServer {
            endpoint: format!("http://127.0.0.1:{}", served.port),
            config,
            state,
            _served: served,
        }
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().log.clone()
    }

    /// Accepted requests of one action.
    pub fn accepted(&self, action: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.action == action && r.error.is_none())
            .collect()
    }

    /// Paths accepted by refresh or push calls, in order.
    pub fn paths(&self, action: &str) -> Vec<String> {
        self.accepted(action)
            .iter()
            .flat_map(|r| {
                r.params["ObjectPath"]
                    .split('\n')
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The variables cdnpub reads for this account.
    pub fn env(&self) -> [(&'static str, String); 2] {
        [
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", self.config.key_id.clone()),
            (
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                self.config.secret.clone(),
            ),
        ]
    }
}

type Response = hyper::Response<Full<Bytes>>;

fn json(status: u16, v: serde_json::Value) -> Response {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json;charset=utf-8")
        .body(Full::new(Bytes::from(v.to_string())))
        .unwrap()
}

fn error(status: u16, code: &str, message: &str) -> Response {
    json(
        status,
        serde_json::json!({
            "RequestId": "0000-test", "HostId": "cdn.aliyuncs.com",
            "Code": code, "Message": message,
        }),
    )
}

async fn handle(
    req: hyper::Request<hyper::body::Incoming>,
    cfg: &AliyunConfig,
    st: &Mutex<State>,
) -> Response {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let headers: BTreeMap<String, String> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let query = parts.uri.query().unwrap_or("").to_string();
    let mut params: BTreeMap<String, String> = form_decode(&query);
    let form = headers
        .get("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if form {
        params.extend(form_decode(std::str::from_utf8(&body).unwrap_or("")));
    }
    let action = headers.get("x-acs-action").cloned().unwrap_or_default();
    let (status, resp, code) = match check(&parts, &headers, &query, &body, cfg, st) {
        Err((s, c, m)) => (s, error(s, &c, &m), Some(c)),
        Ok(()) => match act(&action, &params, cfg, st) {
            Ok(v) => (200, json(200, v), None),
            Err((s, c, m)) => (s, error(s, &c, &m), Some(c)),
        },
    };
    let _ = status;
    st.lock().unwrap().log.push(Received {
        action,
        params,
        error: code,
        at: Instant::now(),
    });
    resp
}

type Refusal = (u16, String, String);

fn refuse(status: u16, code: &str, message: impl Into<String>) -> Refusal {
    (status, code.to_string(), message.into())
}

/// Authentication and protocol checks common to every action.
fn check(
    parts: &hyper::http::request::Parts,
    h: &BTreeMap<String, String>,
    query: &str,
    body: &[u8],
    cfg: &AliyunConfig,
    st: &Mutex<State>,
) -> Result<(), Refusal> {
    for name in [
        "x-acs-action",
        "x-acs-version",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
        "authorization",
        "host",
    ] {
        if !h.contains_key(name) {
            return Err(refuse(
                400,
                "MissingParameter",
                format!("{name} is mandatory for this action."),
            ));
        }
    }
    if h["x-acs-version"] != "2018-05-10" {
        return Err(refuse(
            400,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        ));
    }
    let date = humantime::parse_rfc3339(&h["x-acs-date"]).map_err(|_| {
        refuse(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        )
    })?;
    let skew = std::time::SystemTime::now()
        .duration_since(date)
        .unwrap_or_else(|e| e.duration());
    if skew > Duration::from_secs(15 * 60) {
        return Err(refuse(
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    if hex(&Sha256::digest(body)) != h["x-acs-content-sha256"] {
        return Err(refuse(
            400,
            "IncompleteSignature",
            "The request body digest does not match x-acs-content-sha256.",
        ));
    }
    let auth = parse_authorization(&h["authorization"]).ok_or_else(|| {
        refuse(
            400,
            "IncompleteSignature",
            "The Authorization header is malformed.",
        )
    })?;
    if auth.key_id != cfg.key_id {
        return Err(refuse(
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        ));
    }
    for name in h
        .keys()
        .filter(|k| k.starts_with("x-acs-") || *k == "host" || *k == "content-type")
    {
        if !auth.signed.iter().any(|s| s == name) {
            return Err(refuse(
                400,
                "IncompleteSignature",
                format!("{name} must be signed."),
            ));
        }
    }
    let expected = server_signature(
        parts.method.as_str(),
        parts.uri.path(),
        query,
        h,
        &auth.signed,
        &cfg.secret,
    );
    if expected != auth.signature {
        return Err(refuse(
            400,
            "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation.",
        ));
    }
    if !st
        .lock()
        .unwrap()
        .nonces
        .insert(h["x-acs-signature-nonce"].clone())
    {
        return Err(refuse(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    Ok(())
}

/// The parts of an ACS3 Authorization header.
pub struct Authorization {
    /// AccessKey id.
    pub key_id: String,
    /// Signed header names.
    pub signed: Vec<String>,
    /// Hex signature.
    pub signature: String,
}

/// Parse `ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…`.
pub fn parse_authorization(v: &str) -> Option<Authorization> {
    let rest = v.strip_prefix("ACS3-HMAC-SHA256 ")?;
    let mut fields = HashMap::new();
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        fields.insert(k, v);
    }
    Some(Authorization {
        key_id: fields.get("Credential")?.to_string(),
        signed: fields
            .get("SignedHeaders")?
            .split(';')
            .map(str::to_owned)
            .collect(),
        signature: fields.get("Signature")?.to_string(),
    })
}

/// The canonical request of the documented algorithm, computed independently of cdnpub's
/// signer: headers in SignedHeaders order with trimmed values, the query re-encoded and sorted,
/// the body digest from x-acs-content-sha256.
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &str,
    h: &BTreeMap<String, String>,
    signed: &[String],
) -> String {
    let mut pairs: Vec<(String, String)> = form_decode(query)
        .into_iter()
        .map(|(k, v)| (rfc3986(&k), rfc3986(&v)))
        .collect();
    pairs.sort();
    let canonical_query = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical_headers: String = signed
        .iter()
        .map(|name| format!("{name}:{}\n", h.get(name).map(|v| v.trim()).unwrap_or("")))
        .collect();
    [
        method,
        if path.is_empty() { "/" } else { path },
        &canonical_query,
        &canonical_headers,
        &signed.join(";"),
        h.get("x-acs-content-sha256")
            .map(String::as_str)
            .unwrap_or(""),
    ]
    .join("\n")
}

/// The hashed canonical request (what the published example states).
pub fn hashed_canonical_request(
    method: &str,
    query: &str,
    h: &BTreeMap<String, String>,
    signed: &[String],
) -> String {
    hex(&Sha256::digest(
        canonical_request(method, "/", query, h, signed).as_bytes(),
    ))
}

/// The signature the documented algorithm gives for a request.
pub fn server_signature(
    method: &str,
    path: &str,
    query: &str,
    h: &BTreeMap<String, String>,
    signed: &[String],
    secret: &str,
) -> String {
    let canonical = canonical_request(method, path, query, h, signed);
    let string_to_sign = format!(
        "ACS3-HMAC-SHA256\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(string_to_sign.as_bytes());
    hex(&mac.finalize().into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn rfc3986(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn form_decode(s: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(s.as_bytes())
        .into_owned()
        .collect()
}

fn window_full(q: &mut VecDeque<Instant>, limit: usize) -> bool {
    let now = Instant::now();
    while q
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
    {
        q.pop_front();
    }
    if q.len() >= limit {
        return true;
    }
    q.push_back(now);
    false
}

fn act(
    action: &str,
    p: &BTreeMap<String, String>,
    cfg: &AliyunConfig,
    st: &Mutex<State>,
) -> Result<serde_json::Value, Refusal> {
    let mut s = st.lock().unwrap();
    let throttled = || {
        refuse(
            503,
            "Throttling.User",
            "Request was denied due to user flow control.",
        )
    };
    match action {
        "RefreshObjectCaches" | "PushObjectCache" => {
            if s.throttled < cfg.throttle_first {
                s.throttled += 1;
                return Err(throttled());
            }
            if window_full(&mut s.submits, cfg.per_second) {
                return Err(throttled());
            }
        }
        "DescribeRefreshTaskById" if window_full(&mut s.statuses, cfg.status_per_second) => {
            return Err(throttled());
        }
        _ => {}
    }
    match action {
        "DescribeRefreshQuota" => Ok(serde_json::json!({
            "RequestId": "0000-test",
            "UrlQuota": cfg.url_quota.to_string(),
            "UrlRemain": (cfg.url_quota - s.used_urls).to_string(),
            "DirQuota": cfg.dir_quota.to_string(),
            "DirRemain": (cfg.dir_quota - s.used_dirs).to_string(),
            "PreloadQuota": cfg.preload_quota.to_string(),
            "PreloadRemain": (cfg.preload_quota - s.used_preload).to_string(),
            "BlockQuota": "100", "BlockRemain": "100",
            "RegexQuota": "20", "RegexRemain": "20",
        })),
        "RefreshObjectCaches" => {
            let kind = p.get("ObjectType").map(String::as_str).unwrap_or("File");
            let dir = match kind {
                "File" => false,
                "Directory" => true,
                _ => {
                    return Err(refuse(
                        400,
                        "InvalidObjectType.ValueNotSupported",
                        "ObjectType is not valid.",
                    ))
                }
            };
            let paths = object_paths(p, cfg, dir)?;
            let limit = if dir { 100 } else { 1000 };
            if paths.len() > limit {
                return Err(refuse(
                    400,
                    "SingleRequest.OverLimit",
                    format!("A maximum of {limit} paths per request."),
                ));
            }
            if cfg
                .exhaust_after_calls
                .is_some_and(|n| s.refresh_calls >= n)
            {
                return Err(refuse(
                    400,
                    "QuotaExceeded.Refresh",
                    "Your refresh quota is exceeded.",
                ));
            }
            let (used, quota) = if dir {
                (s.used_dirs, cfg.dir_quota)
            } else {
                (s.used_urls, cfg.url_quota)
            };
            if used + paths.len() as u64 > quota {
                return Err(refuse(
                    400,
                    "QuotaExceeded.Refresh",
                    "Your refresh quota is exceeded.",
                ));
            }
            if dir {
                s.used_dirs += paths.len() as u64;
            } else {
                s.used_urls += paths.len() as u64;
            }
            s.refresh_calls += 1;
            if let Some(hook) = &cfg.on_refresh {
                (hook.0)(&paths);
            }
            let id = new_task(&mut s, cfg);
            Ok(serde_json::json!({"RequestId": "0000-test", "RefreshTaskId": id}))
        }
        "PushObjectCache" => {
            let paths = object_paths(p, cfg, false)?;
            if paths.len() > 100 {
                return Err(refuse(
                    400,
                    "SingleRequest.OverLimit",
                    "A maximum of 100 URLs per request.",
                ));
            }
            if let Some(a) = p.get("Area") {
                if !["domestic", "overseas", "global"].contains(&a.as_str()) {
                    return Err(refuse(
                        400,
                        "InvalidArea.ValueNotSupported",
                        "Area is not valid.",
                    ));
                }
            }
            if let Some(l2) = p.get("L2Preload") {
                if l2 != "true" && l2 != "false" {
                    return Err(refuse(
                        400,
                        "InvalidParameter",
                        "L2Preload must be true or false.",
                    ));
                }
            }
            if s.used_preload + paths.len() as u64 > cfg.preload_quota {
                return Err(refuse(
                    400,
                    "QuotaExceeded.Preload",
                    "Your preload quota is exceeded.",
                ));
            }
            s.used_preload += paths.len() as u64;
            let id = new_task(&mut s, cfg);
            Ok(serde_json::json!({"RequestId": "0000-test", "PushTaskId": id}))
        }
        "DescribeRefreshTaskById" => {
            let ids: Vec<String> = p
                .get("TaskId")
                .ok_or_else(|| {
                    refuse(
                        400,
                        "MissingParameter",
                        "TaskId is mandatory for this action.",
                    )
                })?
                .split(',')
                .map(|t| t.trim().to_string())
                .collect();
            if ids.len() > 10 {
                return Err(refuse(
                    400,
                    "SingleRequest.OverLimit",
                    "A maximum of 10 task ids per request.",
                ));
            }
            let mut tasks = Vec::new();
            for id in &ids {
                if let Some(left) = s.tasks.get_mut(id) {
                    let status = if *left == 0 { "Complete" } else { "Refreshing" };
                    *left = left.saturating_sub(1);
                    tasks.push(serde_json::json!({
                        "TaskId": id, "Status": status, "Process": if status == "Complete" { "100%" } else { "50%" },
                        "ObjectType": "file", "CreationTime": "2026-11-25T00:00:00Z", "Description": "",
                    }));
                }
            }
            Ok(
                serde_json::json!({"RequestId": "0000-test", "TotalCount": tasks.len(), "Tasks": tasks}),
            )
        }
        _ => Err(refuse(
            404,
            "InvalidAction.NotFound",
            format!("Specified api {action} is not found."),
        )),
    }
}

fn new_task(s: &mut State, cfg: &AliyunConfig) -> String {
    s.next_task += 1;
    let id = format!("{}", 17_000_000_000u64 + s.next_task);
    s.tasks.insert(id.clone(), cfg.polls_until_done);
    id
}

/// ObjectPath split on line breaks, each an http(s) URL on one of the account's domains.
fn object_paths(
    p: &BTreeMap<String, String>,
    cfg: &AliyunConfig,
    dir: bool,
) -> Result<Vec<String>, Refusal> {
    let raw = p.get("ObjectPath").ok_or_else(|| {
        refuse(
            400,
            "MissingObjectPath",
            "ObjectPath is mandatory for this action.",
        )
    })?;
    let paths: Vec<String> = raw
        .split('\n')
        .map(|s| s.trim_end_matches('\r').to_string())
        .collect();
    for path in &paths {
        let url = url::Url::parse(path)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                refuse(
                    400,
                    "InvalidObjectPath.Malformed",
                    format!("Specified ObjectPath {path} is malformed."),
                )
            })?;
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or("")),
            None => url.host_str().unwrap_or("").to_string(),
        };
        if !cfg.domains.contains(&host) {
            return Err(refuse(
                400,
                "InvalidDomain.NotFound",
                format!("The domain {host} does not exist."),
            ));
        }
        if dir && !path.ends_with('/') {
            return Err(refuse(
                400,
                "InvalidObjectPath.Malformed",
                format!("Directory {path} must end with /."),
            ));
        }
    }
    Ok(paths)
}
