//! Planning a large listing from the keys a store most likely holds (the latest release's), so
//! its pages can be fetched at once instead of one round trip after another.
//!
//! Two shapes of request, both plain S3 ListObjectsV2:
//! - a key range `(after, upto]` listed recursively, split at every page-th expected key so each
//!   range is one page when the store holds what was expected; with both bounds the request's
//!   prefix is narrowed to what they share (every key between two keys starts with it);
//! - a directory listed one level deep (delimiter `/`), for directories with at least a page of
//!   expected files directly in them and for their ancestors. The sub-directories it reports are
//!   planned the same way. Stores that keep objects as files (s3s-fs, MinIO) answer these by
//!   reading one directory, where a recursive listing walks the whole tree under the prefix.
//!
//! Whatever was expected, the queries together cover every key: a stale or empty expectation
//! costs requests, never objects. The request count stays about one per page of keys.

use std::collections::{BTreeMap, BTreeSet};

/// One ListObjectsV2 run (a first page and its continuations). Keys are relative to the store's
/// prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Every key listed starts with this (a directory ending in `/`, a narrowed range prefix, or "").
    pub prefix: String,
    /// Keys after this one (exclusive); None = from the first.
    pub after: Option<String>,
    /// Keys up to this one (inclusive); None = to the last.
    pub upto: Option<String>,
    /// One level deep (delimiter `/`): sub-directories come back as common prefixes.
    pub delimited: bool,
}

/// Walk directories only when this many pages of keys are expected: each walked level costs
/// a request of its own (and one per run of small siblings), a few percent from 10 pages on.
pub const WALK_FROM_PAGES: usize = 10;

/// Directories listed one level deep: those with at least `page` expected keys directly in
/// them, and their ancestors (so their siblings are found by the parent's listing, not by
/// recursive ranges between them). None when fewer than `WALK_FROM_PAGES` pages are expected.
pub fn walked_dirs(expected: &[String], page: usize) -> BTreeSet<String> {
    if expected.len() < WALK_FROM_PAGES * page.max(1) {
        return BTreeSet::new();
    }
    let mut direct: BTreeMap<&str, usize> = BTreeMap::new();
    for k in expected {
        *direct.entry(parent(k)).or_default() += 1;
    }
    let mut walked = BTreeSet::new();
    for (dir, _) in direct.into_iter().filter(|(_, n)| *n >= page.max(1)) {
        walked.insert(dir.to_string());
        for (i, _) in dir.match_indices('/') {
            walked.insert(dir[..=i].to_string());
        }
        walked.insert(String::new());
    }
    walked
}

/// The queries that list everything under `dir` ("" = the whole store), given the sorted
/// expected keys (all of them; those under `dir` are picked here).
pub fn queries_for(
    dir: &str,
    expected: &[String],
    walked: &BTreeSet<String>,
    page: usize,
) -> Vec<Query> {
    let under = under(expected, dir);
    if walked.contains(dir) {
        let direct: Vec<String> = under
            .iter()
            .filter(|k| !k[dir.len()..].contains('/'))
            .cloned()
            .collect();
        return page_ranges(&direct, page)
            .into_iter()
            .map(|(after, upto)| Query {
                prefix: dir.to_string(),
                after,
                upto,
                delimited: true,
            })
            .collect();
    }
    page_ranges(under, page)
        .into_iter()
        .map(|(after, upto)| {
            let prefix = match (&after, &upto) {
                (Some(a), Some(u)) if shared_prefix(a, u).starts_with(dir) => {
                    shared_prefix(a, u).to_string()
                }
                _ => dir.to_string(),
            };
            Query {
                prefix,
                after,
                upto,
                delimited: false,
            }
        })
        .collect()
}

/// The queries that list everything under the sub-directories a walked listing reported
/// (sorted, each ending in `/`). Walked ones are listed one level deep; runs of the others
/// under one parent, together expected to fit a page, share one recursive range (from just
/// before the first to just past the last), so many small directories cost one request, not
/// one each. The range also lists the parent's files between them again (dropped as
/// duplicates), never less than the directories hold.
pub fn queries_for_dirs(
    dirs: &[String],
    expected: &[String],
    walked: &BTreeSet<String>,
    page: usize,
) -> Vec<Query> {
    let mut queries = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    let mut in_run = 0;
    for dir in dirs {
        let n = under(expected, dir).len();
        let joins = run.last().is_some_and(|last| {
            parent(last.trim_end_matches('/')) == parent(dir.trim_end_matches('/'))
                && in_run + n <= page
        });
        if !joins || walked.contains(dir.as_str()) {
            queries.extend(run_queries(&run, expected, walked, page));
            run.clear();
            in_run = 0;
        }
        if walked.contains(dir.as_str()) {
            queries.extend(queries_for(dir, expected, walked, page));
        } else {
            run.push(dir);
            in_run += n;
        }
    }
    queries.extend(run_queries(&run, expected, walked, page));
    queries
}

/// One recursive range over a run of sibling directories (or a lone one's own queries).
fn run_queries(
    run: &[&str],
    expected: &[String],
    walked: &BTreeSet<String>,
    page: usize,
) -> Vec<Query> {
    match run {
        [] => Vec::new(),
        [one] => queries_for(one, expected, walked, page),
        [first, .., last] => {
            // Every key under `first` sorts after `first` without its `/`; every key under
            // `last` sorts before `last` with its `/` turned into `0` (the next byte).
            let after = first.trim_end_matches('/').to_string();
            let upto = format!("{}0", last.trim_end_matches('/'));
            vec![Query {
                prefix: shared_prefix(&after, &upto).to_string(),
                after: Some(after),
                upto: Some(upto),
                delimited: false,
            }]
        }
    }
}

/// The sorted keys that start with `dir` (they are contiguous).
fn under<'a>(sorted: &'a [String], dir: &str) -> &'a [String] {
    let start = sorted.partition_point(|k| k.as_str() < dir);
    let len = sorted[start..].partition_point(|k| k.starts_with(dir));
    &sorted[start..start + len]
}

/// The directory a key is directly in (`a/b/` for `a/b/c.js`, "" for `c.js`).
fn parent(key: &str) -> &str {
    key.rfind('/').map_or("", |i| &key[..=i])
}

/// Key ranges `(after, upto]` covering every key, split after every `page - page / 20`
/// sorted `expected` keys: the guess never names everything the store holds (release records,
/// the files older releases kept), and the 5% left free lets each range still come back in
/// one page. No split is made whose remainder would fit in the range before it.
pub fn page_ranges(expected: &[String], page: usize) -> Vec<(Option<String>, Option<String>)> {
    let page = page.max(1);
    let chunk = (page - page / 20).max(1);
    let mut ranges = Vec::with_capacity(expected.len() / chunk + 1);
    let mut after: Option<String> = None;
    for i in (chunk - 1..expected.len()).step_by(chunk) {
        if expected.len() - (i + 1) <= page - chunk {
            break;
        }
        let split = &expected[i];
        if after.as_deref().is_some_and(|a| a >= split.as_str()) {
            continue;
        }
        ranges.push((after.clone(), Some(split.clone())));
        after = Some(split.clone());
    }
    ranges.push((after, None));
    ranges
}

/// The longest common prefix of two keys, cut at a character boundary.
pub fn shared_prefix<'a>(a: &'a str, b: &str) -> &'a str {
    let n = a
        .char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((i, _), _)| i);
    let mut n = n.min(a.len());
    while !a.is_char_boundary(n) {
        n -= 1;
    }
    &a[..n]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each query as (prefix, after, upto, delimited), for comparing plans.
    fn shapes(q: &[Query]) -> Vec<(&str, Option<&str>, Option<&str>, bool)> {
        q.iter()
            .map(|q| {
                (
                    q.prefix.as_str(),
                    q.after.as_deref(),
                    q.upto.as_deref(),
                    q.delimited,
                )
            })
            .collect()
    }

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("k{i:04}")).collect()
    }

    #[test]
    fn ranges_split_at_every_page_th_key_and_cover_everything() {
        let r = page_ranges(&keys(2500), 1000);
        let bounds: Vec<(Option<&str>, Option<&str>)> = r
            .iter()
            .map(|(a, u)| (a.as_deref(), u.as_deref()))
            .collect();
        assert_eq!(
            bounds,
            [
                (None, Some("k0949")),
                (Some("k0949"), Some("k1899")),
                (Some("k1899"), None)
            ]
        );
        // 1,000 expected keys are one range; 1,001 are two (950 + 51); 50,000 are 53 of 950.
        assert_eq!(page_ranges(&keys(1000), 1000), [(None, None)]);
        assert_eq!(page_ranges(&keys(1001), 1000).len(), 2);
        let many: Vec<String> = (0..50_000).map(|i| format!("k{i:06}")).collect();
        assert_eq!(page_ranges(&many, 1000).len(), 53);
        assert_eq!(page_ranges(&[], 1000), [(None, None)]);
        // Unsorted or repeated hints never make an empty or backwards range.
        let odd = ["b", "b", "a", "c"].map(String::from);
        let r = page_ranges(&odd, 1);
        assert!(r.windows(2).all(|w| w[0].1 == w[1].0), "{r:?}");
        assert!(r.iter().all(|(a, u)| match (a, u) {
            (Some(a), Some(u)) => a < u,
            _ => true,
        }));
        assert_eq!(r.first().unwrap().0, None);
        assert_eq!(r.last().unwrap().1, None);
    }

    #[test]
    fn shared_prefix_stops_at_a_character_boundary() {
        assert_eq!(shared_prefix("assets/f10.js", "assets/f19.js"), "assets/f1");
        assert_eq!(shared_prefix("z/é", "z/ê"), "z/");
        assert_eq!(shared_prefix("ab", "abc"), "ab");
        assert_eq!(shared_prefix("", "abc"), "");
        assert_eq!(shared_prefix("x", "y"), "");
    }

    #[test]
    fn dense_directories_and_their_ancestors_are_walked() {
        let mut expected: Vec<String> = (0..40).map(|i| format!("a/b/f{i:02}")).collect();
        expected.extend(["a/x", "c/d/e", "root.html"].map(String::from));
        expected.sort();
        let walked = walked_dirs(&expected, 4);
        assert_eq!(
            walked,
            BTreeSet::from(["".into(), "a/".into(), "a/b/".into()])
        );
        // Fewer than 10 pages expected (43 keys, pages of 5): nothing is walked.
        assert!(walked_dirs(&expected, 5).is_empty());
        // Enough pages but no directory holds one: nothing is walked either.
        assert!(walked_dirs(&expected, 41).is_empty() && walked_dirs(&expected, 2).len() == 3);
        let q = queries_for("", &expected, &BTreeSet::new(), 50);
        assert_eq!(
            q,
            [Query {
                prefix: String::new(),
                after: None,
                upto: None,
                delimited: false
            }]
        );
    }

    #[test]
    fn a_walked_directory_is_split_at_its_own_files() {
        let mut expected: Vec<String> = (0..5).map(|i| format!("d/f{i}")).collect();
        expected.extend(["d/sub/x", "d/sub/y", "e"].map(String::from));
        expected.sort();
        let walked = BTreeSet::from(["".to_string(), "d/".to_string()]);
        let q = queries_for("d/", &expected, &walked, 3);
        let bounds = shapes(&q);
        assert_eq!(
            bounds,
            [
                ("d/", None, Some("d/f2"), true),
                ("d/", Some("d/f2"), None, true)
            ]
        );
        // A directory not walked is listed in narrowed recursive ranges.
        let q = queries_for("d/sub/", &expected, &walked, 1);
        let bounds = shapes(&q);
        assert_eq!(
            bounds,
            [
                ("d/sub/", None, Some("d/sub/x"), false),
                ("d/sub/", Some("d/sub/x"), None, false)
            ]
        );
    }

    #[test]
    fn small_sibling_directories_share_one_range() {
        let mut expected: Vec<String> = (0..4).map(|i| format!("big/f{i}")).collect();
        expected.extend(["a/1", "a/2", "b/c/3", "c/4", "c/5", "zz/6"].map(String::from));
        expected.sort();
        let walked = BTreeSet::from(["".to_string(), "big/".to_string()]);
        let dirs: Vec<String> = ["a/", "b/", "big/", "c/", "zz/"].map(String::from).to_vec();
        let q = queries_for_dirs(&dirs, &expected, &walked, 4);
        let got = shapes(&q);
        assert_eq!(
            got,
            [
                // a/ and b/ (3 keys) share a range; big/ (walked) breaks the run; c/ and zz/
                // (3 keys) share another.
                ("", Some("a"), Some("b0"), false),
                ("big/", None, None, true),
                ("", Some("c"), Some("zz0"), false),
            ]
        );
        // Every key under a run's directories lies inside its range.
        for k in [
            "a/1",
            "a/2",
            "b/c/3",
            "b/~",
            "c/4",
            "zz/6",
            "zz/\u{10ffff}x",
        ] {
            let inside = q.iter().filter(|q| !q.delimited).any(|q| {
                q.after.as_deref().is_none_or(|a| k > a) && q.upto.as_deref().is_none_or(|u| k <= u)
            });
            assert!(inside, "{k}");
        }
    }
}
