//! `stage-gate tag`: git repositories built per test (ancestry, monotonic versions, shallow
//! clones, annotated tags, prerelease policy), `--next`, and `--next --create` against a
//! local GitHub refs endpoint.

use crate::common::Run;
use crate::fake_github::{self, FakeGithub};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

/// A git repository in a temp dir, with a fixed identity and clock.
struct Repo {
    dir: tempfile::TempDir,
    clock: std::cell::Cell<u64>,
}

impl Repo {
    fn new() -> Repo {
        let r = Repo {
            dir: tempfile::tempdir().unwrap(),
            clock: std::cell::Cell::new(1_700_000_000),
        };
        r.git(&["init", "-q", "-b", "main"]);
        r.git(&["config", "user.name", "T"]);
        r.git(&["config", "user.email", "t@example.com"]);
        r.git(&["config", "tag.gpgsign", "false"]);
        r.git(&["config", "commit.gpgsign", "false"]);
        r
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) -> String {
        git_in(self.path(), args, &self.clock)
    }

    fn commit(&self, msg: &str) -> String {
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
        self.git(&["rev-parse", "HEAD"])
    }

    fn config(&self, yaml: &str) {
        std::fs::create_dir_all(self.path().join(".github")).unwrap();
        std::fs::write(self.path().join(".github/stage-gate.yml"), yaml).unwrap();
    }

    fn tag(&self, args: &[&str]) -> crate::common::Output {
        Run::new(self.path()).args(["tag"]).args(args).run()
    }
}

fn git_in(dir: &Path, args: &[&str], clock: &std::cell::Cell<u64>) -> String {
    clock.set(clock.get() + 60);
    let date = format!("@{} +0000", clock.get());
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `v1.0.0` and `v1.1.0` on main.
fn released() -> Repo {
    let r = Repo::new();
    r.commit("feat: one");
    r.git(&["tag", "v1.0.0"]);
    r.commit("feat: two");
    r.git(&["tag", "v1.1.0"]);
    r
}

#[test]
fn a_valid_tag_passes_with_every_output() {
    let r = released();
    r.commit("fix: three");
    r.git(&["tag", "v1.1.1-rc.1"]);
    r.git(&["tag", "v1.1.1"]);
    let tmp = tempfile::tempdir().unwrap();
    let out = Run::new(r.path())
        .actions(tmp.path())
        .env("GITHUB_REF", "refs/tags/v1.1.1")
        .args(["tag"])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    let o = |k: &str| out.output(k).unwrap_or_else(|| panic!("no output {k}"));
    assert_eq!(o("version"), "1.1.1");
    assert_eq!(
        (o("major"), o("minor"), o("patch")),
        ("1".into(), "1".into(), "1".into())
    );
    assert_eq!(o("prerelease"), "false");
    assert_eq!(o("prerelease-id"), "");
    assert_eq!(o("previous-tag"), "v1.1.0");
    assert_eq!(o("previous-version"), "1.1.0");
    assert_eq!(o("is-latest"), "true");
    assert!(
        out.summary.contains("| previous-tag | `v1.1.0` |"),
        "{}",
        out.summary
    );

    // The rc before it: previous is the last stable (prerelease channel sees all lower versions).
    let out = Run::new(r.path())
        .args(["tag", "v1.1.1-rc.1", "--format", "json"])
        .run();
    // v1.1.1 (higher) exists, so the rc is refused as lower than a released version.
    assert_eq!(out.code, 3, "{}", out.all());
}

#[test]
fn a_prerelease_reports_its_series_and_is_not_latest() {
    let r = released();
    r.commit("feat: three");
    r.git(&["tag", "v1.2.0-rc.1"]);
    let out = r.tag(&["v1.2.0-rc.1", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["outputs"]["prerelease"], "true");
    assert_eq!(doc["outputs"]["prerelease-id"], "rc");
    assert_eq!(doc["outputs"]["previous-tag"], "v1.1.0");
    assert_eq!(doc["outputs"]["is-latest"], "false");
}

#[test]
fn malformed_tags_exit_2_with_the_nearest_valid_tag() {
    let r = released();
    let out = r.tag(&["v1.2"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("nearest valid tag: `v1.2.0`"),
        "{}",
        out.stderr
    );
    let out = r.tag(&["1.0.0rc5"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("nearest valid tag: `v1.0.0-rc5`"),
        "{}",
        out.stderr
    );
    let out = r.tag(&["v1.7.9.6"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("nearest valid tag: `v1.7.9-6`"),
        "{}",
        out.stderr
    );
    // A valid name that does not exist here: the fetch that would bring it.
    let out = r.tag(&["v9.0.0"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("fetch-depth: 0"), "{}", out.stderr);
}

#[test]
fn lower_and_equal_versions_are_refused_and_rollback_needs_config() {
    let r = released();
    r.commit("fix: hotfix for 1.0");
    r.git(&["tag", "v1.0.1"]);
    let out = r.tag(&["v1.0.1"]);
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr
            .contains("`v1.0.1` (1.0.1) is lower than the released `v1.1.0`"),
        "{}",
        out.stderr
    );

    let out = r.tag(&["v1.0.1", "--rollback"]);
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains("release.allow-downgrade: true"),
        "{}",
        out.stderr
    );

    r.config("version: 1\nrelease:\n  allow-downgrade: true\n");
    let out = r.tag(&["v1.0.1", "--rollback"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("is-latest") || out.stdout.contains("allowed"),
        "{}",
        out.stdout
    );

    // Equal precedence is a re-release, even with different build metadata.
    r.config("version: 1\nrelease:\n  build-metadata: true\n");
    r.git(&["tag", "v1.1.0+build.2"]);
    let out = r.tag(&["v1.1.0+build.2"]);
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr.contains("already released as `v1.1.0`"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_tagged_commit_must_be_on_a_release_branch() {
    let r = released();
    r.git(&["checkout", "-q", "-b", "feature/x"]);
    r.commit("feat: unmerged");
    r.git(&["tag", "v1.2.0"]);
    let out = r.tag(&["v1.2.0"]);
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr
            .contains("not on a release branch (`main`); it is on `feature/x`"),
        "{}",
        out.stderr
    );

    // seed 004's hotfix flow: hotfix/* is a release branch when configured.
    r.git(&["tag", "-d", "v1.2.0"]);
    r.git(&["checkout", "-q", "-b", "hotfix/login", "v1.1.0"]);
    r.commit("fix: login");
    r.git(&["tag", "v1.1.1"]);
    assert_eq!(r.tag(&["v1.1.1"]).code, 3);
    r.config("version: 1\nrelease:\n  branches: ['release/*', 'hotfix/*']\n");
    let out = r.tag(&["v1.1.1"]);
    assert_eq!(out.code, 0, "{}", out.all());
}

#[test]
fn a_ci_checkout_with_only_origin_main_and_a_shallow_one() {
    let r = released();
    r.commit("feat: three");
    r.git(&["tag", "v1.2.0"]);
    let url = format!("file://{}", r.path().display());
    let clock = std::cell::Cell::new(1_800_000_000);

    // Like actions/checkout with fetch-depth: 0 on a tag: detached HEAD, no local branch.
    let ci = tempfile::tempdir().unwrap();
    git_in(ci.path(), &["clone", "-q", &url, "c"], &clock);
    let c = ci.path().join("c");
    git_in(&c, &["checkout", "-q", "--detach", "v1.2.0"], &clock);
    git_in(&c, &["branch", "-D", "main"], &clock);
    let out = Run::new(&c).args(["tag", "v1.2.0"]).run();
    assert_eq!(out.code, 0, "{}", out.all());

    // The default checkout (depth 1): refuse to guess, name the fix.
    let shallow = tempfile::tempdir().unwrap();
    git_in(
        shallow.path(),
        &[
            "clone", "-q", "--depth", "1", "--branch", "v1.2.0", &url, "s",
        ],
        &clock,
    );
    let out = Run::new(shallow.path().join("s"))
        .args(["tag", "v1.2.0"])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("shallow clone"), "{}", out.stderr);
    assert!(out.stderr.contains("fetch-depth: 0"), "{}", out.stderr);
}

#[test]
fn annotated_tags_and_prerelease_policies_from_config() {
    let r = released();
    r.commit("feat: three");
    r.git(&["tag", "v1.2.0"]);
    r.config("version: 1\nrelease:\n  annotated-tags: true\n");
    let out = r.tag(&["v1.2.0"]);
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains("is a lightweight tag"),
        "{}",
        out.stderr
    );
    r.git(&["tag", "-d", "v1.2.0"]);
    r.git(&["tag", "-a", "v1.2.0", "-m", "v1.2.0"]);
    assert_eq!(r.tag(&["v1.2.0"]).code, 0);

    r.commit("feat: four");
    r.git(&["tag", "v1.3.0-rc.1"]);
    r.config("version: 1\nrelease:\n  prerelease: refuse\n");
    let out = r.tag(&["v1.3.0-rc.1"]);
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains("prerelease tags are refused"),
        "{}",
        out.stderr
    );
    r.config("version: 1\nrelease:\n  prerelease: staging-only\n");
    assert_eq!(r.tag(&["v1.3.0-rc.1", "--env", "staging"]).code, 0);
    let out = r.tag(&["v1.3.0-rc.1", "--env", "production"]);
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains("may not release to production"),
        "{}",
        out.stderr
    );
}

#[test]
fn monorepo_patterns_compare_only_the_same_app() {
    let r = Repo::new();
    r.commit("feat: web");
    r.git(&["tag", "web@2.0.0"]);
    r.git(&["tag", "api@1.0.0"]);
    r.commit("feat: api");
    r.git(&["tag", "api@1.1.0"]);
    r.config("version: 1\nrelease:\n  tag-pattern: '{app}@{version}'\n");
    let out = r.tag(&["api@1.1.0", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["outputs"]["app"], "api");
    assert_eq!(doc["outputs"]["previous-tag"], "api@1.0.0");
    let out = r.tag(&["web@2.0.0", "--pattern", "{app}-v{version}"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("does not match the tag pattern `{app}-v{version}`"),
        "{}",
        out.stderr
    );
}

#[test]
fn next_version_from_conventional_commits() {
    let r = released();
    let next = |args: &[&str]| {
        let out = Run::new(r.path())
            .args(["tag", "--next", "--format", "json"])
            .args(args)
            .run();
        assert_eq!(out.code, 0, "{}", out.all());
        let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        doc["outputs"]["next-tag"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(next(&[]), "", "nothing since v1.1.0");
    r.commit("fix: a bug");
    assert_eq!(next(&[]), "v1.1.1");
    r.commit("feat: a feature");
    assert_eq!(next(&[]), "v1.2.0");
    assert_eq!(next(&["--pre", "rc"]), "v1.2.0-rc.1");
    r.git(&["tag", "v1.2.0-rc.1"]);
    assert_eq!(next(&["--pre", "rc"]), "", "no commit since rc.1");
    r.commit("fix: rc feedback");
    assert_eq!(next(&["--pre", "rc"]), "v1.2.0-rc.2");
    // Graduation.
    assert_eq!(next(&[]), "v1.2.0");
    r.commit("refactor!: drop the old API");
    assert_eq!(next(&[]), "v2.0.0");
    // Nothing was created.
    assert!(!r.git(&["tag"]).contains("v2.0.0"));
}

/// GitHub's refs endpoints over an in-memory list of refs.
fn refs_server() -> FakeGithub {
    let refs: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(Vec::new()));
    FakeGithub::start(move |req| {
        let render = |r: &str, sha: &str| {
            serde_json::json!({"ref": r, "node_id": "n", "url": "http://127.0.0.1/x",
                "object": {"type": "commit", "sha": sha, "url": "http://127.0.0.1/c"}})
        };
        if req.method == "GET" {
            let full = format!(
                "refs/{}",
                req.path.trim_start_matches("/repos/o/r/git/ref/")
            );
            match refs.lock().unwrap().iter().find(|(r, _)| *r == full) {
                Some((r, sha)) => (200, render(r, sha)),
                None => (404, serde_json::json!({"message": "Not Found"})),
            }
        } else {
            let (r, sha) = (
                req.body["ref"].as_str().unwrap(),
                req.body["sha"].as_str().unwrap(),
            );
            refs.lock().unwrap().push((r.to_string(), sha.to_string()));
            (201, render(r, sha))
        }
    })
}

#[test]
fn next_create_makes_the_tag_through_the_refs_api_once() {
    let r = released();
    let head = r.commit("feat: shiny");
    let server = refs_server();
    let run = || {
        Run::new(r.path())
            .args(["tag", "--next", "--create", "--format", "json"])
            .env("GITHUB_REPOSITORY", "o/r")
            .env("GITHUB_API_URL", &server.url)
            .env("GITHUB_TOKEN", "ghs_secret_value")
            .run()
    };
    let first = run();
    assert_eq!(first.code, 0, "{}", first.all());
    let doc: serde_json::Value = serde_json::from_str(&first.stdout).unwrap();
    assert_eq!(doc["next_tag"], "v1.2.0");
    assert_eq!(doc["created"], "created");
    assert_eq!(doc["commit"], head.as_str());
    // Re-running finds the tag at the same commit: success, no second create.
    let second = run();
    assert_eq!(second.code, 0, "{}", second.all());
    let doc: serde_json::Value = serde_json::from_str(&second.stdout).unwrap();
    assert_eq!(doc["created"], "existed");
    let log = server.requests();
    let posts = log
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/repos/o/r/git/refs")
        .count();
    assert_eq!(posts, 1, "{log:?}");
    let post = log.iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(post.body["ref"], "refs/tags/v1.2.0");
    assert_eq!(post.body["sha"], head.as_str());
    assert!(!first.all().contains("ghs_secret_value"));

    // --dry-run creates nothing.
    let out = Run::new(r.path())
        .args(["tag", "--next", "--create", "--dry-run"])
        .env("GITHUB_REPOSITORY", "o/r")
        .env("GITHUB_API_URL", &server.url)
        .env("GITHUB_TOKEN", "t")
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(server.requests().len(), log.len());
}

#[test]
fn github_releases_count_as_released_and_reveal_missing_tags() {
    let r = released();
    r.commit("feat: three");
    r.git(&["tag", "v1.2.0"]);
    // GitHub knows v1.5.0 (its tag was not fetched here) and a draft v9.0.0 (not released).
    let gh = FakeGithub::start(|req| {
        if req.path.starts_with("/repos/o/r/releases") {
            let base = "http://127.0.0.1";
            (
                200,
                serde_json::json!([
                    fake_github::release(base, 3, "v9.0.0", true),
                    fake_github::release(base, 2, "v1.5.0", false),
                    fake_github::release(base, 1, "v1.1.0", false),
                ]),
            )
        } else {
            (404, serde_json::json!({"message": "Not Found"}))
        }
    });
    let out = Run::new(r.path())
        .args(["tag", "v1.2.0"])
        .env("GITHUB_REPOSITORY", "o/r")
        .env("GITHUB_API_URL", &gh.url)
        .env("GITHUB_TOKEN", "t0ken-value")
        .run();
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr
            .contains("lower than the released `v1.5.0` (1.5.0, GitHub release)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("GitHub release `v1.5.0` has no tag in this clone"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("v9.0.0"), "{}", out.stderr);
}

/// A maintenance line: `v1.0.1` after `v1.1.0`, its commit on `release/1.0`, which
/// `release.branches` lists, is the newest of the 1.0 line and releases (not the latest).
#[test]
fn a_patch_of_an_older_line_releases_from_its_maintenance_branch() {
    let r = released();
    r.git(&["checkout", "-q", "-b", "release/1.0", "v1.0.0"]);
    r.commit("fix: backported fix");
    r.git(&["tag", "v1.0.1"]);
    r.git(&["checkout", "-q", "main"]);

    // Without the branch in the config it is a downgrade, and the advice says what fixes it.
    let out = r.tag(&["v1.0.1"]);
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr.contains(
            "a patch of the 1.0 line is a release when its commit is on a branch listed in release.branches (e.g. `release/1.0`)"
        ),
        "{}",
        out.stderr
    );

    r.config("version: 1\nrelease:\n  branches: [\"release/*\"]\n");
    let tmp = tempfile::tempdir().unwrap();
    let out = Run::new(r.path())
        .actions(tmp.path())
        .args(["tag", "v1.0.1"])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.output("previous-tag").as_deref(), Some("v1.0.0"));
    assert_eq!(out.output("is-latest").as_deref(), Some("false"));

    // The line's next patch must still be higher than its newest.
    r.git(&["checkout", "-q", "release/1.0"]);
    r.commit("fix: another");
    r.git(&["tag", "v1.0.0-hotfix.1"]);
    let out = r.tag(&["v1.0.0-hotfix.1"]);
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stderr
            .contains("the newest of the 1.0 line `release/1.0` maintains"),
        "{}",
        out.stderr
    );
}
