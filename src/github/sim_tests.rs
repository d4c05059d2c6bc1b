//! The client against the GitHub simulator: every resource, GitHub's awkward answers, and the
//! retry policy on rate limits.

use super::*;
use crate::http::RetryPolicy;
use stage_gate_sim::github::{RateLimit, RateLimitKind, Scenario};
use std::time::Duration;

const SHA1: &str = "1111111111111111111111111111111111111111";
const SHA2: &str = "2222222222222222222222222222222222222222";

fn seeded() -> Scenario {
    let yaml = format!(
        r#"
repos:
  - name: acme/shop
    commits:
      - {{ sha: "{SHA1}", message: "feat: one" }}
      - {{ sha: "{SHA2}", message: "fix: two (#4)", login: dana }}
    tags: {{ v1.0.0: "{SHA1}" }}
    workflows: [ deploy.yml ]
    pulls: [ {{ number: 4, title: "Fix two", user: dana, head: fix, commits: ["{SHA2}"], merge_commit: "{SHA2}" }} ]
"#
    );
    serde_yaml::from_str(&yaml).expect("scenario")
}

/// The simulators on loopback (kept alive by the returned `Sim`); a client for `acme/shop`.
async fn client(scenario: Scenario) -> (stage_gate_sim::Sim, GitHub) {
    let sim = stage_gate_sim::start(stage_gate_sim::Scenario {
        github: scenario,
        ..Default::default()
    })
    .await
    .unwrap();
    let http = HttpClient::new(Duration::from_secs(10), RetryPolicy::fast()).unwrap();
    let gh = GitHub::new(
        http,
        &sim.urls.github,
        &sim.urls.uploads,
        Secret::new("ghs_clienttoken"),
        "acme/shop",
    )
    .unwrap();
    (sim, gh)
}

#[tokio::test]
async fn release_lifecycle_finds_drafts_by_listing() {
    let (_sim, gh) = client(seeded()).await;
    assert!(gh.release_by_tag("v1.1.0").await.unwrap().is_none());
    let draft = gh
        .create_release(&ReleaseFields {
            tag_name: Some("v1.1.0".into()),
            name: Some("v1.1.0".into()),
            body: Some("notes".into()),
            draft: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    // get-by-tag hides the draft; listing finds it.
    assert!(gh
        .published_release_by_tag("v1.1.0")
        .await
        .unwrap()
        .is_none());
    let found = gh.release_by_tag("v1.1.0").await.unwrap().unwrap();
    assert_eq!(found.id, draft.id);

    let asset = gh
        .upload_asset(
            &draft,
            "app.tar.gz",
            Some("App"),
            "application/gzip",
            b"abc".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(asset.size, 3);
    assert_eq!(asset.label.as_deref(), Some("App"));
    assert!(asset.digest.as_deref().unwrap().starts_with("sha256:"));
    let again = gh
        .upload_asset(
            &draft,
            "app.tar.gz",
            None,
            "application/gzip",
            b"abc".to_vec(),
        )
        .await
        .unwrap_err();
    assert!(again.is_already_exists(), "{again}");

    let published = gh
        .update_release(
            draft.id.0,
            &ReleaseFields {
                draft: Some(false),
                make_latest: Some(MakeLatest::True),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!published.draft);
    assert_eq!(published.assets.len(), 1);
    assert_eq!(gh.latest_release().await.unwrap().unwrap().id, draft.id);
    assert_eq!(gh.get_release(draft.id.0).await.unwrap().tag_name, "v1.1.0");

    gh.delete_asset(asset.id.0).await.unwrap();
    gh.delete_release(draft.id.0).await.unwrap();
    // Deleting twice is fine (a retried DELETE).
    gh.delete_release(draft.id.0).await.unwrap();
    assert!(gh.list_releases().await.unwrap().is_empty());
}

#[tokio::test]
async fn duplicate_create_is_recognisable() {
    let (_sim, gh) = client(seeded()).await;
    let fields = ReleaseFields {
        tag_name: Some("v2.0.0".into()),
        draft: Some(true),
        ..Default::default()
    };
    gh.create_release(&fields).await.unwrap();
    let e = gh.create_release(&fields).await.unwrap_err();
    assert!(e.is_already_exists(), "{e}");
    assert!(e.to_string().contains("tag_name"), "{e}");
    let e = gh
        .create_release(&ReleaseFields::default())
        .await
        .unwrap_err();
    assert!(matches!(e, GithubError::Invalid(_)));
}

#[tokio::test]
async fn primary_rate_limit_is_waited_out_when_it_resets_soon() {
    let mut sc = seeded();
    sc.rate_limits = vec![RateLimit {
        path: Some("/releases".into()),
        reset_in_secs: 0,
        ..Default::default()
    }];
    let (_sim, gh) = client(sc).await;
    // 403 + x-ratelimit-remaining: 0 + a reset in the past-or-now: retried, then answered.
    let releases = gh.list_releases().await.unwrap();
    assert!(releases.is_empty());
}

#[tokio::test]
async fn rate_limit_resetting_later_than_the_bound_fails_clearly() {
    let mut sc = seeded();
    sc.rate_limits = vec![RateLimit {
        reset_in_secs: 3600,
        times: 0,
        ..Default::default()
    }];
    let (_sim, gh) = client(sc).await;
    let e = gh.list_tags().await.unwrap_err();
    assert!(
        matches!(e, GithubError::RateLimited { status: 403, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("rate limit"), "{e}");
}

#[tokio::test]
async fn secondary_limit_on_a_post_is_retried_because_nothing_happened() {
    let mut sc = seeded();
    sc.rate_limits = vec![RateLimit {
        status: 429,
        kind: RateLimitKind::Secondary,
        method: Some("POST".into()),
        retry_after: Some(0),
        ..Default::default()
    }];
    let (_sim, gh) = client(sc).await;
    let created = gh
        .create_release(&ReleaseFields {
            tag_name: Some("v3".into()),
            draft: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(gh.releases_for_tag("v3").await.unwrap().len(), 1);
    assert_eq!(created.tag_name, "v3");
}

#[tokio::test]
async fn bad_token_is_an_api_error_naming_the_operation() {
    let mut sc = seeded();
    sc.tokens = vec!["another".into()];
    let (_sim, gh) = client(sc).await;
    let e = gh.list_releases().await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert_eq!(
        e.to_string(),
        "list releases: GitHub answered 401: Bad credentials"
    );
}

#[tokio::test]
async fn tag_refs_are_created_once_and_never_moved() {
    let (_sim, gh) = client(seeded()).await;
    assert!(matches!(
        gh.ensure_tag_ref("v2.0.0", SHA2).await.unwrap(),
        TagRef::Created(_)
    ));
    let again = gh.ensure_tag_ref("v2.0.0", SHA2).await.unwrap();
    assert!(matches!(again, TagRef::Existed(_)));
    assert_eq!(object_sha(&again.git_ref().object), SHA2);
    let e = gh.ensure_tag_ref("v1.0.0", SHA2).await.unwrap_err();
    assert!(e.to_string().contains("never moves a tag"), "{e}");
    assert!(gh.get_ref("tags/nope").await.unwrap().is_none());
    let moved = gh.update_ref("tags/v2.0.0", SHA1, true).await.unwrap();
    assert_eq!(object_sha(&moved.object), SHA1);
    let tags: Vec<String> = gh
        .list_tags()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(tags, vec!["v2.0.0", "v1.0.0"]);
}

#[tokio::test]
async fn lists_follow_link_paging() {
    let mut sc = seeded();
    for i in 0..130 {
        sc.repos[0]
            .tags
            .insert(format!("t{i:03}"), SHA1.to_string());
    }
    let (_sim, gh) = client(sc).await;
    assert_eq!(gh.list_tags().await.unwrap().len(), 131);
}

#[tokio::test]
async fn deployments_with_statuses() {
    let (_sim, gh) = client(seeded()).await;
    let mut new = NewDeployment::new(SHA2, "staging");
    new.payload = serde_json::json!({"app": "web"});
    let d = gh.create_deployment(&new).await.unwrap();
    assert_eq!(d.environment, "staging");
    assert_eq!(d.sha, SHA2);
    let mut status = NewDeploymentStatus::new(DeploymentStatusState::Success);
    status.description = Some("x".repeat(200));
    status.environment_url = Some("https://staging.example.com".into());
    let st = gh.create_deployment_status(d.id.0, &status).await.unwrap();
    assert_eq!(st.state, DeploymentStatusState::Success);
    assert_eq!(st.description.unwrap().chars().count(), 140);
    let listed = gh
        .list_deployments(
            &DeploymentFilter {
                environment: Some("staging".into()),
                ..Default::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(gh.get_deployment(d.id.0).await.unwrap().id, d.id);
    assert_eq!(gh.list_deployment_statuses(d.id.0).await.unwrap().len(), 1);
    let e = gh
        .create_deployment(&NewDeployment::new("no-such-ref", "staging"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("No ref found"), "{e}");
}

#[tokio::test]
async fn dispatch_reports_the_run() {
    let (_sim, gh) = client(seeded()).await;
    let mut inputs = std::collections::BTreeMap::new();
    inputs.insert("version".to_string(), "1.0.0".to_string());
    let run = gh
        .dispatch_workflow("deploy.yml", "main", &inputs)
        .await
        .unwrap()
        .unwrap();
    assert!(run.html_url.contains("/actions/runs/"));
    let e = gh
        .dispatch_workflow("missing.yml", "main", &inputs)
        .await
        .unwrap_err();
    assert!(e.is_not_found());
    let many = (0..26)
        .map(|i| (format!("k{i}"), "v".to_string()))
        .collect();
    let e = gh
        .dispatch_workflow("deploy.yml", "main", &many)
        .await
        .unwrap_err();
    assert!(matches!(e, GithubError::Invalid(_)), "{e}");
}

#[tokio::test]
async fn commits_compare_pulls_and_notes() {
    let (_sim, gh) = client(seeded()).await;
    let c = gh.get_commit("v1.0.0").await.unwrap();
    assert_eq!(c.sha, SHA1);
    let cmp = gh.compare("v1.0.0", SHA2).await.unwrap();
    assert_eq!((cmp.status.as_str(), cmp.ahead_by), ("ahead", 1));
    assert_eq!(cmp.commits[0].commit.message, "fix: two (#4)");
    let pulls = gh.pulls_for_commit(SHA2).await.unwrap();
    assert_eq!(pulls[0].number, 4);
    assert_eq!(pulls[0].user.as_ref().unwrap().login, "dana");
    let notes = gh
        .generate_notes("v1.1.0", Some("main"), Some("v1.0.0"))
        .await
        .unwrap();
    assert_eq!(notes.name, "v1.1.0");
    assert!(notes.body.contains("Fix two by @dana"), "{}", notes.body);
}

#[tokio::test]
async fn every_call_sends_githubs_headers_and_a_masked_token() {
    let (sim, gh) = client(seeded()).await;
    gh.list_releases().await.unwrap();
    let draft = gh
        .create_release(&ReleaseFields {
            tag_name: Some("v9".into()),
            draft: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    gh.upload_asset(&draft, "a.txt", None, "text/plain", b"a".to_vec())
        .await
        .unwrap();
    let log = sim.log();
    let lines: Vec<String> = log.iter().map(|e| e.line()).collect();
    assert_eq!(
        lines,
        vec![
            "GET /repos/acme/shop/releases?per_page=100".to_string(),
            "POST /repos/acme/shop/releases".to_string(),
            format!(
                "POST /repos/acme/shop/releases/{}/assets?name=a.txt",
                draft.id
            ),
        ]
    );
    for e in &log {
        assert_eq!(e.headers["accept"], MEDIA_TYPE);
        assert_eq!(e.headers["x-github-api-version"], API_VERSION);
        assert_eq!(e.headers["authorization"], "Bearer ***");
    }
    assert_eq!(log[1].body.as_ref().unwrap()["draft"], true);
    assert_eq!(log[2].headers["content-type"], "text/plain");
}

#[tokio::test]
async fn server_errors_are_retried_for_reads_only() {
    let (sim, gh) = client(seeded()).await;
    let fault = |method: &str, path: &str, times| stage_gate_sim::Fault {
        vendor: Some("github".into()),
        method: Some(method.into()),
        path: path.into(),
        status: Some(502),
        times: Some(times),
        ..Default::default()
    };
    sim.inject(fault("GET", "/repos/acme/shop/tags", 2));
    assert_eq!(gh.list_tags().await.unwrap().len(), 1);
    // A create that may have reached GitHub is never repeated: a second one could make a
    // second release.
    sim.inject(fault("POST", "/repos/acme/shop/releases", 1));
    let e = gh
        .create_release(&ReleaseFields {
            tag_name: Some("v5".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(502));
    let posts = sim
        .calls("github")
        .into_iter()
        .filter(|c| c.starts_with("POST"))
        .count();
    assert_eq!(posts, 1);
}

/// Both directions of the contract: every request the client sent is an operation of
/// `tests/fixtures/specs/github-subset.openapi.json` (or the one real endpoint outside the
/// subset), and every JSON body it sent fits that operation's request schema — required
/// fields present, no field the spec does not declare, enum values known.
#[tokio::test]
async fn requests_match_the_spec() {
    let (sim, gh) = client(seeded()).await;
    let draft = gh
        .create_release(&ReleaseFields {
            tag_name: Some("v1.1.0".into()),
            target_commitish: Some(SHA2.into()),
            name: Some("v1.1.0".into()),
            body: Some("notes".into()),
            draft: Some(true),
            prerelease: Some(false),
            make_latest: None,
        })
        .await
        .unwrap();
    let asset = gh
        .upload_asset(&draft, "a.zip", Some("A"), "application/zip", b"z".to_vec())
        .await
        .unwrap();
    gh.delete_asset(asset.id.0).await.unwrap();
    gh.update_release(
        draft.id.0,
        &ReleaseFields {
            draft: Some(false),
            make_latest: Some(MakeLatest::Legacy),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    gh.published_release_by_tag("v1.1.0").await.unwrap();
    gh.latest_release().await.unwrap();
    gh.generate_notes("v1.1.0", Some("main"), Some("v1.0.0"))
        .await
        .unwrap();
    let d = gh
        .create_deployment(&NewDeployment::new(SHA2, "staging"))
        .await
        .unwrap();
    let mut st = NewDeploymentStatus::new(DeploymentStatusState::InProgress);
    st.log_url = Some("https://example.com/log".into());
    st.environment_url = Some("https://staging.example.com".into());
    st.description = Some("deploying".into());
    st.auto_inactive = Some(true);
    gh.create_deployment_status(d.id.0, &st).await.unwrap();
    gh.list_deployment_statuses(d.id.0).await.unwrap();
    gh.list_deployments(
        &DeploymentFilter {
            sha: Some(SHA2.into()),
            environment: Some("staging".into()),
            ..Default::default()
        },
        5,
    )
    .await
    .unwrap();
    gh.get_deployment(d.id.0).await.unwrap();
    let mut inputs = std::collections::BTreeMap::new();
    inputs.insert("version".to_string(), "1.1.0".to_string());
    gh.dispatch_workflow("deploy.yml", "main", &inputs)
        .await
        .unwrap();
    gh.ensure_tag_ref("v2.0.0", SHA2).await.unwrap();
    gh.update_ref("tags/v2.0.0", SHA1, true).await.unwrap();
    gh.list_tags().await.unwrap();
    gh.compare("v1.0.0", SHA2).await.unwrap();
    gh.get_commit(SHA2).await.unwrap();
    gh.pulls_for_commit(SHA2).await.unwrap();
    gh.delete_release(draft.id.0).await.unwrap();

    let spec = spec();
    let mut problems = Vec::new();
    let log = sim.log();
    assert!(log.len() >= 20, "{}", log.len());
    for e in &log {
        let Some((template, op)) = operation(&spec, &e.method, &e.path) else {
            if !(e.method == "DELETE" && e.path.contains("/releases/assets/")) {
                problems.push(format!(
                    "{} {}: not an operation of the spec",
                    e.method, e.path
                ));
            }
            continue;
        };
        if let (Some(schema), Some(body)) = (stage_gate_sim::contract::request_schema(op), &e.body)
        {
            let at = format!("{} {template}", e.method);
            problems.extend(stage_gate_sim::contract::problems(&spec, schema, body, &at));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn spec() -> serde_json::Value {
    let name = "github-subset.openapi.json";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/specs")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The spec operation for a concrete path; `{ref}` of the git ref routes spans slashes.
fn operation<'a>(
    spec: &'a serde_json::Value,
    method: &str,
    path: &str,
) -> Option<(&'a str, &'a serde_json::Value)> {
    let want: Vec<&str> = path.split('/').collect();
    spec["paths"]
        .as_object()?
        .iter()
        .find_map(|(template, item)| {
            let parts: Vec<&str> = template.split('/').collect();
            let slashy =
                template.ends_with("/git/ref/{ref}") || template.ends_with("/git/refs/{ref}");
            let same = if slashy {
                want.len() >= parts.len()
                    && parts[..parts.len() - 1]
                        .iter()
                        .zip(&want)
                        .all(|(t, w)| t.starts_with('{') || t == w)
            } else {
                parts.len() == want.len()
                    && parts
                        .iter()
                        .zip(&want)
                        .all(|(t, w)| (t.starts_with('{') && !w.is_empty()) || t == w)
            };
            let op = &item[method.to_ascii_lowercase()];
            (same && op.is_object()).then_some((template.as_str(), op))
        })
}
