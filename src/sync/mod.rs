//! What an upload sends, and in what order: the objects of a built tree ([`local`]), the pure
//! decision of what each target needs ([`plan`]), and sending it ([`put`]).

pub mod local;
pub mod plan;
pub mod put;
pub mod rollback;
pub mod steps;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::release::Object;
use crate::site::state::sha256_hex;
use crate::store::Meta;

pub use crate::release::NO_CACHE;

/// Cache-Control of fingerprinted files.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Which stored variant of compressible files goes under the plain key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// gzip under plain keys on object storage (every browser and CDN takes it); plain files
    /// with .gz/.br siblings in a directory (nginx gzip_static / brotli_static).
    Auto,
    /// The plain bytes (CDNs compress on the fly).
    Identity,
    /// The .gz sibling, with `Content-Encoding: gzip`.
    Gzip,
    /// The .br sibling, with `Content-Encoding: br`.
    Br,
}

impl Encoding {
    /// What `auto` means for these targets: gzip under plain keys when every target is object
    /// storage, plain bytes plus siblings when every target is a directory. Any other choice
    /// stands as given. Mixed targets with `auto` are refused: a directory served by nginx
    /// must not hold gzip bytes under plain names, and every target holds the same release.
    pub fn resolve(
        self,
        siblings: bool,
        directories: usize,
        targets: usize,
    ) -> Result<(Encoding, bool), String> {
        match self {
            Encoding::Auto if directories == 0 => Ok((Encoding::Gzip, siblings)),
            Encoding::Auto if directories == targets => Ok((Encoding::Identity, true)),
            Encoding::Auto => Err(format!(
                "{directories} of the {targets} targets are directories and the rest object storage; \
                 --encoding auto stores gzip in buckets and plain files with siblings in directories, \
                 and every target must hold the same release: say --encoding identity --siblings \
                 (plain files with .gz/.br siblings on every target), or upload to the buckets and \
                 to the directories in separate runs"
            )),
            other => Ok((other, siblings)),
        }
    }

    /// The Content-Encoding this choice stores under plain keys, if any.
    pub fn content_encoding(self) -> Option<&'static str> {
        match self {
            Encoding::Auto | Encoding::Gzip => Some("gzip"),
            Encoding::Identity => None,
            Encoding::Br => Some("br"),
        }
    }
}

/// One object to publish: its key, the file holding its bytes, and how it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalObject {
    /// Key relative to the target's prefix.
    pub key: String,
    /// The file whose bytes are sent.
    pub path: PathBuf,
    /// Digest, size and headers.
    pub object: Object,
    /// Its name changes with its content (sent before any page).
    pub immutable: bool,
}

/// Object metadata naming the digest of the headers an object was stored with.
pub const HEADERS_META: &str = "cdnpub-headers";

/// A short digest of the headers cdnpub sets (16 hex of SHA-256): a rule change shows as a
/// different value even where a store normalises the headers themselves.
pub fn headers_digest(o: &Object) -> String {
    let text = format!(
        "content-type:{}\ncache-control:{}\ncontent-encoding:{}\n",
        o.content_type,
        o.cache_control,
        o.content_encoding.as_deref().unwrap_or("")
    );
    sha256_hex(text.as_bytes())[..16].to_string()
}

/// Headers and metadata an object is stored with.
pub fn meta_of(o: &Object) -> Meta {
    Meta {
        content_type: Some(o.content_type.clone()),
        cache_control: Some(o.cache_control.clone()),
        content_encoding: o.content_encoding.clone(),
        metadata: BTreeMap::from([
            ("sha256".to_string(), o.sha256.clone()),
            (HEADERS_META.to_string(), headers_digest(o)),
        ]),
    }
}

/// The encoding browsers get from `targets`: what buckets store under plain keys, brotli from
/// directories with siblings (nginx `brotli_static`).
pub fn wire_encoding(targets: &[String], encoding: Encoding, siblings: bool) -> &'static str {
    use crate::store::target::Location;
    let dirs = targets
        .iter()
        .filter(|t| matches!(Location::parse(t), Ok(Location::Dir(_))))
        .count();
    match encoding.resolve(siblings, dirs, targets.len()) {
        Ok((Encoding::Identity, true)) if dirs > 0 => "br",
        Ok((e, _)) => e.content_encoding().unwrap_or("identity"),
        Err(_) => "identity",
    }
}

#[cfg(test)]
mod encoding_tests {
    use super::Encoding;

    #[test]
    fn auto_is_gzip_on_buckets_and_siblings_in_directories_and_refuses_a_mix() {
        assert_eq!(
            Encoding::Auto.resolve(false, 0, 2),
            Ok((Encoding::Gzip, false))
        );
        assert_eq!(
            Encoding::Auto.resolve(true, 0, 1),
            Ok((Encoding::Gzip, true))
        );
        assert_eq!(
            Encoding::Auto.resolve(false, 2, 2),
            Ok((Encoding::Identity, true))
        );
        let mixed = Encoding::Auto.resolve(false, 1, 2).unwrap_err();
        assert!(mixed.contains("--encoding identity --siblings"), "{mixed}");
        // A choice made stands, whatever the targets.
        assert_eq!(Encoding::Br.resolve(false, 1, 2), Ok((Encoding::Br, false)));
        assert_eq!(
            Encoding::Identity.resolve(true, 0, 1),
            Ok((Encoding::Identity, true))
        );
        assert_eq!(Encoding::Auto.content_encoding(), Some("gzip"));
        assert_eq!(Encoding::Identity.content_encoding(), None);
    }
}
