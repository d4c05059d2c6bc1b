//! `stage-gate rollback --env ENV [--app APP] [--to VERSION|IMAGE]`: return an environment
//! to its previous successful deployment, through each app's provider, and record it.
//! `health --rollback` rolls back the targets whose gate failed through [`target`].

use crate::cli::RollbackArgs;
use crate::config::Target;
use crate::context::Ctx;
use crate::deploy::records::{self, Payload, StatusUpdate};
use crate::exit::{Exit, Failure};
use crate::github::{DeploymentStatusState, GitHub};
use crate::inputs::pick;
use crate::providers::{self, RollbackRequest};
use crate::report::{summary, Report};

pub async fn run(ctx: &Ctx, args: &RollbackArgs) -> Result<Report, Failure> {
    let env = pick(args.environment.clone(), &ctx.inputs, "environment").ok_or_else(|| {
        Failure::input("rollback needs an environment: --env ENV or the `environment` input")
    })?;
    let app = pick(args.app.clone(), &ctx.inputs, "app");
    let plan = crate::plan::build(&ctx.config, &env, app.as_deref()).map_err(Failure::input)?;
    let gh = GitHub::from_ctx(ctx).ok();
    let mut report = Report::new(format!("rollback {env}"));
    // `--to` or the `tag` input: a release tag (or version, or image) to return to.
    let requested = args.to.clone().or_else(|| ctx.inputs.get("tag"));
    if requested.as_deref().is_some_and(|r| r.trim().is_empty()) {
        return Err(Failure::input(
            "rollback --to is empty: name a release tag, version, commit or image, or leave \
             --to out to return to the previous successful deployment",
        ));
    }
    let mut rows = Vec::new();
    let mut calls = Vec::new();
    for planned in &plan.targets {
        let target = &ctx.config.apps[&planned.app].environments[&env];
        let done = self::target(ctx, gh.as_ref(), target, requested.as_deref(), args.force).await?;
        if let Some(v) = &done.version {
            report.output("version", v);
        }
        calls.extend(done.calls.iter().map(|c| format!("{}: {c}", done.app)));
        rows.push(done.row());
    }
    report.output("result", "success");
    if ctx.dry_run {
        report.summary = format!(
            "### stage-gate rollback `{env}` (dry run)\n\n```\n{}\n```\n",
            calls.join("\n")
        );
        report.human = format!(
            "dry run: the rollback of `{env}` would make these calls (only the reads marked \
             `made` were made):\n{}",
            calls
                .iter()
                .map(|c| format!("  {c}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        report.json = serde_json::json!({"environment": env, "dry_run": true, "calls": calls, "rolled_back": rows});
        return Ok(report);
    }
    report.summary = format!(
        "### stage-gate rollback `{env}`\n\n{}",
        summary::table(&["app", "to", "restored"], &rows)
    );
    report.human = rows
        .iter()
        .map(|r| format!("{} → {}: {}", r[0], r[1], r[2]))
        .collect::<Vec<_>>()
        .join("\n");
    report.json = serde_json::json!({"environment": env, "rolled_back": rows});
    Ok(report)
}

/// One app's rollback, done (or, in a dry run, described call by call).
#[derive(Debug, Clone)]
pub struct RolledBack {
    pub app: String,
    /// What it went back to, as named or found in the history.
    pub to: String,
    /// What the provider restored, in words (`dry run` in a dry run).
    pub restored: String,
    /// The version of the deployment returned to, when recorded.
    pub version: Option<String>,
    /// In a dry run: every call, in order.
    pub calls: Vec<String>,
}

impl RolledBack {
    /// `[app, to, restored]`: a row of the summary table.
    pub fn row(&self) -> Vec<String> {
        vec![self.app.clone(), self.to.clone(), self.restored.clone()]
    }
}

/// Return `target` to the successful deployment `requested` names (a release tag, version or
/// image), else to the newest successful one before the current one; record the rollback as
/// a deployment so the gate's history tells the truth.
pub async fn target(
    ctx: &Ctx,
    gh: Option<&GitHub>,
    target: &Target,
    requested: Option<&str>,
    force: bool,
) -> Result<RolledBack, Failure> {
    let env = &target.env;
    let wanted = requested.map(|r| {
        super::deploy::version_of_tag(ctx, Some(&target.app), r).unwrap_or_else(|| r.to_string())
    });
    let mut calls = Vec::new();
    let (previous, current) = match gh {
        Some(gh) => {
            calls.push(format!(
                "GET {}/repos/{}/deployments?environment={env}&task=deploy  (made: a read, to \
                 find the deployment to return to)",
                ctx.github.api_url,
                ctx.github.repository.as_deref().unwrap_or("OWNER/REPO")
            ));
            let entries = records::history(gh, env, &target.app)
                .await
                .map_err(|e| Failure::new(Exit::Internal, e))?;
            let proven: Vec<_> = entries
                .iter()
                .filter(|e| e.succeeded_at.is_some())
                .collect();
            let current = proven.first().map(|e| (*e).clone());
            let previous = match (&wanted, requested) {
                (Some(w), Some(raw)) => proven.iter().find(|e| ran_there(e, w, raw)),
                _ => proven.get(1),
            };
            (previous.map(|e| (*e).clone()), current)
        }
        None => (None, None),
    };
    if let (Some(raw), None, false) = (requested, &previous, force) {
        return Err(Failure::gate(format!(
            "`{raw}` never ran in `{env}` as far as its deployment records tell{}: name a \
             version, release tag, commit or image that did (the environment's history in \
             GitHub), or pass --force to send `{raw}` to the provider as it is",
            if gh.is_none() {
                " (no GitHub token or repository to read them from)"
            } else {
                ""
            }
        )));
    }
    // What ran, exactly: the recorded artifact, else the image, version or commit.
    let to = previous
        .as_ref()
        .and_then(|p| {
            p.artifact()
                .or_else(|| p.payload.image.clone())
                .or_else(|| p.payload.version.clone())
                .or_else(|| Some(p.payload.sha.clone()))
        })
        .or_else(|| requested.map(str::to_string));
    if to.is_none() && previous.is_none() {
        return Err(Failure::gate(format!(
            "no previous successful deployment of {} in `{env}` to return to{}; name one with --to",
            target.app,
            if gh.is_none() {
                " (no GitHub token or repository to read the history from)"
            } else {
                ""
            }
        )));
    }
    let provider = providers::for_target(target, ctx)?;
    let request = RollbackRequest {
        target: target.clone(),
        point: previous
            .as_ref()
            .and_then(|p| p.payload.rollback_point.clone()),
        to: to.clone(),
    };
    let version = previous.as_ref().and_then(|p| p.payload.version.clone());
    let to_words = to.clone().unwrap_or_default();
    if ctx.dry_run {
        calls.extend(provider.planned_rollback_calls(&request));
        if let (Some(_), Some(prev)) = (gh, &previous) {
            calls.push(format!(
                "POST {}/repos/{}/deployments {{ref: {}, environment: {env}, payload.app: {}}}  \
                 (the rollback's record)",
                ctx.github.api_url,
                ctx.github.repository.as_deref().unwrap_or("OWNER/REPO"),
                prev.payload.sha,
                target.app
            ));
            calls.push("POST …/deployments/{id}/statuses success".into());
        }
        return Ok(RolledBack {
            app: target.app.clone(),
            to: to_words,
            restored: "dry run".into(),
            version,
            calls,
        });
    }
    if provider.kind() == "fly" {
        ctx.console.warn("Fly secrets are not rolled back: `fly secrets` changed since that release stay as they are");
    }
    let done = provider.rollback(&request).await?;
    ctx.console
        .info(format!("{}: {}", target.app, done.restored));
    if let (Some(gh), Some(prev)) = (gh, &previous) {
        record(
            ctx,
            gh,
            env,
            prev,
            current.as_ref().map(|c| c.deployment.id.into_inner()),
            &done.restored,
            target.url.as_deref(),
        )
        .await?;
    }
    Ok(RolledBack {
        app: target.app.clone(),
        to: to_words,
        restored: done.restored,
        version,
        calls,
    })
}

/// Whether deployment `e` is what `--to` names: its version (`wanted` is the version a
/// release tag names), the tag itself, its image or artifact, or its commit (7+ hex digits).
fn ran_there(e: &records::Entry, wanted: &str, raw: &str) -> bool {
    let p = &e.payload;
    let commit = raw.len() >= 7
        && raw.chars().all(|c| c.is_ascii_hexdigit())
        && p.sha.starts_with(&raw.to_ascii_lowercase());
    p.version.as_deref() == Some(wanted)
        || p.version.as_deref() == Some(raw)
        || p.image.as_deref() == Some(raw)
        || e.artifact().as_deref() == Some(raw)
        || commit
}

/// A rollback is a deployment too: record it so the gate's history tells the truth.
async fn record(
    ctx: &Ctx,
    gh: &GitHub,
    env: &str,
    prev: &records::Entry,
    current: Option<u64>,
    restored: &str,
    url: Option<&str>,
) -> Result<(), Failure> {
    let net = |e| Failure::new(Exit::Internal, e);
    let payload = Payload {
        previous_deployment: current,
        run_id: ctx.github.run_id.clone(),
        gate_override: None,
        ..prev.payload.clone()
    };
    let policy = ctx.config.policy(env);
    let d = records::create(
        gh,
        env,
        policy.production,
        &payload,
        format!("rollback: {restored}"),
    )
    .await
    .map_err(net)?;
    let log_url = ctx.github.run_url();
    records::set_status(
        gh,
        d.id.into_inner(),
        StatusUpdate {
            state: DeploymentStatusState::Success,
            // What runs now is what ran then: the same artifact, for a later promotion.
            description: records::success_description(
                &format!(
                    "{} (rollback)",
                    prev.payload
                        .version
                        .as_deref()
                        .unwrap_or(&prev.payload.sha[..prev.payload.sha.len().min(7)])
                ),
                prev.artifact().as_deref(),
            ),
            log_url: log_url.as_deref(),
            environment_url: url,
        },
    )
    .await
    .map_err(net)
}
