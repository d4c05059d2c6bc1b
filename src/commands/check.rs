//! `stage-gate check`: validates the stage-gate config (fly.toml, parity, workflow and
//! Dockerfile checks land in `check/`).

use crate::cli::CheckArgs;
use crate::context::Ctx;
use crate::exit::Failure;
use crate::report::{summary, Report, Severity};

pub async fn run(ctx: &Ctx, _args: &CheckArgs) -> Result<Report, Failure> {
    // The config was loaded (and its errors reported) while building the context; reaching
    // here means it is valid.
    let mut report = Report::new("check");
    let errors = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    report.output("errors", errors);
    report.output("warnings", warnings);
    let config = ctx
        .config
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "(none found)".into());
    report.summary = format!(
        "### stage-gate check\n\n{}",
        summary::table(
            &["what", "result"],
            &[vec![format!("config `{config}`"), "valid".into()]]
        )
    );
    report.human = format!("{config}: valid ({} app(s))", ctx.config.apps.len());
    report.json = serde_json::json!({"config": config, "valid": true, "errors": errors, "warnings": warnings});
    Ok(report)
}

/// The step summary of a check: counts, then every finding as a table (GitHub shows only
/// 10 annotations per step, so the summary carries them all).
pub fn summary_of(report: &Report) -> String {
    let errors = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    let rows: Vec<Vec<String>> = report
        .diagnostics
        .iter()
        .map(|d| {
            vec![
                d.severity.as_str().to_string(),
                format!(
                    "{}:{}:{}",
                    d.location.file.display(),
                    d.location.line,
                    d.location.column
                ),
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
