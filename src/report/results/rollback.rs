//! `stage-gate rollback`: each app returned to an earlier deployment (or, in a dry run, the
//! calls it would make).

use super::CommandResult;
use crate::deploy::rollback::RolledBack;
use crate::report::summary;
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Debug, Serialize, JsonSchema)]
pub struct RollbackResult {
    pub environment: String,
    pub dry_run: bool,
    /// A dry run: every call, in order, each prefixed with its app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calls: Option<Vec<String>>,
    /// One per app, in the plan's order.
    pub rolled_back: Vec<RolledBack>,
}

impl CommandResult for RollbackResult {
    const SCHEMA: &'static str = "stage-gate/rollback/v1";
    const SCHEMA_PATH: &'static str = "docs/schemas/rollback-result.json";

    fn title(&self) -> String {
        format!("rollback {}", self.environment)
    }

    fn human(&self) -> String {
        let env = &self.environment;
        match &self.calls {
            Some(calls) => format!(
                "dry run: the rollback of `{env}` would make these calls (only the reads marked \
                 `made` were made):\n{}",
                (calls.iter())
                    .map(|c| format!("  {c}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
            None => (self.rolled_back.iter())
                .map(|r| format!("{} → {}: {}", r.app, r.to, r.restored))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    fn summary(&self) -> String {
        let env = &self.environment;
        match &self.calls {
            Some(calls) => format!(
                "### stage-gate rollback `{env}` (dry run)\n\n```\n{}\n```\n",
                calls.join("\n")
            ),
            None => format!(
                "### stage-gate rollback `{env}`\n\n{}",
                summary::table(
                    &["app", "to", "restored"],
                    &self
                        .rolled_back
                        .iter()
                        .map(RolledBack::row)
                        .collect::<Vec<_>>()
                )
            ),
        }
    }

    fn outputs(&self) -> Vec<(&'static str, String)> {
        let version = self
            .rolled_back
            .iter()
            .rev()
            .find_map(|r| r.version.clone());
        let mut out: Vec<(&'static str, String)> =
            version.map(|v| ("version", v)).into_iter().collect();
        out.push(("result", "success".into()));
        out
    }
}
