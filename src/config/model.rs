//! The validated config: defaults applied, durations parsed, one provider per target.
//! Everything past validation reads these types only.

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// The file this came from (None for the built-in empty config).
    pub path: Option<PathBuf>,
    pub repository: Option<String>,
    pub release: ReleasePolicy,
    pub notes: NotesConfig,
    pub environments: BTreeMap<String, EnvironmentPolicy>,
    pub apps: BTreeMap<String, App>,
    pub notify: Vec<Notify>,
    pub check: CheckConfig,
}

impl Config {
    /// The config used when no file exists: no apps, default policies.
    pub fn empty() -> Self {
        Config {
            path: None,
            repository: None,
            release: ReleasePolicy::default(),
            notes: NotesConfig::default(),
            environments: BTreeMap::new(),
            apps: BTreeMap::new(),
            notify: Vec::new(),
            check: CheckConfig::default(),
        }
    }

    /// The policy for `env`, or the default one when the config names none.
    pub(crate) fn policy(&self, env: &str) -> EnvironmentPolicy {
        self.environments
            .get(env)
            .cloned()
            .unwrap_or_else(|| EnvironmentPolicy::default_for(env))
    }

    /// Every (app, environment) target for `env`, optionally one app only.
    pub(crate) fn targets(&self, env: &str, app: Option<&str>) -> Vec<&Target> {
        self.apps
            .values()
            .filter(|a| app.is_none_or(|name| a.name == name))
            .filter_map(|a| a.environments.get(env))
            .collect()
    }

    /// The tag pattern for an app: the app's own, else the release-wide one.
    pub(crate) fn tag_pattern(&self, app: Option<&str>) -> String {
        app.and_then(|a| self.apps.get(a))
            .and_then(|a| a.tag_pattern.clone())
            .unwrap_or_else(|| self.release.tag_pattern.clone())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PrereleasePolicy {
    Allow,
    Refuse,
    StagingOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnExisting {
    Fail,
    Skip,
    Update,
    UpdateDraft,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReleasePolicy {
    pub branch: String,
    pub branches: Vec<String>,
    pub tag_pattern: String,
    pub prerelease: PrereleasePolicy,
    pub build_metadata: bool,
    pub annotated_tags: bool,
    pub allow_downgrade: bool,
    pub on_existing: OnExisting,
    pub assets: Vec<String>,
}

impl Default for ReleasePolicy {
    fn default() -> Self {
        ReleasePolicy {
            branch: "main".into(),
            branches: Vec::new(),
            tag_pattern: "v{version}".into(),
            prerelease: PrereleasePolicy::Allow,
            build_metadata: false,
            annotated_tags: false,
            allow_downgrade: false,
            on_existing: OnExisting::UpdateDraft,
            assets: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct NotesConfig {
    /// (commit type, section title), in display order.
    pub sections: Vec<(String, String)>,
    pub skip: Vec<String>,
    pub contributors: bool,
}

impl Default for NotesConfig {
    fn default() -> Self {
        NotesConfig {
            sections: vec![
                ("feat".into(), "Features".into()),
                ("fix".into(), "Fixes".into()),
                ("perf".into(), "Performance".into()),
            ],
            skip: vec![
                r"^chore\(release\)".into(),
                // `release v1.2.3`, `release: v1.2.3` (vuejs/core), `chore: release 1.2.3`.
                r"^(chore: )?release:? v?\d".into(),
                r"^Merge branch ".into(),
            ],
            contributors: true,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentPolicy {
    pub name: String,
    pub requires: Option<String>,
    #[serde(with = "humantime_serde_compat")]
    pub soak: Duration,
    pub branches: Vec<String>,
    pub tags: Vec<String>,
    pub prerelease: PrereleasePolicy,
    pub allow_override: bool,
    /// A promotion may rebuild when the proof names no artifact (never the default).
    pub allow_rebuild: bool,
    #[serde(with = "humantime_serde_compat")]
    pub stale_after: Duration,
    pub production: bool,
    /// An environment per pull request (`stage-gate preview`).
    pub per_pull_request: bool,
    /// How long a preview lives after its last deploy (`preview sweep`).
    #[serde(with = "humantime_serde_compat")]
    pub ttl: Duration,
    /// The most previews one sweep tears down without `--force`.
    pub sweep_limit: usize,
}

impl EnvironmentPolicy {
    pub(crate) fn default_for(env: &str) -> Self {
        EnvironmentPolicy {
            name: env.to_string(),
            requires: None,
            soak: Duration::ZERO,
            branches: Vec::new(),
            tags: Vec::new(),
            prerelease: PrereleasePolicy::Allow,
            allow_override: false,
            allow_rebuild: false,
            // A deployment "in progress" for longer than any sane deploy is a crashed job.
            stale_after: Duration::from_secs(30 * 60),
            production: env == "production",
            per_pull_request: false,
            ttl: Duration::from_secs(7 * 24 * 3600),
            sweep_limit: 10,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct App {
    pub name: String,
    pub tag_pattern: Option<String>,
    pub dockerfiles: Vec<PathBuf>,
    pub environments: BTreeMap<String, Target>,
}

/// One app in one environment.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub app: String,
    pub env: String,
    pub provider: ProviderConfig,
    pub url: Option<String>,
    pub health: HealthConfig,
    pub rollback_on_failure: bool,
    #[serde(with = "humantime_serde_compat")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ProviderConfig {
    Fly(FlyConfig),
    Coolify(CoolifyConfig),
    Webhook(WebhookConfig),
    Command(CommandConfig),
}

impl ProviderConfig {
    /// The provider's key (`fly`, `coolify`, …), as its registry entry names it.
    pub fn kind(&self) -> &'static str {
        crate::providers::registry::of(self).key
    }
}

pub use crate::providers::fly::config::{FlyConfig, FlyExplicit, FlyStrategy};

pub use crate::providers::coolify::config::CoolifyConfig;

pub use crate::providers::webhook::config::WebhookConfig;

pub use crate::providers::command::config::CommandConfig;

#[derive(Debug, Clone, Serialize)]
pub struct HealthConfig {
    #[serde(with = "humantime_serde_compat")]
    pub initial_delay: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub interval: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub timeout: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub deadline: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
    #[serde(with = "humantime_serde_compat")]
    pub soak: Duration,
    pub probes: Vec<Probe>,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            initial_delay: Duration::ZERO,
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(300),
            success_threshold: 1,
            failure_threshold: 5,
            soak: Duration::ZERO,
            probes: Vec::new(),
        }
    }
}

/// An accepted status range, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatusRange {
    pub from: u16,
    pub to: u16,
}

#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub url: String,
    pub method: String,
    /// Header templates; `${ENV_VAR}` is expanded (and masked) when the probe runs.
    pub headers: Vec<(String, String)>,
    pub expect_status: Vec<StatusRange>,
    pub body_regex: Option<String>,
    pub json: Vec<(String, serde_json::Value)>,
    #[serde(with = "humantime_serde_compat::option")]
    pub max_latency: Option<Duration>,
    pub ca_file: Option<PathBuf>,
    pub follow_redirects: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyFormat {
    Json,
    Slack,
    Discord,
}

impl NotifyFormat {
    /// What is sent, as a person calls it: `JSON event`, `Slack message`.
    pub(crate) fn payload(self) -> &'static str {
        match self {
            NotifyFormat::Json => "JSON event",
            NotifyFormat::Slack => "Slack message",
            NotifyFormat::Discord => "Discord message",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum NotifyTarget {
    Webhook {
        url: String,
        format: NotifyFormat,
        token_env: Option<String>,
        secret_env: Option<String>,
    },
    Dispatch {
        workflow: String,
        git_ref: Option<String>,
        inputs: BTreeMap<String, String>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Notify {
    pub target: NotifyTarget,
    pub environments: Vec<String>,
    /// When it fires (`on:`); every event when the config names none.
    pub on: Vec<NotifyOn>,
}

impl Notify {
    /// Whether this entry fires for `event` in `env`.
    pub(crate) fn fires(&self, event: NotifyOn, env: &str) -> bool {
        let here = env.is_empty()
            || self.environments.is_empty()
            || self.environments.iter().any(|e| e == env);
        here && self.on.contains(&event)
    }
}

/// The events a notification fires on: the outcome of a `deploy`, of a promotion (`promote`,
/// or a `deploy` to an environment that `requires:` another), or `stage-gate notify` itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotifyOn {
    DeploySuccess,
    DeployFailure,
    PromoteSuccess,
    PromoteFailure,
    Notify,
}

impl NotifyOn {
    pub(crate) const ALL: [(&'static str, NotifyOn); 5] = [
        ("deploy-success", NotifyOn::DeploySuccess),
        ("deploy-failure", NotifyOn::DeployFailure),
        ("promote-success", NotifyOn::PromoteSuccess),
        ("promote-failure", NotifyOn::PromoteFailure),
        ("notify", NotifyOn::Notify),
    ];

    pub(crate) fn name(self) -> &'static str {
        NotifyOn::ALL
            .iter()
            .find(|(_, e)| *e == self)
            .map(|(n, _)| *n)
            .unwrap_or("notify")
    }

    /// What sent it, as the event's `trigger` field says: `deploy`, `promote` or `notify`.
    pub(crate) fn trigger(self) -> &'static str {
        match self {
            NotifyOn::DeploySuccess | NotifyOn::DeployFailure => "deploy",
            NotifyOn::PromoteSuccess | NotifyOn::PromoteFailure => "promote",
            NotifyOn::Notify => "notify",
        }
    }

    /// The outcome event of a deploy: a promotion when the environment requires another.
    pub(crate) fn outcome(promotion: bool, success: bool) -> NotifyOn {
        match (promotion, success) {
            (false, true) => NotifyOn::DeploySuccess,
            (false, false) => NotifyOn::DeployFailure,
            (true, true) => NotifyOn::PromoteSuccess,
            (true, false) => NotifyOn::PromoteFailure,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckConfig {
    pub parity_must_match: Vec<String>,
    pub parity_may_differ: Vec<String>,
    pub dockerfile_errors: bool,
    pub fly_toml: Vec<String>,
    pub workflows: Vec<String>,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            parity_must_match: [
                "http_service.internal_port",
                "services.internal_port",
                "checks",
                "processes",
                "mounts.destination",
                "build",
            ]
            .map(String::from)
            .to_vec(),
            parity_may_differ: ["app", "env.LOG_LEVEL", "vm", "primary_region"]
                .map(String::from)
                .to_vec(),
            dockerfile_errors: false,
            fly_toml: Vec::new(),
            workflows: vec![
                ".github/workflows/*.yml".into(),
                ".github/workflows/*.yaml".into(),
            ],
        }
    }
}

/// Durations serialise as humantime text ("5m") so `plan` output reads like the config.
pub(crate) mod humantime_serde_compat {
    use serde::Serializer;
    use std::time::Duration;

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub(crate) mod option {
        use serde::Serializer;
        use std::time::Duration;
        pub(crate) fn serialize<S: Serializer>(
            d: &Option<Duration>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
                None => s.serialize_none(),
            }
        }
    }
}
