//! Issue comments (pull requests are issues): list with `Link` paging, create, edit.
//!
//! As on GitHub: comments are listed oldest first (`since` keeps those updated at or after
//! an instant); a body is required and at most 65,536 characters (422 `validation-error`
//! otherwise); the author of what a job token writes is `github-actions[bot]`, a `Bot`; a
//! number that is neither an issue nor a pull request is a 404, and so is a comment id
//! that does not exist.

use super::shape::{self, ACTOR};
use super::state::State;
use super::{created, invalid, json_response, lock, not_found, paged, parse_body, Shared};
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;

/// GitHub's limit on a comment body, in characters.
pub const MAX_BODY: usize = 65_536;

#[derive(Debug, Clone)]
pub struct CommentRec {
    pub id: u64,
    pub issue: u64,
    pub body: String,
    pub login: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CommentRec {
    pub fn new(id: u64, issue: u64, body: &str, login: &str, at: DateTime<Utc>) -> CommentRec {
        CommentRec {
            id,
            issue,
            body: body.to_string(),
            login: login.to_string(),
            created_at: at,
            updated_at: at,
        }
    }
}

/// The `body` of a create or edit, or GitHub's 422.
fn body_of(v: &Value) -> Result<String, Response> {
    let Some(body) = v.get("body").and_then(Value::as_str) else {
        return Err(invalid("IssueComment", "body", "missing_field", None));
    };
    if body.chars().count() > MAX_BODY {
        return Err(invalid(
            "IssueComment",
            "data",
            "unprocessable",
            Some("Body is too long (maximum is 65536 characters)"),
        ));
    }
    Ok(body.to_string())
}

pub async fn list(
    AxState(shared): AxState<Shared>,
    Path((owner, name, number)): Path<(String, String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    let Some(n) = number.parse::<u64>().ok().filter(|n| repo.has_issue(*n)) else {
        return not_found();
    };
    let since = match query.get("since") {
        None => None,
        Some(t) => match DateTime::parse_from_rfc3339(t) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => return invalid("IssueComment", "since", "invalid", None),
        },
    };
    let items = repo
        .comments
        .iter()
        .filter(|c| c.issue == n && since.is_none_or(|t| c.updated_at >= t))
        .map(|c| shape::comment(&s, repo, c))
        .collect();
    let path = format!("/repos/{}/issues/{n}/comments", repo.full_name());
    paged(items, &query, &s.api, &path)
}

pub async fn create(
    AxState(shared): AxState<Shared>,
    Path((owner, name, number)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let v = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut guard = lock(&shared);
    let s: &mut State = &mut guard;
    let Some(n) = s
        .repo(&owner, &name)
        .and_then(|r| number.parse::<u64>().ok().filter(|n| r.has_issue(*n)))
    else {
        return not_found();
    };
    let text = match body_of(&v) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let id = s.id();
    let rec = CommentRec::new(id, n, &text, ACTOR, Utc::now());
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    let answer = shape::comment(s, repo, &rec);
    let location = format!("{}/issues/comments/{id}", shape::repo_api(s, repo));
    if let Some(r) = s.repo_mut(&owner, &name) {
        r.comments.push(rec);
    }
    created(&location, answer)
}

/// `PATCH /issues/comments/{id} {"body"}` → 200 with the comment.
pub async fn update(
    AxState(shared): AxState<Shared>,
    Path((owner, name, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let v = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut guard = lock(&shared);
    let s: &mut State = &mut guard;
    let Some(repo) = s.repo_mut(&owner, &name) else {
        return not_found();
    };
    let Some(c) = repo.comments.iter_mut().find(|c| id.parse() == Ok(c.id)) else {
        return not_found();
    };
    let text = match body_of(&v) {
        Ok(t) => t,
        Err(r) => return r,
    };
    c.body = text;
    c.updated_at = Utc::now();
    let c = c.clone();
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    json_response(StatusCode::OK, shape::comment(s, repo, &c))
}
