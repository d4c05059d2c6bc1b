//! The `webhook` provider: trigger a deploy with one HTTP request to a URL the user owns,
//! then (optionally) poll a status URL until it answers 2xx.
//!
//! The request carries `{app, environment, sha, version, image}` as JSON; header values may
//! name secrets as `${ENV_VAR}` (expanded here, masked before anything prints); with
//! `secret-env` the body is signed, `X-Stage-Gate-Signature: sha256=<hmac>`, the same scheme
//! as notifications. A webhook cannot undo a deploy, so rollback is refused with a pointer.

pub(crate) mod config;

use super::*;
use crate::config::WebhookConfig;
use crate::http::{HttpClient, HttpError};
use crate::inputs::Env;
use crate::report::Console;
use crate::secret::Secret;
use crate::secret::{signature, SIGNATURE_HEADER};
use reqwest::Method;
use std::time::Duration;

/// Time between status polls.
const POLL_EVERY: Duration = Duration::from_secs(2);

pub struct WebhookProvider {
    config: WebhookConfig,
    env: Env,
    http: HttpClient,
    console: Console,
    poll_every: Duration,
}

/// Replace every `${NAME}` with the variable's value; a missing one is an error naming it.
pub(crate) fn expand_env(template: &str, env: &Env) -> Result<(String, Vec<String>), String> {
    let mut out = String::new();
    let mut used = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("unclosed `${{` in `{template}`"));
        };
        let name = &after[..end];
        match env.get(name) {
            Some(v) => {
                out.push_str(v);
                used.push(v.to_string());
            }
            None => return Err(format!("`${{{name}}}` is not set in the environment")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok((out, used))
}

pub(crate) const REGISTERED: super::registry::Registered = super::registry::Registered {
    key: "webhook",
    default_secret_envs: &[],
    secret_envs,
    build,
    ships,
    configured: |t| t.webhook.is_some(),
    resolve: |v, at, t| {
        let raw = t.webhook.as_ref()?;
        Some(crate::config::ProviderConfig::Webhook(config::resolve(
            v, at, raw,
        )))
    },
    owns: |p| matches!(p, crate::config::ProviderConfig::Webhook(_)),
};

/// The signing secret's variable, then every variable a header names (`${NAME}`).
fn secret_envs(p: &crate::config::ProviderConfig) -> Vec<String> {
    let crate::config::ProviderConfig::Webhook(c) = p else {
        return Vec::new();
    };
    let mut out: Vec<String> = c.secret_env.iter().cloned().collect();
    for template in c.headers.values() {
        let mut rest = template.as_str();
        while let Some(start) = rest.find("${") {
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else { break };
            out.push(after[..end].to_string());
            rest = &after[end + 1..];
        }
    }
    out
}

impl WebhookProvider {
    pub fn new(config: WebhookConfig, deps: &Deps) -> Result<Self, ProviderError> {
        if Method::from_bytes(config.method.as_bytes()).is_err() {
            return Err(ProviderError::Config(format!(
                "webhook method `{}` is not an HTTP method",
                config.method
            )));
        }
        Ok(WebhookProvider {
            config,
            env: deps.env.clone(),
            http: deps.http.clone(),
            console: deps.console.clone(),
            poll_every: POLL_EVERY,
        })
    }

    /// Poll faster (tests).
    pub fn with_poll_interval(mut self, every: Duration) -> Self {
        self.poll_every = every;
        self
    }

    /// The configured headers, expanded; every value that came from the environment is
    /// masked first, since header values are how secrets reach the receiver.
    fn headers(&self) -> Result<Vec<(String, String)>, ProviderError> {
        let mut out = Vec::new();
        for (name, template) in &self.config.headers {
            let (value, used) = expand_env(template, &self.env)
                .map_err(|e| ProviderError::Config(format!("webhook header `{name}`: {e}")))?;
            for secret in used {
                self.console.mask(&secret);
            }
            if !used_is_public(template) {
                self.console.mask(&value);
            }
            out.push((name.clone(), value));
        }
        Ok(out)
    }

    fn signing_secret(&self) -> Result<Option<Secret>, ProviderError> {
        let Some(name) = &self.config.secret_env else {
            return Ok(None);
        };
        match self.env.get(name) {
            Some(v) if !v.is_empty() => {
                self.console.mask(v);
                Ok(Some(Secret::new(v)))
            }
            _ => Err(ProviderError::Config(format!(
                "webhook: secret-env `{name}` is not set in the environment"
            ))),
        }
    }

    fn refused(&self, e: HttpError, what: &str) -> ProviderError {
        match e.status() {
            Some(s) if s.as_u16() == 401 || s.as_u16() == 403 => ProviderError::Auth(format!(
                "the {what} refused the request ({s}): check the headers' credentials"
            )),
            Some(_) => ProviderError::Failed {
                message: format!("the {what} did not accept the deploy: {e}"),
                rolled_back: None,
                log_excerpt: e.body().map(|b| crate::secret::truncate(b, 1000)),
            },
            None => ProviderError::Http(e),
        }
    }

    /// Poll `status_url` until 2xx or the deadline.
    async fn wait_ready(
        &self,
        url: &str,
        headers: &[(String, String)],
        deadline: Instant,
    ) -> Result<u32, ProviderError> {
        let mut polls = 0;
        loop {
            polls += 1;
            let attempt = self
                .http
                .send(
                    |c| {
                        headers
                            .iter()
                            .fold(c.get(url), |r, (k, v)| r.header(k.as_str(), v.as_str()))
                    },
                    true,
                )
                .await;
            match attempt {
                Ok(_) => return Ok(polls),
                Err(e) if matches!(e.status(), Some(s) if s.as_u16() == 401 || s.as_u16() == 403) => {
                    return Err(self.refused(e, "status URL"))
                }
                Err(e) => self.console.debug(format!("webhook status: {e}")),
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ProviderError::Failed {
                    message: format!(
                        "the status URL {url} did not answer 2xx before the deadline ({polls} polls)"
                    ),
                    rolled_back: None,
                    log_excerpt: None,
                });
            }
            tokio::time::sleep(self.poll_every.min(deadline - now)).await;
        }
    }
}

/// A header template without `${…}` is written in the config for all to see: not a secret.
fn used_is_public(template: &str) -> bool {
    !template.contains("${")
}

#[async_trait]
impl Provider for WebhookProvider {
    fn kind(&self) -> &'static str {
        "webhook"
    }

    fn planned_calls(&self, req: &DeployRequest) -> Vec<String> {
        let mut calls = vec![format!(
            "{} {} {{app: {}, environment: {}, sha: {}}}{}",
            self.config.method,
            self.config.url,
            req.target.app,
            req.target.env,
            req.sha,
            if self.config.secret_env.is_some() {
                format!(" signed ({SIGNATURE_HEADER})")
            } else {
                String::new()
            }
        )];
        if let Some(s) = &self.config.status_url {
            calls.push(format!(
                "GET {s} until 2xx (timeout {})",
                humantime::format_duration(req.target.timeout)
            ));
        }
        calls
    }

    async fn deploy(&self, req: &DeployRequest) -> Result<DeployOutcome, ProviderError> {
        let headers = self.headers()?;
        let secret = self.signing_secret()?;
        let body = serde_json::to_vec(&serde_json::json!({
            "app": req.target.app,
            "environment": req.target.env,
            "sha": req.sha,
            "version": req.version,
            "image": req.image,
        }))
        .map_err(|e| ProviderError::Other(e.to_string()))?;
        let method = Method::from_bytes(self.config.method.as_bytes())
            .map_err(|e| ProviderError::Config(e.to_string()))?;
        // A deploy trigger is repeated only if it surely never arrived.
        let idempotent = matches!(method, Method::GET | Method::HEAD | Method::PUT);
        let sig = secret.as_ref().map(|s| signature(s, &body));
        self.console.info(format!(
            "webhook: {} {}",
            self.config.method, self.config.url
        ));
        let resp = self
            .http
            .send(
                |c| {
                    let mut r = c
                        .request(method.clone(), &self.config.url)
                        .header("content-type", "application/json")
                        .body(body.clone());
                    for (k, v) in &headers {
                        r = r.header(k.as_str(), v.as_str());
                    }
                    if let Some(sig) = &sig {
                        r = r.header(SIGNATURE_HEADER, sig.as_str());
                    }
                    r
                },
                idempotent,
            )
            .await
            .map_err(|e| self.refused(e, "deploy webhook"))?;
        let mut details = vec![(
            "webhook-status".to_string(),
            resp.status().as_u16().to_string(),
        )];
        if let Some(url) = &self.config.status_url {
            let polls = self.wait_ready(url, &headers, req.deadline).await?;
            details.push(("status-polls".into(), polls.to_string()));
        }
        Ok(DeployOutcome {
            provider_ids: Vec::new(),
            image: req.image.clone(),
            version: req.version.clone(),
            rollback_point: None,
            details,
        })
    }

    fn planned_rollback_calls(&self, req: &RollbackRequest) -> Vec<String> {
        vec![format!(
            "(a webhook cannot undo a deploy of {}/{}: the rollback would fail)",
            req.target.app, req.target.env
        )]
    }

    async fn rollback(&self, req: &RollbackRequest) -> Result<RollbackOutcome, ProviderError> {
        Err(ProviderError::Config(format!(
            "{}/{}: a webhook cannot undo a deploy; redeploy the earlier version, or use the \
             `command` provider with a `rollback` command",
            req.target.app, req.target.env
        )))
    }
}

fn build(
    p: &crate::config::ProviderConfig,
    deps: &Deps,
) -> Result<Box<dyn Provider>, ProviderError> {
    match p {
        crate::config::ProviderConfig::Webhook(c) => {
            Ok(Box::new(WebhookProvider::new(c.clone(), deps)?))
        }
        _ => Err(super::wrong_config("webhook")),
    }
}

/// What a deploy ships, in words (`plan`).
fn ships(p: &crate::config::ProviderConfig) -> String {
    let _ = p;
    "the image given, or what the receiver deploys".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_references_expand_and_missing_ones_are_named() {
        let mut env = Env::default();
        env.set("TOKEN", "abc123");
        let (v, used) = expand_env("Bearer ${TOKEN}!", &env).unwrap();
        assert_eq!(
            (v.as_str(), used),
            ("Bearer abc123!", vec!["abc123".to_string()])
        );
        let err = expand_env("x ${NOPE}", &env).unwrap_err();
        assert!(err.contains("NOPE"), "{err}");
        assert!(expand_env("x ${OPEN", &env).is_err());
        assert_eq!(expand_env("plain", &env).unwrap().0, "plain");
    }
}
