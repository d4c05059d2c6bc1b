//! `deploy`: one environment end to end, for each app of the plan:
//!
//! gate (refs, prerelease, `requires:`) → single-flight → GitHub Deployment record →
//! provider deploy → health gate (→ rollback) → result recorded → notifications.
//!
//! Nothing half-done: a closed gate stops before anything is recorded or deployed; a
//! deploy or health failure is recorded as such (with what was rolled back) and exits 4.

pub mod records;
mod refs;
mod stages;

use crate::config::{EnvironmentPolicy, PrereleasePolicy, Target};
use crate::context::Ctx;
use crate::exit::{Exit, Failure};
use crate::github::{DeploymentStatusState, GitHub};
use crate::promote::gate::{self, Candidate};
use crate::providers::{self, DeployOutcome, DeployRequest, ProviderError, RollbackRequest};
use records::{GateOverride, Payload, StatusUpdate};
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

pub async fn run_all(ctx: &Ctx, req: &Request) -> Vec<TargetResult> {
    let plan = match crate::plan::build(&ctx.config, &req.env, req.app.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            return vec![TargetResult::failed(
                req.app.clone().unwrap_or_default(),
                Stages::default(),
                Failure::input(e),
            )]
        }
    };
    let policy = ctx.config.policy(&req.env);
    let gh = GitHub::from_ctx(ctx).ok();

    // 0. On a tag ref, the tag gate, once, before anything else.
    let started = Instant::now();
    if let Err(f) = tag_gate(ctx, req).await {
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
        match prepare(ctx, req, &policy, target, gh.as_ref()).await {
            Ok(p) => ready.push(p),
            Err(r) => refused.push(r),
        }
    }
    if !refused.is_empty() {
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
        return results;
    }
    let mut results = Vec::new();
    let required = req.requires.clone().or_else(|| policy.requires.clone());
    for p in ready {
        let proven = p
            .proof
            .as_ref()
            .and_then(|r| r.proven_artifact())
            .zip(required.clone())
            .map(|(a, env)| (env, a.to_string()));
        let mut result = run_target(ctx, req, &policy, p, gh.as_ref()).await;
        result.proven = proven;
        results.push(result);
    }
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

/// One target past its gate, with everything its deploy needs checked.
struct Prepared {
    target: Target,
    provider: Box<dyn providers::Provider>,
    gate_override: Option<GateOverride>,
    /// The record that proved the candidate (a promotion), and so what production gets.
    proof: Option<gate::Record>,
    /// What the deploy ships: the request's image, or the proven artifact.
    image: Option<String>,
    /// Built anew on promotion (`allow-rebuild: true`, no artifact recorded).
    rebuild: bool,
    stages: Stages,
}

/// The gate, the artifact a promotion carries over, and the provider's inputs (credentials,
/// settings): all that can refuse a deploy, checked before anything is recorded.
async fn prepare(
    ctx: &Ctx,
    req: &Request,
    policy: &EnvironmentPolicy,
    target: &Target,
    gh: Option<&GitHub>,
) -> Result<Prepared, TargetResult> {
    let mut stages = Stages::default();
    let app = target.app.clone();
    let bounded = gh.map(|g| g.until(Instant::now() + target.timeout));
    let gh = bounded.as_ref();
    let started = Instant::now();
    let provider = match providers::for_target(target, ctx) {
        Ok(p) => p,
        Err(e) => return Err(TargetResult::failed(app, stages, e.into())),
    };
    let passed = check_gate(ctx, req, policy, target, gh).await;
    let passed = match passed {
        Ok(p) => p,
        Err(f) => {
            stages.push("gate", StageState::Failed, started, f.to_string());
            return Err(TargetResult::failed(app, stages, f));
        }
    };
    let promotion = req.requires.is_some() || policy.requires.is_some();
    let proven = passed.proof.as_ref().and_then(|p| p.proven_artifact());
    let mut rebuild = false;
    let image = match proven {
        // The proof's bytes, whatever the request named (the gate checked they agree).
        Some(a) => Some(a.to_string()),
        None if promotion && passed.proof.is_some() && provider.needs_artifact() => {
            let proof = passed.proof.as_ref().map(|p| p.id).unwrap_or_default();
            let required = req.requires.clone().or_else(|| policy.requires.clone());
            let required = required.unwrap_or_default();
            if !policy.allow_rebuild {
                let f = Failure::gate(format!(
                    "gate closed for {app} in `{}`: deployment {proof} to `{required}` records \
                     no artifact (it was made by an older stage-gate, or its provider could not \
                     tell what it ran), so `{}` would be a new build, not what `{required}` \
                     proved. Deploy the commit to `{required}` again with this stage-gate, pass \
                     the image `{required}` ran with --image, or set `allow-rebuild: true` under \
                     environments.{} to build anew on purpose",
                    req.env, req.env, req.env
                ));
                stages.push("gate", StageState::Failed, started, f.to_string());
                return Err(TargetResult::failed(app, stages, f));
            }
            ctx.console.warn(format!(
                "{app}: deployment {proof} to `{required}` records no artifact; building anew \
                 for `{}` because environments.{}.allow-rebuild is true",
                req.env, req.env
            ));
            rebuild = true;
            req.image.clone()
        }
        None => req.image.clone(),
    };
    let detail = match (&passed.gate_override, &passed.proof) {
        (Some(ov), _) => format!("overridden: {}", ov.reason),
        (None, Some(p)) => format!(
            "open: {} proven by deployment {}",
            image.as_deref().unwrap_or("the commit"),
            p.id
        ),
        (None, None) => "open".into(),
    };
    stages.push("gate", StageState::Done, started, detail);
    let probe = DeployRequest {
        target: target.clone(),
        sha: req.sha.clone(),
        version: req.version.clone(),
        image: image.clone(),
        deadline: Instant::now() + target.timeout,
    };
    if let Err(e) = provider.preflight(&probe) {
        let f: Failure = e.into();
        stages.push("inputs", StageState::Failed, Instant::now(), f.to_string());
        return Err(TargetResult::failed(app, stages, f));
    }
    Ok(Prepared {
        target: target.clone(),
        provider,
        gate_override: passed.gate_override,
        proof: passed.proof,
        image,
        rebuild,
        stages,
    })
}

/// On a tag ref, the release tag must pass the tag gate (`stage-gate tag`'s rules) before
/// anything is recorded or deployed: an older tag pushed after a newer release promotes
/// nothing.
async fn tag_gate(ctx: &Ctx, req: &Request) -> Result<(), Failure> {
    let Some(tag) = ctx.github.tag() else {
        return Ok(());
    };
    let pattern = ctx.config.tag_pattern(req.app.as_deref());
    let decided = crate::commands::tag::decide(
        ctx,
        req.app.clone(),
        &pattern,
        tag,
        Some(req.env.clone()),
        false,
    )
    .await?;
    for w in &decided.warnings {
        ctx.console.warn(w);
    }
    Ok(())
}

async fn run_target(
    ctx: &Ctx,
    req: &Request,
    policy: &EnvironmentPolicy,
    prepared: Prepared,
    gh: Option<&GitHub>,
) -> TargetResult {
    let Prepared {
        target,
        provider,
        gate_override,
        proof,
        image,
        rebuild,
        mut stages,
    } = prepared;
    let target = &target;
    let app = target.app.clone();
    let _group = ctx.console.group(format!("deploy {app} → {}", req.env));
    // The target's timeout bounds every call made for it from here: the record's GitHub
    // calls as much as the provider's. Outcome statuses get a budget of their own.
    let deadline = Instant::now() + target.timeout;
    let bounded = gh.map(|g| g.until(deadline));
    let gh = bounded.as_ref();
    if req.gate_only {
        return TargetResult::passed(app, stages);
    }
    let deploy_req = DeployRequest {
        target: target.clone(),
        sha: req.sha.clone(),
        version: req.version.clone(),
        image: image.clone(),
        deadline,
    };
    if rebuild {
        stages.push(
            "artifact",
            StageState::Done,
            Instant::now(),
            "built anew (allow-rebuild): no artifact was recorded where it was proven".into(),
        );
    }
    if ctx.dry_run {
        let mut lines = Vec::new();
        if let Some(p) = &proof {
            lines.push(artifact_line(&req.env, image.as_deref(), p, req));
        }
        lines.extend(dry_run_lines(
            ctx,
            req,
            target,
            gh.is_some(),
            provider.planned_calls(&deploy_req),
        ));
        for line in lines {
            ctx.console.info(format!("[dry-run] {line}"));
        }
        stages.push(
            "deploy",
            StageState::Skipped,
            Instant::now(),
            "dry run: nothing called".into(),
        );
        return TargetResult::passed(app, stages);
    }
    let req = &Request {
        image: image.clone(),
        ..req.clone()
    };

    // 2. Single-flight, 3. the record.
    let started = Instant::now();
    let record = match gh {
        Some(gh) => {
            match open_record(ctx, req, policy, target, gh, provider.kind(), gate_override).await {
                Ok(id) => Some(id),
                Err(f) => {
                    stages.push("record", StageState::Failed, started, f.to_string());
                    return TargetResult::failed(app, stages, f);
                }
            }
        }
        None => {
            ctx.console.info(
                "no GitHub token or repository: deploying without a GitHub Deployment record",
            );
            None
        }
    };
    stages.push(
        "record",
        if record.is_some() {
            StageState::Done
        } else {
            StageState::Skipped
        },
        started,
        record
            .map(|(id, _)| format!("deployment {id}"))
            .unwrap_or_else(|| "no GitHub record".into()),
    );
    let deployment_id = record.map(|(id, _)| id);
    let log_url = ctx.github.run_url();
    let status = |state, description: String| {
        let log_url = log_url.clone();
        let env_url = target.url.clone();
        async move {
            if let (Some(gh), Some(id)) = (gh, deployment_id) {
                let u = StatusUpdate {
                    state,
                    description,
                    log_url: log_url.as_deref(),
                    environment_url: env_url.as_deref(),
                };
                let gh = gh.for_cleanup(STATUS_BUDGET);
                if let Err(e) = records::set_status(&gh, id, u).await {
                    return Err(Failure::new(Exit::Internal, e));
                }
            }
            Ok(())
        }
    };

    // 4. The provider (not started once the runner has cancelled the step).
    let started = Instant::now();
    if !ctx.cancel.is_cancelled() {
        let in_progress = status(
            DeploymentStatusState::InProgress,
            format!("deploying {}", short(&req.sha)),
        );
        if let Err(f) = in_progress.await {
            return TargetResult::failed(app, stages, f);
        }
    }
    if ctx.cancel.is_cancelled() {
        let what = "before the deploy started: nothing was changed".to_string();
        return cancelled(ctx, gh, deployment_id, target, stages, None, what).await;
    }
    let outcome = match provider.deploy(&deploy_req).await {
        Ok(o) => {
            stages.push("deploy", StageState::Done, started, outcome_detail(&o));
            o
        }
        Err(ProviderError::Cancelled(what)) => {
            stages.push("deploy", StageState::Failed, started, what.clone());
            return cancelled(ctx, gh, deployment_id, target, stages, None, what).await;
        }
        Err(e) => {
            let state = if matches!(e, ProviderError::Failed { .. }) {
                DeploymentStatusState::Failure
            } else {
                DeploymentStatusState::Error
            };
            let rollback = e.restore_outcome();
            let description = failure_status(&e);
            let failure: Failure = e.into();
            stages.push("deploy", StageState::Failed, started, failure.to_string());
            if rollback == Some("not-restored") {
                ctx.console.error(format!(
                    "{app}: the restore after the failed deploy is INCOMPLETE: {failure}"
                ));
            }
            let _ = status(state, description).await;
            notify_failure(ctx, req, &app).await;
            return TargetResult {
                app,
                stages,
                deployment_id,
                outcome: None,
                health: None,
                failure: Some(failure),
                rollback,
                proven: None,
            };
        }
    };

    // 5. The health gate, and rollback when it fails.
    let mut health = None;
    if ctx.cancel.is_cancelled() {
        let what = "after the deploy, before the health gate: the new version runs, unverified";
        return cancelled(
            ctx,
            gh,
            deployment_id,
            target,
            stages,
            Some(outcome),
            what.into(),
        )
        .await;
    }
    if !req.skip_health && !target.health.probes.is_empty() {
        let started = Instant::now();
        let vars = crate::health::Vars {
            app: app.clone(),
            env: req.env.clone(),
            version: req.version.clone(),
            sha: Some(req.sha.clone()),
        };
        let gate = crate::health::gate(&target.health, &vars, ctx.into());
        let report = tokio::select! {
            r = gate => r.map_err(|e| Failure::new(Exit::InvalidInput, e)),
            _ = ctx.cancel.cancelled() => {
                stages.push("health", StageState::Failed, started, "cancelled".into());
                let what = "during the health gate: the new version runs, not proven healthy";
                return cancelled(ctx, gh, deployment_id, target, stages, Some(outcome), what.into()).await;
            }
        };
        match report {
            Ok(r) if r.passed() => {
                stages.push("health", StageState::Done, started, r.headline());
                health = Some(r);
            }
            Ok(r) => {
                stages.push("health", StageState::Failed, started, r.headline());
                let mut message = format!("health gate failed: {}", r.headline());
                // GitHub keeps 140 characters of a status: what was restored goes first.
                let mut short_status = "health gate failed".to_string();
                let mut rollback = None;
                if target.rollback_on_failure {
                    let started = Instant::now();
                    let rb = provider
                        .rollback(&RollbackRequest {
                            target: target.clone(),
                            point: outcome.rollback_point.clone(),
                            to: None,
                        })
                        .await;
                    match rb {
                        Ok(done) => {
                            stages.push(
                                "rollback",
                                StageState::Done,
                                started,
                                done.restored.clone(),
                            );
                            message.push_str(&format!("; rolled back: {}", done.restored));
                            short_status =
                                format!("rolled back: {}; health gate failed", done.restored);
                            rollback = Some("restored");
                        }
                        Err(e) => {
                            stages.push("rollback", StageState::Failed, started, e.to_string());
                            ctx.console.error(format!(
                                "{app}: rollback after the failed health gate FAILED: {e}"
                            ));
                            message.push_str(&format!("; rollback FAILED: {e}"));
                            short_status = format!("rollback FAILED: {e}; health gate failed");
                            rollback = Some("not-restored");
                        }
                    }
                }
                let _ = status(DeploymentStatusState::Failure, short_status).await;
                notify_failure(ctx, req, &app).await;
                return TargetResult {
                    app,
                    stages,
                    deployment_id,
                    outcome: Some(outcome),
                    health: Some(r),
                    failure: Some(Failure::deploy(message)),
                    rollback,
                    proven: None,
                };
            }
            Err(f) => {
                stages.push("health", StageState::Failed, started, f.to_string());
                let _ = status(
                    DeploymentStatusState::Error,
                    format!("health gate could not run: {f}"),
                )
                .await;
                return TargetResult {
                    app,
                    stages,
                    deployment_id,
                    outcome: Some(outcome),
                    health: None,
                    failure: Some(f),
                    rollback: None,
                    proven: None,
                };
            }
        }
    }

    // 6. Success recorded; older deployments of this app retired.
    let started = Instant::now();
    if let Err(f) = status(
        DeploymentStatusState::Success,
        records::success_description(
            req.version.as_deref().unwrap_or(short(&req.sha)),
            outcome.image.as_deref(),
        ),
    )
    .await
    {
        return TargetResult {
            app,
            stages,
            deployment_id,
            outcome: Some(outcome),
            health,
            failure: Some(f),
            rollback: None,
            proven: None,
        };
    }
    if let (Some(gh), Some(id)) = (gh, deployment_id) {
        let gh = gh.for_cleanup(STATUS_BUDGET);
        if let Ok(entries) = records::history(&gh, &req.env, &app).await {
            let _ = records::inactivate_older(&gh, &entries, id).await;
        }
    }
    stages.push("recorded", StageState::Done, started, "success".into());

    // 7. Notifications.
    let started = Instant::now();
    let sent =
        crate::notify::after_deploy(ctx, &req.env, &app, &req.sha, req.version.as_deref(), true)
            .await;
    match sent {
        Ok(n) if n > 0 => stages.push("notify", StageState::Done, started, format!("{n} sent")),
        Ok(_) => {}
        Err(f) => {
            stages.push("notify", StageState::Failed, started, f.to_string());
            return TargetResult {
                app,
                stages,
                deployment_id,
                outcome: Some(outcome),
                health,
                failure: Some(f),
                rollback: None,
                proven: None,
            };
        }
    }
    TargetResult {
        app,
        stages,
        deployment_id,
        outcome: Some(outcome),
        health,
        failure: None,
        rollback: None,
        proven: None,
    }
}

/// The runner cancelled the step: record why (status `error`, which no later run waits on),
/// give back what is still held, and end this target with the cancelled exit code.
async fn cancelled(
    ctx: &Ctx,
    gh: Option<&GitHub>,
    deployment_id: Option<u64>,
    target: &Target,
    mut stages: Stages,
    outcome: Option<DeployOutcome>,
    what: String,
) -> TargetResult {
    let signal = ctx.cancel.signal().unwrap_or_else(|| "a signal".into());
    let message = if what.starts_with("cancelled") {
        what
    } else {
        format!("cancelled by {signal} {what}")
    };
    ctx.console.warn(&message);
    stages.push(
        "cancelled",
        StageState::Failed,
        Instant::now(),
        message.clone(),
    );
    if let (Some(gh), Some(id)) = (gh, deployment_id) {
        let gh = gh.for_cleanup(STATUS_BUDGET);
        let log_url = ctx.github.run_url();
        let update = StatusUpdate {
            state: DeploymentStatusState::Error,
            description: message.clone(),
            log_url: log_url.as_deref(),
            environment_url: target.url.as_deref(),
        };
        if let Err(e) = records::set_status(&gh, id, update).await {
            ctx.console.error(format!(
                "could not record the cancel on deployment {id}: {e}; it counts as stale later"
            ));
        }
    }
    ctx.cancel.give_back_all(crate::cancel::GRACE).await;
    TargetResult {
        app: target.app.clone(),
        stages,
        deployment_id,
        outcome,
        health: None,
        failure: Some(Failure::new(Exit::Cancelled, anyhow::anyhow!("{message}"))),
        rollback: None,
        proven: None,
    }
}

/// The Deployment status of a failed deploy: what the restore left first (GitHub keeps 140
/// characters), then why the deploy failed.
fn failure_status(e: &ProviderError) -> String {
    match e {
        ProviderError::Cancelled(message) => message.clone(),
        ProviderError::Failed {
            message,
            rolled_back: Some(note),
            ..
        } => format!("{note}; deploy failed: {message}"),
        other => format!("deploy failed: {other}"),
    }
}

/// Tell the configured receivers a deploy failed. The deploy's own failure is what the run
/// reports, so a notification error here is only logged.
async fn notify_failure(ctx: &Ctx, req: &Request, app: &str) {
    let sent =
        crate::notify::after_deploy(ctx, &req.env, app, &req.sha, req.version.as_deref(), false);
    if let Err(e) = sent.await {
        ctx.console
            .warn(format!("failure notification not sent: {e}"));
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

fn outcome_detail(o: &DeployOutcome) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(image) = &o.image {
        parts.push(image.clone());
    }
    if !o.provider_ids.is_empty() {
        parts.push(o.provider_ids.join(", "));
    }
    parts.extend(o.details.iter().map(|(k, v)| format!("{k}: {v}")));
    parts.join("; ")
}

/// What an open gate says: whether it was overridden, and the record that proved the commit.
struct GatePassed {
    gate_override: Option<GateOverride>,
    proof: Option<gate::Record>,
}

/// Refs, prerelease policy and `requires:`.
async fn check_gate(
    ctx: &Ctx,
    req: &Request,
    policy: &EnvironmentPolicy,
    target: &Target,
    gh: Option<&GitHub>,
) -> Result<GatePassed, Failure> {
    let mut closed: Vec<String> = Vec::new();
    let mut proof = None;
    if let Err(why) = refs::allowed(policy, ctx.github.git_ref.as_deref()) {
        closed.push(why);
    }
    if let Some(v) = req
        .version
        .as_deref()
        .and_then(|v| semver::Version::parse(v.trim_start_matches('v')).ok())
    {
        let refuse = match policy.prerelease {
            PrereleasePolicy::Refuse => true,
            PrereleasePolicy::StagingOnly => policy.production,
            PrereleasePolicy::Allow => false,
        };
        if refuse && !v.pre.is_empty() {
            closed.push(format!("`{}` refuses prerelease versions ({v})", req.env));
        }
    }
    let requires = req.requires.clone().or_else(|| policy.requires.clone());
    if let Some(required) = requires {
        match gh {
            None => closed.push(format!(
                "`{}` requires `{required}`, and proving that needs GitHub deployment records: set the `github-token` input and GITHUB_REPOSITORY",
                req.env
            )),
            Some(gh) => {
                let soak = ctx.config.policy(&required).soak.max(policy.soak);
                let scan = records::history_scan(gh, &required, &target.app).await.map_err(|e| Failure::new(Exit::Internal, e))?;
                let recs: Vec<gate::Record> = scan.entries.iter().map(records::Entry::record).collect();
                let decision = gate::evaluate(
                    &required,
                    soak,
                    &recs,
                    &Candidate { sha: req.sha.clone(), image: req.image.clone() },
                    chrono::Utc::now(),
                );
                closed.extend(decision.closed.iter().map(|c| match c {
                    gate::Closed::NoDeployment { .. } => format!("{c} ({})", scan.searched(&required)),
                    _ => c.to_string(),
                }));
                proof = decision.proof;
            }
        }
    }
    if closed.is_empty() {
        return Ok(GatePassed {
            gate_override: None,
            proof,
        });
    }
    match &req.override_reason {
        Some(reason) if policy.allow_override => {
            ctx.console.warn(format!("gate overridden for `{}`: {reason}", req.env));
            let ov = GateOverride { reason: reason.clone(), actor: ctx.github.actor.clone(), closed_because: closed };
            Ok(GatePassed { gate_override: Some(ov), proof: None })
        }
        Some(_) => Err(Failure::gate(format!(
            "gate closed for {} in `{}`: {}; and the config does not allow overriding it (`allow-override: true` under environments.{})",
            target.app, req.env, closed.join("; "), req.env
        ))),
        None => Err(Failure::gate(format!("gate closed for {} in `{}`: {}", target.app, req.env, closed.join("; ")))),
    }
}

/// Single-flight, then find (re-run) or create the deployment and mark it queued.
async fn open_record(
    ctx: &Ctx,
    req: &Request,
    policy: &EnvironmentPolicy,
    target: &Target,
    gh: &GitHub,
    provider: &str,
    gate_override: Option<GateOverride>,
) -> Result<(u64, bool), Failure> {
    // Running out of the target's time is the deploy failing (exit 4), not stage-gate.
    let net = |e: crate::github::GithubError| {
        let exit = if e.is_deadline() {
            Exit::DeployFailed
        } else {
            Exit::Internal
        };
        Failure::new(exit, e)
    };
    let entries = records::history(gh, &req.env, &target.app)
        .await
        .map_err(net)?;
    let run = ctx.github.run_id.as_deref();
    let now = chrono::Utc::now();
    // An unfinished record of a run that has ended (killed, no chance to clean up) is
    // abandoned: marked so, and no reason to wait. Only a run still going blocks.
    let mut entries = entries;
    while let Some(busy) = records::in_flight(&entries, run, &req.sha, policy.stale_after, now) {
        let id = busy.deployment.id.into_inner();
        match abandonment(ctx, gh, busy).await {
            Some(why) => {
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
            None => {
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
            }
        }
    }
    if let Some(mine) = records::own(&entries, run, &req.sha) {
        ctx.console.info(format!(
            "re-run: reusing deployment {}",
            mine.deployment.id.into_inner()
        ));
        return Ok((mine.deployment.id.into_inner(), true));
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
        &payload,
        description.clone(),
    )
    .await;
    let id = match created {
        Ok(d) => d.id.into_inner(),
        Err(e) if e.is_ambiguous() => {
            // The answer was lost, maybe after GitHub created the record: look it up and
            // adopt it, so no orphan blocks the next run; create only when none exists.
            let entries = records::history(gh, &req.env, &target.app)
                .await
                .map_err(net)?;
            match records::made_by(&entries, &payload, since) {
                Some(found) => {
                    let id = found.deployment.id.into_inner();
                    ctx.console.warn(format!(
                        "creating the deployment record failed ({e}), but GitHub created it: adopting deployment {id}"
                    ));
                    id
                }
                None => {
                    ctx.console.warn(format!(
                        "creating the deployment record failed ({e}) and none was created; creating it once more"
                    ));
                    records::create(gh, &req.env, policy.production, &payload, description)
                        .await
                        .map_err(net)?
                        .id
                        .into_inner()
                }
            }
        }
        Err(e) => return Err(net(e)),
    };
    let queued = records::set_status(
        gh,
        id,
        StatusUpdate {
            state: DeploymentStatusState::Queued,
            description: "queued by stage-gate".into(),
            log_url: ctx.github.run_url().as_deref(),
            environment_url: None,
        },
    )
    .await;
    if let Err(e) = queued {
        // Never leave a record without a status behind: it would block others as "pending".
        let _ = records::set_status(
            gh,
            id,
            StatusUpdate {
                state: DeploymentStatusState::Error,
                description: format!("stage-gate could not start: {e}"),
                log_url: ctx.github.run_url().as_deref(),
                environment_url: None,
            },
        )
        .await;
        return Err(net(e));
    }
    Ok((id, false))
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

/// "artifact: production gets X, which staging ran in deployment 12 (run 41, 2026-…)".
fn artifact_line(env: &str, image: Option<&str>, proof: &gate::Record, req: &Request) -> String {
    let required = req
        .requires
        .as_deref()
        .unwrap_or("the required environment");
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
    lines
}

/// The time budget left before `deadline`, never negative.
pub fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}
