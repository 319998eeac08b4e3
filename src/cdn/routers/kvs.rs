//! CloudFront's side of a rollout: the KeyValueStore the viewer-request function reads (data
//! plane `cloudfront-keyvaluestore` 2022-07-26: DescribeKeyValueStore for the store's ETag, then
//! PutKey with `If-Match`, signed with SigV4A, `AWS4-ECDSA-P256-SHA256`, region set `*`), and
//! the two CloudFront Functions (control plane 2020-05-31: DescribeFunction, CreateFunction or
//! UpdateFunction, PublishFunction, signed with SigV4 for us-east-1). Requests are signed by
//! `aws-sigv4` with credentials from the AWS chain the S3 client uses.

use std::time::SystemTime;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::SigningSettings;
use base64::Engine as _;
use percent_encoding::utf8_percent_encode;

use super::call::{retried, Call, LABEL};
use crate::cdn::cloudfront::{first_text, signed_headers, sigv4_headers};
use crate::cdn::{ApiError, ErrorClass};
use crate::error::{Error, Result};

/// The KeyValueStore API's signing name.
pub const KVS_SERVICE: &str = "cloudfront-keyvaluestore";
/// The Functions API's address.
pub const FUNCTIONS_ENDPOINT: &str = crate::cdn::cloudfront::DEFAULT_ENDPOINT;
const XMLNS: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";

/// `arn:aws:cloudfront::ACCOUNT:key-value-store/ID`, or why not.
pub fn check_arn(arn: &str) -> std::result::Result<(), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1] == "aws"
        && parts[2] == "cloudfront"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("key-value-store/").is_some_and(|id| {
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{arn:?} is not a KeyValueStore ARN (arn:aws:cloudfront::ACCOUNT:key-value-store/ID, \
             on the store's page or from `aws cloudfront describe-key-value-store`)"
        ))
    }
}

/// The store's id: the ARN's last part (what `cf.kvs(…)` takes in a function).
pub fn kvs_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// AWS credentials from the standard chain (environment, profile, web identity, SSO).
pub async fn credentials() -> Result<SharedCredentialsProvider> {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(crate::util::net::aws_http_client())
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    shared.credentials_provider().ok_or_else(|| {
        Error::Usage(
            "CloudFront needs AWS credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, or web identity)"
                .into(),
        )
    })
}

/// One AWS API: where it is, how it is reached, who signs.
struct Aws {
    http: reqwest::Client,
    endpoint: url::Url,
    credentials: SharedCredentialsProvider,
}

/// An answer: status, the ETag (or UpdateFunction's `ETtag`), the body.
struct Answer {
    status: u16,
    etag: Option<String>,
    body: String,
}

impl Aws {
    async fn open(
        endpoint: Option<&str>,
        default: &str,
        timeouts: crate::util::net::Timeouts,
    ) -> Result<Aws> {
        let (endpoint, http) = crate::cdn::http::api_client(endpoint, default, timeouts)?;
        Ok(Aws {
            http,
            endpoint,
            credentials: credentials().await?,
        })
    }

    /// Send one signed request (`v4a`: SigV4A for the KeyValueStore, else SigV4 for
    /// CloudFront); any answer comes back, a transport failure is an error.
    async fn send(
        &self,
        call: &Call,
        headers: &[(&str, &str)],
        v4a: bool,
    ) -> Result<Answer, ApiError> {
        let creds = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| ApiError {
                code: "CredentialsError".into(),
                message: format!("{}: no AWS credentials: {e}", call.operation),
                class: ErrorClass::Fatal,
            })?;
        let now = SystemTime::now();
        let signed = if v4a {
            sigv4a_headers(KVS_SERVICE, call, headers, creds, now)
        } else {
            sigv4_headers(
                "cloudfront",
                &call.method,
                &call.url,
                headers,
                call.body.as_bytes(),
                creds,
                now,
            )
        }
        .map_err(|e| fatal(format!("signing {}: {e}", call.operation)))?;
        let method = reqwest::Method::from_bytes(call.method.as_bytes())
            .map_err(|e| fatal(e.to_string()))?;
        let mut req = self.http.request(method, &call.url);
        for (k, v) in headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain(signed)
        {
            req = req.header(k, v);
        }
        let resp = req
            .body(call.body.clone())
            .send()
            .await
            .map_err(|e| ApiError {
                code: "NetworkError".into(),
                message: format!("{} on {}: {e}", call.operation, self.endpoint),
                class: if e.is_connect() {
                    ErrorClass::Retry
                } else {
                    ErrorClass::Unsure
                },
            })?;
        let status = resp.status().as_u16();
        let etag = ["etag", "ettag"]
            .iter()
            .find_map(|h| resp.headers().get(*h))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.text().await.unwrap_or_default();
        Ok(Answer { status, etag, body })
    }
}

fn fatal(message: String) -> ApiError {
    ApiError {
        code: "InvalidRequest".into(),
        message,
        class: ErrorClass::Fatal,
    }
}

/// The SigV4A headers (authorization, x-amz-date, x-amz-region-set, x-amz-security-token)
/// for `call` to `service`, valid in every region (`*`).
pub fn sigv4a_headers(
    service: &str,
    call: &Call,
    headers: &[(&str, &str)],
    creds: aws_credential_types::Credentials,
    time: SystemTime,
) -> std::result::Result<Vec<(String, String)>, String> {
    let identity = creds.into();
    let params = aws_sigv4::sign::v4a::SigningParams::builder()
        .identity(&identity)
        .region_set("*")
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    signed_headers(
        &params,
        &call.method,
        &call.url,
        headers,
        call.body.as_bytes(),
    )
}

/// The error an AWS answer carries: its code (JSON `__type`/`code` or XML `Code`) and message,
/// with what to do.
fn refusal(operation: &str, target: &str, a: &Answer) -> ApiError {
    let json: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_default();
    let code = first_text(&a.body, "Code")
        .or_else(|| {
            json["__type"]
                .as_str()
                .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
        })
        .or_else(|| json["code"].as_str().map(str::to_string))
        .unwrap_or_default();
    let message = first_text(&a.body, "Message")
        .or_else(|| {
            json["message"]
                .as_str()
                .or(json["Message"].as_str())
                .map(str::to_string)
        })
        .unwrap_or_default();
    let (class, hint) = match (a.status, code.as_str()) {
        (429, _) | (_, "ThrottlingException") | (_, "Throttling") => {
            (ErrorClass::Retry, " (throttled: retried with backoff)")
        }
        (409, _) | (412, _) | (_, "PreconditionFailed") => (
            ErrorClass::Retry,
            " (someone changed it meanwhile: read again and retried)",
        ),
        (403, _) => (
            ErrorClass::Fatal,
            " (check the AWS credentials and their cloudfront-keyvaluestore:* / cloudfront:*Function permissions)",
        ),
        (404, _) => (ErrorClass::Fatal, " (check the ARN or the function's name)"),
        (s, _) if s >= 500 => (ErrorClass::Unsure, ""),
        _ => (ErrorClass::Fatal, ""),
    };
    ApiError::answered(
        a.status,
        &code,
        &message,
        &format!("{operation} on {target}"),
        class,
        hint,
    )
}

/// A CloudFront KeyValueStore.
pub struct KeyValueStore {
    aws: Aws,
    arn: String,
}

impl KeyValueStore {
    /// The store `arn`, at `endpoint` (default: `https://ACCOUNT.cloudfront-kvs.global.api.aws`).
    pub async fn connect(
        arn: &str,
        endpoint: Option<&str>,
        timeouts: crate::util::net::Timeouts,
    ) -> Result<Self> {
        check_arn(arn).map_err(Error::Usage)?;
        let account = arn.split(':').nth(4).unwrap_or_default();
        let default = format!("https://{account}.cloudfront-kvs.global.api.aws");
        Ok(KeyValueStore {
            aws: Aws::open(endpoint, &default, timeouts).await?,
            arn: arn.to_string(),
        })
    }

    fn url(&self, rest: &str) -> String {
        format!(
            "{}/key-value-stores/{}{rest}",
            self.aws.endpoint.as_str().trim_end_matches('/'),
            utf8_percent_encode(&self.arn, LABEL)
        )
    }

    /// The calls [`Self::put`] makes.
    pub fn put_calls(&self, key: &str, value: &str) -> Vec<Call> {
        vec![
            Call {
                operation: "DescribeKeyValueStore".into(),
                method: "GET".into(),
                url: self.url(""),
                body: String::new(),
            },
            Call {
                operation: "PutKey".into(),
                method: "PUT".into(),
                url: self.url(&format!("/keys/{}", utf8_percent_encode(key, LABEL))),
                body: serde_json::json!({ "Value": value }).to_string(),
            },
        ]
    }

    /// Set `key` to `value`: the store's ETag, then PutKey with it (a concurrent change is a
    /// 409, read again and retried). The calls, sent unless `dry_run`.
    pub async fn put(&self, key: &str, value: &str, dry_run: bool) -> Result<Vec<Call>> {
        let calls = self.put_calls(key, value);
        if dry_run {
            return Ok(calls);
        }
        retried(|| async {
            let a = self.aws.send(&calls[0], &[], true).await?;
            if a.status != 200 {
                return Err(refusal(&calls[0].operation, &self.arn, &a));
            }
            let etag = a
                .etag
                .ok_or_else(|| fatal("DescribeKeyValueStore answered no ETag".into()))?;
            let headers = [
                ("content-type", "application/json"),
                ("if-match", etag.as_str()),
            ];
            let a = self.aws.send(&calls[1], &headers, true).await?;
            if a.status != 200 {
                return Err(refusal(&calls[1].operation, &self.arn, &a));
            }
            Ok(())
        })
        .await?;
        Ok(calls)
    }
}

/// A CloudFront Function to create or update, then publish.
#[derive(Debug, Clone)]
pub struct Function {
    /// Its name (`cdnpub-rollout-request`).
    pub name: String,
    /// Its code (cloudfront-js-2.0).
    pub code: String,
    /// What it is.
    pub comment: String,
    /// The KeyValueStore it reads, if any.
    pub kvs_arn: Option<String>,
}

impl Function {
    /// The `FunctionConfig` + `FunctionCode` elements (with `Name` first for a create).
    fn xml(&self, root: &str, with_name: bool) -> String {
        use aws_smithy_xml::encode::XmlWriter;
        let mut out = String::new();
        let mut doc = XmlWriter::new(&mut out);
        let mut r = doc.start_el(root).write_ns(XMLNS, None).finish();
        if with_name {
            r.start_el("Name").finish().data(&self.name);
        }
        let mut config = r.start_el("FunctionConfig").finish();
        config.start_el("Comment").finish().data(&self.comment);
        config
            .start_el("Runtime")
            .finish()
            .data("cloudfront-js-2.0");
        if let Some(arn) = &self.kvs_arn {
            let mut assoc = config.start_el("KeyValueStoreAssociations").finish();
            assoc.start_el("Quantity").finish().data("1");
            let mut items = assoc.start_el("Items").finish();
            let mut one = items.start_el("KeyValueStoreAssociation").finish();
            one.start_el("KeyValueStoreARN").finish().data(arn);
            one.finish();
            items.finish();
            assoc.finish();
        }
        config.finish();
        r.start_el("FunctionCode")
            .finish()
            .data(&base64::engine::general_purpose::STANDARD.encode(&self.code));
        r.finish();
        out
    }
}

/// CloudFront Functions (the control plane).
pub struct Functions {
    aws: Aws,
}

impl Functions {
    /// The API at `endpoint` (default cloudfront.amazonaws.com).
    pub async fn connect(
        endpoint: Option<&str>,
        timeouts: crate::util::net::Timeouts,
    ) -> Result<Self> {
        Ok(Functions {
            aws: Aws::open(endpoint, FUNCTIONS_ENDPOINT, timeouts).await?,
        })
    }

    fn url(&self, rest: &str) -> String {
        format!(
            "{}/2020-05-31/function{rest}",
            self.aws.endpoint.as_str().trim_end_matches('/')
        )
    }

    fn named(&self, f: &Function, rest: &str) -> String {
        self.url(&format!("/{}{rest}", utf8_percent_encode(&f.name, LABEL)))
    }

    /// The calls [`Self::deploy`] makes when the function exists (`exists`) or not.
    pub fn deploy_calls(&self, f: &Function, exists: bool) -> Vec<Call> {
        let call = |operation: &str, method: &str, url: String, body: String| Call {
            operation: operation.into(),
            method: method.into(),
            url,
            body,
        };
        let describe = call(
            "DescribeFunction",
            "GET",
            self.named(f, "/describe?Stage=DEVELOPMENT"),
            String::new(),
        );
        let write = if exists {
            call(
                "UpdateFunction",
                "PUT",
                self.named(f, ""),
                f.xml("UpdateFunctionRequest", false),
            )
        } else {
            call(
                "CreateFunction",
                "POST",
                self.url(""),
                f.xml("CreateFunctionRequest", true),
            )
        };
        let publish = call(
            "PublishFunction",
            "POST",
            self.named(f, "/publish"),
            String::new(),
        );
        vec![describe, write, publish]
    }

    /// Create (or update) `f` and publish it to LIVE: DescribeFunction for its ETag (none: a
    /// create), the write, then PublishFunction with the write's ETag; a concurrent change
    /// starts over from the describe. The calls, sent unless `dry_run` (then only the describe
    /// is sent, to say whether the function would be created or updated).
    pub async fn deploy(&self, f: &Function, dry_run: bool) -> Result<Vec<Call>> {
        let probe = self.deploy_calls(f, true).swap_remove(0);
        let describe = || async {
            let a = self.aws.send(&probe, &[], false).await?;
            match a.status {
                200 => Ok(Some(a.etag.ok_or_else(|| {
                    fatal("DescribeFunction answered no ETag".into())
                })?)),
                404 => Ok(None),
                _ => Err(refusal(&probe.operation, &f.name, &a)),
            }
        };
        if dry_run {
            let found = retried(describe).await?;
            return Ok(self.deploy_calls(f, found.is_some()));
        }
        retried(|| async {
            let found = describe().await?;
            let calls = self.deploy_calls(f, found.is_some());
            let mut headers = vec![("content-type", "application/xml")];
            if let Some(e) = &found {
                headers.push(("if-match", e.as_str()));
            }
            let a = self.aws.send(&calls[1], &headers, false).await?;
            if !matches!(a.status, 200 | 201) {
                return Err(refusal(&calls[1].operation, &f.name, &a));
            }
            let etag = a
                .etag
                .ok_or_else(|| fatal(format!("{} answered no ETag", calls[1].operation)))?;
            let a = self
                .aws
                .send(&calls[2], &[("if-match", etag.as_str())], false)
                .await?;
            if a.status != 200 {
                return Err(refusal(&calls[2].operation, &f.name, &a));
            }
            Ok(calls)
        })
        .await
    }
}
