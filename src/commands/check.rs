//! `stage-gate check`: the stage-gate config (validated while the context was built —
//! reaching here means it loaded), then every fly.toml, parity between environments,
//! deploy workflows and production Dockerfiles (`crate::check`). Builds the report:
//! annotations errors first, everything in the step summary, SARIF, JSON, human text.

use crate::check::{self, Kind};
use crate::cli::CheckArgs;
use crate::context::Ctx;
use crate::exit::Failure;
use crate::report::{sarif, summary, Report, Severity};
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

    let mut report = Report::new("check");
    report.diagnostics = outcome.diagnostics;
    if let Some(missing) = &ctx.config_missing {
        report.diagnostics.push(missing.notice());
    }
    // Annotations and SARIF name files from the repository's top level, also when the check
    // runs in a monorepo folder: else they land on no line of the pull request.
    let prefix = repo_prefix(&ctx.root);
    if let Some(prefix) = &prefix {
        for d in &mut report.diagnostics {
            d.location.file = from_top(prefix, &d.location.file);
            if let Some(r) = &mut d.related {
                r.file = from_top(prefix, &r.file);
            }
        }
    }
    // Errors first: GitHub shows only the first 10 annotations of a step.
    report.diagnostics.sort_by(|a, b| {
        (
            a.severity,
            &a.location.file,
            a.location.line,
            a.location.column,
        )
            .cmp(&(
                b.severity,
                &b.location.file,
                b.location.line,
                b.location.column,
            ))
    });
    let errors = count(&report, Severity::Error);
    let warnings = count(&report, Severity::Warning);

    let sarif_path = args.sarif.clone().or_else(|| {
        ctx.inputs
            .get("sarif-file")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    });
    if let Some(path) = &sarif_path {
        // One category per job and folder: matrix legs and monorepo folders do not
        // overwrite each other's code-scanning results.
        let job = ctx.env.get("GITHUB_JOB").unwrap_or("check");
        let folder = prefix
            .as_deref()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_else(|| ".".into());
        let category = format!("stage-gate/{job}/{folder}/");
        sarif::write(
            path,
            &report.diagnostics,
            env!("CARGO_PKG_VERSION"),
            &category,
            &ctx.console.redactor,
        )
        .map_err(|e| Failure::internal(format!("cannot write SARIF to {}: {e}", path.display())))?;
    }

    let config = ctx
        .config
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "no config".into());
    let files_of = |k: Kind| {
        outcome
            .checked
            .iter()
            .filter(|(kind, _)| *kind == k)
            .count()
    };
    let (fly, wf, docker) = (
        files_of(Kind::FlyToml),
        files_of(Kind::Workflow),
        files_of(Kind::Dockerfile),
    );

    report.output("result", if errors > 0 { "failure" } else { "success" });
    report.output("errors", errors);
    report.output("warnings", warnings);
    if let Some(p) = &sarif_path {
        report.output("sarif-file", p.display());
    }

    let mut rows = vec![match &ctx.config_missing {
        Some(missing) => vec!["config".to_string(), missing.looked_for()],
        None => vec![format!("config `{config}`"), "valid".to_string()],
    }];
    rows.push(vec!["fly.toml files".into(), fly.to_string()]);
    rows.push(vec!["parity pairs".into(), outcome.pairs.len().to_string()]);
    rows.push(vec!["workflows".into(), wf.to_string()]);
    rows.push(vec!["Dockerfiles".into(), docker.to_string()]);
    rows.extend(
        outcome
            .notes
            .iter()
            .map(|n| vec!["note".to_string(), n.clone()]),
    );
    report.summary = format!(
        "{}\n{}",
        summary_of(&report),
        summary::table(&["checked", "result"], &rows)
    );
    report.human = format!(
        "checked {config}, {fly} fly.toml, {} parity pair(s), {wf} workflow(s), {docker} Dockerfile(s): {errors} error(s), {warnings} warning(s){}",
        outcome.pairs.len(),
        outcome.notes.iter().map(|n| format!("\nnote: {n}")).collect::<String>()
    );
    report.json = serde_json::json!({
        "config": config,
        "valid": errors == 0,
        "errors": errors,
        "warnings": warnings,
        "files": outcome.checked.iter().map(|(k, p)| serde_json::json!({"kind": k, "path": p})).collect::<Vec<_>>(),
        "pairs": outcome.pairs,
        "sarif": sarif_path,
        "notes": outcome.notes,
        "diagnostics": report.diagnostics,
    });
    Ok(report)
}

fn count(report: &Report, severity: Severity) -> usize {
    report
        .diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .count()
}

/// The step summary of a check: counts, then every finding as a table (GitHub shows only
/// 10 annotations per step, so the summary carries them all).
pub fn summary_of(report: &Report) -> String {
    let errors = count(report, Severity::Error);
    let warnings = count(report, Severity::Warning);
    let rows: Vec<Vec<String>> = report
        .diagnostics
        .iter()
        .map(|d| {
            let mut place = format!(
                "{}:{}:{}",
                d.location.file.display(),
                d.location.line,
                d.location.column
            );
            if let Some(r) = &d.related {
                place.push_str(&format!(" ↔ {}:{}", r.file.display(), r.line));
            }
            vec![
                d.severity.as_str().to_string(),
                place,
                d.rule.clone(),
                match &d.help {
                    Some(h) => format!("{} ({h})", d.message),
                    None => d.message.clone(),
                },
            ]
        })
        .collect();
    format!(
        "### stage-gate check: {errors} error(s), {warnings} warning(s)\n\n{}",
        summary::table(&["severity", "where", "rule", "message"], &rows)
    )
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
