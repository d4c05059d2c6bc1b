//! The apps resource: create (`POST /v1/apps`), list by organisation (`GET /v1/apps`) and
//! delete (`DELETE /v1/apps/{app}`), as the Machines API document describes them, with the
//! realities fly-go relies on:
//!
//! - App names are one global namespace: a name used by any app, in any organisation, is a
//!   422 `{"error": "Validation failed: Name has already been taken", "status": "name_taken"}`
//!   (fly-go `flaps/flaps_error.go` `IsNameTakenError` and its tests).
//! - A malformed name is a 422 "Validation failed: Name under 63 chars using numbers,
//!   lowercase letters and dashes" without a status (fly-go `flaps/flaps_error_test.go`).
//! - `idempotency_key` makes a retried create safe: the same key with the same name (or
//!   none) answers with the app the first request made; with another name it is refused.
//! - The create answer is the `App` (flyctl reads `app.Name` from it) plus `created_at`,
//!   unix seconds (the document's `CreateAppResponse`).
//! - Delete answers 202 with no body (document: `Apps_delete`), removes the machines,
//!   volumes, IPs and secrets with the app, and is limited per minute (429 beyond).

use super::model::{App, World};
use super::routes::{error, json_body, lock, param, Params, Shared};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Lowercase letters, digits and dashes, at most 63 characters.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn unprocessable(message: &str, status: Option<&str>) -> Response {
    let mut body = json!({ "error": message });
    if let Some(s) = status {
        body["status"] = json!(s);
    }
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

/// Refusal for an organisation the token is not a member of.
pub fn forbidden(org: &str) -> Response {
    error(
        StatusCode::FORBIDDEN,
        format!("unauthorized: not a member of organization {org}"),
    )
}

fn created(app: &App) -> Response {
    let mut v = app.view();
    v["created_at"] = json!(app.created_at);
    (StatusCode::CREATED, Json(v)).into_response()
}

/// `POST /v1/apps {name | app_name, org_slug, network?, enable_subdomains?, idempotency_key?}`.
pub async fn create(State(w): State<Shared>, body: Bytes) -> Response {
    let body = match json_body(&body) {
        Ok(b) => b,
        Err((status, message)) => return error(status, message),
    };
    let text = |k: &str| {
        body[k]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    // The document's field is `name`; `app_name` is the older docs' spelling.
    let name = text("name").or_else(|| text("app_name"));
    let org = text("org_slug");
    let key = text("idempotency_key");
    let network = text("network").unwrap_or_else(|| "default".into());
    if !(body["enable_subdomains"].is_null() || body["enable_subdomains"].is_boolean()) {
        return error(
            StatusCode::BAD_REQUEST,
            "enable_subdomains must be a boolean",
        );
    }
    let mut world = lock(&w);
    if let Some(k) = &key {
        if let Some(first) = world.idempotency.get(k).cloned() {
            if name.as_ref().is_some_and(|n| *n != first) {
                return unprocessable(
                    &format!(
                        "idempotency key {k} was used to create app {first}, not {}",
                        name.unwrap_or_default()
                    ),
                    None,
                );
            }
            if let Some(app) = world.apps.get(&first) {
                return created(app);
            }
        }
    }
    let Some(org) = org else {
        return error(StatusCode::BAD_REQUEST, "org_slug is required");
    };
    let Some(name) = name else {
        return error(StatusCode::BAD_REQUEST, "name is required");
    };
    if !world.may_use(&org) {
        return forbidden(&org);
    }
    if !valid_name(&name) {
        return unprocessable(
            "Validation failed: Name under 63 chars using numbers, lowercase letters and dashes",
            None,
        );
    }
    if world.apps.contains_key(&name) {
        return unprocessable(
            "Validation failed: Name has already been taken",
            Some("name_taken"),
        );
    }
    let app = App::new(&name, &org, &network, world.default_knobs.clone());
    let answer = created(&app);
    world.apps.insert(name.clone(), app);
    if let Some(k) = key {
        world.idempotency.insert(k, name);
    }
    answer
}

/// `GET /v1/apps?org_slug=X` → `{total_apps, apps}` of that organisation only.
pub async fn list(State(w): State<Shared>, Query(q): Params) -> Response {
    let Some(org) = param(&q, "org_slug").filter(|o| !o.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "org_slug is required");
    };
    let world = lock(&w);
    if !world.may_use(org) {
        return forbidden(org);
    }
    let apps: Vec<Value> = world
        .apps
        .values()
        .filter(|a| a.org == org)
        .map(App::view)
        .collect();
    Json(json!({"total_apps": apps.len(), "apps": apps})).into_response()
}

/// Whether another delete fits in the last minute's allowance (and count it if so).
fn delete_allowed(world: &mut World, now: Instant) -> bool {
    let minute = Duration::from_secs(60);
    world
        .deletes
        .retain(|t| now.saturating_duration_since(*t) < minute);
    if world.deletes.len() >= world.deletes_per_minute {
        return false;
    }
    world.deletes.push(now);
    true
}

pub async fn delete(State(w): State<Shared>, Path(app): Path<String>) -> Response {
    let mut world = lock(&w);
    let Some(org) = world.apps.get(&app).map(|a| a.org.clone()) else {
        return error(StatusCode::NOT_FOUND, format!("app not found: {app}"));
    };
    if !world.may_use(&org) {
        return forbidden(&org);
    }
    if !delete_allowed(&mut world, Instant::now()) {
        let mut resp = error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate limit exceeded: too many app deletions, try again in a minute",
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return resp;
    }
    // Machines, volumes, IPs and secrets live in the app and go with it.
    world.apps.remove(&app);
    world.idempotency.retain(|_, name| *name != app);
    StatusCode::ACCEPTED.into_response()
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn app_names_are_lowercase_digits_and_dashes() {
        assert!(valid_name("web-pr-7"));
        assert!(valid_name(&"a".repeat(63)));
        for bad in ["", "Web", "web_pr", "web.pr", &"a".repeat(64)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
