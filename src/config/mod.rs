//! cdnpub.toml, its `[env.NAME]` profiles, environment variables and flags, resolved into one
//! plain configuration. Precedence: flags > environment variables > profile > file top level >
//! built-in defaults.

mod build;
mod cdn;
pub mod command;
pub mod defaults;
mod file;
mod publish;
mod releases;
mod rewrite;
pub mod settings;
mod upload;
pub mod validate;

pub use build::*;
pub use cdn::*;
pub use file::*;
pub use publish::*;
pub use releases::*;
pub use rewrite::*;
pub use upload::*;

pub use settings::Settings;

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::file::suggest_key;
    use super::*;
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
            .iter()
            .find(|k| k.name == "brotli_quality")
            .unwrap();
        assert!(brotli
            .otherwise
            .ends_with(&super::defaults::REWRITE_BROTLI_QUALITY.to_string()));
    }

    #[test]
    fn an_unknown_key_names_the_nearest() {
        let m = suggest_key(
            "TOML parse error at line 1\nunknown field `cdn_sever`, expected one of `cdn_server`, `cdn_prefix`, `root`",
        );
        assert!(
            m.ends_with("unknown key `cdn_sever`: did you mean `cdn_server`?"),
            "{m}"
        );
        assert!(!m.contains("cdn_prefix"));
        let far = suggest_key("unknown field `zzz`, expected one of `cdn_server`, `root`");
        assert!(
            far.contains("`cdnpub config show` lists every key"),
            "{far}"
        );
    }

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
        let (v, origin) = l.checked::<String>("cdn_server").unwrap().unwrap();
        assert_eq!(v, "https://prod");
        assert!(origin.contains("[env.prod]"));
        assert_eq!(
            l.path("root", None).unwrap().unwrap(),
            PathBuf::from("/etc/cdnpub/site")
        );
        let top = Layers::new(Some(&f), None).unwrap();
        assert_eq!(
            top.checked::<String>("cdn_server").unwrap().unwrap().0,
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

    /// A bad value of every setting that has a range or a check (a new checked setting must
    /// add one here).
    fn bad_value(key: &defaults::Key) -> Option<String> {
        if let Some((_, hi)) = key.range {
            return Some((hi + 1).to_string());
        }
        let v = match key.name {
            "cdn_server" => r#""javascript:alert(1)""#,
            "cdn_prefix" => r#""""#,
            "replace_files" | "keep_names" | "manifest_named" => r#"["a["]"#,
            "hashed_pattern" => r#""(""#,
            "max_compress_ratio" => "2.0",
            "targets" => r#"["ftp://host/dir"]"#,
            "headers" => r#"[{ glob = "a[", cache_control = "no-cache" }]"#,
            "budget" => r#"[{ entry = "*.html" }]"#,
            "cdn_provider" => r#""akamai""#,
            "cdn_domains" => r#"["https://exa mple.com"]"#,
            "connect_timeout" | "read_timeout" => r#""0s""#,
            "base_path" => r#""a/../b""#,
            "site_url" => r#""ftp://www.example.com/""#,
            "rollout_routers" => r#"["varnish:/etc/varnish"]"#,
            _ => return None,
        };
        Some(v.to_string())
    }

    /// Resolve the command line `argv` as `main` does (resolution only: nothing runs).
    fn resolve(argv: &[&str]) -> crate::error::Result<()> {
        use crate::cli::{Cli, Command};
        use clap::FromArgMatches;
        let matches = crate::cli::command()
            .try_get_matches_from(argv)
            .map_err(|e| crate::error::Error::Usage(e.to_string()))?;
        let cli = Cli::from_arg_matches(&matches).unwrap();
        let g = &cli.global;
        let sub = matches.subcommand().map(|(_, m)| m).unwrap();
        match &cli.command {
            Command::Rewrite(a) => resolve_rewrite(g, a, sub).map(drop),
            Command::Build(a) => resolve_build(g, a).map(drop),
            Command::Upload(a) => resolve_upload(g, a).map(drop),
            Command::Publish(a) => resolve_publish(g, a).map(drop),
            Command::Purge(a) => resolve_purge(g, a).map(drop),
            Command::Prefetch(a) => resolve_prefetch(g, a).map(drop),
            Command::Verify(a) => resolve_verify(g, a).map(drop),
            Command::Releases(a) => resolve_targets(g, &a.to, &a.store).map(drop),
            Command::Rollout(a) => resolve_rollout(g, a).map(drop),
            Command::Rollback(a) => {
                resolve_rollback(g, &a.to, &a.store, &a.cdn, a.dry_run).map(drop)
            }
            _ => panic!("{argv:?} resolves nothing"),
        }
    }

    /// `config check` and every command that reads a setting accept and refuse the same values:
    /// for every setting, a bad value (where it has a range or a check) is refused by both,
    /// naming the key, and its default (or no value) is accepted by both.
    #[test]
    fn config_check_and_every_command_agree_on_every_setting() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("cdnpub.toml");
        let config = path.to_str().unwrap();
        let base = "targets = [\"site\"]\ncdn_server = \"https://cdn.example.com\"\n";
        let mut refused = 0;
        for key in defaults::keys() {
            let good = key.default.as_ref().map(defaults::toml_value);
            let bad = bad_value(key);
            if key.range.is_some() || key.check.is_some() {
                assert!(bad.is_some(), "{}: give bad_value a sample", key.name);
            }
            let cases = [(good, true), (bad, false)];
            for (value, wanted_ok) in cases.into_iter().filter(|(v, ok)| *ok || v.is_some()) {
                // Without a value of its own, a key keeps the base's (targets, cdn_server).
                let own = value.is_some();
                let line = value
                    .map(|v| format!("{} = {v}\n", key.name))
                    .unwrap_or_default();
                let text = base
                    .lines()
                    .filter(|l| !(own && l.starts_with(&format!("{} ", key.name))))
                    .map(|l| format!("{l}\n"))
                    .collect::<String>()
                    + &line;
                std::fs::write(&path, &text).unwrap();
                let checked = command::check(Some(&path));
                assert_eq!(
                    checked.is_ok(),
                    wanted_ok,
                    "config check, {text}: {checked:?}"
                );
                for cmd in key.commands {
                    let mut argv = vec!["cdnpub", "--config", config, cmd];
                    argv.extend(match *cmd {
                        "build" => &["src", "--out", "out"][..],
                        "publish" | "upload" => &["src"][..],
                        "verify" => &["--cdn-base", "https://cdn.example.com"][..],
                        "purge" | "prefetch" => &["/index.html"][..],
                        "rollout" => &["status"][..],
                        _ => &[][..],
                    });
                    let got = resolve(&argv);
                    match (&got, wanted_ok) {
                        (Ok(()), true) => {}
                        (Err(e), false) if e.to_string().contains(key.name) => refused += 1,
                        _ => panic!("{cmd} with {text}: {got:?}, config check: {checked:?}"),
                    }
                }
            }
        }
        assert!(refused > 40, "{refused}");
    }
}
