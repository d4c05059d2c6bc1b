//! Settings and modes: fly.toml, tokens, unknown apps, flyctl mode, dry-run plans, and the
//! request side of the Fly contract.

use super::*;

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
    assert_eq!(outcome.image, Some(h.artifact().await));
    let m = &h.machines().await[0];
    assert_eq!(
        m["config"]["env"],
        json!({"MODE": "staging", "PORT": "8080", "FLY_PROCESS_GROUP": "app"})
    );
    // fly.toml has no [http_service]: the seeded machine's service is gone, as flyctl drops it.
    assert_eq!(m["config"].get("services"), None);
}

#[tokio::test]
async fn missing_token_is_an_auth_error_and_wrong_token_names_the_fix() {
    let h = harness(&scenario("", "    - {id: a}\n")).await;
    let mut cfg = config(FlyStrategy::Rolling, 0.33);
    cfg.token_env = "NO_SUCH_TOKEN".into();
    let err = h.deploy(&cfg, true).await.expect_err("no token");
    assert!(
        matches!(&err, ProviderError::MissingCredential(m) if m.contains("NO_SUCH_TOKEN")),
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

#[tokio::test]
async fn flyctl_mode_runs_flyctl_and_reads_the_release() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin");
    // flyctl's stand-in (sim/flyctl): builds a new tag and rolls the machines onto it.
    crate::common::flyctl_standin(&bin, "echo \"flyctl $*\"\necho \"token=$FLY_API_TOKEN\"\n");
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
    // What flyctl built is recorded by the digest its machines run, the tag kept for people.
    assert_eq!(outcome.image, Some(h.artifact().await));
    let tag = outcome
        .details
        .iter()
        .find(|(k, _)| k == "tag")
        .map(|(_, v)| v.clone());
    assert!(
        tag.is_some_and(|t| t.starts_with("deployment-")),
        "{outcome:?}"
    );
    assert_eq!(outcome.version.as_deref(), Some("2"));
    let printed = h.printed();
    assert!(
        printed.contains("flyctl deploy --config fly.toml --app web --strategy canary"),
        "{printed}"
    );
    assert!(
        printed.contains("token=***") && !printed.contains(TOKEN),
        "{printed}"
    );
    // stage-gate itself only reads the machines back after flyctl (the stand-in's calls
    // are the updates).
    assert!(h.calls() == ["GET /machines"], "{:?}", h.calls());

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
    assert!(planned.iter().any(|c| c.starts_with(&format!(
        "POST {base}/{{id}}  {{config (its own config with image={V2})"
    ))));
    assert!(planned
        .iter()
        .any(|c| c == &format!("DELETE {base}/{{id}}/lease")));
    assert!(h.calls().is_empty(), "planning makes no call");
}

#[tokio::test]
async fn planned_calls_with_fly_toml_go_release_machine_then_waves_then_creates_then_destroys() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("fly.toml"),
        "app = 'web'\nprimary_region = 'iad'\n[deploy]\nrelease_command = 'bin/migrate'\n",
    )
    .expect("write");
    let h = harness_in(&scenario("", "    - {id: a}\n"), dir.path(), &[]).await;
    let mut cfg = config(FlyStrategy::Rolling, 0.33);
    cfg.config = Some("fly.toml".into());
    let planned = h
        .provider(&cfg)
        .planned_calls(&request(&cfg, Some(V2), true));
    let at = |needle: &str| {
        planned
            .iter()
            .position(|c| c.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in {planned:#?}"))
    };
    let release = at("release_command machine: init.cmd=\"bin/migrate\"");
    let update = at("{config (config from fly.toml for its process group");
    let create = at("a first machine in iad for each process group of [app]");
    let destroy = at("machines of process groups not in [app]");
    assert!(
        release < update && update < create && create < destroy,
        "{planned:#?}"
    );
    assert!(h.calls().is_empty(), "planning makes no call");
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

    // A full fly.toml: release machine, updates, a new group's machine and its volume.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("fly.toml"),
        "app = 'web'\nprimary_region = 'iad'\nkill_timeout = 10\nswap_size_mb = 256\n\
         [deploy]\nrelease_command = 'bin/migrate'\n[env]\nA = 1\n\
         [processes]\napp = 'serve'\ndb = 'db --run'\n\
         [[mounts]]\nsource = 'pgdata'\ndestination = '/data'\nprocesses = ['db']\n\
         [http_service]\ninternal_port = 8080\nforce_https = true\nprocesses = ['app']\n\
         [[http_service.checks]]\npath = '/healthz'\ninterval = 15000\n\
         [http_service.concurrency]\ntype = 'requests'\nsoft_limit = 20\nhard_limit = 25\n\
         [checks.alive]\ntype = 'tcp'\nport = 8080\nprocesses = ['app']\n\
         [[vm]]\nsize = 'shared-cpu-2x'\nmemory = '1gb'\n[[restart]]\npolicy = 'always'\n\
         [[statics]]\nguest_path = '/app/public'\nurl_prefix = '/static'\n[[metrics]]\nport = 9091\npath = '/metrics'\n",
    )
    .expect("fly.toml");
    let h = harness_in(
        &scenario("", "    - {id: a}\n    - {id: b}\n"),
        dir.path(),
        &[],
    )
    .await;
    let mut cfg = config(FlyStrategy::Rolling, 0.33);
    cfg.config = Some("fly.toml".into());
    h.deploy(&cfg, true).await.expect("full fly.toml");
    // release create, 2 leases + 2 updates, 1 volume, 1 first machine
    assert_eq!(assert_requests_match_the_spec(&h), 7);
}
