//! Router code for a rollout ([`super::rollout::Rollout`]), generated for the place a request
//! arrives. nginx: two includes, one for the `http` block (the visitor's bucket drawn once and
//! kept in a cookie, the share, the tag rules, previews) and one for the `server` block (pages
//! served from the chosen release, the cookie set once). A step of the rollout rewrites them;
//! `nginx -s reload` applies it without dropping a connection.
//!
//! Routed pages are `Cache-Control: private, no-cache` and `Vary: Cookie`: a CDN in front of this
//! router passes page requests through (assets, the same for everyone, stay cached), so the
//! routing happens before any shared cache and a step needs no purge.
//!
//! A bucket is drawn from the visitor's address and user agent (so the first page and its
//! navigations agree even before the cookie is back), then kept in `cdnpub_bucket`. Buckets
//! below the percentage see the candidate's pages (`releases/<id>/…`); assets are shared, their
//! names are content hashes. `?cdnpub-release=<id>` shows a staged release to whoever asks (a
//! preview) and keeps it in a `cdnpub_release` cookie for the visit.

//!
//! The edge routers read the same state from a key-value store (`kvs_value`): CloudFront
//! Functions with a KeyValueStore and a Cloudflare Worker with Workers KV (`javascript.rs`);
//! Alibaba Cloud's EdgeScript has no store a rule can read, so its rule carries the step
//! (`edgescript.rs`) and a step rewrites it.

mod edgescript;
mod javascript;
mod nginx;

pub use edgescript::{edgescript, RULE_NAME};
pub use javascript::{cloudflare_worker, cloudfront, edgeone_function, EDGEONE_BINDING};
pub use nginx::{nginx, nginx_http, Origin};

use super::rollout::{Rollout, TagKind};

/// `base` as `/a/b/` (a leading and a trailing slash, nothing doubled).
fn base_path(base: &str) -> String {
    let inner = base.trim_matches('/');
    if inner.is_empty() {
        "/".into()
    } else {
        format!("/{inner}/")
    }
}

/// The KeyValueStore key the CloudFront router reads the rollout from.
pub const KVS_KEY: &str = "cdnpub-rollout";

/// The value of [`KVS_KEY`] for `state`: what the CloudFront router needs (share, candidate
/// prefix, tag rules), small enough for a KeyValueStore value (1 KB).
pub fn kvs_value(state: &Rollout) -> String {
    let tags: Vec<serde_json::Value> = state
        .tags
        .iter()
        .map(|t| {
            serde_json::json!({
                "kind": match t.kind { TagKind::Header => "header", TagKind::Cookie => "cookie" },
                "name": t.name,
                "value": t.value,
            })
        })
        .collect();
    serde_json::json!({
        "percent": if state.candidate.is_some() { state.percent } else { 0 },
        "candidate_prefix": state.candidate_prefix.clone().unwrap_or_default(),
        "tags": tags,
    })
    .to_string()
}
