//! `deploy`, `promote`, `rollback` and `notify` against the GitHub and health simulators,
//! with the `command` provider doing the deploying (seed 003's Kamal-style setup).

use crate::common::{repo_with_config, Output, Run};
use stage_gate_sim::{Scenario, Sim};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

const TOKEN: &str = "ghs_deploytesttoken123";
const SHA_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SHA_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

async fn sim() -> Sim {
    let scenario = Scenario::parse(
        r#"
github:
  repos:
    - name: acme/shop
      branches: {main: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}
      workflows:
        - deploy-production.yml
      runs:
        "99": {status: in_progress}
        "98": {status: completed, conclusion: cancelled}
health:
  endpoints:
    up: {}
    down: {status: 500}
"#,
    )
    .unwrap();
    stage_gate_sim::start(scenario).await.unwrap()
}

fn config(soak: &str, staging_run: &str, probe: &str, extra: &str) -> String {
    format!(
        r#"version: 1
environments:
  staging: {{}}
  production:
    requires: staging
    soak: {soak}
    allow-override: true
apps:
  shop:
    environments:
      staging:
        command:
          run: "{staging_run}"
          rollback: "echo rolled back to $STAGE_GATE_ROLLBACK_TO"
        health:
          interval: 50ms
          deadline: 2s
          failure-threshold: 2
          probes: [{{url: "{probe}"}}]
        rollback-on-failure: true
      production:
        command: {{run: "echo deploying production"}}
{extra}"#
    )
}

fn run(sim: &Sim, dir: &Path, sha: &str, run_id: &str, args: &[&str]) -> Output {
    let tmp = tempfile::tempdir().unwrap();
    let out = Run::new(dir)
        .actions(tmp.path())
        .env("STAGE_GATE_GITHUB_API_URL", &sim.urls.github)
        .env("STAGE_GATE_GITHUB_UPLOADS_URL", &sim.urls.uploads)
        .env("STAGE_GATE_REPOSITORY", "acme/shop")
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_SHA", sha)
        .env("GITHUB_REF", "refs/heads/main")
        .env("GITHUB_RUN_ID", run_id)
        .args(args)
        .run();
    assert!(
        !unmasked(&out).contains(TOKEN),
        "the token leaked:\n{}",
        out.all()
    );
    out
}

/// Everything printed except the `::add-mask::` lines, the one place a secret must appear.
fn unmasked(out: &Output) -> String {
    out.all()
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn ok_staging(sim: &Sim) -> String {
    config(
        "0s",
        "echo deploying $STAGE_GATE_SHA",
        &format!("{}/health/up", sim.urls.health),
        "",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staging_then_promote_opens_the_gate_and_records_both() {
    let sim = sim().await;
    let repo = repo_with_config(&ok_staging(&sim));
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "1",
        &["deploy", "--env", "staging"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.output("result").as_deref(), Some("success"));
    assert!(
        out.summary.contains("| deploy | ✅ done"),
        "{}",
        out.summary
    );
    assert!(out.summary.contains("```mermaid"), "{}", out.summary);
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "2",
        &["promote", "--to", "production"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let calls = sim.calls("github");
    let creates = calls
        .iter()
        .filter(|c| c.starts_with("POST /repos/acme/shop/deployments "))
        .count()
        + calls
            .iter()
            .filter(|c| *c == "POST /repos/acme/shop/deployments")
            .count();
    assert_eq!(creates, 2, "{calls:#?}");
    // Statuses: queued, in_progress, success for each deployment.
    let body_states: Vec<String> = sim
        .log()
        .iter()
        .filter(|e| e.method == "POST" && e.path.ends_with("/statuses"))
        .filter_map(|e| e.body.as_ref()?.get("state")?.as_str().map(str::to_string))
        .collect();
    assert_eq!(
        body_states,
        [
            "queued",
            "in_progress",
            "success",
            "queued",
            "in_progress",
            "success"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_reuses_its_deployment() {
    let sim = sim().await;
    let repo = repo_with_config(&ok_staging(&sim));
    assert_eq!(
        run(
            &sim,
            repo.path(),
            SHA_A,
            "7",
            &["deploy", "--env", "staging"]
        )
        .code,
        0
    );
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "7",
        &["deploy", "--env", "staging"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr.contains("re-run: reusing deployment"),
        "{}",
        out.stderr
    );
    let creates = sim
        .log()
        .iter()
        .filter(|e| e.method == "POST" && e.path == "/repos/acme/shop/deployments")
        .count();
    assert_eq!(creates, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_closed_without_a_staging_deployment() {
    let sim = sim().await;
    let repo = repo_with_config(&ok_staging(&sim));
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "1",
        &["promote", "--to", "production"],
    );
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr
            .contains("`staging` has no deployment of this app"),
        "{}",
        out.stderr
    );
    assert_eq!(out.output("result").as_deref(), Some("refused"));
    // Nothing was recorded for production.
    assert!(!sim
        .log()
        .iter()
        .any(|e| e.method == "POST" && e.path == "/repos/acme/shop/deployments"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_closed_for_a_different_sha() {
    let sim = sim().await;
    let repo = repo_with_config(&ok_staging(&sim));
    assert_eq!(
        run(
            &sim,
            repo.path(),
            SHA_A,
            "1",
            &["deploy", "--env", "staging"]
        )
        .code,
        0
    );
    let out = run(
        &sim,
        repo.path(),
        SHA_B,
        "2",
        &["promote", "--to", "production"],
    );
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr.contains("was never deployed to `staging`"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_closed_when_staging_failed_after_a_success() {
    let sim = sim().await;
    let good = repo_with_config(&ok_staging(&sim));
    assert_eq!(
        run(
            &sim,
            good.path(),
            SHA_A,
            "1",
            &["deploy", "--env", "staging"]
        )
        .code,
        0
    );
    let bad = repo_with_config(&config(
        "0s",
        "echo boom; exit 3",
        &format!("{}/health/up", sim.urls.health),
        "",
    ));
    let out = run(
        &sim,
        bad.path(),
        SHA_A,
        "2",
        &["deploy", "--env", "staging"],
    );
    assert_eq!(out.code, 4, "{}", out.all());
    let out = run(
        &sim,
        good.path(),
        SHA_A,
        "3",
        &["promote", "--to", "production"],
    );
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr.contains("is `failure`, not `success`"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_closed_until_the_soak_is_met() {
    let sim = sim().await;
    let repo = repo_with_config(&config(
        "1h",
        "echo ok",
        &format!("{}/health/up", sim.urls.health),
        "",
    ));
    assert_eq!(
        run(
            &sim,
            repo.path(),
            SHA_A,
            "1",
            &["deploy", "--env", "staging"]
        )
        .code,
        0
    );
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "2",
        &["promote", "--to", "production"],
    );
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr.contains("less than the required soak of 1h"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_closed_on_a_digest_mismatch_and_override_is_recorded() {
    let sim = sim().await;
    let repo = repo_with_config(&ok_staging(&sim));
    let staged = "registry.fly.io/shop@sha256:1111111111111111111111111111111111111111111111111111111111111111";
    let other = "registry.fly.io/shop@sha256:2222222222222222222222222222222222222222222222222222222222222222";
    assert_eq!(
        run(
            &sim,
            repo.path(),
            SHA_A,
            "1",
            &["deploy", "--env", "staging", "--image", staged]
        )
        .code,
        0
    );
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "2",
        &["promote", "--to", "production", "--image", other],
    );
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(out.stderr.contains("the image differs"), "{}", out.stderr);
    // The emergency override is allowed by this config, and lands in the payload.
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "3",
        &[
            "promote",
            "--to",
            "production",
            "--image",
            other,
            "--override-gate",
            "--reason",
            "hotfix for outage",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.summary.contains("overridden: hotfix for outage"),
        "{}",
        out.summary
    );
    let create = sim
        .log()
        .into_iter()
        .rfind(|e| e.method == "POST" && e.path == "/repos/acme/shop/deployments")
        .unwrap();
    assert_eq!(
        create.body.unwrap()["payload"]["gate_override"]["reason"],
        "hotfix for outage"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_deploy_is_refused() {
    let sim = sim().await;
    let repo = repo_with_config(&ok_staging(&sim));
    // Another run's deployment of the same app; that run (99) is still going.
    unfinished_record(&sim, "99").await;
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "1",
        &["deploy", "--env", "staging"],
    );
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr
            .contains("is still in_progress by run 99, which is still going"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_health_gate_rolls_back_and_records_failure() {
    let sim = sim().await;
    let repo = repo_with_config(&config(
        "0s",
        "echo deploying",
        &format!("{}/health/down", sim.urls.health),
        "",
    ));
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "1",
        &["deploy", "--env", "staging"],
    );
    assert_eq!(out.code, 4, "{}", out.all());
    assert!(
        out.summary.contains("| rollback | ✅ done"),
        "{}",
        out.summary
    );
    let last_status = sim
        .log()
        .into_iter()
        .rfind(|e| e.method == "POST" && e.path.ends_with("/statuses"))
        .unwrap()
        .body
        .unwrap();
    assert_eq!(last_status["state"], "failure");
    assert!(
        last_status["description"]
            .as_str()
            .unwrap()
            .contains("rolled back"),
        "{last_status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_calls_nothing() {
    let sim = sim().await;
    let repo = repo_with_config(&ok_staging(&sim));
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "1",
        &["deploy", "--env", "staging", "--dry-run"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stderr.contains("[dry-run] POST"), "{}", out.stderr);
    assert!(
        sim.log().iter().all(|e| e.method == "GET"),
        "{:#?}",
        sim.calls("github")
    );
}

/// A one-shot HTTP receiver: answers 200 to the first request and hands back its head and body.
fn receiver() -> (String, std::thread::JoinHandle<(String, Vec<u8>)>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        let len: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .unwrap();
        (head, body)
    });
    (url, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_is_signed_and_the_receiver_verifies_it() {
    let sim = sim().await;
    let (url, handle) = receiver();
    let extra = format!("notify:\n  - webhook: {url}\n    secret-env: HOOK_SECRET\n    token-env: HOOK_TOKEN\n    environments: [staging]\n");
    let repo = repo_with_config(&config(
        "0s",
        "echo ok",
        &format!("{}/health/up", sim.urls.health),
        &extra,
    ));
    let tmp = tempfile::tempdir().unwrap();
    let out = Run::new(repo.path())
        .actions(tmp.path())
        .env("STAGE_GATE_GITHUB_API_URL", &sim.urls.github)
        .env("STAGE_GATE_REPOSITORY", "acme/shop")
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_SHA", SHA_A)
        .env("GITHUB_RUN_ID", "5")
        .env("HOOK_SECRET", "whsec-signing-secret")
        .env("HOOK_TOKEN", "orchestrator-bearer-token")
        .args(["deploy", "--env", "staging"])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    let printed = unmasked(&out);
    assert!(
        !printed.contains("whsec-signing-secret") && !printed.contains("orchestrator-bearer-token"),
        "{printed}"
    );
    let (head, body) = handle.join().unwrap();
    let sig = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("x-stage-gate-signature: ")
                .or_else(|| l.strip_prefix("X-Stage-Gate-Signature: "))
        })
        .unwrap()
        .trim()
        .to_string();
    let secret = stage_gate::secret::Secret::new("whsec-signing-secret");
    assert!(stage_gate::notify::webhook::verify(&secret, &body, &sig));
    assert!(head
        .to_ascii_lowercase()
        .contains("authorization: bearer orchestrator-bearer-token"));
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap();
    // One event name whoever sends it, and what sent it.
    assert_eq!(event["event"], "staging_deployment_complete");
    assert_eq!(event["trigger"], "deploy");
    assert_eq!(event["status"], "success");
    assert_eq!(event["commit_sha"], SHA_A);
    assert_eq!(event["environment"], "staging");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_sends_the_ref_and_inputs() {
    let sim = sim().await;
    let repo = repo_with_config(&ok_staging(&sim));
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "1",
        &[
            "notify",
            "--dispatch",
            "deploy-production.yml",
            "--inputs",
            "commit_sha={sha}",
            "--ref",
            "main",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let call = sim
        .log()
        .into_iter()
        .find(|e| e.path == "/repos/acme/shop/actions/workflows/deploy-production.yml/dispatches")
        .expect("a dispatch call");
    assert_eq!(call.method, "POST");
    let body = call.body.unwrap();
    assert_eq!(body["ref"], "main");
    assert_eq!(body["inputs"], serde_json::json!({"commit_sha": SHA_A}));
}

/// Deployments of another app to `env`, as a busy shared environment has.
async fn other_app_deployments(sim: &Sim, env: &str, n: usize) {
    let client = reqwest::Client::new();
    for i in 0..n {
        let sha = format!("{:040x}", i + 1);
        client
            .post(format!("{}/repos/acme/shop/deployments", sim.urls.github))
            .bearer_auth(TOKEN)
            .json(
                &serde_json::json!({"ref": sha, "environment": env, "task": "deploy",
                "auto_merge": false, "required_contexts": [],
                "payload": {"app": "admin", "sha": sha, "provider": "command"}}),
            )
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_finds_the_app_behind_many_deployments_of_other_apps() {
    let sim = sim().await;
    let repo = repo_with_config(&ok_staging(&sim));
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "1",
        &["deploy", "--env", "staging"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    // More than one page of 100 since `shop` was proven.
    other_app_deployments(&sim, "staging", 130).await;
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "2",
        &["promote", "--to", "production"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_that_finds_nothing_says_how_far_back_it_searched() {
    let sim = sim().await;
    let repo = repo_with_config(&ok_staging(&sim));
    other_app_deployments(&sim, "staging", 3).await;
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "1",
        &["promote", "--to", "production"],
    );
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr
            .contains("searched the 3 newest deployment(s) of `staging`, back to"),
        "{}",
        out.stderr
    );
}

fn deployment_creates(sim: &Sim) -> Vec<Option<u16>> {
    sim.log()
        .iter()
        .filter(|e| e.method == "POST" && e.path == "/repos/acme/shop/deployments")
        .map(|e| e.status)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_created_behind_a_lost_answer_is_adopted_not_orphaned() {
    let sim = sim().await;
    let repo = repo_with_config(&ok_staging(&sim));
    sim.inject(stage_gate_sim::Fault {
        vendor: Some("github".into()),
        method: Some("POST".into()),
        path: "/repos/acme/shop/deployments".into(),
        status: Some(502),
        times: Some(1),
        after_acting: true,
        ..Default::default()
    });
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "1",
        &["deploy", "--env", "staging"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.all().contains("adopting deployment"), "{}", out.all());
    assert_eq!(
        deployment_creates(&sim),
        vec![Some(502)],
        "never created twice"
    );
    // Another run right after is not refused as concurrent: the record was finished.
    let out = run(
        &sim,
        repo.path(),
        SHA_B,
        "2",
        &["deploy", "--env", "staging"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_create_that_did_nothing_is_made_once_more_after_a_look() {
    let sim = sim().await;
    let repo = repo_with_config(&ok_staging(&sim));
    sim.inject(stage_gate_sim::Fault {
        vendor: Some("github".into()),
        method: Some("POST".into()),
        path: "/repos/acme/shop/deployments".into(),
        status: Some(502),
        times: Some(1),
        ..Default::default()
    });
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "1",
        &["deploy", "--env", "staging"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(deployment_creates(&sim), vec![Some(502), Some(201)]);
}

/// An unfinished record of another run (in progress), as a running or killed job leaves it.
async fn unfinished_record(sim: &Sim, run_id: &str) -> u64 {
    let client = reqwest::Client::new();
    let d: serde_json::Value = client
        .post(format!("{}/repos/acme/shop/deployments", sim.urls.github))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"ref": SHA_B, "environment": "staging", "auto_merge": false, "required_contexts": [],
            "payload": {"app": "shop", "sha": SHA_B, "provider": "command", "run_id": run_id}}))
        .send().await.unwrap().json().await.unwrap();
    client
        .post(format!(
            "{}/repos/acme/shop/deployments/{}/statuses",
            sim.urls.github, d["id"]
        ))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"state": "in_progress"}))
        .send()
        .await
        .unwrap();
    d["id"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_left_by_a_run_that_ended_is_marked_abandoned_and_does_not_block() {
    let sim = sim().await;
    let repo = repo_with_config(&ok_staging(&sim));
    let left = unfinished_record(&sim, "98").await;
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "1",
        &["deploy", "--env", "staging"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.all()
            .contains("abandoned by run 98, which ended (cancelled)"),
        "{}",
        out.all()
    );
    let statuses: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/repos/acme/shop/deployments/{left}/statuses",
            sim.urls.github
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(statuses[0]["state"], "error");
    assert_eq!(
        statuses[0]["description"],
        "abandoned by run 98, which ended (cancelled)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_whose_run_cannot_be_looked_up_waits_for_the_staleness_timeout() {
    let sim = sim().await;
    let repo = repo_with_config(&ok_staging(&sim));
    unfinished_record(&sim, "97").await;
    sim.inject(stage_gate_sim::Fault {
        vendor: Some("github".into()),
        method: Some("GET".into()),
        path: "/repos/acme/shop/actions/runs/*".into(),
        status: Some(403),
        body: Some(r#"{"message":"Resource not accessible by integration"}"#.into()),
        ..Default::default()
    });
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "1",
        &["deploy", "--env", "staging"],
    );
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(out.all().contains("actions: read"), "{}", out.all());
    assert!(
        out.stderr.contains("It counts as stale after"),
        "{}",
        out.stderr
    );
}

/// A command names the artifact it ran in `$STAGE_GATE_ARTIFACT`; the promotion hands that
/// very reference to production's command as `STAGE_GATE_IMAGE`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_reports_its_artifact_and_production_gets_it() {
    let sim = sim().await;
    let digest = format!("sha256:{}", "b".repeat(64));
    let cfg = format!(
        r#"version: 1
environments:
  staging: {{}}
  production: {{requires: staging}}
apps:
  shop:
    environments:
      staging:
        command: {{run: "echo ghcr.io/acme/shop@{digest} > \"$STAGE_GATE_ARTIFACT\""}}
      production:
        command: {{run: "echo production gets $STAGE_GATE_IMAGE"}}
"#
    );
    let repo = repo_with_config(&cfg);
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "1",
        &["deploy", "--env", "staging"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let artifact = format!("ghcr.io/acme/shop@{digest}");
    assert_eq!(out.output("image").as_deref(), Some(artifact.as_str()));
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "2",
        &["promote", "--to", "production"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.all().contains(&format!("production gets {artifact}")),
        "{}",
        out.all()
    );

    // Something that is not an image reference is refused, not recorded.
    let bad = cfg.replace(&format!("ghcr.io/acme/shop@{digest}"), "not an image");
    std::fs::write(repo.path().join(".github/stage-gate.yml"), bad).unwrap();
    let out = run(
        &sim,
        repo.path(),
        SHA_B,
        "3",
        &["deploy", "--env", "staging"],
    );
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.all().contains("which is not an image reference"),
        "{}",
        out.all()
    );
}

/// Each notification says when it fires: an entry `on: [notify]` is sent by `stage-gate
/// notify` only, never by the deploy (seed 003: the orchestrator must hear of staging after
/// the E2E suite, not before); `deploy --dry-run` lists what a deploy would send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_fire_on_the_events_they_name() {
    let sim = sim().await;
    let hook = format!("{}/health/up", sim.urls.health);
    let extra = format!(
        "notify:\n  - webhook: {hook}?after-e2e\n    on: [notify]\n  - webhook: {hook}?on-deploy\n    on: [deploy-success]\n"
    );
    let repo = repo_with_config(&config("0s", "echo ok", &hook, &extra));
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "1",
        &["deploy", "--env", "staging", "--dry-run"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.all().contains("POST {hook}?on-deploy (notification on deploy-success: event `staging_deployment_complete`)".replace("{hook}", &hook).as_str()),
        "{}",
        out.all()
    );
    assert!(!out.all().contains("after-e2e"), "{}", out.all());
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "1",
        &["deploy", "--env", "staging"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let hooks = |q: &str| {
        sim.log()
            .iter()
            .filter(|e| e.method == "POST" && e.query.as_deref() == Some(q))
            .count()
    };
    assert_eq!((hooks("on-deploy"), hooks("after-e2e")), (1, 0));
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "2",
        &["notify", "--env", "staging"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!((hooks("on-deploy"), hooks("after-e2e")), (1, 1));

    // An event that does not exist is named, with the nearest one.
    let bad = config(
        "0s",
        "echo ok",
        &hook,
        &format!("notify:\n  - webhook: {hook}\n    on: [deploy-sucess]\n"),
    );
    std::fs::write(repo.path().join(".github/stage-gate.yml"), bad).unwrap();
    let out = run(
        &sim,
        repo.path(),
        SHA_A,
        "3",
        &["deploy", "--env", "staging"],
    );
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.all().contains("did you mean `deploy-success`?"),
        "{}",
        out.all()
    );
}

/// `rollback --to` names what ran (a release tag, version, commit or image) and is resolved
/// through the environment's records to the artifact that ran; what never ran is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_to_resolves_through_the_records_and_refuses_what_never_ran() {
    let sim = sim().await;
    let repo = repo_with_config(&ok_staging(&sim));
    for (sha, run_id, version) in [(SHA_A, "1", "0.1.1"), (SHA_B, "2", "0.2.0")] {
        let out = run(
            &sim,
            repo.path(),
            sha,
            run_id,
            &["deploy", "--env", "staging", "--version", version],
        );
        assert_eq!(out.code, 0, "{}", out.all());
    }
    // The release tag names version 0.1.1: that is what goes back, not the literal tag.
    let out = run(
        &sim,
        repo.path(),
        SHA_B,
        "3",
        &["rollback", "--env", "staging", "--to", "v0.1.1"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.all().contains("rolled back to 0.1.1"), "{}", out.all());
    // A commit prefix names its deployment too.
    let out = run(
        &sim,
        repo.path(),
        SHA_B,
        "4",
        &["rollback", "--env", "staging", "--to", &SHA_B[..7]],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.all().contains("rolled back to 0.2.0"), "{}", out.all());
    // Never ran there: refused, unless forced.
    let out = run(
        &sim,
        repo.path(),
        SHA_B,
        "5",
        &["rollback", "--env", "staging", "--to", "v9.9.9"],
    );
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.all().contains("`v9.9.9` never ran in `staging`"),
        "{}",
        out.all()
    );
    let out = run(
        &sim,
        repo.path(),
        SHA_B,
        "6",
        &["rollback", "--env", "staging", "--to", "v9.9.9", "--force"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.all().contains("rolled back to v9.9.9"), "{}", out.all());
}
