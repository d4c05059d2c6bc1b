//! Contract test: the Fly simulator against `tests/fixtures/specs/fly-machines.openapi.json`.
//!
//! 1. Every route the simulator serves exists in the spec with that method, and is really
//!    served (not the fallback 404 or a 405).
//! 2. Sample responses conform to the spec's response schema: every field is declared with
//!    the declared type (and enum value), recursively through `$ref`/`allOf`. The one known
//!    difference (NOTES.md §1.2) is the lease envelope: its `data` is checked against `Lease`.

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use stage_gate_sim::{contract, fly::ROUTES, start, Scenario, Sim};
use std::path::PathBuf;

fn spec() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/specs/fly-machines.openapi.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("the Fly spec is JSON")
}

fn schema_of(spec: &Value, method: &str, path: &str, status: &str) -> Value {
    spec["paths"][path][method.to_lowercase()]["responses"][status]["content"]["application/json"]
        ["schema"]
        .clone()
}

fn assert_conforms(spec: &Value, schema: &Value, value: &Value, what: &str) {
    assert!(!schema.is_null(), "{what}: no schema in the spec");
    let problems = contract::problems(spec, schema, value, what);
    assert!(
        problems.is_empty(),
        "{what} does not match the spec:\n{}",
        problems.join("\n")
    );
}

const SCENARIO: &str = "fly:\n  apps:\n  - name: web\n    machines:\n    - id: m1\n    - id: m2\n      state: stopped\n";

async fn sim() -> Sim {
    start(Scenario::parse(SCENARIO).expect("valid"))
        .await
        .expect("starts")
}

async fn call(sim: &Sim, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let mut r = Client::new()
        .request(method, format!("{}{path}", sim.urls.fly))
        .header("authorization", "Bearer t");
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.expect("sent");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_served_route_is_in_the_spec_and_answers() {
    let spec = spec();
    for (method, path) in ROUTES {
        let op = &spec["paths"][*path][method.to_lowercase()];
        assert!(op.is_object(), "{method} {path} is not in the spec");
        let sim = sim().await;
        let mut concrete = path
            .replace("{app_name}", "web")
            .replace("{machine_id}", "m2")
            .replace("{ip}", "2a09:8280:1::1:1")
            .replace("{secret_name}", "NOT_SET");
        if path.ends_with("/wait") {
            concrete.push_str("?state=stopped&timeout=1"); // m2 is stopped
        }
        let body = match (
            *method,
            path.ends_with("{machine_id}") || path.ends_with("/machines"),
        ) {
            ("POST", true) => Some(json!({"config": {"image": "registry.fly.io/web:v2"}})),
            ("POST", false) => Some(json!({})),
            _ => None,
        };
        let (status, answer) = call(&sim, method, &concrete, body).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_ne!(
            answer,
            json!({"error": "not found"}),
            "{method} {path} hit the fallback"
        );
        assert!(
            status.is_success()
                || [StatusCode::BAD_REQUEST, StatusCode::NOT_FOUND].contains(&status),
            "{method} {path} answered {status}: {answer}"
        );
    }
}

#[tokio::test]
async fn responses_match_the_spec_schemas() {
    let spec = spec();
    let sim = sim().await;
    let m = "/v1/apps/{app_name}/machines/{machine_id}";

    let (_, app) = call(&sim, "GET", "/v1/apps/web", None).await;
    assert_conforms(
        &spec,
        &schema_of(&spec, "GET", "/v1/apps/{app_name}", "200"),
        &app,
        "App",
    );

    let (_, list) = call(
        &sim,
        "GET",
        "/v1/apps/web/machines?include_leases=true",
        None,
    )
    .await;
    let list_schema = schema_of(&spec, "GET", "/v1/apps/{app_name}/machines", "200");
    assert_conforms(&spec, &list_schema, &list, "Machine[]");

    let (_, one) = call(&sim, "GET", "/v1/apps/web/machines/m1", None).await;
    assert_conforms(&spec, &schema_of(&spec, "GET", m, "200"), &one, "Machine");

    let mut config = one["config"].clone();
    config["image"] = json!("registry.fly.io/web:v2");
    let (status, updated) = call(
        &sim,
        "POST",
        "/v1/apps/web/machines/m1",
        Some(json!({"config": config, "current_version": one["version"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_conforms(
        &spec,
        &schema_of(&spec, "POST", m, "200"),
        &updated,
        "updated Machine",
    );

    let (_, stale) = call(
        &sim,
        "POST",
        "/v1/apps/web/machines/m1",
        Some(json!({"config": config, "current_version": one["version"]})),
    )
    .await;
    assert_conforms(
        &spec,
        &json!({"$ref": "#/components/schemas/ErrorResponse"}),
        &stale,
        "409",
    );

    let (_, created) = call(
        &sim,
        "POST",
        "/v1/apps/web/machines",
        Some(json!({"config": config, "lease_ttl": 10, "skip_service_registration": true})),
    )
    .await;
    let create_schema = schema_of(&spec, "POST", "/v1/apps/{app_name}/machines", "200");
    assert_conforms(&spec, &create_schema, &created, "created Machine");

    let (_, waited) = call(
        &sim,
        "GET",
        "/v1/apps/web/machines/m1/wait?state=started&timeout=5",
        None,
    )
    .await;
    assert_conforms(
        &spec,
        &schema_of(&spec, "GET", &format!("{m}/wait"), "200"),
        &waited,
        "wait",
    );

    let (_, versions) = call(&sim, "GET", "/v1/apps/web/machines/m1/versions", None).await;
    let v_schema = schema_of(&spec, "GET", &format!("{m}/versions"), "200");
    assert_conforms(&spec, &v_schema, &versions, "versions");

    let (_, events) = call(&sim, "GET", "/v1/apps/web/machines/m1/events", None).await;
    assert!(!events.as_array().is_none_or(Vec::is_empty));
    let e_schema = schema_of(&spec, "GET", &format!("{m}/events"), "200");
    assert_conforms(&spec, &e_schema, &events, "events");

    // The lease envelope is the documented reality; its `data` is the spec's `Lease`.
    let (status, lease) = call(
        &sim,
        "POST",
        "/v1/apps/web/machines/m2/lease",
        Some(json!({"ttl": 5})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(lease["status"], "success");
    let lease_schema = schema_of(&spec, "POST", &format!("{m}/lease"), "201");
    assert_conforms(&spec, &lease_schema, &lease["data"], "lease data");
    let (_, shown) = call(&sim, "GET", "/v1/apps/web/machines/m2/lease", None).await;
    assert_conforms(&spec, &lease_schema, &shown["data"], "shown lease data");

    let (status, missing) = call(&sim, "GET", "/v1/apps/web/machines/nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_conforms(
        &spec,
        &json!({"$ref": "#/components/schemas/ErrorResponse"}),
        &missing,
        "404",
    );
}

/// Routes served beyond the saved spec are really outside it (else they belong in `ROUTES`
/// and its checks), and answer.
#[tokio::test]
async fn routes_outside_the_spec_are_not_in_it_and_answer() {
    let spec = spec();
    for (method, path) in stage_gate_sim::fly::OUTSIDE_SPEC {
        assert!(
            spec["paths"][*path][method.to_lowercase()].is_null(),
            "{method} {path} is in the spec now: move it to ROUTES"
        );
        let sim = sim().await;
        let body =
            (*method == "POST").then(|| json!({"name": "data", "region": "iad", "size_gb": 1}));
        let (status, answer) = call(&sim, method, &path.replace("{app_name}", "web"), body).await;
        assert_eq!(status, StatusCode::OK, "{method} {path}: {answer}");
    }
}

/// The answers of the apps, IP assignment and secrets routes (preview environments) against
/// the spec. The create answer is an `App` plus the document's `CreateAppResponse`
/// (`created_at`): flyctl reads the app's name from it (NOTES.md §1).
#[tokio::test]
async fn app_ip_and_secret_answers_match_the_spec() {
    let spec = spec();
    let sim = sim().await;
    let error = json!({"$ref": "#/components/schemas/ErrorResponse"});

    let (status, created) = call(
        &sim,
        "POST",
        "/v1/apps",
        Some(json!({"name": "web-pr-7", "org_slug": "personal"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let create_schema = schema_of(&spec, "POST", "/v1/apps", "201");
    let mut app_part = created.clone();
    app_part.as_object_mut().map(|o| o.remove("created_at"));
    assert_conforms(
        &spec,
        &json!({"$ref": "#/components/schemas/App"}),
        &app_part,
        "created App",
    );
    assert_conforms(
        &spec,
        &create_schema,
        &json!({"id": created["id"], "created_at": created["created_at"]}),
        "CreateAppResponse",
    );
    let (status, taken) = call(
        &sim,
        "POST",
        "/v1/apps",
        Some(json!({"name": "web-pr-7", "org_slug": "personal"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_conforms(
        &spec,
        &schema_of(&spec, "POST", "/v1/apps", "422"),
        &taken,
        "422",
    );
    let (status, missing) = call(&sim, "POST", "/v1/apps", Some(json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_conforms(
        &spec,
        &schema_of(&spec, "POST", "/v1/apps", "400"),
        &missing,
        "400",
    );

    let (_, listed) = call(&sim, "GET", "/v1/apps?org_slug=personal", None).await;
    assert_eq!(listed["total_apps"], 2);
    assert_conforms(
        &spec,
        &schema_of(&spec, "GET", "/v1/apps", "200"),
        &listed,
        "ListAppsResponse",
    );
    let (_, bad) = call(&sim, "GET", "/v1/apps", None).await;
    assert_conforms(
        &spec,
        &schema_of(&spec, "GET", "/v1/apps", "400"),
        &bad,
        "list 400",
    );

    let ips = "/v1/apps/{app_name}/ip_assignments";
    for kind in ["v6", "shared_v4", "private_v6", "v4"] {
        let (status, ip) = call(
            &sim,
            "POST",
            "/v1/apps/web-pr-7/ip_assignments",
            Some(json!({"type": kind})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_conforms(&spec, &schema_of(&spec, "POST", ips, "200"), &ip, kind);
    }
    let (_, list) = call(&sim, "GET", "/v1/apps/web-pr-7/ip_assignments", None).await;
    assert_eq!(list["ips"].as_array().map(Vec::len), Some(4));
    assert_conforms(
        &spec,
        &schema_of(&spec, "GET", ips, "200"),
        &list,
        "listIPAssignmentsResponse",
    );

    let secrets = "/v1/apps/{app_name}/secrets";
    let one = "/v1/apps/{app_name}/secrets/{secret_name}";
    let (_, updated) = call(
        &sim,
        "POST",
        "/v1/apps/web-pr-7/secrets",
        Some(json!({"values": {"A": "1", "B": null}})),
    )
    .await;
    assert_conforms(
        &spec,
        &schema_of(&spec, "POST", secrets, "200"),
        &updated,
        "AppSecretsUpdateResp",
    );
    let (_, listed) = call(
        &sim,
        "GET",
        "/v1/apps/web-pr-7/secrets?show_secrets=true",
        None,
    )
    .await;
    assert_conforms(
        &spec,
        &schema_of(&spec, "GET", secrets, "200"),
        &listed,
        "AppSecrets",
    );
    let (status, set) = call(
        &sim,
        "POST",
        "/v1/apps/web-pr-7/secrets/C",
        Some(json!({"value": "3"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_conforms(
        &spec,
        &schema_of(&spec, "POST", one, "201"),
        &set,
        "SetAppSecretResponse",
    );
    let (_, got) = call(&sim, "GET", "/v1/apps/web-pr-7/secrets/C", None).await;
    assert_conforms(
        &spec,
        &schema_of(&spec, "GET", one, "200"),
        &got,
        "AppSecret",
    );
    let (_, deleted) = call(&sim, "DELETE", "/v1/apps/web-pr-7/secrets/C", None).await;
    assert_conforms(
        &spec,
        &schema_of(&spec, "DELETE", one, "200"),
        &deleted,
        "DeleteAppSecretResponse",
    );
    let (status, bad) = call(
        &sim,
        "POST",
        "/v1/apps/web-pr-7/secrets",
        Some(json!({"values": {"not-env": "x"}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_conforms(
        &spec,
        &schema_of(&spec, "POST", secrets, "400"),
        &bad,
        "secrets 400",
    );
    let (_, absent) = call(&sim, "GET", "/v1/apps/web-pr-7/secrets/NOPE", None).await;
    assert_conforms(&spec, &error, &absent, "secret 404");
}
