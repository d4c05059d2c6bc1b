//! Previews per pull request (issue 29), against the simulators: one pull request's life
//! cycle on Fly and Coolify (open → push → close → close again), the sweep's decisions on a
//! mixed set of apps, forks, lost answers, and every refusal.

use crate::common::{repo_with_config, Output, Run};
use stage_gate_sim::{Fault, Scenario, Sim};
use std::path::Path;

const GH_TOKEN: &str = "ghs_previewtesttoken123";
const FLY_TOKEN: &str = "fly_previewtesttoken456";
const COOLIFY_TOKEN: &str = "coolify-previewtesttoken789";
const DB_URL: &str = "postgres://preview:s3cr3t-db-pass@db.internal/pr";
const REPO: &str = "acme/web";

const SHA1: &str = "1111111111111111111111111111111111111111";
const SHA2: &str = "2222222222222222222222222222222222222222";
const SHA3: &str = "3333333333333333333333333333333333333333";

fn config(health: &str) -> String {
    format!(
        r#"version: 1
environments:
  staging: {{}}
  preview: {{ per-pull-request: true, ttl: 7d, sweep-limit: 3 }}
apps:
  web:
    environments:
      staging:
        fly: {{ config: fly.toml, app: web-staging }}
      preview:
        fly: {{ config: fly.toml, app: "web-pr-{{pr}}", org: acme, image: "registry.fly.io/web-staging:pr-{{pr}}", secrets: [DATABASE_URL], wait-timeout: 10s }}
        health: {{ interval: 50ms, deadline: 2s, failure-threshold: 2, probes: [{{ url: "{health}/health/web-pr-{{pr}}" }}] }}
  api:
    environments:
      preview:
        coolify: {{ url: "https://coolify.example.com", uuid: api-app, preview-image: "ghcr.io/acme/api:pr-{{pr}}" }}
"#
    )
}

const FLY_TOML: &str = r#"app = "web-staging"
primary_region = "ams"

[http_service]
  internal_port = 8080
"#;

fn scenario(extra_fly_apps: &str) -> Scenario {
    let yaml = format!(
        r#"
fly:
  token: {FLY_TOKEN}
  apps:
    - name: web-staging
      org: acme
      machines: [{{id: s1, region: ams}}]
{extra_fly_apps}
coolify:
  tokens: [{{token: {COOLIFY_TOKEN}, abilities: [root]}}]
  applications:
    - {{uuid: api-app, name: api, build_pack: dockerimage, image: ghcr.io/acme/api, image_tag: v1, fqdn: "https://api.example.com", queue_ms: 10, build_ms: 30}}
github:
  repos:
    - name: {REPO}
      commits:
        - {{ sha: "{SHA1}", message: "feat: first" }}
        - {{ sha: "{SHA2}", message: "feat: second" }}
        - {{ sha: "{SHA3}", message: "feat: third" }}
      pulls:
        - {{ number: 7, state: open, head_sha: "{SHA2}" }}
        - {{ number: 8, state: open, head_sha: "{SHA2}" }}
        - {{ number: 5, state: open, head_sha: "{SHA2}" }}
        - {{ number: 3, state: closed, merged: true, head_sha: "{SHA1}" }}
        - {{ number: 4, state: open, head_sha: "{SHA1}" }}
        - {{ number: 9, state: open, head_sha: "{SHA3}", head_repo: mallory/web }}
health:
  endpoints:
    web-pr-7: {{}}
    web-pr-8: {{status: 500}}
"#
    );
    Scenario::parse(&yaml).expect("scenario")
}

async fn start(extra_fly_apps: &str) -> Sim {
    stage_gate_sim::start(scenario(extra_fly_apps))
        .await
        .unwrap()
}

fn repository(sim: &Sim) -> tempfile::TempDir {
    let repo = repo_with_config(&config(&sim.urls.health));
    std::fs::write(repo.path().join("fly.toml"), FLY_TOML).unwrap();
    repo
}

/// One job of the preview workflow: `event` is the pull_request action (`None`: no event).
fn job(sim: &Sim, dir: &Path, event: Option<(&str, u64, &str, &str)>, args: &[&str]) -> Output {
    job_with(sim, dir, event, args, DB_URL)
}

/// [`job`] with another value of the secret the preview sets.
fn job_with(
    sim: &Sim,
    dir: &Path,
    event: Option<(&str, u64, &str, &str)>,
    args: &[&str],
    db_url: &str,
) -> Output {
    let tmp = tempfile::tempdir().unwrap();
    let mut run = Run::new(dir)
        .actions(tmp.path())
        .env("STAGE_GATE_GITHUB_API_URL", &sim.urls.github)
        .env("STAGE_GATE_FLY_API_URL", &sim.urls.fly)
        .env("STAGE_GATE_COOLIFY_URL", &sim.urls.coolify)
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_TOKEN", GH_TOKEN)
        .env("FLY_API_TOKEN", FLY_TOKEN)
        .env("COOLIFY_TOKEN", COOLIFY_TOKEN)
        .env("DATABASE_URL", db_url)
        .env("GITHUB_RUN_ID", "41")
        .args(["preview"])
        .args(args);
    if let Some((action, pr, head_sha, head_repo)) = event {
        let path = tmp.path().join("event.json");
        let body = serde_json::json!({
            "action": action,
            "number": pr,
            "pull_request": {
                "number": pr,
                "merged": action == "closed",
                "head": {"sha": head_sha, "repo": {"full_name": head_repo}},
                "base": {"sha": SHA1, "repo": {"full_name": REPO}}
            }
        });
        std::fs::write(&path, body.to_string()).unwrap();
        run = run
            .env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_EVENT_PATH", path.to_str().unwrap())
            .env("GITHUB_SHA", "ffffffffffffffffffffffffffffffffffffffff");
    }
    let out = run.run();
    let shown = out
        .all()
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n");
    for secret in [
        GH_TOKEN,
        FLY_TOKEN,
        COOLIFY_TOKEN,
        db_url,
        DB_URL,
        "s3cr3t-db-pass",
    ] {
        assert!(!shown.contains(secret), "a secret leaked:\n{shown}");
    }
    out
}

fn comments(sim: &Sim, pr: u64) -> Vec<String> {
    sim.github_comments(REPO, pr)
        .into_iter()
        .map(|c| c.body)
        .collect()
}

async fn deployments(sim: &Sim, env: &str) -> Vec<(u64, String, bool)> {
    let client = reqwest::Client::new();
    let list: serde_json::Value = client
        .get(format!(
            "{}/repos/{REPO}/deployments?environment={env}",
            sim.urls.github
        ))
        .bearer_auth(GH_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut out = Vec::new();
    for d in list.as_array().cloned().unwrap_or_default() {
        let id = d["id"].as_u64().unwrap();
        let statuses: serde_json::Value = client
            .get(format!(
                "{}/repos/{REPO}/deployments/{id}/statuses",
                sim.urls.github
            ))
            .bearer_auth(GH_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let state = statuses[0]["state"].as_str().unwrap_or("").to_string();
        out.push((id, state, d["transient_environment"] == true));
    }
    out
}

/// What the sim was asked, for one vendor, without the reads.
fn writes(sim: &Sim, vendor: &str) -> Vec<String> {
    sim.calls(vendor)
        .into_iter()
        .filter(|c| !c.starts_with("GET "))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_pull_requests_life_cycle_open_push_close() {
    let sim = start("").await;
    let repo = repository(&sim);

    // Opened: one job for both apps, each app's image from the config. Fly: the app is
    // created, marked, given secrets and addresses, deployed, gated. Coolify: its preview
    // of the image's tag.
    let out = job(&sim, repo.path(), Some(("opened", 7, SHA2, REPO)), &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.output("result").as_deref(), Some("success"));
    assert_eq!(
        out.output("environment-url").as_deref(),
        Some("https://7.api.example.com"),
        "the first app's"
    );
    let app = sim.fly_app("web-pr-7").expect("the preview app exists");
    assert_eq!(app.org, "acme");
    assert_eq!(app.secrets, ["DATABASE_URL", "STAGE_GATE_PREVIEW_OF"]);
    let kinds: Vec<&str> = app.ips.iter().map(|i| i.kind.as_str()).collect();
    assert_eq!(kinds, ["v6", "shared_v4"]);
    assert_eq!(app.machines.len(), 1, "{app:?}");
    let m = &app.machines[0];
    assert_eq!(
        m.metadata.get("stage_gate_pr").map(String::as_str),
        Some("7")
    );
    assert_eq!(
        m.metadata.get("stage_gate_repository").map(String::as_str),
        Some(REPO)
    );
    assert_eq!(m.secrets_version, Some(app.secrets_version));
    assert!(
        m.image.starts_with("registry.fly.io/web-staging:pr-7"),
        "{}",
        m.image
    );
    let previews = sim.coolify_previews("api-app").unwrap();
    assert_eq!(previews.len(), 1);
    assert_eq!(previews[0].pull_request_id, 7);
    assert_eq!(previews[0].docker_tag.as_deref(), Some("pr-7"));
    let first = comments(&sim, 7);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(
        first[0].contains("[web-pr-7.fly.dev](https://web-pr-7.fly.dev)"),
        "{}",
        first[0]
    );
    assert!(
        first[0].contains("[7.api.example.com](https://7.api.example.com)"),
        "{}",
        first[0]
    );
    assert!(first[0].contains("`2222222`"), "{}", first[0]);
    let recorded = deployments(&sim, "preview/pr-7").await;
    assert_eq!(recorded.len(), 2, "one per app: {recorded:?}");
    assert!(
        recorded.iter().all(|(_, s, t)| s == "success" && *t),
        "{recorded:?}"
    );
    let json: serde_json::Value = serde_json::from_str(&out.output("previews").unwrap()).unwrap();
    assert_eq!(json[0]["resource"], "coolify:api-app#7");
    assert_eq!(json[0]["digest"], "ghcr.io/acme/api:pr-7");
    assert_eq!(json[1]["resource"], "web-pr-7");
    assert_eq!(json[1]["created"], true);
    let digest = json[1]["digest"].as_str().unwrap();
    assert!(
        digest.starts_with("registry.fly.io/web-staging@sha256:"),
        "{digest}"
    );

    // Pushed: the same comment is edited, the machine updated, no new app.
    sim.set_pull_head(REPO, 7, SHA3).unwrap();
    let api = ["--app", "api", "--image", "ghcr.io/acme/api:pr-7-b"];
    let out = job(
        &sim,
        repo.path(),
        Some(("synchronize", 7, SHA3, REPO)),
        &api,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let web = [
        "--app",
        "web",
        "--image",
        "registry.fly.io/web-staging:pr-7-b",
    ];
    let out = job(
        &sim,
        repo.path(),
        Some(("synchronize", 7, SHA3, REPO)),
        &web,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let second = comments(&sim, 7);
    assert_eq!(second.len(), 1, "edited, not added: {second:?}");
    assert!(
        second[0].contains("`3333333`") && !second[0].contains("`2222222`"),
        "{}",
        second[0]
    );
    let app = sim.fly_app("web-pr-7").unwrap();
    assert_eq!(app.machines.len(), 1);
    assert!(app.machines[0]
        .image
        .starts_with("registry.fly.io/web-staging:pr-7-b"));
    let recorded = deployments(&sim, "preview/pr-7").await;
    assert_eq!(recorded.len(), 4, "{recorded:?}");
    assert_eq!(
        recorded.iter().filter(|(_, s, _)| s == "success").count(),
        2,
        "the older ones are inactive: {recorded:?}"
    );

    // An older commit after the newer one (jobs out of order): refused, nothing changed.
    sim.clear_log();
    let out = job(
        &sim,
        repo.path(),
        Some(("synchronize", 7, SHA2, REPO)),
        &["--app", "web"],
    );
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(out.stderr.contains("newer than 2222222"), "{}", out.stderr);
    assert!(writes(&sim, "fly").is_empty(), "{:?}", writes(&sim, "fly"));

    // Closed: the app is deleted, the records inactive, the comment says so.
    let out = job(&sim, repo.path(), Some(("closed", 7, SHA3, REPO)), &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.output("result").as_deref(), Some("removed"));
    assert!(sim.fly_app("web-pr-7").is_none());
    assert!(sim.coolify_previews("api-app").unwrap().is_empty());
    let recorded = deployments(&sim, "preview/pr-7").await;
    assert!(
        recorded.iter().all(|(_, s, _)| s == "inactive"),
        "{recorded:?}"
    );
    let last = comments(&sim, 7);
    assert_eq!(last.len(), 1);
    assert!(
        last[0].contains("torn down") && last[0].contains("pull request #7 was merged"),
        "{}",
        last[0]
    );

    // Closed again (a re-run): nothing to remove, success.
    let out = job(&sim, repo.path(), Some(("closed", 7, SHA3, REPO)), &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.output("result").as_deref(), Some("success"));
    assert!(
        out.stdout.contains("nothing to remove") || out.stderr.contains("nothing to remove"),
        "{}",
        out.all()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fork_is_skipped_without_a_vendor_call() {
    let sim = start("").await;
    let repo = repository(&sim);
    let out = job(
        &sim,
        repo.path(),
        Some(("opened", 9, SHA3, "mallory/web")),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.output("result").as_deref(), Some("skipped"));
    assert!(
        out.all()
            .contains("::notice::pull request #9 comes from mallory/web"),
        "{}",
        out.all()
    );
    assert!(sim.calls("fly").is_empty() && sim.calls("coolify").is_empty());
    assert!(sim.calls("github").is_empty(), "{:?}", sim.calls("github"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_preview_is_left_running_and_said_so() {
    let sim = start("").await;
    let repo = repository(&sim);
    let out = job(
        &sim,
        repo.path(),
        None,
        &["up", "--pr", "8", "--sha", SHA2, "--app", "web"],
    );
    assert_eq!(out.code, 4, "{}", out.all());
    assert_eq!(out.output("result").as_deref(), Some("failure"));
    assert!(
        out.all().contains("left running for debugging"),
        "{}",
        out.all()
    );
    let app = sim.fly_app("web-pr-8").expect("left running");
    assert_eq!(app.machines[0].state, "started");
    let c = comments(&sim, 8);
    assert!(c[0].contains("❌ unhealthy"), "{}", c[0]);
    let recorded = deployments(&sim, "preview/pr-8").await;
    assert_eq!(recorded[0].1, "failure");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hand_made_app_of_the_preview_name_is_never_deployed_into_or_deleted() {
    let sim = start("    - {name: web-pr-5, org: acme, machines: [{id: h1}]}").await;
    let repo = repository(&sim);
    let up = job(
        &sim,
        repo.path(),
        None,
        &["up", "--pr", "5", "--sha", SHA2, "--app", "web"],
    );
    assert_eq!(up.code, 3, "{}", up.all());
    assert!(
        up.stderr.contains("carries no stage-gate marker"),
        "{}",
        up.stderr
    );
    let down = job(
        &sim,
        repo.path(),
        None,
        &["down", "--pr", "5", "--app", "web"],
    );
    assert_eq!(down.code, 3, "{}", down.all());
    let app = sim.fly_app("web-pr-5").expect("untouched");
    assert!(app.secrets.is_empty(), "{app:?}");
    assert_eq!(app.machines.len(), 1);
    assert!(
        !writes(&sim, "fly").iter().any(|c| c.contains("web-pr-5")),
        "{:?}",
        writes(&sim, "fly")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_create_answer_is_asked_again_with_the_same_key_and_the_app_is_ours() {
    let sim = start("").await;
    sim.inject(Fault {
        vendor: Some("fly".into()),
        method: Some("POST".into()),
        path: "/v1/apps".into(),
        reset: true,
        after_acting: true,
        times: Some(1),
        ..Fault::default()
    });
    let repo = repository(&sim);
    let out = job(
        &sim,
        repo.path(),
        None,
        &["up", "--pr", "7", "--sha", SHA2, "--app", "web"],
    );
    assert_eq!(out.code, 0, "{}\n{:#?}", out.all(), sim.calls("fly"));
    let creates = sim
        .calls("fly")
        .into_iter()
        .filter(|c| c.starts_with("POST /v1/apps ") || c == "POST /v1/apps")
        .count();
    assert_eq!(creates, 2, "{:?}", sim.calls("fly"));
    let app = sim.fly_app("web-pr-7").unwrap();
    assert!(app.secrets.contains(&"STAGE_GATE_PREVIEW_OF".to_string()));
    assert_eq!(app.machines.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_delete_answer_is_looked_up_not_repeated() {
    let sim = start("").await;
    let repo = repository(&sim);
    let up = job(
        &sim,
        repo.path(),
        None,
        &["up", "--pr", "7", "--sha", SHA2, "--app", "web"],
    );
    assert_eq!(up.code, 0, "{}", up.all());
    sim.inject(Fault {
        vendor: Some("fly".into()),
        method: Some("DELETE".into()),
        path: "/v1/apps/web-pr-7".into(),
        reset: true,
        after_acting: true,
        times: Some(1),
        ..Fault::default()
    });
    sim.clear_log();
    let out = job(
        &sim,
        repo.path(),
        None,
        &["down", "--pr", "7", "--app", "web"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.output("result").as_deref(), Some("removed"));
    let deletes: Vec<String> = sim
        .calls("fly")
        .into_iter()
        .filter(|c| c.starts_with("DELETE"))
        .collect();
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert!(sim.fly_app("web-pr-7").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn sweep_decides_on_a_mixed_set_and_touches_only_its_own() {
    // web-pr-3: ours, pull request merged. web-pr-4: ours, open, never recorded.
    // web-pr-5: a hand-made app of the template's shape. web-pr-6: another repository's.
    // web-pr-77x: not the template's shape.
    let apps = r#"    - {name: web-pr-3, org: acme, secrets: {STAGE_GATE_PREVIEW_OF: "acme/web#3"}, machines: [{id: a3, metadata: {stage_gate_pr: "3", stage_gate_repository: acme/web}}]}
    - {name: web-pr-4, org: acme, secrets: {STAGE_GATE_PREVIEW_OF: "acme/web#4"}, machines: [{id: a4}]}
    - {name: web-pr-5, org: acme, machines: [{id: h5}]}
    - {name: web-pr-6, org: acme, secrets: {STAGE_GATE_PREVIEW_OF: "acme/other#6"}, machines: [{id: o6}]}
    - {name: web-pr-77x, org: acme, machines: [{id: x7}]}"#;
    let sim = start(apps).await;
    let repo = repository(&sim);
    let dry = job(
        &sim,
        repo.path(),
        None,
        &["sweep", "--dry-run", "--format", "json"],
    );
    assert_eq!(dry.code, 0, "{}", dry.all());
    let doc: serde_json::Value = serde_json::from_str(&dry.stdout).unwrap();
    let decisions: Vec<(String, String)> = doc["sweep"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["resource"].as_str().unwrap().to_string(),
                d["decision"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        [
            ("web-pr-5".to_string(), "left-alone".to_string()),
            ("web-pr-6".into(), "left-alone".into()),
            ("web-pr-4".into(), "kept".into()),
            ("web-pr-3".into(), "remove".into()),
        ]
    );
    assert_eq!(sim.fly_apps().len(), 6, "a dry run removes nothing");

    let out = job(&sim, repo.path(), None, &["sweep"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.output("result").as_deref(), Some("removed"));
    let left: Vec<String> = sim.fly_apps().into_iter().map(|a| a.name).collect();
    assert_eq!(
        left,
        [
            "web-pr-4",
            "web-pr-5",
            "web-pr-6",
            "web-pr-77x",
            "web-staging"
        ]
    );
    assert!(
        out.summary.contains("pull request #3 is merged"),
        "{}",
        out.summary
    );
    assert!(
        out.summary.contains("carries no stage-gate marker"),
        "{}",
        out.summary
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sweep_over_its_limit_removes_nothing_without_force() {
    let apps: String = (20..24)
        .map(|n| format!("    - {{name: web-pr-{n}, org: acme, secrets: {{STAGE_GATE_PREVIEW_OF: \"acme/web#{n}\"}}}}\n"))
        .collect();
    let sim = start(apps.trim_end()).await;
    let repo = repository(&sim);
    let out = job(&sim, repo.path(), None, &["sweep"]);
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr.contains("more than `sweep-limit` 3"),
        "{}",
        out.stderr
    );
    assert_eq!(sim.fly_apps().len(), 5);
    let out = job(&sim, repo.path(), None, &["sweep", "--force"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(sim.fly_apps().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_git_coolify_application_without_previews_is_a_clear_input_error() {
    let sim = start("").await;
    let repo = repository(&sim);
    std::fs::write(
        repo.path().join(".github/stage-gate.yml"),
        config(&sim.urls.health).replace("uuid: api-app", "uuid: git-app"),
    )
    .unwrap();
    let yaml = scenario("").clone();
    drop(yaml);
    let sim2 = stage_gate_sim::start(
        Scenario::parse(&format!(
            r#"
coolify:
  tokens: [{{token: {COOLIFY_TOKEN}, abilities: [root]}}]
  applications:
    - {{uuid: git-app, name: api, build_pack: nixpacks, fqdn: "https://api.example.com"}}
github:
  repos:
    - name: {REPO}
      pulls: [{{ number: 7, state: open, head_sha: "{SHA2}" }}]
"#
        ))
        .unwrap(),
    )
    .await
    .unwrap();
    let out = job(
        &sim2,
        repo.path(),
        None,
        &["up", "--pr", "7", "--sha", SHA2, "--app", "api"],
    );
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("preview deployments are off"),
        "{}",
        out.stderr
    );
    assert!(
        writes(&sim2, "coolify").is_empty(),
        "{:?}",
        writes(&sim2, "coolify")
    );
}

#[test]
fn check_refuses_preview_names_that_cannot_work() {
    let repo = repo_with_config(
        r#"version: 1
environments:
  preview: { per-pull-request: true }
  staging: {}
apps:
  web:
    environments:
      preview:
        fly: { app: web-preview, org: acme }
      staging:
        fly: { app: "web-{pr}" }
  api:
    environments:
      preview:
        fly: { app: "a-very-long-application-name-for-the-previews-of-pull-request-{pr}", org: acme }
"#,
    );
    let out = Run::new(repo.path())
        .args(["check", "--format", "human"])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    let all = out.all();
    assert!(all.contains("`web-preview` has no `{pr}`"), "{all}");
    assert!(
        all.contains("is 63 characters") || all.contains("characters for pull request 999999"),
        "{all}"
    );
    assert!(
        all.contains("`{pr}` is filled in only in an environment with `per-pull-request: true`"),
        "{all}"
    );
}

/// The text people read, fixed: the comment, the human result and the step summary of `up`,
/// and a sweep's dry run.
#[tokio::test(flavor = "multi_thread")]
async fn what_people_read_is_snapshotted() {
    let apps = r#"    - {name: web-pr-3, org: acme, secrets: {STAGE_GATE_PREVIEW_OF: "acme/web#3"}, machines: [{id: a3}]}
    - {name: web-pr-5, org: acme, machines: [{id: h5}]}"#;
    let sim = start(apps).await;
    let repo = repository(&sim);
    let up = job(
        &sim,
        repo.path(),
        Some(("opened", 7, SHA2, REPO)),
        &["--app", "web", "--format", "human"],
    );
    assert_eq!(up.code, 0, "{}", up.all());
    let dry = job(
        &sim,
        repo.path(),
        None,
        &["sweep", "--dry-run", "--format", "human"],
    );
    assert_eq!(dry.code, 0, "{}", dry.all());
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"sha256:[0-9a-f]{64}", "sha256:[digest]");
    settings.add_filter(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}Z)?", "[time]");
    settings.add_filter(r"http://127\.0\.0\.1:\d+", "[sim]");
    settings.add_filter(r"\b[0-9a-f]{14}\b", "[machine]");
    settings.add_filter(
        r"assigned addresses: .*",
        "assigned addresses: [v6], [shared v4]",
    );
    settings.add_filter(r"deployment \d+", "deployment [id]");
    settings.add_filter(r"\d+\.\d+ms|\d+ms", "[ms]");
    settings.bind(|| {
        insta::assert_snapshot!("preview_comment", comments(&sim, 7)[0].trim());
        insta::assert_snapshot!("preview_up_human", up.stdout.trim());
        insta::assert_snapshot!("preview_up_summary", up.summary.trim());
        insta::assert_snapshot!("preview_sweep_dry_run", dry.stdout.trim());
    });
}

/// A push whose image tag did not change (`web-staging:pr-7`, pushed again) still updates
/// the machines: each names the commit it runs.
#[tokio::test(flavor = "multi_thread")]
async fn a_push_with_the_same_image_tag_still_updates_the_machines() {
    let sim = start("").await;
    let repo = repository(&sim);
    let web = ["--app", "web"];
    let out = job(&sim, repo.path(), Some(("opened", 7, SHA2, REPO)), &web);
    assert_eq!(out.code, 0, "{}", out.all());
    let before = sim.fly_app("web-pr-7").unwrap().machines[0].clone();
    assert_eq!(
        before.metadata.get("stage_gate_sha").map(String::as_str),
        Some(SHA2)
    );
    let out = job(
        &sim,
        repo.path(),
        Some(("synchronize", 7, SHA3, REPO)),
        &web,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let after = sim.fly_app("web-pr-7").unwrap().machines[0].clone();
    assert_eq!(
        after.metadata.get("stage_gate_sha").map(String::as_str),
        Some(SHA3)
    );
    assert!(
        sim.calls("fly")
            .iter()
            .any(|c| c == &format!("POST /v1/apps/web-pr-7/machines/{}", before.id)),
        "the machine was updated: {:?}",
        sim.calls("fly")
    );
}

/// Without an event (a dispatch, a local run) `up --pr N` deploys the pull request's head as
/// GitHub reports it, and a fork's only at a commit named with --sha.
#[tokio::test(flavor = "multi_thread")]
async fn without_an_event_the_head_comes_from_github_and_a_forks_must_be_named() {
    let sim = start("").await;
    let repo = repository(&sim);
    let out = job(
        &sim,
        repo.path(),
        None,
        &["up", "--pr", "7", "--app", "web"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let m = sim.fly_app("web-pr-7").unwrap().machines[0].clone();
    assert_eq!(
        m.metadata.get("stage_gate_sha").map(String::as_str),
        Some(SHA2)
    );
    let fork = job(
        &sim,
        repo.path(),
        None,
        &["up", "--pr", "9", "--app", "web"],
    );
    assert_eq!(fork.code, 2, "{}", fork.all());
    assert!(
        fork.stderr
            .contains("comes from mallory/web: name the commit you read with --sha"),
        "{}",
        fork.stderr
    );
    assert!(sim.fly_app("web-pr-9").is_none());
    let named = job(
        &sim,
        repo.path(),
        None,
        &["up", "--pr", "9", "--sha", SHA3, "--app", "web"],
    );
    assert_eq!(named.code, 0, "{}", named.all());
}

/// A job that runs after the pull request closed brings nothing back; the refusal is still a
/// JSON document with result `refused`.
#[tokio::test(flavor = "multi_thread")]
async fn a_closed_pull_request_gets_no_preview() {
    let sim = start("").await;
    let repo = repository(&sim);
    let out = job(
        &sim,
        repo.path(),
        None,
        &[
            "up", "--pr", "3", "--sha", SHA1, "--app", "web", "--format", "json",
        ],
    );
    assert_eq!(out.code, 3, "{}", out.all());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "stage-gate/preview/v1");
    assert_eq!(doc["result"], "refused");
    assert!(doc["notice"]
        .as_str()
        .unwrap()
        .contains("pull request #3 is closed"));
    assert!(sim.calls("fly").is_empty(), "{:?}", sim.calls("fly"));
}

/// The per-pull-request environment is `preview`'s: the other commands refuse it, and a
/// credential of the job is never set on a preview app.
#[test]
fn other_commands_refuse_the_preview_environment_and_check_refuses_credentials() {
    let repo = repo_with_config(
        r#"version: 1
environments:
  preview: { per-pull-request: true }
apps:
  web:
    environments:
      preview:
        fly: { app: "web-pr-{pr}", org: acme, secrets: [DATABASE_URL, FLY_API_TOKEN, database-url] }
"#,
    );
    let check = Run::new(repo.path())
        .args(["check", "--format", "human"])
        .run();
    assert_eq!(check.code, 2, "{}", check.all());
    assert!(
        check
            .all()
            .contains("`FLY_API_TOKEN` is a credential of the job"),
        "{}",
        check.all()
    );
    assert!(
        check
            .all()
            .contains("`database-url` is not an environment variable name"),
        "{}",
        check.all()
    );
    let fixed = std::fs::read_to_string(repo.path().join(".github/stage-gate.yml"))
        .unwrap()
        .replace(", FLY_API_TOKEN, database-url", "");
    std::fs::write(repo.path().join(".github/stage-gate.yml"), fixed).unwrap();
    for args in [
        vec!["deploy", "--env", "preview"],
        vec!["health", "--env", "preview"],
        vec!["rollback", "--env", "preview"],
    ] {
        let out = Run::new(repo.path()).args(&args).run();
        assert_eq!(out.code, 2, "{args:?}: {}", out.all());
        assert!(
            out.stderr.contains("is per pull request"),
            "{args:?}: {}",
            out.stderr
        );
    }
    let out = Run::new(repo.path())
        .args(["preview", "up", "--pr", "1", "--env", "nope"])
        .run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("environment `nope` is not in the config (per pull request: `preview`)"),
        "{}",
        out.stderr
    );
}

/// What Fly stores is the secret itself (the redaction that keeps it out of every other
/// body must not touch the one call that delivers it); an unchanged secret is not set again,
/// and a rotated one reaches the machines.
#[tokio::test(flavor = "multi_thread")]
async fn secrets_arrive_whole_and_a_rotated_one_reaches_the_machines() {
    let sim = start("").await;
    let repo = repository(&sim);
    let web = ["up", "--pr", "7", "--sha", SHA2, "--app", "web"];
    let out = job(&sim, repo.path(), None, &web);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(stored_secret(&sim).await, DB_URL);
    let first = sim.fly_app("web-pr-7").unwrap().machines[0].clone();

    let again = job(&sim, repo.path(), None, &web);
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(!again.all().contains("set secrets"), "{}", again.all());
    let same = sim.fly_app("web-pr-7").unwrap().machines[0].clone();
    assert_eq!(same.secrets_version, first.secrets_version, "left alone");

    let rotated = "postgres://preview:r0tated-pass-2@db.internal/pr";
    let out = job_with(&sim, repo.path(), None, &web, rotated);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(stored_secret(&sim).await, rotated);
    let app = sim.fly_app("web-pr-7").unwrap();
    assert_eq!(
        app.machines[0].secrets_version,
        Some(app.secrets_version),
        "updated onto it"
    );
    assert_ne!(
        app.machines[0].metadata.get("stage_gate_secrets"),
        first.metadata.get("stage_gate_secrets")
    );
}

async fn stored_secret(sim: &Sim) -> String {
    let v: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/v1/apps/web-pr-7/secrets/DATABASE_URL?show_secrets=true",
            sim.urls.fly
        ))
        .bearer_auth(FLY_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["value"].as_str().unwrap_or("").to_string()
}

/// A mistyped organisation is a config error with the fix; a token that cannot create apps
/// is told which token previews need.
#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_organisation_says_which_key_and_which_token() {
    let sim = stage_gate_sim::start(
        Scenario::parse(&format!(
            r#"
fly:
  token: {FLY_TOKEN}
  orgs: [acme]
github:
  repos:
    - name: {REPO}
      commits: [{{ sha: "{SHA2}", message: "feat: x" }}]
      pulls: [{{ number: 7, state: open, head_sha: "{SHA2}" }}]
"#
        ))
        .unwrap(),
    )
    .await
    .unwrap();
    let repo = repository(&sim);
    let cfg = repo.path().join(".github/stage-gate.yml");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("org: acme", "org: acme-typo");
    std::fs::write(&cfg, text).unwrap();
    let out = job(
        &sim,
        repo.path(),
        None,
        &["up", "--pr", "7", "--sha", SHA2, "--app", "web"],
    );
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.all().contains("check `fly.org`"), "{}", out.all());
    assert!(
        out.all().contains("fly tokens create org --org acme-typo"),
        "{}",
        out.all()
    );
}

/// A force-push back to an earlier commit makes that commit the pull request's head: it is
/// brought up, not refused as "older".
#[tokio::test(flavor = "multi_thread")]
async fn a_force_push_back_is_the_head_and_is_brought_up() {
    let sim = start("").await;
    let repo = repository(&sim);
    let web = ["--app", "web"];
    sim.set_pull_head(REPO, 7, SHA3).unwrap();
    let out = job(
        &sim,
        repo.path(),
        Some(("synchronize", 7, SHA3, REPO)),
        &web,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    sim.set_pull_head(REPO, 7, SHA2).unwrap();
    let out = job(
        &sim,
        repo.path(),
        Some(("synchronize", 7, SHA2, REPO)),
        &web,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let m = sim.fly_app("web-pr-7").unwrap().machines[0].clone();
    assert_eq!(
        m.metadata.get("stage_gate_sha").map(String::as_str),
        Some(SHA2)
    );
}
