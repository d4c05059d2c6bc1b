//! The result of `stage-gate preview` as one typed value; `report::results::preview` renders
//! it (its JSON carries `schema: stage-gate/preview/v1`, its JSON Schema is
//! `docs/schemas/preview-result.json`).

use schemars::JsonSchema;
use serde::Serialize;

/// One run of `preview up`, `down` or `sweep`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PreviewResult {
    /// `up`, `down` or `sweep`.
    pub action: String,
    /// The per-pull-request environment (`preview`).
    pub environment: String,
    /// The pull request (not for `sweep`).
    pub pr: Option<u64>,
    /// The commit brought up (`up`).
    pub sha: Option<String>,
    pub dry_run: bool,
    /// `success`, `failure`, `skipped`, `removed`, `refused`, or `planned` (a dry run).
    pub result: String,
    /// Why nothing was done, when `skipped` (a pull request from a fork).
    pub notice: Option<String>,
    /// One entry per app (`up`, `down`).
    pub previews: Vec<PreviewJson>,
    /// What `sweep` decided for each preview it found.
    pub sweep: Vec<SweepDecision>,
    /// The pull request's stage-gate comment.
    pub comment_url: Option<String>,
}

/// One app's preview.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PreviewJson {
    pub app: String,
    /// The vendor's resource: the Fly app, or `coolify:<uuid>#<pr>`.
    pub resource: String,
    /// Where it answers.
    pub url: Option<String>,
    /// The artifact that runs (`registry/repo@sha256:…` when the vendor names a digest).
    pub digest: Option<String>,
    /// `healthy`, `unhealthy`, `deployed` (no probes), `failed`, `refused`, `removed`,
    /// `absent` (down: nothing to remove) or `planned` (dry run).
    pub state: String,
    /// The health gate's headline.
    pub health: Option<String>,
    /// The GitHub Deployment that records it (`up`).
    pub deployment_id: Option<u64>,
    /// True when this run created the preview.
    pub created: bool,
    /// What was done besides the deploy: app created, addresses, secrets; or removed.
    pub notes: Vec<String>,
    pub error: Option<String>,
}

/// One preview `sweep` found.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SweepDecision {
    pub app: String,
    /// The vendor's resource (Fly app name, or `coolify:<uuid>#<pr>`).
    pub resource: String,
    pub pr: Option<u64>,
    /// `removed`, `absent` (already gone), `remove` (dry run), `kept`, `left-alone` (not
    /// ours) or `failed`.
    pub decision: String,
    pub reason: String,
}

impl PreviewResult {
    pub fn new(action: &str, environment: &str, dry_run: bool) -> PreviewResult {
        PreviewResult {
            action: action.to_string(),
            environment: environment.to_string(),
            pr: None,
            sha: None,
            dry_run,
            result: "success".into(),
            notice: None,
            previews: Vec::new(),
            sweep: Vec::new(),
            comment_url: None,
        }
    }
}
