//! `preview down`: tear down every app's preview of one pull request — only what carries our
//! marker — then its Deployments inactive and the comment edited to say it is gone.
//! Idempotent: a second `down` finds nothing to remove and succeeds.

use super::comment::Row;
use super::result::{PreviewJson, PreviewResult};
use super::{apps, environment_of, inactivate, now, repository};
use crate::context::Ctx;
use crate::exit::{Exit, Failure};
use crate::github::GitHub;
use crate::providers::preview::{Marker, PreviewDown};

#[derive(Debug, Clone)]
pub struct DownRequest {
    pub env: String,
    pub pr: u64,
    pub app: Option<String>,
    /// Why, for the records and the comment (`pull request closed`).
    pub reason: String,
}

pub async fn down(ctx: &Ctx, r: &DownRequest) -> Result<(PreviewResult, Option<Failure>), Failure> {
    let marker = Marker {
        repository: repository(ctx)?,
        pr: r.pr,
    };
    let apps = apps(ctx, &r.env, r.app.as_deref(), r.pr)?;
    let environment = environment_of(&r.env, r.pr);
    let mut result = PreviewResult::new("down", &r.env, ctx.dry_run);
    result.pr = Some(r.pr);
    let gh = GitHub::from_ctx(ctx).ok();
    if ctx.dry_run {
        return Ok((
            dry_run(ctx, &apps, r.pr, &marker, &environment, result),
            None,
        ));
    }
    let mut worst: Option<Failure> = None;
    let mut removed_any = false;
    let mut rows = Vec::new();
    for a in &apps {
        let req = a.request(r.pr, "", None, &marker);
        let resource = a.resource(r.pr);
        let (state, note, failure) = match a.previews().down(&req).await {
            Ok(PreviewDown::Removed(what)) => {
                removed_any = true;
                ("removed", what, None)
            }
            Ok(PreviewDown::NothingToRemove(what)) => {
                ("absent", format!("nothing to remove: {what}"), None)
            }
            Err(e) => {
                let f: Failure = e.into();
                let state = if f.exit == Exit::GateClosed {
                    "refused"
                } else {
                    "failed"
                };
                (state, f.to_string(), Some(f))
            }
        };
        if failure.is_none() {
            ctx.console.info(format!("{}: {note}", a.target.app));
        }
        let mut json = entry(&a.target.app, resource, state, vec![note.clone()]);
        if let Some(f) = failure {
            json.error = Some(ctx.console.redactor.redact(&f.to_string()));
            ctx.console.error(format!("{}: {f}", a.target.app));
            if worst
                .as_ref()
                .is_none_or(|w| super::rank(f.exit) > super::rank(w.exit))
            {
                worst = Some(f);
            }
        } else if let Some(gh) = &gh {
            let why = format!("preview removed: {}", r.reason);
            match inactivate(gh, &environment, &a.target.app, &why).await {
                Ok(n) if n > 0 => json.notes.push(format!(
                    "{n} deployment(s) of {environment} marked inactive"
                )),
                Ok(_) => {}
                Err(e) => ctx
                    .console
                    .warn(format!("deployments not marked inactive: {e}")),
            }
            // What was removed goes into the comment; "nothing to remove" (a re-run) keeps
            // the row that says what the first run removed.
            if state == "removed" {
                rows.push(Row {
                    app: a.target.app.clone(),
                    url: None,
                    sha: String::new(),
                    state: "removed".into(),
                    detail: note,
                    at: now(),
                });
            }
        }
        result.previews.push(json);
    }
    // "Torn down" only when every app is gone; a refused app still runs.
    if let (Some(gh), false, None) = (&gh, rows.is_empty(), &worst) {
        result.comment_url = edit_comment(ctx, gh, r, rows).await;
    }
    result.result = match (&worst, removed_any) {
        (Some(f), _) if f.exit == Exit::GateClosed => "refused",
        (Some(_), _) => "failure",
        (None, true) => "removed",
        (None, false) => "success",
    }
    .into();
    Ok((result, worst))
}

/// The comment says the preview is gone, with a row per app removed (each keeps the commit
/// it ran). Answers the comment's URL; a comment that cannot be edited is said, not fatal.
async fn edit_comment(ctx: &Ctx, gh: &GitHub, r: &DownRequest, rows: Vec<Row>) -> Option<String> {
    let reason = &r.reason;
    super::write_comment(ctx, gh, r.pr, &r.env, false, |state| {
        state.removed = Some(format!("The preview was torn down: {reason}."));
        for row in &rows {
            let mut row = row.clone();
            if let Some(old) = state.rows.iter().find(|o| o.app == row.app) {
                row.sha = old.sha.clone();
            }
            state.put(row);
        }
    })
    .await
}

/// `--dry-run`: what would be torn down, and on what condition.
fn dry_run(
    ctx: &Ctx,
    apps: &[super::App],
    pr: u64,
    marker: &Marker,
    environment: &str,
    mut result: PreviewResult,
) -> PreviewResult {
    for a in apps {
        ctx.console.info(format!(
            "[dry-run] tear down {} ({}) only if it carries the marker {}; then its \
             deployments of {environment} inactive and the comment edited",
            a.target.app,
            a.resource(pr),
            marker.value()
        ));
        result
            .previews
            .push(entry(&a.target.app, a.resource(pr), "planned", Vec::new()));
    }
    result.result = "planned".into();
    result
}

fn entry(app: &str, resource: String, state: &str, notes: Vec<String>) -> PreviewJson {
    PreviewJson {
        app: app.to_string(),
        resource,
        url: None,
        digest: None,
        state: state.to_string(),
        health: None,
        deployment_id: None,
        created: false,
        notes,
        error: None,
    }
}
