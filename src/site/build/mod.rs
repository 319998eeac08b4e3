//! `cdnpub build SRC --out DIR`: fingerprint, rewrite references, precompress, write a manifest.
//!
//! The tree is built in a temporary directory beside OUT and swapped in at the end, so a failed
//! build leaves OUT as it was. Files are processed as soon as the files they name have their
//! final names (leaves first), on all cores; a file's dependents are released before its own
//! compression starts.

use std::fs;
use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

mod analysis;
mod config;
mod input;
mod job;

use analysis::*;
pub use config::*;
use input::*;
use job::*;

use crate::error::{Error, Result};
use crate::site::classify::{self, Naming};
use crate::site::fingerprint::check::{self, Built, Expected, Resolution};
use crate::site::fingerprint::resolve::Base;
use crate::site::fingerprint::{self, file_name, pins, Plan, Refs};
use crate::site::manifest::{Manifest, ViteEntry, MANIFEST_PATH, VERSION};

/// Run a build.
pub fn run(cfg: &BuildConfig) -> Result<BuildReport> {
    let started = Instant::now();
    let (src, out) = check_dirs(&cfg.src, &cfg.out)?;
    let (inputs, maps_skipped) = leave_out_maps(scan_tree(&src)?, cfg.source_maps);
    let rels: Vec<String> = inputs.iter().map(|i| i.rel.clone()).collect();
    check_is_output(&src, &rels)?;
    let mut how = resolution(cfg);
    let index = how.index(&rels);
    let names = pins::Names::new(&rels);
    let mut refs = Vec::with_capacity(rels.len());
    let mut rendered = Vec::with_capacity(rels.len());
    // Bytes that are not the bundler's (rendered, or a map comment removed): a bundler's hash
    // no longer addresses them, so the file is named by its content where that is safe.
    let mut changed = Vec::with_capacity(rels.len());
    let mut mentions = Vec::with_capacity(rels.len());
    let analyses = analyze_all(&inputs, &index, cfg.render.as_ref(), &names, &cfg.prefix)?;
    check_placeholders(cfg, &rels, &analyses)?;
    let worker_warnings = worker_warnings(cfg, &rels, &analyses);
    for a in analyses {
        refs.push(a.refs);
        rendered.push(a.rendered);
        changed.push(a.rendered || a.map_comment_removed);
        mentions.push(a.mentions);
    }
    let naming = Naming::new(&keep_globs(cfg), &cfg.hashed_pattern)?;
    let mut pins = pins::pins(&rels, &refs, &mentions);
    // Found through the manifest (a server template reads `renamed`): free to rename.
    let found = classify::glob_set(&cfg.manifest_named, "--manifest-named glob")?;
    for (p, rel) in pins.iter_mut().zip(&rels) {
        if *p == pins::Pin::Unreferenced && found.is_match(rel) {
            *p = pins::Pin::None;
        }
    }
    for (i, p) in pins.iter().enumerate() {
        if *p == pins::Pin::MentionedElsewhere {
            tracing::debug!(
                "{} keeps its name: it is mentioned where cdnpub does not rewrite",
                rels[i]
            );
        }
    }
    let plan = fingerprint::plan(&rels, &refs, &naming, &changed, &pins);
    let base_from = settle_base(&mut how, &refs, &plan, &rels, &inputs)?;
    // What the self-check can tell from the bundler's output alone, before the expensive part.
    let checking = Instant::now();
    let refs_of: Vec<&Refs> = refs.iter().collect();
    check::refuse(
        "build",
        check::unresolved_site_paths(&src, &rels, &refs_of, &how.index(&rels))?,
    )?;
    let precheck = checking.elapsed();
    let parent = out.parent().unwrap_or(Path::new("."));
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{}.", file_name(&out.to_string_lossy())))
        .suffix(".cdnpub-build")
        .tempdir_in(parent)
        .map_err(|e| Error::io("create a staging directory beside --out in", parent, e))?;
    let cache = match (&cfg.cache, cfg.compress) {
        (Some(c), true) => Some(crate::site::cache::Cache::open(c)?),
        _ => None,
    };
    let job = Job {
        cfg,
        cache: cache.as_ref(),
        inputs: &inputs,
        refs: &refs,
        plan: &plan,
        rels: &rels,
        staging: staging.path(),
        names: (0..inputs.len()).map(|_| OnceLock::new()).collect(),
        group_hashes: (0..plan.groups.len()).map(|_| OnceLock::new()).collect(),
        records: Mutex::new(Vec::new()),
        deferred: Mutex::new(Vec::new()),
        failure: Mutex::new(None),
        rewritten: AtomicUsize::new(0),
        rendered: &rendered,
        bar: crate::util::console::bar(
            plan.map_owner.iter().filter(|o| o.is_none()).count(),
            "build",
        ),
    };
    job.run_all();
    if let Some(bar) = &job.bar {
        bar.finish_and_clear();
    }
    if let Some(e) = job.failure.lock().ok().and_then(|mut f| f.take()) {
        return Err(e);
    }
    let sri = if cfg.sri {
        Some(job.write_pages_with_integrity(&how)?)
    } else {
        None
    };
    let records = std::mem::take(
        &mut *job
            .records
            .lock()
            .map_err(|_| Error::Failed("internal error: a build task panicked".into()))?,
    );
    let finals: Vec<String> = job
        .names
        .iter()
        .map(|n| n.get().cloned().unwrap_or_default())
        .collect();
    if let Some(i) = finals.iter().position(String::is_empty) {
        return Err(Error::Failed(format!(
            "internal error: {} was never processed",
            rels[i]
        )));
    }
    let manifest = Manifest {
        version: VERSION,
        hash_length: cfg.hash_len,
        files: records,
        renamed: fingerprint::renames(&rels, &finals)
            .into_iter()
            .map(|(o, f)| (o, ViteEntry { file: f }))
            .collect(),
    };
    let built: Vec<Built> = manifest
        .files
        .iter()
        .map(|f| Built {
            path: f.path.clone(),
            source: f.source.clone(),
        })
        .collect();
    let expected = Expected {
        rels: &rels,
        refs: &refs,
        finals: &finals,
    };
    let checking = Instant::now();
    check::refuse(
        "build",
        check::problems(staging.path(), &built, &how, Some(&expected))?,
    )?;
    let check_ms = (checking.elapsed() + precheck).as_millis() as u64;
    write_new(&staging.path().join(MANIFEST_PATH), &manifest.to_bytes())?;
    crate::site::tree::write_stats(staging.path(), &manifest)?;
    let mut report = summarize(
        &out,
        &manifest,
        &plan,
        &rels,
        job.rewritten.into_inner(),
        started,
    );
    report.rendered = rendered.iter().filter(|&&r| r).count();
    report.warnings.extend(worker_warnings);
    report.base_path = how.base.path().to_string();
    report.check_ms = check_ms;
    report.base_path_from = base_from;
    report.source_maps_skipped = maps_skipped;
    swap_into_place(staging, &out)?;
    report.cache = cache.map(|c| c.finish());
    if let Some((s, notes)) = sri {
        report.warnings.push(SRI_WARNING.to_string());
        report.warnings.extend(notes);
        report.sri = Some(s);
    }
    Ok(report)
}

/// `cdnpub build --check DIR`: check a built tree on its own (SRC is the tree).
pub fn check_tree(cfg: &BuildConfig) -> Result<CheckReport> {
    let dir = fs::canonicalize(&cfg.src).map_err(|e| {
        Error::Usage(format!(
            "{} cannot be opened ({e}); give the built tree to check",
            cfg.src.display()
        ))
    })?;
    let manifest = crate::site::manifest::Manifest::read(&dir)?;
    let built: Vec<Built> = match &manifest {
        Some(m) => m
            .files
            .iter()
            .map(|f| Built {
                path: f.path.clone(),
                source: f.source.clone(),
            })
            .collect(),
        None => scan_tree(&dir)?
            .into_iter()
            .filter(|i| !i.rel.starts_with(".cdnpub/"))
            .map(|i| Built {
                path: i.rel.clone(),
                source: i.rel,
            })
            .collect(),
    };
    let mut how = resolution(cfg);
    if how.base == Base::Infer {
        // The sub-path a check resolves under: the one the tree's references agree on.
        let rels: Vec<String> = built.iter().map(|b| b.path.clone()).collect();
        let index = how.index(&rels);
        let mut refs = Vec::new();
        for rel in rels
            .iter()
            .filter(|r| classify::kind(r) != classify::Kind::Other)
        {
            let path = dir.join(rel);
            let bytes = fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            refs.push(fingerprint::analyze(rel, &bytes, &index));
        }
        if let [one] = dropped_subpaths(&refs).as_slice() {
            how.base = Base::Hint(one.to_string());
        }
    }
    let problems = check::problems(&dir, &built, &how, None)?;
    Ok(CheckReport {
        command: "check",
        dir,
        files: built.len(),
        renamed: built.iter().filter(|b| b.path != b.source).count(),
        base_path: how.base.path().to_string(),
        problems,
    })
}

fn keep_globs(cfg: &BuildConfig) -> Vec<String> {
    classify::DEFAULT_KEEP
        .iter()
        .map(|s| s.to_string())
        .chain(cfg.keep.iter().cloned())
        .collect()
}

/// How references resolve: the placeholder, the deploy sub-path, the known servers (the
/// rendered server included).
fn resolution(cfg: &BuildConfig) -> Resolution {
    let mut servers = cfg.servers.clone();
    if let Some(r) = &cfg.render {
        let s = String::from_utf8_lossy(r.renderer.server()).to_string();
        if !s.is_empty() && !servers.contains(&s) {
            servers.push(s);
        }
    }
    Resolution {
        prefix: cfg.prefix.clone(),
        base: cfg.base.clone(),
        servers,
        manifest_named: cfg.manifest_named.clone(),
    }
}

/// The distinct leading segments that references dropped to reach a file of the tree (by
/// suffix), sorted: one is the tree's deploy sub-path; several disagree.
fn dropped_subpaths(refs: &[Refs]) -> Vec<&str> {
    let mut dropped: Vec<&str> = refs
        .iter()
        .flat_map(|r| r.guessed.iter().map(|(_, d)| d.as_str()))
        .collect();
    dropped.sort_unstable();
    dropped.dedup();
    dropped
}

/// Settle the deploy sub-path: references that reached their file only by dropping leading
/// segments must agree on what they dropped (then that is the sub-path, inferred); when they
/// disagree and any of them names a file cdnpub renames, the build stops naming them.
fn settle_base(
    how: &mut Resolution,
    refs: &[Refs],
    plan: &Plan,
    rels: &[String],
    inputs: &[Input],
) -> Result<&'static str> {
    let from = match &how.base {
        Base::Set(_) => "set",
        Base::Hint(p) if !p.is_empty() => "target prefix",
        _ => "none",
    };
    let dropped = dropped_subpaths(refs);
    match dropped.as_slice() {
        [] => Ok(from),
        [one] if !matches!(how.base, Base::Set(_)) => {
            how.base = Base::Hint(one.to_string());
            Ok("inferred")
        }
        _ => {
            let renamed = |t: usize| plan.hashed[t] || plan.env_named[t];
            let mut bad = Vec::new();
            for (i, r) in refs.iter().enumerate() {
                for (start, d) in &r.guessed {
                    let Some(l) = r.links.iter().find(|l| l.span.start == *start) else {
                        continue;
                    };
                    if renamed(l.target) {
                        let bytes = inputs[i].read()?;
                        bad.push(format!(
                            "{}: {} → {} (sub-path {d})",
                            rels[i],
                            String::from_utf8_lossy(&bytes[l.span.start..l.span.end]),
                            rels[l.target]
                        ));
                    }
                }
            }
            if bad.is_empty() {
                return Ok(from);
            }
            bad.truncate(20);
            Err(Error::Broken(format!(
                "references name files of the tree under different deploy sub-paths ({}), so cdnpub cannot tell which is the tree's; set it with --base-path SUBPATH (base_path in cdnpub.toml). References to renamed files:\n  {}",
                dropped.join(", "),
                bad.join("\n  ")
            )))
        }
    }
}

fn summarize(
    out: &Path,
    m: &Manifest,
    plan: &Plan,
    rels: &[String],
    rewritten: usize,
    started: Instant,
) -> BuildReport {
    let cycles: Vec<Vec<String>> = plan
        .cycles
        .iter()
        .map(|c| c.iter().map(|&i| rels[i].clone()).collect())
        .collect();
    let warnings = cycles
        .iter()
        .map(|c| {
            format!(
                "reference cycle, these files keep their names and are not cached as immutable: {}",
                c.join(" → ")
            )
        })
        .collect();
    BuildReport {
        command: "build",
        out: out.to_path_buf(),
        files: m.files.len(),
        fingerprinted: m.renamed.len(),
        immutable: m.files.iter().filter(|f| f.immutable).count(),
        rewritten,
        rendered: 0,
        bytes: m.files.iter().map(|f| f.size).sum(),
        bytes_smallest: m
            .files
            .iter()
            .map(|f| {
                f.encodings
                    .iter()
                    .map(|e| e.size)
                    .chain([f.size])
                    .min()
                    .unwrap_or(f.size)
            })
            .sum(),
        siblings: m.files.iter().map(|f| f.encodings.len()).sum(),
        base_path: String::new(),
        base_path_from: "none",
        check_ms: 0,
        cycles,
        warnings,
        cache: None,
        sri: None,
        source_maps_skipped: 0,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

/// Move the staging tree to `out`, replacing a previous build.
fn swap_into_place(staging: tempfile::TempDir, out: &Path) -> Result<()> {
    let staged = staging.keep();
    if out.exists() {
        let parent = out.parent().unwrap_or(Path::new("."));
        let old = tempfile::Builder::new()
            .prefix(&format!(".{}.", file_name(&out.to_string_lossy())))
            .suffix(".cdnpub-old")
            .tempdir_in(parent)
            .map_err(|e| Error::io("create a directory beside", out, e))?
            .keep();
        fs::rename(out, old.join("tree"))
            .map_err(|e| Error::io("move the previous build aside", out, e))?;
        fs::rename(&staged, out).map_err(|e| Error::io("move the new build into place", out, e))?;
        fs::remove_dir_all(&old).map_err(|e| Error::io("remove the previous build", &old, e))?;
    } else {
        fs::rename(&staged, out).map_err(|e| Error::io("move the new build into place", out, e))?;
    }
    Ok(())
}
