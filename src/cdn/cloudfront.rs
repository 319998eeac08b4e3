//! AWS CloudFront through aws-sdk-cloudfront: CreateInvalidation (purge) with a caller
//! reference derived from the release, GetInvalidation (status). Many changed paths collapse
//! to the deepest common directories with `/*`, within CloudFront's in-flight limits.

use std::collections::BTreeSet;

use aws_sdk_cloudfront::error::ProvideErrorMetadata;
use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
use aws_sdk_cloudfront::Client;

use super::urls::path_of;
use super::{Action, ApiError, Batch, Cdn, ErrorClass, Limits, ObjectKind, Plan, Quota, TaskState};
use crate::error::{Error, Result};

/// File paths CloudFront allows in flight per distribution.
pub const MAX_PATHS_IN_FLIGHT: usize = 3000;
/// Wildcard paths CloudFront allows in flight per distribution.
pub const MAX_WILDCARDS_IN_FLIGHT: usize = 15;
/// Default `--max-paths`: more paths than this are collapsed.
pub const DEFAULT_MAX_PATHS: usize = 100;

/// A CloudFront distribution.
#[derive(Debug)]
pub struct CloudFront {
    client: Client,
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
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(crate::util::aws_http_client())
            .region(aws_config::Region::new("us-east-1"))
            .load()
            .await;
        // The CDN engine retries every call under crate::retry::CDN; the SDK must not retry
        // as well (3 SDK attempts × 8 engine attempts was 24 for one batch).
        let mut b = aws_sdk_cloudfront::config::Builder::from(&shared)
            .retry_config(aws_sdk_cloudfront::config::retry::RetryConfig::disabled());
        if let Some(e) = endpoint {
            b = b.endpoint_url(e);
        }
        Ok(CloudFront {
            client: Client::from_conf(b.build()),
            distribution_id: distribution_id.to_string(),
            reference,
            max_paths,
        })
    }

    fn error<E, R>(&self, action: &str, e: aws_sdk_cloudfront::error::SdkError<E, R>) -> ApiError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let code = e.code().unwrap_or("").to_string();
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
            "" => (ErrorClass::Unsure, ""),
            _ => (ErrorClass::Fatal, ""),
        };
        let detail = e
            .message()
            .map(str::to_owned)
            .unwrap_or_else(|| aws_sdk_cloudfront::error::DisplayErrorContext(&e).to_string());
        ApiError {
            code: if code.is_empty() {
                "NetworkError".into()
            } else {
                code
            },
            message: format!("{action} on {}: {detail}{hint}", self.distribution_id),
            class,
        }
    }
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

    async fn quota(&self) -> Result<Option<Quota>, ApiError> {
        Ok(None)
    }

    async fn submit(&self, _action: Action, batch: &Batch) -> Result<Vec<String>, ApiError> {
        let reference = batch.reference.clone().unwrap_or_default();
        let paths = Paths::builder()
            .quantity(batch.paths.len() as i32)
            .set_items(Some(batch.paths.clone()))
            .build()
            .map_err(|e| fatal(e.to_string()))?;
        let inv = InvalidationBatch::builder()
            .paths(paths)
            .caller_reference(reference)
            .build()
            .map_err(|e| fatal(e.to_string()))?;
        let out = self
            .client
            .create_invalidation()
            .distribution_id(&self.distribution_id)
            .invalidation_batch(inv)
            .send()
            .await
            .map_err(|e| self.error("CreateInvalidation", e))?;
        Ok(out
            .invalidation()
            .map(|i| vec![i.id().to_string()])
            .unwrap_or_default())
    }

    async fn status(&self, ids: &[String]) -> Result<Vec<(String, TaskState)>, ApiError> {
        let mut out = Vec::new();
        for id in ids {
            let r = self
                .client
                .get_invalidation()
                .distribution_id(&self.distribution_id)
                .id(id)
                .send()
                .await
                .map_err(|e| self.error("GetInvalidation", e))?;
            let status = r.invalidation().map(|i| i.status()).unwrap_or_default();
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
    let digest = super::acs3::sha256(paths.join("\n").as_bytes());
    format!("cdnpub-{reference}-{batch}-{}", &digest[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn caller_reference_depends_on_release_and_paths() {
        let a = caller_reference("r1", 0, &strs(&["/a"]));
        assert_eq!(a, caller_reference("r1", 0, &strs(&["/a"])));
        assert_ne!(a, caller_reference("r1", 0, &strs(&["/b"])));
        assert_ne!(a, caller_reference("r2", 0, &strs(&["/a"])));
    }
}
