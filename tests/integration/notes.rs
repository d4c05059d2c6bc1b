//! `stage-gate notes`: the golden fixtures in `tests/fixtures/notes/`, plus error cases.

use crate::common::Run;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/notes")
}

/// Build a fixture's repository in a fresh temp dir.
fn build(case: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("sh")
        .arg(case.join("build.sh"))
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .status()
        .expect("sh runs");
    assert!(
        status.success(),
        "{} failed",
        case.join("build.sh").display()
    );
    dir
}

#[test]
fn golden_fixtures() {
    let bless = std::env::var("STAGE_GATE_BLESS").is_ok_and(|v| v == "1");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("build.sh").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 4, "fixtures missing: {cases:?}");
    let mut failures = Vec::new();
    for case in &cases {
        let repo = build(case);
        let args = std::fs::read_to_string(case.join("args")).unwrap();
        let args: Vec<&str> = args.split_whitespace().collect();
        let out = Run::new(repo.path())
            .args(["notes"])
            .args(&args)
            .env("GITHUB_REPOSITORY", "acme/widget")
            .run();
        assert_eq!(out.code, 0, "{}: {}", case.display(), out.all());
        let actual = match args.iter().position(|a| *a == "--output") {
            Some(i) => std::fs::read_to_string(repo.path().join(args[i + 1])).unwrap(),
            None => out.stdout.clone(),
        };
        let expected_path = case.join("expected.md");
        if bless {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "== {}\n-- expected\n{expected}\n-- actual\n{actual}",
                case.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn json_format_carries_the_range_and_sections() {
    let repo = build(&fixtures().join("prerelease-channel"));
    let out = Run::new(repo.path())
        .args(["notes", "v1.1.0", "--format", "json"])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["previous_tag"], "v1.0.0");
    assert_eq!(doc["version"], "1.1.0");
    assert_eq!(doc["commits"], 3);
    assert_eq!(doc["sections"][0]["title"], "Features");
    assert_eq!(doc["sections"][1]["entries"].as_array().unwrap().len(), 2);
}

#[test]
fn from_and_to_override_the_range() {
    let repo = build(&fixtures().join("prerelease-channel"));
    let out = Run::new(repo.path())
        .args([
            "notes",
            "--from",
            "v1.1.0-rc.2",
            "--to",
            "v1.1.0",
            "--format",
            "json",
        ])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["commits"], 1);
    assert_eq!(
        doc["sections"][0]["entries"][0]["description"],
        "empty query"
    );
    // `--to` a release tag: the notes are that release's, from the given start.
    assert_eq!(doc["tag"], "v1.1.0");
    assert_eq!(doc["previous_tag"], "v1.1.0-rc.2");
    assert_eq!(doc["previous_version"], serde_json::Value::Null);
}

#[test]
fn prerelease_notes_start_at_the_previous_prerelease() {
    let repo = build(&fixtures().join("prerelease-channel"));
    let tmp = tempfile::tempdir().unwrap();
    let out = Run::new(repo.path())
        .args(["notes", "v1.1.0-rc.2"])
        .actions(tmp.path())
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.output("previous-tag").as_deref(), Some("v1.1.0-rc.1"));
    assert!(
        out.summary.contains("- search ranking ("),
        "{}",
        out.summary
    );
}

#[test]
fn a_missing_tag_or_a_shallow_clone_names_the_fetch() {
    let repo = build(&fixtures().join("basic"));
    let out = Run::new(repo.path()).args(["notes", "v9.0.0"]).run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("fetch-depth: 0"), "{}", out.stderr);

    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", repo.path().display());
    let ok = std::process::Command::new("git")
        .args(["clone", "-q", "--depth", "1", &url, "c"])
        .current_dir(clone.path())
        .status()
        .unwrap();
    assert!(ok.success());
    let out = Run::new(clone.path().join("c")).args(["notes"]).run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("shallow clone"), "{}", out.stderr);
    assert!(out.stderr.contains("fetch-depth: 0"), "{}", out.stderr);
}

#[test]
fn a_malformed_tag_exits_2_with_the_nearest_valid_tag() {
    let repo = build(&fixtures().join("basic"));
    let out = Run::new(repo.path()).args(["notes", "v1.1"]).run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("nearest valid tag: `v1.1.0`"),
        "{}",
        out.stderr
    );
}

#[test]
fn source_github_asks_for_notes_from_our_previous_tag() {
    let repo = build(&fixtures().join("prerelease-channel"));
    let gh = crate::fake_github::FakeGithub::start(|req| {
        if req.method == "POST" && req.path == "/repos/acme/widget/releases/generate-notes" {
            (
                200,
                serde_json::json!({"name": "v1.1.0", "body": "## What's Changed\n* generated"}),
            )
        } else {
            (404, serde_json::json!({"message": "Not Found"}))
        }
    });
    let out = Run::new(repo.path())
        .args(["notes", "v1.1.0", "--source", "github"])
        .env("GITHUB_REPOSITORY", "acme/widget")
        .env("GITHUB_API_URL", &gh.url)
        .env("GITHUB_TOKEN", "tok")
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("* generated"), "{}", out.stdout);
    let requests = gh.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    // GitHub's own guess would be the last tag (v1.1.0-rc.2); we send the previous stable.
    assert_eq!(requests[0].body["tag_name"], "v1.1.0");
    assert_eq!(requests[0].body["previous_tag_name"], "v1.0.0");
}

/// The range is the previous version on the same line by SemVer, not the newest older tag
/// (git-cliff's choice): a patch of an older line, tagged after a newer minor release, gets
/// notes from its own line's previous patch, and lists only what that line received.
#[test]
fn a_patch_of_an_older_line_starts_at_its_own_previous_version() {
    let dir = tempfile::tempdir().unwrap();
    let sh = |script: &str| {
        let status = std::process::Command::new("sh")
            .args(["-ec", script])
            .current_dir(dir.path())
            .env("GIT_AUTHOR_NAME", "A")
            .env("GIT_AUTHOR_EMAIL", "a@example.com")
            .env("GIT_COMMITTER_NAME", "A")
            .env("GIT_COMMITTER_EMAIL", "a@example.com")
            .status()
            .unwrap();
        assert!(status.success(), "{script}");
    };
    sh("git init -q -b main
        git commit -q --allow-empty -m 'feat: first'; git tag v1.0.0
        git commit -q --allow-empty -m 'feat: minor work'; git tag v1.1.0
        git checkout -q -b v1.0.x v1.0.0
        git commit -q --allow-empty -m 'fix: backported fix'; git tag v1.0.1");
    let out = Run::new(dir.path())
        .args(["notes", "v1.0.1", "--format", "json"])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["previous_tag"], "v1.0.0", "{json}");
    assert_eq!(json["commits"], 1, "{json}");
    assert!(json["markdown"]
        .as_str()
        .unwrap()
        .contains("backported fix"));
    assert!(!json["markdown"].as_str().unwrap().contains("minor work"));
}

/// `--changelog` leaves a step summary like every command: what was written, and the
/// releases it holds.
#[test]
fn the_changelog_writes_a_step_summary() {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("sh")
        .args([
            "-ec",
            "git init -q -b main
             git commit -q --allow-empty -m 'feat: first'; git tag v1.0.0
             git commit -q --allow-empty -m 'fix: a bug'
             git commit -q --allow-empty -m 'feat: more'; git tag v1.1.0
             git commit -q --allow-empty -m 'fix: unreleased'",
        ])
        .current_dir(dir.path())
        .env("GIT_AUTHOR_NAME", "A")
        .env("GIT_AUTHOR_EMAIL", "a@example.com")
        .env("GIT_COMMITTER_NAME", "A")
        .env("GIT_COMMITTER_EMAIL", "a@example.com")
        .env("GIT_AUTHOR_DATE", "@1700000000 +0000")
        .env("GIT_COMMITTER_DATE", "@1700000000 +0000")
        .status()
        .unwrap();
    assert!(status.success());
    let actions = tempfile::tempdir().unwrap();
    let out = Run::new(dir.path())
        .actions(actions.path())
        .args(["notes", "--changelog"])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(dir.path().join("CHANGELOG.md").is_file());
    insta::assert_snapshot!(out.summary);
}
