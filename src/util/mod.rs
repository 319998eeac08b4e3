//! Plumbing shared by the layers above: atomic file writes, bounded concurrency, the results
//! file (`--results`), and the HTTPS client the AWS SDK clients use.

pub mod atomic;
pub mod results;
pub mod tasks;

/// The HTTPS client of every AWS SDK client (S3, CloudFront, and the credential providers their
/// configuration loads: STS for web identity, instance metadata): rustls with ring and the
/// system's root certificates. The SDK's own default would compile aws-lc-rs beside ring.
pub fn aws_http_client() -> aws_sdk_s3::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}
