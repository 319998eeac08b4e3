//! The one HTML tokenizer and what reads it, on arbitrary bytes: start tags and attributes lie
//! inside the input in order, every (non-empty) URL a `<script>`/`<link>` loads is a reference renaming
//! sees, and Subresource Integrity never panics and is idempotent (a second pass over its own
//! output changes nothing).
#![no_main]

use cdnpub::site::fingerprint::{html, resolve::Index};
use cdnpub::site::{markup, sri, tags};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut last = 0;
    for t in markup::start_tags(data) {
        assert!(last <= t.start && t.start < t.close.max(t.start + 1) && t.close <= data.len());
        for a in &t.attrs {
            assert!(t.start < a.span.start && a.span.end <= t.close.max(a.span.end));
            assert!(a.span.start <= a.value.start && a.value.end <= a.span.end.max(a.value.end));
            assert!(a.value.start <= a.value.end && a.value.end <= data.len());
        }
        last = t.body.as_ref().map_or(t.close, |b| b.end);
    }
    let refs: Vec<&[u8]> = html::refs(data).iter().map(|s| &data[s.start..s.end]).collect();
    for t in tags::tags(data) {
        if let Some((_, url)) = t.loads() {
            // An empty value names nothing; renaming skips it too.
            if std::str::from_utf8(data).is_ok() && !url.is_empty() {
                assert!(refs.contains(&url.as_bytes()), "{url:?} is not a reference");
            }
        }
    }
    let keys: Vec<String> = ["index.html", "a.js", "assets/b.js", "c.css"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let index = Index::new(&keys, "EGOVA_CDN").with_servers(&["https://cdn.example.com".into()]);
    let digest = |k: &str| Some(sri::integrity(k.as_bytes()));
    let site = sri::Site {
        keys: &keys,
        index: &index,
        server: Some("https://cdn.example.com"),
        digest: &digest,
    };
    let (once, _) = sri::apply("index.html", data, &site);
    let (twice, _) = sri::apply("index.html", &once, &site);
    assert!(once == twice, "a second pass changed the page");
});
