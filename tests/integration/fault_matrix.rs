//! The fault matrix: `stage-gate deploy` as a user runs it, against the Fly, Coolify and
//! GitHub simulators with one fault each (5xx, 429 with `Retry-After`, resets, hangs longer
//! than the deadline, malformed bodies, 401/403/404/409/422, answers lost after the server
//! acted, tokens echoed in error bodies). Every case asserts:
//!
//! - the exit code;
//! - the wall time: within the target's `timeout` plus a small margin (a hang never stretches
//!   a deploy to the client's 30 s request timeout times its retries);
//! - the number of calls made to the faulted endpoint;
//! - the end state (machines' images and states, no lease left; the Coolify image tag and
//!   deployment count; the GitHub Deployment records and their last status);
//! - that no byte of any token — nor any 8-character piece of it — appears in what the run
//!   printed, wrote (outputs, summary) or sent (every request body, every query).
//!
//! Run `cargo test --test integration fault_matrix -- --nocapture` to see the table.

use crate::common::{repo_with_config, Output, Run};
use serde_json::Value;
use stage_gate_sim::{Scenario, Sim};
use std::time::{Duration, Instant};

const GH: &str = "ghs_matrixGithubToken0123456789abcdefXY";
const FLY: &str = "fm2_matrixFlyToken0123456789abcdefghijkl";
const COOLIFY: &str = "7|matrixCoolifyToken0123456789abcdefghij";
const SHA: &str = "cccccccccccccccccccccccccccccccccccccccc";
const V1: &str = "registry.fly.io/web:v1";
const V2: &str = "registry.fly.io/web:v2";
/// What a run may take past its target's timeout: process start, cleanup with its own
/// bounded budget (lease release, restore, status writes).
const MARGIN: Duration = Duration::from_secs(6);

#[derive(Clone, Copy)]
enum Vendor {
    Fly,
    Coolify,
    Github,
}

#[derive(Clone, Copy)]
enum Calls {
    Exactly(usize),
    AtLeast(usize),
}

#[derive(Clone, Copy)]
enum End {
    /// Every machine on this image, started, no lease held.
    Fly(&'static str),
    /// The application's image tag, and how many deployments its history holds.
    Coolify(&'static str, usize),
    /// Deployment records created, and the newest one's last status.
    Github(usize, Option<&'static str>),
}

struct Case {
    vendor: Vendor,
    /// YAML flow items of the scenario's `faults:` list.
    faults: &'static [&'static str],
    /// Extra YAML for the world: Fly machines, or Coolify application keys.
    world: &'static str,
    timeout: &'static str,
    exit: i32,
    /// `METHOD /path` (exact, no query) of the faulted call, and how often it was made.
    call: &'static str,
    calls: Calls,
    end: End,
    /// A phrase the run must print ("" for none).
    says: &'static str,
}

const C: Case = Case {
    vendor: Vendor::Fly,
    faults: &[],
    world: "",
    timeout: "20s",
    exit: 0,
    call: "",
    calls: Calls::AtLeast(0),
    end: End::Fly(V2),
    says: "",
};

fn scenario(case: &Case) -> Scenario {
    let faults = if case.faults.is_empty() {
        String::new()
    } else {
        let items: Vec<String> = case.faults.iter().map(|f| format!("  - {f}\n")).collect();
        format!("faults:\n{}", items.join(""))
    };
    let machines = if case.world.is_empty() || !matches!(case.vendor, Vendor::Fly) {
        "    - {id: a}\n    - {id: b}\n"
    } else {
        case.world
    };
    let coolify_extra = match case.vendor {
        Vendor::Coolify => case.world,
        _ => "",
    };
    let yaml = format!(
        r#"fly:
  token: "{FLY}"
  apps:
  - name: web
    image: {V1}
    machines:
{machines}coolify:
  tokens: [{{token: "{COOLIFY}", abilities: [root]}}]
  applications:
  - {{uuid: web-uuid, name: web, image: ghcr.io/acme/web, image_tag: v1.0.0,
      history: [{{commit: HEAD, image_tag: v0.9.0}}, {{commit: HEAD, image_tag: v1.0.0}}]{coolify_extra}}}
github:
  repos:
  - name: acme/shop
    branches: {{main: "{SHA}"}}
{faults}"#
    );
    Scenario::parse(&yaml).unwrap_or_else(|e| panic!("scenario: {e}\n{yaml}"))
}

fn config(case: &Case) -> String {
    let provider = match case.vendor {
        Vendor::Fly => "fly: {app: web, strategy: rolling, max-unavailable: 1, wait-timeout: 2s}",
        Vendor::Coolify => "coolify: {url: \"https://coolify.example.com\", uuid: web-uuid, set-image-tag: true, poll-interval: 50ms}",
        Vendor::Github => "command: {run: \"true\"}",
    };
    format!(
        "version: 1\nenvironments: {{staging: {{}}}}\napps:\n  web:\n    environments:\n      staging:\n        {provider}\n        rollback-on-failure: true\n        timeout: {}\n",
        case.timeout
    )
}

fn deploy(sim: &Sim, case: &Case) -> (Output, Duration) {
    let repo = repo_with_config(&config(case));
    let actions = tempfile::tempdir().unwrap();
    let mut args = vec!["deploy", "--env", "staging"];
    match case.vendor {
        Vendor::Fly => args.extend(["--image", V2]),
        Vendor::Coolify => args.extend(["--version", "v1.1.0"]),
        Vendor::Github => {}
    }
    let run = Run::new(repo.path())
        .actions(actions.path())
        .env("STAGE_GATE_GITHUB_API_URL", &sim.urls.github)
        .env("STAGE_GATE_GITHUB_UPLOADS_URL", &sim.urls.uploads)
        .env("STAGE_GATE_REPOSITORY", "acme/shop")
        .env("GITHUB_TOKEN", GH)
        .env("GITHUB_SHA", SHA)
        .env("GITHUB_REF", "refs/heads/main")
        .env("GITHUB_RUN_ID", "4242")
        .env("FLY_API_TOKEN", FLY)
        .env("STAGE_GATE_FLY_API_URL", &sim.urls.fly)
        .env("COOLIFY_TOKEN", COOLIFY)
        .env("STAGE_GATE_COOLIFY_URL", &sim.urls.coolify)
        .args(args);
    let started = Instant::now();
    let out = run.run();
    (out, started.elapsed())
}

fn calls_to(sim: &Sim, call: &str) -> usize {
    sim.log()
        .iter()
        .filter(|e| format!("{} {}", e.method, e.path) == call)
        .count()
}

/// Every 8-character piece of every token, and where one was found.
fn leaks(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for token in [GH, FLY, COOLIFY] {
        let bytes = token.as_bytes();
        for i in 0..=bytes.len() - 8 {
            let piece = &token[i..i + 8];
            if let Some(at) = text.find(piece) {
                let start = at.saturating_sub(40);
                found.push(format!(
                    "`{piece}` in …{}…",
                    &text[start..(at + 48).min(text.len())]
                ));
                break;
            }
        }
    }
    found
}

async fn get(url: String, auth: &str) -> Value {
    reqwest::Client::new()
        .get(url)
        .header("authorization", auth)
        .send()
        .await
        .expect("look-up")
        .json()
        .await
        .expect("JSON")
}

async fn assert_end(sim: &Sim, end: End, name: &str) {
    match end {
        End::Fly(image) => {
            let machines = get(
                format!("{}/v1/apps/web/machines?include_leases=true", sim.urls.fly),
                &format!("Bearer {FLY}"),
            )
            .await;
            for m in machines.as_array().expect("machines") {
                let state = (
                    crate::common::image_of(m),
                    m["state"].as_str().unwrap_or(""),
                    m.get("lease").is_some(),
                );
                assert_eq!(
                    state,
                    (image.to_string(), "started", false),
                    "{name}: machine {}",
                    m["id"]
                );
            }
        }
        End::Coolify(tag, deployments) => {
            let api = format!("{}/api/v1", sim.urls.coolify);
            let auth = format!("Bearer {COOLIFY}");
            let app = get(format!("{api}/applications/web-uuid"), &auth).await;
            assert_eq!(app["docker_registry_image_tag"], tag, "{name}: image tag");
            let history = get(
                format!("{api}/deployments/applications/web-uuid?skip=0&take=50"),
                &auth,
            )
            .await;
            assert_eq!(history["count"], deployments, "{name}: {history}");
        }
        End::Github(count, state) => {
            let base = format!("{}/repos/acme/shop/deployments", sim.urls.github);
            let list = get(base.clone(), &format!("Bearer {GH}")).await;
            let list = list.as_array().expect("deployments");
            assert_eq!(list.len(), count, "{name}: deployment records");
            if let Some(newest) = list.first() {
                let statuses = get(
                    format!("{base}/{}/statuses", newest["id"]),
                    &format!("Bearer {GH}"),
                )
                .await;
                let last = statuses[0]["state"].as_str();
                assert_eq!(last, state, "{name}: last status of the newest record");
            }
        }
    }
}

/// A deploy that ran must not leave its record queued or in progress (nothing half-done).
async fn assert_record_finished(sim: &Sim, name: &str) {
    let base = format!("{}/repos/acme/shop/deployments", sim.urls.github);
    let list = get(base.clone(), &format!("Bearer {GH}")).await;
    for d in list.as_array().into_iter().flatten() {
        let statuses = get(
            format!("{base}/{}/statuses", d["id"]),
            &format!("Bearer {GH}"),
        )
        .await;
        let last = statuses[0]["state"].as_str().unwrap_or("none");
        assert!(
            !matches!(last, "queued" | "in_progress" | "pending" | "none"),
            "{name}: deployment {} left {last}",
            d["id"]
        );
    }
}

async fn run_case(name: &str, case: Case) {
    let sim = stage_gate_sim::start(scenario(&case)).await.expect("sim");
    let (out, took) = deploy(&sim, &case);
    let text = out
        .all()
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(out.code, case.exit, "{name}: exit\n{text}");
    let timeout = humantime::parse_duration(case.timeout).unwrap();
    assert!(took < timeout + MARGIN, "{name}: took {took:?}\n{text}");
    let n = calls_to(&sim, case.call);
    if !case.call.is_empty() {
        match case.calls {
            Calls::Exactly(want) => assert_eq!(n, want, "{name}: calls to {}", case.call),
            Calls::AtLeast(want) => assert!(n >= want, "{name}: {n} calls to {}", case.call),
        }
    }
    // The test's own look-ups must not meet the faults.
    sim.clear_faults();
    assert_end(&sim, case.end, name).await;
    if !matches!(case.end, End::Github(0, _)) && !matches!(case.vendor, Vendor::Github) {
        assert_record_finished(&sim, name).await;
    }
    if !case.says.is_empty() {
        assert!(
            text.contains(case.says),
            "{name}: should say `{}`\n{text}",
            case.says
        );
    }
    // Nothing of a token in what was printed or written, nor in anything sent.
    let mut sent = String::new();
    for e in sim.log() {
        sent.push_str(&e.line());
        sent.push('\n');
        if let Some(b) = &e.body {
            sent.push_str(&b.to_string());
            sent.push('\n');
        }
    }
    let found = [leaks(&text), leaks(&sent)].concat();
    assert!(found.is_empty(), "{name}: token pieces leaked: {found:#?}");
    eprintln!(
        "matrix | {name} | exit {} | {:.2}s | {} × {}",
        out.code,
        took.as_secs_f64(),
        if case.call.is_empty() {
            "-".to_string()
        } else {
            n.to_string()
        },
        if case.call.is_empty() { "-" } else { case.call }
    );
}

macro_rules! matrix {
    ($($name:ident: $case:expr;)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                run_case(stringify!($name), $case).await;
            }
        )*
    };
}

const LIST: &str = "GET /v1/apps/web/machines";
const LEASE_A: &str = "POST /v1/apps/web/machines/a/lease";
const UPDATE_A: &str = "POST /v1/apps/web/machines/a";
const UPDATE_B: &str = "POST /v1/apps/web/machines/b";
const WAIT_A: &str = "GET /v1/apps/web/machines/a/wait";
const GET_A: &str = "GET /v1/apps/web/machines/a";

const APP: &str = "GET /api/v1/applications/web-uuid";
const PATCH: &str = "PATCH /api/v1/applications/web-uuid";
const TRIGGER: &str = "POST /api/v1/deploy";

const DEPLOYMENTS: &str = "GET /repos/acme/shop/deployments";
const CREATE: &str = "POST /repos/acme/shop/deployments";

const CF: Case = Case {
    vendor: Vendor::Coolify,
    end: End::Coolify("v1.1.0", 3),
    ..C
};
const GF: Case = Case {
    vendor: Vendor::Github,
    end: End::Github(1, Some("success")),
    ..C
};

matrix! {
    // ---- Fly ----
    fly_01_no_fault: Case { call: UPDATE_A, calls: Calls::Exactly(1), ..C };
    fly_02_list_503_twice: Case { faults: &["{path: /v1/apps/web/machines, method: GET, status: 503, times: 2}"], call: LIST, calls: Calls::Exactly(3), ..C };
    fly_03_list_503_always: Case { faults: &["{path: /v1/apps/web/machines, method: GET, status: 503}"], exit: 1, call: LIST, calls: Calls::Exactly(5), end: End::Fly(V1), ..C };
    fly_04_list_429_retry_after: Case { faults: &["{path: /v1/apps/web/machines, method: GET, status: 429, retry_after: 1, times: 1}"], call: LIST, calls: Calls::Exactly(2), ..C };
    fly_05_list_reset: Case { faults: &["{path: /v1/apps/web/machines, method: GET, reset: true, times: 1}"], call: LIST, calls: Calls::Exactly(2), ..C };
    fly_06_list_malformed: Case { faults: &["{path: /v1/apps/web/machines, method: GET, malformed: true, times: 1}"], exit: 1, call: LIST, calls: Calls::Exactly(1), end: End::Fly(V1), says: "not JSON", ..C };
    fly_07_list_401_echoing_the_token: Case { faults: &["{path: /v1/apps/web/machines, method: GET, status: 401, echo_credentials: true}"], exit: 1, call: LIST, calls: Calls::Exactly(1), end: End::Fly(V1), says: "refused the token", ..C };
    fly_08_list_403: Case { faults: &["{path: /v1/apps/web/machines, method: GET, status: 403}"], exit: 1, call: LIST, calls: Calls::Exactly(1), end: End::Fly(V1), ..C };
    fly_09_list_404: Case { faults: &["{path: /v1/apps/web/machines, method: GET, status: 404}"], exit: 2, call: LIST, calls: Calls::Exactly(1), end: End::Fly(V1), says: "was not found", ..C };
    fly_10_lease_409_held_by_another: Case { faults: &["{path: /v1/apps/web/machines/a/lease, method: POST, status: 409}"], exit: 4, call: LEASE_A, calls: Calls::Exactly(3), end: End::Fly(V1), says: "leased by someone else", ..C };
    fly_11_lease_500_once: Case { faults: &["{path: /v1/apps/web/machines/a/lease, method: POST, status: 500, times: 1}"], call: LEASE_A, calls: Calls::Exactly(2), ..C };
    fly_12_update_500_once: Case { faults: &["{path: /v1/apps/web/machines/a, method: POST, status: 500, times: 1}"], call: UPDATE_A, calls: Calls::Exactly(2), ..C };
    fly_13_update_500_always: Case { faults: &["{path: /v1/apps/web/machines/a, method: POST, status: 500}"], exit: 4, call: UPDATE_A, calls: Calls::Exactly(5), end: End::Fly(V1), ..C };
    fly_14_update_422_refused_body: Case { faults: &["{path: /v1/apps/web/machines/b, method: POST, status: 422}"], exit: 4, call: UPDATE_B, calls: Calls::Exactly(1), end: End::Fly(V1), says: "restored 1 machine(s)", ..C };
    fly_15_update_reset_after_acting: Case { faults: &["{path: /v1/apps/web/machines/a, method: POST, reset: true, after_acting: true, times: 1}"], call: UPDATE_A, calls: Calls::Exactly(2), ..C };
    fly_16_update_502_after_acting: Case { faults: &["{path: /v1/apps/web/machines/a, method: POST, status: 502, after_acting: true, times: 1}"], call: UPDATE_A, calls: Calls::Exactly(2), ..C };
    fly_17_wait_408_twice: Case { faults: &["{path: /v1/apps/web/machines/a/wait, method: GET, status: 408, times: 2}"], call: WAIT_A, calls: Calls::AtLeast(3), ..C };
    fly_18_get_machine_503_twice: Case { faults: &["{path: /v1/apps/web/machines/a, method: GET, status: 503, times: 2}"], call: GET_A, calls: Calls::AtLeast(3), ..C };
    fly_19_first_machine_crashes: Case { world: "    - {id: a, fail_on_image: '*:v2'}\n    - {id: b}\n", exit: 4, end: End::Fly(V1), says: "went `failed`", ..C };
    fly_20_second_machine_crashes: Case { world: "    - {id: a}\n    - {id: b, fail_on_image: '*:v2'}\n", exit: 4, call: UPDATE_A, calls: Calls::Exactly(2), end: End::Fly(V1), says: "restored 2 machine(s)", ..C };
    fly_21_list_hangs_past_the_deadline: Case { faults: &["{path: /v1/apps/web/machines, method: GET, delay_ms: 60000}"], timeout: "2s", exit: 4, call: LIST, calls: Calls::Exactly(0), end: End::Fly(V1), says: "deadline", ..C };
    fly_22_wait_hangs_past_the_deadline: Case { faults: &["{path: /v1/apps/web/machines/a/wait, method: GET, delay_ms: 60000, times: 1}"], timeout: "3s", exit: 4, end: End::Fly(V1), says: "timeout reached", ..C };
    fly_23_update_hangs_past_the_deadline: Case { faults: &["{path: /v1/apps/web/machines/a, method: POST, delay_ms: 60000, times: 1}"], timeout: "3s", exit: 4, end: End::Fly(V1), says: "deadline", ..C };
    fly_24_update_500_echoing_the_token: Case { faults: &["{path: /v1/apps/web/machines/b, method: POST, status: 500, echo_credentials: true}"], exit: 4, call: UPDATE_B, calls: Calls::Exactly(5), end: End::Fly(V1), ..C };
    fly_25_list_500_echoing_the_token: Case { faults: &["{path: /v1/apps/web/machines, method: GET, status: 500, echo_credentials: true}"], exit: 1, call: LIST, calls: Calls::Exactly(5), end: End::Fly(V1), ..C };

    // ---- Coolify ----
    coolify_01_no_fault: Case { call: TRIGGER, calls: Calls::Exactly(1), ..CF };
    coolify_02_app_503_twice: Case { faults: &["{path: /api/v1/applications/web-uuid, method: GET, status: 503, times: 2}"], call: APP, calls: Calls::Exactly(3), ..CF };
    coolify_03_app_401_echoing_the_token: Case { faults: &["{path: /api/v1/applications/web-uuid, method: GET, status: 401, echo_credentials: true}"], exit: 1, call: APP, calls: Calls::Exactly(1), end: End::Coolify("v1.0.0", 2), says: "refused the token", ..CF };
    coolify_04_app_403: Case { faults: &["{path: /api/v1/applications/web-uuid, method: GET, status: 403}"], exit: 1, call: APP, calls: Calls::Exactly(1), end: End::Coolify("v1.0.0", 2), ..CF };
    coolify_05_app_404: Case { faults: &["{path: /api/v1/applications/web-uuid, method: GET, status: 404}"], exit: 2, call: APP, calls: Calls::Exactly(1), end: End::Coolify("v1.0.0", 2), says: "has no application", ..CF };
    coolify_06_patch_500_once: Case { faults: &["{path: /api/v1/applications/web-uuid, method: PATCH, status: 500, times: 1}"], call: PATCH, calls: Calls::Exactly(2), ..CF };
    coolify_07_patch_422: Case { faults: &["{path: /api/v1/applications/web-uuid, method: PATCH, status: 422}"], exit: 1, call: PATCH, calls: Calls::Exactly(1), end: End::Coolify("v1.0.0", 2), ..CF };
    coolify_08_queue_full_429_retry_after: Case { faults: &["{path: /api/v1/deploy, method: POST, status: 429, retry_after: 1, times: 1}"], call: TRIGGER, calls: Calls::Exactly(2), ..CF };
    coolify_09_queue_full_past_the_deadline: Case { faults: &["{path: /api/v1/deploy, method: POST, status: 429, retry_after: 100}"], timeout: "5s", exit: 4, call: TRIGGER, calls: Calls::Exactly(1), end: End::Coolify("v1.0.0", 2), says: "queue is full", ..CF };
    coolify_10_trigger_502_after_acting: Case { faults: &["{path: /api/v1/deploy, method: POST, status: 502, after_acting: true, times: 1}"], call: TRIGGER, calls: Calls::Exactly(1), says: "answer was lost", ..CF };
    coolify_11_trigger_reset_after_acting: Case { faults: &["{path: /api/v1/deploy, method: POST, reset: true, after_acting: true, times: 1}"], call: TRIGGER, calls: Calls::Exactly(1), says: "answer was lost", ..CF };
    coolify_12_trigger_502_before_acting: Case { faults: &["{path: /api/v1/deploy, method: POST, status: 502, times: 1}"], call: TRIGGER, calls: Calls::Exactly(2), says: "shows no deployment", ..CF };
    coolify_13_trigger_reset_before_acting: Case { faults: &["{path: /api/v1/deploy, method: POST, reset: true, times: 1}"], call: TRIGGER, calls: Calls::Exactly(2), ..CF };
    coolify_14_trigger_500_always: Case { faults: &["{path: /api/v1/deploy, method: POST, status: 500}"], exit: 4, call: TRIGGER, calls: Calls::Exactly(2), end: End::Coolify("v1.0.0", 2), says: "restored the image tag", ..CF };
    coolify_15_trigger_401_echoing_the_token: Case { faults: &["{path: /api/v1/deploy, method: POST, status: 401, echo_credentials: true}"], exit: 4, call: TRIGGER, calls: Calls::Exactly(1), end: End::Coolify("v1.0.0", 2), ..CF };
    coolify_16_poll_503_twice: Case { faults: &["{path: '/api/v1/deployments/*', method: GET, status: 503, times: 2}"], ..CF };
    coolify_17_poll_malformed_twice: Case { faults: &["{path: '/api/v1/deployments/*', method: GET, malformed: true, times: 2}"], says: "unreadable status answer", ..CF };
    coolify_18_poll_hangs_past_the_deadline: Case { faults: &["{path: '/api/v1/deployments/*', method: GET, delay_ms: 60000}"], timeout: "3s", exit: 4, end: End::Coolify("v1.1.0", 3), says: "went live", ..CF };
    coolify_19_deployment_fails: Case { world: ", outcomes: [failed]", exit: 4, end: End::Coolify("v1.0.0", 3), says: "ended failed", ..CF };
    coolify_20_deployment_cancelled: Case { world: ", outcomes: [cancelled-by-user]", exit: 4, end: End::Coolify("v1.0.0", 3), says: "cancelled-by-user", ..CF };
    coolify_21_build_outlasts_the_deadline: Case { world: ", build_ms: 30000", timeout: "2s", exit: 4, end: End::Coolify("v1.0.0", 3), says: "cancelled deployment", ..CF };
    coolify_22_poll_404: Case { faults: &["{path: '/api/v1/deployments/*', method: GET, status: 404}"], exit: 4, end: End::Coolify("v1.0.0", 3), ..CF };
    coolify_23_app_500_echoing_the_token: Case { faults: &["{path: /api/v1/applications/web-uuid, method: GET, status: 500, echo_credentials: true}"], exit: 1, call: APP, calls: Calls::Exactly(5), end: End::Coolify("v1.0.0", 2), ..CF };
    coolify_24_history_500_after_a_lost_answer: Case { faults: &["{path: /api/v1/deploy, method: POST, status: 502, after_acting: true, times: 1}", "{path: /api/v1/deployments/applications/web-uuid, method: GET, status: 500}"], exit: 4, end: End::Coolify("v1.0.0", 3), ..CF };

    // ---- GitHub (the Deployment records around a command deploy) ----
    github_01_no_fault: Case { call: CREATE, calls: Calls::Exactly(1), ..GF };
    github_02_list_503_twice: Case { faults: &["{path: /repos/acme/shop/deployments, method: GET, status: 503, times: 2}"], call: DEPLOYMENTS, calls: Calls::AtLeast(3), ..GF };
    github_03_list_429_retry_after: Case { faults: &["{path: /repos/acme/shop/deployments, method: GET, status: 429, retry_after: 1, times: 1}"], call: DEPLOYMENTS, calls: Calls::AtLeast(2), ..GF };
    github_04_list_401: Case { faults: &["{path: /repos/acme/shop/deployments, method: GET, status: 401}"], exit: 1, call: DEPLOYMENTS, calls: Calls::Exactly(1), end: End::Github(0, None), ..GF };
    github_05_create_502_after_acting: Case { faults: &["{path: /repos/acme/shop/deployments, method: POST, status: 502, after_acting: true, times: 1}"], call: CREATE, calls: Calls::Exactly(1), says: "adopting deployment", ..GF };
    github_06_create_502_before_acting: Case { faults: &["{path: /repos/acme/shop/deployments, method: POST, status: 502, times: 1}"], call: CREATE, calls: Calls::Exactly(2), ..GF };
    github_07_create_reset_after_acting: Case { faults: &["{path: /repos/acme/shop/deployments, method: POST, reset: true, after_acting: true, times: 1}"], call: CREATE, calls: Calls::Exactly(1), says: "adopting deployment", ..GF };
    github_08_create_422: Case { faults: &["{path: /repos/acme/shop/deployments, method: POST, status: 422}"], exit: 1, call: CREATE, calls: Calls::Exactly(1), end: End::Github(0, None), ..GF };
    github_09_status_500_once: Case { faults: &["{path: '/repos/acme/shop/deployments/*/statuses', method: POST, status: 500, times: 1}"], ..GF };
    github_10_create_500_echoing_the_token: Case { faults: &["{path: /repos/acme/shop/deployments, method: POST, status: 500, echo_credentials: true}"], exit: 1, call: CREATE, calls: Calls::Exactly(2), end: End::Github(0, None), ..GF };
    github_11_list_hangs_past_the_deadline: Case { faults: &["{path: /repos/acme/shop/deployments, method: GET, delay_ms: 60000}"], timeout: "2s", exit: 4, end: End::Github(0, None), says: "deadline", ..GF };
    github_12_statuses_503_twice: Case { faults: &["{path: '/repos/acme/shop/deployments/*/statuses', method: GET, status: 503, times: 2}"], ..GF };
    github_13_queued_status_refused: Case { faults: &["{path: '/repos/acme/shop/deployments/*/statuses', method: POST, status: 422, times: 1}"], exit: 1, end: End::Github(1, Some("error")), ..GF };
}
