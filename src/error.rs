//! One error type for the whole tool; each variant knows its exit code and says what to do.

use std::path::PathBuf;

/// Exit code: everything worked.
pub const EXIT_OK: i32 = 0;
/// Exit code: a runtime failure (I/O, a file could not be written, a store refused).
pub const EXIT_FAILURE: i32 = 1;
/// Exit code: bad usage or configuration (flag, environment variable, cdnpub.toml); nothing was done.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: a check asked for with `--check` failed (placeholders remain).
pub const EXIT_CHECK: i32 = 3;
/// Exit code: an internal error (a bug in cdnpub: a panic); nothing more is done.
pub const EXIT_INTERNAL: i32 = 70;

/// Every error cdnpub reports to the user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag, environment variable or argument has a value we refuse; nothing was touched.
    #[error("{0}")]
    Usage(String),
    /// The configuration file is malformed or names something that does not exist.
    #[error("{path}: {message}")]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong, with position where known.
        message: String,
    },
    /// A file-system operation failed on a named path.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What cdnpub was doing ("read", "write", "rename" …).
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Some items of a run failed; each is named in the message.
    #[error("{0}")]
    Failed(String),
    /// A built tree is not the site the bundler made (a reference would not resolve, a renamed
    /// file is named by nothing); nothing was written or uploaded.
    #[error("{0}")]
    Broken(String),
    /// `--check` found what it was asked to look for.
    #[error("{0}")]
    CheckFailed(String),
}

/// Result with cdnpub's error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The process exit code documented in docs/exit-codes.md for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Config { .. } | Error::Broken(_) => EXIT_USAGE,
            Error::Io { .. } | Error::Failed(_) => EXIT_FAILURE,
            Error::CheckFailed(_) => EXIT_CHECK,
        }
    }

    /// Shorthand for an I/O error on a path.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            action,
            source,
        }
    }
}
