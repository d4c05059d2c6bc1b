//! Markdown building blocks for the step summary: tables and mermaid stage diagrams.

/// A Markdown table. Cells have `|` and newlines escaped.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let esc = |s: &str| s.replace('|', "\\|").replace('\n', "<br>");
    let mut out = String::new();
    out.push_str(&format!("| {} |\n", headers.join(" | ")));
    out.push_str(&format!(
        "|{}\n",
        headers.iter().map(|_| "---|").collect::<String>()
    ));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| esc(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// The state of one pipeline stage in a diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageState {
    Done,
    Failed,
    Skipped,
    Pending,
}

/// A left-to-right mermaid flowchart of stages, coloured by state.
pub(crate) fn mermaid_stages(stages: &[(&str, StageState)]) -> String {
    let mut out = String::from("```mermaid\nflowchart LR\n");
    for (i, (name, _)) in stages.iter().enumerate() {
        let label = name.replace('"', "'");
        out.push_str(&format!("  s{i}[\"{label}\"]\n"));
    }
    for i in 1..stages.len() {
        out.push_str(&format!("  s{} --> s{i}\n", i - 1));
    }
    out.push_str("  classDef done fill:#d4edda,stroke:#28a745\n");
    out.push_str("  classDef failed fill:#f8d7da,stroke:#dc3545\n");
    out.push_str("  classDef skipped fill:#eeeeee,stroke:#999999\n");
    for (i, (_, state)) in stages.iter().enumerate() {
        let class = match state {
            StageState::Done => "done",
            StageState::Failed => "failed",
            StageState::Skipped | StageState::Pending => "skipped",
        };
        out.push_str(&format!("  class s{i} {class}\n"));
    }
    out.push_str("```\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_escapes_pipes() {
        let t = table(&["a", "b"], &[vec!["x|y".into(), "z".into()]]);
        assert_eq!(t, "| a | b |\n|---|---|\n| x\\|y | z |\n");
    }

    #[test]
    fn mermaid_links_stages_in_order() {
        let m = mermaid_stages(&[("check", StageState::Done), ("deploy", StageState::Failed)]);
        assert!(m.contains("s0 --> s1"));
        assert!(m.contains("class s1 failed"));
    }
}
