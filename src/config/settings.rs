//! What a cdnpub.toml may hold: the keys of its top level and of each `[env.NAME]` profile.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// Settings a cdnpub.toml may hold at its top level and in each `[env.NAME]` profile.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// CDN server URL placeholders become.
    pub cdn_server: Option<String>,
    /// The placeholder token.
    pub cdn_prefix: Option<String>,
    /// Served directory `rewrite` works in (relative to the config file).
    pub root: Option<PathBuf>,
    /// Globs `rewrite` rewrites.
    pub replace_files: Option<Vec<String>>,
    /// Where `rewrite` keeps its render state (relative to the config file).
    pub state_dir: Option<PathBuf>,
    /// gzip level for siblings.
    pub gzip_level: Option<u32>,
    /// brotli quality for siblings.
    pub brotli_quality: Option<u32>,
    /// `build`: hex characters of content hash in names (8–16).
    pub hash_length: Option<u8>,
    /// `build`: more globs of files that keep their names.
    pub keep_names: Option<Vec<String>>,
    /// `build`: regex for names a bundler already hashed.
    pub hashed_pattern: Option<String>,
    /// `build`: smallest file that gets siblings, in bytes.
    pub min_compress_size: Option<u64>,
    /// `build`: keep a sibling only when smaller than this fraction of the original.
    pub max_compress_ratio: Option<f64>,
    /// `build`: write .gz/.br siblings at all.
    pub compress: Option<bool>,
    /// `build`/`publish`: the compression cache directory (relative to this file).
    pub cache_dir: Option<PathBuf>,
    /// `build`/`publish`: the compression cache's size bound in MiB.
    pub cache_max_mib: Option<u32>,
    /// `build`/`publish`: the tree's deploy sub-path under the site root (`mobile-vue/pass`).
    pub base_path: Option<String>,
    /// `build`/`publish`: files found through the manifest, not by a reference (globs).
    pub manifest_named: Option<Vec<String>>,
    /// `upload`: targets (`s3://bucket/prefix`, `file:///dir`, a directory), each gets the full upload.
    pub targets: Option<Vec<String>>,
    /// `upload`: S3 endpoint URL.
    pub endpoint: Option<String>,
    /// `upload`: region.
    pub region: Option<String>,
    /// `upload`: path-style addressing.
    pub path_style: Option<bool>,
    /// Store requests: longest wait to connect ("10s").
    pub connect_timeout: Option<String>,
    /// Store requests: longest silence once connected ("60s").
    pub read_timeout: Option<String>,
    /// `upload`: requests in flight per target.
    pub concurrency: Option<u16>,
    /// `upload`: releases whose objects `--delete` keeps.
    pub keep_releases: Option<usize>,
    /// `upload`: most deletes allowed.
    pub max_deletes: Option<usize>,
    /// `upload`: the variant stored under plain keys (`auto`, `identity`, `gzip`, `br`).
    pub encoding: Option<crate::sync::Encoding>,
    /// `upload`: also store .gz/.br siblings under their own keys.
    pub siblings: Option<bool>,
    /// `upload`: Cache-Control / Content-Type overrides per glob (`[[headers]]`).
    pub headers: Option<Vec<crate::site::headers::HeaderRule>>,
    /// `build`/`publish`: add Subresource Integrity to pages.
    pub sri: Option<bool>,
    /// `build`/`publish`: source maps `public` (uploaded, cheaply compressed) or `skip`.
    pub source_maps: Option<crate::site::SourceMaps>,
    /// `publish`: the public URL of the site's pages (preview URLs).
    pub site_url: Option<String>,
    /// `rollout`: the routers each step updates (`nginx:DIR`, `cloudfront:KVS-ARN`, …).
    pub rollout_routers: Option<Vec<String>>,
    /// `publish`: size budgets per entry page (`[[budget]]`).
    pub budget: Option<Vec<crate::release::size::BudgetRule>>,
    /// `purge`/`prefetch`: `aliyun`, `cloudfront`, `tencent`, `cloudflare`, `qiniu` or `huawei`.
    pub cdn_provider: Option<String>,
    /// `purge`/`prefetch`: the CDN domains jobs may touch (the first takes bare paths).
    pub cdn_domains: Option<Vec<String>>,
    /// `purge`: CloudFront distribution id.
    pub cdn_distribution_id: Option<String>,
    /// `purge`: Cloudflare zone id.
    pub cdn_zone_id: Option<String>,
    /// `purge`/`prefetch`: the provider's API endpoint.
    pub cdn_endpoint: Option<String>,
    /// `purge`/`prefetch`: URL path where the target's keys are served.
    pub cdn_url_prefix: Option<String>,
    /// Profiles (only at the top level).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, Settings>,
}
