//! Each strategy's happy path, re-runs, process groups and rollback: final machine state and
//! the exact calls.

use super::*;

#[tokio::test]
async fn rolling_updates_spearhead_then_waves_per_group() {
    let h = harness(&scenario("", MACHINES)).await;
    let cfg = config(FlyStrategy::Rolling, 2.0);
    let outcome = h.deploy(&cfg, true).await.expect("deploy succeeds");

    assert_eq!(h.state().await, all(V2, &["a", "b", "c", "w"]));
    // The artifact that ran, by digest, with the tag kept for people.
    assert_eq!(outcome.image, Some(h.artifact().await));
    assert!(outcome
        .image
        .as_deref()
        .unwrap_or("")
        .starts_with("registry.fly.io/web@sha256:"));
    assert!(outcome
        .details
        .contains(&("tag".to_string(), "v2".to_string())));
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
    assert_eq!(crate::common::image_of(&body), V2);
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
        assert_eq!(crate::common::image_of(m), V2);
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
    assert_eq!(
        back.restored,
        format!("4 machine(s) back to {V1}, running as before and verified")
    );
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
    assert_eq!(
        back.restored,
        format!("4 machine(s) back to {V1}, running as before and verified")
    );
    assert_eq!(h.state().await, all(V1, &["a", "b", "c", "w"]));
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
    assert_eq!(
        back.restored,
        "2 machine(s) back to registry.fly.io/web:v0, running as before and verified"
    );
    assert_eq!(h.state().await, all("registry.fly.io/web:v0", &["a", "b"]));
}

#[tokio::test]
async fn rollback_after_bluegreen_puts_the_previous_image_on_green() {
    let h = harness(&scenario("", "    - {id: a}\n    - {id: b}\n")).await;
    let cfg = config(FlyStrategy::Bluegreen, 0.33);
    let outcome = h.deploy(&cfg, true).await.expect("bluegreen");
    let point = outcome.rollback_point.clone().expect("a rollback point");
    assert_eq!(point["image"], V1);
    let back = h
        .provider(&cfg)
        .rollback(&RollbackRequest {
            target: request(&cfg, None, true).target,
            point: Some(point),
            to: None,
        })
        .await
        .expect("rollback");
    assert_eq!(
        back.restored,
        format!("2 machine(s) back to {V1}, running as before and verified")
    );
    let after = h.machines().await;
    assert_eq!(after.len(), 2);
    assert!(after
        .iter()
        .all(|m| crate::common::image_of(m) == V1 && m["state"] == "started"));
}
