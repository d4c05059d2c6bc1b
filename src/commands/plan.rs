//! `stage-gate plan --env ENV [--app APP] [--output human|json|matrix]`

use crate::cli::{PlanArgs, PlanFormat};
use crate::context::Ctx;
use crate::exit::Failure;
use crate::inputs::pick;
use crate::report::{summary, Format, Report};

pub async fn run(ctx: &Ctx, args: &PlanArgs) -> Result<Report, Failure> {
    let env = pick(args.environment.clone(), &ctx.inputs, "environment").ok_or_else(|| {
        Failure::input("plan needs an environment: --env ENV or the `environment` input")
    })?;
    let app = pick(args.app.clone(), &ctx.inputs, "app");
    let mut plan = crate::plan::build(&ctx.config, &env, app.as_deref()).map_err(Failure::input)?;
    let image = pick(args.image.clone(), &ctx.inputs, "image");
    if let Some(bad) = image
        .as_deref()
        .filter(|i| !super::deploy::is_image_reference(i))
    {
        return Err(Failure::input(format!(
            "--image `{bad}` is not an image reference: expected `[registry/]name[:tag][@sha256:digest]`"
        )));
    }
    for t in &mut plan.targets {
        if let crate::config::ProviderConfig::Fly(c) = &t.settings {
            let provider = crate::providers::fly::FlyProvider::new(c.clone(), ctx)?;
            t.machines = Some(provider.offline_plan(image.as_deref())?);
        }
    }
    let mut report = Report::new(format!("plan {env}"));
    let matrix = serde_json::to_string(&plan.matrix()).unwrap_or_default();
    report.output("matrix", &matrix);
    report.json = serde_json::to_value(&plan).unwrap_or_default();
    let output = args.output.unwrap_or(match ctx.format {
        Format::Json => PlanFormat::Json,
        Format::Matrix => PlanFormat::Matrix,
        _ => PlanFormat::Human,
    });
    report.human = match output {
        PlanFormat::Human => plan.human(),
        PlanFormat::Json => serde_json::to_string_pretty(&plan).unwrap_or_default(),
        PlanFormat::Matrix => matrix,
    };
    let rows: Vec<Vec<String>> = plan
        .targets
        .iter()
        .map(|t| {
            vec![
                t.app.clone(),
                t.provider.clone(),
                t.url.clone().unwrap_or_default(),
                t.health_probes.to_string(),
            ]
        })
        .collect();
    report.summary = format!(
        "### stage-gate plan: `{env}`\n\n{}",
        summary::table(&["app", "provider", "url", "health probes"], &rows)
    );
    Ok(report)
}
