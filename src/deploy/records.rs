//! GitHub Deployments as the record of what ran where: one deployment per
//! (app, environment, commit, workflow run), statuses queued → in_progress → success |
//! failure | error, and the history the promotion gate reads.
//!
//! Environments are shared by every app of a repository (`staging`, `production`), so a
//! deployment's app is in its payload, and statuses are posted with `auto_inactive: false`:
//! GitHub's own inactivation would retire the other apps of the environment. We retire the
//! same app's older deployments ourselves.

use crate::github::{Deployment, DeploymentFilter, DeploymentStatusState, GitHub, GithubError};
use crate::github::{NewDeployment, NewDeploymentStatus};
use crate::promote::gate::Record;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How many of one app's newest deployments the gate, single-flight and rollback read.
const APP_HISTORY: usize = 30;
/// How far back an environment's deployments are searched for them (GitHub lists an
/// environment's deployments of every app together, and cannot filter by payload).
const SCAN_LIMIT: usize = 1000;

/// An app's history and how far back it was searched.
#[derive(Debug, Clone)]
pub struct Scan {
    pub entries: Vec<Entry>,
    /// Deployments of the environment read, every app's.
    pub scanned: usize,
    pub oldest: Option<DateTime<Utc>>,
}

impl Scan {
    /// "searched the 1000 newest deployments of `staging` (back to 2026-01-02)".
    pub fn searched(&self, env: &str) -> String {
        let back = self
            .oldest
            .map(|t| format!(", back to {}", t.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default();
        format!(
            "searched the {} newest deployment(s) of `{env}`{back}",
            self.scanned
        )
    }
}

/// What stage-gate stores in a deployment's payload.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Payload {
    pub app: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub sha: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub provider: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provider_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_deployment: Option<u64>,
    /// What a rollback needs (provider-specific).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_point: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Set when a closed gate was overridden: who and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_override: Option<GateOverride>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GateOverride {
    pub reason: String,
    pub actor: Option<String>,
    pub closed_because: Vec<String>,
}

/// A deployment of one app, with what its statuses say.
#[derive(Debug, Clone)]
pub struct Entry {
    pub deployment: Deployment,
    pub payload: Payload,
    pub state: Option<String>,
    pub succeeded_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// What the deploy ran, as its success status says (see [`success_description`]).
    pub ran: Option<String>,
}

impl Entry {
    pub fn record(&self) -> Record {
        Record {
            id: self.deployment.id.into_inner(),
            sha: self.payload.sha.clone(),
            created_at: self.deployment.created_at,
            image: self.payload.image.clone(),
            artifact: self.artifact(),
            version: self.payload.version.clone(),
            state: self.state.clone(),
            succeeded_at: self.succeeded_at,
            run_id: self.payload.run_id.clone(),
        }
    }

    /// The artifact this deploy ran: the reference its success status names, or a digest it
    /// names completed with the payload image's repository.
    pub fn artifact(&self) -> Option<String> {
        let ran = self.ran.as_deref()?;
        if !ran.starts_with("sha256:") {
            return Some(ran.to_string());
        }
        let image = self.payload.image.as_deref()?;
        Some(crate::artifact::ImageName::parse(image).at(ran))
    }

    pub fn is_active(&self) -> bool {
        matches!(
            self.state.as_deref(),
            Some("queued") | Some("in_progress") | Some("pending") | None
        )
    }
}

fn payload_of(d: &Deployment) -> Option<Payload> {
    let value = match d.payload.clone() {
        serde_json::Value::Null => return None,
        // GitHub returns a payload given as a string as a string.
        serde_json::Value::String(s) => serde_json::from_str(&s).ok()?,
        v => v,
    };
    serde_json::from_value(value).ok()
}

pub fn state_name(s: &DeploymentStatusState) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// The app's deployments to `env`, newest first, with their statuses.
pub async fn history(gh: &GitHub, env: &str, app: &str) -> Result<Vec<Entry>, GithubError> {
    history_scan(gh, env, app).await.map(|s| s.entries)
}

/// [`history`], with how far back it searched: pages of the environment's deployments are
/// read until the app's [`APP_HISTORY`] newest are found or [`SCAN_LIMIT`] were read, so
/// other apps deploying often to a shared environment cannot hide this one.
pub async fn history_scan(gh: &GitHub, env: &str, app: &str) -> Result<Scan, GithubError> {
    let filter = DeploymentFilter {
        environment: Some(env.to_string()),
        task: Some("deploy".into()),
        ..Default::default()
    };
    let of_app = |d: &Deployment| payload_of(d).is_some_and(|p| p.app == app);
    let deployments = gh
        .list_deployments_until(&filter, SCAN_LIMIT, |read| {
            read.iter().filter(|d| of_app(d)).count() >= APP_HISTORY
        })
        .await?;
    let scanned = deployments.len();
    let oldest = deployments.iter().map(|d| d.created_at).min();
    let mut out = Vec::new();
    for d in deployments.into_iter().filter(of_app).take(APP_HISTORY) {
        let Some(payload) = payload_of(&d) else {
            continue;
        };
        if payload.app != app {
            continue;
        }
        let statuses = gh.list_deployment_statuses(d.id.into_inner()).await?;
        let state = statuses.first().map(|s| state_name(&s.state));
        let first_success = statuses
            .iter()
            .filter(|s| state_name(&s.state) == "success")
            .min_by_key(|s| s.created_at);
        let succeeded_at = first_success.map(|s| s.created_at);
        let ran = first_success
            .and_then(|s| s.description.as_deref())
            .and_then(ran_of);
        let updated_at = statuses
            .first()
            .map(|s| s.updated_at)
            .unwrap_or(d.updated_at);
        out.push(Entry {
            deployment: d,
            payload,
            state,
            succeeded_at,
            updated_at,
            ran,
        });
    }
    out.sort_by_key(|e| std::cmp::Reverse((e.deployment.created_at, e.deployment.id.into_inner())));
    Ok(Scan {
        entries: out,
        scanned,
        oldest,
    })
}

/// Another deployment of this app to this environment still running (and not stale),
/// other than the one this run already owns.
pub fn in_flight<'a>(
    entries: &'a [Entry],
    own_run: Option<&str>,
    sha: &str,
    stale_after: Duration,
    now: DateTime<Utc>,
) -> Option<&'a Entry> {
    entries.iter().find(|e| {
        let ours =
            own_run.is_some() && e.payload.run_id.as_deref() == own_run && e.payload.sha == sha;
        let age = (now - e.updated_at).to_std().unwrap_or(Duration::ZERO);
        e.is_active() && !ours && age < stale_after
    })
}

/// The deployment this run created earlier (a re-run of the same job), if any.
pub fn own<'a>(entries: &'a [Entry], own_run: Option<&str>, sha: &str) -> Option<&'a Entry> {
    let run = own_run?;
    entries
        .iter()
        .find(|e| e.payload.run_id.as_deref() == Some(run) && e.payload.sha == sha)
}

/// The deployment a create whose answer was lost may have made: this app, this commit, this
/// run (or, without a run id, created since `since` and still without a status).
pub fn made_by<'a>(
    entries: &'a [Entry],
    payload: &Payload,
    since: DateTime<Utc>,
) -> Option<&'a Entry> {
    entries.iter().find(|e| {
        e.payload.sha == payload.sha
            && match &payload.run_id {
                Some(run) => e.payload.run_id.as_deref() == Some(run.as_str()),
                None => e.deployment.created_at >= since && e.state.is_none(),
            }
    })
}

pub async fn create(
    gh: &GitHub,
    env: &str,
    production: bool,
    payload: &Payload,
    description: String,
) -> Result<Deployment, GithubError> {
    let mut new = NewDeployment::new(payload.sha.clone(), env);
    new.production_environment = production;
    new.payload = serde_json::to_value(payload).unwrap_or_default();
    new.description = Some(description);
    gh.create_deployment(&new).await
}

/// GitHub keeps 140 characters of a status description.
const STATUS_MAX: usize = 140;
const RAN: &str = "; ran ";

/// The success status: what was deployed and the artifact that ran, which is how a later
/// promotion learns the exact bytes (a deployment's payload cannot change after creation).
/// When the whole reference does not fit, the digest alone (the payload names the image).
pub fn success_description(what: &str, artifact: Option<&str>) -> String {
    let head = format!("deployed {what}");
    let Some(a) = artifact else { return head };
    let whole = format!("{head}{RAN}{a}");
    if whole.chars().count() <= STATUS_MAX {
        return whole;
    }
    match crate::artifact::find_digest(a) {
        Some(d) => format!("{head}{RAN}{d}"),
        None => head,
    }
}

/// The artifact a success status names (see [`success_description`]).
pub fn ran_of(description: &str) -> Option<String> {
    let (_, ran) = description.rsplit_once(RAN)?;
    let ran = ran.trim();
    (!ran.is_empty() && !ran.contains(char::is_whitespace)).then(|| ran.to_string())
}

pub struct StatusUpdate<'a> {
    pub state: DeploymentStatusState,
    pub description: String,
    pub log_url: Option<&'a str>,
    pub environment_url: Option<&'a str>,
}

pub async fn set_status(gh: &GitHub, id: u64, u: StatusUpdate<'_>) -> Result<(), GithubError> {
    let mut status = NewDeploymentStatus::new(u.state);
    status.description = Some(u.description);
    status.log_url = u.log_url.map(str::to_string);
    status.environment_url = u.environment_url.map(str::to_string);
    status.auto_inactive = Some(false);
    gh.create_deployment_status(id, &status).await.map(|_| ())
}

/// Retire this app's earlier successful deployments of the environment.
pub async fn inactivate_older(
    gh: &GitHub,
    entries: &[Entry],
    keep: u64,
) -> Result<usize, GithubError> {
    let mut n = 0;
    for e in entries {
        let id = e.deployment.id.into_inner();
        if id != keep && e.state.as_deref() == Some("success") {
            let mut status = NewDeploymentStatus::new(DeploymentStatusState::Inactive);
            status.auto_inactive = Some(false);
            status.description = Some(format!("superseded by deployment {keep}"));
            gh.create_deployment_status(id, &status).await?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_success_status_names_the_artifact_within_githubs_140_characters() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let short = format!("registry.fly.io/web-staging@{digest}");
        let d = success_description("1.0.0", Some(&short));
        assert_eq!(d, format!("deployed 1.0.0; ran {short}"));
        assert_eq!(ran_of(&d).as_deref(), Some(short.as_str()));
        let long = format!("registry.fly.io/{}@{digest}", "x".repeat(63));
        let d = success_description("1.0.0", Some(&long));
        assert!(d.chars().count() <= 140, "{d}");
        assert_eq!(ran_of(&d).as_deref(), Some(digest.as_str()));
        assert_eq!(success_description("abc1234", None), "deployed abc1234");
        assert_eq!(ran_of("deployed abc1234"), None);
    }

    #[test]
    fn payload_round_trips_and_skips_empty_fields() {
        let p = Payload {
            app: "web".into(),
            sha: "abc".into(),
            provider: "fly".into(),
            ..Default::default()
        };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"app": "web", "sha": "abc", "provider": "fly"})
        );
        let back: Payload = serde_json::from_value(v).unwrap();
        assert_eq!(back, p);
    }
}
