//! Benchmark of the Fly provider's rolling deploy (run by `benches/fly_rolling.sh`, not by
//! `cargo test`): N simulated machines that each take S ms to start, updated with the default
//! `max-unavailable` 0.33 and with a count; wall time against the minimum, which is the number
//! of waves × the start time (a wave cannot finish before its machines have started).
//!
//! Usage: `fly_rolling [machines] [start_ms]` (default 30 machines, 1000 ms).
//! With no arguments under `cargo test --benches` it does a short smoke run.

use stage_gate::config::{FlyConfig, FlyStrategy, HealthConfig, ProviderConfig, Target};
use stage_gate::context::Ctx;
use stage_gate::inputs::Env;
use stage_gate::providers::fly::FlyProvider;
use stage_gate::providers::{DeployRequest, Provider};
use std::time::{Duration, Instant};

/// Waves of a rolling deploy of `n` started machines in one group: the spearhead alone, then
/// chunks of the wave size (flyctl's rule: a fraction is ceil(n × f), a value ≥ 1 a count).
fn waves(n: usize, max_unavailable: f64) -> usize {
    let size = if max_unavailable < 1.0 {
        (n as f64 * max_unavailable).ceil() as usize
    } else {
        max_unavailable.floor() as usize
    }
    .max(1);
    1 + (n - 1).div_ceil(size)
}

const FLY_TOML: &str = "app = 'bench'\nprimary_region = 'iad'\nkill_signal = 'SIGINT'\nkill_timeout = 5\n\
[env]\nMODE = 'bench'\n[http_service]\ninternal_port = 8080\nforce_https = true\nauto_stop_machines = 'off'\n\
[[http_service.checks]]\npath = '/healthz'\ninterval = '15s'\ntimeout = '2s'\n[[vm]]\nsize = 'shared-cpu-1x'\n\
[[restart]]\npolicy = 'on-failure'\nretries = 10\n";

async fn run(machines: usize, start_ms: u64, max_unavailable: f64) {
    let yaml = format!(
        "fly:\n  apps:\n  - name: bench\n    start_ms: {start_ms}\n    machines:\n    - {{count: {machines}}}\n"
    );
    let sim = stage_gate_sim::start(stage_gate_sim::Scenario::parse(&yaml).expect("scenario"))
        .await
        .expect("simulator");
    let mut env = Env::default();
    env.set("FLY_API_TOKEN", "bench-token");
    env.set("STAGE_GATE_FLY_API_URL", sim.urls.fly.clone());
    // The whole fly.toml is applied to every machine (services, checks, env, guest, restart).
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("fly.toml"), FLY_TOML).expect("fly.toml");
    let (ctx, _printed) = Ctx::for_test(dir.path(), env);
    let config = FlyConfig {
        app: Some("bench".into()),
        config: Some("fly.toml".into()),
        image: None,
        strategy: FlyStrategy::Rolling,
        max_unavailable,
        wait_timeout: Duration::from_secs(120),
        process_groups: Vec::new(),
        api_url: sim.urls.fly.clone(),
        token_env: "FLY_API_TOKEN".into(),
        org: None,
        secrets: Vec::new(),
        explicit: stage_gate::config::FlyExplicit::ALL,
    };
    let provider = FlyProvider::new(config.clone(), &ctx.provider_deps()).expect("provider");
    let request = DeployRequest {
        target: Target {
            app: "bench".into(),
            env: "bench".into(),
            provider: ProviderConfig::Fly(config),
            url: None,
            health: HealthConfig::default(),
            rollback_on_failure: true,
            timeout: Duration::from_secs(600),
        },
        sha: "bench".into(),
        version: None,
        image: Some("registry.fly.io/bench:v2".into()),
        deadline: Instant::now() + Duration::from_secs(600),
        labels: Vec::new(),
        min_secrets_version: None,
    };
    let started = Instant::now();
    let outcome = provider
        .deploy(&request)
        .await
        .expect("the deploy succeeds");
    let wall = started.elapsed().as_secs_f64();
    assert_eq!(
        outcome.provider_ids.len(),
        machines,
        "every machine updated"
    );
    let w = waves(machines, max_unavailable);
    let minimum = w as f64 * start_ms as f64 / 1000.0;
    let calls = sim.log().len();
    println!(
        "bench-result: {machines} machines × {start_ms} ms start, max-unavailable {max_unavailable}, full fly.toml: \
         {w} waves, wall {wall:.2} s vs minimum {minimum:.2} s (overhead {:.2} s, {:.0}%), {calls} API calls",
        wall - minimum,
        (wall - minimum) / minimum * 100.0
    );
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .filter_map(|a| a.parse().ok())
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    match args.as_slice() {
        [] => rt.block_on(run(4, 20, 0.33)),
        [machines] => rt.block_on(run(*machines as usize, 1000, 0.33)),
        [machines, start_ms, ..] => {
            rt.block_on(run(*machines as usize, *start_ms, 0.33));
            rt.block_on(run(*machines as usize, *start_ms, 5.0));
        }
    }
}
