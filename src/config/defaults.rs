//! The one table of built-in defaults: resolution takes them where no flag, variable, profile or
//! top-level key sets a value, and `config show` prints the same table.

use serde_json::Value;

/// Default of `--keep-releases`.
pub const KEEP_RELEASES: usize = 3;
/// Default of `--max-deletes` (as in s3deploy and hugo deploy).
pub const MAX_DELETES: usize = 256;
/// `verify`'s longest wait for one request (the `--request-timeout` default says the same).
pub use crate::cmd::verify::REQUEST_TIMEOUT as VERIFY_REQUEST_TIMEOUT;
/// Default of `--concurrency`.
pub use crate::util::DEFAULT_CONCURRENCY as CONCURRENCY;
/// Default of `--hash-length`.
pub const HASH_LENGTH: u8 = 10;
/// Default of `--min-size` (bytes).
pub const MIN_COMPRESS_SIZE: u64 = 1024;
/// Default of `--max-ratio`.
pub const MAX_COMPRESS_RATIO: f64 = 0.9;
/// brotli quality for siblings.
pub use crate::site::compress::DEFAULT_BROTLI_QUALITY as BROTLI_QUALITY;
/// brotli quality for siblings `rewrite` regenerates at container start: quality 9 is about ten
/// times faster than 11 for about 6% more bytes, which keeps a first start with a few pages and
/// 1.3 MB of the JavaScript they name under 100 ms (bench/rewrite.sh).
pub const REWRITE_BROTLI_QUALITY: u32 = 9;
/// gzip level for siblings.
pub use crate::site::compress::DEFAULT_GZIP_LEVEL as GZIP_LEVEL;
/// The placeholder token.
pub use crate::site::placeholder::DEFAULT_PREFIX as CDN_PREFIX;
/// Where the compression cache lives, relative to the working directory.
pub const CACHE_DIR: &str = ".cdnpub/cache";
/// Store requests: `--connect-timeout` and `--read-timeout`.
pub use crate::store::{CONNECT_TIMEOUT, READ_TIMEOUT};
/// The web root of the official nginx image, the old entrypoint's root.
pub const ROOT: &str = "/usr/share/nginx/html";

/// The default files rendered at publish: every text file a site serves (pages; scripts, where
/// Vite's preload helper and webpack's public path hold the base; styles; Next.js's `.txt`
/// route payloads; JSON payloads and manifests; SVG; source maps).
pub const RENDER: [&str; 13] = [
    "**/*.html",
    "**/*.htm",
    "**/*.js",
    "**/*.mjs",
    "**/*.cjs",
    "**/*.css",
    "**/*.json",
    "**/*.txt",
    "**/*.webmanifest",
    "**/*.svg",
    "**/*.xml",
    "**/*.map",
    "**/*.xhtml",
];

/// Default of `--timeout` (the longest `--wait` for a CDN job).
pub const CDN_WAIT_TIMEOUT: &str = "15m";
/// Default of `--poll-interval` (between a CDN job's status checks).
pub const CDN_POLL_INTERVAL: &str = "5s";
/// Default of verify's `--request-timeout`, as [`VERIFY_REQUEST_TIMEOUT`] written.
pub const VERIFY_REQUEST_TIMEOUT_TEXT: &str = "30s";

/// A key's check of one value (as TOML would give it): what is wrong, or nothing.
pub type Check = fn(&Value) -> Result<(), String>;

/// One setting: its cdnpub.toml key, the flags and variable that set it too, what reads it,
/// its default, its range and its check. The list ([`keys`]) is the one place a setting is
/// described: clap takes the variables and ranges from it ([`crate::cli::command`],
/// [`ranged`]), resolution takes defaults and checks ([`Key::validate`]), `config show` prints
/// its defaults, `config check` runs its checks, and the configuration reference
/// (docs/configuration.md) is generated from it.
#[derive(Debug, Clone)]
pub struct Key {
    /// The key, as written in cdnpub.toml (top level or `[env.NAME]`).
    pub name: &'static str,
    /// The commands that read it.
    pub commands: &'static [&'static str],
    /// Its default as a TOML value, where one value is the default.
    pub default: Option<Value>,
    /// What the default is where no single value says it (read from elsewhere, or per command).
    pub otherwise: &'static str,
    /// What it sets.
    pub what: &'static str,
    /// The flags that set it on the command line (`--gzip-level`).
    pub flags: &'static [&'static str],
    /// The environment variable that sets it, on the commands of `env_commands` (all of
    /// `commands` when empty) that have one of `flags`.
    pub env: Option<&'static str>,
    /// Where `env` applies, when not on every command that reads the setting.
    pub env_commands: &'static [&'static str],
    /// Its inclusive range, for whole numbers.
    pub range: Option<(i64, i64)>,
    /// Its check beyond the range and the type.
    pub check: Option<Check>,
}

impl Key {
    fn flags(mut self, flags: &'static [&'static str]) -> Self {
        self.flags = flags;
        self
    }

    fn env(mut self, var: &'static str) -> Self {
        self.env = Some(var);
        self
    }

    fn env_on(mut self, var: &'static str, commands: &'static [&'static str]) -> Self {
        self.env = Some(var);
        self.env_commands = commands;
        self
    }

    /// Whether `env` sets this key's flags on `command`.
    pub fn env_applies_to(&self, command: &str) -> bool {
        let on = match self.env_commands {
            [] => self.commands,
            some => some,
        };
        self.env.is_some() && on.contains(&command)
    }

    fn range(mut self, lo: i64, hi: i64) -> Self {
        self.range = Some((lo, hi));
        self
    }

    fn check(mut self, check: Check) -> Self {
        self.check = Some(check);
        self
    }

    /// What is wrong with `value` for this key (its range, then its check); `config check` and
    /// resolution both ask this.
    pub fn validate(&self, value: &Value) -> Result<(), String> {
        if let (Some((lo, hi)), Some(n)) = (self.range, value.as_i64()) {
            if !(lo..=hi).contains(&n) {
                return Err(format!("{n} is out of range ({lo} to {hi})"));
            }
        }
        match self.check {
            Some(check) => check(value),
            None => Ok(()),
        }
    }
}

fn key(
    name: &'static str,
    commands: &'static [&'static str],
    default: Option<Value>,
    otherwise: &'static str,
    what: &'static str,
) -> Key {
    Key {
        name,
        commands,
        default,
        otherwise,
        what,
        flags: &[],
        env: None,
        env_commands: &[],
        range: None,
        check: None,
    }
}

/// The commands that reach a store.
const WITH_TARGET: &[&str] = &[
    "upload", "publish", "releases", "rollback", "purge", "prefetch", "verify",
];
/// The commands that reach a store or a CDN API.
const ON_NETWORK: &[&str] = WITH_TARGET;
const BUILDS: &[&str] = &["build", "publish"];
const COMPRESSES: &[&str] = &["rewrite", "build", "publish"];
const UPLOADS: &[&str] = &["upload", "publish"];
const CDN: &[&str] = &["publish", "purge", "prefetch", "verify", "rollback"];

/// Every setting, in the order `config show` prints them.
pub fn keys() -> &'static [Key] {
    static KEYS: std::sync::LazyLock<Vec<Key>> = std::sync::LazyLock::new(build_keys);
    &KEYS
}

/// The setting named `name` (a cdnpub.toml key).
pub fn setting(name: &str) -> Option<&'static Key> {
    keys().iter().find(|k| k.name == name)
}

#[rustfmt::skip]
fn build_keys() -> Vec<Key> {
    use super::validate as v;
    use serde_json::json;
    let d = |v: Value| Some(v);
    vec![
        key("cdn_server", &["rewrite", "build", "publish", "purge", "prefetch", "verify"], None, "none: placeholders become `.` (served from the origin)", "The CDN server URL the placeholder becomes; build and publish also recognise it in pages.").flags(&["--server"]).env_on("CDN_SERVER", &["rewrite", "publish"]).check(v::server),
        key("cdn_prefix", COMPRESSES, d(json!(CDN_PREFIX)), "", "The placeholder token.").flags(&["--prefix"]).env("CDN_PREFIX").check(v::prefix),
        key("root", &["rewrite"], d(json!(ROOT)), "", "The served directory `rewrite` works in, relative to the config file.").flags(&["--root"]).env("CDNPUB_ROOT"),
        key("replace_files", &["rewrite", "publish"], None, "rewrite: none (`CDN_REPLACE_FILES`); publish: every text file (html, js, css, json, txt, webmanifest, svg, xml, map)", "Globs of the files whose placeholders are rendered (rewrite: GLOB arguments too).").flags(&["--files", "--render"]).env_on("CDN_REPLACE_FILES", &["rewrite"]).check(v::globs),
        key("state_dir", &["rewrite"], None, "`<root's parent>/.cdnpub/<root's name>`, else the temporary directory", "Where `rewrite` keeps its render state, relative to the config file.").flags(&["--state-dir"]).env("CDNPUB_STATE_DIR"),
        key("gzip_level", COMPRESSES, d(json!(GZIP_LEVEL)), "", "gzip level of `.gz` siblings; source maps get at most 6.").flags(&["--gzip-level"]).env("CDNPUB_GZIP_LEVEL").range(1, 9),
        key("brotli_quality", COMPRESSES, d(json!(BROTLI_QUALITY)), "rewrite at container start: 9", "brotli quality of `.br` siblings; source maps get at most 5.").flags(&["--brotli-quality"]).env("CDNPUB_BROTLI_QUALITY").range(0, 11),
        key("hash_length", BUILDS, d(json!(HASH_LENGTH)), "", "Hex characters of content hash in names cdnpub gives.").flags(&["--hash-length"]).range(8, 16),
        key("keep_names", BUILDS, None, "none beyond the built-in ones (HTML, service workers, what a runtime fetches by name)", "Globs of files that keep their names.").flags(&["--keep"]).check(v::globs),
        key("hashed_pattern", BUILDS, d(json!(crate::site::classify::DEFAULT_HASHED_PATTERN)), "", "Regex on file names a bundler already hashed; they keep their names.").flags(&["--hashed-pattern"]).check(v::regex),
        key("min_compress_size", BUILDS, d(json!(MIN_COMPRESS_SIZE)), "", "Smallest file, in bytes, that gets `.gz`/`.br` siblings.").flags(&["--min-size"]),
        key("max_compress_ratio", BUILDS, d(json!(MAX_COMPRESS_RATIO)), "", "A sibling is kept only when smaller than this fraction of the original (above 0, at most 1).").flags(&["--max-ratio"]).check(v::ratio),
        key("compress", BUILDS, d(json!(true)), "", "Write `.gz`/`.br` siblings at all.").flags(&["--no-compress"]),
        key("cache_dir", BUILDS, d(json!(CACHE_DIR)), "", "The compression cache, relative to the config file.").flags(&["--cache-dir"]).env("CDNPUB_CACHE_DIR"),
        key("cache_max_mib", BUILDS, d(json!(crate::site::cache::DEFAULT_MAX_MIB)), "", "Size bound of the compression cache in MiB; least recently used entries go first.").flags(&["--cache-max-mib"]).range(1, 1 << 20),
        key("base_path", BUILDS, None, "publish: the first target's key prefix where references use it; else inferred from the references", "The tree's deploy sub-path under the site root, `mobile-vue/pass`.").flags(&["--base-path"]).env("CDNPUB_BASE_PATH").check(v::base_path),
        key("manifest_named", BUILDS, None, "none", "Globs of files found through manifest.json's `renamed` map, not by a reference.").flags(&["--manifest-named"]).check(v::globs),
        key("source_maps", BUILDS, d(json!("public")), "", "`public`: `.map` files are uploaded, their siblings compressed at a cheap setting; `skip`: left out, and the comments naming them removed.").flags(&["--source-maps"]),
        key("targets", WITH_TARGET, None, "none", "Targets: `s3://bucket/prefix`, `oss://`, `cos://`, `file:///dir` or a directory; each gets the full upload.").flags(&["--to"]).check(v::targets),
        key("endpoint", WITH_TARGET, None, "AWS", "S3 endpoint URL: OSS, MinIO, any S3-compatible server.").flags(&["--endpoint"]).env("CDNPUB_ENDPOINT"),
        key("region", WITH_TARGET, None, "the AWS configuration's; us-east-1 with a custom endpoint", "Region of the endpoint.").flags(&["--region"]).env("CDNPUB_REGION"),
        key("path_style", WITH_TARGET, d(json!(false)), "", "Path-style requests, for MinIO and most self-hosted S3.").flags(&["--path-style"]),
        key("connect_timeout", ON_NETWORK, d(json!(humantime::format_duration(CONNECT_TIMEOUT).to_string())), "", "Longest wait to connect.").flags(&["--connect-timeout"]).env("CDNPUB_CONNECT_TIMEOUT").check(v::duration),
        key("read_timeout", ON_NETWORK, d(json!(humantime::format_duration(READ_TIMEOUT).to_string())), "", "Longest silence from a connected server before a request fails.").flags(&["--read-timeout"]).env("CDNPUB_READ_TIMEOUT").check(v::duration),
        key("concurrency", UPLOADS, d(json!(CONCURRENCY)), "", "Requests in flight per target.").flags(&["--concurrency"]).range(1, 256),
        key("keep_releases", UPLOADS, d(json!(KEEP_RELEASES)), "", "Releases, this one included, whose objects are never deleted.").flags(&["--keep-releases"]),
        key("max_deletes", UPLOADS, d(json!(MAX_DELETES)), "", "More deletes than this is an error and nothing is deleted.").flags(&["--max-deletes"]),
        key("encoding", UPLOADS, d(json!("auto")), "", "The variant stored under plain keys: `auto` (gzip in buckets, plain + siblings in directories), `identity`, `gzip`, `br`.").flags(&["--encoding"]),
        key("siblings", UPLOADS, d(json!(false)), "", "Also store `.gz`/`.br` siblings under their own keys.").flags(&["--siblings"]),
        key("headers", UPLOADS, None, "none", "`[[headers]]` tables: `glob`, `cache_control`, `content_type`; the first matching rule wins, per header.").check(v::headers),
        key("sri", BUILDS, d(json!(false)), "", "Add Subresource Integrity to what pages load.").flags(&["--sri", "--no-sri"]),
        key("site_url", &["publish", "verify"], None, "none", "The public URL of the site's pages (`https://www.example.com/mobile-vue/pass/`): a staged release's preview URL is it + `?cdnpub-release=<id>`; during a rollout, `verify` fetches the stable and the candidate release's pages through the router there.").flags(&["--site-url"]).env("CDNPUB_SITE_URL").check(v::http_url),
        key("rollout_routers", &["rollout"], None, "none: a step changes `_cdnpub/rollout.json` only", "The routers a rollout step updates, each a spec: `nginx:DIR` (the http include written there), `cloudfront:KVS-ARN` (the KeyValueStore value), `cloudflare:ACCOUNT_ID/NAMESPACE_ID` (the Workers KV value), `edgeone:ZONE_ID/NAMESPACE` (the Edge KV value), `aliyun:DOMAIN/BASE/` (the EdgeScript rule); `?endpoint=URL` after one sets its API's address.").flags(&["--router"]).check(v::routers),
        key("budget", &["publish"], None, "none", "`[[budget]]` tables: `entry` (a page glob), `max_br`, `max_gzip` (bytes or \"200 kB\"), `max_growth` (%).").check(v::budget_value),
        key("cdn_provider", CDN, None, "none: the CDN stages are skipped", "`aliyun`, `cloudfront`, `tencent`, `cloudflare`, `qiniu` or `huawei`.").flags(&["--provider"]).env("CDNPUB_CDN_PROVIDER").check(v::provider),
        key("cdn_domains", CDN, None, "the host of cdn_server", "The CDN domains jobs may touch; the first takes bare paths.").flags(&["--domain"]).check(v::domains),
        key("cdn_distribution_id", CDN, None, "none", "CloudFront distribution id.").flags(&["--distribution-id"]).env("CDNPUB_DISTRIBUTION_ID"),
        key("cdn_zone_id", CDN, None, "none", "Cloudflare zone id.").flags(&["--zone-id"]).env("CLOUDFLARE_ZONE_ID"),
        key("cdn_endpoint", CDN, None, "the provider's public API", "The provider's API endpoint.").flags(&["--cdn-endpoint"]).env("CDNPUB_CDN_ENDPOINT"),
        key("cdn_url_prefix", CDN, None, "the target's key prefix", "URL path under the CDN domain where the target's keys are served.").flags(&["--url-prefix"]),
    ]
}

/// A clap value parser for the whole-number setting `name`, bounded by its range.
pub fn ranged<T>(name: &str) -> clap::builder::RangedI64ValueParser<T>
where
    T: TryFrom<i64> + Clone + Send + Sync + 'static,
    <T as TryFrom<i64>>::Error: std::error::Error + Send + Sync + 'static,
{
    let parser = clap::builder::RangedI64ValueParser::<T>::new();
    match setting(name).and_then(|k| k.range) {
        Some((lo, hi)) => parser.range(lo..=hi),
        None => parser,
    }
}

/// Every key with one default value, as `config show` prints them (valid cdnpub.toml).
pub fn table() -> Value {
    Value::Object(
        keys()
            .iter()
            .filter_map(|k| Some((k.name.to_string(), k.default.clone()?)))
            .collect(),
    )
}

/// The configuration reference: a table of every key (docs/configuration.md's generated part).
pub fn reference_markdown() -> String {
    let mut out = String::from("| key | read by | default | what it sets |\n|---|---|---|---|\n");
    for k in keys() {
        let mut set_by: Vec<String> = k.flags.iter().map(|f| format!("`{f}`")).collect();
        set_by.extend(k.env.map(|e| match k.env_commands {
            [] => format!("`{e}`"),
            on => format!("`{e}` ({})", on.join(", ")),
        }));
        let mut what = k.what.to_string();
        if let Some((lo, hi)) = k.range {
            what.push_str(&format!(" Range {lo}-{hi}."));
        }
        if !set_by.is_empty() {
            what.push_str(&format!(" Also set by {}.", set_by.join(", ")));
        }
        let default = match (&k.default, k.otherwise) {
            (Some(v), "") => format!("`{}`", toml_value(v)),
            (Some(v), other) => format!("`{}` ({other})", toml_value(v)),
            (None, other) => other.to_string(),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            k.name,
            k.commands.join(", "),
            default.replace('|', "\\|"),
            what.replace('|', "\\|")
        ));
    }
    out
}

/// `v` written as TOML writes it.
pub fn toml_value(v: &Value) -> String {
    match v {
        Value::String(s) => toml::Value::String(s.clone()).to_string(),
        other => other.to_string(),
    }
}
