//! `preview up`: every app's preview of one pull request, in order: checks that touch
//! nothing (credentials, secrets, an image; a commit older than the one running is refused)
//! → per app: record (transient Deployment `preview/pr-N`) → the provider's up → the health
//! gate (a failing preview is left running, said so, exit 4) → statuses → the comment.

use super::comment::Row;
use super::result::{PreviewJson, PreviewResult};
use super::{apps, environment_of, now, repository, App};
use crate::context::Ctx;
use crate::deploy::records::{self, Payload, StatusUpdate};
use crate::exit::{Exit, Failure};
use crate::github::{DeploymentStatusState, GitHub, NewDeployment};
use crate::providers::preview::{Marker, PreviewRequest, PreviewUp};
use crate::providers::ProviderError;

/// What to bring up.
#[derive(Debug, Clone)]
pub struct UpRequest {
    pub env: String,
    pub pr: u64,
    /// The pull request's head commit.
    pub sha: String,
    pub image: Option<String>,
    pub app: Option<String>,
    pub skip_health: bool,
}

/// Bring the previews up. `Err` is a refusal before anything was touched; a failure of one
/// app is in the result, with the failure that decides the exit.
pub async fn up(ctx: &Ctx, r: &UpRequest) -> Result<(PreviewResult, Option<Failure>), Failure> {
    let marker = Marker {
        repository: repository(ctx)?,
        pr: r.pr,
    };
    let apps = apps(ctx, &r.env, r.app.as_deref(), r.pr)?;
    let requests: Vec<PreviewRequest> = apps
        .iter()
        .map(|a| a.request(r.pr, &r.sha, r.image.clone(), &marker))
        .collect();
    // Every app's checks before any call, all said at once.
    let refused: Vec<Failure> = apps
        .iter()
        .zip(&requests)
        .filter_map(|(a, req)| {
            let e = a.previews().preflight_up(req).err()?;
            let f = Failure::from(e);
            Some(Failure::new(
                f.exit,
                anyhow::anyhow!("{}: {f}", a.target.app),
            ))
        })
        .collect();
    if let Some(first) = refused.first() {
        let exit = first.exit;
        let all: Vec<String> = refused.iter().map(|f| f.to_string()).collect();
        return Err(Failure::new(exit, anyhow::anyhow!("{}", all.join("\n"))));
    }
    let environment = environment_of(&r.env, r.pr);
    let mut result = PreviewResult::new("up", &r.env, ctx.dry_run);
    result.pr = Some(r.pr);
    result.sha = Some(r.sha.clone());
    let gh = GitHub::from_ctx(ctx).ok();
    if ctx.dry_run {
        result.result = "planned".into();
        return Ok((
            dry_run(ctx, &apps, &requests, &environment, gh.is_some(), result),
            None,
        ));
    }
    if let Some(gh) = &gh {
        let head = still_open(gh, r.pr).await?;
        // The pull request's own head is never "older": a force-push back to an earlier
        // commit makes it the one to run.
        if head != r.sha {
            for a in &apps {
                not_older(gh, &environment, &a.target.app, &r.sha).await?;
            }
        }
    } else {
        ctx.console.info(
            "no GitHub token or repository: previews without Deployment records or a comment",
        );
    }
    let mut worst: Option<Failure> = None;
    let mut rows = Vec::new();
    for (a, req) in apps.iter().zip(&requests) {
        // Each app's time starts at its turn, not when the first app started.
        let req = &PreviewRequest {
            deadline: std::time::Instant::now() + a.target.timeout,
            ..req.clone()
        };
        let _group = ctx
            .console
            .group(format!("preview {} → {environment}", a.target.app));
        let (json, row, failure) = one(ctx, gh.as_ref(), &environment, a, req, r).await;
        result.previews.push(json);
        rows.push(row);
        if let Some(f) = failure {
            ctx.console.error(format!("{}: {f}", a.target.app));
            if worst.as_ref().is_none_or(|w| rank(f.exit) > rank(w.exit)) {
                worst = Some(f);
            }
        }
        if ctx.cancel.is_cancelled() {
            worst = Some(Failure::new(
                Exit::Cancelled,
                anyhow::anyhow!("cancelled after the preview of {}", a.target.app),
            ));
            break;
        }
    }
    if let Some(gh) = &gh {
        result.comment_url = post_comment(ctx, gh, r, &rows).await;
    }
    result.result = match &worst {
        None => "success",
        Some(f) if f.exit == Exit::GateClosed => "refused",
        Some(_) => "failure",
    }
    .into();
    Ok((result, worst))
}

/// The pull request's one comment, with this run's rows (the other apps' kept). Answers its
/// URL; a comment that cannot be written is said, not fatal.
async fn post_comment(ctx: &Ctx, gh: &GitHub, r: &UpRequest, rows: &[Row]) -> Option<String> {
    let gh = gh.for_cleanup(std::time::Duration::from_secs(60));
    super::write_comment(ctx, &gh, r.pr, &r.env, true, |state| {
        state.removed = None;
        for row in rows {
            state.put(row.clone());
        }
    })
    .await
}

/// Which failure decides the exit: a failed deploy over a refusal over the rest.
pub(super) fn rank(e: Exit) -> u8 {
    match e {
        Exit::Cancelled => 5,
        Exit::DeployFailed => 4,
        Exit::GateClosed => 3,
        Exit::InvalidInput => 2,
        Exit::Internal => 1,
        Exit::Success => 0,
    }
}

/// A closed pull request gets no preview (a job that ran late, after the close): `down`
/// tore it down, and bringing it back would leak it until a sweep.
/// Answers the pull request's head commit.
async fn still_open(gh: &GitHub, pr: u64) -> Result<String, Failure> {
    match gh.pull_request(pr).await {
        Ok(Some(p)) if p.state == "closed" => Err(Failure::gate(format!(
            "pull request #{pr} is closed: no preview is brought up for it (a job that ran \
             after the close); reopen it to get one back"
        ))),
        Ok(Some(p)) => Ok(p.head.sha),
        Ok(None) => Err(Failure::input(format!(
            "pull request #{pr} does not exist in {}",
            gh.repository()
        ))),
        Err(e) => Err(Failure::new(Exit::Internal, e)),
    }
}

/// Refuse a commit older than the one the preview runs (two pushes whose jobs ran out of
/// order): the newest record of the app names the commit it runs.
async fn not_older(gh: &GitHub, environment: &str, app: &str, sha: &str) -> Result<(), Failure> {
    let entries = records::history(gh, environment, app)
        .await
        .map_err(|e| Failure::new(Exit::Internal, e))?;
    let Some(current) = entries.iter().find(|e| {
        matches!(
            e.state.as_deref(),
            Some("success") | Some("in_progress") | Some("queued") | Some("failure")
        )
    }) else {
        return Ok(());
    };
    let running = &current.payload.sha;
    if running == sha {
        return Ok(());
    }
    let cmp = gh
        .compare(running, sha)
        .await
        .map_err(|e| Failure::new(Exit::Internal, e))?;
    if cmp.status == "behind" {
        return Err(Failure::gate(format!(
            "{app}: the preview already runs {} (deployment {}), which is newer than {}: a later \
             push got here first; nothing was changed (run the newest commit's job again to \
             redeploy it)",
            crate::git::abbrev(running, 12),
            current.deployment.id.into_inner(),
            crate::git::abbrev(sha, 12)
        )));
    }
    Ok(())
}

/// One app's Deployment of the preview, when there is a GitHub to record it.
struct Record<'a> {
    ctx: &'a Ctx,
    gh: Option<GitHub>,
    id: Option<u64>,
}

impl Record<'_> {
    /// Post a status (a budget of its own; a status that cannot be written is said, not fatal).
    async fn status(&self, state: DeploymentStatusState, description: String, url: Option<&str>) {
        let (Some(gh), Some(id)) = (&self.gh, self.id) else {
            return;
        };
        let log_url = self.ctx.github.run_url();
        let u = StatusUpdate {
            state,
            description,
            log_url: log_url.as_deref(),
            environment_url: url,
        };
        let gh = gh.for_cleanup(std::time::Duration::from_secs(30));
        if let Err(e) = records::set_status(&gh, id, u).await {
            self.ctx
                .console
                .warn(format!("deployment {id}: status not recorded: {e}"));
        }
    }

    /// The app's earlier deployments of the preview, inactive.
    async fn retire_older(&self, environment: &str, app: &str) {
        if let (Some(gh), Some(id)) = (&self.gh, self.id) {
            let gh = gh.for_cleanup(std::time::Duration::from_secs(30));
            if let Ok(entries) = records::history(&gh, environment, app).await {
                let _ = records::inactivate_older(&gh, &entries, id).await;
            }
        }
    }
}

/// One app: record → up → gate → statuses.
async fn one(
    ctx: &Ctx,
    gh: Option<&GitHub>,
    environment: &str,
    a: &App,
    req: &PreviewRequest,
    r: &UpRequest,
) -> (PreviewJson, Row, Option<Failure>) {
    let app = a.target.app.clone();
    let mut json = PreviewJson {
        app: app.clone(),
        resource: a.resource(r.pr),
        url: a.target.url.clone(),
        digest: None,
        state: "failed".into(),
        health: None,
        deployment_id: None,
        created: false,
        notes: Vec::new(),
        error: None,
    };
    let gh = gh.map(|g| g.until(req.deadline));
    let id = match &gh {
        Some(gh) => match open_record(ctx, gh, environment, a, req).await {
            Ok(id) => Some(id),
            Err(f) => return finish(ctx, json, r, None, Some(f)),
        },
        None => None,
    };
    let record = Record { ctx, gh, id };
    json.deployment_id = id;
    let short = crate::git::abbrev(&r.sha, 7);
    let in_progress = format!("preview of {short}");
    record
        .status(DeploymentStatusState::InProgress, in_progress, None)
        .await;
    let up: PreviewUp = match a.previews().up(req).await {
        Ok(up) => up,
        Err(e) => {
            let state = match e {
                ProviderError::Failed { .. } => DeploymentStatusState::Failure,
                _ => DeploymentStatusState::Error,
            };
            let refused = matches!(e, ProviderError::Refused(_));
            json.state = if refused { "refused" } else { "failed" }.into();
            record
                .status(state, format!("preview failed: {e}"), None)
                .await;
            return finish(ctx, json, r, None, Some(e.into()));
        }
    };
    json.created = up.created;
    json.url = up.url.clone();
    json.digest = up.outcome.image.clone();
    json.notes = up.notes.clone();
    for note in &up.notes {
        ctx.console.info(format!("{app}: {note}"));
    }
    json.state = "deployed".into();
    let failure = gate(ctx, r, req, &app, &mut json).await;
    match &failure {
        None => {
            let what = records::success_description(short, up.outcome.image.as_deref());
            let url = up.url.as_deref();
            record
                .status(DeploymentStatusState::Success, what, url)
                .await;
            record.retire_older(environment, &app).await;
        }
        Some(f) => {
            let url = up.url.as_deref();
            record
                .status(DeploymentStatusState::Failure, f.to_string(), url)
                .await;
        }
    }
    finish(ctx, json, r, up.url, failure)
}

/// The health gate, with `{pr}` filled in: a failing preview is left running (no rollback).
async fn gate(
    ctx: &Ctx,
    r: &UpRequest,
    req: &PreviewRequest,
    app: &str,
    json: &mut PreviewJson,
) -> Option<Failure> {
    if r.skip_health || req.target.health.probes.is_empty() {
        return None;
    }
    let vars = crate::health::Vars {
        app: app.to_string(),
        env: r.env.clone(),
        version: None,
        sha: Some(r.sha.clone()),
    };
    match crate::health::gate(&req.target.health, &vars, ctx.into()).await {
        Ok(report) => {
            // The app is the row's: the verdict and the evidence are the news.
            let headline = report.headline();
            let who = format!("{}: ", report.who());
            json.health = Some(headline.strip_prefix(&who).unwrap_or(&headline).to_string());
            if report.passed() {
                json.state = "healthy".into();
                return None;
            }
            json.state = "unhealthy".into();
            Some(Failure::deploy(format!(
                "health gate failed: {headline}; the preview is left running for debugging \
                 (no rollback of a preview)"
            )))
        }
        Err(e) => {
            json.state = "unhealthy".into();
            Some(Failure::input(format!(
                "the health gate could not run: {e}"
            )))
        }
    }
}

/// The transient Deployment of this app's preview, queued.
async fn open_record(
    ctx: &Ctx,
    gh: &GitHub,
    environment: &str,
    a: &App,
    req: &PreviewRequest,
) -> Result<u64, Failure> {
    let payload = Payload {
        app: a.target.app.clone(),
        version: None,
        sha: req.sha.clone(),
        image: req.image.clone(),
        provider: a.provider.kind().to_string(),
        run_id: ctx.github.run_id.clone(),
        ..Payload::default()
    };
    let mut new = NewDeployment::new(req.sha.clone(), environment);
    new.transient_environment = true;
    new.production_environment = false;
    new.payload = serde_json::to_value(&payload).unwrap_or_default();
    new.description = Some(format!("preview of #{} ({})", req.pr, a.target.app));
    let d = gh
        .create_deployment(&new)
        .await
        .map_err(|e| Failure::new(Exit::Internal, e))?;
    Ok(d.id.into_inner())
}

/// The json, the comment row and the failure of one app.
fn finish(
    ctx: &Ctx,
    mut json: PreviewJson,
    r: &UpRequest,
    url: Option<String>,
    failure: Option<Failure>,
) -> (PreviewJson, Row, Option<Failure>) {
    if let Some(f) = &failure {
        json.error = Some(ctx.console.redactor.redact(&f.to_string()));
    }
    let detail = json
        .error
        .clone()
        .or_else(|| json.health.clone())
        .unwrap_or_else(|| match json.digest.as_deref() {
            Some(d) => format!("runs {d}"),
            None => "deployed".into(),
        });
    let row = Row {
        app: json.app.clone(),
        url: url.or_else(|| json.url.clone()),
        sha: r.sha.clone(),
        state: json.state.clone(),
        detail,
        at: now(),
    };
    (json, row, failure)
}

/// `--dry-run`: the calls each app's preview would make, and GitHub's.
fn dry_run(
    ctx: &Ctx,
    apps: &[App],
    requests: &[PreviewRequest],
    environment: &str,
    github: bool,
    mut result: PreviewResult,
) -> PreviewResult {
    for (a, req) in apps.iter().zip(requests) {
        ctx.console.info(format!(
            "[dry-run] preview {} → {environment}",
            a.target.app
        ));
        if github {
            ctx.console.info(format!(
                "[dry-run]   POST …/deployments  (environment {environment}, transient, not production)"
            ));
        }
        for call in a.previews().planned_up(req) {
            ctx.console.info(format!("[dry-run]   {call}"));
        }
        for p in &req.target.health.probes {
            ctx.console
                .info(format!("[dry-run]   health: {} {}", p.method, p.url));
        }
        result.previews.push(PreviewJson {
            app: a.target.app.clone(),
            resource: a.resource(req.pr),
            url: a.target.url.clone(),
            digest: None,
            state: "planned".into(),
            health: None,
            deployment_id: None,
            created: false,
            notes: Vec::new(),
            error: None,
        });
    }
    if github {
        ctx.console.info(format!(
            "[dry-run] GET/POST or PATCH …/issues/{}/comments  (the one preview comment, edited in place)",
            requests.first().map(|r| r.pr).unwrap_or_default()
        ));
    } else {
        let missing = match (ctx.github.token.is_some(), ctx.github.repository.is_some()) {
            (false, true) => "no GitHub token (GITHUB_TOKEN)",
            (true, false) => "no GitHub repository (GITHUB_REPOSITORY)",
            _ => "no GitHub token or repository (GITHUB_TOKEN, GITHUB_REPOSITORY)",
        };
        ctx.console.warn(format!(
            "{missing}: a real run would record no Deployments, write no comment, and could \
             not refuse an older commit or a closed pull request"
        ));
    }
    result
}
