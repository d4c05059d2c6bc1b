//! After a failure: a rollback brings every machine back in the state it had before the
//! deploy (started and passing its checks), and a restore that cannot do that says so, per
//! machine, loudly.

use super::*;

/// Two started machines whose v2 image crashes: they end `failed`.
const CRASHING: &str =
    "    - {id: a, fail_on_image: '*:v2'}\n    - {id: b, fail_on_image: '*:v2'}\n";

/// Deploy v2 with `immediate` (no wait): the deploy "succeeds", the machines crash.
async fn crashed(h: &Harness) -> DeployOutcome {
    let cfg = config(FlyStrategy::Immediate, 1.0);
    let outcome = h.deploy(&cfg, true).await.expect("immediate deploy");
    for _ in 0..100 {
        if h.state().await.iter().all(|m| m.2 == "failed") {
            return outcome;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the machines never failed: {:?}", h.state().await);
}

fn skip_launches(h: &Harness) -> usize {
    h.sim
        .log()
        .iter()
        .filter(|e| e.method == "POST" && e.body.as_ref().is_some_and(|b| b["skip_launch"] == true))
        .count()
}

#[tokio::test]
async fn rollback_after_a_crash_loop_starts_the_old_image_and_verifies_it() {
    let h = harness(&scenario("", CRASHING)).await;
    let outcome = crashed(&h).await;
    let cfg = config(FlyStrategy::Rolling, 1.0);
    let back = h
        .provider(&cfg)
        .rollback(&RollbackRequest {
            target: request(&cfg, None, true).target,
            point: outcome.rollback_point.clone(),
            to: None,
        })
        .await
        .expect("rollback");
    assert!(back.restored.contains("verified"), "{}", back.restored);
    assert_eq!(h.state().await, all(V1, &["a", "b"]));
    assert_eq!(
        skip_launches(&h),
        0,
        "a machine that ran is never restored stopped"
    );
    // Each restored machine was waited for and its checks read.
    for id in ["a", "b"] {
        let calls = h.calls_for(id);
        let tail: Vec<&str> = calls.iter().rev().take(3).map(String::as_str).collect();
        assert_eq!(
            tail,
            vec![
                format!("DELETE /machines/{id}/lease").as_str(),
                format!("GET /machines/{id}").as_str(),
                format!("GET /machines/{id}/wait?state=started,failed&version={{v}}").as_str(),
            ],
            "{calls:?}"
        );
    }
}

#[tokio::test]
async fn stage_gate_rollback_without_a_point_starts_failed_machines_too() {
    let h = harness(&scenario("", CRASHING)).await;
    crashed(&h).await;
    let cfg = config(FlyStrategy::Rolling, 1.0);
    let back = h
        .provider(&cfg)
        .rollback(&RollbackRequest {
            target: request(&cfg, None, true).target,
            point: None,
            to: None,
        })
        .await
        .expect("rollback from /versions");
    assert!(
        back.restored.starts_with("2 machine(s) back to"),
        "{}",
        back.restored
    );
    assert_eq!(h.state().await, all(V1, &["a", "b"]));
    assert_eq!(skip_launches(&h), 0);
}

#[tokio::test]
async fn a_machine_left_stopped_on_the_old_image_is_started_by_a_rollback() {
    // A previous, broken rollback left `a` on v1 but stopped; `b` is fine.
    let machines = "    - {id: a, state: stopped}\n    - {id: b}\n";
    let h = harness(&scenario("", machines)).await;
    let cfg = config(FlyStrategy::Rolling, 1.0);
    let point = json!({"app": "web", "image": V1, "machines": [
        {"id": "a", "region": "iad", "version": "x", "image": V1, "was_running": true},
        {"id": "b", "region": "iad", "version": "x", "image": V1, "was_running": true}
    ]});
    let back = h
        .provider(&cfg)
        .rollback(&RollbackRequest {
            target: request(&cfg, None, true).target,
            point: Some(point),
            to: Some(V1.into()),
        })
        .await
        .expect("rollback");
    assert!(
        back.details
            .iter()
            .any(|(k, v)| k == "machines" && v.contains("a=restored")),
        "{back:?}"
    );
    assert_eq!(h.state().await, all(V1, &["a", "b"]));
    assert!(
        h.calls_for("a")
            .contains(&"POST /machines/a/start".to_string()),
        "{:?}",
        h.calls_for("a")
    );
    assert!(
        !h.calls_for("b").iter().any(|c| c == "POST /machines/b"),
        "b was already right"
    );
}

#[tokio::test]
async fn a_rollback_whose_machine_will_not_start_fails_loudly() {
    // v1 crashes as well now (a bad base layer): the rollback cannot bring the app back.
    let machines = "    - {id: a, fail_on_image: '*'}\n";
    let h = harness(&scenario("", machines)).await;
    let cfg = config(FlyStrategy::Rolling, 1.0);
    let err = h
        .provider(&cfg)
        .rollback(&RollbackRequest {
            target: request(&cfg, None, true).target,
            point: None,
            to: Some(V2.into()),
        })
        .await
        .expect_err("the machine does not start");
    let text = err.to_string();
    assert!(text.contains("NOT restored 1 machine(s): a (wanted registry.fly.io/web:v2; runs registry.fly.io/web:v2 (failed))"), "{text}");
    assert!(
        h.printed().contains("::error::") || h.printed().contains("NOT restored"),
        "{}",
        h.printed()
    );
}

#[tokio::test]
async fn a_restore_that_fails_says_per_machine_what_runs_now() {
    // Rolling over a, b: b's update crashes the deploy; a's restore update answers 500.
    let machines = "    - {id: a}\n    - {id: b, fail_on_image: '*:v2'}\n";
    let h = harness(&scenario("", machines)).await;
    h.sim.inject(Fault {
        vendor: Some("fly".into()),
        method: Some("POST".into()),
        path: "/v1/apps/web/machines/a".into(),
        status: Some(500),
        skip: Some(1),
        ..Fault::default()
    });
    let err = h
        .deploy(&config(FlyStrategy::Rolling, 1.0), true)
        .await
        .expect_err("b fails");
    assert_eq!(err.restore_outcome(), Some("not-restored"));
    let text = err.to_string();
    assert!(text.contains("machine b went `failed`"), "{text}");
    assert!(
        text.contains(&format!(
            "NOT restored 1 machine(s): a (wanted {V1}; runs {V2} (started))"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("restored 1 machine(s) to {V1}: b")),
        "{text}"
    );
    // What still runs the new image comes first: it survives GitHub's 140-character cut.
    assert!(
        text.find("NOT restored") < text.find("restored 1"),
        "{text}"
    );
    let state = h.state().await;
    assert_eq!(state[0].1, V2, "a really is still on v2: {state:?}");
    assert_eq!(state[1], ("b".into(), V1.into(), "started".into(), false));
}

#[tokio::test]
async fn a_cancelled_rollout_starts_no_wave_and_says_so() {
    let h = harness(&scenario("", "    - {id: a}\n    - {id: b}\n")).await;
    h.ctx.cancel.trigger("SIGTERM");
    let err = h
        .deploy(&config(FlyStrategy::Rolling, 1.0), true)
        .await
        .expect_err("cancelled");
    assert!(
        matches!(&err, ProviderError::Cancelled(m) if m == "cancelled by SIGTERM before wave 1/2: no machine was changed"),
        "{err:?}"
    );
    assert!(
        h.calls().iter().all(|c| c.starts_with("GET")),
        "{:?}",
        h.calls()
    );
    assert_eq!(h.state().await, all(V1, &["a", "b"]));
}
