//! Local simulators of the Fly Machines, Coolify and GitHub REST APIs (plus health endpoints),
//! for stage-gate's tests and its no-account demo. They follow the vendor documents in
//! `tests/fixtures/specs/` and, where reality differs, reality (`tests/fixtures/specs/NOTES.md`).
//!
//! [`start`] binds one loopback port per vendor and serves each vendor's router wrapped in the
//! fault layer and the request log (`server.rs`). Each vendor module owns its own state and
//! knows nothing of faults or logging; its contract is a `Scenario` (Debug, Clone, Default,
//! Deserialize) plus `pub fn router(scenario, &Urls) -> axum::Router` (GitHub: `routers`, for
//! the API and the uploads host).

pub mod contract;
pub mod coolify;
pub mod faults;
pub mod fly;
pub mod github;
pub mod health;
pub mod log;
pub mod server;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use faults::Fault;
pub use log::LogEntry;

/// Everything the simulators start with. Loadable from a YAML or JSON file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    pub fly: fly::Scenario,
    pub coolify: coolify::Scenario,
    pub github: github::Scenario,
    pub health: health::Scenario,
    pub faults: Vec<Fault>,
}

impl Scenario {
    /// Read a scenario file; YAML is a superset of JSON, so one parser reads both.
    pub fn load(path: &Path) -> Result<Scenario, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read scenario {}: {e}", path.display()))?;
        Scenario::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Scenario, String> {
        if text.trim().is_empty() {
            return Ok(Scenario::default());
        }
        serde_yaml::from_str(text).map_err(|e| format!("invalid scenario: {e}"))
    }
}

/// Base URLs (`http://127.0.0.1:PORT`, no trailing slash) of each simulated service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Urls {
    pub fly: String,
    pub coolify: String,
    pub github: String,
    pub uploads: String,
    pub health: String,
}

/// Running simulators. Dropping it stops every server.
pub struct Sim {
    pub urls: Urls,
    shared: Arc<server::Shared>,
    tasks: Vec<JoinHandle<()>>,
    fly: fly::Handle,
    coolify: coolify::Handle,
    github: github::Handle,
}

impl Sim {
    /// The Fly apps as the simulator holds them now (organisation, machines, secret names,
    /// IPs), for assertions on what a client did.
    pub fn fly_apps(&self) -> Vec<fly::FlyApp> {
        self.fly.apps()
    }
    /// The preview deployments of a Coolify application (by uuid); `None` when the
    /// application does not exist.
    pub fn coolify_previews(&self, app_uuid: &str) -> Option<Vec<coolify::CoolifyPreview>> {
        self.coolify.previews(app_uuid)
    }
    /// Close, merge or reopen a GitHub pull request while the test runs (`repo` is
    /// `owner/name`; merged implies closed). Also `PATCH /__sim/repos/{o}/{r}/pulls/{n}`
    /// `{"state", "merged"}` on the GitHub port.
    pub fn set_pull_state(
        &self,
        repo: &str,
        number: u64,
        state: &str,
        merged: bool,
    ) -> Result<(), String> {
        self.github.set_pull_state(repo, number, state, merged)
    }
    /// Move a GitHub pull request's head to `sha` (a push to its branch).
    pub fn set_pull_head(&self, repo: &str, number: u64, sha: &str) -> Result<(), String> {
        self.github.set_pull_head(repo, number, sha)
    }
    /// The comments on a GitHub issue or pull request, oldest first.
    pub fn github_comments(&self, repo: &str, issue: u64) -> Vec<github::GithubComment> {
        self.github.comments(repo, issue)
    }
    /// One Fly app by name.
    pub fn fly_app(&self, name: &str) -> Option<fly::FlyApp> {
        self.fly_apps().into_iter().find(|a| a.name == name)
    }
    /// Every request received so far, all vendors, in order.
    pub fn log(&self) -> Vec<LogEntry> {
        self.shared.log()
    }
    /// The log of one vendor, as `"METHOD /path?query"` lines: handy for exact assertions.
    pub fn calls(&self, vendor: &str) -> Vec<String> {
        self.log()
            .iter()
            .filter(|e| e.vendor == vendor)
            .map(LogEntry::line)
            .collect()
    }
    pub fn clear_log(&self) {
        self.shared.clear_log();
    }
    pub fn inject(&self, fault: Fault) {
        self.shared.inject(fault);
    }
    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }
    /// Stop every server now (dropping does the same).
    pub fn shutdown(mut self) {
        self.stop();
    }
    fn stop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Start every simulator on its own ephemeral loopback port.
pub async fn start(scenario: Scenario) -> std::io::Result<Sim> {
    start_with_log(scenario, None).await
}

/// [`start`], also appending the request log to `log_file` as JSON lines.
pub async fn start_with_log(scenario: Scenario, log_file: Option<PathBuf>) -> std::io::Result<Sim> {
    // Bind everything first: routers need every base URL (e.g. GitHub's upload_url).
    let fly_l = TcpListener::bind("127.0.0.1:0").await?;
    let coolify_l = TcpListener::bind("127.0.0.1:0").await?;
    let github_l = TcpListener::bind("127.0.0.1:0").await?;
    let uploads_l = TcpListener::bind("127.0.0.1:0").await?;
    let health_l = TcpListener::bind("127.0.0.1:0").await?;
    let url = |l: &TcpListener| l.local_addr().map(|a| format!("http://{a}"));
    let urls = Urls {
        fly: url(&fly_l)?,
        coolify: url(&coolify_l)?,
        github: url(&github_l)?,
        uploads: url(&uploads_l)?,
        health: url(&health_l)?,
    };
    let shared = Arc::new(server::Shared::new(
        log::RequestLog::new(log_file),
        scenario.faults,
    ));
    let (github_api, github_uploads, github) = github::serve(scenario.github, &urls);
    let (fly_router, fly) = fly::serve(scenario.fly, &urls);
    let (coolify_router, coolify) = coolify::serve(scenario.coolify, &urls);
    let tasks = vec![
        server::spawn("fly", fly_l, fly_router, shared.clone()),
        server::spawn("coolify", coolify_l, coolify_router, shared.clone()),
        server::spawn("github", github_l, github_api, shared.clone()),
        server::spawn("uploads", uploads_l, github_uploads, shared.clone()),
        server::spawn(
            "health",
            health_l,
            health::router(scenario.health, &urls),
            shared.clone(),
        ),
    ];
    Ok(Sim {
        urls,
        shared,
        tasks,
        fly,
        coolify,
        github,
    })
}
