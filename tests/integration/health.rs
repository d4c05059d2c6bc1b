//! The health gate against real local servers: the health simulator over HTTP and over TLS
//! with a CA made for the test. Library-level tests call `health::gate`; CLI tests run the
//! binary. Intervals are short; nothing asserts on elapsed time.

use crate::common::{repo_with_config, Run};
use stage_gate::config::{HealthConfig, Probe};
use stage_gate::health::{self, Deps, GateReport, ProbeVerdict, ProblemKind, Vars, Verdict};
use stage_gate::inputs::Env;
use stage_gate::report::Console;
use stage_gate::secret::Redactor;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn scenario(health_json: &str) -> stage_gate_sim::Scenario {
    stage_gate_sim::Scenario {
        health: serde_yaml::from_str(health_json).expect("a valid health scenario"),
        ..Default::default()
    }
}

/// The simulators, started on the current runtime (they stop when dropped).
async fn sim(health_json: &str) -> stage_gate_sim::Sim {
    stage_gate_sim::start(scenario(health_json)).await.unwrap()
}

/// The health router alone, for serving it another way (TLS).
fn sim_router(health_json: &str) -> axum::Router {
    stage_gate_sim::health::router(
        scenario(health_json).health,
        &stage_gate_sim::Urls::default(),
    )
}

/// Run `serve` on a runtime in a background thread, for tests that run the (blocking) CLI;
/// whatever it starts lives as long as the test process. Returns what `serve` hands back.
fn in_background<F, Fut>(serve: F) -> String
where
    F: FnOnce(std::sync::mpsc::Sender<String>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(serve(tx));
    });
    rx.recv().unwrap()
}

/// The simulators in a background thread; the health base URL.
fn sim_in_background(health_json: &str) -> String {
    let scenario = scenario(health_json);
    in_background(move |tx| async move {
        let sim = stage_gate_sim::start(scenario).await.unwrap();
        tx.send(sim.urls.health.clone()).unwrap();
        std::future::pending::<()>().await;
    })
}

/// Any router in a background thread; its base URL.
fn serve_in_background(app: axum::Router) -> String {
    in_background(move |tx| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        tx.send(format!("http://{}", listener.local_addr().unwrap()))
            .unwrap();
        axum::serve(listener, app).await.unwrap();
    })
}

async fn admin(base: &str, name: &str, patch: serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/__health/{name}"))
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
}

async fn hits(base: &str, name: &str) -> u64 {
    let v: serde_json::Value = reqwest::get(format!("{base}/__health/{name}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["hits"].as_u64().unwrap()
}

fn schedule(probes: Vec<Probe>) -> HealthConfig {
    HealthConfig {
        initial_delay: Duration::ZERO,
        interval: Duration::from_millis(30),
        timeout: Duration::from_secs(2),
        deadline: Duration::from_secs(30),
        success_threshold: 1,
        failure_threshold: 3,
        soak: Duration::ZERO,
        probes,
    }
}

fn vars() -> Vars {
    Vars {
        app: "web".into(),
        env: "staging".into(),
        version: Some("1.1.0".into()),
        sha: Some("b".repeat(40)),
    }
}

struct Surroundings {
    env: Env,
    console: Console,
    log: Arc<Mutex<Vec<u8>>>,
    root: std::path::PathBuf,
}

impl Surroundings {
    fn new() -> Self {
        let (console, log) = Console::capture(Redactor::new());
        Surroundings {
            env: Env::default(),
            console,
            log,
            root: std::env::temp_dir(),
        }
    }
    fn deps(&self) -> Deps<'_> {
        Deps {
            env: &self.env,
            console: &self.console,
            root: &self.root,
        }
    }
    fn log(&self) -> String {
        String::from_utf8(self.log.lock().unwrap().clone()).unwrap()
    }
    async fn gate(&self, cfg: &HealthConfig) -> GateReport {
        health::gate(cfg, &vars(), self.deps()).await.unwrap()
    }
}

#[tokio::test]
async fn turns_healthy_after_the_service_starts() {
    let sim = sim(r#"{"endpoints": {}}"#).await;
    let base = sim.urls.health.clone();
    admin(&base, "web", serde_json::json!({"healthy_after_ms": 400})).await;
    let s = Surroundings::new();
    let report = s
        .gate(&schedule(vec![health::default_probe(&format!(
            "{base}/health/web"
        ))]))
        .await;
    assert_eq!(report.verdict, Verdict::Healthy, "{}", report.human());
    let p = &report.probes[0];
    assert!(p.attempts >= 2, "the first attempts saw it starting: {p:?}");
    assert_eq!(p.last_status, Some(200));
    assert!(p.healthy_after_ms.is_some());
    assert!(p.latency.is_some());
    // The gate made exactly the requests it reports, all plain GETs of the endpoint.
    assert_eq!(hits(&base, "web").await, u64::from(p.attempts));
    let probes: Vec<String> = sim
        .calls("health")
        .into_iter()
        .filter(|c| !c.contains("/__health/"))
        .collect();
    assert_eq!(probes.len(), p.attempts as usize);
    assert!(probes.iter().all(|c| c == "GET /health/web"), "{probes:?}");
    assert!(
        s.log()
            .contains(&format!("health: GET {base}/health/web: healthy")),
        "{}",
        s.log()
    );
}

#[tokio::test]
async fn a_flap_inside_the_soak_window_fails_the_gate() {
    let sim = sim(r#"{"endpoints": {"web": {"flap": "uuud"}}}"#).await;
    let base = sim.urls.health.clone();
    let s = Surroundings::new();
    let mut cfg = schedule(vec![health::default_probe(&format!("{base}/health/web"))]);
    cfg.soak = Duration::from_secs(60);
    let report = s.gate(&cfg).await;
    assert_eq!(report.verdict, Verdict::Unhealthy, "{}", report.human());
    let p = &report.probes[0];
    // Healthy on the first answer, then two more in the window, then the flap.
    assert_eq!(p.attempts, 4);
    assert_eq!(p.last_status, Some(503));
    assert!(p.reason.contains("soak window"), "{}", p.reason);
    assert_eq!(p.last_problem.as_ref().unwrap().kind, ProblemKind::Status);
    assert!(p.body_excerpt.as_deref().unwrap().contains("down"));
}

#[tokio::test]
async fn a_steady_endpoint_passes_the_soak_window() {
    let sim = sim(r#"{"endpoints": {"web": {}}}"#).await;
    let base = sim.urls.health.clone();
    let s = Surroundings::new();
    let mut cfg = schedule(vec![health::default_probe(&format!("{base}/health/web"))]);
    cfg.soak = Duration::from_millis(200);
    cfg.success_threshold = 2;
    let report = s.gate(&cfg).await;
    assert_eq!(report.verdict, Verdict::Healthy, "{}", report.human());
    let p = &report.probes[0];
    // Two to reach the threshold, then at least one more that closes the window.
    assert!(p.attempts >= 3, "{p:?}");
    assert!(p.reason.contains("soak"), "{}", p.reason);
}

#[tokio::test]
async fn a_hanging_endpoint_hits_the_request_timeout_and_the_verdict_is_timeout() {
    let sim = sim(r#"{"endpoints": {"web": {"hang": true}}}"#).await;
    let base = sim.urls.health.clone();
    let s = Surroundings::new();
    let mut cfg = schedule(vec![health::default_probe(&format!("{base}/health/web"))]);
    cfg.timeout = Duration::from_millis(150);
    cfg.deadline = Duration::from_millis(700);
    let report = s.gate(&cfg).await;
    assert_eq!(report.verdict, Verdict::Timeout, "{}", report.human());
    let p = &report.probes[0];
    assert_eq!(p.verdict, ProbeVerdict::Timeout);
    assert!(p.attempts >= 2, "timed-out attempts are retried: {p:?}");
    assert_eq!(p.last_problem.as_ref().unwrap().kind, ProblemKind::Timeout);
    assert_eq!(p.last_status, None);
    assert_eq!(p.latency, None, "no attempt got an answer");
    assert!(p.reason.contains("deadline"), "{}", p.reason);
}

#[tokio::test]
async fn the_evidence_keeps_the_last_answer_when_the_end_is_silence() {
    let sim = sim(r#"{"endpoints": {"web": {"status": 503}}}"#).await;
    let base = sim.urls.health.clone();
    // After two 503s the endpoint stops answering at all.
    let hang = {
        let base = base.clone();
        tokio::spawn(async move {
            while hits(&base, "web").await < 2 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            admin(&base, "web", serde_json::json!({"hang": true})).await;
        })
    };
    let s = Surroundings::new();
    let mut cfg = schedule(vec![health::default_probe(&format!("{base}/health/web"))]);
    cfg.timeout = Duration::from_millis(150);
    cfg.deadline = Duration::from_millis(900);
    let report = s.gate(&cfg).await;
    hang.await.unwrap();
    assert_eq!(report.verdict, Verdict::Timeout);
    let p = &report.probes[0];
    assert_eq!(p.last_problem.as_ref().unwrap().kind, ProblemKind::Timeout);
    assert_eq!(p.last_status, Some(503));
    assert!(p.body_excerpt.as_deref().unwrap().contains("503"), "{p:?}");
}

fn version_probe(base: &str) -> Probe {
    let mut p = health::default_probe(&format!("{base}/health/web"));
    p.json = vec![
        ("$.version".into(), serde_json::json!("{version}")),
        ("$.sha".into(), serde_json::json!("{sha}")),
    ];
    p
}

#[tokio::test]
async fn waits_for_the_new_version_to_replace_the_old_one() {
    let sim = sim(r#"{"endpoints": {"web": {"version": "1.0.0", "sha": "aaaa"}}}"#).await;
    let base = sim.urls.health.clone();
    // The rollout reaches the endpoint after it has answered the old version three times.
    let flip = {
        let base = base.clone();
        tokio::spawn(async move {
            while hits(&base, "web").await < 3 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let sha = "b".repeat(40);
            admin(
                &base,
                "web",
                serde_json::json!({"version": "1.1.0", "sha": sha}),
            )
            .await;
        })
    };
    let s = Surroundings::new();
    let report = s.gate(&schedule(vec![version_probe(&base)])).await;
    flip.await.unwrap();
    assert_eq!(report.verdict, Verdict::Healthy, "{}", report.human());
    let p = &report.probes[0];
    assert!(p.attempts >= 4, "{p:?}");
    assert!(p.body_excerpt.as_deref().unwrap().contains("1.1.0"));
}

#[tokio::test]
async fn the_old_version_alone_never_passes() {
    let sim = sim(r#"{"endpoints": {"web": {"version": "1.0.0", "sha": "aaaa"}}}"#).await;
    let base = sim.urls.health.clone();
    let s = Surroundings::new();
    let mut cfg = schedule(vec![version_probe(&base)]);
    cfg.deadline = Duration::from_millis(300);
    let report = s.gate(&cfg).await;
    assert_eq!(report.verdict, Verdict::Timeout);
    let problem = report.probes[0].last_problem.clone().unwrap();
    assert_eq!(problem.kind, ProblemKind::Json);
    assert_eq!(problem.message, r#"$.version is "1.0.0", expected "1.1.0""#);
}

#[tokio::test]
async fn hard_failures_stop_the_gate_early() {
    let sim = sim(r#"{"endpoints": {"web": {"status": 401}}}"#).await;
    let base = sim.urls.health.clone();
    let s = Surroundings::new();
    let report = s
        .gate(&schedule(vec![health::default_probe(&format!(
            "{base}/health/web"
        ))]))
        .await;
    assert_eq!(report.verdict, Verdict::Unhealthy);
    let p = &report.probes[0];
    assert_eq!(p.attempts, 3, "failure-threshold is 3");
    assert_eq!(hits(&base, "web").await, 3);
    assert!(p.reason.contains("stopped after 3"), "{}", p.reason);
}

#[tokio::test]
async fn a_refused_connection_is_retried_and_named() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = Surroundings::new();
    let mut cfg = schedule(vec![health::default_probe(&format!(
        "http://127.0.0.1:{port}/healthz"
    ))]);
    cfg.deadline = Duration::from_millis(200);
    let report = s.gate(&cfg).await;
    assert_eq!(report.verdict, Verdict::Timeout);
    let p = &report.probes[0];
    assert!(p.attempts >= 2, "{p:?}");
    assert_eq!(p.last_problem.as_ref().unwrap().kind, ProblemKind::Refused);
}

#[tokio::test]
async fn connection_resets_are_retried_and_named() {
    let sim = sim(r#"{"endpoints": {"web": {}}}"#).await;
    sim.inject(stage_gate_sim::Fault {
        vendor: Some("health".into()),
        path: "/health/*".into(),
        reset: true,
        ..Default::default()
    });
    let s = Surroundings::new();
    let mut cfg = schedule(vec![health::default_probe(&format!(
        "{}/health/web",
        sim.urls.health
    ))]);
    cfg.deadline = Duration::from_millis(250);
    let report = s.gate(&cfg).await;
    assert_eq!(report.verdict, Verdict::Timeout);
    let p = &report.probes[0];
    assert!(p.attempts >= 2, "{p:?}");
    assert_eq!(p.last_problem.as_ref().unwrap().kind, ProblemKind::Reset);

    // Once the resets stop, the same gate passes: resets are never hard.
    sim.clear_faults();
    let report = s.gate(&cfg).await;
    assert_eq!(report.verdict, Verdict::Healthy, "{}", report.human());
}

#[tokio::test]
async fn one_failing_probe_stops_the_others() {
    let sim = sim(
        r#"{"endpoints": {"a": {"healthy_after_ms": 3600000}, "b": {"hang": true}, "c": {"status": 403}}}"#,
    ).await;
    let base = sim.urls.health.clone();
    let s = Surroundings::new();
    let mut cfg = schedule(
        ["a", "b", "c"]
            .iter()
            .map(|n| health::default_probe(&format!("{base}/health/{n}")))
            .collect(),
    );
    cfg.failure_threshold = 1;
    cfg.timeout = Duration::from_secs(30);
    let report = s.gate(&cfg).await;
    assert_eq!(report.verdict, Verdict::Unhealthy);
    let verdicts: Vec<_> = report.probes.iter().map(|p| p.verdict).collect();
    assert_eq!(
        verdicts,
        vec![
            ProbeVerdict::Cancelled,
            ProbeVerdict::Cancelled,
            ProbeVerdict::Unhealthy
        ]
    );
    assert!(
        report.headline().contains("/health/c"),
        "{}",
        report.headline()
    );
}

#[tokio::test]
async fn redirects_are_followed_or_judged_as_answers() {
    let sim =
        sim(r#"{"endpoints": {"moved": {"redirect": "/health/gone"}, "gone": {"status": 410}}}"#)
            .await;
    let base = sim.urls.health.clone();
    let s = Surroundings::new();
    let mut stay = health::default_probe(&format!("{base}/health/moved"));
    stay.follow_redirects = false;
    let report = s.gate(&schedule(vec![stay])).await;
    assert_eq!(report.verdict, Verdict::Healthy, "302 is in 200-399");
    assert_eq!(report.probes[0].last_status, Some(302));

    let follow = health::default_probe(&format!("{base}/health/moved"));
    let report = s.gate(&schedule(vec![follow])).await;
    assert_eq!(report.verdict, Verdict::Unhealthy, "410 is hard");
    assert_eq!(report.probes[0].last_status, Some(410));
}

mod tls {
    use super::*;
    use tokio_rustls::rustls;

    /// A CA, and a certificate for 127.0.0.1 and localhost signed by it.
    fn pki() -> (String, rustls::ServerConfig) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "stage-gate test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca, ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut leaf =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()])
                .unwrap();
        leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let leaf = leaf.signed_by(&key, &ca).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
            )
            .unwrap();
        (ca.pem(), config)
    }

    struct TlsListener {
        tcp: tokio::net::TcpListener,
        acceptor: tokio_rustls::TlsAcceptor,
    }

    impl axum::serve::Listener for TlsListener {
        type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
        type Addr = std::net::SocketAddr;
        async fn accept(&mut self) -> (Self::Io, Self::Addr) {
            loop {
                let Ok((tcp, addr)) = self.tcp.accept().await else {
                    continue;
                };
                // A client that rejects our certificate fails the handshake: next one.
                if let Ok(tls) = self.acceptor.accept(tcp).await {
                    return (tls, addr);
                }
            }
        }
        fn local_addr(&self) -> std::io::Result<Self::Addr> {
            self.tcp.local_addr()
        }
    }

    async fn serve_tls(app: axum::Router, config: rustls::ServerConfig) -> String {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = tcp.local_addr().unwrap().port();
        let listener = TlsListener {
            tcp,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        };
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("https://127.0.0.1:{port}")
    }

    #[tokio::test]
    async fn a_self_signed_ca_is_trusted_through_ca_file_and_only_then() {
        let (ca_pem, config) = pki();
        let base = serve_tls(
            sim_router(r#"{"endpoints": {"web": {"version": "1.1.0"}}}"#),
            config,
        )
        .await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca_pem).unwrap();
        let mut s = Surroundings::new();
        s.root = dir.path().to_path_buf();

        let mut trusted = health::default_probe(&format!("{base}/health/web"));
        trusted.ca_file = Some("ca.pem".into());
        trusted.json = vec![("$.version".into(), serde_json::json!("{version}"))];
        let report = s.gate(&schedule(vec![trusted])).await;
        assert_eq!(report.verdict, Verdict::Healthy, "{}", report.human());

        let mut cfg = schedule(vec![health::default_probe(&format!("{base}/health/web"))]);
        cfg.failure_threshold = 2;
        let report = s.gate(&cfg).await;
        assert_eq!(report.verdict, Verdict::Unhealthy, "{}", report.human());
        let p = &report.probes[0];
        let problem = p.last_problem.as_ref().unwrap();
        assert_eq!(problem.kind, ProblemKind::Tls, "{problem:?}");
        assert!(problem.hard);
        assert_eq!(p.attempts, 2, "a TLS error is hard: stop at the threshold");
        assert!(
            problem.message.contains("certificate"),
            "{}",
            problem.message
        );
    }
}

// --- the CLI -------------------------------------------------------------------------------

fn health_config(url: &str, extra: &str) -> String {
    format!(
        "version: 1\napps:\n  web:\n    environments:\n      staging:\n        command: {{run: 'true'}}\n        health:\n          interval: 20ms\n          deadline: 1s\n          timeout: 500ms\n{extra}          probes:\n            - url: '{url}'\n"
    )
}

#[test]
fn the_cli_reports_a_healthy_gate_in_outputs_summary_and_json() {
    let base = sim_in_background(r#"{"endpoints": {"web": {"version": "2.0.0"}}}"#);
    let config = health_config(&format!("{base}/health/web"), "").replace(
        "            - url:",
        "            - json: {\"$.version\": \"{version}\"}\n              url:",
    );
    let repo = repo_with_config(&config);
    let tmp = tempfile::tempdir().unwrap();
    let out = Run::new(repo.path())
        .args(["health", "--env", "staging", "--version", "2.0.0"])
        .actions(tmp.path())
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.output("verdict").as_deref(), Some("healthy"));
    assert_eq!(out.output("result").as_deref(), Some("success"));
    assert!(
        out.summary.contains("### stage-gate health: healthy"),
        "{}",
        out.summary
    );
    assert!(
        out.summary
            .contains("| probe | verdict | attempts | last status |"),
        "{}",
        out.summary
    );
    assert!(
        out.summary.contains("| healthy | 1 | 200 |"),
        "{}",
        out.summary
    );

    let out = Run::new(repo.path())
        .args([
            "health",
            "--env",
            "staging",
            "--format",
            "json",
            "--version",
            "2.0.0",
        ])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["verdict"], "healthy");
    assert_eq!(doc["gates"][0]["probes"][0]["last_status"], 200);
    assert_eq!(doc["outputs"]["verdict"], "healthy");
}

/// Answers 500 with every request header in the body: the worst case for leaking a secret.
async fn echo(
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
) -> (axum::http::StatusCode, String) {
    let mut body = format!("uri={uri}\n");
    for (k, v) in &headers {
        body.push_str(&format!("{k}: {}\n", v.to_str().unwrap_or("?")));
    }
    (axum::http::StatusCode::INTERNAL_SERVER_ERROR, body)
}

#[test]
fn secret_headers_are_sent_but_never_printed_and_a_failed_gate_exits_4() {
    let secret = "probe-token-5f1e2d3c";
    let app = axum::Router::new().route("/echo", axum::routing::get(echo));
    let base = serve_in_background(app);
    let extra = "";
    // A deadline a loaded machine still answers within: the evidence must hold an answer.
    let config = health_config(&format!("{base}/echo?t=${{PROBE_TOKEN}}"), extra)
        .replace(
            "            - url:",
            "            - headers: {Authorization: 'Bearer ${PROBE_TOKEN}'}\n              url:",
        )
        .replace("deadline: 1s", "deadline: 3s");
    let repo = repo_with_config(&config);
    let tmp = tempfile::tempdir().unwrap();
    let out = Run::new(repo.path())
        .args(["health", "--env", "staging", "--verbose"])
        .env("PROBE_TOKEN", secret)
        .actions(tmp.path())
        .run();
    assert_eq!(out.code, 4, "{}", out.all());
    assert_eq!(out.output("verdict").as_deref(), Some("timeout"));
    assert_eq!(out.output("result").as_deref(), Some("failure"));
    // The mask command is the one line allowed to carry the value, so GitHub hides it.
    let printed = out.all().replace(&format!("::add-mask::{secret}"), "");
    assert!(!printed.contains(secret), "{printed}");
    // The server did get it, and its echo shows up masked in the evidence.
    assert!(
        out.summary.contains("authorization: Bearer ***"),
        "{}",
        out.summary
    );
    assert!(out.summary.contains("500"), "{}", out.summary);

    let out = Run::new(repo.path())
        .args(["health", "--env", "staging", "--format", "json"])
        .env("PROBE_TOKEN", secret)
        .run();
    assert_eq!(out.code, 4, "{}", out.all());
    assert!(!out.all().contains(secret), "{}", out.all());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["verdict"], "timeout");
    assert!(doc["gates"][0]["probes"][0]["url"]
        .as_str()
        .unwrap()
        .ends_with("/echo?t=***"));
}

#[test]
fn a_missing_secret_variable_is_an_input_error() {
    let config = health_config("http://127.0.0.1:9/x", "").replace(
        "            - url:",
        "            - headers: {Authorization: 'Bearer ${PROBE_TOKEN}'}\n              url:",
    );
    let repo = repo_with_config(&config);
    let out = Run::new(repo.path())
        .args(["health", "--env", "staging"])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("the header `Authorization` needs the environment variable `PROBE_TOKEN`"),
        "{}",
        out.stderr
    );
}

#[test]
fn ad_hoc_urls_and_nothing_to_probe() {
    let base = sim_in_background(r#"{"endpoints": {}}"#);
    let repo = repo_with_config("version: 1\n");
    let out = Run::new(repo.path())
        .args(["health", "--url", &format!("{base}/healthz")])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("healthy"), "{}", out.stdout);

    let out = Run::new(repo.path()).args(["health"]).run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("needs an environment"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_version_comes_from_the_release_tag_and_dry_run_probes_nothing() {
    let base = sim_in_background(r#"{"endpoints": {"web": {"version": "2.0.0"}}}"#);
    let config = health_config(&format!("{base}/health/web?v={{version}}"), "").replace(
        "            - url:",
        "            - json: {\"$.version\": \"{version}\"}\n              url:",
    );
    let repo = repo_with_config(&config);
    let out = Run::new(repo.path())
        .args(["health", "--env", "staging"])
        .env("GITHUB_REF", "refs/tags/v2.0.0")
        .run();
    assert_eq!(out.code, 0, "{}", out.all());

    let out = Run::new(repo.path())
        .args(["health", "--env", "staging", "--dry-run"])
        .env("GITHUB_REF", "refs/tags/v2.0.0")
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains(&format!(
            "would probe GET {base}/health/web?v=2.0.0 (web in staging)"
        )),
        "{}",
        out.stdout
    );

    // Without a tag or --version, the assertion cannot be checked: an input error, not a guess.
    let out = Run::new(repo.path())
        .args(["health", "--env", "staging"])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("uses `{version}`"), "{}", out.stderr);
}

/// `--version` is never silently ignored: a configured gate must check it (else exit 2 with
/// the fix), and an ad-hoc `--url` probe must find it in the body.
#[test]
fn a_version_no_probe_checks_is_refused_and_a_url_probe_checks_the_body() {
    let base = sim_in_background(r#"{"endpoints": {"web": {"version": "2.0.0"}}}"#);
    let repo = repo_with_config(&health_config(&format!("{base}/health/web"), ""));
    let out = Run::new(repo.path())
        .args(["health", "--env", "staging", "--version", "9.9.9"])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    insta::assert_snapshot!(out.stderr.trim());

    let out = Run::new(repo.path())
        .args([
            "health",
            "--url",
            &format!("{base}/health/web"),
            "--version",
            "2.0.0",
            "--format",
            "json",
        ])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["verdict"], "healthy");
}

/// Ad-hoc probes name themselves: no `- in -` where an app and environment would go.
#[test]
fn url_probes_are_named_by_their_url() {
    let base = sim_in_background(r#"{"endpoints": {}}"#);
    let repo = repo_with_config("version: 1\n");
    let url = format!("{base}/healthz");
    let tmp = tempfile::tempdir().unwrap();
    let out = Run::new(repo.path())
        .actions(tmp.path())
        .args(["health", "--url", &url, "--format", "human"])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(!out.all().contains("- in -"), "{}", out.all());
    assert_eq!(
        out.stdout.lines().next(),
        Some(format!("{url}: healthy (1 probe(s))").as_str())
    );
    assert!(
        out.summary
            .contains(&format!("#### health: {url}: healthy")),
        "{}",
        out.summary
    );
    assert!(
        out.stderr
            .contains(&format!("::group::health gate: {url} (1 probe(s))")),
        "{}",
        out.stderr
    );
    let out = Run::new(repo.path())
        .args(["health", "--url", &url, "--dry-run"])
        .run();
    assert_eq!(
        out.stdout.trim(),
        format!("would probe GET {url} every 2s for up to 5m, soak 0s")
    );
}

/// The runner's SIGINT stops a standalone gate at once with exit 5, as it stops a deploy's.
#[test]
fn a_cancelled_health_gate_stops_within_a_second_and_exits_5() {
    let base = sim_in_background(r#"{"endpoints": {"busy": {"status": 503}}}"#);
    let repo = repo_with_config("version: 1\n");
    let url = format!("{base}/health/busy");
    let tmp = tempfile::tempdir().unwrap();
    // Unavailable is worth waiting for: without the signal this gate probes for 5 minutes.
    let mut child = Run::new(repo.path())
        .actions(tmp.path())
        .args(["health", "--url", &url])
        .spawn();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.child.try_wait().unwrap().is_none(),
        "the gate ended by itself"
    );
    child.signal("INT");
    let signalled = std::time::Instant::now();
    while child.child.try_wait().unwrap().is_none() {
        if signalled.elapsed() > Duration::from_secs(1) {
            child.signal("KILL");
            panic!(
                "still probing a second after SIGINT:\n{}",
                child.wait().all()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait();
    assert_eq!(out.code, 5, "{}", out.all());
    assert!(
        out.stderr.contains(&format!(
            "::error::cancelled by SIGINT during the health gate of {url}: not proven healthy"
        )),
        "{}",
        out.stderr
    );
    assert_eq!(out.output("result").as_deref(), Some("cancelled"));
}
