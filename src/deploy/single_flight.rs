//! Single-flight and the Deployment record: one deploy of an app to an environment at a
//! time (an unfinished record of a run that ended is abandoned, not waited on), then the
//! record found (a re-run) or created, queued.

use super::records::{self, GateOverride, Payload, StatusUpdate};
use super::{short, Request, STATUS_BUDGET};
use crate::config::{EnvironmentPolicy, Target};
use crate::context::Ctx;
use crate::exit::{Exit, Failure};
use crate::github::{DeploymentStatusState, GitHub};

/// Running out of the target's time is the deploy failing (exit 4), not stage-gate.
fn net(e: crate::github::GithubError) -> Failure {
    let exit = if e.is_deadline() {
        Exit::DeployFailed
    } else {
        Exit::Internal
    };
    Failure::new(exit, e)
}

/// Single-flight, then find (re-run) or create the deployment and mark it queued. Answers
/// the deployment's id and whether it is a re-run's.
pub(super) async fn open_record(
    ctx: &Ctx,
    req: &Request,
    policy: &EnvironmentPolicy,
    target: &Target,
    gh: &GitHub,
    provider: &str,
    gate_override: Option<GateOverride>,
) -> Result<(u64, bool), Failure> {
    let entries = single_flight(ctx, req, policy, target, gh).await?;
    let run = ctx.github.run_id.as_deref();
    if let Some(mine) = records::own(&entries, run, &req.sha) {
        let id = mine.deployment.id.into_inner();
        ctx.console.info(format!("re-run: reusing deployment {id}"));
        return Ok((id, true));
    }
    let previous = entries
        .iter()
        .find(|e| e.state.as_deref() == Some("success"))
        .map(|e| e.deployment.id.into_inner());
    let payload = Payload {
        app: target.app.clone(),
        version: req.version.clone(),
        sha: req.sha.clone(),
        image: req.image.clone(),
        provider: provider.to_string(),
        provider_ids: vec![],
        previous_deployment: previous,
        rollback_point: None,
        run_id: run.map(str::to_string),
        gate_override,
    };
    let id = create_once(ctx, req, policy, target, gh, &payload).await?;
    queue(ctx, gh, id).await?;
    Ok((id, false))
}

/// The app's records in the environment once no other run deploys it: an unfinished record
/// of a run that has ended (killed, no chance to clean up) is abandoned, marked so, and no
/// reason to wait; only a run still going blocks (exit 3).
async fn single_flight(
    ctx: &Ctx,
    req: &Request,
    policy: &EnvironmentPolicy,
    target: &Target,
    gh: &GitHub,
) -> Result<Vec<records::Entry>, Failure> {
    let mut entries = records::history(gh, &req.env, &target.app)
        .await
        .map_err(net)?;
    let run = ctx.github.run_id.as_deref();
    let now = chrono::Utc::now();
    while let Some(busy) = records::in_flight(&entries, run, &req.sha, policy.stale_after, now) {
        let id = busy.deployment.id.into_inner();
        let Some(why) = abandonment(ctx, gh, busy).await else {
            let by = busy
                .payload
                .run_id
                .as_deref()
                .map(|r| format!(" by run {r}, which is still going"))
                .unwrap_or_default();
            return Err(Failure::gate(format!(
                "deployment {id} of {} ({}) to `{}` is still {}{by} (updated {}); refusing to deploy concurrently. It counts as stale after {}",
                target.app,
                short(&busy.payload.sha),
                req.env,
                busy.state.as_deref().unwrap_or("pending"),
                busy.updated_at.to_rfc3339(),
                humantime::format_duration(policy.stale_after)
            )));
        };
        ctx.console.warn(format!(
            "deployment {id} of {} is {why}: marking it error and going on",
            target.app
        ));
        let update = StatusUpdate {
            state: DeploymentStatusState::Error,
            description: why,
            log_url: None,
            environment_url: None,
        };
        records::set_status(&gh.for_cleanup(STATUS_BUDGET), id, update)
            .await
            .map_err(net)?;
        entries.retain(|e| e.deployment.id.into_inner() != id);
    }
    Ok(entries)
}

/// Create the record once: when the answer is lost (maybe after GitHub created it), look it
/// up and adopt it, so no orphan blocks the next run; create again only when none exists.
async fn create_once(
    ctx: &Ctx,
    req: &Request,
    policy: &EnvironmentPolicy,
    target: &Target,
    gh: &GitHub,
    payload: &Payload,
) -> Result<u64, Failure> {
    let description = format!(
        "stage-gate: {} {}",
        target.app,
        req.version.as_deref().unwrap_or(short(&req.sha))
    );
    // GitHub's clock and ours may differ a little.
    let since = chrono::Utc::now() - chrono::Duration::seconds(30);
    let created = records::create(
        gh,
        &req.env,
        policy.production,
        payload,
        description.clone(),
    )
    .await;
    let e = match created {
        Ok(d) => return Ok(d.id.into_inner()),
        Err(e) if e.is_ambiguous() => e,
        Err(e) => return Err(net(e)),
    };
    let entries = records::history(gh, &req.env, &target.app)
        .await
        .map_err(net)?;
    if let Some(found) = records::made_by(&entries, payload, since) {
        let id = found.deployment.id.into_inner();
        ctx.console.warn(format!(
            "creating the deployment record failed ({e}), but GitHub created it: adopting deployment {id}"
        ));
        return Ok(id);
    }
    ctx.console.warn(format!(
        "creating the deployment record failed ({e}) and none was created; creating it once more"
    ));
    records::create(gh, &req.env, policy.production, payload, description)
        .await
        .map(|d| d.id.into_inner())
        .map_err(net)
}

/// Mark the record queued; never leave one without a status behind (it would block others
/// as "pending").
async fn queue(ctx: &Ctx, gh: &GitHub, id: u64) -> Result<(), Failure> {
    let log_url = ctx.github.run_url();
    let status = |state, description| StatusUpdate {
        state,
        description,
        log_url: log_url.as_deref(),
        environment_url: None,
    };
    let queued = status(DeploymentStatusState::Queued, "queued by stage-gate".into());
    let Err(e) = records::set_status(gh, id, queued).await else {
        return Ok(());
    };
    let why = format!("stage-gate could not start: {e}");
    let _ = records::set_status(gh, id, status(DeploymentStatusState::Error, why)).await;
    Err(net(e))
}

/// Why an unfinished record no longer counts, if it does not: the run that made it ended
/// (or GitHub no longer knows it). None while that run goes on, or when it cannot be looked
/// up (the token lacks `actions: read`): then only the staleness timeout frees it.
async fn abandonment(ctx: &Ctx, gh: &GitHub, busy: &records::Entry) -> Option<String> {
    let run = busy.payload.run_id.as_deref()?;
    match gh.workflow_run(run).await {
        Ok(Some(r)) if r.is_completed() => Some(format!(
            "abandoned by run {run}, which ended ({})",
            r.conclusion.as_deref().unwrap_or("no conclusion")
        )),
        Ok(Some(_)) => None,
        Ok(None) => Some(format!(
            "abandoned by run {run}, which GitHub no longer knows"
        )),
        Err(e) => {
            ctx.console.warn(format!(
                "could not look up run {run}, which made deployment {} ({e}); it blocks until \
                 stale (give the token `actions: read` to have ended runs recognised)",
                busy.deployment.id.into_inner()
            ));
            None
        }
    }
}
