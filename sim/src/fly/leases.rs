//! Machine leases: show, acquire/refresh (`?ttl=` or a JSON body, both real), release with the
//! nonce. Answers use the real envelope `{"status":"success","data":{…}}` and 409
//! `{"status":"error","message":"… lease currently held by …","code":"invalid"}` (NOTES.md §1.2).

use super::model::{random_hex, Lease};
use super::routes::{
    error, json_body, lease_conflict_message, param, with_machine, Params, Shared, NONCE,
};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const LEASE_OWNER: &str = "deployer@example.com";

pub(super) fn new_lease(ttl: u64, description: String, version: String, now: Instant) -> Lease {
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Lease {
        nonce: random_hex(12),
        owner: LEASE_OWNER.into(),
        description,
        expires: now + Duration::from_secs(ttl),
        expires_at: unix + ttl,
        version,
    }
}

fn envelope(data: Value) -> Value {
    json!({"status": "success", "data": data})
}

pub(super) async fn show(
    State(w): State<Shared>,
    Path((app, id)): Path<(String, String)>,
) -> Response {
    with_machine(&w, &app, &id, |m, _| match &m.lease {
        Some(l) => Json(envelope(l.data())).into_response(),
        None => error(StatusCode::NOT_FOUND, "lease not found"),
    })
}

/// Acquire (or, with the nonce header, refresh). TTL from `?ttl=` (flyctl) or the JSON body
/// `{ttl, description}` (the spec): both are real.
pub(super) async fn acquire(
    State(w): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match json_body(&body) {
        Ok(b) => b,
        Err((status, message)) => return error(status, message),
    };
    let ttl = match (param(&q, "ttl"), body.get("ttl")) {
        (Some(t), _) => match t.parse::<u64>() {
            Ok(t) => t,
            Err(_) => return error(StatusCode::BAD_REQUEST, format!("invalid ttl: {t}")),
        },
        (None, Some(t)) => match t.as_u64() {
            Some(t) => t,
            None => return error(StatusCode::BAD_REQUEST, format!("invalid ttl: {t}")),
        },
        (None, None) => 30,
    };
    let description = body["description"].as_str().unwrap_or("").to_string();
    let nonce = headers
        .get(NONCE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    with_machine(&w, &app, &id, |m, now| {
        if m.state == "destroyed" {
            return error(StatusCode::NOT_FOUND, "machine not found");
        }
        match &mut m.lease {
            Some(l) if nonce.as_deref() == Some(l.nonce.as_str()) => {
                let fresh = new_lease(ttl, description, m.version.clone(), now);
                l.expires = fresh.expires;
                l.expires_at = fresh.expires_at;
            }
            Some(l) => {
                let message = lease_conflict_message(&m.id, l);
                return (
                    StatusCode::CONFLICT,
                    Json(json!({"status": "error", "message": message, "code": "invalid"})),
                )
                    .into_response();
            }
            None => m.lease = Some(new_lease(ttl, description, m.version.clone(), now)),
        }
        let data = m.lease.as_ref().map(Lease::data).unwrap_or(Value::Null);
        (StatusCode::CREATED, Json(envelope(data))).into_response()
    })
}

pub(super) async fn release(
    State(w): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(nonce) = headers
        .get(NONCE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "fly-machine-lease-nonce header is required",
        );
    };
    with_machine(&w, &app, &id, |m, _| match &m.lease {
        None => error(StatusCode::NOT_FOUND, "lease not found"),
        Some(l) if l.nonce != nonce => {
            let message = lease_conflict_message(&m.id, l);
            (
                StatusCode::CONFLICT,
                Json(json!({"status": "error", "message": message, "code": "invalid"})),
            )
                .into_response()
        }
        Some(_) => {
            m.lease = None;
            Json(envelope(json!({"ok": true}))).into_response()
        }
    })
}
