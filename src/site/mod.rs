//! The pipeline steps on a tree of files, none of which touches the network: choosing files
//! ([`scan`]), naming them ([`classify`], [`fingerprint`]), compressing ([`compress`], [`cache`]), rendering
//! placeholders ([`placeholder`], [`state`]), the manifest a build leaves ([`manifest`]), the
//! check of the tree against it before an upload ([`tree`]), per-glob headers ([`headers`]),
//! the tags a page loads code with ([`tags`]) and Subresource Integrity ([`sri`]).

pub mod build;
pub mod cache;
pub mod classify;
pub mod compress;
pub mod fingerprint;
pub mod headers;
pub mod manifest;
pub mod markup;
pub mod placeholder;
pub mod scan;
pub mod siblings;
pub mod sri;
pub mod state;
pub mod tags;
pub mod tree;

/// What a build does with source maps (`.map` files), `--source-maps` / `source_maps`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Deserialize,
    serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum SourceMaps {
    /// Uploaded with the release, their siblings compressed at a cheap setting (only devtools
    /// fetch them).
    #[default]
    Public,
    /// Left out of the tree, and the scripts' and styles' comments naming a map removed.
    Skip,
}
