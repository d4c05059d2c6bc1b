//! Previews on Coolify: Coolify's own preview of the application for a pull request
//! (`POST /deploy?uuid=…&pr=N`, with `docker_tag` for a Docker-image application, which
//! Coolify then creates the preview for), followed to its end like any deployment;
//! torn down with `DELETE /applications/{uuid}/previews/{N}` (DeployController.php,
//! ApplicationsController.php `delete_preview_by_pull_request_id`).
//!
//! A git-based application gets previews only when its preview deployments are enabled:
//! Coolify's GitHub App then creates the preview when the pull request opens, and the API
//! can only redeploy it.

use super::api::{Api, AppInfo};
use super::{failed, tag_of_image, CoolifyProvider};
use crate::artifact::ImageName;
use crate::config::Target;
use crate::providers::preview::{Found, PreviewDown, PreviewRequest, PreviewUp, Previews};
use crate::providers::{DeployOutcome, ProviderError};
use async_trait::async_trait;

/// How long a git application's preview may take to appear after the pull request opened
/// (Coolify's GitHub App makes it from GitHub's webhook).
const PREVIEW_APPEARS: std::time::Duration = std::time::Duration::from_secs(60);

impl CoolifyProvider {
    fn preview_app(&self) -> Result<String, ProviderError> {
        match self.config.uuids.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(ProviderError::Config(
                "a Coolify preview is of one application: give `coolify.uuid` one uuid".into(),
            )),
        }
    }

    async fn application_for_preview(
        &self,
        api: &Api,
        uuid: &str,
    ) -> Result<AppInfo, ProviderError> {
        api.application(uuid).await.map_err(|e| match e.status() {
            Some(reqwest::StatusCode::NOT_FOUND) => ProviderError::Config(format!(
                "Coolify has no application `{uuid}` (check `coolify.uuid`; it is in the \
                 application's URL)"
            )),
            _ => api.explain(e, "read"),
        })
    }

    /// `/deploy?uuid=…&pr=N[&docker_tag=T]`.
    fn preview_trigger_url(base: &str, uuid: &str, pr: u64, tag: Option<&str>) -> String {
        let mut url = format!("{base}/deploy?uuid={uuid}&pr={pr}");
        if let Some(t) = tag {
            url.push_str("&docker_tag=");
            url.extend(url::form_urlencoded::byte_serialize(t.as_bytes()));
        }
        url
    }

    /// The tag to run for a Docker-image application: the requested image's, when it is the
    /// application's image.
    fn preview_tag(
        app: &AppInfo,
        uuid: &str,
        image: Option<&str>,
    ) -> Result<String, ProviderError> {
        let Some(image) = image else {
            return Err(ProviderError::Config(format!(
                "Coolify application `{uuid}` runs a Docker image: its preview needs the image \
                 to run — set `coolify.preview-image` (e.g. \"{}:pr-{{pr}}\"), or pass --image \
                 (the `image` input)",
                app.docker_registry_image_name
                    .as_deref()
                    .unwrap_or("ghcr.io/acme/web")
            )));
        };
        let tag = tag_of_image(image).ok_or_else(|| {
            ProviderError::Config(format!(
                "`{image}` has no tag: Coolify previews of an image run a tag (`docker_tag`)"
            ))
        })?;
        if let Some(name) = app.docker_registry_image_name.as_deref() {
            if ImageName::parse(image).repository != ImageName::parse(name).repository {
                return Err(ProviderError::Config(format!(
                    "Coolify application `{uuid}` runs images of {name}, but the preview would \
                     ship {image}: Coolify sets only the tag; push the preview's image to {name}"
                )));
            }
        }
        Ok(tag)
    }
}

#[async_trait]
impl Previews for CoolifyProvider {
    fn planned_up(&self, req: &PreviewRequest) -> Vec<String> {
        let base = self.base_display();
        let uuid = self
            .config
            .uuids
            .first()
            .cloned()
            .unwrap_or_else(|| "?".into());
        let tag = req
            .image
            .as_deref()
            .or(self.config.preview_image.as_deref())
            .and_then(tag_of_image);
        vec![
            format!("GET {base}/applications/{uuid}  (build pack, domains, preview settings)"),
            format!(
                "POST {}{}",
                Self::preview_trigger_url(&base, &uuid, req.pr, tag.as_deref()),
                if tag.is_some() {
                    "  (docker_tag only for a Docker-image application)"
                } else {
                    ""
                }
            ),
            self.planned_follow(&base, req.target.timeout),
        ]
    }

    fn preflight_up(&self, _req: &PreviewRequest) -> Result<(), ProviderError> {
        self.preview_app()?;
        self.api().map(|_| ())
    }

    async fn up(&self, req: &PreviewRequest) -> Result<PreviewUp, ProviderError> {
        let uuid = self.preview_app()?;
        let api = self.api()?.until(req.deadline);
        let app = self.application_for_preview(&api, &uuid).await?;
        let tag = if app.is_docker_image() {
            let image = req
                .image
                .as_deref()
                .or(self.config.preview_image.as_deref());
            Some(Self::preview_tag(&app, &uuid, image)?)
        } else {
            let enabled = app
                .settings
                .as_ref()
                .and_then(|s| s.is_preview_deployments_enabled);
            if enabled == Some(false) {
                return Err(ProviderError::Config(format!(
                    "Coolify application `{uuid}` is built from git and its preview deployments \
                     are off: turn on Preview Deployments for it in Coolify (Configuration → \
                     Preview Deployments) and install Coolify's GitHub App, which creates the \
                     preview of each pull request"
                )));
            }
            None
        };
        let url = Self::preview_trigger_url(&api.base, &uuid, req.pr, tag.as_deref());
        // A git application's preview is made by Coolify's GitHub App when the pull request
        // opens: this job may get there first, so "not found" is asked again for a while.
        let waited_until = std::time::Instant::now() + PREVIEW_APPEARS;
        let entry = loop {
            self.console.info(format!("coolify: POST {url}"));
            let entries = api
                .trigger(&url)
                .await
                .map_err(|e| api.explain(e, "deploy"))?;
            let entry = entries.into_iter().next().unwrap_or_default();
            let missing = entry.deployment_uuid.is_none()
                && entry.message.contains("not found")
                && !app.is_docker_image();
            if !missing {
                break entry;
            }
            let now = std::time::Instant::now();
            let until = waited_until.min(req.deadline);
            if now >= until {
                return Err(failed(format!(
                    "Coolify has no preview of pull request #{} for application `{uuid}` \
                     ({}), after waiting {}s for it: Coolify's GitHub App creates it when the \
                     pull request opens, with Preview Deployments on",
                    req.pr,
                    entry.message,
                    (now + PREVIEW_APPEARS - waited_until).as_secs()
                )));
            }
            self.console.info(format!(
                "coolify: no preview of #{} yet (Coolify's GitHub App makes it); asking again",
                req.pr
            ));
            tokio::time::sleep(self.config.poll_interval.min(until - now)).await;
        };
        let deployment = match &entry.deployment_uuid {
            Some(d) => d.clone(),
            // Queued already: the deployment to follow is this pull request's, never the
            // application's own or another preview's.
            None if entry.already_queued() => {
                let history = api
                    .history(&uuid, 20)
                    .await
                    .map_err(|e| api.explain(e, "read"))?;
                let pr = req.pr as i64;
                let row = history
                    .deployments
                    .into_iter()
                    .find(|r| r.is_active() && r.pull_request_id == Some(pr));
                match row {
                    Some(r) => r.deployment_uuid,
                    None => {
                        return Err(failed(format!(
                            "Coolify says a preview deployment of #{} is already queued, but no \
                             deployment of #{} is in flight in `{uuid}`'s history",
                            req.pr, req.pr
                        )))
                    }
                }
            }
            None => self.follow(&api, &uuid, &entry).await?,
        };
        let rows = self
            .wait(&api, &[(uuid.clone(), deployment.clone())], req.deadline)
            .await?;
        if let Some(row) = rows.iter().find(|r| r.status != "finished") {
            let excerpt = self.log_excerpt(row);
            return Err(ProviderError::Failed {
                message: format!(
                    "Coolify preview deployment {} of `{uuid}` for #{} ended `{}`",
                    row.deployment_uuid, req.pr, row.status
                ),
                rolled_back: None,
                log_excerpt: Some(excerpt),
            });
        }
        let image = match (&app.docker_registry_image_name, &tag) {
            (Some(n), Some(t)) => Some(format!("{n}:{t}")),
            _ => None,
        };
        Ok(PreviewUp {
            created: false,
            url: req.target.url.clone().or_else(|| app.preview_url(req.pr)),
            outcome: DeployOutcome {
                provider_ids: vec![deployment],
                image,
                ..DeployOutcome::default()
            },
            notes: Vec::new(),
        })
    }

    async fn down(&self, req: &PreviewRequest) -> Result<PreviewDown, ProviderError> {
        let uuid = self.preview_app()?;
        let api = self.api()?.until(req.deadline);
        match api.delete_preview(&uuid, req.pr).await {
            Ok(Some(message)) => Ok(PreviewDown::Removed(format!(
                "Coolify preview of #{} of `{uuid}` removed ({message})",
                req.pr
            ))),
            Ok(None) => Ok(PreviewDown::NothingToRemove(format!(
                "Coolify has no preview of #{} for `{uuid}`",
                req.pr
            ))),
            Err(e) if e.status() == Some(reqwest::StatusCode::NOT_FOUND) => {
                Err(ProviderError::Config(format!(
                    "Coolify has no application `{uuid}` (check `coolify.uuid`): {e}"
                )))
            }
            Err(e) => Err(api.explain(e, "write")),
        }
    }

    /// Coolify's API lists no previews: sweep goes by the GitHub records.
    async fn list(&self, _target: &Target) -> Result<Option<Vec<Found>>, ProviderError> {
        Ok(None)
    }
}
