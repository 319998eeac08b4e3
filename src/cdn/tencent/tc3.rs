//! Tencent Cloud's API 3.0 request signature, TC3-HMAC-SHA256 (the "Signature v3" document),
//! for the Tencent Cloud CDN provider. No kept crate implements it, so it lives here, tested
//! against the document's worked example (every intermediate value and the final signature).
//!
//! ```text
//! CanonicalRequest = METHOD \n URI \n Query \n CanonicalHeaders \n SignedHeaders \n hex(sha256(payload))
//! StringToSign     = "TC3-HMAC-SHA256" \n Timestamp \n Date/service/tc3_request \n hex(sha256(CanonicalRequest))
//! SecretSigning    = hmac(hmac(hmac("TC3" + SecretKey, Date), service), "tc3_request")
//! Signature        = hex(hmac(SecretSigning, StringToSign))
//! ```
//!
//! Date is the UTC date of the timestamp (a request at 00:44 in UTC+8 is signed with the
//! previous day's date).

use std::time::{Duration, SystemTime};

use crate::cdn::canonical::hmac_sha256 as hmac;
use crate::cdn::canonical::sha256;
use crate::site::state::hex;

/// The algorithm name in `Authorization` and the string to sign.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// A request to sign. Every header given is signed (names lower-cased, values trimmed, sorted);
/// the document requires at least `content-type` and `host`.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// HTTP method, upper case (`POST` for the JSON APIs).
    pub method: &'a str,
    /// The canonical query string (empty for POST).
    pub query: &'a str,
    /// Headers to sign.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub payload: &'a [u8],
}

/// Every given header, names and values lower case (the document's rule): lines and names.
fn signed(headers: &[(&str, &str)]) -> (String, String) {
    crate::cdn::canonical::headers(
        headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_ascii_lowercase()))
            .collect(),
    )
}

/// The signed header names, `;`-joined.
pub fn signed_headers(headers: &[(&str, &str)]) -> String {
    signed(headers).1
}

/// The canonical request (API 3.0 always uses the path `/`).
pub fn canonical_request(req: &Request) -> String {
    let (lines, names) = signed(req.headers);
    format!(
        "{}\n/\n{}\n{lines}\n{names}\n{}",
        req.method,
        req.query,
        sha256(req.payload)
    )
}

/// `YYYY-MM-DD`, the UTC date of a Unix timestamp.
pub fn utc_date(timestamp: u64) -> String {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(timestamp);
    humantime::format_rfc3339_seconds(at).to_string()[..10].to_string()
}

/// `Date/service/tc3_request`.
pub fn credential_scope(timestamp: u64, service: &str) -> String {
    format!("{}/{service}/tc3_request", utc_date(timestamp))
}

/// The string to sign.
pub fn string_to_sign(req: &Request, timestamp: u64, service: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{}\n{}",
        credential_scope(timestamp, service),
        sha256(canonical_request(req).as_bytes())
    )
}

/// The derived key `SecretSigning` for a date and service.
pub fn signing_key(secret: &str, date: &str, service: &str) -> Vec<u8> {
    let secret_date = hmac(format!("TC3{secret}").as_bytes(), date.as_bytes());
    let secret_service = hmac(&secret_date, service.as_bytes());
    hmac(&secret_service, b"tc3_request")
}

/// The signature (hex) of `req` at `timestamp` for `service` with `secret`.
pub fn signature(req: &Request, timestamp: u64, service: &str, secret: &str) -> String {
    let key = signing_key(secret, &utc_date(timestamp), service);
    hex(&hmac(
        &key,
        string_to_sign(req, timestamp, service).as_bytes(),
    ))
}

/// The `Authorization` header value.
pub fn authorization(
    req: &Request,
    timestamp: u64,
    service: &str,
    secret_id: &str,
    secret: &str,
) -> String {
    format!(
        "{ALGORITHM} Credential={secret_id}/{}, SignedHeaders={}, Signature={}",
        credential_scope(timestamp, service),
        signed_headers(req.headers),
        signature(req, timestamp, service, secret)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The "Signature v3" document's example: DescribeInstances on cvm at 1551113065, its
    /// published key, and every value the document prints along the way.
    const PAYLOAD: &str =
        r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
    const HEADERS: &[(&str, &str)] = &[
        ("Content-Type", "application/json; charset=utf-8"),
        ("Host", "cvm.tencentcloudapi.com"),
    ];

    fn example() -> Request<'static> {
        Request {
            method: "POST",
            query: "",
            headers: HEADERS,
            payload: PAYLOAD.as_bytes(),
        }
    }

    #[test]
    fn reproduces_the_documents_worked_example() {
        let req = example();
        assert_eq!(
            sha256(PAYLOAD.as_bytes()),
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        assert_eq!(
            canonical_request(&req),
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n\
             content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        assert_eq!(
            string_to_sign(&req, 1_551_113_065, "cvm"),
            "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n\
             5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
        assert_eq!(
            signature(
                &req,
                1_551_113_065,
                "cvm",
                "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
            ),
            "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
        assert_eq!(
            authorization(
                &req,
                1_551_113_065,
                "cvm",
                "AKID**********************0123456789EXAMPLE",
                "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
            ),
            "TC3-HMAC-SHA256 Credential=AKID**********************0123456789EXAMPLE/2019-02-25/cvm/tc3_request, \
             SignedHeaders=content-type;host, \
             Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }

    #[test]
    fn the_date_is_utc_and_other_inputs_change_the_signature() {
        // 1551113065 is 2019-02-26 00:44:25 in UTC+8: the document's warning case.
        assert_eq!(utc_date(1_551_113_065), "2019-02-25");
        assert_eq!(utc_date(0), "1970-01-01");
        let req = example();
        let base = signature(&req, 1_551_113_065, "cvm", "k");
        assert_ne!(base, signature(&req, 1_551_113_065, "cdn", "k"));
        assert_ne!(base, signature(&req, 1_551_113_066, "cvm", "k"));
        assert_ne!(base, signature(&req, 1_551_113_065, "cvm", "k2"));
        let other = Request {
            payload: b"{}",
            ..example()
        };
        assert_ne!(base, signature(&other, 1_551_113_065, "cvm", "k"));
    }
}
