//! Deploys under faults: leases held by others, stale versions, machines that fail, checks that
//! never pass, restart loops, 5xx, resets, 408 waits, cancellation — state and calls asserted.

use super::*;

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
        // The restored machine is verified as a deployed one is: started, checks passing.
        "GET /machines/a".into(),
        "DELETE /machines/a/lease".into(),
    ]);
    assert_eq!(h.calls_for("a"), want);
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
    // The holder's lease outlasts the deploy's deadline: no point waiting, say whose it is.
    assert!(
        message.contains("machine b is leased by alice@example.com"),
        "{message}"
    );
    assert!(message.contains("past this deploy's deadline"), "{message}");
    assert_eq!(
        rolled_back.as_deref(),
        Some(format!("restored 1 machine(s) to {V1}: a").as_str())
    );
    assert_eq!(
        h.calls_for("b"),
        ["POST /machines/b/lease -> 409", "GET /machines/b/lease"]
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
async fn a_server_error_on_lease_acquire_is_retried() {
    let h = harness(&scenario("", "    - {id: a}\n")).await;
    h.sim.inject(Fault {
        method: Some("POST".into()),
        path: "/v1/apps/web/machines/a/lease".into(),
        status: Some(503),
        times: Some(1),
        ..Fault::default()
    });
    h.deploy(&config(FlyStrategy::Rolling, 0.33), true)
        .await
        .expect("deploy");
    let mut want = verified_update("a");
    want.insert(0, "POST /machines/a/lease -> 503".into());
    assert_eq!(h.calls_for("a"), want);
    assert_eq!(h.state().await, all(V2, &["a"]));
}

#[tokio::test]
async fn a_lease_that_expires_within_the_deadline_is_waited_for_and_named() {
    // A killed run's lease: Fly lets it expire; the next deploy waits for that, not fails.
    let machines = "    - {id: a, leased_by: other-run@example.com, leased_for_ms: 1000}\n";
    let h = harness(&scenario("", machines)).await;
    h.deploy(&config(FlyStrategy::Rolling, 1.0), true)
        .await
        .expect("deployed once the lease expired");
    assert!(
        h.printed()
            .contains("machine a is leased by other-run@example.com"),
        "{}",
        h.printed()
    );
    assert!(h.printed().contains("waiting"), "{}", h.printed());
    assert_eq!(h.state().await, all(V2, &["a"]));
}

#[tokio::test]
async fn our_leases_name_the_run_that_holds_them() {
    let machines = "    - {id: a}\n";
    let mut h = harness(&scenario("", machines)).await;
    h.ctx.github.run_id = Some("4242".into());
    h.ctx.github.repository = Some("acme/shop".into());
    h.deploy(&config(FlyStrategy::Rolling, 1.0), true)
        .await
        .expect("deploy");
    let acquire = h
        .sim
        .log()
        .into_iter()
        .find(|e| e.method == "POST" && e.path.ends_with("/machines/a/lease"))
        .expect("a lease was taken");
    let description = acquire.body.expect("a body")["description"].clone();
    assert!(
        description
            .as_str()
            .is_some_and(|d| d.contains("actions/runs/4242")),
        "{description}"
    );
}
