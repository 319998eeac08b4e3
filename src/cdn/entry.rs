//! What to warm after a release: the pages it changed and what they name.

use super::urls::Domains;

/// True for a page (the classifier's HTML kind).
pub fn is_html(key: &str) -> bool {
    crate::site::classify::kind(key) == crate::site::classify::Kind::Html
}

/// What to warm after a release: the HTML it changed and the assets that HTML names directly
/// (resolved against the release's `keys`); with no HTML changed, the changed keys themselves.
/// `html` holds the changed pages' bytes. Returns keys, and the absolute URLs on the job's
/// domains the pages name (pages rendered for the CDN hold those).
pub fn entry_points(
    changed: &[String],
    keys: &[String],
    html: &std::collections::BTreeMap<String, Vec<u8>>,
    domains: &Domains,
) -> (Vec<String>, Vec<String>) {
    let pages: Vec<&String> = changed.iter().filter(|k| is_html(k)).collect();
    if pages.is_empty() {
        return (changed.to_vec(), Vec::new());
    }
    let index = crate::site::fingerprint::resolve::Index::new(
        keys,
        crate::site::placeholder::DEFAULT_PREFIX,
    );
    let (mut out, mut urls) = (Vec::new(), Vec::new());
    for page in pages {
        out.push(page.clone());
        let Some(bytes) = html.get(page) else {
            continue;
        };
        for span in crate::site::fingerprint::html::refs(bytes) {
            let raw = &bytes[span.start..span.end];
            if let Some((id, _)) = index.resolve(page, raw, false) {
                out.push(keys[id].clone());
            } else if let Ok(s) = std::str::from_utf8(raw) {
                if domains.has_url(s) {
                    urls.push(s.to_string());
                }
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|k| seen.insert(k.clone()));
    (out, urls)
}
