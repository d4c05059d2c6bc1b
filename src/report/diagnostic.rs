//! One problem found in a file: what every checker produces and every renderer consumes
//! (annotations, step summary, SARIF, JSON, human text with a caret).

use serde::Serialize;
use std::path::PathBuf;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema, Hash,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    // Order matters: errors sort first.
    Error,
    Warning,
    Notice,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
        }
    }
}

/// A position in a file, 1-based like editors and GitHub annotations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema, Default)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// The source line, for rendering a caret under `column`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_line: Option<String>,
}

impl Location {
    pub fn new(file: impl Into<PathBuf>, line: usize, column: usize) -> Self {
        Location {
            file: file.into(),
            line,
            column,
            source_line: None,
        }
    }

    /// Attach the text of `line` from `source`, so renderers can show it with a caret.
    pub(crate) fn with_source(mut self, source: &str) -> Self {
        self.source_line = source
            .lines()
            .nth(self.line.saturating_sub(1))
            .map(str::to_string);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable rule id, e.g. `config/unknown-key`, `fly/internal-port-mismatch`.
    pub rule: String,
    pub message: String,
    pub location: Location,
    /// A second location (parity checks point at both files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// The one order of findings everywhere they are shown: errors first (GitHub shows only
/// the first 10 annotations of a step), then by file, line and column. Stable: findings at
/// the same place keep the order they were found in.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
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
}

impl Diagnostic {
    pub(crate) fn new(
        severity: Severity,
        rule: impl Into<String>,
        message: impl Into<String>,
        location: Location,
    ) -> Self {
        Diagnostic {
            severity,
            rule: rule.into(),
            message: message.into(),
            location,
            related: None,
            help: None,
        }
    }
    pub fn error(rule: impl Into<String>, message: impl Into<String>, location: Location) -> Self {
        Self::new(Severity::Error, rule, message, location)
    }
    pub fn warning(
        rule: impl Into<String>,
        message: impl Into<String>,
        location: Location,
    ) -> Self {
        Self::new(Severity::Warning, rule, message, location)
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub(crate) fn with_related(mut self, related: Location) -> Self {
        self.related = Some(related);
        self
    }

    /// Human text: `file:line:col: error[rule]: message`, the line, a caret, and help.
    pub fn render_human(&self) -> String {
        let loc = &self.location;
        let mut out = format!(
            "{}:{}:{}: {}[{}]: {}\n",
            loc.file.display(),
            loc.line,
            loc.column,
            self.severity.as_str(),
            self.rule,
            self.message
        );
        if let Some(src) = &loc.source_line {
            let gutter = loc.line.to_string();
            let pad = " ".repeat(gutter.len());
            out.push_str(&format!("{pad} |\n{gutter} | {src}\n"));
            let caret_col = loc.column.max(1) - 1;
            // Keep tabs so the caret lines up under tab-indented source.
            let lead: String = src
                .chars()
                .take(caret_col)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out.push_str(&format!("{pad} | {lead}^\n"));
        }
        if let Some(rel) = &self.related {
            out.push_str(&format!(
                "  = see also {}:{}:{}\n",
                rel.file.display(),
                rel.line,
                rel.column
            ));
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("  = help: {help}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_rendering_has_a_caret_under_the_column() {
        let src = "version: 1\napps:\n  web:\n    enviroments: {}\n";
        let d = Diagnostic::error(
            "config/unknown-key",
            "unknown key `enviroments`",
            Location::new(".github/stage-gate.yml", 4, 5).with_source(src),
        )
        .with_help("did you mean `environments`?");
        let text = d.render_human();
        assert!(text.starts_with(".github/stage-gate.yml:4:5: error[config/unknown-key]"));
        assert!(text.contains("4 |     enviroments: {}\n"));
        assert!(text.contains("  |     ^\n"));
        assert!(text.contains("help: did you mean `environments`?"));
    }
}
