//! The integration suite, one test binary (each binary links the AWS SDK: one link instead of
//! seventeen). One module per area; `cargo test --test it -- store::` runs one area.
//!
//! The modules marked `cfg(unix)` drive Unix programs (bash scripts of the Action and the old
//! entrypoint, nginx, Chromium, kill -9, file modes and owners); the rest also runs on Windows.

mod common;

#[cfg(unix)]
mod action;
mod build;
#[cfg(unix)]
mod bundlers_e2e;
mod cdn_aliyun;
mod cdn_cloudfront;
mod cdn_clouds;
#[cfg(unix)]
mod contrib;
mod correctness;
#[cfg(unix)]
mod crash;
mod credentials;
#[cfg(unix)]
mod differential;
mod docs;
mod exit_codes;
mod faults;
#[cfg(unix)]
mod frameworks_e2e;
mod hostile;
mod immutable;
mod layers;
#[cfg(unix)]
mod nginx_e2e;
#[cfg(unix)]
mod npm;
mod publish;
mod publish_e2e;
mod release_checks;
#[cfg(unix)]
mod rewrite;
#[cfg(unix)]
mod rollout;
mod routers;
mod shared;
mod stalled;
mod store;
mod typos;
mod upload;
mod verify;
