//! A repository with no `.github/stage-gate.yml`: commands that act on configured targets
//! say the file is missing, where it was looked for and how to point at another (exit 2);
//! `check` notes it and checks what it finds; `tag` and `notes` need no config at all.

use crate::common::Run;
use std::path::Path;
use std::process::Command;

/// A git repository on `main` with one commit tagged `v1.0.0`, and no stage-gate config.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "T")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "T")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    git(&[
        "-c",
        "commit.gpgsign=false",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "feat: first",
    ]);
    git(&["-c", "tag.gpgsign=false", "tag", "v1.0.0"]);
    dir
}

fn refusal(command: &str, root: &Path) -> String {
    format!(
        "error: `{command}` needs the stage-gate config, and there is none: no .github/stage-gate.yml or .github/stage-gate.yaml in {}; create it (docs/config.md has an example per provider), or name another file with --config PATH (the action's `config` input; STAGE_GATE_CONFIG elsewhere)",
        root.display()
    )
}

#[test]
fn commands_that_need_the_config_say_it_is_missing_and_how_to_point_at_another() {
    let repo = repo();
    for args in [
        vec!["plan", "--env", "staging"],
        vec!["deploy", "--env", "staging", "--dry-run"],
        vec!["promote", "--to", "production", "--dry-run"],
        vec!["rollback", "--env", "staging", "--dry-run"],
        vec!["health", "--env", "staging"],
        vec!["notify", "--dry-run"],
    ] {
        let out = Run::new(repo.path()).args(&args).run();
        assert_eq!(out.code, 2, "{args:?}: {}", out.all());
        let first = out.stderr.lines().next().unwrap_or_default().to_string();
        assert_eq!(first, refusal(args[0], repo.path()), "{args:?}");
    }
}

#[test]
fn check_notes_the_missing_config_and_still_checks_fly_toml_and_workflows() {
    let repo = repo();
    std::fs::write(
        repo.path().join("fly.toml"),
        "app = \"web\"\nprimary_region = \"ams\"\nkill_timeout = \"soon\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(repo.path().join(".github/workflows")).unwrap();
    std::fs::write(
        repo.path().join(".github/workflows/ci.yml"),
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n",
    )
    .unwrap();
    let out = Run::new(repo.path())
        .args(["check", "--format", "json"])
        .env("STAGE_GATE_EXTERNAL_LINTERS", "off")
        .run();
    // The fly.toml error is found, so the check fails on it, not on the missing config.
    assert_eq!(out.code, 2, "{}", out.all());
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let rules: Vec<&str> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["fly/value", "config/missing"], "{}", out.stdout);
    let notice = &json["diagnostics"][1];
    assert_eq!(notice["severity"], "notice");
    assert!(notice["message"].as_str().unwrap().starts_with(
        "no stage-gate config: no .github/stage-gate.yml or .github/stage-gate.yaml in "
    ));
    assert_eq!(json["files"].as_array().unwrap().len(), 2, "{}", out.stdout);
}

#[test]
fn tag_and_notes_run_without_a_config() {
    let repo = repo();
    let out = Run::new(repo.path())
        .args(["tag", "v1.0.0", "--pattern", "v{version}"])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    let out = Run::new(repo.path()).args(["notes", "v1.0.0"]).run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("## v1.0.0"), "{}", out.stdout);
}

#[test]
fn a_config_path_that_does_not_exist_names_who_named_it() {
    let repo = repo();
    let out = Run::new(repo.path())
        .args(["check"])
        .env("INPUT_CONFIG", "infra/stage-gate.yml")
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains(
            "error: the config file infra/stage-gate.yml (named by `INPUT_CONFIG`) does not exist in "
        ),
        "{}",
        out.stderr
    );
}
