//! Command-line definitions (clap derive) and nothing else.

use std::path::PathBuf;

use clap::parser::ValueSource;
mod args;
mod examples;
mod headings;

pub use args::*;
use examples::*;
pub use headings::*;

use clap::{ArgMatches, Args, Parser, Subcommand};

/// cdnpub: fingerprint, precompress and rewrite a static bundle for its CDN.
#[derive(Debug, Parser)]
#[command(name = "cdnpub", version, about, max_term_width = 100)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file [default: ./cdnpub.toml if there is one].
    #[arg(long, global = true, env = "CDNPUB_CONFIG", value_name = "FILE", help_heading = CONFIGURATION)]
    pub config: Option<PathBuf>,
    /// Profile of the configuration file to use ([env.NAME]).
    #[arg(long = "env", global = true, env = "CDNPUB_ENV", value_name = "NAME", help_heading = CONFIGURATION)]
    pub env: Option<String>,
    /// Print a JSON summary on stdout instead of text.
    #[arg(long, global = true, help_heading = OUTPUT, hide_short_help = true)]
    pub json: bool,
    /// Print only warnings and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = OUTPUT)]
    pub quiet: bool,
    /// More detail on stderr (-v: every object and file, debug; -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = OUTPUT)]
    pub verbose: u8,
    /// Also write the run's events and summary to FILE (ND-JSON, for CI).
    ///
    /// Written whatever the exit code, atomically.
    #[arg(long, global = true, env = "CDNPUB_RESULTS", value_name = "FILE", help_heading = OUTPUT, hide_short_help = true)]
    pub results: Option<PathBuf>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replace the CDN placeholder in served files, in place and re-runnably (container entrypoint).
    #[command(after_help = REWRITE_EXAMPLES)]
    Rewrite(RewriteArgs),
    /// Fingerprint, rewrite references and precompress a bundler's output into a CDN-ready tree.
    #[command(after_help = BUILD_EXAMPLES)]
    Build(BuildArgs),
    /// Make one or more buckets (or directories) match a built tree, sending only what changed.
    #[command(after_help = UPLOAD_EXAMPLES)]
    Upload(UploadArgs),
    /// Purge (refresh) CDN caches: URLs, paths, directories, or what a release changed.
    #[command(after_help = PURGE_EXAMPLES)]
    Purge(PurgeArgs),
    /// Prefetch (warm) URLs into the CDN's edge caches.
    #[command(after_help = PREFETCH_EXAMPLES)]
    Prefetch(PrefetchArgs),
    /// Build, render, upload to every target, purge, prefetch, prune: a release in one step.
    #[command(after_help = PUBLISH_EXAMPLES)]
    Publish(PublishArgs),
    /// Fetch a release through the CDN as browsers do and report stale, missing and wrong objects.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
    /// List a target's releases (id, time, commit, files, bytes, what changed).
    #[command(after_help = RELEASES_EXAMPLES)]
    Releases(ReleasesArgs),
    /// Make an earlier (or a staged) release live again and purge its pages.
    #[command(after_help = ROLLBACK_EXAMPLES)]
    Rollback(RollbackArgs),
    /// Move visitors to a staged release step by step (10% → 50% → 100%), or back at once.
    #[command(after_help = ROLLOUT_EXAMPLES)]
    Rollout(RolloutArgs),
    /// Check cdnpub.toml, or show the resolved configuration (secrets masked).
    #[command(after_help = CONFIG_EXAMPLES)]
    Config(ConfigArgs),
    /// Print a shell completion script.
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command into a directory.
    #[command(after_help = MAN_EXAMPLES)]
    Man(ManArgs),
}

/// The command line as clap parses it, with each command's examples printed verbatim after its
/// options: clap wraps `after_help` to the terminal, which would split a command over two lines
/// (a copy-paste of half a purge), so the examples go into the help template, which clap prints
/// as it is. `after_help` still carries them for the man page.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(&name, |sub| with_setting_variables(sub, &name));
        cmd = cmd.mut_subcommand(&name, |sub| {
            let Some(examples) = sub.get_after_help().map(|e| e.to_string()) else {
                return sub;
            };
            sub.help_template(format!(
                "{{before-help}}{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{{all-args}}\n\n{examples}\n"
            ))
        });
    }
    cmd
}

/// The environment variables of the settings (`config::defaults::keys`) on the flags of the
/// command `name` that they set there.
fn with_setting_variables(mut sub: clap::Command, name: &str) -> clap::Command {
    for key in crate::config::defaults::keys() {
        let Some(var) = key.env.filter(|_| key.env_applies_to(name)) else {
            continue;
        };
        let ids: Vec<String> = sub
            .get_arguments()
            .filter(|a| {
                a.get_long()
                    .is_some_and(|l| key.flags.contains(&format!("--{l}").as_str()))
            })
            .map(|a| a.get_id().to_string())
            .collect();
        for id in ids {
            sub = sub.mut_arg(id, |a| a.env(var));
        }
    }
    sub
}

/// Where a flag's value came from, for messages: the flag, its variable, or nothing.
pub fn value_origin(matches: &ArgMatches, id: &str, flag: &str, var: &str) -> Option<String> {
    match matches.value_source(id)? {
        ValueSource::CommandLine => Some(flag.to_string()),
        ValueSource::EnvVariable => Some(var.to_string()),
        _ => None,
    }
}
