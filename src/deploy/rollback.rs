//! Rolling an environment back: to the successful deployment `--to` names (a release tag,
//! version, commit or image that ran there, resolved through the records to the artifact
//! that ran), else to the one before the current; recorded as a deployment too. `stage-gate
//! rollback` and `health --rollback` call [`target`] per app.

use super::records::{self, Payload, StatusUpdate};
use crate::config::Target;
use crate::context::Ctx;
use crate::exit::{Exit, Failure};
use crate::github::{DeploymentStatusState, GitHub};
use crate::providers::{self, RollbackRequest};

/// One app's rollback, done (or, in a dry run, described call by call).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct RolledBack {
    pub app: String,
    /// What it went back to, as named or found in the history.
    pub to: String,
    /// What the provider restored, in words (`dry run` in a dry run).
    pub restored: String,
    /// The version of the deployment returned to, when recorded.
    pub version: Option<String>,
    /// In a dry run: every call, in order.
    #[serde(skip)]
    pub calls: Vec<String>,
}

impl RolledBack {
    /// `[app, to, restored]`: a row of the summary table.
    pub fn row(&self) -> Vec<String> {
        vec![self.app.clone(), self.to.clone(), self.restored.clone()]
    }
}

/// Every target of `plan` rolled back, in the plan's order (see [`target`]).
pub async fn all(
    ctx: &Ctx,
    plan: &crate::plan::Plan,
    requested: Option<&str>,
    force: bool,
) -> Result<Vec<RolledBack>, Failure> {
    let gh = GitHub::from_ctx(ctx).ok();
    let mut done = Vec::new();
    for planned in &plan.targets {
        let target = &ctx.config.apps[&planned.app].environments[&plan.environment];
        done.push(self::target(ctx, gh.as_ref(), target, requested, force).await?);
    }
    Ok(done)
}

/// Return `target` to the successful deployment `requested` names (a release tag, version or
/// image), else to the newest successful one before the current one; record the rollback as
/// a deployment so the gate's history tells the truth.
pub async fn target(
    ctx: &Ctx,
    gh: Option<&GitHub>,
    target: &Target,
    requested: Option<&str>,
    force: bool,
) -> Result<RolledBack, Failure> {
    let mut calls = Vec::new();
    let found = match gh {
        Some(gh) => {
            calls.push(history_call(ctx, &target.env));
            history(ctx, gh, target, requested).await?
        }
        None => Found::default(),
    };
    let to = destination(
        target,
        gh.is_some(),
        requested,
        force,
        found.previous.as_ref(),
    )?;
    let provider = providers::for_target(target, &ctx.provider_deps())?;
    let request = RollbackRequest {
        target: target.clone(),
        point: (found.previous.as_ref()).and_then(|p| p.payload.rollback_point.clone()),
        to: to.clone(),
    };
    let mut done = RolledBack {
        app: target.app.clone(),
        to: to.unwrap_or_default(),
        restored: "dry run".into(),
        version: (found.previous.as_ref()).and_then(|p| p.payload.version.clone()),
        calls,
    };
    if ctx.dry_run {
        done.calls.extend(provider.planned_rollback_calls(&request));
        if let (Some(_), Some(prev)) = (gh, &found.previous) {
            done.calls
                .extend(record_calls(ctx, &target.env, &target.app, prev));
        }
        return Ok(done);
    }
    if let Some(caveat) = provider.rollback_caveat() {
        ctx.console.warn(caveat);
    }
    let outcome = provider.rollback(&request).await?;
    ctx.console
        .info(format!("{}: {}", target.app, outcome.restored));
    if let (Some(gh), Some(prev)) = (gh, &found.previous) {
        let current = found.current.as_ref().map(|c| c.deployment.id.into_inner());
        let url = target.url.as_deref();
        record(ctx, gh, &target.env, prev, current, &outcome.restored, url).await?;
    }
    done.restored = outcome.restored;
    Ok(done)
}

/// The environment's successful deployments, read: the current one, and the one to return to.
#[derive(Default)]
struct Found {
    previous: Option<records::Entry>,
    current: Option<records::Entry>,
}

/// The read a rollback makes even in a dry run, as the dry run lists it.
fn history_call(ctx: &Ctx, env: &str) -> String {
    format!(
        "GET {}/repos/{}/deployments?environment={env}&task=deploy  (made: a read, to \
         find the deployment to return to)",
        ctx.github.api_url,
        ctx.github.repository.as_deref().unwrap_or("OWNER/REPO")
    )
}

/// The newest successful deployment of `target`, and the one `requested` names (a version,
/// release tag, image or commit that ran there), else the one before the newest.
async fn history(
    ctx: &Ctx,
    gh: &GitHub,
    target: &Target,
    requested: Option<&str>,
) -> Result<Found, Failure> {
    let wanted = requested.map(|r| {
        crate::tag::version_in_tag(
            &ctx.config.tag_pattern(Some(&target.app)),
            Some(&target.app),
            r,
        )
        .unwrap_or_else(|| r.to_string())
    });
    let entries = records::history(gh, &target.env, &target.app)
        .await
        .map_err(|e| Failure::new(Exit::Internal, e))?;
    let proven: Vec<_> = entries
        .iter()
        .filter(|e| e.succeeded_at.is_some())
        .collect();
    let previous = match (&wanted, requested) {
        (Some(w), Some(raw)) => proven.iter().find(|e| ran_there(e, w, raw)),
        _ => proven.get(1),
    };
    Ok(Found {
        previous: previous.map(|e| (*e).clone()),
        current: proven.first().map(|e| (*e).clone()),
    })
}

/// What to return to, exactly: the recorded artifact, else the image, version or commit of
/// the deployment found; else, with --force, what was asked for. Refused when `requested`
/// never ran there (without --force), or when there is nothing to return to.
fn destination(
    target: &Target,
    read_history: bool,
    requested: Option<&str>,
    force: bool,
    previous: Option<&records::Entry>,
) -> Result<Option<String>, Failure> {
    let env = &target.env;
    if let (Some(raw), None, false) = (requested, previous, force) {
        return Err(Failure::gate(format!(
            "`{raw}` never ran in `{env}` as far as its deployment records tell{}: name a \
             version, release tag, commit or image that did (the environment's history in \
             GitHub), or pass --force to send `{raw}` to the provider as it is",
            if read_history {
                ""
            } else {
                " (no GitHub token or repository to read them from)"
            }
        )));
    }
    let to = previous
        .and_then(|p| {
            p.artifact()
                .or_else(|| p.payload.image.clone())
                .or_else(|| p.payload.version.clone())
                .or_else(|| Some(p.payload.sha.clone()))
        })
        .or_else(|| requested.map(str::to_string));
    if to.is_none() && previous.is_none() {
        return Err(Failure::gate(format!(
            "no previous successful deployment of {} in `{env}` to return to{}; name one with --to",
            target.app,
            if read_history {
                ""
            } else {
                " (no GitHub token or repository to read the history from)"
            }
        )));
    }
    Ok(to)
}

/// In a dry run: the calls that would record the rollback.
fn record_calls(ctx: &Ctx, env: &str, app: &str, prev: &records::Entry) -> [String; 2] {
    [
        format!(
            "POST {}/repos/{}/deployments {{ref: {}, environment: {env}, payload.app: {app}}}  \
             (the rollback's record)",
            ctx.github.api_url,
            ctx.github.repository.as_deref().unwrap_or("OWNER/REPO"),
            prev.payload.sha,
        ),
        "POST …/deployments/{id}/statuses success".into(),
    ]
}

/// Whether deployment `e` is what `--to` names: its version (`wanted` is the version a
/// release tag names), the tag itself, its image or artifact, or its commit (7+ hex digits).
fn ran_there(e: &records::Entry, wanted: &str, raw: &str) -> bool {
    let p = &e.payload;
    let commit = raw.len() >= 7
        && raw.chars().all(|c| c.is_ascii_hexdigit())
        && p.sha.starts_with(&raw.to_ascii_lowercase());
    p.version.as_deref() == Some(wanted)
        || p.version.as_deref() == Some(raw)
        || p.image.as_deref() == Some(raw)
        || e.artifact().as_deref() == Some(raw)
        || commit
}

/// A rollback is a deployment too: record it so the gate's history tells the truth.
async fn record(
    ctx: &Ctx,
    gh: &GitHub,
    env: &str,
    prev: &records::Entry,
    current: Option<u64>,
    restored: &str,
    url: Option<&str>,
) -> Result<(), Failure> {
    let net = |e| Failure::new(Exit::Internal, e);
    let payload = Payload {
        previous_deployment: current,
        run_id: ctx.github.run_id.clone(),
        gate_override: None,
        ..prev.payload.clone()
    };
    let policy = ctx.config.policy(env);
    let d = records::create(
        gh,
        env,
        policy.production,
        &payload,
        format!("rollback: {restored}"),
    )
    .await
    .map_err(net)?;
    let log_url = ctx.github.run_url();
    records::set_status(
        gh,
        d.id.into_inner(),
        StatusUpdate {
            state: DeploymentStatusState::Success,
            // What runs now is what ran then: the same artifact, for a later promotion.
            description: records::success_description(
                &format!(
                    "{} (rollback)",
                    prev.payload
                        .version
                        .as_deref()
                        .unwrap_or(&prev.payload.sha[..prev.payload.sha.len().min(7)])
                ),
                prev.artifact().as_deref(),
            ),
            log_url: log_url.as_deref(),
            environment_url: url,
        },
    )
    .await
    .map_err(net)
}
