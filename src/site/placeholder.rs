//! Placeholder rendering: validate the CDN server value and replace the placeholder token,
//! literally and byte-wise (no regex, no sed: `&`, `#`, `\` and `%` are plain characters).

use memchr::memmem;

/// The placeholder token the old entrypoint used when none is configured.
pub const DEFAULT_PREFIX: &str = "EGOVA_CDN";

/// The value placeholders become when the server is not an absolute http(s) URL.
pub const RELATIVE_SERVER: &str = ".";

/// A CDN server value that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// What placeholders are replaced with (scheme lower-cased, one trailing `/` trimmed).
    pub value: String,
    /// True for an `http(s)://` URL, false for the `.` fallback.
    pub absolute: bool,
    /// A warning to print when the given value was replaced by the `.` fallback.
    pub warning: Option<String>,
}

/// Why a server value or placeholder token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Characters that would break out of an HTML attribute, a JS string or a CSS url().
fn forbidden(c: char) -> Option<&'static str> {
    match c {
        '"' => Some("a double quote"),
        '\'' => Some("a single quote"),
        '`' => Some("a backtick"),
        '<' => Some("'<'"),
        '>' => Some("'>'"),
        c if c.is_whitespace() => Some("white space"),
        c if c.is_control() => Some("a control character"),
        _ => None,
    }
}

fn check_characters(what: &str, raw: &str) -> Result<(), Refused> {
    for (i, c) in raw.char_indices() {
        if let Some(name) = forbidden(c) {
            return Err(Refused(format!(
                "{what} {raw:?} contains {name} at byte {i}; it would be injected into HTML/JS as is. \
                 Give a plain URL such as https://cdn.example.com/static"
            )));
        }
    }
    Ok(())
}

/// Scheme part of `raw` (`scheme:`), lower-cased, if `raw` starts with one.
fn scheme_of(raw: &str) -> Option<String> {
    let colon = raw.find(':')?;
    let scheme = &raw[..colon];
    let valid = !scheme.is_empty()
        && scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| scheme.to_ascii_lowercase())
}

/// Validate the authority (`host[:port]`) of an http(s) URL.
fn check_authority(raw: &str, authority: &str) -> Result<(), Refused> {
    let bad = |why: String| {
        Err(Refused(format!(
            "CDN server {raw:?}: {why}; expected http(s)://host[:port][/path]"
        )))
    };
    if authority.is_empty() {
        return bad("the host is empty".into());
    }
    if authority.contains('@') {
        return bad("user names or passwords do not belong in a CDN server URL".into());
    }
    let (host_ok, port) = match authority.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((h, after)) if after.is_empty() || after.starts_with(':') => (
                !h.is_empty()
                    && h.chars()
                        .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.'),
                after.strip_prefix(':'),
            ),
            _ => (false, None),
        },
        None => {
            let (h, p) = match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            let ok = !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
            (ok, p)
        }
    };
    if !host_ok {
        return bad(format!(
            "host {authority:?} is not a valid host name or [IPv6] address"
        ));
    }
    match port {
        Some(p) if p.parse::<u16>().map_or(true, |n| n == 0) => {
            bad(format!("port {p:?} is not a number from 1 to 65535"))
        }
        _ => Ok(()),
    }
}

/// Validate a CDN server value the way docs/commands/rewrite.md documents.
///
/// `http://` and `https://` URLs (any case) are kept, scheme lower-cased and one trailing `/`
/// trimmed. `javascript:`, `data:` and `vbscript:` values and values with quotes, `<`, `>`,
/// backticks, white space or control characters are refused. Anything else (empty, relative,
/// another scheme) becomes `.` with a warning, as the old entrypoint did (it turned every value not
/// starting with `http` into `.`).
pub fn resolve_server(raw: &str) -> Result<Server, Refused> {
    check_characters("CDN server", raw)?;
    let scheme = scheme_of(raw);
    if let Some(s) = scheme.as_deref() {
        if matches!(s, "javascript" | "data" | "vbscript") {
            return Err(Refused(format!(
                "CDN server {raw:?} uses the {s}: scheme, which would run or embed content instead of loading it from a CDN; \
                 give an http(s):// URL"
            )));
        }
    }
    let is_http = matches!(scheme.as_deref(), Some("http" | "https"));
    let after_scheme = scheme
        .as_ref()
        .and_then(|s| raw.get(s.len() + 1..))
        .and_then(|r| r.strip_prefix("//"));
    match (is_http, after_scheme) {
        (true, Some(rest)) => {
            let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            check_authority(raw, &rest[..authority_end])?;
            if let Some(at) = rest.find(['?', '#']) {
                return Err(Refused(format!(
                    "CDN server {raw:?} has a {} ({:?}): every asset path would be written after it, \
                     so every asset would load the CDN's root; give the server without it \
                     (a path is fine: https://cdn.example.com/v2)",
                    if rest[at..].starts_with('?') { "query" } else { "fragment" },
                    &rest[at..]
                )));
            }
            let scheme = scheme.unwrap_or_default();
            let mut value = format!("{scheme}://{rest}");
            if value.ends_with('/') {
                value.pop();
            }
            Ok(Server {
                value,
                absolute: true,
                warning: None,
            })
        }
        _ => Ok(Server {
            value: RELATIVE_SERVER.to_string(),
            absolute: false,
            warning: fallback_warning(raw),
        }),
    }
}

fn fallback_warning(raw: &str) -> Option<String> {
    match raw {
        // Empty is the documented local environment (assets from the origin): no warning.
        RELATIVE_SERVER | "" => None,
        _ => Some(format!(
            "CDN server {raw:?} does not start with http:// or https://: placeholders become \".\" \
             (assets are served from the origin), as the old entrypoint did"
        )),
    }
}

/// Validate a placeholder token: not empty, no white space, quotes or control characters.
pub fn check_prefix(prefix: &str) -> Result<(), Refused> {
    if prefix.is_empty() {
        return Err(Refused(
            "the placeholder (CDN_PREFIX / --prefix) is empty".into(),
        ));
    }
    check_characters("placeholder", prefix)
}

/// Replaces one placeholder token with one server value.
#[derive(Debug, Clone)]
pub struct Renderer {
    finder: memmem::Finder<'static>,
    token_len: usize,
    server: Vec<u8>,
    absolute: bool,
}

/// The result of rendering one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The rendered bytes.
    pub bytes: Vec<u8>,
    /// Offsets of the replaced placeholders in the input.
    pub at: Vec<usize>,
    /// Offsets (a subset of `at`) whose URL-leading `/` was consumed (Vite's `/EGOVA_CDN/…`).
    pub slash: Vec<usize>,
}

/// True when a `/` right after this byte starts a URL: after a quote, `=`, `(`, `,` or white space.
fn starts_url(b: u8) -> bool {
    matches!(b, b'"' | b'\'' | b'`' | b'=' | b'(' | b',') || b.is_ascii_whitespace()
}

impl Renderer {
    /// A renderer for `prefix` → `server`; the prefix must have passed [`check_prefix`].
    pub fn new(prefix: &str, server: &Server) -> Self {
        Renderer {
            finder: memmem::Finder::new(prefix.as_bytes()).into_owned(),
            token_len: prefix.len(),
            server: server.value.as_bytes().to_vec(),
            absolute: server.absolute,
        }
    }

    /// The bytes placeholders become.
    pub fn server(&self) -> &[u8] {
        &self.server
    }

    /// Number of placeholders in `input`.
    pub fn count(&self, input: &[u8]) -> usize {
        self.finder.find_iter(input).count()
    }

    /// Replace every placeholder in `input`.
    ///
    /// With an absolute server, a `/` right before the token that itself starts a URL (at the
    /// start of the input, or after a quote, `=`, `(`, `,` or white space) is consumed, so Vite's
    /// `"/EGOVA_CDN/app/"` becomes `"https://cdn/app/"`, not `"/https://cdn/app/"`.
    pub fn render(&self, input: &[u8]) -> Rendered {
        let mut out = Vec::with_capacity(input.len() + 64);
        let (mut last, mut all, mut slash) = (0usize, Vec::new(), Vec::new());
        for at in self.finder.find_iter(input) {
            let consume = self.absolute
                && at > last
                && input[at - 1] == b'/'
                && (at == 1 || starts_url(input[at - 2]));
            let keep_until = if consume { at - 1 } else { at };
            out.extend_from_slice(&input[last..keep_until]);
            out.extend_from_slice(&self.server);
            last = at + self.token_len;
            all.push(at);
            if consume {
                slash.push(at);
            }
        }
        out.extend_from_slice(&input[last..]);
        Rendered {
            bytes: out,
            at: all,
            slash,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(server: &str, input: &str) -> String {
        let s = resolve_server(server).unwrap();
        let r = Renderer::new(DEFAULT_PREFIX, &s).render(input.as_bytes());
        String::from_utf8(r.bytes).unwrap()
    }

    #[test]
    fn literal_special_characters() {
        assert_eq!(
            render(
                "https://cdn.example.com/a&b\\d%20",
                "src=EGOVA_CDN/js/app.js"
            ),
            "src=https://cdn.example.com/a&b\\d%20/js/app.js"
        );
    }

    #[test]
    fn trailing_slash_trimmed_once() {
        assert_eq!(
            render("https://cdn.example.com/", "EGOVA_CDN/x"),
            "https://cdn.example.com/x"
        );
        assert_eq!(
            resolve_server("https://c.example//").unwrap().value,
            "https://c.example/"
        );
    }

    #[test]
    fn vite_leading_slash_consumed_only_for_absolute() {
        let html = r#"<script src="/EGOVA_CDN/assets/a.js"></script>"#;
        assert_eq!(
            render("https://cdn.example.com", html),
            r#"<script src="https://cdn.example.com/assets/a.js"></script>"#
        );
        assert_eq!(
            render("", html),
            r#"<script src="/./assets/a.js"></script>"#
        );
        let js = r#"return"/EGOVA_CDN/"+e"#;
        assert_eq!(
            render("https://c.example", js),
            r#"return"https://c.example/"+e"#
        );
        assert_eq!(
            render("https://c.example", "url(/EGOVA_CDN/a.png)"),
            "url(https://c.example/a.png)"
        );
        assert_eq!(
            render("https://c.example", "/EGOVA_CDN/a"),
            "https://c.example/a"
        );
        assert_eq!(
            render("https://c.example", "a.png 1x, /EGOVA_CDN/b.png 2x"),
            "a.png 1x, https://c.example/b.png 2x"
        );
    }

    #[test]
    fn slash_inside_a_path_is_kept() {
        assert_eq!(
            render("https://c.example", "https://origin/EGOVA_CDN/x"),
            "https://origin/https://c.example/x"
        );
        assert_eq!(
            render("https://c.example", "\"a/EGOVA_CDN\""),
            "\"a/https://c.example\""
        );
    }

    #[test]
    fn counts_and_adjacent_tokens() {
        let s = resolve_server("http://h").unwrap();
        let r = Renderer::new("EGOVA_CDN", &s).render(b"EGOVA_CDNEGOVA_CDN/EGOVA_CDN");
        assert_eq!(r.bytes, b"http://hhttp://h/http://h");
        assert_eq!(r.at, [0, 9, 19]);
        assert!(r.slash.is_empty());
    }

    #[test]
    fn non_utf8_bytes_survive() {
        let s = resolve_server("https://c.example").unwrap();
        let input = b"\xff\xfe EGOVA_CDN \x80\x00";
        let r = Renderer::new("EGOVA_CDN", &s).render(input);
        assert_eq!(r.bytes, b"\xff\xfe https://c.example \x80\x00");
    }

    #[test]
    fn fallback_and_warnings() {
        let s = resolve_server("ftp://x").unwrap();
        assert_eq!(s.value, ".");
        assert!(s.warning.unwrap().contains("ftp://x"));
        assert!(resolve_server(".").unwrap().warning.is_none());
        // Empty: the documented local environment, no warning.
        assert!(resolve_server("").unwrap().warning.is_none());
        assert_eq!(resolve_server("htt").unwrap().value, ".");
        let up = resolve_server("HTTPS://CDN.Example.com").unwrap();
        assert_eq!(up.value, "https://CDN.Example.com");
        assert!(up.absolute);
    }

    #[test]
    fn refused_values() {
        for bad in [
            "https://cdn.example.com\"onload=alert(1)",
            "https://a'b",
            "https://a<b",
            "https://a>b",
            "https://a`b",
            "https://a b",
            "https://a\tb",
            "https://a\nb",
            "https://a\u{7}",
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,x",
            "https://",
            "https://user:pw@host",
            "https://host:99999",
            "https://host:0",
            "https://ho%st",
            "http://[zz]",
            "https://cdn.example.com?v=1",
            "https://cdn.example.com/#v2",
        ] {
            assert!(resolve_server(bad).is_err(), "{bad:?} should be refused");
        }
        for good in ["http://10.0.0.1:8080/static", "https://[::1]:8443/x"] {
            assert!(
                resolve_server(good).unwrap().absolute,
                "{good:?} should be accepted"
            );
        }
    }

    #[test]
    fn prefix_validation() {
        assert!(check_prefix("").is_err());
        assert!(check_prefix("A B").is_err());
        assert!(check_prefix("EGOVA_CDN").is_ok());
    }
}
