//! `stage-gate deploy --env ENV` and `stage-gate promote --from A --env B`: build the
//! request from flags, inputs and the GitHub context, run it, report every stage.

use crate::artifact::is_image_reference;
use crate::cli::{DeployArgs, PromoteArgs};
use crate::context::Ctx;
use crate::deploy::{self, Request, TargetResult};
use crate::exit::{Exit, Failure};
use crate::git::Abbreviated;
use crate::inputs::pick;
use crate::report::Report;

pub async fn deploy(ctx: &Ctx, args: &DeployArgs) -> Result<Report, Failure> {
    let env = pick(args.environment.clone(), &ctx.inputs, "environment").ok_or_else(|| {
        Failure::input("deploy needs an environment: --env ENV or the `environment` input")
    })?;
    let app = pick(args.app.clone(), &ctx.inputs, "app");
    // The apps of the environment first: an environment no app has is the first thing to say.
    not_per_pull_request(ctx, &env)?;
    let plan = crate::plan::build(&ctx.config, &env, app.as_deref()).map_err(Failure::input)?;
    let req = request(
        ctx,
        env,
        app,
        args.sha.clone(),
        args.version.clone(),
        args.image.clone(),
        args.override_gate,
        args.reason.clone(),
        None,
    )?;
    let req = Request {
        skip_health: args.skip_health,
        ..req
    };
    finish(
        ctx,
        &format!("deploy {}", req.env),
        &req,
        deploy::run_all(ctx, &req, &plan).await,
    )
}

/// An environment per pull request has one app per pull request, named with `{pr}`:
/// `preview` brings them up and down; deploy, promote, health and rollback refuse it.
pub(crate) fn not_per_pull_request(ctx: &Ctx, env: &str) -> Result<(), Failure> {
    if ctx.config.policy(env).per_pull_request {
        return Err(Failure::input(format!(
            "environment `{env}` is per pull request: its apps exist per pull request \
             (`{{pr}}` in their names); use `stage-gate preview up|down --pr N --env {env}` \
             (command: preview)"
        )));
    }
    Ok(())
}

pub async fn promote(ctx: &Ctx, args: &PromoteArgs) -> Result<Report, Failure> {
    let to = pick(args.environment.clone(), &ctx.inputs, "environment").ok_or_else(|| {
        Failure::input("promote needs the destination: --env ENV or the `environment` input")
    })?;
    let app = pick(args.app.clone(), &ctx.inputs, "app");
    not_per_pull_request(ctx, &to)?;
    let plan = crate::plan::build(&ctx.config, &to, app.as_deref()).map_err(Failure::input)?;
    let from = pick(args.from.clone(), &ctx.inputs, "from-environment")
        .or_else(|| ctx.config.policy(&to).requires);
    let Some(from) = from else {
        return Err(Failure::input(format!(
            "promote to `{to}` needs the environment that proves it: --from ENV, or `requires:` under environments.{to}"
        )));
    };
    let mut req = request(
        ctx,
        to,
        app,
        args.sha.clone(),
        args.version.clone(),
        args.image.clone(),
        args.override_gate,
        args.reason.clone(),
        Some(from),
    )?;
    req.gate_only = args.gate_only;
    if ctx.dry_run && ctx.github.token.is_some() && ctx.github.repository.is_some() {
        // A dry run changes nothing, but the gate cannot be judged without these reads.
        ctx.console.info(format!(
            "[dry-run] reads GitHub deployments to evaluate the gate (GET …/deployments?environment={})",
            req.requires.as_deref().unwrap_or("?")
        ));
    }
    let title = format!(
        "promote {} → {}",
        req.requires.as_deref().unwrap_or("?"),
        req.env
    );
    finish(ctx, &title, &req, deploy::run_all(ctx, &req, &plan).await)
}

#[allow(clippy::too_many_arguments)]
fn request(
    ctx: &Ctx,
    env: String,
    app: Option<String>,
    sha: Option<String>,
    version: Option<String>,
    image: Option<String>,
    override_gate: bool,
    reason: Option<String>,
    requires: Option<String>,
) -> Result<Request, Failure> {
    let sha = pick(sha, &ctx.inputs, "sha")
        .or_else(|| ctx.head_sha())
        .ok_or_else(|| {
            Failure::input(
                "no commit to deploy: pass --sha, or run inside a git checkout (or set GITHUB_SHA)",
            )
        })?;
    if !is_commit_sha(&sha) {
        return Err(Failure::input(format!(
            "--sha `{sha}` is not a commit: expected 7 to 40 hex digits (`git rev-parse HEAD`)"
        )));
    }
    let sha = full_sha(ctx, &sha)?;
    let image = pick(image, &ctx.inputs, "image");
    if let Some(bad) = image.as_deref().filter(|i| !is_image_reference(i)) {
        return Err(Failure::input(format!(
            "--image `{bad}` is not an image reference: expected `[registry/]name[:tag][@sha256:digest]`, \
             e.g. `registry.fly.io/web:v1.2.3`"
        )));
    }
    let override_gate = override_gate || ctx.inputs.bool("override-gate")?.unwrap_or(false);
    let reason = pick(reason, &ctx.inputs, "reason");
    let override_reason = match (override_gate, reason) {
        (false, _) => None,
        (true, Some(r)) if !r.trim().is_empty() => Some(r),
        (true, _) => {
            return Err(Failure::input(
                "--override-gate needs --reason \"…\" (it is recorded in the deployment)",
            ))
        }
    };
    let version =
        pick(version, &ctx.inputs, "version").or_else(|| version_from_tag(ctx, app.as_deref()));
    Ok(Request {
        env,
        app,
        sha,
        version,
        image,
        skip_health: false,
        override_reason,
        requires,
        gate_only: false,
    })
}

/// 7 to 40 hex digits: a commit as git abbreviates or spells it.
fn is_commit_sha(s: &str) -> bool {
    (7..=40).contains(&s.len()) && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// The full SHA of `sha`: records and gates compare full SHAs, so an abbreviated one is
/// expanded by the repository first (never guessed between several commits).
pub(crate) fn full_sha(ctx: &Ctx, sha: &str) -> Result<String, Failure> {
    if sha.len() == 40 {
        return Ok(sha.to_ascii_lowercase());
    }
    let git = crate::git::Git::open(&ctx.root).map_err(|e| {
        Failure::input(format!(
            "--sha `{sha}` is abbreviated, and expanding it needs the repository ({e}); \
             pass all 40 digits (`git rev-parse {sha}`)"
        ))
    })?;
    let expanded = git.expand_commit(sha).map_err(|e| {
        Failure::input(format!(
            "cannot expand --sha `{sha}`: {e}; pass all 40 digits"
        ))
    })?;
    match expanded {
        Abbreviated::Commit(full) => Ok(full),
        Abbreviated::Ambiguous(commits) => Err(Failure::input(format!(
            "--sha `{sha}` is ambiguous: {} commits start with it ({}); give more digits, \
             or all 40",
            commits.len(),
            commits.join(", ")
        ))),
        Abbreviated::Unknown => Err(Failure::input(format!(
            "--sha `{sha}` names no commit in this clone (a typo, or history not fetched: \
             actions/checkout with `fetch-depth: 0`); or pass all 40 digits"
        ))),
    }
}

/// The version in the tag being built, when the ref is a tag matching the app's pattern.
fn version_from_tag(ctx: &Ctx, app: Option<&str>) -> Option<String> {
    let tag = ctx
        .inputs
        .get("tag")
        .or_else(|| ctx.github.tag().map(str::to_string))?;
    version_of_tag(ctx, app, &tag)
}

/// The version a release tag names under the app's tag pattern (`v1.2.3` → `1.2.3`).
fn version_of_tag(ctx: &Ctx, app: Option<&str>, tag: &str) -> Option<String> {
    crate::tag::version_in_tag(&ctx.config.tag_pattern(app), app, tag)
}

fn finish(
    ctx: &Ctx,
    title: &str,
    req: &Request,
    results: Vec<TargetResult>,
) -> Result<Report, Failure> {
    let mut report = Report::new(title);
    for r in &results {
        target_outputs(&mut report, ctx, req, r);
    }
    if let Some(url) = ctx
        .config
        .targets(&req.env, req.app.as_deref())
        .first()
        .and_then(|t| t.url.clone())
    {
        report.output("environment-url", url);
    }
    if let Some(v) = &req.version {
        report.output("version", v);
    }
    let result = crate::deploy::result::DeployResult::new(
        &req.env,
        &req.sha,
        req.version.as_deref(),
        ctx.dry_run,
        &results,
    );
    report.json = serde_json::to_value(&result).unwrap_or_default();
    report.human = human(req, &results);
    report.summary = summary(ctx, title, req, &results);
    let outcome = match worst(&results) {
        None => "success",
        Some(f) => {
            // The report is still emitted in full: the summary shows every stage.
            ctx.console.error(f.to_string());
            report.exit = Some(f.exit);
            match f.exit {
                Exit::GateClosed => "refused",
                Exit::Cancelled => "cancelled",
                _ => "failure",
            }
        }
    };
    report.output("result", outcome);
    Ok(report)
}

/// One app's step outputs (the last app's win, as the action has one value a name).
fn target_outputs(report: &mut Report, ctx: &Ctx, req: &Request, r: &TargetResult) {
    if let Some(id) = r.deployment_id {
        report.output("deployment-id", id);
    }
    // The artifact that ran: only a deploy that ran has one (a dry run names the image
    // it would ship).
    let shipped = r.outcome.as_ref().and_then(|o| o.image.clone());
    let planned = ctx.dry_run.then(|| req.image.clone()).flatten();
    if let Some(image) = shipped.or(planned) {
        report.output("image", image);
    }
    if let Some(h) = &r.health {
        report.output("verdict", h.verdict.as_str());
    }
    if let Some(rb) = r.rollback {
        report.output("rollback", rb);
    }
}

/// The most severe failure decides the exit: cancelled over deploy failure over gate over
/// the rest.
fn worst(results: &[TargetResult]) -> Option<Failure> {
    let rank = |e: Exit| match e {
        Exit::Cancelled => 5,
        Exit::DeployFailed => 4,
        Exit::GateClosed => 3,
        Exit::InvalidInput => 2,
        _ => 1,
    };
    let mut worst: Option<Failure> = None;
    for r in results {
        if let Some(f) = &r.failure {
            if worst.as_ref().is_none_or(|w| rank(f.exit) > rank(w.exit)) {
                worst = Some(Failure::new(f.exit, anyhow::anyhow!("{}: {f}", r.app)));
            }
        }
    }
    worst
}

/// One line per app: what runs now, or why it failed.
fn human(req: &Request, results: &[TargetResult]) -> String {
    results
        .iter()
        .map(|r| {
            let ran = r.outcome.as_ref().and_then(|o| o.image.as_deref());
            let status = match (&r.failure, ran) {
                (None, Some(image)) => format!("ok, runs {image}"),
                (None, None) => "ok".to_string(),
                (Some(f), _) => format!("FAILED: {f}"),
            };
            format!("{} → {}: {status}", r.app, req.env)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The step summary: the commit, then each app's stages, diagram, table and health.
fn summary(ctx: &Ctx, title: &str, req: &Request, results: &[TargetResult]) -> String {
    let mut md = format!("### stage-gate {title}\n\n");
    md.push_str(&format!(
        "commit `{}`{}{}\n\n",
        &req.sha[..req.sha.len().min(12)],
        req.version
            .as_deref()
            .map(|v| format!(", version `{v}`"))
            .unwrap_or_default(),
        if ctx.dry_run { " — **dry run**" } else { "" }
    ));
    for r in results {
        md.push_str(&format!("#### {} → {}\n\n", r.app, req.env));
        if let Some((proving, artifact)) = &r.proven {
            let runs = r
                .outcome
                .as_ref()
                .and_then(|o| o.image.as_deref())
                .unwrap_or("(not deployed)");
            md.push_str(&format!(
                "| `{proving}` ran | `{}` runs |\n|---|---|\n| `{artifact}` | `{runs}` |\n\n",
                req.env
            ));
        }
        md.push_str(&r.stages.diagram());
        md.push('\n');
        md.push_str(&r.stages.table());
        if let Some(h) = &r.health {
            md.push('\n');
            md.push_str(&h.summary());
        }
        md.push('\n');
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shas_and_image_references_are_checked_before_a_deploy() {
        assert!(is_commit_sha("0123abc") && is_commit_sha(&"a".repeat(40)));
        assert!(
            !is_commit_sha("0123ab") && !is_commit_sha("main") && !is_commit_sha(&"a".repeat(41))
        );
        for ok in [
            "registry.fly.io/web:v1.2.3",
            "ghcr.io/acme/api:0123abc",
            "localhost:5000/app",
            "nginx",
            "ghcr.io/acme/api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(is_image_reference(ok), "{ok}");
        }
        for bad in [
            "",
            "Registry.fly.io/Web:v1",
            "web:",
            "a b",
            "ghcr.io/acme/api:v1 extra",
            "https://ghcr.io/x",
        ] {
            assert!(!is_image_reference(bad), "{bad}");
        }
    }
}
