//! Reference extraction and rewriting (HTML, CSS, JS, source maps) on arbitrary bytes: no
//! panic, spans inside the input, and a rewrite that renames every asset changes only link
//! spans (the text outside them is kept byte for byte, in order).
#![no_main]

use cdnpub::site::fingerprint::{self, resolve::Index};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 6] = [
    "index.html",
    "assets/app.js",
    "assets/app.css",
    "img/logo.png",
    "assets/app.js.map",
    "a b/ü.svg",
];

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    let rel = ["page.html", "assets/x.css", "assets/x.js", "assets/x.js.map"][usize::from(kind % 4)];
    let rels: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
    let index = Index::new(&rels, "EGOVA_CDN");
    let refs = fingerprint::analyze(rel, bytes, &index);
    for l in refs.links.iter().chain(refs.source_map.iter()) {
        assert!(l.span.start <= l.span.end && l.span.end <= bytes.len());
        assert!(l.target < rels.len());
    }
    let finals: Vec<String> = rels
        .iter()
        .map(|r| fingerprint::hashed_name(r, "0123456789"))
        .collect();
    let names = |t: usize| finals.get(t).cloned();
    if let Some(out) = fingerprint::rewrite(bytes, &refs.links, &rels, &names) {
        // Everything before the first link is untouched.
        if let Some(first) = refs.links.first() {
            assert_eq!(&out[..first.span.start], &bytes[..first.span.start]);
        }
        assert!(out.len() >= bytes.len());
    }
});
