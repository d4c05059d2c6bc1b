//! `stage-gate plan`: the resolved plan of an environment, and its matrix.

use super::CommandResult;
use crate::plan::Plan;
use crate::report::{summary, Format};
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Debug, Serialize, JsonSchema)]
pub struct PlanResult {
    #[serde(flatten)]
    pub plan: Plan,
    /// How the plan is printed as text: human, json or matrix.
    #[serde(skip)]
    pub output: Format,
    /// The matrix for `strategy.matrix` (JSON), when within GitHub's limit.
    #[serde(skip)]
    pub matrix: Option<String>,
}

impl CommandResult for PlanResult {
    const SCHEMA: &'static str = "stage-gate/plan/v1";
    const SCHEMA_PATH: &'static str = "docs/schemas/plan-result.json";

    fn title(&self) -> String {
        format!("plan {}", self.plan.environment)
    }

    fn human(&self) -> String {
        match self.output {
            Format::Json => serde_json::to_string_pretty(&self.plan).unwrap_or_default(),
            Format::Matrix => self.matrix.clone().unwrap_or_default(),
            Format::Human | Format::Github => self.plan.human(),
        }
    }

    fn summary(&self) -> String {
        let rows: Vec<Vec<String>> = (self.plan.targets.iter())
            .map(|t| {
                vec![
                    t.app.clone(),
                    t.provider.clone(),
                    t.url.clone().unwrap_or_default(),
                    t.health_probes.to_string(),
                ]
            })
            .collect();
        format!(
            "### stage-gate plan: `{}`\n\n{}",
            self.plan.environment,
            summary::table(&["app", "provider", "url", "health probes"], &rows)
        )
    }

    fn outputs(&self) -> Vec<(&'static str, String)> {
        self.matrix.iter().map(|m| ("matrix", m.clone())).collect()
    }
}
