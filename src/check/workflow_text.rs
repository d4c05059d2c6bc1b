//! Positions in workflow YAML that `serde_yaml::Value` forgets: the line of each step of a
//! job, and which lines hold shell script (`run:`, github-script's `script:`). Block-style
//! YAML only, walked by indentation like `config::locate`; flow style falls back to the
//! enclosing key.

use crate::config::locate::locate_key;

/// 1-based line of each `- ` item under `jobs.<job>.steps`, in order.
pub fn step_lines(text: &str, job: &str) -> Vec<usize> {
    let Some((steps_line, _)) = locate_key(text, &["jobs", job, "steps"]) else {
        return Vec::new();
    };
    let lines: Vec<&str> = text.lines().collect();
    // `locate` falls back to the nearest ancestor; only a real `steps:` line will do.
    let Some(steps_text) = lines
        .get(steps_line - 1)
        .filter(|l| l.trim_start().starts_with("steps:"))
    else {
        return Vec::new();
    };
    let steps_indent = indent_of(steps_text);
    let mut item_indent = None;
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate().skip(steps_line) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = indent_of(line);
        // `steps:` items may sit at the same indent as `steps:` itself.
        if indent < steps_indent
            || (indent == steps_indent && !trimmed.starts_with("- ") && trimmed != "-")
        {
            break;
        }
        if trimmed.starts_with("- ") || trimmed == "-" {
            let first = *item_indent.get_or_insert(indent);
            if indent == first {
                out.push(i + 1);
            }
        }
    }
    out
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// A `${{ … }}` expression found in shell script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptExpr {
    pub line: usize,
    pub column: usize,
    /// The expression without `${{` / `}}`, trimmed.
    pub expr: String,
}

/// Every expression inside a `run:` (or `script:`) value, with its position.
pub fn expressions_in_scripts(text: &str) -> Vec<ScriptExpr> {
    let mut out = Vec::new();
    // Indent of the `run:` key whose block we are inside.
    let mut block: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let mut indent = indent_of(line);
        if let Some(key_indent) = block {
            if trimmed.is_empty() || indent > key_indent {
                collect(line, 0, i + 1, &mut out);
                continue;
            }
            block = None;
        }
        let mut rest = trimmed;
        if let Some(r) = rest.strip_prefix("- ") {
            indent += 2 + (r.len() - r.trim_start().len());
            rest = r.trim_start();
        }
        let Some(value) = rest
            .strip_prefix("run:")
            .or_else(|| rest.strip_prefix("script:"))
        else {
            continue;
        };
        let value_start = line.len() - value.len();
        let v = value.trim();
        if v.starts_with('|') || v.starts_with('>') {
            block = Some(indent);
        } else {
            collect(line, value_start, i + 1, &mut out);
        }
    }
    out
}

fn collect(line: &str, from: usize, line_no: usize, out: &mut Vec<ScriptExpr>) {
    let mut offset = from;
    while let Some(start) = line.get(offset..).and_then(|s| s.find("${{")) {
        let abs = offset + start;
        let Some(end) = line[abs..].find("}}") else {
            break;
        };
        let expr = line[abs + 3..abs + end].trim().to_string();
        out.push(ScriptExpr {
            line: line_no,
            column: line[..abs].chars().count() + 1,
            expr,
        });
        offset = abs + end + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WF: &str = "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - name: Deploy\n        run: |\n          echo \"${{ github.event.head_commit.message }}\"\n          flyctl deploy\n      - run: echo ${{ inputs.tag }} && echo ${{ github.sha }}\n    env:\n      X: ${{ github.event.pull_request.title }}\n";

    #[test]
    fn finds_each_step_line() {
        assert_eq!(step_lines(WF, "deploy"), vec![6, 7, 11]);
        assert_eq!(step_lines(WF, "missing"), Vec::<usize>::new());
    }

    #[test]
    fn finds_expressions_in_scripts_only() {
        let found = expressions_in_scripts(WF);
        let exprs: Vec<(usize, usize, &str)> = found
            .iter()
            .map(|e| (e.line, e.column, e.expr.as_str()))
            .collect();
        assert_eq!(
            exprs,
            vec![
                (9, 17, "github.event.head_commit.message"),
                (11, 19, "inputs.tag"),
                (11, 45, "github.sha"),
            ]
        );
    }

    #[test]
    fn steps_at_the_same_indent_as_the_key() {
        let wf = "jobs:\n  a:\n    steps:\n    - run: x\n    - run: y\n  b:\n    steps: []\n";
        assert_eq!(step_lines(wf, "a"), vec![4, 5]);
    }
}
