//! The `fly:` key of an app's environment: as written (its doc comments become the config
//! schema and docs/config.md), resolved, and the check between them.

use crate::config::humantime_serde_compat;
use crate::config::validate::Validator;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawFly {
    /// Fly app name; defaults to `app` in the fly.toml. In a per-pull-request environment it
    /// holds `{pr}` (`web-pr-{pr}`): each pull request gets its own app.
    #[serde(default)]
    pub app: Option<String>,
    /// Path of the environment's fly.toml.
    #[serde(default)]
    pub config: Option<String>,
    /// Image to deploy (`registry.fly.io/app:tag` or a digest). Without it, flyctl builds.
    #[serde(default)]
    pub image: Option<String>,
    /// `rolling` (default), `immediate`, `canary` or `bluegreen`.
    #[serde(default)]
    pub strategy: Option<String>,
    /// Fraction (`0.33`) or count (`2`) of machines updated at once.
    #[serde(default)]
    pub max_unavailable: Option<f64>,
    /// Per-machine wait for started and healthy (default `5m`).
    #[serde(default)]
    pub wait_timeout: Option<String>,
    /// Only update machines of these process groups.
    #[serde(default)]
    pub process_groups: Vec<String>,
    /// Machines API base URL (default `https://api.machines.dev`; env `STAGE_GATE_FLY_API_URL` overrides).
    #[serde(default)]
    pub api_url: Option<String>,
    /// Name of the env var holding the token (default `FLY_API_TOKEN`).
    #[serde(default)]
    pub token_env: Option<String>,
    /// Fly organisation (slug) that owns the app: where `stage-gate preview` creates and
    /// sweeps per-pull-request apps.
    #[serde(default)]
    pub org: Option<String>,
    /// Environment variables of the job set as the app's secrets by `stage-gate preview`
    /// (names; the values are read from the job's environment and never printed).
    #[serde(default)]
    pub secrets: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlyStrategy {
    Rolling,
    Immediate,
    Canary,
    Bluegreen,
}

impl FlyStrategy {
    /// Every strategy by the name the config, fly.toml `[deploy]` and flyctl use.
    pub(crate) const NAMES: [(&'static str, FlyStrategy); 4] = [
        ("rolling", FlyStrategy::Rolling),
        ("immediate", FlyStrategy::Immediate),
        ("canary", FlyStrategy::Canary),
        ("bluegreen", FlyStrategy::Bluegreen),
    ];

    pub(crate) fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("rolling", |(n, _)| n)
    }

    pub(crate) fn from_name(name: &str) -> Option<FlyStrategy> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FlyConfig {
    /// None when neither the config nor the fly.toml names the app (an error at deploy time).
    pub app: Option<String>,
    pub config: Option<PathBuf>,
    pub image: Option<String>,
    pub strategy: FlyStrategy,
    pub max_unavailable: f64,
    #[serde(with = "humantime_serde_compat")]
    pub wait_timeout: Duration,
    pub process_groups: Vec<String>,
    pub api_url: String,
    pub token_env: String,
    pub org: Option<String>,
    pub secrets: Vec<String>,
    /// Which of strategy / max-unavailable / wait-timeout the stage-gate config set: the rest
    /// come from fly.toml's `[deploy]` when it says them (the config wins).
    pub explicit: FlyExplicit,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct FlyExplicit {
    pub strategy: bool,
    pub max_unavailable: bool,
    pub wait_timeout: bool,
}

impl FlyExplicit {
    pub const ALL: FlyExplicit = FlyExplicit {
        strategy: true,
        max_unavailable: true,
        wait_timeout: true,
    };
}

/// The resolved settings of a `fly:` target (errors go to `v`, under `p`).
pub(crate) fn resolve(v: &mut Validator, p: &[&str], f: &RawFly) -> FlyConfig {
    let p = p.to_vec();
    let mut sp = p.clone();
    sp.push("strategy");
    let strategy = v.choice(
        &sp,
        f.strategy.as_deref(),
        &FlyStrategy::NAMES,
        FlyStrategy::Rolling,
    );
    let mut wp = p.clone();
    wp.push("wait-timeout");
    let wait_timeout = v.duration(&wp, f.wait_timeout.as_deref(), Duration::from_secs(300));
    let max_unavailable = f.max_unavailable.unwrap_or(0.33);
    if max_unavailable <= 0.0 {
        let mut mp = p.clone();
        mp.push("max-unavailable");
        v.error(
            &mp,
            "must be a fraction above 0 (e.g. 0.33) or a count (e.g. 2)",
            None,
        );
    }
    FlyConfig {
        app: f.app.clone(),
        config: f.config.as_ref().map(PathBuf::from),
        image: f.image.clone(),
        strategy,
        max_unavailable,
        wait_timeout,
        process_groups: f.process_groups.clone(),
        explicit: FlyExplicit {
            strategy: f.strategy.is_some(),
            max_unavailable: f.max_unavailable.is_some(),
            wait_timeout: f.wait_timeout.is_some(),
        },
        api_url: f
            .api_url
            .clone()
            .unwrap_or_else(|| "https://api.machines.dev".into()),
        token_env: f
            .token_env
            .clone()
            .unwrap_or_else(|| "FLY_API_TOKEN".into()),
        org: f.org.clone(),
        secrets: f.secrets.clone(),
    }
}
