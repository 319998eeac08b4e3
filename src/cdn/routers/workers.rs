//! Cloudflare's side of a rollout (API v4, `Authorization: Bearer` with CLOUDFLARE_API_TOKEN):
//! the Workers KV value the Worker reads (`PUT /accounts/{id}/storage/kv/namespaces/{ns}/values/
//! {key}`, the raw value as the body, as wrangler and Cloudflare's Go SDK send it), the Worker
//! itself (`PUT /accounts/{id}/workers/scripts/{name}`, a multipart form: `metadata` naming the
//! module and the KV binding `ROLLOUT`, then the module as `application/javascript+module`) and
//! its route on a zone (listed, then created or pointed at the Worker, as wrangler does).

use percent_encoding::utf8_percent_encode;
use serde_json::{json, Value};

use super::call::{retried, Call, LABEL};
use crate::cdn::{ApiError, ErrorClass};
use crate::error::{Error, Result};

/// The name the Worker's module is uploaded under.
pub const MODULE: &str = "cdnpub-rollout-worker.mjs";
/// The binding the Worker reads its KV namespace through.
pub const BINDING: &str = "ROLLOUT";
/// The Workers runtime version the Worker is written for.
pub const COMPATIBILITY_DATE: &str = "2024-09-23";

/// A Cloudflare account's Workers and KV.
pub struct Workers {
    http: reqwest::Client,
    endpoint: String,
    token: String,
    account: String,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Workers {{ account: {:?}, .. }}", self.account)
    }
}

/// The Worker to upload.
#[derive(Debug, Clone)]
pub struct Script {
    /// Its name (`cdnpub-rollout`).
    pub name: String,
    /// The module's code.
    pub code: String,
    /// The KV namespace bound as [`BINDING`].
    pub namespace: String,
}

impl Workers {
    /// The account `account` at `endpoint` (default api.cloudflare.com/client/v4), with the token
    /// from CLOUDFLARE_API_TOKEN.
    pub fn new(
        account: &str,
        endpoint: Option<&str>,
        timeouts: crate::util::net::Timeouts,
    ) -> Result<Self> {
        let token = crate::cdn::cloudflare::token_from_env().map_err(|_| {
            Error::Usage(
                "no Cloudflare API token: set CLOUDFLARE_API_TOKEN (a token with Workers KV Storage \
                 Edit and, to deploy, Workers Scripts and Routes Edit)"
                    .into(),
            )
        })?;
        let (endpoint, http) = crate::cdn::http::api_client(
            endpoint,
            crate::cdn::cloudflare::DEFAULT_ENDPOINT,
            timeouts,
        )?;
        Ok(Workers {
            http,
            endpoint: endpoint.as_str().trim_end_matches('/').to_string(),
            token,
            account: account.to_string(),
        })
    }

    fn call(&self, operation: &str, method: &str, path: String, body: String) -> Call {
        Call {
            operation: operation.into(),
            method: method.into(),
            url: format!("{}{path}", self.endpoint),
            body,
        }
    }

    /// The call [`Self::put_value`] makes.
    pub fn put_value_call(&self, namespace: &str, key: &str, value: &str) -> Call {
        self.call(
            "kv.put",
            "PUT",
            format!(
                "/accounts/{}/storage/kv/namespaces/{namespace}/values/{}",
                self.account,
                utf8_percent_encode(key, LABEL)
            ),
            value.to_string(),
        )
    }

    /// Set `key` of `namespace` to `value`. The call, sent unless `dry_run`.
    pub async fn put_value(
        &self,
        namespace: &str,
        key: &str,
        value: &str,
        dry_run: bool,
    ) -> Result<Vec<Call>> {
        let call = self.put_value_call(namespace, key, value);
        if !dry_run {
            retried(|| async {
                let req = self
                    .request(&call)
                    .header("content-type", "application/octet-stream")
                    .body(call.body.clone());
                self.answer(&call, req).await
            })
            .await?;
        }
        Ok(vec![call])
    }

    /// The metadata part of a Worker upload.
    pub fn metadata(script: &Script) -> Value {
        json!({
            "main_module": MODULE,
            "compatibility_date": COMPATIBILITY_DATE,
            "bindings": [{ "type": "kv_namespace", "name": BINDING, "namespace_id": script.namespace }],
        })
    }

    /// The call [`Self::deploy`] makes for the script (its body: the metadata part, then the
    /// module part's name, type and size; the module is the file `rollout cloudflare` writes).
    pub fn deploy_call(&self, script: &Script) -> Call {
        self.call(
            "workers.scripts.update",
            "PUT",
            format!(
                "/accounts/{}/workers/scripts/{}",
                self.account,
                utf8_percent_encode(&script.name, LABEL)
            ),
            format!(
                "metadata: {}\n{MODULE}: application/javascript+module, {} bytes",
                Self::metadata(script),
                script.code.len()
            ),
        )
    }

    /// Upload (create or replace) the Worker with its KV binding. The call, sent unless
    /// `dry_run`.
    pub async fn deploy(&self, script: &Script, dry_run: bool) -> Result<Vec<Call>> {
        let call = self.deploy_call(script);
        if !dry_run {
            retried(|| async {
                let module = reqwest::multipart::Part::text(script.code.clone())
                    .file_name(MODULE)
                    .mime_str("application/javascript+module")
                    .map_err(|e| fatal(e.to_string()))?;
                let meta = reqwest::multipart::Part::text(Self::metadata(script).to_string())
                    .mime_str("application/json")
                    .map_err(|e| fatal(e.to_string()))?;
                let form = reqwest::multipart::Form::new()
                    .part("metadata", meta)
                    .part(MODULE, module);
                self.answer(&call, self.request(&call).multipart(form))
                    .await
            })
            .await?;
        }
        Ok(vec![call])
    }

    /// Route `pattern` (`www.example.com/mobile-vue/pass/*`) of zone `zone` to `script`: the
    /// zone's routes listed, then the pattern created, pointed at the script, or left as it is.
    /// A pattern routed to another Worker is refused (naming it). The calls, the writes sent
    /// unless `dry_run`.
    pub async fn route(
        &self,
        zone: &str,
        pattern: &str,
        script: &str,
        dry_run: bool,
    ) -> Result<Vec<Call>> {
        let list = self.call(
            "workers.routes.list",
            "GET",
            format!("/zones/{zone}/workers/routes"),
            String::new(),
        );
        let body = json!({ "pattern": pattern, "script": script }).to_string();
        // Each attempt lists first: one after a lost answer finds the route the lost one made.
        retried(|| async {
            let routes = self.answer(&list, self.request(&list)).await?;
            let found = routes
                .as_array()
                .into_iter()
                .flatten()
                .find(|r| r["pattern"] == pattern);
            let write = match found {
                Some(r) if r["script"] == script => return Ok(vec![list.clone()]),
                Some(r) if r["script"].as_str().is_some_and(|s| !s.is_empty()) => {
                    return Err(ApiError {
                        code: "RouteTaken".into(),
                        message: format!(
                            "the route {pattern} of zone {zone} runs the Worker {}: remove it or \
                             choose another --route",
                            r["script"]
                        ),
                        class: ErrorClass::Fatal,
                    })
                }
                Some(r) => self.call(
                    "workers.routes.update",
                    "PUT",
                    format!(
                        "/zones/{zone}/workers/routes/{}",
                        r["id"].as_str().unwrap_or_default()
                    ),
                    body.clone(),
                ),
                None => self.call(
                    "workers.routes.create",
                    "POST",
                    format!("/zones/{zone}/workers/routes"),
                    body.clone(),
                ),
            };
            if !dry_run {
                let req = self
                    .request(&write)
                    .header("content-type", "application/json")
                    .body(write.body.clone());
                self.answer(&write, req).await?;
            }
            Ok(vec![list.clone(), write])
        })
        .await
    }

    fn request(&self, call: &Call) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(call.method.as_bytes()).unwrap_or_default();
        self.http
            .request(method, &call.url)
            .bearer_auth(&self.token)
    }

    /// Send `req` and read Cloudflare's envelope: its `result`, or the first error classified.
    async fn answer(&self, call: &Call, req: reqwest::RequestBuilder) -> Result<Value, ApiError> {
        let (status, bytes) =
            crate::cdn::http::exchange(req, &self.account, &call.operation).await?;
        let (code, message) = match crate::cdn::cloudflare::envelope(status, &bytes) {
            Ok(result) => return Ok(result),
            Err(e) => e,
        };
        let (class, hint) = match status.as_u16() {
            429 => (ErrorClass::Retry, " (rate limited: retried with backoff)"),
            401 | 403 => (
                ErrorClass::Fatal,
                " (check CLOUDFLARE_API_TOKEN: it needs Workers KV Storage Edit, Workers Scripts Edit and, for --route, Workers Routes Edit)",
            ),
            404 => (ErrorClass::Fatal, " (check the account, namespace and zone ids)"),
            s if s >= 500 => (ErrorClass::Unsure, ""),
            _ => (ErrorClass::Fatal, ""),
        };
        Err(ApiError::answered(
            status.as_u16(),
            &code,
            &message,
            &call.operation,
            class,
            hint,
        ))
    }
}

fn fatal(message: String) -> ApiError {
    ApiError {
        code: "InvalidRequest".into(),
        message,
        class: ErrorClass::Fatal,
    }
}
