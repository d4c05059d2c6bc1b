//! actionlint and zizmor, when they are on PATH: run them over the workflows and turn their
//! output (actionlint JSON, zizmor SARIF) into diagnostics merged with ours. They are
//! optional helpers; a missing or failing tool never fails the check.

use crate::report::{Diagnostic, Location, Severity};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long one linter may run before we give up on it.
const TIMEOUT: Duration = Duration::from_secs(120);

/// The executable `name` in the directories of `path_var` (a PATH value).
pub fn find_on_path(name: &str, path_var: Option<&str>) -> Option<PathBuf> {
    std::env::split_paths(path_var?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Run zizmor (offline, SARIF) over `files` (repo-relative) in `root`.
pub async fn zizmor(
    bin: &Path,
    root: &Path,
    files: &[PathBuf],
    path_var: Option<&str>,
) -> Result<Vec<Diagnostic>, String> {
    let mut args: Vec<String> = ["--offline", "--format", "sarif"]
        .map(String::from)
        .to_vec();
    // The repository's own zizmor policy applies (e.g. which actions may be ref-pinned);
    // zizmor does not find it by itself when it is handed single files.
    if let Some(config) = [".github/zizmor.yml", "zizmor.yml", ".github/zizmor.yaml"]
        .iter()
        .map(|p| root.join(p))
        .find(|p| p.is_file())
    {
        args.push("--config".into());
        args.push(config.to_string_lossy().into_owned());
    }
    args.extend(files.iter().map(|f| f.to_string_lossy().into_owned()));
    let stdout = run(bin, root, &args, path_var).await?;
    parse_sarif("zizmor", &stdout)
}

/// Run actionlint (JSON lines template) over `files` in `root`.
pub async fn actionlint(
    bin: &Path,
    root: &Path,
    files: &[PathBuf],
    path_var: Option<&str>,
) -> Result<Vec<Diagnostic>, String> {
    let mut args: Vec<String> = vec!["-format".into(), "{{json .}}".into(), "-no-color".into()];
    args.extend(files.iter().map(|f| f.to_string_lossy().into_owned()));
    let stdout = run(bin, root, &args, path_var).await?;
    parse_actionlint(&stdout)
}

async fn run(
    bin: &Path,
    root: &Path,
    args: &[String],
    path_var: Option<&str>,
) -> Result<String, String> {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(args)
        .current_dir(root)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    if let Some(p) = path_var {
        cmd.env("PATH", p);
    }
    let name = bin.file_name().map_or_else(
        || bin.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let out = tokio::time::timeout(TIMEOUT, cmd.output())
        .await
        .map_err(|_| format!("{name} did not finish within {}s", TIMEOUT.as_secs()))?
        .map_err(|e| format!("cannot run {name}: {e}"))?;
    // Both tools exit non-zero when they find something; only empty output is a failure.
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if stdout.trim().is_empty() && !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        // The first `error:` line says why (what follows is usually a backtrace).
        let why = err
            .lines()
            .find(|l| l.trim_start().starts_with("error"))
            .or_else(|| err.lines().find(|l| !l.trim().is_empty()))
            .unwrap_or("")
            .trim();
        return Err(format!("{name} failed ({}): {why}", out.status));
    }
    Ok(stdout)
}

/// Results of a SARIF document as diagnostics, rule ids prefixed with `tool/`.
pub fn parse_sarif(tool: &str, text: &str) -> Result<Vec<Diagnostic>, String> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| format!("{tool}: unreadable SARIF: {e}"))?;
    let mut out = Vec::new();
    for run in doc["runs"].as_array().into_iter().flatten() {
        for r in run["results"].as_array().into_iter().flatten() {
            let rule = r["ruleId"].as_str().unwrap_or("finding");
            let rule = if rule.starts_with(&format!("{tool}/")) {
                rule.to_string()
            } else {
                format!("{tool}/{rule}")
            };
            let severity = match r["level"].as_str() {
                Some("error") => Severity::Error,
                Some("note") | Some("none") => Severity::Notice,
                _ => Severity::Warning,
            };
            let phys = &r["locations"][0]["physicalLocation"];
            let file = phys["artifactLocation"]["uri"].as_str().unwrap_or("");
            let line = phys["region"]["startLine"].as_u64().unwrap_or(1) as usize;
            let column = phys["region"]["startColumn"].as_u64().unwrap_or(1) as usize;
            let message = r["message"]["text"].as_str().unwrap_or("").to_string();
            out.push(Diagnostic::new(
                severity,
                rule,
                message,
                Location::new(file, line, column),
            ));
        }
    }
    Ok(out)
}

/// actionlint's `{{json .}}` output: one JSON array of errors.
pub fn parse_actionlint(text: &str) -> Result<Vec<Diagnostic>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let items: Vec<Value> =
        serde_json::from_str(text).map_err(|e| format!("actionlint: unreadable JSON: {e}"))?;
    Ok(items
        .iter()
        .map(|i| {
            let kind = i["kind"].as_str().unwrap_or("error");
            Diagnostic::error(
                format!("actionlint/{kind}"),
                i["message"].as_str().unwrap_or("").to_string(),
                Location::new(
                    i["filepath"].as_str().unwrap_or(""),
                    i["line"].as_u64().unwrap_or(1) as usize,
                    i["column"].as_u64().unwrap_or(1) as usize,
                ),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sarif_results_become_diagnostics() {
        let sarif = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"zizmor"}},"results":[
            {"ruleId":"zizmor/template-injection","level":"error","message":{"text":"code injection"},
             "locations":[{"physicalLocation":{"artifactLocation":{"uri":".github/workflows/d.yml"},"region":{"startLine":12,"startColumn":9}}}]},
            {"ruleId":"artipacked","level":"note","message":{"text":"creds"},"locations":[]}]}]}"#;
        let d = parse_sarif("zizmor", sarif).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].rule, "zizmor/template-injection");
        assert_eq!(d[0].severity, Severity::Error);
        assert_eq!(
            (
                d[0].location.file.to_str(),
                d[0].location.line,
                d[0].location.column
            ),
            (Some(".github/workflows/d.yml"), 12, 9)
        );
        assert_eq!(d[1].rule, "zizmor/artipacked");
        assert_eq!(d[1].severity, Severity::Notice);
        assert!(parse_sarif("zizmor", "not json").is_err());
    }

    #[test]
    fn actionlint_json_becomes_diagnostics() {
        let json = r#"[{"message":"property \"foo\" is not defined","filepath":".github/workflows/a.yml","line":7,"column":15,"kind":"expression","snippet":"x"}]"#;
        let d = parse_actionlint(json).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].rule, "actionlint/expression");
        assert_eq!(d[0].location.line, 7);
        assert!(parse_actionlint("").unwrap().is_empty());
    }

    #[test]
    fn finds_executables_on_a_path_value() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("zizmor"), "").unwrap();
        let path = std::env::join_paths([Path::new("/nonexistent"), dir.path()]).unwrap();
        let found = find_on_path("zizmor", path.to_str());
        assert_eq!(found, Some(dir.path().join("zizmor")));
        assert_eq!(find_on_path("actionlint", path.to_str()), None);
    }
}
