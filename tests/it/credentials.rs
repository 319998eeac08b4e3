//! Every credential source the README promises for S3-compatible targets, each proven against
//! the in-process S3 server (s3s-fs checks the SigV4 signature, so an upload only lands when the
//! key came from that source): Alibaba's and OSS's variables, the AWS shared credentials file
//! (the standard chain), and web identity (GitHub OIDC) through a local STS stand-in that
//! answers AssumeRoleWithWebIdentity as AWS documents it.

use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::common;
use common::s3::S3Server;

/// `cdnpub upload` of the example tree to a fresh prefix, with only `env` for credentials.
fn upload_with(server: &S3Server, tmp: &Path, env: &[(&str, String)]) -> (bool, String) {
    let dir = common::build_public(
        tmp,
        &common::fixtures().join("vite-vue/dist"),
        &["--no-compress"],
    );
    let prefix = server.unique_prefix("creds");
    let mut cmd = common::cdnpub(tmp);
    cmd.args([
        "upload",
        dir.to_str().unwrap(),
        "--path-style",
        "--region",
        "us-east-1",
    ])
    .args(["--endpoint", &server.endpoint])
    .args(["--to", &format!("s3://{}/{prefix}", server.bucket)])
    // No profile files of the developer's, no instance metadata probe.
    .env("AWS_CONFIG_FILE", tmp.join("no-config"))
    .env("AWS_SHARED_CREDENTIALS_FILE", tmp.join("no-credentials"))
    .env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let log = common::output_log(&out);
    (out.status.success(), log)
}

fn in_process() -> Option<S3Server> {
    let server = S3Server::start();
    if server.requests().is_none() {
        eprintln!("SKIPPED: needs the in-process S3 server (it checks which key signed)");
        return None;
    }
    Some(server)
}

#[test]
fn alibaba_and_oss_variables_sign_s3_requests() {
    let Some(server) = in_process() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for (id, secret) in [
        (
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        ),
        ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET"),
    ] {
        let (ok, log) = upload_with(
            &server,
            tmp.path(),
            &[
                (id, server.access_key.clone()),
                (secret, server.secret_key.clone()),
            ],
        );
        assert!(ok, "{id}: {log}");
        // A wrong secret in the same variables is refused by the server: the key came from them.
        let (ok, log) = upload_with(
            &server,
            tmp.path(),
            &[(id, server.access_key.clone()), (secret, "wrong".into())],
        );
        assert!(!ok, "{id} with a wrong secret uploaded: {log}");
    }
}

#[test]
fn the_aws_shared_credentials_file_is_read() {
    let Some(server) = in_process() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("credentials");
    fs::write(
        &file,
        format!(
            "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[deploy]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            server.access_key, server.secret_key
        ),
    )
    .unwrap();
    let creds = file.display().to_string();
    let (ok, log) = upload_with(
        &server,
        tmp.path(),
        &[
            ("AWS_SHARED_CREDENTIALS_FILE", creds.clone()),
            ("AWS_PROFILE", "deploy".into()),
        ],
    );
    assert!(ok, "{log}");
    let (ok, log) = upload_with(
        &server,
        tmp.path(),
        &[("AWS_SHARED_CREDENTIALS_FILE", creds)],
    );
    assert!(!ok, "the default profile's wrong key uploaded: {log}");
}

/// A stand-in for STS: AssumeRoleWithWebIdentity with the expected role and token answers the
/// S3 server's key as temporary credentials (the documented XML); anything else 403.
fn sts(
    key: (String, String),
    role: &'static str,
    token: &'static str,
) -> (common::serve::Served, Arc<Mutex<Vec<String>>>) {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let served = common::serve::serve(0, move || {
        move |req: hyper::Request<hyper::body::Incoming>| {
            let (log, key) = (log.clone(), key.clone());
            async move {
                let query = req.uri().query().unwrap_or("").to_string();
                let body = req.into_body().collect().await?.to_bytes();
                let all = format!("{query}&{}", String::from_utf8_lossy(&body));
                let params: Vec<(String, String)> = url::form_urlencoded::parse(all.as_bytes())
                    .into_owned()
                    .collect();
                let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
                log.lock()
                    .unwrap()
                    .push(get("Action").unwrap_or("").to_string());
                let ok = get("Action") == Some("AssumeRoleWithWebIdentity")
                    && get("RoleArn") == Some(role)
                    && get("WebIdentityToken") == Some(token);
                let resp = if ok {
                    let xml = format!(
                        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><SessionToken>session-token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>{role}/cdnpub</Arn><AssumedRoleId>AROA:cdnpub</AssumedRoleId></AssumedRoleUser></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>",
                        key.0, key.1
                    );
                    hyper::Response::new(Full::new(Bytes::from(xml)))
                } else {
                    hyper::Response::builder()
                        .status(403)
                        .body(Full::new(Bytes::from_static(
                            b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no</Message></Error></ErrorResponse>",
                        )))
                        .unwrap()
                };
                Ok::<_, hyper::Error>(resp)
            }
        }
    });
    (served, seen)
}

#[test]
fn web_identity_credentials_come_from_sts() {
    let Some(server) = in_process() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    const ROLE: &str = "arn:aws:iam::123456789012:role/deploy";
    const TOKEN: &str = "github-oidc-token";
    let (served, seen) = sts(
        (server.access_key.clone(), server.secret_key.clone()),
        ROLE,
        TOKEN,
    );
    let token = tmp.path().join("token");
    fs::write(&token, TOKEN).unwrap();
    let env = |role: &str| {
        vec![
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string()),
            ("AWS_ROLE_ARN", role.to_string()),
            ("AWS_ROLE_SESSION_NAME", "cdnpub-test".to_string()),
            (
                "AWS_ENDPOINT_URL_STS",
                format!("http://127.0.0.1:{}", served.port),
            ),
        ]
    };
    let (ok, log) = upload_with(&server, tmp.path(), &env(ROLE));
    assert!(ok, "{log}");
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|a| a == "AssumeRoleWithWebIdentity"),
        "STS was asked"
    );
    // Another role: STS refuses, and so nothing is uploaded.
    let (ok, log) = upload_with(
        &server,
        tmp.path(),
        &env("arn:aws:iam::123456789012:role/other"),
    );
    assert!(!ok, "{log}");
}
