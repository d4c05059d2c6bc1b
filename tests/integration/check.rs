//! `stage-gate check` on whole repositories: fly.toml errors as annotations on the right
//! file:line, SARIF written, parity differences with both locations, workflow injection.

use crate::common::Run;
use std::path::Path;

const CONFIG: &str = "version: 1
apps:
  web:
    environments:
      staging:
        fly: {config: fly.staging.toml}
      production:
        fly: {config: fly.toml}
";

const PRODUCTION: &str = "app = \"web\"
primary_region = \"ams\"

[http_service]
  internal_port = 8080
  auto_stop_machines = \"stop\"

[[vm]]
  memory = \"1gb\"
";

/// [`CONFIG`] with production promoted from staging (what a clean repository has).
fn promoting() -> String {
    format!("{CONFIG}environments:\n  staging: {{}}\n  production:\n    requires: staging\n")
}

/// A repo with the config, both fly.toml files and the given extra files.
fn repo(staging: &str, extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(".github/stage-gate.yml", CONFIG);
    write("fly.toml", PRODUCTION);
    write("fly.staging.toml", staging);
    for (rel, text) in extra {
        write(rel, text);
    }
    dir
}

/// Our findings only: external linters differ between machines.
fn run(dir: &Path) -> Run {
    Run::new(dir).env("STAGE_GATE_EXTERNAL_LINTERS", "off")
}

const STAGING_OK: &str = "app = \"web-staging\"\nprimary_region = \"ams\"\n\n[http_service]\n  internal_port = 8080\n  auto_stop_machines = \"stop\"\n\n[[vm]]\n  memory = \"256mb\"\n";

#[test]
fn a_clean_repo_passes() {
    let dir = repo(STAGING_OK, &[(".github/stage-gate.yml", &promoting())]);
    let out = run(dir.path()).args(["check"]).run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("2 fly.toml, 1 parity pair(s)")
            && out.stdout.contains("0 error(s), 0 warning(s)"),
        "{}",
        out.stdout
    );
}

#[test]
fn broken_fly_toml_exits_2_with_an_annotation_on_its_line() {
    let staging = STAGING_OK.replace(
        "auto_stop_machines = \"stop\"",
        "auto_stop_machines = \"sometimes\"",
    );
    let dir = repo(&staging, &[]);
    let tmp = tempfile::tempdir().unwrap();
    let out = run(dir.path()).args(["check"]).actions(tmp.path()).run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stdout.contains("::error file=fly.staging.toml,line=6,col=3,title=fly/value::`http_service.auto_stop_machines` = \"sometimes\""),
        "{}",
        out.stdout
    );
    // Errors come before warnings in the annotations (GitHub shows only 10 per step).
    let first_warning = out.stdout.find("::warning").unwrap_or(usize::MAX);
    assert!(out.stdout.find("::error").unwrap() < first_warning);
    assert_eq!(out.output("errors").as_deref(), Some("1"));
    assert_eq!(out.output("result").as_deref(), Some("failure"));
    assert!(
        out.summary
            .contains("| error | fly.staging.toml:6:3 | fly/value |"),
        "{}",
        out.summary
    );
}

#[test]
fn toml_syntax_errors_have_line_and_caret() {
    let dir = repo("app = \"web-staging\"\n[http_service\n", &[]);
    let out = run(dir.path()).args(["check"]).run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stdout.contains("fly.staging.toml:2:"), "{}", out.stdout);
    assert!(
        out.stdout.contains("error[fly/syntax]: invalid TOML"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("2 | [http_service\n"), "{}", out.stdout);
}

#[test]
fn parity_difference_points_at_both_files() {
    let staging = STAGING_OK.replace("internal_port = 8080", "internal_port = 3000");
    let dir = repo(&staging, &[]);
    let out = run(dir.path()).args(["check"]).run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stdout.contains("fly.staging.toml:5:3: error[parity/must-match]: `http_service.internal_port` differs between staging (3000) and production (8080)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("= see also fly.toml:5:3"),
        "{}",
        out.stdout
    );
    // The smaller staging VM is an allowed difference: no finding about vm.
    assert!(!out.stdout.contains("vm.memory"), "{}", out.stdout);
}

/// `check.parity-may-differ` adds to the built-in list (the app name still may differ), and
/// values are compared as flyctl reads them, for warnings and for `parity-must-match`.
#[test]
fn parity_lists_extend_the_built_ins_and_values_compare_as_flyctl_reads_them() {
    let staging = STAGING_OK
        .replace("auto_stop_machines = \"stop\"", "auto_stop_machines = true")
        .replace("memory = \"256mb\"", "memory_mb = 1024")
        .replace(
            "[http_service]",
            "[env]\n  FEATURE = \"on\"\n\n[http_service]",
        );
    let dir = repo(&staging, &[]);
    let config = format!(
        "{}check:\n  parity-may-differ: [env.FEATURE]\n  parity-must-match: [vm, http_service]\n",
        promoting()
    );
    std::fs::write(dir.path().join(".github/stage-gate.yml"), config).unwrap();
    let out = run(dir.path()).args(["check"]).run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("0 error(s), 0 warning(s)"),
        "{}",
        out.stdout
    );
}

#[test]
fn workflow_script_injection_is_found() {
    let wf = "name: PR\non: pull_request\npermissions: {}\njobs:\n  greet:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"${{ github.event.pull_request.title }}\"\n";
    let dir = repo(STAGING_OK, &[(".github/workflows/pr.yml", wf)]);
    let tmp = tempfile::tempdir().unwrap();
    let out = run(dir.path()).args(["check"]).actions(tmp.path()).run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stdout.contains(
            "::error file=.github/workflows/pr.yml,line=8,col=20,title=workflow/script-injection::"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn sarif_is_written_from_the_flag_and_the_input() {
    let staging = STAGING_OK.replace("internal_port = 8080", "internal_port = 3000");
    let dir = repo(&staging, &[]);
    let sarif = dir.path().join("out/check.sarif");
    let out = run(dir.path())
        .args(["check", "--sarif", sarif.to_str().unwrap()])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    let result = &doc["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "parity/must-match");
    let phys = &result["locations"][0]["physicalLocation"];
    assert_eq!(phys["artifactLocation"]["uri"], "fly.staging.toml");
    assert_eq!(phys["region"]["startLine"], 5);
    assert_eq!(
        result["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "fly.toml"
    );

    // The `sarif-file` input, under Actions, also sets the `sarif-file` output.
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("results.sarif");
    let out = run(dir.path())
        .args(["check"])
        .actions(tmp.path())
        .env("INPUT_SARIF-FILE", target.to_str().unwrap())
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(target.is_file());
    assert_eq!(out.output("sarif-file").as_deref(), target.to_str());
}

#[test]
fn plaintext_secret_in_env_is_an_error_and_json_lists_it() {
    let staging = format!("{STAGING_OK}\n[env]\n  DATABASE_URL = \"postgres://app:hunter22@db.internal/app\"\n  PASSWORD_MIN_LENGTH = 12\n");
    let dir = repo(&staging, &[]);
    let out = run(dir.path()).args(["check", "--format", "json"]).run();
    assert_eq!(out.code, 2, "{}", out.all());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let rules: Vec<&str> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| d["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, vec!["fly/plaintext-secret"], "{}", out.stdout);
    // The secret is reported, never echoed: not in the source line, not in the parity
    // difference that names the same variable.
    assert!(!out.stdout.contains("hunter22"), "{}", out.stdout);
    assert!(
        out.stdout.contains("DATABASE_URL = \\\"***\\\""),
        "{}",
        out.stdout
    );
}

#[test]
fn production_dockerfile_findings_are_warnings_or_errors_when_configured() {
    let docker = "FROM node\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \"server.js\"]\n";
    let dir = repo(STAGING_OK, &[("Dockerfile", docker)]);
    let out = run(dir.path()).args(["check"]).run();
    assert_eq!(out.code, 0, "warnings only: {}", out.all());
    for expected in [
        "Dockerfile:1:1: warning[docker/base-tag]",
        "Dockerfile:1:1: warning[docker/root-user]",
    ] {
        assert!(out.stdout.contains(expected), "{expected}\n{}", out.stdout);
    }
    // The image runs on Fly Machines, whose init is PID 1: no init of its own is needed.
    assert!(!out.stdout.contains("docker/no-init"), "{}", out.stdout);
    assert!(out.stdout.contains("1 Dockerfile(s)"), "{}", out.stdout);

    let strict = format!("{CONFIG}check:\n  dockerfile-errors: true\n");
    std::fs::write(dir.path().join(".github/stage-gate.yml"), strict).unwrap();
    let out = run(dir.path()).args(["check"]).run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stdout
            .contains("Dockerfile:1:1: error[docker/root-user]"),
        "{}",
        out.stdout
    );
}

#[test]
fn missing_fly_toml_named_by_the_config_is_an_error_at_the_config_value() {
    let dir = repo(STAGING_OK, &[]);
    std::fs::remove_file(dir.path().join("fly.staging.toml")).unwrap();
    let out = run(dir.path()).args(["check"]).run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stdout
            // The value itself, inside the flow mapping `fly: {config: fly.staging.toml}`.
            .contains(".github/stage-gate.yml:6:23: error[fly/missing-file]: `fly.staging.toml`"),
        "{}",
        out.stdout
    );
}

#[test]
fn paths_on_the_command_line_are_checked_too() {
    let dir = repo(
        STAGING_OK,
        &[(
            "deploy/worker.toml",
            "app = \"w\"\n[http_service]\n  internal_port = \"eighty\"\n",
        )],
    );
    let out = run(dir.path()).args(["check", "deploy/worker.toml"]).run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stdout
            .contains("deploy/worker.toml:3:3: error[fly/type]"),
        "{}",
        out.stdout
    );
}

/// The exact text a user reads for a typical broken PR.
#[test]
fn human_output_snapshot() {
    let staging = "app = \"web-staging\"\nprimary_region = \"ams\"\n\n[http_service]\n  internal_port = 3000\n  auto_stop_machines = \"stop\"\n  min_machine_running = 1\n\n[[vm]]\n  memory = \"256mb\"\n";
    let wf = "on:\n  push:\n    branches: [main]\npermissions:\n  contents: read\nconcurrency: deploy\njobs:\n  staging:\n    runs-on: ubuntu-latest\n    steps:\n      - run: flyctl deploy -c fly.staging.toml\n  production:\n    runs-on: ubuntu-latest\n    steps:\n      - run: flyctl deploy -c fly.toml\n";
    let dir = repo(staging, &[(".github/workflows/deploy.yml", wf)]);
    let out = run(dir.path()).args(["check"]).run();
    assert_eq!(out.code, 2);
    insta::assert_snapshot!(out.stdout);
}

/// A stand-in `zizmor` on PATH: its SARIF findings are merged with ours.
#[cfg(unix)]
#[test]
fn external_linter_findings_are_merged() {
    let wf = "on:\n  push:\n    tags: ['v*']\npermissions: {}\nconcurrency: d\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n";
    let dir = repo(STAGING_OK, &[(".github/workflows/release.yml", wf)]);
    let (_bin, path) = fake_zizmor("warning", 10, 15);
    let out = Run::new(dir.path())
        .env("PATH", &path)
        .args(["check"])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains(".github/workflows/release.yml:10:15: warning[zizmor/unpinned-uses]: unpinned action reference"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("note: zizmor: 1 finding(s) merged"),
        "{}",
        out.stdout
    );
    // Switched off, nothing runs.
    let out = Run::new(dir.path())
        .env("PATH", &path)
        .env("STAGE_GATE_EXTERNAL_LINTERS", "off")
        .args(["check"])
        .run();
    assert!(!out.stdout.contains("zizmor"), "{}", out.stdout);
}

#[test]
fn missing_production_dockerfile_is_an_error_at_its_key() {
    let dir = repo(STAGING_OK, &[]);
    let prod = PRODUCTION.replace(
        "primary_region = \"ams\"\n",
        "primary_region = \"ams\"\n\n[build]\n  dockerfile = \"docker/Dockerfile.prod\"\n",
    );
    std::fs::write(dir.path().join("fly.toml"), prod).unwrap();
    let out = run(dir.path()).args(["check"]).run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stdout.contains("fly.toml:5:3: error[fly/missing-dockerfile]: `[build] dockerfile` names `docker/Dockerfile.prod`"),
        "{}",
        out.stdout
    );
}

#[test]
fn an_immediate_deploy_with_no_probe_is_warned_at_its_strategy() {
    let dir = repo(STAGING_OK, &[]);
    let config = "version: 1
apps:
  web:
    environments:
      staging:
        fly: {config: fly.staging.toml, strategy: immediate}
      production:
        fly: {config: fly.toml, strategy: immediate}
        health: {probes: [{url: \"https://web.example.com/healthz\"}]}
";
    std::fs::write(dir.path().join(".github/stage-gate.yml"), config).unwrap();
    let out = run(dir.path()).args(["check", "--format", "github"]).run();
    assert_eq!(out.code, 0, "a warning, not an error: {}", out.all());
    let warnings: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("config/no-health-gate"))
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "only the target without a probe: {}",
        out.all()
    );
    assert!(
        warnings[0].starts_with("::warning file=.github/stage-gate.yml,line=6,col="),
        "{}",
        warnings[0]
    );
}

#[test]
fn a_root_that_does_not_exist_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-folder");
    let out = run(dir.path())
        .args(["check", "--root", missing.to_str().unwrap()])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("no-such-folder` does not exist"),
        "{}",
        out.stderr
    );
    let out = run(dir.path())
        .env("INPUT_WORKING-DIRECTORY", missing.to_str().unwrap())
        .args(["check"])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("`working-directory` input"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_empty_fly_toml_is_one_finding_and_memory_units_are_flyctls() {
    let dir = repo("", &[(".github/stage-gate.yml", &promoting())]);
    std::fs::write(
        dir.path().join("fly.toml"),
        PRODUCTION.replace("memory = \"1gb\"", "memory = \"1Gi\""),
    )
    .unwrap();
    let out = run(dir.path()).args(["check", "--format", "github"]).run();
    let findings: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(findings.len(), 1, "{}", out.all());
    assert!(findings[0].contains("fly/empty"), "{}", findings[0]);
}

#[test]
fn annotations_are_capped_per_rule_and_the_summary_has_them_all() {
    let mut env = String::from("[env]\n");
    for i in 0..8 {
        env.push_str(&format!(
            "  API_TOKEN_{i} = \"sk_live_0123456789abcdef{i}\"\n"
        ));
    }
    let dir = repo(&format!("{STAGING_OK}{env}"), &[]);
    let actions = tempfile::tempdir().unwrap();
    let out = run(dir.path())
        .actions(actions.path())
        .args(["check", "--format", "github"])
        .run();
    let secrets = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("::error") && l.contains("fly/plaintext-secret"))
        .count();
    assert_eq!(secrets, 5, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("3 more `fly/plaintext-secret` finding(s) are listed in the step summary"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.summary.matches("fly/plaintext-secret").count(),
        8,
        "{}",
        out.summary
    );
}

#[test]
fn a_file_that_is_not_utf8_or_is_a_directory_is_named_where_it_fails() {
    let dir = repo(STAGING_OK, &[]);
    std::fs::write(
        dir.path().join("fly.worker.toml"),
        b"app = \"w\"\nenv = \"caf\xe9\"\n".as_slice(),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("conf/fly.toml")).unwrap();
    let out = run(dir.path())
        .args(["check", "fly.worker.toml", "conf/fly.toml"])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stdout
            .contains("fly.worker.toml:2:11: error[check/unreadable]")
            && out.stdout.contains("is not UTF-8 text"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("conf/fly.toml is a directory"),
        "{}",
        out.stdout
    );
}

#[test]
fn sarif_never_carries_a_secret_of_the_run() {
    const TOKEN: &str = "ghs_sarifLeakCheck0123456789abcdef";
    let staging = format!("{STAGING_OK}\nmystery_key = \"{TOKEN}\"\n");
    let dir = repo(&staging, &[]);
    let sarif = dir.path().join("check.sarif");
    let out = run(dir.path())
        .env("GITHUB_TOKEN", TOKEN)
        .args(["check", "--sarif-file", sarif.to_str().unwrap()])
        .run();
    let text = std::fs::read_to_string(&sarif).unwrap();
    assert!(text.contains("mystery_key"), "the finding is there: {text}");
    assert!(!text.contains(&TOKEN[..12]), "{text}");
    assert!(!out.all().contains(&TOKEN[..12]), "{}", out.all());
}

#[test]
fn findings_in_a_monorepo_folder_are_named_from_the_repository_top() {
    let top = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args(args)
            .current_dir(top.path())
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    let app = top.path().join("apps/web");
    std::fs::create_dir_all(app.join(".github")).unwrap();
    std::fs::write(app.join(".github/stage-gate.yml"), CONFIG).unwrap();
    std::fs::write(app.join("fly.toml"), PRODUCTION).unwrap();
    std::fs::write(
        app.join("fly.staging.toml"),
        STAGING_OK.replace("internal_port = 8080", "internal_port = 70000"),
    )
    .unwrap();
    let out = run(top.path())
        .args([
            "check",
            "--format",
            "github",
            "--root",
            app.to_str().unwrap(),
        ])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stdout
            .contains("::error file=apps/web/fly.staging.toml,line=5"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains(top.path().to_str().unwrap()),
        "no runner path: {}",
        out.stdout
    );
}

#[test]
fn a_root_outside_any_git_repository_is_refused() {
    let dir = repo(STAGING_OK, &[]);
    let out = run(dir.path())
        .args(["check", "--root", dir.path().to_str().unwrap()])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("is not in a git repository"),
        "{}",
        out.stderr
    );
    // The same folder once it is a repository checks normally.
    let ok = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(ok.success());
    let out = run(dir.path())
        .args(["check", "--root", dir.path().to_str().unwrap()])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
}

/// A production deploy on every push to main: a warning, unless the stage-gate config says
/// production `requires: staging` (then the team's own rule is broken: an error, exit 2).
#[test]
fn ungated_production_is_an_error_when_the_config_requires_staging() {
    let wf = "on:\n  push:\n    branches: [main]\npermissions: {}\nconcurrency: deploy\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - run: flyctl deploy --image registry.fly.io/web:1\n";
    let dir = repo(STAGING_OK, &[(".github/workflows/deploy.yml", wf)]);
    let out = run(dir.path()).args(["check"]).run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains(".github/workflows/deploy.yml:10:14: warning[workflow/ungated-production]"),
        "{}",
        out.stdout
    );
    let strict =
        format!("{CONFIG}environments:\n  staging: {{}}\n  production:\n    requires: staging\n");
    std::fs::write(dir.path().join(".github/stage-gate.yml"), strict).unwrap();
    let out = run(dir.path()).args(["check"]).run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stdout.contains("error[workflow/ungated-production]")
            && out.stdout.contains("`requires: staging`"),
        "{}",
        out.stdout
    );
}

/// Where zizmor reports the same hazard, its merged finding stands and ours is dropped;
/// without zizmor, ours is there and its help names zizmor's audit.
#[cfg(unix)]
#[test]
fn a_zizmor_finding_stands_for_ours() {
    let wf = "on:\n  push:\n    tags: ['v*']\npermissions: {}\nconcurrency: d\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: some/setup@v1\n      - run: flyctl deploy --image r:1\n        env:\n          FLY_API_TOKEN: ${{ secrets.FLY_API_TOKEN }}\n";
    let dir = repo(STAGING_OK, &[(".github/workflows/release.yml", wf)]);
    let alone = run(dir.path()).args(["check"]).run();
    assert!(
        alone
            .stdout
            .contains("10:15: warning[workflow/unpinned-action]"),
        "{}",
        alone.stdout
    );
    assert!(
        alone
            .stdout
            .contains("zizmor reports this as `unpinned-uses`"),
        "{}",
        alone.stdout
    );
    let (_bin, path) = fake_zizmor("error", 10, 9);
    let out = Run::new(dir.path())
        .env("PATH", &path)
        .args(["check"])
        .run();
    assert!(
        out.stdout.contains("warning[zizmor/unpinned-uses]")
            || out.stdout.contains("error[zizmor/unpinned-uses]"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("workflow/unpinned-action"),
        "{}",
        out.stdout
    );
}

/// A stand-in `zizmor` on PATH that reports one `unpinned-uses` in release.yml, as zizmor
/// does (SARIF on stdout, exit 13 for findings). The folder lives as long as the guard.
#[cfg(unix)]
fn fake_zizmor(level: &str, line: usize, column: usize) -> (tempfile::TempDir, String) {
    use std::os::unix::fs::PermissionsExt;
    let bin = tempfile::tempdir().unwrap();
    let sarif = format!(
        r#"{{"version":"2.1.0","runs":[{{"tool":{{"driver":{{"name":"zizmor"}}}},"results":[{{"ruleId":"zizmor/unpinned-uses","level":"{level}","message":{{"text":"unpinned action reference"}},"locations":[{{"physicalLocation":{{"artifactLocation":{{"uri":".github/workflows/release.yml"}},"region":{{"startLine":{line},"startColumn":{column}}}}}}}]}}]}}]}}"#
    );
    let script = bin.path().join("zizmor");
    std::fs::write(
        &script,
        format!("#!/bin/sh\ncat <<'JSON'\n{sarif}\nJSON\nexit 13\n"),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    (bin, path)
}

#[test]
fn a_production_that_would_build_anew_is_warned_and_one_that_promotes_is_not() {
    let dir = repo(PRODUCTION, &[]);
    let out = run(dir.path()).args(["check"]).run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("warning[config/production-rebuilds]: web/production builds a new image with flyctl on every deploy"),
        "{}",
        out.stdout
    );
    std::fs::write(dir.path().join(".github/stage-gate.yml"), promoting()).unwrap();
    let out = run(dir.path()).args(["check"]).run();
    assert!(!out.all().contains("production-rebuilds"), "{}", out.all());
}
