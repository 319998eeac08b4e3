//! Which CDN provider a job talks to, its settings as resolved from flags and the profile, and
//! opening it (credentials from the provider's standard variables).

use super::{aliyun, cloudflare, cloudfront, huawei, qiniu, tencent};
use super::{Action, ApiError, Batch, Cdn, Limits, ObjectKind, Plan, Quota, TaskState};
use crate::error::{Error, Result};

/// Which CDN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderKind {
    /// Alibaba Cloud CDN.
    Aliyun,
    /// AWS CloudFront.
    Cloudfront,
    /// Tencent Cloud CDN.
    Tencent,
    /// Cloudflare.
    Cloudflare,
    /// Qiniu CDN.
    Qiniu,
    /// Huawei Cloud CDN.
    Huawei,
}

/// The names `cdn_provider` accepts, for messages.
pub const NAMES: &str = "aliyun, cloudfront, tencent, cloudflare, qiniu or huawei";

impl ProviderKind {
    /// Parse a configuration value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "aliyun" => Some(ProviderKind::Aliyun),
            "cloudfront" => Some(ProviderKind::Cloudfront),
            "tencent" => Some(ProviderKind::Tencent),
            "cloudflare" => Some(ProviderKind::Cloudflare),
            "qiniu" => Some(ProviderKind::Qiniu),
            "huawei" => Some(ProviderKind::Huawei),
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
    /// Cloudflare zone.
    pub zone_id: Option<String>,
    /// Directory refresh mode (Tencent, Huawei).
    pub dir_mode: super::DirMode,
    /// Provider API endpoint override.
    pub cdn_endpoint: Option<String>,
    /// URL path where the target's keys are served (None: the target's prefix).
    pub url_prefix: Option<String>,
    /// CloudFront collapse threshold.
    pub max_paths: usize,
    /// Prefetch area (`domestic`, `overseas`, `global`; Alibaba and Tencent).
    pub area: Option<String>,
    /// Prefetch to L2 / middle-tier nodes only (Alibaba, Tencent).
    pub l2_preload: bool,
    /// How long an API request may wait (`--connect-timeout`, `--read-timeout`).
    pub timeouts: crate::util::net::Timeouts,
}

/// Open the configured provider; `reference` seeds CloudFront caller references (a release id).
pub async fn open_provider(
    cfg: &ProviderSettings,
    dry_run: bool,
    reference: Option<String>,
) -> Result<Provider> {
    let kind = cfg.kind.ok_or_else(|| {
        Error::Usage(format!(
            "no CDN provider: give --provider {NAMES} (or cdn_provider in cdnpub.toml)"
        ))
    })?;
    // A dry run sends nothing, so it needs no key.
    let keys = |read: fn() -> Result<super::keys::Credentials>| match read() {
        Err(_) if dry_run => Ok(super::keys::Credentials::default()),
        other => other,
    };
    Ok(match kind {
        ProviderKind::Aliyun => {
            let creds = keys(super::aliyun::credentials_from_env)?;
            let mut a =
                super::aliyun::Aliyun::new(cfg.cdn_endpoint.as_deref(), cfg.timeouts, creds)?;
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
                    cfg.timeouts,
                    reference,
                    cfg.max_paths,
                )
                .await?,
            )
        }
        ProviderKind::Tencent => {
            let creds = keys(super::tencent::credentials_from_env)?;
            let mut t =
                super::tencent::Tencent::new(cfg.cdn_endpoint.as_deref(), cfg.timeouts, creds)?;
            t.area = cfg.area.as_deref().map(tencent_area);
            t.middle_layer = cfg.l2_preload;
            t.dir_mode = cfg.dir_mode;
            Provider::Tencent(t)
        }
        ProviderKind::Cloudflare => {
            let token = match super::cloudflare::token_from_env() {
                Err(_) if dry_run => String::new(),
                other => other?,
            };
            let zone = cfg.zone_id.as_deref().unwrap_or("");
            Provider::Cloudflare(super::cloudflare::Cloudflare::new(
                cfg.cdn_endpoint.as_deref(),
                cfg.timeouts,
                zone,
                token,
            )?)
        }
        ProviderKind::Qiniu => {
            let creds = keys(super::qiniu::credentials_from_env)?;
            Provider::Qiniu(super::qiniu::Qiniu::new(
                cfg.cdn_endpoint.as_deref(),
                cfg.timeouts,
                creds,
            )?)
        }
        ProviderKind::Huawei => {
            let creds = keys(super::huawei::credentials_from_env)?;
            let mut h =
                super::huawei::Huawei::new(cfg.cdn_endpoint.as_deref(), cfg.timeouts, creds)?;
            h.dir_mode = cfg.dir_mode;
            Provider::Huawei(h)
        }
    })
}

/// Tencent's name for a prefetch area (`--area domestic` is its `mainland`).
fn tencent_area(area: &str) -> String {
    match area {
        "domestic" => "mainland".into(),
        other => other.into(),
    }
}

/// The configured provider.
#[derive(Debug)]
pub enum Provider {
    /// Alibaba Cloud CDN.
    Aliyun(aliyun::Aliyun),
    /// AWS CloudFront.
    CloudFront(cloudfront::CloudFront),
    /// Tencent Cloud CDN.
    Tencent(tencent::Tencent),
    /// Cloudflare.
    Cloudflare(cloudflare::Cloudflare),
    /// Qiniu CDN.
    Qiniu(qiniu::Qiniu),
    /// Huawei Cloud CDN.
    Huawei(huawei::Huawei),
}

macro_rules! delegate {
    ($self:ident, $p:ident => $e:expr) => {
        match $self {
            Provider::Aliyun($p) => $e,
            Provider::CloudFront($p) => $e,
            Provider::Tencent($p) => $e,
            Provider::Cloudflare($p) => $e,
            Provider::Qiniu($p) => $e,
            Provider::Huawei($p) => $e,
        }
    };
}

impl Cdn for Provider {
    fn name(&self) -> &'static str {
        delegate!(self, p => p.name())
    }
    fn limits(&self) -> Limits {
        delegate!(self, p => p.limits())
    }
    fn plan(&self, action: Action, kind: ObjectKind, urls: &[String]) -> Result<Plan> {
        delegate!(self, p => p.plan(action, kind, urls))
    }
    fn has_quota(&self) -> bool {
        delegate!(self, p => p.has_quota())
    }
    fn idempotent_submit(&self) -> bool {
        delegate!(self, p => p.idempotent_submit())
    }
    async fn quota(&self, action: Action) -> Result<Option<Quota>, ApiError> {
        delegate!(self, p => p.quota(action).await)
    }
    fn can_prefetch(&self) -> bool {
        delegate!(self, p => p.can_prefetch())
    }
    fn quota_left(&self) -> Option<Quota> {
        delegate!(self, p => p.quota_left())
    }
    async fn submit(&self, action: Action, batch: &Batch) -> Result<Vec<String>, ApiError> {
        delegate!(self, p => p.submit(action, batch).await)
    }
    async fn status(&self, ids: &[String]) -> Result<Vec<(String, TaskState)>, ApiError> {
        delegate!(self, p => p.status(ids).await)
    }
}
