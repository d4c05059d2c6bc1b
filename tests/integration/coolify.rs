//! The `coolify` provider through its Rust API against the Coolify simulator: success,
//! failure with logs, cancel, queue full, duplicates, tokens, several uuids, deadlines,
//! webhook mode and rollback.

use serde_json::{json, Value};
use stage_gate::config::{CoolifyConfig, HealthConfig, ProviderConfig, Target};
use stage_gate::context::Ctx;
use stage_gate::inputs::Env;
use stage_gate::providers::{
    coolify::CoolifyProvider, DeployRequest, Provider, ProviderError, RollbackRequest,
};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROOT: &str = "root-token-0123456";
const DEPLOY_ONLY: &str = "deploy-only-token-1";
const READ_ONLY: &str = "read-only-token-22";
const MEMBER: &str = "member-token-333";
const DEPLOY_READ: &str = "deploy-read-token-4444";

fn scenario(
    apps: Value,
    capacity: Option<usize>,
    retry_after: Option<u64>,
) -> stage_gate_sim::Scenario {
    let coolify = serde_json::from_value(json!({
        "tokens": [
            {"token": ROOT, "abilities": ["root"]},
            {"token": DEPLOY_ONLY, "abilities": ["deploy"]},
            {"token": READ_ONLY, "abilities": ["read"]},
            {"token": MEMBER, "abilities": ["deploy", "read"], "team_admin": false},
            {"token": DEPLOY_READ, "abilities": ["deploy", "read"]},
        ],
        "applications": apps,
        "queue_capacity": capacity,
        "queue_retry_after": retry_after,
    }))
    .expect("coolify scenario");
    stage_gate_sim::Scenario {
        coolify,
        ..Default::default()
    }
}

fn web(extra: Value) -> Value {
    let mut app = json!({
        "uuid": "web-uuid", "name": "web", "image": "ghcr.io/acme/web", "image_tag": "v1.0.0",
        "queue_ms": 10, "build_ms": 80,
        "history": [{"commit": "HEAD", "image_tag": "v0.9.0"}, {"commit": "HEAD", "image_tag": "v1.0.0"}],
    });
    if let (Value::Object(a), Value::Object(e)) = (&mut app, extra) {
        a.extend(e);
    }
    app
}

struct Setup {
    sim: stage_gate_sim::Sim,
    ctx: Ctx,
    printed: Arc<Mutex<Vec<u8>>>,
    _dir: tempfile::TempDir,
}

impl Setup {
    async fn new(scenario: stage_gate_sim::Scenario, token: &str) -> Setup {
        let sim = stage_gate_sim::start(scenario).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut env = Env::default();
        env.set("COOLIFY_TOKEN", token);
        env.set("STAGE_GATE_COOLIFY_URL", sim.urls.coolify.clone());
        let (ctx, printed) = Ctx::for_test(dir.path(), env);
        Setup {
            sim,
            ctx,
            printed,
            _dir: dir,
        }
    }

    fn printed(&self) -> String {
        String::from_utf8_lossy(&self.printed.lock().unwrap()).to_string()
    }

    fn provider(&self, config: CoolifyConfig) -> CoolifyProvider {
        CoolifyProvider::new(config, &self.ctx.provider_deps()).unwrap()
    }

    /// A provider whose every HTTP attempt gives up after `timeout`.
    fn provider_with_attempt_timeout(
        &self,
        config: CoolifyConfig,
        timeout: Duration,
    ) -> CoolifyProvider {
        let mut ctx = self.ctx.clone();
        ctx.http.timeout = timeout;
        CoolifyProvider::new(config, &ctx.provider_deps()).unwrap()
    }

    /// A Coolify API call made by the test itself (root token).
    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = reqwest::Client::new()
            .request(method, format!("{}/api/v1{path}", self.sim.urls.coolify))
            .bearer_auth(ROOT);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap().json().await.unwrap()
    }
}

fn config(uuids: &[&str]) -> CoolifyConfig {
    CoolifyConfig {
        url: None,
        uuids: uuids.iter().map(|s| s.to_string()).collect(),
        tag: None,
        force: false,
        webhook: None,
        set_image_tag: false,
        preview_image: None,
        token_env: "COOLIFY_TOKEN".into(),
        poll_interval: Duration::from_millis(15),
    }
}

fn target(config: &CoolifyConfig, timeout: Duration) -> Target {
    Target {
        app: "web".into(),
        env: "staging".into(),
        provider: ProviderConfig::Coolify(config.clone()),
        url: None,
        health: HealthConfig::default(),
        rollback_on_failure: false,
        timeout,
    }
}

fn request(config: &CoolifyConfig, version: Option<&str>, within: Duration) -> DeployRequest {
    DeployRequest {
        target: target(config, within),
        sha: "0123456789abcdef0123456789abcdef01234567".into(),
        version: version.map(str::to_string),
        image: None,
        deadline: Instant::now() + within,
        labels: Vec::new(),
        min_secrets_version: None,
    }
}

fn detail<'a>(details: &'a [(String, String)], key: &str) -> Option<&'a str> {
    details
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

const LONG: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_deploy_sets_the_image_tag_and_waits_until_finished() {
    let s = Setup::new(scenario(json!([web(json!({}))]), None, None), ROOT).await;
    let mut c = config(&["web-uuid"]);
    c.set_image_tag = true;
    let out = s
        .provider(c.clone())
        .deploy(&request(&c, Some("v1.1.0"), LONG))
        .await
        .unwrap();

    assert_eq!(out.provider_ids.len(), 1);
    assert_eq!(out.version.as_deref(), Some("v1.1.0"));
    assert_eq!(out.image.as_deref(), Some("ghcr.io/acme/web:v1.1.0"));
    assert_eq!(detail(&out.details, "status"), Some("finished"));
    assert_eq!(
        detail(&out.details, "coolify-deployments"),
        Some(out.provider_ids[0].as_str())
    );
    assert_eq!(
        out.rollback_point.as_ref().unwrap()["apps"]["web-uuid"]["ref"],
        "v1.0.0"
    );
    let app = s
        .api(reqwest::Method::GET, "/applications/web-uuid", None)
        .await;
    assert_eq!(app["docker_registry_image_tag"], "v1.1.0");

    let calls = s.sim.calls("coolify");
    let posts: Vec<&String> = calls.iter().filter(|c| c.starts_with("POST")).collect();
    assert_eq!(posts.len(), 1, "{calls:?}");
    assert_eq!(posts[0], "POST /api/v1/deploy?uuid=web-uuid&force=false");
    assert!(
        calls
            .iter()
            .any(|c| c == "PATCH /api/v1/applications/web-uuid"),
        "{calls:?}"
    );
    assert!(!calls.iter().any(|c| c.starts_with("GET /api/v1/deploy?")));
    let printed = s.printed();
    assert!(printed.contains("is finished"), "{printed}");
    assert!(!printed.contains(ROOT), "{printed}");
}

#[tokio::test]
async fn a_failed_deploy_reports_the_masked_log_tail() {
    let app = web(json!({
        "outcomes": ["failed"],
        "log_lines": ["pulling image", format!("auth with {ROOT}"), "Error: exited with code 137"],
    }));
    let s = Setup::new(scenario(json!([app]), None, None), ROOT).await;
    let c = config(&["web-uuid"]);
    let err = s
        .provider(c.clone())
        .deploy(&request(&c, None, LONG))
        .await
        .unwrap_err();
    let ProviderError::Failed {
        message,
        log_excerpt,
        ..
    } = err
    else {
        panic!("expected Failed, got {err:?}");
    };
    assert!(message.contains("ended failed"), "{message}");
    let excerpt = log_excerpt.unwrap();
    assert!(excerpt.contains("Error: exited with code 137"), "{excerpt}");
    assert!(excerpt.contains("auth with ***"), "{excerpt}");
    let printed = s.printed();
    assert!(printed.contains("Coolify log of deployment"), "{printed}");
    assert!(!printed.contains(ROOT) && !excerpt.contains(ROOT));
}

#[tokio::test]
async fn a_cancelled_deploy_is_a_failure() {
    let app = web(json!({"outcomes": ["cancelled-by-user"]}));
    let s = Setup::new(scenario(json!([app]), None, None), ROOT).await;
    let c = config(&["web-uuid"]);
    let err = s
        .provider(c.clone())
        .deploy(&request(&c, None, LONG))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProviderError::Failed { message, .. } if message.contains("cancelled-by-user")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_full_queue_is_waited_out_per_retry_after() {
    let busy = json!({"uuid": "busy", "name": "busy", "queue_ms": 0, "build_ms": 400});
    let s = Setup::new(
        scenario(json!([web(json!({})), busy]), Some(1), Some(1)),
        ROOT,
    )
    .await;
    s.api(reqwest::Method::POST, "/deploy?uuid=busy", None)
        .await;
    let c = config(&["web-uuid"]);
    let out = s
        .provider(c.clone())
        .deploy(&request(&c, None, LONG))
        .await
        .unwrap();
    assert_eq!(detail(&out.details, "status"), Some("finished"));
    let posts = s
        .sim
        .calls("coolify")
        .into_iter()
        .filter(|c| c.starts_with("POST /api/v1/deploy?uuid=web-uuid"))
        .count();
    assert_eq!(posts, 2, "one 429, then the retry");
    let printed = s.printed();
    assert!(printed.contains("queue is full"), "{printed}");
}

#[tokio::test]
async fn a_full_queue_past_the_deadline_fails_without_deploying() {
    let busy = json!({"uuid": "busy", "name": "busy", "queue_ms": 0, "build_ms": 60000});
    let s = Setup::new(scenario(json!([web(json!({})), busy]), Some(1), None), ROOT).await;
    s.api(reqwest::Method::POST, "/deploy?uuid=busy", None)
        .await;
    let c = config(&["web-uuid"]);
    let err = s
        .provider(c.clone())
        .deploy(&request(&c, None, Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProviderError::Failed { message, .. } if message.contains("queue is full") && message.contains("60s")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_already_queued_deploy_is_followed_through_the_history() {
    let s = Setup::new(
        scenario(json!([web(json!({"queue_ms": 300}))]), None, None),
        ROOT,
    )
    .await;
    let first = s
        .api(reqwest::Method::POST, "/deploy?uuid=web-uuid", None)
        .await;
    let first_uuid = first["deployments"][0]["deployment_uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let c = config(&["web-uuid"]);
    let out = s
        .provider(c.clone())
        .deploy(&request(&c, None, LONG))
        .await
        .unwrap();
    assert_eq!(out.provider_ids, vec![first_uuid]);
    let calls = s.sim.calls("coolify");
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("GET /api/v1/deployments/applications/web-uuid")),
        "{calls:?}"
    );
    assert!(s.printed().contains("already queued"));
}

async fn auth_error(token: &str) -> String {
    let s = Setup::new(scenario(json!([web(json!({}))]), None, None), token).await;
    let c = config(&["web-uuid"]);
    match s.provider(c.clone()).deploy(&request(&c, None, LONG)).await {
        Err(ProviderError::Auth(m)) => {
            assert!(!m.contains(token), "{m}");
            m
        }
        other => panic!("expected an auth error, got {other:?}"),
    }
}

#[tokio::test]
async fn refused_tokens_name_the_missing_ability() {
    let m = auth_error("not-a-token").await;
    assert!(m.contains("401") && m.contains("$COOLIFY_TOKEN"), "{m}");

    let m = auth_error(DEPLOY_ONLY).await;
    assert!(
        m.contains("lacks the `read` ability") && m.contains("team admin"),
        "{m}"
    );

    let m = auth_error(READ_ONLY).await;
    assert!(m.contains("lacks the `deploy` ability"), "{m}");

    let m = auth_error(MEMBER).await;
    assert!(m.contains("team admin") && m.contains("team member"), "{m}");
}

#[tokio::test]
async fn setting_the_image_tag_needs_write_and_fails_before_deploying() {
    let s = Setup::new(scenario(json!([web(json!({}))]), None, None), DEPLOY_READ).await;
    let mut c = config(&["web-uuid"]);
    c.set_image_tag = true;
    let err = s
        .provider(c.clone())
        .deploy(&request(&c, Some("v1.1.0"), LONG))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProviderError::Auth(m) if m.contains("lacks the `write` ability")),
        "{err:?}"
    );
    assert!(!s.sim.calls("coolify").iter().any(|c| c.starts_with("POST")));
}

#[tokio::test]
async fn several_uuids_deploy_in_one_call() {
    let api = json!({"uuid": "api-uuid", "name": "api", "build_ms": 120});
    let s = Setup::new(scenario(json!([web(json!({})), api]), None, None), ROOT).await;
    let c = config(&["web-uuid", "api-uuid"]);
    let out = s
        .provider(c.clone())
        .deploy(&request(&c, None, LONG))
        .await
        .unwrap();
    assert_eq!(out.provider_ids.len(), 2);
    let calls = s.sim.calls("coolify");
    assert!(
        calls.contains(&"POST /api/v1/deploy?uuid=web-uuid,api-uuid&force=false".to_string()),
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_slow_deploy_that_ends_before_the_deadline_succeeds() {
    let s = Setup::new(
        scenario(json!([web(json!({"build_ms": 400}))]), None, None),
        ROOT,
    )
    .await;
    let c = config(&["web-uuid"]);
    let out = s
        .provider(c.clone())
        .deploy(&request(&c, None, Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(detail(&out.details, "status"), Some("finished"));
}

#[tokio::test]
async fn a_slow_deploy_that_ends_after_the_deadline_fails_and_says_so() {
    let s = Setup::new(
        scenario(json!([web(json!({"build_ms": 30000}))]), None, None),
        ROOT,
    )
    .await;
    let c = config(&["web-uuid"]);
    let err = s
        .provider(c.clone())
        .deploy(&request(&c, None, Duration::from_millis(500)))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProviderError::Failed { message, .. } if message.contains("did not finish before the deadline") && message.contains("in_progress")),
        "{err:?}"
    );
}

#[tokio::test]
async fn webhook_mode_posts_the_deploy_webhook_and_follows_it() {
    let s = Setup::new(scenario(json!([web(json!({}))]), None, None), ROOT).await;
    let mut c = config(&[]);
    c.webhook = Some(format!(
        "{}/api/v1/deploy?uuid=web-uuid&force=false",
        s.sim.urls.coolify
    ));
    let out = s
        .provider(c.clone())
        .deploy(&request(&c, None, LONG))
        .await
        .unwrap();
    assert_eq!(out.provider_ids.len(), 1);
    let calls = s.sim.calls("coolify");
    assert!(
        calls.contains(&"POST /api/v1/deploy?uuid=web-uuid&force=false".to_string()),
        "{calls:?}"
    );
}

#[tokio::test]
async fn rollback_goes_back_to_the_recorded_version() {
    let s = Setup::new(scenario(json!([web(json!({}))]), None, None), ROOT).await;
    let mut c = config(&["web-uuid"]);
    c.set_image_tag = true;
    let provider = s.provider(c.clone());
    let out = provider
        .deploy(&request(&c, Some("v1.1.0"), LONG))
        .await
        .unwrap();
    let rolled = provider
        .rollback(&RollbackRequest {
            target: target(&c, LONG),
            point: out.rollback_point.clone(),
            to: None,
        })
        .await
        .unwrap();
    assert!(
        rolled.restored.contains("web-uuid → v1.0.0"),
        "{}",
        rolled.restored
    );
    let app = s
        .api(reqwest::Method::GET, "/applications/web-uuid", None)
        .await;
    assert_eq!(app["docker_registry_image_tag"], "v1.0.0");
    let calls = s.sim.calls("coolify");
    assert!(calls.contains(&"POST /api/v1/applications/web-uuid/rollback".to_string()));
}

#[tokio::test]
async fn rollback_without_a_record_uses_coolifys_previous_image() {
    let s = Setup::new(scenario(json!([web(json!({}))]), None, None), ROOT).await;
    let c = config(&["web-uuid"]);
    let rolled = s
        .provider(c.clone())
        .rollback(&RollbackRequest {
            target: target(&c, LONG),
            point: None,
            to: None,
        })
        .await
        .unwrap();
    assert!(rolled.restored.contains("v0.9.0"), "{}", rolled.restored);
    let app = s
        .api(reqwest::Method::GET, "/applications/web-uuid", None)
        .await;
    assert_eq!(app["docker_registry_image_tag"], "v0.9.0");
}

#[tokio::test]
async fn planned_calls_show_every_call_without_making_one() {
    let s = Setup::new(scenario(json!([web(json!({}))]), None, None), ROOT).await;
    let mut c = config(&["web-uuid"]);
    c.set_image_tag = true;
    let calls = s
        .provider(c.clone())
        .planned_calls(&request(&c, Some("v2.0.0"), LONG));
    let text = calls.join("\n");
    assert!(
        text.contains("PATCH") && text.contains("\"docker_registry_image_tag\":\"v2.0.0\""),
        "{text}"
    );
    assert!(
        text.contains("POST ") && text.contains("/api/v1/deploy?uuid=web-uuid&force=false"),
        "{text}"
    );
    assert!(s.sim.calls("coolify").is_empty());
}

#[tokio::test]
async fn transient_errors_while_polling_are_retried() {
    let s = Setup::new(scenario(json!([web(json!({}))]), None, None), ROOT).await;
    s.sim.inject(stage_gate_sim::Fault {
        vendor: Some("coolify".into()),
        method: Some("GET".into()),
        path: "/api/v1/deployments/*".into(),
        status: Some(503),
        times: Some(2),
        ..Default::default()
    });
    let c = config(&["web-uuid"]);
    let out = s
        .provider(c.clone())
        .deploy(&request(&c, None, LONG))
        .await
        .unwrap();
    assert_eq!(detail(&out.details, "status"), Some("finished"));
}

#[tokio::test]
async fn a_partly_queued_multi_uuid_call_is_never_queued_twice() {
    let api = json!({"uuid": "api-uuid", "name": "api", "build_ms": 100});
    let busy = json!({"uuid": "busy", "name": "busy", "queue_ms": 0, "build_ms": 500});
    let apps = json!([web(json!({"build_ms": 300})), api, busy]);
    let s = Setup::new(scenario(apps, Some(2), Some(1)), ROOT).await;
    s.api(reqwest::Method::POST, "/deploy?uuid=busy", None)
        .await;
    let mut c = config(&["web-uuid", "api-uuid"]);
    c.force = true;
    let out = s
        .provider(c.clone())
        .deploy(&request(&c, None, LONG))
        .await
        .unwrap();
    assert_eq!(out.provider_ids.len(), 2);
    let posts: Vec<String> = s
        .sim
        .calls("coolify")
        .into_iter()
        .filter(|c| c.starts_with("POST /api/v1/deploy?uuid=") && !c.contains("busy"))
        .collect();
    assert_eq!(
        posts,
        [
            "POST /api/v1/deploy?uuid=web-uuid,api-uuid&force=true",
            "POST /api/v1/deploy?uuid=api-uuid&force=true",
        ]
    );
    let history = s
        .api(
            reqwest::Method::GET,
            "/deployments/applications/web-uuid",
            None,
        )
        .await;
    assert_eq!(history["count"], 3, "two seeded, one new: {history}");
}

fn coolify_spec() -> Value {
    let name = "coolify.openapi.yaml";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/specs")
        .join(name);
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).expect("the spec is YAML")
}

/// Contract, request side: every call the provider made is an operation of the spec (GET on
/// `/deploy` would not be), with declared query parameters and conforming JSON bodies.
#[tokio::test]
async fn provider_requests_match_the_spec() {
    use stage_gate_sim::contract;
    let s = Setup::new(
        scenario(json!([web(json!({"queue_ms": 200}))]), None, None),
        ROOT,
    )
    .await;
    // A deployment in flight, so the provider also reads the history.
    s.api(reqwest::Method::POST, "/deploy?uuid=web-uuid", None)
        .await;
    let mut c = config(&["web-uuid"]);
    c.set_image_tag = true;
    let provider = s.provider(c.clone());
    provider
        .deploy(&request(&c, Some("v1.1.0"), LONG))
        .await
        .unwrap();
    provider
        .rollback(&RollbackRequest {
            target: target(&c, LONG),
            point: None,
            to: None,
        })
        .await
        .unwrap();

    let spec = coolify_spec();
    let mut operations = std::collections::BTreeSet::new();
    let mut bodies = 0;
    for e in s.sim.log() {
        if !e
            .headers
            .get("user-agent")
            .is_some_and(|u| u.starts_with("stage-gate/"))
        {
            continue;
        }
        let path = e.path.strip_prefix("/api/v1").expect("under /api/v1");
        let (template, op) = contract::operation(&spec, &e.method, path)
            .unwrap_or_else(|| panic!("{} {path} is not in the Coolify spec", e.method));
        operations.insert(format!("{} {template}", e.method));
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
            bodies += 1;
        }
    }
    assert_eq!(bodies, 3, "PATCH (deploy), PATCH (rollback), POST rollback");
    let expected = [
        "GET /applications/{uuid}",
        "GET /applications/{uuid}/rollback-images",
        "GET /deployments/applications/{uuid}",
        "GET /deployments/{uuid}",
        "PATCH /applications/{uuid}",
        "POST /applications/{uuid}/rollback",
        "POST /deploy",
    ];
    assert_eq!(operations.into_iter().collect::<Vec<_>>(), expected);
}

fn deploy_posts(s: &Setup) -> usize {
    s.sim
        .calls("coolify")
        .into_iter()
        .filter(|c| c.starts_with("POST /api/v1/deploy"))
        .count()
}

#[tokio::test]
async fn a_reset_deploy_call_is_looked_up_and_sent_again_only_when_nothing_started() {
    let s = Setup::new(scenario(json!([web(json!({}))]), None, None), ROOT).await;
    s.sim.inject(stage_gate_sim::Fault {
        vendor: Some("coolify".into()),
        method: Some("POST".into()),
        path: "/api/v1/deploy".into(),
        reset: true,
        times: Some(1),
        ..Default::default()
    });
    let c = config(&["web-uuid"]);
    let out = s
        .provider(c.clone())
        .deploy(&request(&c, None, LONG))
        .await
        .expect("looked up, then sent once more");
    assert_eq!(out.provider_ids.len(), 1);
    let calls = s.sim.calls("coolify");
    let lookup = calls
        .iter()
        .position(|c| c.starts_with("GET /api/v1/deployments/applications/web-uuid"))
        .expect("the history was read");
    let second_post = calls
        .iter()
        .rposition(|c| c.starts_with("POST /api/v1/deploy"))
        .unwrap();
    assert!(
        lookup < second_post,
        "looked up before sending again: {calls:?}"
    );
    assert_eq!(deploy_posts(&s), 2);
    assert!(
        s.printed().contains("shows no deployment"),
        "{}",
        s.printed()
    );
}

#[tokio::test]
async fn a_deploy_whose_answer_is_lost_after_coolify_queued_it_is_adopted() {
    for fault in [
        stage_gate_sim::Fault {
            reset: true,
            ..Default::default()
        },
        stage_gate_sim::Fault {
            status: Some(502),
            ..Default::default()
        },
    ] {
        let s = Setup::new(scenario(json!([web(json!({}))]), None, None), ROOT).await;
        s.sim.inject(stage_gate_sim::Fault {
            vendor: Some("coolify".into()),
            method: Some("POST".into()),
            path: "/api/v1/deploy".into(),
            times: Some(1),
            after_acting: true,
            ..fault
        });
        let c = config(&["web-uuid"]);
        let out = s
            .provider(c.clone())
            .deploy(&request(&c, None, LONG))
            .await
            .expect("the queued deployment is found and followed");
        assert_eq!(detail(&out.details, "status"), Some("finished"));
        assert_eq!(deploy_posts(&s), 1, "never sent twice");
        let history = s
            .api(
                reqwest::Method::GET,
                "/deployments/applications/web-uuid",
                None,
            )
            .await;
        assert_eq!(history["count"], 3, "two seeded, one new: {history}");
        assert!(s.printed().contains("answer was lost"), "{}", s.printed());
    }
}

#[tokio::test]
async fn garbled_status_answers_are_asked_again() {
    let s = Setup::new(scenario(json!([web(json!({}))]), None, None), ROOT).await;
    s.sim.inject(stage_gate_sim::Fault {
        vendor: Some("coolify".into()),
        method: Some("GET".into()),
        path: "/api/v1/deployments/*".into(),
        malformed: true,
        times: Some(2),
        ..Default::default()
    });
    let c = config(&["web-uuid"]);
    let out = s
        .provider(c.clone())
        .deploy(&request(&c, None, LONG))
        .await
        .unwrap();
    assert_eq!(detail(&out.details, "status"), Some("finished"));
    assert!(s.printed().contains("unreadable status answer"));
}

// ---- after a failure ----

#[tokio::test]
async fn rollback_to_a_named_image_sends_its_tag() {
    let s = Setup::new(scenario(json!([web(json!({}))]), None, None), ROOT).await;
    let mut c = config(&["web-uuid"]);
    c.set_image_tag = true;
    let rolled = s
        .provider(c.clone())
        .rollback(&RollbackRequest {
            target: target(&c, LONG),
            point: None,
            to: Some("ghcr.io/acme/web:v0.9.0".into()),
        })
        .await
        .expect("rollback");
    assert!(
        rolled.restored.contains("web-uuid → v0.9.0"),
        "{}",
        rolled.restored
    );
    let bodies: Vec<Value> = s
        .sim
        .log()
        .iter()
        .filter(|e| e.vendor == "coolify" && e.method != "GET")
        .filter_map(|e| e.body.clone())
        .collect();
    assert_eq!(
        bodies,
        vec![
            json!({"docker_registry_image_tag": "v0.9.0"}),
            json!({"commit": "v0.9.0"})
        ]
    );
    let app = s
        .api(reqwest::Method::GET, "/applications/web-uuid", None)
        .await;
    assert_eq!(app["docker_registry_image_tag"], "v0.9.0");
}

#[tokio::test]
async fn a_failed_deploy_puts_the_previous_image_tag_back() {
    let app = web(json!({"outcomes": ["failed"]}));
    let s = Setup::new(scenario(json!([app]), None, None), ROOT).await;
    let mut c = config(&["web-uuid"]);
    c.set_image_tag = true;
    let mut req = request(&c, Some("v1.1.0"), LONG);
    req.target.rollback_on_failure = true;
    let err = s.provider(c.clone()).deploy(&req).await.unwrap_err();
    assert_eq!(err.restore_outcome(), Some("restored"), "{err}");
    assert!(
        err.to_string()
            .contains("restored the image tag: web-uuid → v1.0.0"),
        "{err}"
    );
    let app = s
        .api(reqwest::Method::GET, "/applications/web-uuid", None)
        .await;
    assert_eq!(app["docker_registry_image_tag"], "v1.0.0");
}

#[tokio::test]
async fn a_failed_deploy_without_rollback_says_the_tag_names_the_failed_image() {
    let app = web(json!({"outcomes": ["failed"]}));
    let s = Setup::new(scenario(json!([app]), None, None), ROOT).await;
    let mut c = config(&["web-uuid"]);
    c.set_image_tag = true;
    let err = s
        .provider(c.clone())
        .deploy(&request(&c, Some("v1.1.0"), LONG))
        .await
        .unwrap_err();
    assert_eq!(err.restore_outcome(), Some("not-restored"), "{err}");
    assert!(
        err.to_string().contains("its image tag still names v1.1.0"),
        "{err}"
    );
    assert!(s.printed().contains("NOT restored"), "{}", s.printed());
}

#[tokio::test]
async fn polls_that_hang_past_the_deadline_end_the_deploy_at_the_deadline() {
    let s = Setup::new(scenario(json!([web(json!({}))]), None, None), ROOT).await;
    s.sim.inject(stage_gate_sim::Fault {
        vendor: Some("coolify".into()),
        method: Some("GET".into()),
        path: "/api/v1/deployments/*".into(),
        delay_ms: Some(60_000),
        ..Default::default()
    });
    let c = config(&["web-uuid"]);
    let started = Instant::now();
    let err = s
        .provider(c.clone())
        .deploy(&request(&c, None, Duration::from_secs(2)))
        .await
        .unwrap_err();
    let took = started.elapsed();
    let text = err.to_string();
    assert!(
        text.contains("did not finish before the deadline"),
        "{text}"
    );
    assert!(
        text.contains("GET http://"),
        "names the outstanding call: {text}"
    );
    assert!(stage_gate::exit::Failure::from(err).exit == stage_gate::exit::Exit::DeployFailed);
    // Bounded by the deadline, not by 30 s request timeouts times retries.
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

/// A deploy call that hangs past the client's timeout, and that Coolify queues afterwards:
/// stage-gate keeps looking for that deployment before it sends another, and never leaves
/// two deployments queued for one deploy.
#[tokio::test]
async fn a_deploy_call_queued_after_the_client_gave_up_is_found_not_sent_twice() {
    let s = Setup::new(scenario(json!([web(json!({}))]), None, None), ROOT).await;
    s.sim.inject(stage_gate_sim::Fault {
        vendor: Some("coolify".into()),
        method: Some("POST".into()),
        path: "/api/v1/deploy".into(),
        // Longer than one attempt may take (the deadline's share below), then acted on.
        delay_ms: Some(1_500),
        times: Some(1),
        ..Default::default()
    });
    let c = config(&["web-uuid"]);
    let mut req = request(&c, None, LONG);
    req.target.timeout = LONG;
    let out = s
        .provider_with_attempt_timeout(c.clone(), Duration::from_millis(500))
        .deploy(&req)
        .await
        .expect("the late deployment is followed");
    assert_eq!(detail(&out.details, "status"), Some("finished"));
    // Whatever the first call queues, it has queued by now.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let history = s
        .api(
            reqwest::Method::GET,
            "/deployments/applications/web-uuid",
            None,
        )
        .await;
    let queued = history["count"].as_u64().unwrap_or(0) - 2;
    let live = history["deployments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["status"] != "cancelled-by-user")
        .count()
        - 2;
    assert_eq!(
        live, 1,
        "one deployment for one deploy ({queued} queued): {history}"
    );
}

/// A token that may deploy but not read: the deployment it started cannot be followed.
#[tokio::test]
async fn a_403_while_following_names_the_read_permission_and_the_last_state() {
    let s = Setup::new(scenario(json!([web(json!({}))]), None, None), ROOT).await;
    s.sim.inject(stage_gate_sim::Fault {
        vendor: Some("coolify".into()),
        method: Some("GET".into()),
        path: "/api/v1/deployments/*".into(),
        status: Some(403),
        body: Some(r#"{"message":"Missing required permissions: read"}"#.into()),
        skip: Some(1),
        ..Default::default()
    });
    let c = config(&["web-uuid"]);
    let err = s
        .provider(c.clone())
        .deploy(&request(&c, None, LONG))
        .await
        .expect_err("refused");
    let text = err.to_string();
    assert!(
        matches!(err, ProviderError::Auth(_))
            && text.contains("lacks the `read` ability")
            && text.contains("was started but cannot be followed")
            && text.contains("last seen"),
        "{text}"
    );
}

/// Without `set-image-tag`, an image application runs its own tag: that is what is recorded,
/// and a promotion that must ship another artifact is refused before anything changes.
#[tokio::test]
async fn an_image_app_without_set_image_tag_records_its_own_image_and_refuses_another() {
    let s = Setup::new(scenario(json!([web(json!({}))]), None, None), ROOT).await;
    let c = config(&["web-uuid"]);
    let out = s
        .provider(c.clone())
        .deploy(&request(&c, None, LONG))
        .await
        .expect("deploys");
    assert_eq!(out.image.as_deref(), Some("ghcr.io/acme/web:v1.0.0"));
    let mut req = request(&c, None, LONG);
    req.image = Some("ghcr.io/acme/web:3db2738".into());
    let before = deploy_posts(&s);
    let err = s
        .provider(c.clone())
        .deploy(&req)
        .await
        .expect_err("another artifact");
    assert!(
        matches!(&err, ProviderError::Config(m) if m.contains("runs its own image ghcr.io/acme/web:v1.0.0, but this deploy ships ghcr.io/acme/web:3db2738")
            && m.contains("set-image-tag: true")),
        "{err:?}"
    );
    assert_eq!(deploy_posts(&s), before, "nothing was deployed");
}
