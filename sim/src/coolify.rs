//! The Coolify v4 API simulator (v4.2+ behaviour, as `tests/fixtures/specs/NOTES.md` §2 records it).
//!
//! Serves, under `/api/v1`: `POST /deploy` (GET answers 405), deployment status, the running
//! list, per-application history as `{count, deployments}`, cancel, application get/update,
//! rollback and its images, plus the unauthenticated health and version routes. Tokens carry
//! Sanctum abilities (`root`, `read`, `read:sensitive`, `write`, `deploy`) and get Coolify's
//! own 401/403 texts. Fault injection and the request log belong to the core, not here.

mod previews;
mod scenario;
mod state;
mod template;

pub use previews::CoolifyPreview;
pub use scenario::{
    AppSeed, Outcome, PastDeployment, PreviewSeed, Scenario, TokenSeed, DEFAULT_TOKEN,
};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use state::{Refusal, Sim, Status};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

type Shared = Arc<Mutex<Sim>>;

/// The Coolify routes, holding their own state.
pub fn router(scenario: Scenario, urls: &crate::Urls) -> Router {
    serve(scenario, urls).0
}

/// A handle on a running Coolify simulator's state, for tests' assertions.
#[derive(Clone)]
pub struct Handle(Shared);

impl Handle {
    /// The previews of an application (by uuid), in creation order; `None` for an unknown
    /// application.
    pub fn previews(&self, app_uuid: &str) -> Option<Vec<CoolifyPreview>> {
        let mut sim = lock(&self.0);
        sim.settle(Instant::now());
        let app = sim.app_index(app_uuid)?;
        Some(sim.apps[app].previews.iter().map(Into::into).collect())
    }
}

/// The Coolify router and a handle on its state.
pub fn serve(scenario: Scenario, _urls: &crate::Urls) -> (Router, Handle) {
    let state: Shared = Arc::new(Mutex::new(Sim::new(scenario)));
    let router = Router::new()
        .route("/api/health", get(health))
        .route("/api/v1/health", get(health))
        .route("/api/v1/version", get(version))
        .route("/api/v1/deploy", post(deploy).get(post_required))
        .route("/api/v1/deployments", get(running))
        .route("/api/v1/deployments/{uuid}", get(deployment))
        .route("/api/v1/deployments/{uuid}/cancel", post(cancel))
        .route("/api/v1/deployments/applications/{uuid}", get(history))
        .route(
            "/api/v1/applications/{uuid}",
            get(application).patch(update_application),
        )
        .route("/api/v1/applications/{uuid}/rollback", post(rollback))
        .route(
            "/api/v1/applications/{uuid}/rollback-images",
            get(rollback_images),
        )
        .route(
            "/api/v1/applications/{uuid}/previews/{pull_request_id}",
            axum::routing::delete(delete_preview),
        )
        .with_state(state.clone());
    (router, Handle(state))
}

fn lock(state: &Shared) -> MutexGuard<'_, Sim> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn message(status: StatusCode, text: impl Into<String>) -> Response {
    (status, Json(json!({ "message": text.into() }))).into_response()
}

/// What the token may do, once the middleware chain has let it through.
struct Grant {
    sensitive: bool,
}

/// A refusal by the auth middleware.
struct Denied(StatusCode, String);

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        message(self.0, self.1)
    }
}

/// `auth:sanctum` then `api.ability:<ability>`, with Coolify's texts (ApiAbility.php).
fn authorize(sim: &Sim, headers: &HeaderMap, ability: &str) -> Result<Grant, Denied> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = presented.and_then(|t| sim.token(t)) else {
        return Err(Denied(StatusCode::UNAUTHORIZED, "Unauthenticated.".into()));
    };
    let has = |a: &str| token.abilities.iter().any(|x| x == a);
    if !token.team_admin {
        let disallowed: Vec<&str> = [
            "root",
            "write",
            "write:sensitive",
            "deploy",
            "read:sensitive",
        ]
        .into_iter()
        .filter(|a| has(a))
        .collect();
        if !disallowed.is_empty() {
            return Err(Denied(
                StatusCode::FORBIDDEN,
                format!(
                    "This API token has permissions ({}) that exceed your current role as a team member. Members are restricted to read-only API access. Please revoke this token and create a new one with only read permissions.",
                    disallowed.join(", ")
                ),
            ));
        }
    }
    if !has("root") && !has(ability) {
        return Err(Denied(
            StatusCode::FORBIDDEN,
            format!("Missing required permissions: {ability}"),
        ));
    }
    Ok(Grant {
        sensitive: has("root") || has("read:sensitive"),
    })
}

async fn health() -> &'static str {
    "OK"
}

async fn version(State(state): State<Shared>) -> String {
    lock(&state).version.clone()
}

/// GET on a state-changing route since v4.2.0 (OtherController.php `post_required`).
async fn post_required() -> Response {
    let mut resp = message(
        StatusCode::METHOD_NOT_ALLOWED,
        "This endpoint has changed to a POST request.",
    );
    resp.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
    resp
}

/// Laravel's `$request->input`: the JSON body over the query; empty strings are null.
fn inputs(query: HashMap<String, String>, body: &Bytes) -> Map<String, Value> {
    let mut all: Map<String, Value> = query
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    if let Ok(Value::Object(json)) = serde_json::from_slice::<Value>(body) {
        all.extend(json);
    }
    all.retain(|_, v| !v.is_null() && v.as_str() != Some(""));
    all
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn truthy(v: Option<&Value>) -> bool {
    matches!(
        text(v).as_deref().map(str::to_ascii_lowercase).as_deref(),
        Some("true" | "1" | "yes" | "on")
    )
}

async fn deploy(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let mut sim = lock(&state);
    if let Err(resp) = authorize(&sim, &headers, "deploy") {
        return resp.into_response();
    }
    let input = inputs(query, &body);
    let uuids = text(input.get("uuid"));
    let tags = text(input.get("tag"));
    let force = truthy(input.get("force"));
    // `$request->input('pull_request_id', $request->input('pr'))`, then `max((int) …, 0)`.
    let pr = text(input.get("pull_request_id"))
        .or_else(|| text(input.get("pr")))
        .map(|p| previews::php_int(&p))
        .unwrap_or(0)
        .max(0);
    let docker_tag = previews::php_string(input.get("docker_tag"));
    let bad = |m: &str| message(StatusCode::BAD_REQUEST, m);
    if uuids.is_some() && tags.is_some() {
        return bad("You can only use uuid or tag, not both.");
    }
    if tags.is_some() && pr > 0 {
        return bad("You can only use tag or pr, not both.");
    }
    if docker_tag.is_some() && pr == 0 {
        return bad("docker_tag requires pull_request_id.");
    }
    if tags.is_some() && docker_tag.is_some() {
        return bad("You can only use tag or docker_tag, not both.");
    }
    let now = Instant::now();
    sim.settle(now);
    if let Some(tags) = tags {
        return deploy_by_tags(&mut sim, &tags, force, now);
    }
    let Some(uuids) = uuids else {
        return bad("You must provide uuid or tag.");
    };
    let uuids: Vec<&str> = uuids
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if uuids.is_empty() {
        return bad("No UUIDs provided.");
    }
    let mut entries = Vec::new();
    let mut resolved = 0;
    for uuid in uuids {
        let Some(app) = sim.app_index(uuid) else {
            entries.push(
                json!({"message": format!("Resource ({uuid}) not found."), "resource_uuid": uuid}),
            );
            continue;
        };
        resolved += 1;
        let mut tag_for_app = docker_tag.clone();
        if pr > 0 {
            let found = if sim.apps[app].is_dockerimage() {
                upsert_docker_preview(&mut sim, app, pr, docker_tag.clone())
            } else {
                sim.apps[app].preview(pr).map(|_| docker_tag.clone())
            };
            match found {
                Some(tag) => tag_for_app = tag,
                None => {
                    entries.push(json!({"message": format!("Pull request {pr} not found for this resource."), "resource_uuid": uuid}));
                    continue;
                }
            }
        }
        if tag_for_app.is_some() && !sim.apps[app].is_dockerimage() {
            entries.push(json!({
                "message": "docker_tag can only be used with Docker Image applications.",
                "resource_uuid": uuid,
            }));
            continue;
        }
        match sim.queue(app, force, pr, tag_for_app, None, now) {
            Ok(deployment_uuid) => entries.push(json!({
                "message": format!("Application {} deployment queued.", sim.apps[app].name()),
                "resource_uuid": uuid,
                "deployment_uuid": deployment_uuid,
            })),
            Err(Refusal::AlreadyQueued) => entries.push(json!({
                "message": "Deployment already queued for this commit.",
                "resource_uuid": uuid,
            })),
            Err(Refusal::QueueFull) => return queue_full(sim.queue_retry_after),
        }
    }
    if resolved == 0 {
        return message(StatusCode::NOT_FOUND, "No resources found.");
    }
    Json(json!({ "deployments": entries })).into_response()
}

/// `upsertDockerImagePreview`: the preview of `pr` (made with `docker_tag` when missing,
/// its tag replaced when another is given), and the tag its deployment runs; `None` when it
/// does not exist and no tag was given.
fn upsert_docker_preview(
    sim: &mut Sim,
    app: usize,
    pr: i64,
    docker_tag: Option<String>,
) -> Option<Option<String>> {
    let app = &mut sim.apps[app];
    match app.previews.iter_mut().find(|p| p.pull_request_id == pr) {
        Some(p) => {
            if docker_tag.is_some() && p.docker_tag != docker_tag {
                p.docker_tag = docker_tag;
            }
            Some(p.docker_tag.clone())
        }
        None => {
            docker_tag.as_ref()?;
            let p = app.add_preview(pr, docker_tag);
            Some(p.docker_tag.clone())
        }
    }
}

fn deploy_by_tags(sim: &mut Sim, tags: &str, force: bool, now: Instant) -> Response {
    let mut messages = Vec::new();
    let mut details = Vec::new();
    for tag in tags.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let apps: Vec<usize> = (0..sim.apps.len())
            .filter(|&i| sim.apps[i].seed.tags.iter().any(|t| t == tag))
            .collect();
        for app in apps {
            let name = sim.apps[app].name().to_string();
            match sim.queue(app, force, 0, None, None, now) {
                Ok(deployment_uuid) => {
                    messages.push(format!("{name}: Deployment queued."));
                    details.push(json!({
                        "resource_uuid": sim.apps[app].uuid(),
                        "deployment_uuid": deployment_uuid,
                    }));
                }
                Err(Refusal::AlreadyQueued) => messages.push(format!(
                    "{name}: Deployment already queued for this commit."
                )),
                Err(Refusal::QueueFull) => return queue_full(sim.queue_retry_after),
            }
        }
    }
    if messages.is_empty() {
        return message(StatusCode::NOT_FOUND, "No resources found with this tag.");
    }
    Json(json!({ "message": messages, "details": details })).into_response()
}

fn queue_full(retry_after: u64) -> Response {
    let mut resp = message(
        StatusCode::TOO_MANY_REQUESTS,
        "Deployment queue is full. Please wait for existing deployments to complete.",
    );
    resp.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
    resp
}

async fn deployment(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    let mut sim = lock(&state);
    let grant = match authorize(&sim, &headers, "read") {
        Ok(g) => g,
        Err(resp) => return resp.into_response(),
    };
    let now = Instant::now();
    sim.settle(now);
    match sim.deployment(&uuid) {
        Some(d) => Json(sim.deployment_json(d, now, grant.sensitive)).into_response(),
        None => message(StatusCode::NOT_FOUND, "Deployment not found."),
    }
}

async fn running(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let mut sim = lock(&state);
    let grant = match authorize(&sim, &headers, "read") {
        Ok(g) => g,
        Err(resp) => return resp.into_response(),
    };
    let now = Instant::now();
    sim.settle(now);
    let rows: Vec<Value> = sim
        .deployments
        .iter()
        .filter(|d| d.status(now).is_active())
        .map(|d| sim.deployment_json(d, now, grant.sensitive))
        .collect();
    Json(Value::Array(rows)).into_response()
}

#[derive(Deserialize)]
struct Page {
    skip: Option<String>,
    take: Option<String>,
}

async fn history(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    Query(page): Query<Page>,
) -> Response {
    let mut sim = lock(&state);
    let grant = match authorize(&sim, &headers, "read") {
        Ok(g) => g,
        Err(resp) => return resp.into_response(),
    };
    let number = |v: Option<String>, default: usize| match v {
        None => Ok(default),
        Some(s) => s.parse::<usize>().map_err(|_| s),
    };
    let (skip, take) = match (number(page.skip, 0), number(page.take, 10)) {
        (Ok(s), Ok(t)) if t >= 1 => (s, t),
        _ => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({
                    "message": "Validation failed.",
                    "errors": {"take": ["The take field must be at least 1."]},
                })),
            )
                .into_response()
        }
    };
    let now = Instant::now();
    sim.settle(now);
    let Some(app) = sim.app_index(&uuid) else {
        return message(StatusCode::NOT_FOUND, "Application not found.");
    };
    // Newest first, like `$application->deployments($skip, $take)`.
    let all: Vec<_> = sim
        .deployments
        .iter()
        .filter(|d| d.app == app)
        .rev()
        .collect();
    let rows: Vec<Value> = all
        .iter()
        .skip(skip)
        .take(take)
        .map(|d| sim.deployment_json(d, now, grant.sensitive))
        .collect();
    Json(json!({ "count": all.len(), "deployments": rows })).into_response()
}

async fn cancel(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    let mut sim = lock(&state);
    if let Err(resp) = authorize(&sim, &headers, "deploy") {
        return resp.into_response();
    }
    let now = Instant::now();
    sim.settle(now);
    match sim.cancel(&uuid, now) {
        None => message(StatusCode::NOT_FOUND, "Deployment not found."),
        Some(Err(status)) => message(
            StatusCode::BAD_REQUEST,
            format!(
                "Deployment cannot be cancelled. Current status: {}",
                status.as_str()
            ),
        ),
        Some(Ok(())) => Json(json!({
            "message": "Deployment cancelled successfully.",
            "deployment_uuid": uuid,
            "status": Status::CancelledByUser.as_str(),
        }))
        .into_response(),
    }
}

async fn application(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    let mut sim = lock(&state);
    if let Err(resp) = authorize(&sim, &headers, "read") {
        return resp.into_response();
    }
    sim.settle(Instant::now());
    match sim.app_index(&uuid) {
        Some(app) => {
            // `removeSensitiveData` hides the numeric `id` (ApplicationsController.php).
            let mut fields = sim.apps[app].fields.clone();
            fields.remove("id");
            Json(Value::Object(fields)).into_response()
        }
        None => message(StatusCode::NOT_FOUND, "Application not found."),
    }
}

/// `DELETE /applications/{uuid}/previews/{pull_request_id}` (ability `write`), checked in
/// the controller's order: the application, then the number, then the preview.
async fn delete_preview(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path((uuid, pr)): Path<(String, String)>,
) -> Response {
    let mut sim = lock(&state);
    if let Err(resp) = authorize(&sim, &headers, "write") {
        return resp.into_response();
    }
    let now = Instant::now();
    sim.settle(now);
    let Some(app) = sim.app_index(&uuid) else {
        return message(StatusCode::NOT_FOUND, "Application not found.");
    };
    if !previews::php_is_numeric(&pr) || previews::php_int_of_numeric(&pr) <= 0 {
        return message(StatusCode::UNPROCESSABLE_ENTITY, "Invalid pull_request_id.");
    }
    let pr = previews::php_int_of_numeric(&pr);
    if sim.apps[app].preview(pr).is_none() {
        return message(StatusCode::NOT_FOUND, "Preview not found.");
    }
    sim.apps[app].previews.retain(|p| p.pull_request_id != pr);
    // CleanupPreviewDeployment: the pull request's queued and running deployments stop.
    let active: Vec<String> = sim
        .deployments
        .iter()
        .filter(|d| d.app == app && d.pull_request_id == pr && d.status(now).is_active())
        .map(|d| d.uuid.clone())
        .collect();
    for d in active {
        let _ = sim.cancel(&d, now);
    }
    message(StatusCode::OK, "Preview deletion request queued.")
}

fn validation(errors: Map<String, Value>) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({ "message": "Validation failed.", "errors": errors })),
    )
        .into_response()
}

async fn update_application(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    body: Bytes,
) -> Response {
    let mut sim = lock(&state);
    if let Err(resp) = authorize(&sim, &headers, "write") {
        return resp.into_response();
    }
    let Ok(Value::Object(changes)) = serde_json::from_slice::<Value>(&body) else {
        return message(StatusCode::BAD_REQUEST, "Invalid request.");
    };
    let Some(app) = sim.app_index(&uuid) else {
        return message(StatusCode::NOT_FOUND, "Application not found.");
    };
    let fields = &sim.apps[app].fields;
    let mut errors = Map::new();
    for key in changes.keys() {
        let known = fields.contains_key(key) || template::PATCH_ONLY_KEYS.contains(&key.as_str());
        if !known || matches!(key.as_str(), "id" | "uuid" | "created_at" | "updated_at") {
            errors.insert(key.clone(), json!(["This field is not allowed."]));
        }
    }
    if let Some(tag) = changes.get("docker_registry_image_tag") {
        if !(tag.is_string() || tag.is_null()) {
            errors.insert(
                "docker_registry_image_tag".into(),
                json!(["The docker registry image tag field must be a string."]),
            );
        }
    }
    if !errors.is_empty() {
        return validation(errors);
    }
    let fields = &mut sim.apps[app].fields;
    for (key, value) in changes {
        if key == "domains" {
            fields.insert("fqdn".into(), value);
        } else if key == "is_preview_deployments_enabled" {
            // Kept in ApplicationSetting, shown under `settings`.
            if let Some(settings) = fields.get_mut("settings").and_then(Value::as_object_mut) {
                settings.insert(key, value);
            }
        } else if fields.contains_key(&key) {
            fields.insert(key, value);
        }
    }
    fields.insert("updated_at".into(), json!(chrono::Utc::now()));
    Json(json!({ "uuid": uuid })).into_response()
}

async fn rollback(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    body: Bytes,
) -> Response {
    let mut sim = lock(&state);
    if let Err(resp) = authorize(&sim, &headers, "deploy") {
        return resp.into_response();
    }
    let now = Instant::now();
    sim.settle(now);
    let Some(app) = sim.app_index(&uuid) else {
        return message(StatusCode::NOT_FOUND, "Application not found.");
    };
    let commit = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| text(b.get("commit")))
        .filter(|c| !c.trim().is_empty());
    let Some(commit) = commit else {
        let mut errors = Map::new();
        errors.insert("commit".into(), json!(["The commit field is required."]));
        return validation(errors);
    };
    match sim.queue(app, false, 0, None, Some(commit), now) {
        Ok(deployment_uuid) => Json(json!({
            "message": "Rollback deployment queued.",
            "deployment_uuid": deployment_uuid,
        }))
        .into_response(),
        Err(Refusal::QueueFull) => queue_full(sim.queue_retry_after),
        Err(Refusal::AlreadyQueued) => Json(json!({
            "message": "Deployment already queued for this commit.",
        }))
        .into_response(),
    }
}

async fn rollback_images(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    let mut sim = lock(&state);
    if let Err(resp) = authorize(&sim, &headers, "read") {
        return resp.into_response();
    }
    sim.settle(Instant::now());
    match sim.app_index(&uuid) {
        Some(app) => Json(sim.rollback_images(app)).into_response(),
        None => message(StatusCode::NOT_FOUND, "Application not found."),
    }
}
