//! `${{ … }}` inside a script is pasted into the script's text before the shell reads it:
//! text an outsider controls becomes commands, and a secret becomes part of a file on the
//! runner and of the process's arguments.

use super::Ctx;
use crate::check::workflow::model::{self, StepKind};
use crate::report::{Diagnostic, Severity};
use github_actions_models::workflow::event::{
    OptionalBody, WorkflowCallInputType, WorkflowDispatchInputType,
};

/// Leaves of `github.event` that are numbers, SHAs, booleans or enums: not injectable.
const SAFE_EVENT_FIELDS: &[&str] = &[
    "number",
    "id",
    "sha",
    "conclusion",
    "run_id",
    "run_number",
    "run_attempt",
    "before",
    "after",
    "forced",
    "created",
    "deleted",
    "merged",
    "draft",
    "action",
    "size",
    "commits",
    "private",
    "fork",
    "state",
    "status",
    "event",
    "run_started_at",
    "created_at",
    "updated_at",
];

pub fn check(ctx: &Ctx, out: &mut Vec<Diagnostic>) {
    for job in &ctx.jobs {
        for step in &job.steps {
            let index = step.index.to_string();
            let (script, key) = match &step.kind {
                StepKind::Run { script, .. } => (script.clone(), "run"),
                StepKind::Uses { uses, with } if uses.starts_with("actions/github-script@") => {
                    match with.iter().find(|(k, _)| k == "script") {
                        Some((_, s)) => (s.clone(), "script"),
                        None => continue,
                    }
                }
                StepKind::Uses { .. } => continue,
            };
            let path: Vec<&str> = if key == "run" {
                vec!["jobs", job.id, "steps", &index, "run"]
            } else {
                vec!["jobs", job.id, "steps", &index, "with", "script"]
            };
            for (offset, expr) in expressions(&script) {
                let at = || ctx.src.in_script(&path, &script, offset);
                if let Some((severity, who, token)) = injectable(ctx, expr) {
                    out.push(
                        Diagnostic::new(
                            severity,
                            "workflow/script-injection",
                            format!("`${{{{ {expr} }}}}` is pasted into the {key} script: `{token}` is set by {who}, and its text runs as code"),
                            at(),
                        )
                        .with_help("pass it through `env:` (`VALUE: ${{ … }}`) and use \"$VALUE\" in the script. zizmor reports this as `template-injection`; when it runs, its finding stands for this one"),
                    );
                }
                for secret in model::secrets_in(&format!("${{{{ {expr} }}}}")) {
                    out.push(
                        Diagnostic::warning(
                            "workflow/secret-in-run",
                            format!("secret `{secret}` is written into the {key} script's text: it lands in a file on the runner and in the command's arguments, and a quote in it breaks the script"),
                            at(),
                        )
                        .with_help(format!("map it in the step's `env:` (`{secret}: ${{{{ secrets.{secret} }}}}`) and use \"${secret}\" in the script")),
                    );
                }
            }
        }
    }
}

/// Every `${{ … }}` in `script`: (offset of `${{`, the expression inside).
fn expressions(script: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = script[from..].find("${{") {
        let start = from + i;
        let Some(end) = script[start..].find("}}") else {
            break;
        };
        out.push((start, script[start + 3..start + end].trim()));
        from = start + end + 2;
    }
    out
}

/// The context path in `expr` an outsider controls: (severity, who sets it, the path).
fn injectable(ctx: &Ctx, expr: &str) -> Option<(Severity, String, String)> {
    let tokens = expr.split(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '*')));
    for tok in tokens {
        let lower = tok.to_ascii_lowercase();
        if lower == "github.head_ref" {
            return Some((
                Severity::Error,
                "whoever names the pull request's branch".into(),
                tok.into(),
            ));
        }
        let input = lower
            .strip_prefix("github.event.inputs.")
            .or_else(|| lower.strip_prefix("inputs."));
        if let Some(name) = input {
            if let Some(who) = text_input(ctx, name) {
                return Some((Severity::Warning, who, tok.into()));
            }
            continue;
        }
        if let Some(rest) = lower.strip_prefix("github.event.") {
            let leaf = rest.rsplit('.').next().unwrap_or(rest);
            if SAFE_EVENT_FIELDS.contains(&leaf) || leaf.ends_with("_sha") || leaf.ends_with("_id")
            {
                continue;
            }
            return Some((
                Severity::Error,
                "whoever opens the pull request, issue or comment, or writes the commit".into(),
                tok.into(),
            ));
        }
    }
    None
}

/// Who sets input `name` when it takes free text; None for a boolean, number, choice or
/// environment input, which can only be one of the values the workflow allows.
fn text_input(ctx: &Ctx, name: &str) -> Option<String> {
    let e = &ctx.src.workflow.on.events;
    let mut declared = false;
    let mut who = Vec::new();
    if let OptionalBody::Body(d) = &e.workflow_dispatch {
        if let Some((_, i)) = d.inputs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            declared = true;
            if matches!(i.r#type, WorkflowDispatchInputType::String) {
                who.push("whoever starts the workflow by hand (anyone with write access)");
            }
        }
    }
    if let OptionalBody::Body(c) = &e.workflow_call {
        if let Some((_, i)) = c.inputs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            declared = true;
            if matches!(i.r#type, WorkflowCallInputType::String) {
                who.push("the workflow that calls this one");
            }
        }
    }
    if !declared {
        return Some(
            "whoever starts the workflow (the input is not declared, so it takes any text)".into(),
        );
    }
    (!who.is_empty()).then(|| who.join(" or "))
}
