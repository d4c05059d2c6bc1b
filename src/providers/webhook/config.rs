//! The `webhook:` key of an app's environment: as written (its doc comments become the
//! config schema and docs/config.md), resolved, and the check between them.

use crate::config::validate::Validator;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawWebhook {
    /// URL that triggers the deploy.
    pub url: String,
    /// HTTP method (default `POST`).
    #[serde(default)]
    pub method: Option<String>,
    /// Extra headers; values may use `${ENV_VAR}` for secrets.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Env var with a secret used for an HMAC-SHA256 signature of the body.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// A URL to poll until it answers 2xx, meaning the deploy finished.
    #[serde(default)]
    pub status_url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WebhookConfig {
    pub url: String,
    pub method: String,
    pub headers: BTreeMap<String, String>,
    pub secret_env: Option<String>,
    pub status_url: Option<String>,
}

/// The resolved settings of a `webhook:` target (errors go to `v`, at `at`).
pub(crate) fn resolve(_v: &mut Validator, _at: &[&str], w: &RawWebhook) -> WebhookConfig {
    WebhookConfig {
        url: w.url.clone(),
        method: w
            .method
            .clone()
            .unwrap_or_else(|| "POST".into())
            .to_uppercase(),
        headers: w.headers.clone(),
        secret_env: w.secret_env.clone(),
        status_url: w.status_url.clone(),
    }
}
