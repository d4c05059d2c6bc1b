//! App secrets (`/v1/apps/{app}/secrets[/{name}]`), as fly-go's `flaps/flaps_secrets.go` and
//! `secrets_types.go` call them and the Machines API document describes them.
//!
//! Every change bumps the app's secrets version; a machine created or updated afterwards runs
//! with that version (`min_secrets_version` asks for at least one, see `routes.rs`). Values
//! are shown only with `show_secrets=true`; names must be environment-variable names, since
//! that is what a secret becomes inside a machine.

use super::model::{now_rfc3339, App};
use super::routes::{error, json_body, param, truthy, with_app, Params, Shared};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Secret {
    pub value: String,
    pub digest: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A short content digest (Fly shows one so a value can be compared without showing it).
fn digest(value: &str) -> String {
    hex::encode(&Sha256::digest(value.as_bytes())[..8])
}

/// A secret's name becomes an environment variable: letters, digits and `_`, not starting
/// with a digit.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Seed an app's secrets from the scenario (version 1 when there are any).
pub fn seed(app: &mut App, secrets: &BTreeMap<String, String>) {
    for (name, value) in secrets {
        set(app, name, value);
    }
    if !secrets.is_empty() {
        app.secrets_version = 1;
    }
}

fn set(app: &mut App, name: &str, value: &str) {
    let now = now_rfc3339();
    let created_at = app
        .secrets
        .get(name)
        .map(|s| s.created_at.clone())
        .unwrap_or_else(|| now.clone());
    app.secrets.insert(
        name.to_string(),
        Secret {
            value: value.to_string(),
            digest: digest(value),
            created_at,
            updated_at: now,
        },
    );
}

/// `AppSecret`, with the value only when asked for.
fn view(name: &str, s: &Secret, show: bool) -> Value {
    let mut v = json!({
        "name": name, "digest": s.digest, "created_at": s.created_at, "updated_at": s.updated_at
    });
    if show {
        v["value"] = json!(s.value);
    }
    v
}

fn list_view(app: &App, show: bool) -> Vec<Value> {
    app.secrets.iter().map(|(n, s)| view(n, s, show)).collect()
}

/// `min_version` (the document's name) or `version` (fly-go's): the read must reflect at
/// least that version. The simulator is always current, so a larger one can never be
/// satisfied: 400 rather than a wait that could not end.
fn stale(app: &App, q: &[(String, String)]) -> Option<Response> {
    let wanted = param(q, "min_version").or_else(|| param(q, "version"))?;
    match wanted.parse::<u64>() {
        Ok(n) if n <= app.secrets_version => None,
        Ok(n) => Some(error(
            StatusCode::BAD_REQUEST,
            format!(
                "secrets version {n} is newer than the app's ({})",
                app.secrets_version
            ),
        )),
        Err(_) => Some(error(
            StatusCode::BAD_REQUEST,
            format!("invalid secrets version: {wanted}"),
        )),
    }
}

fn bad_name(name: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        format!("invalid secret name {name:?}: use letters, digits and underscores, not starting with a digit"),
    )
}

pub async fn list(State(w): State<Shared>, Path(app): Path<String>, Query(q): Params) -> Response {
    with_app(&w, &app, |a, _| {
        if let Some(r) = stale(a, &q) {
            return r;
        }
        Json(json!({"secrets": list_view(a, truthy(&q, "show_secrets"))})).into_response()
    })
}

/// `POST /secrets {"values": {NAME: "v" | null}}`: set and unset in one version.
pub async fn update(State(w): State<Shared>, Path(app): Path<String>, body: Bytes) -> Response {
    let body = match json_body(&body) {
        Ok(b) => b,
        Err((status, message)) => return error(status, message),
    };
    let Some(values) = body["values"].as_object().cloned() else {
        return error(StatusCode::BAD_REQUEST, "values is required");
    };
    for (name, value) in &values {
        if !valid_name(name) {
            return bad_name(name);
        }
        if !(value.is_string() || value.is_null()) {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the value of {name} must be a string or null"),
            );
        }
    }
    with_app(&w, &app, |a, _| {
        if !values.is_empty() {
            for (name, value) in &values {
                match value.as_str() {
                    Some(v) => set(a, name, v),
                    // Unsetting a name that is not set is not an error.
                    None => {
                        a.secrets.remove(name);
                    }
                }
            }
            a.secrets_version += 1;
        }
        Json(json!({"secrets": list_view(a, false), "version": a.secrets_version})).into_response()
    })
}

pub async fn show(
    State(w): State<Shared>,
    Path((app, name)): Path<(String, String)>,
    Query(q): Params,
) -> Response {
    with_app(&w, &app, |a, _| {
        if let Some(r) = stale(a, &q) {
            return r;
        }
        match a.secrets.get(&name) {
            Some(s) => Json(view(&name, s, truthy(&q, "show_secrets"))).into_response(),
            None => error(StatusCode::NOT_FOUND, format!("secret {name} not found")),
        }
    })
}

/// `POST /secrets/{name} {"value"}` → 201 `SetAppSecretResponse`.
pub async fn set_one(
    State(w): State<Shared>,
    Path((app, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let body = match json_body(&body) {
        Ok(b) => b,
        Err((status, message)) => return error(status, message),
    };
    if !valid_name(&name) {
        return bad_name(&name);
    }
    let Some(value) = body["value"].as_str().map(str::to_string) else {
        return error(StatusCode::BAD_REQUEST, "value is required");
    };
    with_app(&w, &app, |a, _| {
        set(a, &name, &value);
        a.secrets_version += 1;
        let mut v = a
            .secrets
            .get(&name)
            .map(|s| view(&name, s, false))
            .unwrap_or_default();
        v["version"] = json!(a.secrets_version);
        (StatusCode::CREATED, Json(v)).into_response()
    })
}

/// `DELETE /secrets/{name}` → `{"version"}`; a name that is not set is a 404.
pub async fn delete(
    State(w): State<Shared>,
    Path((app, name)): Path<(String, String)>,
) -> Response {
    with_app(&w, &app, |a, _| {
        if a.secrets.remove(&name).is_none() {
            return error(StatusCode::NOT_FOUND, format!("secret {name} not found"));
        }
        a.secrets_version += 1;
        Json(json!({"version": a.secrets_version})).into_response()
    })
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn secret_names_are_env_var_names() {
        for ok in ["DATABASE_URL", "_X", "a1"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A B", "Ä"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
