//! Workflow runs: whether the run that made a Deployment record is still going.

use super::{GitHub, GithubError};
use serde::Deserialize;

/// The fields of a `workflow-run` that say whether it still runs.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct RunState {
    pub id: u64,
    /// `queued`, `in_progress`, `waiting`, `requested`, `pending` or `completed`.
    pub status: String,
    #[serde(default)]
    pub conclusion: Option<String>,
}

impl RunState {
    pub(crate) fn is_completed(&self) -> bool {
        self.status == "completed"
    }
}

impl GitHub {
    /// `GET /repos/{owner}/{repo}/actions/runs/{run_id}`; None when GitHub has no such run.
    /// Needs `actions: read` (a 403 without it is the caller's to handle).
    pub(crate) async fn workflow_run(&self, run_id: &str) -> Result<Option<RunState>, GithubError> {
        let url = self.repo_url(&["actions", "runs", run_id]);
        self.get_optional("get workflow run", url).await
    }
}
