//! `GET …/wait`: long-poll until the machine is in one of the wanted states (at a version),
//! or 408 after `timeout` seconds (1–60, default 60).

use super::model::new_version;
use super::routes::{error, lock, param, Params, Shared};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::time::{Duration, Instant};

const WAIT_STATES: [&str; 6] = [
    "started",
    "stopped",
    "suspended",
    "destroyed",
    "failed",
    "settled",
];

fn state_matches(wanted: &[String], state: &str) -> bool {
    wanted.iter().any(|s| {
        s == state
            || (s == "settled"
                && matches!(
                    state,
                    "started" | "stopped" | "suspended" | "failed" | "destroyed"
                ))
    })
}

/// Long-poll until the machine is in one of `state` (at `version`, if given), or answer 408
/// after `timeout` seconds (1–60, default 60).
pub(super) async fn wait(
    State(w): State<Shared>,
    Path((app, id)): Path<(String, String)>,
    Query(q): Params,
) -> Response {
    let mut wanted: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "state")
        .flat_map(|(_, v)| v.split(',').map(str::to_string))
        .collect();
    if wanted.is_empty() {
        wanted.push("started".into());
    }
    if let Some(bad) = wanted.iter().find(|s| !WAIT_STATES.contains(&s.as_str())) {
        return error(StatusCode::BAD_REQUEST, format!("invalid state: {bad}"));
    }
    let timeout = match param(&q, "timeout").map(str::parse::<u64>) {
        None => 60,
        Some(Ok(t)) => t.clamp(1, 60),
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "timeout must be an integer number of seconds",
            )
        }
    };
    let version = param(&q, "version")
        .or_else(|| param(&q, "instance_id"))
        .map(str::to_string);
    let deadline = Instant::now() + Duration::from_secs(timeout);
    loop {
        let answer = {
            let mut world = lock(&w);
            let now = Instant::now();
            let Some(m) = world.apps.get_mut(&app).and_then(|a| a.machine_mut(&id)) else {
                return error(StatusCode::NOT_FOUND, "machine not found");
            };
            m.settle(now);
            let at_version = version.as_deref().is_none_or(|v| v == m.version);
            (state_matches(&wanted, m.state) && at_version).then(|| {
                json!({"ok": true, "state": m.state, "version": m.version, "event_id": new_version()})
            })
        };
        if let Some(v) = answer {
            return Json(v).into_response();
        }
        if Instant::now() >= deadline {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "deadline_exceeded: timed out waiting for machine {id} to reach {}",
                    wanted.join(",")
                ),
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settled_covers_persistent_states() {
        let wanted = vec!["settled".to_string()];
        assert!(state_matches(&wanted, "failed"));
        assert!(!state_matches(&wanted, "replacing"));
        assert!(state_matches(&["started".into()], "started"));
    }
}
