//! The pull-request event a preview job runs on (`GITHUB_EVENT_PATH`): which pull request,
//! which commit, whether it closed, and whether it comes from a fork.

use serde::Deserialize;
use std::path::Path;

/// What `preview` takes from a `pull_request` (or `pull_request_target`) event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestEvent {
    /// `opened`, `synchronize`, `reopened`, `closed`, …
    pub action: String,
    pub number: u64,
    /// The pull request's head commit (GITHUB_SHA is the test merge commit instead).
    pub head_sha: String,
    /// `owner/name` of the head repository; None when the fork was deleted.
    pub head_repository: Option<String>,
    pub base_repository: String,
    pub merged: bool,
}

impl PullRequestEvent {
    /// A pull request from another repository: its job has no secrets.
    pub fn from_fork(&self) -> bool {
        self.head_repository.as_deref() != Some(self.base_repository.as_str())
    }

    pub fn closed(&self) -> bool {
        self.action == "closed"
    }
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    action: String,
    pull_request: RawPull,
}

#[derive(Deserialize)]
struct RawPull {
    number: u64,
    #[serde(default)]
    merged: Option<bool>,
    head: RawSide,
    base: RawSide,
}

#[derive(Deserialize)]
struct RawSide {
    sha: String,
    #[serde(default)]
    repo: Option<RawRepo>,
}

#[derive(Deserialize)]
struct RawRepo {
    full_name: String,
}

/// Read the event file of a pull-request event.
pub fn read(path: &Path) -> Result<PullRequestEvent, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the event file {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn parse(text: &str) -> Result<PullRequestEvent, String> {
    let raw: Raw = serde_json::from_str(text)
        .map_err(|e| format!("not a pull_request event payload ({e})"))?;
    let p = raw.pull_request;
    Ok(PullRequestEvent {
        action: raw.action,
        number: p.number,
        head_sha: p.head.sha,
        head_repository: p.head.repo.map(|r| r.full_name),
        base_repository: p.base.repo.map(|r| r.full_name).unwrap_or_default(),
        merged: p.merged.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fork_and_a_close_are_told_apart() {
        let same = r#"{"action":"synchronize","pull_request":{"number":7,"merged":false,
            "head":{"sha":"abc","repo":{"full_name":"acme/shop"}},
            "base":{"sha":"def","repo":{"full_name":"acme/shop"}}}}"#;
        let e = parse(same).unwrap();
        assert_eq!((e.number, e.head_sha.as_str()), (7, "abc"));
        assert!(!e.from_fork() && !e.closed());
        let fork = same
            .replace(
                r#""head":{"sha":"abc","repo":{"full_name":"acme/shop"}}"#,
                r#""head":{"sha":"abc","repo":{"full_name":"mallory/shop"}}"#,
            )
            .replace("synchronize", "closed");
        let e = parse(&fork).unwrap();
        assert!(e.from_fork() && e.closed());
        let deleted_fork = same.replace(
            r#""head":{"sha":"abc","repo":{"full_name":"acme/shop"}}"#,
            r#""head":{"sha":"abc","repo":null}"#,
        );
        assert!(parse(&deleted_fork).unwrap().from_fork());
        assert!(parse(r#"{"action":"push"}"#).is_err());
    }
}
