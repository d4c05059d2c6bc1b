//! `stage-gate rollback --env ENV [--app APP] [--to VERSION|IMAGE]`: return an environment
//! to its previous successful deployment, through each app's provider, and record it.
//! `health --rollback` rolls back the targets whose gate failed through
//! [`crate::deploy::rollback::target`].

use crate::cli::RollbackArgs;
use crate::context::Ctx;
use crate::deploy::rollback;
use crate::exit::Failure;
use crate::inputs::pick;
use crate::report::results::rollback::RollbackResult;
use crate::report::Report;

pub async fn run(ctx: &Ctx, args: &RollbackArgs) -> Result<Report, Failure> {
    let env = pick(args.environment.clone(), &ctx.inputs, "environment").ok_or_else(|| {
        Failure::input("rollback needs an environment: --env ENV or the `environment` input")
    })?;
    let app = pick(args.app.clone(), &ctx.inputs, "app");
    crate::commands::deploy::not_per_pull_request(ctx, &env)?;
    let plan = crate::plan::build(&ctx.config, &env, app.as_deref()).map_err(Failure::input)?;
    // `--to` or the `tag` input: a release tag (or version, or image) to return to.
    let requested = args.to.clone().or_else(|| ctx.inputs.get("tag"));
    if requested.as_deref().is_some_and(|r| r.trim().is_empty()) {
        return Err(Failure::input(
            "rollback --to is empty: name a release tag, version, commit or image, or leave \
             --to out to return to the previous successful deployment",
        ));
    }
    let rolled_back = rollback::all(ctx, &plan, requested.as_deref(), args.force).await?;
    let calls = (rolled_back.iter())
        .flat_map(|done| done.calls.iter().map(|c| format!("{}: {c}", done.app)))
        .collect();
    Ok(Report::of(&RollbackResult {
        environment: env,
        dry_run: ctx.dry_run,
        calls: ctx.dry_run.then_some(calls),
        rolled_back,
    }))
}
