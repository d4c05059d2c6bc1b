//! Coolify's v4 API as the provider uses it: the DTOs, one function per call, and the
//! translation of Coolify's refusals into messages a user can act on (NOTES.md §2).
//! Every call goes through [`HttpClient`]; only reads are marked safe to repeat.

use crate::http::{HttpClient, HttpError};
use crate::providers::ProviderError;
use crate::secret::Secret;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

/// A row of Coolify's deployment queue (`ApplicationDeploymentQueue`), the fields we read.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct QueueRow {
    pub deployment_uuid: String,
    pub status: String,
    #[serde(default)]
    pub commit: Option<String>,
    #[serde(default)]
    pub application_name: Option<String>,
    #[serde(default)]
    pub deployment_url: Option<String>,
    /// Present only for tokens with `root` or `read:sensitive`.
    #[serde(default)]
    pub logs: Option<String>,
    /// The pull request a preview deployment is of (0 for the application itself).
    #[serde(default)]
    pub pull_request_id: Option<i64>,
    /// When Coolify queued it (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
}

impl QueueRow {
    /// Queued at or after `t` (a row without a readable time is not claimed).
    pub(crate) fn created_since(&self, t: chrono::DateTime<chrono::Utc>) -> bool {
        self.created_at
            .as_deref()
            .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
            .is_some_and(|c| c >= t)
    }
    pub(crate) fn is_terminal(&self) -> bool {
        matches!(
            self.status.as_str(),
            "finished" | "failed" | "cancelled-by-user"
        )
    }
    pub(crate) fn is_active(&self) -> bool {
        matches!(self.status.as_str(), "queued" | "in_progress")
    }
}

/// The per-application history, as the code returns it (the spec says `Application[]`).
#[derive(Debug, Deserialize)]
pub(crate) struct History {
    #[allow(dead_code)]
    pub count: u64,
    pub deployments: Vec<QueueRow>,
}

/// The `Application` fields the provider reads.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AppInfo {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub build_pack: Option<String>,
    #[serde(default)]
    pub docker_registry_image_name: Option<String>,
    #[serde(default)]
    pub docker_registry_image_tag: Option<String>,
    #[serde(default)]
    pub git_commit_sha: Option<String>,
    /// The application's domains, comma-separated (`https://app.example.com,…`).
    #[serde(default)]
    pub fqdn: Option<String>,
    /// How a preview's host is made (`{{pr_id}}.{{domain}}` by default).
    #[serde(default)]
    pub preview_url_template: Option<String>,
    /// `->with('settings')` in the controller: the application's settings.
    #[serde(default)]
    pub settings: Option<AppSettings>,
}

/// The application settings the provider reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct AppSettings {
    #[serde(default)]
    pub is_preview_deployments_enabled: Option<bool>,
}

impl AppInfo {
    pub(crate) fn is_docker_image(&self) -> bool {
        self.build_pack.as_deref() == Some("dockerimage")
    }

    /// The URL of the preview of `pr`, as Coolify makes it (`ApplicationPreview::
    /// generate_preview_fqdn`): the first domain's host put into the template, with its
    /// scheme, port and path. None when there is no domain, or the template draws a random
    /// part (`{{random}}`) that only Coolify knows.
    pub(crate) fn preview_url(&self, pr: u64) -> Option<String> {
        let first = self.fqdn.as_deref()?.split(',').next()?.trim();
        let url = url::Url::parse(first).ok()?;
        let template = self
            .preview_url_template
            .as_deref()
            .filter(|t| !t.is_empty())
            .unwrap_or("{{pr_id}}.{{domain}}");
        if template.contains("{{random}}") {
            return None;
        }
        let host = template
            .replace("{{domain}}", url.host_str()?)
            .replace("{{pr_id}}", &pr.to_string());
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let path = match url.path() {
            "" | "/" => "",
            p => p,
        };
        Some(format!("{}://{host}{port}{path}", url.scheme()))
    }
}

impl AppInfo {
    /// What a rollback to "now" would name: the image tag for image apps, else the commit
    /// (unless it is Coolify's placeholder `HEAD`, which names nothing).
    pub(crate) fn current_ref(&self) -> Option<String> {
        let r = if self.build_pack.as_deref() == Some("dockerimage") {
            self.docker_registry_image_tag.clone()
        } else {
            self.git_commit_sha.clone()
        };
        r.filter(|r| !r.is_empty() && r != "HEAD")
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct RollbackImages {
    #[serde(default)]
    pub current: Option<String>,
    #[serde(default)]
    pub images: Vec<RollbackImage>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RollbackImage {
    pub tag: String,
    /// A boolean in the spec; real instances have sent `0`/`1`.
    #[serde(default)]
    pub is_current: Value,
}

impl RollbackImage {
    pub(crate) fn is_current(&self) -> bool {
        self.is_current.as_bool().unwrap_or(false) || self.is_current.as_i64() == Some(1)
    }
}

/// One answer entry of `POST /deploy`, both response shapes folded into one.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Triggered {
    pub message: String,
    pub resource_uuid: Option<String>,
    /// The application name, when only a tag-deploy message names it.
    pub resource_name: Option<String>,
    pub deployment_uuid: Option<String>,
}

impl Triggered {
    pub(crate) fn already_queued(&self) -> bool {
        self.message.contains("already queued")
    }
}

/// Read `POST /deploy`'s answer: `{deployments:[…]}` by uuid, `{message:[…], details:[…]}`
/// by tag.
pub(crate) fn parse_trigger(body: &Value) -> Vec<Triggered> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    if let Some(entries) = body.get("deployments").and_then(Value::as_array) {
        return entries
            .iter()
            .map(|e| Triggered {
                message: text(e, "message").unwrap_or_default(),
                resource_uuid: text(e, "resource_uuid"),
                resource_name: None,
                deployment_uuid: text(e, "deployment_uuid"),
            })
            .collect();
    }
    let mut out: Vec<Triggered> = body
        .get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|d| Triggered {
            message: "Deployment queued.".into(),
            resource_uuid: text(d, "resource_uuid"),
            resource_name: None,
            deployment_uuid: text(d, "deployment_uuid"),
        })
        .collect();
    let messages = body.get("message").and_then(Value::as_array);
    for m in messages.into_iter().flatten().filter_map(Value::as_str) {
        if m.contains("already queued") {
            let name = m.split_once(": ").map(|(n, _)| n.to_string());
            out.push(Triggered {
                message: m.to_string(),
                resource_name: name,
                ..Triggered::default()
            });
        }
    }
    out
}

/// Lines of a deployment log: Coolify stores a JSON string of `{output, hidden}` entries.
pub(crate) fn log_lines(logs: &str) -> Vec<String> {
    match serde_json::from_str::<Vec<Value>>(logs) {
        Ok(entries) => entries
            .iter()
            .filter(|e| !e.get("hidden").and_then(Value::as_bool).unwrap_or(false))
            .filter_map(|e| e.get("output").and_then(Value::as_str))
            .flat_map(|o| o.lines().map(str::to_string).collect::<Vec<_>>())
            .collect(),
        Err(_) => logs.lines().map(str::to_string).collect(),
    }
}

#[derive(Clone)]
pub(crate) struct Api {
    /// `<instance>/api/v1`, no trailing slash.
    pub base: String,
    pub token: Secret,
    pub http: HttpClient,
    /// Where the token came from, for messages ("the `coolify-token` input or COOLIFY_TOKEN").
    pub token_source: String,
}

impl Api {
    /// The same API with every call (timeouts, retries, backoff) bounded by `deadline`.
    pub(crate) fn until(&self, deadline: std::time::Instant) -> Api {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        Api {
            http: self.http.with_max_retry_after(left).with_deadline(deadline),
            ..self.clone()
        }
    }

    /// The same API bounded anew, `budget` from now: for cleanup after the deadline passed
    /// (putting an image tag back, cancelling what we started).
    pub(crate) fn for_cleanup(&self, budget: std::time::Duration) -> Api {
        Api {
            http: self
                .http
                .with_fresh_deadline(std::time::Instant::now() + budget),
            ..self.clone()
        }
    }

    /// `POST /deploy` (or the deploy webhook). A 429 comes back at once: the caller waits
    /// out `Retry-After` itself, because a multi-uuid call may have queued some uuids
    /// before the queue filled, and repeating it blindly with `force` would queue them twice.
    pub(crate) async fn trigger(&self, url: &str) -> Result<Vec<Triggered>, HttpError> {
        let body: Value = self
            .http
            .with_max_retry_after(std::time::Duration::ZERO)
            .json(|c| c.post(url).bearer_auth(self.token.expose()), false)
            .await?;
        Ok(parse_trigger(&body))
    }

    pub(crate) async fn deployment(&self, uuid: &str) -> Result<QueueRow, HttpError> {
        let url = format!("{}/deployments/{uuid}", self.base);
        self.get(&url).await
    }

    pub(crate) async fn running(&self) -> Result<Vec<QueueRow>, HttpError> {
        self.get(&format!("{}/deployments", self.base)).await
    }

    pub(crate) async fn history(&self, app: &str, take: u32) -> Result<History, HttpError> {
        let url = format!(
            "{}/deployments/applications/{app}?skip=0&take={take}",
            self.base
        );
        self.get(&url).await
    }

    pub(crate) async fn application(&self, app: &str) -> Result<AppInfo, HttpError> {
        self.get(&format!("{}/applications/{app}", self.base)).await
    }

    pub(crate) async fn rollback_images(&self, app: &str) -> Result<RollbackImages, HttpError> {
        let url = format!("{}/applications/{app}/rollback-images", self.base);
        self.get(&url).await
    }

    /// `DELETE /applications/{uuid}/previews/{pr}`: Coolify's answer message, or None when
    /// it has no such preview (404 "Preview not found.").
    pub(crate) async fn delete_preview(
        &self,
        app: &str,
        pr: u64,
    ) -> Result<Option<String>, HttpError> {
        let url = format!("{}/applications/{app}/previews/{pr}", self.base);
        let sent: Result<Value, HttpError> = self
            .http
            // Not repeated blindly: a repeat after a lost answer would read "not found".
            .json(|c| c.delete(&url).bearer_auth(self.token.expose()), false)
            .await;
        match sent {
            Ok(answer) => Ok(Some(
                answer["message"].as_str().unwrap_or("deleted").to_string(),
            )),
            Err(e)
                if e.status() == Some(reqwest::StatusCode::NOT_FOUND)
                    && e.body().is_some_and(|b| b.contains("Preview not found")) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// PATCH the image tag. Setting a value is idempotent, so it may be retried.
    pub(crate) async fn set_image_tag(&self, app: &str, tag: &str) -> Result<(), HttpError> {
        let url = format!("{}/applications/{app}", self.base);
        let body = json!({ "docker_registry_image_tag": tag });
        self.http
            .send(
                |c| c.patch(&url).bearer_auth(self.token.expose()).json(&body),
                true,
            )
            .await?;
        Ok(())
    }

    /// `POST /deployments/{uuid}/cancel`. Answers Coolify's message; a 400 (already ended)
    /// comes back as an error for the caller to read.
    pub(crate) async fn cancel(&self, uuid: &str) -> Result<String, HttpError> {
        let url = format!("{}/deployments/{uuid}/cancel", self.base);
        let answer: Value = self
            .http
            .json(|c| c.post(&url).bearer_auth(self.token.expose()), true)
            .await?;
        Ok(answer["message"]
            .as_str()
            .unwrap_or("cancelled")
            .to_string())
    }

    pub(crate) async fn rollback(&self, app: &str, commit: &str) -> Result<Triggered, HttpError> {
        let url = format!("{}/applications/{app}/rollback", self.base);
        let body = json!({ "commit": commit });
        let answer: Value = self
            .http
            .json(
                |c| c.post(&url).bearer_auth(self.token.expose()).json(&body),
                false,
            )
            .await?;
        let text = |k: &str| answer.get(k).and_then(Value::as_str).map(str::to_string);
        Ok(Triggered {
            message: text("message").unwrap_or_default(),
            resource_uuid: Some(app.to_string()),
            resource_name: None,
            deployment_uuid: text("deployment_uuid"),
        })
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, HttpError> {
        self.http
            .json(|c| c.get(url).bearer_auth(self.token.expose()), true)
            .await
    }

    /// A refused call, in words: which ability is missing and how to get it.
    pub(crate) fn explain(&self, e: HttpError, ability: &str) -> ProviderError {
        let message = e
            .body()
            .and_then(|b| serde_json::from_str::<Value>(b).ok())
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default();
        match e.status() {
            Some(StatusCode::UNAUTHORIZED) => ProviderError::Auth(format!(
                "Coolify refused the token (401 {message}): {} must hold an API token of this \
                 instance ({}), created under Keys & Tokens → API tokens",
                self.token_source, self.base
            )),
            Some(StatusCode::FORBIDDEN) if message.contains("team member") => {
                ProviderError::Auth(format!(
                    "Coolify refused the token (403): {message} The token's owner must be a team \
                     admin (or owner) to deploy through the API."
                ))
            }
            Some(StatusCode::FORBIDDEN) => {
                let missing = message
                    .strip_prefix("Missing required permissions: ")
                    .unwrap_or(ability)
                    .to_string();
                ProviderError::Auth(format!(
                    "Coolify refused the token (403 {message}): it lacks the `{missing}` ability. \
                     stage-gate needs `deploy` to start a deployment, `read` to follow it and \
                     `write` to set the image tag (set-image-tag), or `root`. Ticking `deploy` in Coolify resets the token to `deploy` only: \
                     tick `read` afterwards. The token's owner must be a team admin."
                ))
            }
            Some(StatusCode::METHOD_NOT_ALLOWED) => ProviderError::Other(format!(
                "Coolify answered 405 ({message}): this endpoint needs POST (Coolify v4.2+)"
            )),
            _ => ProviderError::Http(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_deploy_answers_are_read() {
        let by_uuid = json!({"deployments": [
            {"message": "Application web deployment queued.", "resource_uuid": "a", "deployment_uuid": "d1"},
            {"message": "Deployment already queued for this commit.", "resource_uuid": "b"},
        ]});
        let got = parse_trigger(&by_uuid);
        assert_eq!(got[0].deployment_uuid.as_deref(), Some("d1"));
        assert!(got[1].already_queued() && got[1].deployment_uuid.is_none());

        let by_tag = json!({
            "message": ["web: Deployment queued.", "api: Deployment already queued for this commit."],
            "details": [{"resource_uuid": "a", "deployment_uuid": "d1"}],
        });
        let got = parse_trigger(&by_tag);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].resource_uuid.as_deref(), Some("a"));
        assert_eq!(got[1].resource_name.as_deref(), Some("api"));
    }

    #[test]
    fn logs_are_read_from_coolifys_json_entries_or_as_text() {
        let json_log = r#"[{"output":"one\ntwo","hidden":false},{"output":"secret cmd","hidden":true},{"output":"three"}]"#;
        assert_eq!(log_lines(json_log), ["one", "two", "three"]);
        assert_eq!(log_lines("plain\ntext"), ["plain", "text"]);
    }

    #[test]
    fn current_ref_ignores_the_head_placeholder() {
        let app: AppInfo = serde_json::from_value(json!({
            "build_pack": "nixpacks", "git_commit_sha": "HEAD", "docker_registry_image_tag": "v1"
        }))
        .unwrap();
        assert_eq!(app.current_ref(), None);
        let app: AppInfo = serde_json::from_value(json!({
            "build_pack": "dockerimage", "docker_registry_image_tag": "v1"
        }))
        .unwrap();
        assert_eq!(app.current_ref().as_deref(), Some("v1"));
    }

    #[test]
    fn rollback_images_accept_numeric_flags() {
        let imgs: RollbackImages = serde_json::from_value(json!({
            "current": "b", "images": [{"tag": "a", "is_current": 0}, {"tag": "b", "is_current": 1}]
        }))
        .unwrap();
        assert!(!imgs.images[0].is_current() && imgs.images[1].is_current());
    }
}
