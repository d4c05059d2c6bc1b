//! `stage-gate release` against the GitHub simulator: create, re-run, a create that loses
//! a race (422), N concurrent matrix jobs, an asset name clash, rate limits, immutable
//! releases, notes failing before anything is sent, dry runs and the default-token warning.

use crate::common::{Output, Run};
use stage_gate::github::{GitHub, Release};
use stage_gate::http::{HttpClient, RetryPolicy};
use stage_gate::secret::Secret;
use stage_gate_sim::github::{RateLimit, ReleaseSeed, Scenario as GhScenario};
use stage_gate_sim::{Fault, Sim};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const TOKEN: &str = "ghp_releasetesttoken";

/// The simulator on a runtime that keeps serving while the test thread waits on the CLI.
struct World {
    rt: tokio::runtime::Runtime,
    sim: Sim,
    repo: tempfile::TempDir,
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_DATE", "@1700000000 +0000")
        .env("GIT_COMMITTER_DATE", "@1700000000 +0000")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A repository with `v1.0.0` and `v1.1.0` (and `v1.2.0-rc.1`) on main, and build outputs.
fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    git(p, &["init", "-q", "-b", "main"]);
    for (k, v) in [
        ("user.name", "T"),
        ("user.email", "t@example.com"),
        ("tag.gpgsign", "false"),
        ("commit.gpgsign", "false"),
    ] {
        git(p, &["config", k, v]);
    }
    git(p, &["commit", "-q", "--allow-empty", "-m", "feat: first"]);
    git(p, &["tag", "v1.0.0"]);
    git(
        p,
        &[
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "feat: second thing (#12)",
        ],
    );
    git(p, &["commit", "-q", "--allow-empty", "-m", "fix: a bug"]);
    git(p, &["tag", "v1.1.0"]);
    git(p, &["commit", "-q", "--allow-empty", "-m", "feat: next"]);
    git(p, &["tag", "v1.2.0-rc.1"]);
    std::fs::create_dir_all(p.join("dist")).unwrap();
    std::fs::write(p.join("dist/app-linux.tar.gz"), b"linux build").unwrap();
    std::fs::write(p.join("dist/app-mac.zip"), b"mac build").unwrap();
    dir
}

impl World {
    fn new(github: GhScenario) -> World {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sim = rt
            .block_on(stage_gate_sim::start(stage_gate_sim::Scenario {
                github,
                ..Default::default()
            }))
            .unwrap();
        World {
            rt,
            sim,
            repo: repository(),
        }
    }

    fn default() -> World {
        World::new(GhScenario::with_repo("acme/shop"))
    }

    fn run(&self) -> Run {
        Run::new(self.repo.path())
            .env("GITHUB_REPOSITORY", "acme/shop")
            .env("GITHUB_API_URL", &self.sim.urls.github)
            .env("STAGE_GATE_GITHUB_UPLOADS_URL", &self.sim.urls.uploads)
            .env("INPUT_GITHUB-TOKEN", TOKEN)
            .args(["release"])
    }

    fn client(&self) -> GitHub {
        let http = HttpClient::new(Duration::from_secs(10), RetryPolicy::fast()).unwrap();
        GitHub::new(
            http,
            &self.sim.urls.github,
            &self.sim.urls.uploads,
            Secret::new(TOKEN),
            "acme/shop",
        )
        .unwrap()
    }

    fn releases(&self, tag: &str) -> Vec<Release> {
        self.rt
            .block_on(self.client().releases_for_tag(tag))
            .unwrap()
    }

    fn calls(&self) -> Vec<String> {
        self.sim
            .calls("github")
            .into_iter()
            .chain(self.sim.calls("uploads"))
            .collect()
    }
}

fn ok(out: &Output) {
    assert_eq!(out.code, 0, "{}", out.all());
}

fn names(r: &Release) -> Vec<String> {
    let mut n: Vec<String> = r.assets.iter().map(|a| a.name.clone()).collect();
    n.sort();
    n
}

fn sums_digest(lines: &[(&str, &[u8])]) -> String {
    use sha2::Digest;
    let mut entries: Vec<(String, String)> = lines
        .iter()
        .map(|(n, b)| (n.to_string(), hex::encode(sha2::Sha256::digest(b))))
        .collect();
    entries.sort();
    let text: String = entries.iter().map(|(n, s)| format!("{s}  {n}\n")).collect();
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    )
}

#[test]
fn creates_a_draft_uploads_then_publishes() {
    let w = World::default();
    let dir = tempfile::tempdir().unwrap();
    let out = w
        .run()
        .args(["--tag", "v1.1.0", "--asset", "dist/*"])
        .actions(dir.path())
        .run();
    ok(&out);
    let log = w.sim.log();
    let all = w.releases("v1.1.0");
    assert_eq!(all.len(), 1);
    let r = &all[0];
    assert!(!r.draft);
    assert!(!r.prerelease);
    assert_eq!(
        names(r),
        vec!["SHA256SUMS", "app-linux.tar.gz", "app-mac.zip"]
    );
    let sums = r.assets.iter().find(|a| a.name == "SHA256SUMS").unwrap();
    assert_eq!(
        sums.digest.as_deref().unwrap(),
        sums_digest(&[
            ("app-linux.tar.gz", b"linux build"),
            ("app-mac.zip", b"mac build")
        ])
    );
    let body = r.body.as_deref().unwrap();
    assert!(
        body.contains("second thing") && body.contains("a bug"),
        "{body}"
    );
    assert!(
        !body.contains("first"),
        "the range starts after v1.0.0: {body}"
    );
    assert_eq!(out.output("release-id"), Some(r.id.to_string()));
    assert_eq!(out.output("release-url"), Some(r.html_url.to_string()));
    assert_eq!(out.output("is-latest").as_deref(), Some("true"));
    assert!(out
        .output("upload-url")
        .unwrap()
        .ends_with(&format!("/releases/{}/assets", r.id)));
    assert!(out.outputs.contains("app-mac.zip"));

    // The order that makes immutable releases work: draft, assets, checksums, publish.
    let create = log
        .iter()
        .find(|e| e.method == "POST" && e.path == "/repos/acme/shop/releases")
        .unwrap();
    assert_eq!(create.body.as_ref().unwrap()["draft"], true);
    let last = log.iter().rev().find(|e| e.vendor == "github").unwrap();
    assert_eq!(last.method, "PATCH");
    assert_eq!(last.body.as_ref().unwrap()["draft"], false);
    assert_eq!(last.body.as_ref().unwrap()["make_latest"], "true");
    let uploads: Vec<&str> = log
        .iter()
        .filter(|e| e.vendor == "uploads")
        .map(|e| e.query.as_deref().unwrap())
        .collect();
    assert_eq!(
        uploads,
        vec![
            "name=app-linux.tar.gz",
            "name=app-mac.zip",
            "name=SHA256SUMS"
        ]
    );
    assert!(log
        .iter()
        .all(|e| e.headers["authorization"] == "Bearer ***"));
    // The token appears only in the `::add-mask::` command that tells GitHub to hide it.
    let printed = out.all();
    let leaks: Vec<&str> = printed
        .lines()
        .filter(|l| l.contains(TOKEN) && !l.starts_with("::add-mask::"))
        .collect();
    assert!(leaks.is_empty(), "{leaks:?}");
}

#[test]
fn a_prerelease_is_marked_and_never_latest() {
    let w = World::default();
    ok(&w.run().args(["--tag", "v1.1.0"]).run());
    ok(&w.run().args(["--tag", "v1.2.0-rc.1"]).run());
    let rc = &w.releases("v1.2.0-rc.1")[0];
    assert!(rc.prerelease);
    let latest = w.rt.block_on(w.client().latest_release()).unwrap().unwrap();
    assert_eq!(latest.tag_name, "v1.1.0");
    // Releasing an older stable version after a newer one does not take "latest" either.
    ok(&w.run().args(["--tag", "v1.0.0"]).run());
    let patch = w
        .sim
        .log()
        .into_iter()
        .rev()
        .find(|e| e.method == "PATCH")
        .unwrap();
    assert_eq!(patch.body.unwrap()["make_latest"], "false");
}

#[test]
fn rerunning_ends_in_the_same_single_release() {
    let w = World::default();
    let first = w.run().args(["--tag", "v1.1.0", "--asset", "dist/*"]).run();
    ok(&first);
    w.sim.clear_log();
    let dir = tempfile::tempdir().unwrap();
    let again = w
        .run()
        .args(["--tag", "v1.1.0", "--asset", "dist/*"])
        .actions(dir.path())
        .run();
    ok(&again);
    assert!(again.all().contains("already published"), "{}", again.all());
    assert_eq!(
        w.calls(),
        vec!["GET /repos/acme/shop/releases?per_page=100"],
        "only a look"
    );
    let all = w.releases("v1.1.0");
    assert_eq!(all.len(), 1);
    assert_eq!(again.output("release-id"), Some(all[0].id.to_string()));
    // `update` re-checks every asset but uploads nothing that is already there.
    w.sim.clear_log();
    ok(&w
        .run()
        .args([
            "--tag",
            "v1.1.0",
            "--asset",
            "dist/*",
            "--on-existing",
            "update",
        ])
        .run());
    assert!(w.sim.calls("uploads").is_empty(), "{:?}", w.calls());
    assert_eq!(names(&w.releases("v1.1.0")[0]).len(), 3);
    // `fail` refuses (a closed gate, exit 3).
    let refused = w
        .run()
        .args(["--tag", "v1.1.0", "--on-existing", "fail"])
        .run();
    assert_eq!(refused.code, 3, "{}", refused.all());
    assert!(refused.all().contains("already exists"));
}

#[test]
fn a_create_that_loses_the_race_joins_the_existing_draft() {
    let mut sc = GhScenario::with_repo("acme/shop");
    sc.repos[0].releases = vec![ReleaseSeed {
        tag: "v1.1.0".into(),
        draft: true,
        name: Some("old name".into()),
        ..Default::default()
    }];
    let w = World::new(sc);
    // The first listing misses the draft (another job created it a moment later), so our
    // create meets GitHub's 422 `already_exists`.
    w.sim.inject(Fault {
        vendor: Some("github".into()),
        method: Some("GET".into()),
        path: "/repos/acme/shop/releases".into(),
        status: Some(200),
        body: Some("[]".into()),
        times: Some(1),
        ..Default::default()
    });
    let out = w
        .run()
        .args(["--tag", "v1.1.0", "--asset", "dist/*.zip"])
        .run();
    ok(&out);
    let statuses: Vec<(String, Option<u16>)> = w
        .sim
        .log()
        .iter()
        .filter(|e| e.method == "POST" && e.vendor == "github")
        .map(|e| (e.path.clone(), e.status))
        .collect();
    assert_eq!(
        statuses,
        vec![("/repos/acme/shop/releases".to_string(), Some(422))]
    );
    let all = w.releases("v1.1.0");
    assert_eq!(all.len(), 1, "never two releases for one tag");
    assert_eq!(
        all[0].name.as_deref(),
        Some("v1.1.0"),
        "the joined draft was brought up to date"
    );
    assert!(!all[0].draft);
    assert_eq!(names(&all[0]), vec!["SHA256SUMS", "app-mac.zip"]);
}

#[test]
fn matrix_jobs_racing_end_in_one_release_with_every_asset() {
    let w = World::default();
    const JOBS: usize = 4;
    for i in 0..JOBS {
        std::fs::write(
            w.repo.path().join(format!("dist/part-{i}.bin")),
            format!("part {i}"),
        )
        .unwrap();
    }
    // Hold the first looks for a moment, so jobs tend to find no release and try to create
    // one each: the race a matrix really has (the 422 path itself is pinned by
    // `a_create_that_loses_the_race_joins_the_existing_draft`).
    w.sim.inject(Fault {
        vendor: Some("github".into()),
        method: Some("GET".into()),
        path: "/repos/acme/shop/releases".into(),
        delay_ms: Some(800),
        times: Some(JOBS as u32),
        ..Default::default()
    });
    let outs: Vec<Output> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..JOBS)
            .map(|i| {
                let run = w
                    .run()
                    .args(["--tag", "v1.1.0", "--draft", "--asset"])
                    .args([format!("dist/part-{i}.bin")]);
                s.spawn(move || run.run())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for o in &outs {
        ok(o);
    }
    let all = w.releases("v1.1.0");
    assert_eq!(
        all.len(),
        1,
        "one release for the tag: {:?}",
        all.iter().map(|r| r.id).collect::<Vec<_>>()
    );
    assert!(all[0].draft, "matrix jobs leave it a draft");
    let creates: Vec<Option<u16>> = w
        .sim
        .log()
        .iter()
        .filter(|e| e.method == "POST" && e.path == "/repos/acme/shop/releases")
        .map(|e| e.status)
        .collect();
    assert_eq!(
        creates.iter().filter(|s| **s == Some(201)).count(),
        1,
        "{creates:?}"
    );
    // The last job publishes (no assets of its own) and completes SHA256SUMS.
    ok(&w.run().args(["--tag", "v1.1.0"]).run());
    let all = w.releases("v1.1.0");
    assert_eq!(all.len(), 1);
    let r = &all[0];
    assert!(!r.draft);
    let mut expected: Vec<String> = (0..JOBS).map(|i| format!("part-{i}.bin")).collect();
    expected.push("SHA256SUMS".into());
    expected.sort();
    assert_eq!(names(r), expected);
    let parts: Vec<(String, Vec<u8>)> = (0..JOBS)
        .map(|i| (format!("part-{i}.bin"), format!("part {i}").into_bytes()))
        .collect();
    let refs: Vec<(&str, &[u8])> = parts
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let sums = r.assets.iter().find(|a| a.name == "SHA256SUMS").unwrap();
    assert_eq!(sums.digest.as_deref().unwrap(), sums_digest(&refs));
}

#[test]
fn an_asset_name_clash_is_compared_not_overwritten() {
    let w = World::default();
    ok(&w
        .run()
        .args(["--tag", "v1.1.0", "--draft", "--asset", "dist/app-mac.zip"])
        .run());
    // Same bytes again: nothing to do.
    ok(&w
        .run()
        .args(["--tag", "v1.1.0", "--draft", "--asset", "dist/app-mac.zip"])
        .run());
    std::fs::write(w.repo.path().join("dist/app-mac.zip"), b"a different build").unwrap();
    let clash = w
        .run()
        .args(["--tag", "v1.1.0", "--draft", "--asset", "dist/app-mac.zip"])
        .run();
    assert_eq!(clash.code, 3, "{}", clash.all());
    assert!(
        clash
            .all()
            .contains("`app-mac.zip` already on the release differs"),
        "{}",
        clash.all()
    );
    assert!(clash.all().contains("sha256:"));
    // `update` replaces it.
    ok(&w
        .run()
        .args([
            "--tag",
            "v1.1.0",
            "--asset",
            "dist/app-mac.zip",
            "--on-existing",
            "update",
        ])
        .run());
    let r = &w.releases("v1.1.0")[0];
    let asset = r.assets.iter().find(|a| a.name == "app-mac.zip").unwrap();
    assert_eq!(asset.size as usize, b"a different build".len());
}

#[test]
fn a_rate_limit_is_waited_out_or_reported() {
    let mut sc = GhScenario::with_repo("acme/shop");
    sc.rate_limits = vec![RateLimit {
        path: Some("/releases".into()),
        reset_in_secs: 0,
        ..Default::default()
    }];
    let w = World::new(sc);
    ok(&w.run().args(["--tag", "v1.1.0"]).run());
    let first = &w.sim.log()[0];
    assert_eq!(
        first.status,
        Some(403),
        "the first call met the limit and was repeated"
    );
    assert_eq!(w.releases("v1.1.0").len(), 1);

    let mut sc = GhScenario::with_repo("acme/shop");
    sc.rate_limits = vec![RateLimit {
        reset_in_secs: 3600,
        times: 0,
        ..Default::default()
    }];
    let w = World::new(sc);
    let out = w.run().args(["--tag", "v1.1.0"]).run();
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.all().contains("rate limit exhausted"), "{}", out.all());
    assert_eq!(
        w.sim.log().len(),
        1,
        "no retry loop against a limit that resets in an hour"
    );
}

#[test]
fn immutable_releases_get_their_assets_before_publishing() {
    let mut sc = GhScenario::with_repo("acme/shop");
    sc.immutable_releases = true;
    let w = World::new(sc);
    ok(&w.run().args(["--tag", "v1.1.0", "--asset", "dist/*"]).run());
    let r = &w.releases("v1.1.0")[0];
    assert_eq!(r.immutable, Some(true));
    assert_eq!(names(r).len(), 3);
    // Adding to it afterwards is refused up front, with the way out.
    std::fs::write(w.repo.path().join("dist/extra.txt"), b"x").unwrap();
    let late = w
        .run()
        .args([
            "--tag",
            "v1.1.0",
            "--asset",
            "dist/extra.txt",
            "--on-existing",
            "update",
        ])
        .run();
    assert_eq!(late.code, 3, "{}", late.all());
    assert!(late.all().contains("immutable"), "{}", late.all());
    assert!(
        w.sim.calls("uploads").len() == 3,
        "nothing uploaded after publishing"
    );
}

#[test]
fn nothing_is_sent_when_notes_or_assets_fail() {
    let w = World::default();
    let out = w.run().args(["--tag", "v9.9.9"]).run();
    assert_eq!(out.code, 2, "{}", out.all());
    let out = w
        .run()
        .args(["--tag", "v1.1.0", "--asset", "dist/*.exe"])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.all().contains("matched no file"));
    let out = w.run().args(["--tag", "release-1"]).run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(w.calls().is_empty(), "{:?}", w.calls());
}

#[test]
fn dry_run_prints_the_calls_and_makes_none() {
    let w = World::default();
    let out = w
        .run()
        .args(["--tag", "v1.1.0", "--asset", "dist/*.zip", "--dry-run"])
        .run();
    ok(&out);
    assert!(
        out.stdout.contains("POST /repos/acme/shop/releases"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("name=app-mac.zip"));
    assert!(
        out.stdout.contains("make_latest: \"true\""),
        "{}",
        out.stdout
    );
    assert!(w.calls().is_empty());
}

/// The body a dry run would send is shown whole, after the calls, and in the summary.
#[test]
fn dry_run_shows_the_release_body() {
    let w = World::default();
    let tmp = tempfile::tempdir().unwrap();
    let out = w
        .run()
        .actions(tmp.path())
        .args(["--tag", "v1.1.0", "--dry-run", "--format", "human"])
        .run();
    ok(&out);
    let body = out
        .stdout
        .split_once("\n\nits body:\n\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_else(|| panic!("no body in:\n{}", out.stdout));
    assert!(body.starts_with("## [v1.1.0]("), "{body}");
    for line in ["### Features\n\n- second thing (", "### Fixes\n\n- a bug ("] {
        assert!(body.contains(line), "{line} not in:\n{body}");
    }
    assert!(
        out.summary.contains("#### its body\n\n## [v1.1.0]("),
        "{}",
        out.summary
    );
    assert!(w.calls().is_empty());
}

#[test]
fn the_default_token_warns_when_a_workflow_waits_for_the_release() {
    let w = World::default();
    let wf = w.repo.path().join(".github/workflows");
    std::fs::create_dir_all(&wf).unwrap();
    std::fs::write(
        wf.join("announce.yml"),
        "on:\n  release:\n    types: [published]\njobs: {}\n",
    )
    .unwrap();
    let out = Run::new(w.repo.path())
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", &w.sim.urls.github)
        .env("STAGE_GATE_GITHUB_UPLOADS_URL", &w.sim.urls.uploads)
        .env("GITHUB_TOKEN", TOKEN)
        .args(["release", "--tag", "v1.1.0"])
        .run();
    ok(&out);
    assert!(
        out.all().contains("will not start announce.yml"),
        "{}",
        out.all()
    );
    // A personal token (not the default one) gets no warning.
    let out = w.run().args(["--tag", "v1.0.0"]).run();
    ok(&out);
    assert!(!out.all().contains("will not start"));
}

#[test]
fn monorepo_tags_compare_only_their_own_app() {
    let w = World::default();
    let p = w.repo.path();
    git(p, &["tag", "web@3.0.0", "v1.0.0"]);
    git(p, &["tag", "api@1.0.0", "v1.0.0"]);
    git(p, &["tag", "api@1.1.0", "v1.1.0"]);
    std::fs::create_dir_all(p.join(".github")).unwrap();
    std::fs::write(
        p.join(".github/stage-gate.yml"),
        "version: 1\nrelease:\n  tag-pattern: '{app}@{version}'\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = w
        .run()
        .args(["--tag", "api@1.1.0"])
        .actions(dir.path())
        .run();
    ok(&out);
    // The highest `api` version is latest even though `web` has a higher number.
    assert_eq!(out.output("is-latest").as_deref(), Some("true"));
    let r = &w.releases("api@1.1.0")[0];
    let body = r.body.as_deref().unwrap();
    assert!(
        body.contains("api@1.0.0...api@1.1.0"),
        "range from the same app: {body}"
    );
}

#[test]
fn missing_token_or_repository_is_bad_input() {
    let w = World::default();
    let out = Run::new(w.repo.path())
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", &w.sim.urls.github)
        .args(["release", "--tag", "v1.1.0"])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.all().contains("no GitHub token"), "{}", out.all());
    let out = Run::new(w.repo.path())
        .env("GITHUB_API_URL", &w.sim.urls.github)
        .env("GITHUB_TOKEN", TOKEN)
        .args(["release", "--tag", "v1.1.0"])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.all().contains("no GitHub repository"), "{}", out.all());
    assert!(w.calls().is_empty());
}

#[test]
fn a_failed_create_is_not_repeated_blindly_and_a_rerun_completes() {
    let w = World::default();
    // The connection drops on the create: GitHub may or may not have made the draft.
    w.sim.inject(Fault {
        vendor: Some("github".into()),
        method: Some("POST".into()),
        path: "/repos/acme/shop/releases".into(),
        reset: true,
        times: Some(1),
        ..Default::default()
    });
    let out = w
        .run()
        .args(["--tag", "v1.1.0", "--asset", "dist/*.zip"])
        .run();
    assert_eq!(out.code, 1, "{}", out.all());
    let posts = w
        .sim
        .calls("github")
        .into_iter()
        .filter(|c| c == "POST /repos/acme/shop/releases")
        .count();
    assert_eq!(
        posts, 1,
        "a create is never retried after it may have landed"
    );
    // It looked after the failure (and found nothing), so the re-run starts clean.
    assert_eq!(
        w.sim.calls("github").last().map(String::as_str),
        Some("GET /repos/acme/shop/releases?per_page=100")
    );
    ok(&w
        .run()
        .args(["--tag", "v1.1.0", "--asset", "dist/*.zip"])
        .run());
    let all = w.releases("v1.1.0");
    assert_eq!(all.len(), 1);
    assert_eq!(names(&all[0]), vec!["SHA256SUMS", "app-mac.zip"]);
}

#[test]
fn as_the_action_runs_it_inputs_and_the_tag_ref_drive_it() {
    let w = World::default();
    let base = || {
        Run::new(w.repo.path())
            .env("GITHUB_REPOSITORY", "acme/shop")
            .env("GITHUB_API_URL", &w.sim.urls.github)
            .env("STAGE_GATE_GITHUB_UPLOADS_URL", &w.sim.urls.uploads)
            .env("INPUT_GITHUB-TOKEN", TOKEN)
            .env("INPUT_COMMAND", "release")
            .env("GITHUB_REF", "refs/tags/v1.1.0")
    };
    // A matrix job: assets from the multi-line input, left a draft.
    let dir = tempfile::tempdir().unwrap();
    let out = base()
        .env("INPUT_ASSETS", "dist/*.zip\n\n  dist/*.tar.gz \n")
        .env("INPUT_DRAFT", "true")
        .actions(dir.path())
        .run();
    ok(&out);
    assert!(w.releases("v1.1.0")[0].draft);
    // The last job: no assets of its own, publishes; the config's policy applies.
    std::fs::create_dir_all(w.repo.path().join(".github")).unwrap();
    std::fs::write(
        w.repo.path().join(".github/stage-gate.yml"),
        "version: 1\nrelease:\n  on-existing: update-draft\n",
    )
    .unwrap();
    let out = base().run();
    ok(&out);
    let r = &w.releases("v1.1.0")[0];
    assert!(!r.draft);
    assert_eq!(
        names(r),
        vec!["SHA256SUMS", "app-linux.tar.gz", "app-mac.zip"]
    );
    let bad = base().env("INPUT_ON-EXISTING", "sometimes").run();
    assert_eq!(bad.code, 2, "{}", bad.all());
    assert!(bad.all().contains("INPUT_ON-EXISTING"), "{}", bad.all());
}

#[test]
fn an_upload_answered_5xx_is_tried_again_once_the_asset_is_confirmed_absent() {
    let w = World::default();
    w.sim.inject(Fault {
        vendor: Some("uploads".into()),
        method: Some("POST".into()),
        path: "/repos/acme/shop/releases/*/assets".into(),
        status: Some(502),
        times: Some(1),
        ..Default::default()
    });
    let out = w
        .run()
        .args(["--tag", "v1.1.0", "--asset", "dist/*.zip"])
        .run();
    ok(&out);
    let uploads: Vec<Option<u16>> = w
        .sim
        .log()
        .iter()
        .filter(|e| e.vendor == "uploads" && e.method == "POST")
        .map(|e| e.status)
        .collect();
    // The asset twice (502, then 201), then SHA256SUMS.
    assert_eq!(
        uploads,
        vec![Some(502), Some(201), Some(201)],
        "{uploads:?}"
    );
    let all = w.releases("v1.1.0");
    assert_eq!(names(&all[0]), vec!["SHA256SUMS", "app-mac.zip"]);
}

#[test]
fn an_upload_that_keeps_failing_says_so_once() {
    let w = World::default();
    w.sim.inject(Fault {
        vendor: Some("uploads".into()),
        method: Some("POST".into()),
        path: "/repos/acme/shop/releases/*/assets".into(),
        status: Some(503),
        body: Some(r#"{"message":"upstream unavailable"}"#.into()),
        ..Default::default()
    });
    let out = w
        .run()
        .args(["--tag", "v1.1.0", "--asset", "dist/*.zip"])
        .run();
    assert_ne!(out.code, 0, "{}", out.all());
    let uploads = w
        .sim
        .log()
        .iter()
        .filter(|e| e.vendor == "uploads" && e.method == "POST")
        .count();
    assert_eq!(uploads, 3, "bounded: three tries");
    assert_eq!(
        out.stderr.matches("upstream unavailable").count(),
        1,
        "the cause is told once:\n{}",
        out.stderr
    );
}
