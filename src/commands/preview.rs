//! `stage-gate preview [up|down|sweep]`: resolve what to do from flags, inputs and the
//! pull-request event, run it (`crate::preview`), and report it.

use crate::cli::{PreviewAction, PreviewArgs};
use crate::context::Ctx;
use crate::exit::{Exit, Failure};
use crate::inputs::pick;
use crate::preview::event::{self, PullRequestEvent};
use crate::preview::{self, PreviewResult};
use crate::report::Report;

pub async fn run(ctx: &Ctx, args: &PreviewArgs) -> Result<Report, Failure> {
    let env = preview::environment(
        ctx,
        pick(args.environment.clone(), &ctx.inputs, "environment"),
    )?;
    let app = pick(args.app.clone(), &ctx.inputs, "app");
    let event = pull_request_event(ctx)?;
    let action = action(ctx, args, event.as_ref())?;
    let pr = pr_number(ctx, args, event.as_ref())?;
    let need_pr = || {
        pr.ok_or_else(|| {
            Failure::input(
                "preview up and down need the pull request: --pr N (the `pr` input), or run on \
                 a pull_request event",
            )
        })
    };
    // A fork's job has no secrets: nothing is attempted. Its close still tears down a
    // preview a maintainer brought up, when this job has the credentials to.
    let fork = event.as_ref().filter(|e| e.from_fork());
    if let Some(e) =
        fork.filter(|e| !(e.closed() && has_credentials(ctx)) && action != PreviewAction::Sweep)
    {
        return Ok(skipped(ctx, &env, e));
    }
    let (result, failure) = match action {
        PreviewAction::Up => {
            let req = up_request(ctx, args, event.as_ref(), env.clone(), need_pr()?, app).await?;
            refused(ctx, "up", &env, Some(req.pr), preview::up(ctx, &req).await)?
        }
        PreviewAction::Down => {
            let req = preview::DownRequest {
                env: env.clone(),
                pr: need_pr()?,
                app,
                reason: down_reason(event.as_ref()),
            };
            refused(
                ctx,
                "down",
                &env,
                Some(req.pr),
                preview::down(ctx, &req).await,
            )?
        }
        PreviewAction::Sweep => {
            let force = args.force || ctx.inputs.bool("force")?.unwrap_or(false);
            let req = preview::SweepRequest {
                env: env.clone(),
                force,
            };
            refused(ctx, "sweep", &env, None, preview::sweep(ctx, &req).await)?
        }
    };
    let mut report = Report::of(&result);
    // Each failure was said where it happened; the report carries the exit it decides.
    if let Some(f) = failure {
        report.exit = Some(f.exit);
    }
    Ok(report)
}

/// The pull request: `--pr`, the `pr` input, else the event's.
fn pr_number(
    ctx: &Ctx,
    args: &PreviewArgs,
    event: Option<&PullRequestEvent>,
) -> Result<Option<u64>, Failure> {
    let pr =
        match (args.pr, ctx.inputs.get("pr")) {
            (Some(n), _) => Some(n),
            (None, Some(s)) => Some(s.trim().trim_start_matches('#').parse::<u64>().map_err(
                |_| Failure::input(format!("the `pr` input `{s}` is not a pull request number")),
            )?),
            (None, None) => event.map(|e| e.number),
        };
    if pr == Some(0) {
        return Err(Failure::input("pull request numbers start at 1"));
    }
    Ok(pr)
}

/// What `up` brings up: the commit is `--sha`, else the event's head, else GitHub's.
async fn up_request(
    ctx: &Ctx,
    args: &PreviewArgs,
    event: Option<&PullRequestEvent>,
    env: String,
    pr: u64,
    app: Option<String>,
) -> Result<preview::UpRequest, Failure> {
    let flag = pick(args.sha.clone(), &ctx.inputs, "sha");
    let from_event = event.filter(|e| e.number == pr).map(|e| e.head_sha.clone());
    let sha = match (flag, from_event) {
        (Some(s), _) => crate::commands::deploy::full_sha(ctx, &s)?,
        (None, Some(head)) => head,
        (None, None) => pull_request_head(ctx, pr).await?,
    };
    Ok(preview::UpRequest {
        env,
        pr,
        sha,
        image: pick(args.image.clone(), &ctx.inputs, "image"),
        app,
        skip_health: args.skip_health,
    })
}

/// Why `down` runs, for the records and the comment.
fn down_reason(event: Option<&PullRequestEvent>) -> String {
    match event.filter(|e| e.closed()) {
        Some(e) if e.merged => format!("pull request #{} was merged", e.number),
        Some(e) => format!("pull request #{} was closed", e.number),
        None => "`stage-gate preview down` was run".to_string(),
    }
}

type Outcome = (PreviewResult, Option<Failure>);

/// A refusal before anything was touched (exit 3) still prints its document, with result
/// `refused` and the reason; other errors end the run as they are.
fn refused(
    ctx: &Ctx,
    action: &str,
    env: &str,
    pr: Option<u64>,
    run: Result<Outcome, Failure>,
) -> Result<Outcome, Failure> {
    match run {
        Err(f) if f.exit == Exit::GateClosed => {
            ctx.console.error(f.to_string());
            let mut result = PreviewResult::new(action, env, ctx.dry_run);
            result.pr = pr;
            result.result = "refused".into();
            result.notice = Some(ctx.console.redactor.redact(&f.to_string()));
            Ok((result, Some(f)))
        }
        other => other,
    }
}

/// The head commit of pull request `pr`, asked of GitHub (a `workflow_dispatch`, a local
/// run). A fork's head is refused: its next push would run with this job's secrets, so the
/// commit that was read must be named.
async fn pull_request_head(ctx: &Ctx, pr: u64) -> Result<String, Failure> {
    let Ok(gh) = crate::github::GitHub::from_ctx(ctx) else {
        return ctx
            .head_sha()
            .ok_or_else(|| Failure::input("no commit: pass --sha (the `sha` input)"));
    };
    let pull = gh
        .pull_request(pr)
        .await
        .map_err(|e| Failure::new(Exit::Internal, e))?
        .ok_or_else(|| {
            Failure::input(format!(
                "pull request #{pr} does not exist in {}",
                gh.repository()
            ))
        })?;
    let head_repo = pull.head.repo.as_ref().map(|r| r.full_name.as_str());
    if head_repo != Some(gh.repository().as_str()) {
        return Err(Failure::input(format!(
            "pull request #{pr} comes from {}: name the commit you read with --sha (the `sha` \
             input); its head may have moved since, and this job has secrets",
            head_repo.unwrap_or("a deleted fork")
        )));
    }
    Ok(pull.head.sha)
}

/// The pull-request event this job runs on, when it runs on one.
fn pull_request_event(ctx: &Ctx) -> Result<Option<PullRequestEvent>, Failure> {
    let name = ctx.github.event_name.as_deref().unwrap_or("");
    if !matches!(name, "pull_request" | "pull_request_target") {
        return Ok(None);
    }
    let Some(path) = ctx.env.get("GITHUB_EVENT_PATH") else {
        return Ok(None);
    };
    event::read(std::path::Path::new(path))
        .map(Some)
        .map_err(Failure::input)
}

fn action(
    ctx: &Ctx,
    args: &PreviewArgs,
    event: Option<&PullRequestEvent>,
) -> Result<PreviewAction, Failure> {
    if let Some(a) = args.action {
        return Ok(a);
    }
    if let Some(name) = ctx.inputs.get("preview") {
        return PreviewAction::from_name(name.trim()).ok_or_else(|| {
            Failure::input(format!(
                "the `preview` input `{name}` is not one of up, down, sweep"
            ))
        });
    }
    if let Some(e) = event {
        return Ok(if e.closed() {
            PreviewAction::Down
        } else {
            PreviewAction::Up
        });
    }
    // A dispatch naming a pull request brings it up (a maintainer, a fork's change read);
    // without one, a dispatch sweeps, as the schedule does.
    let names_pr = args.pr.is_some() || ctx.inputs.get("pr").is_some();
    match ctx.github.event_name.as_deref() {
        Some("workflow_dispatch") if names_pr => Ok(PreviewAction::Up),
        Some("schedule") | Some("workflow_dispatch") => Ok(PreviewAction::Sweep),
        _ => Err(Failure::input(
            "preview needs what to do: `stage-gate preview up|down|sweep` (the `preview` \
             input), or a pull_request event (closed → down, else up) or a schedule (sweep)",
        )),
    }
}

/// Whether this job holds a provider credential (a fork's `pull_request` job holds none).
fn has_credentials(ctx: &Ctx) -> bool {
    let inputs = ["fly-api-token", "coolify-token"];
    inputs.iter().any(|i| ctx.inputs.get(i).is_some())
        || crate::providers::registry::default_secret_envs()
            .any(|v| ctx.env.get(v).is_some_and(|x| !x.is_empty()))
}

/// A fork's pull request: its job has no secrets, so nothing is attempted.
fn skipped(ctx: &Ctx, env: &str, e: &PullRequestEvent) -> Report {
    let from = e.head_repository.as_deref().unwrap_or("a deleted fork");
    let notice = format!(
        "pull request #{} comes from {from}: a fork's job gets no secrets, so no preview was \
         made and no vendor was called. A maintainer who has read the change can bring it up \
         with `stage-gate preview up --pr {} --sha <the commit they read>` (a \
         workflow_dispatch with the `pr` and `sha` inputs), or push the branch to this \
         repository",
        e.number, e.number
    );
    ctx.console.notice(&notice);
    let mut result = PreviewResult::new(if e.closed() { "down" } else { "up" }, env, ctx.dry_run);
    result.pr = Some(e.number);
    result.result = "skipped".into();
    result.notice = Some(notice);
    Report::of(&result)
}
