//! Per-glob header rules from cdnpub.toml (`[[headers]]`): override the Cache-Control and
//! Content-Type cdnpub would otherwise send for matching keys.

use globset::GlobMatcher;
use serde::Deserialize;

use crate::error::{Error, Result};

/// One `[[headers]]` entry of cdnpub.toml.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderRule {
    /// Glob on the key (the fingerprinted name) or on the file's name before the build.
    pub glob: String,
    /// Cache-Control for matching keys.
    pub cache_control: Option<String>,
    /// Content-Type for matching keys.
    pub content_type: Option<String>,
}

/// Compiled header rules, in file order.
#[derive(Debug, Clone, Default)]
pub struct HeaderRules {
    rules: Vec<(GlobMatcher, HeaderRule)>,
}

/// Headers of one object, before and after the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headers {
    /// Content-Type.
    pub content_type: String,
    /// Cache-Control.
    pub cache_control: String,
}

impl HeaderRules {
    /// Compile rules; a bad glob or a value that could not be a header is a usage error naming it.
    pub fn new(rules: &[HeaderRule]) -> Result<Self> {
        let mut out = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let at = || format!("[[headers]] #{} (glob {:?})", i + 1, r.glob);
            let glob = globset::GlobBuilder::new(&r.glob)
                .literal_separator(true)
                .build()
                .map_err(|e| Error::Usage(format!("{}: {e}", at())))?;
            for (name, v) in [
                ("cache_control", &r.cache_control),
                ("content_type", &r.content_type),
            ] {
                if let Some(v) = v {
                    if v.trim().is_empty() || v.chars().any(|c| c.is_control() || !c.is_ascii()) {
                        return Err(Error::Usage(format!(
                            "{}: {name} = {v:?} is not a valid header value (printable ASCII, not empty)",
                            at()
                        )));
                    }
                }
            }
            if r.cache_control.is_none() && r.content_type.is_none() {
                return Err(Error::Usage(format!(
                    "{}: sets neither cache_control nor content_type",
                    at()
                )));
            }
            out.push((glob.compile_matcher(), r.clone()));
        }
        Ok(HeaderRules { rules: out })
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Apply the rules to an object known by `names` (its key, then its pre-build path): for
    /// each header, the first matching rule that sets it wins.
    pub fn apply(&self, names: &[&str], mut h: Headers) -> Headers {
        let (mut ct, mut cc) = (false, false);
        for (m, r) in &self.rules {
            if !names.iter().any(|n| m.is_match(n)) {
                continue;
            }
            if let (false, Some(v)) = (ct, &r.content_type) {
                h.content_type = v.clone();
                ct = true;
            }
            if let (false, Some(v)) = (cc, &r.cache_control) {
                h.cache_control = v.clone();
                cc = true;
            }
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(glob: &str, cc: Option<&str>, ct: Option<&str>) -> HeaderRule {
        HeaderRule {
            glob: glob.into(),
            cache_control: cc.map(Into::into),
            content_type: ct.map(Into::into),
        }
    }

    #[test]
    fn first_matching_rule_wins_per_header() {
        let rules = HeaderRules::new(&[
            rule("fonts/**", Some("public, max-age=86400"), None),
            rule("**/*.woff2", Some("private"), Some("font/woff2")),
            rule("*.json", Some("no-store"), None),
        ])
        .unwrap();
        let base = Headers {
            content_type: "application/octet-stream".into(),
            cache_control: "no-cache".into(),
        };
        let h = rules.apply(&["fonts/a.1234567890.woff2", "fonts/a.woff2"], base.clone());
        assert_eq!(h.cache_control, "public, max-age=86400");
        assert_eq!(h.content_type, "font/woff2");
        // `*` does not cross directories.
        assert_eq!(rules.apply(&["api/x.json"], base.clone()), base);
        assert_eq!(rules.apply(&["x.json"], base).cache_control, "no-store");
    }

    #[test]
    fn bad_rules_are_named() {
        for (r, want) in [
            (rule("a/[", Some("x"), None), "#1"),
            (
                rule("*.js", Some("max-age=1\r\nX: y"), None),
                "cache_control",
            ),
            (rule("*.js", None, None), "neither"),
        ] {
            let err = HeaderRules::new(&[r]).unwrap_err().to_string();
            assert!(err.contains(want) && err.contains("[[headers]]"), "{err}");
        }
    }
}
