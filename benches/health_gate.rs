//! Benchmarks of the health gate (run by `benches/health_gate.sh`, not by `cargo test`):
//!
//! - `latency`: how long after an endpoint turns healthy the gate gives its verdict. The goal
//!   is at most one interval plus 50 ms. The endpoint is flipped healthy through the health
//!   simulator's admin route at a random moment; the delay is verdict time minus flip time.
//! - `memory N`: peak resident memory of a process gating N endpoints at once (VmHWM). The
//!   endpoints are served by a child process (this binary with `serve`), so the number is the
//!   gate's own.
//!
//! With no arguments (as `cargo test --benches` runs it) it does a short smoke run of both.

use stage_gate::config::HealthConfig;
use stage_gate::health::{self, Deps, Vars, Verdict};
use stage_gate::inputs::Env;
use stage_gate::report::Console;
use stage_gate::secret::Redactor;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    match words.as_slice() {
        ["serve"] => rt.block_on(serve_forever()),
        ["latency", runs, interval_ms] => rt.block_on(latency(
            runs.parse().expect("runs"),
            Duration::from_millis(interval_ms.parse().expect("interval in ms")),
        )),
        ["memory", n] => rt.block_on(memory(n.parse().expect("endpoint count"))),
        _ => {
            rt.block_on(latency(2, Duration::from_millis(50)));
            rt.block_on(memory(5));
        }
    }
}

fn sim() -> axum::Router {
    stage_gate_sim::health::router(Default::default(), &stage_gate_sim::Urls::default())
}

async fn serve_forever() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("{}", listener.local_addr().unwrap());
    axum::serve(listener, sim()).await.unwrap();
}

async fn admin(client: &reqwest::Client, base: &str, name: &str, patch: serde_json::Value) {
    let resp = client
        .post(format!("{base}/__health/{name}"))
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
}

fn config(urls: Vec<String>, interval: Duration) -> HealthConfig {
    HealthConfig {
        interval,
        timeout: Duration::from_secs(5),
        deadline: Duration::from_secs(120),
        probes: urls.iter().map(|u| health::default_probe(u)).collect(),
        ..HealthConfig::default()
    }
}

async fn run_gate(cfg: &HealthConfig) -> health::GateReport {
    let env = Env::default();
    let (console, _) = Console::capture(Redactor::new());
    let root = std::env::temp_dir();
    let vars = Vars {
        app: "bench".into(),
        env: "bench".into(),
        ..Vars::default()
    };
    let deps = Deps {
        env: &env,
        console: &console,
        root: &root,
    };
    health::gate(cfg, &vars, deps)
        .await
        .expect("the probes are valid")
}

async fn latency(runs: usize, interval: Duration) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, sim()).await });
    let client = reqwest::Client::new();
    let mut delays = Vec::new();
    for run in 0..runs {
        let name = format!("svc{run}");
        admin(
            &client,
            &base,
            &name,
            serde_json::json!({"healthy_after_ms": 3_600_000}),
        )
        .await;
        let cfg = config(vec![format!("{base}/health/{name}")], interval);
        let gate = tokio::spawn(async move {
            let report = run_gate(&cfg).await;
            (report, Instant::now())
        });
        // Flip at a random phase of the probe cycle, after a few unhealthy rounds.
        let wait = interval * 2 + interval.mul_f64(rand::random::<f64>());
        tokio::time::sleep(wait).await;
        admin(
            &client,
            &base,
            &name,
            serde_json::json!({"healthy_after_ms": 0}),
        )
        .await;
        let flipped = Instant::now();
        let (report, verdict_at) = gate.await.unwrap();
        assert_eq!(report.verdict, Verdict::Healthy);
        delays.push(verdict_at.saturating_duration_since(flipped));
    }
    delays.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| delays[((delays.len() - 1) as f64 * q).round() as usize];
    let goal = interval + Duration::from_millis(50);
    let within = delays.iter().filter(|d| **d <= goal).count();
    println!(
        "latency interval={}ms runs={runs}: min={:.1}ms p50={:.1}ms p95={:.1}ms max={:.1}ms; \
         within interval+50ms: {within}/{runs}",
        interval.as_millis(),
        ms(delays[0]),
        ms(p(0.5)),
        ms(p(0.95)),
        ms(delays[delays.len() - 1]),
    );
}

#[allow(clippy::zombie_processes)] // on purpose, see the end
async fn memory(n: usize) {
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .arg("serve")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = format!("http://{}", line.trim());
    let client = reqwest::Client::new();
    // Every endpoint answers 503 for its first second, so the gate runs several rounds of
    // all N probes at once before they pass; then a 2 s soak keeps all N probing.
    for i in 0..n {
        admin(
            &client,
            &base,
            &format!("e{i}"),
            serde_json::json!({"healthy_after_ms": 1000}),
        )
        .await;
    }
    drop(client);
    let before = status_kb("VmRSS");
    let urls = (0..n).map(|i| format!("{base}/health/e{i}")).collect();
    let mut cfg = config(urls, Duration::from_millis(100));
    cfg.soak = Duration::from_secs(2);
    let start = Instant::now();
    let report = run_gate(&cfg).await;
    let took = start.elapsed();
    let attempts: u32 = report.probes.iter().map(|p| p.attempts).sum();
    println!(
        "memory endpoints={n}: verdict={} in {:.2}s, {attempts} requests; RSS before gate {} KiB, \
         peak (VmHWM) {} KiB",
        report.verdict.as_str(),
        took.as_secs_f64(),
        before,
        status_kb("VmHWM"),
    );
    // Killed but not waited for: a waited child's peak would count in this process's
    // rusage, and `/usr/bin/time -v` around this benchmark would report the server's memory.
    let _ = child.kill();
}

/// A `/proc/self/status` field in KiB (0 where there is no /proc).
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
