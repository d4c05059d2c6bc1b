//! The config file as written: `.github/stage-gate.yml`, version 1.
//!
//! Every struct denies unknown keys and uses kebab-case. Nothing outside `config/` sees
//! these types: [`super::validate`] turns them into the resolved [`super::model`] form.

use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// stage-gate configuration, version 1: apps × environments. Top-level keys starting with
/// `x-` are yours (e.g. `x-defaults: &defaults {…}`, for anchors): stage-gate ignores them.
#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(extend("patternProperties" = { "^x-": true }))]
pub struct RawConfig {
    /// Config format version; must be 1.
    pub version: u32,
    /// `owner/name`; defaults to `GITHUB_REPOSITORY`.
    #[serde(default)]
    pub repository: Option<String>,
    /// Release tag policy shared by every app.
    #[serde(default)]
    pub release: Option<RawRelease>,
    /// Release-notes rules.
    #[serde(default)]
    pub notes: Option<RawNotes>,
    /// Environment-wide policy (gates), keyed by environment name.
    #[serde(default)]
    pub environments: BTreeMap<String, RawEnvironmentPolicy>,
    /// Settings merged into every app environment (placeholders `{app}` and `{env}` expand).
    #[serde(default)]
    pub defaults: Option<RawTarget>,
    /// The apps, keyed by name.
    #[serde(default)]
    pub apps: BTreeMap<String, RawApp>,
    /// Notifications sent after deploys.
    #[serde(default)]
    pub notify: Vec<RawNotify>,
    /// Checks run by `stage-gate check`.
    #[serde(default)]
    pub check: Option<RawCheck>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawRelease {
    /// The branch releases are cut from (default `main`).
    #[serde(default)]
    pub branch: Option<String>,
    /// Further branches a tagged commit may sit on, as globs (e.g. `release/*`, `hotfix/*`).
    #[serde(default)]
    pub branches: Vec<String>,
    /// Tag pattern: `v{version}` (default), `{app}@{version}`, `{app}-v{version}`, `{app}/v{version}`.
    #[serde(default)]
    pub tag_pattern: Option<String>,
    /// Prerelease tags: `allow`, `refuse` or `staging-only` (default `allow`).
    #[serde(default)]
    pub prerelease: Option<String>,
    /// Whether `+build` metadata is allowed in versions (default false).
    #[serde(default)]
    pub build_metadata: Option<bool>,
    /// Require annotated tags (default false).
    #[serde(default)]
    pub annotated_tags: Option<bool>,
    /// Allow a lower version than the latest release; only honoured for an explicit rollback.
    #[serde(default)]
    pub allow_downgrade: Option<bool>,
    /// What to do with an existing release: `fail`, `skip`, `update`, `update-draft` (default).
    #[serde(default)]
    pub on_existing: Option<String>,
    /// Asset globs uploaded to the release.
    #[serde(default)]
    pub assets: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawNotes {
    /// Section titles keyed by commit type, in order (e.g. `feat: Features`).
    #[serde(default)]
    pub sections: Option<BTreeMap<String, String>>,
    /// Regexes of commit subjects to leave out (release commits, merges of nothing).
    #[serde(default)]
    pub skip: Vec<String>,
    /// List contributors (default true).
    #[serde(default)]
    pub contributors: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawEnvironmentPolicy {
    /// Another environment that must have proven the same commit first.
    #[serde(default)]
    pub requires: Option<String>,
    /// How long the required environment must have run the commit (e.g. `10m`).
    #[serde(default)]
    pub soak: Option<String>,
    /// Branches (globs) allowed to deploy here.
    #[serde(default)]
    pub branches: Vec<String>,
    /// Tag globs allowed to deploy here (e.g. `v*.*.*`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Prerelease policy for this environment: `allow` or `refuse`.
    #[serde(default)]
    pub prerelease: Option<String>,
    /// Whether `--override-gate --reason` may open a closed gate (default false).
    #[serde(default)]
    pub allow_override: Option<bool>,
    /// Whether a promotion may build anew when the required environment's record names no
    /// artifact (default false: production runs only the bytes the required environment ran).
    #[serde(default)]
    pub allow_rebuild: Option<bool>,
    /// A deployment in progress older than this is stale and no longer blocks (default `30m`).
    #[serde(default)]
    pub stale_after: Option<String>,
    /// Whether GitHub marks this as a production environment (default: name is `production`).
    #[serde(default)]
    pub production: Option<bool>,
    /// One environment per pull request (`stage-gate preview`): `{pr}` in app names and URLs
    /// is the pull request's number (default false).
    #[serde(default)]
    pub per_pull_request: Option<bool>,
    /// A preview whose last deploy is older than this is torn down by `preview sweep`
    /// (default `7d`, at most `90d`).
    #[serde(default)]
    pub ttl: Option<String>,
    /// The most previews one `preview sweep` tears down without `--force` (default 10).
    #[serde(default)]
    pub sweep_limit: Option<usize>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawApp {
    /// Tag pattern for this app (monorepos), overriding `release.tag-pattern`.
    #[serde(default)]
    pub tag_pattern: Option<String>,
    /// Dockerfiles used for this app's production images (checked by `stage-gate check`).
    #[serde(default)]
    pub dockerfiles: Vec<String>,
    /// The app's environments, keyed by environment name.
    #[serde(default)]
    pub environments: BTreeMap<String, RawTarget>,
}

/// One app in one environment: exactly one provider, plus health and rollback.
#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawTarget {
    /// Deploy to Fly.io (Machines API with an image, else flyctl builds).
    #[serde(default)]
    pub fly: Option<RawFly>,
    /// Deploy with Coolify's API or its deploy webhook.
    #[serde(default)]
    pub coolify: Option<RawCoolify>,
    /// Deploy by calling a webhook.
    #[serde(default)]
    pub webhook: Option<RawWebhook>,
    /// Deploy by running a command.
    #[serde(default)]
    pub command: Option<RawCommand>,
    /// Public URL of this environment (GitHub Deployment `environment_url`).
    #[serde(default)]
    pub url: Option<String>,
    /// Health probes run after the deploy.
    #[serde(default)]
    pub health: Option<RawHealth>,
    /// Roll back automatically when the health gate fails (default false).
    #[serde(default)]
    pub rollback_on_failure: Option<bool>,
    /// How long to wait for the provider's deploy to finish (default `10m`).
    #[serde(default)]
    pub timeout: Option<String>,
}

pub use crate::providers::fly::config::RawFly;

pub use crate::providers::coolify::config::RawCoolify;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum StringOrList {
    One(String),
    Many(Vec<String>),
}

pub use crate::providers::webhook::config::RawWebhook;

pub use crate::providers::command::config::RawCommand;

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawHealth {
    /// Wait before the first probe (default `0s`).
    #[serde(default)]
    pub initial_delay: Option<String>,
    /// Time between probes (default `2s`).
    #[serde(default)]
    pub interval: Option<String>,
    /// Per-request timeout (default `5s`).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Overall deadline (default `5m`).
    #[serde(default)]
    pub deadline: Option<String>,
    /// Successes in a row needed (default 1).
    #[serde(default)]
    pub success_threshold: Option<u32>,
    /// Stop early after this many hard failures since the last pass: answers waiting will not
    /// change (4xx other than 404/408/425/429, TLS and DNS errors) (default 5).
    #[serde(default)]
    pub failure_threshold: Option<u32>,
    /// Once healthy, stay healthy this long (default `0s`).
    #[serde(default)]
    pub soak: Option<String>,
    /// Probes run concurrently (bounded).
    #[serde(default)]
    pub probes: Vec<RawProbe>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawProbe {
    /// URL to probe; `{version}` and `{sha}` expand (and `{pr}`, the pull request, in a
    /// per-pull-request environment).
    pub url: String,
    /// HTTP method (default `GET`).
    #[serde(default)]
    pub method: Option<String>,
    /// Headers; values may use `${ENV_VAR}` for secrets (masked).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Accepted statuses: `200`, `"200-299"`, `[200, 204]` (default `200-399`).
    #[serde(default)]
    pub expect_status: Option<serde_json::Value>,
    /// Regex the body must match.
    #[serde(default)]
    pub body_regex: Option<String>,
    /// JSON assertions: path → expected value, e.g. `$.version: "{version}"`.
    #[serde(default)]
    pub json: BTreeMap<String, serde_json::Value>,
    /// Maximum response time (e.g. `800ms`).
    #[serde(default)]
    pub max_latency: Option<String>,
    /// PEM file of a CA to trust.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Follow redirects (default true).
    #[serde(default)]
    pub follow_redirects: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawNotify {
    /// A webhook URL receiving the JSON event.
    #[serde(default)]
    pub webhook: Option<String>,
    /// Payload format: `json` (default), `slack`, `discord`.
    #[serde(default)]
    pub format: Option<String>,
    /// Env var holding a bearer token sent as `Authorization`.
    #[serde(default)]
    pub token_env: Option<String>,
    /// Env var holding the HMAC-SHA256 signing secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// A workflow to `workflow_dispatch` (file name or id).
    #[serde(default)]
    pub dispatch: Option<String>,
    /// Ref for the dispatch (default: the default branch, `main`).
    #[serde(default, rename = "ref")]
    pub git_ref: Option<String>,
    /// Inputs for the dispatch; `{sha}`, `{version}`, `{env}` expand.
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    /// Only for these environments (default all).
    #[serde(default)]
    pub environments: Vec<String>,
    /// When it fires: `deploy-success`, `deploy-failure`, `promote-success`, `promote-failure`
    /// (a promotion is `promote`, or `deploy` to an environment that `requires:` another),
    /// `notify` (the `stage-gate notify` command); `success` and `failure` stand for every
    /// event of that outcome. Default: every event.
    #[serde(default)]
    pub on: Option<StringOrList>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawCheck {
    /// fly.toml keys (dotted, `http_service.internal_port`; a key covers what is under it)
    /// whose difference between staging and production is an error. Added to the built-in
    /// list (`http_service.internal_port`, `services.internal_port`, `checks`, `processes`,
    /// `mounts.destination`, `build`); a key listed here leaves the built-in may-differ list,
    /// so `[vm]` makes a VM size difference an error.
    #[serde(default)]
    pub parity_must_match: Vec<String>,
    /// fly.toml keys whose difference is intended (no warning). Added to the built-in list
    /// (`app`, `env.LOG_LEVEL`, `vm`, `primary_region`); a key listed here leaves the built-in
    /// must-match list. The longest key that covers a setting decides.
    #[serde(default)]
    pub parity_may_differ: Vec<String>,
    /// Treat Dockerfile findings as errors (default: warnings).
    #[serde(default)]
    pub dockerfile_errors: Option<bool>,
    /// Extra fly.toml globs to check.
    #[serde(default)]
    pub fly_toml: Vec<String>,
    /// Workflow globs to check (default `.github/workflows/*.y*ml`).
    #[serde(default)]
    pub workflows: Vec<String>,
}
