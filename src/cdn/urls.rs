//! URL hygiene for purge and prefetch: inputs (URLs or paths) become absolute URLs on the
//! configured CDN domains, percent-encoded exactly once, de-duplicated in first-seen order.

use std::collections::BTreeSet;

use url::Url;

use crate::error::{Error, Result};

/// The CDN domains a job may touch, the first being where bare paths go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domains {
    hosts: Vec<String>,
    scheme: String,
}

impl Domains {
    /// Parse `--domain` values: `cdn.example.com`, `cdn.example.com:8443` or
    /// `https://cdn.example.com` (the first value's scheme is used for bare paths; https when
    /// none is given).
    pub fn parse(values: &[String]) -> Result<Self> {
        let mut hosts = Vec::new();
        let mut scheme = None;
        for v in values {
            let with_scheme = if v.contains("://") {
                v.clone()
            } else {
                format!("https://{v}")
            };
            let url = Url::parse(&with_scheme)
                .map_err(|e| Error::Usage(format!("--domain {v:?} is not a host name ({e})")))?;
            let host = host_port(&url)
                .ok_or_else(|| Error::Usage(format!("--domain {v:?} has no host name")))?;
            if !matches!(url.scheme(), "http" | "https") || url.path().len() > 1 {
                return Err(Error::Usage(format!(
                    "--domain {v:?}: give a host name (cdn.example.com), optionally with http:// or https://"
                )));
            }
            if v.contains("://") && scheme.is_none() {
                scheme = Some(url.scheme().to_string());
            }
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
        Ok(Domains {
            hosts,
            scheme: scheme.unwrap_or_else(|| "https".into()),
        })
    }

    /// The domains, first first.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// True when no domain is configured.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// True for an absolute http(s) URL on one of the domains.
    pub fn has_url(&self, s: &str) -> bool {
        Url::parse(s)
            .ok()
            .and_then(|u| host_port(&u))
            .is_some_and(|h| self.hosts.contains(&h))
    }

    /// The URL of a path on the first domain.
    pub fn url_of(&self, path: &str) -> Result<String> {
        let host = self.hosts.first().ok_or_else(|| {
            Error::Usage(format!(
                "{path:?} is a path and no CDN domain is configured: give --domain (or cdn_domains in cdnpub.toml)"
            ))
        })?;
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        let url = Url::parse(&format!("{}://{host}{path}", self.scheme))
            .map_err(|e| Error::Usage(format!("{path:?} cannot be made a URL ({e})")))?;
        Ok(clean(url))
    }
}

/// `host[:port]`, lower case.
pub fn host_port(url: &Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    })
}

/// The URL as sent: no fragment; the url crate has percent-encoded what needed it and left
/// existing `%XX` escapes alone, so nothing is encoded twice.
fn clean(mut url: Url) -> String {
    url.set_fragment(None);
    url.to_string()
}

/// Turn inputs (absolute URLs, or paths joined to the first domain) into URLs on the
/// configured domains, de-duplicated in first-seen order. URLs on other domains are refused
/// all together, each named.
pub fn normalize(inputs: &[String], domains: &Domains) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut foreign = Vec::new();
    for raw in inputs.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let url = if raw.contains("://") {
            let url = Url::parse(raw)
                .map_err(|e| Error::Usage(format!("{raw:?} is not a valid URL ({e})")))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(Error::Usage(format!(
                    "{raw:?}: only http:// and https:// URLs can be purged or prefetched"
                )));
            }
            match host_port(&url) {
                Some(h) if domains.hosts.contains(&h) => clean(url),
                _ => {
                    foreign.push(raw.to_string());
                    continue;
                }
            }
        } else {
            domains.url_of(raw)?
        };
        if seen.insert(url.clone()) {
            out.push(url);
        }
    }
    if !foreign.is_empty() {
        return Err(Error::Usage(format!(
            "{} URL(s) are not on the configured CDN domain(s) ({}): {}. Add --domain for a domain this job may touch",
            foreign.len(),
            if domains.hosts.is_empty() {
                "none".to_string()
            } else {
                domains.hosts.join(", ")
            },
            foreign.join(", ")
        )));
    }
    Ok(out)
}

/// The path (and query) of a URL, starting with `/`: what CloudFront invalidates.
pub fn path_of(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        },
        Err(_) => {
            if url.starts_with('/') {
                url.to_string()
            } else {
                format!("/{url}")
            }
        }
    }
}

/// The URL paths of stored keys: `url_prefix/key`, plus `dir/` for every `dir/index.html`
/// (the CDN caches the directory URL separately).
pub fn key_paths(keys: &[String], url_prefix: &str) -> Vec<String> {
    let base = url_prefix.trim_matches('/');
    let join = |k: &str| {
        if base.is_empty() {
            format!("/{k}")
        } else {
            format!("/{base}/{k}")
        }
    };
    let mut out = Vec::new();
    for k in keys {
        out.push(join(k));
        if k == "index.html" || k.ends_with("/index.html") {
            out.push(join(&k[..k.len() - "index.html".len()]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: &[&str]) -> Domains {
        Domains::parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn paths_join_the_first_domain_and_encode_once() {
        let dom = d(&["cdn.example.com", "static.example.com"]);
        let got = normalize(
            &[
                "js/app.js".into(),
                "/js/app.js".into(),
                "https://cdn.example.com/js/app.js#frag".into(),
                "/a b/中.js".into(),
                "/a%20b/%E4%B8%AD.js".into(),
                "HTTPS://STATIC.example.com/x?v=1".into(),
                "  ".into(),
            ],
            &dom,
        )
        .unwrap();
        assert_eq!(
            got,
            [
                "https://cdn.example.com/js/app.js",
                "https://cdn.example.com/a%20b/%E4%B8%AD.js",
                "https://static.example.com/x?v=1",
            ]
        );
        assert_eq!(
            d(&["http://cdn.local:8080"]).url_of("x").unwrap(),
            "http://cdn.local:8080/x"
        );
    }

    #[test]
    fn foreign_domains_are_refused_by_name() {
        let err = normalize(
            &[
                "https://evil.example.org/a".into(),
                "https://cdn.example.com/ok".into(),
                "http://other.test/b".into(),
            ],
            &d(&["cdn.example.com"]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("evil.example.org/a")
                && err.contains("other.test/b")
                && err.starts_with("2 URL"),
            "{err}"
        );
        assert!(normalize(&["x".into()], &d(&[])).is_err());
        assert!(Domains::parse(&["ftp://x".into()]).is_err());
        assert!(Domains::parse(&["https://cdn.example.com/path".into()]).is_err());
    }

    #[test]
    fn keys_become_paths_and_directory_urls() {
        assert_eq!(
            key_paths(
                &[
                    "index.html".into(),
                    "m/app/index.html".into(),
                    "js/a.js".into()
                ],
                "/web/"
            ),
            [
                "/web/index.html",
                "/web/",
                "/web/m/app/index.html",
                "/web/m/app/",
                "/web/js/a.js"
            ]
        );
        assert_eq!(path_of("https://cdn.example.com/a%20b?x=1"), "/a%20b?x=1");
    }
}
