//! A deploy cancelled the way the runner cancels a step (SIGINT; a second signal to end at
//! once), in a child process, at several points: before the first update, mid-wave, during
//! a Coolify build and during the health soak. Each asserts the end state: no lease held, no
//! machine stopped that was running, the Deployment marked `error` with where it stopped, the
//! summary and outputs written, exit 5 — and that a deploy of another run goes through next.

use crate::common::{repo_with_config, Output, Run, Spawned};
use serde_json::Value;
use stage_gate_sim::{LogEntry, Scenario, Sim};
use std::time::{Duration, Instant};

const GH: &str = "ghs_cancelGithubToken0123456789abcdef";
const FLY: &str = "fm2_cancelFlyToken0123456789abcdefgh";
const COOLIFY: &str = "7|cancelCoolifyToken0123456789abcdef";
const SHA: &str = "dddddddddddddddddddddddddddddddddddddddd";
const V1: &str = "registry.fly.io/web:v1";
const V2: &str = "registry.fly.io/web:v2";

fn scenario(extra_faults: &str, build_ms: u64) -> Scenario {
    let yaml = format!(
        r#"fly:
  token: "{FLY}"
  start_ms: 1200
  apps:
  - name: web
    image: {V1}
    machines: [{{id: a}}, {{id: b}}, {{id: c}}]
coolify:
  tokens: [{{token: "{COOLIFY}", abilities: [root]}}]
  applications:
  - {{uuid: web-uuid, name: web, image: ghcr.io/acme/web, image_tag: v1.0.0, build_ms: {build_ms}}}
github:
  repos:
  - name: acme/shop
    branches: {{main: "{SHA}"}}
health:
  endpoints:
    up: {{}}
{extra_faults}"#
    );
    Scenario::parse(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

fn config(provider: &str, health: &str) -> String {
    format!(
        "version: 1\nenvironments: {{staging: {{}}}}\napps:\n  web:\n    environments:\n      staging:\n        {provider}\n{health}        rollback-on-failure: true\n        timeout: 60s\n"
    )
}

const FLY_TARGET: &str =
    "fly: {app: web, strategy: rolling, max-unavailable: 1, wait-timeout: 20s}";
const COOLIFY_TARGET: &str =
    "coolify: {url: \"https://coolify.example.com\", uuid: web-uuid, set-image-tag: true, poll-interval: 50ms}";

struct World {
    sim: Sim,
    repo: tempfile::TempDir,
    actions: tempfile::TempDir,
}

impl World {
    async fn new(scenario: Scenario, config: &str) -> World {
        World {
            sim: stage_gate_sim::start(scenario).await.expect("sim"),
            repo: repo_with_config(config),
            actions: tempfile::tempdir().unwrap(),
        }
    }

    fn deploy(&self, run_id: &str, args: &[&str]) -> Run {
        let dir = self.actions.path().join(run_id);
        std::fs::create_dir_all(&dir).unwrap();
        Run::new(self.repo.path())
            .actions(&dir)
            .env("STAGE_GATE_GITHUB_API_URL", &self.sim.urls.github)
            .env("STAGE_GATE_GITHUB_UPLOADS_URL", &self.sim.urls.uploads)
            .env("STAGE_GATE_REPOSITORY", "acme/shop")
            .env("GITHUB_TOKEN", GH)
            .env("GITHUB_SHA", SHA)
            .env("GITHUB_REF", "refs/heads/main")
            .env("GITHUB_RUN_ID", run_id)
            .env("FLY_API_TOKEN", FLY)
            .env("STAGE_GATE_FLY_API_URL", &self.sim.urls.fly)
            .env("COOLIFY_TOKEN", COOLIFY)
            .env("STAGE_GATE_COOLIFY_URL", &self.sim.urls.coolify)
            .args(["deploy", "--env", "staging"])
            .args(args)
    }

    /// Start a deploy, wait until `point` is seen in the simulator's log, send SIGINT.
    async fn cancelled_at(&self, args: &[&str], point: impl Fn(&LogEntry) -> bool) -> Output {
        let child = self.deploy("100", args).spawn();
        self.wait_for(&child, &point).await;
        child.signal("INT");
        let started = Instant::now();
        let out = tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap();
        // Within the runner's grace: SIGTERM comes 7.5 s after SIGINT.
        assert!(
            started.elapsed() < Duration::from_millis(7500),
            "took {:?} after the signal\n{}",
            started.elapsed(),
            out.all()
        );
        out
    }

    async fn wait_for(&self, child: &Spawned, point: &impl Fn(&LogEntry) -> bool) {
        let until = Instant::now() + Duration::from_secs(30);
        while !self.sim.log().iter().any(point) {
            assert!(Instant::now() < until, "the point was never reached");
            assert!(child_alive(child), "the deploy ended before the point");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn get(&self, url: String, token: &str) -> Value {
        reqwest::Client::new()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// (id, image, state, leased) of each machine.
    async fn machines(&self) -> Vec<(String, String, String, bool)> {
        let list = self
            .get(
                format!(
                    "{}/v1/apps/web/machines?include_leases=true",
                    self.sim.urls.fly
                ),
                FLY,
            )
            .await;
        let mut out: Vec<_> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["id"].as_str().unwrap().to_string(),
                    crate::common::image_of(m),
                    m["state"].as_str().unwrap().to_string(),
                    m.get("lease").is_some(),
                )
            })
            .collect();
        out.sort();
        out
    }

    /// The newest Deployment record's last status: (state, description).
    async fn last_status(&self) -> (String, String) {
        let base = format!("{}/repos/acme/shop/deployments", self.sim.urls.github);
        let list = self.get(base.clone(), GH).await;
        let id = &list[0]["id"];
        let statuses = self.get(format!("{base}/{id}/statuses"), GH).await;
        (
            statuses[0]["state"].as_str().unwrap_or("").to_string(),
            statuses[0]["description"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        )
    }

    /// The next push's deploy (another run) goes through at once.
    async fn next_run_deploys(&self, args: &[&str]) {
        let run = self.deploy("101", args);
        let out = tokio::task::spawn_blocking(move || run.run())
            .await
            .unwrap();
        assert_eq!(out.code, 0, "the next run is not blocked:\n{}", out.all());
    }
}

fn child_alive(child: &Spawned) -> bool {
    std::path::Path::new(&format!("/proc/{}", child.child.id())).exists()
}

fn line(e: &LogEntry) -> String {
    format!("{} {}", e.method, e.path)
}

fn assert_cancelled(out: &Output) {
    assert_eq!(out.code, 5, "{}", out.all());
    assert_eq!(
        out.output("result").as_deref(),
        Some("cancelled"),
        "{}",
        out.outputs
    );
    assert!(
        out.summary.contains("cancelled by SIGINT"),
        "summary:\n{}",
        out.summary
    );
    assert!(out.stderr.contains("SIGINT received"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_before_the_first_update_changes_nothing() {
    // The in-progress status is slow to answer: the signal lands while it is in flight.
    let faults = "faults:\n  - {vendor: github, method: POST, path: '/repos/acme/shop/deployments/*/statuses', delay_ms: 1500, skip: 1, times: 1}\n";
    let w = World::new(scenario(faults, 200), &config(FLY_TARGET, "")).await;
    let out = w
        .cancelled_at(&["--image", V2], |e| {
            line(e) == "POST /repos/acme/shop/deployments" && e.status == Some(201)
        })
        .await;
    assert_cancelled(&out);
    assert!(
        !w.sim
            .log()
            .iter()
            .any(|e| e.vendor == "fly" && e.method == "POST"),
        "no lease, no update"
    );
    let (state, description) = w.last_status().await;
    assert_eq!(state, "error");
    assert_eq!(
        description,
        "cancelled by SIGINT before the deploy started: nothing was changed"
    );
    for m in w.machines().await {
        assert_eq!(
            (m.1.as_str(), m.2.as_str(), m.3),
            (V1, "started", false),
            "{m:?}"
        );
    }
    w.next_run_deploys(&["--image", V2]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_mid_wave_finishes_the_wave_and_starts_no_other() {
    let w = World::new(scenario("", 200), &config(FLY_TARGET, "")).await;
    let out = w
        .cancelled_at(&["--image", V2], |e| {
            line(e) == "POST /v1/apps/web/machines/a" && e.status == Some(200)
        })
        .await;
    assert_cancelled(&out);
    assert_eq!(
        w.machines().await,
        vec![
            ("a".into(), V2.into(), "started".into(), false),
            ("b".into(), V1.into(), "started".into(), false),
            ("c".into(), V1.into(), "started".into(), false),
        ],
        "a on the new image, b and c untouched, every lease released"
    );
    let (state, description) = w.last_status().await;
    assert_eq!(state, "error");
    assert_eq!(
        description,
        "cancelled by SIGINT at wave 1/3: machine(s) a on the new image; b, c on the old one"
    );
    w.next_run_deploys(&["--image", V2]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_ends_at_once_and_releases_the_leases() {
    let w = World::new(scenario("", 200), &config(FLY_TARGET, "")).await;
    let child = w.deploy("100", &["--image", V2]).spawn();
    w.wait_for(&child, &|e: &LogEntry| {
        line(e) == "POST /v1/apps/web/machines/a" && e.status == Some(200)
    })
    .await;
    child.signal("INT");
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.signal("INT");
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.code, 5, "{}", out.all());
    assert!(out.stderr.contains("second signal"), "{}", out.stderr);
    for m in w.machines().await {
        assert!(!m.3, "lease left on {m:?}");
        assert_ne!(m.2, "stopped", "{m:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_during_a_coolify_build_cancels_it_there() {
    let w = World::new(scenario("", 10_000), &config(COOLIFY_TARGET, "")).await;
    let out = w
        .cancelled_at(&["--version", "v1.1.0"], |e| {
            line(e) == "POST /api/v1/deploy" && e.status == Some(200)
        })
        .await;
    assert_cancelled(&out);
    assert!(out.all().contains("cancelled deployment"), "{}", out.all());
    let api = format!("{}/api/v1", w.sim.urls.coolify);
    let history = w
        .get(
            format!("{api}/deployments/applications/web-uuid?skip=0&take=5"),
            COOLIFY,
        )
        .await;
    assert_eq!(
        history["deployments"][0]["status"], "cancelled-by-user",
        "{history}"
    );
    let app = w.get(format!("{api}/applications/web-uuid"), COOLIFY).await;
    assert_eq!(
        app["docker_registry_image_tag"], "v1.0.0",
        "the tag is put back"
    );
    let (state, description) = w.last_status().await;
    assert_eq!(state, "error");
    assert!(
        description.starts_with("cancelled by SIGINT while Coolify was deploying"),
        "{description}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_during_the_health_soak_stops_probing() {
    let w = World::new(scenario("", 200), "").await;
    let health = format!(
        "        health: {{interval: 100ms, soak: 60s, deadline: 90s, probes: [{{url: \"{}/health/up\"}}]}}\n",
        w.sim.urls.health
    );
    std::fs::write(
        w.repo.path().join(".github/stage-gate.yml"),
        config("command: {run: \"true\"}", &health),
    )
    .unwrap();
    let out = w
        .cancelled_at(&[], |e| e.vendor == "health" && e.path == "/health/up")
        .await;
    assert_cancelled(&out);
    let (state, description) = w.last_status().await;
    assert_eq!(state, "error");
    assert_eq!(
        description,
        "cancelled by SIGINT during the health gate: the new version runs, not proven healthy"
    );
    let probes = w.sim.log().iter().filter(|e| e.vendor == "health").count();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        w.sim.log().iter().filter(|e| e.vendor == "health").count(),
        probes,
        "no probe after the process ended"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_during_the_release_command_leaves_it_to_finish_and_changes_nothing_else() {
    let mut s = scenario("", 200);
    if let Some(app) = s.fly.apps.first_mut() {
        app.job_ms = Some(60_000);
    }
    let target = "fly: {app: web, config: fly.toml, strategy: rolling, wait-timeout: 20s}";
    let w = World::new(s, &config(target, "")).await;
    std::fs::write(
        w.repo.path().join("fly.toml"),
        "app = 'web'\nprimary_region = 'iad'\n[deploy]\nrelease_command = 'bin/migrate'\n",
    )
    .unwrap();
    let out = w
        .cancelled_at(&["--image", V2], |e| {
            e.vendor == "fly"
                && e.method == "POST"
                && e.path.ends_with("/start")
                && e.status == Some(200)
        })
        .await;
    assert_cancelled(&out);
    assert!(
        out.all().contains("while release_command ran on machine"),
        "{}",
        out.all()
    );
    for m in w
        .machines()
        .await
        .iter()
        .filter(|m| ["a", "b", "c"].contains(&m.0.as_str()))
    {
        assert_eq!(
            (m.1.as_str(), m.2.as_str(), m.3),
            (V1, "started", false),
            "{m:?}"
        );
    }
    // The migration is not killed half-way.
    assert!(
        !w.sim
            .log()
            .iter()
            .any(|e| e.vendor == "fly" && e.method == "DELETE"),
        "the release machine was left to finish"
    );
}
