//! One router API call as `--dry-run` prints it, and the retry every router call shares.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;

/// What a path label keeps unencoded: RFC 3986's unreserved characters (how the SDKs and
/// wrangler encode an ARN, a function name or a KV key in a path).
pub(super) const LABEL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

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
/// or a lost answer), with the CDN retry policy; the last error, with what to do, is the
/// failure. A used-up quota or a refusal stops at once. An attempt that creates something looks
/// first (so an attempt after a lost answer finds what the lost one made).
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
                Some(d)
                    if matches!(
                        e.class,
                        crate::cdn::ErrorClass::Retry | crate::cdn::ErrorClass::Unsure
                    ) =>
                {
                    tracing::warn!(
                        "{} ({}): retrying in {:.1} s",
                        e.message,
                        e.code,
                        d.as_secs_f64()
                    );
                    tokio::time::sleep(d).await
                }
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
