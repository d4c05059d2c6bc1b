//! `stage-gate check`: what was checked and what was found.

use super::CommandResult;
use crate::check::Kind;
use crate::report::{summary, Diagnostic, Severity};
use schemars::JsonSchema;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckResult {
    /// The stage-gate config checked (`no config` when there is none).
    pub config: String,
    /// No error was found.
    pub valid: bool,
    pub errors: usize,
    pub warnings: usize,
    /// Every file read, from the check's root.
    pub files: Vec<CheckedFile>,
    /// Parity comparisons made: (file, file).
    pub pairs: Vec<(PathBuf, PathBuf)>,
    /// The SARIF file written, when one was asked for.
    pub sarif: Option<PathBuf>,
    /// What happened with the external linters.
    pub notes: Vec<String>,
    /// Every finding, errors first, by file, line and column.
    pub diagnostics: Vec<Diagnostic>,
    /// Where a config was looked for, when none was found.
    #[serde(skip)]
    pub config_missing: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckedFile {
    pub kind: Kind,
    pub path: PathBuf,
}

impl CheckResult {
    fn files_of(&self, kind: Kind) -> usize {
        self.files.iter().filter(|f| f.kind == kind).count()
    }
}

impl CommandResult for CheckResult {
    const SCHEMA: &'static str = "stage-gate/check/v1";
    const SCHEMA_PATH: &'static str = "docs/schemas/check-result.json";

    fn title(&self) -> String {
        "check".into()
    }

    fn human(&self) -> String {
        format!(
            "checked {}, {} fly.toml, {} parity pair(s), {} workflow(s), {} Dockerfile(s): {} error(s), {} warning(s){}",
            self.config,
            self.files_of(Kind::FlyToml),
            self.pairs.len(),
            self.files_of(Kind::Workflow),
            self.files_of(Kind::Dockerfile),
            self.errors,
            self.warnings,
            self.notes.iter().map(|n| format!("\nnote: {n}")).collect::<String>()
        )
    }

    fn summary(&self) -> String {
        let mut rows = vec![match &self.config_missing {
            Some(looked_for) => vec!["config".to_string(), looked_for.clone()],
            None => vec![format!("config `{}`", self.config), "valid".to_string()],
        }];
        rows.push(vec![
            "fly.toml files".into(),
            self.files_of(Kind::FlyToml).to_string(),
        ]);
        rows.push(vec!["parity pairs".into(), self.pairs.len().to_string()]);
        rows.push(vec![
            "workflows".into(),
            self.files_of(Kind::Workflow).to_string(),
        ]);
        rows.push(vec![
            "Dockerfiles".into(),
            self.files_of(Kind::Dockerfile).to_string(),
        ]);
        rows.extend(
            self.notes
                .iter()
                .map(|n| vec!["note".to_string(), n.clone()]),
        );
        format!(
            "{}\n{}",
            findings_summary(&self.diagnostics),
            summary::table(&["checked", "result"], &rows)
        )
    }

    fn outputs(&self) -> Vec<(&'static str, String)> {
        let result = if self.errors > 0 {
            "failure"
        } else {
            "success"
        };
        let mut out = vec![
            ("result", result.to_string()),
            ("errors", self.errors.to_string()),
            ("warnings", self.warnings.to_string()),
        ];
        if let Some(p) = &self.sarif {
            out.push(("sarif-file", p.display().to_string()));
        }
        out
    }

    fn diagnostics(&self) -> Vec<Diagnostic> {
        self.diagnostics.clone()
    }
}

/// How many findings have `severity`.
pub fn count(diagnostics: &[Diagnostic], severity: Severity) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .count()
}

/// The step summary of findings: counts, then every finding as a table (GitHub shows only
/// 10 annotations per step, so the summary carries them all).
pub fn findings_summary(diagnostics: &[Diagnostic]) -> String {
    let errors = count(diagnostics, Severity::Error);
    let warnings = count(diagnostics, Severity::Warning);
    let rows: Vec<Vec<String>> = diagnostics
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
