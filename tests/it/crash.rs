//! kill -9 during `cdnpub rewrite`, at pseudo-random moments over several seeds: every served file
//! and every precompressed sibling is always the whole old or the whole new content, and a re-run
//! converges to the intended state.

use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{gunzip, replace_all, unbrotli};

const FILES: usize = 40;

fn make_tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut templates = BTreeMap::new();
    for i in 0..FILES {
        let rel = PathBuf::from(format!("app{}/index.html", i % 8))
            .with_file_name(format!("page{i}.html"));
        // ~200 KB with 20 placeholders, like a page with a large inline bundle.
        let tag = format!("<script src=EGOVA_CDN/js/app{i}.js></script>\n");
        let text = format!("<p>page {i} body text, lorem ipsum dolor sit amet</p>\n").repeat(200);
        let body = format!("{tag}{text}").repeat(20).into_bytes();
        fs::create_dir_all(root.join(&rel).parent().unwrap()).unwrap();
        fs::write(root.join(&rel), &body).unwrap();
        fs::write(
            root.join(format!("{}.gz", rel.display())),
            cdnpub::site::compress::gzip(&body, 6),
        )
        .unwrap();
        fs::write(
            root.join(format!("{}.br", rel.display())),
            cdnpub::site::compress::brotli(&body, 5),
        )
        .unwrap();
        templates.insert(rel, body);
    }
    templates
}

fn command(root: &Path, server: &str) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("cdnpub"));
    cmd.args(["rewrite", "-q", "--brotli-quality", "9", "--root"])
        .arg(root)
        .arg("app*/*.html")
        .env("CDN_SERVER", server)
        .env_remove("CDN_REPLACE_FILES")
        .env_remove("CDNPUB_STATE_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Each file and sibling must be exactly one of `allowed`; returns how many main files hold the
/// last of them (the new content).
fn assert_whole(
    root: &Path,
    templates: &BTreeMap<PathBuf, Vec<u8>>,
    allowed: &[&str],
    ctx: &str,
) -> usize {
    let mut newest = 0;
    for (rel, tpl) in templates {
        let options: Vec<Vec<u8>> = allowed
            .iter()
            .map(|s| replace_all(tpl, "EGOVA_CDN", s))
            .collect();
        let main = fs::read(root.join(rel)).unwrap();
        assert!(
            options.contains(&main),
            "{ctx}: {} is neither old nor new ({} bytes)",
            rel.display(),
            main.len()
        );
        let gz = gunzip(&fs::read(root.join(format!("{}.gz", rel.display()))).unwrap());
        assert!(
            options.contains(&gz),
            "{ctx}: {}.gz is neither old nor new",
            rel.display()
        );
        let br = unbrotli(&fs::read(root.join(format!("{}.br", rel.display()))).unwrap());
        assert!(
            options.contains(&br),
            "{ctx}: {}.br is neither old nor new",
            rel.display()
        );
        newest += [main, gz, br]
            .iter()
            .filter(|c| options.last() == Some(*c))
            .count();
    }
    newest
}

#[test]
fn kill_9_leaves_whole_files_and_a_rerun_converges() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("html");
    let templates = make_tree(&root);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    // Time one whole run on this machine, then kill at 10-90% of that.
    let started = std::time::Instant::now();
    assert!(command(&root, "https://warmup.example.com")
        .status()
        .unwrap()
        .success());
    let full = started.elapsed();
    let mut previous = "https://warmup.example.com".to_string();
    let mut killed_mid_run = 0;
    for round in 0..8 {
        let server = format!("https://cdn{round}.example.com");
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let delay = full.mul_f64(0.1 + 0.8 * (state % 1000) as f64 / 1000.0);
        let mut child = command(&root, &server).spawn().unwrap();
        std::thread::sleep(delay);
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        child.wait().unwrap();
        let ctx = format!("round {round}, killed after {delay:?}");
        let done = assert_whole(&root, &templates, &[&previous, &server], &ctx);
        // Killed while writing: some files new, some still old.
        eprintln!("{ctx}: finished={finished} new artifacts={done}");
        killed_mid_run += usize::from(!finished && done > 0 && done < 3 * FILES);
        // A re-run finishes the job.
        assert!(
            command(&root, &server).status().unwrap().success(),
            "{ctx}: re-run failed"
        );
        assert_whole(
            &root,
            &templates,
            &[&server],
            &format!("{ctx}, after re-run"),
        );
        let litter: Vec<_> = walkdir::WalkDir::new(&root)
            .into_iter()
            .map(|e| e.unwrap().path().to_path_buf())
            .filter(|p| p.to_string_lossy().ends_with(".cdnpub-tmp"))
            .collect();
        assert!(
            litter.is_empty(),
            "{ctx}: temp files left after the re-run: {litter:?}"
        );
        previous = server;
    }
    assert!(
        killed_mid_run >= 3,
        "only {killed_mid_run} of 8 kills landed mid-write: the test proves little"
    );
    eprintln!("kills that landed mid-write: {killed_mid_run} of 8 (a whole run takes {full:?})");
}
