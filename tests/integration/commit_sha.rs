//! `--sha` as people type it: an abbreviated SHA is expanded through the repository before
//! any record or gate compares it; one that names no commit, or several, is refused (exit 2).

use crate::common::{git, repo_with_config, Output, Run};
use stage_gate_sim::Sim;
use std::path::Path;

const TOKEN: &str = "ghs_shortshatesttoken123";

const CONFIG: &str = r#"version: 1
environments:
  staging: {}
  production: { requires: staging }
apps:
  shop:
    environments:
      staging: { command: { run: "echo staging $STAGE_GATE_SHA" } }
      production: { command: { run: "echo production $STAGE_GATE_SHA" } }
"#;

async fn sim() -> Sim {
    let scenario = stage_gate_sim::Scenario::parse("github:\n  repos:\n    - name: acme/shop\n")
        .expect("scenario");
    stage_gate_sim::start(scenario).await.expect("sim")
}

/// The config in a git repository with one commit; its full SHA.
fn repository() -> (tempfile::TempDir, String) {
    let repo = repo_with_config(CONFIG);
    let dir = repo.path();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "."]);
    git(
        dir,
        &[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "-m",
            "one",
        ],
    );
    let head = git(dir, &["rev-parse", "HEAD"]);
    (repo, head)
}

fn run(sim: &Sim, dir: &Path, run_id: &str, args: &[&str]) -> Output {
    let tmp = tempfile::tempdir().unwrap();
    Run::new(dir)
        .actions(tmp.path())
        .env("STAGE_GATE_GITHUB_API_URL", &sim.urls.github)
        .env("STAGE_GATE_REPOSITORY", "acme/shop")
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REF", "refs/heads/main")
        .env("GITHUB_RUN_ID", run_id)
        .args(args)
        .run()
}

/// The `ref` of every Deployment created, in order.
fn deployed_refs(sim: &Sim) -> Vec<String> {
    sim.log()
        .iter()
        .filter(|e| {
            e.vendor == "github" && e.method == "POST" && e.path == "/repos/acme/shop/deployments"
        })
        .filter_map(|e| Some(e.body.as_ref()?["ref"].as_str()?.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abbreviated_sha_is_promoted_as_the_commit_it_names() {
    let sim = sim().await;
    let (repo, head) = repository();
    let out = run(
        &sim,
        repo.path(),
        "1",
        &["deploy", "--env", "staging", "--sha", &head],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let short = &head[..7];
    let out = run(
        &sim,
        repo.path(),
        "2",
        &["promote", "--env", "production", "--sha", short],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    // Production's record names the full commit, as staging's does.
    assert_eq!(deployed_refs(&sim), [head.clone(), head]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abbreviated_sha_that_names_no_commit_or_several_is_refused() {
    let sim = sim().await;
    let (repo, _) = repository();
    // Two commits whose SHAs share `545b834` (the message number is all that differs).
    let [a, b] = [5953, 12132].map(|n| {
        let file = repo.path().join(format!("commit-{n}"));
        std::fs::write(
            &file,
            format!(
                "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor T <t@example.com> 1700000000 +0000\ncommitter T <t@example.com> 1700000000 +0000\n\ncollide {n}\n"
            ),
        )
        .unwrap();
        git(repo.path(), &["hash-object", "-t", "commit", "-w", file.to_str().unwrap()])
    });
    let out = run(
        &sim,
        repo.path(),
        "1",
        &["promote", "--env", "production", "--sha", "545b834"],
    );
    assert_eq!(out.code, 2, "{}", out.all());
    let first = out
        .stderr
        .lines()
        .find(|l| !l.starts_with("::add-mask::"))
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        first,
        format!(
            "::error::--sha `545b834` is ambiguous: 2 commits start with it ({a}, {b}); give more digits, or all 40"
        )
    );
    let out = run(
        &sim,
        repo.path(),
        "2",
        &["deploy", "--env", "staging", "--sha", "0000000"],
    );
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("--sha `0000000` names no commit in this clone"),
        "{}",
        out.stderr
    );
    assert!(deployed_refs(&sim).is_empty(), "nothing is recorded");
}
