//! `deploy` and `promote`: one environment end to end, for each app of the plan.
//!
//! - `admit.rs` — the tag gate, refs, prerelease, `requires:` (and the artifact it proves),
//!   the provider's inputs: every app admitted before any is recorded or deployed
//! - `single_flight.rs` — one deploy per app and environment at a time; the record
//! - `target.rs` — record → deploy → verify (health, rollback) → retire → notify
//! - `dry_run.rs` — the calls a deploy would make
//! - `records.rs` — GitHub Deployments as the record of what ran where
//!
//! Nothing half-done: a closed gate stops before anything is recorded or deployed; a
//! deploy or health failure is recorded as such (with what was rolled back) and exits 4.

mod admit;
mod dry_run;
pub mod records;
mod refs;
pub mod result;
pub mod rollback;
mod single_flight;
pub mod stages;
mod target;

use crate::context::Ctx;
use crate::exit::Failure;
use crate::github::GitHub;
use crate::plan::Plan;
use crate::providers::DeployOutcome;
use stages::{StageState, Stages};
use std::time::{Duration, Instant};

/// What writing one Deployment status may take, whatever time the deploy had left.
const STATUS_BUDGET: Duration = Duration::from_secs(30);

/// What to deploy where, resolved from flags, inputs and the GitHub context.
#[derive(Debug, Clone)]
pub struct Request {
    pub env: String,
    pub app: Option<String>,
    pub sha: String,
    pub version: Option<String>,
    pub image: Option<String>,
    pub skip_health: bool,
    /// `--override-gate --reason`: open a closed gate when the config allows it.
    pub override_reason: Option<String>,
    /// The environment that must have proven the commit; defaults to the policy's `requires`.
    pub requires: Option<String>,
    /// Evaluate the gate and stop (`promote --gate-only`).
    pub gate_only: bool,
}

impl Request {
    /// The environment that must have proven the commit: `--from`, else the policy's
    /// `requires:`. A deploy with one is a promotion.
    pub fn required(&self, policy: &crate::config::EnvironmentPolicy) -> Option<String> {
        self.requires.clone().or_else(|| policy.requires.clone())
    }
}

/// What happened to one app.
#[derive(Debug)]
pub struct TargetResult {
    pub app: String,
    pub stages: Stages,
    pub deployment_id: Option<u64>,
    pub outcome: Option<DeployOutcome>,
    pub health: Option<crate::health::GateReport>,
    pub failure: Option<Failure>,
    /// After a failure: `restored`, `not-restored`, or None when nothing was rolled back.
    pub rollback: Option<&'static str>,
    /// A promotion: the environment that proved the commit, and the artifact it ran.
    pub proven: Option<(String, String)>,
}

/// Run the plan's targets: every one admitted first, then each deployed in the plan's order.
pub async fn run_all(ctx: &Ctx, req: &Request, plan: &Plan) -> Vec<TargetResult> {
    let policy = ctx.config.policy(&req.env);
    let gh = GitHub::from_ctx(ctx).ok();

    // 0. On a tag ref, the tag gate, once, before anything else.
    let started = Instant::now();
    if let Err(f) = admit::tag_gate(ctx, req).await {
        let mut stages = Stages::default();
        stages.push("tag gate", StageState::Failed, started, f.to_string());
        let who = req.app.clone().unwrap_or_else(|| "release".into());
        return vec![TargetResult::failed(who, stages, f)];
    }

    // 1. Every target's gate and inputs, before any record or deploy: a release is all or
    //    nothing, so one closed gate deploys no app (`--app` narrows the release).
    let mut ready = Vec::new();
    let mut refused = Vec::new();
    for planned in &plan.targets {
        let Some(target) = ctx
            .config
            .apps
            .get(&planned.app)
            .and_then(|a| a.environments.get(&req.env))
        else {
            let f = Failure::input(format!(
                "app `{}` has no `{}` environment in the config",
                planned.app, req.env
            ));
            refused.push(TargetResult::failed(
                planned.app.clone(),
                Stages::default(),
                f,
            ));
            continue;
        };
        match admit::admit(ctx, req, &policy, target, gh.as_ref()).await {
            Ok(p) => ready.push(p),
            Err(r) => refused.push(r),
        }
    }
    if !refused.is_empty() {
        return all_or_nothing(req, ready, refused);
    }
    let mut results = Vec::new();
    let required = req.required(&policy);
    for p in ready {
        let proven = p
            .proof
            .as_ref()
            .and_then(|r| r.proven_artifact())
            .zip(required.clone())
            .map(|(a, env)| (env, a.to_string()));
        let mut result = target::run(ctx, req, &policy, p, gh.as_ref()).await;
        result.proven = proven;
        results.push(result);
    }
    results
}

/// One target refused: every ready one is skipped too, said why (a release is all or
/// nothing), and the refused ones follow.
fn all_or_nothing(
    req: &Request,
    ready: Vec<admit::Admitted>,
    refused: Vec<TargetResult>,
) -> Vec<TargetResult> {
    let names: Vec<String> = refused.iter().map(|r| format!("`{}`", r.app)).collect();
    let mut results: Vec<TargetResult> = ready
        .into_iter()
        .map(|mut p| {
            let why = format!(
                "not deployed: {} cannot go to `{}` (see above), and a release is all or \
                 nothing; deploy this app alone with --app {}",
                names.join(", "),
                req.env,
                p.target.app
            );
            p.stages
                .push("deploy", StageState::Skipped, Instant::now(), why.clone());
            TargetResult::failed(p.target.app.clone(), p.stages, Failure::gate(why))
        })
        .collect();
    results.extend(refused);
    results
}

impl TargetResult {
    fn failed(app: String, stages: Stages, failure: Failure) -> Self {
        TargetResult {
            app,
            stages,
            deployment_id: None,
            outcome: None,
            health: None,
            failure: Some(failure),
            rollback: None,
            proven: None,
        }
    }

    fn passed(app: String, stages: Stages) -> Self {
        TargetResult {
            app,
            stages,
            deployment_id: None,
            outcome: None,
            health: None,
            failure: None,
            rollback: None,
            proven: None,
        }
    }
}

/// A promotion: `promote`, or a deploy to an environment that requires another.
fn promotion(ctx: &Ctx, req: &Request) -> bool {
    req.required(&ctx.config.policy(&req.env)).is_some()
}

fn short(sha: &str) -> &str {
    crate::git::abbrev(sha, 7)
}

/// The time budget left before `deadline`, never negative.
pub fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}
