//! Production runs the exact bytes staging proved (issue 26): the README's Quick start as a
//! story against the simulators — staging built by flyctl (its stand-in, `sim/flyctl`), a
//! release tag promoted with no image and no flyctl — and each refusal of the promise.

use crate::common::{git, repo_with_config, Output, Run};
use serde_json::Value;
use stage_gate_sim::{Scenario, Sim};
use std::path::{Path, PathBuf};

const GH_TOKEN: &str = "ghs_promotetesttoken123";
const FLY_TOKEN: &str = "fly_promotetesttoken456";

/// The Quick start's config: staging from main, production on a release tag.
const QUICK_START: &str = r#"version: 1
environments:
  staging: { branches: [main] }
  production: { requires: staging, tags: ["v*.*.*"] }
apps:
  web:
    environments:
      staging:
        fly: { config: fly.staging.toml }
      production:
        fly: { config: fly.toml, strategy: bluegreen }
"#;

const FLY_TOML: &str = r#"app = "web"
primary_region = "ams"

[http_service]
  internal_port = 8080
  force_https = true

  [[http_service.checks]]
    path = "/healthz"
    interval = "15s"
    timeout = "2s"
"#;

fn scenario(extra_fly: &str) -> Scenario {
    Scenario::parse(&scenario_yaml(extra_fly)).expect("scenario")
}

fn scenario_yaml(extra_fly: &str) -> String {
    format!(
        r#"
fly:
  token: {FLY_TOKEN}
{extra_fly}
  apps:
    - name: web-staging
      org: acme
      image: registry.fly.io/web-staging:deployment-0
      machines: [{{id: s1, region: ams}}, {{id: s2, region: ams}}]
    - name: web
      org: acme
      image: registry.fly.io/web:old
      machines: [{{id: p1, region: ams}}, {{id: p2, region: ams}}]
    - name: api-staging
      org: acme
      machines: [{{id: as1}}]
    - name: api
      org: acme
      machines: [{{id: ap1}}]
    - name: jobs-staging
      org: acme
      machines: [{{id: js1}}]
    - name: jobs
      org: acme
      machines: [{{id: jp1}}]
github:
  repos:
    - name: acme/web
"#
    )
}

/// A git repository with the config, both fly.toml files and one commit tagged `v1.0.0`.
fn repository(config: &str) -> (tempfile::TempDir, String) {
    let repo = repo_with_config(config);
    std::fs::write(repo.path().join("fly.toml"), FLY_TOML).unwrap();
    std::fs::write(
        repo.path().join("fly.staging.toml"),
        FLY_TOML.replace("app = \"web\"", "app = \"web-staging\""),
    )
    .unwrap();
    for app in ["api", "jobs"] {
        std::fs::write(
            repo.path().join(format!("fly.{app}.toml")),
            format!("app = \"{app}\"\n"),
        )
        .unwrap();
        std::fs::write(
            repo.path().join(format!("fly.{app}-staging.toml")),
            format!("app = \"{app}-staging\"\n"),
        )
        .unwrap();
    }
    git(repo.path(), &["init", "-q", "-b", "main"]);
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "feat: first"]);
    let sha = git(repo.path(), &["rev-parse", "HEAD"]);
    git(repo.path(), &["tag", "v1.0.0"]);
    (repo, sha)
}

/// A folder holding `flyctl`: the stand-in (see [`crate::common::flyctl_standin`]).
fn flyctl_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::common::flyctl_standin(dir.path(), "");
    dir
}

/// PATH without any flyctl: the production job of the Quick start has none.
fn path_without_flyctl() -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|d| !d.join("flyctl").exists() && !d.join("fly").exists())
        .collect();
    std::env::join_paths(dirs)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

struct Job<'a> {
    sim: &'a Sim,
    dir: &'a Path,
    git_ref: &'a str,
    sha: &'a str,
    run_id: &'a str,
    flyctl: Option<&'a Path>,
}

impl Job<'_> {
    fn run(&self, args: &[&str]) -> Output {
        let tmp = tempfile::tempdir().unwrap();
        let path = match self.flyctl {
            Some(dir) => format!("{}:{}", dir.display(), path_without_flyctl()),
            None => path_without_flyctl(),
        };
        let out = Run::new(self.dir)
            .actions(tmp.path())
            .env("PATH", &path)
            .env("STAGE_GATE_GITHUB_API_URL", &self.sim.urls.github)
            .env("STAGE_GATE_FLY_API_URL", &self.sim.urls.fly)
            .env("STAGE_GATE_REPOSITORY", "acme/web")
            .env("GITHUB_TOKEN", GH_TOKEN)
            .env("FLY_API_TOKEN", FLY_TOKEN)
            .env("GITHUB_SHA", self.sha)
            .env("GITHUB_REF", self.git_ref)
            .env("GITHUB_RUN_ID", self.run_id)
            .args(args)
            .run();
        let shown = out
            .all()
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            !shown.contains(GH_TOKEN) && !shown.contains(FLY_TOKEN),
            "a token leaked:\n{shown}"
        );
        out
    }
}

async fn machines(sim: &Sim, app: &str) -> Vec<Value> {
    let v: Value = reqwest::Client::new()
        .get(format!("{}/v1/apps/{app}/machines", sim.urls.fly))
        .header("Authorization", format!("Bearer {FLY_TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v.as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m["state"] != "destroyed")
        .collect()
}

/// The digests an app's machines run.
async fn digests(sim: &Sim, app: &str) -> Vec<String> {
    let mut d: Vec<String> = machines(sim, app)
        .await
        .iter()
        .map(|m| m["image_ref"]["digest"].as_str().unwrap_or("").to_string())
        .collect();
    d.sort();
    d.dedup();
    d
}

fn deployment_creates(sim: &Sim) -> usize {
    sim.calls("github")
        .iter()
        .filter(|c| c.starts_with("POST /repos/acme/web/deployments") && !c.contains("/statuses"))
        .count()
}

/// Staging on a push to main, through flyctl (the stand-in builds a new image).
fn deploy_staging(sim: &Sim, dir: &Path, sha: &str, flyctl: &Path) -> Output {
    let out = Job {
        sim,
        dir,
        git_ref: "refs/heads/main",
        sha,
        run_id: "1",
        flyctl: Some(flyctl),
    }
    .run(&["deploy", "--env", "staging"]);
    assert_eq!(out.code, 0, "{}", out.all());
    out
}

/// The Quick start with `v1.0.0` tagged and staging deployed through flyctl (its stand-in):
/// where most promotion tests start.
struct Staged {
    sim: Sim,
    repo: tempfile::TempDir,
    sha: String,
    /// Kept: the folder holding flyctl lives as long as the test.
    _flyctl: tempfile::TempDir,
}

async fn staged(scenario: Scenario) -> Staged {
    let sim = stage_gate_sim::start(scenario).await.unwrap();
    let (repo, sha) = repository(QUICK_START);
    let flyctl = flyctl_dir();
    deploy_staging(&sim, repo.path(), &sha, flyctl.path());
    Staged {
        sim,
        repo,
        sha,
        _flyctl: flyctl,
    }
}

impl Staged {
    /// The production job on tag `v1.0.0`, which has no flyctl.
    fn production(&self, run_id: &'static str) -> Job<'_> {
        Job {
            sim: &self.sim,
            dir: self.repo.path(),
            git_ref: "refs/tags/v1.0.0",
            sha: &self.sha,
            run_id,
            flyctl: None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quick_start_promotes_the_digest_staging_ran_without_flyctl() {
    let sim = stage_gate_sim::start(scenario("")).await.unwrap();
    let (repo, sha) = repository(QUICK_START);
    let flyctl = flyctl_dir();
    let seeded = digests(&sim, "web-staging").await;
    let staged = deploy_staging(&sim, repo.path(), &sha, flyctl.path());
    let staging = digests(&sim, "web-staging").await;
    assert_eq!(staging.len(), 1, "{staging:?}");
    assert_ne!(staging, seeded, "flyctl built and deployed a new image");
    assert!(
        staged.summary.contains("mode: flyctl"),
        "{}",
        staged.summary
    );
    println!("{}\n{}", staged.stderr, staged.summary);
    let artifact = format!("registry.fly.io/web-staging@{}", staging[0]);
    assert_eq!(staged.output("image").as_deref(), Some(artifact.as_str()));

    // The dry run says which artifact production would get, and from which record.
    let job = Job {
        sim: &sim,
        dir: repo.path(),
        git_ref: "refs/tags/v1.0.0",
        sha: &sha,
        run_id: "2",
        flyctl: None,
    };
    let dry = job.run(&["promote", "--to", "production", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.all());
    assert!(
        dry.all().contains(&format!(
            "artifact: `production` gets {artifact}, which `staging` ran in deployment"
        )),
        "{}",
        dry.all()
    );

    println!("{}", dry.all());
    let out = job.run(&["promote", "--to", "production"]);
    assert_eq!(out.code, 0, "{}", out.all());
    println!("{}\n{}", out.stderr, out.summary);
    assert_eq!(
        digests(&sim, "web").await,
        staging,
        "production runs staging's bytes"
    );
    assert_eq!(out.output("image").as_deref(), Some(artifact.as_str()));
    assert!(
        out.summary.contains(&format!(
            "| `staging` ran | `production` runs |\n|---|---|\n| `{artifact}` | `{artifact}` |"
        )),
        "{}",
        out.summary
    );
    // Bluegreen greens were created on the digest reference, never a tag.
    for m in machines(&sim, "web").await {
        assert_eq!(m["config"]["image"], artifact.as_str(), "{m}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_moved_between_staging_and_production_does_not_change_what_production_gets() {
    // Every tag moves after the staging deploy's resolutions: a rebuild of `:latest`, say.
    let s = staged(scenario("  registry: {move_tags_after: 2}")).await;
    let staging = digests(&s.sim, "web-staging").await;
    assert_eq!(staging.len(), 1, "staging runs one image: {staging:?}");
    let out = s.production("2").run(&["promote", "--to", "production"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(digests(&s.sim, "web").await, staging);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_image_that_is_not_the_proven_one_closes_the_gate() {
    let s = staged(scenario("")).await;
    let before = deployment_creates(&s.sim);
    let out = s.production("2").run(&[
        "promote",
        "--to",
        "production",
        "--image",
        "registry.fly.io/web:v1.0.0",
    ]);
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr
            .contains("the image differs: `staging` proved registry.fly.io/web-staging@sha256:")
            && out
                .stderr
                .contains("but this deploy would ship registry.fly.io/web:v1.0.0"),
        "{}",
        out.stderr
    );
    assert_eq!(
        deployment_creates(&s.sim),
        before,
        "no record for a refused promotion"
    );
    assert_eq!(digests(&s.sim, "web").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_tag_after_a_newer_release_is_refused_before_any_call() {
    let sim = stage_gate_sim::start(scenario("")).await.unwrap();
    let (repo, _) = repository(QUICK_START);
    git(
        repo.path(),
        &["commit", "-q", "--allow-empty", "-m", "feat: two"],
    );
    git(repo.path(), &["tag", "v0.9.9"]);
    let sha = git(repo.path(), &["rev-parse", "HEAD"]);
    let out = Job {
        sim: &sim,
        dir: repo.path(),
        git_ref: "refs/tags/v0.9.9",
        sha: &sha,
        run_id: "3",
        flyctl: None,
    }
    .run(&["promote", "--to", "production"]);
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr.contains("tag `v0.9.9` refused"),
        "{}",
        out.stderr
    );
    assert!(sim.calls("github").iter().all(|c| !c.starts_with("POST")));
    assert!(sim.calls("fly").is_empty(), "{:?}", sim.calls("fly"));
}

const THREE_APPS: &str = r#"version: 1
environments:
  staging: {}
  production: { requires: staging }
apps:
  web:
    environments:
      staging: { fly: { config: fly.staging.toml } }
      production: { fly: { config: fly.toml } }
  api:
    environments:
      staging: { fly: { config: fly.api-staging.toml, image: "registry.fly.io/api-staging:v2" } }
      production: { fly: { config: fly.api.toml } }
  jobs:
    environments:
      staging: { fly: { config: fly.jobs-staging.toml, image: "registry.fly.io/jobs-staging:v2" } }
      production: { fly: { config: fly.jobs.toml } }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_closed_gate_of_three_apps_deploys_nothing() {
    let sim = stage_gate_sim::start(scenario("")).await.unwrap();
    let (repo, sha) = repository(THREE_APPS);
    let flyctl = flyctl_dir();
    // web and api reach staging; jobs does not.
    for app in ["web", "api"] {
        let out = Job {
            sim: &sim,
            dir: repo.path(),
            git_ref: "refs/heads/main",
            sha: &sha,
            run_id: "1",
            flyctl: Some(flyctl.path()),
        }
        .run(&["deploy", "--env", "staging", "--app", app]);
        assert_eq!(out.code, 0, "{}", out.all());
    }
    let before = deployment_creates(&sim);
    let prod_before = (digests(&sim, "web").await, digests(&sim, "api").await);
    let job = Job {
        sim: &sim,
        dir: repo.path(),
        git_ref: "refs/heads/main",
        sha: &sha,
        run_id: "2",
        flyctl: None,
    };
    let out = job.run(&["promote", "--to", "production"]);
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.all().contains("`jobs` cannot go to `production`")
            || out.all().contains("jobs` has no deployment"),
        "{}",
        out.all()
    );
    assert!(
        out.all().contains("a release is all or nothing"),
        "{}",
        out.all()
    );
    assert_eq!(deployment_creates(&sim), before, "no record was made");
    assert_eq!(
        (digests(&sim, "web").await, digests(&sim, "api").await),
        prod_before,
        "nothing was deployed"
    );
    // `--app` narrows the release to what is ready.
    let out = job.run(&["promote", "--to", "production", "--app", "api"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        digests(&sim, "api").await,
        digests(&sim, "api-staging").await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_token_is_exit_2_and_creates_no_record() {
    let sim = stage_gate_sim::start(scenario("")).await.unwrap();
    let (repo, sha) = repository(QUICK_START);
    let flyctl = flyctl_dir();
    let tmp = tempfile::tempdir().unwrap();
    let out = Run::new(repo.path())
        .actions(tmp.path())
        .env(
            "PATH",
            &format!("{}:{}", flyctl.path().display(), path_without_flyctl()),
        )
        .env("STAGE_GATE_GITHUB_API_URL", &sim.urls.github)
        .env("STAGE_GATE_FLY_API_URL", &sim.urls.fly)
        .env("STAGE_GATE_REPOSITORY", "acme/web")
        .env("GITHUB_TOKEN", GH_TOKEN)
        .env("GITHUB_SHA", &sha)
        .env("GITHUB_REF", "refs/heads/main")
        .args(["deploy", "--env", "staging"])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("no Fly token: set FLY_API_TOKEN"),
        "{}",
        out.stderr
    );
    assert_eq!(deployment_creates(&sim), 0);
    assert!(sim.calls("fly").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_without_an_artifact_is_refused_with_the_fix_unless_rebuild_is_allowed() {
    let sim = stage_gate_sim::start(scenario("")).await.unwrap();
    let (repo, sha) = repository(QUICK_START);
    // A staging record as an older stage-gate made it: no artifact in its payload or status.
    let gh = reqwest::Client::new();
    let d: Value = gh
        .post(format!("{}/repos/acme/web/deployments", sim.urls.github))
        .bearer_auth(GH_TOKEN)
        .json(&serde_json::json!({
            "ref": sha, "environment": "staging", "auto_merge": false, "required_contexts": [],
            "payload": {"app": "web", "sha": sha, "provider": "fly"}
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    gh.post(format!(
        "{}/repos/acme/web/deployments/{}/statuses",
        sim.urls.github, d["id"]
    ))
    .bearer_auth(GH_TOKEN)
    .json(&serde_json::json!({"state": "success", "description": "deployed"}))
    .send()
    .await
    .unwrap();
    let job = Job {
        sim: &sim,
        dir: repo.path(),
        git_ref: "refs/tags/v1.0.0",
        sha: &sha,
        run_id: "2",
        flyctl: None,
    };
    let before = deployment_creates(&sim);
    let out = job.run(&["promote", "--to", "production"]);
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr.contains("records no artifact")
            && out
                .stderr
                .contains("`allow-rebuild: true` under environments.production"),
        "{}",
        out.stderr
    );
    assert_eq!(deployment_creates(&sim), before);

    // Allowed on purpose: flyctl builds, and the summary says so.
    std::fs::write(
        repo.path().join(".github/stage-gate.yml"),
        QUICK_START.replace(
            "production: { requires: staging,",
            "production: { requires: staging, allow-rebuild: true,",
        ),
    )
    .unwrap();
    let flyctl = flyctl_dir();
    let out = Job {
        flyctl: Some(flyctl.path()),
        ..job
    }
    .run(&["promote", "--to", "production"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.summary.contains("built anew (allow-rebuild)"),
        "{}",
        out.summary
    );
}

#[test]
fn the_plan_says_what_each_environment_ships() {
    let (repo, _) = repository(QUICK_START);
    let out = Run::new(repo.path())
        .args(["plan", "--env", "production"])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains(
            "ships: the artifact `staging` ran for the commit (its latest successful deployment, read when deploying); refused when that record names none"
        ),
        "{}",
        out.stdout
    );
    let out = Run::new(repo.path())
        .args(["plan", "--env", "staging"])
        .run();
    assert!(
        out.stdout
            .contains("ships: fly.toml's [build] image, else a new build with flyctl"),
        "{}",
        out.stdout
    );
}

/// A job with `environment: staging` makes GitHub create a Deployment of its own (no
/// payload, unless the job says `deployment: false`): the gate reads only stage-gate's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_ignores_githubs_automatic_deployments() {
    let s = staged(scenario("")).await;
    // GitHub's own record of the job, newer than stage-gate's, for another commit, failed.
    let gh = reqwest::Client::new();
    let d: Value = gh
        .post(format!("{}/repos/acme/web/deployments", s.sim.urls.github))
        .bearer_auth(GH_TOKEN)
        .json(&serde_json::json!({
            "ref": "main", "environment": "staging", "auto_merge": false,
            "required_contexts": [], "payload": {}
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    gh.post(format!(
        "{}/repos/acme/web/deployments/{}/statuses",
        s.sim.urls.github, d["id"]
    ))
    .bearer_auth(GH_TOKEN)
    .json(&serde_json::json!({"state": "failure"}))
    .send()
    .await
    .unwrap();
    let out = s.production("2").run(&["promote", "--to", "production"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        digests(&s.sim, "web").await,
        digests(&s.sim, "web-staging").await
    );
}

/// A patch of an older line (v1.0.1 on `release/1.0` after v1.1.0) is a valid release, but
/// deploying it would take production back a line: refused before any call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maintenance_release_does_not_take_production_back() {
    let sim = stage_gate_sim::start(scenario("")).await.unwrap();
    let config = format!("release:\n  branches: [\"release/*\"]\n{QUICK_START}");
    let (repo, _) = repository(&config);
    git(repo.path(), &["branch", "release/1.0"]);
    git(
        repo.path(),
        &["commit", "-q", "--allow-empty", "-m", "feat: two"],
    );
    git(repo.path(), &["tag", "v1.1.0"]);
    git(repo.path(), &["checkout", "-q", "release/1.0"]);
    git(
        repo.path(),
        &["commit", "-q", "--allow-empty", "-m", "fix: one"],
    );
    git(repo.path(), &["tag", "v1.0.1"]);
    let sha = git(repo.path(), &["rev-parse", "HEAD"]);
    let out = Job {
        sim: &sim,
        dir: repo.path(),
        git_ref: "refs/tags/v1.0.1",
        sha: &sha,
        run_id: "4",
        flyctl: None,
    }
    .run(&["promote", "--env", "production"]);
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr
            .contains("tag `v1.0.1` is a release of an older line than v1.1.0"),
        "{}",
        out.stderr
    );
    assert!(sim.calls("fly").is_empty());
}

/// `--format json` of a promotion is the typed result: its schema version, and a document
/// the committed JSON Schema (`docs/schemas/deploy-result.json`) accepts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_result_carries_its_schema_and_matches_it() {
    let s = staged(scenario("")).await;
    let out = s
        .production("2")
        .run(&["promote", "--env", "production", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let doc: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(doc["schema"], "stage-gate/deploy/v1");
    assert_eq!(doc["targets"][0]["proven"]["environment"], "staging");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/schemas/deploy-result.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource("deploy-result.json", schema).unwrap();
    let index = compiler
        .compile("deploy-result.json", &mut schemas)
        .expect("the schema compiles");
    if let Err(e) = schemas.validate(&doc, index) {
        panic!("the result does not match its schema: {e:#}\n{doc:#}");
    }
}

/// Production in another Fly organisation than staging cannot pull staging's repository:
/// the deploy fails (exit 4) saying why and what to do, and production is left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_production_app_in_another_organisation_is_told_why_it_cannot_pull() {
    let yaml = scenario_yaml("").replacen(
        "name: web\n      org: acme",
        "name: web\n      org: other",
        1,
    );
    let s = staged(Scenario::parse(&yaml).unwrap()).await;
    let before = digests(&s.sim, "web").await;
    let out = s.production("2").run(&["promote", "--env", "production"]);
    assert_eq!(out.code, 4, "{}", out.all());
    assert!(
        out.stderr.contains("Fly could not pull the image")
            && out
                .stderr
                .contains("keep the proving and the production app in one organisation"),
        "{}",
        out.stderr
    );
    assert_eq!(digests(&s.sim, "web").await, before);
}

/// A release tag deploys its own commit: a `--sha` of another commit on a tag ref is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_ref_deploys_the_tags_commit_only() {
    let sim = stage_gate_sim::start(scenario("")).await.unwrap();
    let (repo, first) = repository(QUICK_START);
    git(
        repo.path(),
        &["commit", "-q", "--allow-empty", "-m", "feat: two"],
    );
    git(repo.path(), &["tag", "v1.1.0"]);
    let out = Job {
        sim: &sim,
        dir: repo.path(),
        git_ref: "refs/tags/v1.1.0",
        sha: &first,
        run_id: "5",
        flyctl: None,
    }
    .run(&["promote", "--env", "production"]);
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr.contains("tag `v1.1.0` names commit")
            && out
                .stderr
                .contains(&format!("but this run deploys {}", &first[..7])),
        "{}",
        out.stderr
    );
    assert!(sim.calls("fly").is_empty());
}

/// What a user reads after a promotion, word for word: the human text, the step summary and
/// the JSON (times, ids, ports and digests made stable).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_promotion_prints_snapshot() {
    let s = staged(scenario("")).await;
    let job = s.production("2");
    let human = job.run(&["promote", "--env", "production", "--format", "human"]);
    assert_eq!(human.code, 0, "{}", human.all());
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"sha256:[0-9a-f]{64}", "sha256:[digest]");
    settings.add_filter(&s.sha, "[sha]");
    settings.add_filter(&s.sha[..12], "[sha12]");
    settings.add_filter(&s.sha[..7], "[sha7]");
    settings.add_filter(r"\b[0-9a-f]{14}\b", "[machine]");
    settings.add_filter(r"\b01[0-9A-Z]{24}\b", "[version]");
    // Green machines get random ids, so the two blues are listed in either order.
    settings.add_filter(r"\bp[12]@", "p[n]@");
    settings.add_filter(r"\d+\.\d+s\b", "[t]s");
    settings.add_filter(r#""millis": \d+"#, r#""millis": [ms]"#);
    settings.add_filter(r"127\.0\.0\.1:\d+", "[sim]");
    settings.add_filter(r"deployment 10\d\d", "deployment [id]");
    settings.add_filter(r#""deployment_id": \d+"#, r#""deployment_id": [id]"#);
    settings.add_filter(r"deployment-[0-9A-Z]{26}", "deployment-[build]");
    settings.add_filter(r#""deployment-id": "\d+""#, r#""deployment-id": "[id]""#);
    settings.bind(|| {
        insta::assert_snapshot!("promotion_human", human.stdout.trim());
        insta::assert_snapshot!("promotion_summary", human.summary.trim());
    });
    // A second promotion of the same commit changes nothing: its JSON, stable.
    let json =
        Job { run_id: "3", ..job }.run(&["promote", "--env", "production", "--format", "json"]);
    assert_eq!(json.code, 0, "{}", json.all());
    settings.bind(|| insta::assert_snapshot!("promotion_json", json.stdout.trim()));
}
