//! The options of each command, and the groups of them commands share.

use clap::{Args, Subcommand};
use std::path::PathBuf;

use super::headings::*;

/// `cdnpub man` options.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write cdnpub.1 and a cdnpub-COMMAND.1 per command into DIR.
    ///
    /// Without it, cdnpub.1 is printed on standard output.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `cdnpub publish` options.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The bundler's output directory.
    #[arg(value_name = "SRC")]
    pub src: PathBuf,
    /// Keep the built tree here.
    ///
    /// Default: a temporary directory, removed afterwards.
    #[arg(long, value_name = "DIR", help_heading = WHAT, hide_short_help = true)]
    pub out: Option<PathBuf>,
    /// CDN server the placeholder becomes.
    ///
    /// Default: the profile's cdn_server; none: "." (the local environment).
    #[arg(
        long,
        value_name = "URL",
        allow_hyphen_values = true,
        help_heading = WHAT
    )]
    pub server: Option<String>,
    /// Files whose placeholders are rendered (glob, repeatable).
    ///
    /// Default: the profile's replace_files, else every text file: html, js, css, json, txt,
    /// webmanifest, svg, xml, map.
    #[arg(long = "render", value_name = "GLOB", help_heading = WHAT, hide_short_help = true)]
    pub render: Vec<String>,
    /// Naming and compression (shared with build).
    #[command(flatten, next_help_heading = WHAT)]
    pub tree: TreeArgs,
    /// Staged release: pages go under releases/<id>/, the live ones stay.
    ///
    /// Roll it out with `cdnpub rollout start ID`, or promote it with `cdnpub rollback ID`.
    #[arg(long, help_heading = WHAT)]
    pub stage: bool,
    /// With --stage: print the preview URL (site_url + ?cdnpub-release=ID).
    #[arg(long, requires = "stage", help_heading = WHAT)]
    pub preview: bool,
    /// The public URL of the site's pages, for preview URLs [default: the profile's site_url].
    #[arg(long, value_name = "URL", help_heading = WHAT, hide_short_help = true)]
    pub site_url: Option<String>,
    /// Plan every stage; write nothing.
    ///
    /// The build goes to a temporary directory.
    #[arg(long, help_heading = WHAT)]
    pub dry_run: bool,
    /// Target: s3://bucket/prefix, file:///dir or a directory (repeatable).
    ///
    /// Default: the profile's targets.
    #[arg(long = "to", value_name = "URL", help_heading = WHERE)]
    pub to: Vec<String>,
    /// How to reach S3-compatible targets.
    #[command(flatten, next_help_heading = WHERE)]
    pub store: StoreArgs,
    /// Concurrency, retention and encodings.
    #[command(flatten, next_help_heading = WHERE)]
    pub transfer: TransferArgs,
    /// Do not delete what the last --keep-releases releases no longer need.
    #[arg(long, help_heading = WHERE)]
    pub no_prune: bool,
    /// The CDN and how to talk to it.
    #[command(flatten, next_help_heading = CDN)]
    pub cdn: CdnProviderArgs,
    /// Do not purge what changed.
    #[arg(long, help_heading = CDN)]
    pub no_purge: bool,
    /// Purge new keys too.
    ///
    /// By default only keys an earlier release served are purged: nothing was cached under a new
    /// URL, unless the CDN caches 404s.
    #[arg(long, conflicts_with = "no_purge", help_heading = CDN, hide_short_help = true)]
    pub purge_new: bool,
    /// Do not prefetch the entry points.
    #[arg(long, help_heading = CDN)]
    pub no_prefetch: bool,
    /// After the CDN stages, fetch every key through the CDN (`cdnpub verify`).
    ///
    /// Differences are exit 1.
    #[arg(long, help_heading = CDN)]
    pub verify: bool,
    /// Write the GitHub Action's outputs and job summary.
    ///
    /// To the files GITHUB_OUTPUT and GITHUB_STEP_SUMMARY name, whatever the exit code.
    #[arg(long, help_heading = OUTPUT, hide_short_help = true)]
    pub github_output: bool,
}

/// `cdnpub releases` options.
#[derive(Debug, Args)]
pub struct ReleasesArgs {
    /// Target (repeatable) [default: the profile's targets].
    #[arg(long = "to", value_name = "URL", help_heading = WHERE)]
    pub to: Vec<String>,
    /// How to reach S3-compatible targets.
    #[command(flatten, next_help_heading = WHERE)]
    pub store: StoreArgs,
}

/// `cdnpub rollback` options.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The release to make live [default: the one before the live release].
    #[arg(value_name = "ID")]
    pub id: Option<String>,
    /// Target (repeatable) [default: the profile's targets].
    #[arg(long = "to", value_name = "URL", help_heading = WHERE)]
    pub to: Vec<String>,
    /// How to reach S3-compatible targets.
    #[command(flatten, next_help_heading = WHERE)]
    pub store: StoreArgs,
    /// The CDN and how to talk to it.
    #[command(flatten, next_help_heading = CDN)]
    pub cdn: CdnProviderArgs,
    /// Do not purge the restored pages.
    #[arg(long)]
    pub no_purge: bool,
    /// Say what would be restored; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `cdnpub rollout` options.
#[derive(Debug, Args)]
pub struct RolloutArgs {
    /// The step.
    #[command(subcommand)]
    pub action: RolloutAction,
    /// Target (repeatable) [default: the profile's targets].
    #[arg(long = "to", value_name = "URL", global = true, help_heading = WHERE)]
    pub to: Vec<String>,
    /// How to reach S3-compatible targets.
    #[command(flatten, next_help_heading = WHERE)]
    pub store: StoreArgs,
    /// A router each step updates (repeatable): nginx:DIR, cloudfront:KVS-ARN,
    /// cloudflare:ACCOUNT/NAMESPACE, edgeone:ZONE/NAMESPACE, aliyun:DOMAIN/BASE/ [default: the
    /// profile's rollout_routers].
    #[arg(long = "router", value_name = "SPEC", global = true, help_heading = WHERE)]
    pub routers: Vec<String>,
    /// Say what would change; write nothing.
    #[arg(long, global = true)]
    pub dry_run: bool,
}

/// A step of a rollout.
#[derive(Debug, Subcommand)]
pub enum RolloutAction {
    /// Route a share of visitors to a staged release (`publish --stage`).
    Start {
        /// The staged release.
        #[arg(value_name = "ID")]
        id: String,
        /// Share of visitors on it (0-100).
        #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u8).range(0..=100))]
        percent: u8,
        /// A request mark that always sees it: header:NAME=VALUE or cookie:NAME=VALUE (repeatable).
        #[arg(long = "tag", value_name = "RULE")]
        tags: Vec<String>,
    },
    /// Move the share (visitors only join while it rises).
    Set {
        /// Share of visitors on the candidate (0-100).
        #[arg(value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
        percent: u8,
    },
    /// Make the candidate live for everyone (as `rollback <id>`) and end the rollout.
    Promote {
        /// The CDN that purges the restored pages.
        #[command(flatten, next_help_heading = CDN)]
        cdn: CdnProviderArgs,
        /// Do not purge the restored pages.
        #[arg(long)]
        no_purge: bool,
    },
    /// Everyone back on the stable release at once.
    Abort,
    /// The stable release, the candidate, the share and the tag rules, per target.
    Status,
    /// Write the current step to every router again (after a deploy, or a step a router failed).
    Apply,
    /// Put the edge routers' code in place (CloudFront Functions, the Cloudflare Worker and its
    /// route, the EdgeOne function and its rule), then write them the current step.
    Deploy {
        /// The URL path the pages are served under (the deploy sub-path).
        #[arg(long, value_name = "PATH", default_value = "/", value_parser = url_path)]
        base: String,
        /// The Worker's name and the CloudFront Functions' stem (NAME-request, NAME-response).
        #[arg(long, value_name = "NAME", default_value = "cdnpub-rollout")]
        name: String,
        /// Cloudflare: the zone whose --route runs the Worker.
        #[arg(long, value_name = "ID", env = "CLOUDFLARE_ZONE_ID")]
        zone_id: Option<String>,
        /// Cloudflare: the route that runs the Worker (www.example.com/mobile-vue/pass/*);
        /// EdgeOne: its host gets a rule running the function.
        #[arg(long, value_name = "PATTERN")]
        route: Option<String>,
    },
    /// Write the nginx router for the current step (two includes: http and server block).
    Nginx {
        /// Serve the pages from this directory (a directory target).
        #[arg(
            long,
            value_name = "DIR",
            conflicts_with = "origin",
            required_unless_present = "origin",
            value_parser = nginx_word
        )]
        root: Option<String>,
        /// Proxy the pages to this URL (the bucket, with the target's prefix).
        #[arg(long, value_name = "URL", value_parser = nginx_origin)]
        origin: Option<String>,
        /// The URL path the pages are served under (the deploy sub-path).
        #[arg(long, value_name = "PATH", default_value = "/", value_parser = url_path)]
        base: String,
        /// Where to write cdnpub-rollout-http.conf and cdnpub-rollout-server.conf.
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: std::path::PathBuf,
    },
    /// Write the CloudFront Functions (viewer request and response) and the KeyValueStore value
    /// for the current step.
    Cloudfront {
        /// The KeyValueStore the functions read the rollout from (its id or ARN).
        #[arg(long, value_name = "ID", value_parser = kvs_ref)]
        kvs_id: String,
        /// The URL path the pages are served under (the deploy sub-path).
        #[arg(long, value_name = "PATH", default_value = "/", value_parser = url_path)]
        base: String,
        /// Where to write cdnpub-rollout-request.js, cdnpub-rollout-response.js and
        /// cdnpub-rollout-kvs.json.
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: std::path::PathBuf,
    },
    /// Write the Cloudflare Worker and the KV value for the current step.
    Cloudflare {
        /// The URL path the pages are served under (the deploy sub-path).
        #[arg(long, value_name = "PATH", default_value = "/", value_parser = url_path)]
        base: String,
        /// Where to write cdnpub-rollout-worker.mjs and cdnpub-rollout-kvs.json.
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: std::path::PathBuf,
    },
    /// Write the Tencent Cloud EdgeOne edge function and the KV value for the current step.
    Edgeone {
        /// The URL path the pages are served under (the deploy sub-path).
        #[arg(long, value_name = "PATH", default_value = "/", value_parser = url_path)]
        base: String,
        /// Where to write cdnpub-rollout-edgeone.js and cdnpub-rollout-kvs.json.
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: std::path::PathBuf,
    },
    /// Write the Alibaba Cloud CDN EdgeScript rule for the current step.
    Aliyun {
        /// The URL path the pages are served under (the deploy sub-path).
        #[arg(long, value_name = "PATH", default_value = "/", value_parser = url_path)]
        base: String,
        /// Where to write cdnpub-rollout.es.
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: std::path::PathBuf,
    },
}

/// `cdnpub config` options.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ConfigAction,
}

/// `cdnpub config` actions.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Validate cdnpub.toml and every profile (unknown keys, values, globs, targets).
    Check,
    /// Print the resolved configuration of a profile (--env), secrets masked.
    Show,
}

/// `cdnpub completions` options.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `cdnpub upload` options.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The built tree (`cdnpub build` output, or any directory).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Target: s3://bucket/prefix, file:///dir or a directory (repeatable).
    ///
    /// Each target gets the full upload. Default: the profile's targets.
    #[arg(long = "to", value_name = "URL", help_heading = WHERE)]
    pub to: Vec<String>,
    /// How to reach S3-compatible targets.
    #[command(flatten, next_help_heading = WHERE)]
    pub store: StoreArgs,
    /// Concurrency, retention and encodings.
    #[command(flatten, next_help_heading = WHERE)]
    pub transfer: TransferArgs,
    /// Delete what neither this tree nor the last --keep-releases releases need.
    #[arg(long)]
    pub delete: bool,
    /// Print the plan (uploads, unchanged, deletes, bytes); write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not list the target: trust the latest release record.
    ///
    /// For keys that may write but not list.
    #[arg(long)]
    pub no_check_bucket: bool,
}

/// Upload options shared by `upload` and `publish`.
#[derive(Debug, Clone, Args)]
pub struct TransferArgs {
    /// Requests in flight per target (1-256) [default: 16].
    #[arg(long, value_name = "N", value_parser = crate::config::defaults::ranged::<u16>("concurrency"))]
    pub concurrency: Option<u16>,
    /// Releases, this one included, whose objects are never deleted [default: 3].
    ///
    /// Neither by upload --delete nor by publish's prune: older HTML in browsers needs them.
    #[arg(long, value_name = "N", hide_short_help = true)]
    pub keep_releases: Option<usize>,
    /// More deletes than this is an error and nothing is deleted [default: 256].
    #[arg(long, value_name = "N", hide_short_help = true)]
    pub max_deletes: Option<usize>,
    /// The variant of compressible files stored under their plain keys.
    ///
    /// With its Content-Encoding. Default: auto: gzip in buckets, plain files + .gz/.br siblings in
    /// directories.
    #[arg(long, value_enum, hide_short_help = true)]
    pub encoding: Option<crate::sync::Encoding>,
    /// Also store .gz/.br siblings under their own keys.
    ///
    /// For origins that serve them with nginx gzip_static.
    #[arg(long, hide_short_help = true)]
    pub siblings: bool,
}

/// How to reach S3-compatible targets (upload, and the release records purge reads).
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// S3 endpoint URL (OSS, MinIO, other S3 servers).
    ///
    /// Default: the profile's endpoint, else AWS.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Region of the S3 endpoint.
    ///
    /// Default: the profile's, else the AWS configuration's; us-east-1 with a custom endpoint.
    #[arg(long, value_name = "REGION", hide_short_help = true)]
    pub region: Option<String>,
    /// Path-style requests (MinIO, most self-hosted S3).
    ///
    /// Alibaba OSS needs virtual-hosted requests, the default.
    #[arg(long, hide_short_help = true)]
    pub path_style: bool,
    /// Longest wait to connect to the store.
    ///
    /// Default: the profile's connect_timeout, else 10s.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, hide_short_help = true)]
    pub connect_timeout: Option<std::time::Duration>,
    /// Longest silence from a connected store before a request fails.
    ///
    /// Default: the profile's read_timeout, else 60s.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, hide_short_help = true)]
    pub read_timeout: Option<std::time::Duration>,
}

/// Inputs and provider options shared by `purge` and `prefetch`.
#[derive(Debug, Args)]
pub struct CdnArgs {
    /// URLs, or paths joined to the first --domain.
    #[arg(value_name = "URL|PATH")]
    pub urls: Vec<String>,
    /// Read URLs or paths from a file, one per line.
    ///
    /// `-`: standard input; `#` starts a comment.
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// The keys the latest release changed.
    ///
    /// Read from the target's release records.
    #[arg(long, conflicts_with = "release")]
    pub changed: bool,
    /// The keys release ID changed.
    #[arg(long, value_name = "ID", hide_short_help = true)]
    pub release: Option<String>,
    /// Where the release records are (s3://…, file://…, a directory).
    ///
    /// Default: the profile's first target.
    #[arg(long = "to", value_name = "URL", help_heading = WHERE)]
    pub to: Option<String>,
    /// How to reach an S3 target.
    #[command(flatten, next_help_heading = WHERE)]
    pub store: StoreArgs,
    /// The CDN and how to talk to it.
    #[command(flatten, next_help_heading = CDN)]
    pub cdn: CdnProviderArgs,
    /// Print the exact calls and paths; send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// The CDN provider and job options (purge, prefetch, publish).
#[derive(Debug, Clone, Args)]
pub struct CdnProviderArgs {
    /// URL path under the CDN domain where the target's keys are served.
    ///
    /// Default: the target's key prefix.
    #[arg(long, value_name = "PATH", hide_short_help = true)]
    pub url_prefix: Option<String>,
    /// CDN provider: aliyun, cloudfront, tencent, cloudflare, qiniu or huawei.
    ///
    /// Default: the profile's cdn_provider.
    #[arg(long, value_enum, hide_possible_values = true)]
    pub provider: Option<crate::cdn::provider::ProviderKind>,
    /// A CDN domain this job may touch (repeatable).
    ///
    /// The first takes bare paths. Default: the profile's cdn_domains, else cdn_server's host.
    #[arg(long = "domain", value_name = "DOMAIN")]
    pub domains: Vec<String>,
    /// CloudFront distribution id.
    #[arg(long, value_name = "ID", hide_short_help = true)]
    pub distribution_id: Option<String>,
    /// Cloudflare zone id.
    #[arg(long, value_name = "ID", hide_short_help = true)]
    pub zone_id: Option<String>,
    /// The provider's API endpoint [default: the provider's public one].
    #[arg(long, value_name = "URL", hide_short_help = true)]
    pub cdn_endpoint: Option<String>,
    /// Poll the tasks until the CDN reports them done (or --timeout).
    #[arg(long)]
    pub wait: bool,
    /// Longest --wait.
    #[arg(long, value_name = "DURATION", default_value = crate::config::defaults::CDN_WAIT_TIMEOUT, value_parser = humantime::parse_duration, hide_short_help = true)]
    pub timeout: std::time::Duration,
    /// Pause between status checks with --wait.
    #[arg(long, value_name = "DURATION", default_value = crate::config::defaults::CDN_POLL_INTERVAL, value_parser = humantime::parse_duration, hide_short_help = true)]
    pub poll_interval: std::time::Duration,
    /// CloudFront: most paths in one invalidation (1-3000) [default: 100].
    ///
    /// More collapse to the deepest common directories with /*.
    #[arg(long, value_name = "N", hide_short_help = true)]
    pub max_paths: Option<usize>,
}

/// `cdnpub verify` options.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The release to check [default: the live one].
    #[arg(long, value_name = "ID")]
    pub release: Option<String>,
    /// Public URL the target's keys are served under.
    ///
    /// Default: the profile's cdn_server + the URL prefix.
    #[arg(long, value_name = "URL")]
    pub cdn_base: Option<String>,
    /// The public URL of the site's pages: during a rollout, each release's pages are also
    /// fetched through the router there, as a visitor of each cohort [default: the profile's
    /// site_url].
    #[arg(long, value_name = "URL")]
    pub site_url: Option<String>,
    /// Check N keys: the entry pages and what they load, then a sample.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub sample: Option<u32>,
    /// Where the release records are [default: the profile's first target].
    #[arg(long = "to", value_name = "URL", help_heading = WHERE)]
    pub to: Option<String>,
    /// How to reach an S3 target.
    #[command(flatten, next_help_heading = WHERE)]
    pub store: StoreArgs,
    /// The CDN, for --purge-stale.
    #[command(flatten, next_help_heading = CDN)]
    pub cdn: CdnProviderArgs,
    /// Purge exactly the objects that differ (through --provider).
    #[arg(long)]
    pub purge_stale: bool,
    /// Requests in flight (1-256).
    #[arg(long, value_name = "N", default_value_t = crate::config::defaults::CONCURRENCY, value_parser = crate::config::defaults::ranged::<u16>("concurrency"))]
    pub concurrency: u16,
    /// Longest wait for one request (config::defaults::VERIFY_REQUEST_TIMEOUT).
    #[arg(long, value_name = "DURATION", default_value = crate::config::defaults::VERIFY_REQUEST_TIMEOUT_TEXT, value_parser = humantime::parse_duration)]
    pub request_timeout: std::time::Duration,
    /// With --purge-stale: print the purge; send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `cdnpub purge` options.
#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Inputs and provider.
    #[command(flatten)]
    pub cdn: CdnArgs,
    /// The inputs are directories: refresh everything under each.
    #[arg(long)]
    pub dir: bool,
    /// With --dir on Tencent and Huawei: everything, or only what changed at the origin.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = crate::cdn::DirMode::All, requires = "dir")]
    pub dir_mode: crate::cdn::DirMode,
}

/// `cdnpub prefetch` options.
#[derive(Debug, Args)]
pub struct PrefetchArgs {
    /// Inputs and provider.
    #[command(flatten)]
    pub cdn: CdnArgs,
    /// Alibaba, Tencent: which nodes to warm.
    ///
    /// Default: the service's.
    #[arg(long, value_name = "AREA", value_parser = ["domestic", "overseas", "global"])]
    pub area: Option<String>,
    /// Alibaba: warm L2 nodes only; Tencent: middle-tier nodes (Layer=middle).
    #[arg(long)]
    pub l2_preload: bool,
}

/// `cdnpub build` options.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The bundler's output directory.
    #[arg(value_name = "SRC")]
    pub src: PathBuf,
    /// Where the CDN-ready tree goes; replaced as a whole.
    ///
    /// An existing OUT must be an earlier cdnpub build.
    #[arg(long, value_name = "DIR", required_unless_present = "check")]
    pub out: Option<PathBuf>,
    /// Check SRC as a built tree; write nothing.
    ///
    /// Every reference resolves, every renamed file is named, webpack's chunk maps name files of
    /// the tree.
    #[arg(long, conflicts_with = "out")]
    pub check: bool,
    /// Naming and compression (shared with publish).
    #[command(flatten, next_help_heading = "Naming and compression")]
    pub tree: TreeArgs,
    /// Build-only tuning.
    #[command(flatten, next_help_heading = "Tuning")]
    pub tuning: TuningArgs,
}

/// Options `build` and `publish` share: how the tree is named and compressed.
#[derive(Debug, Clone, Default, Args)]
pub struct TreeArgs {
    /// The CDN placeholder in references [default: EGOVA_CDN].
    #[arg(long, value_name = "TOKEN", hide_short_help = true)]
    pub prefix: Option<String>,
    /// Files that keep their names (glob, repeatable).
    ///
    /// Besides HTML, favicon.ico, robots.txt, service workers and what the runtime fetches by name.
    #[arg(long = "keep", value_name = "GLOB")]
    pub keep: Vec<String>,
    /// The deploy sub-path under the site root (`mobile-vue/pass`).
    ///
    /// The end of the bundler's base (`mobile-vue/pass` for base `EGOVA_CDN/mobile-vue/pass/`).
    /// Default: publish: the first target's key prefix where references use it; else inferred from
    /// the references.
    #[arg(long, value_name = "SUBPATH")]
    pub base_path: Option<String>,
    /// brotli quality for .br siblings (0-11) [default: 11].
    #[arg(long, value_name = "N", value_parser = crate::config::defaults::ranged::<u32>("brotli_quality"), hide_short_help = true)]
    pub brotli_quality: Option<u32>,
    /// Write no .gz/.br siblings.
    #[arg(long, hide_short_help = true)]
    pub no_compress: bool,
    /// Directory of the compression cache [default: .cdnpub/cache].
    ///
    /// Outputs are reused by input digest and setting.
    #[arg(long, value_name = "DIR", hide_short_help = true)]
    pub cache_dir: Option<PathBuf>,
    /// Size bound of the compression cache in MiB [default: 1024].
    ///
    /// 1-1048576; the least recently used entries go first.
    #[arg(long, value_name = "MIB", value_parser = crate::config::defaults::ranged::<u32>("cache_max_mib"), hide_short_help = true)]
    pub cache_max_mib: Option<u32>,
    /// Compress every file again; read and write no cache.
    #[arg(long, conflicts_with = "cache_dir", hide_short_help = true)]
    pub no_cache: bool,
    /// Add Subresource Integrity to what pages load.
    ///
    /// integrity + crossorigin on tags, and an import map for lazy chunks. Default: the profile's
    /// sri, else off.
    #[arg(long, conflicts_with = "no_sri")]
    pub sri: bool,
    /// Source maps (.map): public or skip (left out).
    ///
    /// public: uploaded, their siblings compressed at a cheap setting (only devtools fetch them).
    /// skip: not in the tree nor uploaded, and the scripts' and styles' sourceMappingURL comments
    /// removed. Default: the profile's source_maps, else public.
    #[arg(long, value_enum, value_name = "HOW", hide_possible_values = true)]
    pub source_maps: Option<crate::site::SourceMaps>,
    /// No Subresource Integrity, whatever the profile says.
    #[arg(long, hide_short_help = true)]
    pub no_sri: bool,
}

/// Options only `build` takes (publish uses their defaults, which `Default` gives: no flag).
#[derive(Debug, Clone, Default, Args)]
pub struct TuningArgs {
    /// Files found through manifest.json's `renamed` map (glob, repeatable).
    ///
    /// By a server template or another app, not by a reference: renamed, and not required to be
    /// named.
    #[arg(long = "manifest-named", value_name = "GLOB", hide_short_help = true)]
    pub manifest_named: Vec<String>,
    /// A server URL references may already start with (repeatable).
    ///
    /// A bundler base of `https://cdn.example.com/app/`. Default: the profile's cdn_server.
    #[arg(long = "server", value_name = "URL")]
    pub servers: Vec<String>,
    /// Hex characters of content hash in names (8-16) [default: 10].
    #[arg(long, value_name = "N", value_parser = crate::config::defaults::ranged::<u8>("hash_length"), hide_short_help = true)]
    pub hash_length: Option<u8>,
    /// Regex for file names a bundler already hashed; those keep their names.
    ///
    /// Default: Vite's, webpack's and the other bundlers' patterns.
    #[arg(long, value_name = "REGEX", hide_short_help = true)]
    pub hashed_pattern: Option<String>,
    /// gzip level for .gz siblings (1-9) [default: 9].
    #[arg(long, value_name = "N", value_parser = crate::config::defaults::ranged::<u32>("gzip_level"), hide_short_help = true)]
    pub gzip_level: Option<u32>,
    /// Smallest file (bytes) that gets .gz/.br siblings [default: 1024].
    #[arg(long, value_name = "BYTES", hide_short_help = true)]
    pub min_size: Option<u64>,
    /// Keep a sibling only below this fraction of the original [default: 0.9].
    #[arg(long, value_name = "RATIO", hide_short_help = true)]
    pub max_ratio: Option<f64>,
}

/// `cdnpub rewrite` options.
#[derive(Debug, Args)]
pub struct RewriteArgs {
    /// Files to rewrite: globs relative to the root.
    ///
    /// `*` stays within a directory, `**` crosses them.
    #[arg(value_name = "GLOB")]
    pub globs: Vec<String>,
    /// Space-separated globs, used when no GLOB argument is given.
    ///
    /// The old entrypoint's variable.
    #[arg(long, value_name = "GLOBS")]
    pub files: Option<String>,
    /// The served directory the globs are relative to.
    ///
    /// Default: /usr/share/nginx/html.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// CDN server URL the placeholder becomes.
    ///
    /// Anything not http(s):// becomes "." (served from the origin).
    #[arg(long, value_name = "URL", allow_hyphen_values = true)]
    pub server: Option<String>,
    /// The placeholder token [default: EGOVA_CDN].
    #[arg(long, value_name = "TOKEN")]
    pub prefix: Option<String>,
    /// Where the render state (placeholder positions, for re-runs) is kept.
    ///
    /// Default: <root's parent>/.cdnpub/<root's name>.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Say what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Exit 3 if any placeholder remains in the matched files after rendering.
    #[arg(long)]
    pub check: bool,
    /// A glob that matches no file is an error (exit 2) instead of a warning.
    #[arg(long)]
    pub strict: bool,
    /// Files that hold no placeholder at all are fine.
    ///
    /// By default, a placeholder found in none of the files named is exit 1: a typo in CDN_PREFIX
    /// would start nginx with unrendered pages.
    #[arg(long, env = "CDNPUB_ALLOW_EMPTY")]
    pub allow_empty: bool,
    /// gzip level for regenerated .gz siblings (1-9) [default: 9].
    #[arg(long, value_name = "N", value_parser = crate::config::defaults::ranged::<u32>("gzip_level"))]
    pub gzip_level: Option<u32>,
    /// brotli quality for regenerated .br siblings (0-11) [default: 9].
    ///
    /// 9: fast enough for a container start.
    #[arg(long, value_name = "N", value_parser = crate::config::defaults::ranged::<u32>("brotli_quality"))]
    pub brotli_quality: Option<u32>,
    /// fsync every file before renaming it into place.
    ///
    /// Survives power loss; slower.
    #[arg(long)]
    pub fsync: bool,
}

/// A URL path router code is written for (`/`, `/mobile-vue/pass/`): letters, digits and
/// `. _ ~ - /`, no `..` segment (it goes into nginx, JavaScript and EdgeScript as it is).
pub fn url_path(raw: &str) -> Result<String, String> {
    let ok = raw
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-' | b'/'))
        && !raw.split('/').any(|s| s == "..");
    if ok {
        Ok(raw.to_string())
    } else {
        Err(format!(
            "{raw:?} is not a URL path of letters, digits and . _ ~ - / (e.g. /mobile-vue/pass/)"
        ))
    }
}

/// A CloudFront KeyValueStore id, or its ARN.
fn kvs_ref(raw: &str) -> Result<String, String> {
    if raw.starts_with("arn:") {
        return crate::cdn::routers::kvs::check_arn(raw).map(|()| raw.to_string());
    }
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(raw.to_string())
    } else {
        Err(format!(
            "{raw:?} is not a KeyValueStore id (letters, digits, -) or ARN"
        ))
    }
}

/// A path nginx reads unquoted: no whitespace, quotes, `;`, braces or `$`.
fn nginx_word(raw: &str) -> Result<String, String> {
    if !raw.is_empty()
        && !raw
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "'\";{}$#\\".contains(c))
    {
        Ok(raw.to_string())
    } else {
        Err(format!(
            "{raw:?} cannot go into an nginx configuration unquoted (no spaces, quotes, ; {{ }} $ #)"
        ))
    }
}

/// An http(s) URL nginx proxies to.
fn nginx_origin(raw: &str) -> Result<String, String> {
    let word = nginx_word(raw)?;
    match url::Url::parse(&word) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(word),
        _ => Err(format!("{raw:?} is not an http(s) URL")),
    }
}
