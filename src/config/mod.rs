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
            .into_iter()
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
