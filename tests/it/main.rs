//! The integration suite, one test binary (each binary links the AWS SDK: one link instead of
//! seventeen). One module per area; `cargo test --test it -- store::` runs one area.

mod common;

mod action;
mod build;
mod bundlers_e2e;
mod cdn_aliyun;
mod cdn_cloudfront;
mod cdn_clouds;
mod contrib;
mod correctness;
mod crash;
mod credentials;
mod differential;
mod exit_codes;
mod faults;
mod frameworks_e2e;
mod hostile;
mod immutable;
mod nginx_e2e;
mod npm;
mod publish;
mod publish_e2e;
mod release_checks;
mod rewrite;
mod shared;
mod stalled;
mod store;
mod typos;
mod upload;
mod verify;
