//! `stage-gate notify`: the event sent, and where it went.

use super::CommandResult;
use crate::notify::Event;
use crate::report::summary;
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Debug, Serialize, JsonSchema)]
pub struct NotifyResult {
    /// The event, as the webhooks received it.
    pub event: Event,
    /// One per delivery: (kind, target, result), e.g. (`dispatch`, `deploy-production.yml`,
    /// `dispatched`) or (`webhook`, URL, `sent the success event`).
    pub sent: Vec<(String, String, String)>,
}

impl CommandResult for NotifyResult {
    const SCHEMA: &'static str = "stage-gate/notify/v1";
    const SCHEMA_PATH: &'static str = "docs/schemas/notify-result.json";

    fn title(&self) -> String {
        "notify".into()
    }

    fn human(&self) -> String {
        (self.sent.iter())
            .map(|(kind, target, result)| format!("{kind} {target}: {result}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn summary(&self) -> String {
        let rows: Vec<Vec<String>> = (self.sent.iter())
            .map(|(k, t, r)| vec![k.clone(), t.clone(), r.clone()])
            .collect();
        format!(
            "### stage-gate notify\n\n{}",
            summary::table(&["kind", "target", "result"], &rows)
        )
    }

    fn outputs(&self) -> Vec<(&'static str, String)> {
        vec![("result", "success".into())]
    }
}
