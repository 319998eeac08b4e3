//! The HTTP plumbing every provider shares: one client per endpoint (timeouts, rustls) and one
//! request sent, its transport failure classified.

use super::{ApiError, ErrorClass};
use crate::error::{Error, Result};

/// What a transport failure says: a timeout is named as one, with the flags that set it.
fn transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        // The endpoint only (scheme, host, port): a query may carry a signature and key id.
        let from = e
            .url()
            .map(|u| format!(" from {}", u.origin().ascii_serialization()))
            .unwrap_or_default();
        format!(
            "no answer{from} (timed out: --connect-timeout to connect, --read-timeout of silence \
             once connected; each call is tried up to {} times)",
            crate::retry::CDN.attempts
        )
    } else {
        e.to_string()
    }
}

/// A provider's API endpoint (`--cdn-endpoint`, else `default`) and the HTTP client for it
/// (`timeouts` to connect and of silence; the engine retries, the client sends once).
pub fn api_client(
    endpoint: Option<&str>,
    default: &str,
    timeouts: crate::util::net::Timeouts,
) -> Result<(url::Url, reqwest::Client)> {
    let raw = endpoint.unwrap_or(default);
    let url = url::Url::parse(raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| {
            Error::Usage(format!(
                "--cdn-endpoint {raw:?} is not an http(s) URL (e.g. {default})"
            ))
        })?;
    let http = reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .read_timeout(timeouts.read)
        .build()
        .map_err(|e| Error::Failed(format!("starting the HTTP client: {e}")))?;
    Ok((url, http))
}

/// Send one API request and read its answer: the status and body, or the transport failure
/// classified (a connection that never opened carried nothing and is retried; anything later
/// may have reached the provider). `target` names the endpoint or resource in the message.
pub async fn exchange(
    req: reqwest::RequestBuilder,
    target: &str,
    action: &str,
) -> std::result::Result<(reqwest::StatusCode, Vec<u8>), ApiError> {
    let resp = req.send().await.map_err(|e| ApiError {
        code: "NetworkError".into(),
        message: format!("{action} on {target}: {}", transport(&e)),
        class: if e.is_connect() {
            ErrorClass::Retry
        } else {
            ErrorClass::Unsure
        },
    })?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| ApiError {
        code: "NetworkError".into(),
        message: format!(
            "reading the answer of {action} on {target}: {}",
            transport(&e)
        ),
        class: ErrorClass::Unsure,
    })?;
    Ok((status, body.to_vec()))
}
