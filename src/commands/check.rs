//! `stage-gate check`: the stage-gate config (validated while the context was built —
//! reaching here means it loaded), then every fly.toml, parity between environments,
//! deploy workflows and production Dockerfiles (`crate::check`). Builds the report:
//! annotations errors first, everything in the step summary, SARIF, JSON, human text.

use crate::check;
use crate::cli::CheckArgs;
use crate::context::Ctx;
use crate::exit::Failure;
use crate::report::results::check::{count, findings_summary, CheckResult, CheckedFile};
use crate::report::{diagnostic, sarif, Diagnostic, Report, Severity};
use std::path::PathBuf;

/// Where `root` is inside its git repository (`apps/web`), when it is in a subfolder of one.
fn repo_prefix(root: &std::path::Path) -> Option<PathBuf> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--show-prefix"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let prefix = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!prefix.is_empty()).then(|| PathBuf::from(prefix.trim_end_matches('/')))
}

/// `file` (relative to the check's root) as a path from the repository's top level; a path
/// that leaves the repository is kept as given.
fn from_top(prefix: &std::path::Path, file: &std::path::Path) -> PathBuf {
    use std::path::Component;
    if file.is_absolute() {
        return file.to_path_buf();
    }
    let mut parts: Vec<std::ffi::OsString> = prefix.iter().map(|p| p.to_os_string()).collect();
    for c in file.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return file.to_path_buf();
                }
            }
            other => parts.push(other.as_os_str().to_os_string()),
        }
    }
    parts.iter().collect()
}

pub async fn run(ctx: &Ctx, args: &CheckArgs) -> Result<Report, Failure> {
    // Tests (and users who want only our findings) turn the external linters off.
    let linters_off = ctx.env.get("STAGE_GATE_EXTERNAL_LINTERS") == Some("off");
    let outcome = check::run(&check::Request {
        root: &ctx.root,
        config: &ctx.config,
        paths: &args.paths,
        linter_path: if linters_off {
            None
        } else {
            ctx.env.get("PATH")
        },
    })
    .await;
    let prefix = repo_prefix(&ctx.root);
    let diagnostics = diagnostics_of(ctx, outcome.diagnostics, prefix.as_deref());
    let sarif = sarif_path(ctx, args);
    if let Some(path) = &sarif {
        write_sarif(ctx, path, &diagnostics, prefix.as_deref())?;
    }
    let config = ctx
        .config
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "no config".into());
    let errors = count(&diagnostics, Severity::Error);
    let result = CheckResult {
        config,
        valid: errors == 0,
        errors,
        warnings: count(&diagnostics, Severity::Warning),
        files: (outcome.checked.into_iter())
            .map(|(kind, path)| CheckedFile { kind, path })
            .collect(),
        pairs: outcome.pairs,
        sarif,
        notes: outcome.notes,
        diagnostics,
        config_missing: ctx.config_missing.as_ref().map(|m| m.looked_for()),
    };
    Ok(Report::of(&result))
}

/// The findings, with the missing config's notice, named from the repository's top level
/// (annotations and SARIF land on no line of the pull request otherwise, also when the
/// check runs in a monorepo folder), errors first: GitHub shows only 10 annotations a step.
fn diagnostics_of(
    ctx: &Ctx,
    mut diagnostics: Vec<Diagnostic>,
    prefix: Option<&std::path::Path>,
) -> Vec<Diagnostic> {
    if let Some(missing) = &ctx.config_missing {
        diagnostics.push(missing.notice());
    }
    if let Some(prefix) = prefix {
        for d in &mut diagnostics {
            d.location.file = from_top(prefix, &d.location.file);
            if let Some(r) = &mut d.related {
                r.file = from_top(prefix, &r.file);
            }
        }
    }
    diagnostic::sort(&mut diagnostics);
    diagnostics
}

/// `--sarif-file`, else the `sarif-file` input.
fn sarif_path(ctx: &Ctx, args: &CheckArgs) -> Option<PathBuf> {
    args.sarif.clone().or_else(|| {
        ctx.inputs
            .get("sarif-file")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    })
}

/// One category per job and folder: matrix legs and monorepo folders do not overwrite each
/// other's code-scanning results.
fn write_sarif(
    ctx: &Ctx,
    path: &std::path::Path,
    diagnostics: &[Diagnostic],
    prefix: Option<&std::path::Path>,
) -> Result<(), Failure> {
    let job = ctx.env.get("GITHUB_JOB").unwrap_or("check");
    let folder = prefix
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_else(|| ".".into());
    let category = format!("stage-gate/{job}/{folder}/");
    sarif::write(
        path,
        diagnostics,
        env!("CARGO_PKG_VERSION"),
        &category,
        &ctx.console.redactor,
    )
    .map_err(|e| Failure::internal(format!("cannot write SARIF to {}: {e}", path.display())))
}

/// The step summary of a check: counts, then every finding as a table (GitHub shows only
/// 10 annotations per step, so the summary carries them all).
pub fn summary_of(report: &Report) -> String {
    findings_summary(&report.diagnostics)
}

#[cfg(test)]
mod tests {
    use super::from_top;
    use std::path::{Path, PathBuf};

    #[test]
    fn paths_are_named_from_the_repository_top() {
        let p = Path::new("apps/web");
        assert_eq!(
            from_top(p, Path::new("fly.toml")),
            PathBuf::from("apps/web/fly.toml")
        );
        assert_eq!(
            from_top(p, Path::new("../api/fly.toml")),
            PathBuf::from("apps/api/fly.toml")
        );
        // Outside the repository: as given.
        assert_eq!(
            from_top(p, Path::new("../../../elsewhere/fly.toml")),
            PathBuf::from("../../../elsewhere/fly.toml")
        );
    }
}
