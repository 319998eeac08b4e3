//! `cdnpub build SRC --out DIR`: the command is the pipeline in [`crate::site::build`] (scan,
//! analysis, naming and scheduling, output and the compression cache, SRI pages, the self-check);
//! this module names it for the commands that run it.

pub use crate::site::build::{
    check_tree, run, BuildConfig, BuildReport, CheckReport, Render, SriReport,
    SOURCE_MAP_BROTLI_QUALITY, SOURCE_MAP_GZIP_LEVEL, SRI_WARNING,
};
