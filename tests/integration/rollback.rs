//! Rollbacks against the GitHub and health simulators, the `command` provider doing the
//! work: `rollback --dry-run` lists every call it would make, and `health --rollback` returns
//! a target whose gate failed to its previous successful deployment.

use crate::common::{repo_with_config, Output, Run};
use stage_gate_sim::{Scenario, Sim};
use std::path::Path;

const TOKEN: &str = "ghs_rollbacktesttoken123";
const SHA_1: &str = "1111111111111111111111111111111111111111";
const SHA_2: &str = "2222222222222222222222222222222222222222";

async fn sim() -> Sim {
    let scenario = Scenario::parse(
        "github:\n  repos:\n    - name: acme/shop\nhealth:\n  endpoints:\n    web: {}\n",
    )
    .expect("scenario");
    stage_gate_sim::start(scenario).await.expect("sim")
}

fn config(sim: &Sim) -> String {
    format!(
        r#"version: 1
environments:
  staging: {{}}
apps:
  shop:
    environments:
      staging:
        command:
          run: "echo deploying $STAGE_GATE_VERSION"
          rollback: "echo $STAGE_GATE_ROLLBACK_TO > rolled-back-to"
        health:
          interval: 50ms
          deadline: 2s
          probes: [{{url: "{}/health/web"}}]
"#,
        sim.urls.health
    )
}

fn run(sim: &Sim, dir: &Path, sha: &str, run_id: &str, args: &[&str]) -> Output {
    let tmp = tempfile::tempdir().unwrap();
    Run::new(dir)
        .actions(tmp.path())
        .env("STAGE_GATE_GITHUB_API_URL", &sim.urls.github)
        .env("STAGE_GATE_REPOSITORY", "acme/shop")
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_SHA", sha)
        .env("GITHUB_REF", "refs/heads/main")
        .env("GITHUB_RUN_ID", run_id)
        .args(args)
        .run()
}

/// Staging ran 1.0.0, then 2.0.0: both successful.
async fn two_releases(sim: &Sim, dir: &Path) {
    for (sha, run_id, version) in [(SHA_1, "1", "1.0.0"), (SHA_2, "2", "2.0.0")] {
        let out = run(
            sim,
            dir,
            sha,
            run_id,
            &["deploy", "--env", "staging", "--version", version],
        );
        assert_eq!(out.code, 0, "{}", out.all());
    }
}

fn writes_to_github(sim: &Sim) -> usize {
    sim.log()
        .iter()
        .filter(|e| e.vendor == "github" && e.method != "GET")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_rollback_lists_every_call_and_makes_only_the_read() {
    let sim = sim().await;
    let repo = repo_with_config(&config(&sim));
    two_releases(&sim, repo.path()).await;
    let writes = writes_to_github(&sim);
    let out = run(
        &sim,
        repo.path(),
        SHA_2,
        "3",
        &[
            "rollback",
            "--env",
            "staging",
            "--dry-run",
            "--format",
            "human",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let api = &sim.urls.github;
    let dir = repo.path().display();
    assert_eq!(
        out.stdout.trim(),
        format!(
            "dry run: the rollback of `staging` would make these calls (only the reads marked `made` were made):
  shop: GET {api}/repos/acme/shop/deployments?environment=staging&task=deploy  (made: a read, to find the deployment to return to)
  shop: sh -c 'echo $STAGE_GATE_ROLLBACK_TO > rolled-back-to' in {dir} with STAGE_GATE_APP=shop STAGE_GATE_ENV=staging STAGE_GATE_ROLLBACK_TO=1.0.0
  shop: POST {api}/repos/acme/shop/deployments {{ref: {SHA_1}, environment: staging, payload.app: shop}}  (the rollback's record)
  shop: POST …/deployments/{{id}}/statuses success"
        )
    );
    assert!(out.summary.contains("(dry run)"), "{}", out.summary);
    assert_eq!(writes_to_github(&sim), writes, "a dry run writes nothing");
    assert!(!repo.path().join("rolled-back-to").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_standalone_health_gate_rolls_back_with_rollback() {
    let sim = sim().await;
    let repo = repo_with_config(&config(&sim));
    two_releases(&sim, repo.path()).await;
    // 2.0.0 goes bad after its deploy: 410 Gone is a failure no wait can change.
    let resp = reqwest::Client::new()
        .post(format!("{}/__health/web", sim.urls.health))
        .json(&serde_json::json!({"status": 410}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let out = run(
        &sim,
        repo.path(),
        SHA_2,
        "3",
        &["health", "--env", "staging", "--rollback"],
    );
    assert_eq!(out.code, 4, "{}", out.all());
    assert_eq!(out.output("verdict").as_deref(), Some("unhealthy"));
    assert_eq!(out.output("rollback").as_deref(), Some("restored"));
    let back = std::fs::read_to_string(repo.path().join("rolled-back-to")).unwrap();
    assert_eq!(back.trim(), "1.0.0");
    assert!(
        out.summary
            .contains("#### rollback after the failed gate\n\n| app | to | restored |"),
        "{}",
        out.summary
    );
    assert!(
        out.summary
            .contains("| shop | 1.0.0 | rolled back to 1.0.0 |"),
        "{}",
        out.summary
    );
    // The rollback is recorded: the history's newest success is 1.0.0 again.
    let records: Vec<String> = sim
        .log()
        .iter()
        .filter(|e| e.method == "POST" && e.path == "/repos/acme/shop/deployments")
        .filter_map(|e| Some(e.body.as_ref()?["ref"].as_str()?.to_string()))
        .collect();
    assert_eq!(records, [SHA_1, SHA_2, SHA_1]);

    // --url probes belong to no target: nothing to roll back, said before anything runs.
    let out = run(
        &sim,
        repo.path(),
        SHA_2,
        "4",
        &["health", "--url", "http://127.0.0.1:9/x", "--rollback"],
    );
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("--url probes belong to no target"),
        "{}",
        out.stderr
    );
}
