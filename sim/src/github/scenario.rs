//! The GitHub simulator's scenario: which repositories exist with which history, refs,
//! workflows, pull requests and releases, and which rate limits to answer with.

use serde::Deserialize;
use std::collections::BTreeMap;

/// What the GitHub simulator starts with.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// Repositories that exist; every other `owner/name` answers 404, as for a token
    /// without access.
    pub repos: Vec<RepoSeed>,
    /// The repository setting "immutable releases": once published, a release takes no new
    /// or deleted assets, and its tag cannot change (title and notes stay editable).
    pub immutable_releases: bool,
    /// Tokens that authenticate; empty means any non-empty token does.
    pub tokens: Vec<String>,
    /// Rate-limit answers to give.
    pub rate_limits: Vec<RateLimit>,
    /// Only seeded commits exist. Off by default: any 7–40 digit hex sha is taken as an
    /// existing commit, so tests can deploy the sha of a throwaway local repository.
    pub strict_shas: bool,
    /// Primary limit reported in `x-ratelimit-limit` (GitHub: 5000/h per user, 1000/h per
    /// repository for `GITHUB_TOKEN`).
    pub rate_limit_total: Option<u64>,
}

impl Scenario {
    /// One empty repository (`owner/name`) on branch `main`.
    pub fn with_repo(name: &str) -> Scenario {
        Scenario {
            repos: vec![RepoSeed {
                name: name.to_string(),
                ..RepoSeed::default()
            }],
            ..Scenario::default()
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RepoSeed {
    /// `owner/name`.
    pub name: String,
    pub default_branch: String,
    /// History, oldest first; each commit's parent is the one before it unless it names its
    /// own. The default branch points at the last one unless `branches` says otherwise.
    pub commits: Vec<CommitSeed>,
    /// Branch name → sha.
    pub branches: BTreeMap<String, String>,
    /// Tag name → sha (lightweight tags).
    pub tags: BTreeMap<String, String>,
    /// Workflow files under `.github/workflows/` that can be dispatched.
    pub workflows: Vec<WorkflowSeed>,
    pub pulls: Vec<PullSeed>,
    /// Issue numbers that exist besides the pull requests' (a pull request is an issue too).
    pub issues: Vec<u64>,
    /// Comments already on issues or pull requests, oldest first.
    pub comments: Vec<CommentSeed>,
    /// Releases that exist before the test starts.
    pub releases: Vec<ReleaseSeed>,
    /// Commit-status contexts that are not green: a deployment that does not pass
    /// `required_contexts: []` is refused with 409 while any is listed.
    pub failing_contexts: Vec<String>,
    /// Workflow runs by id (`GET …/actions/runs/{id}`): `status` (`queued`, `in_progress`,
    /// `completed`, …) and `conclusion`; a run not listed answers 404.
    pub runs: BTreeMap<String, RunSeed>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RunSeed {
    pub status: String,
    pub conclusion: Option<String>,
}

impl Default for RepoSeed {
    fn default() -> Self {
        RepoSeed {
            name: String::new(),
            default_branch: "main".into(),
            commits: Vec::new(),
            branches: BTreeMap::new(),
            tags: BTreeMap::new(),
            workflows: Vec::new(),
            pulls: Vec::new(),
            issues: Vec::new(),
            comments: Vec::new(),
            releases: Vec::new(),
            failing_contexts: Vec::new(),
            runs: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CommitSeed {
    pub sha: String,
    pub message: String,
    pub author: Option<String>,
    pub email: Option<String>,
    /// The author's GitHub login, when the email maps to an account.
    pub login: Option<String>,
    pub parents: Option<Vec<String>>,
    /// RFC 3339; defaults to a fixed date plus the commit's index in minutes.
    pub date: Option<String>,
}

/// A workflow file name, or the file with its declared `workflow_dispatch` inputs.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum WorkflowSeed {
    File(String),
    Declared {
        file: String,
        /// Declared inputs; a dispatch with any other input is refused (422).
        inputs: Vec<String>,
    },
}

impl WorkflowSeed {
    pub fn file(&self) -> &str {
        match self {
            WorkflowSeed::File(f) | WorkflowSeed::Declared { file: f, .. } => f,
        }
    }
    pub fn inputs(&self) -> Option<&[String]> {
        match self {
            WorkflowSeed::File(_) => None,
            WorkflowSeed::Declared { inputs, .. } => Some(inputs),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PullSeed {
    pub number: u64,
    pub title: String,
    /// The author's login (default `octocat`).
    pub user: String,
    /// Head branch name (default `pr-<number>`).
    pub head: String,
    /// Commits of the pull request.
    pub commits: Vec<String>,
    /// The merge commit on the base branch, when merged.
    pub merge_commit: Option<String>,
    /// `open` or `closed`; default `closed` when merged, else `open`.
    pub state: Option<String>,
    /// Default: whether `merge_commit` is set.
    pub merged: Option<bool>,
    /// The head commit (default the last of `commits`).
    pub head_sha: Option<String>,
    /// `owner/name` of the fork the head branch lives in (default: this repository).
    pub head_repo: Option<String>,
}

impl PullSeed {
    pub fn is_merged(&self) -> bool {
        self.merged.unwrap_or(self.merge_commit.is_some())
    }
    /// A merged pull request is closed whatever the seed says.
    pub fn state(&self) -> &str {
        match self.state.as_deref() {
            _ if self.is_merged() => "closed",
            Some("closed") => "closed",
            _ => "open",
        }
    }
    pub fn head_sha(&self) -> String {
        self.head_sha
            .clone()
            .or_else(|| self.commits.last().cloned())
            .unwrap_or_default()
    }
    pub fn head_ref(&self) -> String {
        if self.head.is_empty() {
            format!("pr-{}", self.number)
        } else {
            self.head.clone()
        }
    }
    pub fn author(&self) -> &str {
        if self.user.is_empty() {
            "octocat"
        } else {
            &self.user
        }
    }
}

/// A comment already on an issue or pull request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CommentSeed {
    /// The issue or pull request number.
    pub issue: u64,
    pub body: String,
    /// Default `octocat`.
    pub user: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReleaseSeed {
    pub tag: String,
    pub name: Option<String>,
    pub body: Option<String>,
    pub draft: bool,
    pub prerelease: bool,
}

/// Answer some requests with GitHub's rate-limit response.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimit {
    /// 403 (GitHub's usual answer) or 429.
    pub status: u16,
    /// `primary` (`x-ratelimit-remaining: 0` + `x-ratelimit-reset`) or `secondary`
    /// (a "secondary rate limit" message, with `retry-after` when `retry_after` is set).
    pub kind: RateLimitKind,
    /// Only requests with this method (any when absent).
    pub method: Option<String>,
    /// Only requests whose path contains this (any when absent).
    pub path: Option<String>,
    /// Let this many matching requests through first.
    pub after: u32,
    /// Then refuse this many (0 = every one after that).
    pub times: u32,
    /// Primary limits: the window resets this many seconds after the refusal.
    pub reset_in_secs: u64,
    /// Secondary limits: the `retry-after` value.
    pub retry_after: Option<u64>,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            status: 403,
            kind: RateLimitKind::Primary,
            method: None,
            path: None,
            after: 0,
            times: 1,
            reset_in_secs: 60,
            retry_after: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RateLimitKind {
    #[default]
    Primary,
    Secondary,
}
