//! The GITHUB_TOKEN's scopes, judged per job: a job's own `permissions:` replaces the
//! workflow's. A workflow with no block at all is left to zizmor's `excessive-permissions`
//! (which reports the default token), so it is not said twice.

use super::Ctx;
use crate::report::Diagnostic;
use github_actions_models::common::{BasePermission, Permission, Permissions};

pub fn check(ctx: &Ctx, out: &mut Vec<Diagnostic>) {
    let top = ctx.src.workflow.permissions_written();
    if let Some(Permissions::Base(BasePermission::WriteAll)) = top {
        out.push(write_all(ctx, &["permissions"], "the workflow"));
    }
    if let Some(Permissions::Explicit(scopes)) = top {
        let writes: Vec<&str> = scopes
            .iter()
            .filter(|(_, p)| **p == Permission::Write)
            .map(|(k, _)| k.as_str())
            .collect();
        let inheriting: Vec<&str> = ctx
            .jobs
            .iter()
            .filter(|j| j.permissions.is_none())
            .map(|j| j.id)
            .collect();
        if !writes.is_empty() && ctx.jobs.len() > 1 && inheriting.len() > 1 {
            out.push(
                Diagnostic::warning(
                    "workflow/permissions",
                    format!(
                        "workflow-wide write scopes ({}) reach {} jobs that set no `permissions:` of their own ({}), not only the one that needs them",
                        writes.join(", "),
                        inheriting.len(),
                        inheriting.iter().map(|j| format!("`{j}`")).collect::<Vec<_>>().join(", ")
                    ),
                    ctx.src.key(&["permissions", writes[0]]),
                )
                .with_help("set `permissions: { contents: read }` for the workflow and grant each write scope in the job that uses it. zizmor reports this as `excessive-permissions`; when it runs, its finding stands for this one"),
            );
        }
    }
    for job in &ctx.jobs {
        if let Some(Permissions::Base(BasePermission::WriteAll)) = job.permissions {
            out.push(write_all(
                ctx,
                &["jobs", job.id, "permissions"],
                &format!("job `{}`", job.id),
            ));
        }
    }
    // A deploy that records a GitHub Deployment needs `deployments: write`.
    let mut seen: Vec<&str> = Vec::new();
    for d in ctx.found.deploys.iter().filter(|d| d.records_deployments) {
        let Some(job) = ctx.job(&d.job) else { continue };
        if seen.contains(&job.id) {
            continue;
        }
        seen.push(job.id);
        let (effective, path): (Option<&Permissions>, Vec<&str>) = match job.permissions {
            Some(p) => (Some(p), vec!["jobs", job.id, "permissions"]),
            None => (top, vec!["permissions"]),
        };
        let granted = match effective {
            Some(Permissions::Base(BasePermission::WriteAll)) => true,
            Some(Permissions::Base(_)) => false,
            Some(Permissions::Explicit(m)) => m.get("deployments") == Some(&Permission::Write),
            None => continue,
        };
        if !granted {
            out.push(
                Diagnostic::error(
                    "workflow/permissions",
                    format!("job `{}` runs {}, which records a GitHub Deployment, but its token lacks `deployments: write`: the deploy stops with 403 before it starts", job.id, d.what),
                    ctx.src.key(&path),
                )
                .with_help("add `deployments: write` to the job's `permissions:`"),
            );
        }
    }
}

fn write_all(ctx: &Ctx, path: &[&str], scope: &str) -> Diagnostic {
    Diagnostic::warning(
        "workflow/permissions",
        format!("`permissions: write-all` gives {scope} every write scope of the GITHUB_TOKEN"),
        ctx.src.value(path),
    )
    .with_help("start from `permissions: {}` and grant each job the scopes it uses. zizmor reports this as `excessive-permissions`; when it runs, its finding stands for this one")
}

/// `permissions:` as written at the top (the model's default means absent).
trait Written {
    fn permissions_written(&self) -> Option<&Permissions>;
}

impl Written for github_actions_models::workflow::Workflow {
    fn permissions_written(&self) -> Option<&Permissions> {
        match &self.permissions {
            Permissions::Base(BasePermission::Default) => None,
            p => Some(p),
        }
    }
}
