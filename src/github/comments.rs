//! Pull-request (issue) comments and a pull request's state: what `stage-gate preview` needs
//! for its one comment per pull request, edited in place, and for sweeping closed ones.

use super::commits::Login;
use super::{GitHub, GithubError};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

/// GitHub refuses a comment body longer than this.
pub const MAX_COMMENT: usize = 65_536;

/// `issue-comment` (the parts we read).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub user: Option<Login>,
    pub html_url: String,
}

/// `pull-request` (the parts we read).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    /// `open` or `closed`.
    pub state: String,
    #[serde(default)]
    pub merged: Option<bool>,
    #[serde(default)]
    pub closed_at: Option<String>,
    pub head: PullHead,
    pub html_url: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PullHead {
    pub sha: String,
    #[serde(rename = "ref", default)]
    pub git_ref: Option<String>,
    /// The repository the head branch lives in; None when the fork was deleted.
    #[serde(default)]
    pub repo: Option<PullRepo>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PullRepo {
    pub full_name: String,
}

impl GitHub {
    /// Every comment of issue or pull request `number`, oldest first (at most 3000).
    pub(crate) async fn list_comments(&self, number: u64) -> Result<Vec<Comment>, GithubError> {
        let url = self.repo_url(&["issues", &number.to_string(), "comments"]);
        self.list("list pull request comments", url, 3000).await
    }

    /// A new comment. Not idempotent: a lost answer is looked up by the caller's marker.
    pub(crate) async fn create_comment(
        &self,
        number: u64,
        body: &str,
    ) -> Result<Comment, GithubError> {
        let url = self.repo_url(&["issues", &number.to_string(), "comments"]);
        let body = json!({ "body": body });
        self.call(
            "comment on a pull request",
            Method::POST,
            url,
            Some(&body),
            false,
        )
        .await
    }

    /// Replace a comment's body (idempotent: the same body twice is the same comment).
    pub(crate) async fn edit_comment(&self, id: u64, body: &str) -> Result<Comment, GithubError> {
        let url = self.repo_url(&["issues", "comments", &id.to_string()]);
        let body = json!({ "body": body });
        self.call(
            "edit a pull request comment",
            Method::PATCH,
            url,
            Some(&body),
            true,
        )
        .await
    }

    /// Pull request `number`, or None when there is none.
    pub(crate) async fn pull_request(
        &self,
        number: u64,
    ) -> Result<Option<PullRequest>, GithubError> {
        let url = self.repo_url(&["pulls", &number.to_string()]);
        self.get_optional("get a pull request", url).await
    }
}
