//! Deploys that apply the whole fly.toml (issue 14): services, env, release_command, process
//! groups created and destroyed, first deploys, idempotent re-runs — against the simulator,
//! which refuses configs the Machines API does not describe.

use super::*;

/// A harness whose `fly.staging.toml` says `toml`, and the config that deploys it.
async fn with_toml(yaml: &str, toml: &str) -> (Harness, FlyConfig, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("fly.staging.toml"), toml).expect("write fly.toml");
    let h = harness_in(yaml, dir.path(), &[]).await;
    let mut cfg = config(FlyStrategy::Rolling, 0.33);
    cfg.config = Some("fly.staging.toml".into());
    (h, cfg, dir)
}

const WEB: &str = "app = 'web'\nprimary_region = 'iad'\n[env]\nMODE = 'staging'\n[http_service]\ninternal_port = 8080\nforce_https = true\n[[http_service.checks]]\npath = '/healthz'\ninterval = '15s'\n";

fn versions(ms: &[Value]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = ms
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap_or("").into(),
                m["version"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_changed_internal_port_reaches_every_machine_and_a_removed_env_var_goes() {
    let machines = "    - {id: a, env: {OLD: x}}\n    - {id: b, env: {OLD: x}}\n";
    let (h, cfg, _dir) = with_toml(&scenario("", machines), &WEB.replace("8080", "9090")).await;
    h.deploy(&cfg, true).await.expect("deploy");
    for m in h.machines().await {
        assert_eq!(
            m["config"]["services"][0]["internal_port"], 9090,
            "{}",
            m["id"]
        );
        assert_eq!(
            m["config"]["env"],
            json!({"MODE": "staging", "PRIMARY_REGION": "iad", "FLY_PROCESS_GROUP": "app"})
        );
        assert_eq!(crate::common::image_of(&m), V2);
        // What fly.toml does not manage is kept (the seeded guest).
        assert_eq!(m["config"]["guest"]["cpus"], 1);
    }
}

#[tokio::test]
async fn a_second_identical_deploy_changes_nothing_and_says_so() {
    let (h, cfg, _dir) = with_toml(&scenario("", "    - {id: a}\n    - {id: b}\n"), WEB).await;
    h.deploy(&cfg, true).await.expect("first deploy");
    let before = versions(&h.machines().await);
    let calls_before = h.calls().len();
    let outcome = h.deploy(&cfg, true).await.expect("second deploy");
    assert_eq!(versions(&h.machines().await), before);
    let new_calls = &h.calls()[calls_before..];
    assert!(
        new_calls.iter().all(|c| c.starts_with("GET ")),
        "{new_calls:?}"
    );
    let machines = outcome
        .details
        .iter()
        .find(|(k, _)| k == "machines")
        .expect("machines");
    assert!(machines.1.contains("none changed"), "{machines:?}");
}

#[tokio::test]
async fn the_release_command_runs_first_in_its_own_machine() {
    let toml = format!("{WEB}[deploy]\nrelease_command = 'bin/migrate --all'\n");
    let (h, cfg, _dir) = with_toml(&scenario("", "    - {id: a}\n    - {id: b}\n"), &toml).await;
    let outcome = h.deploy(&cfg, true).await.expect("deploy");
    let calls = h.calls();
    let create = calls
        .iter()
        .position(|c| c == "POST /machines")
        .expect("release machine created");
    let first_update = calls
        .iter()
        .position(|c| c == "POST /machines/a" || c == "POST /machines/b")
        .expect("updates");
    assert!(create < first_update, "{calls:?}");
    let body = h
        .sim
        .log()
        .iter()
        .find(|e| e.line() == "POST /v1/apps/web/machines")
        .and_then(|e| e.body.clone())
        .expect("create body");
    assert_eq!(body["skip_launch"], true);
    assert_eq!(body["region"], "iad");
    let c = &body["config"];
    assert_eq!(c["image"], V2);
    assert_eq!(c["init"]["cmd"], json!(["bin/migrate", "--all"]));
    assert_eq!(c["env"]["RELEASE_COMMAND"], "1");
    assert_eq!(
        c["metadata"]["fly_process_group"],
        "fly_app_release_command"
    );
    assert_eq!(c["restart"], json!({"policy": "no"}));
    assert_eq!(c["auto_destroy"], true);
    assert_eq!(
        c["guest"]["memory_mb"], 256,
        "the biggest guest of the app group"
    );
    let release = outcome
        .details
        .iter()
        .find(|(k, _)| k == "release-command")
        .expect("reported");
    assert!(release.1.starts_with("exit 0"), "{release:?}");
}

#[tokio::test]
async fn a_failing_release_command_changes_no_machine() {
    let toml = format!("{WEB}[deploy]\nrelease_command = 'bin/migrate'\n");
    let (h, cfg, _dir) = with_toml(
        &scenario("    job_exit_code: 3\n", "    - {id: a}\n    - {id: b}\n"),
        &toml,
    )
    .await;
    let before = versions(&h.machines().await);
    let err = h
        .deploy(&cfg, true)
        .await
        .expect_err("release command fails");
    let text = err.to_string();
    assert!(
        text.contains("exit code 3") && text.contains("no machine was changed"),
        "{text}"
    );
    assert!(
        matches!(&err, ProviderError::Failed { log_excerpt: Some(l), .. } if l.contains("exit code 3")),
        "{err:?}"
    );
    // `Failed` is exit 4 (deploy failed).
    assert_eq!(versions(&h.machines().await), before);
    assert!(!h
        .calls()
        .iter()
        .any(|c| c == "POST /machines/a" || c == "POST /machines/b"));
}

#[tokio::test]
async fn a_slow_release_command_times_out_and_is_destroyed() {
    let toml = format!(
        "{WEB}[deploy]\nrelease_command = 'bin/migrate'\nrelease_command_timeout = '300ms'\n"
    );
    let (h, cfg, _dir) =
        with_toml(&scenario("    job_ms: 60000\n", "    - {id: a}\n"), &toml).await;
    let before = versions(&h.machines().await);
    let err = h.deploy(&cfg, true).await.expect_err("times out");
    assert!(
        err.to_string().contains("did not finish within 300ms"),
        "{err}"
    );
    assert_eq!(versions(&h.machines().await), before);
    // The release machine does not keep running the migration.
    assert!(
        h.calls()
            .iter()
            .any(|c| c.starts_with("DELETE /machines/") && c.contains("force=true")),
        "{:?}",
        h.calls()
    );
    assert_eq!(h.machines().await.len(), 1);
}

#[tokio::test]
async fn a_first_deploy_creates_one_machine_per_group_with_its_volume() {
    let toml = "app = 'web'\nprimary_region = 'ams'\n[processes]\nweb = 'serve'\ndb = 'postgres'\n[[mounts]]\nsource = 'pgdata'\ndestination = '/data'\ninitial_size = '3gb'\nprocesses = ['db']\n[http_service]\ninternal_port = 8080\nprocesses = ['web']\n";
    let yaml = format!("fly:\n  token: {TOKEN}\n  apps:\n  - name: web\n    machines: []\n");
    let (h, cfg, _dir) = with_toml(&yaml, toml).await;
    let outcome = h.deploy(&cfg, true).await.expect("first deploy");
    assert_eq!(outcome.provider_ids.len(), 2);
    let ms = h.machines().await;
    let mut groups: Vec<&str> = ms
        .iter()
        .filter_map(|m| m["config"]["metadata"]["fly_process_group"].as_str())
        .collect();
    groups.sort();
    assert_eq!(groups, ["db", "web"]);
    for m in &ms {
        assert_eq!(m["region"], "ams");
        assert_eq!(m["state"], "started");
    }
    let db = ms
        .iter()
        .find(|m| m["config"]["metadata"]["fly_process_group"] == "db")
        .expect("db");
    assert_eq!(db["config"]["init"]["cmd"], json!(["postgres"]));
    let vol = db["config"]["mounts"][0]["volume"]
        .as_str()
        .expect("a volume")
        .to_string();
    let vols: Vec<Value> = reqwest::Client::new()
        .get(format!("{}/v1/apps/web/volumes", h.sim.urls.fly))
        .header("authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .expect("volumes")
        .json()
        .await
        .expect("json");
    assert_eq!(vols.len(), 1);
    assert_eq!(
        (vols[0]["id"].as_str(), vols[0]["size_gb"].as_u64()),
        (Some(vol.as_str()), Some(3))
    );
    assert_eq!(vols[0]["attached_machine_id"], db["id"]);
    let web = ms
        .iter()
        .find(|m| m["config"]["metadata"]["fly_process_group"] == "web")
        .expect("web");
    assert_eq!(web["config"]["services"][0]["internal_port"], 8080);
    assert_eq!(web["config"].get("mounts"), None);
}

#[tokio::test]
async fn an_unattached_volume_of_the_right_name_is_used_not_a_new_one() {
    let toml =
        "app = 'web'\nprimary_region = 'iad'\n[mounts]\nsource = 'data'\ndestination = '/data'\n";
    let yaml = format!("fly:\n  token: {TOKEN}\n  apps:\n  - name: web\n    volumes: [{{id: vol_existing, name: data, region: iad}}]\n    machines: []\n");
    let (h, cfg, _dir) = with_toml(&yaml, toml).await;
    h.deploy(&cfg, true).await.expect("deploy");
    let ms = h.machines().await;
    assert_eq!(ms[0]["config"]["mounts"][0]["volume"], "vol_existing");
    assert!(
        !h.calls().iter().any(|c| c == "POST /volumes"),
        "{:?}",
        h.calls()
    );
}

#[tokio::test]
async fn machines_of_a_group_fly_toml_dropped_are_destroyed_after_the_update() {
    let (h, cfg, _dir) = with_toml(&scenario("", MACHINES), WEB).await;
    h.deploy(&cfg, true).await.expect("deploy");
    let ids: Vec<String> = h
        .machines()
        .await
        .iter()
        .map(|m| m["id"].as_str().unwrap_or("").into())
        .collect();
    assert!(!ids.contains(&"w".to_string()), "{ids:?}");
    let calls = h.calls();
    let destroy = calls
        .iter()
        .position(|c| c.starts_with("DELETE /machines/w"))
        .expect("w destroyed");
    let last_update = calls
        .iter()
        .rposition(|c| c == "POST /machines/c")
        .expect("c updated");
    assert!(destroy > last_update, "{calls:?}");
    assert!(h
        .printed()
        .contains("destroy 1 machine(s) of process groups fly.toml no longer defines: w (worker)"));
}

#[tokio::test]
async fn a_failed_update_destroys_nothing_and_creates_nothing() {
    let toml = format!("{WEB}[processes]\napp = 'serve'\nextra = 'work'\n");
    let (h, cfg, _dir) = with_toml(
        &scenario(&format!("    fail_on_image: '{V2}'\n"), MACHINES),
        &toml,
    )
    .await;
    let err = h.deploy(&cfg, true).await.expect_err("v2 fails");
    assert!(matches!(err, ProviderError::Failed { .. }), "{err:?}");
    let state = h.state().await;
    assert!(
        state.iter().any(|(id, ..)| id == "w"),
        "w still there: {state:?}"
    );
    assert_eq!(state.len(), 4, "no machine created: {state:?}");
    assert!(state.iter().all(|(_, image, ..)| image == V1), "{state:?}");
}
