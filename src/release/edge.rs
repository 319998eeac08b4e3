//! What `verify` asks of an edge: a key's public URL, one GET exactly as a browser sends it
//! (no cache-busting query, a browser's `Accept-Encoding`, retried on transport errors and
//! 5xx), and the verdict on the answer against the release record: status, SHA-256 of the
//! decoded body (decoding bounded against bombs), Content-Type, Cache-Control and
//! Content-Encoding. Which keys to ask ([`served_keys`], [`sample`]) lives here too;
//! `cmd::verify` runs the requests and reports.

use std::io::Read;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::release::{Object, Release};
use crate::site::state::sha256_hex;
use crate::store::target::Target;
use crate::store::ObjectStore;

/// What browsers send (Chromium without zstd, which cdnpub cannot decode).
pub const ACCEPT_ENCODING: &str = "gzip, deflate, br";

/// A key's public URL: `base/` + the key with each segment percent-encoded.
pub fn url_of(base: &str, key: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'<')
        .add(b'>')
        .add(b'?')
        .add(b'`')
        .add(b'{')
        .add(b'}');
    let path: Vec<String> = key
        .split('/')
        .map(|s| percent_encoding::utf8_percent_encode(s, SEGMENT).to_string())
        .collect();
    format!("{}/{}", base.trim_end_matches('/'), path.join("/"))
}

/// The keys browsers request: the record's objects without cdnpub's own and stored siblings.
pub fn served_keys(record: &Release) -> Vec<String> {
    record
        .objects
        .keys()
        .filter(|k| record.is_site_key(k))
        .cloned()
        .collect()
}

/// `n` keys: every entry page and what it loads first, then a sample of the rest chosen by
/// digest (the same keys for the same release, different ones for the next).
pub async fn sample(
    target: &Target,
    record: &Release,
    all: &[String],
    n: usize,
    cdn_base: &str,
) -> Result<Vec<String>> {
    let index = crate::site::fingerprint::resolve::Index::new(
        all,
        crate::site::placeholder::DEFAULT_PREFIX,
    )
    .with_servers(&[cdn_base.to_string()]);
    let mut chosen: Vec<String> = Vec::new();
    for page in all
        .iter()
        .filter(|k| crate::site::classify::kind(k) == crate::site::classify::Kind::Html)
    {
        chosen.push(page.clone());
        let Some(bytes) = target.get(page).await? else {
            continue;
        };
        let bytes = decode(
            &bytes,
            record.objects[page]
                .content_encoding
                .as_deref()
                .unwrap_or(""),
        )
        .unwrap_or(bytes);
        for t in crate::site::tags::tags(&bytes) {
            if let Some((_, url)) = t.loads() {
                if let Some((id, _)) = index.resolve(page, url.as_bytes(), false) {
                    chosen.push(all[id].clone());
                }
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    chosen.retain(|k| seen.insert(k.clone()));
    let mut rest: Vec<(String, &String)> = all
        .iter()
        .filter(|k| !seen.contains(*k))
        .map(|k| {
            let mut h = Sha256::new();
            h.update(record.id.as_bytes());
            h.update(k.as_bytes());
            (crate::site::state::hex(&h.finalize()), k)
        })
        .collect();
    rest.sort();
    let room = n.saturating_sub(chosen.len());
    chosen.extend(rest.into_iter().take(room).map(|(_, k)| k.clone()));
    Ok(chosen)
}

/// What one fetch found.
pub enum Verdict {
    /// The edge serves the release's bytes and headers.
    Ok,
    /// 200 with other bytes: an old copy (status, what differs).
    Stale(u16, String),
    /// 404 or 410.
    Missing(u16),
    /// Another status, or headers that differ (status, what differs).
    Wrong(u16, String),
    /// No answer after retries.
    Unanswered(String),
}

/// A response worth judging: status, headers, body.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

/// GET `url` as a browser would (one holding `cookie`, when given), retried on transport
/// errors and 5xx.
async fn fetch_with(
    http: &reqwest::Client,
    url: &str,
    cookie: Option<&str>,
) -> std::result::Result<Answer, String> {
    let mut backoff = crate::retry::Backoff::new(crate::retry::Policy {
        attempts: 3,
        initial: Duration::from_millis(200),
        max: Duration::from_secs(2),
        base: 2.0,
    });
    loop {
        let outcome = async {
            let mut req = http
                .get(url)
                .header("accept-encoding", ACCEPT_ENCODING)
                .header("accept", "*/*");
            if let Some(c) = cookie {
                req = req.header("cookie", c);
            }
            let resp = req.send().await.map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp.bytes().await.map_err(|e| e.to_string())?.to_vec();
            Ok::<_, String>(Answer {
                status,
                headers,
                body,
            })
        }
        .await;
        let retry = match &outcome {
            Ok(a) => a.status >= 500,
            Err(_) => true,
        };
        match backoff.next_delay().filter(|_| retry) {
            Some(d) => tokio::time::sleep(d).await,
            None => return outcome,
        }
    }
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The most bytes a body is decoded to (128 MiB, far above any web asset): an edge that answers
/// with a decompression bomb is reported, not followed.
pub const MAX_DECODED: u64 = 128 << 20;

/// The decoded body of `bytes` sent with Content-Encoding `encoding`, at most [`MAX_DECODED`]
/// bytes.
pub fn decode(bytes: &[u8], encoding: &str) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let limit = MAX_DECODED + 1;
    let r = match encoding.trim().to_ascii_lowercase().as_str() {
        "" | "identity" => return Ok(bytes.to_vec()),
        "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(bytes)
            .take(limit)
            .read_to_end(&mut out),
        "deflate" => flate2::read::ZlibDecoder::new(bytes)
            .take(limit)
            .read_to_end(&mut out),
        "br" => brotli::Decompressor::new(bytes, 64 << 10)
            .take(limit)
            .read_to_end(&mut out),
        other => return Err(format!("Content-Encoding {other} cannot be decoded")),
    };
    match r {
        Ok(n) if n as u64 > MAX_DECODED => Err(format!(
            "the {encoding} body decodes to more than {} MiB (verify's limit): not a file of this site",
            MAX_DECODED >> 20
        )),
        Ok(_) => Ok(out),
        Err(e) => Err(format!("the {encoding} body does not decode: {e}")),
    }
}

/// [`decode`] on the blocking pool: decompression is CPU work, never on the runtime.
async fn decode_off(bytes: Vec<u8>, encoding: String) -> std::result::Result<Vec<u8>, String> {
    crate::util::tasks::blocking(move || Ok(decode(&bytes, &encoding)))
        .await
        .unwrap_or_else(|e| Err(e.to_string()))
}

/// Media type without parameters, lower case; JavaScript's aliases as `text/javascript`.
fn essence(ct: &str) -> String {
    let t = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match t.as_str() {
        "application/javascript" | "application/x-javascript" | "application/ecmascript" => {
            "text/javascript".into()
        }
        _ => t,
    }
}

/// GET `url` (holding `cookie`, when given): the answer when it is a 200, else the verdict.
async fn answered_200(
    http: &reqwest::Client,
    url: &str,
    cookie: Option<&str>,
) -> std::result::Result<Answer, Verdict> {
    let a = fetch_with(http, url, cookie)
        .await
        .map_err(Verdict::Unanswered)?;
    match a.status {
        200 => Ok(a),
        404 | 410 => Err(Verdict::Missing(a.status)),
        s => Err(Verdict::Wrong(s, format!("answered {s}, not 200"))),
    }
}

/// Fetch one key (as a visitor holding `cookie`, when given) and judge it against its record.
pub async fn check(
    http: &reqwest::Client,
    (url, cookie): (&str, Option<&str>),
    key: &str,
    object: &Object,
    target: &Target,
    headers: bool,
) -> Verdict {
    let a = match answered_200(http, url, cookie).await {
        Ok(a) => a,
        Err(v) => return v,
    };
    let got_encoding = header(&a.headers, "content-encoding").to_ascii_lowercase();
    let stored = object.content_encoding.as_deref().unwrap_or("");
    // The stored bytes passed through: compare them as they are.
    let same_bytes = if !stored.is_empty() && got_encoding == stored {
        Ok(sha256_hex(&a.body) == object.sha256)
    } else {
        match decode_off(a.body.to_vec(), got_encoding.clone()).await {
            Err(e) => return Verdict::Wrong(200, e),
            Ok(body) => expected_plain(object, key, target)
                .await
                .map(|want| sha256_hex(&body) == want),
        }
    };
    match same_bytes {
        Err(e) => return Verdict::Unanswered(e),
        Ok(false) => {
            let age = header(&a.headers, "age");
            return Verdict::Stale(
                200,
                format!(
                    "the body is not the release's ({} bytes{}{})",
                    a.body.len(),
                    if got_encoding.is_empty() {
                        String::new()
                    } else {
                        format!(" {got_encoding}")
                    },
                    if age.is_empty() {
                        String::new()
                    } else {
                        format!(", Age {age}")
                    }
                ),
            );
        }
        Ok(true) => {}
    }
    let mut wrong = Vec::new();
    let ct = header(&a.headers, "content-type");
    if headers && essence(ct) != essence(&object.content_type) {
        wrong.push(format!(
            "Content-Type {ct:?}, the release says {:?}",
            object.content_type
        ));
    }
    let cc = header(&a.headers, "cache-control");
    let norm = |s: &str| s.to_ascii_lowercase().replace(' ', "");
    if headers && norm(cc) != norm(&object.cache_control) {
        wrong.push(format!(
            "Cache-Control {cc:?}, the release says {:?}",
            object.cache_control
        ));
    }
    if !stored.is_empty() && got_encoding != stored {
        wrong.push(format!(
            "Content-Encoding {:?}, stored {stored:?} (the edge re-encodes what a browser accepts as stored)",
            got_encoding
        ));
    }
    if wrong.is_empty() {
        Verdict::Ok
    } else {
        Verdict::Wrong(200, wrong.join("; "))
    }
}

/// Fetch a page through a rollout's router as a visitor holding `cookie` and judge its bytes
/// (not its headers: a router answers routed pages `private, no-cache`) against the release
/// object stored under `stored_key` (a staged page's `releases/<id>/…` key).
pub async fn check_routed(
    http: &reqwest::Client,
    url: &str,
    cookie: Option<&str>,
    stored_key: &str,
    object: &Object,
    target: &Target,
) -> Verdict {
    let a = match answered_200(http, url, cookie).await {
        Ok(a) => a,
        Err(v) => return v,
    };
    let got = header(&a.headers, "content-encoding").to_ascii_lowercase();
    let body = match decode_off(a.body, got).await {
        Ok(b) => b,
        Err(e) => return Verdict::Wrong(200, e),
    };
    match expected_plain(object, stored_key, target).await {
        Err(e) => Verdict::Unanswered(e),
        Ok(want) if sha256_hex(&body) == want => Verdict::Ok,
        Ok(_) => Verdict::Stale(
            200,
            format!("the page is not this release's ({} bytes)", body.len()),
        ),
    }
}

/// SHA-256 of the object's plain bytes: the record's digest for a plain object; else the
/// stored bytes, fetched from the target and decoded.
async fn expected_plain(
    object: &Object,
    key: &str,
    target: &Target,
) -> std::result::Result<String, String> {
    let Some(enc) = object.content_encoding.as_deref() else {
        return Ok(object.sha256.clone());
    };
    let stored = target
        .get(key)
        .await
        .map_err(|e| format!("reading {key} from the target: {e}"))?
        .ok_or_else(|| format!("{key} is not on the target"))?;
    decode_off(stored, enc.to_string())
        .await
        .map(|b| sha256_hex(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_each_segment_once() {
        assert_eq!(
            url_of("https://cdn.example.com/web/", "assets/a b#1.js"),
            "https://cdn.example.com/web/assets/a%20b%231.js"
        );
        assert_eq!(
            url_of("http://h:8080", "index.html"),
            "http://h:8080/index.html"
        );
    }

    #[test]
    fn bodies_decode_by_their_encoding() {
        let plain = b"hello hello hello hello".to_vec();
        let gz = crate::site::compress::gzip(&plain, 9);
        let br = crate::site::compress::brotli(&plain, 5);
        assert_eq!(decode(&gz, "gzip").unwrap(), plain);
        assert_eq!(decode(&br, "br").unwrap(), plain);
        assert_eq!(decode(&plain, "").unwrap(), plain);
        assert!(decode(&plain, "zstd").unwrap_err().contains("zstd"));
        assert!(decode(&plain, "gzip").is_err());
        // A bomb: 200 MiB of zeros in a few hundred KB of gzip stops at the limit.
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..200 {
            std::io::Write::write_all(&mut enc, &zeros).unwrap();
        }
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 1 << 20);
        assert!(decode(&bomb, "gzip").unwrap_err().contains("128 MiB"));
        assert_eq!(essence("Text/HTML; charset=utf-8"), "text/html");
        assert_eq!(
            essence("application/javascript"),
            essence("text/javascript; charset=utf-8")
        );
    }
}
