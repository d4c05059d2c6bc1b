//! Dry runs as a person runs them, outside Actions: the ref comes from the checkout when
//! GITHUB_REF is unset, and the GitHub reads a promotion's gate needs are said out loud.

use crate::common::{git, repo_with_config, Output, Run};
use std::path::Path;

const TOKEN: &str = "ghs_dryruntesttoken123";

const CONFIG: &str = r#"version: 1
environments:
  staging: { branches: [main] }
  production: { requires: staging, tags: ["v*.*.*"] }
apps:
  shop:
    environments:
      staging: { command: { run: "echo staging" } }
      production: { command: { run: "echo production" } }
"#;

/// The config committed on main; the commit's SHA.
fn checkout() -> (tempfile::TempDir, String) {
    let repo = repo_with_config(CONFIG);
    let dir = repo.path();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "."]);
    let who = ["-c", "user.name=T", "-c", "user.email=t@example.com"];
    git(dir, &[&who[..], &["commit", "-q", "-m", "one"]].concat());
    let sha = git(dir, &["rev-parse", "HEAD"]);
    (repo, sha)
}

/// A local run: no GITHUB_ACTIONS, no GITHUB_REF.
fn local(dir: &Path, args: &[&str]) -> Output {
    Run::new(dir).args(args).run()
}

#[test]
fn a_local_dry_run_takes_the_ref_from_the_checkout() {
    let (repo, _) = checkout();
    let out = local(repo.path(), &["deploy", "--env", "staging", "--dry-run"]);
    assert_eq!(out.code, 0, "{}", out.all());

    git(repo.path(), &["checkout", "-q", "-b", "feature"]);
    let out = local(repo.path(), &["deploy", "--env", "staging", "--dry-run"]);
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr
            .contains("branch `feature` may not deploy to `staging`"),
        "{}",
        out.stderr
    );

    // A tag checked out (detached, as CI checks out a tag push): the tag is the ref.
    git(repo.path(), &["tag", "v1.0.0"]);
    git(repo.path(), &["checkout", "-q", "v1.0.0"]);
    let out = Run::new(repo.path())
        .args(["notes", "--format", "json"])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    let notes: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(notes["tag"], "v1.0.0");

    // Under Actions, GITHUB_REF is the runner's to set: it is never guessed.
    let tmp = tempfile::tempdir().unwrap();
    git(repo.path(), &["checkout", "-q", "main"]);
    let out = Run::new(repo.path())
        .actions(tmp.path())
        .args(["deploy", "--env", "staging", "--dry-run"])
        .run();
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(out.stderr.contains("GITHUB_REF is unset"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promote_dry_run_says_it_reads_github_deployments() {
    let scenario = stage_gate_sim::Scenario::parse("github:\n  repos:\n    - name: acme/shop\n")
        .expect("scenario");
    let sim = stage_gate_sim::start(scenario).await.expect("sim");
    let (repo, sha) = checkout();
    let with_github = |args: &[&str]| {
        Run::new(repo.path())
            .env("STAGE_GATE_GITHUB_API_URL", &sim.urls.github)
            .env("STAGE_GATE_REPOSITORY", "acme/shop")
            .env("GITHUB_TOKEN", TOKEN)
            .args(args)
            .run()
    };
    let out = with_github(&["deploy", "--env", "staging"]);
    assert_eq!(out.code, 0, "{}", out.all());
    git(repo.path(), &["tag", "v1.0.0"]);
    git(repo.path(), &["checkout", "-q", "v1.0.0"]);
    let out = with_github(&["promote", "--env", "production", "--dry-run"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr.lines().any(|l| l
            == "[dry-run] reads GitHub deployments to evaluate the gate (GET …/deployments?environment=staging)"),
        "{}",
        out.stderr
    );
    let writes = sim
        .log()
        .iter()
        .filter(|e| e.vendor == "github" && e.method != "GET")
        .filter(|e| {
            e.body
                .as_ref()
                .is_some_and(|b| b["ref"] == sha.as_str() && b["environment"] == "production")
        })
        .count();
    assert_eq!(writes, 0, "a dry run records nothing for production");
}

/// A dry-run notification reads as one: what would be sent, not a status that looks like a
/// delivery.
#[test]
fn a_dry_run_notification_says_what_it_would_send() {
    let repo = repo_with_config("version: 1\n");
    let out = local(
        repo.path(),
        &[
            "notify",
            "--env",
            "staging",
            "--webhook",
            "https://hooks.example.com/x",
            "--dispatch",
            "deploy-production.yml",
            "--dry-run",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        out.stdout.trim(),
        "dispatch deploy-production.yml: would dispatch it (dry run)\n\
         webhook https://hooks.example.com/x: would send the success event (dry run)"
    );
    assert!(
        out.stderr.contains(
            "[dry-run] POST https://hooks.example.com/x (a JSON event for `staging_deployment_complete`)"
        ),
        "{}",
        out.stderr
    );
}
