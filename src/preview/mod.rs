//! `stage-gate preview`: an environment per pull request, on Fly and Coolify.
//!
//! - `up.rs` — create or update every app's preview of the pull request, health-gated,
//!   recorded as a transient GitHub Deployment (`preview/pr-N`), linked in one comment
//! - `down.rs` — tear it down (only what carries our marker), records inactive, comment edited
//! - `sweep.rs` — tear down previews of closed pull requests and those past `ttl`
//! - `event.rs` — the `pull_request` event a job runs on (closed → down, forks skipped)
//! - `comment.rs` — the one comment per pull request, edited in place
//! - `result.rs` — the typed result (`stage-gate/preview/v1`)
//!
//! The providers do the vendor's part (`providers::preview::Previews`); this module conducts.

pub mod comment;
mod down;
pub mod event;
pub mod result;
mod sweep;
mod up;

pub use down::{down, DownRequest};
pub use result::{PreviewJson, PreviewResult, SweepDecision};
pub use sweep::{sweep, SweepRequest};
use up::rank;
pub use up::{up, UpRequest};

use crate::config::Target;
use crate::context::Ctx;
use crate::deploy::records::{self, Entry};
use crate::exit::Failure;
use crate::github::{DeploymentStatusState, GitHub, NewDeploymentStatus};
use crate::providers::preview::{Marker, PreviewRequest};
use crate::providers::{self, Provider};
use std::time::Instant;

/// The GitHub environment of a pull request's preview: `preview/pr-42`.
pub fn environment_of(env: &str, pr: u64) -> String {
    format!("{env}/pr-{pr}")
}

/// The per-pull-request environment a run means: the one named, else the config's only one.
pub fn environment(ctx: &Ctx, named: Option<String>) -> Result<String, Failure> {
    let per_pr: Vec<&String> = ctx
        .config
        .environments
        .iter()
        .filter(|(_, p)| p.per_pull_request)
        .map(|(n, _)| n)
        .collect();
    let listed = || {
        if per_pr.is_empty() {
            "the config has none".to_string()
        } else {
            format!(
                "per pull request: {}",
                per_pr
                    .iter()
                    .map(|e| format!("`{e}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    };
    if let Some(env) = named {
        if !ctx.config.environments.contains_key(&env) {
            return Err(Failure::input(format!(
                "environment `{env}` is not in the config ({})",
                listed()
            )));
        }
        let policy = ctx.config.policy(&env);
        if !policy.per_pull_request {
            return Err(Failure::input(format!(
                "environment `{env}` is not per pull request: set `per-pull-request: true` \
                 under environments.{env} in the config"
            )));
        }
        return Ok(env);
    }
    match per_pr.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Failure::input(
            "no environment of the config is per pull request: add one, e.g.\n  \
             environments:\n    preview: { per-pull-request: true, ttl: 7d }",
        )),
        many => Err(Failure::input(format!(
            "several environments are per pull request ({}): name one with --env (the \
             `environment` input)",
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The repository previews are marked with.
fn repository(ctx: &Ctx) -> Result<String, Failure> {
    ctx.github
        .repository
        .clone()
        .or_else(|| ctx.config.repository.clone())
        .ok_or_else(|| {
            Failure::input(
                "a preview is marked with its repository: set GITHUB_REPOSITORY (owner/name) or \
                 `repository:` in the config",
            )
        })
}

/// One app's preview: its target for the pull request and its provider.
struct App {
    target: Target,
    provider: Box<dyn Provider>,
}

impl App {
    fn previews(&self) -> &dyn providers::preview::Previews {
        self.provider
            .previews()
            .expect("checked in `apps`: every preview target's provider runs previews")
    }

    fn request(
        &self,
        pr: u64,
        sha: &str,
        image: Option<String>,
        marker: &Marker,
    ) -> PreviewRequest {
        PreviewRequest {
            target: self.target.clone(),
            pr,
            sha: sha.to_string(),
            image,
            marker: marker.clone(),
            deadline: Instant::now() + self.target.timeout,
        }
    }

    /// The vendor's name of the preview (see [`resource_of`]).
    fn resource(&self, pr: u64) -> String {
        resource_of(&self.target, pr)
    }
}

/// The vendor's name of the preview of `target` (`{pr}` filled in): the Fly app, or Coolify's
/// application and pull request.
fn resource_of(target: &Target, pr: u64) -> String {
    match &target.provider {
        crate::config::ProviderConfig::Fly(f) => f.app.clone().unwrap_or_default(),
        crate::config::ProviderConfig::Coolify(c) => {
            format!(
                "coolify:{}#{pr}",
                c.uuids.first().cloned().unwrap_or_default()
            )
        }
        _ => String::new(),
    }
}

/// Every app of `env` (or only `app`), for pull request `pr` (`{pr}` filled in).
fn apps(ctx: &Ctx, env: &str, app: Option<&str>, pr: u64) -> Result<Vec<App>, Failure> {
    let targets = ctx.config.targets(env, app);
    if targets.is_empty() {
        return Err(Failure::input(match app {
            Some(a) => format!("app `{a}` has no `{env}` environment in the config"),
            None => format!("no app of the config has a `{env}` environment"),
        }));
    }
    let mut out = Vec::new();
    for t in targets {
        let target = t.for_pull_request(pr);
        let provider =
            providers::for_target(&target, &ctx.provider_deps()).map_err(Failure::from)?;
        if provider.previews().is_none() {
            return Err(Failure::input(format!(
                "`{}` in `{env}` deploys with {}, which runs no previews (Fly and Coolify do)",
                target.app,
                provider.kind()
            )));
        }
        out.push(App { target, provider });
    }
    Ok(out)
}

/// Mark the app's deployments of the preview environment inactive (the preview is gone).
async fn inactivate(
    gh: &GitHub,
    environment: &str,
    app: &str,
    why: &str,
) -> Result<usize, Failure> {
    let entries: Vec<Entry> = records::history(gh, environment, app)
        .await
        .map_err(|e| Failure::new(crate::exit::Exit::Internal, e))?;
    let mut n = 0;
    for e in entries
        .iter()
        .filter(|e| e.state.as_deref() != Some("inactive"))
    {
        let mut status = NewDeploymentStatus::new(DeploymentStatusState::Inactive);
        status.auto_inactive = Some(false);
        status.description = Some(why.to_string());
        gh.create_deployment_status(e.deployment.id.into_inner(), &status)
            .await
            .map_err(|e| Failure::new(crate::exit::Exit::Internal, e))?;
        n += 1;
    }
    Ok(n)
}

/// Write the pull request's one comment with `change` applied to its state (created only
/// when `create`), rendered and redacted. Answers its URL; a comment that cannot be written
/// is said, not fatal.
async fn write_comment(
    ctx: &Ctx,
    gh: &GitHub,
    pr: u64,
    env: &str,
    create: bool,
    change: impl Fn(&mut comment::State),
) -> Option<String> {
    let ttl = ttl_words(ctx, env);
    let run_url = ctx.github.run_url();
    let redactor = &ctx.console.redactor;
    let render =
        |state: &comment::State| redactor.redact(&comment::render(state, run_url.as_deref(), &ttl));
    match comment::upsert(gh, pr, env, create, change, render).await {
        Ok(c) => c.map(|c| c.html_url),
        Err(e) => {
            ctx.console
                .warn(format!("the comment of #{pr} was not written: {e}"));
            None
        }
    }
}

/// Now, for the comment's rows.
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The policy's ttl in words (`7 days`).
fn ttl_words(ctx: &Ctx, env: &str) -> String {
    span(ctx.config.policy(env).ttl)
}

/// A span of time as people say it, to the largest whole unit: `7 days`, `3 hours`,
/// `12 minutes`, `less than a minute`.
pub(crate) fn span(d: std::time::Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = match s {
        0..=59 => return "less than a minute".into(),
        60..=3599 => (s / 60, "minute"),
        3600..=86_399 => (s / 3600, "hour"),
        _ => (s / 86_400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}
