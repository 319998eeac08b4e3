//! What the providers' request signatures share (ACS3 for Alibaba, TC3 for Tencent): canonical
//! header lines and names, and HMAC-SHA256.

use hmac::{Hmac, Mac};
use sha2::Sha256;

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
