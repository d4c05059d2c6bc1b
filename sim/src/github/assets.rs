//! Release assets: uploads on the uploads host (raw body, `Content-Type` required, 422 on a
//! duplicate name, GitHub's renaming of special characters) and deletes; an immutable
//! published release refuses both.

use super::shape;
use super::state::AssetRec;
use super::{invalid, lock, no_content, not_found, unprocessable, Shared};
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

type IdPath = Path<(String, String, String)>;

/// `DELETE …/releases/assets/{asset_id}` (a real endpoint outside the saved subset).
pub async fn delete_asset(
    AxState(shared): AxState<Shared>,
    Path((owner, name, asset_id)): IdPath,
) -> Response {
    let mut s = lock(&shared);
    let Some(repo) = s.repo_mut(&owner, &name) else {
        return not_found();
    };
    let Ok(asset_id) = asset_id.parse::<u64>() else {
        return not_found();
    };
    let Some(release) = repo
        .releases
        .iter_mut()
        .find(|r| r.assets.iter().any(|a| a.id == asset_id))
    else {
        return not_found();
    };
    if release.immutable {
        return unprocessable("Cannot delete assets of an immutable release.");
    }
    release.assets.retain(|a| a.id != asset_id);
    no_content()
}

/// GitHub renames special characters in asset names (and leading/trailing dots).
pub fn sanitise_name(name: &str) -> String {
    let replaced: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-+@~".contains(c) {
                c
            } else {
                '.'
            }
        })
        .collect();
    replaced.trim_matches('.').to_string()
}

/// `POST {uploads}/repos/{o}/{r}/releases/{id}/assets?name=&label=` with a raw body.
pub async fn upload_asset(
    AxState(shared): AxState<Shared>,
    Path((owner, name, id)): IdPath,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut guard = lock(&shared);
    let s = &mut *guard;
    let asset_id = s.id();
    let Some(mut repo) = s.repo(&owner, &name).cloned() else {
        return not_found();
    };
    let Some(mut rec) = id.parse().ok().and_then(|id| repo.release(id)).cloned() else {
        return not_found();
    };
    let Some(asset_name) = query.get("name").filter(|n| !n.is_empty()) else {
        return invalid("ReleaseAsset", "name", "missing_field", None);
    };
    let Some(content_type) = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
    else {
        return invalid("ReleaseAsset", "content_type", "missing_field", None);
    };
    if rec.immutable {
        return unprocessable("Cannot upload assets to an immutable release.");
    }
    let asset_name = sanitise_name(asset_name);
    if rec.assets.iter().any(|a| a.name == asset_name) {
        return invalid("ReleaseAsset", "name", "already_exists", None);
    }
    let asset = AssetRec {
        id: asset_id,
        name: asset_name,
        label: query.get("label").cloned(),
        content_type: content_type.to_string(),
        size: body.len() as u64,
        digest: format!("sha256:{}", hex::encode(Sha256::digest(&body))),
        created_at: Utc::now(),
    };
    rec.assets.push(asset.clone());
    let answer = shape::asset(s, &repo, &rec, &asset);
    if let Some(slot) = repo.release_mut(rec.id) {
        *slot = rec;
    }
    if let Some(slot) = s.repo_mut(&owner, &name) {
        *slot = repo;
    }
    super::json_response(StatusCode::CREATED, answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_names_are_renamed_like_github() {
        assert_eq!(
            sanitise_name("my app (linux).tar.gz"),
            "my.app..linux..tar.gz"
        );
        assert_eq!(sanitise_name(".hidden."), "hidden");
        assert_eq!(sanitise_name("app-1.0+b@x.zip"), "app-1.0+b@x.zip");
    }
}
