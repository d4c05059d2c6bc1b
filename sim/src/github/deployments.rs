//! Deployments and deployment statuses.
//!
//! As on GitHub: `auto_merge` defaults to true (a branch behind the default branch answers
//! 202 "Auto-merged …", and no deployment is created); omitting `required_contexts` means
//! every commit status must be green (409 otherwise); a `success` status with
//! `auto_inactive` (default true) marks earlier successful non-transient, non-production
//! deployments of the same environment `inactive`.

use super::shape;
use super::state::{DeploymentRec, StatusRec};
use super::{
    created, invalid, json_response, lock, not_found, paged, parse_body, unprocessable, Shared,
    DOCS,
};
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const STATES: [&str; 7] = [
    "error",
    "failure",
    "inactive",
    "in_progress",
    "queued",
    "pending",
    "success",
];
const MAX_DESCRIPTION: usize = 140;

pub async fn create(
    AxState(shared): AxState<Shared>,
    Path((owner, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let v = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut guard = lock(&shared);
    let s = &mut *guard;
    let id = s.id();
    let Some(repo) = s.repo(&owner, &name).cloned() else {
        return not_found();
    };
    let Some(git_ref) = v
        .get("ref")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
    else {
        return invalid("Deployment", "ref", "missing_field", None);
    };
    let Some(sha) = s.resolve(&repo, git_ref) else {
        return unprocessable(&format!("No ref found for: {git_ref}"));
    };
    let auto_merge = v.get("auto_merge").and_then(Value::as_bool).unwrap_or(true);
    let is_branch = repo.branch(git_ref).is_some() && git_ref != repo.default_branch;
    let default_head = repo.branch(&repo.default_branch).cloned();
    if auto_merge
        && is_branch
        && default_head
            .as_deref()
            .is_some_and(|h| !repo.ancestors(&sha).contains(&h))
    {
        return json_response(
            StatusCode::ACCEPTED,
            json!({"message": format!("Auto-merged {} into {git_ref} on deployment.", repo.default_branch)}),
        );
    }
    if v.get("required_contexts").is_none() && !repo.failing_contexts.is_empty() {
        return json_response(
            StatusCode::CONFLICT,
            json!({
                "message": format!("Conflict: Commit status checks failed for {git_ref}."),
                "errors": [{"contexts": repo.failing_contexts.iter().map(|c| json!({"context": c, "state": "failure"})).collect::<Vec<_>>(),
                            "resource": "Deployment", "field": "required_contexts", "code": "invalid"}],
                "documentation_url": DOCS,
            }),
        );
    }
    let environment = v
        .get("environment")
        .and_then(Value::as_str)
        .unwrap_or("production")
        .to_string();
    let now = Utc::now();
    let rec = DeploymentRec {
        id,
        sha,
        git_ref: git_ref.to_string(),
        task: v
            .get("task")
            .and_then(Value::as_str)
            .unwrap_or("deploy")
            .to_string(),
        payload: v.get("payload").cloned().unwrap_or_else(|| json!({})),
        original_environment: environment.clone(),
        production_environment: v
            .get("production_environment")
            .and_then(Value::as_bool)
            .unwrap_or(environment == "production"),
        environment,
        description: v
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        transient_environment: v
            .get("transient_environment")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        created_at: now,
        updated_at: now,
        statuses: Vec::new(),
    };
    let answer = shape::deployment(s, &repo, &rec);
    let location = format!("{}/deployments/{id}", shape::repo_api(s, &repo));
    if let Some(r) = s.repo_mut(&owner, &name) {
        r.deployments.push(rec);
    }
    created(&location, answer)
}

pub async fn list(
    AxState(shared): AxState<Shared>,
    Path((owner, name)): Path<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    let matches = |d: &&DeploymentRec| {
        query.get("sha").is_none_or(|v| *v == d.sha)
            && query.get("ref").is_none_or(|v| *v == d.git_ref)
            && query.get("task").is_none_or(|v| *v == d.task)
            && query.get("environment").is_none_or(|v| *v == d.environment)
    };
    let items = repo
        .deployments
        .iter()
        .rev()
        .filter(matches)
        .map(|d| shape::deployment(&s, repo, d))
        .collect();
    let path = format!("/repos/{}/deployments", repo.full_name());
    paged(items, &query, &s.api, &path)
}

pub async fn get_one(
    AxState(shared): AxState<Shared>,
    Path((owner, name, id)): Path<(String, String, String)>,
) -> Response {
    let s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    match repo.deployments.iter().find(|d| id.parse() == Ok(d.id)) {
        Some(d) => json_response(StatusCode::OK, shape::deployment(&s, repo, d)),
        None => not_found(),
    }
}

pub async fn create_status(
    AxState(shared): AxState<Shared>,
    Path((owner, name, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let v = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut guard = lock(&shared);
    let s = &mut *guard;
    let status_id = s.id();
    let Some(mut repo) = s.repo(&owner, &name).cloned() else {
        return not_found();
    };
    let Some(deployment_id) = id
        .parse::<u64>()
        .ok()
        .filter(|id| repo.deployments.iter().any(|d| d.id == *id))
    else {
        return not_found();
    };
    let state = v.get("state").and_then(Value::as_str).unwrap_or("");
    if !STATES.contains(&state) {
        return invalid("DeploymentStatus", "state", "invalid", None);
    }
    let text = |key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    let description = text("description");
    if description.chars().count() > MAX_DESCRIPTION {
        return invalid(
            "DeploymentStatus",
            "description",
            "custom",
            Some("description is too long (maximum is 140 characters)"),
        );
    }
    let auto_inactive = v
        .get("auto_inactive")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let now = Utc::now();
    let Some(d) = repo.deployment_mut(deployment_id) else {
        return not_found();
    };
    if let Some(env) = v.get("environment").and_then(Value::as_str) {
        d.environment = env.to_string();
    }
    d.updated_at = now;
    let st = StatusRec {
        id: status_id,
        state: state.to_string(),
        description,
        environment: d.environment.clone(),
        target_url: text("target_url"),
        log_url: {
            let l = text("log_url");
            if l.is_empty() {
                text("target_url")
            } else {
                l
            }
        },
        environment_url: text("environment_url"),
        created_at: now,
    };
    d.statuses.push(st.clone());
    let d = d.clone();
    if state == "success" && auto_inactive {
        deactivate_older(s, &mut repo, &d);
    }
    let answer = shape::status(s, &repo, &d, &st);
    let location = format!(
        "{}/deployments/{deployment_id}/statuses/{status_id}",
        shape::repo_api(s, &repo)
    );
    if let Some(r) = s.repo_mut(&owner, &name) {
        *r = repo;
    }
    created(&location, answer)
}

/// Earlier deployments of the environment that had a `success` status (and are not
/// inactive yet) get an `inactive` one; transient and production deployments are left alone
/// (GitHub docs, "Create a deployment status", `auto_inactive`). A transient environment's
/// deployments must be made inactive by whoever ends them.
fn deactivate_older(
    s: &mut super::state::State,
    repo: &mut super::state::Repo,
    current: &DeploymentRec,
) {
    let now = Utc::now();
    let ids: Vec<u64> = repo
        .deployments
        .iter()
        .filter(|d| d.id != current.id && d.environment == current.environment)
        .filter(|d| !d.transient_environment && !d.production_environment)
        .filter(|d| d.statuses.iter().any(|st| st.state == "success"))
        .filter(|d| d.statuses.last().is_some_and(|st| st.state != "inactive"))
        .map(|d| d.id)
        .collect();
    for id in ids {
        let sid = s.id();
        if let Some(d) = repo.deployment_mut(id) {
            d.statuses.push(StatusRec {
                id: sid,
                state: "inactive".into(),
                description: String::new(),
                environment: d.environment.clone(),
                target_url: String::new(),
                log_url: String::new(),
                environment_url: String::new(),
                created_at: now,
            });
        }
    }
}

pub async fn list_statuses(
    AxState(shared): AxState<Shared>,
    Path((owner, name, id)): Path<(String, String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    let Some(d) = repo.deployments.iter().find(|d| id.parse() == Ok(d.id)) else {
        return not_found();
    };
    let items = d
        .statuses
        .iter()
        .rev()
        .map(|st| shape::status(&s, repo, d, st))
        .collect();
    let path = format!("/repos/{}/deployments/{}/statuses", repo.full_name(), d.id);
    paged(items, &query, &s.api, &path)
}

pub async fn get_status(
    AxState(shared): AxState<Shared>,
    Path((owner, name, id, status_id)): Path<(String, String, String, String)>,
) -> Response {
    let s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    let Some(d) = repo.deployments.iter().find(|d| id.parse() == Ok(d.id)) else {
        return not_found();
    };
    match d.statuses.iter().find(|st| status_id.parse() == Ok(st.id)) {
        Some(st) => json_response(StatusCode::OK, shape::status(&s, repo, d, st)),
        None => not_found(),
    }
}
