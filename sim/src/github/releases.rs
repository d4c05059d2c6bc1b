//! Releases: create, list, get (by id, by tag, latest), update and delete. Assets are in
//! `assets.rs`, generated notes in `notes.rs`.
//!
//! As on GitHub: one release per tag (drafts included, so a second create is a 422
//! `already_exists`), `get-by-tag` hides drafts, publishing creates a missing tag at
//! `target_commitish`, `make_latest` decides `releases/latest`, and an immutable release
//! takes no asset changes once published.

use super::shape;
use super::state::{ReleaseRec, Repo, State};
use super::{
    created, invalid, lock, no_content, not_found, paged, parse_body, unprocessable, Shared,
};
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde_json::Value;
use std::collections::BTreeMap;

/// GitHub refuses release bodies longer than this.
pub const MAX_BODY: usize = 125_000;

type RepoPath = Path<(String, String)>;
type IdPath = Path<(String, String, String)>;

pub async fn list(
    AxState(shared): AxState<Shared>,
    Path((owner, name)): RepoPath,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    let mut releases: Vec<&ReleaseRec> = repo.releases.iter().collect();
    releases.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));
    let items = releases
        .into_iter()
        .map(|r| shape::release(&s, repo, r))
        .collect();
    let path = format!("/repos/{}/releases", repo.full_name());
    paged(items, &query, &s.api, &path)
}

pub async fn get_one(
    AxState(shared): AxState<Shared>,
    Path((owner, name, id)): IdPath,
) -> Response {
    let s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    match id.parse().ok().and_then(|id| repo.release(id)) {
        Some(r) => super::json_response(StatusCode::OK, shape::release(&s, repo, r)),
        None => not_found(),
    }
}

/// Published releases only: a draft's tag answers 404, as on GitHub.
pub async fn by_tag(
    AxState(shared): AxState<Shared>,
    Path((owner, name, tag)): IdPath,
) -> Response {
    let s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    match repo.releases.iter().find(|r| r.tag_name == tag && !r.draft) {
        Some(r) => super::json_response(StatusCode::OK, shape::release(&s, repo, r)),
        None => not_found(),
    }
}

pub async fn latest(AxState(shared): AxState<Shared>, Path((owner, name)): RepoPath) -> Response {
    let s = lock(&shared);
    let Some(repo) = s.repo(&owner, &name) else {
        return not_found();
    };
    let stable = |r: &&ReleaseRec| !r.draft && !r.prerelease;
    let chosen = repo
        .latest_release
        .and_then(|id| repo.release(id))
        .filter(stable)
        .or_else(|| {
            repo.releases
                .iter()
                .filter(stable)
                .max_by_key(|r| (r.published_at, r.id))
        });
    match chosen {
        Some(r) => super::json_response(StatusCode::OK, shape::release(&s, repo, r)),
        None => not_found(),
    }
}

/// The writable fields of a release, validated as GitHub does.
#[derive(Default)]
struct Fields {
    tag_name: Option<String>,
    target_commitish: Option<String>,
    name: Option<Option<String>>,
    body: Option<Option<String>>,
    draft: Option<bool>,
    prerelease: Option<bool>,
    make_latest: Option<String>,
}

fn fields(v: &Value) -> Result<Fields, Response> {
    let string = |key: &str| -> Result<Option<String>, Response> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid("Release", key, "invalid", None)),
        }
    };
    let nullable = |key: &str| -> Result<Option<Option<String>>, Response> {
        match v.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
            Some(_) => Err(invalid("Release", key, "invalid", None)),
        }
    };
    let boolean = |key: &str| -> Result<Option<bool>, Response> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(invalid("Release", key, "invalid", None)),
        }
    };
    let f = Fields {
        tag_name: string("tag_name")?,
        target_commitish: string("target_commitish")?,
        name: nullable("name")?,
        body: nullable("body")?,
        draft: boolean("draft")?,
        prerelease: boolean("prerelease")?,
        make_latest: string("make_latest")?,
    };
    if let Some(m) = &f.make_latest {
        if !["true", "false", "legacy"].contains(&m.as_str()) {
            return Err(invalid("Release", "make_latest", "invalid", None));
        }
    }
    if let Some(Some(body)) = &f.body {
        if body.chars().count() > MAX_BODY {
            return Err(invalid(
                "Release",
                "body",
                "custom",
                Some("body is too long (maximum is 125000 characters)"),
            ));
        }
    }
    Ok(f)
}

pub async fn create(
    AxState(shared): AxState<Shared>,
    Path((owner, name)): RepoPath,
    body: Bytes,
) -> Response {
    let v = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let f = match fields(&v) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut guard = lock(&shared);
    let s = &mut *guard;
    let id = s.id();
    let immutable = s.immutable_releases;
    let Some(repo) = s.repo(&owner, &name).cloned() else {
        return not_found();
    };
    let Some(tag) = f.tag_name.clone().filter(|t| !t.trim().is_empty()) else {
        return invalid("Release", "tag_name", "missing_field", None);
    };
    if repo.releases.iter().any(|r| r.tag_name == tag) {
        return invalid("Release", "tag_name", "already_exists", None);
    }
    let target = f
        .target_commitish
        .clone()
        .unwrap_or_else(|| repo.default_branch.clone());
    if repo.tag(&tag).is_none() && s.resolve(&repo, &target).is_none() {
        return invalid("Release", "target_commitish", "invalid", None);
    }
    let now = Utc::now();
    let mut rec = ReleaseRec {
        id,
        tag_name: tag,
        target_commitish: target,
        name: f.name.flatten(),
        body: f.body.flatten(),
        draft: f.draft.unwrap_or(false),
        prerelease: f.prerelease.unwrap_or(false),
        immutable: false,
        created_at: now,
        published_at: None,
        updated_at: now,
        assets: Vec::new(),
        pending_make_latest: f.make_latest.clone(),
    };
    let mut repo = repo;
    if !rec.draft {
        publish(s, &mut repo, &mut rec, immutable);
    }
    repo.releases.push(rec.clone());
    let answer = shape::release(s, &repo, &rec);
    let location = format!("{}/releases/{}", shape::repo_api(s, &repo), rec.id);
    if let Some(slot) = s.repo_mut(&owner, &name) {
        *slot = repo;
    }
    created(&location, answer)
}

/// Publish `rec`: create its tag if missing, stamp it, apply `make_latest`.
fn publish(s: &State, repo: &mut Repo, rec: &mut ReleaseRec, immutable: bool) {
    let full = format!("refs/tags/{}", rec.tag_name);
    if !repo.refs.contains_key(&full) {
        if let Some(sha) = s.resolve(repo, &rec.target_commitish) {
            repo.refs.insert(full, sha);
        }
    }
    let now = Utc::now();
    rec.draft = false;
    rec.published_at = Some(now);
    rec.updated_at = now;
    rec.immutable = immutable;
    apply_make_latest(repo, rec);
}

/// GitHub's default for a newly published release is `make_latest: "true"`; `legacy`
/// makes it latest only when it is the newest stable release.
fn apply_make_latest(repo: &mut Repo, rec: &mut ReleaseRec) {
    let wish = rec
        .pending_make_latest
        .take()
        .unwrap_or_else(|| "true".into());
    if rec.draft || rec.prerelease {
        return;
    }
    match wish.as_str() {
        "true" => repo.latest_release = Some(rec.id),
        "legacy" => {
            let newer = repo
                .latest_release
                .and_then(|id| repo.release(id))
                .is_some_and(|cur| cur.created_at > rec.created_at);
            if !newer {
                repo.latest_release = Some(rec.id);
            }
        }
        _ => {}
    }
}

pub async fn update(
    AxState(shared): AxState<Shared>,
    Path((owner, name, id)): IdPath,
    body: Bytes,
) -> Response {
    let v = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let f = match fields(&v) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut guard = lock(&shared);
    let s = &mut *guard;
    let immutable = s.immutable_releases;
    let Some(mut repo) = s.repo(&owner, &name).cloned() else {
        return not_found();
    };
    let Some(mut rec) = id.parse().ok().and_then(|id| repo.release(id)).cloned() else {
        return not_found();
    };
    if rec.immutable {
        let moves_tag = f.tag_name.as_ref().is_some_and(|t| *t != rec.tag_name)
            || f.target_commitish
                .as_ref()
                .is_some_and(|t| *t != rec.target_commitish);
        if moves_tag || f.draft == Some(true) {
            return unprocessable("Cannot modify the tag or draft state of an immutable release.");
        }
    }
    if let Some(tag) = &f.tag_name {
        if repo
            .releases
            .iter()
            .any(|r| r.id != rec.id && r.tag_name == *tag)
        {
            return invalid("Release", "tag_name", "already_exists", None);
        }
        rec.tag_name = tag.clone();
    }
    if let Some(t) = f.target_commitish {
        rec.target_commitish = t;
    }
    if let Some(n) = f.name {
        rec.name = n;
    }
    if let Some(b) = f.body {
        rec.body = b;
    }
    if let Some(p) = f.prerelease {
        rec.prerelease = p;
        if p && repo.latest_release == Some(rec.id) {
            repo.latest_release = None;
        }
    }
    if f.make_latest.is_some() {
        rec.pending_make_latest = f.make_latest.clone();
    }
    rec.updated_at = Utc::now();
    match f.draft {
        Some(false) if rec.draft => publish(s, &mut repo, &mut rec, immutable),
        Some(true) if !rec.draft => {
            rec.draft = true;
            rec.published_at = None;
            if repo.latest_release == Some(rec.id) {
                repo.latest_release = None;
            }
        }
        _ if !rec.draft && rec.pending_make_latest.is_some() => {
            apply_make_latest(&mut repo, &mut rec)
        }
        _ => {}
    }
    if let Some(slot) = repo.release_mut(rec.id) {
        *slot = rec.clone();
    }
    let answer = shape::release(s, &repo, &rec);
    if let Some(slot) = s.repo_mut(&owner, &name) {
        *slot = repo;
    }
    super::json_response(StatusCode::OK, answer)
}

pub async fn delete(AxState(shared): AxState<Shared>, Path((owner, name, id)): IdPath) -> Response {
    let mut s = lock(&shared);
    let Some(repo) = s.repo_mut(&owner, &name) else {
        return not_found();
    };
    let Some(id) = id
        .parse::<u64>()
        .ok()
        .filter(|id| repo.release(*id).is_some())
    else {
        return not_found();
    };
    repo.releases.retain(|r| r.id != id);
    if repo.latest_release == Some(id) {
        repo.latest_release = None;
    }
    no_content()
}
