//! `--dry-run`: every call a deploy would make, in order, and which artifact it would ship.

use super::admit::Admitted;
use super::stages::StageState;
use super::{promotion, Request, TargetResult};
use crate::config::{NotifyOn, NotifyTarget, Target};
use crate::context::Ctx;
use crate::promote::gate;
use crate::providers::DeployRequest;
use std::time::Instant;

/// Print what the deploy of `admitted` would do; nothing is called.
pub(super) fn print(ctx: &Ctx, req: &Request, admitted: Admitted, records: bool) -> TargetResult {
    let deploy = DeployRequest {
        target: admitted.target.clone(),
        sha: req.sha.clone(),
        version: req.version.clone(),
        image: admitted.image.clone(),
        deadline: Instant::now() + admitted.target.timeout,
        labels: Vec::new(),
        min_secrets_version: None,
    };
    let mut lines = Vec::new();
    if let Some(p) = &admitted.proof {
        let required = req
            .required(&ctx.config.policy(&req.env))
            .unwrap_or_default();
        lines.push(artifact_line(
            &req.env,
            &required,
            admitted.image.as_deref(),
            p,
        ));
    }
    lines.extend(dry_run_lines(
        ctx,
        req,
        &admitted.target,
        records,
        admitted.provider.planned_calls(&deploy),
    ));
    for line in lines {
        ctx.console.info(format!("[dry-run] {line}"));
    }
    let mut stages = admitted.stages;
    stages.push(
        "deploy",
        StageState::Skipped,
        Instant::now(),
        "dry run: nothing called".into(),
    );
    TargetResult::passed(admitted.target.app.clone(), stages)
}

/// "artifact: production gets X, which staging ran in deployment 12 (run 41, 2026-…)".
fn artifact_line(env: &str, required: &str, image: Option<&str>, proof: &gate::Record) -> String {
    let run = proof
        .run_id
        .as_deref()
        .map(|r| format!("run {r}, "))
        .unwrap_or_default();
    let when = proof.succeeded_at.unwrap_or(proof.created_at);
    format!(
        "artifact: `{env}` gets {}, which `{required}` ran in deployment {} ({run}proven since {})",
        image.unwrap_or("the commit (no image recorded)"),
        proof.id,
        when.format("%Y-%m-%d %H:%M UTC")
    )
}

fn dry_run_lines(
    ctx: &Ctx,
    req: &Request,
    target: &Target,
    records: bool,
    provider_calls: Vec<String>,
) -> Vec<String> {
    let mut lines = Vec::new();
    let repo = ctx
        .github
        .repository
        .clone()
        .unwrap_or_else(|| "OWNER/REPO".into());
    if records {
        lines.push(format!(
            "GET {}/repos/{repo}/deployments?environment={}&task=deploy (single-flight)",
            ctx.github.api_url, req.env
        ));
        lines.push(format!(
            "GET {}/repos/{repo}/actions/runs/{{run_id}} (only for an unfinished deployment: has the run that made it ended?)",
            ctx.github.api_url
        ));
        lines.push(format!(
            "POST {}/repos/{repo}/deployments {{ref: {}, environment: {}, payload.app: {}}}",
            ctx.github.api_url, req.sha, req.env, target.app
        ));
        lines.push("POST …/deployments/{id}/statuses queued, in_progress".into());
    }
    lines.extend(provider_calls);
    for p in &target.health.probes {
        lines.push(format!(
            "{} {} (health probe, until healthy for {})",
            p.method,
            p.url,
            humantime::format_duration(target.health.soak)
        ));
    }
    if records {
        lines.push("POST …/deployments/{id}/statuses success | failure".into());
    }
    let promoting = promotion(ctx, req);
    for success in [true, false] {
        let on = NotifyOn::outcome(promoting, success);
        for n in crate::notify::firing(ctx, on, &req.env) {
            let to = match &n.target {
                NotifyTarget::Webhook { url, .. } => format!("POST {url}"),
                NotifyTarget::Dispatch { workflow, .. } => {
                    format!("POST …/actions/workflows/{workflow}/dispatches")
                }
            };
            lines.push(format!(
                "{to} (notification on {}: event `{}`)",
                on.name(),
                crate::notify::event_name(&req.env)
            ));
        }
    }
    lines
}
