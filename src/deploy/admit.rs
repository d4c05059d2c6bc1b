//! Admission: everything that can refuse a deploy, checked before anything is recorded or
//! changed — the tag gate on a tag ref, refs and prerelease policy, `requires:` (the
//! promotion gate, which also names the artifact to ship), and the provider's inputs.

use super::records::{self, GateOverride};
use super::refs;
use super::stages::{StageState, Stages};
use super::{Request, TargetResult};
use crate::config::{EnvironmentPolicy, PrereleasePolicy, Target};
use crate::context::Ctx;
use crate::exit::{Exit, Failure};
use crate::github::GitHub;
use crate::promote::gate::{self, Candidate};
use crate::providers::{self, DeployRequest};
use std::time::Instant;

/// One target past its gate, with everything its deploy needs checked.
pub(super) struct Admitted {
    pub(super) target: Target,
    pub(super) provider: Box<dyn providers::Provider>,
    pub(super) gate_override: Option<GateOverride>,
    /// The record that proved the candidate (a promotion), and so what production gets.
    pub(super) proof: Option<gate::Record>,
    /// What the deploy ships: the request's image, or the proven artifact.
    pub(super) image: Option<String>,
    /// Built anew on promotion (`allow-rebuild: true`, no artifact recorded).
    pub(super) rebuild: bool,
    pub(super) stages: Stages,
}

/// The gate, the artifact a promotion carries over, and the provider's inputs (credentials,
/// settings): all that can refuse a deploy, checked before anything is recorded.
pub(super) async fn admit(
    ctx: &Ctx,
    req: &Request,
    policy: &EnvironmentPolicy,
    target: &Target,
    gh: Option<&GitHub>,
) -> Result<Admitted, TargetResult> {
    let mut stages = Stages::default();
    let app = target.app.clone();
    let bounded = gh.map(|g| g.until(Instant::now() + target.timeout));
    let gh = bounded.as_ref();
    let started = Instant::now();
    let provider = match providers::for_target(target, &ctx.provider_deps()) {
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
    let (image, rebuild) =
        match shipped_image(ctx, req, policy, &app, &passed, provider.needs_artifact()) {
            Ok(chosen) => chosen,
            Err(f) => {
                stages.push("gate", StageState::Failed, started, f.to_string());
                return Err(TargetResult::failed(app, stages, f));
            }
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
        labels: Vec::new(),
        min_secrets_version: None,
    };
    if let Err(e) = provider.preflight(&probe) {
        let f: Failure = e.into();
        stages.push("inputs", StageState::Failed, Instant::now(), f.to_string());
        return Err(TargetResult::failed(app, stages, f));
    }
    Ok(Admitted {
        target: target.clone(),
        provider,
        gate_override: passed.gate_override,
        proof: passed.proof,
        image,
        rebuild,
        stages,
    })
}

/// The image this deploy ships, and whether it is built anew: a promotion carries the
/// proof's bytes over, whatever the request named (the gate checked they agree); a proof
/// that names no artifact is refused unless `allow-rebuild: true`.
fn shipped_image(
    ctx: &Ctx,
    req: &Request,
    policy: &EnvironmentPolicy,
    app: &str,
    passed: &GatePassed,
    needs_artifact: bool,
) -> Result<(Option<String>, bool), Failure> {
    let required = req.required(policy);
    if let Some(a) = passed.proof.as_ref().and_then(|p| p.proven_artifact()) {
        return Ok((Some(a.to_string()), false));
    }
    let (Some(required), Some(proof)) = (required, passed.proof.as_ref()) else {
        return Ok((req.image.clone(), false));
    };
    if !needs_artifact {
        return Ok((req.image.clone(), false));
    }
    let proof = proof.id;
    if !policy.allow_rebuild {
        return Err(Failure::gate(format!(
            "gate closed for {app} in `{}`: deployment {proof} to `{required}` records \
             no artifact (it was made by an older stage-gate, or its provider could not \
             tell what it ran), so `{}` would be a new build, not what `{required}` \
             proved. Deploy the commit to `{required}` again with this stage-gate, pass \
             the image `{required}` ran with --image, or set `allow-rebuild: true` under \
             environments.{} to build anew on purpose",
            req.env, req.env, req.env
        )));
    }
    ctx.console.warn(format!(
        "{app}: deployment {proof} to `{required}` records no artifact; building anew \
         for `{}` because environments.{}.allow-rebuild is true",
        req.env, req.env
    ));
    Ok((req.image.clone(), true))
}

/// On a tag ref, the release tag must pass the tag gate (`stage-gate tag`'s rules) before
/// anything is recorded or deployed: an older tag pushed after a newer release promotes
/// nothing.
pub(super) async fn tag_gate(ctx: &Ctx, req: &Request) -> Result<(), Failure> {
    let Some(tag) = ctx.github.tag() else {
        return Ok(());
    };
    let pattern = ctx.config.tag_pattern(req.app.as_deref());
    let decided = crate::tag::gate::decide(
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
    // The tag names a commit: that commit, and no other, is what the tag releases.
    if let Some(target) = decided.this.target.as_deref() {
        if !target.eq_ignore_ascii_case(&req.sha) {
            return Err(Failure::gate(format!(
                "tag `{tag}` names commit {}, but this run deploys {} (--sha or GITHUB_SHA): \
                 a release tag deploys its own commit; leave --sha out, or run on the ref of \
                 commit {}",
                &target[..target.len().min(7)],
                &req.sha[..req.sha.len().min(7)],
                &req.sha[..req.sha.len().min(7)]
            )));
        }
    }
    // A patch of an older line is a valid release (a maintenance branch), but deploying it
    // to production would take production back from the newer line it runs.
    let production = ctx.config.policy(&req.env).production;
    if production && !decided.is_latest && !decided.this.is_prerelease() {
        let newer = decided.latest.as_deref().unwrap_or("a newer release");
        return Err(Failure::gate(format!(
            "tag `{tag}` is a release of an older line than {newer}: deploying it to `{}` \
             would take production back. Release it without deploying (`stage-gate release`), \
             or deploy it to an environment of its own line",
            req.env
        )));
    }
    Ok(())
}

/// What an open gate says: whether it was overridden, and the record that proved the commit.
struct GatePassed {
    gate_override: Option<GateOverride>,
    proof: Option<gate::Record>,
}

/// What `requires:` says: the record that proves the commit, or why the gate is closed
/// (added to `closed`).
async fn proof_of(
    ctx: &Ctx,
    req: &Request,
    policy: &EnvironmentPolicy,
    target: &Target,
    gh: Option<&GitHub>,
    closed: &mut Vec<String>,
) -> Result<Option<gate::Record>, Failure> {
    let Some(required) = req.required(policy) else {
        return Ok(None);
    };
    let Some(gh) = gh else {
        closed.push(format!(
            "`{}` requires `{required}`, and proving that needs GitHub deployment records: set \
             GITHUB_TOKEN (the `github-token` input under Actions) and the repository \
             (GITHUB_REPOSITORY or STAGE_GATE_REPOSITORY)",
            req.env
        ));
        return Ok(None);
    };
    let soak = ctx.config.policy(&required).soak.max(policy.soak);
    let scan = records::history_scan(gh, &required, &target.app)
        .await
        .map_err(|e| Failure::new(Exit::Internal, e))?;
    let recs: Vec<gate::Record> = scan.entries.iter().map(records::Entry::record).collect();
    let candidate = Candidate {
        sha: req.sha.clone(),
        image: req.image.clone(),
    };
    let decision = gate::evaluate(&required, soak, &recs, &candidate, chrono::Utc::now());
    closed.extend(decision.closed.iter().map(|c| match c {
        gate::Closed::NoDeployment { .. } => format!("{c} ({})", scan.searched(&required)),
        _ => c.to_string(),
    }));
    Ok(decision.proof)
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
    let proof = proof_of(ctx, req, policy, target, gh, &mut closed).await?;
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
