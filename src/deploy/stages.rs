//! The stages of one deploy with their timings, for the step summary and JSON.

use crate::report::summary::{self, StageState as Diagram};
use serde::Serialize;
use std::time::Instant;

pub use crate::report::summary::StageState;

#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub name: &'static str,
    #[serde(serialize_with = "state_name")]
    pub state: StageState,
    pub millis: u128,
    pub detail: String,
}

fn state_name<S: serde::Serializer>(s: &StageState, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(state_word(s))
}

/// `done`, `failed`, `skipped`, `pending`.
pub fn state_word(s: &StageState) -> &'static str {
    match s {
        Diagram::Done => "done",
        Diagram::Failed => "failed",
        Diagram::Skipped => "skipped",
        Diagram::Pending => "pending",
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Stages(pub Vec<Stage>);

impl Stages {
    pub fn push(
        &mut self,
        name: &'static str,
        state: StageState,
        started: Instant,
        detail: String,
    ) {
        self.0.push(Stage {
            name,
            state,
            millis: started.elapsed().as_millis(),
            detail,
        });
    }

    pub fn table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .0
            .iter()
            .map(|s| {
                vec![
                    s.name.to_string(),
                    match s.state {
                        Diagram::Done => "✅ done",
                        Diagram::Failed => "❌ failed",
                        Diagram::Skipped => "⏭ skipped",
                        Diagram::Pending => "… pending",
                    }
                    .to_string(),
                    format!("{:.1}s", s.millis as f64 / 1000.0),
                    s.detail.clone(),
                ]
            })
            .collect();
        summary::table(&["stage", "result", "time", "detail"], &rows)
    }

    pub fn diagram(&self) -> String {
        let stages: Vec<(&str, StageState)> = self.0.iter().map(|s| (s.name, s.state)).collect();
        summary::mermaid_stages(&stages)
    }
}
