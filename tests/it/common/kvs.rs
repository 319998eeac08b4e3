//! A stand-in for CloudFront's KeyValueStore data plane (2022-07-26) and its Functions control
//! plane (2020-05-31) on 127.0.0.1:0, written from AWS's API references and signing documents:
//!
//! - KeyValueStore: `GET /key-value-stores/{KvsARN}` (DescribeKeyValueStore: the store's ETag)
//!   and `PUT /key-value-stores/{KvsARN}/keys/{Key}` (PutKey: `If-Match` the current ETag, else
//!   409 ConflictException; JSON `{"Value": …}` of at most 1 KB), the ARN percent-encoded in the
//!   path; every request signed with SigV4A (`AWS4-ECDSA-P256-SHA256`, service
//!   `cloudfront-keyvaluestore`, `X-Amz-Region-Set: *`), verified here with the public key the
//!   documented key derivation gives (checked against the published test suite's key).
//! - Functions: DescribeFunction, CreateFunction (201), UpdateFunction (If-Match), PublishFunction
//!   (If-Match), XML in the 2020-05-31 namespace, `cloudfront-js-2.0`, the code base64, signed
//!   with SigV4 for us-east-1 and service `cloudfront`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::serve::{serve, Served};

/// The account's access key id.
pub const KEY_ID: &str = "AKIDCDNPUBKVSTEST001";
/// Its secret.
pub const SECRET: &str = "cdnpubKvsSecretDoNotPrint/0123456789abcd";
/// The store.
pub const ARN: &str =
    "arn:aws:cloudfront::123456789012:key-value-store/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111";

/// A function as the control plane keeps it.
#[derive(Debug, Clone, Default)]
pub struct Function {
    /// The DEVELOPMENT stage's code.
    pub code: String,
    /// The LIVE stage's code (after a publish).
    pub live: Option<String>,
    /// Runtime.
    pub runtime: String,
    /// Associated KeyValueStore ARNs.
    pub stores: Vec<String>,
    /// The current ETag.
    pub etag: String,
}

/// What the stand-in holds and saw.
#[derive(Debug, Default)]
pub struct State {
    /// The store's items.
    pub items: BTreeMap<String, String>,
    /// The store's ETag (changes with every write).
    pub store_etag: u64,
    /// Functions by name.
    pub functions: BTreeMap<String, Function>,
    /// Every request: (operation, status answered).
    pub log: Vec<(String, u16)>,
}

/// A running stand-in.
pub struct KvsServer {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Its state.
    pub state: Arc<Mutex<State>>,
    _served: Served,
}

impl KvsServer {
    /// Start on a free port.
    pub fn start() -> KvsServer {
        let state: Arc<Mutex<State>> = Arc::default();
        let st = state.clone();
        let served = serve(0, move || {
            move |req: hyper::Request<hyper::body::Incoming>| {
                let st = st.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(req, &st).await) }
            }
        });
        KvsServer {
            endpoint: format!("http://127.0.0.1:{}", served.port),
            state,
            _served: served,
        }
    }

    /// The credentials cdnpub reads.
    pub fn env() -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET.into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// Operations answered with `status`.
    pub fn answered(&self, status: u16) -> Vec<String> {
        let s = self.state.lock().unwrap();
        s.log
            .iter()
            .filter(|(_, c)| *c == status)
            .map(|(o, _)| o.clone())
            .collect()
    }
}

type Response = hyper::Response<Full<Bytes>>;

struct Req {
    method: String,
    path: String,
    query: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

fn reply(status: u16, headers: &[(&str, String)], body: String) -> Response {
    let mut b = hyper::Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, v);
    }
    b.body(Full::new(Bytes::from(body))).unwrap()
}

fn json_error(status: u16, kind: &str, message: &str) -> Response {
    reply(
        status,
        &[
            ("x-amzn-errortype", kind.to_string()),
            ("content-type", "application/json".into()),
        ],
        json!({ "__type": kind, "message": message }).to_string(),
    )
}

fn xml_error(status: u16, code: &str, message: &str) -> Response {
    reply(
        status,
        &[("content-type", "text/xml".into())],
        format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>0000</RequestId></ErrorResponse>"),
    )
}

async fn handle(req: hyper::Request<hyper::body::Incoming>, st: &Mutex<State>) -> Response {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let req = Req {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: body.to_vec(),
    };
    let (op, resp) = if req.path.starts_with("/key-value-stores/") {
        kvs(&req, st)
    } else if req.path.starts_with("/2020-05-31/function") {
        functions(&req, st)
    } else {
        (
            "?".into(),
            json_error(404, "UnknownOperationException", "no such operation"),
        )
    };
    st.lock().unwrap().log.push((op, resp.status().as_u16()));
    resp
}

// ---- KeyValueStore ----

fn kvs(req: &Req, st: &Mutex<State>) -> (String, Response) {
    let encoded = percent_encoding::utf8_percent_encode(ARN, SEGMENT).to_string();
    let rest = &req.path["/key-value-stores/".len()..];
    let (store, key) = match rest.split_once("/keys/") {
        Some((s, k)) => (s, Some(k)),
        None => (rest, None),
    };
    let op = match (req.method.as_str(), key) {
        ("GET", None) => "DescribeKeyValueStore",
        ("PUT", Some(_)) => "PutKey",
        _ => "?",
    };
    if let Err(why) = check_sigv4a(req) {
        return (op.into(), json_error(403, "AccessDeniedException", &why));
    }
    if store != encoded {
        return (
            op.into(),
            json_error(
                404,
                "ResourceNotFoundException",
                "the ARN in the path (percent-encoded) names no store",
            ),
        );
    }
    let mut s = st.lock().unwrap();
    let etag = format!("KV{}", s.store_etag);
    match (op, key) {
        ("DescribeKeyValueStore", _) => (
            op.into(),
            reply(200, &[("etag", etag), ("content-type", "application/json".into())],
                json!({"KvsARN": ARN, "Status": "READY", "ItemCount": s.items.len(), "TotalSizeInBytes": 0, "Created": 1.7e9}).to_string()),
        ),
        ("PutKey", Some(k)) => {
            if req.headers.get("if-match") != Some(&etag) {
                return (op.into(), json_error(409, "ConflictException", "If-Match is not the store's current ETag"));
            }
            let v: serde_json::Value = match serde_json::from_slice(&req.body) {
                Ok(v) => v,
                Err(_) => return (op.into(), json_error(400, "ValidationException", "the body is not JSON")),
            };
            let Some(value) = v["Value"].as_str().filter(|v| v.len() <= 1024) else {
                return (op.into(), json_error(400, "ValidationException", "Value is a string of at most 1 KB"));
            };
            let key = percent_encoding::percent_decode_str(k).decode_utf8_lossy().into_owned();
            s.items.insert(key, value.to_string());
            s.store_etag += 1;
            (
                op.into(),
                reply(200, &[("etag", format!("KV{}", s.store_etag)), ("content-type", "application/json".into())],
                    json!({"ItemCount": s.items.len(), "TotalSizeInBytes": 0}).to_string()),
            )
        }
        _ => (op.into(), json_error(404, "UnknownOperationException", "no such operation")),
    }
}

/// The SigV4A private scalar of (`key_id`, `secret`), derived as AWS's SigV4A documents it
/// (NIST SP 800-108 counter-mode KDF with HMAC-SHA256 keyed by "AWS4A" + secret, the fixed
/// input "AWS4-ECDSA-P256-SHA256" 0x00 key-id counter, 256 bits; the first candidate at most
/// n-2, plus one).
pub fn sigv4a_key(key_id: &str, secret: &str) -> p256::NonZeroScalar {
    use p256::elliptic_curve::PrimeField;
    for counter in 1u8..=254 {
        let mut fixed = b"AWS4-ECDSA-P256-SHA256".to_vec();
        fixed.push(0);
        fixed.extend_from_slice(key_id.as_bytes());
        fixed.push(counter);
        fixed.extend_from_slice(&256i32.to_be_bytes());
        let mut mac = Hmac::<Sha256>::new_from_slice(format!("AWS4A{secret}").as_bytes()).unwrap();
        mac.update(&1i32.to_be_bytes());
        mac.update(&fixed);
        let k0: [u8; 32] = mac.finalize().into_bytes().into();
        let scalar: Option<p256::Scalar> = p256::Scalar::from_repr(k0.into()).into();
        if let Some(k) = scalar {
            let pk = k + p256::Scalar::ONE;
            if let Some(nz) = Option::<p256::NonZeroScalar>::from(p256::NonZeroScalar::new(pk)) {
                return nz;
            }
        }
    }
    panic!("no key derived")
}

/// The request's canonical form, as the SigV4 documents define it (the path encoded once more,
/// the query sorted, the signed headers `name:value`, the body's SHA-256).
fn canonical(req: &Req, signed: &[&str]) -> String {
    let path: String = req
        .path
        .split('/')
        .map(|seg| percent_encoding::utf8_percent_encode(seg, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/");
    let mut query: Vec<&str> = req.query.split('&').filter(|q| !q.is_empty()).collect();
    query.sort_unstable();
    let headers: String = signed
        .iter()
        .map(|h| format!("{h}:{}\n", req.headers.get(*h).map_or("", |v| v.trim())))
        .collect();
    format!(
        "{}\n{path}\n{}\n{headers}\n{}\n{}",
        req.method,
        query.join("&"),
        signed.join(";"),
        hex(&Sha256::digest(&req.body))
    )
}

const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The Authorization header's parts: (algorithm, credential, signed headers, signature).
fn authorization(req: &Req) -> Result<(String, String, Vec<String>, String), String> {
    let auth = req
        .headers
        .get("authorization")
        .ok_or("no Authorization header")?;
    let (alg, rest) = auth
        .split_once(' ')
        .ok_or("a malformed Authorization header")?;
    let mut fields = BTreeMap::new();
    for part in rest.split(", ") {
        if let Some((k, v)) = part.split_once('=') {
            fields.insert(k.trim(), v.trim());
        }
    }
    let get = |k: &str| {
        fields
            .get(k)
            .map(|v| v.to_string())
            .ok_or(format!("no {k} in Authorization"))
    };
    let signed: Vec<String> = get("SignedHeaders")?
        .split(';')
        .map(str::to_string)
        .collect();
    for must in ["host", "x-amz-date"] {
        if !signed.iter().any(|s| s == must) {
            return Err(format!("{must} must be signed"));
        }
    }
    Ok((
        alg.to_string(),
        get("Credential")?,
        signed,
        get("Signature")?,
    ))
}

fn check_sigv4a(req: &Req) -> Result<(), String> {
    use p256::ecdsa::signature::Verifier;
    let (alg, credential, signed, signature) = authorization(req)?;
    if alg != "AWS4-ECDSA-P256-SHA256" {
        return Err(format!(
            "the KeyValueStore API is signed with SigV4A, not {alg}"
        ));
    }
    let date = req.headers.get("x-amz-date").ok_or("no X-Amz-Date")?;
    let scope = format!("{}/cloudfront-keyvaluestore/aws4_request", &date[..8]);
    if credential != format!("{KEY_ID}/{scope}") {
        return Err(format!("credential {credential} is not {KEY_ID}/{scope}"));
    }
    if req.headers.get("x-amz-region-set").map(String::as_str) != Some("*")
        || !signed.iter().any(|s| s == "x-amz-region-set")
    {
        return Err("X-Amz-Region-Set: * must be sent and signed".into());
    }
    let signed: Vec<&str> = signed.iter().map(String::as_str).collect();
    let sts = format!(
        "AWS4-ECDSA-P256-SHA256\n{date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical(req, &signed).as_bytes()))
    );
    let key = p256::ecdsa::SigningKey::from(sigv4a_key(KEY_ID, SECRET));
    let der: Vec<u8> = (0..signature.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&signature[i..i + 2], 16).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let sig = p256::ecdsa::DerSignature::try_from(der.as_slice()).map_err(|e| e.to_string())?;
    let sig = p256::ecdsa::Signature::try_from(sig).map_err(|e| e.to_string())?;
    key.verifying_key()
        .verify(sts.as_bytes(), &sig)
        .map_err(|_| "the SigV4A signature does not verify".to_string())
}

// ---- Functions ----

fn check_sigv4(req: &Req) -> Result<(), String> {
    let (alg, credential, signed, signature) = authorization(req)?;
    if alg != "AWS4-HMAC-SHA256" {
        return Err(format!("CloudFront's API is signed with SigV4, not {alg}"));
    }
    let date = req.headers.get("x-amz-date").ok_or("no X-Amz-Date")?;
    let scope = format!("{}/us-east-1/cloudfront/aws4_request", &date[..8]);
    if credential != format!("{KEY_ID}/{scope}") {
        return Err(format!("credential {credential} is not {KEY_ID}/{scope}"));
    }
    let signed: Vec<&str> = signed.iter().map(String::as_str).collect();
    let sts = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical(req, &signed).as_bytes()))
    );
    let mut key = format!("AWS4{SECRET}").into_bytes();
    for part in [
        &date[..8],
        "us-east-1",
        "cloudfront",
        "aws4_request",
        sts.as_str(),
    ] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(part.as_bytes());
        key = mac.finalize().into_bytes().to_vec();
    }
    if hex(&key) == signature {
        Ok(())
    } else {
        Err("the SigV4 signature does not match".into())
    }
}

/// The text of `<name>…</name>` in `xml`.
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(&xml[start..end])
}

/// A Create/UpdateFunction body: (root's name, function config), or why not.
fn function_body(req: &Req, root: &str) -> Result<Function, String> {
    let xml = String::from_utf8_lossy(&req.body).into_owned();
    if !xml.contains(&format!(
        "<{root} xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">"
    )) {
        return Err(format!(
            "the body's root is not {root} in the 2020-05-31 namespace"
        ));
    }
    let config = element(&xml, "FunctionConfig").ok_or("no FunctionConfig")?;
    element(config, "Comment").ok_or("FunctionConfig needs a Comment")?;
    let runtime = element(config, "Runtime").ok_or("no Runtime")?;
    if !["cloudfront-js-1.0", "cloudfront-js-2.0"].contains(&runtime) {
        return Err(format!("Runtime {runtime}"));
    }
    let mut stores = Vec::new();
    if let Some(assoc) = element(config, "KeyValueStoreAssociations") {
        let n: usize = element(assoc, "Quantity")
            .and_then(|q| q.parse().ok())
            .ok_or("Quantity")?;
        let mut rest = assoc;
        while let Some(arn) = element(rest, "KeyValueStoreARN") {
            stores.push(arn.to_string());
            rest = &rest[rest.find("</KeyValueStoreARN>").unwrap() + 1..];
        }
        if stores.len() != n || runtime != "cloudfront-js-2.0" {
            return Err(
                "KeyValueStoreAssociations: Quantity and items agree, on cloudfront-js-2.0".into(),
            );
        }
    }
    let code = base64::engine::general_purpose::STANDARD
        .decode(element(&xml, "FunctionCode").ok_or("no FunctionCode")?)
        .map_err(|_| "FunctionCode is not base64")?;
    if code.len() > 40_960 {
        return Err("FunctionCode is over 40 KB".into());
    }
    Ok(Function {
        code: String::from_utf8(code).map_err(|_| "the code is not UTF-8")?,
        runtime: runtime.into(),
        stores,
        ..Function::default()
    })
}

fn functions(req: &Req, st: &Mutex<State>) -> (String, Response) {
    let rest = req.path["/2020-05-31/function".len()..].trim_start_matches('/');
    let (name, action) = rest.split_once('/').unwrap_or((rest, ""));
    let name = &percent_encoding::percent_decode_str(name)
        .decode_utf8_lossy()
        .into_owned();
    let op = match (req.method.as_str(), name.is_empty(), action) {
        ("POST", true, _) => "CreateFunction",
        ("GET", false, "describe") => "DescribeFunction",
        ("PUT", false, "") => "UpdateFunction",
        ("POST", false, "publish") => "PublishFunction",
        _ => "?",
    };
    if let Err(why) = check_sigv4(req) {
        return (op.into(), xml_error(403, "SignatureDoesNotMatch", &why));
    }
    let mut s = st.lock().unwrap();
    let next_etag = |s: &State| format!("E{}", s.log.len() + 1);
    let if_match = req.headers.get("if-match").cloned().unwrap_or_default();
    match op {
        "CreateFunction" => {
            let xml = String::from_utf8_lossy(&req.body).into_owned();
            let Some(name) = element(&xml, "Name").map(str::to_string) else {
                return (
                    op.into(),
                    xml_error(400, "InvalidArgument", "Name is required"),
                );
            };
            if s.functions.contains_key(&name) {
                return (op.into(), xml_error(409, "FunctionAlreadyExists", "exists"));
            }
            match function_body(req, "CreateFunctionRequest") {
                Err(why) => (op.into(), xml_error(400, "InvalidArgument", &why)),
                Ok(mut f) => {
                    f.etag = next_etag(&s);
                    let etag = f.etag.clone();
                    s.functions.insert(name, f);
                    (
                        op.into(),
                        reply(201, &[("etag", etag)], "<FunctionSummary/>".into()),
                    )
                }
            }
        }
        "DescribeFunction" => {
            if req.query != "Stage=DEVELOPMENT" && req.query != "Stage=LIVE" {
                return (op.into(), xml_error(400, "InvalidArgument", "Stage"));
            }
            match s.functions.get(name) {
                None => (
                    op.into(),
                    xml_error(404, "NoSuchFunctionExists", "no such function"),
                ),
                Some(f) => (
                    op.into(),
                    reply(
                        200,
                        &[("etag", f.etag.clone())],
                        "<FunctionSummary/>".into(),
                    ),
                ),
            }
        }
        "UpdateFunction" => {
            let etag = next_etag(&s);
            let Some(f) = s.functions.get_mut(name) else {
                return (
                    op.into(),
                    xml_error(404, "NoSuchFunctionExists", "no such function"),
                );
            };
            if if_match != f.etag {
                return (op.into(), xml_error(412, "PreconditionFailed", "If-Match"));
            }
            match function_body(req, "UpdateFunctionRequest") {
                Err(why) => (op.into(), xml_error(400, "InvalidArgument", &why)),
                Ok(new) => {
                    let live = f.live.take();
                    *f = Function {
                        etag: etag.clone(),
                        live,
                        ..new
                    };
                    // The API model names this header ETtag.
                    (
                        op.into(),
                        reply(200, &[("ettag", etag)], "<FunctionSummary/>".into()),
                    )
                }
            }
        }
        "PublishFunction" => {
            let Some(f) = s.functions.get_mut(name) else {
                return (
                    op.into(),
                    xml_error(404, "NoSuchFunctionExists", "no such function"),
                );
            };
            if if_match != f.etag {
                return (op.into(), xml_error(412, "PreconditionFailed", "If-Match"));
            }
            f.live = Some(f.code.clone());
            (op.into(), reply(200, &[], "<FunctionSummary/>".into()))
        }
        _ => (
            op.into(),
            xml_error(400, "InvalidAction", "no such operation"),
        ),
    }
}
