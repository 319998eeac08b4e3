//! What the two network clients share (`store` for S3-compatible storage, `cdn` for the CDN
//! APIs, CloudFront's through the AWS SDK): the timeouts every request has, and the HTTPS
//! client of the AWS SDK clients. It sits below both because neither may use the other.

/// The HTTPS client of every AWS SDK client (S3, CloudFront, and the credential providers their
/// configuration loads: STS for web identity, instance metadata): rustls with ring and the
/// system's root certificates. The SDK's own default would compile aws-lc-rs beside ring.
pub fn aws_http_client() -> aws_sdk_s3::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// How long a network request may wait (a store's, a CDN API's): to connect, and for the
/// server's next bytes once connected. A stalled endpoint fails within them, naming the endpoint and the flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To open the connection (`--connect-timeout`, `connect_timeout`).
    pub connect: std::time::Duration,
    /// Waiting for an answer once connected (`--read-timeout`, `read_timeout`).
    pub read: std::time::Duration,
}

/// Default of `--connect-timeout`: a reachable endpoint answers a TCP/TLS handshake in well
/// under a second; 10 s covers a congested link without hiding a wrong address.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Default of `--read-timeout`: the longest silence from a connected server (S3 answers a PUT
/// of a few MB within seconds once its body is sent).
pub const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: CONNECT_TIMEOUT,
            read: READ_TIMEOUT,
        }
    }
}
