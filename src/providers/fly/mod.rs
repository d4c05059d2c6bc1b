//! The `fly` provider: deploys through the Fly Machines API (default when there is an image)
//! or through `flyctl deploy` (when flyctl must build one), and rolls back.
//!
//! - `api.rs` — the Machines API calls and DTOs
//! - `lease.rs` — lease guards (always released)
//! - `rollout.rs` — rolling / canary / immediate in-place updates, snapshots and restore
//! - `bluegreen.rs` — green machines next to blue ones, then the swap
//! - `flyctl.rs` — flyctl mode
//! - `flytoml.rs` — app, image and env from the environment's fly.toml
//! - `plan.rs` — the calls a deploy would make (`--dry-run`)
//! - `restore.rs` — `stage-gate rollback`: what each machine goes back to
//!
//! Settings precedence: the deploy request's image > `fly.image` > fly.toml `[build] image`;
//! `fly.app` > fly.toml `app`; API base URL: env `STAGE_GATE_FLY_API_URL` > `fly.api-url`;
//! token: the `fly-api-token` input > the env var named by `fly.token-env` (FLY_API_TOKEN).

mod api;
mod apps;
mod bluegreen;
pub(crate) mod config;
mod create;
mod deploy;
mod desired;
mod flyctl;
mod flytoml;
mod groups;
mod lease;
mod plan;
mod preview;
mod release_command;
mod restore;
mod rollout;

use super::*;
use crate::appconfig;
use crate::artifact::ImageName;
use crate::config::{FlyConfig, FlyStrategy};
use crate::secret::Secret;
use api::{Api, Machine};
use rollout::{Snapshot, Updated};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub(crate) const API_URL_ENV: &str = "STAGE_GATE_FLY_API_URL";

pub(crate) const REGISTERED: super::registry::Registered = super::registry::Registered {
    key: "fly",
    default_secret_envs: &["FLY_API_TOKEN"],
    secret_envs,
    build,
    ships,
    configured: |t| t.fly.is_some(),
    resolve: |v, at, t| {
        let raw = t.fly.as_ref()?;
        Some(crate::config::ProviderConfig::Fly(config::resolve(
            v, at, raw,
        )))
    },
    owns: |p| matches!(p, crate::config::ProviderConfig::Fly(_)),
};

fn secret_envs(p: &ProviderConfig) -> Vec<String> {
    match p {
        ProviderConfig::Fly(c) => std::iter::once(c.token_env.clone())
            .chain(c.secrets.iter().cloned())
            .collect(),
        _ => Vec::new(),
    }
}

/// Timing knobs. `fast` (under `STAGE_GATE_FAST_RETRIES=1`, as the HTTP client) keeps tests
/// quick without changing behaviour.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Seconds a lease lasts; refreshed at half that while held.
    pub lease_ttl: u64,
    /// Attempts to acquire a lease held by someone else before giving up.
    pub lease_attempts: u32,
    pub lease_retry: Duration,
    /// Pause between polls of a machine's checks.
    pub poll: Duration,
    /// Exits since the update that make a restart loop.
    pub restart_exits: usize,
}

impl Tuning {
    pub(crate) fn standard() -> Tuning {
        Tuning {
            lease_ttl: 30,
            lease_attempts: 6,
            lease_retry: Duration::from_secs(1),
            poll: Duration::from_secs(1),
            restart_exits: 2,
        }
    }
    pub fn fast() -> Tuning {
        Tuning {
            lease_attempts: 3,
            lease_retry: Duration::from_millis(10),
            poll: Duration::from_millis(20),
            ..Tuning::standard()
        }
    }
}

pub struct FlyProvider {
    config: FlyConfig,
    deps: Deps,
    tuning: Tuning,
}

/// What a deploy works with, once config, fly.toml and request are combined.
#[derive(Debug)]
struct Settings {
    app: String,
    image: Option<String>,
    /// The environment's fly.toml, when `fly.config` names one.
    toml: Option<Arc<appconfig::AppConfig>>,
    fly_toml: Option<PathBuf>,
    base: String,
    /// The stage-gate config's, else fly.toml `[deploy]`'s.
    strategy: FlyStrategy,
    max_unavailable: f64,
    wait_timeout: Duration,
}

impl FlyProvider {
    pub fn new(config: FlyConfig, deps: &Deps) -> Result<Self, ProviderError> {
        let tuning = if deps.env.get("STAGE_GATE_FAST_RETRIES") == Some("1") {
            Tuning::fast()
        } else {
            Tuning::standard()
        };
        Ok(FlyProvider {
            config,
            deps: deps.clone(),
            tuning,
        })
    }

    pub fn with_tuning(mut self, tuning: Tuning) -> Self {
        self.tuning = tuning;
        self
    }

    fn settings(&self, requested_image: Option<&str>) -> Result<Settings, ProviderError> {
        let toml = match &self.config.config {
            Some(p) => Some(flytoml::read(&self.deps.path(p), p)?),
            None => None,
        };
        let shown = self.config.config.clone().unwrap_or_default();
        let (strategy, max_unavailable, wait_timeout) =
            flytoml::deploy_defaults(&self.config, toml.as_ref(), &shown)?;
        let app = self
            .config
            .app
            .clone()
            .or_else(|| toml.as_ref().and_then(|t| t.app.clone()))
            .ok_or_else(|| {
                ProviderError::Config(
                    "no Fly app name: set `fly.app` in the stage-gate config or `app` in the \
                 environment's fly.toml (`fly.config`)"
                        .into(),
                )
            })?;
        let image = requested_image
            .map(str::to_string)
            .or_else(|| self.config.image.clone())
            .or_else(|| toml.as_ref().and_then(|t| t.build.as_ref()?.image.clone()));
        let base = self
            .deps
            .env
            .get(API_URL_ENV)
            .unwrap_or(&self.config.api_url)
            .to_string();
        Ok(Settings {
            app,
            image,
            toml: toml.map(Arc::new),
            fly_toml: self.config.config.clone(),
            base,
            strategy,
            max_unavailable,
            wait_timeout,
        })
    }

    fn token(&self) -> Result<Secret, ProviderError> {
        self.deps
            .secret(Some("fly-api-token"), &self.config.token_env)
            .ok_or_else(|| {
                ProviderError::MissingCredential(format!(
                    "no Fly token: set {} (create one with `fly tokens deploy`) or the \
                     `fly-api-token` input",
                    self.config.token_env
                ))
            })
    }
}

fn dedup<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// `m1 (iad) 01A → 01B; m2 (ams) …`
fn describe_updates(updated: &[Updated]) -> String {
    if updated.is_empty() {
        return "none (all machines already run this image)".into();
    }
    let mut sorted = updated.to_vec();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    sorted
        .iter()
        .map(|u| {
            format!(
                "{} ({}) {} → {}",
                u.id, u.region, u.old_version, u.new_version
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What `rollback` needs: per-machine versions (in-place strategies) and the image the app ran
/// before — the only thing left after bluegreen, whose blue machines are destroyed.
fn rollback_point(app: &str, snapshots: &[Snapshot], before: &[Machine]) -> serde_json::Value {
    let image = snapshots
        .first()
        .map(|s| s.image.clone())
        .or_else(|| before.first().map(|m| m.image().to_string()));
    json!({
        "app": app,
        "image": image,
        "machines": snapshots,
    })
}

#[async_trait]
impl Provider for FlyProvider {
    fn kind(&self) -> &'static str {
        "fly"
    }

    fn planned_calls(&self, req: &DeployRequest) -> Vec<String> {
        self.plan_calls(req)
    }

    fn preflight(&self, req: &DeployRequest) -> Result<(), ProviderError> {
        self.token()?;
        let s = self.settings(req.image.as_deref())?;
        if s.image.is_none() && flyctl::find(&self.deps.env).is_none() {
            return Err(flyctl::missing_error());
        }
        Ok(())
    }

    fn needs_artifact(&self) -> bool {
        true
    }

    fn previews(&self) -> Option<&dyn super::preview::Previews> {
        Some(self)
    }

    fn rollback_caveat(&self) -> Option<&'static str> {
        Some("Fly secrets are not rolled back: `fly secrets` changed since that release stay as they are")
    }

    async fn deploy(&self, req: &DeployRequest) -> Result<DeployOutcome, ProviderError> {
        let s = self.settings(req.image.as_deref())?;
        match s.image.clone() {
            Some(image) => self.deploy_machines(&s, &image, req).await,
            None => {
                let token = self.token()?;
                let program = flyctl::find(&self.deps.env).ok_or_else(flyctl::missing_error)?;
                let args = flyctl::args(
                    s.fly_toml.as_deref(),
                    &s.app,
                    None,
                    s.strategy,
                    s.wait_timeout,
                );
                let started = Instant::now();
                let mut outcome = flyctl::deploy(&self.deps, &token, &program, &args).await?;
                outcome.details = vec![
                    ("strategy".into(), s.strategy.name().into()),
                    ("mode".into(), "flyctl".into()),
                    (
                        "duration".into(),
                        format!("{:.1}s", started.elapsed().as_secs_f64()),
                    ),
                ];
                // What flyctl built is known by its digest only from the machines it updated.
                let built = outcome.image.take();
                if let Some(tag) = built.as_deref().and_then(|b| ImageName::parse(b).tag) {
                    outcome.details.push(("tag".into(), tag));
                }
                let api = Api::new(self.deps.http.clone(), &s.base, &s.app, &token)
                    .with_cancel(&self.deps.cancel)
                    .until(req.deadline);
                let machines = self.targets(list_or_explain(&api).await?);
                outcome.image = match deploy::running_artifact(&machines) {
                    Ok(ran) => ran.or(built),
                    Err(split) => {
                        return Err(rollout::failed(format!(
                            "flyctl deployed {}, but the app's machines run more than one \
                             image: {split}; deploy again, or roll back with `stage-gate rollback`",
                            built.as_deref().unwrap_or("a new image")
                        )))
                    }
                };
                Ok(outcome)
            }
        }
    }

    fn planned_rollback_calls(&self, req: &RollbackRequest) -> Vec<String> {
        self.plan_rollback(req)
    }

    async fn rollback(&self, req: &RollbackRequest) -> Result<RollbackOutcome, ProviderError> {
        self.roll_back(req).await
    }
}

/// List the app's machines; a 404 means the app name is wrong (or the token cannot see it).
async fn list_or_explain(api: &Api) -> Result<Vec<Machine>, ProviderError> {
    match api.list_machines().await {
        Err(ProviderError::Http(e)) if e.status() == Some(reqwest::StatusCode::NOT_FOUND) => {
            Err(ProviderError::Config(format!(
                "Fly app `{}` was not found ({e}); check `fly.app` (or `app` in fly.toml) and \
                 that the token belongs to the app's organisation",
                api.app
            )))
        }
        other => other,
    }
}

fn build(p: &ProviderConfig, deps: &Deps) -> Result<Box<dyn Provider>, ProviderError> {
    match p {
        ProviderConfig::Fly(c) => Ok(Box::new(FlyProvider::new(c.clone(), deps)?)),
        _ => Err(super::wrong_config("fly")),
    }
}

/// What a deploy ships, in words (`plan`).
fn ships(p: &ProviderConfig) -> String {
    match p {
        ProviderConfig::Fly(f) => match &f.image {
            Some(image) => format!("{image}, pinned to its digest by the first machine"),
            None => "fly.toml's [build] image, else a new build with flyctl".into(),
        },
        _ => String::new(),
    }
}
