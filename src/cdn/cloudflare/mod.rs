//! Cloudflare's purge_cache (API v4, `POST /zones/{zone_id}/purge_cache`) with an API token
//! (Bearer): `files` (full URLs) for purge, `prefixes` (`host/path/`, no scheme) for `--dir`.
//! Purges finish within seconds and have no task to poll; there is no prefetch API.

use serde_json::{json, Value};
use url::Url;

use super::{Action, ApiError, Batch, Cdn, ErrorClass, Limits, ObjectKind, Plan, Quota, TaskState};
use crate::error::{Error, Result};

/// The public endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://api.cloudflare.com/client/v4";
/// URLs or prefixes per request on every plan but Enterprise (500).
pub const PATHS_PER_CALL: usize = 100;
/// Requests a second: the account-wide API limit (1,200 per 5 minutes) is the tighter one for
/// URL purges (Free: 800 URLs a second).
pub const CALLS_PER_SECOND: f64 = 4.0;

/// The API token from CLOUDFLARE_API_TOKEN (wrangler's and Terraform's variable).
pub fn token_from_env() -> Result<String> {
    super::keys::var("CLOUDFLARE_API_TOKEN").ok_or_else(|| {
        Error::Usage(
            "no Cloudflare API token: set CLOUDFLARE_API_TOKEN (a token with Zone > Cache Purge)"
                .into(),
        )
    })
}

/// A Cloudflare zone.
pub struct Cloudflare {
    http: reqwest::Client,
    endpoint: Url,
    token: String,
    zone_id: String,
}

impl std::fmt::Debug for Cloudflare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cloudflare {{ zone_id: {:?}, .. }}", self.zone_id)
    }
}

impl Cloudflare {
    /// A client for `zone_id` at `endpoint` (default api.cloudflare.com/client/v4).
    pub fn new(
        endpoint: Option<&str>,
        timeouts: crate::util::net::Timeouts,
        zone_id: &str,
        token: String,
    ) -> Result<Self> {
        if zone_id.is_empty() || !zone_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Error::Usage(format!(
                "Cloudflare needs the zone id (32 hex digits, on the zone's Overview page): \
                 --zone-id, CLOUDFLARE_ZONE_ID or cdn_zone_id in cdnpub.toml (got {zone_id:?})"
            )));
        }
        let (endpoint, http) = super::api_client(endpoint, DEFAULT_ENDPOINT, timeouts)?;
        Ok(Cloudflare {
            http,
            endpoint,
            token,
            zone_id: zone_id.to_string(),
        })
    }

    async fn purge(&self, body: &Value) -> Result<Value, ApiError> {
        let url = format!(
            "{}/zones/{}/purge_cache",
            self.endpoint.as_str().trim_end_matches('/'),
            self.zone_id
        );
        let req = self
            .http
            .post(&url)
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_string());
        let (status, bytes) = super::exchange(req, &url, "purge_cache").await?;
        envelope(status, &bytes)
            .map_err(|(code, message)| classify(status.as_u16(), &code, &message))
    }
}

/// The `result` of an API v4 answer (`{success, errors, messages, result}`), or its first
/// error's code and message.
pub fn envelope(status: reqwest::StatusCode, bytes: &[u8]) -> Result<Value, (String, String)> {
    let v: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    if status.is_success() && v["success"] == json!(true) {
        return Ok(v["result"].clone());
    }
    let first = &v["errors"][0];
    let code = first["code"]
        .as_u64()
        .map(|c| c.to_string())
        .unwrap_or_default();
    Err((code, first["message"].as_str().unwrap_or("").to_string()))
}

/// What an answer means for the job, with what to do.
fn classify(status: u16, code: &str, message: &str) -> ApiError {
    use ErrorClass::*;
    let (class, hint) = match (status, code) {
        (429, _) => (Retry, "rate limited; retried with backoff"),
        (_, "10000") | (401, _) | (403, _) => (
            Fatal,
            "the token is wrong or may not purge this zone: check CLOUDFLARE_API_TOKEN (Zone > Cache Purge)",
        ),
        (_, "7003") | (_, "7000") | (404, _) => (
            Fatal,
            "no such zone: check --zone-id / CLOUDFLARE_ZONE_ID",
        ),
        (s, _) if s >= 500 => (Unsure, "server error"),
        _ => (Fatal, ""),
    };
    ApiError::answered(status, code, message, "purge_cache", class, hint)
}

/// A directory URL as Cloudflare's prefix: `host/path/`, without the scheme.
pub fn prefix_of(url: &str) -> String {
    url.split_once("://")
        .map_or(url, |(_, rest)| rest)
        .to_string()
}

impl Cdn for Cloudflare {
    fn name(&self) -> &'static str {
        "cloudflare"
    }

    fn limits(&self) -> Limits {
        Limits {
            calls_per_second: CALLS_PER_SECOND,
            status_ids_per_call: 1,
            status_calls_per_second: 1.0,
        }
    }

    fn plan(&self, action: Action, kind: ObjectKind, urls: &[String]) -> Result<Plan> {
        if action == Action::Prefetch {
            return Err(Error::Usage(
                "Cloudflare has no prefetch API: the first request after a purge fills the cache"
                    .into(),
            ));
        }
        Ok(match kind {
            ObjectKind::File => super::chunks("purge_cache files", kind, urls, PATHS_PER_CALL),
            ObjectKind::Directory => {
                let prefixes: Vec<String> = urls.iter().map(|u| prefix_of(u)).collect();
                super::chunks("purge_cache prefixes", kind, &prefixes, PATHS_PER_CALL)
            }
        })
    }

    fn has_quota(&self) -> bool {
        false
    }

    async fn quota(&self, _action: Action) -> Result<Option<Quota>, ApiError> {
        Ok(None)
    }

    fn can_prefetch(&self) -> bool {
        false
    }

    /// Purging the same URLs twice does nothing more, and there is no quota to spend.
    fn idempotent_submit(&self) -> bool {
        true
    }

    async fn submit(&self, _action: Action, batch: &Batch) -> Result<Vec<String>, ApiError> {
        let body = match batch.kind {
            ObjectKind::File => json!({ "files": batch.paths }),
            ObjectKind::Directory => json!({ "prefixes": batch.paths }),
        };
        self.purge(&body).await?;
        // Done when answered: nothing to wait for.
        Ok(Vec::new())
    }

    async fn status(&self, ids: &[String]) -> Result<Vec<(String, TaskState)>, ApiError> {
        Ok(ids.iter().map(|i| (i.clone(), TaskState::Done)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified() {
        assert_eq!(classify(429, "", "").class, ErrorClass::Retry);
        let e = classify(400, "10000", "Authentication error");
        assert_eq!(e.class, ErrorClass::Fatal);
        assert!(e.to_string().contains("CLOUDFLARE_API_TOKEN"), "{e}");
        assert_eq!(classify(502, "", "").class, ErrorClass::Unsure);
    }

    #[test]
    fn prefixes_drop_the_scheme_and_zone_ids_are_checked() {
        assert_eq!(
            prefix_of("https://cdn.example.com/assets/"),
            "cdn.example.com/assets/"
        );
        assert!(Cloudflare::new(None, Default::default(), "", "t".into()).is_err());
        assert!(Cloudflare::new(None, Default::default(), "../x", "t".into()).is_err());
        let c = Cloudflare::new(
            None,
            Default::default(),
            "023e105f4ecef8ad9ca31a8372d0c353",
            "SeCrEt".into(),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("SeCrEt"));
        let urls: Vec<String> = (0..250).map(|i| format!("https://c/{i}")).collect();
        let sizes: Vec<usize> = c
            .plan(Action::Purge, ObjectKind::File, &urls)
            .unwrap()
            .batches
            .iter()
            .map(|b| b.paths.len())
            .collect();
        assert_eq!(sizes, [100, 100, 50]);
        assert!(c.plan(Action::Prefetch, ObjectKind::File, &urls).is_err());
    }
}
