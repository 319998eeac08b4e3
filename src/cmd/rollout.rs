//! `cdnpub rollout`: move visitors to a staged release step by step, or back at once. Each step
//! rewrites the rollout state of every target (`_cdnpub/rollout.json`, [`crate::release::rollout`]);
//! the routers cdnpub generates ([`crate::release::router`]) read it. `promote` makes the
//! candidate live as `rollback <id>` does (it composes `cmd::releases`), then ends the rollout.

use serde::Serialize;

use crate::cdn::routers::{Call, Spec};
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
    /// The current step written to every router again (after a deploy, or a failed step).
    Apply,
}

impl Step {
    fn name(&self) -> &'static str {
        match self {
            Step::Start { .. } => "start",
            Step::Set(_) => "set",
            Step::Abort => "abort",
            Step::Status => "status",
            Step::Apply => "apply",
        }
    }

    /// True for the name of a step that changes the state.
    fn changes_named(action: &str) -> bool {
        matches!(action, "start" | "set" | "abort")
    }

    /// True when the step changes the state (and so every router).
    fn changes(&self) -> bool {
        !matches!(self, Step::Status | Step::Apply)
    }
}

/// The routers a step updates, and how long their APIs may take.
#[derive(Debug, Clone, Default)]
pub struct Routers {
    /// The routers.
    pub specs: Vec<Spec>,
    /// Connect and idle timeouts of their APIs.
    pub timeouts: crate::util::net::Timeouts,
}

/// What one router was sent.
#[derive(Debug, Clone, Serialize)]
pub struct RouterOutcome {
    /// The router (its spec).
    pub router: String,
    /// The calls made (with `--dry-run`: the writes that would be).
    pub calls: Vec<Call>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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
    /// Every router's calls.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routers: Vec<RouterOutcome>,
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
            routers: Vec::new(),
        }
    }

    /// Exit status: a failed target is exit 1 (naming it), the promote's own outcome.
    pub fn outcome(&self) -> Result<()> {
        if let Some(p) = &self.promote {
            p.outcome()?;
        }
        let failed: Vec<&RouterOutcome> =
            self.routers.iter().filter(|r| r.error.is_some()).collect();
        if let Some(r) = failed.first() {
            let written = if self.action == "promote" {
                "the candidate is live and the state says so"
            } else if Step::changes_named(self.action) {
                "the state was not changed"
            } else {
                "the state is as it was"
            };
            return Err(Error::Failed(format!(
                "rollout {}: {} of {} router(s) failed: {}: {}; {written}: fix it and run \
                 `cdnpub rollout {}` again (`rollout status` shows the state, `rollout apply` \
                 writes it to every router)",
                self.action,
                failed.len(),
                self.routers.len(),
                r.router,
                r.error.as_deref().unwrap_or_default(),
                if Step::changes_named(self.action) {
                    self.action
                } else {
                    "apply"
                },
            )));
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

/// Take `step` on every target: every next state is worked out first (a target that cannot
/// take the step stops it: nothing is written), then every router gets the first target's, then
/// the states are written (a router that failed stops the step before that: running it again
/// finishes it).
pub async fn step_all(
    targets: &[String],
    endpoint: &Endpoint,
    routers: &Routers,
    step: &Step,
    dry_run: bool,
) -> Result<RolloutReport> {
    let mut report = RolloutReport::new(step.name(), dry_run);
    let opened = open_all(targets, endpoint).await?;
    let mut next = Vec::new();
    for target in &opened {
        match next_state(target, step).await {
            Ok(state) => next.push((target, state)),
            Err(e @ Error::Usage(_)) if targets.len() == 1 => return Err(e),
            Err(e) => report.failed.push((target.describe(), e.to_string())),
        }
    }
    if report.failed.is_empty() && !matches!(step, Step::Status) {
        let states: Vec<&Rollout> = next.iter().filter_map(|(_, s)| s.as_ref()).collect();
        if let Some(first) = states.first() {
            // The routers route every target's pages: they take one step, so the targets must
            // agree on it (the candidate, the share, the tag rules).
            if !routers.specs.is_empty() {
                let routed = router::kvs_value(first);
                if let Some((t, _)) = next
                    .iter()
                    .find(|(_, s)| s.as_ref().is_some_and(|s| router::kvs_value(s) != routed))
                {
                    return Err(Error::Usage(format!(
                        "{} would route otherwise than {} (another candidate, share or tag rule): \
                         the routers take one step for all targets; bring them together with \
                         `--to` one at a time, or name the routers per profile",
                        t.describe(),
                        next[0].0.describe()
                    )));
                }
            }
            report.routers = apply_routers(routers, first, dry_run).await;
        }
    }
    let routed = report.routers.iter().all(|r| r.error.is_none());
    for (target, state) in next {
        if step.changes() && routed && report.failed.is_empty() && !dry_run {
            if let Some(s) = &state {
                rollout::write(target, s).await?;
            }
        }
        report.targets.push(RolloutTarget {
            target: target.describe(),
            state,
        });
    }
    Ok(report)
}

/// The live release of `target`; none is a usage error.
async fn live_release(target: &Target) -> Result<String> {
    crate::release::pointed(target).await?.ok_or_else(|| {
        Error::Usage(format!(
            "{}: no live release to route to: publish one first",
            target.describe()
        ))
    })
}

/// The state of `target` after `step` (nothing written).
async fn next_state(target: &Target, step: &Step) -> Result<Option<Rollout>> {
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
        // No rollout yet (a first start a router refused): the routers get the idle step.
        (Step::Apply, None) => Rollout::idle(&live_release(target).await?),
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
        (Step::Apply, Some(s)) => s,
    };
    Ok(Some(next))
}

/// Write `state` to every router, each on its own (one failing does not stop the others).
pub async fn apply_routers(
    routers: &Routers,
    state: &Rollout,
    dry_run: bool,
) -> Vec<RouterOutcome> {
    let mut out = Vec::new();
    for spec in &routers.specs {
        let done = apply_one(spec, state, routers.timeouts, dry_run).await;
        out.push(outcome_of(spec, done));
    }
    out
}

fn outcome_of(spec: &Spec, done: Result<Vec<Call>>) -> RouterOutcome {
    let (calls, error) = match done {
        Ok(calls) => (calls, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    RouterOutcome {
        router: spec.describe(),
        calls,
        error,
    }
}

/// The http include for nginx routers.
const NGINX_HTTP: &str = "cdnpub-rollout-http.conf";

/// One router brought to `state`: nginx's http include rewritten, the KeyValueStore's or
/// Workers KV's value put, the EdgeScript rule rewritten.
async fn apply_one(
    spec: &Spec,
    state: &Rollout,
    timeouts: crate::util::net::Timeouts,
    dry_run: bool,
) -> Result<Vec<Call>> {
    use crate::cdn::routers::{
        edgeone::EdgeOne, edgescript::EdgeScript, kvs::KeyValueStore, workers::Workers,
    };
    match spec {
        Spec::Nginx { dir } => {
            let path = dir.join(NGINX_HTTP);
            if !dry_run {
                crate::util::atomic::replace(
                    &path,
                    router::nginx_http(state).as_bytes(),
                    Default::default(),
                )?;
            }
            Ok(vec![Call {
                operation: "write (then `nginx -s reload`)".into(),
                method: "FILE".into(),
                url: path.display().to_string(),
                body: String::new(),
            }])
        }
        Spec::CloudFront { kvs_arn, endpoint } => {
            let kvs = KeyValueStore::connect(kvs_arn, endpoint.as_deref(), timeouts).await?;
            kvs.put(router::KVS_KEY, &router::kvs_value(state), dry_run)
                .await
        }
        Spec::Cloudflare {
            account,
            namespace,
            endpoint,
        } => {
            let kv = Workers::new(account, endpoint.as_deref(), timeouts)?;
            kv.put_value(
                namespace,
                router::KVS_KEY,
                &router::kvs_value(state),
                dry_run,
            )
            .await
        }
        Spec::EdgeOne {
            zone,
            namespace,
            endpoint,
        } => {
            let eo = EdgeOne::new(zone, endpoint.as_deref(), timeouts)?;
            eo.put_value(
                namespace,
                router::KVS_KEY,
                &router::kvs_value(state),
                dry_run,
            )
            .await
        }
        Spec::Aliyun {
            domain,
            base,
            endpoint,
        } => {
            let es = EdgeScript::new(endpoint.as_deref(), timeouts)?;
            let rule = router::edgescript(state, base);
            es.set_rule(domain, router::RULE_NAME, &rule, dry_run).await
        }
    }
}

/// How `rollout deploy` names and places the edge code.
#[derive(Debug, Clone)]
pub struct Deploy {
    /// The URL path the pages are served under.
    pub base: String,
    /// The name of the Worker, and the stem of the CloudFront Functions' names.
    pub name: String,
    /// Cloudflare: the zone whose `route` runs the Worker.
    pub zone_id: Option<String>,
    /// Cloudflare: the route pattern (`www.example.com/mobile-vue/pass/*`); EdgeOne: its host
    /// gets a trigger rule.
    pub route: Option<String>,
}

/// `deploy`: every router's code put in place (CloudFront Functions created or updated and
/// published, the Worker uploaded with its KV binding and route), then the current step (an
/// idle one, everyone on the live release, before any rollout) written to each.
pub async fn deploy_all(
    targets: &[String],
    endpoint: &Endpoint,
    routers: &Routers,
    deploy: &Deploy,
    dry_run: bool,
) -> Result<RolloutReport> {
    let mut report = RolloutReport::new("deploy", dry_run);
    if routers.specs.is_empty() {
        return Err(Error::Usage(
            "no router to deploy: give --router SPEC or rollout_routers in the profile".into(),
        ));
    }
    let target = first(targets, endpoint).await?;
    let state = match rollout::read(&target).await? {
        Some(s) => s,
        None => Rollout::idle(&live_release(&target).await?),
    };
    for spec in &routers.specs {
        let mut calls = Vec::new();
        let mut done = deploy_one(spec, deploy, routers.timeouts, dry_run, &mut calls).await;
        if done.is_ok() {
            done = apply_one(spec, &state, routers.timeouts, dry_run)
                .await
                .map(|mut c| calls.append(&mut c));
        }
        let mut outcome = outcome_of(spec, done.map(|_| Vec::new()));
        outcome.calls = calls;
        report.routers.push(outcome);
    }
    report.targets.push(RolloutTarget {
        target: target.describe(),
        state: Some(state),
    });
    Ok(report)
}

/// The code of one router put in place; its calls appended to `calls`.
async fn deploy_one(
    spec: &Spec,
    deploy: &Deploy,
    timeouts: crate::util::net::Timeouts,
    dry_run: bool,
    calls: &mut Vec<Call>,
) -> Result<()> {
    use crate::cdn::routers::kvs::{kvs_id, Function, Functions};
    use crate::cdn::routers::workers::{Script, Workers};
    match spec {
        Spec::CloudFront { kvs_arn, endpoint } => {
            let api = Functions::connect(endpoint.as_deref(), timeouts).await?;
            let (request, response) = router::cloudfront(&deploy.base, kvs_id(kvs_arn));
            let functions = [
                ("request", request, Some(kvs_arn.clone())),
                ("response", response, None),
            ];
            for (part, code, kvs_arn) in functions {
                let f = Function {
                    name: format!("{}-{part}", deploy.name),
                    code,
                    comment: format!("cdnpub rollout router, viewer {part}"),
                    kvs_arn,
                };
                calls.append(&mut api.deploy(&f, dry_run).await?);
            }
        }
        Spec::Cloudflare {
            account,
            namespace,
            endpoint,
        } => {
            let api = Workers::new(account, endpoint.as_deref(), timeouts)?;
            let script = Script {
                name: deploy.name.clone(),
                code: router::cloudflare_worker(&deploy.base),
                namespace: namespace.clone(),
            };
            calls.append(&mut api.deploy(&script, dry_run).await?);
            match (&deploy.zone_id, &deploy.route) {
                (Some(zone), Some(route)) => {
                    calls.append(&mut api.route(zone, route, &deploy.name, dry_run).await?)
                }
                (None, Some(_)) => {
                    return Err(Error::Usage(
                        "--route needs the zone: give --zone-id (or CLOUDFLARE_ZONE_ID)".into(),
                    ))
                }
                _ => {}
            }
        }
        Spec::EdgeOne {
            zone,
            namespace,
            endpoint,
        } => {
            use crate::cdn::routers::edgeone::{check_name, EdgeFunction, EdgeOne};
            check_name(&deploy.name).map_err(Error::Usage)?;
            let api = EdgeOne::new(zone, endpoint.as_deref(), timeouts)?;
            let f = EdgeFunction {
                name: deploy.name.clone(),
                code: router::edgeone_function(&deploy.base),
                namespace: namespace.clone(),
                binding: router::EDGEONE_BINDING.into(),
                host: deploy
                    .route
                    .as_deref()
                    .map(|r| r.split('/').next().unwrap_or(r).to_string()),
            };
            calls.append(&mut api.deploy(&f, dry_run).await?);
        }
        // Their step is their code: applying it deploys it.
        Spec::Nginx { .. } | Spec::Aliyun { .. } => {}
    }
    Ok(())
}

/// `promote`: the candidate (the same on every target) made live as `rollback <id>` does, its
/// pages purged, every router told (all on the live pages now), and the rollout ended with the
/// new live release as the stable one.
pub async fn promote_all(
    targets: &[String],
    endpoint: &Endpoint,
    routers: &Routers,
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
    // Each target that made the candidate live ends its rollout; one that failed keeps its
    // state (the candidate still routed by share) and fails the promote, naming it.
    let mut promoted = Vec::new();
    for (t, mut state) in opened.iter().zip(states) {
        let Some(done) = rolled.targets.iter().find(|d| d.target == t.describe()) else {
            continue;
        };
        let live = done.release.clone().unwrap_or_else(|| candidate.clone());
        state.promoted(&live)?;
        promoted.push((t, state));
    }
    // The routers are told once every target serves the candidate's pages live.
    if rolled.failed.is_empty() {
        if let Some((_, first)) = promoted.first() {
            report.routers = apply_routers(routers, first, job.dry_run).await;
        }
    }
    for (t, state) in promoted {
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
    /// A Tencent Cloud EdgeOne edge function reading its Edge KV namespace, and the value.
    EdgeOne {
        /// The URL path the pages are served under.
        base: String,
    },
    /// An Alibaba Cloud CDN EdgeScript rule carrying the step.
    Aliyun {
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
            Router::EdgeOne { .. } => "edgeone",
            Router::Aliyun { .. } => "aliyun",
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
            Router::EdgeOne { base } => vec![
                ("cdnpub-rollout-edgeone.js", router::edgeone_function(base)),
                ("cdnpub-rollout-kvs.json", router::kvs_value(state)),
            ],
            Router::Aliyun { base } => vec![("cdnpub-rollout.es", router::edgescript(state, base))],
        }
    }
}

/// `nginx`, `cloudfront`, `cloudflare`, `aliyun`: the router's files for the first target's current step,
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
