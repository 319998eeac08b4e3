//! One router API call as `--dry-run` prints it, and the retry every router call shares.

use serde::Serialize;

/// One API call a router change makes, as `--dry-run` prints it and the report keeps it: the
/// method, the URL and the body (no header: signatures and tokens are never shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Call {
    /// The API operation (`PutKey`, `BatchSetCdnDomainConfig`, …).
    pub operation: String,
    /// HTTP method.
    pub method: String,
    /// The URL.
    pub url: String,
    /// The body, as text (a form's fields, one per line; nothing for none).
    pub body: String,
}

/// Repeat `attempt` while its error is worth retrying (throttled, a concurrent change, a 5xx
/// or a lost answer: every router call is idempotent), with the CDN retry policy; the last
/// error, with what to do, is the failure.
pub(super) async fn retried<T, F, Fut>(mut attempt: F) -> crate::error::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, crate::cdn::ApiError>>,
{
    let mut backoff = crate::retry::Backoff::new(crate::retry::CDN);
    loop {
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(e) => match backoff.next_delay() {
                Some(d) if e.class != crate::cdn::ErrorClass::Fatal => tokio::time::sleep(d).await,
                _ => {
                    return Err(crate::error::Error::Failed(format!(
                        "{} ({})",
                        e.message, e.code
                    )))
                }
            },
        }
    }
}
