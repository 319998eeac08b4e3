//! The one validator of settings: `config check` runs [`settings`] on every scope of the file,
//! and resolution checks each value it takes with the same functions, so the two never
//! disagree about what is valid.

use super::settings::Settings;

/// Allowed ranges of the numeric keys (inclusive).
pub const RANGES: [(&str, u32, u32); 5] = [
    ("gzip_level", 1, 9),
    ("brotli_quality", 0, 11),
    ("hash_length", 8, 16),
    ("concurrency", 1, 256),
    ("cache_max_mib", 1, 1 << 20),
];

/// `value` within the range of `key` (keys without a range pass); the error says the value and
/// the range, the caller names the key.
pub fn range(key: &str, value: u32) -> Result<(), String> {
    match RANGES.iter().find(|(k, _, _)| *k == key) {
        Some((_, lo, hi)) if !(lo..=hi).contains(&&value) => {
            Err(format!("{value} is out of range ({lo} to {hi})"))
        }
        _ => Ok(()),
    }
}

/// A compression ratio bound: above 0, at most 1.
pub fn ratio(r: f64) -> Result<(), String> {
    if r > 0.0 && r <= 1.0 {
        Ok(())
    } else {
        Err(format!("{r} must be above 0 and at most 1"))
    }
}

/// Problems of one resolved scope, as (key, message).
pub fn settings(s: &Settings) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut bad = |key: &str, msg: String| out.push((key.to_string(), msg));
    if let Some(v) = &s.cdn_server {
        if let Err(e) = crate::site::placeholder::resolve_server(v) {
            bad("cdn_server", e.to_string());
        }
    }
    if let Some(v) = &s.cdn_prefix {
        if let Err(e) = crate::site::placeholder::check_prefix(v) {
            bad("cdn_prefix", e.to_string());
        }
    }
    for (key, v) in [
        ("gzip_level", s.gzip_level),
        ("brotli_quality", s.brotli_quality),
        ("hash_length", s.hash_length.map(u32::from)),
        ("concurrency", s.concurrency.map(u32::from)),
        ("cache_max_mib", s.cache_max_mib),
    ] {
        if let Some(Err(e)) = v.map(|v| range(key, v)) {
            bad(key, e);
        }
    }
    if let Some(Err(e)) = s.max_compress_ratio.map(ratio) {
        bad("max_compress_ratio", e);
    }
    if let Some(p) = &s.hashed_pattern {
        if let Err(e) = regex::Regex::new(p) {
            bad("hashed_pattern", format!("not a valid regex: {e}"));
        }
    }
    for (key, globs) in [
        ("replace_files", &s.replace_files),
        ("keep_names", &s.keep_names),
    ] {
        for g in globs.iter().flatten() {
            if let Err(e) = globset::Glob::new(g) {
                bad(key, format!("{g:?}: {e}"));
            }
        }
    }
    for t in s.targets.iter().flatten() {
        if let Err(e) = crate::store::target::Location::parse(t) {
            bad("targets", e.to_string());
        }
    }
    if let Some(rules) = &s.headers {
        if let Err(e) = crate::site::headers::HeaderRules::new(rules) {
            bad("headers", e.to_string());
        }
    }
    if let Some(p) = &s.cdn_provider {
        if crate::cdn::provider::ProviderKind::parse(p).is_none() {
            bad(
                "cdn_provider",
                format!("{p:?}: use {}", crate::cdn::provider::NAMES),
            );
        }
    }
    if let Some(d) = &s.cdn_domains {
        if let Err(e) = crate::cdn::urls::Domains::parse(d) {
            bad("cdn_domains", e.to_string());
        }
    }
    for problem in budget(s.budget.as_deref().unwrap_or_default()) {
        bad("budget", problem);
    }
    out
}

/// What is wrong with `[[budget]]` rules (an empty list: nothing): a bad glob, a rule with no
/// limit, a growth that is not a percentage. `config check` and publish's resolution both ask.
pub fn budget(rules: &[crate::release::size::BudgetRule]) -> Vec<String> {
    let mut out = Vec::new();
    for r in rules {
        if let Err(e) = globset::Glob::new(&r.entry) {
            out.push(format!("entry {:?}: {e}", r.entry));
        }
        if r.max_gzip.is_none() && r.max_br.is_none() && r.max_growth.is_none() {
            out.push(format!(
                "entry {:?} sets no limit (max_gzip, max_br, max_growth)",
                r.entry
            ));
        }
        if r.max_growth.is_some_and(|g| !g.is_finite() || g < 0.0) {
            out.push(format!(
                "entry {:?}: max_growth must be a percentage >= 0",
                r.entry
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_ratio_say_key_value_and_bounds() {
        assert_eq!(range("gzip_level", 9), Ok(()));
        assert_eq!(
            range("gzip_level", 10).unwrap_err(),
            "10 is out of range (1 to 9)"
        );
        assert_eq!(
            range("concurrency", 0).unwrap_err(),
            "0 is out of range (1 to 256)"
        );
        assert!(ratio(1.0).is_ok() && ratio(0.0).is_err() && ratio(1.5).is_err());
        let s = Settings {
            hash_length: Some(20),
            max_compress_ratio: Some(2.0),
            cdn_provider: Some("akamai".into()),
            ..Settings::default()
        };
        let keys: Vec<String> = settings(&s).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["hash_length", "max_compress_ratio", "cdn_provider"]);
    }
}
