//! The `coolify:` key of an app's environment: as written (its doc comments become the
//! config schema and docs/config.md), resolved, and the check between them.

use crate::config::humantime_serde_compat;
use crate::config::raw::StringOrList;
use crate::config::validate::Validator;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawCoolify {
    /// Instance URL, e.g. `https://coolify.example.com` (API under `/api/v1`).
    #[serde(default)]
    pub url: Option<String>,
    /// Application uuid(s) to deploy.
    #[serde(default)]
    pub uuid: Option<StringOrList>,
    /// Deploy every resource with this tag instead of uuids.
    #[serde(default)]
    pub tag: Option<String>,
    /// Rebuild without cache.
    #[serde(default)]
    pub force: Option<bool>,
    /// A deploy webhook URL (Coolify's "Deploy Webhook"); used instead of the API trigger.
    #[serde(default)]
    pub webhook: Option<String>,
    /// Set the application's image tag before deploying: the tag of the image the deploy
    /// ships (on a promotion, the one the proving environment ran), else the release
    /// version, else the commit. Needed for a promotion to run the proven image.
    #[serde(default)]
    pub set_image_tag: Option<bool>,
    /// The image a Docker-image application's preview runs (`stage-gate preview`; its tag is
    /// Coolify's `docker_tag`, `{pr}` the pull request), when the job gives none.
    #[serde(default)]
    pub preview_image: Option<String>,
    /// Name of the env var holding the token (default `COOLIFY_TOKEN`).
    #[serde(default)]
    pub token_env: Option<String>,
    /// Poll interval while waiting (default `3s`).
    #[serde(default)]
    pub poll_interval: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoolifyConfig {
    pub url: Option<String>,
    pub uuids: Vec<String>,
    pub tag: Option<String>,
    pub force: bool,
    pub webhook: Option<String>,
    pub set_image_tag: bool,
    pub preview_image: Option<String>,
    pub token_env: String,
    #[serde(with = "humantime_serde_compat")]
    pub poll_interval: Duration,
}

/// The resolved settings of a `coolify:` target (errors go to `v`, at `at`).
pub(crate) fn resolve(v: &mut Validator, at: &[&str], c: &RawCoolify) -> CoolifyConfig {
    let uuids = match &c.uuid {
        None => Vec::new(),
        Some(StringOrList::One(s)) => s.split(',').map(|s| s.trim().to_string()).collect(),
        Some(StringOrList::Many(v)) => v.clone(),
    };
    if uuids.is_empty() && c.tag.is_none() && c.webhook.is_none() {
        v.error(
            at,
            "coolify needs `uuid`, `tag` or `webhook`",
            Some("the application uuid is in its Coolify URL".into()),
        );
    }
    if !uuids.is_empty() && c.tag.is_some() {
        v.error(
            at,
            "coolify takes `uuid` or `tag`, not both (the API refuses both)",
            None,
        );
    }
    if c.url.is_none() && c.webhook.is_none() {
        v.error(
            at,
            "coolify needs `url` (the instance, e.g. https://coolify.example.com)",
            None,
        );
    }
    let mut pp = at.to_vec();
    pp.push("poll-interval");
    let poll_interval = v.duration(&pp, c.poll_interval.as_deref(), Duration::from_secs(3));
    CoolifyConfig {
        url: c.url.clone(),
        uuids,
        tag: c.tag.clone(),
        force: c.force.unwrap_or(false),
        webhook: c.webhook.clone(),
        set_image_tag: c.set_image_tag.unwrap_or(false),
        preview_image: c.preview_image.clone(),
        token_env: c
            .token_env
            .clone()
            .unwrap_or_else(|| "COOLIFY_TOKEN".into()),
        poll_interval,
    }
}
