//! The result of `stage-gate preview` as one typed value (`--format json`), with a schema
//! version and a JSON Schema generated from these types (`docs/schemas/preview-result.json`,
//! kept current by a test).

use schemars::JsonSchema;
use serde::Serialize;

/// The version of this document's shape: a change that breaks readers changes it.
pub const SCHEMA: &str = "stage-gate/preview/v1";
pub const SCHEMA_PATH: &str = "docs/schemas/preview-result.json";

/// One run of `preview up`, `down` or `sweep`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PreviewResult {
    /// Always `stage-gate/preview/v1`.
    pub schema: String,
    /// `up`, `down` or `sweep`.
    pub action: String,
    /// The per-pull-request environment (`preview`).
    pub environment: String,
    /// The pull request (not for `sweep`).
    pub pr: Option<u64>,
    /// The commit brought up (`up`).
    pub sha: Option<String>,
    pub dry_run: bool,
    /// `success`, `failure`, `skipped`, `removed` or `refused`.
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
    /// `removed`, `remove` (dry run), `kept`, `left-alone` (not ours) or `failed`.
    pub decision: String,
    pub reason: String,
}

impl PreviewResult {
    pub fn new(action: &str, environment: &str, dry_run: bool) -> PreviewResult {
        PreviewResult {
            schema: SCHEMA.to_string(),
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

/// The JSON Schema of [`PreviewResult`], as committed.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(PreviewResult)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn committed_schema_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(super::SCHEMA_PATH);
        let want = serde_json::to_string_pretty(&super::schema()).unwrap() + "\n";
        if std::env::var_os("STAGE_GATE_BLESS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is out of date: run `STAGE_GATE_BLESS=1 cargo test --lib preview` and commit it",
            super::SCHEMA_PATH
        );
    }
}
