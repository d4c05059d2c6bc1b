//! `stage-gate rollback --env ENV [--app APP] [--to VERSION|IMAGE]`: return an environment
//! to its previous successful deployment, through each app's provider, and record it.
//! `health --rollback` rolls back the targets whose gate failed through [`target`].

use crate::cli::RollbackArgs;
use crate::context::Ctx;
use crate::exit::Failure;
use crate::github::GitHub;
use crate::inputs::pick;
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
        let done = crate::deploy::rollback::target(
            ctx,
            gh.as_ref(),
            target,
            requested.as_deref(),
            args.force,
        )
        .await?;
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
