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
pub mod appconfig;
mod bluegreen;
mod flyctl;
mod flytoml;
mod lease;
mod plan;
mod restore;
mod rollout;

use super::*;
use crate::config::{FlyConfig, FlyStrategy};
use crate::secret::Secret;
use api::{Api, Machine};
use rollout::{plan_waves, Rollout, Snapshot, Updated};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub const API_URL_ENV: &str = "STAGE_GATE_FLY_API_URL";

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
    pub fn standard() -> Tuning {
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
    ctx: Ctx,
    tuning: Tuning,
}

/// What a deploy works with, once config, fly.toml and request are combined.
#[derive(Debug)]
struct Settings {
    app: String,
    image: Option<String>,
    env: BTreeMap<String, String>,
    fly_toml: Option<PathBuf>,
    base: String,
}

impl FlyProvider {
    pub fn new(config: FlyConfig, ctx: &Ctx) -> Result<Self, ProviderError> {
        let tuning = if ctx.env.get("STAGE_GATE_FAST_RETRIES") == Some("1") {
            Tuning::fast()
        } else {
            Tuning::standard()
        };
        Ok(FlyProvider {
            config,
            ctx: ctx.clone(),
            tuning,
        })
    }

    pub fn with_tuning(mut self, tuning: Tuning) -> Self {
        self.tuning = tuning;
        self
    }

    fn settings(&self, requested_image: Option<&str>) -> Result<Settings, ProviderError> {
        let toml = match &self.config.config {
            Some(p) => flytoml::read(&self.ctx.path(p), p)?,
            None => flytoml::FlyToml::default(),
        };
        let app = self.config.app.clone().or(toml.app).ok_or_else(|| {
            ProviderError::Config(
                "no Fly app name: set `fly.app` in the stage-gate config or `app` in the \
                 environment's fly.toml (`fly.config`)"
                    .into(),
            )
        })?;
        let image = requested_image
            .map(str::to_string)
            .or_else(|| self.config.image.clone())
            .or(toml.image);
        let base = self
            .ctx
            .env
            .get(API_URL_ENV)
            .unwrap_or(&self.config.api_url)
            .to_string();
        Ok(Settings {
            app,
            image,
            env: toml.env,
            fly_toml: self.config.config.clone(),
            base,
        })
    }

    fn token(&self) -> Result<Secret, ProviderError> {
        self.ctx
            .secret(Some("fly-api-token"), &self.config.token_env)
            .ok_or_else(|| {
                ProviderError::Auth(format!(
                    "no Fly token: set {} (create one with `fly tokens deploy`) or the \
                     `fly-api-token` input",
                    self.config.token_env
                ))
            })
    }

    /// The machines this deploy may touch: not destroyed, in the configured process groups.
    fn targets(&self, machines: Vec<Machine>) -> Vec<Machine> {
        machines
            .into_iter()
            .filter(|m| m.state != "destroyed" && m.state != "destroying")
            .filter(|m| {
                self.config.process_groups.is_empty()
                    || self.config.process_groups.iter().any(|g| g == m.group())
            })
            .collect()
    }

    async fn deploy_machines(
        &self,
        s: &Settings,
        image: &str,
        req: &DeployRequest,
    ) -> Result<DeployOutcome, ProviderError> {
        let started = Instant::now();
        let token = self.token()?;
        // Every call of the deploy is bounded by its deadline (retries included).
        let api = Api::new(self.ctx.http.clone(), &s.base, &s.app, &token)
            .with_cancel(&self.ctx.cancel)
            .with_lease_owner(self.ctx.github.run_url())
            .until(req.deadline);
        let all = self.targets(list_or_explain(&api).await?);
        if all.is_empty() {
            return Err(ProviderError::Config(format!(
                "app {} has no machines{} to update; create the first ones with `fly deploy` \
                 (the Machines API updates existing machines)",
                s.app,
                if self.config.process_groups.is_empty() {
                    String::new()
                } else {
                    format!(" in process groups {:?}", self.config.process_groups)
                }
            )));
        }
        // Re-running must not deploy twice: machines already on the image are left alone.
        let (current, todo): (Vec<Machine>, Vec<Machine>) = all
            .into_iter()
            .partition(|m| m.image() == image && m.state != "failed");
        let rollout = Rollout::new(
            &api,
            &self.tuning,
            &self.ctx.console,
            image,
            s.env.clone(),
            self.config.wait_timeout,
            req.deadline,
        );
        let strategy = self.config.strategy;
        let result = match strategy {
            _ if todo.is_empty() => Ok(Vec::new()),
            FlyStrategy::Bluegreen => bluegreen::deploy(&rollout, &todo).await,
            _ => {
                let waves = plan_waves(strategy, &todo, self.config.max_unavailable);
                rollout.run(&waves).await.map(|()| rollout.updated())
            }
        };
        let snapshots = rollout.snapshots();
        let updated = match result {
            Ok(u) => u,
            Err(e) if strategy == FlyStrategy::Bluegreen => return Err(e),
            // Cancelled: nothing new, not even a restore; the error says what runs where.
            Err(e @ ProviderError::Cancelled(_)) => return Err(e),
            Err(e) => return Err(self.fail_and_restore(&api, &snapshots, e, req).await),
        };
        let mut details = vec![
            (
                "strategy".to_string(),
                flyctl::strategy_name(strategy).to_string(),
            ),
            ("machines".to_string(), describe_updates(&updated)),
            (
                "duration".to_string(),
                format!("{:.1}s", started.elapsed().as_secs_f64()),
            ),
        ];
        if !current.is_empty() {
            let ids: Vec<&str> = current.iter().map(|m| m.id.as_str()).collect();
            details.push(("already-current".into(), ids.join(", ")));
        }
        Ok(DeployOutcome {
            provider_ids: updated.iter().map(|u| u.id.clone()).collect(),
            image: Some(image.to_string()),
            version: None,
            rollback_point: Some(rollback_point(&s.app, &snapshots, &todo)),
            details,
        })
    }

    /// On failure, put back every machine the deploy touched (when the target asks for it),
    /// and say per machine what happened. The restore has a budget of its own (each
    /// machine's wait timeout): the deploy's deadline may be what failed it.
    async fn fail_and_restore(
        &self,
        api: &Api,
        snapshots: &[Snapshot],
        e: ProviderError,
        req: &DeployRequest,
    ) -> ProviderError {
        if !req.target.rollback_on_failure || snapshots.is_empty() {
            return e;
        }
        self.ctx.console.warn(format!(
            "deploy failed ({e}); restoring {} machine(s)",
            snapshots.len()
        ));
        let budget = self.restore_budget(snapshots.len());
        let restore_api = api.for_cleanup(budget);
        let rollout = Rollout::new(
            &restore_api,
            &self.tuning,
            &self.ctx.console,
            "",
            BTreeMap::new(),
            self.config.wait_timeout,
            Instant::now() + budget,
        );
        let report = rollout.restore(snapshots).await;
        let images: Vec<&str> = dedup(snapshots.iter().map(|s| s.image.as_str()));
        let note = report.describe(&images);
        let (message, log_excerpt) = match e {
            ProviderError::Failed {
                message,
                log_excerpt,
                ..
            } => (message, log_excerpt),
            other => (other.to_string(), None),
        };
        ProviderError::Failed {
            message,
            rolled_back: Some(note),
            log_excerpt,
        }
    }

    /// Time a restore of `machines` may take: each machine's wait, plus a little for the
    /// calls around it. Restores run one machine at a time.
    fn restore_budget(&self, machines: usize) -> Duration {
        self.config.wait_timeout * machines.max(1) as u32 + Duration::from_secs(10)
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

    async fn deploy(&self, req: &DeployRequest) -> Result<DeployOutcome, ProviderError> {
        let s = self.settings(req.image.as_deref())?;
        match s.image.clone() {
            Some(image) => self.deploy_machines(&s, &image, req).await,
            None => {
                let token = self.token()?;
                let program = flyctl::find(&self.ctx).ok_or_else(flyctl::missing_error)?;
                let args = flyctl::args(
                    s.fly_toml.as_deref(),
                    &s.app,
                    None,
                    self.config.strategy,
                    self.config.wait_timeout,
                );
                let started = Instant::now();
                let mut outcome = flyctl::deploy(&self.ctx, &token, &program, &args).await?;
                outcome.details = vec![
                    (
                        "strategy".into(),
                        flyctl::strategy_name(self.config.strategy).into(),
                    ),
                    ("mode".into(), "flyctl".into()),
                    (
                        "duration".into(),
                        format!("{:.1}s", started.elapsed().as_secs_f64()),
                    ),
                ];
                Ok(outcome)
            }
        }
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
