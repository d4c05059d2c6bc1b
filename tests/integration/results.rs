//! Every command's output on one fixed scenario — its human text, step outputs, step summary
//! and `--format json` document — as insta snapshots, so that an output change shows up in
//! review. Commands that would reach a network run as dry runs (deploy and promote are
//! snapshotted against the simulators in `promote.rs`). Volatile parts (temporary paths,
//! commits, times, ports) are redacted with insta filters.

use crate::common::{git, repo_with_config, Run};

const CONFIG: &str = r#"version: 1
environments:
  staging: { branches: [main] }
apps:
  web:
    environments:
      staging:
        webhook:
          url: http://127.0.0.1:9/deploy
        url: https://staging.example.test
        health:
          probes:
            - url: https://staging.example.test/healthz
"#;

/// A repository with the config, two conventional commits and the tag `v1.0.0` on main.
fn scenario() -> tempfile::TempDir {
    let repo = repo_with_config(CONFIG);
    std::fs::write(repo.path().join("README.md"), "web\n").unwrap();
    git(repo.path(), &["init", "-q", "-b", "main"]);
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "feat: the first page"]);
    std::fs::write(repo.path().join("README.md"), "web, fixed\n").unwrap();
    git(repo.path(), &["commit", "-q", "-am", "fix: a typo (#12)"]);
    git(repo.path(), &["tag", "v1.0.0"]);
    repo
}

/// The command's human text, outputs and summary (one run under Actions with `--format
/// human`), then its JSON document (`--format json`), as one text.
fn outputs_of(dir: &std::path::Path, args: &[&str], code: i32) -> String {
    let files = tempfile::tempdir().unwrap();
    let human = Run::new(dir)
        .env("STAGE_GATE_EXTERNAL_LINTERS", "off")
        .actions(files.path())
        .args(args)
        .args(["--format", "human"])
        .run();
    assert_eq!(human.code, code, "{}", human.all());
    let json = Run::new(dir)
        .env("STAGE_GATE_EXTERNAL_LINTERS", "off")
        .args(args)
        .args(["--format", "json"])
        .run();
    assert_eq!(json.code, code, "{}", json.all());
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("one JSON document");
    let command = args[0];
    assert_eq!(
        doc["schema"],
        format!("stage-gate/{command}/v1"),
        "{}",
        json.stdout
    );
    format!(
        "## human\n{}\n## outputs\n{}\n## summary\n{}\n## json\n{}\n",
        human.stdout.trim_end(),
        human.outputs.trim_end(),
        human.summary.trim_end(),
        json.stdout.trim_end()
    )
}

fn snapshot(name: &str, dir: &std::path::Path, text: &str) {
    let mut settings = insta::Settings::clone_current();
    let root = dir.canonicalize().unwrap();
    settings.add_filter(&regex::escape(&root.display().to_string()), "[root]");
    settings.add_filter(&regex::escape(&dir.display().to_string()), "[root]");
    settings.add_filter(r"\b[0-9a-f]{40}\b", "[sha]");
    settings.add_filter(r"\b[0-9a-f]{7,12}\b", "[short-sha]");
    settings.add_filter(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
        "[time]",
    );
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[port]");
    settings.add_filter(r"ghadelimiter_[0-9a-f-]+", "[delimiter]");
    settings.bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn check_outputs() {
    let dir = scenario();
    let text = outputs_of(dir.path(), &["check"], 0);
    snapshot("check", dir.path(), &text);
}

#[test]
fn plan_outputs() {
    let dir = scenario();
    let text = outputs_of(dir.path(), &["plan", "--env", "staging"], 0);
    snapshot("plan", dir.path(), &text);
}

#[test]
fn tag_outputs() {
    let dir = scenario();
    let text = outputs_of(dir.path(), &["tag", "v1.0.0"], 0);
    snapshot("tag", dir.path(), &text);
    let next = outputs_of(dir.path(), &["tag", "--next"], 0);
    snapshot("tag_next", dir.path(), &next);
}

#[test]
fn notes_outputs() {
    let dir = scenario();
    let text = outputs_of(dir.path(), &["notes", "v1.0.0"], 0);
    snapshot("notes", dir.path(), &text);
}

#[test]
fn release_dry_run_outputs() {
    let dir = scenario();
    let text = outputs_of(dir.path(), &["release", "--tag", "v1.0.0", "--dry-run"], 0);
    snapshot("release_dry_run", dir.path(), &text);
}

#[test]
fn health_dry_run_outputs() {
    let dir = scenario();
    let text = outputs_of(dir.path(), &["health", "--env", "staging", "--dry-run"], 0);
    snapshot("health_dry_run", dir.path(), &text);
}

#[test]
fn notify_dry_run_outputs() {
    let dir = scenario();
    let args = [
        "notify",
        "--env",
        "staging",
        "--webhook",
        "http://127.0.0.1:9/hook",
        "--version",
        "1.0.0",
        "--dry-run",
    ];
    let text = outputs_of(dir.path(), &args, 0);
    snapshot("notify_dry_run", dir.path(), &text);
}

#[test]
fn rollback_dry_run_outputs() {
    let dir = scenario();
    let args = [
        "rollback",
        "--env",
        "staging",
        "--to",
        "registry.example.test/web:v0.9.0",
        "--force",
        "--dry-run",
    ];
    let text = outputs_of(dir.path(), &args, 0);
    snapshot("rollback_dry_run", dir.path(), &text);
}
