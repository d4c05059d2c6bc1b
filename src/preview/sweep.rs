//! `preview sweep`: tear down the previews whose pull request is closed (or gone) and those
//! whose last deploy is older than the environment's `ttl`.
//!
//! What is a preview: on Fly, the organisation's apps named by the template and carrying
//! this repository's marker (an app of a similar name without it is left alone, and said
//! so); on Coolify, whose API lists no previews, the pull requests the GitHub records name.
//! Bounded: more than `sweep-limit` removals in one run are refused without `--force`.

use super::comment;
use super::result::{PreviewResult, SweepDecision};
use super::{environment_of, inactivate, now, repository};
use crate::config::Target;
use crate::context::Ctx;
use crate::deploy::records;
use crate::exit::{Exit, Failure};
use crate::github::{DeploymentFilter, GitHub};
use crate::providers::preview::{Marker, PreviewDown};
use crate::providers::{self, ProviderError};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct SweepRequest {
    pub env: String,
    /// Remove more than `sweep-limit` previews in one run.
    pub force: bool,
}

/// A preview found, and what to do with it.
struct Candidate {
    target: Target,
    resource: String,
    pr: u64,
    /// When the vendor says it last changed, for a preview no record dates.
    changed_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn internal(e: impl std::fmt::Display) -> Failure {
    Failure::new(Exit::Internal, anyhow::anyhow!("{e}"))
}

/// Find, judge, bound, then tear down.
pub async fn sweep(
    ctx: &Ctx,
    r: &SweepRequest,
) -> Result<(PreviewResult, Option<Failure>), Failure> {
    let policy = ctx.config.policy(&r.env);
    let repo = repository(ctx)?;
    let gh = GitHub::from_ctx(ctx).map_err(|e| {
        Failure::input(format!(
            "sweep asks GitHub which pull requests are closed: {e}"
        ))
    })?;
    let mut result = PreviewResult::new("sweep", &r.env, ctx.dry_run);
    let found = find(ctx, &gh, &repo, &r.env, &mut result).await?;
    let mut remove = Vec::new();
    for c in found {
        // One preview GitHub cannot tell about is said and skipped, not the whole sweep.
        match judge(&gh, &r.env, &c, policy.ttl).await {
            Ok((true, reason)) => remove.push((c, reason)),
            Ok((false, reason)) => result.sweep.push(decision(&c, "kept", reason)),
            Err(f) => {
                ctx.console.warn(format!("{}: not judged: {f}", c.resource));
                result
                    .sweep
                    .push(decision(&c, "failed", format!("not judged: {f}")));
            }
        }
    }
    let over = remove.len() > policy.sweep_limit && !r.force;
    if over {
        let names: Vec<String> = remove.iter().map(|(c, _)| c.resource.clone()).collect();
        let why = format!(
            "sweep would tear down {} previews ({}), more than `sweep-limit` {} under \
             environments.{}: nothing was removed. Review them with --dry-run, then run with \
             --force (or raise the limit)",
            names.len(),
            names.join(", "),
            policy.sweep_limit,
            r.env
        );
        if ctx.dry_run {
            ctx.console.warn(format!("a real run would refuse: {why}"));
            result.notice = Some(format!("a real run would refuse: {why}"));
        } else {
            result.result = "refused".into();
            for (c, reason) in remove {
                let kept = format!("{reason}; not removed: over the sweep limit");
                result.sweep.push(decision(&c, "kept", kept));
            }
            let f = Failure::gate(why);
            ctx.console.error(f.to_string());
            return Ok((result, Some(f)));
        }
    }
    if ctx.dry_run {
        for (c, reason) in remove {
            ctx.console.info(format!(
                "[dry-run] would tear down {} (#{}): {reason}",
                c.resource, c.pr
            ));
            result.sweep.push(decision(&c, "remove", reason));
        }
        result.result = "planned".into();
        return Ok((result, None));
    }
    let worst = remove_all(ctx, &gh, &repo, &r.env, remove, &mut result).await;
    result.result = match (&worst, result.sweep.iter().any(|d| d.decision == "removed")) {
        (Some(f), _) if f.exit == Exit::GateClosed => "refused",
        (Some(_), _) => "failure",
        (None, true) => "removed",
        (None, false) => "success",
    }
    .into();
    Ok((result, worst))
}

/// Every preview of the environment: on Fly the organisation's apps of the template (those
/// not ours are decided `left-alone` here), elsewhere the pull requests the records name.
async fn find(
    ctx: &Ctx,
    gh: &GitHub,
    repo: &str,
    env: &str,
    result: &mut PreviewResult,
) -> Result<Vec<Candidate>, Failure> {
    let mut found = Vec::new();
    let deps = ctx.provider_deps();
    for target in ctx.config.targets(env, None) {
        let provider = providers::for_target(target, &deps).map_err(Failure::from)?;
        let Some(previews) = provider.previews() else {
            continue;
        };
        let Some(listed) = previews.list(target).await.map_err(Failure::from)? else {
            for pr in recorded_prs(gh, env, &target.app).await? {
                found.push(Candidate {
                    target: target.clone(),
                    resource: super::resource_of(&target.for_pull_request(pr), pr),
                    pr,
                    changed_at: None,
                });
            }
            continue;
        };
        for f in listed {
            let expected = Marker {
                repository: repo.to_string(),
                pr: f.pr,
            };
            let candidate = Candidate {
                target: target.clone(),
                resource: f.name,
                pr: f.pr,
                changed_at: f.changed_at,
            };
            match &f.marker {
                Some(m) if *m == expected => found.push(candidate),
                None => result.sweep.push(decision(
                    &candidate,
                    "left-alone",
                    "carries no stage-gate marker (not made by `stage-gate preview`)".into(),
                )),
                Some(m) => result.sweep.push(decision(
                    &candidate,
                    "left-alone",
                    format!("marked as {}, not {}", m.value(), expected.value()),
                )),
            }
        }
    }
    Ok(found)
}

/// Tear each down, saying which and why; the first failure decides the exit.
async fn remove_all(
    ctx: &Ctx,
    gh: &GitHub,
    repo: &str,
    env: &str,
    remove: Vec<(Candidate, String)>,
    result: &mut PreviewResult,
) -> Option<Failure> {
    let mut worst = None;
    for (c, reason) in remove {
        match tear_down(ctx, gh, repo, env, &c, &reason).await {
            Ok((removed, what)) => {
                ctx.console
                    .info(format!("{}: {what} ({reason})", c.resource));
                let done = format!("{reason}; {what}");
                let said = if removed { "removed" } else { "absent" };
                result.sweep.push(decision(&c, said, done));
            }
            Err(f) => {
                ctx.console.error(format!("{}: {f}", c.resource));
                let failed = format!("{reason}; {f}");
                result.sweep.push(decision(&c, "failed", failed));
                if worst
                    .as_ref()
                    .is_none_or(|w: &Failure| super::rank(f.exit) > super::rank(w.exit))
                {
                    worst = Some(f);
                }
            }
        }
    }
    worst
}

fn decision(c: &Candidate, what: &str, reason: String) -> SweepDecision {
    SweepDecision {
        app: c.target.app.clone(),
        resource: c.resource.clone(),
        pr: Some(c.pr),
        decision: what.into(),
        reason,
    }
}

/// Whether to remove the preview, and why (or why not).
async fn judge(
    gh: &GitHub,
    env: &str,
    c: &Candidate,
    ttl: Duration,
) -> Result<(bool, String), Failure> {
    let pr = c.pr;
    match gh.pull_request(pr).await.map_err(internal)? {
        None => return Ok((true, format!("pull request #{pr} does not exist"))),
        Some(p) if p.state == "closed" => {
            let how = if p.merged == Some(true) {
                "merged"
            } else {
                "closed"
            };
            return Ok((true, format!("pull request #{pr} is {how}")));
        }
        Some(_) => {}
    }
    let entries = records::history(gh, &environment_of(env, pr), &c.target.app)
        .await
        .map_err(internal)?;
    // The newest record dates it; without one (a run without a GitHub token), the vendor's
    // last change does.
    let (last, by) = match (entries.first(), c.changed_at) {
        (Some(e), _) => (e.updated_at, "deployed"),
        (None, Some(t)) => (t, "changed (no deploy recorded)"),
        (None, None) => {
            return Ok((
                false,
                format!("pull request #{pr} is open; nothing dates its last deploy"),
            ))
        }
    };
    let age = chrono::Utc::now() - last;
    let age_std = age.to_std().unwrap_or_default();
    let words = super::span(age_std);
    if age_std > ttl {
        Ok((
            true,
            format!(
                "last {by} {words} ago, longer than its ttl ({})",
                super::span(ttl)
            ),
        ))
    } else {
        Ok((
            false,
            format!("pull request #{pr} is open, last {by} {words} ago"),
        ))
    }
}

/// The pull requests whose previews of `app` the GitHub records name (still active).
async fn recorded_prs(gh: &GitHub, env: &str, app: &str) -> Result<BTreeSet<u64>, Failure> {
    let filter = DeploymentFilter {
        task: Some("deploy".into()),
        ..Default::default()
    };
    let prefix = format!("{env}/pr-");
    let deployments = gh.list_deployments(&filter, 1000).await.map_err(internal)?;
    let mut prs = BTreeSet::new();
    for d in deployments {
        let Some(pr) = d
            .environment
            .strip_prefix(prefix.as_str())
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        if d.payload["app"].as_str() != Some(app) || prs.contains(&pr) {
            continue;
        }
        let statuses = gh
            .list_deployment_statuses(d.id.into_inner())
            .await
            .map_err(internal)?;
        let state = statuses.first().map(|s| records::state_name(&s.state));
        if state.as_deref() != Some("inactive") {
            prs.insert(pr);
        }
    }
    Ok(prs)
}

/// Tear one preview down (marker checked by the provider), records inactive, comment edited.
async fn tear_down(
    ctx: &Ctx,
    gh: &GitHub,
    repo: &str,
    env: &str,
    c: &Candidate,
    reason: &str,
) -> Result<(bool, String), Failure> {
    let target = c.target.for_pull_request(c.pr);
    let provider = providers::for_target(&target, &ctx.provider_deps()).map_err(Failure::from)?;
    let previews = provider
        .previews()
        .ok_or_else(|| Failure::input("this provider runs no previews"))?;
    let marker = Marker {
        repository: repo.to_string(),
        pr: c.pr,
    };
    let req = crate::providers::preview::PreviewRequest {
        target: target.clone(),
        pr: c.pr,
        sha: String::new(),
        image: None,
        marker,
        deadline: Instant::now() + target.timeout,
    };
    let what = match previews.down(&req).await {
        Ok(PreviewDown::Removed(w)) => w,
        Ok(PreviewDown::NothingToRemove(w)) => {
            return Ok((false, format!("nothing to remove: {w}")))
        }
        Err(e @ ProviderError::Refused(_)) => return Err(e.into()),
        Err(e) => return Err(e.into()),
    };
    let environment = environment_of(env, c.pr);
    let why = format!("preview removed by sweep: {reason}");
    if let Err(e) = inactivate(gh, &environment, &target.app, &why).await {
        ctx.console.warn(format!(
            "deployments of {environment} not marked inactive: {e}"
        ));
    }
    let app = target.app.clone();
    super::write_comment(ctx, gh, c.pr, env, false, |state| {
        state.removed = Some(format!("The preview was torn down by a sweep: {reason}."));
        let sha = state
            .rows
            .iter()
            .find(|r| r.app == app)
            .map(|r| r.sha.clone())
            .unwrap_or_default();
        state.put(comment::Row {
            app: app.clone(),
            url: None,
            sha,
            state: "removed".into(),
            detail: what.clone(),
            at: now(),
        });
    })
    .await;
    Ok((true, what))
}
