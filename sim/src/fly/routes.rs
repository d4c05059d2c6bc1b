//! HTTP for the Fly simulator: auth (`Bearer` and `FlyV1`), `ErrorResponse` errors, the
//! `fly-request-id` header, and one handler per machine/app operation (leases in
//! `leases.rs`, the long-poll `wait` in `wait.rs`).

use super::leases::{self, new_lease};
use super::model::{random_hex, App, Lease, Machine, Volume, World};
use super::wait;
use super::{apps, ips, secrets};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

pub(super) type Shared = Arc<Mutex<World>>;
pub(super) type Params = Query<Vec<(String, String)>>;

pub(super) const NONCE: &str = "fly-machine-lease-nonce";

pub(super) fn lock(w: &Shared) -> MutexGuard<'_, World> {
    w.lock().unwrap_or_else(|p| p.into_inner())
}

/// `ErrorResponse {error}` with a status.
pub(super) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

pub(super) fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub(super) fn truthy(q: &[(String, String)], key: &str) -> bool {
    matches!(param(q, key), Some("true" | "1"))
}

pub fn router(state: Shared) -> Router {
    let m = "/v1/apps/{app}/machines/{id}";
    Router::new()
        .route("/v1/apps", get(apps::list).post(apps::create))
        .route("/v1/apps/{app}", get(show_app).delete(apps::delete))
        .route(
            "/v1/apps/{app}/ip_assignments",
            get(ips::list).post(ips::assign),
        )
        .route(
            "/v1/apps/{app}/ip_assignments/{ip}",
            axum::routing::delete(ips::remove),
        )
        .route(
            "/v1/apps/{app}/secrets",
            get(secrets::list).post(secrets::update),
        )
        .route(
            "/v1/apps/{app}/secrets/{name}",
            get(secrets::show)
                .post(secrets::set_one)
                .delete(secrets::delete),
        )
        .route("/v1/apps/{app}/machines", get(list).post(create))
        .route(m, get(show).post(update).delete(destroy))
        .route(&format!("{m}/cordon"), post(cordon))
        .route(&format!("{m}/uncordon"), post(uncordon))
        .route(&format!("{m}/events"), get(events))
        .route(
            &format!("{m}/lease"),
            get(leases::show)
                .post(leases::acquire)
                .delete(leases::release),
        )
        .route(&format!("{m}/restart"), post(restart))
        .route(&format!("{m}/start"), post(start))
        .route(&format!("{m}/stop"), post(stop))
        .route(&format!("{m}/suspend"), post(suspend))
        .route(&format!("{m}/versions"), get(versions))
        .route(&format!("{m}/wait"), get(wait::wait))
        .route(
            "/v1/apps/{app}/volumes",
            get(list_volumes).post(create_volume),
        )
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not found") })
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .with_state(state)
}

/// Accept `Bearer <t>` and `FlyV1 <macaroons>`; stamp every answer with `fly-request-id`.
async fn auth(State(w): State<Shared>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("FlyV1 "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let expected = lock(&w).token.clone();
    let ok = match (&given, &expected) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(g), Some(e)) => g == e,
    };
    let mut resp = if ok {
        next.run(req).await
    } else if given.is_none() {
        error(
            StatusCode::UNAUTHORIZED,
            "You must be authenticated to view this.",
        )
    } else {
        error(StatusCode::UNAUTHORIZED, "unauthorized: invalid token")
    };
    if let Ok(v) = HeaderValue::from_str(&format!("{}-iad", random_hex(20))) {
        resp.headers_mut().insert("fly-request-id", v);
    }
    resp
}

/// The digest the config's image resolves to, or the registry's refusal (boxed: a response
/// is large, and the digest is the common case).
fn resolve(w: &Shared, app: &str, config: &Value) -> Result<String, Box<Response>> {
    let image = config["image"].as_str().unwrap_or("");
    lock(w)
        .resolve_for(app, image)
        .map_err(|e| Box::new(error(StatusCode::UNPROCESSABLE_ENTITY, e)))
}

/// Run `f` on a settled app; 404 when absent, 403 when it belongs to an organisation the
/// token may not use.
pub(super) fn with_app<F: FnOnce(&mut App, Instant) -> Response>(
    w: &Shared,
    app: &str,
    f: F,
) -> Response {
    let mut world = lock(w);
    let now = Instant::now();
    let org = world.apps.get(app).map(|a| a.org.clone());
    if let Some(org) = org.filter(|o| !world.may_use(o)) {
        return apps::forbidden(&org);
    }
    match world.apps.get_mut(app) {
        Some(a) => {
            for m in &mut a.machines {
                m.settle(now);
            }
            a.detach_destroyed();
            f(a, now)
        }
        None => error(StatusCode::NOT_FOUND, format!("app not found: {app}")),
    }
}

pub(super) fn with_machine<F: FnOnce(&mut Machine, Instant) -> Response>(
    w: &Shared,
    app: &str,
    id: &str,
    f: F,
) -> Response {
    with_app(w, app, |a, now| match a.machine_mut(id) {
        Some(m) => f(m, now),
        None => error(StatusCode::NOT_FOUND, "machine not found"),
    })
}

pub(super) fn lease_conflict_message(id: &str, l: &Lease) -> String {
    let expires = chrono::DateTime::from_timestamp(l.expires_at as i64, 0)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    format!(
        "machine ID {} lease currently held by {}, expires at {}",
        id, l.owner, expires
    )
}

/// A lease-aware call on a leased machine must carry that lease's nonce.
fn lease_blocks(m: &Machine, headers: &HeaderMap) -> Option<Response> {
    let lease = m.lease.as_ref()?;
    let given = headers.get(NONCE).and_then(|v| v.to_str().ok());
    if given == Some(lease.nonce.as_str()) {
        return None;
    }
    Some(error(
        StatusCode::CONFLICT,
        lease_conflict_message(&m.id, lease),
    ))
}

fn is_running(state: &str) -> bool {
    matches!(state, "started" | "starting" | "replacing" | "updating")
}

async fn show_app(State(w): State<Shared>, Path(app): Path<String>) -> Response {
    with_app(&w, &app, |a, _| Json(a.view()).into_response())
}

fn with_lease(m: &Machine, mut v: Value) -> Value {
    if let Some(l) = &m.lease {
        v["lease"] =
            json!({"owner": l.owner, "expires_at": l.expires_at, "description": l.description});
    }
    v
}

async fn list(State(w): State<Shared>, Path(app): Path<String>, Query(q): Params) -> Response {
    let states: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "state")
        .flat_map(|(_, v)| v.split(',').map(str::to_string))
        .collect();
    let limit = match param(&q, "limit").map(str::parse::<usize>) {
        None => 1000,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => return error(StatusCode::BAD_REQUEST, "limit must be between 1 and 1000"),
    };
    let skip = match param(&q, "cursor").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "invalid cursor"),
    };
    with_app(&w, &app, |a, now| {
        let matching: Vec<Value> = a
            .machines
            .iter()
            .filter(|m| m.state != "destroyed" || truthy(&q, "include_deleted"))
            .filter(|m| param(&q, "region").is_none_or(|r| r == m.region))
            .filter(|m| states.is_empty() || states.iter().any(|s| s == m.state))
            .filter(|m| {
                q.iter().all(|(k, v)| match k.strip_prefix("metadata.") {
                    Some(key) => m.config["metadata"][key].as_str() == Some(v.as_str()),
                    None => true,
                })
            })
            .map(|m| match truthy(&q, "include_leases") {
                true => with_lease(m, m.view(now)),
                false => m.view(now),
            })
            .collect();
        let page: Vec<Value> = matching.iter().skip(skip).take(limit).cloned().collect();
        let mut resp = Json(page).into_response();
        if skip + limit < matching.len() {
            if let Ok(v) = HeaderValue::from_str(&(skip + limit).to_string()) {
                resp.headers_mut().insert("fly-next-cursor", v);
            }
        }
        resp
    })
}

async fn show(
    State(w): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    Query(q): Params,
) -> Response {
    with_machine(&w, &app, &id, |m, now| {
        let v = m.view(now);
        Json(if truthy(&q, "include_leases") {
            with_lease(m, v)
        } else {
            v
        })
        .into_response()
    })
}

/// Parse a JSON body into an object (empty → `{}`).
pub(super) fn json_body(body: &Bytes) -> Result<Value, (StatusCode, String)> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => Ok(v),
        Ok(_) => Err((
            StatusCode::BAD_REQUEST,
            "request body must be a JSON object".into(),
        )),
        Err(e) => Err((StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}"))),
    }
}

/// The Machines API document, for refusing configs it does not describe.
fn spec() -> &'static Value {
    static SPEC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    SPEC.get_or_init(|| {
        serde_json::from_str(include_str!(
            "../../../tests/fixtures/specs/fly-machines.openapi.json"
        ))
        .unwrap_or(Value::Null)
    })
}

/// The whole config is required (the API has no partial update), and it must be a
/// `fly.MachineConfig`: an unknown field or a wrong type is a 400, as flaps refuses it.
fn require_config(body: &Value) -> Result<Value, (StatusCode, String)> {
    let config = &body["config"];
    if !config.is_object() {
        return Err((StatusCode::BAD_REQUEST, "config is required".into()));
    }
    if config["image"].as_str().is_none_or(str::is_empty) {
        return Err((StatusCode::BAD_REQUEST, "image is required".into()));
    }
    let schema = json!({"$ref": "#/components/schemas/fly.MachineConfig"});
    let problems = crate::contract::problems(spec(), &schema, config, "config");
    if !problems.is_empty() {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("invalid machine config: {}", problems.join("; ")),
        ));
    }
    for (i, m) in config["mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if m["volume"].as_str().is_none_or(str::is_empty)
            || m["path"].as_str().is_none_or(str::is_empty)
        {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("invalid machine config: mounts[{i}] needs a volume id and a path"),
            ));
        }
    }
    Ok(config.clone())
}

/// The secrets version a created or updated machine runs with: the app's current one, none
/// with `skip_secrets`. A `min_secrets_version` the app has not reached yet is a 400: the
/// machine would start without secrets it was promised (the simulator's choice of status; the
/// document only lists the field).
fn secrets_to_run(body: &Value, current: u64) -> Result<Option<u64>, Box<Response>> {
    if let Some(min) = body.get("min_secrets_version").filter(|v| !v.is_null()) {
        let Some(min) = min.as_u64() else {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                "min_secrets_version must be a non-negative integer",
            )));
        };
        if min > current {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                format!(
                    "min_secrets_version {min} is newer than the app's secrets (version {current})"
                ),
            )));
        }
    }
    if body["skip_secrets"].as_bool() == Some(true) {
        return Ok(None);
    }
    Ok((current > 0).then_some(current))
}

fn mounted_volumes(config: &Value) -> Vec<String> {
    config["mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["volume"].as_str().map(str::to_string))
        .collect()
}

/// Attach the volumes `config` mounts to machine `id` in `region`, or say why not.
fn attach(a: &mut App, id: &str, region: &str, config: &Value) -> Result<(), (StatusCode, String)> {
    for vol in mounted_volumes(config) {
        let Some(v) = a.volumes.iter_mut().find(|v| v.id == vol) else {
            return Err((StatusCode::NOT_FOUND, format!("volume {vol} not found")));
        };
        if v.region != region {
            return Err((
                StatusCode::BAD_REQUEST,
                format!(
                    "volume {vol} is in {} and the machine in {region}",
                    v.region
                ),
            ));
        }
        match &v.attached_machine_id {
            Some(other) if other != id => {
                return Err((
                    StatusCode::BAD_REQUEST,
                    format!("volume {vol} is already attached to machine {other}"),
                ))
            }
            _ => v.attached_machine_id = Some(id.to_string()),
        }
    }
    Ok(())
}

async fn update(
    State(w): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match json_body(&body) {
        Ok(b) => b,
        Err((status, message)) => return error(status, message),
    };
    let config = match require_config(&body) {
        Ok(c) => c,
        Err((status, message)) => return error(status, message),
    };
    let digest = match resolve(&w, &app, &config) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    with_app(&w, &app, |a, now| {
        let secrets_version = match secrets_to_run(&body, a.secrets_version) {
            Ok(v) => v,
            Err(r) => return *r,
        };
        let Some(m) = a.machine_mut(&id) else {
            return error(StatusCode::NOT_FOUND, "machine not found");
        };
        if m.state == "destroyed" {
            return error(StatusCode::NOT_FOUND, "machine not found");
        }
        if let Some(r) = lease_blocks(m, &headers) {
            return r;
        }
        if let Some(cv) = body["current_version"].as_str() {
            if cv != m.version {
                return error(
                    StatusCode::CONFLICT,
                    format!(
                        "current version {cv} does not match the machine's version {}",
                        m.version
                    ),
                );
            }
        }
        if mounted_volumes(&config) != mounted_volumes(&m.config) {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid machine config: the volumes of an existing machine cannot be changed; destroy it and create a new one",
            );
        }
        if let Some(region) = body["region"].as_str() {
            m.region = region.to_string();
        }
        if let Some(name) = body["name"].as_str() {
            m.name = name.to_string();
        }
        let was_running = is_running(m.state);
        m.set_config(config);
        m.digest = digest;
        m.secrets_version = secrets_version;
        if let Some(l) = &mut m.lease {
            l.version = m.version.clone();
        }
        if body["skip_launch"].as_bool() == Some(true) {
            m.force_state("stopped", now);
        } else {
            m.begin_start(if was_running { "replacing" } else { "updating" }, now);
        }
        Json(m.view(now)).into_response()
    })
}

async fn create(State(w): State<Shared>, Path(app): Path<String>, body: Bytes) -> Response {
    let body = match json_body(&body) {
        Ok(b) => b,
        Err((status, message)) => return error(status, message),
    };
    let config = match require_config(&body) {
        Ok(c) => c,
        Err((status, message)) => return error(status, message),
    };
    let digest = match resolve(&w, &app, &config) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    with_app(&w, &app, |a, now| {
        let secrets_version = match secrets_to_run(&body, a.secrets_version) {
            Ok(v) => v,
            Err(r) => return *r,
        };
        let name = body["name"].as_str().map(str::to_string);
        if let Some(n) = &name {
            if a.machines
                .iter()
                .any(|m| &m.name == n && m.state != "destroyed")
            {
                return (
                    StatusCode::CONFLICT,
                    Json(json!({"error": format!("machine name {n} is already taken"), "status": "name_taken"})),
                )
                    .into_response();
            }
        }
        let group = config["metadata"]["fly_process_group"]
            .as_str()
            .unwrap_or("app")
            .to_string();
        let name = name.unwrap_or_else(|| format!("{group}-{}", random_hex(4)));
        let region = body["region"].as_str().unwrap_or("iad").to_string();
        let id = random_hex(14);
        if let Err((status, message)) = attach(a, &id, &region, &config) {
            return error(status, message);
        }
        let mut m = Machine::new(id, name, region, config, a.knobs.clone());
        m.digest = digest;
        m.secrets_version = secrets_version;
        m.cordoned = body["skip_service_registration"].as_bool() == Some(true);
        if body["skip_launch"].as_bool() == Some(true) {
            m.begin_created_stopped(now);
        } else {
            m.begin_start("created", now);
        }
        let mut v;
        if let Some(ttl) = body["lease_ttl"].as_u64().filter(|t| *t > 0) {
            let lease = new_lease(ttl, String::new(), m.version.clone(), now);
            v = m.view(now);
            v["nonce"] = json!(lease.nonce);
            m.lease = Some(lease);
        } else {
            v = m.view(now);
        }
        a.machines.push(m);
        Json(v).into_response()
    })
}

async fn destroy(
    State(w): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    with_machine(&w, &app, &id, |m, now| {
        if m.state == "destroyed" {
            return error(StatusCode::NOT_FOUND, "machine not found");
        }
        if let Some(r) = lease_blocks(m, &headers) {
            return r;
        }
        if is_running(m.state) && !truthy(&q, "force") && !truthy(&q, "kill") {
            return error(
                StatusCode::PRECONDITION_FAILED,
                "failed_precondition: unable to destroy machine, not currently stopped, suspended or failed",
            );
        }
        // Also cancels a pending transition: a destroyed machine never comes back.
        m.force_state("destroyed", now);
        m.lease = None;
        Json(json!({"ok": true})).into_response()
    })
}

/// Shared shape of start/stop/suspend/restart/cordon/uncordon: lease check, then `act`.
fn lease_aware<F: FnOnce(&mut Machine, Instant) -> Response>(
    w: &Shared,
    app: &str,
    id: &str,
    headers: &HeaderMap,
    act: F,
) -> Response {
    with_machine(w, app, id, |m, now| {
        if m.state == "destroyed" {
            return error(StatusCode::NOT_FOUND, "machine not found");
        }
        match lease_blocks(m, headers) {
            Some(r) => r,
            None => act(m, now),
        }
    })
}

fn ok() -> Response {
    Json(json!({"ok": true})).into_response()
}

async fn start(
    State(w): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    lease_aware(&w, &app, &id, &headers, |m, now| {
        let previous = m.state;
        if is_running(previous) {
            return error(
                StatusCode::PRECONDITION_FAILED,
                format!(
                    "failed_precondition: unable to start machine from current state: '{previous}'"
                ),
            );
        }
        m.begin_start("starting", now);
        // The body the docs show, although the spec gives none (NOTES.md §1.2).
        Json(json!({"previous_state": previous, "migrated": false, "new_host": ""})).into_response()
    })
}

async fn stop(
    State(w): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match json_body(&body) {
        Ok(b) => b,
        Err((status, message)) => return error(status, message),
    };
    const SIGNALS: [&str; 7] = [
        "SIGHUP", "SIGINT", "SIGQUIT", "SIGKILL", "SIGUSR1", "SIGUSR2", "SIGTERM",
    ];
    if let Some(sig) = body.get("signal") {
        if !sig.as_str().is_some_and(|s| SIGNALS.contains(&s)) {
            return error(StatusCode::BAD_REQUEST, format!("invalid signal: {sig}"));
        }
    }
    lease_aware(&w, &app, &id, &headers, |m, now| {
        if is_running(m.state) {
            m.begin_stop(now);
        }
        ok()
    })
}

async fn suspend(
    State(w): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    lease_aware(&w, &app, &id, &headers, |m, now| {
        m.force_state("suspended", now);
        ok()
    })
}

async fn restart(
    State(w): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    lease_aware(&w, &app, &id, &headers, |m, now| {
        m.begin_start("starting", now);
        ok()
    })
}

async fn cordon(
    State(w): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    lease_aware(&w, &app, &id, &headers, |m, _| {
        m.cordoned = true;
        ok()
    })
}

async fn uncordon(
    State(w): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    lease_aware(&w, &app, &id, &headers, |m, _| {
        m.cordoned = false;
        ok()
    })
}

async fn events(
    State(w): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    Query(q): Params,
) -> Response {
    let limit = param(&q, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(20)
        .clamp(1, 50);
    with_machine(&w, &app, &id, |m, _| Json(m.events(limit)).into_response())
}

async fn versions(State(w): State<Shared>, Path((app, id)): Path<(String, String)>) -> Response {
    with_machine(&w, &app, &id, |m, _| {
        let list: Vec<Value> = m
            .versions
            .iter()
            .rev()
            .map(|(v, c)| json!({"version": v, "user_config": c}))
            .collect();
        Json(list).into_response()
    })
}

async fn list_volumes(State(w): State<Shared>, Path(app): Path<String>) -> Response {
    with_app(&w, &app, |a, _| {
        Json(a.volumes.iter().map(Volume::view).collect::<Vec<_>>()).into_response()
    })
}

/// `POST /volumes {name, region, size_gb, encrypted, …}`: name and region are required, a
/// name is lowercase letters, digits and underscores (at most 30), size at least 1 GB.
async fn create_volume(State(w): State<Shared>, Path(app): Path<String>, body: Bytes) -> Response {
    let body = match json_body(&body) {
        Ok(b) => b,
        Err((status, message)) => return error(status, message),
    };
    let name = body["name"].as_str().unwrap_or("");
    let valid_name = !name.is_empty()
        && name.len() <= 30
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid_name {
        return error(
            StatusCode::BAD_REQUEST,
            "name must be 1-30 lowercase letters, digits or underscores",
        );
    }
    let Some(region) = body["region"].as_str().filter(|r| r.len() == 3) else {
        return error(StatusCode::BAD_REQUEST, "region is required");
    };
    let size = body["size_gb"].as_u64().unwrap_or(1);
    if size == 0 || size > 500 {
        return error(StatusCode::BAD_REQUEST, "size_gb must be between 1 and 500");
    }
    let encrypted = body["encrypted"].as_bool().unwrap_or(true);
    let (name, region) = (name.to_string(), region.to_string());
    with_app(&w, &app, |a, _| {
        let v = Volume::new(None, &name, &region, size, encrypted);
        let view = v.view();
        a.volumes.push(v);
        Json(view).into_response()
    })
}
