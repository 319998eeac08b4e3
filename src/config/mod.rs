//! cdnpub.toml, its `[env.NAME]` profiles, environment variables and flags, resolved into one
//! plain configuration. Precedence: flags > environment variables > profile > file top level >
//! built-in defaults.

pub mod command;
pub mod defaults;
pub mod settings;
pub mod validate;

use std::path::{Path, PathBuf};

use clap::ArgMatches;

use crate::cli::{value_origin, BuildArgs, GlobalArgs, RewriteArgs, UploadArgs};
use crate::cmd::build::BuildConfig;
use crate::cmd::rewrite::RewriteConfig;
use crate::error::{Error, Result};
use crate::site::fingerprint::resolve::Base;

pub use settings::Settings;

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
fn suggest_key(message: &str) -> String {
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

    fn dir(&self) -> PathBuf {
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
    profile: Option<(&'a str, &'a Settings)>,
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
                Some(p) => Some((name, p)),
                None => {
                    let known: Vec<&str> = f.settings.env.keys().map(String::as_str).collect();
                    return Err(Error::Config {
                        path: f.path.clone(),
                        message: format!("no profile [env.{name}] (profiles: {})", list_or_none(&known)),
                    });
                }
            },
        };
        Ok(Layers { file, profile })
    }

    /// The first layer that sets a key, with a label naming where it came from.
    fn pick<T: Clone>(
        &self,
        key: &str,
        get: impl Fn(&Settings) -> Option<T>,
    ) -> Option<(T, String)> {
        let file = self.file?;
        let path = file.path.display();
        if let Some((name, p)) = self.profile {
            if let Some(v) = get(p) {
                return Some((v, format!("{path} [env.{name}] {key}")));
            }
        }
        get(&file.settings).map(|v| (v, format!("{path} {key}")))
    }

    /// Every key the layers set, the profile's over the top level's (no `env` table); an empty
    /// object without a file.
    pub fn merged(&self) -> serde_json::Value {
        use serde_json::Value;
        let Some(file) = self.file else {
            return Value::Object(serde_json::Map::new());
        };
        let mut top = serde_json::to_value(&file.settings).unwrap_or(Value::Null);
        if let Some(map) = top.as_object_mut() {
            map.remove("env");
        }
        if let Some((_, p)) = self.profile {
            let over = serde_json::to_value(p).unwrap_or(Value::Null);
            if let (Some(t), Some(o)) = (top.as_object_mut(), over.as_object()) {
                for (k, v) in o.iter().filter(|(_, v)| !v.is_null()) {
                    t.insert(k.clone(), v.clone());
                }
            }
        }
        top
    }

    /// The first layer's value for a key, without its origin.
    fn value<T: Clone>(&self, key: &str, get: impl Fn(&Settings) -> Option<T>) -> Option<T> {
        self.pick(key, get).map(|(v, _)| v)
    }

    /// A path from the file, made relative to the file's directory.
    fn pick_path(&self, key: &str, get: impl Fn(&Settings) -> Option<PathBuf>) -> Option<PathBuf> {
        let dir = self.file.map(ConfigFile::dir).unwrap_or_default();
        self.pick(key, get).map(|(p, _)| dir.join(p))
    }
}

fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// Resolve `rewrite`'s configuration from flags/variables (`args`, `matches`) and the file.
pub fn resolve_rewrite(
    global: &GlobalArgs,
    args: &RewriteArgs,
    matches: &ArgMatches,
) -> Result<RewriteConfig> {
    let file = ConfigFile::load(global.config.as_deref())?;
    let layers = Layers::new(file.as_ref(), global.env.as_deref())?;
    let patterns = if !args.globs.is_empty() {
        args.globs.clone()
    } else if let Some(files) = &args.files {
        files.split_whitespace().map(str::to_owned).collect()
    } else {
        layers
            .value("replace_files", |s| s.replace_files.clone())
            .unwrap_or_default()
    };
    let (server, server_origin) = match (
        &args.server,
        value_origin(matches, "server", "--server", "CDN_SERVER"),
    ) {
        (Some(s), Some(origin)) => (s.clone(), origin),
        _ => layers
            .pick("cdn_server", |s| s.cdn_server.clone())
            .unwrap_or_else(|| (String::new(), "CDN_SERVER (unset)".into())),
    };
    let prefix = args
        .prefix
        .clone()
        .filter(|p| !p.is_empty())
        .or_else(|| layers.value("cdn_prefix", |s| s.cdn_prefix.clone()))
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| defaults::CDN_PREFIX.to_string());
    let root = args
        .root
        .clone()
        .or_else(|| layers.pick_path("root", |s| s.root.clone()))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT));
    let state_dir = args
        .state_dir
        .clone()
        .or_else(|| layers.pick_path("state_dir", |s| s.state_dir.clone()));
    let (gzip_level, brotli_quality) = compression(
        args.gzip_level,
        args.brotli_quality,
        &layers,
        &file,
        defaults::REWRITE_BROTLI_QUALITY,
    )?;
    Ok(RewriteConfig {
        root,
        patterns,
        server,
        server_origin,
        prefix,
        state_dir,
        dry_run: args.dry_run,
        check: args.check,
        strict: args.strict,
        allow_empty: args.allow_empty,
        per_file: global.verbose > 0 || args.dry_run,
        gzip_level,
        brotli_quality,
        fsync: args.fsync,
    })
}

/// Default of `--keep-releases`.
pub const DEFAULT_KEEP_RELEASES: usize = defaults::KEEP_RELEASES;
/// Default of `--max-deletes`.
pub const DEFAULT_MAX_DELETES: usize = defaults::MAX_DELETES;
/// Default of `--concurrency`.
pub const DEFAULT_CONCURRENCY: u16 = defaults::CONCURRENCY;

/// Resolve `upload`'s configuration from flags/variables and the file.
pub fn resolve_upload(
    global: &GlobalArgs,
    args: &UploadArgs,
) -> Result<crate::cmd::upload::UploadConfig> {
    let file = ConfigFile::load(global.config.as_deref())?;
    let layers = Layers::new(file.as_ref(), global.env.as_deref())?;
    let transfer = Transfer {
        to: &args.to,
        store: &args.store,
        transfer: &args.transfer,
        dry_run: args.dry_run,
    };
    Ok(crate::cmd::upload::UploadConfig {
        size: None,
        dir: args.dir.clone(),
        delete: args.delete,
        no_check_bucket: args.no_check_bucket,
        ..upload_config(global, &transfer, &layers, &file)?
    })
}

/// The flag groups `upload` and `publish` share (borrowed from either command's arguments).
struct Transfer<'a> {
    to: &'a [String],
    store: &'a crate::cli::StoreArgs,
    transfer: &'a crate::cli::TransferArgs,
    dry_run: bool,
}

/// `upload`'s configuration from the shared flag groups and the already loaded layers
/// (`dir`, `delete` and `no_check_bucket` are upload's own: left empty and off).
fn upload_config(
    global: &GlobalArgs,
    args: &Transfer,
    layers: &Layers,
    file: &Option<ConfigFile>,
) -> Result<crate::cmd::upload::UploadConfig> {
    let targets = targets(args.to, layers)?;
    let concurrency = args
        .transfer
        .concurrency
        .or_else(|| layers.value("concurrency", |s| s.concurrency))
        .unwrap_or(DEFAULT_CONCURRENCY);
    check_range("concurrency", u32::from(concurrency), file)?;
    let rules = layers
        .value("headers", |s| s.headers.clone())
        .unwrap_or_default();
    let headers = crate::site::headers::HeaderRules::new(&rules).map_err(|e| match &file {
        Some(f) => Error::Config {
            path: f.path.clone(),
            message: e.to_string(),
        },
        None => e,
    })?;
    Ok(crate::cmd::upload::UploadConfig {
        size: None,
        dir: PathBuf::new(),
        targets,
        endpoint: endpoint(args.store, layers)?,
        concurrency: usize::from(concurrency),
        delete: false,
        keep_releases: args
            .transfer
            .keep_releases
            .or_else(|| layers.value("keep_releases", |s| s.keep_releases))
            .unwrap_or(DEFAULT_KEEP_RELEASES),
        max_deletes: args
            .transfer
            .max_deletes
            .or_else(|| layers.value("max_deletes", |s| s.max_deletes))
            .unwrap_or(DEFAULT_MAX_DELETES),
        dry_run: args.dry_run,
        encoding: args
            .transfer
            .encoding
            .or_else(|| layers.value("encoding", |s| s.encoding))
            .unwrap_or(crate::sync::Encoding::Auto),
        siblings: args.transfer.siblings
            || layers.value("siblings", |s| s.siblings).unwrap_or(false),
        progress: !global.quiet && !global.json && !args.dry_run,
        no_check_bucket: false,
        headers,
        stage: false,
    })
}

/// How to reach S3-compatible targets: flags, then the profile.
fn endpoint(
    args: &crate::cli::StoreArgs,
    layers: &Layers,
) -> Result<crate::store::target::Endpoint> {
    type Get = fn(&Settings) -> Option<String>;
    let timeout = |flag: Option<std::time::Duration>,
                   key: &str,
                   get: Get,
                   default: std::time::Duration|
     -> Result<std::time::Duration> {
        let d = match (flag, layers.value(key, get)) {
            (Some(d), _) => d,
            (None, Some(text)) => humantime::parse_duration(&text).map_err(|e| {
                Error::Usage(format!(
                    "{key} = {text:?} in cdnpub.toml is not a duration (e.g. \"10s\", \"2m\"): {e}"
                ))
            })?,
            (None, None) => default,
        };
        if d.is_zero() {
            return Err(Error::Usage(format!(
                "{key} (--{}) must be longer than 0",
                key.replace('_', "-")
            )));
        }
        Ok(d)
    };
    let timeouts = crate::store::Timeouts {
        connect: timeout(
            args.connect_timeout,
            "connect_timeout",
            |s| s.connect_timeout.clone(),
            defaults::CONNECT_TIMEOUT,
        )?,
        read: timeout(
            args.read_timeout,
            "read_timeout",
            |s| s.read_timeout.clone(),
            defaults::READ_TIMEOUT,
        )?,
    };
    Ok(crate::store::target::Endpoint {
        timeouts,
        url: args
            .endpoint
            .clone()
            .or_else(|| layers.value("endpoint", |s| s.endpoint.clone())),
        region: args
            .region
            .clone()
            .or_else(|| layers.value("region", |s| s.region.clone())),
        path_style: args.path_style
            || layers
                .value("path_style", |s| s.path_style)
                .unwrap_or(false),
    })
}

/// The CDN provider settings: flags, then the profile (domains default to cdn_server's host).
fn provider_settings(
    args: &crate::cli::CdnProviderArgs,
    timeouts: crate::util::Timeouts,
    layers: &Layers,
) -> Result<crate::cdn::provider::ProviderSettings> {
    use crate::cdn::provider::ProviderKind;
    let kind = match args.provider {
        Some(p) => Some(p),
        None => match layers.pick("cdn_provider", |s| s.cdn_provider.clone()) {
            Some((name, origin)) => Some(ProviderKind::parse(&name).ok_or_else(|| {
                Error::Usage(format!(
                    "{origin} = {name:?}: use {}",
                    crate::cdn::provider::NAMES
                ))
            })?),
            None => None,
        },
    };
    let mut domains = args.domains.clone();
    if domains.is_empty() {
        domains = layers
            .value("cdn_domains", |s| s.cdn_domains.clone())
            .unwrap_or_default();
    }
    if domains.is_empty() {
        // The rewrite server is the CDN's address: its host is the natural domain.
        if let Some(server) = layers.value("cdn_server", |s| s.cdn_server.clone()) {
            if let Ok(u) = url::Url::parse(&server) {
                if let Some(h) = u.host_str() {
                    let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
                    domains.push(format!("{}://{h}{port}", u.scheme()));
                }
            }
        }
    }
    Ok(crate::cdn::provider::ProviderSettings {
        timeouts,
        kind,
        domains,
        distribution_id: args
            .distribution_id
            .clone()
            .or_else(|| layers.value("cdn_distribution_id", |s| s.cdn_distribution_id.clone())),
        zone_id: args
            .zone_id
            .clone()
            .or_else(|| layers.value("cdn_zone_id", |s| s.cdn_zone_id.clone())),
        dir_mode: crate::cdn::DirMode::All,
        cdn_endpoint: args
            .cdn_endpoint
            .clone()
            .or_else(|| layers.value("cdn_endpoint", |s| s.cdn_endpoint.clone())),
        url_prefix: args
            .url_prefix
            .clone()
            .or_else(|| layers.value("cdn_url_prefix", |s| s.cdn_url_prefix.clone())),
        max_paths: args
            .max_paths
            .unwrap_or(crate::cdn::cloudfront::DEFAULT_MAX_PATHS),
        area: None,
        l2_preload: false,
    })
}

/// Job options of a CDN job.
fn job_options(args: &crate::cli::CdnProviderArgs, dry_run: bool) -> crate::cdn::JobOptions {
    crate::cdn::JobOptions {
        dry_run,
        wait: args.wait,
        timeout: args.timeout,
        poll: args.poll_interval,
        remainder_dir: PathBuf::from("."),
        retry: crate::retry::CDN,
    }
}

/// Resolve `purge`/`prefetch` from flags/variables and the file.
pub fn resolve_cdn(
    global: &GlobalArgs,
    args: &crate::cli::CdnArgs,
    action: crate::cdn::Action,
    kind: crate::cdn::ObjectKind,
) -> Result<crate::cmd::purge::CdnConfig> {
    use crate::cmd::purge::ReleaseChoice;
    let file = ConfigFile::load(global.config.as_deref())?;
    let layers = Layers::new(file.as_ref(), global.env.as_deref())?;
    let release = match (&args.release, args.changed) {
        (Some(id), _) => ReleaseChoice::Id(id.clone()),
        (None, true) => ReleaseChoice::Latest,
        (None, false) => ReleaseChoice::None,
    };
    let ep = endpoint(&args.store, &layers)?;
    let settings = provider_settings(&args.cdn, ep.timeouts, &layers)?;
    Ok(crate::cmd::purge::CdnConfig {
        action,
        kind,
        inputs: args.urls.clone(),
        from_file: args.from_file.clone(),
        release,
        target: args.to.clone().or_else(|| {
            layers
                .value("targets", |s| s.targets.clone())
                .and_then(|t| t.into_iter().next())
        }),
        endpoint: ep,
        settings,
        job: job_options(&args.cdn, args.dry_run),
    })
}

/// Resolve `verify`.
pub fn resolve_verify(
    global: &GlobalArgs,
    args: &crate::cli::VerifyArgs,
) -> Result<crate::cmd::verify::VerifyConfig> {
    let file = ConfigFile::load(global.config.as_deref())?;
    let layers = Layers::new(file.as_ref(), global.env.as_deref())?;
    let target = args
        .to
        .clone()
        .or_else(|| {
            layers
                .value("targets", |s| s.targets.clone())
                .and_then(|t| t.into_iter().next())
        })
        .ok_or_else(|| {
            Error::Usage(
                "verify reads the release record of a target: give --to (or targets in the profile)"
                    .into(),
            )
        })?;
    let ep = endpoint(&args.store, &layers)?;
    let settings = provider_settings(&args.cdn, ep.timeouts, &layers)?;
    let base = match &args.cdn_base {
        Some(b) => b.trim_end_matches('/').to_string(),
        None => layers
            .value("cdn_server", |s| s.cdn_server.clone())
            .and_then(|s| crate::store::target::cdn_base(&s, settings.url_prefix.as_deref(), &target))
            .ok_or_else(|| {
                Error::Usage(
                    "verify needs the public URL of the release: give --cdn-base (or an http(s) cdn_server in the profile)"
                        .into(),
                )
            })?,
    };
    url::Url::parse(&base)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| Error::Usage(format!("--cdn-base {base:?} is not an http(s) URL")))?;
    Ok(crate::cmd::verify::VerifyConfig {
        target,
        endpoint: ep,
        release: args.release.clone(),
        cdn_base: base,
        sample: args.sample.map(|n| n as usize),
        concurrency: usize::from(args.concurrency),
        timeout: args.request_timeout,
        purge_stale: args.purge_stale,
        settings,
        job: job_options(&args.cdn, args.dry_run),
        progress: !global.quiet && !global.json,
    })
}

/// Resolve `publish`: the build (rendering for the profile's server), the upload, the CDN.
pub fn resolve_publish(
    global: &GlobalArgs,
    args: &crate::cli::PublishArgs,
) -> Result<crate::cmd::publish::PublishConfig> {
    let file = ConfigFile::load(global.config.as_deref())?;
    let layers = Layers::new(file.as_ref(), global.env.as_deref())?;
    let tuning = crate::cli::TuningArgs::default();
    let mut build = build_config(&args.src, &args.out, &args.tree, &tuning, &layers, &file)?;
    crate::site::placeholder::check_prefix(&build.prefix)
        .map_err(|e| Error::Usage(format!("--prefix / CDN_PREFIX / cdn_prefix: {e}")))?;
    let (raw_server, origin) = match &args.server {
        Some(s) => (s.clone(), "--server / CDN_SERVER".to_string()),
        None => layers
            .pick("cdn_server", |s| s.cdn_server.clone())
            .unwrap_or_else(|| {
                (
                    String::new(),
                    "no cdn_server (the local environment)".into(),
                )
            }),
    };
    let server = crate::site::placeholder::resolve_server(&raw_server)
        .map_err(|e| Error::Usage(format!("{origin}: {e}")))?;
    let globs = if !args.render.is_empty() {
        args.render.clone()
    } else {
        layers
            .value("replace_files", |s| s.replace_files.clone())
            .unwrap_or_else(|| {
                crate::cmd::publish::DEFAULT_RENDER
                    .iter()
                    .map(|g| g.to_string())
                    .collect()
            })
    };
    build.render = Some(crate::cmd::build::Render::new(
        &build.prefix,
        &server,
        &globs,
    )?);
    let transfer = Transfer {
        to: &args.to,
        store: &args.store,
        transfer: &args.transfer,
        dry_run: args.dry_run,
    };
    let mut upload = upload_config(global, &transfer, &layers, &file)?;
    upload.stage = args.stage;
    let timeouts = upload.endpoint.timeouts;
    Ok(crate::cmd::publish::PublishConfig {
        keep_out: args.out.is_some(),
        build,
        upload,
        cdn: provider_settings(&args.cdn, timeouts, &layers)?,
        job: job_options(&args.cdn, args.dry_run),
        purge: !args.no_purge,
        purge_new: args.purge_new,
        prefetch: !args.no_prefetch,
        prune: !args.no_prune,
        server: server.value,
        env: global.env.clone(),
        budget: layers
            .value("budget", |s| s.budget.clone())
            .unwrap_or_default(),
        verify: args.verify,
    })
}

/// Targets from `--to`, else the profile's, with how to reach them.
pub fn resolve_targets(
    global: &GlobalArgs,
    to: &[String],
    store: &crate::cli::StoreArgs,
) -> Result<(Vec<String>, crate::store::target::Endpoint)> {
    let file = ConfigFile::load(global.config.as_deref())?;
    let layers = Layers::new(file.as_ref(), global.env.as_deref())?;
    Ok((targets(to, &layers)?, endpoint(store, &layers)?))
}

/// `--to` targets, else the profile's `targets`; none at all is a usage error.
fn targets(to: &[String], layers: &Layers) -> Result<Vec<String>> {
    let targets = if to.is_empty() {
        layers
            .value("targets", |s| s.targets.clone())
            .unwrap_or_default()
    } else {
        to.to_vec()
    };
    if targets.is_empty() {
        return Err(Error::Usage(
            "no target: give --to s3://bucket/prefix, file:///dir or a directory, or `targets = [...]` in the profile".into(),
        ));
    }
    Ok(targets)
}

/// What `rollback` resolves: targets, how to reach them, CDN settings and job options.
pub type RollbackConfig = (
    Vec<String>,
    crate::store::target::Endpoint,
    crate::cdn::provider::ProviderSettings,
    crate::cdn::JobOptions,
);

/// Resolve `rollback`'s targets (from `--to`, else the profile), endpoint and CDN settings.
pub fn resolve_rollback(
    global: &GlobalArgs,
    to: &[String],
    store: &crate::cli::StoreArgs,
    cdn: &crate::cli::CdnProviderArgs,
    dry_run: bool,
) -> Result<RollbackConfig> {
    let file = ConfigFile::load(global.config.as_deref())?;
    let layers = Layers::new(file.as_ref(), global.env.as_deref())?;
    let ep = endpoint(store, &layers)?;
    let settings = provider_settings(cdn, ep.timeouts, &layers)?;
    Ok((
        targets(to, &layers)?,
        ep,
        settings,
        job_options(cdn, dry_run),
    ))
}

/// gzip level and brotli quality for siblings: flag or variable, then the file, then defaults.
fn compression(
    gzip: Option<u32>,
    brotli: Option<u32>,
    layers: &Layers,
    file: &Option<ConfigFile>,
    default_brotli: u32,
) -> Result<(u32, u32)> {
    let gzip = gzip
        .or_else(|| layers.value("gzip_level", |s| s.gzip_level))
        .unwrap_or(defaults::GZIP_LEVEL);
    let brotli = brotli
        .or_else(|| layers.value("brotli_quality", |s| s.brotli_quality))
        .unwrap_or(default_brotli);
    check_range("gzip_level", gzip, file)?;
    check_range("brotli_quality", brotli, file)?;
    Ok((gzip, brotli))
}

fn check_range(key: &str, value: u32, file: &Option<ConfigFile>) -> Result<()> {
    validate::range(key, value).map_err(|e| Error::Config {
        path: file.as_ref().map(|f| f.path.clone()).unwrap_or_default(),
        message: format!("{key} = {e}"),
    })
}

/// Resolve `build`'s configuration from flags/variables and the file.
pub fn resolve_build(global: &GlobalArgs, args: &BuildArgs) -> Result<BuildConfig> {
    let file = ConfigFile::load(global.config.as_deref())?;
    let layers = Layers::new(file.as_ref(), global.env.as_deref())?;
    build_config(
        &args.src,
        &args.out,
        &args.tree,
        &args.tuning,
        &layers,
        &file,
    )
}

/// The compression cache: `--no-cache`, else `--cache-dir` / `CDNPUB_CACHE_DIR`, the file's
/// `cache_dir` (relative to the file), or `.cdnpub/cache` in the working directory.
fn cache_config(
    tree: &crate::cli::TreeArgs,
    layers: &Layers,
    file: &Option<ConfigFile>,
) -> Result<Option<crate::site::cache::CacheConfig>> {
    if tree.no_cache {
        return Ok(None);
    }
    let dir = tree
        .cache_dir
        .clone()
        .or_else(|| layers.pick_path("cache_dir", |s| s.cache_dir.clone()))
        .unwrap_or_else(|| PathBuf::from(defaults::CACHE_DIR));
    let mib = tree
        .cache_max_mib
        .or_else(|| layers.value("cache_max_mib", |s| s.cache_max_mib))
        .unwrap_or(crate::site::cache::DEFAULT_MAX_MIB);
    check_range("cache_max_mib", mib, file)?;
    Ok(Some(crate::site::cache::CacheConfig {
        dir,
        max_bytes: u64::from(mib) << 20,
    }))
}

/// `build`'s configuration from flags/variables and the already loaded layers.
fn build_config(
    src: &Path,
    out: &Option<PathBuf>,
    tree: &crate::cli::TreeArgs,
    args: &crate::cli::TuningArgs,
    layers: &Layers,
    file: &Option<ConfigFile>,
) -> Result<BuildConfig> {
    let hash_len = args
        .hash_length
        .or_else(|| layers.value("hash_length", |s| s.hash_length))
        .unwrap_or(defaults::HASH_LENGTH);
    check_range("hash_length", u32::from(hash_len), file)?;
    let max_ratio = args
        .max_ratio
        .or_else(|| layers.value("max_compress_ratio", |s| s.max_compress_ratio))
        .unwrap_or(defaults::MAX_COMPRESS_RATIO);
    validate::ratio(max_ratio)
        .map_err(|e| Error::Usage(format!("--max-ratio / max_compress_ratio {e}")))?;
    let (gzip_level, brotli_quality) = compression(
        args.gzip_level,
        tree.brotli_quality,
        layers,
        file,
        defaults::BROTLI_QUALITY,
    )?;
    let mut keep = layers
        .value("keep_names", |s| s.keep_names.clone())
        .unwrap_or_default();
    keep.extend(tree.keep.iter().cloned());
    let base = match tree
        .base_path
        .clone()
        .or_else(|| layers.value("base_path", |s| s.base_path.clone()))
    {
        Some(raw) => Base::Set(
            crate::site::fingerprint::resolve::normalize_base(&raw)
                .map_err(|e| Error::Usage(format!("--base-path / base_path: {e}")))?,
        ),
        None => Base::Infer,
    };
    let mut servers = Vec::new();
    for raw in args
        .servers
        .iter()
        .cloned()
        .chain(layers.value("cdn_server", |s| s.cdn_server.clone()))
    {
        let s = crate::site::placeholder::resolve_server(&raw)
            .map_err(|e| Error::Usage(format!("--server {raw:?}: {e}")))?;
        if s.absolute && !servers.contains(&s.value) {
            servers.push(s.value);
        }
    }
    let mut manifest_named = layers
        .value("manifest_named", |s| s.manifest_named.clone())
        .unwrap_or_default();
    manifest_named.extend(args.manifest_named.iter().cloned());
    Ok(BuildConfig {
        base,
        servers,
        manifest_named,
        src: src.to_path_buf(),
        out: out.clone().unwrap_or_default(),
        hash_len: usize::from(hash_len),
        keep,
        hashed_pattern: args
            .hashed_pattern
            .clone()
            .or_else(|| layers.value("hashed_pattern", |s| s.hashed_pattern.clone()))
            .unwrap_or_else(|| crate::site::classify::DEFAULT_HASHED_PATTERN.to_string()),
        prefix: tree
            .prefix
            .clone()
            .filter(|p| !p.is_empty())
            .or_else(|| layers.value("cdn_prefix", |s| s.cdn_prefix.clone()))
            .unwrap_or_else(|| defaults::CDN_PREFIX.to_string()),
        gzip_level,
        brotli_quality,
        min_size: args
            .min_size
            .or_else(|| layers.value("min_compress_size", |s| s.min_compress_size))
            .unwrap_or(defaults::MIN_COMPRESS_SIZE),
        max_ratio,
        compress: !tree.no_compress
            && layers
                .pick("compress", |s| s.compress)
                .is_none_or(|(v, _)| v),
        cache: cache_config(tree, layers, file)?,
        render: None,
        sri: match (tree.sri, tree.no_sri) {
            (true, _) => true,
            (_, true) => false,
            _ => layers.value("sri", |s| s.sri).unwrap_or(false),
        },
        source_maps: tree
            .source_maps
            .or_else(|| layers.value("source_maps", |s| s.source_maps))
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    /// The key table (config show, the reference) names exactly the keys cdnpub.toml takes.
    #[test]
    fn the_key_table_names_every_setting() {
        let err = toml::from_str::<super::Settings>("zzzz = 1")
            .unwrap_err()
            .to_string();
        let list = err.split("expected one of").nth(1).expect(&err);
        let mut fields: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
        fields.retain(|f| *f != "env");
        let mut keys: Vec<&str> = super::defaults::keys().iter().map(|k| k.name).collect();
        fields.sort_unstable();
        keys.sort_unstable();
        assert_eq!(keys, fields);
        let brotli = super::defaults::keys()
            .into_iter()
            .find(|k| k.name == "brotli_quality")
            .unwrap();
        assert!(brotli
            .otherwise
            .ends_with(&super::defaults::REWRITE_BROTLI_QUALITY.to_string()));
    }

    #[test]
    fn an_unknown_key_names_the_nearest() {
        let m = super::suggest_key(
            "TOML parse error at line 1\nunknown field `cdn_sever`, expected one of `cdn_server`, `cdn_prefix`, `root`",
        );
        assert!(
            m.ends_with("unknown key `cdn_sever`: did you mean `cdn_server`?"),
            "{m}"
        );
        assert!(!m.contains("cdn_prefix"));
        let far = super::suggest_key("unknown field `zzz`, expected one of `cdn_server`, `root`");
        assert!(
            far.contains("`cdnpub config show` lists every key"),
            "{far}"
        );
    }

    use super::*;

    #[test]
    fn verify_flag_defaults_are_publish_verify_defaults() {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from(["cdnpub", "verify"]).unwrap();
        let crate::cli::Command::Verify(v) = cli.command else {
            panic!("not verify")
        };
        assert_eq!(v.request_timeout, defaults::VERIFY_REQUEST_TIMEOUT);
        assert_eq!(v.concurrency, defaults::CONCURRENCY);
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err = ConfigFile::parse(
            Path::new("cdnpub.toml"),
            "cdn_prefix = \"X\"\n\n[env.prod]\ncdn_sever = \"https://x\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("cdnpub.toml") && err.contains("cdn_sever") && err.contains("line 4"),
            "{err}"
        );
    }

    #[test]
    fn the_documented_example_is_valid() {
        let readme = include_str!("../../docs/configuration.md");
        let section = &readme[readme.find("## Configuration file").unwrap()..];
        let start = section.find("```toml\n").unwrap() + 8;
        let toml = &section[start..start + section[start..].find("```").unwrap()];
        let f = ConfigFile::parse(Path::new("docs/configuration.md"), toml).unwrap();
        assert_eq!(
            f.settings.env["prod"].cdn_server.as_deref(),
            Some("https://cdn.example.com")
        );
        assert_eq!(f.settings.hash_length, Some(10));
        assert_eq!(f.settings.headers.as_ref().map(Vec::len), Some(2));
        assert_eq!(
            f.settings.env["prod"].targets.as_ref().map(Vec::len),
            Some(2)
        );
        crate::site::headers::HeaderRules::new(f.settings.headers.as_deref().unwrap_or_default())
            .unwrap();
    }

    #[test]
    fn nested_profiles_refused() {
        let err = ConfigFile::parse(Path::new("c.toml"), "[env.a.env.b]\ncdn_server = \"x\"\n")
            .unwrap_err();
        assert!(err.to_string().contains("do not nest"), "{err}");
    }

    #[test]
    fn profile_over_top_level() {
        let f = ConfigFile::parse(
            Path::new("/etc/cdnpub/cdnpub.toml"),
            "cdn_server = \"https://top\"\nroot = \"site\"\n[env.prod]\ncdn_server = \"https://prod\"\n",
        )
        .unwrap();
        let l = Layers::new(Some(&f), Some("prod")).unwrap();
        let (v, origin) = l.pick("cdn_server", |s| s.cdn_server.clone()).unwrap();
        assert_eq!(v, "https://prod");
        assert!(origin.contains("[env.prod]"));
        assert_eq!(
            l.pick_path("root", |s| s.root.clone()).unwrap(),
            PathBuf::from("/etc/cdnpub/site")
        );
        let top = Layers::new(Some(&f), None).unwrap();
        assert_eq!(
            top.pick("cdn_server", |s| s.cdn_server.clone()).unwrap().0,
            "https://top"
        );
        let err = Layers::new(Some(&f), Some("stage"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("no profile [env.stage]") && err.contains("prod"),
            "{err}"
        );
    }
}
