//! Tencent Cloud EdgeOne's side of a rollout (API `teo` 2022-09-01, TC3-HMAC-SHA256, through
//! the client of `cdn::tencent`): the value in the site's Edge KV namespace the edge function
//! reads (EdgeKVPut), and the function itself: found by its exact name (DescribeFunctions),
//! created or its code replaced (CreateFunction / ModifyFunction), the namespace bound to it as
//! a global (ModifyFunctionComponentBindings), and a trigger rule running it on a host
//! (DescribeFunctionRules, CreateFunctionRule when none of its rules names the host).

use serde_json::{json, Value};

use super::call::{retried, Call};
use crate::cdn::tencent::Tencent;
use crate::cdn::{ApiError, ErrorClass};
use crate::error::Result;

/// A site (zone) of EdgeOne.
#[derive(Debug)]
pub struct EdgeOne {
    api: Tencent,
    zone: String,
}

/// The function to deploy.
#[derive(Debug, Clone)]
pub struct EdgeFunction {
    /// Its name (lowercase letters, digits and hyphens, at most 30).
    pub name: String,
    /// Its code (Service Worker syntax).
    pub code: String,
    /// The Edge KV namespace bound to it.
    pub namespace: String,
    /// The global the namespace is bound as.
    pub binding: String,
    /// The host whose requests run it, if a rule should be made.
    pub host: Option<String>,
}

impl EdgeOne {
    /// Site `zone` at `endpoint` (default teo.tencentcloudapi.com), with the SecretId/SecretKey
    /// from the environment.
    pub fn new(
        zone: &str,
        endpoint: Option<&str>,
        timeouts: crate::util::net::Timeouts,
    ) -> Result<Self> {
        let creds = crate::cdn::tencent::credentials_from_env()?;
        Ok(EdgeOne {
            api: Tencent::teo(endpoint, timeouts, creds)?,
            zone: zone.to_string(),
        })
    }

    fn call(&self, action: &str, params: &Value) -> Call {
        Call {
            operation: action.into(),
            method: "POST".into(),
            url: self.api.endpoint().to_string(),
            body: params.to_string(),
        }
    }

    async fn send(&self, call: &Call) -> Result<Value, ApiError> {
        let params: Value = serde_json::from_str(&call.body).unwrap_or_default();
        self.api.call(&call.operation, &params).await
    }

    /// Set `key` of `namespace` to `value` (EdgeKVPut). The call, sent unless `dry_run`.
    pub async fn put_value(
        &self,
        namespace: &str,
        key: &str,
        value: &str,
        dry_run: bool,
    ) -> Result<Vec<Call>> {
        let call = self.call(
            "EdgeKVPut",
            &json!({"ZoneId": self.zone, "Namespace": namespace, "Key": key, "Value": value}),
        );
        if !dry_run {
            retried(|| self.send(&call)).await?;
        }
        Ok(vec![call])
    }

    /// Create or update `f`, bind its namespace, and make sure a rule runs it on its host. Each
    /// attempt looks first (the function by its exact name, its rules), so one after a lost
    /// answer updates what the lost one created. The calls; the lookups are sent even with
    /// `dry_run`, the writes only without.
    pub async fn deploy(&self, f: &EdgeFunction, dry_run: bool) -> Result<Vec<Call>> {
        retried(|| async { self.deploy_once(f, dry_run).await }).await
    }

    async fn deploy_once(&self, f: &EdgeFunction, dry_run: bool) -> Result<Vec<Call>, ApiError> {
        let mut calls = Vec::new();
        let find = self.call(
            "DescribeFunctions",
            &json!({"ZoneId": self.zone, "Filters": [{"Name": "name", "Values": [f.name]}], "Limit": 200}),
        );
        let found = self.send(&find).await?;
        calls.push(find);
        // The name filter is fuzzy: the function is the one named exactly so.
        let existing = found["Functions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| x["Name"] == f.name.as_str())
            .and_then(|x| x["FunctionId"].as_str())
            .map(str::to_string);
        let remark = "cdnpub rollout router";
        let write = match &existing {
            Some(id) => self.call(
                "ModifyFunction",
                &json!({"ZoneId": self.zone, "FunctionId": id, "Content": f.code, "Remark": remark}),
            ),
            None => self.call(
                "CreateFunction",
                &json!({"ZoneId": self.zone, "Name": f.name, "Content": f.code, "Remark": remark}),
            ),
        };
        let id = match (dry_run, existing) {
            (true, existing) => existing.unwrap_or_else(|| "(the new function's id)".into()),
            (false, Some(id)) => {
                self.send(&write).await?;
                id
            }
            (false, None) => self.send(&write).await?["FunctionId"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| ApiError {
                    code: "NoFunctionId".into(),
                    message: "CreateFunction answered no FunctionId".into(),
                    class: ErrorClass::Fatal,
                })?,
        };
        calls.push(write);
        let bind = self.call(
            "ModifyFunctionComponentBindings",
            &json!({"ZoneId": self.zone, "FunctionId": id, "Operation": "bind-override",
                    "FunctionComponentBindings": [{"Type": "kv_namespace", "VariableName": f.binding,
                        "KVNamespaceParameters": {"ZoneId": self.zone, "Namespace": f.namespace}}]}),
        );
        if !dry_run {
            self.send(&bind).await?;
        }
        calls.push(bind);
        if let Some(host) = &f.host {
            calls.append(&mut self.rule(&id, host, dry_run).await?);
        }
        Ok(calls)
    }

    /// A rule running function `id` on `host`, unless one of its rules already names the host.
    async fn rule(&self, id: &str, host: &str, dry_run: bool) -> Result<Vec<Call>, ApiError> {
        let list = self.call(
            "DescribeFunctionRules",
            &json!({"ZoneId": self.zone, "Filters": [{"Name": "function-id", "Values": [id]}]}),
        );
        let rules = if dry_run && id.starts_with('(') {
            Value::Null
        } else {
            self.send(&list).await?
        };
        let names_host = rules["FunctionRules"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| {
                r["FunctionRuleConditions"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .flat_map(|c| c["RuleConditions"].as_array().cloned().unwrap_or_default())
            .any(|c| {
                c["Target"] == "host"
                    && c["Values"]
                        .as_array()
                        .is_some_and(|v| v.iter().any(|h| h == host))
            });
        if names_host {
            return Ok(vec![list]);
        }
        let create = self.call(
            "CreateFunctionRule",
            &json!({"ZoneId": self.zone, "FunctionId": id, "TriggerType": "direct",
                    "Remark": "cdnpub rollout router",
                    "FunctionRuleConditions": [{"RuleConditions": [
                        {"Operator": "equal", "Target": "host", "Values": [host], "IgnoreCase": false}]}]}),
        );
        if !dry_run {
            self.send(&create).await?;
        }
        Ok(vec![list, create])
    }
}

/// An EdgeOne function name: lowercase letters, digits and hyphens, starting and ending with a
/// letter or digit, at most 30 characters.
pub fn check_name(name: &str) -> std::result::Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 30
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "--name {name:?}: an EdgeOne function name is lowercase letters, digits and hyphens, at most 30"
        ))
    }
}
