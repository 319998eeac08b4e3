//! What a person reads: the README is a front door and docs/ the reference (every flag, every
//! config key, every link resolving); `--help` groups options, fits a screen before its long
//! form and prints examples verbatim; the man pages; `config show` is a valid cdnpub.toml; the
//! printed summaries have no doubled spaces and no per-object lines without `-v`.

use crate::common::{self, cdnpub, fixtures};

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn read(rel: &str) -> String {
    fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The docs page that documents `command`.
fn page_of(command: &str) -> String {
    let page = match command {
        "prefetch" => "purge",
        "rollback" => "releases",
        "completions" | "man" => "config",
        other => other,
    };
    format!("docs/commands/{page}.md")
}

fn subcommands() -> Vec<clap::Command> {
    let mut cmd = cdnpub::cli::command();
    cmd.build();
    cmd.get_subcommands()
        .filter(|c| c.get_name() != "help")
        .cloned()
        .collect()
}

#[test]
fn the_readme_is_a_front_door() {
    let readme = read("README.md");
    assert!(
        readme.len() <= 15_000,
        "README.md is {} bytes; the rest belongs in docs/",
        readme.len()
    );
    for needed in [
        "cargo run -- publish fixtures/vite-vue/dist --to ./public",
        "cargo test --locked",
        "## Install",
        "docs/commands/publish.md",
    ] {
        assert!(readme.contains(needed), "README.md lacks {needed:?}");
    }
}

#[test]
fn every_flag_is_documented_on_its_commands_page() {
    let mut missing = Vec::new();
    let globals: BTreeSet<String> = cdnpub::cli::command()
        .get_arguments()
        .filter_map(|a| a.get_long().map(str::to_string))
        .collect();
    let config_page = read("docs/commands/config.md");
    for g in &globals {
        if g != "help" && g != "version" && !config_page.contains(&format!("--{g}")) {
            missing.push(format!("docs/commands/config.md: --{g} (global)"));
        }
    }
    for sub in subcommands() {
        let page = page_of(sub.get_name());
        let text = read(&page);
        let mut args: Vec<&clap::Arg> = sub.get_arguments().collect();
        let nested: Vec<clap::Command> = sub
            .get_subcommands()
            .filter(|n| n.get_name() != "help")
            .cloned()
            .collect();
        for n in &nested {
            assert!(
                text.contains(&format!("{} {}", sub.get_name(), n.get_name())),
                "{page} does not show `{} {}`",
                sub.get_name(),
                n.get_name()
            );
            args.extend(n.get_arguments());
        }
        for a in args {
            let Some(long) = a.get_long() else { continue };
            if long == "help" || long == "version" || globals.contains(long) {
                continue;
            }
            if !text.contains(&format!("--{long}")) {
                missing.push(format!("{page}: --{long}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "flags missing from the docs: {missing:#?}"
    );
}

/// The generated part of docs/configuration.md is the key table as the code has it;
/// `CDNPUB_UPDATE_DOCS=1 cargo test config_reference` writes it.
#[test]
fn config_reference_is_generated_from_the_key_table() {
    let path = root().join("docs/configuration.md");
    let text = read("docs/configuration.md");
    let (begin, end) = ("<!-- reference:begin -->\n", "<!-- reference:end -->");
    let start = text.find(begin).expect("the reference:begin marker") + begin.len();
    let stop = text.find(end).expect("the reference:end marker");
    let want = cdnpub::config::defaults::reference_markdown();
    if std::env::var_os("CDNPUB_UPDATE_DOCS").is_some() {
        fs::write(&path, format!("{}{want}{}", &text[..start], &text[stop..])).unwrap();
        return;
    }
    assert_eq!(
        &text[start..stop],
        want,
        "docs/configuration.md's reference is stale: run `CDNPUB_UPDATE_DOCS=1 cargo test config_reference`"
    );
    for k in cdnpub::config::defaults::keys() {
        assert!(text.contains(&format!("`{}`", k.name)), "{}", k.name);
    }
}

/// Markdown links outside code: (file, target).
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    let re = regex::Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Inline code spans are not links.
        let plain: String = line.split('`').step_by(2).collect::<Vec<_>>().join("");
        out.extend(re.captures_iter(&plain).map(|c| c[1].to_string()));
    }
    out
}

/// GitHub's anchors of a page's headings.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim();
        let slug: String = title
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let n = seen.entry(slug.clone()).or_insert(0);
        out.insert(if *n == 0 {
            slug.clone()
        } else {
            format!("{slug}-{n}")
        });
        *n += 1;
    }
    out
}

#[test]
fn every_link_of_the_docs_resolves() {
    let mut pages = vec![root().join("README.md"), root().join("ARCHITECTURE.md")];
    pages.extend(
        walkdir::WalkDir::new(root().join("docs"))
            .into_iter()
            .map(|e| e.unwrap().into_path())
            .filter(|p| p.extension().is_some_and(|e| e == "md")),
    );
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in &pages {
        let text = fs::read_to_string(page).unwrap();
        for link in links(&text) {
            if link.starts_with("http://")
                || link.starts_with("https://")
                || link.starts_with("mailto:")
            {
                continue;
            }
            checked += 1;
            let (file, anchor) = link.split_once('#').unwrap_or((&link, ""));
            let target = if file.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(file)
            };
            if !target.exists() {
                broken.push(format!("{}: {link} (no such file)", page.display()));
                continue;
            }
            if !anchor.is_empty() && target.extension().is_some_and(|e| e == "md") {
                let heads = anchors(&fs::read_to_string(&target).unwrap());
                if !heads.contains(anchor) {
                    broken.push(format!("{}: {link} (no such heading)", page.display()));
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} links found: the scan is broken"
    );
    assert!(broken.is_empty(), "broken links: {broken:#?}");
}

fn help(args: &[&str], columns: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let out = cdnpub(tmp.path())
        .args(args)
        .env("COLUMNS", columns)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::output_log(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_prints_examples_verbatim_and_fits_a_screen() {
    for sub in subcommands() {
        let name = sub.get_name().to_string();
        let examples = sub
            .get_after_help()
            .map(|e| e.to_string())
            .unwrap_or_else(|| panic!("{name} has no examples"));
        for columns in ["100", "40"] {
            for flag in ["-h", "--help"] {
                let text = help(&[&name, flag], columns);
                let lines: BTreeSet<&str> = text.lines().collect();
                for ex in examples.lines().filter(|l| !l.trim().is_empty()) {
                    assert!(
                        lines.contains(ex),
                        "`cdnpub {name} {flag}` at {columns} columns does not print the example line {ex:?} as it is:\n{text}"
                    );
                }
            }
        }
        let short = help(&[&name, "-h"], "100");
        assert!(
            short.lines().count() <= 55,
            "`cdnpub {name} -h` is {} lines; it must fit a screen (55):\n{short}",
            short.lines().count()
        );
        let options = short.split("\nExamples:").next().unwrap_or_default();
        assert!(
            options.lines().all(|l| l.chars().count() <= 100),
            "`cdnpub {name} -h` has an option line over 100 columns:\n{short}"
        );
    }
    let publish = help(&["publish", "--help"], "100");
    for heading in [
        "What to publish:",
        "Where:",
        "CDN:",
        "Output:",
        "Configuration:",
    ] {
        assert!(publish.contains(heading), "publish --help lacks {heading}");
    }
    for line in publish.lines().filter(|l| l.contains("--delete")) {
        assert!(
            line.contains("upload --delete"),
            "publish has no --delete, yet its help says: {line}"
        );
    }
}

#[test]
fn man_pages_come_from_the_same_definitions() {
    let page = help(&["man"], "100");
    assert!(
        page.contains(".TH cdnpub 1"),
        "{}",
        &page[..page.len().min(300)]
    );
    assert!(page.contains("publish"), "the command list");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("man1");
    cdnpub(tmp.path())
        .args(["man", "--out"])
        .arg(&dir)
        .assert()
        .success();
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for sub in subcommands() {
        let want = format!("cdnpub-{}.1", sub.get_name());
        assert!(names.contains(&want), "{want} not in {names:?}");
    }
    let publish = fs::read_to_string(dir.join("cdnpub-publish.1")).unwrap();
    assert!(
        publish.contains("source\\-maps"),
        "publish's flags in its page"
    );
    assert!(publish.contains("cdnpub publish fixtures/vite\\-vue/dist \\-\\-to ./public"));
}

#[test]
fn config_show_prints_a_valid_cdnpub_toml() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let parse = |text: &str| {
        cdnpub::config::ConfigFile::parse(Path::new("shown.toml"), text)
            .unwrap_or_else(|e| panic!("config show is not a valid cdnpub.toml: {e}\n{text}"))
    };
    let out = cdnpub(t).args(["config", "show"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let shown = parse(&text);
    assert_eq!(shown.settings.brotli_quality, Some(11));
    assert!(
        text.contains("# brotli_quality: rewrite at container start: 9"),
        "{text}"
    );
    fs::write(
        t.join("cdnpub.toml"),
        "cdn_server = \"https://cdn.example.com\"\n[env.prod]\ntargets = [\"s3://site/web\"]\nsource_maps = \"skip\"\n",
    )
    .unwrap();
    let out = cdnpub(t)
        .args(["--env", "prod", "config", "show"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let shown = parse(&text);
    assert_eq!(
        shown.settings.targets,
        Some(vec!["s3://site/web".to_string()])
    );
    assert_eq!(
        shown.settings.source_maps,
        Some(cdnpub::site::SourceMaps::Skip)
    );
}

/// Lines of a summary: after the stage label's column, single spaces only.
fn doubled_spaces(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| {
            let body = l.trim_start();
            let rest = body.split_once(' ').map_or("", |(_, r)| r.trim_start());
            rest.contains("  ")
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn summaries_have_single_spaces_and_per_object_lines_only_with_v() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let dist = fixtures().join("vite-vue/dist");
    let run = |args: &[&str]| {
        let out = cdnpub(t).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            common::output_log(&out)
        );
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let dist = dist.to_str().unwrap();
    let mut printed = Vec::new();
    let (out, err) = run(&["publish", dist, "--to", "./public"]);
    assert!(
        !err.contains("put "),
        "off a terminal, no per-object lines without -v: {err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.contains("started:")).count(),
        3,
        "one line per stage: {err}"
    );
    printed.push(out);
    let (out, _) = run(&["publish", dist, "--to", "./public", "--dry-run"]);
    printed.push(out);
    let (_, err) = run(&["-v", "publish", dist, "--to", "./public2"]);
    assert!(
        err.contains("put index.html"),
        "-v shows each object: {err}"
    );
    printed.push(run(&["build", dist, "--out", "built"]).0);
    printed.push(run(&["upload", "built", "--to", "./site", "--dry-run"]).0);
    // (`releases` prints a table: its columns are aligned on purpose.)
    for text in printed {
        let bad = doubled_spaces(&text);
        assert!(bad.is_empty(), "doubled spaces: {bad:#?}\n{text}");
    }
}

/// On a terminal (a pseudo-terminal from util-linux's `script`), build and upload draw bars.
#[cfg(target_os = "linux")]
#[test]
fn a_terminal_gets_progress_bars_for_build_and_upload() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("cdnpub");
    let command = format!(
        "{} publish {} --to ./public --no-cache",
        bin.display(),
        fixtures().join("vite-vue/dist").display()
    );
    let out = match std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(tmp.path())
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            assert!(!common::in_ci(), "CI=true but script(1) cannot run: {e}");
            eprintln!("SKIPPED: script(1) is not installed ({e})");
            return;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("build ["), "no build bar: {text}");
    assert!(text.contains("file://./public ["), "no upload bar: {text}");
    assert!(
        text.contains("/15 "),
        "the upload bar counts objects: {text}"
    );
}

/// A failure is printed once (as the command's error), the target named once per line.
#[test]
fn an_error_is_printed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    fs::write(t.join("afile"), "not a directory").unwrap();
    let out = cdnpub(t)
        .arg("publish")
        .arg(fixtures().join("vite-vue/dist"))
        .args(["--to", "./afile/site"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let log = common::output_log(&out);
    assert_eq!(
        log.matches("objects failed").count(),
        1,
        "the failure is printed once: {log}"
    );
    for line in log.lines() {
        assert!(
            line.matches("file://./afile/site").count() <= 1,
            "the target named twice on one line: {line}"
        );
    }
}
