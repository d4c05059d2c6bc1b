//! Releases, their assets, and GitHub's generated notes.
//!
//! `get-by-tag` never returns drafts, so "the release for a tag" is found by listing.
//! Where several releases share a tag (GitHub lets drafts do that), the oldest one is the
//! release: every job that looks chooses the same one.

use super::{GitHub, GithubError};
use octocrab::models::repos::{Asset, Release};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use url::Url;

/// `make_latest` as GitHub takes it: a string, not a boolean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MakeLatest {
    True,
    False,
    /// GitHub decides by creation date and version (its default).
    Legacy,
}

/// The fields of a create or update; `None` leaves a field out of the request.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ReleaseFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_commitish: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draft: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prerelease: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub make_latest: Option<MakeLatest>,
}

/// `POST …/releases/generate-notes` answer.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct GeneratedNotes {
    pub name: String,
    pub body: String,
}

impl GitHub {
    /// Every release, drafts included (newest first, as GitHub lists them).
    pub(crate) async fn list_releases(&self) -> Result<Vec<Release>, GithubError> {
        self.list("list releases", self.repo_url(&["releases"]), usize::MAX)
            .await
    }

    /// Every release whose tag is `tag`, drafts included, oldest first.
    pub async fn releases_for_tag(&self, tag: &str) -> Result<Vec<Release>, GithubError> {
        let mut found: Vec<Release> = self
            .list_releases()
            .await?
            .into_iter()
            .filter(|r| r.tag_name == tag)
            .collect();
        found.sort_by_key(|r| r.id);
        Ok(found)
    }

    /// The release for `tag`, drafts included: the published one if there is one, else the
    /// oldest draft.
    pub(crate) async fn release_by_tag(&self, tag: &str) -> Result<Option<Release>, GithubError> {
        let all = self.releases_for_tag(tag).await?;
        Ok(pick_release(all))
    }

    /// `GET …/releases/tags/{tag}`: published releases only (GitHub hides drafts here).
    pub async fn published_release_by_tag(
        &self,
        tag: &str,
    ) -> Result<Option<Release>, GithubError> {
        self.get_optional(
            "get release by tag",
            self.repo_url(&["releases", "tags", tag]),
        )
        .await
    }

    pub(crate) async fn get_release(&self, id: u64) -> Result<Release, GithubError> {
        let url = self.repo_url(&["releases", &id.to_string()]);
        self.call("get release", Method::GET, url, None, true).await
    }

    /// The latest release (non-draft, non-prerelease), if any.
    pub async fn latest_release(&self) -> Result<Option<Release>, GithubError> {
        self.get_optional("get latest release", self.repo_url(&["releases", "latest"]))
            .await
    }

    /// `POST …/releases`. Not retried after it may have reached GitHub: a second create
    /// could make a second release. A 422 [`GithubError::is_already_exists`] means another
    /// job created it first.
    pub(crate) async fn create_release(
        &self,
        fields: &ReleaseFields,
    ) -> Result<Release, GithubError> {
        if fields.tag_name.as_deref().unwrap_or("").is_empty() {
            return Err(GithubError::Invalid(
                "a release needs a tag_name".to_string(),
            ));
        }
        let body = serde_json::to_value(fields).unwrap_or_default();
        let url = self.repo_url(&["releases"]);
        self.call("create release", Method::POST, url, Some(&body), false)
            .await
    }

    /// `PATCH …/releases/{id}` with only the given fields (idempotent, so retried).
    pub(crate) async fn update_release(
        &self,
        id: u64,
        fields: &ReleaseFields,
    ) -> Result<Release, GithubError> {
        let body = serde_json::to_value(fields).unwrap_or_default();
        let url = self.repo_url(&["releases", &id.to_string()]);
        self.call("update release", Method::PATCH, url, Some(&body), true)
            .await
    }

    pub(crate) async fn delete_release(&self, id: u64) -> Result<(), GithubError> {
        let url = self.repo_url(&["releases", &id.to_string()]);
        match self
            .send("delete release", Method::DELETE, url, None, true)
            .await
        {
            Ok(_) => Ok(()),
            // Already gone (a retried DELETE whose first attempt worked).
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Upload one asset to the uploads host named by the release's `upload_url`.
    /// A 422 [`GithubError::is_already_exists`] means an asset of that name exists.
    pub(crate) async fn upload_asset(
        &self,
        release: &Release,
        name: &str,
        label: Option<&str>,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<Asset, GithubError> {
        let mut url = self.upload_base(release);
        url.query_pairs_mut().append_pair("name", name);
        if let Some(label) = label {
            url.query_pairs_mut().append_pair("label", label);
        }
        let content_type = content_type.to_string();
        let timeout = upload_timeout(bytes.len());
        let build = |client: &reqwest::Client| {
            self.authorise(client.post(url.clone()))
                .header(reqwest::header::CONTENT_TYPE, content_type.as_str())
                .timeout(timeout)
                .body(bytes.clone())
        };
        let op = "upload release asset";
        let response = self
            .http
            .send(build, false)
            .await
            .map_err(|e| GithubError::from_http(op, e))?;
        self.decode(op, response).await
    }

    /// `DELETE …/releases/assets/{asset_id}` (used to replace an asset, or to clear the
    /// `starter` left by a failed upload).
    pub(crate) async fn delete_asset(&self, asset_id: u64) -> Result<(), GithubError> {
        let url = self.repo_url(&["releases", "assets", &asset_id.to_string()]);
        match self
            .send("delete release asset", Method::DELETE, url, None, true)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// GitHub's own notes for `tag`, from `previous_tag` (ours, not GitHub's guess).
    pub async fn generate_notes(
        &self,
        tag: &str,
        target_commitish: Option<&str>,
        previous_tag: Option<&str>,
    ) -> Result<GeneratedNotes, GithubError> {
        let mut body = serde_json::json!({ "tag_name": tag });
        if let Some(t) = target_commitish {
            body["target_commitish"] = t.into();
        }
        if let Some(p) = previous_tag {
            body["previous_tag_name"] = p.into();
        }
        let url = self.repo_url(&["releases", "generate-notes"]);
        // Generating notes saves nothing, so repeating it is safe.
        self.call(
            "generate release notes",
            Method::POST,
            url,
            Some(&body),
            true,
        )
        .await
    }

    /// The asset upload URL: the release's `upload_url` template without its `{?name,label}`
    /// part, as long as it points at a host we were configured for (the token is sent
    /// there); otherwise the configured uploads base.
    fn upload_base(&self, release: &Release) -> Url {
        let template = release.upload_url.split('{').next().unwrap_or_default();
        let trusted = |u: &Url| {
            [&self.uploads, &self.api]
                .iter()
                .any(|base| base.origin() == u.origin())
        };
        match Url::parse(template) {
            Ok(u) if trusted(&u) => u,
            _ => {
                let mut url = self.uploads.clone();
                if let Ok(mut path) = url.path_segments_mut() {
                    path.pop_if_empty().extend([
                        "repos",
                        self.owner.as_str(),
                        self.repo.as_str(),
                        "releases",
                        &release.id.to_string(),
                        "assets",
                    ]);
                }
                url
            }
        }
    }
}

/// The client's 30 s budget fits API calls, not a 500 MB binary: an upload gets 30 s plus
/// one second per 256 KiB (a slow 2 Mbit/s runner link), at most an hour.
pub(crate) fn upload_timeout(len: usize) -> std::time::Duration {
    let secs = 30 + (len / (256 * 1024)) as u64;
    std::time::Duration::from_secs(secs.min(3600))
}

/// The published release if there is one, else the oldest (lowest id).
pub fn pick_release(mut candidates: Vec<Release>) -> Option<Release> {
    candidates.sort_by_key(|r| r.id);
    match candidates.iter().position(|r| !r.draft) {
        Some(i) => Some(candidates.swap_remove(i)),
        None => candidates.into_iter().next(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_get_time_in_proportion_to_their_size() {
        use std::time::Duration;
        assert_eq!(upload_timeout(10), Duration::from_secs(30));
        assert_eq!(upload_timeout(100 * 1024 * 1024), Duration::from_secs(430));
        assert_eq!(upload_timeout(usize::MAX / 2), Duration::from_secs(3600));
    }

    #[test]
    fn fields_leave_out_what_is_unset() {
        let f = ReleaseFields {
            tag_name: Some("v1.0.0".into()),
            draft: Some(true),
            make_latest: Some(MakeLatest::False),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            serde_json::json!({"tag_name": "v1.0.0", "draft": true, "make_latest": "false"})
        );
    }
}
