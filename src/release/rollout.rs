//! A progressive rollout of a staged release: which release is stable, which is the candidate,
//! the share of visitors on the candidate, the tag rules that send a marked request to the
//! candidate whatever the share, and the history of each step. One small object beside the
//! release records (`_cdnpub/rollout.json`), written in one PUT (a store's PUT is atomic, a
//! directory target's write is a rename), read by the routers cdnpub generates.
//!
//! Cohorts are sticky: a visitor's bucket (0-99) is drawn once and kept in a cookie; buckets
//! below the percentage see the candidate. Raising the share only adds buckets, so no visitor
//! leaves the candidate while it rises; lowering it or aborting moves buckets back.

use serde::{Deserialize, Serialize};

use super::{record_meta, Release};
use crate::error::{Error, Result};
use crate::store::target::Target;
use crate::store::ObjectStore;

/// Where the rollout state lives on a target.
pub const ROLLOUT_KEY: &str = "_cdnpub/rollout.json";
/// The cookie holding a visitor's bucket (0-99), set once by the router.
pub const BUCKET_COOKIE: &str = "cdnpub_bucket";
/// The query parameter (and cookie) that pins a visitor to a kept release: a preview.
pub const PREVIEW_PARAM: &str = "cdnpub-release";

/// A request mark that routes to the candidate whatever the percentage (full-link grayscale:
/// the gateway marks a request gray, every layer honours the mark).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// `header` or `cookie`.
    pub kind: TagKind,
    /// Header name (lower case) or cookie name.
    pub name: String,
    /// The value that marks a request.
    pub value: String,
}

/// Where a tag is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagKind {
    /// A request header.
    Header,
    /// A cookie.
    Cookie,
}

impl Tag {
    /// `header:x-gray=1` or `cookie:gray=1`; the error says the form.
    pub fn parse(raw: &str) -> std::result::Result<Tag, String> {
        let form = "use header:NAME=VALUE or cookie:NAME=VALUE (e.g. header:x-gray=1)";
        let (kind, rest) = raw
            .split_once(':')
            .ok_or_else(|| format!("tag {raw:?}: {form}"))?;
        let kind = match kind.trim().to_ascii_lowercase().as_str() {
            "header" => TagKind::Header,
            "cookie" => TagKind::Cookie,
            other => {
                return Err(format!(
                    "tag {raw:?}: {other:?} is not header or cookie; {form}"
                ))
            }
        };
        let (name, value) = rest
            .split_once('=')
            .ok_or_else(|| format!("tag {raw:?}: {form}"))?;
        let token = |s: &str, extra: &[u8]| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
        };
        // What every router can name: nginx reads `$http_x_gray` for `x-gray` (and drops
        // headers with `_`), `$cookie_NAME` ends at the first character outside [A-Za-z0-9_].
        let name_ok = match kind {
            TagKind::Header => token(name, b"-"),
            TagKind::Cookie => token(name, b"_"),
        };
        if !name_ok || !token(value, b"-_.") {
            return Err(format!(
                "tag {raw:?}: a header name is letters, digits and -, a cookie name letters, digits \
                 and _, a value letters, digits and - _ . (they go into router code)"
            ));
        }
        let name = match kind {
            TagKind::Header => name.to_ascii_lowercase(),
            TagKind::Cookie => name.to_string(),
        };
        Ok(Tag {
            kind,
            name,
            value: value.to_string(),
        })
    }
}

/// One step of a rollout, as the history keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// `start`, `set`, `promote` or `abort`.
    pub action: String,
    /// The percentage after the step.
    pub percent: u8,
}

/// The rollout state of a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    /// Format version.
    pub version: u32,
    /// The live release (what everyone else sees).
    pub stable: String,
    /// The staged release being rolled out (None: no rollout in progress).
    pub candidate: Option<String>,
    /// The candidate's pages' key prefix (`releases/<id>/`).
    pub candidate_prefix: Option<String>,
    /// Share of buckets (0-100) on the candidate.
    pub percent: u8,
    /// Marks that route to the candidate whatever the share.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// When the current step was taken.
    pub since: String,
    /// Every step of this rollout.
    #[serde(default)]
    pub history: Vec<Step>,
}

/// Which release a request sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The stable release.
    Stable,
    /// The candidate.
    Candidate,
}

impl Rollout {
    /// A rollout of `candidate` (a staged release) over `stable` at `percent`.
    pub fn start(stable: &str, candidate: &Release, percent: u8, tags: Vec<Tag>) -> Result<Self> {
        check_percent(percent)?;
        let prefix = candidate.stage.clone().ok_or_else(|| {
            Error::Usage(format!(
                "release {} is live, not staged: publish the candidate with `cdnpub publish --stage`",
                candidate.id
            ))
        })?;
        if candidate.id == stable {
            return Err(Error::Usage(format!(
                "release {stable} is already the stable release"
            )));
        }
        let at = now();
        Ok(Rollout {
            version: 1,
            stable: stable.to_string(),
            candidate: Some(candidate.id.clone()),
            candidate_prefix: Some(prefix),
            percent,
            tags,
            since: at.clone(),
            history: vec![Step {
                at,
                action: "start".into(),
                percent,
            }],
        })
    }

    /// No rollout: everyone on `stable` (what routers are deployed with before the first one).
    pub fn idle(stable: &str) -> Self {
        Rollout {
            version: 1,
            stable: stable.to_string(),
            candidate: None,
            candidate_prefix: None,
            percent: 0,
            tags: Vec::new(),
            since: now(),
            history: Vec::new(),
        }
    }

    /// Move the share to `percent`.
    pub fn set(&mut self, percent: u8) -> Result<()> {
        check_percent(percent)?;
        self.require_candidate("set")?;
        self.step("set", percent);
        Ok(())
    }

    /// Everyone back on the stable release; the candidate stays staged (and kept).
    pub fn abort(&mut self) -> Result<()> {
        self.require_candidate("abort")?;
        self.step("abort", 0);
        self.candidate = None;
        self.candidate_prefix = None;
        self.tags.clear();
        Ok(())
    }

    /// The candidate is live (its pages written at the root, as `rollback <id>` does): it is the
    /// stable release now, at 100%, and the rollout is over.
    pub fn promoted(&mut self, new_stable: &str) -> Result<()> {
        self.require_candidate("promote")?;
        self.step("promote", 100);
        self.stable = new_stable.to_string();
        self.candidate = None;
        self.candidate_prefix = None;
        self.tags.clear();
        Ok(())
    }

    /// The release a request sees: a tagged request, and a bucket below the share, see the
    /// candidate.
    pub fn route(&self, bucket: u8, tagged: bool) -> Route {
        match &self.candidate {
            Some(_) if tagged || bucket < self.percent => Route::Candidate,
            _ => Route::Stable,
        }
    }

    fn require_candidate(&self, what: &str) -> Result<()> {
        match self.candidate {
            Some(_) => Ok(()),
            None => Err(Error::Usage(format!(
                "no rollout in progress to {what}: start one with `cdnpub rollout start <release> --percent 10`"
            ))),
        }
    }

    fn step(&mut self, action: &str, percent: u8) {
        let at = now();
        self.percent = percent;
        self.since = at.clone();
        self.history.push(Step {
            at,
            action: action.into(),
            percent,
        });
    }

    /// What router code is written from, checked as if typed again: release ids, the candidate's
    /// prefix (`releases/<candidate>/`) and every tag rule (the file lives in a bucket others may
    /// write).
    pub fn check(&self) -> std::result::Result<(), String> {
        let id = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !id(&self.stable) || self.candidate.as_deref().is_some_and(|c| !id(c)) {
            return Err("a release id that is not one".into());
        }
        let want = self.candidate.as_deref().map(super::stage_prefix);
        if self.candidate_prefix != want {
            return Err("candidate_prefix is not releases/<candidate>/".into());
        }
        for t in &self.tags {
            let kind = match t.kind {
                TagKind::Header => "header",
                TagKind::Cookie => "cookie",
            };
            Tag::parse(&format!("{kind}:{}={}", t.name, t.value))?;
        }
        if self.percent > 100 {
            return Err(format!("a share of {}%", self.percent));
        }
        Ok(())
    }

    /// The bytes stored.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}

fn check_percent(percent: u8) -> Result<()> {
    if percent > 100 {
        return Err(Error::Usage(format!(
            "--percent {percent}: a share is 0 to 100"
        )));
    }
    Ok(())
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The URL that shows release `id` to whoever opens it: `site` (the public URL of the pages)
/// with `cdnpub-release=<id>` added to its query.
pub fn preview_url(site: &str, id: &str) -> String {
    let (base, fragment) = site.split_once('#').unwrap_or((site, ""));
    let sep = if base.contains('?') { '&' } else { '?' };
    let frag = if fragment.is_empty() {
        String::new()
    } else {
        format!("#{fragment}")
    };
    format!("{base}{sep}{PREVIEW_PARAM}={id}{frag}")
}

/// The target's rollout state, if it has one (a damaged one is an error naming the key).
pub async fn read(target: &Target) -> Result<Option<Rollout>> {
    let Some(bytes) = target.get(ROLLOUT_KEY).await? else {
        return Ok(None);
    };
    let state: Rollout = serde_json::from_slice(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|s: Rollout| s.check().map(|()| s))
        .map_err(|e| {
            Error::Failed(format!(
                "{}: {ROLLOUT_KEY} is damaged ({e}): no router code is written from it; restore \
                 it from the bucket's versions, or delete it and `cdnpub rollout start` again",
                target.describe()
            ))
        })?;
    Ok(Some(state))
}

/// Store `state` in one PUT.
pub async fn write(target: &Target, state: &Rollout) -> Result<()> {
    target
        .put(ROLLOUT_KEY, state.to_bytes(), &record_meta())
        .await
}

/// A live release `id` published during a rollout (a hotfix) becomes its stable release: the
/// visitors outside the candidate's share see it. Nothing to do without a rollout in progress.
pub async fn follow_live(target: &Target, id: &str) -> Result<()> {
    match read(target).await? {
        Some(mut r) if r.candidate.is_some() && r.stable != id => {
            r.stable = id.to_string();
            write(target, &r).await
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged(id: &str) -> Release {
        let (_, created) = super::super::new_id("00");
        let mut r = Release::new(
            (id.to_string(), created),
            Default::default(),
            Vec::new(),
            Vec::new(),
        );
        r.stage = Some(super::super::stage_prefix(id));
        r
    }

    #[test]
    fn tags_parse_and_refuse_what_cannot_go_into_router_code() {
        assert_eq!(
            Tag::parse("header:X-Gray=1").unwrap(),
            Tag {
                kind: TagKind::Header,
                name: "x-gray".into(),
                value: "1".into()
            }
        );
        assert_eq!(Tag::parse("cookie:gray=on").unwrap().kind, TagKind::Cookie);
        for bad in [
            "x-gray=1",
            "query:a=1",
            "header:x-gray",
            "header:x gray=1",
            "cookie:a=\"1\"",
        ] {
            assert!(Tag::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rising_shares_only_add_buckets_and_abort_returns_everyone() {
        let mut r = Rollout::start("r1", &staged("r2"), 10, vec![]).unwrap();
        let on = |r: &Rollout| -> Vec<u8> {
            (0..100)
                .filter(|&b| r.route(b, false) == Route::Candidate)
                .collect()
        };
        let mut before = on(&r);
        assert_eq!(before.len(), 10);
        for p in [50, 90, 100] {
            r.set(p).unwrap();
            let now = on(&r);
            assert!(
                before.iter().all(|b| now.contains(b)),
                "no bucket leaves at {p}"
            );
            assert_eq!(now.len(), usize::from(p));
            before = now;
        }
        assert_eq!(r.route(99, false), Route::Candidate);
        r.set(0).unwrap();
        assert_eq!(r.route(0, true), Route::Candidate, "a tagged request");
        r.abort().unwrap();
        assert!(on(&r).is_empty() && r.route(0, true) == Route::Stable);
        let actions: Vec<&str> = r.history.iter().map(|s| s.action.as_str()).collect();
        assert_eq!(actions, ["start", "set", "set", "set", "set", "abort"]);
        assert!(r.set(10).is_err(), "nothing to set after an abort");
    }

    #[test]
    fn preview_urls_add_the_release_to_the_query() {
        assert_eq!(
            preview_url("https://www.example.com/mobile-vue/pass/", "r2"),
            "https://www.example.com/mobile-vue/pass/?cdnpub-release=r2"
        );
        assert_eq!(
            preview_url("https://a.example/app/?lang=en#/home", "r2"),
            "https://a.example/app/?lang=en&cdnpub-release=r2#/home"
        );
    }

    #[test]
    fn only_a_staged_release_other_than_the_stable_one_is_a_candidate() {
        let mut live = staged("r2");
        live.stage = None;
        assert!(Rollout::start("r1", &live, 10, vec![]).is_err());
        assert!(Rollout::start("r2", &staged("r2"), 10, vec![]).is_err());
        assert!(Rollout::start("r1", &staged("r2"), 101, vec![]).is_err());
        let r = Rollout::start("r1", &staged("r2"), 10, vec![]).unwrap();
        let back: Rollout = serde_json::from_slice(&r.to_bytes()).unwrap();
        assert_eq!(back, r);
        assert_eq!(r.candidate_prefix.as_deref(), Some("releases/r2/"));
    }
}
