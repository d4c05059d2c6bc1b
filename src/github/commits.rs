//! Commits: one commit, a comparison of two refs, and the pull requests of a commit.
//! Small DTOs of our own: octocrab's pull-request model needs far more than we read.

use super::{GitHub, GithubError};
use reqwest::Method;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct GitPerson {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct CommitDetail {
    pub message: String,
    #[serde(default)]
    pub author: Option<GitPerson>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Login {
    pub login: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ParentRef {
    pub sha: String,
}

/// `commit` as GitHub returns it (the parts we read).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct CommitInfo {
    pub sha: String,
    pub html_url: String,
    pub commit: CommitDetail,
    /// The GitHub account, when the commit email maps to one.
    #[serde(default)]
    pub author: Option<Login>,
    #[serde(default)]
    pub parents: Vec<ParentRef>,
}

/// `commit-comparison` (the parts we read). At most 250 commits come without paging.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Comparison {
    /// `diverged`, `ahead`, `behind` or `identical`.
    pub status: String,
    pub ahead_by: u64,
    pub behind_by: u64,
    pub total_commits: u64,
    pub html_url: String,
    pub commits: Vec<CommitInfo>,
}

/// `pull-request-simple` (the parts we read).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PullSummary {
    pub number: u64,
    pub title: String,
    pub html_url: String,
    pub state: String,
    #[serde(default)]
    pub user: Option<Login>,
    #[serde(default)]
    pub merged_at: Option<String>,
}

impl GitHub {
    /// `GET …/commits/{ref}`: a sha, branch or tag.
    pub async fn get_commit(&self, git_ref: &str) -> Result<CommitInfo, GithubError> {
        let url = self.repo_url(&["commits", git_ref]);
        self.call("get commit", Method::GET, url, None, true).await
    }

    /// `GET …/compare/{base}...{head}`.
    pub(crate) async fn compare(&self, base: &str, head: &str) -> Result<Comparison, GithubError> {
        let url = self.repo_url(&["compare", &format!("{base}...{head}")]);
        self.call("compare commits", Method::GET, url, None, true)
            .await
    }

    /// Pull requests that contain `sha` (merged ones included).
    pub async fn pulls_for_commit(&self, sha: &str) -> Result<Vec<PullSummary>, GithubError> {
        let url = self.repo_url(&["commits", sha, "pulls"]);
        self.list("list pull requests for a commit", url, usize::MAX)
            .await
    }
}
