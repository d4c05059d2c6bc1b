//! The Fly provider through its Rust API against the Fly Machines simulator: every strategy,
//! with faults (lease held by someone else, stale version, a machine that fails to start,
//! checks that never pass, restart loops, 500s mid-rollout, reset connections), asserting the
//! final state of every machine and the exact request log. Nothing asserts on elapsed time.

mod faults;
mod fulltoml;
mod modes;
mod recovery;
mod strategies;

use serde_json::{json, Value};
use stage_gate::config::{FlyConfig, FlyStrategy, HealthConfig, ProviderConfig, Target};
use stage_gate::context::Ctx;
use stage_gate::inputs::Env;
use stage_gate::providers::fly::FlyProvider;
use stage_gate::providers::{
    DeployOutcome, DeployRequest, Provider, ProviderError, RollbackRequest,
};
use stage_gate_sim::{Fault, Scenario, Sim};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "fm2_secret-deploy-token";
const V1: &str = "registry.fly.io/web:v1";
const V2: &str = "registry.fly.io/web:v2";

/// Three started `app` machines (a, b, c) and one `worker` (w), plus extra YAML for app `web`.
fn scenario(extra_app: &str, machines: &str) -> String {
    format!(
        "fly:\n  token: {TOKEN}\n  apps:\n  - name: web\n    image: {V1}\n{extra_app}    machines:\n{machines}"
    )
}

const MACHINES: &str = "    - {id: a, region: iad}\n    - {id: b, region: ams}\n    - {id: c, region: iad}\n    - {id: w, region: iad, process_group: worker}\n";

struct Harness {
    sim: Sim,
    ctx: Ctx,
    printed: Arc<Mutex<Vec<u8>>>,
}

async fn harness(yaml: &str) -> Harness {
    harness_in(yaml, Path::new("/nonexistent"), &[]).await
}

async fn harness_in(yaml: &str, root: &Path, extra_env: &[(&str, &str)]) -> Harness {
    let sim = stage_gate_sim::start(Scenario::parse(yaml).expect("valid scenario"))
        .await
        .expect("simulator starts");
    let mut env = Env::default();
    env.set("FLY_API_TOKEN", TOKEN);
    env.set("STAGE_GATE_FLY_API_URL", sim.urls.fly.clone());
    env.set("STAGE_GATE_FAST_RETRIES", "1");
    for (k, v) in extra_env {
        env.set(*k, *v);
    }
    let (ctx, printed) = Ctx::for_test(root, env);
    Harness { sim, ctx, printed }
}

fn config(strategy: FlyStrategy, max_unavailable: f64) -> FlyConfig {
    FlyConfig {
        app: Some("web".into()),
        config: None,
        image: None,
        strategy,
        max_unavailable,
        wait_timeout: Duration::from_secs(10),
        process_groups: Vec::new(),
        api_url: "http://127.0.0.1:9".into(),
        token_env: "FLY_API_TOKEN".into(),
        org: None,
        secrets: Vec::new(),
        explicit: stage_gate::config::FlyExplicit::ALL,
    }
}

fn request(config: &FlyConfig, image: Option<&str>, rollback: bool) -> DeployRequest {
    DeployRequest {
        target: Target {
            app: "web".into(),
            env: "staging".into(),
            provider: ProviderConfig::Fly(config.clone()),
            url: None,
            health: HealthConfig::default(),
            rollback_on_failure: rollback,
            timeout: Duration::from_secs(60),
        },
        sha: "0123456789abcdef".into(),
        version: None,
        image: image.map(str::to_string),
        deadline: Instant::now() + Duration::from_secs(60),
        labels: Vec::new(),
        min_secrets_version: None,
    }
}

impl Harness {
    fn provider(&self, config: &FlyConfig) -> FlyProvider {
        FlyProvider::new(config.clone(), &self.ctx.provider_deps()).expect("provider")
    }

    async fn deploy(
        &self,
        config: &FlyConfig,
        rollback: bool,
    ) -> Result<DeployOutcome, ProviderError> {
        self.provider(config)
            .deploy(&request(config, Some(V2), rollback))
            .await
    }

    async fn machines(&self) -> Vec<Value> {
        let r = reqwest::Client::new()
            .get(format!(
                "{}/v1/apps/web/machines?include_leases=true",
                self.sim.urls.fly
            ))
            .header("authorization", format!("Bearer {TOKEN}"))
            .send()
            .await
            .expect("list");
        r.json::<Vec<Value>>().await.expect("machines")
    }

    /// (id, image, state, leased?) of every machine, sorted by id.
    /// The one artifact every machine of the app runs (`registry/repository@sha256:…`),
    /// read from the simulator's `image_ref`s; panics when they differ.
    async fn artifact(&self) -> String {
        let all: std::collections::BTreeSet<String> = self
            .machines()
            .await
            .iter()
            .filter(|m| m["state"] != "destroyed")
            .map(|m| {
                let r = &m["image_ref"];
                format!(
                    "{}/{}@{}",
                    r["registry"].as_str().unwrap_or(""),
                    r["repository"].as_str().unwrap_or(""),
                    r["digest"].as_str().unwrap_or("")
                )
            })
            .collect();
        assert_eq!(all.len(), 1, "the app runs more than one image: {all:?}");
        all.into_iter().next().unwrap_or_default()
    }

    async fn state(&self) -> Vec<(String, String, String, bool)> {
        let mut out: Vec<_> = self
            .machines()
            .await
            .iter()
            .map(|m| {
                (
                    m["id"].as_str().unwrap_or("").to_string(),
                    crate::common::image_of(m),
                    m["state"].as_str().unwrap_or("").to_string(),
                    m.get("lease").is_some(),
                )
            })
            .collect();
        out.sort();
        out
    }

    /// The provider's Fly calls, versions and timeouts normalised: `GET …/wait?state=started,failed&timeout=N&version=V`
    /// → `…/wait?state=started,failed&version={v}`.
    fn calls(&self) -> Vec<String> {
        self.sim
            .log()
            .iter()
            // Only the provider's calls (its user agent), not the test's own look-ups.
            .filter(|e| {
                e.vendor == "fly"
                    && e.headers
                        .get("user-agent")
                        .is_some_and(|ua| ua.starts_with("stage-gate/"))
            })
            .map(|e| {
                let line = e.line().replace("/v1/apps/web", "");
                let line = match line.split_once("&timeout=") {
                    Some((head, tail)) => {
                        let version = tail.contains("&version=");
                        format!("{head}{}", if version { "&version={v}" } else { "" })
                    }
                    None => line,
                };
                match e.status {
                    Some(s) if s >= 300 => format!("{line} -> {s}"),
                    Some(_) => line,
                    None => format!("{line} -> reset"),
                }
            })
            .collect()
    }

    /// The calls about one machine, in order.
    fn calls_for(&self, id: &str) -> Vec<String> {
        let needle = format!("/machines/{id}");
        self.calls()
            .into_iter()
            .filter(|c| {
                c.split_whitespace().nth(1).is_some_and(|p| {
                    p == needle
                        || p.starts_with(&format!("{needle}/"))
                        || p.starts_with(&format!("{needle}?"))
                })
            })
            .collect()
    }

    fn printed(&self) -> String {
        String::from_utf8_lossy(&self.printed.lock().unwrap_or_else(|p| p.into_inner()))
            .into_owned()
    }
}

/// The exact per-machine call sequence of a verified in-place update.
fn verified_update(id: &str) -> Vec<String> {
    vec![
        format!("POST /machines/{id}/lease"),
        format!("GET /machines/{id}"),
        format!("POST /machines/{id}"),
        format!("GET /machines/{id}/wait?state=started,failed&version={{v}}"),
        format!("GET /machines/{id}"),
        format!("DELETE /machines/{id}/lease"),
    ]
}

fn all(image: &str, ids: &[&str]) -> Vec<(String, String, String, bool)> {
    ids.iter()
        .map(|id| {
            (
                id.to_string(),
                image.to_string(),
                "started".to_string(),
                false,
            )
        })
        .collect()
}

fn failure(e: ProviderError) -> (String, Option<String>) {
    match e {
        ProviderError::Failed {
            message,
            rolled_back,
            ..
        } => (message, rolled_back.map(|r| r.note().to_string())),
        other => panic!("expected a deploy failure, got {other:?}"),
    }
}

fn fly_spec() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/specs/fly-machines.openapi.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("the Fly spec is JSON")
}

/// Contract, request side: every call the provider made is an operation of the spec, and every
/// body it sent conforms to that operation's request schema.
fn assert_requests_match_the_spec(h: &Harness) -> usize {
    use stage_gate_sim::contract;
    let spec = fly_spec();
    let mut checked = 0;
    for e in h.sim.log() {
        if !e
            .headers
            .get("user-agent")
            .is_some_and(|u| u.starts_with("stage-gate/"))
        {
            continue;
        }
        if e.path.ends_with("/volumes") {
            // Outside the saved spec (stage_gate_sim::fly::OUTSIDE_SPEC): the fields of the
            // docs' CreateVolumeRequest.
            if let Some(body) = &e.body {
                let known = [
                    "name",
                    "region",
                    "size_gb",
                    "encrypted",
                    "snapshot_retention",
                ];
                for k in body.as_object().into_iter().flat_map(|o| o.keys()) {
                    assert!(
                        known.contains(&k.as_str()),
                        "POST volumes: unknown field {k}"
                    );
                }
                checked += 1;
            }
            continue;
        }
        let (template, op) = contract::operation(&spec, &e.method, &e.path)
            .unwrap_or_else(|| panic!("{} {} is not in the Fly spec", e.method, e.path));
        for (k, _) in url::form_urlencoded::parse(e.query.as_deref().unwrap_or("").as_bytes()) {
            let declared = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["in"] == "query" && p["name"] == k.as_ref());
            assert!(
                declared,
                "{} {template}: query parameter {k} is not in the spec",
                e.method
            );
        }
        if let Some(body) = &e.body {
            let schema = contract::request_schema(op)
                .unwrap_or_else(|| panic!("{} {template} takes no JSON body", e.method));
            let problems =
                contract::problems(&spec, schema, body, &format!("{} {template}", e.method));
            assert!(problems.is_empty(), "{}", problems.join("\n"));
            checked += 1;
        }
    }
    checked
}
