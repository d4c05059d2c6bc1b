//! The CLI surface: config errors, inputs, exit codes, outputs, masking.

use crate::common::{repo_with_config, Run};

const CONFIG: &str = "version: 1\napps:\n  web:\n    environments:\n      staging:\n        command: {run: 'echo deploy'}\n";

#[test]
fn misspelt_key_exits_2_with_file_line_col_and_a_hint() {
    let repo = repo_with_config("version: 1\napps:\n  web:\n    enviroments: {}\n");
    let out = Run::new(repo.path()).args(["check"]).run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stdout.contains(
            ".github/stage-gate.yml:4:5: error[config/unknown-key]: unknown key `enviroments`"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("did you mean `environments`?"),
        "{}",
        out.stdout
    );
}

#[test]
fn config_errors_become_annotations_under_actions() {
    let repo = repo_with_config("version: 1\napps:\n  web:\n    enviroments: {}\n");
    let tmp = tempfile::tempdir().unwrap();
    let out = Run::new(repo.path())
        .args(["check"])
        .actions(tmp.path())
        .run();
    assert_eq!(out.code, 2);
    assert!(
        out.stdout.contains(
            "::error file=.github/stage-gate.yml,line=4,col=5,title=config/unknown-key::"
        ),
        "{}",
        out.stdout
    );
    assert!(out.summary.contains("1 error(s)"), "{}", out.summary);
    assert_eq!(out.output("result").as_deref(), Some("failure"));
}

#[test]
fn the_command_input_selects_the_subcommand() {
    let repo = repo_with_config(CONFIG);
    let tmp = tempfile::tempdir().unwrap();
    let out = Run::new(repo.path())
        .actions(tmp.path())
        .env("INPUT_COMMAND", "plan")
        .env("INPUT_ENVIRONMENT", "staging")
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        out.output("matrix").as_deref(),
        Some(r#"{"include":[{"app":"web","environment":"staging","provider":"command"}]}"#)
    );
    assert!(out.summary.contains("| web | command |"), "{}", out.summary);
}

#[test]
fn ill_typed_input_names_the_input() {
    let repo = repo_with_config(CONFIG);
    let out = Run::new(repo.path())
        .args(["plan", "--env", "staging"])
        .env("INPUT_DRY-RUN", "maybe")
        .run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("input `dry-run` (INPUT_DRY-RUN) is `maybe`"),
        "{}",
        out.stderr
    );
}

#[test]
fn unknown_command_input_is_invalid() {
    let repo = repo_with_config(CONFIG);
    let out = Run::new(repo.path()).env("INPUT_COMMAND", "shipit").run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("expected one of: check, plan"),
        "{}",
        out.stderr
    );
}

#[test]
fn secret_inputs_are_masked_first_and_never_printed() {
    let repo = repo_with_config(CONFIG);
    let tmp = tempfile::tempdir().unwrap();
    let token = "ghp_supersecretvalue123";
    let out = Run::new(repo.path())
        .actions(tmp.path())
        .env("INPUT_GITHUB-TOKEN", token)
        .env("INPUT_COMMAND", "plan")
        .env("INPUT_ENVIRONMENT", token)
        .run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.starts_with(&format!("::add-mask::{token}\n")),
        "{}",
        out.stderr
    );
    let rest = out.stderr.replacen(&format!("::add-mask::{token}"), "", 1);
    assert!(!rest.contains(token), "{rest}");
    assert!(!out.stdout.contains(token) && !out.summary.contains(token));
}

#[test]
fn plan_matrix_format() {
    let repo = repo_with_config(CONFIG);
    let out = Run::new(repo.path())
        .args(["plan", "--env", "staging", "--output", "matrix"])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(v["include"][0]["app"], "web");
}

/// `matrix` is plan's alone: `plan --output matrix`, `--format matrix` and the `format` input
/// all print it for plan; every other command refuses it, and only plan's --help lists it.
#[test]
fn plan_format_matrix_and_its_misuse() {
    let matrix = r#"{"include":[{"app":"web","environment":"staging","provider":"command"}]}"#;
    let repo = repo_with_config(CONFIG);
    let out = Run::new(repo.path())
        .args(["plan", "--env", "staging", "--format", "matrix"])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.stdout.trim(), matrix);
    let tmp = tempfile::tempdir().unwrap();
    let out = Run::new(repo.path())
        .actions(tmp.path())
        .env("INPUT_COMMAND", "plan")
        .env("INPUT_ENVIRONMENT", "staging")
        .env("INPUT_FORMAT", "matrix")
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.stdout.trim(), matrix);

    let out = Run::new(repo.path())
        .args(["check", "--format", "matrix"])
        .run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(
            "format `matrix` is for `plan` only (`plan --output matrix`); `check` prints human, json or github"
        ),
        "{}",
        out.stderr
    );
    let out = Run::new(repo.path())
        .env("INPUT_COMMAND", "deploy")
        .env("INPUT_FORMAT", "matrix")
        .run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("`deploy` prints human, json or github"),
        "{}",
        out.stderr
    );

    for command in crate::common::COMMANDS {
        let help = Run::new(repo.path()).args([command, "--help"]).run();
        assert_eq!(help.code, 0);
        assert_eq!(
            help.stdout.contains("matrix"),
            command == "plan",
            "{command} --help:\n{}",
            help.stdout
        );
    }
}

#[test]
fn no_colour_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    // No NO_COLOR: only the pipe says "no terminal here".
    let out = crate::common::Run::new(dir.path())
        .without_env("NO_COLOR")
        .args(["deploy", "--env", "nowhere"])
        .run();
    assert_ne!(out.code, 0);
    assert!(!out.stderr.is_empty());
    assert!(!out.stderr.contains('\u{1b}'), "{:?}", out.stderr);
}

/// `plan --output json --image` shows, offline and without a token, the machine config each
/// process group of the fly.toml would get and the release-command machine's.
#[test]
fn plan_json_shows_each_groups_machine_config_and_the_release_machine() {
    let repo = repo_with_config(
        "version: 1\napps:\n  web:\n    environments:\n      staging: {fly: {config: fly.staging.toml}}\n",
    );
    std::fs::write(
        repo.path().join("fly.staging.toml"),
        "app = 'web-stg'\nprimary_region = 'ams'\n[processes]\nweb = 'serve'\nworker = 'work --hard'\n[deploy]\nrelease_command = 'bin/migrate'\n[http_service]\ninternal_port = 8080\nprocesses = ['web']\n",
    )
    .unwrap();
    let out = Run::new(repo.path())
        .args([
            "plan",
            "--env",
            "staging",
            "--output",
            "json",
            "--image",
            "registry.fly.io/web:v9",
        ])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let m = &plan["targets"][0]["machines"];
    let web = &m["process_groups"]["web"]["create_machine"];
    assert_eq!(web["region"], "ams");
    assert_eq!(crate::common::image_of(web), "registry.fly.io/web:v9");
    assert_eq!(web["config"]["services"][0]["internal_port"], 8080);
    assert_eq!(web["config"]["init"]["cmd"], serde_json::json!(["serve"]));
    let worker = &m["process_groups"]["worker"]["create_machine"]["config"];
    assert_eq!(worker["init"]["cmd"], serde_json::json!(["work", "--hard"]));
    assert_eq!(worker.get("services"), None);
    let release = &m["release_command_machine"];
    assert_eq!(release["skip_launch"], true);
    assert_eq!(
        release["config"]["init"]["cmd"],
        serde_json::json!(["bin/migrate"])
    );
    assert_eq!(crate::common::image_of(release), "registry.fly.io/web:v9");

    // A bad image reference or a fly.toml flyctl refuses is exit 2.
    let out = Run::new(repo.path())
        .args([
            "plan",
            "--env",
            "staging",
            "--output",
            "json",
            "--image",
            "Not An Image",
        ])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    std::fs::write(
        repo.path().join("fly.staging.toml"),
        "app = 'web-stg'\n[[restart]]\npolicy = 'sometimes'\n",
    )
    .unwrap();
    let out = Run::new(repo.path())
        .args(["plan", "--env", "staging", "--output", "json"])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.all().contains("sometimes"), "{}", out.all());
}

/// Everything wrong in the config is reported in one run, each at the value's own line and
/// column (flow style too): unknown keys no longer hide the type and value errors around them.
#[test]
fn every_config_error_is_reported_at_its_value_in_one_run() {
    let repo = repo_with_config(
        "version: 1\napps:\n  web:\n    enviroments: {}\n    environments:\n      staging:\n        command: {run: 'echo hi'}\n        health:\n          probes:\n            - { url: \"http://x/health\", expect-status: 999 }\n        timeout: 30\n",
    );
    let out = Run::new(repo.path()).args(["check"]).run();
    assert_eq!(out.code, 2, "{}", out.all());
    let text = out.stdout.clone();
    assert!(
        text.contains(
            ".github/stage-gate.yml:4:5: error[config/unknown-key]: unknown key `enviroments`"
        ),
        "{text}"
    );
    assert!(
        text.contains(".github/stage-gate.yml:11:18: error[config/invalid]"),
        "timeout: {text}"
    );
    assert!(
        text.contains("write `30s` for seconds or `30m` for minutes"),
        "{text}"
    );
    assert!(
        text.contains(".github/stage-gate.yml:10:"),
        "expect-status: {text}"
    );
}

#[test]
fn a_deeply_nested_config_is_refused_fast() {
    let deep = format!(
        "version: 1\napps: {}{}\n",
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let repo = repo_with_config(&deep);
    let out = Run::new(repo.path()).args(["check"]).run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stdout.contains("nested deeper than 64"),
        "{}",
        out.stdout
    );
}

/// GitHub runs at most 256 jobs from one matrix: a bigger one is refused with the split that
/// fixes it, and the split (an app glob) works.
#[test]
fn a_matrix_over_githubs_job_limit_is_refused_with_the_split() {
    let mut config = String::from("version: 1\napps:\n");
    for group in ["api", "web"] {
        for i in 0..150 {
            config.push_str(&format!(
                "  {group}-{i:03}:\n    environments:\n      staging: {{command: {{run: 'true'}}}}\n"
            ));
        }
    }
    let repo = repo_with_config(&config);
    let out = Run::new(repo.path())
        .args(["plan", "--env", "staging", "--output", "matrix"])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert_eq!(out.stdout, "");
    insta::assert_snapshot!(out.stderr.trim());
    // Under Actions the step output is the matrix: refused there too, whatever the format.
    let tmp = tempfile::tempdir().unwrap();
    let out = Run::new(repo.path())
        .actions(tmp.path())
        .env("INPUT_COMMAND", "plan")
        .env("INPUT_ENVIRONMENT", "staging")
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert_eq!(out.output("matrix"), None);

    let out = Run::new(repo.path())
        .args([
            "plan", "--env", "staging", "--output", "matrix", "--app", "api-*",
        ])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(v["include"].as_array().unwrap().len(), 150);
    let out = Run::new(repo.path())
        .args(["plan", "--env", "staging", "--app", "db-*"])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("no app of `staging` matches `db-*`"),
        "{}",
        out.stderr
    );
}

/// A deploy to an environment no app has says so in the plan's words, not as a failed target
/// with an empty name (`error: : no app is configured …`).
#[test]
fn a_deploy_to_an_unconfigured_environment_names_it_and_the_near_one() {
    let repo = repo_with_config(CONFIG);
    let out = Run::new(repo.path())
        .args(["deploy", "--env", "stagin", "--dry-run", "--sha", "0123456"])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert_eq!(
        out.stderr.lines().next(),
        Some("error: no app is configured for environment `stagin`: did you mean `staging`? (environments: staging)"),
        "{}",
        out.all()
    );
}

/// The dry run of a notification says what is sent in words (`a Slack message`), not a
/// Rust enum's name (`Slack event`, `Json event`).
#[test]
fn a_notification_dry_run_names_the_payload_in_words() {
    let repo = repo_with_config(&format!(
        "{CONFIG}notify:\n  - webhook: https://hooks.example.com/x\n    format: slack\n  - webhook: https://hooks.example.com/y\n"
    ));
    let out = Run::new(repo.path())
        .args(["notify", "--env", "staging", "--dry-run"])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    let all = out.all();
    assert!(
        all.contains("[dry-run] POST https://hooks.example.com/x (a Slack message for `staging_deployment_complete`)"),
        "{all}"
    );
    assert!(
        all.contains("(a JSON event for `staging_deployment_complete`)"),
        "{all}"
    );
    assert!(
        all.contains("webhook (Slack message) https://hooks.example.com/x: would send the success event (dry run)"),
        "{all}"
    );
    assert!(
        !all.contains("Json") && !all.contains("Slack event"),
        "{all}"
    );
}

/// A process group that mounts a volume and a fly.toml with no `primary_region`: the plan
/// still shows every group, and says a first machine would need the region.
#[test]
fn a_plan_without_primary_region_shows_the_groups_and_what_a_first_machine_needs() {
    let repo = repo_with_config(
        "version: 1\napps:\n  web:\n    environments:\n      staging: {fly: {config: fly.staging.toml}}\n",
    );
    std::fs::write(
        repo.path().join("fly.staging.toml"),
        "app = 'web-stg'\n[mounts]\nsource = 'data'\ndestination = '/data'\n",
    )
    .unwrap();
    let out = Run::new(repo.path())
        .args(["plan", "--env", "staging", "--output", "json"])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let app = &plan["targets"][0]["machines"]["process_groups"]["app"];
    assert!(
        app["create_machine"]["config"]["mounts"].is_array(),
        "{app}"
    );
    assert!(
        app["note"]
            .as_str()
            .is_some_and(|n| n.contains("no `primary_region` to create it in")),
        "{app}"
    );
}

/// A notification's `on:` takes one event or a list; an unknown one is named at its own
/// line and column, with the valid events and the nearest.
#[test]
fn a_notify_event_that_does_not_exist_is_named_at_its_value() {
    let config = format!(
        "{CONFIG}notify:\n  - webhook: https://hooks.example.com/x\n    on:\n      - deploy-success\n      - deploy-succeeded\n  - webhook: https://hooks.example.com/y\n    on: notify\n"
    );
    let line = config
        .lines()
        .position(|l| l.contains("deploy-succeeded"))
        .unwrap()
        + 1;
    let repo = repo_with_config(&config);
    let out = Run::new(repo.path())
        .args(["plan", "--env", "staging"])
        .run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.all().contains(&format!(
            ".github/stage-gate.yml:{line}:9: error[config/invalid]: `deploy-succeeded` is not an event a notification fires on"
        )),
        "{}",
        out.all()
    );
    assert!(out.all().contains("deploy-success"), "{}", out.all());
    let fixed = config.replace("      - deploy-succeeded\n", "");
    std::fs::write(repo.path().join(".github/stage-gate.yml"), fixed).unwrap();
    let out = Run::new(repo.path())
        .args(["plan", "--env", "staging"])
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
}
