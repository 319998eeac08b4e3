//! What the providers' request signatures share (ACS3 for Alibaba, TC3 for Tencent, Huawei's
//! SDK-HMAC-SHA256): canonical header lines and names, SHA-256 in hex, and HMAC-SHA256.

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;

/// RFC 3986 encoding: everything but `A-Z a-z 0-9 - _ . ~` is percent-encoded (space is `%20`).
pub const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Sorted `(name, value)` pairs, already normalised by the caller's rules, as the canonical
/// header block (`name:value\n` each) and the `;`-joined signed header names.
pub fn headers(mut pairs: Vec<(String, String)>) -> (String, String) {
    pairs.sort();
    let lines = pairs.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let names = pairs
        .into_iter()
        .map(|(k, _)| k)
        .collect::<Vec<_>>()
        .join(";");
    (lines, names)
}

/// Lowercase hex SHA-256 of `bytes` (every signature hashes its payload so).
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    crate::site::state::hex(&Sha256::digest(bytes))
}

/// HMAC-SHA256 of `msg` under `key`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length; new_from_slice cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}
