//! `cdnpub rollout`: move visitors to a staged release step by step, or back at once. Each step
//! rewrites the rollout state of every target (`_cdnpub/rollout.json`, [`crate::release::rollout`]);
//! the routers cdnpub generates ([`crate::release::router`]) read it. `promote` makes the
//! candidate live as `rollback <id>` does (it composes `cmd::releases`), then ends the rollout.

use serde::Serialize;

use crate::cmd::releases::{rollback_all, RollbackReport};
use crate::error::{Error, Result};
use crate::release::rollout::{self, Rollout, Tag};
use crate::release::router::{self, Origin};
use crate::store::target::{Endpoint, Location, Target};
use crate::store::ObjectStore;

/// A step that changes (or reads) the state.
#[derive(Debug, Clone)]
pub enum Step {
    /// Start a rollout of a staged release.
    Start {
        /// The staged release.
        id: String,
        /// The first share.
        percent: u8,
        /// Tag rules.
        tags: Vec<Tag>,
    },
    /// Move the share.
    Set(u8),
    /// Everyone back on the stable release.
    Abort,
    /// Read only.
    Status,
}

impl Step {
    fn name(&self) -> &'static str {
        match self {
            Step::Start { .. } => "start",
            Step::Set(_) => "set",
            Step::Abort => "abort",
            Step::Status => "status",
        }
    }
}

/// The state of one target after the step.
#[derive(Debug, Clone, Serialize)]
pub struct RolloutTarget {
    /// The target.
    pub target: String,
    /// The state (None: no rollout was ever started here).
    pub state: Option<Rollout>,
}

/// What `cdnpub rollout` did.
#[derive(Debug, Clone, Serialize)]
pub struct RolloutReport {
    /// The command ("rollout").
    pub command: &'static str,
    /// The step.
    pub action: &'static str,
    /// Nothing was written.
    pub dry_run: bool,
    /// Per target.
    pub targets: Vec<RolloutTarget>,
    /// Targets that failed, with the error.
    pub failed: Vec<(String, String)>,
    /// `promote`: the rollback that made the candidate live.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promote: Option<RollbackReport>,
    /// `nginx`: the files written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub written: Vec<String>,
}

impl RolloutReport {
    fn new(action: &'static str, dry_run: bool) -> Self {
        RolloutReport {
            command: "rollout",
            action,
            dry_run,
            targets: Vec::new(),
            failed: Vec::new(),
            promote: None,
            written: Vec::new(),
        }
    }

    /// Exit status: a failed target is exit 1 (naming it), the promote's own outcome.
    pub fn outcome(&self) -> Result<()> {
        if let Some(p) = &self.promote {
            p.outcome()?;
        }
        match self.failed.first() {
            Some((t, e)) => Err(Error::Failed(format!(
                "rollout {} failed on {} of {} target(s): {t}: {e}",
                self.action,
                self.failed.len(),
                self.failed.len() + self.targets.len()
            ))),
            None => Ok(()),
        }
    }
}

/// Open every target (all parsed before any is touched).
async fn open_all(targets: &[String], endpoint: &Endpoint) -> Result<Vec<Target>> {
    let locations = targets
        .iter()
        .map(|raw| Location::parse(raw))
        .collect::<Result<Vec<_>>>()?;
    let mut out = Vec::new();
    for loc in &locations {
        out.push(Target::open(loc, endpoint).await?);
    }
    Ok(out)
}

/// Take `step` on every target.
pub async fn step_all(
    targets: &[String],
    endpoint: &Endpoint,
    step: &Step,
    dry_run: bool,
) -> Result<RolloutReport> {
    let mut report = RolloutReport::new(step.name(), dry_run);
    for target in open_all(targets, endpoint).await? {
        match step_one(&target, step, dry_run).await {
            Ok(state) => report.targets.push(RolloutTarget {
                target: target.describe(),
                state,
            }),
            Err(e @ Error::Usage(_)) if targets.len() == 1 => return Err(e),
            Err(e) => report.failed.push((target.describe(), e.to_string())),
        }
    }
    Ok(report)
}

async fn step_one(target: &Target, step: &Step, dry_run: bool) -> Result<Option<Rollout>> {
    let current = rollout::read(target).await?;
    let next = match (step, current) {
        (Step::Status, current) => return Ok(current),
        (Step::Start { id, percent, tags }, current) => {
            if let Some(c) = current.as_ref().and_then(|c| c.candidate.clone()) {
                return Err(Error::Usage(format!(
                    "{}: a rollout of {c} is in progress: `rollout set`, `promote` or `abort` it first",
                    target.describe()
                )));
            }
            let stable = crate::release::pointed(target).await?.ok_or_else(|| {
                Error::Usage(format!(
                    "{}: no live release to roll out from: publish one first",
                    target.describe()
                ))
            })?;
            let candidate = crate::release::fetch_required(target, id).await?;
            let mut next = Rollout::start(&stable, &candidate, *percent, tags.clone())?;
            if let Some(old) = current {
                let mut history = old.history;
                history.append(&mut next.history);
                next.history = history;
            }
            next
        }
        (_, None) => {
            return Err(Error::Usage(format!(
                "{}: no rollout here: start one with `cdnpub rollout start <release> --percent 10`",
                target.describe()
            )))
        }
        (Step::Set(p), Some(mut s)) => {
            s.set(*p)?;
            s
        }
        (Step::Abort, Some(mut s)) => {
            s.abort()?;
            s
        }
    };
    if !dry_run {
        rollout::write(target, &next).await?;
    }
    Ok(Some(next))
}

/// `promote`: the candidate (the same on every target) made live as `rollback <id>` does, its
/// pages purged, and the rollout ended with the new live release as the stable one.
pub async fn promote_all(
    targets: &[String],
    endpoint: &Endpoint,
    cdn: &crate::cdn::provider::ProviderSettings,
    job: &crate::cdn::JobOptions,
    purge: bool,
) -> Result<RolloutReport> {
    let opened = open_all(targets, endpoint).await?;
    let mut states = Vec::new();
    for t in &opened {
        let s = rollout::read(t).await?.filter(|s| s.candidate.is_some());
        states.push(s.ok_or_else(|| {
            Error::Usage(format!(
                "{}: no rollout in progress to promote",
                t.describe()
            ))
        })?);
    }
    let candidate = states[0].candidate.clone().unwrap_or_default();
    if let Some(other) = states
        .iter()
        .find(|s| s.candidate.as_deref() != Some(&candidate))
    {
        return Err(Error::Usage(format!(
            "the targets roll out different releases ({candidate} and {}): promote them one --to at a time",
            other.candidate.clone().unwrap_or_default()
        )));
    }
    let mut report = RolloutReport::new("promote", job.dry_run);
    let rolled = rollback_all(targets, endpoint, Some(&candidate), cdn, job, purge).await?;
    for ((t, mut state), done) in opened.iter().zip(states).zip(&rolled.targets) {
        let live = done.release.clone().unwrap_or_else(|| candidate.clone());
        state.promoted(&live)?;
        if !job.dry_run {
            rollout::write(t, &state).await?;
        }
        report.targets.push(RolloutTarget {
            target: t.describe(),
            state: Some(state),
        });
    }
    report.promote = Some(rolled);
    Ok(report)
}

/// A router to write for a rollout.
#[derive(Debug, Clone)]
pub enum Router {
    /// nginx includes (http and server block), for pages under `base` served from `origin`.
    Nginx {
        /// Where nginx finds the pages.
        origin: Origin,
        /// The URL path the pages are served under.
        base: String,
    },
    /// CloudFront Functions reading KeyValueStore `kvs_id`, and the store's value.
    Cloudfront {
        /// The KeyValueStore's id.
        kvs_id: String,
        /// The URL path the pages are served under.
        base: String,
    },
    /// A Cloudflare Worker reading its KV namespace, and the namespace's value.
    Cloudflare {
        /// The URL path the pages are served under.
        base: String,
    },
}

impl Router {
    fn name(&self) -> &'static str {
        match self {
            Router::Nginx { .. } => "nginx",
            Router::Cloudfront { .. } => "cloudfront",
            Router::Cloudflare { .. } => "cloudflare",
        }
    }

    /// The files of this router for `state`, by name. The edge routers read the state from a
    /// key-value store (deployed once; a step writes the value); nginx carries it in its includes.
    fn files(&self, state: &Rollout) -> Vec<(&'static str, String)> {
        match self {
            Router::Nginx { origin, base } => {
                let (http, server) = router::nginx(state, origin, base);
                vec![
                    ("cdnpub-rollout-http.conf", http),
                    ("cdnpub-rollout-server.conf", server),
                ]
            }
            Router::Cloudfront { kvs_id, base } => {
                let (request, response) = router::cloudfront(base, kvs_id);
                vec![
                    ("cdnpub-rollout-request.js", request),
                    ("cdnpub-rollout-response.js", response),
                    ("cdnpub-rollout-kvs.json", router::kvs_value(state)),
                ]
            }
            Router::Cloudflare { base } => vec![
                ("cdnpub-rollout-worker.mjs", router::cloudflare_worker(base)),
                ("cdnpub-rollout-kvs.json", router::kvs_value(state)),
            ],
        }
    }
}

/// `nginx`, `cloudfront`, `cloudflare`: the router's files for the first target's current step,
/// written to `out` (each atomically; nothing with `dry_run`).
pub async fn write_router(
    targets: &[String],
    endpoint: &Endpoint,
    which: &Router,
    out: &std::path::Path,
    dry_run: bool,
) -> Result<RolloutReport> {
    let mut report = RolloutReport::new(which.name(), dry_run);
    let target = first(targets, endpoint).await?;
    let state = current(&target).await?;
    for (name, text) in which.files(&state) {
        let path = out.join(name);
        if !dry_run {
            crate::util::atomic::replace(&path, text.as_bytes(), Default::default())?;
        }
        report.written.push(path.display().to_string());
    }
    report.targets.push(RolloutTarget {
        target: target.describe(),
        state: Some(state),
    });
    Ok(report)
}

/// The first target, opened.
async fn first(targets: &[String], endpoint: &Endpoint) -> Result<Target> {
    open_all(&targets[..targets.len().min(1)], endpoint)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Usage("a router is written for a target: give --to".into()))
}

/// The rollout state of `target`; none is a usage error saying how to start one.
async fn current(target: &Target) -> Result<Rollout> {
    rollout::read(target).await?.ok_or_else(|| {
        Error::Usage(format!(
            "{}: no rollout here: start one with `cdnpub rollout start <release> --percent 10`",
            target.describe()
        ))
    })
}
