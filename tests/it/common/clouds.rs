//! Local stand-ins for five CDN APIs on 127.0.0.1:0 (tests and bench/purge.sh): Alibaba Cloud
//! CDN (RPC 2018-05-10, ACS3-HMAC-SHA256), Tencent Cloud CDN (2018-06-06, TC3-HMAC-SHA256),
//! Cloudflare (purge_cache, Bearer token), Qiniu CDN (fusion `/v2/tune/*`, QBox token) and
//! Huawei Cloud CDN (v1.0, SDK-HMAC-SHA256).
//!
//! Each dialect checks requests as its documentation describes them — the signature or token,
//! computed here by the stand-in's own code from the documented algorithm (checked against the
//! published examples in tests/it/cdn_clouds.rs), the headers, the body shape, the per-call
//! limits — and answers in its documented shapes and error codes. What the providers share is
//! one core: the account's domains, daily quotas, per-second limits on submits and on status
//! calls, forced throttling or quota exhaustion, tasks that finish after N polls, a hook run on
//! every accepted purge, and a log of every request.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::serve::{serve, Served};

/// Which provider's API the stand-in speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Alibaba Cloud CDN.
    Aliyun,
    /// Tencent Cloud CDN.
    Tencent,
    /// Cloudflare.
    Cloudflare,
    /// Qiniu CDN.
    Qiniu,
    /// Huawei Cloud CDN.
    Huawei,
}

impl Dialect {
    /// cdnpub's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Aliyun => "aliyun",
            Dialect::Tencent => "tencent",
            Dialect::Cloudflare => "cloudflare",
            Dialect::Qiniu => "qiniu",
            Dialect::Huawei => "huawei",
        }
    }

    /// Documented per-call limits: (URLs per purge, directories per purge, URLs per prefetch).
    pub fn per_call(self) -> (usize, usize, usize) {
        match self {
            Dialect::Aliyun => (1000, 100, 100),
            Dialect::Tencent => (1000, 500, 500),
            Dialect::Cloudflare => (100, 100, 0),
            Dialect::Qiniu => (60, 10, 60),
            Dialect::Huawei => (1000, 100, 1000),
        }
    }

    /// True when the provider has a quota query cdnpub calls before a job.
    pub fn has_quota_api(self) -> bool {
        matches!(self, Dialect::Aliyun | Dialect::Tencent | Dialect::Huawei)
    }

    /// Task ids one status call takes (Alibaba's DescribeRefreshTaskById: 10, comma-separated).
    pub fn status_ids_per_call(self) -> usize {
        match self {
            Dialect::Aliyun => 10,
            _ => 1,
        }
    }

    /// True when submits return tasks to poll.
    pub fn has_tasks(self) -> bool {
        self != Dialect::Cloudflare
    }
}

/// How the stand-in behaves.
#[derive(Debug, Clone)]
pub struct CloudConfig {
    /// The API.
    pub dialect: Dialect,
    /// Key id (Cloudflare: unused).
    pub key_id: String,
    /// Secret (Cloudflare: the API token).
    pub secret: String,
    /// Cloudflare zone id.
    pub zone_id: String,
    /// CDN domains of the account.
    pub domains: Vec<String>,
    /// Daily URL purge quota.
    pub url_quota: u64,
    /// Daily directory purge quota.
    pub dir_quota: u64,
    /// Daily prefetch quota.
    pub prefetch_quota: u64,
    /// Submit calls allowed per second.
    pub per_second: usize,
    /// Status calls allowed per second.
    pub status_per_second: usize,
    /// Answer "throttled" to this many submits first.
    pub throttle_first: usize,
    /// After this many accepted submits, answer "quota exceeded".
    pub exhaust_after_calls: Option<usize>,
    /// Status polls a task needs before it is done.
    pub polls_until_done: usize,
    /// Called with the URLs of every accepted purge (a test's CDN drops its copies).
    pub on_purge: Option<PurgeHook>,
    /// Calls (`CreateFunction`, `POST /client/v4/zones/…/workers/routes`) whose first accepted
    /// request is carried out but answered 502, as when an answer is lost on the way back.
    pub lose_first_answer: Vec<String>,
}

/// A callback given the URLs of a purge.
pub type OnPurge = dyn Fn(&[String]) + Send + Sync;

/// What a purge does to the test's CDN.
#[derive(Clone)]
pub struct PurgeHook(pub Arc<OnPurge>);

impl std::fmt::Debug for PurgeHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PurgeHook")
    }
}

impl CloudConfig {
    /// Defaults for `dialect`: quotas large enough for the suites; Alibaba's documented rates
    /// (50 submits and 30 status calls a second) and its test account's 1,000 prefetches a day.
    pub fn new(dialect: Dialect) -> Self {
        let aliyun = dialect == Dialect::Aliyun;
        CloudConfig {
            dialect,
            key_id: match dialect {
                Dialect::Aliyun => "LTAI5tCdnpubTestKey0001".into(),
                Dialect::Tencent => "AKIDcdnpubTestKey0001".into(),
                Dialect::Huawei => "HPUACDNPUBTESTKEY001".into(),
                _ => "cdnpubTestAccessKey0001".into(),
            },
            secret: "cdnpubTestSecretDoNotPrint0123456789".into(),
            zone_id: "023e105f4ecef8ad9ca31a8372d0c353".into(),
            domains: vec!["cdn.example.com".into()],
            url_quota: 10_000,
            dir_quota: 100,
            prefetch_quota: if aliyun { 1_000 } else { 10_000 },
            per_second: if aliyun { 50 } else { 1000 },
            status_per_second: if aliyun { 30 } else { 1000 },
            throttle_first: 0,
            exhaust_after_calls: None,
            polls_until_done: 0,
            on_purge: None,
            lose_first_answer: Vec::new(),
        }
    }
}

/// What a request asked for, in the core's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A quota query (`purge` or `prefetch` quotas).
    Quota(&'static str),
    /// Purge files or directories.
    Purge {
        /// Directories.
        dir: bool,
        /// URLs (Cloudflare prefixes: host/path).
        paths: Vec<String>,
    },
    /// Prefetch.
    Prefetch(Vec<String>),
    /// The state of tasks (one, except Alibaba's: up to 10).
    Status(Vec<String>),
    /// Cloudflare: a Workers KV value written (namespace, key, value).
    KvPut(String, String, String),
    /// Cloudflare: a Worker uploaded (name, metadata, the main module's code).
    Script(String, Value, String),
    /// Cloudflare: a zone's Worker routes listed.
    Routes,
    /// Cloudflare: a route created (None) or updated: (id, pattern, script).
    Route(Option<String>, String, String),
    /// Tencent EdgeOne (teo 2022-09-01): an action and its parameters.
    Teo(String, Value),
    /// Alibaba: a domain's configurations of one function (DescribeCdnDomainConfigs).
    Configs(String),
    /// Alibaba: an EdgeScript rule written (BatchSetCdnDomainConfig): domain, arguments, the
    /// record it updates.
    SetRule(String, BTreeMap<String, String>, Option<u64>),
}

impl Op {
    /// `quota`, `purge-url`, `purge-dir`, `prefetch`, `status`.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Quota(_) => "quota",
            Op::Purge { dir: false, .. } => "purge-url",
            Op::Purge { dir: true, .. } => "purge-dir",
            Op::Prefetch(_) => "prefetch",
            Op::Status(_) => "status",
            Op::KvPut(..) => "kv-put",
            Op::Script(..) => "script",
            Op::Routes => "routes",
            Op::Route(..) => "route",
            Op::Teo(..) => "teo",
            Op::Configs(_) => "configs",
            Op::SetRule(..) => "set-rule",
        }
    }
}

/// Why a request was refused, in the core's terms (each dialect has its codes).
#[derive(Debug, Clone)]
pub enum Fail {
    /// Signature, token or key wrong, missing or expired (with the dialect's detail).
    Auth(&'static str, String),
    /// Too many calls.
    Throttled,
    /// More paths than one call takes.
    OverLimit(&'static str, usize),
    /// The day's quota is used up (`purge-url`, `purge-dir`, `prefetch`).
    Quota(&'static str),
    /// A URL that is not one.
    BadUrl(String),
    /// A domain not on the account.
    Domain(String),
    /// Anything else wrong with the request.
    Bad(String),
    /// No such task or route.
    NotFound(String),
    /// A parameter missing or outside its documented values, answered with the dialect's own
    /// code (Alibaba: `MissingObjectPath`, `InvalidArea.ValueNotSupported`…); elsewhere as `Bad`.
    Param(&'static str, String),
}

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The provider's call (`RefreshObjectCaches`, `PurgeUrlsCache`, `POST /v2/tune/refresh`…).
    pub api: String,
    /// `quota`, `purge-url`, `purge-dir`, `prefetch`, `status`, or `?` when it did not parse.
    pub op: String,
    /// Paths carried.
    pub paths: Vec<String>,
    /// The JSON body (Alibaba: its parameters, query and form, as an object of strings).
    pub body: Value,
    /// The error code answered, if any.
    pub error: Option<String>,
    /// When it arrived.
    pub at: Instant,
}

#[derive(Default)]
struct State {
    used: HashMap<&'static str, u64>,
    submits: usize,
    throttled: usize,
    window: VecDeque<Instant>,
    status_window: VecDeque<Instant>,
    nonces: HashSet<String>,
    tasks: HashMap<String, (usize, Vec<String>, &'static str)>,
    next_task: u64,
    /// Cloudflare: Workers KV values by (namespace, key).
    kv: BTreeMap<(String, String), String>,
    /// Cloudflare: Workers by name: (metadata, main module).
    scripts: BTreeMap<String, (Value, String)>,
    /// Cloudflare: routes (id, pattern, script).
    routes: Vec<(String, String, String)>,
    /// EdgeOne: the site's functions, bindings, rules and Edge KV.
    teo: Teo,
    /// Calls whose first answer was lost already.
    lost: HashSet<String>,
    /// EdgeScript rules by ConfigId: (domain, arguments).
    rules: BTreeMap<u64, (String, BTreeMap<String, String>)>,
    log: Vec<Received>,
}

/// An EdgeOne site as the stand-in keeps it.
#[derive(Debug, Clone, Default)]
pub struct Teo {
    /// Functions by id: (name, content, remark).
    pub functions: BTreeMap<String, (String, String, String)>,
    /// Component bindings by function id.
    pub bindings: BTreeMap<String, Value>,
    /// Trigger rules: (rule id, function id, FunctionRuleConditions).
    pub rules: Vec<(String, String, Value)>,
    /// Edge KV values by (namespace, key).
    pub kv: BTreeMap<(String, String), String>,
}

/// The stand-in's EdgeOne site.
pub const TEO_ZONE: &str = "zone-2o3h21ed8bpu";
/// Its Edge KV namespace.
pub const TEO_NAMESPACE: &str = "cdnpub-rollout";

/// A running stand-in.
pub struct CloudServer {
    /// `http://127.0.0.1:PORT` (Cloudflare: with `/client/v4`).
    pub endpoint: String,
    /// Its configuration.
    pub config: CloudConfig,
    state: Arc<Mutex<State>>,
    _served: Served,
}

type Response = hyper::Response<Full<Bytes>>;

/// The parts of a request the dialects read.
pub struct Req {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Raw query.
    pub query: String,
    /// Headers, names lower case.
    pub headers: BTreeMap<String, String>,
    /// Body.
    pub body: Vec<u8>,
}

impl Req {
    fn header(&self, name: &str) -> Result<&str, Fail> {
        self.headers
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| Fail::Auth("missing", format!("{name} is required")))
    }

    fn json(&self) -> Result<Value, Fail> {
        serde_json::from_slice(&self.body).map_err(|e| Fail::Bad(format!("body is not JSON: {e}")))
    }
}

impl CloudServer {
    /// Start on 127.0.0.1 with a random port.
    pub fn start(config: CloudConfig) -> CloudServer {
        Self::start_on(0, config)
    }

    /// Start on 127.0.0.1:`port` (0: a random one).
    pub fn start_on(port: u16, config: CloudConfig) -> CloudServer {
        let state: Arc<Mutex<State>> = Arc::default();
        let (cfg, st) = (config.clone(), state.clone());
        let served = serve(port, move || {
            move |req: hyper::Request<hyper::body::Incoming>| {
                let (cfg, st) = (cfg.clone(), st.clone());
                async move { Ok::<_, std::convert::Infallible>(handle(req, &cfg, &st).await) }
            }
        });
        let base = format!("http://127.0.0.1:{}", served.port);
        CloudServer {
            endpoint: match config.dialect {
                Dialect::Cloudflare => format!("{base}/client/v4"),
                _ => base,
            },
            config,
            state,
            _served: served,
        }
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().log.clone()
    }

    /// Accepted requests of one op kind.
    pub fn accepted(&self, op: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.op == op && r.error.is_none())
            .collect()
    }

    /// Paths of accepted requests of one op kind, in order.
    pub fn paths(&self, op: &str) -> Vec<String> {
        self.accepted(op)
            .into_iter()
            .flat_map(|r| r.paths)
            .collect()
    }

    /// The variables cdnpub reads for this account.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let (id, secret) = match self.config.dialect {
            Dialect::Aliyun => (
                "ALIBABA_CLOUD_ACCESS_KEY_ID",
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            ),
            Dialect::Tencent => ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"),
            Dialect::Qiniu => ("QINIU_ACCESS_KEY", "QINIU_SECRET_KEY"),
            Dialect::Huawei => ("HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK"),
            Dialect::Cloudflare => {
                return vec![
                    ("CLOUDFLARE_API_TOKEN", self.config.secret.clone()),
                    ("CLOUDFLARE_ZONE_ID", self.config.zone_id.clone()),
                ]
            }
        };
        vec![
            (id, self.config.key_id.clone()),
            (secret, self.config.secret.clone()),
        ]
    }

    /// EdgeOne: the site.
    pub fn teo(&self) -> Teo {
        self.state.lock().unwrap().teo.clone()
    }

    /// Cloudflare: the Workers KV values by (namespace, key).
    pub fn kv(&self) -> BTreeMap<(String, String), String> {
        self.state.lock().unwrap().kv.clone()
    }

    /// Cloudflare: the Workers by name: (metadata, main module).
    pub fn scripts(&self) -> BTreeMap<String, (Value, String)> {
        self.state.lock().unwrap().scripts.clone()
    }

    /// Cloudflare: the zone's routes (id, pattern, script).
    pub fn routes(&self) -> Vec<(String, String, String)> {
        self.state.lock().unwrap().routes.clone()
    }

    /// Cloudflare: add a route, as another tool would.
    pub fn add_route(&self, pattern: &str, script: &str) {
        let mut s = self.state.lock().unwrap();
        let id = format!("route{}", s.routes.len());
        s.routes.push((id, pattern.into(), script.into()));
    }

    /// Alibaba: the EdgeScript rules on the account, by ConfigId: (domain, arguments).
    pub fn rules(&self) -> BTreeMap<u64, (String, BTreeMap<String, String>)> {
        self.state.lock().unwrap().rules.clone()
    }

    /// The variable holding the secret.
    pub fn secret_var(&self) -> &'static str {
        match self.config.dialect {
            Dialect::Aliyun => "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            Dialect::Tencent => "TENCENTCLOUD_SECRET_KEY",
            Dialect::Qiniu => "QINIU_SECRET_KEY",
            Dialect::Huawei => "HUAWEICLOUD_SDK_SK",
            Dialect::Cloudflare => "CLOUDFLARE_API_TOKEN",
        }
    }
}

async fn handle(
    req: hyper::Request<hyper::body::Incoming>,
    cfg: &CloudConfig,
    st: &Mutex<State>,
) -> Response {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let req = Req {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: body.to_vec(),
    };
    let api = api_name(cfg.dialect, &req);
    let parsed = parse(cfg, &req, st);
    let (op, outcome) = match parsed {
        Err(f) => (None, Err(f)),
        Ok(op) => {
            let r = act(&op, cfg, st);
            (Some(op), r)
        }
    };
    let lose = outcome.is_ok()
        && cfg.lose_first_answer.contains(&api)
        && st.lock().unwrap().lost.insert(api.clone());
    let (status, answer, code) = match &outcome {
        Ok(_) if lose => (
            502,
            json!({"error": "bad gateway"}),
            Some("lost".to_string()),
        ),
        Ok(v) => (200, answer(cfg.dialect, op.as_ref(), v), None),
        Err(f) => {
            let (s, code, v) = refusal(cfg.dialect, f, op.as_ref());
            (s, v, Some(code))
        }
    };
    st.lock().unwrap().log.push(Received {
        api,
        op: op.as_ref().map_or("?", Op::kind).to_string(),
        paths: match &op {
            Some(Op::Purge { paths, .. }) | Some(Op::Prefetch(paths)) => paths.clone(),
            _ => Vec::new(),
        },
        body: match cfg.dialect {
            Dialect::Aliyun => json!(aliyun_params(&req)),
            _ => serde_json::from_slice(&req.body).unwrap_or(Value::Null),
        },
        error: code,
        at: Instant::now(),
    });
    hyper::Response::builder()
        .status(status)
        .header(
            "content-type",
            match cfg.dialect {
                Dialect::Aliyun => "application/json;charset=utf-8",
                _ => "application/json",
            },
        )
        .body(Full::new(Bytes::from(answer.to_string())))
        .unwrap()
}

fn api_name(d: Dialect, req: &Req) -> String {
    match d {
        Dialect::Tencent => req.headers.get("x-tc-action").cloned().unwrap_or_default(),
        Dialect::Aliyun => req.headers.get("x-acs-action").cloned().unwrap_or_default(),
        _ => format!("{} {}", req.method, req.path),
    }
}

// ---- the core ----

/// A task as a status call finds it: id, state (`done`/`process`), URLs, kind.
pub type TaskView = (String, &'static str, Vec<String>, &'static str);

/// What the core answers: a quota, a task id, or tasks' states.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// (left, total) per kind.
    Quota(BTreeMap<&'static str, (u64, u64)>),
    /// A new task (None for Cloudflare), and (left, total) of each daily quota after it.
    Task(Option<String>, BTreeMap<&'static str, (u64, u64)>),
    /// The tasks asked for (one, except Alibaba's).
    State(Vec<TaskView>),
    /// Cloudflare: an answer's `result`.
    Result(Value),
    /// A domain's EdgeScript rules: (ConfigId, arguments).
    Rules(Vec<(u64, BTreeMap<String, String>)>),
    /// The ConfigId of the rule written, and its domain.
    RuleSet(u64, String),
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

fn act(op: &Op, cfg: &CloudConfig, st: &Mutex<State>) -> Result<Outcome, Fail> {
    let mut s = st.lock().unwrap();
    let quota_of = |kind: &'static str| match kind {
        "purge-url" => cfg.url_quota,
        "purge-dir" => cfg.dir_quota,
        _ => cfg.prefetch_quota,
    };
    match op {
        Op::Quota(_) => {
            let mut m = BTreeMap::new();
            for k in ["purge-url", "purge-dir", "prefetch"] {
                let total = quota_of(k);
                m.insert(k, (total - s.used.get(k).copied().unwrap_or(0), total));
            }
            Ok(Outcome::Quota(m))
        }
        Op::Purge { paths, dir } => submit(cfg, &mut s, op.kind(), paths, *dir),
        Op::Prefetch(paths) => submit(cfg, &mut s, "prefetch", paths, false),
        Op::Status(ids) => {
            if window_full(&mut s.status_window, cfg.status_per_second) {
                return Err(Fail::Throttled);
            }
            let limit = cfg.dialect.status_ids_per_call();
            if ids.len() > limit {
                return Err(Fail::OverLimit("status", limit));
            }
            let mut found = Vec::new();
            for id in ids {
                let Some((left, urls, kind)) = s.tasks.get_mut(id) else {
                    // Alibaba answers the tasks it knows; the others refuse an unknown one.
                    if cfg.dialect == Dialect::Aliyun {
                        continue;
                    }
                    return Err(Fail::NotFound(format!("task {id}")));
                };
                let state = if *left == 0 { "done" } else { "process" };
                *left = left.saturating_sub(1);
                found.push((id.clone(), state, urls.clone(), *kind));
            }
            Ok(Outcome::State(found))
        }
        Op::KvPut(ns, key, value) => {
            s.kv.insert((ns.clone(), key.clone()), value.clone());
            Ok(Outcome::Result(json!({})))
        }
        Op::Script(name, meta, code) => {
            s.scripts.insert(name.clone(), (meta.clone(), code.clone()));
            Ok(Outcome::Result(
                json!({"id": name, "etag": sha256_hex(code.as_bytes()), "startup_time_ms": 1}),
            ))
        }
        Op::Routes => Ok(Outcome::Result(Value::Array(
            s.routes
                .iter()
                .map(
                    |(id, pattern, script)| json!({"id": id, "pattern": pattern, "script": script}),
                )
                .collect(),
        ))),
        Op::Route(id, pattern, script) => {
            let id = match id {
                Some(id) => {
                    let Some(r) = s.routes.iter_mut().find(|r| &r.0 == id) else {
                        return Err(Fail::NotFound(format!("route {id}")));
                    };
                    *r = (id.clone(), pattern.clone(), script.clone());
                    id.clone()
                }
                None => {
                    if s.routes.iter().any(|r| &r.1 == pattern) {
                        return Err(Fail::Bad(format!(
                            "a route with pattern {pattern} exists (10020)"
                        )));
                    }
                    let id = format!("route{}", s.routes.len());
                    s.routes.push((id.clone(), pattern.clone(), script.clone()));
                    id
                }
            };
            Ok(Outcome::Result(
                json!({"id": id, "pattern": pattern, "script": script}),
            ))
        }
        Op::Teo(action, v) => teo_act(&mut s.teo, action, v).map(Outcome::Result),
        Op::Configs(domain) => Ok(Outcome::Rules(
            s.rules
                .iter()
                .filter(|(_, (d, _))| d == domain)
                .map(|(id, (_, args))| (*id, args.clone()))
                .collect(),
        )),
        Op::SetRule(domain, args, config_id) => {
            let id = match config_id {
                Some(id) => match s.rules.get(id) {
                    Some((d, _)) if d == domain => *id,
                    _ => {
                        return Err(Fail::Param(
                            "InvalidConfigId.NotFound",
                            format!("ConfigId {id} is not a configuration of {domain}."),
                        ))
                    }
                },
                // The documents: one EdgeScript rule per domain (more only through a ticket).
                None if s.rules.values().any(|(d, _)| d == domain) => {
                    return Err(Fail::Param(
                        "EdgeScript.OverLimit",
                        format!("{domain} has an EdgeScript rule: update it with its ConfigId."),
                    ))
                }
                None => 19_571_990_000 + s.rules.len() as u64,
            };
            s.rules.insert(id, (domain.clone(), args.clone()));
            Ok(Outcome::RuleSet(id, domain.clone()))
        }
    }
}

fn submit(
    cfg: &CloudConfig,
    s: &mut State,
    kind: &'static str,
    paths: &[String],
    dir: bool,
) -> Result<Outcome, Fail> {
    if s.throttled < cfg.throttle_first {
        s.throttled += 1;
        return Err(Fail::Throttled);
    }
    if window_full(&mut s.window, cfg.per_second) {
        return Err(Fail::Throttled);
    }
    let (urls, dirs, prefetch) = cfg.dialect.per_call();
    let limit = match kind {
        "purge-url" => urls,
        "purge-dir" => dirs,
        _ => prefetch,
    };
    if paths.is_empty() {
        return Err(Fail::Bad("no paths".into()));
    }
    if paths.len() > limit {
        return Err(Fail::OverLimit(kind, limit));
    }
    for p in paths {
        check_path(cfg, p, dir)?;
    }
    let total = match kind {
        "purge-url" => cfg.url_quota,
        "purge-dir" => cfg.dir_quota,
        _ => cfg.prefetch_quota,
    };
    let used = s.used.get(kind).copied().unwrap_or(0);
    if cfg.exhaust_after_calls.is_some_and(|n| s.submits >= n) || used + paths.len() as u64 > total
    {
        return Err(Fail::Quota(kind));
    }
    *s.used.entry(kind).or_default() += paths.len() as u64;
    s.submits += 1;
    if let Some(hook) = cfg.on_purge.as_ref().filter(|_| kind != "prefetch") {
        (hook.0)(paths);
    }
    let left: BTreeMap<&'static str, (u64, u64)> = [
        ("purge-url", cfg.url_quota),
        ("purge-dir", cfg.dir_quota),
        ("prefetch", cfg.prefetch_quota),
    ]
    .into_iter()
    .map(|(k, total)| (k, (total - s.used.get(k).copied().unwrap_or(0), total)))
    .collect();
    if !cfg.dialect.has_tasks() {
        return Ok(Outcome::Task(None, left));
    }
    s.next_task += 1;
    let id = match cfg.dialect {
        Dialect::Tencent => format!(
            "{:08x}-cdnp-4ub0-test-{:012x}",
            0x1550_0000u64 + s.next_task,
            s.next_task
        ),
        Dialect::Aliyun => format!("{}", 17_000_000_000u64 + s.next_task),
        Dialect::Qiniu => format!("cdnpubreq{:016x}", s.next_task),
        _ => format!("ff8080818c{:022x}", s.next_task),
    };
    s.tasks
        .insert(id.clone(), (cfg.polls_until_done, paths.to_vec(), kind));
    Ok(Outcome::Task(Some(id), left))
}

/// A URL on one of the account's domains (Cloudflare prefixes: `host/path`).
fn check_path(cfg: &CloudConfig, p: &str, dir: bool) -> Result<(), Fail> {
    let full = if cfg.dialect == Dialect::Cloudflare && dir {
        if p.contains("://") {
            return Err(Fail::Bad(format!("prefix {p} must not contain a scheme")));
        }
        format!("https://{p}")
    } else {
        p.to_string()
    };
    let url = url::Url::parse(&full)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| Fail::BadUrl(p.to_string()))?;
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or("")),
        None => url.host_str().unwrap_or("").to_string(),
    };
    if !cfg.domains.contains(&host) {
        return Err(Fail::Domain(host));
    }
    if dir && !p.ends_with('/') {
        return Err(Fail::BadUrl(format!("directory {p} must end with /")));
    }
    Ok(())
}

// ---- shared crypto, written from the documents (not cdnpub's code) ----

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Hex SHA-256 (the published examples state the hashed canonical request).
pub fn sha256_hex(b: &[u8]) -> String {
    hex(&Sha256::digest(b))
}

fn hmac256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

/// `Key=Value` fields of an Authorization header after its algorithm, split on `,`.
fn fields(rest: &str) -> HashMap<String, String> {
    rest.split(',')
        .filter_map(|p| p.trim().split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Canonical header lines for `signed` names (values trimmed; lower-cased when `lower`).
fn header_lines(h: &BTreeMap<String, String>, signed: &[&str], lower: bool) -> String {
    signed
        .iter()
        .map(|n| {
            let v = h.get(*n).map(|v| v.trim()).unwrap_or("");
            format!(
                "{n}:{}\n",
                if lower {
                    v.to_ascii_lowercase()
                } else {
                    v.to_string()
                }
            )
        })
        .collect()
}

/// Tencent's TC3 signature of a canonical request (the document's four steps).
pub fn tc3_signature(
    canonical: &str,
    timestamp: u64,
    date: &str,
    service: &str,
    secret: &str,
) -> String {
    let sts = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let k = hmac256(format!("TC3{secret}").as_bytes(), date.as_bytes());
    let k = hmac256(&k, service.as_bytes());
    let k = hmac256(&k, b"tc3_request");
    hex(&hmac256(&k, sts.as_bytes()))
}

/// Tencent's canonical request for POST / with the signed headers.
pub fn tc3_canonical(h: &BTreeMap<String, String>, signed: &[&str], body: &[u8]) -> String {
    format!(
        "POST\n/\n\n{}\n{}\n{}",
        header_lines(h, signed, true),
        signed.join(";"),
        sha256_hex(body)
    )
}

/// Qiniu's management token signature for `path\n` (+ a form body).
pub fn qbox_sign(secret: &str, path_query: &str, form: Option<&[u8]>) -> String {
    let mut m = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(format!("{path_query}\n").as_bytes());
    if let Some(f) = form {
        m.update(f);
    }
    base64::engine::general_purpose::URL_SAFE.encode(m.finalize().into_bytes())
}

/// Huawei's canonical request (URI with a trailing /, sorted query, signed headers).
pub fn apig_canonical(
    method: &str,
    path: &str,
    query: &str,
    h: &BTreeMap<String, String>,
    signed: &[&str],
    body: &[u8],
) -> String {
    let mut uri = path.to_string();
    if !uri.ends_with('/') {
        uri.push('/');
    }
    format!(
        "{method}\n{uri}\n{}\n{}\n{}\n{}",
        sorted_query(query),
        header_lines(h, signed, false),
        signed.join(";"),
        sha256_hex(body)
    )
}

/// A query re-encoded (RFC 3986) and sorted, as Huawei's and Alibaba's canonical requests take it.
fn sorted_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .map(|(k, v)| (rfc3986(&k), rfc3986(&v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Alibaba's ACS3 canonical request: the signed headers in SignedHeaders order with trimmed
/// values, the query re-encoded and sorted, the body digest as `x-acs-content-sha256` states it.
pub fn acs3_canonical(
    method: &str,
    path: &str,
    query: &str,
    h: &BTreeMap<String, String>,
    signed: &[&str],
) -> String {
    format!(
        "{method}\n{}\n{}\n{}\n{}\n{}",
        if path.is_empty() { "/" } else { path },
        sorted_query(query),
        header_lines(h, signed, false),
        signed.join(";"),
        h.get("x-acs-content-sha256").map_or("", String::as_str)
    )
}

/// Alibaba's ACS3-HMAC-SHA256 signature of a canonical request.
pub fn acs3_signature(canonical: &str, secret: &str) -> String {
    let sts = format!("ACS3-HMAC-SHA256\n{}", sha256_hex(canonical.as_bytes()));
    hex(&hmac256(secret.as_bytes(), sts.as_bytes()))
}

/// Huawei's signature of a canonical request.
pub fn apig_signature(canonical: &str, date: &str, secret: &str) -> String {
    let sts = format!(
        "SDK-HMAC-SHA256\n{date}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    hex(&hmac256(secret.as_bytes(), sts.as_bytes()))
}

fn rfc3986(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn skew_ok(at: SystemTime, limit: Duration) -> bool {
    SystemTime::now()
        .duration_since(at)
        .unwrap_or_else(|e| e.duration())
        <= limit
}

fn strings(v: &Value, field: &str) -> Result<Vec<String>, Fail> {
    v[field]
        .as_array()
        .ok_or_else(|| Fail::Bad(format!("{field} must be an array of strings")))?
        .iter()
        .map(|s| {
            s.as_str()
                .map(str::to_owned)
                .ok_or_else(|| Fail::Bad(format!("{field} must hold strings")))
        })
        .collect()
}

// ---- the dialects: parse (with authentication), answer, refuse ----

fn parse(cfg: &CloudConfig, req: &Req, st: &Mutex<State>) -> Result<Op, Fail> {
    match cfg.dialect {
        Dialect::Aliyun => aliyun_parse(cfg, req, st),
        Dialect::Tencent => tencent_parse(cfg, req),
        Dialect::Cloudflare => cloudflare_parse(cfg, req),
        Dialect::Qiniu => qiniu_parse(cfg, req),
        Dialect::Huawei => huawei_parse(cfg, req),
    }
}

/// Alibaba's parameters: the query, then a form body's.
fn aliyun_params(req: &Req) -> BTreeMap<String, String> {
    let mut params: BTreeMap<String, String> = url::form_urlencoded::parse(req.query.as_bytes())
        .into_owned()
        .collect();
    let form = req
        .headers
        .get("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if form {
        params.extend(url::form_urlencoded::parse(&req.body).into_owned());
    }
    params
}

/// The RPC API (2018-05-10): the ACS3 signature and its headers (every `x-acs-*`, `host` and
/// `content-type` signed, the body digest, a fresh nonce, the date within 15 minutes), then the
/// four actions' parameters. `ObjectPath` holds URLs separated by line breaks, `TaskId` up to
/// 10 ids separated by commas.
fn aliyun_parse(cfg: &CloudConfig, req: &Req, st: &Mutex<State>) -> Result<Op, Fail> {
    let h = &req.headers;
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
            return Err(Fail::Auth(
                "missing",
                format!("{name} is mandatory for this action."),
            ));
        }
    }
    if h["x-acs-version"] != "2018-05-10" {
        return Err(Fail::Auth(
            "version",
            "Specified parameter Version is not valid.".into(),
        ));
    }
    let date = humantime::parse_rfc3339(&h["x-acs-date"]).map_err(|_| {
        Fail::Auth(
            "format",
            "Specified time stamp or date value is not well formatted.".into(),
        )
    })?;
    if !skew_ok(date, Duration::from_secs(15 * 60)) {
        return Err(Fail::Auth(
            "expired",
            "Specified time stamp or date value is expired.".into(),
        ));
    }
    if sha256_hex(&req.body) != h["x-acs-content-sha256"] {
        return Err(Fail::Auth(
            "incomplete",
            "The request body digest does not match x-acs-content-sha256.".into(),
        ));
    }
    let malformed = || {
        Fail::Auth(
            "incomplete",
            "The Authorization header is malformed.".into(),
        )
    };
    let f = fields(
        h["authorization"]
            .strip_prefix("ACS3-HMAC-SHA256 ")
            .ok_or_else(malformed)?,
    );
    let (Some(key_id), Some(signed_raw), Some(signature)) = (
        f.get("Credential"),
        f.get("SignedHeaders"),
        f.get("Signature"),
    ) else {
        return Err(malformed());
    };
    if *key_id != cfg.key_id {
        return Err(Fail::Auth(
            "unknown",
            "Specified access key is not found.".into(),
        ));
    }
    let signed: Vec<&str> = signed_raw.split(';').collect();
    for name in h
        .keys()
        .filter(|k| k.starts_with("x-acs-") || *k == "host" || *k == "content-type")
    {
        if !signed.contains(&name.as_str()) {
            return Err(Fail::Auth("incomplete", format!("{name} must be signed.")));
        }
    }
    let canonical = acs3_canonical(&req.method, &req.path, &req.query, h, &signed);
    if acs3_signature(&canonical, &cfg.secret) != *signature {
        return Err(Fail::Auth(
            "signature",
            "Specified signature is not matched with our calculation.".into(),
        ));
    }
    if !st
        .lock()
        .unwrap()
        .nonces
        .insert(h["x-acs-signature-nonce"].clone())
    {
        return Err(Fail::Auth(
            "nonce",
            "Specified signature nonce was used already.".into(),
        ));
    }
    let p = aliyun_params(req);
    let object_paths = || -> Result<Vec<String>, Fail> {
        let raw = p.get("ObjectPath").ok_or_else(|| {
            Fail::Param(
                "MissingObjectPath",
                "ObjectPath is mandatory for this action.".into(),
            )
        })?;
        Ok(raw
            .split('\n')
            .map(|s| s.trim_end_matches('\r').to_string())
            .collect())
    };
    match h["x-acs-action"].as_str() {
        "DescribeRefreshQuota" => Ok(Op::Quota("all")),
        "RefreshObjectCaches" => {
            let dir = match p.get("ObjectType").map_or("File", String::as_str) {
                "File" => false,
                "Directory" => true,
                _ => {
                    return Err(Fail::Param(
                        "InvalidObjectType.ValueNotSupported",
                        "ObjectType is not valid.".into(),
                    ))
                }
            };
            Ok(Op::Purge {
                dir,
                paths: object_paths()?,
            })
        }
        "PushObjectCache" => {
            let paths = object_paths()?;
            if let Some(a) = p.get("Area") {
                if !["domestic", "overseas", "global"].contains(&a.as_str()) {
                    return Err(Fail::Param(
                        "InvalidArea.ValueNotSupported",
                        "Area is not valid.".into(),
                    ));
                }
            }
            if let Some(l2) = p.get("L2Preload") {
                if l2 != "true" && l2 != "false" {
                    return Err(Fail::Param(
                        "InvalidParameter",
                        "L2Preload must be true or false.".into(),
                    ));
                }
            }
            Ok(Op::Prefetch(paths))
        }
        "DescribeRefreshTaskById" => Ok(Op::Status(
            p.get("TaskId")
                .ok_or_else(|| {
                    Fail::Param(
                        "MissingParameter",
                        "TaskId is mandatory for this action.".into(),
                    )
                })?
                .split(',')
                .map(|t| t.trim().to_string())
                .collect(),
        )),
        "DescribeCdnDomainConfigs" => {
            let domain = p.get("DomainName").cloned().unwrap_or_default();
            if !cfg.domains.contains(&domain) {
                return Err(Fail::Domain(domain));
            }
            if p.get("FunctionNames").map(String::as_str) != Some("edge_function") {
                return Err(Fail::Bad(
                    "this stand-in answers FunctionNames=edge_function".into(),
                ));
            }
            Ok(Op::Configs(domain))
        }
        "BatchSetCdnDomainConfig" => edge_rule(cfg, &p),
        other => Err(Fail::NotFound(format!(
            "Specified api {other} is not found."
        ))),
    }
}

/// BatchSetCdnDomainConfig of one `edge_function` on one domain, checked as the function table
/// documents it: `Functions` a JSON array of `{functionName, functionArgs: [{argName,
/// argValue}], ConfigId?}`, every value a string; `name` (letters and underscores), `rule`
/// (no double quote anywhere), `pri` (0-999) and `enable` (on/off) required; `pos` head/foot,
/// `brk` on/off.
fn edge_rule(cfg: &CloudConfig, p: &BTreeMap<String, String>) -> Result<Op, Fail> {
    let malformed = |why: &str| {
        Fail::Param(
            "InvalidFunctions.Malformed",
            format!("The specified Functions is incorrectly formatted: {why}."),
        )
    };
    let domain = p.get("DomainNames").cloned().unwrap_or_default();
    if !cfg.domains.contains(&domain) {
        return Err(Fail::Domain(domain));
    }
    let functions: Value =
        serde_json::from_str(p.get("Functions").ok_or_else(|| malformed("missing"))?)
            .map_err(|_| malformed("not JSON"))?;
    let [f] = functions.as_array().map(Vec::as_slice).unwrap_or_default() else {
        return Err(malformed("one function expected"));
    };
    if f["functionName"] != "edge_function" {
        return Err(malformed("functionName"));
    }
    let mut args = BTreeMap::new();
    for a in f["functionArgs"]
        .as_array()
        .ok_or_else(|| malformed("functionArgs"))?
    {
        let (Some(k), Some(v)) = (a["argName"].as_str(), a["argValue"].as_str()) else {
            return Err(malformed("argName and argValue are strings"));
        };
        if ![
            "name", "rule", "pri", "pos", "enable", "brk", "option", "grammar", "jsmode",
        ]
        .contains(&k)
        {
            return Err(malformed(&format!("unknown argName {k}")));
        }
        args.insert(k.to_string(), v.to_string());
    }
    let arg = |k: &str| args.get(k).map(String::as_str);
    let name_ok = arg("name")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_'));
    let pri_ok = arg("pri")
        .and_then(|v| v.parse::<u16>().ok())
        .is_some_and(|v| v <= 999);
    if !name_ok || !pri_ok || arg("rule").is_none_or(str::is_empty) {
        return Err(malformed("name, rule and pri"));
    }
    if arg("rule").is_some_and(|r| r.contains('"')) {
        return Err(malformed("an EdgeScript rule holds no double quote"));
    }
    for (k, allowed) in [
        ("enable", &["on", "off"][..]),
        ("pos", &["head", "foot"]),
        ("brk", &["on", "off"]),
    ] {
        if arg(k).is_some_and(|v| !allowed.contains(&v)) || (k == "enable" && arg(k).is_none()) {
            return Err(malformed(k));
        }
    }
    let config_id = match (&f["ConfigId"], &f["configId"]) {
        (Value::Null, Value::Null) => None,
        (Value::Number(n), _) | (_, Value::Number(n)) => n.as_u64(),
        _ => return Err(malformed("ConfigId is a number")),
    };
    Ok(Op::SetRule(domain, args, config_id))
}

fn tencent_parse(cfg: &CloudConfig, req: &Req) -> Result<Op, Fail> {
    if req.method != "POST" || req.path != "/" {
        return Err(Fail::Bad("API 3.0 takes POST /".into()));
    }
    if !req.header("content-type")?.starts_with("application/json") {
        return Err(Fail::Bad("Content-Type must be application/json".into()));
    }
    let service = match req.header("x-tc-version")? {
        "2018-06-06" => "cdn",
        "2022-09-01" => "teo",
        _ => {
            return Err(Fail::Bad(
                "X-TC-Version must be 2018-06-06 (cdn) or 2022-09-01 (teo)".into(),
            ))
        }
    };
    let ts: u64 = req
        .header("x-tc-timestamp")?
        .parse()
        .map_err(|_| Fail::Auth("expired", "bad X-TC-Timestamp".into()))?;
    if !skew_ok(
        SystemTime::UNIX_EPOCH + Duration::from_secs(ts),
        Duration::from_secs(300),
    ) {
        return Err(Fail::Auth("expired", "the signature expired".into()));
    }
    let auth = req.header("authorization")?;
    let rest = auth
        .strip_prefix("TC3-HMAC-SHA256 ")
        .ok_or_else(|| Fail::Auth("missing", "not TC3-HMAC-SHA256".into()))?;
    let f = fields(rest);
    let cred = f.get("Credential").cloned().unwrap_or_default();
    let parts: Vec<&str> = cred.split('/').collect();
    if parts.len() != 4 || parts[2] != service || parts[3] != "tc3_request" {
        return Err(Fail::Auth("missing", format!("bad Credential {cred}")));
    }
    if parts[0] != cfg.key_id {
        return Err(Fail::Auth("unknown", "SecretId not found".into()));
    }
    let date = humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(ts))
        .to_string()[..10]
        .to_string();
    if parts[1] != date {
        return Err(Fail::Auth(
            "signature",
            "the credential date is not the timestamp's UTC date".into(),
        ));
    }
    let signed_raw = f.get("SignedHeaders").cloned().unwrap_or_default();
    let signed: Vec<&str> = signed_raw.split(';').collect();
    for must in ["content-type", "host"] {
        if !signed.contains(&must) {
            return Err(Fail::Auth("signature", format!("{must} must be signed")));
        }
    }
    let canonical = tc3_canonical(&req.headers, &signed, &req.body);
    if tc3_signature(&canonical, ts, &date, service, &cfg.secret)
        != f.get("Signature").cloned().unwrap_or_default()
    {
        return Err(Fail::Auth("signature", "signature mismatch".into()));
    }
    let v = req.json()?;
    if service == "teo" {
        return Ok(Op::Teo(req.header("x-tc-action")?.to_string(), v));
    }
    match req.header("x-tc-action")? {
        "DescribePurgeQuota" => Ok(Op::Quota("purge")),
        "DescribePushQuota" => Ok(Op::Quota("prefetch")),
        "PurgeUrlsCache" => Ok(Op::Purge {
            dir: false,
            paths: strings(&v, "Urls")?,
        }),
        "PurgePathCache" => {
            if !matches!(v["FlushType"].as_str(), Some("flush" | "delete")) {
                return Err(Fail::Bad("FlushType must be flush or delete".into()));
            }
            Ok(Op::Purge {
                dir: true,
                paths: strings(&v, "Paths")?,
            })
        }
        "PushUrlsCache" => {
            if let Some(l) = v.get("Layer") {
                if l != "middle" {
                    return Err(Fail::Bad("Layer must be middle".into()));
                }
            }
            Ok(Op::Prefetch(strings(&v, "Urls")?))
        }
        "DescribePurgeTasks" | "DescribePushTasks" => Ok(Op::Status(vec![v["TaskId"]
            .as_str()
            .ok_or_else(|| Fail::Bad("TaskId is required".into()))?
            .to_string()])),
        other => Err(Fail::NotFound(format!("action {other}"))),
    }
}

/// The account and the Workers KV namespace of the Cloudflare stand-in.
pub const CF_ACCOUNT: &str = "01a7362d577a6c3019a474fd6f485823";
/// The namespace.
pub const CF_NAMESPACE: &str = "0f2ac74b498b48028cb68387c421e279";

fn cloudflare_parse(cfg: &CloudConfig, req: &Req) -> Result<Op, Fail> {
    let token = req
        .header("authorization")?
        .strip_prefix("Bearer ")
        .unwrap_or("");
    if token != cfg.secret {
        return Err(Fail::Auth("signature", "Authentication error".into()));
    }
    if let Some(rest) = req
        .path
        .strip_prefix(&format!("/client/v4/accounts/{CF_ACCOUNT}/"))
    {
        return cloudflare_account(req, rest);
    }
    if let Some(rest) = req
        .path
        .strip_prefix(&format!("/client/v4/zones/{}/workers/routes", cfg.zone_id))
    {
        return match (req.method.as_str(), rest.strip_prefix('/')) {
            ("GET", None) => Ok(Op::Routes),
            ("POST", None) | ("PUT", Some(_)) => {
                let v = req.json()?;
                let (Some(pattern), Some(script)) = (v["pattern"].as_str(), v["script"].as_str())
                else {
                    return Err(Fail::Bad("pattern and script are required".into()));
                };
                if req.headers.get("content-type").map(String::as_str) != Some("application/json") {
                    return Err(Fail::Bad("Content-Type: application/json".into()));
                }
                Ok(Op::Route(
                    rest.strip_prefix('/').map(str::to_string),
                    pattern.into(),
                    script.into(),
                ))
            }
            _ => Err(Fail::NotFound(req.path.clone())),
        };
    }
    let zone = req
        .path
        .strip_prefix("/client/v4/zones/")
        .and_then(|r| r.strip_suffix("/purge_cache"))
        .ok_or_else(|| Fail::NotFound(req.path.clone()))?;
    if req.method != "POST" {
        return Err(Fail::NotFound(req.path.clone()));
    }
    if zone != cfg.zone_id {
        return Err(Fail::NotFound(format!("zone {zone}")));
    }
    let v = req.json()?;
    let kinds: Vec<&str> = ["files", "prefixes", "hosts", "tags", "purge_everything"]
        .into_iter()
        .filter(|k| v.get(*k).is_some())
        .collect();
    match kinds.as_slice() {
        ["files"] => Ok(Op::Purge {
            dir: false,
            paths: strings(&v, "files")?,
        }),
        ["prefixes"] => Ok(Op::Purge {
            dir: true,
            paths: strings(&v, "prefixes")?,
        }),
        _ => Err(Fail::Bad(format!(
            "exactly one purge type expected, got {kinds:?}"
        ))),
    }
}

/// Workers KV writes (`PUT storage/kv/namespaces/{ns}/values/{key}`, the raw value as the body,
/// the key percent-encoded) and Worker uploads (`PUT workers/scripts/{name}`, multipart: a
/// `metadata` part whose `main_module` names a module part of type
/// `application/javascript+module`; a missing metadata part is error 10021).
fn cloudflare_account(req: &Req, rest: &str) -> Result<Op, Fail> {
    if req.method != "PUT" {
        return Err(Fail::NotFound(req.path.clone()));
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    if let Some(r) = rest.strip_prefix("storage/kv/namespaces/") {
        let (ns, key) = r
            .split_once("/values/")
            .ok_or_else(|| Fail::NotFound(req.path.clone()))?;
        if ns != CF_NAMESPACE {
            return Err(Fail::NotFound(format!("namespace {ns}")));
        }
        if req
            .headers
            .get("content-type")
            .is_some_and(|t| t.starts_with("multipart/"))
        {
            return Err(Fail::Bad(
                "this stand-in takes the value as the raw body".into(),
            ));
        }
        let value =
            String::from_utf8(req.body.clone()).map_err(|_| Fail::Bad("not UTF-8".into()))?;
        return Ok(Op::KvPut(ns.into(), decode(key), value));
    }
    let name = rest
        .strip_prefix("workers/scripts/")
        .ok_or_else(|| Fail::NotFound(req.path.clone()))?;
    let parts = multipart(req)?;
    let meta = parts
        .iter()
        .find(|p| p.0 == "metadata")
        .ok_or_else(|| Fail::Bad("could not read content for part metadata (10021)".into()))?;
    let meta: Value = serde_json::from_slice(&meta.2)
        .map_err(|_| Fail::Bad("metadata is not JSON (10021)".into()))?;
    let main = meta["main_module"]
        .as_str()
        .ok_or_else(|| Fail::Bad("main_module is required".into()))?;
    let module = parts
        .iter()
        .find(|p| p.0 == main)
        .ok_or_else(|| Fail::Bad(format!("no part named {main} (main_module)")))?;
    if module.1 != "application/javascript+module" {
        return Err(Fail::Bad(format!("the module part's type is {}", module.1)));
    }
    if meta["compatibility_date"].as_str().is_none() {
        return Err(Fail::Bad(
            "no compatibility_date: the Worker would run as of 2021-11-02".into(),
        ));
    }
    let code = String::from_utf8(module.2.clone()).map_err(|_| Fail::Bad("not UTF-8".into()))?;
    Ok(Op::Script(decode(name), meta, code))
}

/// The parts of a `multipart/form-data` body: (name, content type, bytes).
fn multipart(req: &Req) -> Result<Vec<(String, String, Vec<u8>)>, Fail> {
    let ct = req.headers.get("content-type").cloned().unwrap_or_default();
    let boundary = ct
        .split("boundary=")
        .nth(1)
        .filter(|_| ct.starts_with("multipart/form-data"))
        .ok_or_else(|| Fail::Bad("a Worker is uploaded as multipart/form-data".into()))?;
    let body = String::from_utf8_lossy(&req.body).into_owned();
    let mut out = Vec::new();
    for chunk in body.split(&format!("--{boundary}")).skip(1) {
        if chunk.starts_with("--") {
            break;
        }
        let (head, data) = chunk
            .split_once("\r\n\r\n")
            .ok_or_else(|| Fail::Bad("a part without headers".into()))?;
        let data = data.strip_suffix("\r\n").unwrap_or(data);
        let mut name = String::new();
        let mut kind = String::new();
        for line in head.lines() {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                name = line
                    .split("name=\"")
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .unwrap_or("")
                    .to_string();
            } else if let Some(t) = lower.strip_prefix("content-type:") {
                kind = t.trim().to_string();
            }
        }
        out.push((name, kind, data.as_bytes().to_vec()));
    }
    Ok(out)
}

/// One EdgeOne action on the stand-in's site, checked as the teo 2022-09-01 reference documents
/// it (the zone, the namespace, function names and sizes, binding and rule shapes).
fn teo_act(t: &mut Teo, action: &str, v: &Value) -> Result<Value, Fail> {
    let bad = |code: &'static str, m: &str| Fail::Param(code, m.to_string());
    if v["ZoneId"] != TEO_ZONE {
        return Err(bad(
            "ResourceUnavailable.ZoneNotFound",
            "the site does not exist",
        ));
    }
    let text = |k: &str| v[k].as_str().unwrap_or("").to_string();
    let function = |t: &Teo| -> Result<String, Fail> {
        let id = text("FunctionId");
        if t.functions.contains_key(&id) {
            Ok(id)
        } else {
            Err(bad(
                "ResourceUnavailable.FunctionNotFound",
                "no such function",
            ))
        }
    };
    match action {
        "EdgeKVPut" => {
            if v["Namespace"] != TEO_NAMESPACE {
                return Err(bad(
                    "ResourceUnavailable.NamespaceNotFound",
                    "no such namespace",
                ));
            }
            let (key, value) = (text("Key"), text("Value"));
            if key.is_empty() || key.len() > 512 || value.is_empty() || value.len() > 1 << 20 {
                return Err(bad(
                    "InvalidParameter",
                    "Key 1-512 characters, Value 1 byte to 1 MB",
                ));
            }
            t.kv.insert((TEO_NAMESPACE.into(), key), value);
            Ok(json!({}))
        }
        "DescribeFunctions" => {
            let like: Vec<String> = v["Filters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|f| f["Name"] == "name")
                .flat_map(|f| f["Values"].as_array().cloned().unwrap_or_default())
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect();
            let found: Vec<Value> = t
                .functions
                .iter()
                .filter(|(_, (name, _, _))| like.is_empty() || like.iter().any(|l| name.contains(l.as_str())))
                .map(|(id, (name, content, remark))| json!({"FunctionId": id, "ZoneId": TEO_ZONE, "Name": name, "Content": content, "Remark": remark}))
                .collect();
            Ok(json!({"TotalCount": found.len(), "Functions": found}))
        }
        "CreateFunction" | "ModifyFunction" => {
            let content = text("Content");
            if content.is_empty() || content.len() > 5 << 20 {
                return Err(bad(
                    "InvalidParameter.ContentExceedsLimit",
                    "Content is 1 byte to 5 MB",
                ));
            }
            if action == "ModifyFunction" {
                let id = function(t)?;
                let f = t.functions.get_mut(&id).unwrap_or_else(|| unreachable!());
                f.1 = content;
                return Ok(json!({}));
            }
            let name = text("Name");
            let ok = !name.is_empty()
                && name.len() <= 30
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err(bad(
                    "InvalidParameter.BadFunctionName",
                    "lowercase letters, digits and hyphens, at most 30",
                ));
            }
            if t.functions.values().any(|f| f.0 == name) {
                return Err(bad(
                    "InvalidParameter.FunctionNameConflict",
                    "the name is taken",
                ));
            }
            let id = format!("ef-{:08}", t.functions.len() + 1);
            t.functions
                .insert(id.clone(), (name, content, text("Remark")));
            Ok(json!({"FunctionId": id}))
        }
        "ModifyFunctionComponentBindings" => {
            let id = function(t)?;
            if !["bind", "bind-override", "unbind", "rebind"].contains(&text("Operation").as_str())
            {
                return Err(bad("InvalidParameter", "Operation"));
            }
            for b in v["FunctionComponentBindings"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let p = &b["KVNamespaceParameters"];
                if b["Type"] != "kv_namespace"
                    || b["VariableName"].as_str().is_none_or(str::is_empty)
                {
                    return Err(bad(
                        "InvalidParameter",
                        "a kv_namespace binding with a VariableName",
                    ));
                }
                if p["ZoneId"] != TEO_ZONE || p["Namespace"] != TEO_NAMESPACE {
                    return Err(bad(
                        "ResourceUnavailable.NamespaceNotFound",
                        "no such namespace",
                    ));
                }
            }
            t.bindings
                .insert(id, v["FunctionComponentBindings"].clone());
            Ok(json!({}))
        }
        "DescribeFunctionRules" => {
            let wanted: Vec<Value> = v["Filters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|f| f["Name"] == "function-id")
                .flat_map(|f| f["Values"].as_array().cloned().unwrap_or_default())
                .collect();
            let rules: Vec<Value> = t
                .rules
                .iter()
                .filter(|(_, f, _)| wanted.is_empty() || wanted.contains(&json!(f)))
                .map(|(id, f, c)| json!({"RuleId": id, "FunctionId": f, "TriggerType": "direct", "FunctionRuleConditions": c}))
                .collect();
            Ok(json!({"FunctionRules": rules}))
        }
        "CreateFunctionRule" => {
            let id = function(t)?;
            if v.get("TriggerType").is_some_and(|x| x != "direct") {
                return Err(bad("InvalidParameter", "this stand-in takes direct rules"));
            }
            let conditions = v["FunctionRuleConditions"].clone();
            let all_ok = conditions.as_array().is_some_and(|cs| {
                !cs.is_empty()
                    && cs.iter().all(|c| {
                        c["RuleConditions"].as_array().is_some_and(|rs| {
                            rs.iter().all(|r| {
                                ["equal", "notequal", "exist", "notexist"]
                                    .contains(&r["Operator"].as_str().unwrap_or(""))
                                    && [
                                        "filename",
                                        "extension",
                                        "host",
                                        "full_url",
                                        "url",
                                        "client_country",
                                        "query_string",
                                        "request_header",
                                        "client_ip",
                                        "request_protocol",
                                        "request_method",
                                    ]
                                    .contains(&r["Target"].as_str().unwrap_or(""))
                                    && r["Values"].is_array()
                            })
                        })
                    })
            });
            if !all_ok {
                return Err(bad("InvalidParameter", "FunctionRuleConditions"));
            }
            let rule = format!("rule-{:08}", t.rules.len() + 1);
            t.rules.push((rule.clone(), id, conditions));
            Ok(json!({"RuleId": rule}))
        }
        other => Err(Fail::NotFound(format!("action {other}"))),
    }
}

fn qiniu_parse(cfg: &CloudConfig, req: &Req) -> Result<Op, Fail> {
    let auth = req.header("authorization")?;
    let token = auth
        .strip_prefix("QBox ")
        .ok_or_else(|| Fail::Auth("missing", "bad token".into()))?;
    let (ak, sign) = token
        .split_once(':')
        .ok_or_else(|| Fail::Auth("missing", "bad token".into()))?;
    let form = req
        .headers
        .get("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let path_query = if req.query.is_empty() {
        req.path.clone()
    } else {
        format!("{}?{}", req.path, req.query)
    };
    if ak != cfg.key_id
        || qbox_sign(&cfg.secret, &path_query, form.then_some(&req.body[..])) != sign
    {
        return Err(Fail::Auth("signature", "bad token".into()));
    }
    if req.method != "POST" {
        return Err(Fail::NotFound(req.path.clone()));
    }
    let v = req.json()?;
    match req.path.as_str() {
        "/v2/tune/refresh" => {
            let urls = v
                .get("urls")
                .filter(|u| !u.is_null())
                .map(|_| strings(&v, "urls"))
                .transpose()?
                .unwrap_or_default();
            let dirs = v
                .get("dirs")
                .filter(|u| !u.is_null())
                .map(|_| strings(&v, "dirs"))
                .transpose()?
                .unwrap_or_default();
            match (urls.is_empty(), dirs.is_empty()) {
                (false, true) => Ok(Op::Purge {
                    dir: false,
                    paths: urls,
                }),
                (true, false) => Ok(Op::Purge {
                    dir: true,
                    paths: dirs,
                }),
                (true, true) => Err(Fail::Bad("urls and dirs cannot both be empty".into())),
                // Both in one call is allowed by Qiniu; cdnpub never sends it, so it is refused here.
                (false, false) => Err(Fail::Bad(
                    "the stand-in takes urls or dirs, not both".into(),
                )),
            }
        }
        "/v2/tune/prefetch" => Ok(Op::Prefetch(strings(&v, "urls")?)),
        "/v2/tune/refresh/list" | "/v2/tune/prefetch/list" => Ok(Op::Status(vec![v["requestId"]
            .as_str()
            .ok_or_else(|| Fail::Bad("requestId is required".into()))?
            .to_string()])),
        _ => Err(Fail::NotFound(req.path.clone())),
    }
}

fn huawei_parse(cfg: &CloudConfig, req: &Req) -> Result<Op, Fail> {
    let date = req.header("x-sdk-date")?.to_string();
    let at = humantime::parse_rfc3339(&format!(
        "{}-{}-{}T{}:{}:{}Z",
        date.get(0..4).unwrap_or(""),
        date.get(4..6).unwrap_or(""),
        date.get(6..8).unwrap_or(""),
        date.get(9..11).unwrap_or(""),
        date.get(11..13).unwrap_or(""),
        date.get(13..15).unwrap_or("")
    ))
    .map_err(|_| {
        Fail::Auth(
            "expired",
            format!("X-Sdk-Date {date} is not YYYYMMDDTHHMMSSZ"),
        )
    })?;
    if !skew_ok(at, Duration::from_secs(15 * 60)) {
        return Err(Fail::Auth(
            "expired",
            "the request time is more than 15 minutes off".into(),
        ));
    }
    let auth = req.header("authorization")?;
    let rest = auth
        .strip_prefix("SDK-HMAC-SHA256 ")
        .ok_or_else(|| Fail::Auth("missing", "not SDK-HMAC-SHA256".into()))?;
    let f = fields(rest);
    if f.get("Access").map(String::as_str) != Some(cfg.key_id.as_str()) {
        return Err(Fail::Auth("unknown", "the AK is not found".into()));
    }
    let signed_raw = f.get("SignedHeaders").cloned().unwrap_or_default();
    let signed: Vec<&str> = signed_raw.split(';').collect();
    if !signed.contains(&"x-sdk-date") || !signed.contains(&"host") {
        return Err(Fail::Auth(
            "signature",
            "host and x-sdk-date must be signed".into(),
        ));
    }
    let canonical = apig_canonical(
        &req.method,
        &req.path,
        &req.query,
        &req.headers,
        &signed,
        &req.body,
    );
    if apig_signature(&canonical, &date, &cfg.secret)
        != f.get("Signature").cloned().unwrap_or_default()
    {
        return Err(Fail::Auth("signature", "verify aksk signature fail".into()));
    }
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/v1.0/cdn/quota") => Ok(Op::Quota("all")),
        ("POST", "/v1.0/cdn/content/refresh-tasks") => {
            let v = req.json()?;
            let t = &v["refresh_task"];
            let dir = match t["type"].as_str().unwrap_or("file") {
                "file" => false,
                "directory" => true,
                other => return Err(Fail::Bad(format!("type {other} is not file or directory"))),
            };
            if let Some(m) = t.get("mode") {
                if !matches!(m.as_str(), Some("all" | "detect_modify_refresh")) {
                    return Err(Fail::Bad(
                        "mode must be all or detect_modify_refresh".into(),
                    ));
                }
            }
            Ok(Op::Purge {
                dir,
                paths: strings(t, "urls")?,
            })
        }
        ("POST", "/v1.0/cdn/content/preheating-tasks") => {
            let v = req.json()?;
            Ok(Op::Prefetch(strings(&v["preheating_task"], "urls")?))
        }
        ("GET", p) => match p
            .strip_prefix("/v1.0/cdn/historytasks/")
            .and_then(|r| r.strip_suffix("/detail"))
        {
            Some(id) => Ok(Op::Status(vec![id.to_string()])),
            None => Err(Fail::NotFound(p.to_string())),
        },
        (_, p) => Err(Fail::NotFound(p.to_string())),
    }
}

fn answer(d: Dialect, op: Option<&Op>, out: &Outcome) -> Value {
    let rid = "0000-cdnpub-test";
    match (d, out) {
        // Alibaba states its quotas as strings.
        (Dialect::Aliyun, Outcome::Quota(q)) => {
            let (ul, ut) = q["purge-url"];
            let (dl, dt) = q["purge-dir"];
            let (pl, pt) = q["prefetch"];
            json!({"RequestId": rid,
                   "UrlQuota": ut.to_string(), "UrlRemain": ul.to_string(),
                   "DirQuota": dt.to_string(), "DirRemain": dl.to_string(),
                   "PreloadQuota": pt.to_string(), "PreloadRemain": pl.to_string(),
                   "BlockQuota": "100", "BlockRemain": "100", "RegexQuota": "20", "RegexRemain": "20"})
        }
        (Dialect::Aliyun, Outcome::Rules(rules)) => {
            let configs: Vec<Value> = rules
                .iter()
                .map(|(id, args)| {
                    let args: Vec<Value> = args.iter().map(|(k, v)| json!({"ArgName": k, "ArgValue": v})).collect();
                    json!({"ConfigId": id.to_string(), "FunctionName": "edge_function", "Status": "success",
                           "FunctionArgs": {"FunctionArg": args}})
                })
                .collect();
            json!({"RequestId": rid, "DomainConfigs": {"DomainConfig": configs}})
        }
        (Dialect::Aliyun, Outcome::RuleSet(id, domain)) => json!({"RequestId": rid,
            "DomainConfigList": {"DomainConfigModel": [{"FunctionName": "edge_function", "DomainName": domain, "ConfigId": id}]}}),
        (Dialect::Aliyun, Outcome::Task(id, _)) => match op {
            Some(Op::Prefetch(_)) => json!({"RequestId": rid, "PushTaskId": id}),
            _ => json!({"RequestId": rid, "RefreshTaskId": id}),
        },
        (Dialect::Aliyun, Outcome::State(tasks)) => {
            let tasks: Vec<Value> = tasks
                .iter()
                .map(|(id, state, _, _)| {
                    let done = *state == "done";
                    json!({"TaskId": id, "Status": if done { "Complete" } else { "Refreshing" },
                           "Process": if done { "100%" } else { "50%" }, "ObjectType": "file",
                           "CreationTime": "2026-11-25T00:00:00Z", "Description": ""})
                })
                .collect();
            json!({"RequestId": rid, "TotalCount": tasks.len(), "Tasks": tasks})
        }
        (Dialect::Tencent, Outcome::Quota(q)) => {
            let entry = |k: &str, t: &str, batch: usize| {
                let (left, total) = q[k];
                json!([{"Type": t, "Total": total, "Available": left, "Batch": batch, "Area": "mainland"}])
            };
            match op {
                Some(Op::Quota("prefetch")) => {
                    json!({"Response": {"UrlPush": entry("prefetch", "url", 500), "RequestId": rid}})
                }
                _ => {
                    json!({"Response": {"UrlPurge": entry("purge-url", "url", 1000), "PathPurge": entry("purge-dir", "path", 500), "RequestId": rid}})
                }
            }
        }
        (Dialect::Tencent, Outcome::Result(result)) => {
            let mut r = result.clone();
            r["RequestId"] = json!(rid);
            json!({ "Response": r })
        }
        (Dialect::Tencent, Outcome::Task(id, _)) => {
            json!({"Response": {"TaskId": id, "RequestId": rid}})
        }
        (Dialect::Tencent, Outcome::State(tasks)) => {
            let (id, state, urls, kind) = &tasks[0];
            let logs: Vec<Value> = urls
                .iter()
                .map(|u| json!({"TaskId": id, "Url": u, "Status": state, "CreateTime": "2026-12-04 10:00:00", "Area": "mainland"}))
                .collect();
            let field = if *kind == "prefetch" {
                "PushLogs"
            } else {
                "PurgeLogs"
            };
            json!({"Response": {field: logs, "TotalCount": urls.len(), "RequestId": rid}})
        }
        (Dialect::Cloudflare, Outcome::Result(result)) => {
            json!({"success": true, "errors": [], "messages": [], "result": result})
        }
        (Dialect::Cloudflare, _) => {
            json!({"success": true, "errors": [], "messages": [], "result": {"id": "023e105f4ecef8ad9ca31a8372d0c353"}})
        }
        (Dialect::Qiniu, Outcome::Task(id, left)) => {
            let paths = match op {
                Some(Op::Purge { paths, .. }) | Some(Op::Prefetch(paths)) => paths.clone(),
                _ => Vec::new(),
            };
            let ids: serde_json::Map<String, Value> = paths
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    (
                        p.clone(),
                        json!(format!("{}-{i}", id.clone().unwrap_or_default())),
                    )
                })
                .collect();
            // What is left today, as each answer reports it.
            let (ul, ut) = left["purge-url"];
            let (dl, dt) = left["purge-dir"];
            let (pl, pt) = left["prefetch"];
            match op {
                Some(Op::Prefetch(_)) => {
                    json!({"code": 200, "error": "success", "requestId": id, "taskIds": ids,
                    "invalidUrls": null, "quotaDay": pt, "surplusDay": pl})
                }
                _ => {
                    json!({"code": 200, "error": "success", "requestId": id, "taskIds": ids, "invalidUrls": null,
                    "invalidDirs": null, "urlQuotaDay": ut, "urlSurplusDay": ul, "dirQuotaDay": dt, "dirSurplusDay": dl})
                }
            }
        }
        (Dialect::Qiniu, Outcome::State(tasks)) => {
            let (id, state, urls, _) = &tasks[0];
            let items: Vec<Value> = urls
                .iter()
                .map(|u| json!({"taskId": format!("{id}-x"), "url": u, "state": if *state == "done" { "success" } else { "processing" }, "progress": if *state == "done" { 100 } else { 50 }, "isDir": "no"}))
                .collect();
            json!({"code": 200, "error": "success", "requestId": id, "items": items, "pageNo": 0, "pageSize": 100, "total": urls.len()})
        }
        (Dialect::Huawei, Outcome::Quota(q)) => {
            let e = |k: &str, t: &str| {
                let (left, total) = q[k];
                json!({"quota_limit": total, "type": t, "used": total - left, "user_domain_id": "cdnpub-test"})
            };
            json!({"quotas": [e("purge-url", "file_refresh"), e("purge-dir", "dir_refresh"), e("prefetch", "preheat"), {"quota_limit": 50, "type": "domain", "used": 1}]})
        }
        (Dialect::Huawei, Outcome::Task(id, _)) => match op {
            Some(Op::Prefetch(_)) => json!({"preheating_task": id}),
            _ => json!({"refresh_task": id}),
        },
        (Dialect::Huawei, Outcome::State(tasks)) => {
            let (id, state, urls, kind) = &tasks[0];
            let done = *state == "done";
            json!({"id": id, "task_type": if *kind == "prefetch" { "preheating" } else { "refresh" },
                   "status": if done { "task_done" } else { "task_inprocess" },
                   "processing": if done { 0 } else { urls.len() }, "succeed": if done { urls.len() } else { 0 },
                   "failed": 0, "total": urls.len(), "create_time": 0, "urls": urls})
        }
        _ => json!({}),
    }
}

/// (HTTP status, error code, body) for a refusal, in the dialect's documented shape.
fn refusal(d: Dialect, f: &Fail, op: Option<&Op>) -> (u16, String, Value) {
    let _ = op;
    match d {
        Dialect::Aliyun => {
            let (status, code, msg): (u16, &str, String) = match f {
                Fail::Auth("missing", m) => (400, "MissingParameter", m.clone()),
                Fail::Auth("version", m) => (400, "InvalidVersion", m.clone()),
                Fail::Auth("format", m) => (400, "InvalidTimeStamp.Format", m.clone()),
                Fail::Auth("expired", m) => (400, "InvalidTimeStamp.Expired", m.clone()),
                Fail::Auth("incomplete", m) => (400, "IncompleteSignature", m.clone()),
                Fail::Auth("unknown", m) => (404, "InvalidAccessKeyId.NotFound", m.clone()),
                Fail::Auth("nonce", m) => (400, "SignatureNonceUsed", m.clone()),
                Fail::Auth(_, m) => (400, "SignatureDoesNotMatch", m.clone()),
                Fail::Throttled => (
                    503,
                    "Throttling.User",
                    "Request was denied due to user flow control.".into(),
                ),
                Fail::OverLimit(kind, n) => (
                    400,
                    "SingleRequest.OverLimit",
                    match *kind {
                        "prefetch" => format!("A maximum of {n} URLs per request."),
                        "status" => format!("A maximum of {n} task ids per request."),
                        _ => format!("A maximum of {n} paths per request."),
                    },
                ),
                Fail::Quota("prefetch") => (
                    400,
                    "QuotaExceeded.Preload",
                    "Your preload quota is exceeded.".into(),
                ),
                Fail::Quota(_) => (
                    400,
                    "QuotaExceeded.Refresh",
                    "Your refresh quota is exceeded.".into(),
                ),
                Fail::BadUrl(p) => (
                    400,
                    "InvalidObjectPath.Malformed",
                    format!("Specified ObjectPath is malformed: {p}."),
                ),
                Fail::Domain(host) => (
                    400,
                    "InvalidDomain.NotFound",
                    format!("The domain {host} does not exist."),
                ),
                Fail::Param(code, m) => (400, code, m.clone()),
                Fail::Bad(m) => (400, "InvalidParameter", m.clone()),
                Fail::NotFound(m) => (404, "InvalidAction.NotFound", m.clone()),
            };
            (
                status,
                code.to_string(),
                json!({"RequestId": "0000-cdnpub-test", "HostId": "cdn.aliyuncs.com", "Code": code, "Message": msg}),
            )
        }
        Dialect::Tencent => {
            let (code, msg): (String, String) = match f {
                Fail::Auth("unknown", m) => ("AuthFailure.SecretIdNotFound".into(), m.clone()),
                Fail::Auth("expired", m) => ("AuthFailure.SignatureExpire".into(), m.clone()),
                Fail::Auth("missing", m) => ("AuthFailure.InvalidAuthorization".into(), m.clone()),
                Fail::Auth(_, m) => ("AuthFailure.SignatureFailure".into(), m.clone()),
                Fail::Throttled => (
                    "RequestLimitExceeded".into(),
                    "The number of requests exceeds the frequency limit.".into(),
                ),
                Fail::OverLimit(k, n) => (
                    match *k {
                        "purge-url" => "LimitExceeded.CdnPurgeUrlExceedBatchLimit",
                        "purge-dir" => "LimitExceeded.CdnPurgePathExceedBatchLimit",
                        _ => "LimitExceeded.CdnPushExceedBatchLimit",
                    }
                    .into(),
                    format!("at most {n} per request"),
                ),
                Fail::Quota(k) => (
                    match *k {
                        "purge-url" => "LimitExceeded.CdnPurgeUrlExceedDayLimit",
                        "purge-dir" => "LimitExceeded.CdnPurgePathExceedDayLimit",
                        _ => "LimitExceeded.CdnPushExceedDayLimit",
                    }
                    .into(),
                    "the daily quota is used up".into(),
                ),
                Fail::BadUrl(u) => (
                    "InvalidParameter.CdnParamError".into(),
                    format!("invalid URL {u}"),
                ),
                Fail::Domain(h) => (
                    "ResourceNotFound.CdnHostNotExists".into(),
                    format!("domain {h} does not exist"),
                ),
                Fail::Bad(m) => ("InvalidParameter".into(), m.clone()),
                Fail::Param(code, m) => (code.to_string(), m.clone()),
                Fail::NotFound(m) => ("InvalidAction".into(), m.clone()),
            };
            (
                200,
                code.clone(),
                json!({"Response": {"Error": {"Code": code, "Message": msg}, "RequestId": "0000-cdnpub-test"}}),
            )
        }
        Dialect::Cloudflare => {
            let (status, code, msg): (u16, u64, String) = match f {
                Fail::Auth(_, m) => (403, 10000, m.clone()),
                Fail::Throttled => (
                    429,
                    971,
                    "Please wait and consider throttling your request speed".into(),
                ),
                Fail::NotFound(m) => (
                    404,
                    7003,
                    format!("Could not route to {m}, perhaps your object identifier is invalid?"),
                ),
                Fail::OverLimit(_, n) => (400, 1015, format!("Only {n} items per request allowed")),
                Fail::BadUrl(m) | Fail::Domain(m) | Fail::Bad(m) | Fail::Param(_, m) => {
                    (400, 1012, m.clone())
                }
                Fail::Quota(_) => (429, 971, "rate limited".into()),
            };
            (
                status,
                code.to_string(),
                json!({"success": false, "errors": [{"code": code, "message": msg}], "messages": [], "result": null}),
            )
        }
        Dialect::Qiniu => {
            let (status, code, msg): (u16, u64, String) = match f {
                Fail::Auth(_, _) => return (401, "401".into(), json!({"error": "bad token"})),
                Fail::Throttled => (429, 429, "too many requests".into()),
                Fail::BadUrl(_) => (400, 400031, "invalid url".into()),
                Fail::Domain(_) => (400, 400032, "invalid host".into()),
                Fail::Quota("purge-url") => (400, 400034, "refresh url limit error".into()),
                Fail::Quota("purge-dir") => (400, 400035, "refresh dir limit error".into()),
                Fail::Quota(_) => (400, 400033, "prefetch url limit error".into()),
                Fail::OverLimit(_, _) => {
                    (400, 400036, "too many urls or dirs in one request".into())
                }
                Fail::Bad(m) | Fail::Param(_, m) | Fail::NotFound(m) => (400, 400000, m.clone()),
            };
            (
                status,
                code.to_string(),
                json!({"code": code, "error": msg}),
            )
        }
        Dialect::Huawei => {
            let gateway = |status: u16, code: &str, msg: &str| {
                (
                    status,
                    code.to_string(),
                    json!({"error_code": code, "error_msg": msg, "request_id": "0000-cdnpub-test"}),
                )
            };
            let cdn = |status: u16, code: &str, msg: &str| {
                (
                    status,
                    code.to_string(),
                    json!({"error": {"error_code": code, "error_msg": msg}}),
                )
            };
            match f {
                Fail::Auth(_, m) => gateway(
                    401,
                    "APIGW.0301",
                    &format!("Incorrect IAM authentication information: {m}"),
                ),
                Fail::Throttled => gateway(
                    429,
                    "APIGW.0308",
                    "The throttling threshold has been reached",
                ),
                Fail::Quota(_) => cdn(400, "CDN.0110", "URL数超出预热刷新限制。"),
                Fail::OverLimit(_, _) => cdn(400, "CDN.0005", "超出最大限制。"),
                Fail::Domain(_) => cdn(400, "CDN.0108", "域名不属于当前租户。"),
                Fail::BadUrl(m) | Fail::Bad(m) | Fail::Param(_, m) => cdn(400, "CDN.0001", m),
                Fail::NotFound(m) => cdn(404, "CDN.0003", m),
            }
        }
    }
}
