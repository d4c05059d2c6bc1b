//! `workflow_dispatch`: start another workflow (the one event a default `GITHUB_TOKEN`
//! may trigger).

use super::{GitHub, GithubError};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use std::collections::BTreeMap;

/// GitHub refuses a dispatch with more inputs than this.
pub const MAX_DISPATCH_INPUTS: usize = 25;

/// What GitHub says about the run it started (`return_run_details: true`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct DispatchedRun {
    pub workflow_run_id: u64,
    pub run_url: String,
    pub html_url: String,
}

impl GitHub {
    /// Dispatch `workflow` (a file name like `deploy.yml`, or its id) on `git_ref`.
    /// Returns the started run when GitHub reports it (200), `None` for the bare 204.
    /// Not retried once it may have reached GitHub: a repeat would start a second run.
    pub(crate) async fn dispatch_workflow(
        &self,
        workflow: &str,
        git_ref: &str,
        inputs: &BTreeMap<String, String>,
    ) -> Result<Option<DispatchedRun>, GithubError> {
        if workflow.trim().is_empty() {
            return Err(GithubError::Invalid(
                "dispatch needs a workflow file or id".into(),
            ));
        }
        if git_ref.trim().is_empty() {
            return Err(GithubError::Invalid(format!(
                "dispatching `{workflow}` needs a ref (branch or tag)"
            )));
        }
        if inputs.len() > MAX_DISPATCH_INPUTS {
            return Err(GithubError::Invalid(format!(
                "dispatching `{workflow}`: {} inputs given, GitHub accepts at most {MAX_DISPATCH_INPUTS}",
                inputs.len()
            )));
        }
        let body = serde_json::json!({
            "ref": git_ref,
            "inputs": inputs,
            "return_run_details": true,
        });
        let op = "dispatch workflow";
        let url = self.repo_url(&["actions", "workflows", workflow, "dispatches"]);
        let response = self.send(op, Method::POST, url, Some(&body), false).await?;
        if response.status() == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        self.decode(op, response).await.map(Some)
    }
}
