//! The configuration file and its layers: cdnpub.toml parsed (unknown keys named with the
//! nearest), a profile laid over the top level key by key.

use super::{defaults, Settings};
use crate::error::{Error, Result};
use serde::{de::DeserializeOwned, Serialize};
use std::path::{Path, PathBuf};

/// The file looked for in the working directory when `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "cdnpub.toml";
/// The web root of the official nginx image, the old entrypoint's root.
pub const DEFAULT_ROOT: &str = defaults::ROOT;

/// A parsed configuration file.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its contents.
    pub settings: Settings,
}

/// serde's "unknown field `cdn_sever`, expected one of `cdn_server`, …" made short: the nearest
/// key ("did you mean `cdn_server`?") instead of all of them.
pub(super) fn suggest_key(message: &str) -> String {
    let Some(at) = message.find("unknown field `") else {
        return message.to_string();
    };
    let rest = &message[at + "unknown field `".len()..];
    let Some((typo, list)) = rest.split_once('`') else {
        return message.to_string();
    };
    let keys: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
    let nearest = keys
        .iter()
        .map(|k| (strsim::jaro_winkler(typo, k), *k))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(score, _)| *score >= 0.8);
    let hint = match nearest {
        Some((_, key)) => format!("did you mean `{key}`?"),
        None => "`cdnpub config show` lists every key".to_string(),
    };
    format!("{}unknown key `{typo}`: {hint}", &message[..at])
}

impl ConfigFile {
    /// Parse `text` as the contents of `path`; errors name the file, line and key.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let settings: Settings = toml::from_str(text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: suggest_key(e.to_string().trim_end()),
        })?;
        if let Some((name, _)) = settings.env.iter().find(|(_, p)| !p.env.is_empty()) {
            return Err(Error::Config {
                path: path.to_path_buf(),
                message: format!("[env.{name}] has its own [env] table; profiles do not nest"),
            });
        }
        Ok(ConfigFile {
            path: path.to_path_buf(),
            settings,
        })
    }

    /// Read the file given with `--config`, or `./cdnpub.toml` when it exists.
    pub fn load(explicit: Option<&Path>) -> Result<Option<Self>> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => PathBuf::from(DEFAULT_CONFIG_FILE),
            None => return Ok(None),
        };
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Config {
            path: path.clone(),
            message: format!(
                "cannot read the configuration file: {e} (check --config / CDNPUB_CONFIG)"
            ),
        })?;
        Self::parse(&path, &text).map(Some)
    }

    pub(super) fn dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }
}

/// The layers below the flags: the chosen profile, then the file's top level. The one place
/// that lays a profile over the top level: resolution asks it key by key ([`Layers::pick`],
/// with where each value came from), `config show` and `config check` take the whole merged
/// scope ([`Layers::merged`]).
pub struct Layers<'a> {
    file: Option<&'a ConfigFile>,
    /// The profile's name and the keys it sets.
    profile: Option<(&'a str, Keys)>,
    /// The keys the file's top level sets.
    top: Keys,
}

/// The keys one scope of the file sets, by name (unset ones absent).
type Keys = serde_json::Map<String, serde_json::Value>;

/// The keys `s` sets, by name (no `env` table).
fn keys_of(s: &Settings) -> Keys {
    let mut keys = match serde_json::to_value(s) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => Keys::new(),
    };
    keys.retain(|k, v| k != "env" && !v.is_null());
    keys
}

impl<'a> Layers<'a> {
    /// The layers of `file` with profile `env` (an error naming the profiles when it has none
    /// of that name, or when a profile is asked for without a file).
    pub fn new(file: Option<&'a ConfigFile>, env: Option<&'a str>) -> Result<Self> {
        let profile = match (env, file) {
            (None, _) => None,
            (Some(name), None) => {
                return Err(Error::Usage(format!(
                    "--env {name} needs a configuration file: none given with --config and no {DEFAULT_CONFIG_FILE} here"
                )))
            }
            (Some(name), Some(f)) => match f.settings.env.get(name) {
                Some(p) => Some((name, keys_of(p))),
                None => {
                    let known: Vec<&str> = f.settings.env.keys().map(String::as_str).collect();
                    return Err(Error::Config {
                        path: f.path.clone(),
                        message: format!("no profile [env.{name}] (profiles: {})", list_or_none(&known)),
                    });
                }
            },
        };
        let top = file.map(|f| keys_of(&f.settings)).unwrap_or_default();
        Ok(Layers { file, profile, top })
    }

    /// The first layer that sets a key, with a label naming where it came from.
    fn pick(&self, key: &str) -> Option<(serde_json::Value, String)> {
        let path = self.file?.path.display();
        if let Some((name, p)) = &self.profile {
            if let Some(v) = p.get(key) {
                return Some((v.clone(), format!("{path} [env.{name}] {key}")));
            }
        }
        self.top
            .get(key)
            .map(|v| (v.clone(), format!("{path} {key}")))
    }

    /// Every key the layers set, the profile's over the top level's (no `env` table); an empty
    /// object without a file.
    pub fn merged(&self) -> serde_json::Value {
        let mut all = self.top.clone();
        if let Some((_, p)) = &self.profile {
            all.extend(p.clone());
        }
        serde_json::Value::Object(all)
    }
}

impl Layers<'_> {
    /// The first layer's value of setting `name` with where it came from, checked by its
    /// descriptor: a bad value is an error naming the file and the key.
    pub(super) fn checked<T: DeserializeOwned>(&self, name: &str) -> Result<Option<(T, String)>> {
        let key = descriptor(name)?;
        let Some((value, origin)) = self.pick(name) else {
            return Ok(None);
        };
        let path = self.file.map(|f| f.path.clone()).unwrap_or_default();
        let bad = |e: String| Error::Config {
            path: path.clone(),
            message: format!("{name} = {e}"),
        };
        key.validate(&value).map_err(bad)?;
        let typed = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        Ok(Some((typed, origin)))
    }

    /// Setting `name`: `flag` when the command line or its variable gave one, else the first
    /// layer's value; either checked by the setting's descriptor (the check `config check`
    /// makes).
    pub(super) fn optional<T>(&self, name: &str, flag: Option<T>) -> Result<Option<T>>
    where
        T: DeserializeOwned + Serialize,
    {
        match flag {
            Some(v) => {
                let key = descriptor(name)?;
                let value = serde_json::to_value(&v).unwrap_or(serde_json::Value::Null);
                key.validate(&value)
                    .map_err(|e| Error::Usage(format!("{} {e}", key.flags.join(" / "))))?;
                Ok(Some(v))
            }
            None => Ok(self.checked(name)?.map(|(v, _)| v)),
        }
    }

    /// Setting `name` as [`Layers::optional`] finds it, else its descriptor's default.
    pub(super) fn setting<T>(&self, name: &str, flag: Option<T>) -> Result<T>
    where
        T: DeserializeOwned + Serialize,
    {
        if let Some(v) = self.optional(name, flag)? {
            return Ok(v);
        }
        let default = descriptor(name)?.default.clone().unwrap_or_default();
        serde_json::from_value(default)
            .map_err(|e| Error::Failed(format!("the default of {name} does not fit: {e}")))
    }

    /// A path setting: the flag's as given, the file's relative to the file's directory.
    pub(super) fn path(&self, name: &str, flag: Option<PathBuf>) -> Result<Option<PathBuf>> {
        if flag.is_some() {
            return Ok(flag);
        }
        let dir = self.file.map(ConfigFile::dir).unwrap_or_default();
        Ok(self.checked::<PathBuf>(name)?.map(|(p, _)| dir.join(p)))
    }

    /// A list setting the file and the flags add up to (the file's first), checked as a whole.
    pub(super) fn list(&self, name: &str, flags: &[String]) -> Result<Vec<String>> {
        let mut all: Vec<String> = self.optional(name, None)?.unwrap_or_default();
        if !flags.is_empty() {
            all.extend(
                self.optional(name, Some(flags.to_vec()))?
                    .unwrap_or_default(),
            );
        }
        Ok(all)
    }
}

/// The descriptor of setting `name` (every name resolution asks for has one).
fn descriptor(name: &str) -> Result<&'static defaults::Key> {
    defaults::setting(name).ok_or_else(|| Error::Failed(format!("no setting named {name}")))
}

pub(super) fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}
