//! `stage-gate plan --env ENV [--app APP|GLOB] [--output human|json|matrix]`: the plan, and
//! the matrix (at most [`crate::plan::MATRIX_LIMIT`] entries) for `strategy.matrix`.

use crate::cli::PlanArgs;
use crate::context::Ctx;
use crate::exit::Failure;
use crate::inputs::pick;
use crate::report::results::plan::PlanResult;
use crate::report::{Format, Report};

pub async fn run(ctx: &Ctx, args: &PlanArgs) -> Result<Report, Failure> {
    let env = pick(args.environment.clone(), &ctx.inputs, "environment").ok_or_else(|| {
        Failure::input("plan needs an environment: --env ENV or the `environment` input")
    })?;
    let app = pick(args.app.clone(), &ctx.inputs, "app");
    let mut plan = match app.as_deref() {
        Some(pattern) if crate::plan::is_app_pattern(pattern) => {
            crate::plan::build_matching(&ctx.config, &env, pattern)
        }
        app => crate::plan::build(&ctx.config, &env, app),
    }
    .map_err(Failure::input)?;
    let output = args.output.unwrap_or(ctx.format).text();
    // The matrix is handed out when printed or written as the step output; a larger one than
    // GitHub runs is refused before anything is written.
    let matrix = match plan.matrix_within_limit() {
        Ok(m) => Some(serde_json::to_string(&m).unwrap_or_default()),
        Err(e) if output == Format::Matrix || ctx.files.output.is_some() => {
            return Err(Failure::input(e))
        }
        Err(e) => {
            ctx.console.warn(e.to_string());
            None
        }
    };
    let image = pick(args.image.clone(), &ctx.inputs, "image");
    if let Some(bad) = image
        .as_deref()
        .filter(|i| !crate::artifact::is_image_reference(i))
    {
        return Err(Failure::input(format!(
            "--image `{bad}` is not an image reference: expected `[registry/]name[:tag][@sha256:digest]`"
        )));
    }
    for t in &mut plan.targets {
        if let crate::config::ProviderConfig::Fly(c) = &t.settings {
            let provider =
                crate::providers::fly::FlyProvider::new(c.clone(), &ctx.provider_deps())?;
            t.machines = Some(provider.offline_plan(image.as_deref())?);
        }
    }
    Ok(Report::of(&PlanResult {
        plan,
        output,
        matrix,
    }))
}
