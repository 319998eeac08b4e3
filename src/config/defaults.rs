//! The one table of built-in defaults: resolution takes them where no flag, variable, profile or
//! top-level key sets a value, and `config show` prints the same table.

use serde_json::Value;

/// Default of `--keep-releases`.
pub const KEEP_RELEASES: usize = 3;
/// Default of `--max-deletes` (as in s3deploy and hugo deploy).
pub const MAX_DELETES: usize = 256;
/// Default of `--concurrency`.
pub const CONCURRENCY: u16 = 16;
/// `verify`'s longest wait for one request (the `--request-timeout` default says the same).
pub const VERIFY_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
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

/// Every default by its cdnpub.toml key, as `config show` prints them.
pub fn table() -> Value {
    serde_json::json!({
        "cdn_prefix": CDN_PREFIX,
        "root": ROOT,
        "gzip_level": GZIP_LEVEL,
        "brotli_quality": BROTLI_QUALITY,
        "brotli_quality (rewrite)": REWRITE_BROTLI_QUALITY,
        "hash_length": HASH_LENGTH,
        "min_compress_size": MIN_COMPRESS_SIZE,
        "max_compress_ratio": MAX_COMPRESS_RATIO,
        "compress": true,
        "cache_dir": CACHE_DIR,
        "cache_max_mib": crate::site::cache::DEFAULT_MAX_MIB,
        "concurrency": CONCURRENCY,
        "keep_releases": KEEP_RELEASES,
        "max_deletes": MAX_DELETES,
        "encoding": "auto",
        "siblings": false,
        "replace_files (publish)": crate::cmd::publish::DEFAULT_RENDER,
        "connect_timeout": humantime::format_duration(CONNECT_TIMEOUT).to_string(),
        "read_timeout": humantime::format_duration(READ_TIMEOUT).to_string(),
    })
}
