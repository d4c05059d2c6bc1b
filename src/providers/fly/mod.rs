//! The `fly` provider: deploys through the Fly Machines API (default when there is an image)
//! or through `flyctl deploy` (when flyctl must build one), and rolls back.
//!
//! - `api.rs` — the Machines API calls and DTOs
//! - `lease.rs` — lease guards (always released)
//! - `rollout.rs` — rolling / canary / immediate in-place updates, snapshots and restore
//! - `bluegreen.rs` — green machines next to blue ones, then the swap
//! - `flyctl.rs` — flyctl mode
//! - `flytoml.rs` — app, image and env from the environment's fly.toml
//!
//! Settings precedence: the deploy request's image > `fly.image` > fly.toml `[build] image`;
//! `fly.app` > fly.toml `app`; API base URL: env `STAGE_GATE_FLY_API_URL` > `fly.api-url`;
//! token: the `fly-api-token` input > the env var named by `fly.token-env` (FLY_API_TOKEN).

mod api;
mod bluegreen;
mod flyctl;
mod flytoml;
mod lease;
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
        let api = Api::new(self.ctx.http.clone(), &s.base, &s.app, &token);
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
            Err(e) => return Err(self.fail_and_restore(&rollout, &snapshots, e, req).await),
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
            rollback_point: Some(rollback_point(&s.app, &snapshots)),
            details,
        })
    }

    /// On failure, put back every machine the deploy touched (when the target asks for it).
    async fn fail_and_restore(
        &self,
        rollout: &Rollout<'_>,
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
        let (restored, problems) = rollout.restore(snapshots).await;
        let images: Vec<&str> = dedup(snapshots.iter().map(|s| s.image.as_str()));
        let mut note = if restored.is_empty() {
            "nothing to restore: no machine had changed".to_string()
        } else {
            format!(
                "restored {} machine(s) to {}: {}",
                restored.len(),
                images.join(", "),
                restored.join(", ")
            )
        };
        if !problems.is_empty() {
            note.push_str(&format!("; NOT restored: {}", problems.join("; ")));
        }
        match e {
            ProviderError::Failed {
                message,
                log_excerpt,
                ..
            } => ProviderError::Failed {
                message,
                rolled_back: Some(note),
                log_excerpt,
            },
            other => ProviderError::Failed {
                message: other.to_string(),
                rolled_back: Some(note),
                log_excerpt: None,
            },
        }
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

fn rollback_point(app: &str, snapshots: &[Snapshot]) -> serde_json::Value {
    json!({
        "app": app,
        "image": snapshots.first().map(|s| s.image.clone()),
        "machines": snapshots,
    })
}

#[async_trait]
impl Provider for FlyProvider {
    fn kind(&self) -> &'static str {
        "fly"
    }

    fn planned_calls(&self, req: &DeployRequest) -> Vec<String> {
        let s = match self.settings(req.image.as_deref()) {
            Ok(s) => s,
            Err(e) => return vec![format!("(cannot plan the fly deploy: {e})")],
        };
        let strategy = self.config.strategy;
        let Some(image) = &s.image else {
            let args = flyctl::args(
                s.fly_toml.as_deref(),
                &s.app,
                None,
                strategy,
                self.config.wait_timeout,
            );
            return vec![format!(
                "flyctl {} (FLY_API_TOKEN from {}; FLY_EMIT_RELEASE_JSON=1)",
                args.join(" "),
                self.config.token_env
            )];
        };
        let m = format!(
            "{}/v1/apps/{}/machines",
            s.base.trim_end_matches('/'),
            s.app
        );
        let mut calls = vec![format!(
            "GET {m}  (skip destroyed{})",
            groups_note(&self.config)
        )];
        match strategy {
            FlyStrategy::Bluegreen => calls.extend([
                format!("POST {m}/{{id}}/lease {{\"ttl\":{}}}  (every blue machine)", self.tuning.lease_ttl),
                format!("POST {m}  (one green per blue: config.image={image}, skip_service_registration)"),
                format!("GET {m}/{{green}}/wait?state=started,failed&version={{v}}  then GET {m}/{{green}} until checks pass"),
                format!("POST {m}/{{green}}/uncordon"),
                format!("POST {m}/{{blue}}/cordon, POST {m}/{{blue}}/stop, GET {m}/{{blue}}/wait?state=stopped, DELETE {m}/{{blue}}?force=true"),
                format!("on failure: DELETE {m}/{{green}}?force=true"),
            ]),
            _ => {
                calls.push(match strategy {
                    FlyStrategy::Rolling => format!(
                        "rolling: per process group, one machine alone, then waves of max-unavailable {}",
                        self.config.max_unavailable
                    ),
                    FlyStrategy::Canary => format!(
                        "canary: one machine, verified, then waves of max-unavailable {}",
                        self.config.max_unavailable
                    ),
                    _ => "immediate: every machine at once, no waits".to_string(),
                });
                calls.extend([
                    format!("POST {m}/{{id}}/lease {{\"ttl\":{}}}", self.tuning.lease_ttl),
                    format!("GET {m}/{{id}}  (config and version, kept for rollback)"),
                    format!("POST {m}/{{id}}  {{config (image={image}), current_version}} + fly-machine-lease-nonce"),
                ]);
                if strategy != FlyStrategy::Immediate {
                    calls.push(format!(
                        "GET {m}/{{id}}/wait?state=started,failed&version={{new}}  (until {}), then GET {m}/{{id}} until checks pass",
                        humantime::format_duration(self.config.wait_timeout)
                    ));
                }
                calls.push(format!("DELETE {m}/{{id}}/lease"));
            }
        }
        calls
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
        self.ctx.console.warn(
            "rolling back restores machine configs and images only: Fly secrets changed since \
             are NOT rolled back",
        );
        let s = self.settings(None)?;
        let token = self.token()?;
        let api = Api::new(self.ctx.http.clone(), &s.base, &s.app, &token);
        let machines = self.targets(list_or_explain(&api).await?);
        let snapshots = restore_targets(&api, &machines, req).await?;
        if snapshots.is_empty() {
            return Err(ProviderError::Failed {
                message: format!(
                    "nothing to roll back to for app {}: no earlier version found",
                    s.app
                ),
                rolled_back: None,
                log_excerpt: None,
            });
        }
        let deadline = Instant::now() + self.config.wait_timeout;
        let rollout = Rollout::new(
            &api,
            &self.tuning,
            &self.ctx.console,
            "",
            BTreeMap::new(),
            self.config.wait_timeout,
            deadline,
        );
        let (restored, problems) = rollout.restore(&snapshots).await;
        if !problems.is_empty() {
            return Err(ProviderError::Failed {
                message: format!("rollback incomplete: {}", problems.join("; ")),
                rolled_back: Some(format!("restored: {}", restored.join(", "))),
                log_excerpt: None,
            });
        }
        let images = dedup(snapshots.iter().map(|s| s.image.as_str()));
        Ok(RollbackOutcome {
            restored: format!(
                "{} machine(s) back to {}",
                restored.len(),
                images.join(", ")
            ),
            details: vec![("machines".into(), restored.join(", "))],
        })
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

fn groups_note(c: &FlyConfig) -> String {
    if c.process_groups.is_empty() {
        String::new()
    } else {
        format!("; process groups {}", c.process_groups.join(", "))
    }
}

/// What each machine should go back to, as snapshots for `Rollout::restore`:
/// an image named by the user; else the rollback point's per-machine version (its config from
/// `/versions`); else each machine's most recent earlier version with a different image.
async fn restore_targets(
    api: &Api,
    machines: &[Machine],
    req: &RollbackRequest,
) -> Result<Vec<Snapshot>, ProviderError> {
    let point_versions: BTreeMap<String, String> = req
        .point
        .as_ref()
        .and_then(|p| p["machines"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|m| {
            Some((
                m["id"].as_str()?.to_string(),
                m["version"].as_str()?.to_string(),
            ))
        })
        .collect();
    let point_image = req
        .point
        .as_ref()
        .and_then(|p| p["image"].as_str())
        .map(str::to_string);
    let wanted_image = req.to.clone().or(point_image);
    let mut out = Vec::new();
    for m in machines {
        let target_config = match (&req.to, point_versions.get(&m.id)) {
            (Some(image), _) => Some(rollout::new_config(&m.config, image, &BTreeMap::new())),
            (None, Some(version)) => api
                .versions(&m.id)
                .await?
                .into_iter()
                .find(|v| &v.version == version)
                .map(|v| v.user_config)
                .or_else(|| {
                    wanted_image
                        .as_ref()
                        .map(|i| rollout::new_config(&m.config, i, &BTreeMap::new()))
                }),
            (None, None) => match &wanted_image {
                Some(i) => Some(rollout::new_config(&m.config, i, &BTreeMap::new())),
                None => api
                    .versions(&m.id)
                    .await?
                    .into_iter()
                    .find(|v| {
                        v.user_config["image"]
                            .as_str()
                            .is_some_and(|i| i != m.image())
                    })
                    .map(|v| v.user_config),
            },
        };
        let Some(config) = target_config else {
            continue;
        };
        if config["image"] == m.config["image"] && config == m.config {
            continue;
        }
        out.push(Snapshot {
            id: m.id.clone(),
            region: m.region.clone(),
            // The current version: `restore` skips machines still at their snapshot version,
            // so mark it as "changed" by giving a version the machine is not at.
            version: String::new(),
            image: config["image"].as_str().unwrap_or("").to_string(),
            config,
            was_running: m.is_running(),
        });
    }
    Ok(out)
}
