//! What a command tells the world when it ends: step outputs, the step summary,
//! annotations, SARIF and JSON. Commands build a [`Report`]; [`emit`] writes it.

pub(crate) mod console;
pub mod diagnostic;
pub(crate) mod gha;
pub mod results;
pub mod rules;
pub mod sarif;
pub(crate) mod summary;

pub use console::Console;
pub use diagnostic::{Diagnostic, Location, Severity};

use serde::Serialize;
use std::path::PathBuf;

/// How the final result is printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Readable text (the default outside Actions).
    #[default]
    Human,
    /// One JSON document.
    Json,
    /// Workflow commands: annotations and masks (the default under Actions).
    Github,
    /// `plan` only: JSON for `strategy.matrix: ${{ fromJSON(...) }}`, alone on stdout. Hidden
    /// from `--help`, where every command lists the formats: plan documents it under
    /// `--output`, and the `format` input takes it for plan (the action has no `output`).
    #[value(hide = true)]
    Matrix,
}

impl Format {
    /// A clap parser of `allowed` formats only (plan's `--output` takes human, json and
    /// matrix): any other is refused by clap, exit 2, with the values that are.
    pub(crate) fn parser(
        allowed: &[Format],
    ) -> impl clap::builder::TypedValueParser<Value = Format> {
        use clap::builder::TypedValueParser;
        use clap::ValueEnum;
        let names: Vec<clap::builder::PossibleValue> = allowed
            .iter()
            .filter_map(|f| f.to_possible_value())
            .map(|v| match v.get_name() {
                // Matrix's own help speaks of where it is hidden: here it is shown.
                "matrix" => v
                    .hide(false)
                    .help("JSON for `strategy.matrix: ${{ fromJSON(...) }}`"),
                _ => v,
            })
            .collect();
        clap::builder::PossibleValuesParser::new(names)
            .map(|name| Format::from_str(&name, false).expect("a possible value"))
    }

    /// The text a command prints for this format when it has a text of its own: github's
    /// text is the human one.
    pub fn text(self) -> Format {
        match self {
            Format::Github => Format::Human,
            other => other,
        }
    }
}

/// Where Actions wants its files; empty outside Actions.
#[derive(Debug, Clone, Default)]
pub struct ActionsFiles {
    pub output: Option<PathBuf>,
    pub summary: Option<PathBuf>,
}

/// The result of one command.
#[derive(Debug, Default)]
pub struct Report {
    /// Short title, e.g. "check", "deploy staging".
    pub title: String,
    /// Step outputs, in order. Also included in the JSON document.
    pub outputs: Vec<(String, String)>,
    /// Markdown for the step summary.
    pub summary: String,
    pub diagnostics: Vec<Diagnostic>,
    /// The JSON document for `--format json` (outputs are merged in when it is an object).
    pub json: serde_json::Value,
    /// Human text printed on stdout for `--format human`.
    pub human: String,
    /// The exit code when the command finished its report but failed (a health gate said
    /// unhealthy): the report is still emitted in full. None: decided by the diagnostics.
    pub exit: Option<crate::exit::Exit>,
}

impl Report {
    pub fn new(title: impl Into<String>) -> Self {
        Report {
            title: title.into(),
            json: serde_json::Value::Object(Default::default()),
            ..Default::default()
        }
    }

    pub fn output(&mut self, name: &str, value: impl ToString) {
        let value = value.to_string();
        if let Some(slot) = self.outputs.iter_mut().find(|(n, _)| n == name) {
            slot.1 = value;
        } else {
            self.outputs.push((name.to_string(), value));
        }
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// The step summary of a report that wrote none: its title, and its text as printed.
fn fallback_summary(report: &Report) -> String {
    let mut md = format!("### stage-gate {}\n", report.title);
    if !report.human.trim().is_empty() {
        md.push_str(&format!("\n```\n{}\n```\n", report.human.trim_end()));
    }
    md
}

/// Write the report: outputs and summary files (when under Actions), then stdout in `format`.
/// Annotations written per rule; the rest are in the step summary.
pub const ANNOTATIONS_PER_RULE: usize = 5;

/// Every byte passes the console's redactor.
/// The shape version every `--format json` document carries (`schema`), unless its command
/// has a typed result of its own (`stage-gate/deploy/v1`, documented in `docs/schemas/`).
pub const JSON_SCHEMA_VERSION: &str = "stage-gate/v1";

pub fn emit(
    report: &mut Report,
    format: Format,
    files: &ActionsFiles,
    console: &Console,
    stdout: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let redact = |s: &str| console.redactor.redact(s);
    diagnostic::sort(&mut report.diagnostics);
    if let Some(path) = &files.output {
        for (name, value) in &report.outputs {
            gha::write_output(path, name, &redact(value))?;
        }
    }
    if let Some(path) = &files.summary {
        // Every command leaves a summary; one that wrote none gets its text under its title.
        if report.summary.is_empty() {
            report.summary = fallback_summary(report);
        }
        gha::append_summary(path, &redact(&report.summary))?;
    }
    match format {
        Format::Json => {
            let mut doc = report.json.clone();
            if let serde_json::Value::Object(map) = &mut doc {
                // Every document says which shape it has; a typed result names its own.
                if !map.contains_key("schema") {
                    map.insert("schema".into(), JSON_SCHEMA_VERSION.into());
                }
                if !report.outputs.is_empty() && !map.contains_key("outputs") {
                    let outputs: serde_json::Map<String, serde_json::Value> = report
                        .outputs
                        .iter()
                        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                        .collect();
                    map.insert("outputs".into(), outputs.into());
                }
                if !report.diagnostics.is_empty() && !map.contains_key("diagnostics") {
                    map.insert(
                        "diagnostics".into(),
                        serde_json::to_value(&report.diagnostics).unwrap_or_default(),
                    );
                }
            }
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            writeln!(stdout, "{}", redact(&text))?;
        }
        Format::Github => {
            // GitHub shows ten error annotations a step: a handful per rule keeps each rule
            // visible; the step summary has the full list.
            let mut per_rule: std::collections::BTreeMap<&str, usize> = Default::default();
            for d in &report.diagnostics {
                let n = per_rule.entry(d.rule.as_str()).or_default();
                *n += 1;
                if *n <= ANNOTATIONS_PER_RULE {
                    writeln!(stdout, "{}", redact(&gha::annotation(d)))?;
                }
            }
            for (rule, n) in per_rule.iter().filter(|(_, n)| **n > ANNOTATIONS_PER_RULE) {
                writeln!(
                    stdout,
                    "::notice title=stage-gate::{} more `{rule}` finding(s) are listed in the step summary",
                    n - ANNOTATIONS_PER_RULE
                )?;
            }
            if !report.human.is_empty() {
                writeln!(stdout, "{}", redact(report.human.trim_end()))?;
            }
        }
        Format::Human | Format::Matrix => {
            for d in &report.diagnostics {
                writeln!(stdout, "{}", redact(&d.render_human()))?;
            }
            if !report.human.is_empty() {
                writeln!(stdout, "{}", redact(report.human.trim_end()))?;
            } else if !report.outputs.is_empty() {
                for (k, v) in &report.outputs {
                    if v.contains('\n') {
                        writeln!(stdout, "{k}:\n{}", redact(v))?;
                    } else {
                        writeln!(stdout, "{k}: {}", redact(v))?;
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_without_a_summary_still_leaves_one() {
        let dir = tempfile::tempdir().unwrap();
        let files = ActionsFiles {
            output: None,
            summary: Some(dir.path().join("summary")),
        };
        let (console, _) = Console::capture(crate::secret::Redactor::new());
        let mut report = Report::new("notes --changelog");
        report.human = "wrote CHANGELOG.md (3 release(s))".into();
        emit(
            &mut report,
            Format::Human,
            &files,
            &console,
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("summary")).unwrap(),
            "### stage-gate notes --changelog\n\n```\nwrote CHANGELOG.md (3 release(s))\n```\n"
        );
    }
}
