//! Which CDN provider a job talks to, its settings as resolved from flags and the profile, and
//! opening it (credentials from the provider's standard variables).

use super::Provider;
use crate::error::{Error, Result};

/// Which CDN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderKind {
    /// Alibaba Cloud CDN.
    Aliyun,
    /// AWS CloudFront.
    Cloudfront,
}

impl ProviderKind {
    /// Parse a configuration value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "aliyun" => Some(ProviderKind::Aliyun),
            "cloudfront" => Some(ProviderKind::Cloudfront),
            _ => None,
        }
    }
}

/// The CDN provider and how to reach it, resolved from flags and the profile.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// Provider (None: CDN stages are skipped by publish, an error for purge).
    pub kind: Option<ProviderKind>,
    /// Domains jobs may touch.
    pub domains: Vec<String>,
    /// CloudFront distribution.
    pub distribution_id: Option<String>,
    /// Provider API endpoint override.
    pub cdn_endpoint: Option<String>,
    /// URL path where the target's keys are served (None: the target's prefix).
    pub url_prefix: Option<String>,
    /// CloudFront collapse threshold.
    pub max_paths: usize,
    /// Alibaba prefetch area.
    pub area: Option<String>,
    /// Alibaba L2 prefetch.
    pub l2_preload: bool,
}

/// Open the configured provider; `reference` seeds CloudFront caller references (a release id).
pub async fn open_provider(
    cfg: &ProviderSettings,
    dry_run: bool,
    reference: Option<String>,
) -> Result<Provider> {
    let kind = cfg.kind.ok_or_else(|| {
        Error::Usage(
            "no CDN provider: give --provider aliyun|cloudfront (or cdn_provider in cdnpub.toml)"
                .into(),
        )
    })?;
    Ok(match kind {
        ProviderKind::Aliyun => {
            let creds = match super::aliyun::Credentials::from_env() {
                Ok(c) => c,
                // A dry run sends nothing, so it needs no key.
                Err(_) if dry_run => super::aliyun::Credentials {
                    id: String::new(),
                    secret: String::new(),
                    token: None,
                },
                Err(e) => return Err(e),
            };
            let mut a = super::aliyun::Aliyun::new(cfg.cdn_endpoint.as_deref(), creds)?;
            a.area = cfg.area.clone();
            a.l2_preload = cfg.l2_preload;
            Provider::Aliyun(a)
        }
        ProviderKind::Cloudfront => {
            let reference = reference.unwrap_or_else(|| {
                let secs = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                format!("manual-{secs}")
            });
            Provider::CloudFront(
                super::cloudfront::CloudFront::connect(
                    cfg.distribution_id.as_deref().unwrap_or(""),
                    cfg.cdn_endpoint.as_deref(),
                    reference,
                    cfg.max_paths,
                )
                .await?,
            )
        }
    })
}
