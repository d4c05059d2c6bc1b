//! What may reach production: a push to the integration branch with nothing in between, a
//! pull request, a manual or chained run from any branch.

use super::Ctx;
use crate::check::workflow::condition::Run;
use crate::check::workflow::deploys::{Deploy, Kind};
use crate::check::workflow::environment::Env;
use crate::check::workflow::MainPushDeploy;
use crate::report::{Diagnostic, Severity};

/// What stands between a push and this production deploy, if anything.
fn gate(ctx: &Ctx, d: &Deploy) -> Option<String> {
    let job = ctx.job(&d.job)?;
    if let Some(env) = &job.environment {
        return Some(format!(
            "the job's `environment: {env}` (its protection rules)"
        ));
    }
    if d.promote || d.kind == Kind::StageGate {
        return Some("stage-gate's promotion gate".into());
    }
    let staging_before = ctx
        .found
        .deploys
        .iter()
        .find(|s| s.env.env == Env::Staging && ctx.needed_by(&d.job).contains(&s.job.as_str()));
    staging_before.map(|s| format!("`needs:` on the staging job `{}`", s.job))
}

pub fn check(ctx: &Ctx, main_push: &mut Vec<MainPushDeploy>, out: &mut Vec<Diagnostic>) {
    let t = &ctx.triggers;
    // One finding per rule and job: a job that deploys production three times is one hazard.
    let mut said: Vec<(&str, String)> = Vec::new();
    let mut first = |rule: &'static str, job: &str| {
        let new = !said.iter().any(|(r, j)| *r == rule && j == job);
        if new {
            said.push((rule, job.to_string()));
        }
        new
    };
    for d in ctx.found.deploys.iter() {
        let integration = t
            .integration_branches()
            .into_iter()
            .find(|b| ctx.may_run(d, &Run::push_branch(b)))
            .map(str::to_string);
        let gated = gate(ctx, d);
        if integration.is_some() && (d.env.env == Env::Staging || gated.is_none()) {
            main_push.push(MainPushDeploy {
                production: d.env.env == Env::Production,
                job: d.job.clone(),
                location: d.location.clone(),
            });
        }
        if d.env.env != Env::Production || gated.is_some() {
            continue;
        }
        if let Some(branch) = integration.as_ref().filter(|_| first("ungated", &d.job)) {
            let branch = if branch == crate::check::workflow::condition::ANY_BRANCH {
                "any branch".to_string()
            } else {
                format!("`{branch}`")
            };
            let required = ctx.policy.production_requires.as_deref();
            let severity = if required.is_some() {
                Severity::Error
            } else {
                Severity::Warning
            };
            let why = match required {
                Some(r) => format!(", and the stage-gate config says production `requires: {r}`"),
                None => String::new(),
            };
            out.push(
                Diagnostic::new(
                    severity,
                    "workflow/ungated-production",
                    format!(
                        "job `{}` deploys {} with {} on every push to {branch}: no `environment:`, no tag or release-branch filter, no `needs:` on a staging deploy, no stage-gate promotion{why}",
                        d.job,
                        d.env.describe(),
                        d.what,
                    ),
                    d.location.clone(),
                )
                .with_help("deploy production from a tag (`on: push: tags`), behind `environment: production` with required reviewers, or with `stage-gate promote` after staging; a single-branch flow that wants this can say so with `environment: production`"),
            );
        }
        if t.pull_request && ctx.may_run(d, &Run::pull_request()) && first("pr", &d.job) {
            out.push(
                Diagnostic::error(
                    "workflow/pr-production",
                    format!(
                        "job `{}` deploys {} on `pull_request`: a branch nobody has reviewed goes live (and a fork's pull request, which gets no secrets, fails)",
                        d.job,
                        d.env.describe()
                    ),
                    d.location.clone(),
                )
                .with_help("keep production deploys to pushes: add `if: github.event_name == 'push'` to the job, or deploy pull requests to a preview app"),
            );
        }
        let dispatch = t.dispatch && ctx.may_run(d, &Run::from_any_branch("workflow_dispatch"));
        let chained = t
            .workflow_run
            .as_ref()
            .is_some_and(|f| f.admits_any_branch())
            && ctx.may_run(d, &Run::from_any_branch("workflow_run"));
        if (dispatch || chained) && first("dispatch", &d.job) {
            let how = match (dispatch, chained) {
                (true, true) => "`workflow_dispatch` and `workflow_run`",
                (true, false) => "`workflow_dispatch`",
                _ => "`workflow_run` (with no `branches:` filter)",
            };
            out.push(
                Diagnostic::warning(
                    "workflow/dispatch-any-branch",
                    format!(
                        "job `{}` deploys {} when started by {how} from any branch: an unmerged branch can go live",
                        d.job,
                        d.env.describe()
                    ),
                    d.location.clone(),
                )
                .with_help(if chained && !dispatch {
                    "add `branches: [main]` under `workflow_run:`, or `if: github.event.workflow_run.head_branch == 'main'` on the job"
                } else {
                    "add `if: github.ref == 'refs/heads/main'` to the job, or `environment: production` with a deployment-branch rule"
                }),
            );
        }
    }
}
