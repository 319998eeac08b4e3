//! `cdnpub verify`: fetch the keys of a release through the public CDN URLs, exactly as a
//! browser asks for them (no cache-busting query, a browser's `Accept-Encoding`), and compare
//! what comes back with the release record: status, SHA-256 of the decoded body, Content-Type,
//! Cache-Control and Content-Encoding. Objects that differ are reported as stale (200 with other
//! bytes: an old copy at the edge), missing (404/410) or wrong (other status or headers), and
//! `--purge-stale` purges exactly those through the configured provider.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::cdn::provider::{open_provider, ProviderSettings};
use crate::cdn::urls::{normalize, Domains};
use crate::cdn::{self, Action, CdnReport, JobOptions, ObjectKind};
use crate::error::{Error, Result};
use crate::release::{self, Object, Release};
use crate::site::state::sha256_hex;
use crate::store::target::{Endpoint, Location, Target};
use crate::store::ObjectStore;

/// `verify`'s longest wait for one request (`--request-timeout`'s default says the same).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What browsers send (Chromium without zstd, which cdnpub cannot decode).
pub const ACCEPT_ENCODING: &str = "gzip, deflate, br";

/// Everything `verify` needs, resolved.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    /// Where the release records are.
    pub target: String,
    /// How to reach it.
    pub endpoint: Endpoint,
    /// The release (None: the live one).
    pub release: Option<String>,
    /// The public URL the target's keys are served under (`https://cdn.example.com/web`).
    pub cdn_base: String,
    /// Check only this many keys: the entry pages and what they load, then a sample.
    pub sample: Option<usize>,
    /// Requests in flight.
    pub concurrency: usize,
    /// Longest wait for one request.
    pub timeout: Duration,
    /// Purge what differs.
    pub purge_stale: bool,
    /// The provider for `--purge-stale`.
    pub settings: ProviderSettings,
    /// Purge job options.
    pub job: JobOptions,
    /// Progress on stderr.
    pub progress: bool,
}

/// One object that differs.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The key.
    pub key: String,
    /// The URL fetched.
    pub url: String,
    /// The status answered (0: no answer).
    pub status: u16,
    /// What differs.
    pub detail: String,
}

/// What verifying found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The command ("verify").
    pub command: &'static str,
    /// The release checked.
    pub release: String,
    /// The base URL.
    pub cdn_base: String,
    /// Keys fetched.
    pub checked: usize,
    /// Keys of the release (checked or not).
    pub keys: usize,
    /// Keys that matched.
    pub ok: usize,
    /// Whether Content-Type and Cache-Control were compared (not for a directory target: its
    /// headers are the web server's, cdnpub stores none).
    pub headers_compared: bool,
    /// 200 with other bytes than the release's: an old copy.
    pub stale: Vec<Finding>,
    /// 404 / 410.
    pub missing: Vec<Finding>,
    /// Another status, or headers that differ.
    pub wrong: Vec<Finding>,
    /// No answer after retries (timeouts, connection errors).
    pub errors: Vec<Finding>,
    /// The purge of what differs (`--purge-stale`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purge: Option<CdnReport>,
    /// Wall time.
    pub seconds: f64,
}

impl VerifyReport {
    /// Every finding.
    pub fn differing(&self) -> impl Iterator<Item = &Finding> {
        self.stale
            .iter()
            .chain(&self.missing)
            .chain(&self.wrong)
            .chain(&self.errors)
    }

    /// Exit status: anything that differs is exit 1, naming how many and what to do.
    pub fn outcome(&self) -> Result<()> {
        let n = self.differing().count();
        if n == 0 {
            return Ok(());
        }
        let purged = self.purge.as_ref().is_some_and(|p| p.error.is_none());
        Err(Error::Failed(format!(
            "{n} of {} objects the CDN serves differ from release {} ({} stale, {} missing, {} wrong, {} unanswered){}",
            self.checked,
            self.release,
            self.stale.len(),
            self.missing.len(),
            self.wrong.len(),
            self.errors.len(),
            if purged {
                "; they were purged: run verify again once the purge is done (--wait)"
            } else {
                "; `cdnpub verify --purge-stale` purges exactly these"
            }
        )))
    }
}

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

/// Run a verify.
pub async fn run(cfg: &VerifyConfig) -> Result<VerifyReport> {
    let started = Instant::now();
    let loc = Location::parse(&cfg.target)?;
    let headers = !matches!(loc, Location::Dir(_));
    let target = Target::open(&loc, &cfg.endpoint).await?;
    let id = match &cfg.release {
        Some(id) => id.clone(),
        None => release::pointed(&target).await?.ok_or_else(|| {
            Error::Failed(format!(
                "{}: no release yet (no {}); publish first",
                target.describe(),
                release::LATEST_KEY
            ))
        })?,
    };
    let record = release::fetch_required(&target, &id).await?;
    let all = served_keys(&record);
    let keys = match cfg.sample {
        Some(n) if n < all.len() => sample(&target, &record, &all, n, &cfg.cdn_base).await?,
        _ => all.clone(),
    };
    let http = reqwest::Client::builder()
        .timeout(cfg.timeout)
        .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("cdnpub-verify/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Failed(format!("starting the HTTP client: {e}")))?;
    let progress = Arc::new(
        crate::sync::put::Progress::new(
            cfg.progress,
            &format!("verify {}", cfg.cdn_base),
            keys.len(),
        )
        .sparse(),
    );
    let sem = Arc::new(tokio::sync::Semaphore::new(cfg.concurrency.max(1)));
    let (target, record) = (Arc::new(target), Arc::new(record));
    let mut set = tokio::task::JoinSet::new();
    for key in keys.iter().cloned() {
        let (http, sem, target, record, progress) = (
            http.clone(),
            sem.clone(),
            target.clone(),
            record.clone(),
            progress.clone(),
        );
        let url = url_of(&cfg.cdn_base, &key);
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let object = &record.objects[&key];
            let verdict = check(&http, &url, &key, object, &target, headers).await;
            progress.tick("got", &key);
            (key, url, verdict)
        });
    }
    let mut report = VerifyReport {
        command: "verify",
        release: id,
        cdn_base: cfg.cdn_base.clone(),
        checked: keys.len(),
        keys: all.len(),
        ok: 0,
        headers_compared: headers,
        stale: Vec::new(),
        missing: Vec::new(),
        wrong: Vec::new(),
        errors: Vec::new(),
        purge: None,
        seconds: 0.0,
    };
    while let Some(done) = set.join_next().await {
        let (key, url, verdict) =
            done.map_err(|e| Error::Failed(format!("internal error: a check failed: {e}")))?;
        let finding = |status, detail| Finding {
            key: key.clone(),
            url: url.clone(),
            status,
            detail,
        };
        match verdict {
            Verdict::Ok => report.ok += 1,
            Verdict::Stale(s, d) => report.stale.push(finding(s, d)),
            Verdict::Missing(s) => report.missing.push(finding(s, format!("answered {s}"))),
            Verdict::Wrong(s, d) => report.wrong.push(finding(s, d)),
            Verdict::Unanswered(d) => report.errors.push(finding(0, d)),
        }
    }
    for list in [
        &mut report.stale,
        &mut report.missing,
        &mut report.wrong,
        &mut report.errors,
    ] {
        list.sort_by(|a, b| a.key.cmp(&b.key));
    }
    if cfg.purge_stale && report.differing().next().is_some() {
        report.purge = Some(purge(cfg, &report).await?);
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The keys browsers request: the record's objects without cdnpub's own and stored siblings.
fn served_keys(record: &Release) -> Vec<String> {
    record
        .objects
        .keys()
        .filter(|k| record.is_site_key(k))
        .cloned()
        .collect()
}

/// `n` keys: every entry page and what it loads first, then a sample of the rest chosen by
/// digest (the same keys for the same release, different ones for the next).
async fn sample(
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
    for page in all.iter().filter(|k| crate::cdn::entry::is_html(k)) {
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
enum Verdict {
    Ok,
    Stale(u16, String),
    Missing(u16),
    Wrong(u16, String),
    Unanswered(String),
}

/// A response worth judging: status, headers, body.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

/// GET `url` as a browser would, retried on transport errors and 5xx.
async fn fetch(http: &reqwest::Client, url: &str) -> std::result::Result<Answer, String> {
    let mut backoff = crate::retry::Backoff::new(crate::retry::Policy {
        attempts: 3,
        initial: Duration::from_millis(200),
        max: Duration::from_secs(2),
        base: 2.0,
    });
    loop {
        let outcome = async {
            let resp = http
                .get(url)
                .header("accept-encoding", ACCEPT_ENCODING)
                .header("accept", "*/*")
                .send()
                .await
                .map_err(|e| e.to_string())?;
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

/// Fetch one key and judge it against its record.
async fn check(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    object: &Object,
    target: &Target,
    headers: bool,
) -> Verdict {
    let a = match fetch(http, url).await {
        Ok(a) => a,
        Err(e) => return Verdict::Unanswered(e),
    };
    match a.status {
        200 => {}
        404 | 410 => return Verdict::Missing(a.status),
        s => return Verdict::Wrong(s, format!("answered {s}, not 200")),
    }
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

/// Purge every URL that differs.
async fn purge(cfg: &VerifyConfig, report: &VerifyReport) -> Result<CdnReport> {
    let mut domains = cfg.settings.domains.clone();
    if domains.is_empty() {
        if let Ok(u) = url::Url::parse(&cfg.cdn_base) {
            if let Some(h) = crate::cdn::urls::host_port(&u) {
                domains.push(format!("{}://{h}", u.scheme()));
            }
        }
    }
    let domains = Domains::parse(&domains)?;
    let urls: Vec<String> = report.differing().map(|f| f.url.clone()).collect();
    let urls = normalize(&urls, &domains)?;
    let provider = open_provider(&cfg.settings, cfg.job.dry_run, None).await?;
    cdn::run(&provider, Action::Purge, ObjectKind::File, &urls, &cfg.job).await
}

/// Paths in a findings table, grouped by kind (for the text report).
pub fn table(report: &VerifyReport) -> BTreeMap<&'static str, &Vec<Finding>> {
    BTreeMap::from([
        ("stale", &report.stale),
        ("missing", &report.missing),
        ("wrong", &report.wrong),
        ("unanswered", &report.errors),
    ])
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
