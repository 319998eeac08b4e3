//! An interpreter of the part of Alibaba Cloud CDN's EdgeScript (es2) that cdnpub's rollout rule
//! uses, written from the language's documentation (not from cdnpub's generator): `#` comments,
//! one statement per line, `if COND {` / `} else {` / `}` (no `elseif`), `name = expr`,
//! single-quoted literals, numbers, `$uri`/`$remote_addr`/`$http_x`/`$cookie_x`/`$arg_x`,
//! dictionaries `['k' = v]`, and these documented functions: `and`, `or` (short-circuit), `not`,
//! `eq`, `lt`, `mod`, `concat`, `substr` (1-based, inclusive, negative from the end),
//! `tostring`, `tonumber(s[, 16])`, `md5` (hex), `match_re`, `capture_re` (captures at 1..n),
//! `get`, `req_cookie`, `req_header`, `req_uri_arg` (false when absent), `rewrite(uri, 'break')`,
//! `add_rsp_header(k, v[, append])`, `add_rsp_cookie(k, v[, props])`. Anything else (an infix
//! operator, a double quote, an unknown function) is a panic: the rule would not run there.
#![allow(dead_code)]

use std::collections::BTreeMap;

/// A request as the rule sees it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The URI path.
    pub uri: String,
    /// Query arguments.
    pub args: BTreeMap<String, String>,
    /// Headers, names lower case.
    pub headers: BTreeMap<String, String>,
    /// Cookies.
    pub cookies: BTreeMap<String, String>,
    /// The client's address.
    pub remote_addr: String,
}

/// What the rule did.
#[derive(Debug, Clone, Default)]
pub struct Effect {
    /// The URI sent to the origin (and cached under), when rewritten with `break`.
    pub rewritten: Option<String>,
    /// Response headers added.
    pub headers: Vec<(String, String)>,
    /// Cookies set: (name, value, attributes).
    pub cookies: Vec<(String, String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
enum V {
    Undef,
    Bool(bool),
    Num(f64),
    Str(String),
    Dict(Vec<(V, V)>),
}

impl V {
    fn truthy(&self) -> bool {
        !matches!(self, V::Undef | V::Bool(false))
    }
    fn text(&self) -> String {
        match self {
            V::Str(s) => s.clone(),
            V::Num(n) if n.fract() == 0.0 => format!("{}", *n as i64),
            V::Num(n) => n.to_string(),
            V::Bool(b) => b.to_string(),
            V::Undef => String::new(),
            V::Dict(_) => panic!("a dictionary used as a string"),
        }
    }
    fn num(&self) -> f64 {
        match self {
            V::Num(n) => *n,
            V::Str(s) => s
                .parse()
                .unwrap_or_else(|_| panic!("{s:?} is not a number")),
            other => panic!("{other:?} is not a number"),
        }
    }
}

/// Run `rule` on `req`.
pub fn run(rule: &str, req: &Request) -> Effect {
    assert!(!rule.contains('"'), "EdgeScript allows no double quote");
    let lines: Vec<&str> = rule
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let mut m = Machine {
        req,
        vars: BTreeMap::new(),
        out: Effect::default(),
    };
    let mut at = 0;
    m.block(&lines, &mut at, true);
    assert_eq!(at, lines.len(), "a `}}` with no `if`");
    m.out
}

struct Machine<'a> {
    req: &'a Request,
    vars: BTreeMap<String, V>,
    out: Effect,
}

impl Machine<'_> {
    /// Run (or skip) statements from `at` up to the `}` or `} else {` closing this block.
    fn block(&mut self, lines: &[&str], at: &mut usize, live: bool) {
        while *at < lines.len() {
            let line = lines[*at];
            if line == "}" || line == "} else {" {
                return;
            }
            *at += 1;
            if let Some(cond) = line.strip_prefix("if ") {
                let cond = cond
                    .strip_suffix(" {")
                    .unwrap_or_else(|| panic!("`{{` must end the line of its if: {line}"));
                let yes = live && self.eval(&mut Lexer::new(cond)).truthy();
                self.block(lines, at, yes);
                if lines.get(*at) == Some(&"} else {") {
                    *at += 1;
                    self.block(lines, at, live && !yes);
                }
                assert_eq!(lines.get(*at), Some(&"}"), "an if without its `}}`");
                *at += 1;
                continue;
            }
            if !live {
                continue;
            }
            match split_assignment(line) {
                Some((name, expr)) => {
                    assert!(
                        name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                        "not an identifier: {name}"
                    );
                    let v = self.eval(&mut Lexer::new(expr));
                    self.vars.insert(name.to_string(), v);
                }
                None => {
                    let mut lx = Lexer::new(line);
                    self.eval(&mut lx);
                    assert!(lx.rest().is_empty(), "one statement per line: {line}");
                }
            }
        }
    }

    fn eval(&mut self, lx: &mut Lexer) -> V {
        lx.skip_ws();
        match lx.peek() {
            Some('\'') => V::Str(lx.quoted()),
            Some('[') => {
                lx.expect('[');
                let mut items = Vec::new();
                loop {
                    lx.skip_ws();
                    if lx.eat(']') {
                        return V::Dict(items);
                    }
                    let k = self.eval(lx);
                    lx.skip_ws();
                    let v = if lx.eat('=') {
                        self.eval(lx)
                    } else {
                        k.clone()
                    };
                    items.push((k, v));
                    lx.skip_ws();
                    lx.eat(',');
                }
            }
            Some('$') => {
                lx.expect('$');
                let name = lx.ident();
                self.builtin(&name)
            }
            Some(c) if c.is_ascii_digit() || c == '-' => V::Num(lx.number()),
            Some(_) => {
                let name = lx.ident();
                match name.as_str() {
                    "true" => return V::Bool(true),
                    "false" => return V::Bool(false),
                    _ => {}
                }
                lx.skip_ws();
                if !lx.eat('(') {
                    return self.vars.get(&name).cloned().unwrap_or(V::Undef);
                }
                self.call(&name, lx)
            }
            None => panic!("an expression is missing"),
        }
    }

    /// The arguments of a call, each evaluated when `lazy` asks for it.
    fn args(&mut self, lx: &mut Lexer) -> Vec<V> {
        let mut out = Vec::new();
        loop {
            lx.skip_ws();
            if lx.eat(')') {
                return out;
            }
            out.push(self.eval(lx));
            lx.skip_ws();
            if !lx.eat(',') {
                lx.skip_ws();
                lx.expect(')');
                return out;
            }
        }
    }

    /// `and`/`or` evaluate until the answer is known; the arguments after it are skipped
    /// unevaluated (their calls have no effect).
    fn short_circuit(&mut self, lx: &mut Lexer, and: bool) -> V {
        let mut result = V::Bool(and);
        let mut decided = false;
        loop {
            lx.skip_ws();
            if lx.eat(')') {
                return result;
            }
            if decided {
                lx.skip_expr();
            } else {
                let v = self.eval(lx);
                if v.truthy() != and {
                    decided = true;
                }
                result = v;
            }
            lx.skip_ws();
            if !lx.eat(',') {
                lx.skip_ws();
                lx.expect(')');
                return V::Bool(result.truthy());
            }
        }
    }

    fn builtin(&self, name: &str) -> V {
        let or_undef = |v: Option<&String>| v.map_or(V::Undef, |s| V::Str(s.clone()));
        match name {
            "uri" => V::Str(self.req.uri.clone()),
            "remote_addr" => V::Str(self.req.remote_addr.clone()),
            _ => {
                if let Some(h) = name.strip_prefix("http_") {
                    or_undef(self.req.headers.get(&h.replace('_', "-")))
                } else if let Some(c) = name.strip_prefix("cookie_") {
                    or_undef(self.req.cookies.get(c))
                } else if let Some(a) = name.strip_prefix("arg_") {
                    or_undef(self.req.args.get(a))
                } else {
                    panic!("${name} is not a built-in variable the rule may use")
                }
            }
        }
    }

    fn call(&mut self, name: &str, lx: &mut Lexer) -> V {
        match name {
            "and" => return self.short_circuit(lx, true),
            "or" => return self.short_circuit(lx, false),
            _ => {}
        }
        let a = self.args(lx);
        let arg = |i: usize| a.get(i).cloned().unwrap_or(V::Undef);
        let or_false = |v: Option<&String>| v.map_or(V::Bool(false), |s| V::Str(s.clone()));
        match name {
            "not" => V::Bool(!arg(0).truthy()),
            "eq" => V::Bool(arg(0).truthy() && arg(1).truthy() && arg(0).text() == arg(1).text()),
            "lt" => V::Bool(arg(0).num() < arg(1).num()),
            "mod" => V::Num(arg(0).num() % arg(1).num()),
            "concat" => V::Str(a.iter().map(V::text).collect()),
            "tostring" => V::Str(arg(0).text()),
            "tonumber" => {
                let radix = if a.len() > 1 { arg(1).num() as u32 } else { 10 };
                V::Num(i64::from_str_radix(&arg(0).text(), radix).expect("tonumber") as f64)
            }
            "md5" => {
                use md5::Digest;
                V::Str(hex(&md5::Md5::digest(arg(0).text().as_bytes())))
            }
            "substr" => {
                let s: Vec<char> = arg(0).text().chars().collect();
                let n = s.len() as i64;
                let at = |i: i64| if i < 0 { n + i + 1 } else { i };
                let (i, j) = (
                    at(arg(1).num() as i64).max(1),
                    at(arg(2).num() as i64).min(n),
                );
                V::Str(if i > j {
                    String::new()
                } else {
                    s[(i - 1) as usize..j as usize].iter().collect()
                })
            }
            "match_re" => {
                let s = arg(0);
                V::Bool(s.truthy() && re(&arg(1).text()).is_match(&s.text()))
            }
            "capture_re" => {
                let re = re(&arg(1).text());
                let text = arg(0).text();
                let caps = re.captures(&text);
                V::Dict(
                    caps.map(|c| {
                        (1..c.len())
                            .filter_map(|i| {
                                c.get(i)
                                    .map(|m| (V::Num(i as f64), V::Str(m.as_str().into())))
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                )
            }
            "get" => match arg(0) {
                V::Dict(items) => items
                    .into_iter()
                    .find(|(k, _)| k.text() == arg(1).text())
                    .map_or(V::Undef, |(_, v)| v),
                other => panic!("get on {other:?}"),
            },
            "req_cookie" => or_false(self.req.cookies.get(&arg(0).text())),
            "req_header" => or_false(self.req.headers.get(&arg(0).text().to_ascii_lowercase())),
            "req_uri_arg" => or_false(self.req.args.get(&arg(0).text())),
            "rewrite" => {
                assert_eq!(arg(1).text(), "break", "the rule rewrites with break");
                self.out.rewritten = Some(arg(0).text());
                V::Bool(true)
            }
            "add_rsp_header" => {
                self.out.headers.push((arg(0).text(), arg(1).text()));
                V::Bool(true)
            }
            "add_rsp_cookie" => {
                let attrs = match arg(2) {
                    V::Dict(items) => items
                        .iter()
                        .map(|(k, v)| format!("{}={}", k.text(), v.text()))
                        .collect::<Vec<_>>()
                        .join("; "),
                    _ => String::new(),
                };
                self.out.cookies.push((arg(0).text(), arg(1).text(), attrs));
                V::Bool(true)
            }
            other => panic!("{other} is not a function the interpreter knows"),
        }
    }
}

/// `pattern` compiled once per thread (a rule runs thousands of times in a test).
fn re(pattern: &str) -> regex::Regex {
    thread_local! {
        static CACHE: std::cell::RefCell<BTreeMap<String, regex::Regex>> = Default::default();
    }
    CACHE.with(|c| {
        c.borrow_mut()
            .entry(pattern.to_string())
            .or_insert_with(|| regex::Regex::new(pattern).expect("a PCRE the regex crate reads"))
            .clone()
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `name = expr` (an `=` outside quotes and brackets, not inside a call), or None.
fn split_assignment(line: &str) -> Option<(&str, &str)> {
    let (name, expr) = line.split_once(" = ")?;
    (!name.contains(['(', '\'', '['])).then_some((name.trim(), expr.trim()))
}

struct Lexer<'a> {
    s: &'a str,
    at: usize,
}

impl<'a> Lexer<'a> {
    fn new(s: &'a str) -> Self {
        Lexer { s, at: 0 }
    }
    fn rest(&self) -> &str {
        self.s[self.at..].trim()
    }
    fn peek(&self) -> Option<char> {
        self.s[self.at..].chars().next()
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: char) {
        assert!(self.eat(c), "expected {c:?} at {:?}", &self.s[self.at..]);
    }
    fn quoted(&mut self) -> String {
        self.expect('\'');
        let end = self.s[self.at..].find('\'').expect("an unclosed literal");
        let v = self.s[self.at..self.at + end].to_string();
        self.at += end + 1;
        v
    }
    fn ident(&mut self) -> String {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.at += 1;
        }
        assert!(
            self.at > start,
            "an identifier expected at {:?} (EdgeScript has no operators)",
            &self.s[start..]
        );
        self.s[start..self.at].to_string()
    }
    fn number(&mut self) -> f64 {
        let start = self.at;
        self.eat('-');
        while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
            self.at += 1;
        }
        self.s[start..self.at].parse().expect("a number")
    }
    /// Pass over one expression without evaluating it.
    fn skip_expr(&mut self) {
        let mut depth = 0i32;
        while let Some(c) = self.peek() {
            match c {
                '\'' => {
                    self.quoted();
                    continue;
                }
                '(' | '[' => depth += 1,
                ')' | ']' if depth == 0 => return,
                ')' | ']' => depth -= 1,
                ',' if depth == 0 => return,
                _ => {}
            }
            self.at += c.len_utf8();
        }
    }
}
