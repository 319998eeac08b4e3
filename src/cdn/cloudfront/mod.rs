//! AWS CloudFront's REST API (2020-05-31): CreateInvalidation (purge) with a caller reference
//! derived from the release, GetInvalidation (status). Many changed paths collapse to the
//! deepest common directories with `/*`, within CloudFront's in-flight limits.
//!
//! Two calls do not need the whole `aws-sdk-cloudfront` (the largest crate of the build: 71 s
//! of a clean release build on 2 cores, on its critical path, and megabytes of the binary).
//! The requests are signed by `aws-sigv4` with credentials from the same `aws-config` chain
//! the S3 client uses, and the XML is written and read with `aws-smithy-xml`: the SDK's own
//! parts, already compiled for S3.

use std::collections::BTreeSet;
use std::time::SystemTime;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use url::Url;

use super::urls::path_of;
use super::{Action, ApiError, Batch, Cdn, ErrorClass, Limits, ObjectKind, Plan, Quota, TaskState};
use crate::error::{Error, Result};

/// File paths CloudFront allows in flight per distribution.
pub const MAX_PATHS_IN_FLIGHT: usize = 3000;
/// Wildcard paths CloudFront allows in flight per distribution.
pub const MAX_WILDCARDS_IN_FLIGHT: usize = 15;
/// Default `--max-paths`: more paths than this are collapsed.
pub const DEFAULT_MAX_PATHS: usize = 100;

/// CloudFront's API endpoint (global; requests are signed for us-east-1).
pub const DEFAULT_ENDPOINT: &str = "https://cloudfront.amazonaws.com";
/// The API version in every request path.
const API: &str = "2020-05-31";
/// The namespace of the request body.
const XMLNS: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";

/// A CloudFront distribution.
#[derive(Debug)]
pub struct CloudFront {
    http: reqwest::Client,
    endpoint: Url,
    credentials: SharedCredentialsProvider,
    distribution_id: String,
    reference: String,
    max_paths: usize,
}

impl CloudFront {
    /// Connect with the AWS credential chain; `endpoint` overrides the service URL.
    /// `reference` seeds the caller references (the release id, for idempotent re-runs).
    pub async fn connect(
        distribution_id: &str,
        endpoint: Option<&str>,
        timeouts: crate::util::net::Timeouts,
        reference: String,
        max_paths: usize,
    ) -> Result<Self> {
        if distribution_id.is_empty() {
            return Err(Error::Usage(
                "CloudFront needs --distribution-id (or cdn_distribution_id in cdnpub.toml)".into(),
            ));
        }
        if !(1..=MAX_PATHS_IN_FLIGHT).contains(&max_paths) {
            return Err(Error::Usage(format!(
                "--max-paths {max_paths} must be between 1 and {MAX_PATHS_IN_FLIGHT}"
            )));
        }
        let (endpoint, http) = super::api_client(endpoint, DEFAULT_ENDPOINT, timeouts)?;
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(crate::util::net::aws_http_client())
            .region(aws_config::Region::new("us-east-1"))
            .load()
            .await;
        let credentials = shared.credentials_provider().ok_or_else(|| {
            Error::Usage("CloudFront needs AWS credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, or web identity)".into())
        })?;
        Ok(CloudFront {
            http,
            endpoint,
            credentials,
            distribution_id: distribution_id.to_string(),
            reference,
            max_paths,
        })
    }

    /// One signed request to `path` under the API version; the answer's body, or the error.
    async fn call(
        &self,
        action: &str,
        method: &str,
        path: &str,
        body: String,
    ) -> Result<String, ApiError> {
        let url = self
            .endpoint
            .join(&format!(
                "{API}/distribution/{}/{path}",
                self.distribution_id
            ))
            .map_err(|e| fatal(format!("{action}: {e}")))?;
        let creds = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| ApiError {
                code: "CredentialsError".into(),
                message: format!("{action}: no AWS credentials: {}", chain(&e)),
                class: ErrorClass::Fatal,
            })?;
        let headers = [("content-type", "application/xml")];
        let signed = sigv4_headers(
            "cloudfront",
            method,
            url.as_str(),
            &headers,
            body.as_bytes(),
            creds,
            SystemTime::now(),
        )
        .map_err(|e| fatal(format!("signing {action}: {e}")))?;
        let method =
            reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| fatal(e.to_string()))?;
        let mut req = self.http.request(method, url.clone());
        for (k, v) in headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain(signed)
        {
            req = req.header(k, v);
        }
        let (status, body) = super::exchange(req.body(body), &self.distribution_id, action).await?;
        let text = String::from_utf8_lossy(&body).into_owned();
        if status.is_success() {
            return Ok(text);
        }
        let code = first_text(&text, "Code").unwrap_or_default();
        let message = first_text(&text, "Message").unwrap_or_else(|| format!("HTTP {status}"));
        Err(self.error(action, status.as_u16(), code, &message))
    }

    fn error(&self, action: &str, status: u16, code: String, detail: &str) -> ApiError {
        let (class, hint) = match code.as_str() {
            "TooManyInvalidationsInProgress" | "Throttling" | "ServiceUnavailable" => (
                ErrorClass::Retry,
                " (CloudFront's in-flight limit: retried with backoff)",
            ),
            "NoSuchDistribution" => (ErrorClass::Fatal, " (check --distribution-id)"),
            "InvalidationBatchAlreadyExists" => (
                ErrorClass::Fatal,
                " (this caller reference was used with other paths)",
            ),
            "AccessDenied" | "InvalidClientTokenId" | "SignatureDoesNotMatch" => (
                ErrorClass::Fatal,
                " (check the AWS credentials and their cloudfront:CreateInvalidation permission)",
            ),
            _ if status == 429 => (ErrorClass::Retry, " (throttled: retried with backoff)"),
            _ if status >= 500 => (ErrorClass::Unsure, ""),
            _ => (ErrorClass::Fatal, ""),
        };
        ApiError {
            code: if code.is_empty() {
                format!("HTTP{status}")
            } else {
                code
            },
            message: format!("{action} on {}: {detail}{hint}", self.distribution_id),
            class,
        }
    }
}

/// An error and its causes, one after the other (the credential chain says why in a source).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        out.push_str(": ");
        out.push_str(&s.to_string());
        next = s.source();
    }
    out
}

/// The SigV4 headers (authorization, x-amz-date, x-amz-security-token) for a request to
/// `service` in us-east-1, the region CloudFront's API is signed for.
pub fn sigv4_headers(
    service: &str,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    creds: aws_credential_types::Credentials,
    time: SystemTime,
) -> std::result::Result<Vec<(String, String)>, String> {
    let identity = creds.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    signed_headers(&params, method, url, headers, body)
}

/// The headers `params` (SigV4 or SigV4A) add to a request: authorization, x-amz-date and,
/// as the scheme needs, x-amz-region-set and x-amz-security-token.
pub fn signed_headers(
    params: &aws_sigv4::http_request::SigningParams<'_>,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::result::Result<Vec<(String, String)>, String> {
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(request, params)
        .map_err(|e| e.to_string())?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

/// The CreateInvalidation body: the paths and the caller reference.
pub fn invalidation_batch(paths: &[String], reference: &str) -> String {
    use aws_smithy_xml::encode::XmlWriter;
    let mut out = String::new();
    let mut doc = XmlWriter::new(&mut out);
    let mut batch = doc
        .start_el("InvalidationBatch")
        .write_ns(XMLNS, None)
        .finish();
    let mut p = batch.start_el("Paths").finish();
    p.start_el("Quantity")
        .finish()
        .data(&paths.len().to_string());
    let mut items = p.start_el("Items").finish();
    for path in paths {
        items.start_el("Path").finish().data(path);
    }
    items.finish();
    p.finish();
    batch.start_el("CallerReference").finish().data(reference);
    batch.finish();
    out
}

/// The text of the first element named `name` anywhere in `xml` (CloudFront's answers and
/// errors name each field once: `Invalidation/Id`, `Invalidation/Status`, `Error/Code`).
pub fn first_text(xml: &str, name: &str) -> Option<String> {
    let mut doc = aws_smithy_xml::decode::Document::new(xml);
    while let Some(el) = doc.next_start_element() {
        if el.local() == name {
            return aws_smithy_xml::decode::try_data(&mut doc)
                .ok()
                .map(|t| t.trim().to_string());
        }
    }
    None
}

/// Collapse paths to the deepest directory level at which at most `max_paths` remain and at
/// most `max_wildcards` of them are wildcards. Returns the paths (sorted) and whether they
/// were collapsed.
pub fn collapse(paths: &[String], max_paths: usize, max_wildcards: usize) -> (Vec<String>, bool) {
    let unique: BTreeSet<&str> = paths.iter().map(String::as_str).collect();
    if unique.len() <= max_paths && wildcards(unique.iter().copied()) <= max_wildcards {
        return (unique.into_iter().map(str::to_owned).collect(), false);
    }
    let split: Vec<(Vec<&str>, &str)> = unique
        .iter()
        .map(|p| {
            let segs: Vec<&str> = p.trim_start_matches('/').split('/').collect();
            let (dirs, _) = segs.split_at(segs.len() - 1);
            (dirs.to_vec(), *p)
        })
        .collect();
    let deepest = split.iter().map(|(d, _)| d.len()).max().unwrap_or(0);
    for depth in (0..=deepest).rev() {
        let set: BTreeSet<String> = split
            .iter()
            .map(|(dirs, p)| {
                if dirs.len() >= depth {
                    format!(
                        "/{}*",
                        dirs[..depth]
                            .iter()
                            .map(|d| format!("{d}/"))
                            .collect::<String>()
                    )
                } else {
                    (*p).to_string()
                }
            })
            .collect();
        let set = if set.contains("/*") {
            BTreeSet::from(["/*".to_string()])
        } else {
            set
        };
        if set.len() <= max_paths && wildcards(set.iter().map(String::as_str)) <= max_wildcards {
            return (set.into_iter().collect(), true);
        }
    }
    (vec!["/*".to_string()], true)
}

fn wildcards<'a>(paths: impl Iterator<Item = &'a str>) -> usize {
    paths.filter(|p| p.ends_with('*')).count()
}

impl Cdn for CloudFront {
    fn name(&self) -> &'static str {
        "cloudfront"
    }

    fn limits(&self) -> Limits {
        Limits {
            calls_per_second: 5.0,
            status_ids_per_call: 1,
            status_calls_per_second: 10.0,
        }
    }

    fn plan(&self, action: Action, kind: ObjectKind, urls: &[String]) -> Result<Plan> {
        if action == Action::Prefetch {
            return Err(Error::Usage(
                "CloudFront has no prefetch API; use --provider aliyun, or warm the edge with plain GETs".into(),
            ));
        }
        let paths: Vec<String> = urls
            .iter()
            .map(|u| {
                let p = path_of(u);
                match kind {
                    ObjectKind::File => p,
                    ObjectKind::Directory => format!("{}/*", p.trim_end_matches('/')),
                }
            })
            .collect();
        let (paths, collapsed) = collapse(&paths, self.max_paths, MAX_WILDCARDS_IN_FLIGHT);
        let mut notes = Vec::new();
        if collapsed {
            notes.push(format!(
                "{} paths collapsed to {} (more than --max-paths {}): {}",
                urls.len(),
                paths.len(),
                self.max_paths,
                paths.join(" ")
            ));
        }
        Ok(Plan {
            batches: paths
                .chunks(MAX_PATHS_IN_FLIGHT)
                .enumerate()
                .map(|(i, c)| {
                    let reference = caller_reference(&self.reference, i, c);
                    Batch {
                        call: format!(
                            "CreateInvalidation DistributionId={} CallerReference={reference}",
                            self.distribution_id
                        ),
                        kind,
                        paths: c.to_vec(),
                        reference: Some(reference),
                    }
                })
                .collect(),
            notes,
        })
    }

    fn has_quota(&self) -> bool {
        false
    }

    fn idempotent_submit(&self) -> bool {
        // CreateInvalidation with the same CallerReference and paths returns the first one.
        true
    }

    fn can_prefetch(&self) -> bool {
        false
    }

    async fn quota(&self, _action: Action) -> Result<Option<Quota>, ApiError> {
        Ok(None)
    }

    async fn submit(&self, _action: Action, batch: &Batch) -> Result<Vec<String>, ApiError> {
        let reference = batch.reference.clone().unwrap_or_default();
        let body = invalidation_batch(&batch.paths, &reference);
        let answer = self
            .call("CreateInvalidation", "POST", "invalidation", body)
            .await?;
        Ok(first_text(&answer, "Id").into_iter().collect())
    }

    async fn status(&self, ids: &[String]) -> Result<Vec<(String, TaskState)>, ApiError> {
        let mut out = Vec::new();
        for id in ids {
            let path = format!(
                "invalidation/{}",
                percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC)
            );
            let answer = self
                .call("GetInvalidation", "GET", &path, String::new())
                .await?;
            let status = first_text(&answer, "Status").unwrap_or_default();
            let state = if status.eq_ignore_ascii_case("completed") {
                TaskState::Done
            } else {
                TaskState::Pending
            };
            out.push((id.clone(), state));
        }
        Ok(out)
    }
}

fn fatal(message: String) -> ApiError {
    ApiError {
        code: "InvalidRequest".into(),
        message,
        class: ErrorClass::Fatal,
    }
}

/// `cdnpub-<reference>-<batch>-<digest of the paths>`: the same release and paths give the
/// same reference (CloudFront returns the existing invalidation), other paths another one.
pub fn caller_reference(reference: &str, batch: usize, paths: &[String]) -> String {
    let digest = super::canonical::sha256(paths.join("\n").as_bytes());
    format!("cdnpub-{reference}-{batch}-{}", &digest[..12])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn few_paths_stay_exact() {
        let p = strs(&["/index.html", "/js/a.js", "/js/a.js"]);
        assert_eq!(
            collapse(&p, 100, 15),
            (strs(&["/index.html", "/js/a.js"]), false)
        );
    }

    #[test]
    fn many_paths_collapse_to_the_deepest_common_directories() {
        let mut p: Vec<String> = (0..3000)
            .map(|i| format!("/web/assets/js/{i}.js"))
            .collect();
        p.extend((0..2000).map(|i| format!("/web/assets/img/{i}.png")));
        p.push("/web/index.html".into());
        let (got, collapsed) = collapse(&p, 100, 15);
        assert!(collapsed);
        assert_eq!(
            got,
            strs(&["/web/assets/img/*", "/web/assets/js/*", "/web/index.html"])
        );
        // Too many directories at one level: one level up.
        let p: Vec<String> = (0..40).map(|i| format!("/a/d{i}/x.js")).collect();
        assert_eq!(collapse(&p, 20, 15).0, strs(&["/a/*"]));
        let p: Vec<String> = (0..40).map(|i| format!("/d{i}/x.js")).collect();
        assert_eq!(collapse(&p, 20, 15).0, strs(&["/*"]));
    }

    /// AWS's published SigV4 test suite, `get-vanilla`: fixed key, time and request, and
    /// the signature AWS gives for them.
    #[test]
    fn signs_aws_published_get_vanilla_example() {
        let creds = aws_credential_types::Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        );
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 20150830T123600Z
        let h = sigv4_headers(
            "service",
            "GET",
            "https://example.amazonaws.com/",
            &[],
            b"",
            creds,
            time,
        )
        .unwrap();
        let get = |k: &str| h.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("x-amz-date"), Some("20150830T123600Z"));
        assert_eq!(
            get("authorization"),
            Some("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        );
    }

    #[test]
    fn cloudfront_requests_are_signed_for_us_east_1_with_the_session_token() {
        let creds = aws_credential_types::Credentials::new(
            "AKID",
            "secret",
            Some("TOKEN".into()),
            None,
            "test",
        );
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let body = invalidation_batch(&strs(&["/a"]), "r");
        let h = sigv4_headers(
            "cloudfront",
            "POST",
            "https://cloudfront.amazonaws.com/2020-05-31/distribution/E1/invalidation",
            &[("content-type", "application/xml")],
            body.as_bytes(),
            creds,
            time,
        )
        .unwrap();
        let auth = &h.iter().find(|(n, _)| n == "authorization").unwrap().1;
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/cloudfront/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="),
            "{auth}"
        );
        assert!(h
            .iter()
            .any(|(n, v)| n == "x-amz-security-token" && v == "TOKEN"));
        assert!(!auth.contains("secret"));
    }

    #[test]
    fn the_invalidation_batch_is_the_documented_xml() {
        assert_eq!(
            invalidation_batch(&strs(&["/index.html", "/a&b/*"]), "cdnpub-r-0-abc"),
            "<InvalidationBatch xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">\
             <Paths><Quantity>2</Quantity><Items><Path>/index.html</Path><Path>/a&amp;b/*</Path></Items></Paths>\
             <CallerReference>cdnpub-r-0-abc</CallerReference></InvalidationBatch>"
        );
    }

    #[test]
    fn answers_and_errors_are_read_by_field() {
        let created = r#"<?xml version="1.0"?>
<Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>I2J0I21PCUYOIK</Id>
<Status>InProgress</Status><CreateTime>2026-01-01T00:00:00Z</CreateTime><InvalidationBatch>
<Paths><Quantity>1</Quantity><Items><Path>/a</Path></Items></Paths><CallerReference>r</CallerReference>
</InvalidationBatch></Invalidation>"#;
        assert_eq!(first_text(created, "Id").as_deref(), Some("I2J0I21PCUYOIK"));
        assert_eq!(first_text(created, "Status").as_deref(), Some("InProgress"));
        let error = r#"<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">
<Error><Type>Sender</Type><Code>NoSuchDistribution</Code><Message>The specified distribution does not exist.</Message></Error>
<RequestId>x</RequestId></ErrorResponse>"#;
        assert_eq!(
            first_text(error, "Code").as_deref(),
            Some("NoSuchDistribution")
        );
        assert_eq!(
            first_text(error, "Message").as_deref(),
            Some("The specified distribution does not exist.")
        );
        assert_eq!(first_text("not xml <", "Code"), None);
    }

    #[test]
    fn caller_reference_depends_on_release_and_paths() {
        let a = caller_reference("r1", 0, &strs(&["/a"]));
        assert_eq!(a, caller_reference("r1", 0, &strs(&["/a"])));
        assert_ne!(a, caller_reference("r1", 0, &strs(&["/b"])));
        assert_ne!(a, caller_reference("r2", 0, &strs(&["/a"])));
    }
}
