//! The Fly apps resource, IP assignments and secrets over HTTP: what a per-pull-request
//! preview environment needs (create an app, give it addresses and secrets, deploy machines,
//! delete it all), with the vendor's refusals and the ambiguous writes a client must survive.

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use stage_gate_sim::{start, Fault, Scenario, Sim};

async fn sim(yaml: &str) -> Sim {
    start(Scenario::parse(yaml).expect("valid scenario"))
        .await
        .expect("simulator starts")
}

async fn call(sim: &Sim, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut r = Client::new()
        .request(method, format!("{}{path}", sim.urls.fly))
        .header("authorization", "Bearer tok");
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.expect("sent");
    let status = r.status();
    let text = r.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

const TWO_ORGS: &str = r#"
fly:
  apps:
    - name: web
      org: acme
      machines: [{id: m1}]
    - name: taken-elsewhere
      org: other
"#;

#[tokio::test]
async fn create_list_show_and_delete_an_app() {
    let sim = sim(TWO_ORGS).await;
    let (s, app) = call(
        &sim,
        Method::POST,
        "/v1/apps",
        Some(json!({"app_name": "web-pr-7", "org_slug": "acme", "network": "previews"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{app}");
    assert_eq!(app["name"], "web-pr-7");
    assert_eq!(app["status"], "pending");
    assert_eq!(app["organization"]["slug"], "acme");
    assert_eq!(app["machine_count"], 0);
    assert_eq!(app["network"], "previews");
    assert!(app["created_at"].is_i64(), "{app}");
    assert!(app["id"].as_str().is_some_and(|i| !i.is_empty()));

    // fly-go's spelling, `name`, is the document's.
    let (s, _) = call(
        &sim,
        Method::POST,
        "/v1/apps",
        Some(json!({"name": "web-pr-8", "org_slug": "acme"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);

    let (s, listed) = call(&sim, Method::GET, "/v1/apps?org_slug=acme", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(listed["total_apps"], 3);
    let names: Vec<&str> = listed["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, ["web", "web-pr-7", "web-pr-8"], "only acme's apps");
    let (s, other) = call(&sim, Method::GET, "/v1/apps?org_slug=other", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(other["apps"][0]["name"], "taken-elsewhere");
    let (s, _) = call(&sim, Method::GET, "/v1/apps", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "org_slug is required");

    let (s, shown) = call(&sim, Method::GET, "/v1/apps/web-pr-7", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(shown["organization"]["slug"], "acme");

    // A new app takes machines like any other.
    let (s, m) = call(
        &sim,
        Method::POST,
        "/v1/apps/web-pr-7/machines",
        Some(json!({"config": {"image": "registry.fly.io/web:pr-7", "metadata": {"stage_gate_preview": "7"}}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    let (_, shown) = call(&sim, Method::GET, "/v1/apps/web-pr-7", None).await;
    assert_eq!(shown["status"], "deployed");
    assert_eq!(shown["machine_count"], 1);

    let (s, body) = call(&sim, Method::DELETE, "/v1/apps/web-pr-7", None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(body, Value::Null, "202 without a body");
    for path in [
        "/v1/apps/web-pr-7",
        "/v1/apps/web-pr-7/machines",
        "/v1/apps/web-pr-7/secrets",
        "/v1/apps/web-pr-7/ip_assignments",
    ] {
        let (s, _) = call(&sim, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path} went with the app");
    }
    let (s, _) = call(&sim, Method::DELETE, "/v1/apps/web-pr-7", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(sim.fly_app("web-pr-7").is_none());
}

#[tokio::test]
async fn names_are_global_and_requests_are_validated() {
    let sim = sim(TWO_ORGS).await;
    // Held by an app of another organisation: still taken.
    let (s, body) = call(
        &sim,
        Method::POST,
        "/v1/apps",
        Some(json!({"app_name": "taken-elsewhere", "org_slug": "acme"})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["status"], "name_taken");
    assert!(body["error"]
        .as_str()
        .unwrap_or("")
        .contains("has already been taken"));
    for (bad, status) in [
        (json!({"org_slug": "acme"}), StatusCode::BAD_REQUEST),
        (json!({"app_name": "x"}), StatusCode::BAD_REQUEST),
        (
            json!({"app_name": "Web_PR", "org_slug": "acme"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"app_name": "ok", "org_slug": "acme", "enable_subdomains": "yes"}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, body) = call(&sim, Method::POST, "/v1/apps", Some(bad.clone())).await;
        assert_eq!(s, status, "{bad} → {body}");
        assert!(body["error"].is_string());
        assert!(
            body.get("status").is_none(),
            "only a taken name has a status: {body}"
        );
    }
    assert_eq!(sim.fly_apps().len(), 2, "nothing was created");
}

#[tokio::test]
async fn a_token_scoped_to_an_organisation_gets_403_elsewhere() {
    let sim = sim(&format!("{TWO_ORGS}  orgs: [acme]\n")).await;
    let (s, _) = call(
        &sim,
        Method::POST,
        "/v1/apps",
        Some(json!({"app_name": "new", "org_slug": "other"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for path in [
        "/v1/apps/taken-elsewhere",
        "/v1/apps/taken-elsewhere/machines",
        "/v1/apps/taken-elsewhere/secrets",
        "/v1/apps?org_slug=other",
    ] {
        let (s, body) = call(&sim, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    let (s, _) = call(&sim, Method::DELETE, "/v1/apps/taken-elsewhere", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A name taken elsewhere is still taken (and says so), though the app cannot be read.
    let (s, body) = call(
        &sim,
        Method::POST,
        "/v1/apps",
        Some(json!({"app_name": "taken-elsewhere", "org_slug": "acme"})),
    )
    .await;
    assert_eq!(
        (s, body["status"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("name_taken"))
    );
    let (s, _) = call(&sim, Method::GET, "/v1/apps/web", None).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_still_made_the_app() {
    let sim = sim(TWO_ORGS).await;
    sim.inject(Fault {
        path: "/v1/apps".into(),
        method: Some("POST".into()),
        status: Some(502),
        after_acting: true,
        times: Some(1),
        ..Fault::default()
    });
    let body = json!({"app_name": "web-pr-9", "org_slug": "acme", "idempotency_key": "pr-9-a"});
    let (s, _) = call(&sim, Method::POST, "/v1/apps", Some(body.clone())).await;
    assert_eq!(s, StatusCode::BAD_GATEWAY);
    let made = sim
        .fly_app("web-pr-9")
        .expect("the app exists although the answer was lost");
    assert_eq!(made.org, "acme");
    // A blind retry is a name conflict; the same idempotency key gets the first app back.
    let (s, again) = call(
        &sim,
        Method::POST,
        "/v1/apps",
        Some(json!({"app_name": "web-pr-9", "org_slug": "acme"})),
    )
    .await;
    assert_eq!(
        (s, again["status"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("name_taken"))
    );
    let (s, same) = call(&sim, Method::POST, "/v1/apps", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(same["name"], "web-pr-9");
    let (s, _) = call(
        &sim,
        Method::POST,
        "/v1/apps",
        Some(json!({"app_name": "web-pr-10", "org_slug": "acme", "idempotency_key": "pr-9-a"})),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reused key with another name"
    );
    assert!(sim.fly_app("web-pr-10").is_none());
}

#[tokio::test]
async fn a_delete_whose_answer_is_lost_still_deleted_the_app() {
    let sim = sim(TWO_ORGS).await;
    sim.inject(Fault {
        path: "/v1/apps/web".into(),
        method: Some("DELETE".into()),
        reset: true,
        after_acting: true,
        times: Some(1),
        ..Fault::default()
    });
    let err = Client::new()
        .delete(format!("{}/v1/apps/web", sim.urls.fly))
        .header("authorization", "Bearer tok")
        .send()
        .await;
    assert!(err.is_err(), "the connection was reset");
    assert!(
        sim.fly_app("web").is_none(),
        "deleted although the answer was lost"
    );
    let (s, _) = call(&sim, Method::DELETE, "/v1/apps/web", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a retry finds nothing to delete");
}

#[tokio::test]
async fn app_deletes_are_limited_per_minute() {
    let sim = sim(&format!("{TWO_ORGS}  app_deletes_per_minute: 1\n")).await;
    let (s, _) = call(&sim, Method::DELETE, "/v1/apps/web", None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let r = Client::new()
        .delete(format!("{}/v1/apps/taken-elsewhere", sim.urls.fly))
        .header("authorization", "Bearer tok")
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "60");
    assert!(sim.fly_app("taken-elsewhere").is_some());
}

#[tokio::test]
async fn ip_assignments_as_a_first_deploy_makes_them() {
    let sim = sim(TWO_ORGS).await;
    let (s, empty) = call(&sim, Method::GET, "/v1/apps/web/ip_assignments", None).await;
    assert_eq!((s, empty), (StatusCode::OK, json!({"ips": []})));
    let (s, v6) = call(
        &sim,
        Method::POST,
        "/v1/apps/web/ip_assignments",
        Some(json!({"type": "v6"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v6}");
    assert_eq!(v6["shared"], false);
    assert!(v6["ip"].as_str().unwrap_or("").contains(':'));
    assert!(v6["network"].is_null());
    let (_, shared) = call(
        &sim,
        Method::POST,
        "/v1/apps/web/ip_assignments",
        Some(json!({"type": "shared_v4", "org_slug": "acme"})),
    )
    .await;
    assert_eq!(shared["shared"], true);
    assert!(shared["ip"].as_str().unwrap_or("").contains('.'));
    let (_, private) = call(
        &sim,
        Method::POST,
        "/v1/apps/web/ip_assignments",
        Some(json!({"type": "private_v6", "service_name": "api"})),
    )
    .await;
    assert!(private["ip"].as_str().unwrap_or("").starts_with("fdaa:"));
    assert_eq!(private["network"]["org_slug"], "acme");
    assert_eq!(private["service_name"], "api");
    for bad in [
        json!({"type": "v5"}),
        json!({}),
        json!({"type": "egress_v4"}),
    ] {
        let (s, _) = call(
            &sim,
            Method::POST,
            "/v1/apps/web/ip_assignments",
            Some(bad.clone()),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (_, listed) = call(&sim, Method::GET, "/v1/apps/web/ip_assignments", None).await;
    assert_eq!(listed["ips"].as_array().map(Vec::len), Some(3));
    let ip = v6["ip"].as_str().unwrap_or("");
    let (s, _) = call(
        &sim,
        Method::DELETE,
        &format!("/v1/apps/web/ip_assignments/{ip}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(
        &sim,
        Method::DELETE,
        &format!("/v1/apps/web/ip_assignments/{ip}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let kinds: Vec<String> = sim
        .fly_app("web")
        .expect("web")
        .ips
        .into_iter()
        .map(|i| i.kind)
        .collect();
    assert_eq!(kinds, ["shared_v4", "private_v6"]);
    let (s, _) = call(&sim, Method::GET, "/v1/apps/nope/ip_assignments", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn secrets_are_versioned_and_values_shown_only_when_asked() {
    let sim = sim(TWO_ORGS).await;
    let (s, first) = call(
        &sim,
        Method::POST,
        "/v1/apps/web/secrets",
        Some(json!({"values": {"DATABASE_URL": "postgres://pr-7", "API_KEY": "k1"}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert_eq!(first["version"], 1);
    assert!(first["secrets"][0].get("value").is_none());
    assert!(first["secrets"][0]["digest"].is_string());

    let (_, hidden) = call(&sim, Method::GET, "/v1/apps/web/secrets", None).await;
    assert!(hidden["secrets"]
        .as_array()
        .expect("list")
        .iter()
        .all(|s| s.get("value").is_none()));
    let (_, shown) = call(
        &sim,
        Method::GET,
        "/v1/apps/web/secrets?show_secrets=true",
        None,
    )
    .await;
    let api_key = shown["secrets"]
        .as_array()
        .expect("list")
        .iter()
        .find(|s| s["name"] == "API_KEY")
        .cloned();
    assert_eq!(api_key.map(|s| s["value"].clone()), Some(json!("k1")));

    // null unsets; unsetting a name that is not set is fine; one version per request.
    let (_, second) = call(
        &sim,
        Method::POST,
        "/v1/apps/web/secrets",
        Some(json!({"values": {"API_KEY": null, "NEVER_SET": null, "TOKEN": "t"}})),
    )
    .await;
    assert_eq!(second["version"], 2);
    let names: Vec<&str> = second["secrets"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["DATABASE_URL", "TOKEN"]);

    let (s, one) = call(
        &sim,
        Method::POST,
        "/v1/apps/web/secrets/TOKEN",
        Some(json!({"value": "t2"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        (one["name"].clone(), one["version"].clone()),
        (json!("TOKEN"), json!(3))
    );
    let (s, got) = call(
        &sim,
        Method::GET,
        "/v1/apps/web/secrets/TOKEN?show_secrets=true",
        None,
    )
    .await;
    assert_eq!((s, got["value"].clone()), (StatusCode::OK, json!("t2")));
    let (_, got) = call(&sim, Method::GET, "/v1/apps/web/secrets/TOKEN", None).await;
    assert!(got.get("value").is_none());
    let (s, _) = call(&sim, Method::GET, "/v1/apps/web/secrets/NOPE", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, del) = call(&sim, Method::DELETE, "/v1/apps/web/secrets/TOKEN", None).await;
    assert_eq!((s, del), (StatusCode::OK, json!({"version": 4})));
    let (s, _) = call(&sim, Method::DELETE, "/v1/apps/web/secrets/TOKEN", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Reading at a version the app has not reached is refused; at or below, fine.
    let (s, _) = call(&sim, Method::GET, "/v1/apps/web/secrets?version=5", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = call(
        &sim,
        Method::GET,
        "/v1/apps/web/secrets?min_version=4",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    for bad in [
        json!({"values": {"BAD-NAME": "x"}}),
        json!({"values": {"1ST": "x"}}),
        json!({"values": {"N": 5}}),
        json!({"values": "A=b"}),
        json!({}),
    ] {
        let (s, _) = call(
            &sim,
            Method::POST,
            "/v1/apps/web/secrets",
            Some(bad.clone()),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (s, _) = call(
        &sim,
        Method::POST,
        "/v1/apps/web/secrets/has%20space",
        Some(json!({"value": "x"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = call(
        &sim,
        Method::POST,
        "/v1/apps/web/secrets/OK",
        Some(json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "value is required");
    let app = sim.fly_app("web").expect("web");
    assert_eq!(
        (app.secrets, app.secrets_version),
        (vec!["DATABASE_URL".to_string()], 4)
    );
}

#[tokio::test]
async fn machines_run_with_a_secrets_version_and_never_with_one_not_yet_set() {
    let sim = sim(TWO_ORGS).await;
    let (_, set) = call(
        &sim,
        Method::POST,
        "/v1/apps/web/secrets",
        Some(json!({"values": {"DATABASE_URL": "x"}})),
    )
    .await;
    assert_eq!(set["version"], 1);
    let config = json!({"image": "registry.fly.io/web:v2", "env": {"PORT": "8080"}});
    let (s, body) = call(
        &sim,
        Method::POST,
        "/v1/apps/web/machines",
        Some(json!({"config": config, "min_secrets_version": 2})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        sim.fly_app("web").expect("web").machine_count,
        1,
        "nothing created"
    );
    let (s, created) = call(
        &sim,
        Method::POST,
        "/v1/apps/web/machines",
        Some(json!({"config": config, "min_secrets_version": 1})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        created["config"]["env"].get("DATABASE_URL").is_none(),
        "secrets are not env"
    );
    let (_, skipped) = call(
        &sim,
        Method::POST,
        "/v1/apps/web/machines",
        Some(json!({"config": config, "skip_secrets": true})),
    )
    .await;
    let app = sim.fly_app("web").expect("web");
    let version_of = |id: &Value| {
        app.machines
            .iter()
            .find(|m| Some(m.id.as_str()) == id.as_str())
            .map(|m| m.secrets_version)
    };
    assert_eq!(version_of(&created["id"]), Some(Some(1)));
    assert_eq!(version_of(&skipped["id"]), Some(None));
    assert_eq!(
        version_of(&json!("m1")),
        Some(None),
        "seeded before any secret"
    );

    // An update needs the version too, and then runs with the newest.
    call(
        &sim,
        Method::POST,
        "/v1/apps/web/secrets",
        Some(json!({"values": {"DATABASE_URL": "y"}})),
    )
    .await;
    let (s, _) = call(
        &sim,
        Method::POST,
        "/v1/apps/web/machines/m1",
        Some(json!({"config": config, "min_secrets_version": 3})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = call(
        &sim,
        Method::POST,
        "/v1/apps/web/machines/m1",
        Some(json!({"config": config, "min_secrets_version": 2})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let app = sim.fly_app("web").expect("web");
    assert_eq!(
        app.machines
            .iter()
            .find(|m| m.id == "m1")
            .map(|m| m.secrets_version),
        Some(Some(2))
    );
}

#[tokio::test]
async fn a_scenario_seeds_orgs_secrets_ips_and_machine_metadata() {
    let sim = sim(r#"
fly:
  apps:
    - name: web-pr-7
      org: acme
      secrets: {DATABASE_URL: "postgres://x"}
      ips: [{type: v6}, {type: shared_v4, ip: "66.241.124.9"}]
      machines:
        - {id: hand, metadata: {owner: alice}}
    - name: web-pr-8
      machines:
        - {id: ours, metadata: {stage_gate_preview: "8"}}
"#)
    .await;
    let apps = sim.fly_apps();
    let pr7 = &apps[0];
    assert_eq!((pr7.name.as_str(), pr7.org.as_str()), ("web-pr-7", "acme"));
    assert_eq!(
        (pr7.secrets.clone(), pr7.secrets_version),
        (vec!["DATABASE_URL".to_string()], 1)
    );
    assert_eq!(
        pr7.ips.iter().map(|i| i.kind.as_str()).collect::<Vec<_>>(),
        ["v6", "shared_v4"]
    );
    assert_eq!(pr7.ips[1].ip, "66.241.124.9");
    assert_eq!(
        pr7.machines[0].metadata.get("owner").map(String::as_str),
        Some("alice")
    );
    assert!(!pr7.machines[0].metadata.contains_key("stage_gate_preview"));
    assert_eq!(pr7.machines[0].secrets_version, Some(1));
    assert_eq!(apps[1].org, "personal");
    let (_, m) = call(&sim, Method::GET, "/v1/apps/web-pr-8/machines/ours", None).await;
    assert_eq!(m["config"]["metadata"]["stage_gate_preview"], "8");
    assert_eq!(m["config"]["metadata"]["fly_process_group"], "app");
    let (_, secrets) = call(
        &sim,
        Method::GET,
        "/v1/apps/web-pr-7/secrets?show_secrets=true",
        None,
    )
    .await;
    assert_eq!(secrets["secrets"][0]["value"], "postgres://x");
    assert!(Scenario::parse("fly:\n  apps:\n  - name: a\n    ips: [{type: v5}]\n").is_err());
}

/// The preview keys of the scenario example in sim/README.md seed what they say, for all
/// three vendors.
#[tokio::test]
async fn the_readme_scenario_seeds_preview_environments() {
    let readme = include_str!("../README.md");
    let yaml = readme
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a yaml block in the README");
    let sim = sim(yaml).await;
    let app = sim.fly_app("web-pr-7").expect("seeded");
    assert_eq!(app.org, "acme");
    assert_eq!(app.secrets, ["DATABASE_URL"]);
    assert_eq!(app.ips.len(), 2);
    assert_eq!(
        app.machines[0].metadata.get("owner").map(String::as_str),
        Some("alice")
    );
    let previews = sim.coolify_previews("app-staging").expect("seeded");
    assert_eq!(
        previews[0].fqdn.as_deref(),
        Some("https://3.web.example.com")
    );
    assert_eq!(
        sim.coolify_previews("api-staging").map(|p| p.len()),
        Some(1)
    );
    assert_eq!(sim.github_comments("acme/shop", 7)[0].login, "alice");
    sim.set_pull_state("acme/shop", 7, "closed", false)
        .expect("the PR exists");
}
