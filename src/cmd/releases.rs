//! `cdnpub releases` (list a target's release records) and `cdnpub rollback [ID]` (make an
//! earlier, or a staged, release live again from its rollback copies).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::release::{self, fetch as fetch_release, Release};
use crate::store::target::Target;
use crate::store::ObjectStore;
use crate::sync::rollback::no_records;
pub use crate::sync::rollback::{rollback, RollbackTarget};

/// One release, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Release id.
    pub id: String,
    /// When it was made.
    pub created: String,
    /// Git commit, when known.
    pub commit: Option<String>,
    /// Objects in the release.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Keys it uploaded.
    pub changed: usize,
    /// Keys it deleted.
    pub deleted: usize,
    /// The release it rolled back to, for a rollback.
    pub rollback_of: Option<String>,
    /// The key prefix of a staged release's pages.
    pub stage: Option<String>,
    /// The live release (the latest pointer names it).
    pub live: bool,
    /// Its part in a rollout in progress: `stable`, or `candidate at N%`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<String>,
}

/// `cdnpub releases` for one target.
#[derive(Debug, Clone, Serialize)]
pub struct ReleasesReport {
    /// The command ("releases").
    pub command: &'static str,
    /// The target.
    pub target: String,
    /// The live release: the newest whose pages the target serves (else the latest pointer's).
    pub live: Option<String>,
    /// Newest first.
    pub releases: Vec<Summary>,
    /// The rollout state (`_cdnpub/rollout.json`: every step with its time), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<crate::release::rollout::Rollout>,
    /// The latest pointer disagrees with what is served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// True when the target serves `r`'s pages: every object not cached as immutable (pages,
/// kept names) is listed with the size the record says. A staged release is never live.
fn serves(r: &Release, sizes: &BTreeMap<&str, u64>) -> bool {
    r.stage.is_none()
        && r.objects
            .iter()
            .filter(|(_, o)| !o.cache_control.contains("immutable"))
            .all(|(k, o)| sizes.get(k.as_str()) == Some(&o.size))
}

/// Every release record of a target, newest first.
pub async fn list(target: &Target) -> Result<ReleasesReport> {
    let survey = release::survey(target).await?;
    let (ids, pointed) = (survey.ids(), survey.live()?);
    no_records(target, &ids)?;
    let sizes: BTreeMap<&str, u64> = survey
        .listing
        .iter()
        .map(|l| (l.key.as_str(), l.size))
        .collect();
    let mut records = Vec::new();
    for id in ids.iter().rev() {
        if let Some(r) = fetch_release(target, id).await? {
            records.push(r);
        }
    }
    // LIVE is what is served; the pointer only breaks a tie it cannot see (equal pages).
    let served = match records.iter().find(|r| Some(&r.id) == pointed.as_ref()) {
        Some(p) if serves(p, &sizes) => Some(p.id.clone()),
        _ => records
            .iter()
            .find(|r| serves(r, &sizes))
            .map(|r| r.id.clone()),
    };
    let warning = match (&pointed, &served) {
        (Some(p), Some(s)) if p != s => Some(format!(
            "{}: the latest pointer names {p}, but the target serves {s}'s pages (a run stopped \
             between the release record and the pointer; the next upload repairs the pointer)",
            target.describe()
        )),
        _ => None,
    };
    let live = served.or(pointed);
    let rollout = crate::release::rollout::read(target).await?;
    let part = |id: &str| {
        let s = rollout.as_ref().filter(|s| s.candidate.is_some())?;
        if s.candidate.as_deref() == Some(id) {
            Some(format!("candidate at {}% since {}", s.percent, s.since))
        } else {
            (s.stable == id).then(|| "stable".to_string())
        }
    };
    let mut releases = Vec::new();
    for r in records {
        let id = r.id.clone();
        releases.push(Summary {
            files: r.objects.len(),
            bytes: r.objects.values().map(|o| o.size).sum(),
            changed: r.changed.len(),
            deleted: r.deleted.len(),
            live: live.as_deref() == Some(id.as_str()),
            rollout: part(&id),
            id: r.id,
            created: r.created,
            commit: r.commit,
            rollback_of: r.rollback_of,
            stage: r.stage,
        });
    }
    Ok(ReleasesReport {
        command: "releases",
        target: target.describe(),
        live,
        releases,
        rollout,
        warning,
    })
}

/// What `cdnpub rollback` did on every target, and the purge of the restored pages.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackReport {
    /// The command ("rollback").
    pub command: &'static str,
    /// Nothing was written.
    pub dry_run: bool,
    /// Per target.
    pub targets: Vec<RollbackTarget>,
    /// Targets that failed, with the error.
    pub failed: Vec<(String, String)>,
    /// Every failure was a usage error (an unknown release id): exit 2.
    #[serde(skip)]
    pub usage_error: bool,
    /// The CDN purge of the restored pages.
    pub purge: crate::cmd::Stage<crate::cdn::CdnReport>,
}

impl RollbackReport {
    /// Exit status: any failed target or purge.
    pub fn outcome(&self) -> Result<()> {
        if !self.failed.is_empty() {
            let lines: Vec<String> = self
                .failed
                .iter()
                .map(|(t, e)| format!("  {t}: {e}"))
                .collect();
            let error = if self.usage_error {
                Error::Usage
            } else {
                Error::Failed
            };
            return Err(error(format!(
                "rollback failed on {} target(s):\n{}",
                self.failed.len(),
                lines.join("\n")
            )));
        }
        self.purge.check("purge")?;
        if let crate::cmd::Stage::Ran(r) = &self.purge {
            r.outcome()?;
        }
        Ok(())
    }
}

/// Roll back every target, then purge the restored pages' URLs (when a provider is set).
pub async fn rollback_all(
    targets: &[String],
    endpoint: &crate::store::target::Endpoint,
    id: Option<&str>,
    cdn: &crate::cdn::provider::ProviderSettings,
    job: &crate::cdn::JobOptions,
    purge: bool,
) -> Result<RollbackReport> {
    use crate::cmd::Stage;
    use crate::store::target::Location;
    let domains = crate::cdn::urls::Domains::parse(&cdn.domains)?;
    let provider = match cdn.kind {
        Some(_) if purge => {
            Some(crate::cdn::provider::open_provider(cdn, job.dry_run, None).await?)
        }
        _ => None,
    };
    let mut report = RollbackReport {
        command: "rollback",
        dry_run: job.dry_run,
        targets: Vec::new(),
        failed: Vec::new(),
        usage_error: true,
        purge: Stage::Skipped {
            skipped: "no CDN provider is set (--provider, or cdn_provider in cdnpub.toml)".into(),
        },
    };
    // Every target is parsed before any is touched; from the first change on, a failing
    // target is reported beside the ones that changed, never instead of them.
    let locations = targets
        .iter()
        .map(|raw| Location::parse(raw))
        .collect::<Result<Vec<_>>>()?;
    let first_prefix = locations.first().map(|l| l.key_prefix().to_string());
    for (raw, loc) in targets.iter().zip(&locations) {
        let target = match Target::open(loc, endpoint).await {
            Ok(t) => t,
            Err(e) => {
                report.usage_error &= matches!(e, Error::Usage(_));
                report.failed.push((raw.clone(), e.to_string()));
                continue;
            }
        };
        match rollback(&target, id, job.dry_run).await {
            Ok(t) => report.targets.push(t),
            Err(e) => {
                report.usage_error &= matches!(e, Error::Usage(_));
                report.failed.push((target.describe(), e.to_string()))
            }
        }
    }
    let restored: Vec<String> = report
        .targets
        .first()
        .map(|t| t.restored.clone())
        .unwrap_or_default();
    if !purge {
        report.purge = Stage::Skipped {
            skipped: "--no-purge".into(),
        };
    } else if let Some(p) = &provider {
        report.purge = if restored.is_empty() {
            Stage::Skipped {
                skipped: "nothing restored".into(),
            }
        } else {
            let prefix = cdn.url_prefix.clone().or(first_prefix).unwrap_or_default();
            let urls = crate::cdn::urls::normalize(
                &crate::cdn::urls::key_paths(&restored, &prefix),
                &domains,
            )?;
            Stage::from_result(
                crate::cdn::run(
                    p,
                    crate::cdn::Action::Purge,
                    crate::cdn::ObjectKind::File,
                    &urls,
                    job,
                )
                .await
                .map(Stage::Ran),
            )
        };
    }
    Ok(report)
}
