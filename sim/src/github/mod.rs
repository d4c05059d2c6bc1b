//! The GitHub REST subset stage-gate calls, as the real service behaves (see
//! `tests/fixtures/specs/NOTES.md` §3): releases and their assets (on a separate uploads host),
//! generated notes, deployments and statuses, workflow dispatch, refs, tags, commits,
//! compare and the pull requests of a commit.
//!
//! Every response carries `x-ratelimit-*` headers; a scenario can ask for primary or
//! secondary rate-limit answers. `Authorization: Bearer …` or `token …` is required (401
//! `basic-error` otherwise). Repositories exist only when the scenario seeds them.
//!
//! This module owns its state and knows nothing of faults or the request log: the
//! simulator core wraps both routers.

// Handlers return an early `Response` as their error: it is the answer itself, built once
// per request, so boxing it would only add noise.
#![allow(clippy::result_large_err)]

mod assets;
mod comments;
mod deployments;
mod git;
mod notes;
mod pulls;
mod releases;
mod respond;
mod scenario;
mod shape;
mod state;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use std::sync::{Arc, Mutex, MutexGuard};

pub use scenario::{
    CommentSeed, CommitSeed, PullSeed, RateLimit, RateLimitKind, ReleaseSeed, RepoSeed, Scenario,
    WorkflowSeed,
};
pub use state::{Repo, State as GithubState};

pub(crate) use respond::*;

/// The simulator's shared state.
pub(crate) type Shared = Arc<Mutex<state::State>>;

pub(crate) fn lock(s: &Shared) -> MutexGuard<'_, state::State> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// The REST API router and the uploads router. Both share one state; `upload_url` of every
/// release points at `urls.uploads`.
pub fn routers(scenario: Scenario, urls: &crate::Urls) -> (Router, Router) {
    let (api, uploads, _) = serve(scenario, urls);
    (api, uploads)
}

/// A handle on a running GitHub simulator's state: a test's levers and views.
#[derive(Clone)]
pub struct Handle(Shared);

/// A comment as a test sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct GithubComment {
    pub id: u64,
    pub issue: u64,
    pub body: String,
    pub login: String,
}

impl Handle {
    /// Close, merge or reopen a pull request (`repo` is `owner/name`); merged implies
    /// closed. `Err` names what is missing or wrong.
    pub fn set_pull_state(
        &self,
        repo: &str,
        number: u64,
        state: &str,
        merged: bool,
    ) -> Result<(), String> {
        pulls::set_state(&mut lock(&self.0), repo, number, state, merged)
    }

    /// Move a pull request's head to `sha`, as a push to its branch does.
    pub fn set_pull_head(&self, repo: &str, number: u64, sha: &str) -> Result<(), String> {
        pulls::set_head(&mut lock(&self.0), repo, number, sha)
    }

    /// The comments of an issue or pull request, oldest first.
    pub fn comments(&self, repo: &str, issue: u64) -> Vec<GithubComment> {
        let s = lock(&self.0);
        let (owner, name) = repo.split_once('/').unwrap_or((repo, ""));
        s.repo(owner, name)
            .map(|r| {
                r.comments
                    .iter()
                    .filter(|c| c.issue == issue)
                    .map(|c| GithubComment {
                        id: c.id,
                        issue: c.issue,
                        body: c.body.clone(),
                        login: c.login.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The API router, the uploads router and a handle on their shared state.
pub fn serve(scenario: Scenario, urls: &crate::Urls) -> (Router, Router, Handle) {
    let shared: Shared = Arc::new(Mutex::new(state::State::new(&scenario, urls)));
    let repo = "/repos/{owner}/{repo}";
    let api = Router::new()
        .route("/rate_limit", get(git::rate_limit))
        .route(
            &format!("{repo}/releases"),
            get(releases::list).post(releases::create),
        )
        .route(
            &format!("{repo}/releases/generate-notes"),
            post(notes::generate_notes),
        )
        .route(&format!("{repo}/releases/latest"), get(releases::latest))
        .route(
            &format!("{repo}/releases/tags/{{tag}}"),
            get(releases::by_tag),
        )
        .route(
            &format!("{repo}/releases/assets/{{asset_id}}"),
            axum::routing::delete(assets::delete_asset),
        )
        .route(
            &format!("{repo}/releases/{{release_id}}"),
            get(releases::get_one)
                .patch(releases::update)
                .delete(releases::delete),
        )
        .route(
            &format!("{repo}/deployments"),
            get(deployments::list).post(deployments::create),
        )
        .route(
            &format!("{repo}/deployments/{{deployment_id}}"),
            get(deployments::get_one),
        )
        .route(
            &format!("{repo}/deployments/{{deployment_id}}/statuses"),
            get(deployments::list_statuses).post(deployments::create_status),
        )
        .route(
            &format!("{repo}/deployments/{{deployment_id}}/statuses/{{status_id}}"),
            get(deployments::get_status),
        )
        .route(
            &format!("{repo}/actions/workflows"),
            get(git::list_workflows),
        )
        .route(
            &format!("{repo}/actions/workflows/{{workflow_id}}/dispatches"),
            post(git::dispatch),
        )
        .route(
            &format!("{repo}/actions/runs/{{run_id}}"),
            get(git::get_run),
        )
        .route(&format!("{repo}/git/ref/{{*ref}}"), get(git::get_ref))
        .route(&format!("{repo}/git/refs"), post(git::create_ref))
        .route(
            &format!("{repo}/git/refs/{{*ref}}"),
            axum::routing::patch(git::update_ref),
        )
        .route(&format!("{repo}/tags"), get(git::list_tags))
        .route(&format!("{repo}/compare/{{basehead}}"), get(git::compare))
        .route(
            &format!("{repo}/commits/{{sha}}/pulls"),
            get(git::pulls_for_commit),
        )
        .route(&format!("{repo}/commits/{{ref}}"), get(git::get_commit))
        .route(
            &format!("{repo}/issues/{{issue_number}}/comments"),
            get(comments::list).post(comments::create),
        )
        .route(
            &format!("{repo}/issues/comments/{{comment_id}}"),
            axum::routing::patch(comments::update),
        )
        .route(
            &format!("{repo}/pulls/{{pull_number}}"),
            get(pulls::get_one),
        )
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared.clone());
    let uploads = Router::new()
        .route(
            &format!("{repo}/releases/{{release_id}}/assets"),
            post(assets::upload_asset),
        )
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared.clone());
    // The simulator's own levers: outside the gate (no auth, no rate limit).
    let admin = Router::new()
        .route(
            "/__sim/repos/{owner}/{repo}/pulls/{pull_number}",
            axum::routing::patch(pulls::admin_set_state),
        )
        .with_state(shared.clone());
    (api.merge(admin), uploads, Handle(shared))
}

async fn fallback() -> Response {
    not_found()
}

/// Authentication, rate limits and the `x-ratelimit-*` headers, for every request.
async fn gate(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    if let Some(refusal) = check_version(request.headers()) {
        return refusal;
    }
    let auth = check_auth(&shared, request.headers());
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let verdict = {
        let mut s = lock(&shared);
        match auth {
            Err(_) => None,
            Ok(()) => Some(s.count_request(&method, &path)),
        }
    };
    let mut response = match (auth, verdict) {
        (Err(response), _) => response,
        (Ok(()), Some(Some(refusal))) => refusal,
        _ => next.run(request).await,
    };
    let headers = lock(&shared).rate_headers();
    for (name, value) in headers {
        if !response.headers().contains_key(name) {
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, v);
            }
        }
    }
    response
}

/// API versions GitHub serves; a request without the header gets 2022-11-28.
pub const API_VERSIONS: [&str; 2] = ["2022-11-28", "2026-03-10"];

/// An unsupported `X-GitHub-Api-Version` is a 400 (docs.github.com, "API versions").
fn check_version(headers: &HeaderMap) -> Option<Response> {
    let v = headers.get("x-github-api-version")?.to_str().unwrap_or("");
    if API_VERSIONS.contains(&v) {
        return None;
    }
    Some(error(
        StatusCode::BAD_REQUEST,
        &format!(
            "Unsupported 'X-GitHub-Api-Version' header value `{v}`; supported: {}",
            API_VERSIONS.join(", ")
        ),
        "https://docs.github.com/rest/about-the-rest-api/api-versions",
    ))
}

fn check_auth(shared: &Shared, headers: &HeaderMap) -> Result<(), Response> {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "Requires authentication",
            "https://docs.github.com/rest",
        ));
    };
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .or_else(|| value.strip_prefix("token "))
        .map(str::trim)
        .unwrap_or("");
    let s = lock(shared);
    if token.is_empty() || (!s.tokens.is_empty() && !s.tokens.iter().any(|t| t == token)) {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "Bad credentials",
            "https://docs.github.com/rest",
        ));
    }
    Ok(())
}
