//! Coolify preview deployments (one per pull request) over HTTP, as `DeployController.php`
//! and `ApplicationsController.php` of Coolify v4.3 handle them: Docker-image previews made
//! by `POST /deploy?pr=N&docker_tag=T`, git previews that only Coolify's GitHub App makes,
//! the preview's generated URL, and its deletion.

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use stage_gate_sim::{start, Scenario, Sim};
use std::time::Duration;

const ROOT: &str = "root-token";
const READ: &str = "read-token";

async fn sim() -> Sim {
    let yaml = format!(
        r#"
coolify:
  tokens:
    - {{token: {ROOT}, abilities: [root]}}
    - {{token: {READ}, abilities: [read]}}
  applications:
    - uuid: img
      name: web-staging
      build_pack: dockerimage
      image: ghcr.io/acme/web
      image_tag: v1.0.0
      fqdn: "https://web.example.com,https://www.example.com"
      queue_ms: 5
      build_ms: 40
    - uuid: img-random
      name: web-random
      image: ghcr.io/acme/web
      image_tag: v1.0.0
      fqdn: "http://apps.example.com:8080/shop"
      preview_url_template: "pr-{{{{pr_id}}}}-{{{{random}}}}.{{{{domain}}}}"
    - uuid: git
      name: api-staging
      build_pack: nixpacks
      fqdn: "https://api.example.com"
      previews_enabled: true
      previews: [{{pr: 4}}, {{pr: 6, fqdn: "https://custom.example.com"}}]
      queue_ms: 5
      build_ms: 40
    - uuid: git-plain
      name: api-plain
      build_pack: dockerfile
"#
    );
    start(Scenario::parse(&yaml).expect("valid scenario"))
        .await
        .expect("starts")
}

async fn call(sim: &Sim, method: Method, path: &str, token: &str) -> (StatusCode, Value) {
    let r = Client::new()
        .request(method, format!("{}/api/v1{path}", sim.urls.coolify))
        .bearer_auth(token)
        .send()
        .await
        .expect("sent");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn deploy(sim: &Sim, query: &str) -> Value {
    let (s, b) = call(sim, Method::POST, &format!("/deploy?{query}"), ROOT).await;
    assert_eq!(s, StatusCode::OK, "{query}: {b}");
    b["deployments"][0].clone()
}

async fn finished(sim: &Sim, uuid: &str) -> Value {
    for _ in 0..300 {
        let (_, d) = call(sim, Method::GET, &format!("/deployments/{uuid}"), ROOT).await;
        if ["finished", "failed", "cancelled-by-user"].contains(&d["status"].as_str().unwrap_or(""))
        {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("deployment {uuid} never ended");
}

#[tokio::test]
async fn a_docker_image_preview_is_made_by_the_first_deploy_with_a_tag() {
    let sim = sim().await;
    // No preview yet and no tag: nothing to deploy, and no uuid in the answer.
    let entry = deploy(&sim, "uuid=img&pr=7").await;
    assert_eq!(
        entry["message"],
        "Pull request 7 not found for this resource."
    );
    assert!(entry.get("deployment_uuid").is_none());
    // `docker_tag=0` is no tag to PHP.
    let entry = deploy(&sim, "uuid=img&pr=7&docker_tag=0").await;
    assert!(entry.get("deployment_uuid").is_none(), "{entry}");
    assert_eq!(sim.coolify_previews("img"), Some(vec![]));

    let entry = deploy(&sim, "uuid=img&pr=7&docker_tag=%20pr-7-abc%20").await;
    assert_eq!(
        entry["message"],
        "Application web-staging deployment queued."
    );
    let uuid = entry["deployment_uuid"]
        .as_str()
        .expect("a deployment")
        .to_string();
    let previews = sim.coolify_previews("img").expect("app");
    assert_eq!(previews.len(), 1);
    assert_eq!(previews[0].pull_request_id, 7);
    assert_eq!(
        previews[0].docker_tag.as_deref(),
        Some("pr-7-abc"),
        "trimmed"
    );
    assert_eq!(
        previews[0].fqdn.as_deref(),
        Some("https://7.web.example.com"),
        "the first domain, default template"
    );
    let d = finished(&sim, &uuid).await;
    assert_eq!(d["status"], "finished");
    assert_eq!(d["pull_request_id"], 7);
    assert_eq!(d["docker_registry_image_tag"], "pr-7-abc");
    let previews = sim.coolify_previews("img").expect("app");
    assert_eq!(
        previews[0].running.as_deref(),
        Some("ghcr.io/acme/web:pr-7-abc")
    );
    assert_eq!(previews[0].status, "running:healthy");
    // The application itself still runs its own tag.
    let (_, app) = call(&sim, Method::GET, "/applications/img", ROOT).await;
    assert_eq!(app["docker_registry_image_tag"], "v1.0.0");

    // Later deploys reuse the preview's tag, or replace it; `pull_request_id` beats `pr`.
    let again = deploy(&sim, "uuid=img&pr=7").await;
    let d = finished(&sim, again["deployment_uuid"].as_str().expect("queued")).await;
    assert_eq!(d["docker_registry_image_tag"], "pr-7-abc");
    let newer = deploy(&sim, "uuid=img&pull_request_id=7&pr=99&docker_tag=pr-7-def").await;
    let d = finished(&sim, newer["deployment_uuid"].as_str().expect("queued")).await;
    assert_eq!(
        (
            d["pull_request_id"].clone(),
            d["docker_registry_image_tag"].clone()
        ),
        (json!(7), json!("pr-7-def"))
    );
    let previews = sim.coolify_previews("img").expect("app");
    assert_eq!(previews.len(), 1, "no preview for pr 99");
    assert_eq!(previews[0].docker_tag.as_deref(), Some("pr-7-def"));
    assert_eq!(
        previews[0].running.as_deref(),
        Some("ghcr.io/acme/web:pr-7-def")
    );
    assert_eq!(
        previews[0].fqdn.as_deref(),
        Some("https://7.web.example.com"),
        "kept"
    );
}

#[tokio::test]
async fn preview_urls_follow_the_applications_template() {
    let sim = sim().await;
    deploy(&sim, "uuid=img-random&pr=12&docker_tag=t").await;
    let fqdn = sim.coolify_previews("img-random").expect("app")[0]
        .fqdn
        .clone()
        .expect("fqdn");
    assert!(fqdn.starts_with("http://pr-12-"), "{fqdn}");
    assert!(fqdn.ends_with(".apps.example.com:8080/shop"), "{fqdn}");
    let (_, app) = call(&sim, Method::GET, "/applications/img-random", ROOT).await;
    assert_eq!(
        app["preview_url_template"],
        "pr-{{pr_id}}-{{random}}.{{domain}}"
    );
}

#[tokio::test]
async fn git_previews_exist_only_when_coolify_made_them() {
    let sim = sim().await;
    let entry = deploy(&sim, "uuid=git&pr=5").await;
    assert_eq!(
        entry["message"],
        "Pull request 5 not found for this resource."
    );
    assert!(entry.get("deployment_uuid").is_none());
    // A tag never makes a git preview: the preview is looked up first.
    let entry = deploy(&sim, "uuid=git&pr=5&docker_tag=x").await;
    assert_eq!(
        entry["message"],
        "Pull request 5 not found for this resource."
    );
    // With the preview there, a tag is refused for a non-image application.
    let entry = deploy(&sim, "uuid=git&pr=4&docker_tag=x").await;
    assert_eq!(
        entry["message"],
        "docker_tag can only be used with Docker Image applications."
    );
    assert!(entry.get("deployment_uuid").is_none());
    let entry = deploy(&sim, "uuid=git&pr=4").await;
    let d = finished(&sim, entry["deployment_uuid"].as_str().expect("queued")).await;
    assert_eq!(d["pull_request_id"], 4);
    assert!(d["docker_registry_image_tag"].is_null());
    let previews = sim.coolify_previews("git").expect("app");
    assert_eq!(
        previews[0].fqdn.as_deref(),
        Some("https://4.api.example.com")
    );
    assert_eq!(previews[0].status, "running:healthy");
    assert_eq!(
        previews[1].fqdn.as_deref(),
        Some("https://custom.example.com")
    );
    let entry = deploy(&sim, "uuid=git-plain&pr=1").await;
    assert_eq!(
        entry["message"],
        "Pull request 1 not found for this resource."
    );
    assert_eq!(sim.coolify_previews("nope"), None);
}

#[tokio::test]
async fn the_application_shows_what_a_preview_url_needs() {
    let sim = sim().await;
    let (_, git) = call(&sim, Method::GET, "/applications/git", ROOT).await;
    assert_eq!(git["fqdn"], "https://api.example.com");
    assert_eq!(git["preview_url_template"], "{{pr_id}}.{{domain}}");
    assert_eq!(git["build_pack"], "nixpacks");
    assert_eq!(git["settings"]["is_preview_deployments_enabled"], true);
    assert!(git.get("id").is_none(), "hidden by the API");
    let (_, img) = call(&sim, Method::GET, "/applications/img", ROOT).await;
    assert_eq!(img["settings"]["is_preview_deployments_enabled"], false);
    assert!(
        img.get("is_preview_deployments_enabled").is_none(),
        "only under settings"
    );
}

#[tokio::test]
async fn deleting_a_preview_cancels_its_deployments_and_removes_it() {
    let sim = sim().await;
    let entry = deploy(&sim, "uuid=img&pr=7&docker_tag=pr-7").await;
    let uuid = entry["deployment_uuid"]
        .as_str()
        .expect("queued")
        .to_string();
    let (s, b) = call(&sim, Method::DELETE, "/applications/img/previews/7", READ).await;
    assert_eq!(
        (s, b["message"].clone()),
        (
            StatusCode::FORBIDDEN,
            json!("Missing required permissions: write")
        )
    );
    let (s, b) = call(&sim, Method::DELETE, "/applications/img/previews/7", ROOT).await;
    assert_eq!(
        (s, b),
        (
            StatusCode::OK,
            json!({"message": "Preview deletion request queued."})
        )
    );
    assert_eq!(sim.coolify_previews("img"), Some(vec![]));
    let (_, d) = call(&sim, Method::GET, &format!("/deployments/{uuid}"), ROOT).await;
    assert_eq!(
        d["status"], "cancelled-by-user",
        "its active deployment stopped"
    );
    let (s, b) = call(&sim, Method::DELETE, "/applications/img/previews/7", ROOT).await;
    assert_eq!(
        (s, b),
        (
            StatusCode::NOT_FOUND,
            json!({"message": "Preview not found."})
        )
    );
    for bad in ["abc", "0", "-3", "7x"] {
        let (s, b) = call(
            &sim,
            Method::DELETE,
            &format!("/applications/img/previews/{bad}"),
            ROOT,
        )
        .await;
        assert_eq!(
            (s, b),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"message": "Invalid pull_request_id."})
            ),
            "{bad}"
        );
    }
    // The application is looked up first.
    let (s, b) = call(
        &sim,
        Method::DELETE,
        "/applications/nope/previews/abc",
        ROOT,
    )
    .await;
    assert_eq!(
        (s, b),
        (
            StatusCode::NOT_FOUND,
            json!({"message": "Application not found."})
        )
    );
    // A seeded git preview goes the same way; `4.0` is numeric to PHP.
    let (s, _) = call(&sim, Method::DELETE, "/applications/git/previews/4.0", ROOT).await;
    assert_eq!(s, StatusCode::OK);
    let left: Vec<i64> = sim
        .coolify_previews("git")
        .expect("app")
        .iter()
        .map(|p| p.pull_request_id)
        .collect();
    assert_eq!(left, [6]);
}

#[tokio::test]
async fn previews_enabled_can_be_patched_and_lands_in_settings() {
    let sim = sim().await;
    let r = Client::new()
        .patch(format!("{}/api/v1/applications/img", sim.urls.coolify))
        .bearer_auth(ROOT)
        .json(&json!({"is_preview_deployments_enabled": true}))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::OK);
    let (_, img) = call(&sim, Method::GET, "/applications/img", ROOT).await;
    assert_eq!(img["settings"]["is_preview_deployments_enabled"], true);
}

#[tokio::test]
async fn a_pull_request_number_php_reads_as_zero_is_no_pull_request() {
    let sim = sim().await;
    for q in [
        "uuid=img&pr=-3&docker_tag=x",
        "uuid=img&pull_request_id=abc&docker_tag=x",
        "uuid=img&pr=0&docker_tag=x",
    ] {
        let (s, b) = call(&sim, Method::POST, &format!("/deploy?{q}"), ROOT).await;
        assert_eq!(
            (s, b["message"].clone()),
            (
                StatusCode::BAD_REQUEST,
                json!("docker_tag requires pull_request_id.")
            ),
            "{q}"
        );
    }
    // `7abc` is 7 to PHP.
    let entry = deploy(&sim, "uuid=img&pr=7abc&docker_tag=t").await;
    assert!(entry["deployment_uuid"].is_string(), "{entry}");
    assert_eq!(
        sim.coolify_previews("img").expect("app")[0].pull_request_id,
        7
    );
    // A tag with a pull request on a tag deploy is still the documented 400.
    let (s, b) = call(&sim, Method::POST, "/deploy?tag=x&pr=7", ROOT).await;
    assert_eq!(
        (s, b["message"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("You can only use tag or pr, not both.")
        )
    );
}
