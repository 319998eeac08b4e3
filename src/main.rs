//! The `cdnpub` binary: parse flags, dispatch, map errors to exit codes. Nothing else.

use std::io::IsTerminal;

use clap::FromArgMatches;

use cdnpub::cli::{self, Cli, Command, ConfigAction};
use cdnpub::cmd::{build, publish, purge, releases, rewrite, upload, verify};
use cdnpub::config;
use cdnpub::error::{Error, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE};
use cdnpub::report::{self, Output};

fn main() {
    // A bug must not print a backtrace into a CI log or leave the exit status to chance: one
    // line, exit 70, on whichever thread it happens.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error{at}: {what} (a bug in cdnpub; please report it)");
        std::process::exit(EXIT_INTERNAL);
    }));
    if std::env::var_os("CDNPUB_DEBUG_PANIC").is_some() {
        // The panic hook's own test: a deliberate bug.
        panic!("CDNPUB_DEBUG_PANIC is set");
    }
    let matches = cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(EXIT_USAGE);
        }
    };
    init_logging(cli.global.verbose, cli.global.quiet);
    cdnpub::util::console::set_level(cli.global.quiet, cli.global.verbose);
    // A results file that cannot be written is refused before the command does anything.
    if let Some(dir) = cli
        .global
        .results
        .as_deref()
        .and_then(std::path::Path::parent)
        .filter(|d| !d.as_os_str().is_empty() && !d.is_dir())
    {
        eprintln!(
            "error: --results / CDNPUB_RESULTS: the directory {} does not exist; create it or name a file in an existing one (nothing was done)",
            dir.display()
        );
        std::process::exit(EXIT_USAGE);
    }
    // The Action's outputs go to the files GitHub names; outside a step that is a usage error,
    // before anything runs.
    let github = match &cli.command {
        Command::Publish(args) if args.github_output => {
            match cdnpub::util::github::Files::from_env() {
                Ok(files) => Some(files),
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::exit(e.exit_code());
                }
            }
        }
        _ => None,
    };
    let (code, error) = match run(&cli, &matches) {
        Ok(()) => (EXIT_OK, None),
        Err(e) => {
            eprintln!("error: {e}");
            (e.exit_code(), Some(e.to_string()))
        }
    };
    let command = matches.subcommand_name().unwrap_or("cdnpub");
    let events = cdnpub::util::results::events(command, code, error.as_deref());
    let mut code = code;
    if let Some(path) = &cli.global.results {
        if let Err(e) = cdnpub::util::results::write(path, &events) {
            eprintln!("error: --results: {e}");
            code = if code == EXIT_OK { e.exit_code() } else { code };
        }
    }
    if let (Some(files), Some(summary)) = (&github, events.last()) {
        if let Err(e) = cdnpub::util::github::write(files, summary, cli.global.results.as_deref()) {
            eprintln!("error: --github-output: {e}");
            code = if code == EXIT_OK { e.exit_code() } else { code };
        }
    }
    std::process::exit(code);
}

fn run(cli: &Cli, matches: &clap::ArgMatches) -> Result<(), Error> {
    let out = Output {
        json: cli.global.json,
        quiet: cli.global.quiet,
    };
    match &cli.command {
        Command::Rewrite(args) => {
            let sub = matches.subcommand_matches("rewrite").unwrap_or(matches);
            let cfg = config::resolve_rewrite(&cli.global, args, sub)?;
            let result = rewrite::run(&cfg)?;
            report::rewrite(&result, out);
            result.outcome()
        }
        Command::Upload(args) => {
            let cfg = config::resolve_upload(&cli.global, args)?;
            let result = runtime()?.block_on(upload::run(&cfg))?;
            report::upload(&result, out);
            result.outcome()
        }
        Command::Purge(args) => {
            let cfg = config::resolve_purge(&cli.global, args)?;
            let result = runtime()?.block_on(purge::run(&cfg))?;
            report::cdn(&result, out);
            result.outcome()
        }
        Command::Prefetch(args) => {
            let cfg = config::resolve_prefetch(&cli.global, args)?;
            let result = runtime()?.block_on(purge::run(&cfg))?;
            report::cdn(&result, out);
            result.outcome()
        }
        Command::Publish(args) => {
            let cfg = config::resolve_publish(&cli.global, args)?;
            let result = runtime()?.block_on(publish::run(&cfg))?;
            report::publish(&result, out);
            result.outcome()
        }
        Command::Verify(args) => {
            let cfg = config::resolve_verify(&cli.global, args)?;
            let result = runtime()?.block_on(verify::run(&cfg))?;
            report::verify(&result, out);
            result.outcome()
        }
        Command::Releases(args) => {
            let (targets, endpoint) = config::resolve_targets(&cli.global, &args.to, &args.store)?;
            let result = runtime()?.block_on(async {
                let mut all = Vec::new();
                for t in &targets {
                    let loc = cdnpub::store::target::Location::parse(t)?;
                    let target = cdnpub::store::target::Target::open(&loc, &endpoint).await?;
                    all.push(releases::list(&target).await?);
                }
                Ok::<_, cdnpub::Error>(all)
            })?;
            report::releases(&result, out);
            Ok(())
        }
        Command::Rollback(args) => {
            let (targets, endpoint, cdn, job) = config::resolve_rollback(
                &cli.global,
                &args.to,
                &args.store,
                &args.cdn,
                args.dry_run,
            )?;
            let result = runtime()?.block_on(releases::rollback_all(
                &targets,
                &endpoint,
                args.id.as_deref(),
                &cdn,
                &job,
                !args.no_purge,
            ))?;
            report::rollback(&result, out);
            result.outcome()
        }
        Command::Rollout(args) => rollout_command(&cli.global, args, out),
        Command::Config(args) => match args.action {
            ConfigAction::Check => {
                let result = config::command::check(cli.global.config.as_deref())?;
                report::config_check(&result, out);
                Ok(())
            }
            ConfigAction::Show => {
                let result =
                    config::command::show(cli.global.config.as_deref(), cli.global.env.as_deref())?;
                report::config_show(&result, out);
                Ok(())
            }
        },
        Command::Completions(args) => {
            clap_complete::generate(
                args.shell,
                &mut cli::command(),
                "cdnpub",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Man(args) => {
            let cmd = cli::command();
            match &args.out {
                Some(dir) => {
                    for path in cdnpub::cmd::man::write_all(&cmd, dir)? {
                        if !out.quiet {
                            println!("{}", path.display());
                        }
                    }
                }
                None => {
                    use std::io::Write;
                    let page = cdnpub::cmd::man::page(&cmd)?;
                    std::io::stdout()
                        .write_all(&page)
                        .map_err(|e| Error::Failed(format!("writing the man page: {e}")))?;
                }
            }
            Ok(())
        }
        Command::Build(args) => {
            let cfg = config::resolve_build(&cli.global, args)?;
            if args.check {
                let result = build::check_tree(&cfg)?;
                report::check(&result, out);
                return result.outcome();
            }
            let result = build::run(&cfg)?;
            report::build(&result, out);
            Ok(())
        }
    }
}

/// A tokio runtime for the commands that talk to the network.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Failed(format!("starting the async runtime: {e}")))
}

fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::layer::{Layer, SubscriberExt};
    use tracing_subscriber::util::SubscriberInitExt;
    let level = match (quiet, verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::DEBUG,
        (false, _) => tracing::Level::TRACE,
    };
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    // -v/-vv apply to cdnpub's own events only: the SDKs' debug logs show signed request
    // headers, which must never reach a CI log.
    let filter = tracing_subscriber::filter::filter_fn(move |meta| {
        let ours = meta.target().starts_with("cdnpub");
        // The SDKs' own warnings (a metadata probe that found nothing, a retry) only with -vv:
        // cdnpub says what went wrong in its own words.
        let theirs = if verbose >= 2 {
            tracing::Level::WARN
        } else {
            tracing::Level::ERROR
        };
        *meta.level() <= if ours { level } else { theirs.min(level) }
    });
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(colour)
                .with_writer(std::io::stderr)
                .with_target(false)
                .without_time()
                .with_filter(filter),
        )
        .init();
}

/// `cdnpub rollout …`: resolve the targets (and, to promote, the CDN), take the step, report.
fn rollout_command(
    global: &cdnpub::cli::GlobalArgs,
    args: &cdnpub::cli::RolloutArgs,
    out: report::Output,
) -> cdnpub::Result<()> {
    use cdnpub::cli::RolloutAction as A;
    use cdnpub::cmd::rollout::{self as r, Step};
    let step = match &args.action {
        A::Start { id, percent, tags } => Step::Start {
            id: id.clone(),
            percent: *percent,
            tags: tags
                .iter()
                .map(|t| cdnpub::release::rollout::Tag::parse(t))
                .collect::<std::result::Result<_, _>>()
                .map_err(cdnpub::Error::Usage)?,
        },
        A::Set { percent } => Step::Set(*percent),
        A::Abort => Step::Abort,
        A::Status => Step::Status,
        A::Apply => Step::Apply,
        A::Promote { cdn, no_purge } => {
            let (targets, endpoint, cdn, job) =
                config::resolve_rollback(global, &args.to, &args.store, cdn, args.dry_run)?;
            let (_, _, routers) = rollout_resolved(global, args)?;
            let result = runtime()?.block_on(r::promote_all(
                &targets, &endpoint, &routers, &cdn, &job, !no_purge,
            ))?;
            report::rollout(&result, out);
            return result.outcome();
        }
        A::Deploy {
            base,
            name,
            zone_id,
            route,
        } => {
            let (targets, endpoint, routers) = rollout_resolved(global, args)?;
            let deploy = r::Deploy {
                base: base.clone(),
                name: name.clone(),
                zone_id: zone_id.clone(),
                route: route.clone(),
            };
            let result = runtime()?.block_on(r::deploy_all(
                &targets,
                &endpoint,
                &routers,
                &deploy,
                args.dry_run,
            ))?;
            report::rollout(&result, out);
            return result.outcome();
        }
        A::Nginx { .. }
        | A::Cloudfront { .. }
        | A::Cloudflare { .. }
        | A::Edgeone { .. }
        | A::Aliyun { .. } => return rollout_router(global, args, out),
    };
    let (targets, endpoint, routers) = rollout_resolved(global, args)?;
    let result = runtime()?.block_on(r::step_all(
        &targets,
        &endpoint,
        &routers,
        &step,
        args.dry_run,
    ))?;
    report::rollout(&result, out);
    result.outcome()
}

/// A rollout's targets, how to reach them, and the routers a step updates (with the timeouts
/// of their APIs).
fn rollout_resolved(
    global: &cdnpub::cli::GlobalArgs,
    args: &cdnpub::cli::RolloutArgs,
) -> cdnpub::Result<(
    Vec<String>,
    cdnpub::store::target::Endpoint,
    cdnpub::cmd::rollout::Routers,
)> {
    let (targets, endpoint, specs) = config::resolve_rollout(global, args)?;
    let timeouts = endpoint.timeouts;
    Ok((
        targets,
        endpoint,
        cdnpub::cmd::rollout::Routers { specs, timeouts },
    ))
}

/// `cdnpub rollout nginx|cloudfront|cloudflare|aliyun`: the router's files for the current step.
fn rollout_router(
    global: &cdnpub::cli::GlobalArgs,
    args: &cdnpub::cli::RolloutArgs,
    out: report::Output,
) -> cdnpub::Result<()> {
    use cdnpub::cli::RolloutAction as A;
    use cdnpub::cmd::rollout::{write_router, Router};
    use cdnpub::release::router::Origin;
    let (which, dir) = match &args.action {
        A::Nginx {
            root,
            origin,
            base,
            out: dir,
        } => {
            let origin = match (root, origin) {
                (Some(root), _) => Origin::Root(root.clone()),
                (None, Some(url)) => Origin::Proxy(url.clone()),
                (None, None) => {
                    return Err(cdnpub::Error::Usage(
                        "give --root DIR or --origin URL".into(),
                    ))
                }
            };
            let base = base.clone();
            (Router::Nginx { origin, base }, dir)
        }
        A::Cloudfront {
            kvs_id,
            base,
            out: dir,
        } => {
            let kvs_id = cdnpub::cdn::routers::kvs::kvs_id(kvs_id).to_string();
            let base = base.clone();
            (Router::Cloudfront { kvs_id, base }, dir)
        }
        A::Cloudflare { base, out: dir } => (Router::Cloudflare { base: base.clone() }, dir),
        A::Edgeone { base, out: dir } => (Router::EdgeOne { base: base.clone() }, dir),
        A::Aliyun { base, out: dir } => (Router::Aliyun { base: base.clone() }, dir),
        _ => return Err(cdnpub::Error::Usage("not a router".into())),
    };
    let (targets, endpoint) = config::resolve_targets(global, &args.to, &args.store)?;
    let result =
        runtime()?.block_on(write_router(&targets, &endpoint, &which, dir, args.dry_run))?;
    report::rollout(&result, out);
    result.outcome()
}
