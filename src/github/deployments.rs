//! Deployments and deployment statuses: the record of what ran where.
//!
//! Deployments are always created with `auto_merge: false` and `required_contexts: []`:
//! stage-gate runs after CI, so GitHub must neither merge the default branch into the ref
//! nor re-check commit statuses (either would make the API refuse or alter the deploy).

use super::{GitHub, GithubError};
use octocrab::models::repos::{Deployment, DeploymentStatus, DeploymentStatusState};
use reqwest::{Method, StatusCode};
use serde::Serialize;

/// GitHub keeps at most this many characters of a status description.
const MAX_DESCRIPTION: usize = 140;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NewDeployment {
    /// A sha, branch or tag.
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub task: String,
    pub environment: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub payload: serde_json::Value,
    pub transient_environment: bool,
    pub production_environment: bool,
}

impl NewDeployment {
    pub(crate) fn new(git_ref: impl Into<String>, environment: impl Into<String>) -> Self {
        let environment = environment.into();
        NewDeployment {
            git_ref: git_ref.into(),
            task: "deploy".into(),
            production_environment: environment == "production",
            environment,
            description: None,
            payload: serde_json::json!({}),
            transient_environment: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NewDeploymentStatus {
    pub state: DeploymentStatusState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// GitHub's default (true) marks earlier successful deployments of the environment
    /// inactive when this one succeeds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_inactive: Option<bool>,
}

impl NewDeploymentStatus {
    pub(crate) fn new(state: DeploymentStatusState) -> Self {
        NewDeploymentStatus {
            state,
            log_url: None,
            environment_url: None,
            description: None,
            environment: None,
            auto_inactive: None,
        }
    }
}

/// Filters of `GET …/deployments`; `None` filters nothing.
#[derive(Debug, Clone, Default)]
pub struct DeploymentFilter {
    pub sha: Option<String>,
    pub git_ref: Option<String>,
    pub task: Option<String>,
    pub environment: Option<String>,
}

impl GitHub {
    /// Create a deployment. GitHub's 202 ("auto-merged, no deployment created") cannot
    /// happen with `auto_merge: false`, but if it does nothing was created, so asking once
    /// more is safe; a second 202 is an error.
    pub(crate) async fn create_deployment(
        &self,
        new: &NewDeployment,
    ) -> Result<Deployment, GithubError> {
        let mut body = serde_json::to_value(new).unwrap_or_default();
        body["auto_merge"] = false.into();
        body["required_contexts"] = serde_json::json!([]);
        let op = "create deployment";
        for _ in 0..2 {
            let url = self.repo_url(&["deployments"]);
            let response = self.send(op, Method::POST, url, Some(&body), false).await?;
            if response.status() == StatusCode::ACCEPTED {
                continue;
            }
            return self.decode(op, response).await;
        }
        Err(GithubError::Api {
            op,
            status: 202,
            message: format!(
                "GitHub answered 202 twice for ref `{}`: no deployment was created",
                new.git_ref
            ),
            errors: Vec::new(),
        })
    }

    /// Deployments matching `filter`, newest first, at most `max`.
    pub(crate) async fn list_deployments(
        &self,
        filter: &DeploymentFilter,
        max: usize,
    ) -> Result<Vec<Deployment>, GithubError> {
        self.list_deployments_until(filter, max, |_| false).await
    }

    /// Deployments newest first, page by page, until `enough` says so or `max` were read.
    pub(crate) async fn list_deployments_until(
        &self,
        filter: &DeploymentFilter,
        max: usize,
        enough: impl Fn(&[Deployment]) -> bool,
    ) -> Result<Vec<Deployment>, GithubError> {
        let mut url = self.repo_url(&["deployments"]);
        {
            let mut q = url.query_pairs_mut();
            for (key, value) in [
                ("sha", &filter.sha),
                ("ref", &filter.git_ref),
                ("task", &filter.task),
                ("environment", &filter.environment),
            ] {
                if let Some(v) = value {
                    q.append_pair(key, v);
                }
            }
        }
        self.list_until("list deployments", url, max, enough).await
    }

    pub async fn get_deployment(&self, id: u64) -> Result<Deployment, GithubError> {
        let url = self.repo_url(&["deployments", &id.to_string()]);
        self.call("get deployment", Method::GET, url, None, true)
            .await
    }

    /// Add a status. Not idempotent in GitHub's eyes (each call adds one), but a repeated
    /// status with the same state is harmless, so transient failures are retried.
    pub(crate) async fn create_deployment_status(
        &self,
        deployment_id: u64,
        status: &NewDeploymentStatus,
    ) -> Result<DeploymentStatus, GithubError> {
        let mut status = status.clone();
        if let Some(d) = &mut status.description {
            // Redacted before the cut: a cut first could keep a piece of a secret.
            *d = self.http.redact(d);
            if d.chars().count() > MAX_DESCRIPTION {
                *d = d.chars().take(MAX_DESCRIPTION - 1).collect::<String>() + "…";
            }
        }
        let body = serde_json::to_value(&status).unwrap_or_default();
        let url = self.repo_url(&["deployments", &deployment_id.to_string(), "statuses"]);
        self.call(
            "create deployment status",
            Method::POST,
            url,
            Some(&body),
            true,
        )
        .await
    }

    /// Statuses of a deployment, newest first.
    pub(crate) async fn list_deployment_statuses(
        &self,
        deployment_id: u64,
    ) -> Result<Vec<DeploymentStatus>, GithubError> {
        let url = self.repo_url(&["deployments", &deployment_id.to_string(), "statuses"]);
        self.list("list deployment statuses", url, usize::MAX).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_is_inferred_and_serialised() {
        let d = NewDeployment::new("abc123", "production");
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["ref"], "abc123");
        assert_eq!(v["production_environment"], true);
        assert_eq!(v["task"], "deploy");
        let s = NewDeploymentStatus::new(DeploymentStatusState::InProgress);
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({"state": "in_progress"})
        );
    }
}
