//! The GitHub REST subset stage-gate calls, as the real service behaves (see
//! `../shared/specs/NOTES.md` §3): releases and their assets (on a separate uploads host),
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

mod deployments;
mod git;
mod releases;
mod shape;
mod state;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

pub use state::{Repo, State as GithubState};

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
    /// Releases that exist before the test starts.
    pub releases: Vec<ReleaseSeed>,
    /// Commit-status contexts that are not green: a deployment that does not pass
    /// `required_contexts: []` is refused with 409 while any is listed.
    pub failing_contexts: Vec<String>,
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
            releases: Vec::new(),
            failing_contexts: Vec::new(),
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
    pub user: String,
    /// Head branch name.
    pub head: String,
    /// Commits of the pull request.
    pub commits: Vec<String>,
    /// The merge commit on the base branch, when merged.
    pub merge_commit: Option<String>,
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

/// The simulator's shared state.
pub(crate) type Shared = Arc<Mutex<state::State>>;

pub(crate) fn lock(s: &Shared) -> MutexGuard<'_, state::State> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// The REST API router and the uploads router. Both share one state; `upload_url` of every
/// release points at `urls.uploads`.
pub fn routers(scenario: Scenario, urls: &crate::Urls) -> (Router, Router) {
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
            post(releases::generate_notes),
        )
        .route(&format!("{repo}/releases/latest"), get(releases::latest))
        .route(
            &format!("{repo}/releases/tags/{{tag}}"),
            get(releases::by_tag),
        )
        .route(
            &format!("{repo}/releases/assets/{{asset_id}}"),
            axum::routing::delete(releases::delete_asset),
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
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared.clone());
    let uploads = Router::new()
        .route(
            &format!("{repo}/releases/{{release_id}}/assets"),
            post(releases::upload_asset),
        )
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared);
    (api, uploads)
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

// ---- responses shared by the handlers ----

pub(crate) const DOCS: &str = "https://docs.github.com/rest";

pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// `basic-error`.
pub(crate) fn error(status: StatusCode, message: &str, docs: &str) -> Response {
    json_response(
        status,
        json!({"message": message, "documentation_url": docs, "status": status.as_u16().to_string()}),
    )
}

pub(crate) fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found", DOCS)
}

/// `validation-error` with one entry.
pub(crate) fn invalid(resource: &str, field: &str, code: &str, message: Option<&str>) -> Response {
    let mut entry = json!({"resource": resource, "field": field, "code": code});
    if let Some(m) = message {
        entry["message"] = m.into();
    }
    json_response(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({"message": "Validation Failed", "errors": [entry], "documentation_url": DOCS, "status": "422"}),
    )
}

/// A 422 with only a message, as GitHub answers for refs and dispatches.
pub(crate) fn unprocessable(message: &str) -> Response {
    error(StatusCode::UNPROCESSABLE_ENTITY, message, DOCS)
}

/// Parse a JSON request body the way GitHub does: 400 "Problems parsing JSON" otherwise.
pub(crate) fn parse_body(body: &[u8]) -> Result<Value, Response> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            "Problems parsing JSON",
            DOCS,
        )),
    }
}

/// A 201 with a `Location` header.
pub(crate) fn created(location: &str, body: Value) -> Response {
    let mut response = json_response(StatusCode::CREATED, body);
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert("location", v);
    }
    response
}

pub(crate) fn no_content() -> Response {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::empty())
        .unwrap_or_default()
}

/// One page of `items`, with GitHub's `Link` header (`next`, `last`, `prev`, `first`).
pub(crate) fn paged(
    items: Vec<Value>,
    query: &BTreeMap<String, String>,
    base: &str,
    path: &str,
) -> Response {
    let per_page = query
        .get("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = query
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let link_to = |n: usize| {
        let mut q = query.clone();
        q.insert("per_page".into(), per_page.to_string());
        q.insert("page".into(), n.to_string());
        let qs: Vec<String> = q
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        format!("<{base}{path}?{}>", qs.join("&"))
    };
    let mut links = Vec::new();
    if page < last {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
        links.push(format!("{}; rel=\"last\"", link_to(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", link_to(page - 1)));
        links.push(format!("{}; rel=\"first\"", link_to(1)));
    }
    let mut response = json_response(StatusCode::OK, Value::Array(slice));
    if !links.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
            response.headers_mut().insert("link", v);
        }
    }
    response
}

/// Percent-encode a query component (RFC 3986 unreserved characters kept).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
