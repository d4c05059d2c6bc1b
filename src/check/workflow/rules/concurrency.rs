//! Two deploys at once finish out of order; a cancelled one stops half-way.

use super::Ctx;
use crate::check::workflow::environment::Env;
use crate::check::workflow::model::JobRef;
use crate::report::Diagnostic;

pub fn check(ctx: &Ctx, out: &mut Vec<Diagnostic>) {
    let workflow_level = ctx.src.workflow.concurrency.as_ref();
    let mut jobs: Vec<&str> = ctx.found.deploys.iter().map(|d| d.job.as_str()).collect();
    jobs.dedup();
    let mut cancel_reported_at_workflow = false;
    for id in jobs {
        let Some(job) = ctx.job(id) else { continue };
        // A reusable workflow's jobs take the caller's concurrency: judged at the caller.
        if ctx.triggers.only_called() {
            continue;
        }
        // The model keeps no `concurrency:` for a job that calls a reusable workflow.
        let own = job.concurrency.is_some() || ctx.src.has(&["jobs", id, "concurrency"]);
        let deploy = ctx.found.deploys.iter().find(|d| d.job == id);
        let what = deploy.map(|d| d.what.clone()).unwrap_or_default();
        if !own && workflow_level.is_none() {
            // One group per environment: the job's own `environment:`, else the one decided.
            let env = job
                .environment
                .clone()
                .filter(|e| !e.contains("${{"))
                .unwrap_or_else(|| match deploy.map(|d| d.env.env) {
                    Some(Env::Staging) => "staging".into(),
                    _ => "production".into(),
                });
            out.push(
                Diagnostic::warning(
                    "workflow/deploy-concurrency",
                    format!("deploy job `{id}` has no `concurrency:` group: two runs can deploy at once and the older one can finish last"),
                    ctx.src.key(&["jobs", id]),
                )
                .with_help(format!("add `concurrency: {{ group: deploy-{env}, cancel-in-progress: false }}` to the job (one group per environment)")),
            );
        }
        if job.concurrency.is_some_and(JobRef::cancels) {
            out.push(cancel(
                ctx,
                &["jobs", id, "concurrency", "cancel-in-progress"],
                &format!("job `{id}`"),
                &what,
            ));
        }
        if !cancel_reported_at_workflow && workflow_level.is_some_and(JobRef::cancels) {
            cancel_reported_at_workflow = true;
            out.push(cancel(
                ctx,
                &["concurrency", "cancel-in-progress"],
                "the workflow",
                &what,
            ));
        }
    }
}

fn cancel(ctx: &Ctx, path: &[&str], scope: &str, what: &str) -> Diagnostic {
    Diagnostic::warning(
        "workflow/cancel-in-progress",
        format!("`cancel-in-progress: true` on {scope} cancels a running deploy ({what}) when a newer run starts: machines are left half-updated, a migration half-run"),
        ctx.src.value(path),
    )
    .with_help("set `cancel-in-progress: false`: the newer run waits for the running deploy and then deploys after it (a pending run is still replaced by a newer one)")
}
