//! Refs, tags, commits, compare, pull requests of a commit, workflows and dispatch, and
//! `GET /rate_limit`.

use super::shape;
use super::{
    created, invalid, json_response, lock, no_content, not_found, paged, parse_body, unprocessable,
    Shared,
};
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// `GET /repos/{owner}/{repo}/actions/runs/{run_id}`: the fields of a `workflow-run` a
/// deployer reads (id, status, conclusion, urls), from the scenario's `runs`.
pub async fn get_run(
    AxState(shared): AxState<Shared>,
    Path((owner, name, run_id)): OnePath,
) -> Response {
    let s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    let Some(run) = repo.runs.get(&run_id) else {
        return not_found();
    };
    let id: u64 = run_id.parse().unwrap_or(0);
    json_response(
        StatusCode::OK,
        json!({
            "id": id,
            "name": "deploy",
            "status": run.status,
            "conclusion": run.conclusion,
            "html_url": format!("https://github.com/{owner}/{name}/actions/runs/{run_id}"),
            "url": format!("{}/repos/{owner}/{name}/actions/runs/{run_id}", s.api),
            "run_attempt": 1,
        }),
    )
}

/// GitHub refuses a dispatch with more inputs than this.
const MAX_INPUTS: usize = 25;

type RepoPath = Path<(String, String)>;
type OnePath = Path<(String, String, String)>;

pub async fn rate_limit(AxState(shared): AxState<Shared>) -> Response {
    let (limit, remaining, used, reset) = lock(&shared).rate_snapshot();
    let core = json!({"limit": limit, "remaining": remaining, "used": used, "reset": reset, "resource": "core"});
    let search =
        json!({"limit": 30, "remaining": 30, "used": 0, "reset": reset, "resource": "search"});
    json_response(
        StatusCode::OK,
        json!({"resources": {"core": core, "search": search}, "rate": core}),
    )
}

pub async fn list_workflows(
    AxState(shared): AxState<Shared>,
    Path((owner, name)): RepoPath,
) -> Response {
    let s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    let workflows: Vec<Value> = repo
        .workflows
        .iter()
        .enumerate()
        .map(|(i, w)| shape::workflow(&s, repo, i, w.file()))
        .collect();
    json_response(
        StatusCode::OK,
        json!({"total_count": workflows.len(), "workflows": workflows}),
    )
}

/// `POST …/actions/workflows/{id or file}/dispatches`: 204, or 200 with the run when
/// `return_run_details` is true (always, on API version 2026-03-10).
pub async fn dispatch(
    AxState(shared): AxState<Shared>,
    Path((owner, name, workflow_id)): OnePath,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    // From API version 2026-03-10 the run is always reported and the flag is gone.
    let always_details = headers
        .get("x-github-api-version")
        .and_then(|v| v.to_str().ok())
        == Some("2026-03-10");
    let v = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut guard = lock(&shared);
    let s = &mut *guard;
    let run_id = s.id();
    let Some(repo) = s.repo(&owner, &name).cloned() else {
        return not_found();
    };
    let found = repo.workflows.iter().enumerate().find(|(i, w)| {
        w.file() == workflow_id || (7_000_000 + *i as u64).to_string() == workflow_id
    });
    let Some((_, workflow)) = found else {
        return not_found();
    };
    let Some(git_ref) = v
        .get("ref")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
    else {
        return invalid("WorkflowDispatch", "ref", "missing_field", None);
    };
    // Dispatch takes a branch or tag, not a sha.
    let named = [
        git_ref.to_string(),
        format!("refs/heads/{git_ref}"),
        format!("refs/tags/{git_ref}"),
    ]
    .iter()
    .any(|r| repo.refs.contains_key(r));
    if !named {
        return unprocessable(&format!("No ref found for: {git_ref}"));
    }
    let inputs = v.get("inputs").cloned().unwrap_or_else(|| json!({}));
    let Some(map) = inputs.as_object() else {
        return invalid("WorkflowDispatch", "inputs", "invalid", None);
    };
    if map.len() > MAX_INPUTS {
        return unprocessable(&format!(
            "you may only define up to {MAX_INPUTS} `inputs` for a `workflow_dispatch` event"
        ));
    }
    if let Some(declared) = workflow.inputs() {
        let unexpected: Vec<&String> = map.keys().filter(|k| !declared.contains(k)).collect();
        if !unexpected.is_empty() {
            return unprocessable(&format!("Unexpected inputs provided: {:?}", unexpected));
        }
    }
    let file = workflow.file().to_string();
    let web = shape::repo_web(s, &repo);
    let api = shape::repo_api(s, &repo);
    if let Some(r) = s.repo_mut(&owner, &name) {
        r.dispatches.push(super::state::Dispatch {
            workflow: file,
            git_ref: git_ref.to_string(),
            inputs: inputs.clone(),
        });
    }
    if always_details || v.get("return_run_details").and_then(Value::as_bool) == Some(true) {
        return json_response(
            StatusCode::OK,
            json!({
                "workflow_run_id": run_id,
                "run_url": format!("{api}/actions/runs/{run_id}"),
                "html_url": format!("{web}/actions/runs/{run_id}"),
            }),
        );
    }
    no_content()
}

/// `GET …/git/ref/{ref}`: `heads/<branch>` or `tags/<tag>`, exact.
pub async fn get_ref(
    AxState(shared): AxState<Shared>,
    Path((owner, name, git_ref)): OnePath,
) -> Response {
    let s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    let full = format!("refs/{}", git_ref.trim_start_matches('/'));
    match repo.refs.get(&full) {
        Some(sha) => json_response(StatusCode::OK, shape::git_ref(&s, repo, &full, sha)),
        None => not_found(),
    }
}

/// `POST …/git/refs` with `{ref: "refs/…", sha}`; 422 when it exists.
pub async fn create_ref(
    AxState(shared): AxState<Shared>,
    Path((owner, name)): RepoPath,
    body: Bytes,
) -> Response {
    let v = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name).cloned() else {
        return not_found();
    };
    let full = v.get("ref").and_then(Value::as_str).unwrap_or("");
    let sha = v.get("sha").and_then(Value::as_str).unwrap_or("");
    if !full.starts_with("refs/") || full.matches('/').count() < 2 || full.ends_with('/') {
        return unprocessable(&format!("{full} is not a valid ref name."));
    }
    if repo.refs.contains_key(full) {
        return unprocessable("Reference already exists");
    }
    let known = repo.commit(sha).is_some()
        || (!s.strict_shas && sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()));
    if !known {
        return unprocessable("Object does not exist");
    }
    let answer = shape::git_ref(&s, &repo, full, sha);
    let location = format!("{}/git/{full}", shape::repo_api(&s, &repo));
    if let Some(r) = s.repo_mut(&owner, &name) {
        r.refs.insert(full.to_string(), sha.to_string());
    }
    created(&location, answer)
}

/// `PATCH …/git/refs/{ref}` with `{sha, force}`; a non-fast-forward needs `force`.
pub async fn update_ref(
    AxState(shared): AxState<Shared>,
    Path((owner, name, git_ref)): OnePath,
    body: Bytes,
) -> Response {
    let v = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name).cloned() else {
        return not_found();
    };
    let full = format!("refs/{}", git_ref.trim_start_matches('/'));
    let Some(old) = repo.refs.get(&full) else {
        return unprocessable("Reference does not exist");
    };
    let Some(sha) = v
        .get("sha")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return invalid("Reference", "sha", "missing_field", None);
    };
    let force = v.get("force").and_then(Value::as_bool).unwrap_or(false);
    if !force && !repo.ancestors(sha).contains(&old.as_str()) {
        return unprocessable("Update is not a fast forward");
    }
    let answer = shape::git_ref(&s, &repo, &full, sha);
    if let Some(r) = s.repo_mut(&owner, &name) {
        r.refs.insert(full, sha.to_string());
    }
    json_response(StatusCode::OK, answer)
}

/// `GET …/tags`, newest name first (GitHub sorts tag names in reverse).
pub async fn list_tags(
    AxState(shared): AxState<Shared>,
    Path((owner, name)): RepoPath,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    let items = repo
        .refs
        .iter()
        .rev()
        .filter_map(|(r, sha)| Some((r.strip_prefix("refs/tags/")?, sha)))
        .map(|(t, sha)| shape::tag(&s, repo, t, sha))
        .collect();
    let path = format!("/repos/{}/tags", repo.full_name());
    paged(items, &query, &s.api, &path)
}

pub async fn get_commit(
    AxState(shared): AxState<Shared>,
    Path((owner, name, git_ref)): OnePath,
) -> Response {
    let s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    match s.resolve(repo, &git_ref) {
        Some(sha) => json_response(StatusCode::OK, shape::commit(&s, repo, &sha)),
        None => unprocessable(&format!("No commit found for SHA: {git_ref}")),
    }
}

/// `GET …/compare/{base}...{head}`.
pub async fn compare(
    AxState(shared): AxState<Shared>,
    Path((owner, name, basehead)): OnePath,
) -> Response {
    let s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    let Some((base, head)) = basehead.split_once("...") else {
        return not_found();
    };
    let (Some(base_sha), Some(head_sha)) = (s.resolve(repo, base), s.resolve(repo, head)) else {
        return not_found();
    };
    let ahead = repo.history(&head_sha, Some(&base_sha));
    let behind = repo.history(&base_sha, Some(&head_sha));
    let status = match (ahead.len(), behind.len()) {
        (0, 0) => "identical",
        (_, 0) => "ahead",
        (0, _) => "behind",
        _ => "diverged",
    };
    let base_ancestors = repo.ancestors(&base_sha);
    let merge_base = repo
        .ancestors(&head_sha)
        .into_iter()
        .find(|a| base_ancestors.contains(a))
        .unwrap_or(&base_sha)
        .to_string();
    // Oldest first, at most 250, as GitHub returns them without paging.
    let commits: Vec<Value> = ahead
        .iter()
        .rev()
        .take(250)
        .map(|c| shape::commit(&s, repo, &c.sha))
        .collect();
    let web = shape::repo_web(&s, repo);
    json_response(
        StatusCode::OK,
        json!({
            "url": format!("{}/compare/{basehead}", shape::repo_api(&s, repo)),
            "html_url": format!("{web}/compare/{basehead}"),
            "permalink_url": format!("{web}/compare/{base_sha}...{head_sha}"),
            "diff_url": format!("{web}/compare/{basehead}.diff"),
            "patch_url": format!("{web}/compare/{basehead}.patch"),
            "base_commit": shape::commit(&s, repo, &base_sha),
            "merge_base_commit": shape::commit(&s, repo, &merge_base),
            "status": status,
            "ahead_by": ahead.len(),
            "behind_by": behind.len(),
            "total_commits": ahead.len(),
            "commits": commits,
            "files": [],
        }),
    )
}

pub async fn pulls_for_commit(
    AxState(shared): AxState<Shared>,
    Path((owner, name, sha)): OnePath,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    let Some(sha) = s.resolve(repo, &sha) else {
        return unprocessable(&format!("No commit found for SHA: {sha}"));
    };
    let items = repo
        .pulls
        .iter()
        .filter(|p| p.merge_commit.as_deref() == Some(sha.as_str()) || p.commits.contains(&sha))
        .map(|p| shape::pull(&s, repo, p))
        .collect();
    let path = format!("/repos/{}/commits/{sha}/pulls", repo.full_name());
    paged(items, &query, &s.api, &path)
}
