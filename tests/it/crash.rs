//! A kill during `cdnpub rewrite` at exact moments (`CDNPUB_DEBUG_KILL_AT=N`: the process aborts
//! at its Nth file replacement, the temporary file written and not renamed, as `kill -9` would
//! leave it): every served file and every precompressed sibling is always the whole old or the
//! whole new content, and a re-run converges to the intended state.

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
fn a_kill_at_any_replacement_leaves_whole_files_and_a_rerun_converges() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("html");
    let templates = make_tree(&root);
    assert!(command(&root, "https://warmup.example.com")
        .status()
        .unwrap()
        .success());
    let mut previous = "https://warmup.example.com".to_string();
    // The first replacement, a few in the first files, the middle, and the last file's.
    let points = [1, 2, 7, FILES, 3 * FILES / 2, 2 * FILES + 1, 3 * FILES - 1];
    for (round, at) in points.into_iter().enumerate() {
        let server = format!("https://cdn{round}.example.com");
        let status = command(&root, &server)
            .env("CDNPUB_DEBUG_KILL_AT", at.to_string())
            .status()
            .unwrap();
        let ctx = format!("round {round}, killed at replacement {at}");
        assert!(
            !status.success(),
            "{ctx}: the run finished before the kill point"
        );
        let done = assert_whole(&root, &templates, &[&previous, &server], &ctx);
        assert!(done < 3 * FILES, "{ctx}: every file already new ({done})");
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
}
