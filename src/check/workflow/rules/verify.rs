//! A deploy that returns before the new version runs must be followed by something that
//! looks; an HTTP call that triggers one must fail when the server says no.

use super::Ctx;
use crate::check::workflow::deploys::Kind;
use crate::check::workflow::model::{StepKind, StepRef};
use crate::check::workflow::shell;
use crate::report::Diagnostic;

pub fn check(ctx: &Ctx, out: &mut Vec<Diagnostic>) {
    for d in &ctx.found.deploys {
        if d.unchecked_http && matches!(d.kind, Kind::Coolify | Kind::Webhook) {
            out.push(
                Diagnostic::warning(
                    "workflow/curl-no-fail",
                    format!("{} with `curl` and no `--fail`: a 401 or a 500 from the server still exits 0, and the job reports a deploy that never started", d.what),
                    d.location.clone(),
                )
                .with_help("add `--fail-with-body` (or `-f`), or test the status written with `-w '%{http_code}'`"),
            );
        }
        if !d.fire_and_forget || verified_after(ctx, &d.job, d.step) {
            continue;
        }
        let how = if d.kind == Kind::Fly {
            "`--detach` returns before the machines are healthy"
        } else {
            "the server deploys after it answers"
        };
        out.push(
            Diagnostic::warning(
                "workflow/deploy-unverified",
                format!("{} in job `{}` is fire-and-forget ({how}) and nothing after it checks the app: a deploy that fails still passes", d.what, d.job),
                d.location.clone(),
            )
            .with_help("add a step that waits for the new version, e.g. `curl --fail --retry 10 --retry-all-errors https://<app>/health`, or deploy with stage-gate, whose health gate probes until healthy"),
        );
    }
}

/// A later step of the job, or a step of a job that needs it, that probes the app.
fn verified_after(ctx: &Ctx, job_id: &str, step: usize) -> bool {
    let later_jobs: Vec<&str> = ctx
        .jobs
        .iter()
        .filter(|j| ctx.needed_by(j.id).contains(&job_id))
        .map(|j| j.id)
        .collect();
    for job in ctx
        .jobs
        .iter()
        .filter(|j| j.id == job_id || later_jobs.contains(&j.id))
    {
        for s in &job.steps {
            if job.id == job_id && s.index <= step {
                continue;
            }
            if probes(s) {
                return true;
            }
        }
    }
    false
}

/// Whether a step checks a running app: an HTTP request, `flyctl status|checks`, a wait,
/// stage-gate's health command, or a health-check action.
fn probes(s: &StepRef) -> bool {
    match &s.kind {
        StepKind::Run { script, .. } => shell::commands(script).iter().any(|c| {
            let args: Vec<&str> = c.args().iter().map(|w| w.text.as_str()).collect();
            match c.program() {
                Some((_, "curl" | "wget" | "http" | "httpie" | "wait-on")) => {
                    !args.iter().any(|a| {
                        crate::check::workflow::deploys::is_coolify_deploy(&a.to_ascii_lowercase())
                    })
                }
                Some((_, "flyctl" | "fly")) => {
                    args.iter().any(|a| matches!(*a, "status" | "checks"))
                }
                Some((_, "stage-gate")) => args.first() == Some(&"health"),
                Some((_, "npx")) => args.first().is_some_and(|a| a.starts_with("wait-on")),
                _ => false,
            }
        }),
        StepKind::Uses { uses, with } => {
            let slug = uses.split('@').next().unwrap_or("").to_ascii_lowercase();
            let stage_gate_health = slug.ends_with("/stage-gate")
                && with.iter().any(|(k, v)| {
                    k == "command" && matches!(v.trim(), "health" | "deploy" | "promote")
                });
            stage_gate_health
                || slug.contains("health")
                || slug.contains("wait-for")
                || slug.contains("smoke")
        }
    }
}
