//! Provider credentials read from the environment: an id and secret (and an optional session
//! token), never printed, not even by `Debug`.

use crate::error::{Error, Result};

/// A key pair (and session token); `Debug` prints nothing of it.
#[derive(Clone, Default)]
pub struct Credentials {
    /// Key id (AccessKey id, SecretId, AK, API token for Bearer providers).
    pub id: String,
    /// Secret (empty for Bearer providers).
    pub secret: String,
    /// Session token (STS), if any.
    pub token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials { .. }")
    }
}

/// A non-empty environment variable.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Credentials {
    /// The first `(id, secret)` pair of variables that are both set, with the first set
    /// `tokens` variable; else a usage error naming the first pair (`who` names the provider).
    pub fn from_vars(pairs: &[(&str, &str)], tokens: &[&str], who: &str) -> Result<Self> {
        for (id, secret) in pairs {
            if let (Some(id), Some(secret)) = (var(id), var(secret)) {
                return Ok(Credentials {
                    id,
                    secret,
                    token: tokens.iter().find_map(|t| var(t)),
                });
            }
        }
        let (id, secret) = pairs.first().copied().unwrap_or(("", ""));
        Err(Error::Usage(format!("no {who} key: set {id} and {secret}")))
    }
}
