//! The checks of settings' values, named by their descriptors in [`super::defaults::keys`]:
//! `config check` runs them on every scope of the file, and resolution checks each
//! value it takes (from a flag, a variable or the file) through the same descriptor, so the two
//! never disagree about what is valid.

use serde_json::Value;

/// `value` as a `T`, or why not.
fn typed<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, String> {
    serde_json::from_value(value.clone()).map_err(|e| e.to_string())
}

/// A CDN server value (`https://cdn.example.com`, `//cdn`, `.`).
pub fn server(value: &Value) -> Result<(), String> {
    let v: String = typed(value)?;
    crate::site::placeholder::resolve_server(&v)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A placeholder token.
pub fn prefix(value: &Value) -> Result<(), String> {
    crate::site::placeholder::check_prefix(&typed::<String>(value)?).map_err(|e| e.to_string())
}

/// A list of globs.
pub fn globs(value: &Value) -> Result<(), String> {
    for g in typed::<Vec<String>>(value)? {
        globset::Glob::new(&g).map_err(|e| format!("{g:?}: {e}"))?;
    }
    Ok(())
}

/// A regular expression.
pub fn regex(value: &Value) -> Result<(), String> {
    regex::Regex::new(&typed::<String>(value)?)
        .map(|_| ())
        .map_err(|e| format!("not a valid regex: {e}"))
}

/// A compression ratio bound: above 0, at most 1.
pub fn ratio(value: &Value) -> Result<(), String> {
    let r: f64 = typed(value)?;
    if r > 0.0 && r <= 1.0 {
        Ok(())
    } else {
        Err(format!("{r} must be above 0 and at most 1"))
    }
}

/// A list of targets.
pub fn targets(value: &Value) -> Result<(), String> {
    for t in typed::<Vec<String>>(value)? {
        crate::store::target::Location::parse(&t).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A list of rollout router specs.
pub fn routers(value: &Value) -> Result<(), String> {
    for r in typed::<Vec<String>>(value)? {
        crate::cdn::routers::Spec::parse(&r)?;
    }
    Ok(())
}

/// `[[headers]]` rules.
pub fn headers(value: &Value) -> Result<(), String> {
    let rules: Vec<crate::site::headers::HeaderRule> = typed(value)?;
    crate::site::headers::HeaderRules::new(&rules)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// `[[budget]]` rules.
pub fn budget_value(value: &Value) -> Result<(), String> {
    let problems = budget(&typed::<Vec<crate::release::size::BudgetRule>>(value)?);
    match problems.is_empty() {
        true => Ok(()),
        false => Err(problems.join("; ")),
    }
}

/// A CDN provider's name.
pub fn provider(value: &Value) -> Result<(), String> {
    let p: String = typed(value)?;
    match crate::cdn::provider::ProviderKind::parse(&p) {
        Some(_) => Ok(()),
        None => Err(format!("{p:?}: use {}", crate::cdn::provider::NAMES)),
    }
}

/// CDN domains.
pub fn domains(value: &Value) -> Result<(), String> {
    crate::cdn::urls::Domains::parse(&typed::<Vec<String>>(value)?)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A duration longer than 0 ("10s", "2m").
pub fn duration(value: &Value) -> Result<(), String> {
    let text: String = typed(value)?;
    match humantime::parse_duration(&text) {
        Ok(d) if d.is_zero() => Err("must be longer than 0".into()),
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "{text:?} is not a duration (e.g. \"10s\", \"2m\"): {e}"
        )),
    }
}

/// A deploy sub-path (`mobile-vue/pass`).
pub fn base_path(value: &Value) -> Result<(), String> {
    crate::site::fingerprint::resolve::normalize_base(&typed::<String>(value)?)
        .map(|_| ())
        .map_err(|e| e.to_string())
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

/// An http(s) URL.
pub fn http_url(value: &Value) -> Result<(), String> {
    let text: String = typed(value)?;
    match url::Url::parse(&text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        Ok(_) => Err(format!("{text:?} is not an http(s) URL")),
        Err(e) => Err(format!("{text:?} is not a URL: {e}")),
    }
}
