//! `stage-gate health`: the verdict of every gate, with its evidence; or, in a dry run, the
//! probes it would make.

use super::CommandResult;
use crate::health::{GateReport, Verdict};
use crate::report::summary;
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum HealthResult {
    Gates(HealthGates),
    DryRun(HealthDryRun),
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct HealthGates {
    /// The worst verdict: unhealthy beats timeout beats healthy.
    pub verdict: Verdict,
    /// One per gate: each probe's evidence.
    pub gates: Vec<GateReport>,
    /// `--rollback`: each target whose gate failed, as (app, to, restored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Vec<(String, String, String)>>,
    /// `--rollback`: whether every failed target was restored.
    #[serde(skip)]
    pub restored_all: bool,
    #[serde(skip)]
    pub environment: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct HealthDryRun {
    /// Always true.
    pub dry_run: bool,
    /// Every probe that would be made, in words.
    pub probes: Vec<String>,
}

/// Unhealthy beats timeout beats healthy.
pub fn worst(reports: &[GateReport]) -> Verdict {
    let verdicts: Vec<Verdict> = reports.iter().map(|r| r.verdict).collect();
    if verdicts.contains(&Verdict::Unhealthy) {
        Verdict::Unhealthy
    } else if verdicts.contains(&Verdict::Timeout) {
        Verdict::Timeout
    } else {
        Verdict::Healthy
    }
}

impl CommandResult for HealthResult {
    const SCHEMA: &'static str = "stage-gate/health/v1";
    const SCHEMA_PATH: &'static str = "docs/schemas/health-result.json";

    fn title(&self) -> String {
        match self {
            HealthResult::Gates(g) => format!("health {}", g.environment.as_deref().unwrap_or("")),
            HealthResult::DryRun(_) => "health (dry run)".into(),
        }
    }

    fn human(&self) -> String {
        match self {
            HealthResult::Gates(g) => {
                let mut text = (g.gates.iter())
                    .map(GateReport::human)
                    .collect::<Vec<_>>()
                    .join("\n");
                for (app, to, restored) in g.rollback.iter().flatten() {
                    text.push_str(&format!("\nrolled back {app} → {to}: {restored}"));
                }
                text
            }
            HealthResult::DryRun(d) => d.probes.join("\n"),
        }
    }

    fn summary(&self) -> String {
        match self {
            HealthResult::Gates(g) => {
                let mut md = format!(
                    "### stage-gate health: {}\n\n{}",
                    g.verdict.as_str(),
                    (g.gates.iter())
                        .map(GateReport::summary)
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                if let Some(rows) = &g.rollback {
                    let rows: Vec<Vec<String>> = (rows.iter())
                        .map(|(a, t, r)| vec![a.clone(), t.clone(), r.clone()])
                        .collect();
                    md.push_str(&format!(
                        "\n#### rollback after the failed gate\n\n{}",
                        summary::table(&["app", "to", "restored"], &rows)
                    ));
                }
                md
            }
            HealthResult::DryRun(d) => format!(
                "### stage-gate health (dry run)\n\n```\n{}\n```\n",
                d.probes.join("\n")
            ),
        }
    }

    fn outputs(&self) -> Vec<(&'static str, String)> {
        let HealthResult::Gates(g) = self else {
            return Vec::new();
        };
        let result = if g.verdict == Verdict::Healthy {
            "success"
        } else {
            "failure"
        };
        let mut out = vec![
            ("verdict", g.verdict.as_str().to_string()),
            ("result", result.to_string()),
        ];
        if g.rollback.is_some() {
            let restored = if g.restored_all {
                "restored"
            } else {
                "not-restored"
            };
            out.push(("rollback", restored.to_string()));
        }
        out
    }
}
