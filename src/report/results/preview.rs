//! `preview`'s result as people and workflows read it: a line per app (or per preview a
//! sweep found), the step summary's tables, and the outputs.

use super::CommandResult;
use crate::preview::PreviewResult;
use crate::report::summary;

impl PreviewResult {
    fn heading(&self) -> String {
        match self.pr {
            Some(pr) => {
                // The commit `up` brought up, which a run without an event chose itself.
                let at = self
                    .sha
                    .as_deref()
                    .map(|s| format!(" at {}", crate::git::abbrev(s, 7)))
                    .unwrap_or_default();
                format!("preview {} #{pr}{at} ({})", self.action, self.environment)
            }
            None => format!("preview {} ({})", self.action, self.environment),
        }
    }
}

impl CommandResult for PreviewResult {
    const SCHEMA: &'static str = "stage-gate/preview/v1";
    const SCHEMA_PATH: &'static str = "docs/schemas/preview-result.json";

    fn title(&self) -> String {
        self.heading()
    }

    fn human(&self) -> String {
        render(self).0
    }

    fn summary(&self) -> String {
        render(self).1
    }

    fn outputs(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![("result", self.result.clone())];
        if let Some(url) = self.previews.iter().find_map(|p| p.url.clone()) {
            out.push(("environment-url", url));
        }
        if let Some(id) = self.previews.iter().find_map(|p| p.deployment_id) {
            out.push(("deployment-id", id.to_string()));
        }
        out.push((
            "previews",
            serde_json::to_string(&self.previews).unwrap_or_else(|_| "[]".into()),
        ));
        out
    }
}

/// The human text and the step summary.
fn render(r: &PreviewResult) -> (String, String) {
    let title = r.heading();
    let mut human = format!("{title}: {}\n", r.result);
    let mut md = format!("### stage-gate {title}\n\n");
    if r.dry_run {
        md.push_str("**dry run**: nothing was changed\n\n");
    }
    if let Some(n) = &r.notice {
        human.push_str(&format!("  {n}\n"));
        md.push_str(&format!("> {n}\n\n"));
    }
    if !r.previews.is_empty() {
        let rows: Vec<Vec<String>> = r
            .previews
            .iter()
            .map(|p| {
                vec![
                    p.app.clone(),
                    p.resource.clone(),
                    p.state.clone(),
                    p.url
                        .clone()
                        .map(|u| format!("[{u}]({u})"))
                        .unwrap_or_default(),
                    p.digest
                        .clone()
                        .map(|d| format!("`{d}`"))
                        .unwrap_or_default(),
                    p.error
                        .clone()
                        .or_else(|| p.health.clone())
                        .unwrap_or_else(|| p.notes.join("; ")),
                ]
            })
            .collect();
        md.push_str(&summary::table(
            &["app", "resource", "state", "URL", "runs", "detail"],
            &rows,
        ));
        for p in &r.previews {
            human.push_str(&format!(
                "  {:<12} {:<10} {}{}\n",
                p.app,
                p.state,
                p.url.as_deref().unwrap_or(&p.resource),
                p.digest
                    .as_deref()
                    .map(|d| format!("  runs {d}"))
                    .unwrap_or_default()
            ));
            for note in &p.notes {
                human.push_str(&format!("      {note}\n"));
            }
            if let Some(h) = &p.health {
                human.push_str(&format!("      health: {h}\n"));
            }
            if let Some(e) = &p.error {
                human.push_str(&format!("      error: {e}\n"));
            }
        }
    }
    if !r.sweep.is_empty() {
        let rows: Vec<Vec<String>> = r
            .sweep
            .iter()
            .map(|d| {
                vec![
                    d.resource.clone(),
                    d.pr.map(|p| format!("#{p}")).unwrap_or_default(),
                    d.decision.clone(),
                    d.reason.clone(),
                ]
            })
            .collect();
        md.push_str(&summary::table(
            &["preview", "pull request", "decision", "why"],
            &rows,
        ));
        for d in &r.sweep {
            human.push_str(&format!(
                "  {:<24} {:<11} {}\n",
                d.resource, d.decision, d.reason
            ));
        }
    } else if r.action == "sweep" {
        human.push_str("  no previews found\n");
        md.push_str("No previews found.\n");
    }
    if let Some(u) = &r.comment_url {
        md.push_str(&format!("\n[The pull request's preview comment]({u})\n"));
    }
    (human, md)
}
