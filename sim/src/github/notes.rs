//! `POST …/releases/generate-notes`: GitHub's generated notes, from the seeded history and
//! pull requests.

use super::shape;
use super::{invalid, lock, not_found, parse_body, Shared};
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

type RepoPath = Path<(String, String)>;

/// `POST …/releases/generate-notes`: pull requests merged between the previous tag and this
/// one, in GitHub's layout. Nothing is saved.
pub async fn generate_notes(
    AxState(shared): AxState<Shared>,
    Path((owner, name)): RepoPath,
    body: Bytes,
) -> Response {
    let v = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    let Some(tag) = v
        .get("tag_name")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    else {
        return invalid("Release", "tag_name", "missing_field", None);
    };
    let target = v
        .get("target_commitish")
        .and_then(Value::as_str)
        .unwrap_or(&repo.default_branch);
    let Some(head) = repo.tag(tag).cloned().or_else(|| s.resolve(repo, target)) else {
        return not_found();
    };
    let previous = v.get("previous_tag_name").and_then(Value::as_str);
    let stop = match previous {
        Some(p) => match repo.tag(p) {
            Some(sha) => Some(sha.clone()),
            None => return not_found(),
        },
        None => None,
    };
    let web = shape::repo_web(&s, repo);
    let mut lines = Vec::new();
    let mut seen = Vec::new();
    for c in repo.history(&head, stop.as_deref()) {
        let pr = repo.pulls.iter().find(|p| {
            p.merge_commit.as_deref() == Some(c.sha.as_str()) || p.commits.contains(&c.sha)
        });
        if let Some(p) = pr {
            if !seen.contains(&p.number) {
                seen.push(p.number);
                lines.push(format!(
                    "* {} by @{} in {web}/pull/{}",
                    p.title, p.user, p.number
                ));
            }
        }
    }
    let mut body = String::new();
    if !lines.is_empty() {
        body.push_str("## What's Changed\n");
        body.push_str(&lines.join("\n"));
        body.push_str("\n\n");
    }
    match previous {
        Some(p) => body.push_str(&format!("**Full Changelog**: {web}/compare/{p}...{tag}")),
        None => body.push_str(&format!("**Full Changelog**: {web}/commits/{tag}")),
    }
    super::json_response(StatusCode::OK, json!({"name": tag, "body": body}))
}
