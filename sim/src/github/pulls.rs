//! `GET /repos/{o}/{r}/pulls/{n}`: one pull request, with its state, merge status, head
//! (the fork it comes from, if any) and base; and the simulator's own way to change a pull
//! request while a test runs (close it, merge it, reopen it), by [`set_state`] or
//! `PATCH /__sim/repos/{o}/{r}/pulls/{n} {"state", "merged"}` on the GitHub port.

use super::state::State;
use super::{error, json_response, lock, not_found, parse_body, shape, Shared, DOCS};
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;

pub async fn get_one(
    AxState(shared): AxState<Shared>,
    Path((owner, name, number)): Path<(String, String, String)>,
) -> Response {
    let s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    match number.parse::<u64>().ok().and_then(|n| repo.pull(n)) {
        Some(p) => json_response(StatusCode::OK, shape::pull_full(&s, repo, p)),
        None => not_found(),
    }
}

/// Change a pull request's state: `open` or `closed`, merged or not (merged implies
/// closed). `Err` says why not.
pub fn set_state(
    s: &mut State,
    repo: &str,
    number: u64,
    state: &str,
    merged: bool,
) -> Result<(), String> {
    if !matches!(state, "open" | "closed") || (merged && state == "open") {
        return Err(format!(
            "state must be open or closed (merged implies closed), not {state}"
        ));
    }
    let (owner, name) = repo.split_once('/').unwrap_or((repo, ""));
    let r = s
        .repo_mut(owner, name)
        .ok_or_else(|| format!("no repository {repo}"))?;
    let p = r
        .pulls
        .iter_mut()
        .find(|p| p.number == number)
        .ok_or_else(|| format!("no pull request #{number} in {repo}"))?;
    p.state = Some(state.to_string());
    p.merged = Some(merged);
    r.pull_changed.insert(number, Utc::now());
    Ok(())
}

/// Move a pull request's head to `sha` (a push to its branch).
pub fn set_head(s: &mut State, repo: &str, number: u64, sha: &str) -> Result<(), String> {
    let (owner, name) = repo.split_once('/').unwrap_or((repo, ""));
    let r = s
        .repo_mut(owner, name)
        .ok_or_else(|| format!("no repository {repo}"))?;
    let p = r
        .pulls
        .iter_mut()
        .find(|p| p.number == number)
        .ok_or_else(|| format!("no pull request #{number} in {repo}"))?;
    p.head_sha = Some(sha.to_string());
    r.pull_changed.insert(number, Utc::now());
    Ok(())
}

/// `PATCH /__sim/repos/{o}/{r}/pulls/{n}` (a test's lever, not a GitHub route): `{"state",
/// "merged"}` closes, merges or reopens; `{"head_sha"}` moves the head.
pub async fn admin_set_state(
    AxState(shared): AxState<Shared>,
    Path((owner, name, number)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let v = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let state = v.get("state").and_then(|x| x.as_str()).unwrap_or("closed");
    let merged = v.get("merged").and_then(|x| x.as_bool()).unwrap_or(false);
    let Ok(n) = number.parse::<u64>() else {
        return not_found();
    };
    let mut s = lock(&shared);
    let repo = format!("{owner}/{name}");
    // `{"head_sha": …}` moves the head (a push) and leaves the state alone.
    let moved = match v.get("head_sha").and_then(|x| x.as_str()) {
        Some(sha) => set_head(&mut s, &repo, n, sha),
        None => set_state(&mut s, &repo, n, state, merged),
    };
    match moved {
        Ok(()) => {
            let repo = s.repo(&owner, &name);
            match repo.and_then(|r| r.pull(n).map(|p| (r, p))) {
                Some((r, p)) => json_response(StatusCode::OK, shape::pull_full(&s, r, p)),
                None => not_found(),
            }
        }
        Err(e) if e.starts_with("no ") => not_found(),
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, &e, DOCS),
    }
}
