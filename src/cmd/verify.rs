//! `cdnpub verify`: fetch the keys of a release through the public CDN URLs, exactly as a
//! browser asks for them (no cache-busting query, a browser's `Accept-Encoding`), and compare
//! what comes back with the release record: status, SHA-256 of the decoded body, Content-Type,
//! Cache-Control and Content-Encoding. Objects that differ are reported as stale (200 with other
//! bytes: an old copy at the edge), missing (404/410) or wrong (other status or headers), and
//! `--purge-stale` purges exactly those through the configured provider.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cdn::provider::{open_provider, ProviderSettings};
use crate::cdn::urls::{normalize, Domains};
use crate::cdn::{self, Action, CdnReport, JobOptions, ObjectKind};
use crate::error::{Error, Result};
use crate::release;
use crate::release::edge::{check, check_routed, sample, served_keys, url_of, Verdict};
use crate::store::target::{Endpoint, Location, Target};
use crate::store::ObjectStore;

/// `verify`'s longest wait for one request (`--request-timeout`'s default says the same).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything `verify` needs, resolved.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    /// Where the release records are.
    pub target: String,
    /// How to reach it.
    pub endpoint: Endpoint,
    /// The release (None: the live one).
    pub release: Option<String>,
    /// The public URL the target's keys are served under (`https://cdn.example.com/web`).
    pub cdn_base: String,
    /// Check only this many keys: the entry pages and what they load, then a sample.
    pub sample: Option<usize>,
    /// Requests in flight.
    pub concurrency: usize,
    /// Longest wait for one request.
    pub timeout: Duration,
    /// Purge what differs.
    pub purge_stale: bool,
    /// The provider for `--purge-stale`.
    pub settings: ProviderSettings,
    /// Purge job options.
    pub job: JobOptions,
    /// Progress on stderr.
    pub progress: bool,
    /// The public URL of the site's pages: during a rollout, the stable and the candidate
    /// release's pages are fetched through the router there.
    pub site_url: Option<String>,
}

/// One object that differs.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The key.
    pub key: String,
    /// The URL fetched.
    pub url: String,
    /// The status answered (0: no answer).
    pub status: u16,
    /// What differs.
    pub detail: String,
}

/// What verifying found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The command ("verify").
    pub command: &'static str,
    /// The release checked.
    pub release: String,
    /// The base URL.
    pub cdn_base: String,
    /// Keys fetched.
    pub checked: usize,
    /// Keys of the release (checked or not).
    pub keys: usize,
    /// Keys that matched.
    pub ok: usize,
    /// Whether Content-Type and Cache-Control were compared (not for a directory target: its
    /// headers are the web server's, cdnpub stores none).
    pub headers_compared: bool,
    /// 200 with other bytes than the release's: an old copy.
    pub stale: Vec<Finding>,
    /// 404 / 410.
    pub missing: Vec<Finding>,
    /// Another status, or headers that differ.
    pub wrong: Vec<Finding>,
    /// No answer after retries (timeouts, connection errors).
    pub errors: Vec<Finding>,
    /// What was left out, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// During a rollout, with the site's URL: each release's pages fetched through the router
    /// as a visitor of each cohort.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routed: Option<Routed>,
    /// The purge of what differs (`--purge-stale`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purge: Option<CdnReport>,
    /// Wall time.
    pub seconds: f64,
}

impl VerifyReport {
    /// Every finding.
    pub fn differing(&self) -> impl Iterator<Item = &Finding> {
        self.stale
            .iter()
            .chain(&self.missing)
            .chain(&self.wrong)
            .chain(&self.errors)
    }

    /// Exit status: anything that differs is exit 1, naming how many and what to do.
    pub fn outcome(&self) -> Result<()> {
        if let Some(r) = &self.routed {
            r.outcome()?;
        }
        let n = self.differing().count();
        if n == 0 {
            return Ok(());
        }
        let purged = self.purge.as_ref().is_some_and(|p| p.error.is_none());
        Err(Error::Failed(format!(
            "{n} of {} objects the CDN serves differ from release {} ({} stale, {} missing, {} wrong, {} unanswered){}",
            self.checked,
            self.release,
            self.stale.len(),
            self.missing.len(),
            self.wrong.len(),
            self.errors.len(),
            if purged {
                "; they were purged: run verify again once the purge is done (--wait)"
            } else {
                "; `cdnpub verify --purge-stale` purges exactly these"
            }
        )))
    }
}

/// Run a verify.
pub async fn run(cfg: &VerifyConfig) -> Result<VerifyReport> {
    let started = Instant::now();
    let loc = Location::parse(&cfg.target)?;
    let headers = !matches!(loc, Location::Dir(_));
    let target = Target::open(&loc, &cfg.endpoint).await?;
    let id = match &cfg.release {
        Some(id) => id.clone(),
        None => release::pointed(&target).await?.ok_or_else(|| {
            Error::Failed(format!(
                "{}: no release yet (no {}); publish first",
                target.describe(),
                release::LATEST_KEY
            ))
        })?,
    };
    let record = release::fetch_required(&target, &id).await?;
    // The rollout state, read once: how to ask for the stable pages, and what to route.
    let rollout = crate::release::rollout::read(&target).await?;
    let cohort = stable_cohort(rollout.as_ref(), &id);
    let all = served_keys(&record);
    let mut keys = match cfg.sample {
        Some(n) if n < all.len() => sample(&target, &record, &all, n, &cfg.cdn_base).await?,
        _ => all.clone(),
    };
    let mut notes = Vec::new();
    let cookie = match cohort {
        Cohort::Anyone => None,
        Cohort::Stable(c) => Some(c),
        Cohort::Unreachable => {
            let before = keys.len();
            keys.retain(|k| !k.ends_with(".html"));
            notes.push(format!(
                "a rollout routes every visitor to its candidate (100%): {} page(s) of the stable \
                 release were not fetched (with --site-url the candidate's pages are checked \
                 through the router)",
                before - keys.len()
            ));
            None
        }
    };
    let http = reqwest::Client::builder()
        .timeout(cfg.timeout)
        .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("cdnpub-verify/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Failed(format!("starting the HTTP client: {e}")))?;
    let progress = Arc::new(
        crate::sync::put::Progress::new(
            cfg.progress,
            &format!("verify {}", cfg.cdn_base),
            keys.len(),
        )
        .sparse(),
    );
    let sem = Arc::new(tokio::sync::Semaphore::new(cfg.concurrency.max(1)));
    let (target, record) = (Arc::new(target), Arc::new(record));
    let mut set = tokio::task::JoinSet::new();
    for key in keys.iter().cloned() {
        let (http, sem, target, record, progress, cookie) = (
            http.clone(),
            sem.clone(),
            target.clone(),
            record.clone(),
            progress.clone(),
            cookie.clone(),
        );
        let url = url_of(&cfg.cdn_base, &key);
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let object = &record.objects[&key];
            let verdict = check(
                &http,
                (&url, cookie.as_deref()),
                &key,
                object,
                &target,
                headers,
            )
            .await;
            progress.tick("got", &key);
            (key, url, verdict)
        });
    }
    let mut report = VerifyReport {
        command: "verify",
        release: id,
        cdn_base: cfg.cdn_base.clone(),
        checked: keys.len(),
        keys: all.len(),
        ok: 0,
        headers_compared: headers,
        stale: Vec::new(),
        missing: Vec::new(),
        wrong: Vec::new(),
        errors: Vec::new(),
        notes,
        routed: None,
        purge: None,
        seconds: 0.0,
    };
    while let Some(done) = set.join_next().await {
        let (key, url, verdict) =
            done.map_err(|e| Error::Failed(format!("internal error: a check failed: {e}")))?;
        let finding = |status, detail| Finding {
            key: key.clone(),
            url: url.clone(),
            status,
            detail,
        };
        match verdict {
            Verdict::Ok => report.ok += 1,
            Verdict::Stale(s, d) => report.stale.push(finding(s, d)),
            Verdict::Missing(s) => report.missing.push(finding(s, format!("answered {s}"))),
            Verdict::Wrong(s, d) => report.wrong.push(finding(s, d)),
            Verdict::Unanswered(d) => report.errors.push(finding(0, d)),
        }
    }
    for list in [
        &mut report.stale,
        &mut report.missing,
        &mut report.wrong,
        &mut report.errors,
    ] {
        list.sort_by(|a, b| a.key.cmp(&b.key));
    }
    if let Some(site) = &cfg.site_url {
        if let Some(state) = rollout {
            report.routed = through_router(&http, &target, state, site).await?;
        }
    }
    if cfg.purge_stale && report.differing().next().is_some() {
        report.purge = Some(purge(cfg, &report).await?);
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// What `publish --verify` checks: `release` on the upload's first target, every key, through
/// `server` + `url_prefix` (where the pages load the tree from), with verify's defaults.
pub fn of_publish(
    upload: &crate::cmd::upload::UploadConfig,
    server: &str,
    url_prefix: &str,
    release: Option<String>,
    cdn: (&ProviderSettings, &JobOptions),
) -> Result<VerifyConfig> {
    let target = upload
        .targets
        .first()
        .cloned()
        .ok_or_else(|| Error::Usage("verify needs a target".into()))?;
    let base = crate::store::target::cdn_base(server, Some(url_prefix), &target).ok_or_else(|| {
        Error::Usage(format!(
            "--verify fetches the release through the CDN: the server {server:?} is not an http(s) URL"
        ))
    })?;
    Ok(VerifyConfig {
        target,
        endpoint: upload.endpoint.clone(),
        release,
        cdn_base: base,
        sample: None,
        concurrency: usize::from(crate::util::DEFAULT_CONCURRENCY),
        timeout: REQUEST_TIMEOUT,
        purge_stale: false,
        settings: cdn.0.clone(),
        job: cdn.1.clone(),
        progress: upload.progress,
        site_url: None,
    })
}

/// One page fetched through a rollout's router.
#[derive(Debug, Clone, Serialize)]
pub struct RoutedPage {
    /// `stable` or `candidate`.
    pub cohort: &'static str,
    /// The release the page must come from.
    pub release: String,
    /// The page's key.
    pub key: String,
    /// The URL fetched.
    pub url: String,
    /// How the visitor asked: the cookie or the preview query sent.
    pub asked_with: String,
    /// `ok`, or what differs.
    pub verdict: String,
}

/// What fetching both releases' pages through the router found.
#[derive(Debug, Clone, Serialize)]
pub struct Routed {
    /// The stable release.
    pub stable: String,
    /// The candidate.
    pub candidate: String,
    /// Its share.
    pub percent: u8,
    /// Every page fetched.
    pub pages: Vec<RoutedPage>,
}

impl Routed {
    /// Pages the router did not serve from the release it should have.
    pub fn wrong(&self) -> impl Iterator<Item = &RoutedPage> {
        self.pages.iter().filter(|p| p.verdict != "ok")
    }

    fn outcome(&self) -> Result<()> {
        match self.wrong().next() {
            None => Ok(()),
            Some(p) => Err(Error::Failed(format!(
                "{} of {} pages fetched through the rollout router are not their release's: \
                 {} {} ({}, {}): {}; check that the router serves this target's rollout \
                 (`cdnpub rollout status`, then the router's step)",
                self.wrong().count(),
                self.pages.len(),
                p.url,
                p.asked_with,
                p.cohort,
                p.release,
                p.verdict
            ))),
        }
    }
}

/// How verify asks for the stable release's pages during a rollout.
enum Cohort {
    /// No rollout routes the release checked: as anyone.
    Anyone,
    /// As a visitor of the last bucket (stable while the share is below 100%).
    Stable(String),
    /// At 100% every visitor's page is the candidate's: the stable release's pages cannot be
    /// fetched through a router, so they are not compared (the candidate's are, with
    /// `--site-url`).
    Unreachable,
}

/// During a rollout where the release checked is the stable one, how to ask for its pages: a
/// router in front of them must not hand verify the candidate's.
fn stable_cohort(state: Option<&crate::release::rollout::Rollout>, id: &str) -> Cohort {
    match state.filter(|s| s.candidate.is_some() && s.stable == id) {
        None => Cohort::Anyone,
        Some(s) if s.percent < 100 => {
            Cohort::Stable(format!("{}=99", crate::release::rollout::BUCKET_COOKIE))
        }
        Some(_) => Cohort::Unreachable,
    }
}

/// During a rollout, fetch each page of the stable and the candidate release through the
/// router at `site` (the public URL of the pages) as a visitor of each cohort: the last bucket
/// (99) sees the stable release while the share is below 100, the first (0) the candidate once
/// it is above 0 (a preview link before). None when no rollout is in progress.
async fn through_router(
    http: &reqwest::Client,
    target: &Target,
    state: crate::release::rollout::Rollout,
    site: &str,
) -> Result<Option<Routed>> {
    use crate::release::rollout::{self, BUCKET_COOKIE};
    let (Some(candidate), Some(prefix)) = (state.candidate.clone(), state.candidate_prefix.clone())
    else {
        return Ok(None);
    };
    let mut asks = Vec::new();
    if state.percent < 100 {
        let ask = (format!("{BUCKET_COOKIE}=99"), None);
        asks.push(("stable", state.stable.clone(), String::new(), ask));
    }
    let ask = if state.percent > 0 {
        (format!("{BUCKET_COOKIE}=0"), None)
    } else {
        (String::new(), Some(candidate.clone()))
    };
    asks.push(("candidate", candidate.clone(), prefix, ask));
    let mut pages = Vec::new();
    for (cohort, id, stored_prefix, (cookie, preview)) in asks {
        let record = release::fetch_required(target, &id).await?;
        for (key, object) in record
            .objects
            .iter()
            .filter(|(k, _)| record.is_site_key(k) && k.ends_with(".html"))
        {
            let page = url_of(site, key);
            let url = match &preview {
                Some(p) => rollout::preview_url(&page, p),
                None => page,
            };
            let stored = format!("{stored_prefix}{key}");
            let cookie = (!cookie.is_empty()).then_some(cookie.as_str());
            let verdict = match check_routed(http, &url, cookie, &stored, object, target).await {
                Verdict::Ok => "ok".to_string(),
                Verdict::Stale(_, d) | Verdict::Wrong(_, d) | Verdict::Unanswered(d) => d,
                Verdict::Missing(s) => format!("answered {s}"),
            };
            pages.push(RoutedPage {
                cohort,
                release: id.clone(),
                key: key.clone(),
                url,
                asked_with: cookie
                    .map_or_else(|| "a preview link".into(), |c| format!("Cookie {c}")),
                verdict,
            });
        }
    }
    Ok(Some(Routed {
        stable: state.stable,
        candidate,
        percent: state.percent,
        pages,
    }))
}

/// Purge every URL that differs.
async fn purge(cfg: &VerifyConfig, report: &VerifyReport) -> Result<CdnReport> {
    let mut domains = cfg.settings.domains.clone();
    if domains.is_empty() {
        if let Ok(u) = url::Url::parse(&cfg.cdn_base) {
            if let Some(h) = crate::cdn::urls::host_port(&u) {
                domains.push(format!("{}://{h}", u.scheme()));
            }
        }
    }
    let domains = Domains::parse(&domains)?;
    let urls: Vec<String> = report.differing().map(|f| f.url.clone()).collect();
    let urls = normalize(&urls, &domains)?;
    let provider = open_provider(&cfg.settings, cfg.job.dry_run, None).await?;
    cdn::run(&provider, Action::Purge, ObjectKind::File, &urls, &cfg.job).await
}

/// Paths in a findings table, grouped by kind (for the text report).
pub fn table(report: &VerifyReport) -> BTreeMap<&'static str, &Vec<Finding>> {
    BTreeMap::from([
        ("stale", &report.stale),
        ("missing", &report.missing),
        ("wrong", &report.wrong),
        ("unanswered", &report.errors),
    ])
}
