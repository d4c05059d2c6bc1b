//! The Fly provider through its Rust API against the Fly Machines simulator: every strategy,
//! with faults (lease held by someone else, stale version, a machine that fails to start,
//! checks that never pass, restart loops, 500s mid-rollout, reset connections), asserting the
//! final state of every machine and the exact request log. Nothing asserts on elapsed time.

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
    }
}

impl Harness {
    fn provider(&self, config: &FlyConfig) -> FlyProvider {
        FlyProvider::new(config.clone(), &self.ctx).expect("provider")
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
    async fn state(&self) -> Vec<(String, String, String, bool)> {
        let mut out: Vec<_> = self
            .machines()
            .await
            .iter()
            .map(|m| {
                (
                    m["id"].as_str().unwrap_or("").to_string(),
                    m["config"]["image"].as_str().unwrap_or("").to_string(),
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
        } => (message, rolled_back),
        other => panic!("expected a deploy failure, got {other:?}"),
    }
}

#[tokio::test]
async fn rolling_updates_spearhead_then_waves_per_group() {
    let h = harness(&scenario("", MACHINES)).await;
    let cfg = config(FlyStrategy::Rolling, 2.0);
    let outcome = h.deploy(&cfg, true).await.expect("deploy succeeds");

    assert_eq!(h.state().await, all(V2, &["a", "b", "c", "w"]));
    assert_eq!(outcome.image.as_deref(), Some(V2));
    let mut ids = outcome.provider_ids.clone();
    ids.sort();
    assert_eq!(ids, ["a", "b", "c", "w"]);
    let details: std::collections::BTreeMap<_, _> = outcome.details.iter().cloned().collect();
    assert_eq!(details["strategy"], "rolling");
    assert!(
        details["machines"].starts_with("a (iad) 01"),
        "{}",
        details["machines"]
    );
    assert!(details["machines"].contains("b (ams)"));
    assert!(outcome
        .rollback_point
        .as_ref()
        .is_some_and(|p| p["image"] == V1));

    let calls = h.calls();
    assert_eq!(calls[0], "GET /machines");
    for id in ["a", "b", "c", "w"] {
        assert_eq!(h.calls_for(id), verified_update(id), "machine {id}");
    }
    // Spearhead `a` finishes (lease released) before the wave {b, c} starts; `w` comes last.
    let pos = |c: &str| calls.iter().position(|x| x == c).expect(c);
    assert!(pos("DELETE /machines/a/lease") < pos("POST /machines/b/lease"));
    assert!(pos("DELETE /machines/a/lease") < pos("POST /machines/c/lease"));
    assert!(pos("DELETE /machines/b/lease") < pos("POST /machines/w/lease"));
    assert!(pos("DELETE /machines/c/lease") < pos("POST /machines/w/lease"));
    assert_eq!(calls.len(), 1 + 4 * 6, "{calls:#?}");

    // The token went out as a FlyV1 macaroon, and was never printed.
    let log: Vec<_> = h
        .sim
        .log()
        .into_iter()
        .filter(|e| {
            e.headers
                .get("user-agent")
                .is_some_and(|u| u.starts_with("stage-gate/"))
        })
        .collect();
    assert_eq!(log.len(), 25);
    assert!(log
        .iter()
        .all(|e| e.headers.get("authorization").map(String::as_str) == Some("FlyV1 ***")));
    assert!(!h.printed().contains(TOKEN));
    // The update carried the full config, the version and the nonce.
    let update = log
        .iter()
        .find(|e| e.method == "POST" && e.path == "/v1/apps/web/machines/a")
        .expect("update of a");
    let body = update.body.clone().unwrap_or_default();
    assert_eq!(body["config"]["image"], V2);
    assert!(
        body["config"]["services"].is_array(),
        "the whole config is sent"
    );
    assert!(body["current_version"]
        .as_str()
        .is_some_and(|v| v.len() == 26));
    assert!(update.headers.contains_key("fly-machine-lease-nonce"));
}

#[tokio::test]
async fn rerunning_the_same_deploy_changes_nothing() {
    let h = harness(&scenario("", MACHINES)).await;
    let cfg = config(FlyStrategy::Rolling, 0.33);
    h.deploy(&cfg, true).await.expect("first deploy");
    h.sim.clear_log();
    let again = h.deploy(&cfg, true).await.expect("second deploy");
    assert_eq!(h.calls(), ["GET /machines"]);
    assert!(again.provider_ids.is_empty());
    assert_eq!(h.state().await, all(V2, &["a", "b", "c", "w"]));
}

#[tokio::test]
async fn process_groups_limit_the_machines_touched() {
    let h = harness(&scenario("", MACHINES)).await;
    let mut cfg = config(FlyStrategy::Rolling, 0.33);
    cfg.process_groups = vec!["worker".into()];
    h.deploy(&cfg, true).await.expect("deploy");
    let mut want = all(V1, &["a", "b", "c"]);
    want.extend(all(V2, &["w"]));
    assert_eq!(h.state().await, want);
    assert_eq!(h.calls().len(), 1 + 6);
}

#[tokio::test]
async fn immediate_updates_everything_without_waiting() {
    let h = harness(&scenario("", MACHINES)).await;
    h.deploy(&config(FlyStrategy::Immediate, 0.33), true)
        .await
        .expect("deploy");
    for id in ["a", "b", "c", "w"] {
        assert_eq!(
            h.calls_for(id),
            [
                format!("POST /machines/{id}/lease"),
                format!("GET /machines/{id}"),
                format!("POST /machines/{id}"),
                format!("DELETE /machines/{id}/lease"),
            ]
        );
    }
    // Machines reach started on their own.
    for id in ["a", "b", "c", "w"] {
        let wait = reqwest::Client::new()
            .get(format!(
                "{}/v1/apps/web/machines/{id}/wait?state=started&timeout=5",
                h.sim.urls.fly
            ))
            .header("authorization", format!("Bearer {TOKEN}"))
            .send()
            .await
            .expect("wait");
        assert_eq!(wait.status(), 200);
    }
    assert_eq!(h.state().await, all(V2, &["a", "b", "c", "w"]));
}

#[tokio::test]
async fn canary_failure_touches_only_the_canary_and_restores_it() {
    let machines = "    - {id: a, fail_on_image: '*:v2'}\n    - {id: b}\n    - {id: c}\n";
    let h = harness(&scenario("", machines)).await;
    let err = h
        .deploy(&config(FlyStrategy::Canary, 2.0), true)
        .await
        .expect_err("canary fails");
    let (message, rolled_back) = failure(err);
    assert!(message.contains("machine a went `failed`"), "{message}");
    assert_eq!(
        rolled_back.as_deref(),
        Some(format!("restored 1 machine(s) to {V1}: a").as_str())
    );
    assert_eq!(h.state().await, all(V1, &["a", "b", "c"]));
    assert!(h.calls_for("b").is_empty() && h.calls_for("c").is_empty());
    let mut want = verified_update("a");
    want.truncate(4); // lease, read, update, wait → failed
    want.push("DELETE /machines/a/lease".into());
    want.extend([
        "POST /machines/a/lease".to_string(),
        "GET /machines/a".into(),
        "POST /machines/a".into(),
        "GET /machines/a/wait?state=started,failed&version={v}".into(),
        "DELETE /machines/a/lease".into(),
    ]);
    assert_eq!(h.calls_for("a"), want);
}

#[tokio::test]
async fn canary_success_then_the_rest() {
    let h = harness(&scenario("", MACHINES)).await;
    let outcome = h
        .deploy(&config(FlyStrategy::Canary, 0.5), true)
        .await
        .expect("deploy");
    assert_eq!(outcome.provider_ids.len(), 4);
    assert_eq!(h.state().await, all(V2, &["a", "b", "c", "w"]));
    let calls = h.calls();
    let pos = |c: &str| calls.iter().position(|x| x == c).expect(c);
    assert!(pos("DELETE /machines/a/lease") < pos("POST /machines/b/lease"));
}

#[tokio::test]
async fn a_lease_held_by_someone_else_stops_the_deploy_and_restores() {
    let machines = "    - {id: a}\n    - {id: b, leased_by: alice@example.com}\n    - {id: c}\n";
    let h = harness(&scenario("", machines)).await;
    let err = h
        .deploy(&config(FlyStrategy::Rolling, 1.0), true)
        .await
        .expect_err("fails");
    let (message, rolled_back) = failure(err);
    assert!(
        message.contains("machine b is leased by someone else after 3 attempts"),
        "{message}"
    );
    assert!(message.contains("alice@example.com"), "{message}");
    assert_eq!(
        rolled_back.as_deref(),
        Some(format!("restored 1 machine(s) to {V1}: a").as_str())
    );
    assert_eq!(
        h.calls_for("b"),
        [
            "POST /machines/b/lease -> 409",
            "POST /machines/b/lease -> 409",
            "POST /machines/b/lease -> 409"
        ]
    );
    assert!(h.calls_for("c").is_empty());
    let state = h.state().await;
    assert_eq!(state[0], ("a".into(), V1.into(), "started".into(), false));
    assert_eq!(
        state[1],
        ("b".into(), V1.into(), "started".into(), true),
        "alice keeps her lease"
    );
    assert_eq!(state[2], ("c".into(), V1.into(), "started".into(), false));
}

#[tokio::test]
async fn a_stale_version_409_fails_without_touching_the_machine() {
    let h = harness(&scenario("", MACHINES)).await;
    h.sim.inject(Fault {
        method: Some("POST".into()),
        path: "/v1/apps/web/machines/a".into(),
        status: Some(409),
        body: Some(r#"{"error":"current version does not match"}"#.into()),
        times: Some(1),
        ..Fault::default()
    });
    let err = h
        .deploy(&config(FlyStrategy::Rolling, 0.33), true)
        .await
        .expect_err("fails");
    let (message, rolled_back) = failure(err);
    assert!(
        message.contains("machine a changed while we held its lease"),
        "{message}"
    );
    assert!(
        message.contains("current version does not match"),
        "{message}"
    );
    assert_eq!(
        rolled_back.as_deref(),
        Some("nothing to restore: no machine had changed")
    );
    assert_eq!(
        h.calls_for("a"),
        [
            "POST /machines/a/lease",
            "GET /machines/a",
            "POST /machines/a -> 409",
            "GET /machines/a",
            "DELETE /machines/a/lease",
            // rollback: the machine never changed, so it is only read
            "POST /machines/a/lease",
            "GET /machines/a",
            "DELETE /machines/a/lease",
        ]
    );
    assert_eq!(h.state().await, all(V1, &["a", "b", "c", "w"]));
}

#[tokio::test]
async fn a_machine_that_fails_to_start_stops_the_rollout_at_once() {
    let machines = "    - {id: a}\n    - {id: b, fail_on_image: '*:v2'}\n    - {id: c}\n";
    let h = harness(&scenario("", machines)).await;
    let mut cfg = config(FlyStrategy::Rolling, 1.0);
    cfg.wait_timeout = Duration::from_secs(600); // fail-fast must not wait this out
    let err = h.deploy(&cfg, true).await.expect_err("fails");
    let (message, rolled_back) = failure(err);
    assert!(message.contains("machine b went `failed`"), "{message}");
    assert_eq!(
        rolled_back.as_deref(),
        Some(format!("restored 2 machine(s) to {V1}: a, b").as_str())
    );
    assert_eq!(h.state().await, all(V1, &["a", "b", "c"]));
    assert!(h.calls_for("c").is_empty());
}

#[tokio::test]
async fn checks_that_never_pass_time_out_and_restore() {
    let machines = "    - {id: a, checks_pass_after_ms: null}\n    - {id: b}\n";
    let h = harness(&scenario("", machines)).await;
    let mut cfg = config(FlyStrategy::Rolling, 1.0);
    cfg.wait_timeout = Duration::from_secs(1);
    let err = h.deploy(&cfg, true).await.expect_err("fails");
    let (message, rolled_back) = failure(err);
    assert!(
        message.contains("the checks of machine a did not pass within 1s"),
        "{message}"
    );
    assert!(
        message.contains("servicecheck-00-http-8080 critical"),
        "{message}"
    );
    assert!(rolled_back.is_some_and(|r| r.contains(": a")));
    assert_eq!(h.state().await, all(V1, &["a", "b"]));
    assert!(h.calls_for("b").is_empty());
}

#[tokio::test]
async fn a_restart_loop_fails_fast() {
    let machines = "    - {id: a, restart_loop: true}\n";
    let h = harness(&scenario("", machines)).await;
    let mut cfg = config(FlyStrategy::Rolling, 1.0);
    cfg.wait_timeout = Duration::from_secs(600);
    let (message, _) = failure(h.deploy(&cfg, false).await.expect_err("fails"));
    assert!(
        message.contains("machine a is restart-looping"),
        "{message}"
    );
    // Without rollback-on-failure the machine is left as the deploy left it, lease released.
    assert_eq!(h.state().await, all(V2, &["a"]));
}

#[tokio::test]
async fn server_errors_mid_rollout_are_retried() {
    let h = harness(&scenario("", MACHINES)).await;
    h.sim.inject(Fault {
        method: Some("POST".into()),
        path: "/v1/apps/web/machines/b".into(),
        status: Some(500),
        times: Some(2),
        ..Fault::default()
    });
    h.sim.inject(Fault {
        method: Some("GET".into()),
        path: "/v1/apps/web/machines/c".into(),
        status: Some(503),
        retry_after: Some(0),
        times: Some(1),
        ..Fault::default()
    });
    h.deploy(&config(FlyStrategy::Rolling, 0.33), true)
        .await
        .expect("deploy");
    assert_eq!(h.state().await, all(V2, &["a", "b", "c", "w"]));
    let mut b = verified_update("b");
    b.splice(
        2..2,
        [
            "POST /machines/b -> 500".to_string(),
            "POST /machines/b -> 500".into(),
        ],
    );
    assert_eq!(h.calls_for("b"), b);
    let mut c = verified_update("c");
    c.insert(1, "GET /machines/c -> 503".into());
    assert_eq!(h.calls_for("c"), c);
}

#[tokio::test]
async fn a_reset_connection_is_retried() {
    let h = harness(&scenario("", MACHINES)).await;
    h.sim.inject(Fault {
        method: Some("POST".into()),
        path: "/v1/apps/web/machines/a".into(),
        reset: true,
        times: Some(1),
        ..Fault::default()
    });
    h.deploy(&config(FlyStrategy::Rolling, 0.33), true)
        .await
        .expect("deploy");
    assert_eq!(h.state().await, all(V2, &["a", "b", "c", "w"]));
    let mut a = verified_update("a");
    a.insert(2, "POST /machines/a -> reset".into());
    assert_eq!(h.calls_for("a"), a);
}

#[tokio::test]
async fn bluegreen_swaps_blue_for_green() {
    let machines = "    - {id: a, region: iad}\n    - {id: b, region: ams}\n";
    let h = harness(&scenario("", machines)).await;
    let outcome = h
        .deploy(&config(FlyStrategy::Bluegreen, 0.33), true)
        .await
        .expect("deploy");
    let after = h.machines().await;
    assert_eq!(after.len(), 2, "blue destroyed: {after:?}");
    for m in &after {
        assert_eq!(m["config"]["image"], V2);
        assert_eq!(m["state"], "started");
        assert_eq!(m["cordoned"], false, "green is routed");
        assert!(m.get("lease").is_none());
    }
    let mut regions: Vec<&str> = after.iter().filter_map(|m| m["region"].as_str()).collect();
    regions.sort();
    assert_eq!(regions, ["ams", "iad"]);
    assert_eq!(outcome.provider_ids.len(), 2);
    for blue in ["a", "b"] {
        assert_eq!(
            h.calls_for(blue),
            [
                format!("POST /machines/{blue}/lease"),
                format!("POST /machines/{blue}/cordon"),
                format!("POST /machines/{blue}/stop"),
                format!("GET /machines/{blue}/wait?state=stopped&version={{v}}"),
                format!("DELETE /machines/{blue}?force=true"),
            ]
        );
    }
    let creates = h
        .sim
        .log()
        .iter()
        .filter(|e| e.method == "POST" && e.path == "/v1/apps/web/machines")
        .count();
    assert_eq!(creates, 2);
    let create = h
        .sim
        .log()
        .into_iter()
        .find(|e| e.path == "/v1/apps/web/machines" && e.method == "POST")
        .expect("create");
    assert_eq!(
        create
            .body
            .as_ref()
            .map(|b| b["skip_service_registration"].clone()),
        Some(json!(true))
    );
}

#[tokio::test]
async fn bluegreen_failure_destroys_green_and_keeps_blue() {
    let h = harness(&scenario(
        "    fail_on_image: '*:v2'\n",
        "    - {id: a}\n    - {id: b}\n",
    ))
    .await;
    let err = h
        .deploy(&config(FlyStrategy::Bluegreen, 0.33), true)
        .await
        .expect_err("fails");
    let (message, rolled_back) = failure(err);
    assert!(message.contains("went `failed`"), "{message}");
    assert!(rolled_back.is_some_and(|r| r.contains("destroyed the green machines")));
    assert_eq!(h.state().await, all(V1, &["a", "b"]));
    for blue in ["a", "b"] {
        assert_eq!(
            h.calls_for(blue),
            [
                format!("POST /machines/{blue}/lease"),
                format!("DELETE /machines/{blue}/lease")
            ]
        );
    }
}

#[tokio::test]
async fn bluegreen_needs_a_health_check() {
    let h = harness(&scenario("", "    - {id: a, checks: false}\n")).await;
    let err = h
        .deploy(&config(FlyStrategy::Bluegreen, 0.33), true)
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, ProviderError::Config(m) if m.contains("at least one health check")),
        "{err:?}"
    );
    assert_eq!(h.state().await, all(V1, &["a"]));
}

#[tokio::test]
async fn a_cancelled_deploy_still_releases_its_leases() {
    let h = harness(&scenario(
        "    start_ms: 60000\n",
        "    - {id: a}\n    - {id: b}\n",
    ))
    .await;
    let cfg = config(FlyStrategy::Rolling, 0.33);
    let provider = h.provider(&cfg);
    let req = request(&cfg, Some(V2), true);
    // A boxed future (async-trait), so dropping it really cancels the deploy.
    let mut deploy = provider.deploy(&req);
    // Drive the deploy until `a` is updated (and being waited for), then drop it.
    loop {
        tokio::select! {
            r = &mut deploy => panic!("the deploy cannot finish: {:?}", r.map(|o| o.provider_ids)),
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
        if h.calls().iter().any(|c| c == "POST /machines/a") {
            break;
        }
    }
    drop(deploy);
    // The guard releases in the background: poll (bounded) until the lease is gone.
    let mut released = false;
    for _ in 0..250 {
        if h.calls().contains(&"DELETE /machines/a/lease".to_string()) {
            released = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(released, "{:?}", h.calls());
    assert!(h.state().await.iter().all(|(_, _, _, leased)| !leased));
}

#[tokio::test]
async fn rollback_returns_to_the_previous_image() {
    let h = harness(&scenario("", MACHINES)).await;
    let cfg = config(FlyStrategy::Rolling, 0.5);
    let outcome = h.deploy(&cfg, true).await.expect("deploy");
    let provider = h.provider(&cfg);
    let target = request(&cfg, None, true).target;
    let back = provider
        .rollback(&RollbackRequest {
            target: target.clone(),
            point: outcome.rollback_point.clone(),
            to: None,
        })
        .await
        .expect("rollback");
    assert_eq!(back.restored, format!("4 machine(s) back to {V1}"));
    assert_eq!(h.state().await, all(V1, &["a", "b", "c", "w"]));
    assert!(h.printed().contains("secrets"));

    // Without a rollback point, `/versions` gives the previous image: back to v1 → v2 → v1...
    h.deploy(&cfg, true).await.expect("deploy again");
    let back = provider
        .rollback(&RollbackRequest {
            target,
            point: None,
            to: None,
        })
        .await
        .expect("rollback from versions");
    assert_eq!(back.restored, format!("4 machine(s) back to {V1}"));
    assert_eq!(h.state().await, all(V1, &["a", "b", "c", "w"]));
}

#[tokio::test]
async fn app_image_and_env_come_from_fly_toml() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("fly.staging.toml"),
        format!("app = 'web'\n[build]\nimage = '{V2}'\n[env]\nMODE = 'staging'\nPORT = 8080\n"),
    )
    .expect("write fly.toml");
    let h = harness_in(&scenario("", "    - {id: a}\n"), dir.path(), &[]).await;
    let mut cfg = config(FlyStrategy::Rolling, 0.33);
    cfg.app = None;
    cfg.config = Some("fly.staging.toml".into());
    let outcome = h
        .provider(&cfg)
        .deploy(&request(&cfg, None, true))
        .await
        .expect("deploy");
    assert_eq!(outcome.image.as_deref(), Some(V2));
    let m = &h.machines().await[0];
    assert_eq!(
        m["config"]["env"],
        json!({"MODE": "staging", "PORT": "8080"})
    );
}

#[tokio::test]
async fn missing_token_is_an_auth_error_and_wrong_token_names_the_fix() {
    let h = harness(&scenario("", "    - {id: a}\n")).await;
    let mut cfg = config(FlyStrategy::Rolling, 0.33);
    cfg.token_env = "NO_SUCH_TOKEN".into();
    let err = h.deploy(&cfg, true).await.expect_err("no token");
    assert!(
        matches!(&err, ProviderError::Auth(m) if m.contains("NO_SUCH_TOKEN")),
        "{err:?}"
    );
    assert!(h.calls().is_empty());

    let h = harness_in(
        &scenario("", "    - {id: a}\n"),
        Path::new("/nonexistent"),
        &[("WRONG", "fm2_wrong")],
    )
    .await;
    let mut cfg = config(FlyStrategy::Rolling, 0.33);
    cfg.token_env = "WRONG".into();
    let err = h.deploy(&cfg, true).await.expect_err("refused");
    assert!(
        matches!(&err, ProviderError::Auth(m) if m.contains("fly tokens deploy")),
        "{err:?}"
    );
    assert!(!format!("{err}").contains("fm2_wrong"));
}

#[tokio::test]
async fn flyctl_mode_runs_flyctl_and_reads_the_release() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin");
    let script = bin.join("flyctl");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"flyctl $*\"\necho \"token=$FLY_API_TOKEN\"\necho '{\"id\":\"r1\",\"version\":12,\"image_ref\":\"registry.fly.io/web:deployment-01\"}'\n",
    )
    .expect("script");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    std::fs::write(
        dir.path().join("fly.toml"),
        "app = 'web'\n[build]\ndockerfile = 'Dockerfile'\n",
    )
    .expect("toml");
    let path = bin.display().to_string();
    let h = harness_in(
        &scenario("", "    - {id: a}\n"),
        dir.path(),
        &[("PATH", &path)],
    )
    .await;
    let mut cfg = config(FlyStrategy::Canary, 0.33);
    cfg.app = None;
    cfg.config = Some("fly.toml".into());
    let provider = h.provider(&cfg);
    let planned = provider.planned_calls(&request(&cfg, None, true));
    assert_eq!(
        planned,
        ["flyctl deploy --config fly.toml --app web --strategy canary --wait-timeout 10s (FLY_API_TOKEN from FLY_API_TOKEN; FLY_EMIT_RELEASE_JSON=1)"]
    );
    let outcome = provider
        .deploy(&request(&cfg, None, true))
        .await
        .expect("flyctl deploy");
    assert_eq!(
        outcome.image.as_deref(),
        Some("registry.fly.io/web:deployment-01")
    );
    assert_eq!(outcome.version.as_deref(), Some("12"));
    let printed = h.printed();
    assert!(
        printed.contains("flyctl deploy --config fly.toml --app web --strategy canary"),
        "{printed}"
    );
    assert!(
        printed.contains("token=***") && !printed.contains(TOKEN),
        "{printed}"
    );
    assert!(
        h.calls().is_empty(),
        "flyctl mode makes no Machines API call itself"
    );

    // Without flyctl on PATH: the fix is named.
    let h = harness_in(
        &scenario("", "    - {id: a}\n"),
        dir.path(),
        &[("PATH", "/nonexistent")],
    )
    .await;
    let err = h
        .provider(&cfg)
        .deploy(&request(&cfg, None, true))
        .await
        .expect_err("no flyctl");
    assert!(
        matches!(&err, ProviderError::Config(m) if m.contains("superfly/flyctl-actions/setup-flyctl")),
        "{err:?}"
    );
}

#[tokio::test]
async fn planned_calls_list_the_machines_api_sequence() {
    let h = harness(&scenario("", "    - {id: a}\n")).await;
    let cfg = config(FlyStrategy::Rolling, 0.33);
    let planned = h
        .provider(&cfg)
        .planned_calls(&request(&cfg, Some(V2), true));
    let base = format!("{}/v1/apps/web/machines", h.sim.urls.fly);
    assert_eq!(planned[0], format!("GET {base}  (skip destroyed)"));
    assert!(planned
        .iter()
        .any(|c| c.contains("one machine alone, then waves of max-unavailable 0.33")));
    assert!(planned
        .iter()
        .any(|c| c.starts_with(&format!("POST {base}/{{id}}  {{config (image={V2})"))));
    assert!(planned
        .iter()
        .any(|c| c == &format!("DELETE {base}/{{id}}/lease")));
    assert!(h.calls().is_empty(), "planning makes no call");
}

fn fly_spec() -> Value {
    let candidates = [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs/fly-machines.openapi.json"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/specs/fly-machines.openapi.json"),
        Path::new("/work/shared/specs/fly-machines.openapi.json").to_path_buf(),
    ];
    let text = candidates
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .expect("the Fly spec is readable");
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

#[tokio::test]
async fn provider_requests_match_the_spec() {
    let h = harness(&scenario("", MACHINES)).await;
    h.deploy(&config(FlyStrategy::Rolling, 0.33), true)
        .await
        .expect("rolling");
    // lease bodies and update bodies of 4 machines
    assert_eq!(assert_requests_match_the_spec(&h), 8);

    let h = harness(&scenario("", "    - {id: a}\n    - {id: b}\n")).await;
    h.deploy(&config(FlyStrategy::Bluegreen, 0.33), true)
        .await
        .expect("bluegreen");
    // 2 blue leases + 2 green creates
    assert_eq!(assert_requests_match_the_spec(&h), 4);
}

#[tokio::test]
async fn a_long_wait_keeps_the_lease_alive() {
    // A 1 s lease, refreshed every 0.5 s, around a machine that takes 2.5 s to start.
    let h = harness(&scenario("    start_ms: 2500\n", "    - {id: a}\n")).await;
    let cfg = config(FlyStrategy::Rolling, 0.33);
    let tuning = stage_gate::providers::fly::Tuning {
        lease_ttl: 1,
        ..stage_gate::providers::fly::Tuning::fast()
    };
    let provider = h.provider(&cfg).with_tuning(tuning);
    provider
        .deploy(&request(&cfg, Some(V2), true))
        .await
        .expect("deploy");
    let calls = h.calls_for("a");
    let leases = calls
        .iter()
        .filter(|c| *c == "POST /machines/a/lease")
        .count();
    assert!(leases >= 2, "acquired once and refreshed: {calls:?}");
    assert_eq!(
        calls.last().map(String::as_str),
        Some("DELETE /machines/a/lease"),
        "released while still held"
    );
    let refresh = h
        .sim
        .log()
        .into_iter()
        .filter(|e| e.path == "/v1/apps/web/machines/a/lease" && e.method == "POST")
        .nth(1)
        .expect("a refresh");
    assert!(refresh.headers.contains_key("fly-machine-lease-nonce"));
    assert_eq!(h.state().await, all(V2, &["a"]));
}

#[tokio::test]
async fn rollback_to_a_named_image() {
    let h = harness(&scenario("", "    - {id: a}\n    - {id: b}\n")).await;
    let cfg = config(FlyStrategy::Rolling, 0.33);
    h.deploy(&cfg, true).await.expect("deploy");
    let back = h
        .provider(&cfg)
        .rollback(&RollbackRequest {
            target: request(&cfg, None, true).target,
            point: None,
            to: Some("registry.fly.io/web:v0".into()),
        })
        .await
        .expect("rollback");
    assert_eq!(back.restored, "2 machine(s) back to registry.fly.io/web:v0");
    assert_eq!(h.state().await, all("registry.fly.io/web:v0", &["a", "b"]));
}

#[tokio::test]
async fn a_failed_machine_is_started_by_the_update() {
    let h = harness(&scenario(
        "",
        "    - {id: a, state: failed}\n    - {id: b, state: stopped}\n",
    ))
    .await;
    h.deploy(&config(FlyStrategy::Rolling, 0.33), true)
        .await
        .expect("deploy");
    let state = h.state().await;
    assert_eq!(state[0], ("a".into(), V2.into(), "started".into(), false));
    assert_eq!(
        state[1],
        ("b".into(), V2.into(), "stopped".into(), false),
        "stopped stays stopped"
    );
    assert_eq!(h.calls_for("a"), verified_update("a"));
    let update_b = h
        .sim
        .log()
        .into_iter()
        .find(|e| e.method == "POST" && e.path == "/v1/apps/web/machines/b")
        .expect("update of b");
    assert_eq!(
        update_b.body.map(|b| b["skip_launch"].clone()),
        Some(json!(true))
    );
}

#[tokio::test]
async fn wait_timeouts_408_are_waited_through() {
    let h = harness(&scenario("", "    - {id: a}\n")).await;
    h.sim.inject(Fault {
        method: Some("GET".into()),
        path: "/v1/apps/web/machines/a/wait".into(),
        status: Some(408),
        body: Some(r#"{"error":"deadline_exceeded"}"#.into()),
        times: Some(2),
        ..Fault::default()
    });
    h.deploy(&config(FlyStrategy::Rolling, 0.33), true)
        .await
        .expect("deploy");
    let wait = "GET /machines/a/wait?state=started,failed&version={v}";
    let mut want = verified_update("a");
    want.splice(3..3, [format!("{wait} -> 408"), format!("{wait} -> 408")]);
    assert_eq!(h.calls_for("a"), want);
    assert_eq!(h.state().await, all(V2, &["a"]));
}

#[tokio::test]
async fn immediate_survives_a_reset_and_a_500() {
    let h = harness(&scenario("", MACHINES)).await;
    h.sim.inject(Fault {
        method: Some("GET".into()),
        path: "/v1/apps/web/machines/b".into(),
        reset: true,
        times: Some(1),
        ..Fault::default()
    });
    h.sim.inject(Fault {
        method: Some("DELETE".into()),
        path: "/v1/apps/web/machines/c/lease".into(),
        status: Some(502),
        times: Some(1),
        ..Fault::default()
    });
    h.deploy(&config(FlyStrategy::Immediate, 0.33), true)
        .await
        .expect("deploy");
    assert_eq!(
        h.calls_for("b"),
        [
            "POST /machines/b/lease",
            "GET /machines/b -> reset",
            "GET /machines/b",
            "POST /machines/b",
            "DELETE /machines/b/lease",
        ]
    );
    assert_eq!(
        h.calls_for("c"),
        [
            "POST /machines/c/lease",
            "GET /machines/c",
            "POST /machines/c",
            "DELETE /machines/c/lease -> 502",
            "DELETE /machines/c/lease",
        ]
    );
    let state = h.state().await;
    assert!(
        state
            .iter()
            .all(|(_, image, _, leased)| image == V2 && !leased),
        "{state:?}"
    );
}

#[tokio::test]
async fn bluegreen_a_500_creating_green_destroys_the_greens_made_so_far() {
    let h = harness(&scenario("", "    - {id: a}\n    - {id: b}\n")).await;
    // The first create passes; the second answers 500 (a create is not repeated blindly).
    h.sim.inject(Fault {
        method: Some("POST".into()),
        path: "/v1/apps/web/machines".into(),
        delay_ms: Some(0),
        times: Some(1),
        ..Fault::default()
    });
    h.sim.inject(Fault {
        method: Some("POST".into()),
        path: "/v1/apps/web/machines".into(),
        status: Some(500),
        times: Some(1),
        ..Fault::default()
    });
    let err = h
        .deploy(&config(FlyStrategy::Bluegreen, 0.33), true)
        .await
        .expect_err("fails");
    let (message, rolled_back) = failure(err);
    assert!(message.contains("500"), "{message}");
    let note = rolled_back.expect("cleanup reported");
    assert!(note.starts_with("destroyed the green machines ("), "{note}");
    assert_eq!(h.state().await, all(V1, &["a", "b"]));
    let creates: Vec<String> = h
        .calls()
        .into_iter()
        .filter(|c| {
            c.starts_with("POST /machines ")
                || c == "POST /machines"
                || c.starts_with("POST /machines -> ")
        })
        .collect();
    assert_eq!(creates, ["POST /machines", "POST /machines -> 500"]);
    let destroys = h
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("DELETE /machines/") && c.ends_with("?force=true"))
        .count();
    assert_eq!(destroys, 1);
}

#[tokio::test]
async fn an_unknown_app_is_a_config_error() {
    let h = harness(&scenario("", "    - {id: a}\n")).await;
    let mut cfg = config(FlyStrategy::Rolling, 0.33);
    cfg.app = Some("nope".into());
    let err = h.deploy(&cfg, true).await.expect_err("unknown app");
    assert!(
        matches!(&err, ProviderError::Config(m) if m.contains("Fly app `nope` was not found")),
        "{err:?}"
    );
}
