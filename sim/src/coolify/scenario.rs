//! What a Coolify simulation starts with: tokens, applications and their timings, outcomes,
//! logs and history. Read from the `coolify:` part of a scenario file.

use serde::Deserialize;

/// The token accepted when a scenario names none (ability `root`).
pub const DEFAULT_TOKEN: &str = "coolify-sim-token";

/// Seed state and timings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// API tokens; none means one `root` token, [`DEFAULT_TOKEN`].
    pub tokens: Vec<TokenSeed>,
    /// Applications; none means two demo apps (`sim-app-staging`, `sim-app-production`).
    pub applications: Vec<AppSeed>,
    /// Deployments queued or in progress at once before deploys answer 429 (default: no limit).
    pub queue_capacity: Option<usize>,
    /// `Retry-After` of the queue-full 429, in seconds (default 60, as Coolify sends).
    pub queue_retry_after: Option<u64>,
    /// What `GET /api/v1/version` answers (default `4.3.11`).
    pub version: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSeed {
    pub token: String,
    #[serde(default)]
    pub abilities: Vec<String>,
    /// Whether the token's owner is a team admin; members may hold read-only tokens only.
    #[serde(default = "yes")]
    pub team_admin: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    #[default]
    Finished,
    Failed,
    /// Someone pressed cancel in the UI while it ran.
    CancelledByUser,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppSeed {
    pub uuid: String,
    pub name: String,
    pub tags: Vec<String>,
    pub fqdn: Option<String>,
    /// `dockerimage` (default), `dockerfile`, `nixpacks`, ...
    pub build_pack: String,
    /// `docker_registry_image_name`.
    pub image: Option<String>,
    /// `docker_registry_image_tag`.
    pub image_tag: Option<String>,
    /// `git_commit_sha`: `HEAD` (Coolify's default) or a commit the next build resolves to.
    pub git_commit_sha: String,
    /// `status` as Coolify stores it, `<state>:<health>`.
    pub status: String,
    /// How long a new deployment stays `queued`.
    pub queue_ms: u64,
    /// How long it stays `in_progress`.
    pub build_ms: u64,
    /// Outcomes of successive deploys; the last one repeats (default: all `finished`).
    pub outcomes: Vec<Outcome>,
    /// Outcome of rollback deployments.
    pub rollback_outcome: Outcome,
    /// Build log lines (default: a short plausible log).
    pub log_lines: Vec<String>,
    /// Pull requests with previews, without further detail (older spelling of `previews`).
    pub pull_requests: Vec<i64>,
    /// Previews that exist (for git applications Coolify's GitHub App makes them when a
    /// pull request opens, and only with previews enabled; Docker-image ones are made by
    /// `POST /deploy?pr=N&docker_tag=T`).
    pub previews: Vec<PreviewSeed>,
    /// `settings.is_preview_deployments_enabled` (default false, as a new application).
    pub previews_enabled: bool,
    /// Default `{{pr_id}}.{{domain}}` (Coolify's).
    pub preview_url_template: Option<String>,
    /// Earlier deployments, oldest first.
    pub history: Vec<PastDeployment>,
    /// Extra images `rollback-images` lists.
    pub rollback_images: Vec<String>,
}

impl Default for AppSeed {
    fn default() -> Self {
        AppSeed {
            uuid: String::new(),
            name: String::new(),
            tags: Vec::new(),
            fqdn: None,
            build_pack: "dockerimage".into(),
            image: None,
            image_tag: None,
            git_commit_sha: "HEAD".into(),
            status: "running:healthy".into(),
            queue_ms: 50,
            build_ms: 200,
            outcomes: Vec::new(),
            rollback_outcome: Outcome::Finished,
            log_lines: Vec::new(),
            pull_requests: Vec::new(),
            previews: Vec::new(),
            previews_enabled: false,
            preview_url_template: None,
            history: Vec::new(),
            rollback_images: Vec::new(),
        }
    }
}

/// A preview that exists when the simulator starts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewSeed {
    pub pr: i64,
    #[serde(default)]
    pub docker_tag: Option<String>,
    /// Generated from the application's domain and template when absent.
    #[serde(default)]
    pub fqdn: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PastDeployment {
    pub commit: String,
    #[serde(default)]
    pub status: Outcome,
    #[serde(default)]
    pub image_tag: Option<String>,
    #[serde(default)]
    pub rollback: bool,
}

/// The demo's applications: two generic ones, tagged by environment, and the two of
/// `examples/coolify-tags` (seed 004), so that example runs against a bare simulator.
pub(super) fn default_applications() -> Vec<AppSeed> {
    let app = |uuid: &str, name: &str, tags: Vec<String>, image: &str| AppSeed {
        uuid: uuid.into(),
        name: name.into(),
        tags,
        image: Some(image.into()),
        image_tag: Some("v0.9.0".into()),
        history: vec![PastDeployment {
            commit: "HEAD".into(),
            status: Outcome::Finished,
            image_tag: Some("v0.9.0".into()),
            rollback: false,
        }],
        ..AppSeed::default()
    };
    let mut apps: Vec<AppSeed> = ["staging", "production"]
        .into_iter()
        .map(|env| {
            let name = format!("demo-{env}");
            app(
                &format!("sim-app-{env}"),
                &name,
                vec![env.into()],
                "ghcr.io/example/demo",
            )
        })
        .collect();
    let ingestion = "ghcr.io/acme/ingestion-service";
    apps.push(app(
        "yoows40k844kc8w880ks48o0",
        "ingestion-service-staging",
        Vec::new(),
        ingestion,
    ));
    apps.push(app(
        "k8s0ws4gco0o4c8kgw08wkcc",
        "ingestion-service-production",
        Vec::new(),
        ingestion,
    ));
    apps
}
