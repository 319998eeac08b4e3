//! `publish --github-output`: the GitHub Action's step outputs and job summary, written by the
//! binary from the same summary event `--results` records (so a runner needs no Python, and
//! the outputs cannot disagree with the results file).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};

/// The files GitHub Actions names for a step's outputs and for the job summary.
#[derive(Debug, Clone)]
pub struct Files {
    /// `GITHUB_OUTPUT`.
    pub output: PathBuf,
    /// `GITHUB_STEP_SUMMARY` (None: no summary written).
    pub summary: Option<PathBuf>,
}

impl Files {
    /// The files of the running step; a usage error outside GitHub Actions (before anything
    /// runs, so a mistyped flag costs nothing).
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let Some(output) = var("GITHUB_OUTPUT") else {
            return Err(Error::Usage(
                "--github-output writes to the file GITHUB_OUTPUT names, and it is not set (GitHub Actions sets it in each step); leave the flag out elsewhere".into(),
            ));
        };
        Ok(Files {
            output,
            summary: var("GITHUB_STEP_SUMMARY"),
        })
    }
}

/// Append the outputs (`release-id`, `preview-url`, `uploaded`, `purged`, `results`, `summary`) and the job
/// summary for a finished publish whose `summary` event is given.
pub fn write(files: &Files, summary: &Value, results: Option<&Path>) -> Result<()> {
    append(&files.output, &outputs(summary, results))?;
    if let Some(path) = &files.summary {
        append(path, &markdown(summary))?;
    }
    Ok(())
}

fn append(path: &Path, text: &str) -> Result<()> {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| Error::io("append to", path, e))
}

fn first_target(report: &Value) -> &Value {
    &report["upload"]["targets"][0]
}

/// The step outputs, one `name=value` line each (every value on one line).
pub fn outputs(summary: &Value, results: Option<&Path>) -> String {
    let r = &summary["report"];
    let count = |v: &Value| v.as_array().map_or(0, Vec::len);
    format!(
        "release-id={}\npreview-url={}\nuploaded={}\npurged={}\nresults={}\nsummary={}\n",
        r["release"].as_str().unwrap_or(""),
        r["preview"].as_str().unwrap_or(""),
        count(&first_target(r)["uploaded"]),
        r["purge"]["sent"].as_u64().unwrap_or(0),
        results.map(|p| p.display().to_string()).unwrap_or_default(),
        if r.is_null() {
            "{}".to_string()
        } else {
            r.to_string()
        },
    )
}

/// The job summary: the stages as a table, the size report when there is one.
pub fn markdown(summary: &Value) -> String {
    let r = &summary["report"];
    let mut md = String::from("### cdnpub publish\n\n");
    if let Some(e) = summary["error"].as_str() {
        let _ = writeln!(
            md,
            "**Failed** (exit {}): {}\n",
            summary["exit_code"],
            e.replace('\n', " ")
        );
    }
    md.push_str("| stage | result |\n|---|---|\n");
    let b = &r["build"];
    if b.is_object() {
        let _ = writeln!(
            md,
            "| build | {} files, {} fingerprinted, {} rendered |",
            b["files"], b["fingerprinted"], b["rendered"]
        );
    }
    for t in r["upload"]["targets"].as_array().into_iter().flatten() {
        let failed = t["error"]
            .as_str()
            .map(|e| format!(" — FAILED: {e}"))
            .unwrap_or_default();
        let _ = writeln!(
            md,
            "| upload {} | {} uploaded, {} unchanged{failed} |",
            t["target"].as_str().unwrap_or(""),
            t["uploaded"].as_array().map_or(0, Vec::len),
            t["unchanged"]
        );
    }
    for stage in ["purge", "prefetch", "verify"] {
        let st = &r[stage];
        if !st.is_object() {
            continue;
        }
        let text = if let Some(s) = st["skipped"].as_str() {
            s.to_string()
        } else if let Some(f) = st["failed"].as_str() {
            format!("FAILED: {f}")
        } else if stage == "verify" {
            let n = |k: &str| st[k].as_array().map_or(0, Vec::len);
            format!(
                "{} ok of {}; {} stale, {} missing, {} wrong",
                st["ok"],
                st["checked"],
                n("stale"),
                n("missing"),
                n("wrong")
            )
        } else {
            format!("{} sent", st["sent"].as_u64().unwrap_or(0))
        };
        let _ = writeln!(md, "| {stage} | {text} |");
    }
    let _ = writeln!(md, "| release | {} |", r["release"].as_str().unwrap_or("-"));
    if let Some(p) = r["preview"].as_str() {
        let _ = writeln!(md, "| preview | {p} |");
    }
    size_section(&mut md, &r["size"]);
    md
}

/// What a first visit downloads per entry page, and the change since the previous release.
fn size_section(md: &mut String, size: &Value) {
    if !size.is_object() {
        return;
    }
    let wire = size["wire"].as_str().unwrap_or("br");
    let delta = &size["delta"];
    let _ = write!(
        md,
        "\n#### What a first visit downloads ({wire})\n\n| entry page | files | {wire} | gzip | br | since {} |\n|---|---:|---:|---:|---:|---:|\n",
        delta["previous"].as_str().unwrap_or("-")
    );
    for p in size["pages"].as_array().into_iter().flatten() {
        let growth = delta["pages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["page"] == p["page"])
            .and_then(|d| d["growth_pct"].as_f64())
            .map_or("-".to_string(), |g| format!("{g:+.1}%"));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {growth} |",
            p["page"].as_str().unwrap_or(""),
            p["files"].as_array().map_or(0, Vec::len),
            p["wire"],
            p["bytes"]["gzip"],
            p["bytes"]["br"]
        );
    }
    if delta.is_object() {
        let n = |k: &str| delta[k].as_array().map_or(0, Vec::len);
        let _ = writeln!(
            md,
            "\n{} added, {} changed, {} removed; a returning visitor downloads {} bytes again ({:.0}%).",
            n("added"),
            n("changed"),
            n("removed"),
            delta["redownload"],
            100.0 * delta["redownload_share"].as_f64().unwrap_or(0.0)
        );
    }
    for o in size["over_budget"].as_array().into_iter().flatten() {
        let _ = writeln!(md, "- over budget: {}", o.as_str().unwrap_or(""));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn outputs_and_summary_of_a_failed_publish() {
        let summary = json!({
            "event": "summary", "exit_code": 1, "error": "upload failed\nsecond line",
            "report": {
                "release": "20261207T101500Z-1a2b3c4d",
                "build": {"files": 11, "fingerprinted": 6, "rendered": 4},
                "upload": {"targets": [{"target": "s3://a/web", "uploaded": ["x", "y"], "unchanged": 3, "error": "boom"}]},
                "purge": {"sent": 4},
                "prefetch": {"skipped": "no provider"},
            }
        });
        let out = outputs(&summary, Some(Path::new("/tmp/r.ndjson")));
        assert!(out.starts_with("release-id=20261207T101500Z-1a2b3c4d\npreview-url=\nuploaded=2\npurged=4\nresults=/tmp/r.ndjson\nsummary={"), "{out}");
        assert_eq!(out.lines().count(), 6, "every value on one line: {out}");
        let md = markdown(&summary);
        assert!(
            md.contains("**Failed** (exit 1): upload failed second line"),
            "{md}"
        );
        assert!(
            md.contains("| build | 11 files, 6 fingerprinted, 4 rendered |"),
            "{md}"
        );
        assert!(
            md.contains("| upload s3://a/web | 2 uploaded, 3 unchanged — FAILED: boom |"),
            "{md}"
        );
        assert!(
            md.contains("| purge | 4 sent |") && md.contains("| prefetch | no provider |"),
            "{md}"
        );
    }

    #[test]
    fn a_run_that_stopped_before_any_report_still_has_every_output() {
        let summary =
            json!({"event": "summary", "exit_code": 2, "error": "bad flag", "report": null});
        assert_eq!(
            outputs(&summary, None),
            "release-id=\npreview-url=\nuploaded=0\npurged=0\nresults=\nsummary={}\n"
        );
        assert!(markdown(&summary).contains("| release | - |"));
    }

    #[test]
    fn a_staged_publish_gives_its_preview_url() {
        let summary = serde_json::json!({
            "report": {"release": "r2", "preview": "https://www.example.com/app/?cdnpub-release=r2"}
        });
        assert!(outputs(&summary, None)
            .contains("\npreview-url=https://www.example.com/app/?cdnpub-release=r2\n"));
        assert!(markdown(&summary)
            .contains("| preview | https://www.example.com/app/?cdnpub-release=r2 |"));
    }
}
