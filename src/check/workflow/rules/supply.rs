//! What can reach a deploy token: code someone else can change (an action at a moving
//! ref, a fork's pull request) and the checkout's own token uploaded with the build context.

use super::Ctx;
use crate::check::workflow::model::StepKind;
use crate::report::Diagnostic;
use github_actions_models::common::Uses;

pub fn check(ctx: &Ctx, out: &mut Vec<Diagnostic>) {
    unpinned(ctx, out);
    checkout_credentials(ctx, out);
    fork_checkout(ctx, out);
}

/// Actions not pinned to a commit in a job that deploys with a secret: whoever can move the
/// tag or branch runs code beside the token. Which owners may be pinned by ref is the
/// repository's zizmor `unpinned-uses` policy, or zizmor's default (`actions/*`, `github/*`).
fn unpinned(ctx: &Ctx, out: &mut Vec<Diagnostic>) {
    let mut jobs: Vec<&str> = ctx.found.deploys.iter().map(|d| d.job.as_str()).collect();
    jobs.dedup();
    for id in jobs {
        let Some(job) = ctx.job(id) else { continue };
        let secrets = job.secrets(ctx.src);
        if secrets.is_empty() {
            continue;
        }
        for step in &job.steps {
            let StepKind::Uses { uses, .. } = &step.kind else {
                continue;
            };
            let Ok(Uses::Repository(r)) = Uses::parse(uses.as_str()) else {
                continue;
            };
            let owner = r.owner().to_ascii_lowercase();
            let pinned =
                r.git_ref().len() == 40 && r.git_ref().chars().all(|c| c.is_ascii_hexdigit());
            if pinned
                || ctx
                    .policy
                    .ref_pin_allowed(&owner, &r.repo().to_ascii_lowercase())
            {
                continue;
            }
            let index = step.index.to_string();
            out.push(
                Diagnostic::warning(
                    "workflow/unpinned-action",
                    format!(
                        "`{uses}` runs at a ref its owner can move (`{}`) in job `{id}`, which holds {}: a changed action runs with them",
                        r.git_ref(),
                        secrets.iter().take(3).map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
                    ),
                    ctx.src.value(&["jobs", id, "steps", &index, "uses"]),
                )
                .with_help(format!("pin it to a commit: `uses: {}@<40-character SHA> # {}`. zizmor reports this as `unpinned-uses`; when it runs, its finding stands for this one", action_path(&r), r.git_ref())),
            );
        }
    }
}

/// `owner/repo`, with the subpath of an action that lives in a folder of its repository
/// (`superfly/flyctl-actions/setup-flyctl`): what goes before `@` when it is pinned.
fn action_path(r: &github_actions_models::common::RepositoryUses) -> String {
    match r.subpath() {
        Some(sub) => format!("{}/{}/{sub}", r.owner(), r.repo()),
        None => format!("{}/{}", r.owner(), r.repo()),
    }
}

/// `actions/checkout` leaves its token in `.git/config`; flyctl's remote builder is sent the
/// folder, `.git` included unless `.dockerignore` leaves it out.
fn checkout_credentials(ctx: &Ctx, out: &mut Vec<Diagnostic>) {
    let mut reported: Vec<(String, usize)> = Vec::new();
    for up in &ctx.found.uploads {
        if ctx.policy.dockerignore_excludes_git(&up.dir) {
            continue;
        }
        let Some(job) = ctx.job(&up.job) else {
            continue;
        };
        for step in job.steps.iter().filter(|s| s.index < up.step) {
            let StepKind::Uses { uses, with } = &step.kind else {
                continue;
            };
            if !uses.to_ascii_lowercase().starts_with("actions/checkout@") {
                continue;
            }
            let persists = with
                .iter()
                .find(|(k, _)| k == "persist-credentials")
                .is_none_or(|(_, v)| v.trim() != "false");
            if !persists || reported.contains(&(up.job.clone(), step.index)) {
                continue;
            }
            reported.push((up.job.clone(), step.index));
            let index = step.index.to_string();
            out.push(
                Diagnostic::warning(
                    "workflow/checkout-credentials",
                    format!(
                        "`{uses}` keeps the job's GITHUB_TOKEN in `.git/config`, and the deploy at line {} uploads `{}` (with `.git`) to Fly's remote builder",
                        up.location.line, up.dir
                    ),
                    ctx.src.value(&["jobs", &up.job, "steps", &index, "uses"]),
                )
                .with_related(up.location.clone())
                .with_help("add `with: { persist-credentials: false }` to the checkout, or `.git` to `.dockerignore`. zizmor reports the checkout as `artipacked`; when it runs, its finding stands for this one"),
            );
        }
    }
}

/// `pull_request_target` runs with secrets and a write token; checking out the pull
/// request's head runs a fork's code with them.
fn fork_checkout(ctx: &Ctx, out: &mut Vec<Diagnostic>) {
    if !ctx.triggers.pull_request_target {
        return;
    }
    for job in &ctx.jobs {
        for step in &job.steps {
            let StepKind::Uses { uses, with } = &step.kind else {
                continue;
            };
            let git_ref = with
                .iter()
                .find(|(k, _)| k == "ref")
                .map_or("", |(_, v)| v.as_str());
            if uses.starts_with("actions/checkout@")
                && (git_ref.contains("pull_request.head")
                    || git_ref.contains("head_ref")
                    || git_ref.contains("refs/pull/"))
            {
                out.push(
                    Diagnostic::error(
                        "workflow/fork-secrets",
                        format!("job `{}` checks out the pull request's code under `pull_request_target`, which has secrets and a write token: a fork's pull request runs its code with them", job.id),
                        ctx.src.step(job.id, step.index),
                    )
                    .with_help("use `pull_request` for code from the pull request, or never run the checked-out code. zizmor reports this as `dangerous-triggers`; when it runs, its finding stands for this one"),
                );
            }
        }
    }
}
