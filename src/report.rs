//! Printing results: plain lines for people and CI logs, `--json` for machines. Warnings go to
//! stderr in both modes; summaries to stdout.

use std::io::Write;

use crate::cdn::CdnReport;
use crate::cmd::build::BuildReport;
use crate::cmd::publish::{PublishReport, Stage};
use crate::cmd::releases::{ReleasesReport, RollbackReport};
use crate::cmd::rewrite::RewriteReport;
use crate::cmd::upload::UploadReport;
use crate::config::command::{CheckReport, ShowReport};

/// How results are printed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Output {
    /// JSON on stdout instead of text.
    pub json: bool,
    /// Warnings and errors only.
    pub quiet: bool,
}

/// Print a warning on stderr.
pub fn warn(msg: &str) {
    eprintln!("warning: {msg}");
}

/// Print warnings on stderr, then `report` as JSON (`--json`), nothing (`-q`) or `text`.
fn emit<T: serde::Serialize>(
    warnings: &[String],
    report: &T,
    out: Output,
    text: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) {
    for w in warnings {
        warn(w);
    }
    crate::util::results::record(report, warnings);
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    // A closed stdout (`| head`) is not worth a panic.
    let _ = if out.json {
        serde_json::to_writer_pretty(&mut w, report)
            .map_err(std::io::Error::from)
            .and_then(|_| writeln!(w))
    } else if out.quiet {
        Ok(())
    } else {
        text(&mut w)
    };
}

/// Print a `rewrite` report.
pub fn rewrite(report: &RewriteReport, out: Output) {
    emit(&report.warnings, report, out, |w| rewrite_text(w, report));
}

fn rewrite_text(w: &mut dyn Write, r: &RewriteReport) -> std::io::Result<()> {
    if r.files.is_empty() && r.root.as_os_str().is_empty() {
        return writeln!(w, "cdnpub rewrite: no files to rewrite (no GLOB given and CDN_REPLACE_FILES is empty); nothing done");
    }
    writeln!(
        w,
        "CDN_SERVER={} CDN_PREFIX={} root={}",
        r.server,
        r.prefix,
        r.root.display()
    )?;
    let (mut changed, mut replacements, mut failed) = (0, 0, 0);
    for f in &r.files {
        let verb = match (&f.error, f.changed, r.dry_run) {
            (Some(_), _, _) => "FAILED",
            (None, true, true) => "would rewrite",
            (None, true, false) => "rewritten",
            (None, false, _) => "unchanged",
        };
        let mut line = format!("  {verb:<13} {}  {} replacements", f.path, f.replacements);
        if !f.siblings.is_empty() {
            let verb = if r.dry_run || !f.changed {
                "siblings"
            } else {
                "regenerated"
            };
            line.push_str(&format!(", {verb} {}", f.siblings.join(" ")));
            if f.siblings_ms > 0 {
                line.push_str(&format!(" in {} ms", f.siblings_ms));
            }
        }
        if let Some(e) = &f.error {
            line.push_str(&format!(": {e}"));
        }
        // A container start prints one summary line; each file with -v (and on failure).
        if r.per_file || f.error.is_some() {
            writeln!(w, "{line}")?;
        }
        changed += usize::from(f.changed && f.error.is_none());
        replacements += f.replacements;
        failed += usize::from(f.error.is_some());
    }
    let verb = if r.dry_run { "would change" } else { "changed" };
    writeln!(
        w,
        "{} files: {changed} {verb}, {} unchanged, {failed} failed; {replacements} replacements; {} ms{}",
        r.files.len(),
        r.files.len() - changed - failed,
        r.elapsed_ms,
        if r.dry_run { " (dry run: nothing written)" } else { "" }
    )
}

/// Print a `build` report.
pub fn build(report: &BuildReport, out: Output) {
    emit(&report.warnings, report, out, |w| {
        writeln!(
            w,
            "built {}: {} files ({} fingerprinted, {} immutable, {} with references rewritten), {} siblings; \
             {} bytes, {} for a brotli client; deploy sub-path {}; {} ms",
            report.out.display(),
            report.files,
            report.fingerprinted,
            report.immutable,
            report.rewritten,
            report.siblings,
            report.bytes,
            report.bytes_smallest,
            if report.base_path.is_empty() {
                "none".to_string()
            } else {
                format!("{} ({})", report.base_path, report.base_path_from)
            },
            report.elapsed_ms
        )?;
        if let Some(c) = &report.cache {
            writeln!(w, "{}", cache_line(c))?;
        }
        if let Some(s) = &report.sri {
            writeln!(w, "{}", sri_line(s))?;
        }
        Ok(())
    });
}

/// `integrity: 3 tags on 1 pages, 12 lazy chunks in import maps`.
fn sri_line(s: &crate::cmd::build::SriReport) -> String {
    format!(
        "integrity: {} tags on {} pages, {} lazy chunks in import maps",
        s.tags, s.pages, s.import_map_entries
    )
}

/// The size report: one line per entry page, the site, the change since the last release.
fn size_text(w: &mut dyn Write, s: &crate::release::size::SizeReport) -> std::io::Result<()> {
    for p in &s.pages {
        let change = s
            .delta
            .as_ref()
            .and_then(|d| d.pages.iter().find(|c| c.page == p.page))
            .and_then(|c| c.growth_pct)
            .map(|g| format!(", {g:+.1}% since the last release"))
            .unwrap_or_default();
        writeln!(
            w,
            "size      {}: first visit {} bytes {} ({} gzip, {} br, {} raw; {} files){change}",
            p.page,
            p.wire,
            s.wire,
            p.bytes.gzip,
            p.bytes.br,
            p.bytes.raw,
            p.files.len()
        )?;
    }
    writeln!(
        w,
        "size      site: {} bytes raw, {} gzip, {} br",
        s.site.raw, s.site.gzip, s.site.br
    )?;
    if let Some(d) = &s.delta {
        writeln!(
            w,
            "size      since {}: {} added, {} changed, {} removed; a returning visitor downloads {} bytes again ({:.0}% of the entry pages')",
            d.previous,
            d.added.len(),
            d.changed.len(),
            d.removed.len(),
            d.redownload,
            d.redownload_share * 100.0
        )?;
    }
    Ok(())
}

/// `cache .cdnpub/cache: 3380 reused, 2 compressed` (+ repaired, unwritable, evicted when any).
fn cache_line(c: &crate::site::cache::CacheStats) -> String {
    let mut line = format!(
        "cache {}: {} reused, {} compressed",
        c.dir.display(),
        c.hits,
        c.misses + c.repaired
    );
    for (n, what) in [
        (c.repaired, "damaged entries recomputed"),
        (c.write_errors, "entries not written"),
        (c.evicted, "evicted"),
    ] {
        if n > 0 {
            line.push_str(&format!(", {n} {what}"));
        }
    }
    line
}

/// Print a `build --check` report (problems go to the error, exit 2).
pub fn check(report: &crate::cmd::build::CheckReport, out: Output) {
    emit(&[], report, out, |w| {
        writeln!(
            w,
            "checked {}: {} files ({} renamed by cdnpub), deploy sub-path {}; {}",
            report.dir.display(),
            report.files,
            report.renamed,
            if report.base_path.is_empty() {
                "none"
            } else {
                &report.base_path
            },
            if report.problems.is_empty() {
                "every reference resolves".to_string()
            } else {
                format!("{} problems", report.problems.len())
            }
        )
    });
}

/// How compressible files are stored: `gzip under plain keys`, `plain + .gz/.br siblings`.
fn stored_as(encoding: crate::sync::Encoding, siblings: bool) -> String {
    let plain = match encoding.content_encoding() {
        Some(e) if encoding != crate::sync::Encoding::Auto => format!("{e} under plain keys"),
        _ => "plain".to_string(),
    };
    if siblings {
        format!("{plain} + .gz/.br siblings")
    } else {
        plain
    }
}

/// Print an `upload` report: per target, what was sent, kept and deleted.
pub fn upload(report: &UploadReport, out: Output) {
    emit(&[], report, out, |w| upload_text(w, report));
}

fn upload_text(w: &mut dyn Write, report: &UploadReport) -> std::io::Result<()> {
    let verb = if report.dry_run {
        "would upload"
    } else {
        "uploaded"
    };
    let tree = &report.tree;
    if !tree.changed.is_empty() {
        writeln!(
            w,
            "changed since the build (no-cache, sent as they are now, without .gz/.br): {}",
            tree.changed.join(", ")
        )?;
    }
    if !tree.added.is_empty() {
        writeln!(
            w,
            "added since the build (sent as unbuilt no-cache files): {}",
            tree.added.join(", ")
        )?;
    }
    for t in &report.targets {
        writeln!(
            w,
            "{}: {verb} {} objects ({} bytes, {}), {} unchanged, {} deleted{}{}{}",
            t.target,
            t.uploaded.len(),
            t.bytes,
            stored_as(report.encoding, report.siblings),
            t.unchanged,
            t.deleted.len(),
            t.release
                .as_ref()
                .map(|r| format!(", release {r}"))
                .unwrap_or_default(),
            if t.heads > 0 {
                format!(", {} checked by HEAD", t.heads)
            } else {
                String::new()
            },
            // The error itself is printed once, as the command's error.
            if t.error.is_some() { "; FAILED" } else { "" }
        )?;
        // The plan, key by key, on a dry run; a real run showed each object as it landed.
        if report.dry_run {
            for k in &t.uploaded {
                writeln!(w, "  put {k}")?;
            }
        }
        for k in &t.deleted {
            writeln!(w, "  delete {k}")?;
        }
    }
    Ok(())
}

/// Print a `purge`/`prefetch` report: the calls (each path on a dry run), tasks, waiting.
pub fn cdn(report: &CdnReport, out: Output) {
    emit(&[], report, out, |w| cdn_text(w, report));
}

fn cdn_text(w: &mut dyn Write, report: &CdnReport) -> std::io::Result<()> {
    let calls = report.batches.len();
    writeln!(
        w,
        "{} {}: {} URLs in {calls} call{}{}",
        report.provider,
        report.command,
        report.urls,
        if calls == 1 { "" } else { "s" },
        if report.dry_run {
            " (dry run: nothing sent)"
        } else {
            ""
        }
    )?;
    if let Some(q) = &report.quota {
        let n = |v: Option<u64>| v.map_or("?".to_string(), |v| v.to_string());
        writeln!(
            w,
            "  quota left today: {} URLs, {} directories, {} prefetches",
            n(q.urls),
            n(q.dirs),
            n(q.prefetch)
        )?;
    }
    for note in &report.notes {
        writeln!(w, "  note: {note}")?;
    }
    for (i, b) in report.batches.iter().enumerate() {
        writeln!(w, "  call {}: {} ({} paths)", i + 1, b.call, b.paths.len())?;
        if report.dry_run {
            for p in &b.paths {
                writeln!(w, "    {p}")?;
            }
        }
    }
    if !report.dry_run && calls > 0 {
        writeln!(
            w,
            "  sent {} paths; {} task(s): {}; {} API requests, {} retried",
            report.sent,
            report.tasks.len(),
            report.tasks.join(", "),
            report.api_calls,
            report.retries
        )?;
    }
    if let Some(wr) = &report.wait {
        writeln!(
            w,
            "  waited {:.1} s: {} done, {} failed, {} still running",
            wr.seconds,
            wr.done,
            wr.failed.len(),
            wr.pending.len()
        )?;
    }
    if let Some(e) = &report.error {
        writeln!(w, "  STOPPED  {e}")?;
    }
    Ok(())
}

/// Print a `publish` report: one block per stage.
pub fn publish(report: &PublishReport, out: Output) {
    emit(&report.build.warnings, report, out, |w| {
        let b = &report.build;
        writeln!(
            w,
            "publish{}{}: placeholders → {}",
            report
                .env
                .as_ref()
                .map(|e| format!(" --env {e}"))
                .unwrap_or_default(),
            if report.dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            },
            report.server
        )?;
        writeln!(
            w,
            "build     {} files, {} fingerprinted, {} rendered, {} siblings, {} bytes ({} ms)",
            b.files, b.fingerprinted, b.rendered, b.siblings, b.bytes, b.elapsed_ms
        )?;
        if let Some(c) = &b.cache {
            writeln!(w, "          {}", cache_line(c))?;
        }
        if let Some(s) = &b.sri {
            writeln!(w, "          {}", sri_line(s))?;
        }
        if let Some(s) = &report.size {
            size_text(w, s)?;
        }
        write!(w, "upload    ")?;
        upload_text(w, &report.upload)?;
        for (name, stage) in [("purge", &report.purge), ("prefetch", &report.prefetch)] {
            match stage {
                Stage::Skipped { skipped } => writeln!(w, "{name:<9} skipped: {skipped}")?,
                Stage::Failed { failed } => writeln!(w, "{name:<9} FAILED: {failed}")?,
                Stage::Ran(r) => {
                    write!(w, "{name:<9} ")?;
                    cdn_text(w, r)?;
                }
            }
        }
        match &report.prune {
            Stage::Skipped { skipped } => writeln!(w, "prune     skipped: {skipped}")?,
            Stage::Failed { failed } => writeln!(w, "prune     FAILED: {failed}")?,
            Stage::Ran(all) => {
                for p in all {
                    writeln!(
                        w,
                        "prune     {}: {} {}deleted{}",
                        p.target,
                        p.deleted.len(),
                        if report.dry_run { "would be " } else { "" },
                        p.error
                            .as_ref()
                            .map(|e| format!(" FAILED {e}"))
                            .unwrap_or_default()
                    )?;
                    for k in &p.deleted {
                        writeln!(w, "  delete {k}")?;
                    }
                }
            }
        }
        match &report.verify {
            Stage::Skipped { .. } => {}
            Stage::Failed { failed } => writeln!(w, "verify    FAILED: {failed}")?,
            Stage::Ran(v) => {
                write!(w, "verify    ")?;
                verify_text(w, v)?;
            }
        }
        if let Some(r) = &report.release {
            writeln!(w, "release   {r}")?;
        }
        if let Some(p) = &report.preview {
            writeln!(w, "preview   {p}")?;
        }
        Ok(())
    });
}

/// Print a `verify` report: counts, then each object that differs.
pub fn verify(report: &crate::cmd::verify::VerifyReport, out: Output) {
    emit(&[], report, out, |w| verify_text(w, report));
}

fn verify_text(w: &mut dyn Write, r: &crate::cmd::verify::VerifyReport) -> std::io::Result<()> {
    writeln!(
        w,
        "verify {} against release {}: {} of {} keys fetched in {:.1} s: {} ok, {} stale, {} missing, {} wrong, {} unanswered",
        r.cdn_base,
        r.release,
        r.checked,
        r.keys,
        r.seconds,
        r.ok,
        r.stale.len(),
        r.missing.len(),
        r.wrong.len(),
        r.errors.len()
    )?;
    if !r.headers_compared {
        writeln!(
            w,
            "  (a directory target: its headers are the web server's, so only bodies and status were compared)"
        )?;
    }
    for (kind, list) in crate::cmd::verify::table(r) {
        for f in list {
            writeln!(w, "  {kind:<10} {:<3} {}  {}", f.status, f.url, f.detail)?;
        }
    }
    for n in &r.notes {
        writeln!(w, "  note: {n}")?;
    }
    if let Some(routed) = &r.routed {
        writeln!(
            w,
            "through the rollout router: stable {}, candidate {} at {}%: {} of {} pages their release's",
            routed.stable,
            routed.candidate,
            routed.percent,
            routed.pages.len() - routed.wrong().count(),
            routed.pages.len()
        )?;
        for p in &routed.pages {
            writeln!(
                w,
                "  {:<9} {:<8} {} ({})  {}",
                p.cohort, p.verdict, p.url, p.asked_with, p.release
            )?;
        }
    }
    if let Some(p) = &r.purge {
        write!(w, "purge    ")?;
        cdn_text(w, p)?;
    }
    Ok(())
}

/// Print `releases`: newest first, per target.
pub fn releases(reports: &[ReleasesReport], out: Output) {
    let warnings: Vec<String> = reports.iter().filter_map(|r| r.warning.clone()).collect();
    emit(&warnings, &reports, out, |w| {
        for r in reports {
            writeln!(w, "{} ({} releases)", r.target, r.releases.len())?;
            for x in &r.releases {
                let mut notes = Vec::new();
                if x.live {
                    notes.push("LIVE".to_string());
                }
                if let Some(of) = &x.rollback_of {
                    notes.push(format!("rollback of {of}"));
                }
                if let Some(st) = &x.stage {
                    notes.push(format!("staged at {st}"));
                }
                if let Some(part) = &x.rollout {
                    notes.push(format!("ROLLOUT {part}"));
                }
                let line = format!(
                    "  {}  {}  {:<12}  {:>5} files {:>12} bytes  {} changed, {} deleted  {}",
                    x.id,
                    x.created,
                    x.commit
                        .as_deref()
                        .map(|c| c.char_indices().nth(12).map_or(c, |(at, _)| &c[..at]))
                        .unwrap_or("-"),
                    x.files,
                    x.bytes,
                    x.changed,
                    x.deleted,
                    notes.join(", ")
                );
                writeln!(w, "{}", line.trim_end())?;
            }
        }
        Ok(())
    });
}

/// Print a `rollback` report.
pub fn rollback(report: &RollbackReport, out: Output) {
    emit(&[], report, out, |w| {
        for t in &report.targets {
            writeln!(
                w,
                "{}: {} {} → {}: {} page(s) {}{}",
                t.target,
                if report.dry_run {
                    "would roll back"
                } else {
                    "rolled back"
                },
                t.from.as_deref().unwrap_or("-"),
                t.to,
                t.restored.len(),
                if report.dry_run {
                    "to restore"
                } else {
                    "restored"
                },
                t.release
                    .as_ref()
                    .map(|r| format!(", release {r}"))
                    .unwrap_or_default()
            )?;
            for k in &t.restored {
                writeln!(w, "  restore {k}")?;
            }
        }
        for (t, e) in &report.failed {
            writeln!(w, "{t}: FAILED {e}")?;
        }
        match &report.purge {
            Stage::Skipped { skipped } => writeln!(w, "purge: skipped: {skipped}"),
            Stage::Failed { failed } => writeln!(w, "purge: FAILED: {failed}"),
            Stage::Ran(r) => cdn_text(w, r),
        }
    });
}

/// Print a `config check` result.
pub fn config_check(report: &CheckReport, out: Output) {
    emit(&[], report, out, |w| {
        writeln!(
            w,
            "{}: OK (profiles: {})",
            report.file,
            if report.profiles.is_empty() {
                "none".to_string()
            } else {
                report.profiles.join(", ")
            }
        )
    });
}

/// Print `config show`: the resolved settings as TOML, then the credential variables.
pub fn config_show(report: &ShowReport, out: Output) {
    emit(&[], report, out, |w| {
        writeln!(
            w,
            "# {}{}",
            report
                .file
                .as_deref()
                .unwrap_or("no configuration file (built-in defaults)"),
            report
                .env
                .as_ref()
                .map(|e| format!(", profile [env.{e}]"))
                .unwrap_or_default()
        )?;
        let text = toml::to_string(&report.settings).unwrap_or_default();
        write!(w, "{text}")?;
        if !report.notes.is_empty() {
            writeln!(w, "\n# defaults no single value says")?;
            for (k, v) in &report.notes {
                writeln!(w, "# {k}: {}", v.as_str().unwrap_or(""))?;
            }
        }
        writeln!(w, "\n# credentials (values never shown)")?;
        for (k, v) in &report.credentials {
            writeln!(w, "# {k}: {}", v.as_str().unwrap_or(""))?;
        }
        Ok(())
    });
}

/// `cdnpub rollout`: per target, the stable release, the candidate and its share.
pub fn rollout(report: &crate::cmd::rollout::RolloutReport, out: Output) {
    emit(&[], report, out, |w| {
        if let Some(p) = &report.promote {
            for t in &p.targets {
                writeln!(
                    w,
                    "{}: promoted {} ({} page(s) restored{})",
                    t.target,
                    t.to,
                    t.restored.len(),
                    t.release
                        .as_ref()
                        .map(|r| format!(", release {r}"))
                        .unwrap_or_default()
                )?;
            }
        }
        for t in &report.targets {
            match &t.state {
                None => writeln!(w, "{}: no rollout", t.target)?,
                Some(s) => {
                    let tags: Vec<String> = s
                        .tags
                        .iter()
                        .map(|t| format!("{:?}:{}={}", t.kind, t.name, t.value).to_lowercase())
                        .collect();
                    writeln!(
                        w,
                        "{}: {}stable {}, candidate {} at {}%{} (since {})",
                        t.target,
                        if report.dry_run { "would be: " } else { "" },
                        s.stable,
                        s.candidate.as_deref().unwrap_or("none"),
                        s.percent,
                        if tags.is_empty() {
                            String::new()
                        } else {
                            format!(", tags {}", tags.join(" "))
                        },
                        s.since
                    )?;
                }
            }
        }
        for f in &report.written {
            writeln!(
                w,
                "{} {f}",
                if report.dry_run {
                    "would write"
                } else {
                    "wrote"
                }
            )?;
        }
        for r in &report.routers {
            match &r.error {
                Some(e) => writeln!(w, "router {}: FAILED {e}", r.router)?,
                None if report.dry_run => writeln!(w, "router {}: would send", r.router)?,
                None => writeln!(w, "router {}: updated", r.router)?,
            }
            for c in &r.calls {
                writeln!(w, "  {} {}  ({})", c.method, c.url, c.operation)?;
                if report.dry_run {
                    for line in c.body.lines() {
                        writeln!(w, "    {line}")?;
                    }
                }
            }
        }
        for (t, e) in &report.failed {
            writeln!(w, "{t}: FAILED {e}")?;
        }
        Ok(())
    });
}
