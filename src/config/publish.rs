//! `publish`'s configuration: build, render, upload and CDN settings together.

use super::build::*;
use super::cdn::*;
use super::file::*;
use super::upload::*;
use crate::cli::GlobalArgs;
use crate::error::{Error, Result};

/// Resolve `publish`: the build (rendering for the profile's server), the upload, the CDN.
pub fn resolve_publish(
    global: &GlobalArgs,
    args: &crate::cli::PublishArgs,
) -> Result<crate::cmd::publish::PublishConfig> {
    let file = ConfigFile::load(global.config.as_deref())?;
    let layers = Layers::new(file.as_ref(), global.env.as_deref())?;
    let budget = layers.optional("budget", None)?.unwrap_or_default();
    let tuning = crate::cli::TuningArgs::default();
    let mut build = build_config(&args.src, &args.out, &args.tree, &tuning, &layers)?;
    crate::site::placeholder::check_prefix(&build.prefix)
        .map_err(|e| Error::Usage(format!("--prefix / CDN_PREFIX / cdn_prefix: {e}")))?;
    let (raw_server, origin) = match &args.server {
        Some(s) => (s.clone(), "--server / CDN_SERVER".to_string()),
        None => layers.checked("cdn_server")?.unwrap_or_else(|| {
            (
                String::new(),
                "no cdn_server (the local environment)".into(),
            )
        }),
    };
    let server = crate::site::placeholder::resolve_server(&raw_server)
        .map_err(|e| Error::Usage(format!("{origin}: {e}")))?;
    let flags = (!args.render.is_empty()).then(|| args.render.clone());
    let globs = layers.optional("replace_files", flags)?.unwrap_or_else(|| {
        super::defaults::RENDER
            .iter()
            .map(|g| g.to_string())
            .collect()
    });
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
    let mut upload = upload_config(global, &transfer, &layers)?;
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
        budget,
        verify: args.verify,
        preview: match layers.optional::<String>("site_url", args.site_url.clone())? {
            Some(site) if args.stage => Some(site),
            None if args.preview => return Err(Error::Usage(
                "--preview needs the site's public URL: give --site-url or site_url in the profile"
                    .into(),
            )),
            _ => None,
        },
    })
}
