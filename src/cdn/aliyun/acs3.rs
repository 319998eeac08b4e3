//! Alibaba Cloud's V3 request signature, ACS3-HMAC-SHA256 (the "V3 request structure and
//! signature" document). No kept crate implements it, so it lives here, tested against the
//! document's worked example.
//!
//! ```text
//! CanonicalRequest = METHOD \n URI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
//! StringToSign     = "ACS3-HMAC-SHA256" \n hex(sha256(CanonicalRequest))
//! Signature        = hex(hmac_sha256(secret, StringToSign))
//! ```

use percent_encoding::utf8_percent_encode;

use crate::site::state::hex;

/// The algorithm name in `Authorization` and the string to sign.
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

pub use crate::cdn::canonical::RFC3986;

/// Percent-encode `s` the way the signature expects (query values, form bodies).
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

/// `k=v&k=v` with keys sorted and both sides encoded: the canonical query string, and the
/// body of a form POST.
pub fn canonical_query(params: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> =
        params.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A request to sign: headers are `(lower-case name, value)`; every `x-acs-*` header, `host`
/// and `content-type` are signed.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// HTTP method, upper case.
    pub method: &'a str,
    /// The path (`/` for RPC-style APIs).
    pub path: &'a str,
    /// Query parameters (not encoded).
    pub query: &'a [(&'a str, &'a str)],
    /// Headers, names lower case.
    pub headers: &'a [(&'a str, &'a str)],
    /// Hex SHA-256 of the body (the `x-acs-content-sha256` header).
    pub body_sha256: &'a str,
}

pub use crate::cdn::canonical::sha256;

/// The signed headers (host, content-type, every `x-acs-*`): canonical lines and names.
fn signed(headers: &[(&str, &str)]) -> (String, String) {
    crate::cdn::canonical::headers(
        headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
            .filter(|(k, _)| k == "host" || k == "content-type" || k.starts_with("x-acs-"))
            .collect(),
    )
}

/// The signed header names, `;`-joined.
pub fn signed_headers(headers: &[(&str, &str)]) -> String {
    signed(headers).1
}

/// The canonical request.
pub fn canonical_request(req: &Request) -> String {
    let (lines, names) = signed(req.headers);
    format!(
        "{}\n{}\n{}\n{lines}\n{names}\n{}",
        req.method,
        req.path,
        canonical_query(req.query),
        req.body_sha256
    )
}

/// The signature (hex) of `req` with `secret`.
pub fn signature(req: &Request, secret: &str) -> String {
    let to_sign = format!("{ALGORITHM}\n{}", sha256(canonical_request(req).as_bytes()));
    hex(&crate::cdn::canonical::hmac_sha256(
        secret.as_bytes(),
        to_sign.as_bytes(),
    ))
}

/// The `Authorization` header value.
pub fn authorization(req: &Request, key_id: &str, secret: &str) -> String {
    format!(
        "{ALGORITHM} Credential={key_id},SignedHeaders={},Signature={}",
        signed_headers(req.headers),
        signature(req, secret)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of Alibaba Cloud's "V3 request structure and signature" document.
    #[test]
    fn published_example() {
        let empty = sha256(b"");
        assert_eq!(
            empty,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let headers = [
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            ("x-acs-version", "2014-05-26"),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
            ("x-acs-content-sha256", empty.as_str()),
        ];
        let query = [
            (
                "ImageId",
                "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
            ),
            ("RegionId", "cn-shanghai"),
        ];
        let req = Request {
            method: "POST",
            path: "/",
            query: &query,
            headers: &headers,
            body_sha256: &empty,
        };
        assert_eq!(
            sha256(canonical_request(&req).as_bytes()),
            "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
        );
        assert_eq!(
            authorization(&req, "YourAccessKeyId", "YourAccessKeySecret"),
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,\
             SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,\
             Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
    }

    #[test]
    fn encoding_is_rfc3986() {
        assert_eq!(encode("a b+c/~*é\n"), "a%20b%2Bc%2F~%2A%C3%A9%0A");
        assert_eq!(
            canonical_query(&[("b", "2"), ("a", "x y"), ("A", "1")]),
            "A=1&a=x%20y&b=2"
        );
    }
}
