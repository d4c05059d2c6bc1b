//! Telling the world a deploy happened: signed webhooks (JSON, Slack, Discord) and
//! `workflow_dispatch` of the next workflow.
//!
//! Why dispatch and not a release event: events caused by the workflow's default
//! `GITHUB_TOKEN` start no new workflow runs, with two exceptions, `workflow_dispatch` and
//! `repository_dispatch`. So `notify --dispatch` can chain workflows with the default token,
//! while a release created with it will not trigger `on: release` workflows.

pub mod webhook;

pub use webhook::Event;

use crate::config::{Notify, NotifyFormat, NotifyOn, NotifyTarget};
use crate::context::Ctx;
use crate::exit::{Exit, Failure};
use crate::github::GitHub;
use std::collections::BTreeMap;

/// The event for one app and environment, stamped now.
pub(crate) fn event(
    ctx: &Ctx,
    name: &str,
    env: &str,
    app: Option<&str>,
    sha: &str,
    version: Option<&str>,
    success: bool,
) -> Event {
    Event {
        event: name.to_string(),
        environment: env.to_string(),
        app: app.map(str::to_string),
        status: if success { "success" } else { "failure" }.into(),
        commit_sha: sha.to_string(),
        version: version.map(str::to_string),
        timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        run_url: ctx.github.run_url(),
        trigger: None,
    }
}

/// `{sha}`, `{version}`, `{env}`, `{app}` in dispatch inputs.
pub(crate) fn expand(template: &str, e: &Event) -> String {
    template
        .replace("{sha}", &e.commit_sha)
        .replace("{version}", e.version.as_deref().unwrap_or(""))
        .replace("{env}", &e.environment)
        .replace("{app}", e.app.as_deref().unwrap_or(""))
}

/// Send one webhook (token and signing secret read from the named env vars, masked).
pub(crate) async fn send_webhook(
    ctx: &Ctx,
    url: &str,
    format: NotifyFormat,
    token_env: Option<&str>,
    secret_env: Option<&str>,
    e: &Event,
) -> Result<(), Failure> {
    let token = token_env.and_then(|v| ctx.secret(None, v));
    let secret = secret_env.and_then(|v| ctx.secret(None, v));
    if let (Some(var), None) = (secret_env, &secret) {
        return Err(Failure::input(format!(
            "webhook signing secret `{var}` is not set in the environment"
        )));
    }
    if ctx.dry_run {
        ctx.console.info(format!(
            "[dry-run] POST {url} (a {} for `{}`{}{})",
            format.payload(),
            e.event,
            if token.is_some() {
                ", Authorization: Bearer ***"
            } else {
                ""
            },
            if secret.is_some() {
                ", X-Stage-Gate-Signature: sha256=…"
            } else {
                ""
            }
        ));
        return Ok(());
    }
    webhook::send(&ctx.http, url, e, format, token.as_ref(), secret.as_ref())
        .await
        .map_err(|err| Failure::new(Exit::Internal, err))?;
    ctx.console
        .info(format!("notified {url}: the {} event", e.status));
    Ok(())
}

/// How a webhook's payload format is written in the config (`format: slack`).
pub fn format_name(format: NotifyFormat) -> &'static str {
    match format {
        NotifyFormat::Json => "json",
        NotifyFormat::Slack => "slack",
        NotifyFormat::Discord => "discord",
    }
}

/// Dispatch `workflow` with `inputs`.
pub(crate) async fn dispatch(
    ctx: &Ctx,
    workflow: &str,
    git_ref: Option<&str>,
    inputs: &BTreeMap<String, String>,
) -> Result<Option<String>, Failure> {
    let git_ref = git_ref
        .map(str::to_string)
        .or_else(|| ctx.github.branch().map(str::to_string))
        .unwrap_or_else(|| "main".into());
    if ctx.dry_run {
        ctx.console.info(format!("[dry-run] POST …/actions/workflows/{workflow}/dispatches {{ref: {git_ref}, inputs: {inputs:?}}}"));
        return Ok(None);
    }
    let gh = GitHub::from_ctx(ctx).map_err(|e| Failure::new(Exit::InvalidInput, e))?;
    let run = gh
        .dispatch_workflow(workflow, &git_ref, inputs)
        .await
        .map_err(|e| Failure::new(Exit::Internal, e))?;
    ctx.console
        .info(format!("dispatched {workflow} on {git_ref}"));
    Ok(run.map(|r| r.html_url))
}

/// The one event name every notification carries (`<env>_deployment_complete`, as seed
/// 003's orchestrator reads it), whatever sent it; `status` says the outcome and `trigger`
/// what sent it (`deploy`, `promote`, `notify`).
pub(crate) fn event_name(env: &str) -> String {
    if env.is_empty() {
        "deployment_complete".into()
    } else {
        format!("{env}_deployment_complete")
    }
}

/// The configured notifications that fire for `on` in `env`.
pub(crate) fn firing<'a>(ctx: &'a Ctx, on: NotifyOn, env: &str) -> Vec<&'a Notify> {
    ctx.config
        .notify
        .iter()
        .filter(|n| n.fires(on, env))
        .collect()
}

/// Every configured notification that fires for this outcome. Returns how many were sent.
pub(crate) async fn after_deploy(
    ctx: &Ctx,
    env: &str,
    app: &str,
    sha: &str,
    version: Option<&str>,
    on: NotifyOn,
) -> Result<usize, Failure> {
    let success = matches!(on, NotifyOn::DeploySuccess | NotifyOn::PromoteSuccess);
    let mut e = event(ctx, &event_name(env), env, Some(app), sha, version, success);
    e.trigger = Some(on.trigger().to_string());
    let mut sent = 0;
    for n in firing(ctx, on, env) {
        match &n.target {
            NotifyTarget::Webhook {
                url,
                format,
                token_env,
                secret_env,
            } => {
                send_webhook(
                    ctx,
                    url,
                    *format,
                    token_env.as_deref(),
                    secret_env.as_deref(),
                    &e,
                )
                .await?;
            }
            NotifyTarget::Dispatch {
                workflow,
                git_ref,
                inputs,
            } => {
                let inputs = inputs
                    .iter()
                    .map(|(k, v)| (k.clone(), expand(v, &e)))
                    .collect();
                dispatch(ctx, workflow, git_ref.as_deref(), &inputs).await?;
            }
        }
        sent += 1;
    }
    Ok(sent)
}
