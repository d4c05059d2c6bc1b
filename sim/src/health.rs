//! Health endpoints: `/healthz`-style routes whose behaviour a scenario sets per endpoint and
//! an admin route changes at runtime, so tests and the demo can make a service start late,
//! flap, hang, answer an error, or switch from the old version to the new one.
//!
//! Routes:
//! - `GET|HEAD|POST /health/{name}`: the endpoint `name` (`/healthz` is the endpoint `default`).
//! - `POST /__health/{name}`: merge a JSON [`Endpoint`] patch into `name` (creating it); a patch
//!   that sets `healthy_after_ms` or `reset: true` restarts the endpoint's clock.
//! - `GET /__health/{name}`: the endpoint's settings and how many requests it has answered.
//!
//! An endpoint's answer, in order of precedence: `hang` (never answers), `redirect` (302),
//! `status` (that status, always), not yet `healthy_after_ms` (503 `starting`), the `flap`
//! pattern's next letter (`u` up, `d` down → 503), else 200 with
//! `{"status":"ok","version":…,"sha":…}`. `delay_ms` delays every answer.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The health part of a scenario file: endpoints by name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Scenario {
    #[serde(default)]
    pub endpoints: BTreeMap<String, Endpoint>,
}

/// How one endpoint behaves. Every field is optional so the same type is the admin patch.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Answer 503 until this long after the endpoint was (re)configured.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "healthy-after-ms"
    )]
    pub healthy_after_ms: Option<u64>,
    /// Once healthy, cycle through this pattern one letter per request: `u` up, `d` down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap: Option<String>,
    /// The version reported in the body (default `0.0.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The commit reported in the body (default 40 zeros).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    /// Report `new_version`/`new_sha` instead once this long has passed since (re)configuration.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "switch-after-ms"
    )]
    pub switch_after_ms: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "new-version"
    )]
    pub new_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "new-sha")]
    pub new_sha: Option<String>,
    /// Never answer (the client's timeout must fire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hang: Option<bool>,
    /// Always answer this status (with a short JSON body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Answer 302 to this location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
    /// Wait this long before every answer.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "delay-ms")]
    pub delay_ms: Option<u64>,
    /// Admin patches only: restart the clock (and the flap pattern) without other changes.
    #[serde(default, skip_serializing)]
    pub reset: Option<bool>,
}

impl Endpoint {
    /// Apply a patch: every field the patch sets replaces ours. Returns whether the clock restarts.
    fn merge(&mut self, patch: Endpoint) -> bool {
        let restart = patch.healthy_after_ms.is_some()
            || patch.switch_after_ms.is_some()
            || patch.reset == Some(true);
        macro_rules! take {
            ($($f:ident),*) => { $( if patch.$f.is_some() { self.$f = patch.$f; } )* };
        }
        take!(
            healthy_after_ms,
            flap,
            version,
            sha,
            switch_after_ms,
            new_version,
            new_sha,
            hang,
            status,
            redirect,
            delay_ms
        );
        restart
    }
}

#[derive(Debug)]
struct Live {
    spec: Endpoint,
    since: Instant,
    /// Requests answered while healthy, indexing the flap pattern.
    healthy_hits: usize,
    hits: u64,
}

impl Live {
    fn new(spec: Endpoint) -> Self {
        Live {
            spec,
            since: Instant::now(),
            healthy_hits: 0,
            hits: 0,
        }
    }
}

#[derive(Clone, Default)]
struct Health {
    endpoints: Arc<Mutex<BTreeMap<String, Live>>>,
}

/// What one request gets, decided under the lock and acted on outside it.
enum Answer {
    Hang,
    Redirect(String),
    Status(u16, serde_json::Value),
}

impl Health {
    fn answer(&self, name: &str) -> (Answer, Duration) {
        let mut map = self.endpoints.lock().unwrap_or_else(|p| p.into_inner());
        let live = map
            .entry(name.to_string())
            .or_insert_with(|| Live::new(Endpoint::default()));
        live.hits += 1;
        let delay = Duration::from_millis(live.spec.delay_ms.unwrap_or(0));
        let spec = &live.spec;
        let age = live.since.elapsed();
        let answer = if spec.hang == Some(true) {
            Answer::Hang
        } else if let Some(to) = &spec.redirect {
            Answer::Redirect(to.clone())
        } else if let Some(code) = spec.status {
            Answer::Status(code, serde_json::json!({"status": "error", "code": code}))
        } else if age < Duration::from_millis(spec.healthy_after_ms.unwrap_or(0)) {
            Answer::Status(503, serde_json::json!({"status": "starting"}))
        } else {
            let up = match spec.flap.as_deref().filter(|p| !p.is_empty()) {
                Some(pattern) => {
                    let letters: Vec<char> =
                        pattern.chars().filter(|c| !c.is_whitespace()).collect();
                    let letter = letters[live.healthy_hits % letters.len().max(1)];
                    live.healthy_hits += 1;
                    letter != 'd'
                }
                None => true,
            };
            let spec = &live.spec;
            let switched = spec
                .switch_after_ms
                .is_some_and(|ms| age >= Duration::from_millis(ms));
            let (version, sha) = if switched {
                (spec.new_version.as_ref(), spec.new_sha.as_ref())
            } else {
                (spec.version.as_ref(), spec.sha.as_ref())
            };
            let version = version.cloned().unwrap_or_else(|| "0.0.0".into());
            let sha = sha.cloned().unwrap_or_else(|| "0".repeat(40));
            if up {
                Answer::Status(
                    200,
                    serde_json::json!({"status": "ok", "version": version, "sha": sha}),
                )
            } else {
                Answer::Status(
                    503,
                    serde_json::json!({"status": "down", "version": version, "sha": sha}),
                )
            }
        };
        (answer, delay)
    }
}

/// The health endpoints of `scenario`, with their admin routes.
pub fn router(scenario: Scenario, _urls: &crate::Urls) -> Router {
    let state = Health::default();
    {
        let mut map = state.endpoints.lock().unwrap_or_else(|p| p.into_inner());
        for (name, spec) in scenario.endpoints {
            map.insert(name, Live::new(spec));
        }
    }
    Router::new()
        .route("/healthz", any(healthz))
        .route("/health/{name}", any(endpoint))
        .route("/__health/{name}", get(inspect).post(configure))
        .with_state(state)
}

async fn healthz(State(state): State<Health>) -> Response {
    respond(&state, "default").await
}

async fn endpoint(State(state): State<Health>, Path(name): Path<String>) -> Response {
    respond(&state, &name).await
}

async fn respond(state: &Health, name: &str) -> Response {
    let (answer, delay) = state.answer(name);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match answer {
        Answer::Hang => std::future::pending().await,
        Answer::Redirect(to) => (StatusCode::FOUND, [(header::LOCATION, to)]).into_response(),
        Answer::Status(code, body) => {
            let code = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (code, Json(body)).into_response()
        }
    }
}

async fn configure(
    State(state): State<Health>,
    Path(name): Path<String>,
    Json(patch): Json<Endpoint>,
) -> Json<serde_json::Value> {
    let mut map = state.endpoints.lock().unwrap_or_else(|p| p.into_inner());
    let live = map
        .entry(name)
        .or_insert_with(|| Live::new(Endpoint::default()));
    if live.spec.merge(patch) {
        live.since = Instant::now();
        live.healthy_hits = 0;
    }
    Json(describe(live))
}

async fn inspect(State(state): State<Health>, Path(name): Path<String>) -> Response {
    let map = state.endpoints.lock().unwrap_or_else(|p| p.into_inner());
    match map.get(&name) {
        Some(live) => Json(describe(live)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": format!("no health endpoint `{name}`")})),
        )
            .into_response(),
    }
}

fn describe(live: &Live) -> serde_json::Value {
    serde_json::json!({"endpoint": live.spec, "hits": live.hits})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> crate::Urls {
        crate::Urls::default()
    }

    async fn serve(scenario: Scenario) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(scenario, &urls());
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    fn scenario(yaml: &str) -> Scenario {
        serde_yaml::from_str(yaml).unwrap()
    }

    async fn get(url: &str) -> (u16, serde_json::Value) {
        let resp = reqwest::get(url).await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or_default())
    }

    #[tokio::test]
    async fn reports_its_version_and_switches_when_told() {
        let base = serve(scenario("endpoints:\n  web: {version: 1.0.0, sha: aaa}\n")).await;
        let (code, body) = get(&format!("{base}/health/web")).await;
        assert_eq!(code, 200);
        assert_eq!(
            body,
            serde_json::json!({"status": "ok", "version": "1.0.0", "sha": "aaa"})
        );
        let patched: serde_json::Value = reqwest::Client::new()
            .post(format!("{base}/__health/web"))
            .json(&serde_json::json!({"version": "1.1.0", "sha": "bbb"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(patched["endpoint"]["version"], "1.1.0");
        let (_, body) = get(&format!("{base}/health/web")).await;
        assert_eq!(body["version"], "1.1.0");
        assert_eq!(body["sha"], "bbb");
    }

    #[tokio::test]
    async fn starting_endpoints_answer_503_until_their_time() {
        let base = serve(scenario(
            "endpoints:\n  slow: {healthy_after_ms: 3600000}\n",
        ))
        .await;
        let (code, body) = get(&format!("{base}/health/slow")).await;
        assert_eq!((code, body["status"].as_str()), (503, Some("starting")));
        // Restarting the clock with zero makes it healthy at once.
        reqwest::Client::new()
            .post(format!("{base}/__health/slow"))
            .json(&serde_json::json!({"healthy_after_ms": 0}))
            .send()
            .await
            .unwrap();
        assert_eq!(get(&format!("{base}/health/slow")).await.0, 200);
    }

    #[tokio::test]
    async fn flapping_follows_the_pattern_per_request() {
        let base = serve(scenario("endpoints:\n  f: {flap: uud}\n")).await;
        let mut codes = Vec::new();
        for _ in 0..6 {
            codes.push(get(&format!("{base}/health/f")).await.0);
        }
        assert_eq!(codes, vec![200, 200, 503, 200, 200, 503]);
        let seen: serde_json::Value = reqwest::get(format!("{base}/__health/f"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(seen["hits"], 6);
    }

    #[tokio::test]
    async fn fixed_status_redirect_and_unknown_admin_names() {
        let base = serve(scenario(
            "endpoints:\n  gone: {status: 404}\n  moved: {redirect: /health/web}\n",
        ))
        .await;
        assert_eq!(get(&format!("{base}/health/gone")).await.0, 404);
        let no_follow = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let resp = no_follow
            .get(format!("{base}/health/moved"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 302);
        assert_eq!(resp.headers()["location"], "/health/web");
        assert_eq!(get(&format!("{base}/__health/nope")).await.0, 404);
        // An endpoint nobody configured is simply healthy, at /healthz too.
        assert_eq!(get(&format!("{base}/healthz")).await.0, 200);
    }

    #[tokio::test]
    async fn hanging_endpoints_never_answer() {
        let base = serve(scenario("endpoints:\n  h: {hang: true}\n")).await;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let err = client
            .get(format!("{base}/health/h"))
            .send()
            .await
            .unwrap_err();
        assert!(err.is_timeout(), "{err}");
    }

    #[test]
    fn scenario_rejects_unknown_keys() {
        let err = serde_yaml::from_str::<Scenario>("endpoints:\n  x: {hnag: true}\n").unwrap_err();
        assert!(err.to_string().contains("hnag"), "{err}");
    }
}
