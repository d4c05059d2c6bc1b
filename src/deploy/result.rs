//! The result of `deploy` and `promote` as one typed value: what `--format json` prints, with
//! a schema version, and a JSON Schema generated from these types (committed as
//! `docs/schemas/deploy-result.json`; a test fails when it drifts).

use super::TargetResult;
use crate::providers::DeployOutcome;
use schemars::JsonSchema;
use serde::Serialize;

/// The version of this document's shape: a change that breaks readers changes it.
pub const SCHEMA: &str = "stage-gate/deploy/v1";

/// One run of `deploy` or `promote`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeployResult {
    /// Always `stage-gate/deploy/v1`.
    pub schema: String,
    /// The environment deployed to.
    pub environment: String,
    /// The commit deployed.
    pub sha: String,
    pub version: Option<String>,
    pub dry_run: bool,
    /// One entry per app of the plan, in the plan's order.
    pub targets: Vec<TargetJson>,
}

/// What happened to one app.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TargetJson {
    pub app: String,
    /// The GitHub Deployment that records this deploy.
    pub deployment_id: Option<u64>,
    pub stages: Vec<StageJson>,
    /// What the provider left: the artifact that ran, ids, details.
    pub outcome: Option<OutcomeJson>,
    /// The health gate's verdict and evidence, as `stage-gate health` reports them.
    pub health: Option<serde_json::Value>,
    /// Why this app failed or was refused, when it did.
    pub error: Option<String>,
    /// After a failure: `restored` or `not-restored`.
    pub rollback: Option<String>,
    /// A promotion: the environment that proved the commit and the artifact it ran.
    pub proven: Option<ProvenJson>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StageJson {
    /// `gate`, `record`, `deploy`, `health`, `rollback`, `recorded`, `notify`, …
    pub name: String,
    /// `done`, `failed`, `skipped` or `pending`.
    pub state: String,
    pub millis: u64,
    pub detail: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OutcomeJson {
    /// Ids of what the provider created or updated (machines, deployments).
    pub provider_ids: Vec<String>,
    /// The artifact that ran: `registry/repository@sha256:…` when the vendor named a digest.
    pub image: Option<String>,
    /// The provider's own release number, when it has one.
    pub version: Option<String>,
    /// What a rollback needs (provider-specific).
    pub rollback_point: Option<serde_json::Value>,
    /// Facts for people: strategy, machines, tag, duration, …
    pub details: Vec<(String, String)>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ProvenJson {
    pub environment: String,
    pub artifact: String,
}

impl DeployResult {
    pub fn new(
        environment: &str,
        sha: &str,
        version: Option<&str>,
        dry_run: bool,
        results: &[TargetResult],
    ) -> DeployResult {
        DeployResult {
            schema: SCHEMA.into(),
            environment: environment.into(),
            sha: sha.into(),
            version: version.map(str::to_string),
            dry_run,
            targets: results.iter().map(TargetJson::of).collect(),
        }
    }
}

impl TargetJson {
    fn of(r: &TargetResult) -> TargetJson {
        TargetJson {
            app: r.app.clone(),
            deployment_id: r.deployment_id,
            stages: r
                .stages
                .0
                .iter()
                .map(|s| StageJson {
                    name: s.name.to_string(),
                    state: super::stages::state_word(&s.state).to_string(),
                    millis: s.millis.min(u64::MAX as u128) as u64,
                    detail: s.detail.clone(),
                })
                .collect(),
            outcome: r.outcome.as_ref().map(OutcomeJson::of),
            health: r.health.as_ref().map(|h| h.json()),
            error: r.failure.as_ref().map(|f| f.to_string()),
            rollback: r.rollback.map(str::to_string),
            proven: r.proven.as_ref().map(|(env, artifact)| ProvenJson {
                environment: env.clone(),
                artifact: artifact.clone(),
            }),
        }
    }
}

impl OutcomeJson {
    fn of(o: &DeployOutcome) -> OutcomeJson {
        OutcomeJson {
            provider_ids: o.provider_ids.clone(),
            image: o.image.clone(),
            version: o.version.clone(),
            rollback_point: o.rollback_point.clone(),
            details: o.details.clone(),
        }
    }
}

/// The committed JSON Schema's path, from the repository root.
pub const SCHEMA_PATH: &str = "docs/schemas/deploy-result.json";

/// The JSON Schema of [`DeployResult`].
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(DeployResult);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_result_schema_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SCHEMA_PATH);
        let current = json_schema();
        if std::env::var_os("STAGE_GATE_BLESS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &current).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == current,
            "{SCHEMA_PATH} is out of date: run `STAGE_GATE_BLESS=1 cargo test --lib committed_result_schema` and commit it"
        );
    }
}
