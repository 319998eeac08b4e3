//! Placeholder rendering on arbitrary server values and contents: the validator never panics,
//! an accepted value is safe to put in HTML, and the render state always rebuilds the exact
//! template from the rendered output (what makes `cdnpub rewrite` re-runnable).
#![no_main]

use cdnpub::site::placeholder::{resolve_server, Renderer};
use cdnpub::site::state::{rebuild, Rendering};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (server_raw, content) = text.split_once('\u{0}').unwrap_or((&text, "EGOVA_CDN/x"));
    let Ok(server) = resolve_server(server_raw) else {
        return;
    };
    assert!(!server
        .value
        .chars()
        .any(|c| matches!(c, '"' | '\'' | '<' | '>' | '`') || c.is_whitespace() || c.is_control()));
    let renderer = Renderer::new("EGOVA_CDN", &server);
    let rendered = renderer.render(content.as_bytes());
    assert_eq!(rendered.at.len(), renderer.count(content.as_bytes()));
    let r = Rendering {
        sha256: String::new(),
        server: server.value.clone(),
        prefix: "EGOVA_CDN".into(),
        at: rendered.at.clone(),
        slash: rendered.slash.clone(),
    };
    assert_eq!(
        rebuild(&rendered.bytes, &r).as_deref(),
        Some(content.as_bytes()),
        "rebuild must invert render"
    );
});
