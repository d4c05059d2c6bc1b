//! `stage-gate notify`: dispatch the next workflow and/or send the signed event to webhooks
//! (the configured ones for the environment, plus `--webhook`).

use crate::cli::NotifyArgs;
use crate::config::{NotifyFormat, NotifyOn, NotifyTarget};
use crate::context::Ctx;
use crate::exit::Failure;
use crate::inputs::pick;
use crate::notify;
use crate::report::results::notify::NotifyResult;
use crate::report::Report;
use std::collections::BTreeMap;

/// (kind, target, result): one delivery.
type Sent = (String, String, String);

pub async fn run(ctx: &Ctx, args: &NotifyArgs) -> Result<Report, Failure> {
    let env = pick(args.environment.clone(), &ctx.inputs, "environment").unwrap_or_default();
    let event = event_of(ctx, args, &env)?;
    let mut sent: Vec<Sent> = dispatch(ctx, args, &event).await?.into_iter().collect();
    sent.extend(webhooks(ctx, args, &env, &event).await?);
    if sent.is_empty() {
        return Err(Failure::input("nothing to notify: give --dispatch WORKFLOW, --webhook URL, or configure `notify:` for this environment"));
    }
    Ok(Report::of(&NotifyResult { event, sent }))
}

/// The event to send: `--event` (default `<env>_deployment_complete`), `--status`.
fn event_of(ctx: &Ctx, args: &NotifyArgs, env: &str) -> Result<notify::Event, Failure> {
    let app = pick(args.app.clone(), &ctx.inputs, "app");
    let sha = ctx.head_sha().unwrap_or_default();
    let version = pick(args.version.clone(), &ctx.inputs, "version");
    let success = match args.status.as_deref().unwrap_or("success") {
        "success" => true,
        "failure" => false,
        other => {
            return Err(Failure::input(format!(
                "--status `{other}`: expected success or failure"
            )))
        }
    };
    let name = args
        .event
        .clone()
        .unwrap_or_else(|| notify::event_name(env));
    let mut event = notify::event(
        ctx,
        &name,
        env,
        app.as_deref(),
        &sha,
        version.as_deref(),
        success,
    );
    event.trigger = Some(NotifyOn::Notify.trigger().to_string());
    Ok(event)
}

/// `--dispatch WORKFLOW` with its `--inputs` (or the `dispatch-inputs` input), expanded
/// against the event; inputs without a workflow are refused.
async fn dispatch(
    ctx: &Ctx,
    args: &NotifyArgs,
    event: &notify::Event,
) -> Result<Option<Sent>, Failure> {
    let mut inputs: BTreeMap<String, String> = BTreeMap::new();
    let raw_inputs: Vec<String> = if args.inputs.is_empty() {
        ctx.inputs.lines("dispatch-inputs")
    } else {
        args.inputs.clone()
    };
    for kv in raw_inputs {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| Failure::input(format!("dispatch input `{kv}`: expected key=value")))?;
        inputs.insert(k.trim().to_string(), notify::expand(v.trim(), event));
    }
    let Some(workflow) = pick(args.dispatch.clone(), &ctx.inputs, "dispatch") else {
        if !inputs.is_empty() {
            return Err(Failure::input(
                "dispatch inputs were given without --dispatch WORKFLOW",
            ));
        }
        return Ok(None);
    };
    let run = notify::dispatch(ctx, &workflow, args.git_ref.as_deref(), &inputs).await?;
    let done = run.unwrap_or_else(|| {
        if ctx.dry_run {
            "would dispatch it (dry run)".into()
        } else {
            "dispatched".into()
        }
    });
    Ok(Some(("dispatch".into(), workflow, done)))
}

/// `--webhook URL`, then the environment's configured webhooks that fire on `notify`.
async fn webhooks(
    ctx: &Ctx,
    args: &NotifyArgs,
    env: &str,
    event: &notify::Event,
) -> Result<Vec<Sent>, Failure> {
    // What happened to each webhook, in words: the event's status is not the send's.
    let sent = if ctx.dry_run {
        format!("would send the {} event (dry run)", event.status)
    } else {
        format!("sent the {} event", event.status)
    };
    let mut rows = Vec::new();
    if let Some(url) = &args.webhook {
        notify::send_webhook(ctx, url, NotifyFormat::Json, None, None, event).await?;
        rows.push(("webhook".into(), url.clone(), sent.clone()));
    }
    for n in notify::firing(ctx, NotifyOn::Notify, env) {
        if let NotifyTarget::Webhook {
            url,
            format,
            token_env,
            secret_env,
        } = &n.target
        {
            notify::send_webhook(
                ctx,
                url,
                *format,
                token_env.as_deref(),
                secret_env.as_deref(),
                event,
            )
            .await?;
            rows.push((
                format!("webhook ({})", format.payload()),
                url.clone(),
                sent.clone(),
            ));
        }
    }
    Ok(rows)
}
