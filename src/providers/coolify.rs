//! The `coolify` provider: start a deployment through Coolify's v4 API (or its deploy
//! webhook) and follow it until Coolify says how it ended (NOTES.md §2.3).
//!
//! Trigger: `POST /api/v1/deploy` by uuid(s) or tag, never GET (405 since v4.2). With
//! `set-image-tag`, the application's image tag is PATCHed first so the deployed version is
//! known (coollabsio/coolify#5951). A full queue (429) is waited out per `Retry-After`
//! within the deadline; "already queued for this commit" answers carry no deployment uuid,
//! so the in-flight deployment is found in the application's history and followed instead.
//! Rollback queues `POST /applications/{uuid}/rollback` to the previous image or commit.

mod api;
pub(crate) mod config;
mod preview;
mod recover;
mod rollback;
mod trigger;

use super::*;
use crate::config::CoolifyConfig;
use crate::http::HttpClient;
use crate::report::Console;
use crate::secret::Secret;
use api::{Api, QueueRow};
use recover::deadline_failure;
use std::collections::BTreeMap;
use std::time::Duration;

/// Log lines shown when a deployment fails.
const LOG_TAIL: usize = 30;

pub(crate) const REGISTERED: super::registry::Registered = super::registry::Registered {
    key: "coolify",
    default_secret_envs: &["COOLIFY_TOKEN"],
    secret_envs,
    build,
    ships,
    configured: |t| t.coolify.is_some(),
    resolve: |v, at, t| {
        let raw = t.coolify.as_ref()?;
        Some(crate::config::ProviderConfig::Coolify(config::resolve(
            v, at, raw,
        )))
    },
    owns: |p| matches!(p, crate::config::ProviderConfig::Coolify(_)),
};

fn secret_envs(p: &crate::config::ProviderConfig) -> Vec<String> {
    match p {
        crate::config::ProviderConfig::Coolify(c) => vec![c.token_env.clone()],
        _ => Vec::new(),
    }
}

pub struct CoolifyProvider {
    config: CoolifyConfig,
    /// `<instance>/api/v1`: env `STAGE_GATE_COOLIFY_URL` > config `url` > the webhook's host.
    api_base: Option<String>,
    token: Option<Secret>,
    token_source: String,
    http: HttpClient,
    console: Console,
    cancel: crate::cancel::Cancel,
}

/// The API base for an instance URL, whether or not it already ends in `/api/v1`.
fn api_base(instance: &str) -> String {
    let trimmed = instance.trim().trim_end_matches('/');
    if trimmed.ends_with("/api/v1") {
        trimmed.to_string()
    } else {
        format!("{trimmed}/api/v1")
    }
}

/// The tag of an image reference (`ghcr.io/acme/api:v1.0.0` → `v1.0.0`); None without a tag
/// or for a digest reference (a registry port is not a tag).
pub(crate) fn tag_of_image(image: &str) -> Option<String> {
    let last = image.rsplit('/').next().unwrap_or(image);
    let (_, tag) = last.split_once(':')?;
    (!last.contains('@') && !tag.is_empty()).then(|| tag.to_string())
}

/// Uuids go into paths and queries unescaped, so they must be plain ids.
fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl CoolifyProvider {
    pub fn new(config: CoolifyConfig, deps: &Deps) -> Result<Self, ProviderError> {
        if let Some(bad) = config.uuids.iter().find(|u| !valid_id(u)) {
            return Err(ProviderError::Config(format!(
                "coolify uuid `{bad}` is not a Coolify id (letters, digits, `-`, `_`)"
            )));
        }
        let from_webhook = config
            .webhook
            .as_deref()
            .and_then(|w| w.split_once("/api/v1").map(|(host, _)| host.to_string()));
        let api_base = deps
            .env
            .get("STAGE_GATE_COOLIFY_URL")
            .map(str::to_string)
            .or_else(|| config.url.clone())
            .or(from_webhook)
            .map(|u| api_base(&u));
        let token = deps
            .secret(Some("coolify-token"), &config.token_env)
            .filter(|t| !t.is_empty());
        let token_source = format!("the `coolify-token` input or ${}", config.token_env);
        Ok(CoolifyProvider {
            config,
            api_base,
            token,
            token_source,
            http: deps.http.clone(),
            console: deps.console.clone(),
            cancel: deps.cancel.clone(),
        })
    }

    fn api(&self) -> Result<Api, ProviderError> {
        let base = self.api_base.clone().ok_or_else(|| {
            ProviderError::Config(
                "coolify needs `url` (the instance, e.g. https://coolify.example.com)".into(),
            )
        })?;
        let token = self.token.clone().ok_or_else(|| {
            ProviderError::MissingCredential(format!(
                "no Coolify token: set {} to an API token with the `deploy` and `read` \
                 abilities (Keys & Tokens → API tokens)",
                self.token_source
            ))
        })?;
        Ok(Api {
            base,
            token,
            http: self.http.clone(),
            token_source: self.token_source.clone(),
        })
    }

    /// The dry run's line for following a deployment to its end.
    pub(super) fn planned_follow(&self, base: &str, timeout: Duration) -> String {
        format!(
            "GET {base}/deployments/{{deployment_uuid}} every {} until finished, failed or \
             cancelled-by-user (timeout {})",
            humantime::format_duration(self.config.poll_interval),
            humantime::format_duration(timeout)
        )
    }

    fn base_display(&self) -> String {
        self.api_base
            .clone()
            .unwrap_or_else(|| "<coolify url>/api/v1".into())
    }

    /// The image tag to set: the requested image's tag, else the release version, else the
    /// commit (CI pipelines that push `image:<sha>` and deploy it, seed 004's staging).
    fn image_tag(req: &DeployRequest) -> Option<String> {
        let from_image = req.image.as_deref().and_then(tag_of_image);
        from_image
            .or_else(|| req.version.clone())
            .or_else(|| Some(req.sha.clone()))
            .filter(|t| !t.is_empty())
    }

    /// Uuids named by the webhook URL's query, when the config names none.
    fn webhook_uuids(&self) -> Vec<String> {
        let Some(query) = self
            .config
            .webhook
            .as_deref()
            .and_then(|w| w.split_once('?'))
        else {
            return Vec::new();
        };
        url::form_urlencoded::parse(query.1.as_bytes())
            .filter(|(k, _)| k == "uuid")
            .flat_map(|(_, v)| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .filter(|s| valid_id(s))
            .collect()
    }

    fn uuids(&self) -> Vec<String> {
        if self.config.uuids.is_empty() {
            self.webhook_uuids()
        } else {
            self.config.uuids.clone()
        }
    }

    /// Poll every followed deployment until each is terminal or the deadline passes.
    async fn wait(
        &self,
        api: &Api,
        followed: &[(String, String)],
        deadline: Instant,
    ) -> Result<Vec<QueueRow>, ProviderError> {
        let mut last: BTreeMap<&str, QueueRow> = BTreeMap::new();
        let mut garbled = 0;
        loop {
            let api = api.until(deadline);
            for (app, uuid) in followed {
                if last.get(uuid.as_str()).is_some_and(QueueRow::is_terminal) {
                    continue;
                }
                let row = match api.deployment(uuid).await {
                    Ok(row) => {
                        garbled = 0;
                        row
                    }
                    // A 200 that is not the JSON we expect (a proxy's page, a cut-off body)
                    // says nothing about the deployment: ask again, a few times.
                    Err(e) if e.status().is_some_and(|s| s.is_success()) && garbled < 3 => {
                        garbled += 1;
                        self.console
                            .warn(format!("coolify: unreadable status answer: {e}"));
                        continue;
                    }
                    Err(e) if e.is_deadline() => {
                        return Err(deadline_failure(&last, Some(&e)));
                    }
                    // Started, then not readable: say so, with what was seen of it.
                    Err(e) if e.status() == Some(reqwest::StatusCode::FORBIDDEN) => {
                        let seen = last
                            .get(uuid.as_str())
                            .map(|r| format!("`{}`", r.status))
                            .unwrap_or_else(|| "queued (its status was never read)".into());
                        let why = api.explain(e, "read");
                        return Err(ProviderError::Auth(format!(
                            "coolify: deployment {uuid} of {app} was started but cannot be \
                             followed: {why} It was last seen {seen}; see it in Coolify \
                             (Deployments) until the token can read."
                        )));
                    }
                    Err(e) => return Err(api.explain(e, "read")),
                };
                if last.get(uuid.as_str()).map(|r| &r.status) != Some(&row.status) {
                    self.console.info(format!(
                        "coolify: {app}: deployment {uuid} is {}",
                        row.status
                    ));
                }
                last.insert(uuid, row);
            }
            let done = |u: &String| last.get(u.as_str()).is_some_and(QueueRow::is_terminal);
            if followed.iter().all(|(_, u)| done(u)) {
                return Ok(followed
                    .iter()
                    .filter_map(|(_, u)| last.remove(u.as_str()))
                    .collect());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(deadline_failure(&last, None));
            }
            let pause = tokio::time::sleep(self.config.poll_interval.min(deadline - now));
            tokio::select! {
                _ = pause => {}
                _ = self.cancel.cancelled() => {
                    let signal = self.cancel.signal().unwrap_or_else(|| "a signal".into());
                    let open: Vec<String> = followed
                        .iter()
                        .filter(|(_, u)| !done(u))
                        .map(|(app, u)| format!("deployment {u} of {app}"))
                        .collect();
                    return Err(ProviderError::Cancelled(format!(
                        "cancelled by {signal} while Coolify was deploying ({})",
                        open.join(", ")
                    )));
                }
            }
        }
    }

    /// Print the tail of a failed deployment's log in a group; returns the excerpt.
    fn log_excerpt(&self, row: &QueueRow) -> String {
        let excerpt = match &row.logs {
            Some(logs) => {
                let lines = api::log_lines(logs);
                let tail = &lines[lines.len().saturating_sub(LOG_TAIL)..];
                self.console.redactor.redact(&tail.join("\n"))
            }
            None => "(the log is hidden: reading it needs a token with `root` or \
                     `read:sensitive`)"
                .to_string(),
        };
        let _group = self.console.group(format!(
            "Coolify log of deployment {} (last {LOG_TAIL} lines)",
            row.deployment_uuid
        ));
        for line in excerpt.lines() {
            self.console.info(line);
        }
        excerpt
    }

    /// Record what runs now, for rollback; answers the point and the tag this deploy sets
    /// (with `set-image-tag`).
    async fn record_previous(
        &self,
        api: &Api,
        req: &DeployRequest,
    ) -> Result<(serde_json::Value, Option<String>), ProviderError> {
        let mut previous = serde_json::Map::new();
        let mut image_name = None;
        // Without set-image-tag, what a Docker-image application runs is its own tag.
        let mut running_image = None;
        for uuid in self.uuids() {
            let app = api.application(&uuid).await.map_err(|e| match e.status() {
                Some(reqwest::StatusCode::NOT_FOUND) => ProviderError::Config(format!(
                    "Coolify has no application `{uuid}` (check the uuid in the config)"
                )),
                _ => api.explain(e, "read"),
            })?;
            image_name = image_name.or(app.docker_registry_image_name.clone());
            if !self.config.set_image_tag && app.build_pack.as_deref() == Some("dockerimage") {
                let running = match (&app.docker_registry_image_name, app.current_ref()) {
                    (Some(n), Some(t)) => format!("{n}:{t}"),
                    (Some(n), None) => n.clone(),
                    (None, _) => String::new(),
                };
                // A promotion ships what was proven; this application would redeploy its own
                // image, so refuse before anything changes rather than record a lie.
                let asked = req.image.as_deref().filter(|a| *a != running);
                if let Some(asked) = asked.filter(|_| !running.is_empty()) {
                    return Err(ProviderError::Config(format!(
                        "Coolify application `{uuid}` runs its own image {running}, but this \
                         deploy ships {asked}: set `set-image-tag: true` on this target so \
                         stage-gate sets the tag it must run"
                    )));
                }
                running_image = running_image.or(Some(running).filter(|r| !r.is_empty()));
            }
            previous.insert(
                uuid.clone(),
                serde_json::json!({
                    "ref": app.current_ref(),
                    "status": app.status,
                    "name": app.name,
                }),
            );
        }
        let point = serde_json::json!({
            "apps": previous,
            "image_name": image_name,
            "running_image": running_image,
        });
        if !self.config.set_image_tag {
            return Ok((point, None));
        }
        let tag = Self::image_tag(req);
        if tag.is_none() {
            self.console.warn(
                "coolify: set-image-tag is on but this deploy names no image, version or commit",
            );
        }
        Ok((point, tag))
    }

    /// PATCH the new image tag on every application (with `set-image-tag`); `patched`
    /// collects those that took it, also when a later one fails.
    async fn set_tags(
        &self,
        api: &Api,
        tag: Option<&str>,
        patched: &mut Vec<String>,
    ) -> Result<(), ProviderError> {
        let Some(tag) = tag else { return Ok(()) };
        for uuid in self.uuids() {
            self.console
                .info(format!("coolify: {uuid}: image tag → {tag}"));
            api.set_image_tag(&uuid, tag)
                .await
                .map_err(|e| api.explain(e, "write"))?;
            patched.push(uuid);
        }
        Ok(())
    }

    /// The image the deploy runs, when it is known.
    fn deployed_image(
        &self,
        point: &serde_json::Value,
        tag: Option<&str>,
        req: &DeployRequest,
    ) -> Option<String> {
        match (point["image_name"].as_str(), tag) {
            (Some(n), Some(t)) => Some(format!("{n}:{t}")),
            // No tag was set: the application runs its own image (git apps: the commit).
            _ if !self.config.set_image_tag => point["running_image"].as_str().map(str::to_string),
            _ => req.image.clone(),
        }
    }
}

fn failed(message: String) -> ProviderError {
    ProviderError::Failed {
        message,
        rolled_back: None,
        log_excerpt: None,
    }
}

#[async_trait]
impl Provider for CoolifyProvider {
    fn kind(&self) -> &'static str {
        "coolify"
    }

    fn preflight(&self, _req: &DeployRequest) -> Result<(), ProviderError> {
        self.api().map(|_| ())
    }

    fn previews(&self) -> Option<&dyn super::preview::Previews> {
        Some(self)
    }

    /// A Docker-image application whose tag stage-gate sets runs an artifact; a git-based
    /// one runs the commit, which the gate already pins.
    fn needs_artifact(&self) -> bool {
        self.config.set_image_tag
    }

    fn planned_calls(&self, req: &DeployRequest) -> Vec<String> {
        let base = self.base_display();
        let mut calls = Vec::new();
        for uuid in self.uuids() {
            calls.push(format!(
                "GET {base}/applications/{uuid} (record the running version for rollback)"
            ));
        }
        if self.config.set_image_tag {
            let tag = Self::image_tag(req).unwrap_or_else(|| "<version>".into());
            for uuid in self.uuids() {
                calls.push(format!(
                    "PATCH {base}/applications/{uuid} {{\"docker_registry_image_tag\":\"{tag}\"}}"
                ));
            }
        }
        calls.push(format!("POST {}", self.trigger_url(&base, &self.uuids())));
        calls.push(self.planned_follow(&base, req.target.timeout));
        calls
    }

    async fn deploy(&self, req: &DeployRequest) -> Result<DeployOutcome, ProviderError> {
        let started = Instant::now();
        // Every call of the deploy is bounded by its deadline.
        let api = self.api()?.until(req.deadline);
        let (point, tag) = self.record_previous(&api, req).await?;
        let mut patched = Vec::new();
        let mut live = Vec::new();
        let result = match self.set_tags(&api, tag.as_deref(), &mut patched).await {
            Ok(()) => {
                self.run(&api, req, started, (point.clone(), tag.clone()), &mut live)
                    .await
            }
            Err(e) => Err(e),
        };
        // An application whose deployment went live anyway keeps the tag it runs.
        patched.retain(|uuid| !live.contains(uuid));
        match (result, &tag) {
            (Err(e), Some(tag)) if !patched.is_empty() => Err(self
                .after_failed_tag(&api, &point, tag, &patched, e, req)
                .await),
            (result, _) => result,
        }
    }

    fn planned_rollback_calls(&self, req: &RollbackRequest) -> Vec<String> {
        self.plan_rollback(req)
    }

    async fn rollback(&self, req: &RollbackRequest) -> Result<RollbackOutcome, ProviderError> {
        self.roll_back(req).await
    }
}

impl CoolifyProvider {
    /// Trigger, follow and judge the deployment(s).
    async fn run(
        &self,
        api: &Api,
        req: &DeployRequest,
        started: Instant,
        (point, tag): (serde_json::Value, Option<String>),
        live: &mut Vec<String>,
    ) -> Result<DeployOutcome, ProviderError> {
        let api = api.clone();
        let image = self.deployed_image(&point, tag.as_deref(), req);
        let mut followed = self.trigger(&api, req.deadline).await?;
        // Two entries may lead to one deployment (a duplicate adopted twice): follow it once.
        let mut seen = std::collections::BTreeSet::new();
        followed.retain(|(_, uuid)| seen.insert(uuid.clone()));
        let rows = match self.wait(&api, &followed, req.deadline).await {
            Ok(rows) => rows,
            // Cancelled by the runner: stop what we started in Coolify, and say so.
            Err(e @ ProviderError::Cancelled(_)) => {
                return Err(self.cancel_open(&api, &followed, e, live).await)
            }
            // Out of time with deployments still running: left alone, one would finish
            // later and put the new version live after the deploy was reported failed.
            Err(e) if req.target.rollback_on_failure => {
                return Err(self.cancel_open(&api, &followed, e, live).await)
            }
            Err(e) => return Err(e),
        };
        let ids: Vec<String> = rows.iter().map(|r| r.deployment_uuid.clone()).collect();
        let duration = humantime::format_duration(Duration::from_secs(started.elapsed().as_secs()));
        // `HEAD` is Coolify's placeholder for "whatever the branch or image points at".
        let commits: Vec<String> = rows
            .iter()
            .filter_map(|r| r.commit.clone())
            .filter(|c| c != "HEAD")
            .collect();
        let bad: Vec<&QueueRow> = rows.iter().filter(|r| r.status != "finished").collect();
        if let Some(first) = bad.first() {
            let excerpt = self.log_excerpt(first);
            let ended: Vec<String> = bad
                .iter()
                .map(|r| {
                    let name = r.application_name.as_deref().unwrap_or("the application");
                    format!("{} of {name} ended {}", r.deployment_uuid, r.status)
                })
                .collect();
            return Err(ProviderError::Failed {
                message: format!(
                    "Coolify deployment {} after {duration} ({} of {} finished)",
                    ended.join("; "),
                    rows.len() - bad.len(),
                    rows.len()
                ),
                rolled_back: None,
                log_excerpt: Some(excerpt),
            });
        }
        let mut details = vec![
            ("coolify-deployments".to_string(), ids.join(",")),
            ("status".to_string(), "finished".to_string()),
            ("duration".to_string(), duration.to_string()),
        ];
        if !commits.is_empty() {
            details.push(("commit".to_string(), commits.join(",")));
        }
        if let Some(t) = &tag {
            details.push(("image-tag".to_string(), t.clone()));
        }
        Ok(DeployOutcome {
            provider_ids: ids,
            image,
            version: tag,
            rollback_point: Some(point),
            details,
        })
    }
}

fn build(
    p: &crate::config::ProviderConfig,
    deps: &Deps,
) -> Result<Box<dyn Provider>, ProviderError> {
    match p {
        crate::config::ProviderConfig::Coolify(c) => {
            Ok(Box::new(CoolifyProvider::new(c.clone(), deps)?))
        }
        _ => Err(super::wrong_config("coolify")),
    }
}

/// What a deploy ships, in words (`plan`).
fn ships(p: &crate::config::ProviderConfig) -> String {
    match p {
        crate::config::ProviderConfig::Coolify(c) if c.set_image_tag => {
            "the image tag of the request's image, version or commit".into()
        }
        _ => "the commit, built by Coolify".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_base_is_found_with_or_without_the_prefix() {
        assert_eq!(
            api_base("https://c.example.com/"),
            "https://c.example.com/api/v1"
        );
        assert_eq!(
            api_base("https://c.example.com/api/v1"),
            "https://c.example.com/api/v1"
        );
    }

    #[test]
    fn the_image_tag_comes_from_the_image_then_the_version() {
        let mut req = DeployRequest {
            target: test_target(),
            sha: "abc".into(),
            version: Some("v1.2.3".into()),
            image: Some("registry:5000/acme/web:v1.2.4".into()),
            deadline: Instant::now(),
            labels: Vec::new(),
            min_secrets_version: None,
        };
        assert_eq!(CoolifyProvider::image_tag(&req).as_deref(), Some("v1.2.4"));
        req.image = Some("ghcr.io/acme/web@sha256:abc".into());
        assert_eq!(CoolifyProvider::image_tag(&req).as_deref(), Some("v1.2.3"));
        req.image = Some("registry:5000/acme/web".into());
        assert_eq!(tag_of_image("registry:5000/acme/web"), None);
        assert_eq!(
            tag_of_image("ghcr.io/acme/api:v1.0.0").as_deref(),
            Some("v1.0.0")
        );
        assert_eq!(CoolifyProvider::image_tag(&req).as_deref(), Some("v1.2.3"));
        req.version = None;
        assert_eq!(CoolifyProvider::image_tag(&req).as_deref(), Some("abc"));
    }

    fn test_target() -> Target {
        Target {
            app: "web".into(),
            env: "staging".into(),
            provider: ProviderConfig::Command(crate::config::CommandConfig {
                run: "true".into(),
                rollback: None,
                working_directory: None,
                secret_env: Vec::new(),
            }),
            url: None,
            health: Default::default(),
            rollback_on_failure: false,
            timeout: Duration::from_secs(60),
        }
    }
}
