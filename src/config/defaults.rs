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

/// One cdnpub.toml key: what reads it, its built-in default, and what it sets. The list
/// ([`keys`]) is the one place a key is described: `config show` prints its defaults and the
/// configuration reference (docs/configuration.md) is generated from it.
#[derive(Debug, Clone)]
pub struct Key {
    /// The key, as written in cdnpub.toml (top level or `[env.NAME]`).
    pub name: &'static str,
    /// The commands that read it.
    pub commands: &'static str,
    /// Its default as a TOML value, where one value is the default.
    pub default: Option<Value>,
    /// What the default is where no single value says it (read from elsewhere, or per command).
    pub otherwise: &'static str,
    /// What it sets (flags and variables that set it too are named).
    pub what: &'static str,
}

fn key(
    name: &'static str,
    commands: &'static str,
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
    }
}

/// Every key of cdnpub.toml, in the order `config show` prints them.
pub fn keys() -> Vec<Key> {
    use serde_json::json;
    let d = |v: Value| Some(v);
    vec![
        key("cdn_server", "rewrite, publish, purge, prefetch, verify", None, "none: placeholders become `.` (served from the origin)", "The CDN server URL the placeholder becomes (`--server`, `CDN_SERVER`)."),
        key("cdn_prefix", "rewrite, build, publish", d(json!(CDN_PREFIX)), "", "The placeholder token (`--prefix`, `CDN_PREFIX`)."),
        key("root", "rewrite", d(json!(ROOT)), "", "The served directory `rewrite` works in, relative to the config file (`--root`, `CDNPUB_ROOT`)."),
        key("replace_files", "rewrite, publish", None, "rewrite: none (`CDN_REPLACE_FILES`); publish: every text file (html, js, css, json, txt, webmanifest, svg, xml, map)", "Globs of the files whose placeholders are rendered (`--files`/GLOB, `--render`)."),
        key("state_dir", "rewrite", None, "`<root's parent>/.cdnpub/<root's name>`, else the temporary directory", "Where `rewrite` keeps its render state, relative to the config file (`--state-dir`, `CDNPUB_STATE_DIR`)."),
        key("gzip_level", "rewrite, build, publish", d(json!(GZIP_LEVEL)), "", "gzip level of `.gz` siblings, 1-9 (`--gzip-level`, `CDNPUB_GZIP_LEVEL`); source maps get at most 6."),
        key("brotli_quality", "rewrite, build, publish", d(json!(BROTLI_QUALITY)), "rewrite at container start: 9", "brotli quality of `.br` siblings, 0-11 (`--brotli-quality`, `CDNPUB_BROTLI_QUALITY`); source maps get at most 5."),
        key("hash_length", "build, publish", d(json!(HASH_LENGTH)), "", "Hex characters of content hash in names cdnpub gives, 8-16 (`--hash-length`)."),
        key("keep_names", "build, publish", None, "none beyond the built-in ones (HTML, service workers, what a runtime fetches by name)", "Globs of files that keep their names (`--keep`)."),
        key("hashed_pattern", "build, publish", d(json!(crate::site::classify::DEFAULT_HASHED_PATTERN)), "", "Regex on file names a bundler already hashed; they keep their names (`--hashed-pattern`)."),
        key("min_compress_size", "build, publish", d(json!(MIN_COMPRESS_SIZE)), "", "Smallest file, in bytes, that gets `.gz`/`.br` siblings (`--min-size`)."),
        key("max_compress_ratio", "build, publish", d(json!(MAX_COMPRESS_RATIO)), "", "A sibling is kept only when smaller than this fraction of the original (`--max-ratio`)."),
        key("compress", "build, publish", d(json!(true)), "", "Write `.gz`/`.br` siblings at all (`--no-compress`)."),
        key("cache_dir", "build, publish", d(json!(CACHE_DIR)), "", "The compression cache, relative to the config file (`--cache-dir`, `CDNPUB_CACHE_DIR`)."),
        key("cache_max_mib", "build, publish", d(json!(crate::site::cache::DEFAULT_MAX_MIB)), "", "Size bound of the compression cache in MiB; least recently used entries go first (`--cache-max-mib`)."),
        key("base_path", "build, publish", None, "publish: the first target's key prefix where references use it; else inferred from the references", "The tree's deploy sub-path under the site root, `mobile-vue/pass` (`--base-path`, `CDNPUB_BASE_PATH`)."),
        key("manifest_named", "build, publish", None, "none", "Globs of files found through manifest.json's `renamed` map, not by a reference (`--manifest-named`)."),
        key("source_maps", "build, publish", d(json!("public")), "", "`public`: `.map` files are uploaded, their siblings compressed at a cheap setting; `skip`: left out, and the comments naming them removed (`--source-maps`)."),
        key("targets", "upload, publish, releases, rollback, purge, prefetch, verify", None, "none", "Targets: `s3://bucket/prefix`, `oss://`, `cos://`, `file:///dir` or a directory; each gets the full upload (`--to`)."),
        key("endpoint", "every command with a target", None, "AWS", "S3 endpoint URL: OSS, MinIO, any S3-compatible server (`--endpoint`, `CDNPUB_ENDPOINT`)."),
        key("region", "every command with a target", None, "the AWS configuration's; us-east-1 with a custom endpoint", "Region of the endpoint (`--region`, `CDNPUB_REGION`)."),
        key("path_style", "every command with a target", d(json!(false)), "", "Path-style requests, for MinIO and most self-hosted S3 (`--path-style`)."),
        key("connect_timeout", "every command that talks to a store or a CDN API", d(json!(humantime::format_duration(CONNECT_TIMEOUT).to_string())), "", "Longest wait to connect (`--connect-timeout`, `CDNPUB_CONNECT_TIMEOUT`)."),
        key("read_timeout", "every command that talks to a store or a CDN API", d(json!(humantime::format_duration(READ_TIMEOUT).to_string())), "", "Longest silence from a connected server before a request fails (`--read-timeout`, `CDNPUB_READ_TIMEOUT`)."),
        key("concurrency", "upload, publish", d(json!(CONCURRENCY)), "", "Requests in flight per target, 1-256 (`--concurrency`)."),
        key("keep_releases", "upload, publish", d(json!(KEEP_RELEASES)), "", "Releases, this one included, whose objects are never deleted (`--keep-releases`)."),
        key("max_deletes", "upload, publish", d(json!(MAX_DELETES)), "", "More deletes than this is an error and nothing is deleted (`--max-deletes`)."),
        key("encoding", "upload, publish", d(json!("auto")), "", "The variant stored under plain keys: `auto` (gzip in buckets, plain + siblings in directories), `identity`, `gzip`, `br` (`--encoding`)."),
        key("siblings", "upload, publish", d(json!(false)), "", "Also store `.gz`/`.br` siblings under their own keys (`--siblings`)."),
        key("headers", "upload, publish", None, "none", "`[[headers]]` tables: `glob`, `cache_control`, `content_type`; the first matching rule wins, per header."),
        key("sri", "build, publish", d(json!(false)), "", "Add Subresource Integrity to what pages load (`--sri`, `--no-sri`)."),
        key("budget", "publish", None, "none", "`[[budget]]` tables: `entry` (a page glob), `max_br`, `max_gzip` (bytes or \"200 kB\"), `max_growth` (%)."),
        key("cdn_provider", "publish, purge, prefetch, verify, rollback", None, "none: the CDN stages are skipped", "`aliyun`, `cloudfront`, `tencent`, `cloudflare`, `qiniu` or `huawei` (`--provider`, `CDNPUB_CDN_PROVIDER`)."),
        key("cdn_domains", "publish, purge, prefetch, verify, rollback", None, "the host of cdn_server", "The CDN domains jobs may touch; the first takes bare paths (`--domain`)."),
        key("cdn_distribution_id", "publish, purge, prefetch, rollback", None, "none", "CloudFront distribution id (`--distribution-id`, `CDNPUB_DISTRIBUTION_ID`)."),
        key("cdn_zone_id", "publish, purge, prefetch, rollback", None, "none", "Cloudflare zone id (`--zone-id`, `CLOUDFLARE_ZONE_ID`)."),
        key("cdn_endpoint", "publish, purge, prefetch, rollback", None, "the provider's public API", "The provider's API endpoint (`--cdn-endpoint`, `CDNPUB_CDN_ENDPOINT`)."),
        key("cdn_url_prefix", "publish, purge, prefetch, verify, rollback", None, "the target's key prefix", "URL path under the CDN domain where the target's keys are served (`--url-prefix`)."),
    ]
}

/// Every key with one default value, as `config show` prints them (valid cdnpub.toml).
pub fn table() -> Value {
    Value::Object(
        keys()
            .into_iter()
            .filter_map(|k| Some((k.name.to_string(), k.default?)))
            .collect(),
    )
}

/// The configuration reference: a table of every key (docs/configuration.md's generated part).
pub fn reference_markdown() -> String {
    let mut out = String::from("| key | read by | default | what it sets |\n|---|---|---|---|\n");
    for k in keys() {
        let default = match (&k.default, k.otherwise) {
            (Some(v), "") => format!("`{}`", toml_value(v)),
            (Some(v), other) => format!("`{}` ({other})", toml_value(v)),
            (None, other) => other.to_string(),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            k.name,
            k.commands,
            default.replace('|', "\\|"),
            k.what.replace('|', "\\|")
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
