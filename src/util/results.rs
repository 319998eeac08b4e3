//! `--results FILE`: the machine-readable record of any command, so CI never scrapes stdout.
//! ND-JSON, one event a line: `start` (command, version), one `stage` per part of the report
//! (build, upload, purge, size…), one `warning` each, and a final `summary` with the exit code,
//! the error (if any) and the whole report, exactly what `--json` prints. The file is written
//! once the command ends (temp file + rename), also when it fails before any report.

use std::path::Path;
use std::sync::Mutex;

use serde_json::{json, Value};

/// What the command reported, kept for the results file.
struct Recorded {
    report: Value,
    warnings: Vec<String>,
}

static RECORDED: Mutex<Option<Recorded>> = Mutex::new(None);

/// Keep a command's report (called by [`crate::report`] for every command).
pub fn record<T: serde::Serialize>(report: &T, warnings: &[String]) {
    let report = serde_json::to_value(report).unwrap_or(Value::Null);
    if let Ok(mut r) = RECORDED.lock() {
        *r = Some(Recorded {
            report,
            warnings: warnings.to_vec(),
        });
    }
}

/// The events of a finished command.
pub fn events(command: &str, exit_code: i32, error: Option<&str>) -> Vec<Value> {
    let recorded = RECORDED.lock().ok().and_then(|mut r| r.take());
    let (report, warnings) = match recorded {
        Some(r) => (r.report, r.warnings),
        None => (Value::Null, Vec::new()),
    };
    let mut out = vec![json!({
        "event": "start",
        "command": command,
        "version": env!("CARGO_PKG_VERSION"),
    })];
    if let Value::Object(fields) = &report {
        for (stage, value) in fields.iter().filter(|(_, v)| v.is_object() || v.is_array()) {
            out.push(json!({"event": "stage", "stage": stage, "result": value}));
        }
    }
    for w in warnings {
        out.push(json!({"event": "warning", "message": w}));
    }
    out.push(json!({
        "event": "summary",
        "command": command,
        "exit_code": exit_code,
        "ok": exit_code == 0,
        "error": error,
        "report": report,
    }));
    out
}

/// Write a finished command's [`events`] to `path` (ND-JSON, atomically).
pub fn write(path: &Path, events: &[Value]) -> crate::Result<()> {
    let mut body = Vec::new();
    for e in events {
        body.extend_from_slice(e.to_string().as_bytes());
        body.push(b'\n');
    }
    crate::util::atomic::replace(path, &body, Default::default()).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Report {
        command: &'static str,
        build: Value,
        upload: Vec<u32>,
    }

    #[test]
    fn events_are_start_stages_warnings_and_a_summary() {
        record(
            &Report {
                command: "publish",
                build: json!({"files": 3}),
                upload: vec![1],
            },
            &["w1".to_string()],
        );
        let e = events("publish", 1, Some("boom"));
        let kinds: Vec<&str> = e.iter().map(|v| v["event"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["start", "stage", "stage", "warning", "summary"]);
        assert_eq!(e[1]["stage"], "build");
        assert_eq!(e[4]["exit_code"], 1);
        assert_eq!(e[4]["error"], "boom");
        assert_eq!(e[4]["report"]["build"]["files"], 3);
        // Taken once: a second finish has no report.
        assert_eq!(events("x", 0, None).last().unwrap()["report"], Value::Null);
    }
}
