//! `cdnpub config check` (validate cdnpub.toml and every profile) and `cdnpub config show`
//! (the resolved settings of a profile, secrets masked).

use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::{ConfigFile, Layers, Settings};
use crate::error::{Error, Result};

/// What `config check` found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The command ("config check").
    pub command: &'static str,
    /// The file checked.
    pub file: String,
    /// Its profiles.
    pub profiles: Vec<String>,
}

/// What `config show` prints.
#[derive(Debug, Clone, Serialize)]
pub struct ShowReport {
    /// The command ("config show").
    pub command: &'static str,
    /// The file, if any.
    pub file: Option<String>,
    /// The profile, if any.
    pub env: Option<String>,
    /// Resolved settings: the profile over the top level over built-in defaults.
    pub settings: Value,
    /// Defaults no single value says (per command, or read from elsewhere), by key: printed as
    /// comments, so the text stays a valid cdnpub.toml.
    pub notes: Map<String, Value>,
    /// Credential variables: "set (hidden)" or "not set".
    pub credentials: Map<String, Value>,
}

/// Credential variables cdnpub reads (shown masked).
const CREDENTIAL_VARS: [&str; 10] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
    "OSS_ACCESS_KEY_ID",
    "OSS_ACCESS_KEY_SECRET",
];

/// Hide passwords in URLs (`https://user:pass@host` → `https://***@host`).
fn mask(v: &mut Value) {
    match v {
        Value::String(s) => {
            if let (Some(scheme), Some(at)) = (s.find("://"), s.find('@')) {
                if at > scheme {
                    *s = format!("{}***{}", &s[..scheme + 3], &s[at..]);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(mask),
        Value::Object(o) => o.values_mut().for_each(mask),
        _ => {}
    }
}

/// `config show`: the resolved settings of `env` (or the top level).
pub fn show(explicit: Option<&Path>, env: Option<&str>) -> Result<ShowReport> {
    let file = ConfigFile::load(explicit)?;
    let mut settings = Layers::new(file.as_ref(), env)?.merged();
    if let (Some(s), Value::Object(d)) =
        (settings.as_object_mut(), crate::config::defaults::table())
    {
        for (k, v) in d {
            if !s.contains_key(&k) || s[&k].is_null() {
                s.insert(k, v);
            }
        }
        s.retain(|_, v| !v.is_null());
    }
    let notes = crate::config::defaults::keys()
        .iter()
        .filter(|k| !k.otherwise.is_empty() && k.otherwise != "none")
        .filter(|k| settings.get(k.name).is_none() || k.default.is_some())
        .map(|k| (k.name.to_string(), Value::String(k.otherwise.to_string())))
        .collect();
    mask(&mut settings);
    let credentials = CREDENTIAL_VARS
        .iter()
        .map(|v| {
            let state = if std::env::var_os(v).is_some() {
                "set (hidden)"
            } else {
                "not set"
            };
            (v.to_string(), Value::String(state.into()))
        })
        .collect();
    Ok(ShowReport {
        command: "config show",
        file: file.as_ref().map(|f| f.path.display().to_string()),
        env: env.map(str::to_owned),
        settings,
        notes,
        credentials,
    })
}

/// `config check`: parse the file (unknown keys name key and line) and validate the values of
/// the top level and of every profile; every problem is listed.
pub fn check(explicit: Option<&Path>) -> Result<CheckReport> {
    let file = ConfigFile::load(explicit)?.ok_or_else(|| {
        Error::Usage("no configuration file: give --config FILE or create ./cdnpub.toml".into())
    })?;
    let text = std::fs::read_to_string(&file.path).unwrap_or_default();
    let mut problems = Vec::new();
    let mut scopes: Vec<Option<&str>> = vec![None];
    scopes.extend(file.settings.env.keys().map(|k| Some(k.as_str())));
    for scope in scopes {
        let merged = Layers::new(Some(&file), scope)?.merged();
        let s: Settings = serde_json::from_value(merged).unwrap_or_default();
        for (key, message) in scope_problems(&s) {
            let at = line_of(&text, scope, &key)
                .map(|l| format!("line {l}: "))
                .unwrap_or_default();
            let label = scope.map(|n| format!("[env.{n}] ")).unwrap_or_default();
            let line = format!("{at}{label}{key}: {message}");
            if !problems.contains(&line) {
                problems.push(line);
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::Config {
            path: file.path.clone(),
            message: format!(
                "{} problem(s):\n  {}",
                problems.len(),
                problems.join("\n  ")
            ),
        });
    }
    Ok(CheckReport {
        command: "config check",
        file: file.path.display().to_string(),
        profiles: file.settings.env.keys().cloned().collect(),
    })
}

/// Problems of one resolved scope, as (key, message): every key it sets, validated by that
/// key's descriptor ([`super::defaults::Key::validate`]), the same check resolution makes.
fn scope_problems(s: &Settings) -> Vec<(String, String)> {
    let values = serde_json::to_value(s).unwrap_or(Value::Null);
    crate::config::defaults::keys()
        .iter()
        .filter_map(|k| {
            let v = values.get(k.name).filter(|v| !v.is_null())?;
            k.validate(v).err().map(|e| (k.name.to_string(), e))
        })
        .collect()
}

/// The 1-based line where `key` is set in `scope` (the top level or `[env.NAME]`), or in the
/// top level when the profile inherits it.
fn line_of(text: &str, scope: Option<&str>, key: &str) -> Option<usize> {
    let mut section: Option<String> = None;
    let mut top = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            section = Some(t.trim_matches(['[', ']']).to_string());
            continue;
        }
        let sets = t.starts_with(key) && t[key.len()..].trim_start().starts_with('=');
        if !sets {
            continue;
        }
        match (&section, scope) {
            (None, _) => top = top.or(Some(i + 1)),
            (Some(s), Some(n)) if *s == format!("env.{n}") => return Some(i + 1),
            _ => {}
        }
    }
    top
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_checks_say_value_and_bounds() {
        use crate::config::validate::ratio;
        use serde_json::json;
        let key = |n| crate::config::defaults::setting(n).unwrap();
        assert_eq!(key("gzip_level").validate(&json!(9)), Ok(()));
        assert_eq!(
            key("gzip_level").validate(&json!(10)).unwrap_err(),
            "10 is out of range (1 to 9)"
        );
        assert_eq!(
            key("concurrency").validate(&json!(0)).unwrap_err(),
            "0 is out of range (1 to 256)"
        );
        assert!(ratio(&json!(1.0)).is_ok() && ratio(&json!(0.0)).is_err());
        assert!(ratio(&json!(1.5)).is_err());
        let s = Settings {
            hash_length: Some(20),
            max_compress_ratio: Some(2.0),
            cdn_provider: Some("akamai".into()),
            ..Settings::default()
        };
        let keys: Vec<String> = scope_problems(&s).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["hash_length", "max_compress_ratio", "cdn_provider"]);
    }
}
