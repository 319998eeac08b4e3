//! ARCHITECTURE.md's layer table, held: every `crate::…` (and `super::…`, and a parent's
//! `child::…`) reference between the files of `src/` (unit tests and comments aside) goes only
//! where the table allows, and no files depend on each other in a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Which layers each top-level module may use, as ARCHITECTURE.md's table says (a module may
/// always use itself).
fn allowed(top: &str) -> &'static [&'static str] {
    const BELOW_COMMANDS: &[&str] = &[
        "sync", "release", "site", "store", "cdn", "util", "retry", "error",
    ];
    match top {
        "main" | "lib" | "cli" | "config" | "report" => &[
            "cli", "config", "report", "cmd", "sync", "release", "site", "store", "cdn", "util",
            "retry", "error",
        ],
        "cmd" => BELOW_COMMANDS,
        "sync" => &["release", "site", "store", "util", "retry", "error"],
        "release" => &["site", "store", "util", "retry", "error"],
        "store" => &["util", "retry", "error"],
        "cdn" => &["site", "util", "retry", "error"],
        "site" => &["util", "error"],
        "util" => &["error"],
        "retry" | "error" => &[],
        other => panic!("{other}: a top-level module the layer table does not know"),
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` → `a::b`; `src/a.rs` → `a`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// The code of a file without comments, string contents and its unit tests.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    let mut out = String::new();
    for line in text.lines() {
        // A re-export is a façade, not a use: `pub use child::Item` in a `mod.rs` adds no edge.
        if line.trim_start().starts_with("pub use ") {
            continue;
        }
        let line = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        // Strings hold messages and examples, not paths.
        let mut in_str = false;
        for c in line.chars() {
            if c == '"' {
                in_str = !in_str;
            } else if !in_str {
                out.push(c);
            }
        }
        out.push('\n');
    }
    out
}

/// `a::b::{c, D, e::f}` written out as `a::b::c a::b::D a::b::e::f` (one level of braces).
fn expand_groups(text: &str) -> String {
    let group =
        regex::Regex::new(r"([A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^{}]*)\}")
            .unwrap();
    group
        .replace_all(text, |c: &regex::Captures| {
            c[2].split(',')
                .map(str::trim)
                .filter(|i| !i.is_empty())
                .map(|i| {
                    let i = i.split(" as ").next().unwrap_or(i).trim();
                    if i == "self" {
                        c[1].to_string()
                    } else {
                        format!("{}::{i}", &c[1])
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .into_owned()
}

/// The longest module of `modules` that `path` starts with.
fn resolve(path: &str, modules: &BTreeSet<String>) -> Option<String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find(|m| modules.contains(m))
}

fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files: Vec<PathBuf> = walkdir::WalkDir::new(&src)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let path_re =
        regex::Regex::new(r"\b(crate|super|[a-z_][a-z0-9_]*)((?:::[a-z_][a-z0-9_]*)+)").unwrap();
    let child_item_re = regex::Regex::new(r"\b([a-z_][a-z0-9_]*)::[A-Z*]").unwrap();
    let super_item_re = regex::Regex::new(r"\bsuper::[A-Z*]").unwrap();
    let child_re =
        regex::Regex::new(r"(?m)^\s*(?:pub(?:\([a-z]+\))? )?mod ([a-z_][a-z0-9_]*);").unwrap();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let me = module_of(&src, f);
        let text = expand_groups(&code(&fs::read_to_string(f).unwrap()));
        let children: BTreeSet<String> = child_re
            .captures_iter(&text)
            .map(|c| c[1].to_string())
            .collect();
        // A child module's `super` is its parent; a `mod.rs` or top file's children are below it.
        let parent = me.rsplit_once("::").map_or("", |(p, _)| p).to_string();
        let deps = out.entry(me.clone()).or_default();
        // `super::Item`, `super::{…}`: the parent module itself.
        if !parent.is_empty() && super_item_re.is_match(&text) {
            deps.insert(parent.clone());
        }
        // `child::Item`: a child module of this one.
        for c in child_item_re.captures_iter(&text) {
            if children.contains(&c[1]) {
                let child = if me == "lib" || me == "main" {
                    c[1].to_string()
                } else {
                    format!("{me}::{}", &c[1])
                };
                if modules.contains(&child) {
                    deps.insert(child);
                }
            }
        }
        for c in path_re.captures_iter(&text) {
            let (head, rest) = (&c[1], &c[2][2..]);
            let full = match head {
                "crate" => rest.to_string(),
                "super" => {
                    if parent.is_empty() {
                        continue;
                    }
                    format!("{parent}::{rest}")
                }
                child if children.contains(child) => {
                    if me == "lib" || me == "main" {
                        format!("{child}::{rest}")
                    } else {
                        format!("{me}::{child}::{rest}")
                    }
                }
                _ => continue,
            };
            if let Some(target) = resolve(&full, &modules).filter(|t| *t != me) {
                deps.insert(target);
            }
        }
    }
    out
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap()
}

#[test]
fn every_reference_goes_where_the_layer_table_allows() {
    let mut wrong = Vec::new();
    for (from, deps) in edges() {
        for to in deps {
            if top(&from) != top(&to) && !allowed(top(&from)).contains(&top(&to)) {
                wrong.push(format!("{from} → {to}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "references the layer table (ARCHITECTURE.md) does not allow: {wrong:#?}"
    );
}

#[test]
fn no_files_depend_on_each_other_in_a_cycle() {
    let graph = edges();
    // Tarjan's strongly connected components.
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        cycles: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on.insert(v);
        let graph = s.graph;
        for w in graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                scc.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                s.cycles.push(scc);
            }
        }
    }
    let mut s = State {
        graph: &graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        cycles: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    assert!(
        s.cycles.is_empty(),
        "files that depend on each other: {:#?}",
        s.cycles
    );
}
