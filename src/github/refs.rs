//! Git refs and tags: read a ref, create a tag ref idempotently, move a ref, list tags.

use super::{GitHub, GithubError};
use octocrab::models::repos::{Object, Ref, Tag};
use reqwest::Method;

/// The outcome of [`GitHub::ensure_tag_ref`].
#[derive(Debug, Clone)]
pub enum TagRef {
    /// We created it.
    Created(Ref),
    /// It already pointed at the wanted commit (a re-run).
    Existed(Ref),
}

impl TagRef {
    pub fn git_ref(&self) -> &Ref {
        match self {
            TagRef::Created(r) | TagRef::Existed(r) => r,
        }
    }
}

/// The sha a ref's object names (a commit, or an annotated tag object).
pub fn object_sha(object: &Object) -> &str {
    match object {
        Object::Commit { sha, .. }
        | Object::Tag { sha, .. }
        | Object::Tree { sha, .. }
        | Object::Blob { sha, .. } => sha,
        // `Object` is non-exhaustive; an unknown kind names no sha we can compare.
        _ => "",
    }
}

impl GitHub {
    /// `GET …/git/ref/{ref}` with `ref` like `tags/v1.2.3` or `heads/main`; `None` if missing.
    pub async fn get_ref(&self, git_ref: &str) -> Result<Option<Ref>, GithubError> {
        let mut segments = vec!["git", "ref"];
        segments.extend(git_ref.trim_start_matches("refs/").split('/'));
        self.get_optional("get ref", self.repo_url(&segments)).await
    }

    /// `POST …/git/refs` with a full ref (`refs/tags/v1.2.3`); 422 when it exists.
    pub async fn create_ref(&self, full_ref: &str, sha: &str) -> Result<Ref, GithubError> {
        let body = serde_json::json!({ "ref": full_ref, "sha": sha });
        let url = self.repo_url(&["git", "refs"]);
        self.call("create ref", Method::POST, url, Some(&body), false)
            .await
    }

    /// `PATCH …/git/refs/{ref}` (`tags/v1`, `heads/main`).
    pub async fn update_ref(
        &self,
        git_ref: &str,
        sha: &str,
        force: bool,
    ) -> Result<Ref, GithubError> {
        let mut segments = vec!["git", "refs"];
        segments.extend(git_ref.trim_start_matches("refs/").split('/'));
        let body = serde_json::json!({ "sha": sha, "force": force });
        self.call(
            "update ref",
            Method::PATCH,
            self.repo_url(&segments),
            Some(&body),
            true,
        )
        .await
    }

    /// Make `refs/tags/{tag}` point at `sha`, safely on a re-run or a race: an existing tag
    /// at the same commit is success; one at another commit is an error, never moved.
    pub async fn ensure_tag_ref(&self, tag: &str, sha: &str) -> Result<TagRef, GithubError> {
        let path = format!("tags/{tag}");
        if let Some(existing) = self.get_ref(&path).await? {
            return self
                .same_commit(tag, sha, existing)
                .await
                .map(TagRef::Existed);
        }
        match self.create_ref(&format!("refs/{path}"), sha).await {
            Ok(created) => Ok(TagRef::Created(created)),
            Err(e) if e.is_already_exists() || e.status() == Some(422) => {
                // Someone created it between our read and our write.
                match self.get_ref(&path).await? {
                    Some(existing) => self
                        .same_commit(tag, sha, existing)
                        .await
                        .map(TagRef::Existed),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// `existing` if it names commit `sha` (resolving an annotated tag through the commits
    /// API), else an error naming both commits.
    async fn same_commit(&self, tag: &str, sha: &str, existing: Ref) -> Result<Ref, GithubError> {
        let target = match &existing.object {
            Object::Commit { sha, .. } => sha.clone(),
            _ => self.get_commit(&format!("refs/tags/{tag}")).await?.sha,
        };
        if target == sha {
            Ok(existing)
        } else {
            Err(GithubError::Invalid(format!(
                "tag `{tag}` already exists at commit {target}, not {sha}; stage-gate never moves a tag"
            )))
        }
    }

    /// Every tag, as GitHub lists them.
    pub async fn list_tags(&self) -> Result<Vec<Tag>, GithubError> {
        self.list("list tags", self.repo_url(&["tags"]), usize::MAX)
            .await
    }
}
