//! The Fly simulator driven over HTTP: the deploy happy path of NOTES.md §1.4, then faults.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use stage_gate_sim::{start, Fault, Scenario, Sim};

const SCENARIO: &str = r#"
fly:
  token: tok
  apps:
    - name: web
      image: registry.fly.io/web:v1
      machines:
        - id: m1
          region: iad
        - id: m2
          region: ams
        - id: w1
          process_group: worker
          checks: false
"#;

async fn sim(yaml: &str) -> Sim {
    start(Scenario::parse(yaml).expect("valid scenario"))
        .await
        .expect("simulator starts")
}

struct Fly {
    http: Client,
    base: String,
}

impl Fly {
    fn new(sim: &Sim) -> Fly {
        Fly {
            http: Client::new(),
            base: format!("{}/v1/apps/web", sim.urls.fly),
        }
    }
    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("authorization", "Bearer tok")
    }
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .req(reqwest::Method::GET, path)
            .send()
            .await
            .expect("sent");
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }
    async fn post(&self, path: &str, nonce: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut r = self.req(reqwest::Method::POST, path).json(&body);
        if let Some(n) = nonce {
            r = r.header("fly-machine-lease-nonce", n);
        }
        let r = r.send().await.expect("sent");
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn happy_path_update_with_lease_wait_and_checks() {
    let sim = sim(SCENARIO).await;
    let fly = Fly::new(&sim);

    let (status, list) = fly.get("/machines").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, ["m1", "m2", "w1"]);
    assert_eq!(list[2]["config"]["metadata"]["fly_process_group"], "worker");

    // Lease with flyctl's wire form: ?ttl= and no body.
    let r = fly
        .req(reqwest::Method::POST, "/machines/m1/lease?ttl=13")
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::CREATED);
    let lease: Value = r.json().await.expect("json");
    assert_eq!(lease["status"], "success");
    let nonce = lease["data"]["nonce"].as_str().expect("nonce").to_string();

    let (_, m) = fly.get("/machines/m1").await;
    let old_version = m["version"].as_str().expect("version").to_string();
    let mut config = m["config"].clone();
    config["image"] = json!("registry.fly.io/web:v2");

    let (status, updated) = fly
        .post(
            "/machines/m1",
            Some(&nonce),
            json!({"config": config, "current_version": old_version}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["state"], "replacing");
    let new_version = updated["version"].as_str().expect("version").to_string();
    assert_ne!(new_version, old_version);

    let (status, waited) = fly
        .get(&format!(
            "/machines/m1/wait?state=started&version={new_version}&timeout=5"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{waited}");
    assert_eq!(waited["state"], "started");

    let (_, m) = fly.get("/machines/m1").await;
    assert_eq!(m["config"]["image"], "registry.fly.io/web:v2");
    assert_eq!(m["checks"][0]["status"], "passing");
    assert_eq!(m["checks"][0]["name"], "servicecheck-00-http-8080");
    assert_eq!(m["image_ref"]["tag"], "v2");

    let (_, versions) = fly.get("/machines/m1/versions").await;
    assert_eq!(versions[0]["version"], new_version.as_str());
    assert_eq!(
        versions[1]["user_config"]["image"],
        "registry.fly.io/web:v1"
    );

    let r = fly
        .req(reqwest::Method::DELETE, "/machines/m1/lease")
        .header("fly-machine-lease-nonce", &nonce)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({"status":"success","data":{"ok":true}})
    );

    let calls = sim.calls("fly");
    assert_eq!(
        calls,
        [
            "GET /v1/apps/web/machines",
            "POST /v1/apps/web/machines/m1/lease?ttl=13",
            "GET /v1/apps/web/machines/m1",
            "POST /v1/apps/web/machines/m1",
            format!(
                "GET /v1/apps/web/machines/m1/wait?state=started&version={new_version}&timeout=5"
            )
            .as_str(),
            "GET /v1/apps/web/machines/m1",
            "GET /v1/apps/web/machines/m1/versions",
            "DELETE /v1/apps/web/machines/m1/lease",
        ]
    );
    let log = sim.log();
    assert_eq!(
        log[0].headers.get("authorization").map(String::as_str),
        Some("Bearer ***")
    );
    assert_eq!(
        log[3].body.as_ref().map(|b| b["current_version"].clone()),
        Some(json!(old_version))
    );
}

#[tokio::test]
async fn auth_accepts_bearer_and_flyv1_and_rejects_others() {
    let sim = sim(SCENARIO).await;
    let url = format!("{}/v1/apps/web", sim.urls.fly);
    let http = Client::new();
    for (auth, want) in [
        (Some("Bearer tok"), StatusCode::OK),
        (Some("FlyV1 tok"), StatusCode::OK),
        (Some("Bearer nope"), StatusCode::UNAUTHORIZED),
        (None, StatusCode::UNAUTHORIZED),
    ] {
        let mut r = http.get(&url);
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        let r = r.send().await.expect("sent");
        assert_eq!(r.status(), want, "{auth:?}");
        assert!(r.headers().contains_key("fly-request-id"));
        let body: Value = r.json().await.expect("json");
        if want == StatusCode::UNAUTHORIZED {
            assert!(body["error"].is_string(), "{body}");
        } else {
            assert_eq!(body["name"], "web");
            assert_eq!(body["machine_count"], 3);
        }
    }
}

#[tokio::test]
async fn lease_held_by_someone_else_is_409_with_the_real_envelope() {
    let sim = sim(SCENARIO).await;
    let fly = Fly::new(&sim);
    let (status, first) = fly
        .post(
            "/machines/m2/lease",
            None,
            json!({"ttl": 30, "description": "other"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, second) = fly
        .post("/machines/m2/lease", None, json!({"ttl": 30}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(second["status"], "error");
    assert_eq!(second["code"], "invalid");
    assert!(
        second["message"]
            .as_str()
            .unwrap_or("")
            .contains("lease currently held by"),
        "{second}"
    );

    // A lease-less update of a leased machine is refused too.
    let (_, m) = fly.get("/machines/m2").await;
    let (status, err) = fly
        .post("/machines/m2", None, json!({"config": m["config"]}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(err["error"]
        .as_str()
        .unwrap_or("")
        .contains("lease currently held"));

    // Refresh with the nonce works.
    let nonce = first["data"]["nonce"].as_str().expect("nonce");
    let (status, _) = fly
        .post("/machines/m2/lease", Some(nonce), json!({"ttl": 60}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn stale_current_version_is_409_and_changes_nothing() {
    let sim = sim(SCENARIO).await;
    let fly = Fly::new(&sim);
    let (_, m) = fly.get("/machines/m1").await;
    let mut config = m["config"].clone();
    config["image"] = json!("registry.fly.io/web:v9");
    let (status, err) = fly
        .post(
            "/machines/m1",
            None,
            json!({"config": config, "current_version": "01STALE"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(err["error"].is_string());
    let (_, after) = fly.get("/machines/m1").await;
    assert_eq!(after["config"]["image"], "registry.fly.io/web:v1");
    assert_eq!(after["version"], m["version"]);

    // And the whole config is required.
    let (status, err) = fly
        .post(
            "/machines/m1",
            None,
            json!({"current_version": m["version"]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"], "config is required");
}

#[tokio::test]
async fn injected_500_fires_n_times_then_passes_through() {
    let sim = sim(SCENARIO).await;
    sim.inject(Fault {
        method: Some("GET".into()),
        path: "/v1/apps/*/machines".into(),
        status: Some(503),
        retry_after: Some(1),
        times: Some(2),
        ..Fault::default()
    });
    let fly = Fly::new(&sim);
    for _ in 0..2 {
        let r = fly
            .req(reqwest::Method::GET, "/machines")
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()["retry-after"], "1");
    }
    let (status, list) = fly.get("/machines").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(3));
    let statuses: Vec<Option<u16>> = sim.log().iter().map(|e| e.status).collect();
    assert_eq!(statuses, [Some(503), Some(503), Some(200)]);
}

#[tokio::test]
async fn reset_fault_is_a_transport_error_for_reqwest() {
    let sim = sim(SCENARIO).await;
    sim.inject(Fault {
        path: "/v1/apps/web/machines/m1".into(),
        reset: true,
        times: Some(1),
        ..Fault::default()
    });
    let fly = Fly::new(&sim);
    let err = fly
        .req(reqwest::Method::GET, "/machines/m1")
        .send()
        .await
        .expect_err("the connection is reset, no status");
    assert!(err.status().is_none());
    // A real TCP reset (ECONNRESET), not a clean close or a status.
    let mut source: Option<&dyn std::error::Error> = Some(&err);
    let mut reset = false;
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            reset |= io.kind() == std::io::ErrorKind::ConnectionReset;
        }
        source = s.source();
    }
    assert!(reset, "{err:?}");
    let (status, _) = fly.get("/machines/m1").await;
    assert_eq!(status, StatusCode::OK);
    let statuses: Vec<Option<u16>> = sim.log().iter().map(|e| e.status).collect();
    assert_eq!(statuses, [None, Some(200)]);
}

#[tokio::test]
async fn wait_times_out_with_408_when_checks_and_start_never_come() {
    let sim =
        sim("fly:\n  apps:\n  - name: web\n    machines:\n    - id: m1\n      state: stopped\n")
            .await;
    let fly = Fly::new(&sim);
    let (status, err) = fly.get("/machines/m1/wait?state=started&timeout=1").await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    assert!(err["error"].is_string());
    let (status, err) = fly.get("/machines/m1/wait?state=bogus").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
}

#[tokio::test]
async fn malformed_fault_answers_200_with_invalid_json() {
    let sim = sim(SCENARIO).await;
    sim.inject(Fault {
        method: Some("POST".into()),
        path: "*/lease".into(),
        malformed: true,
        ..Fault::default()
    });
    let fly = Fly::new(&sim);
    let r = fly
        .req(reqwest::Method::POST, "/machines/m1/lease?ttl=5")
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.json::<Value>().await.is_err());
}

#[tokio::test]
async fn failing_image_and_checks_that_never_pass() {
    let sim = sim(
        "fly:\n  apps:\n  - name: web\n    fail_on_image: '*:broken'\n    checks_pass_after_ms: null\n    machines:\n    - id: m1\n",
    )
    .await;
    let fly = Fly::new(&sim);
    let (_, m) = fly.get("/machines/m1").await;
    assert_eq!(m["checks"][0]["status"], "critical");
    let mut config = m["config"].clone();
    config["image"] = json!("registry.fly.io/web:broken");
    let (status, _) = fly
        .post("/machines/m1", None, json!({"config": config}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, w) = fly
        .get("/machines/m1/wait?state=started,failed&timeout=5")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(w["state"], "failed");
}

#[tokio::test]
async fn create_unrouted_then_uncordon_stop_and_destroy() {
    let sim = sim(SCENARIO).await;
    let fly = Fly::new(&sim);
    let (_, m) = fly.get("/machines/m1").await;
    let (status, green) = fly
        .post(
            "/machines",
            None,
            json!({"config": m["config"], "region": "iad", "skip_service_registration": true, "lease_ttl": 30}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{green}");
    assert_eq!(green["cordoned"], true);
    let nonce = green["nonce"].as_str().expect("created leased").to_string();
    let id = green["id"].as_str().expect("id").to_string();
    let (status, _) = fly
        .post(&format!("/machines/{id}/uncordon"), Some(&nonce), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);

    // A running machine is not destroyed without force/kill.
    let r = fly
        .req(reqwest::Method::DELETE, "/machines/m1")
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let (status, _) = fly
        .post("/machines/m1/stop", None, json!({"signal": "SIGTERM"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = fly.get("/machines/m1/wait?state=stopped&timeout=5").await;
    assert_eq!(status, StatusCode::OK);
    let r = fly
        .req(reqwest::Method::DELETE, "/machines/m1?kill=true")
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::OK);
    let (_, list) = fly.get("/machines").await;
    let ids: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, ["m2", "w1", id.as_str()]);
}

#[tokio::test]
async fn admin_routes_add_faults_and_serve_the_log() {
    let sim = sim(SCENARIO).await;
    let http = Client::new();
    let r = http
        .post(format!("{}/__sim/faults", sim.urls.fly))
        .json(&json!({"path": "/v1/apps/web", "status": 500, "times": 1}))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::CREATED);
    let fly = Fly::new(&sim);
    let (status, _) = fly.get("").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let text = http
        .get(format!("{}/__sim/log", sim.urls.fly))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["status"], 500);
    assert_eq!(lines[0]["vendor"], "fly");
    let r = http
        .delete(format!("{}/__sim/faults", sim.urls.fly))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::OK);
    let r = http
        .post(format!("{}/__sim/faults", sim.urls.fly))
        .json(&json!({"path": "/x", "stauts": 500}))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_machine_destroyed_while_starting_stays_destroyed() {
    let sim = sim("fly:\n  apps:\n  - name: web\n    start_ms: 30\n    machines:\n    - id: m1\n      state: stopped\n").await;
    let fly = Fly::new(&sim);
    let (status, _) = fly.post("/machines/m1/start", None, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let r = fly
        .req(reqwest::Method::DELETE, "/machines/m1?force=true")
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::OK);
    let (status, w) = fly.get("/machines/m1/wait?state=started&timeout=1").await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "{w}");
    let (_, m) = fly.get("/machines/m1").await;
    assert_eq!(m["state"], "destroyed");
}

#[tokio::test]
async fn list_filters_and_pages() {
    let sim = sim(SCENARIO).await;
    let fly = Fly::new(&sim);
    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["id"].as_str().map(str::to_string))
            .collect()
    };
    let (_, worker) = fly.get("/machines?metadata.fly_process_group=worker").await;
    assert_eq!(ids(&worker), ["w1"]);
    let (_, ams) = fly.get("/machines?region=ams").await;
    assert_eq!(ids(&ams), ["m2"]);
    let r = fly
        .req(reqwest::Method::GET, "/machines?limit=2")
        .send()
        .await
        .expect("sent");
    let cursor = r.headers()["fly-next-cursor"]
        .to_str()
        .expect("cursor")
        .to_string();
    let first: Value = r.json().await.expect("json");
    assert_eq!(ids(&first), ["m1", "m2"]);
    let (_, rest) = fly.get(&format!("/machines?limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&rest), ["w1"]);
    let (status, _) = fly.get("/machines?limit=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// The scenario example in sim/README.md stays valid and seeds what it says.
#[tokio::test]
async fn the_readme_scenario_is_valid() {
    let readme = include_str!("../README.md");
    let yaml = readme
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a yaml block in the README");
    let sim = sim(yaml).await;
    let r = Client::new()
        .get(format!("{}/v1/apps/web/machines", sim.urls.fly))
        .header("authorization", "FlyV1 fm2_demo")
        .send()
        .await
        .expect("sent");
    assert_eq!(
        r.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "the README's fault fires first"
    );
    let r = Client::new()
        .get(format!(
            "{}/v1/apps/web/machines?include_leases=true",
            sim.urls.fly
        ))
        .header("authorization", "FlyV1 fm2_demo")
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let list: Value = Client::new()
        .get(format!(
            "{}/v1/apps/web/machines?include_leases=true",
            sim.urls.fly
        ))
        .header("authorization", "FlyV1 fm2_demo")
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let machines = list.as_array().expect("array");
    assert_eq!(machines.len(), 5);
    assert_eq!(machines[4]["lease"]["owner"], "alice@example.com");
    assert_eq!(machines[4]["state"], "stopped");
}

#[tokio::test]
async fn configs_the_spec_does_not_describe_are_refused() {
    let sim = sim(SCENARIO).await;
    let fly = Fly::new(&sim);
    let (_, m) = fly.get("/machines/m1").await;
    let mut config = m["config"].clone();
    config["enviroment"] = json!({"A": "1"});
    let (status, body) = fly
        .post(
            "/machines/m1",
            None,
            json!({"config": config, "current_version": m["version"]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"].as_str().unwrap_or("").contains("enviroment"),
        "{body}"
    );
    let mut config = m["config"].clone();
    config["guest"]["memory_mb"] = json!("512mb");
    let (status, _) = fly.post("/machines", None, json!({"config": config})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Nothing changed.
    let (_, again) = fly.get("/machines/m1").await;
    assert_eq!(again["version"], m["version"]);
}

#[tokio::test]
async fn volumes_are_created_attached_once_and_never_swapped() {
    let sim = sim(SCENARIO).await;
    let fly = Fly::new(&sim);
    let (status, vol) = fly
        .post(
            "/volumes",
            None,
            json!({"name": "data", "region": "iad", "size_gb": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{vol}");
    let vol_id = vol["id"].as_str().expect("id").to_string();
    let (status, _) = fly
        .post(
            "/volumes",
            None,
            json!({"name": "Bad-Name", "region": "iad"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let config = json!({"image": "registry.fly.io/web:v2",
        "mounts": [{"name": "data", "path": "/data", "volume": vol_id}]});
    let (status, a) = fly
        .post(
            "/machines",
            None,
            json!({"config": config, "region": "iad"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{a}");
    let (_, vols) = fly.get("/volumes").await;
    assert_eq!(vols[0]["attached_machine_id"], a["id"]);
    // The same volume cannot go on a second machine, nor a volume in another region.
    let (status, body) = fly
        .post(
            "/machines",
            None,
            json!({"config": config, "region": "iad"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = fly
        .post(
            "/machines",
            None,
            json!({"config": config, "region": "ams"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A mount without a volume id is refused; an update may not drop or swap the volume.
    let (status, _) = fly
        .post(
            "/machines",
            None,
            json!({"config": {"image": "i", "mounts": [{"name": "data", "path": "/d"}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let id = a["id"].as_str().expect("id");
    let (status, _) = fly
        .post(
            &format!("/machines/{id}"),
            None,
            json!({"config": {"image": "registry.fly.io/web:v3"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_job_machine_exits_with_the_scenarios_code_and_is_destroyed() {
    let sim = sim(&SCENARIO.replace(
        "      image: registry.fly.io/web:v1\n",
        "      image: registry.fly.io/web:v1\n      job_exit_code: 3\n      job_ms: 30\n",
    ))
    .await;
    let fly = Fly::new(&sim);
    let config = json!({"image": "registry.fly.io/web:v2", "auto_destroy": true,
        "restart": {"policy": "no"}, "init": {"cmd": ["bin/migrate"]},
        "metadata": {"fly_process_group": "fly_app_release_command"}});
    let (status, m) = fly
        .post(
            "/machines",
            None,
            json!({"config": config, "skip_launch": true, "region": "iad"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{m}");
    let id = m["id"].as_str().expect("id").to_string();
    let (status, w) = fly
        .get(&format!("/machines/{id}/wait?state=stopped&timeout=5"))
        .await;
    assert_eq!(status, StatusCode::OK, "{w}");
    let (status, _) = fly
        .post(&format!("/machines/{id}/start"), None, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = fly
        .get(&format!("/machines/{id}/wait?state=destroyed&timeout=5"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, m) = fly.get(&format!("/machines/{id}")).await;
    let exit = m["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["type"] == "exit")
        .cloned()
        .expect("an exit event");
    assert_eq!(exit["request"]["exit_event"]["exit_code"], 3);
    // A destroyed machine is not listed.
    let (_, list) = fly.get("/machines").await;
    assert!(!list
        .as_array()
        .expect("list")
        .iter()
        .any(|x| x["id"] == id.as_str()));
}
