//! The GitHub simulator driven over HTTP: the happy path of a release and a deployment,
//! the awkward parts GitHub has (drafts hidden from get-by-tag, one release per tag,
//! immutable releases, 202/409 deployments, rate limits), and a contract test that every
//! answer given here is an operation of `tests/fixtures/specs/github-subset.openapi.json` whose
//! declared schema's required fields are present.

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use stage_gate_sim::github::{RateLimit, RateLimitKind, Scenario};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "ghs_simtoken123";
const SHA1: &str = "1111111111111111111111111111111111111111";
const SHA2: &str = "2222222222222222222222222222222222222222";
const SHA3: &str = "3333333333333333333333333333333333333333";
const FEATURE: &str = "4444444444444444444444444444444444444444";

/// (method, path, status, body) of one answer.
type Answer = (String, String, u16, Value);

/// A served simulator plus a recorder of every answer, for the contract test.
struct Gh {
    api: String,
    uploads: String,
    client: Client,
    seen: Arc<Mutex<Vec<Answer>>>,
    /// Keeps the servers running.
    sim: stage_gate_sim::Sim,
}

impl Gh {
    async fn start(scenario: Scenario) -> Gh {
        let sim = stage_gate_sim::start(stage_gate_sim::Scenario {
            github: scenario,
            ..Default::default()
        })
        .await
        .unwrap();
        Gh {
            api: sim.urls.github.clone(),
            uploads: sim.urls.uploads.clone(),
            client: Client::new(),
            seen: Arc::new(Mutex::new(Vec::new())),
            sim,
        }
    }

    async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let url = if url.starts_with("http") {
            url.to_string()
        } else {
            format!("{}{url}", self.api)
        };
        let mut req = self
            .client
            .request(method.clone(), &url)
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        self.record(method, &url, resp).await
    }

    async fn record(
        &self,
        method: Method,
        url: &str,
        resp: reqwest::Response,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        let path = reqwest::Url::parse(url).unwrap().path().to_string();
        self.seen
            .lock()
            .unwrap()
            .push((method.to_string(), path, status.as_u16(), value.clone()));
        (status, headers, value)
    }

    async fn upload(
        &self,
        upload_url: &str,
        name: &str,
        content_type: Option<&str>,
        bytes: &[u8],
    ) -> (StatusCode, Value) {
        let base = upload_url.split('{').next().unwrap();
        let mut req = self
            .client
            .post(base)
            .query(&[("name", name)])
            .header("authorization", format!("token {TOKEN}"))
            .body(bytes.to_vec());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = req.send().await.unwrap();
        let (s, _, v) = self.record(Method::POST, base, resp).await;
        (s, v)
    }
}

fn scenario() -> Scenario {
    let yaml = format!(
        r#"
repos:
  - name: acme/shop
    commits:
      - {{ sha: "{SHA1}", message: "feat: first", login: alice }}
      - {{ sha: "{SHA2}", message: "fix: second (#7)", login: bob }}
      - {{ sha: "{SHA3}", message: "feat: third (#8)" }}
    branches: {{ feature: "{FEATURE}" }}
    tags: {{ v1.0.0: "{SHA1}" }}
    workflows: [ "deploy.yml", {{ file: "promote.yml", inputs: [version] }} ]
    pulls:
      - {{ number: 7, title: "Fix the second thing", user: bob, head: fix-2, commits: ["{SHA2}"], merge_commit: "{SHA2}" }}
      - {{ number: 8, title: "Add the third feature", user: carol, head: feat-3, commits: ["{SHA3}"] }}
"#
    );
    serde_yaml::from_str(&yaml).unwrap()
}

#[tokio::test]
async fn release_happy_path_draft_upload_publish() {
    let gh = Gh::start(scenario()).await;
    let (s, h, draft) = gh
        .call(
            Method::POST,
            "/repos/acme/shop/releases",
            Some(json!({"tag_name": "v1.1.0", "name": "v1.1.0", "body": "notes", "draft": true})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        h["location"].to_str().unwrap(),
        draft["url"].as_str().unwrap()
    );
    assert!(draft["upload_url"]
        .as_str()
        .unwrap()
        .starts_with(&gh.uploads));
    let id = draft["id"].as_u64().unwrap();

    // Drafts are invisible to get-by-tag but present in the list.
    let (s, _, _) = gh
        .call(Method::GET, "/repos/acme/shop/releases/tags/v1.1.0", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, _, list) = gh
        .call(Method::GET, "/repos/acme/shop/releases", None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    // No tag until it is published.
    let (s, _, _) = gh
        .call(Method::GET, "/repos/acme/shop/git/ref/tags/v1.1.0", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, asset) = gh
        .upload(
            draft["upload_url"].as_str().unwrap(),
            "app.tar.gz",
            Some("application/gzip"),
            b"bytes",
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(asset["size"], 5);
    assert_eq!(asset["digest"], format!("sha256:{}", sha256_hex(b"bytes")));

    let (s, _, published) = gh
        .call(
            Method::PATCH,
            &format!("/repos/acme/shop/releases/{id}"),
            Some(json!({"draft": false, "make_latest": "true"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(published["draft"], false);
    assert!(published["published_at"].is_string());
    assert_eq!(published["assets"].as_array().unwrap().len(), 1);

    let (s, _, by_tag) = gh
        .call(Method::GET, "/repos/acme/shop/releases/tags/v1.1.0", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(by_tag["id"], id);
    let (_, _, latest) = gh
        .call(Method::GET, "/repos/acme/shop/releases/latest", None)
        .await;
    assert_eq!(latest["id"], id);
    // Publishing created the tag at the default branch head.
    let (s, _, r) = gh
        .call(Method::GET, "/repos/acme/shop/git/ref/tags/v1.1.0", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["object"]["sha"], SHA3);

    // A prerelease published with make_latest=false does not take "latest".
    let (_, _, pre) = gh
        .call(
            Method::POST,
            "/repos/acme/shop/releases",
            Some(json!({"tag_name": "v1.2.0-rc.1", "prerelease": true, "make_latest": "false"})),
        )
        .await;
    let (_, _, latest) = gh
        .call(Method::GET, "/repos/acme/shop/releases/latest", None)
        .await;
    assert_eq!(latest["id"], id);
    let (s, _, _) = gh
        .call(
            Method::DELETE,
            &format!("/repos/acme/shop/releases/{}", pre["id"]),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, notes) = gh
        .call(
            Method::POST,
            "/repos/acme/shop/releases/generate-notes",
            Some(json!({"tag_name": "v1.1.0", "previous_tag_name": "v1.0.0"})),
        )
        .await;
    assert_eq!(notes["name"], "v1.1.0");
    let body = notes["body"].as_str().unwrap();
    assert!(body.contains("* Fix the second thing by @bob in"), "{body}");
    assert!(body.contains("Add the third feature"), "{body}");
    assert!(body.contains("/compare/v1.0.0...v1.1.0"), "{body}");
    assert_contract(&gh);
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

#[tokio::test]
async fn one_release_per_tag_even_for_drafts() {
    let gh = Gh::start(scenario()).await;
    let body = json!({"tag_name": "v2.0.0", "draft": true});
    let (s, _, _) = gh
        .call(
            Method::POST,
            "/repos/acme/shop/releases",
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _, err) = gh
        .call(Method::POST, "/repos/acme/shop/releases", Some(body))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["message"], "Validation Failed");
    assert_eq!(err["errors"][0]["code"], "already_exists");
    assert_eq!(err["errors"][0]["field"], "tag_name");
    // Missing tag and a body over GitHub's limit are validation errors too.
    let (s, _, err) = gh
        .call(
            Method::POST,
            "/repos/acme/shop/releases",
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["errors"][0]["code"], "missing_field");
    let long = "x".repeat(125_001);
    let (s, _, _) = gh
        .call(
            Method::POST,
            "/repos/acme/shop/releases",
            Some(json!({"tag_name": "v3", "body": long})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _, _) = gh
        .call(
            Method::POST,
            "/repos/acme/shop/releases",
            Some(json!({"tag_name": "v3", "make_latest": true})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "make_latest is a string"
    );
    assert_contract(&gh);
}

#[tokio::test]
async fn asset_uploads_need_a_content_type_and_a_fresh_name() {
    let gh = Gh::start(scenario()).await;
    let (_, _, r) = gh
        .call(
            Method::POST,
            "/repos/acme/shop/releases",
            Some(json!({"tag_name": "v2", "draft": true})),
        )
        .await;
    let up = r["upload_url"].as_str().unwrap();
    let (s, _) = gh.upload(up, "a.zip", None, b"1").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, a) = gh
        .upload(up, "a b.zip", Some("application/zip"), b"1")
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(a["name"], "a.b.zip", "special characters are renamed");
    let (s, err) = gh
        .upload(up, "a b.zip", Some("application/zip"), b"2")
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["errors"][0]["code"], "already_exists");
    // Deleting frees the name.
    let (s, _, _) = gh
        .call(
            Method::DELETE,
            &format!("/repos/acme/shop/releases/assets/{}", a["id"]),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = gh
        .upload(up, "a b.zip", Some("application/zip"), b"2")
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_contract(&gh);
}

#[tokio::test]
async fn immutable_releases_refuse_assets_once_published() {
    let mut sc = scenario();
    sc.immutable_releases = true;
    let gh = Gh::start(sc).await;
    let (_, _, r) = gh
        .call(
            Method::POST,
            "/repos/acme/shop/releases",
            Some(json!({"tag_name": "v2", "draft": true})),
        )
        .await;
    let id = r["id"].as_u64().unwrap();
    assert_eq!(r["immutable"], false);
    let up = r["upload_url"].as_str().unwrap().to_string();
    let (s, a) = gh
        .upload(&up, "before.zip", Some("application/zip"), b"1")
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, _, p) = gh
        .call(
            Method::PATCH,
            &format!("/repos/acme/shop/releases/{id}"),
            Some(json!({"draft": false})),
        )
        .await;
    assert_eq!(p["immutable"], true);
    let (s, err) = gh
        .upload(&up, "after.zip", Some("application/zip"), b"1")
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(err["message"].as_str().unwrap().contains("immutable"));
    let (s, _, _) = gh
        .call(
            Method::DELETE,
            &format!("/repos/acme/shop/releases/assets/{}", a["id"]),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _, _) = gh
        .call(
            Method::PATCH,
            &format!("/repos/acme/shop/releases/{id}"),
            Some(json!({"tag_name": "v9"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Title and notes stay editable.
    let (s, _, p) = gh
        .call(
            Method::PATCH,
            &format!("/repos/acme/shop/releases/{id}"),
            Some(json!({"body": "edited"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["body"], "edited");
}

#[tokio::test]
async fn auth_is_required_and_every_answer_has_rate_headers() {
    let gh = Gh::start(scenario()).await;
    let resp = gh
        .client
        .get(format!("{}/repos/acme/shop/releases", gh.api))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.headers().contains_key("x-ratelimit-limit"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["message"], "Requires authentication");
    assert!(body["documentation_url"].is_string());
    let resp = gh
        .client
        .get(format!("{}/repos/acme/shop/releases", gh.api))
        .header("authorization", "token abc123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (s, h, _) = gh
        .call(Method::GET, "/repos/acme/other/releases", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-used",
        "x-ratelimit-reset",
        "x-ratelimit-resource",
    ] {
        assert!(h.contains_key(name), "{name}");
    }
    let (_, h2, _) = gh.call(Method::GET, "/rate_limit", None).await;
    let used = |h: &reqwest::header::HeaderMap| {
        h["x-ratelimit-used"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert!(used(&h2) > used(&h));

    // An API version GitHub does not serve is a 400; 2026-03-10 always reports the run.
    let resp = gh
        .client
        .get(format!("{}/repos/acme/shop/releases", gh.api))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("x-github-api-version", "2021-01-01")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = gh
        .client
        .post(format!(
            "{}/repos/acme/shop/actions/workflows/deploy.yml/dispatches",
            gh.api
        ))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("x-github-api-version", "2026-03-10")
        .json(&json!({"ref": "main"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    let mut sc = scenario();
    sc.tokens = vec!["only-this-one".into()];
    let strict = Gh::start(sc).await;
    let (s, _, body) = strict
        .call(Method::GET, "/repos/acme/shop/releases", None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["message"], "Bad credentials");
}

#[tokio::test]
async fn primary_and_secondary_rate_limits() {
    let mut sc = scenario();
    sc.rate_limits = vec![
        RateLimit {
            path: Some("/releases".into()),
            after: 1,
            times: 1,
            reset_in_secs: 120,
            ..Default::default()
        },
        RateLimit {
            status: 429,
            kind: RateLimitKind::Secondary,
            path: Some("/tags".into()),
            retry_after: Some(7),
            ..Default::default()
        },
    ];
    let gh = Gh::start(sc).await;
    let (s, _, _) = gh
        .call(Method::GET, "/repos/acme/shop/releases", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, h, body) = gh
        .call(Method::GET, "/repos/acme/shop/releases", None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(h["x-ratelimit-remaining"], "0");
    let reset: i64 = h["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
    assert!(reset > chrono::Utc::now().timestamp() + 60);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("rate limit exceeded"));
    let (s, _, _) = gh
        .call(Method::GET, "/repos/acme/shop/releases", None)
        .await;
    assert_eq!(s, StatusCode::OK, "only `times` refusals");
    let (s, h, body) = gh.call(Method::GET, "/repos/acme/shop/tags", None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(h["retry-after"], "7");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("secondary rate limit"));
}

#[tokio::test]
async fn deployments_and_statuses() {
    let mut sc = scenario();
    sc.repos[0].failing_contexts = vec!["ci/lint".into()];
    let gh = Gh::start(sc).await;
    // A branch behind the default branch, with GitHub's default auto_merge: 202, nothing made.
    let (s, _, body) = gh
        .call(
            Method::POST,
            "/repos/acme/shop/deployments",
            Some(json!({"ref": "feature", "required_contexts": []})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("Auto-merged main into feature"));
    // Omitting required_contexts means every status must be green.
    let (s, _, _) = gh
        .call(
            Method::POST,
            "/repos/acme/shop/deployments",
            Some(json!({"ref": SHA3, "auto_merge": false})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _, _) = gh
        .call(
            Method::POST,
            "/repos/acme/shop/deployments",
            Some(json!({"ref": "nope", "auto_merge": false, "required_contexts": []})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    let mut ids = Vec::new();
    for sha in [SHA2, SHA3] {
        let (s, h, d) = gh
            .call(Method::POST, "/repos/acme/shop/deployments", Some(json!({"ref": sha, "environment": "staging", "auto_merge": false, "required_contexts": [], "payload": {"app": "web"}})))
            .await;
        assert_eq!(s, StatusCode::CREATED);
        assert!(h.contains_key("location"));
        assert_eq!(d["production_environment"], false);
        assert_eq!(d["payload"]["app"], "web");
        let id = d["id"].as_u64().unwrap();
        let (s, _, st) = gh
            .call(
                Method::POST,
                &format!("/repos/acme/shop/deployments/{id}/statuses"),
                Some(json!({"state": "success", "environment_url": "https://staging.example.com"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        assert_eq!(st["state"], "success");
        ids.push(id);
    }
    // auto_inactive: the first staging deployment is now inactive.
    let (_, _, statuses) = gh
        .call(
            Method::GET,
            &format!("/repos/acme/shop/deployments/{}/statuses", ids[0]),
            None,
        )
        .await;
    assert_eq!(statuses[0]["state"], "inactive");
    let sid = statuses[1]["id"].as_u64().unwrap();
    let (s, _, _) = gh
        .call(
            Method::GET,
            &format!("/repos/acme/shop/deployments/{}/statuses/{sid}", ids[0]),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = gh
        .call(
            Method::POST,
            &format!("/repos/acme/shop/deployments/{}/statuses", ids[0]),
            Some(json!({"state": "done"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, _, listed) = gh
        .call(
            Method::GET,
            &format!("/repos/acme/shop/deployments?environment=staging&sha={SHA3}"),
            None,
        )
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], ids[1]);
    let (_, _, one) = gh
        .call(
            Method::GET,
            &format!("/repos/acme/shop/deployments/{}", ids[1]),
            None,
        )
        .await;
    assert_eq!(one["sha"], SHA3);
    assert_contract(&gh);
}

#[tokio::test]
async fn workflow_dispatch() {
    let gh = Gh::start(scenario()).await;
    let (s, _, _) = gh
        .call(
            Method::POST,
            "/repos/acme/shop/actions/workflows/deploy.yml/dispatches",
            Some(json!({"ref": "main"})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, run) = gh
        .call(Method::POST, "/repos/acme/shop/actions/workflows/promote.yml/dispatches", Some(json!({"ref": "v1.0.0", "inputs": {"version": "1.0.0"}, "return_run_details": true})))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(run["workflow_run_id"].is_u64());
    let (s, _, _) = gh
        .call(
            Method::POST,
            "/repos/acme/shop/actions/workflows/promote.yml/dispatches",
            Some(json!({"ref": "main", "inputs": {"other": "x"}})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "undeclared input");
    let (s, _, _) = gh
        .call(
            Method::POST,
            "/repos/acme/shop/actions/workflows/missing.yml/dispatches",
            Some(json!({"ref": "main"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = gh
        .call(
            Method::POST,
            "/repos/acme/shop/actions/workflows/deploy.yml/dispatches",
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let many: serde_json::Map<String, Value> =
        (0..26).map(|i| (format!("k{i}"), json!("v"))).collect();
    let (s, _, _) = gh
        .call(
            Method::POST,
            "/repos/acme/shop/actions/workflows/deploy.yml/dispatches",
            Some(json!({"ref": "main", "inputs": many})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, _, wfs) = gh
        .call(Method::GET, "/repos/acme/shop/actions/workflows", None)
        .await;
    assert_eq!(wfs["total_count"], 2);
    assert_contract(&gh);
}

#[tokio::test]
async fn refs_tags_commits_compare_pulls() {
    let gh = Gh::start(scenario()).await;
    let (s, _, _) = gh
        .call(Method::GET, "/repos/acme/shop/git/ref/tags/v2.0.0", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let create = json!({"ref": "refs/tags/v2.0.0", "sha": SHA2});
    let (s, h, r) = gh
        .call(
            Method::POST,
            "/repos/acme/shop/git/refs",
            Some(create.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(h.contains_key("location"));
    assert_eq!(r["ref"], "refs/tags/v2.0.0");
    let (s, _, err) = gh
        .call(Method::POST, "/repos/acme/shop/git/refs", Some(create))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["message"], "Reference already exists");
    // Moving a ref backwards needs force.
    let (s, _, _) = gh
        .call(
            Method::PATCH,
            "/repos/acme/shop/git/refs/heads/main",
            Some(json!({"sha": SHA1})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _, r) = gh
        .call(
            Method::PATCH,
            "/repos/acme/shop/git/refs/heads/main",
            Some(json!({"sha": SHA1, "force": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["object"]["sha"], SHA1);
    let (s, _, r) = gh
        .call(
            Method::PATCH,
            "/repos/acme/shop/git/refs/heads/main",
            Some(json!({"sha": SHA3})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "fast-forward: {r}");

    let (_, h, tags) = gh
        .call(Method::GET, "/repos/acme/shop/tags?per_page=1", None)
        .await;
    assert_eq!(tags[0]["name"], "v2.0.0");
    let link = h["link"].to_str().unwrap();
    assert!(
        link.contains("rel=\"next\"") && link.contains("page=2"),
        "{link}"
    );
    let next = link
        .split(';')
        .next()
        .unwrap()
        .trim_matches(|c| c == '<' || c == '>');
    let (_, _, page2) = gh.call(Method::GET, next, None).await;
    assert_eq!(page2[0]["name"], "v1.0.0");

    let (_, _, c) = gh
        .call(Method::GET, "/repos/acme/shop/commits/v1.0.0", None)
        .await;
    assert_eq!(c["sha"], SHA1);
    assert_eq!(c["author"]["login"], "alice");
    let (s, _, _) = gh
        .call(Method::GET, "/repos/acme/shop/commits/no-such-branch", None)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, _, cmp) = gh
        .call(
            Method::GET,
            &format!("/repos/acme/shop/compare/v1.0.0...{SHA3}"),
            None,
        )
        .await;
    assert_eq!(cmp["status"], "ahead");
    assert_eq!(cmp["ahead_by"], 2);
    assert_eq!(cmp["commits"][0]["sha"], SHA2, "oldest first");
    let (_, _, pulls) = gh
        .call(
            Method::GET,
            &format!("/repos/acme/shop/commits/{SHA2}/pulls"),
            None,
        )
        .await;
    assert_eq!(pulls[0]["number"], 7);
    assert!(pulls[0]["merged_at"].is_string());
    assert_contract(&gh);
}

// ---- contract ----

fn spec() -> Value {
    let name = "github-subset.openapi.json";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/specs")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Routes the simulator serves that are real GitHub endpoints outside the saved subset.
const OUTSIDE_SUBSET: [(&str, &str); 2] = [
    ("DELETE", "/repos/{owner}/{repo}/releases/assets/{asset_id}"),
    ("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}"),
];

fn template_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    // `{ref}` in git/ref and git/refs spans slashes (`tags/v1`).
    if template.ends_with("/git/ref/{ref}") || template.ends_with("/git/refs/{ref}") {
        return p.len() >= t.len()
            && t[..t.len() - 1]
                .iter()
                .zip(&p)
                .all(|(a, b)| a.starts_with('{') || a == b);
    }
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(a, b)| (a.starts_with('{') && !b.is_empty()) || a == b)
}

fn resolve<'a>(spec: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .trim_start_matches("#/")
            .split('/')
            .fold(spec, |at, part| &at[part]),
        None => node,
    }
}

/// Required fields missing (recursively) or of the wrong JSON type, as "path: problem".
fn check(spec: &Value, schema: &Value, v: &Value, at: &str) -> Vec<String> {
    let schema = resolve(spec, schema);
    if v.is_null() {
        return if schema.get("nullable") == Some(&json!(true)) || schema.get("type").is_none() {
            vec![]
        } else {
            vec![format!("{at}: null but not nullable")]
        };
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        return all.iter().flat_map(|s| check(spec, s, v, at)).collect();
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(any) = schema.get(key).and_then(Value::as_array) {
            return if any.iter().any(|s| check(spec, s, v, at).is_empty()) {
                vec![]
            } else {
                vec![format!("{at}: matches none of {key}")]
            };
        }
    }
    let ok = match schema.get("type").and_then(Value::as_str) {
        Some("string") => v.is_string(),
        Some("integer") => v.is_i64() || v.is_u64(),
        Some("number") => v.is_number(),
        Some("boolean") => v.is_boolean(),
        Some("array") => v.is_array(),
        Some("object") => v.is_object(),
        _ => true,
    };
    if !ok {
        return vec![format!("{at}: expected {}, got {v}", schema["type"])];
    }
    let mut problems = Vec::new();
    if let Some(Value::Array(required)) = schema.get("required") {
        for r in required.iter().filter_map(Value::as_str) {
            if v.get(r).is_none() {
                problems.push(format!("{at}.{r}: missing"));
            }
        }
    }
    if let (Some(props), Some(obj)) = (
        schema.get("properties").and_then(Value::as_object),
        v.as_object(),
    ) {
        for (k, sub) in props {
            if let Some(child) = obj.get(k) {
                problems.extend(check(spec, sub, child, &format!("{at}.{k}")));
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, child) in arr.iter().enumerate().take(5) {
            problems.extend(check(spec, items, child, &format!("{at}[{i}]")));
        }
    }
    problems
}

/// Every recorded answer: its route and method exist in the spec (or are listed as outside
/// the subset), and a 2xx or 4xx body with a declared JSON schema has its required fields.
fn assert_contract(gh: &Gh) {
    let spec = spec();
    let paths = spec["paths"].as_object().unwrap();
    let seen = gh.seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    let mut problems = Vec::new();
    for (method, path, status, body) in &seen {
        let m = method.to_lowercase();
        let found = paths
            .iter()
            .find(|(t, ops)| template_matches(t, path) && ops.get(&m).is_some());
        let Some((template, ops)) = found else {
            if !OUTSIDE_SUBSET
                .iter()
                .any(|(om, ot)| om == method && template_matches(ot, path))
            {
                problems.push(format!("{method} {path}: not an operation of the spec"));
            }
            continue;
        };
        let responses = &ops[&m]["responses"];
        let Some(declared) = responses.get(status.to_string()) else {
            // GitHub answers errors the spec leaves out (auth, rate limits, a dispatch's
            // 404/422): those must still be `basic-error`s.
            if (400..500).contains(status) {
                let basic = json!({"$ref": "#/components/schemas/basic-error"});
                problems.extend(check(
                    &spec,
                    &basic,
                    body,
                    &format!("{method} {template} {status}"),
                ));
                if body.get("message").is_none() {
                    problems.push(format!(
                        "{method} {template} {status}: error without a message"
                    ));
                }
            } else {
                problems.push(format!("{method} {template}: status {status} not declared"));
            }
            continue;
        };
        let declared = resolve(&spec, declared);
        if let Some(schema) = declared.pointer("/content/application~1json/schema") {
            let at = format!("{method} {template} {status}");
            // Ours: required fields, nullability, anyOf/oneOf. The shared checker: no field
            // the spec does not declare, enum values.
            problems.extend(check(&spec, schema, body, &at));
            problems.extend(stage_gate_sim::contract::problems(&spec, schema, body, &at));
        }
    }
    assert!(
        problems.is_empty(),
        "contract problems:\n{}",
        problems.join("\n")
    );
}

/// The GitHub part of the scenario example in sim/README.md parses and seeds what it says.
#[tokio::test]
async fn the_readme_scenario_seeds_github() {
    let readme = include_str!("../README.md");
    let yaml = readme
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a yaml block in the README");
    let scenario = stage_gate_sim::Scenario::parse(yaml).unwrap();
    let gh = Gh::start(scenario.github).await;
    let (s, _, releases) = gh
        .call(Method::GET, "/repos/acme/shop/releases", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(releases[0]["tag_name"], "v1.0.0");
    let (_, _, wfs) = gh
        .call(Method::GET, "/repos/acme/shop/actions/workflows", None)
        .await;
    assert_eq!(wfs["total_count"], 2);
    assert_contract(&gh);
}

// ---- preview environments: comments, pull requests, transient deployments ----

fn preview_scenario() -> Scenario {
    let yaml = format!(
        r#"
repos:
  - name: acme/shop
    commits:
      - {{ sha: "{SHA1}", message: "feat: first" }}
      - {{ sha: "{SHA2}", message: "fix: second (#7)" }}
    issues: [3]
    pulls:
      - {{ number: 7, title: "Fix", user: bob, head: fix-2, commits: ["{SHA2}"], merge_commit: "{SHA2}" }}
      - {{ number: 9, state: open, head_sha: "{SHA3}", head_repo: bob/shop }}
    comments:
      - {{ issue: 9, body: "looks good", user: alice }}
"#
    );
    serde_yaml::from_str(&yaml).unwrap()
}

#[tokio::test]
async fn issue_comments_are_listed_created_and_edited() {
    let gh = Gh::start(preview_scenario()).await;
    let path = "/repos/acme/shop/issues/9/comments";
    let (s, _, seeded) = gh.call(Method::GET, path, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(seeded.as_array().map(Vec::len), Some(1));
    assert_eq!(seeded[0]["user"]["login"], "alice");
    assert_eq!(seeded[0]["user"]["type"], "User");

    let (s, h, made) = gh
        .call(
            Method::POST,
            path,
            Some(json!({"body": "Preview: https://7.example.com"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(made["user"]["login"], "github-actions[bot]");
    assert_eq!(made["user"]["type"], "Bot");
    let id = made["id"].as_u64().unwrap();
    assert!(h["location"]
        .to_str()
        .unwrap()
        .ends_with(&format!("/issues/comments/{id}")));
    assert!(made["html_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/pull/9#issuecomment-{id}")));
    assert!(made["node_id"].is_string());

    let (s, _, edited) = gh
        .call(
            Method::PATCH,
            &format!("/repos/acme/shop/issues/comments/{id}"),
            Some(json!({"body": "Preview: https://7.example.com (v2)"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(edited["body"], "Preview: https://7.example.com (v2)");
    assert_eq!(edited["id"], id);
    let comments = gh.sim.github_comments("acme/shop", 9);
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[1].body, "Preview: https://7.example.com (v2)");

    // The longest body GitHub takes, and one character more.
    let (s, _, _) = gh
        .call(
            Method::POST,
            path,
            Some(json!({"body": "x".repeat(65_536)})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _, refused) = gh
        .call(
            Method::POST,
            path,
            Some(json!({"body": "é".repeat(65_537)})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["message"], "Validation Failed");
    assert_eq!(refused["errors"][0]["resource"], "IssueComment");
    let (s, _, _) = gh
        .call(
            Method::PATCH,
            &format!("/repos/acme/shop/issues/comments/{id}"),
            Some(json!({"body": "y".repeat(65_537)})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _, _) = gh.call(Method::POST, path, Some(json!({}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "body is required");
    assert_eq!(
        gh.sim.github_comments("acme/shop", 9).len(),
        3,
        "refusals changed nothing"
    );

    // Not an issue or pull request; not a comment.
    for (m, p) in [
        (Method::GET, "/repos/acme/shop/issues/999/comments"),
        (Method::POST, "/repos/acme/shop/issues/999/comments"),
        (Method::PATCH, "/repos/acme/shop/issues/comments/424242"),
    ] {
        let (s, _, _) = gh.call(m.clone(), p, Some(json!({"body": "x"}))).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{m} {p}");
    }
    // A plain issue takes comments too.
    let (s, _, on_issue) = gh
        .call(
            Method::POST,
            "/repos/acme/shop/issues/3/comments",
            Some(json!({"body": "hi"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(on_issue["html_url"]
        .as_str()
        .unwrap()
        .contains("/issues/3#issuecomment-"));
    assert_contract(&gh);
}

#[tokio::test]
async fn issue_comments_page_with_link_headers() {
    let gh = Gh::start(preview_scenario()).await;
    let path = "/repos/acme/shop/issues/7/comments";
    for i in 0..35 {
        let (s, _, _) = gh
            .call(Method::POST, path, Some(json!({"body": format!("c{i}")})))
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (_, h, first) = gh.call(Method::GET, path, None).await;
    assert_eq!(first.as_array().map(Vec::len), Some(30), "30 by default");
    assert_eq!(first[0]["body"], "c0", "oldest first");
    let link = h["link"].to_str().unwrap().to_string();
    assert!(
        link.contains("rel=\"next\"") && link.contains("page=2"),
        "{link}"
    );
    let (_, h, second) = gh.call(Method::GET, &format!("{path}?page=2"), None).await;
    assert_eq!(second.as_array().map(Vec::len), Some(5));
    assert!(h["link"].to_str().unwrap().contains("rel=\"prev\""));
    let (_, h, all) = gh
        .call(Method::GET, &format!("{path}?per_page=100"), None)
        .await;
    assert_eq!(all.as_array().map(Vec::len), Some(35));
    assert!(h.get("link").is_none());
    let (_, _, capped) = gh
        .call(Method::GET, &format!("{path}?per_page=500"), None)
        .await;
    assert_eq!(
        capped.as_array().map(Vec::len),
        Some(35),
        "at most 100 a page"
    );
    assert_contract(&gh);
}

#[tokio::test]
async fn a_pull_request_shows_its_state_and_a_test_can_close_it() {
    let gh = Gh::start(preview_scenario()).await;
    let (s, _, pr) = gh.call(Method::GET, "/repos/acme/shop/pulls/9", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(pr["number"], 9);
    assert_eq!(pr["state"], "open");
    assert_eq!(pr["merged"], false);
    assert!(pr["merged_at"].is_null() && pr["closed_at"].is_null());
    assert_eq!(pr["head"]["sha"], SHA3);
    assert_eq!(pr["head"]["ref"], "pr-9");
    assert_eq!(pr["head"]["repo"]["full_name"], "bob/shop");
    assert_eq!(pr["head"]["repo"]["fork"], true);
    assert_eq!(pr["base"]["repo"]["full_name"], "acme/shop");
    assert_eq!(pr["base"]["ref"], "main");
    assert_eq!(pr["base"]["sha"], SHA2);
    assert!(pr["html_url"]
        .as_str()
        .unwrap()
        .ends_with("/acme/shop/pull/9"));
    let (_, _, merged) = gh.call(Method::GET, "/repos/acme/shop/pulls/7", None).await;
    assert_eq!(
        (merged["state"].clone(), merged["merged"].clone()),
        (json!("closed"), json!(true))
    );
    assert_eq!(merged["head"]["repo"]["fork"], false);

    gh.sim
        .set_pull_state("acme/shop", 9, "closed", false)
        .unwrap();
    let (_, _, closed) = gh.call(Method::GET, "/repos/acme/shop/pulls/9", None).await;
    assert_eq!(closed["state"], "closed");
    assert_eq!(closed["merged"], false);
    assert!(closed["closed_at"].is_string() && closed["merged_at"].is_null());
    assert_ne!(closed["updated_at"], pr["updated_at"]);

    // The same lever over HTTP, for a simulator run as a process.
    let admin = |body: Value| {
        gh.client
            .patch(format!("{}/__sim/repos/acme/shop/pulls/9", gh.api))
            .json(&body)
            .send()
    };
    let r = admin(json!({"state": "closed", "merged": true}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, _, now) = gh.call(Method::GET, "/repos/acme/shop/pulls/9", None).await;
    assert_eq!(
        (now["merged"].clone(), now["merged_at"].is_string()),
        (json!(true), true)
    );
    let r = admin(json!({"state": "open", "merged": true}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = admin(json!({"state": "open"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "reopened");
    // A push moves the head, over HTTP or from a test, and leaves the state alone.
    let r = admin(json!({"head_sha": SHA1})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, _, pushed) = gh.call(Method::GET, "/repos/acme/shop/pulls/9", None).await;
    assert_eq!(
        (pushed["head"]["sha"].clone(), pushed["state"].clone()),
        (json!(SHA1), json!("open"))
    );
    gh.sim.set_pull_head("acme/shop", 9, SHA2).unwrap();
    let (_, _, pushed) = gh.call(Method::GET, "/repos/acme/shop/pulls/9", None).await;
    assert_eq!(pushed["head"]["sha"], SHA2);
    assert!(gh.sim.set_pull_head("acme/shop", 404, SHA2).is_err());
    assert!(gh
        .sim
        .set_pull_state("acme/shop", 404, "closed", false)
        .is_err());
    assert!(gh
        .sim
        .set_pull_state("acme/shop", 9, "draft", false)
        .is_err());
    let (s, _, _) = gh
        .call(Method::GET, "/repos/acme/shop/pulls/404", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = gh.call(Method::GET, "/repos/acme/shop/pulls/3", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "an issue is not a pull request");
    assert_contract(&gh);
}

#[tokio::test]
async fn preview_deployments_are_transient_and_listed_by_exact_environment() {
    let gh = Gh::start(preview_scenario()).await;
    let deploy = |env: &str, transient: bool| {
        json!({"ref": SHA2, "environment": env, "auto_merge": false, "required_contexts": [],
               "transient_environment": transient, "production_environment": false})
    };
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (s, _, d) = gh
            .call(
                Method::POST,
                "/repos/acme/shop/deployments",
                Some(deploy("preview/pr-7", true)),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        assert_eq!(
            (
                d["transient_environment"].clone(),
                d["production_environment"].clone()
            ),
            (json!(true), json!(false))
        );
        let id = d["id"].as_u64().unwrap();
        let (s, _, st) = gh
            .call(
                Method::POST,
                &format!("/repos/acme/shop/deployments/{id}/statuses"),
                Some(json!({"state": "success", "environment_url": "https://7.example.com"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        assert_eq!(st["environment_url"], "https://7.example.com");
        ids.push(id);
    }
    // Transient: the newer success leaves the older deployment alone.
    let statuses = format!("/repos/acme/shop/deployments/{}/statuses", ids[0]);
    let (_, _, list) = gh.call(Method::GET, &statuses, None).await;
    assert_eq!(list[0]["state"], "success");
    assert_eq!(list[0]["environment_url"], "https://7.example.com");
    // The environment name holds a slash and is matched exactly.
    for q in ["preview/pr-7", "preview%2Fpr-7"] {
        let (_, _, listed) = gh
            .call(
                Method::GET,
                &format!("/repos/acme/shop/deployments?environment={q}"),
                None,
            )
            .await;
        assert_eq!(listed.as_array().map(Vec::len), Some(2), "{q}");
    }
    for q in ["preview", "preview/pr-70", "pr-7"] {
        let (_, _, listed) = gh
            .call(
                Method::GET,
                &format!("/repos/acme/shop/deployments?environment={q}"),
                None,
            )
            .await;
        assert_eq!(listed, json!([]), "{q}");
    }
    // Closing the preview: whoever ends it marks it inactive.
    for id in &ids {
        let (s, _, st) = gh
            .call(
                Method::POST,
                &format!("/repos/acme/shop/deployments/{id}/statuses"),
                Some(json!({"state": "inactive", "description": "PR closed"})),
            )
            .await;
        assert_eq!(
            (s, st["state"].clone()),
            (StatusCode::CREATED, json!("inactive"))
        );
    }
    let (_, _, list) = gh.call(Method::GET, &statuses, None).await;
    assert_eq!(
        (list[0]["state"].clone(), list[1]["state"].clone()),
        (json!("inactive"), json!("success"))
    );

    // Non-transient: a deployment that ever succeeded goes inactive on the next success; one
    // that only failed, and production ones, are left alone.
    let mut staging = Vec::new();
    for (env, state, production) in [
        ("staging", "success", false),
        ("staging", "failure", false),
        ("production", "success", true),
        ("production", "success", true),
        ("staging", "success", false),
    ] {
        let mut body = deploy(env, false);
        body["production_environment"] = json!(production);
        let (_, _, d) = gh
            .call(Method::POST, "/repos/acme/shop/deployments", Some(body))
            .await;
        let id = d["id"].as_u64().unwrap();
        gh.call(
            Method::POST,
            &format!("/repos/acme/shop/deployments/{id}/statuses"),
            Some(json!({"state": state})),
        )
        .await;
        staging.push(id);
    }
    let mut last = Vec::new();
    for id in &staging {
        let path = format!("/repos/acme/shop/deployments/{id}/statuses");
        last.push(gh.call(Method::GET, &path, None).await.2[0]["state"].clone());
    }
    assert_eq!(last[0], "inactive");
    assert_eq!(last[1], "failure");
    assert_eq!(last[2], "success", "production is never auto-inactivated");
    assert_eq!(last[4], "success");
    assert_contract(&gh);
}
