//! Alibaba Cloud CDN's side of a rollout: the domain's EdgeScript rule (function
//! `edge_function`), found by its name with DescribeCdnDomainConfigs and written with
//! BatchSetCdnDomainConfig (the found rule's ConfigId updates it in place: a domain holds one
//! rule unless a ticket raised the limit), through the RPC client of `cdn::aliyun` (2018-05-10,
//! ACS3-HMAC-SHA256).

use serde_json::{json, Value};

use super::call::{retried, Call};
use crate::cdn::aliyun::Aliyun;
use crate::error::Result;

/// The function name of an EdgeScript rule.
pub const FUNCTION: &str = "edge_function";

/// A CDN domain's EdgeScript rules.
#[derive(Debug)]
pub struct EdgeScript {
    api: Aliyun,
}

impl EdgeScript {
    /// The API at `endpoint` (default cdn.aliyuncs.com), with the AccessKey from the environment.
    pub fn new(endpoint: Option<&str>, timeouts: crate::util::net::Timeouts) -> Result<Self> {
        let creds = crate::cdn::aliyun::credentials_from_env()?;
        Ok(EdgeScript {
            api: Aliyun::new(endpoint, timeouts, creds)?,
        })
    }

    /// The rule's `Functions` parameter: `rule` at the head, priority 0, enabled; `config_id`
    /// updates that record.
    pub fn functions(name: &str, rule: &str, config_id: Option<u64>) -> String {
        let arg = |k: &str, v: &str| json!({ "argName": k, "argValue": v });
        let mut f = json!({
            "functionName": FUNCTION,
            "functionArgs": [
                arg("name", name),
                arg("rule", rule),
                arg("pri", "0"),
                arg("pos", "head"),
                arg("enable", "on"),
                arg("brk", "off"),
            ],
        });
        if let Some(id) = config_id {
            f["ConfigId"] = json!(id);
        }
        json!([f]).to_string()
    }

    fn call(&self, action: &str, params: &[(&str, &str)]) -> Call {
        Call {
            operation: action.into(),
            method: "POST".into(),
            url: self.api.endpoint().to_string(),
            body: params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// Write rule `name` of `domain` (created, or updated in place when the domain has it): each
    /// attempt looks the rule up first, so one after a lost answer updates what the lost one
    /// created. The calls; the write is sent unless `dry_run`.
    pub async fn set_rule(
        &self,
        domain: &str,
        name: &str,
        rule: &str,
        dry_run: bool,
    ) -> Result<Vec<Call>> {
        let query = [("DomainName", domain), ("FunctionNames", FUNCTION)];
        retried(|| async {
            let found = self.api.call("DescribeCdnDomainConfigs", &query).await?;
            let functions = Self::functions(name, rule, config_of(&found, name));
            let write = [("DomainNames", domain), ("Functions", functions.as_str())];
            if !dry_run {
                self.api.call("BatchSetCdnDomainConfig", &write).await?;
            }
            Ok(vec![
                self.call("DescribeCdnDomainConfigs", &query),
                self.call("BatchSetCdnDomainConfig", &write),
            ])
        })
        .await
    }
}

/// The ConfigId of the `edge_function` record named `name` in a DescribeCdnDomainConfigs
/// answer (`DomainConfigs.DomainConfig[]`, each with `FunctionArgs.FunctionArg[]`).
pub fn config_of(answer: &Value, name: &str) -> Option<u64> {
    answer["DomainConfigs"]["DomainConfig"]
        .as_array()?
        .iter()
        .filter(|c| c["FunctionName"] == FUNCTION)
        .find(|c| {
            c["FunctionArgs"]["FunctionArg"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| a["ArgName"] == "name" && a["ArgValue"] == name)
        })
        .and_then(|c| {
            c["ConfigId"]
                .as_u64()
                .or_else(|| c["ConfigId"].as_str().and_then(|s| s.parse().ok()))
        })
}
