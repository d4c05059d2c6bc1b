//! The `command` and `webhook` providers through their Rust API: a real `sh`, and a local
//! receiver that records what it was sent.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use stage_gate::config::{CommandConfig, HealthConfig, ProviderConfig, Target, WebhookConfig};
use stage_gate::context::Ctx;
use stage_gate::inputs::Env;
use stage_gate::notify::webhook::verify;
use stage_gate::providers::{
    command::CommandProvider, webhook::WebhookProvider, DeployRequest, Provider, ProviderError,
    RollbackRequest,
};
use stage_gate::secret::Secret;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "hunter2-very-secret";

fn target(provider: ProviderConfig, timeout: Duration) -> Target {
    Target {
        app: "web".into(),
        env: "staging".into(),
        provider,
        url: None,
        health: HealthConfig::default(),
        rollback_on_failure: false,
        timeout,
    }
}

fn request(provider: ProviderConfig, within: Duration) -> DeployRequest {
    DeployRequest {
        target: target(provider, within),
        sha: "0123456789abcdef0123456789abcdef01234567".into(),
        version: Some("v1.4.0".into()),
        image: Some("ghcr.io/acme/web:v1.4.0".into()),
        deadline: Instant::now() + within,
        labels: Vec::new(),
        min_secrets_version: None,
    }
}

fn env() -> Env {
    let mut env = Env::default();
    for key in ["PATH", "HOME"] {
        if let Ok(v) = std::env::var(key) {
            env.set(key, v);
        }
    }
    env.set("MY_SECRET", SECRET);
    env
}

fn printed(buf: &Arc<Mutex<Vec<u8>>>) -> String {
    String::from_utf8_lossy(&buf.lock().unwrap()).to_string()
}

fn command(run: &str) -> CommandConfig {
    CommandConfig {
        run: run.into(),
        rollback: None,
        working_directory: None,
        secret_env: vec!["MY_SECRET".into()],
    }
}

const LONG: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_command_deploy_streams_redacted_output_with_the_stage_gate_env() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, out) = Ctx::for_test(dir.path(), env());
    let c = command(
        "echo deploying $STAGE_GATE_APP to $STAGE_GATE_ENV at $STAGE_GATE_VERSION; \
         echo \"token=$MY_SECRET\"; echo $STAGE_GATE_SHA > sha.txt",
    );
    let p = CommandProvider::new(c.clone(), &ctx.provider_deps()).unwrap();
    let done = p
        .deploy(&request(ProviderConfig::Command(c), LONG))
        .await
        .unwrap();
    assert!(done.details.contains(&("exit-code".into(), "0".into())));
    assert_eq!(done.version.as_deref(), Some("v1.4.0"));
    let text = printed(&out);
    assert!(
        text.contains("deploying web to staging at v1.4.0"),
        "{text}"
    );
    assert!(
        text.contains("token=***") && !text.contains(SECRET),
        "{text}"
    );
    let sha = std::fs::read_to_string(dir.path().join("sha.txt")).unwrap();
    assert_eq!(sha.trim(), "0123456789abcdef0123456789abcdef01234567");
}

#[tokio::test]
async fn a_failing_command_fails_the_deploy_with_its_last_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _) = Ctx::for_test(dir.path(), env());
    let c = command("echo step one; echo \"boom $MY_SECRET\" >&2; exit 3");
    let err = CommandProvider::new(c.clone(), &ctx.provider_deps())
        .unwrap()
        .deploy(&request(ProviderConfig::Command(c), LONG))
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
    assert!(message.contains("exited with code 3"), "{message}");
    let excerpt = log_excerpt.unwrap();
    assert!(
        excerpt.contains("boom ***") && excerpt.contains("step one"),
        "{excerpt}"
    );
}

#[tokio::test]
async fn a_command_past_the_deadline_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _) = Ctx::for_test(dir.path(), env());
    let c = command("echo started; sleep 30");
    let err = CommandProvider::new(c.clone(), &ctx.provider_deps())
        .unwrap()
        .deploy(&request(
            ProviderConfig::Command(c),
            Duration::from_millis(400),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProviderError::Failed { message, .. } if message.contains("deadline")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_missing_secret_env_is_a_config_error_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _) = Ctx::for_test(dir.path(), env());
    let mut c = command("touch ran.txt");
    c.secret_env.push("KAMAL_REGISTRY_PASSWORD".into());
    let err = CommandProvider::new(c.clone(), &ctx.provider_deps())
        .unwrap()
        .deploy(&request(ProviderConfig::Command(c), LONG))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProviderError::Config(m) if m.contains("KAMAL_REGISTRY_PASSWORD")),
        "{err:?}"
    );
    assert!(!dir.path().join("ran.txt").exists());
}

#[tokio::test]
async fn command_rollback_runs_in_the_working_directory_with_the_target_version() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("deploy")).unwrap();
    let (ctx, _) = Ctx::for_test(dir.path(), env());
    let mut c = command("true");
    c.rollback = Some("echo \"$STAGE_GATE_ROLLBACK_TO\" > rolled.txt".into());
    c.working_directory = Some("deploy".into());
    let p = CommandProvider::new(c.clone(), &ctx.provider_deps()).unwrap();
    let out = p
        .rollback(&RollbackRequest {
            target: target(ProviderConfig::Command(c.clone()), LONG),
            point: None,
            to: Some("v1.3.0".into()),
        })
        .await
        .unwrap();
    assert_eq!(out.restored, "rolled back to v1.3.0");
    let rolled = std::fs::read_to_string(dir.path().join("deploy/rolled.txt")).unwrap();
    assert_eq!(rolled.trim(), "v1.3.0");

    c.rollback = None;
    let err = CommandProvider::new(c.clone(), &ctx.provider_deps())
        .unwrap()
        .rollback(&RollbackRequest {
            target: target(ProviderConfig::Command(c), LONG),
            point: None,
            to: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Config(_)));
}

/// What the receiver saw, and how it answers.
#[derive(Default)]
struct Receiver {
    hits: Vec<(HeaderMap, Bytes)>,
    status_polls: u32,
    /// Status polls answered 503 before the first 200.
    not_ready: u32,
    deploy_status: u16,
}

type Shared = Arc<Mutex<Receiver>>;

async fn hook(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut r = s.lock().unwrap();
    r.hits.push((headers, body));
    StatusCode::from_u16(r.deploy_status).unwrap()
}

async fn status(State(s): State<Shared>) -> StatusCode {
    let mut r = s.lock().unwrap();
    r.status_polls += 1;
    if r.status_polls > r.not_ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

async fn receiver(deploy_status: u16, not_ready: u32) -> (String, Shared) {
    let shared: Shared = Arc::new(Mutex::new(Receiver {
        deploy_status,
        not_ready,
        ..Default::default()
    }));
    let app = Router::new()
        .route("/hook", post(hook))
        .route("/status", get(status))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, shared)
}

fn webhook(base: &str, status_url: bool) -> WebhookConfig {
    WebhookConfig {
        url: format!("{base}/hook"),
        method: "POST".into(),
        headers: BTreeMap::from([
            ("Authorization".into(), "Bearer ${MY_SECRET}".into()),
            ("X-Team".into(), "platform".into()),
        ]),
        secret_env: Some("MY_SECRET".into()),
        status_url: status_url.then(|| format!("{base}/status")),
    }
}

#[tokio::test]
async fn a_webhook_deploy_sends_a_signed_body_and_waits_for_the_status_url() {
    let (base, seen) = receiver(202, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let (ctx, out) = Ctx::for_test(dir.path(), env());
    let c = webhook(&base, true);
    let p = WebhookProvider::new(c.clone(), &ctx.provider_deps())
        .unwrap()
        .with_poll_interval(Duration::from_millis(10));
    let done = p
        .deploy(&request(ProviderConfig::Webhook(c), LONG))
        .await
        .unwrap();
    assert!(done
        .details
        .contains(&("webhook-status".into(), "202".into())));
    let r = seen.lock().unwrap();
    assert_eq!(r.hits.len(), 1);
    assert_eq!(r.status_polls, 3);
    let (headers, body) = &r.hits[0];
    assert_eq!(
        headers["authorization"],
        format!("Bearer {SECRET}").as_str()
    );
    assert_eq!(headers["x-team"], "platform");
    let sig = headers["x-stage-gate-signature"].to_str().unwrap();
    assert!(verify(&Secret::new(SECRET), body, sig), "{sig}");
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "app": "web", "environment": "staging",
            "sha": "0123456789abcdef0123456789abcdef01234567",
            "version": "v1.4.0", "image": "ghcr.io/acme/web:v1.4.0",
        })
    );
    assert!(!printed(&out).contains(SECRET));
}

#[tokio::test]
async fn a_refused_webhook_fails_and_is_not_repeated() {
    let (base, seen) = receiver(500, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _) = Ctx::for_test(dir.path(), env());
    let c = webhook(&base, false);
    let err = WebhookProvider::new(c.clone(), &ctx.provider_deps())
        .unwrap()
        .deploy(&request(ProviderConfig::Webhook(c), LONG))
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Failed { .. }), "{err:?}");
    assert_eq!(
        seen.lock().unwrap().hits.len(),
        1,
        "a POST trigger is never retried"
    );

    let (base, _) = receiver(401, 0).await;
    let c = webhook(&base, false);
    let err = WebhookProvider::new(c.clone(), &ctx.provider_deps())
        .unwrap()
        .deploy(&request(ProviderConfig::Webhook(c), LONG))
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Auth(_)), "{err:?}");
}

#[tokio::test]
async fn a_status_url_that_never_turns_ready_fails_at_the_deadline() {
    let (base, _) = receiver(200, u32::MAX).await;
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _) = Ctx::for_test(dir.path(), env());
    let c = webhook(&base, true);
    let err = WebhookProvider::new(c.clone(), &ctx.provider_deps())
        .unwrap()
        .with_poll_interval(Duration::from_millis(20))
        .deploy(&request(
            ProviderConfig::Webhook(c),
            Duration::from_millis(300),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProviderError::Failed { message, .. } if message.contains("did not answer 2xx")),
        "{err:?}"
    );
}

#[tokio::test]
async fn webhook_headers_naming_unset_variables_are_config_errors() {
    let (base, seen) = receiver(200, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _) = Ctx::for_test(dir.path(), env());
    let mut c = webhook(&base, false);
    c.headers
        .insert("X-Key".into(), "${DEPLOY_KEY_NOT_SET}".into());
    let err = WebhookProvider::new(c.clone(), &ctx.provider_deps())
        .unwrap()
        .deploy(&request(ProviderConfig::Webhook(c.clone()), LONG))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProviderError::Config(m) if m.contains("DEPLOY_KEY_NOT_SET") && m.contains("X-Key")),
        "{err:?}"
    );
    assert!(seen.lock().unwrap().hits.is_empty());
    let err = WebhookProvider::new(c.clone(), &ctx.provider_deps())
        .unwrap()
        .rollback(&RollbackRequest {
            target: target(ProviderConfig::Webhook(c), LONG),
            point: None,
            to: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Config(_)));
}
