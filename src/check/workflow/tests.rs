//! One workflow per rule: what fires it, and the nearest thing that must not.

use super::*;
use crate::report::Severity;

fn run(text: &str, policy: &Policy) -> Vec<Diagnostic> {
    check_all(&[(Path::new("w.yml"), text)], policy)
}

fn findings(text: &str) -> Vec<String> {
    run(text, &Policy::default())
        .into_iter()
        .map(|d| format!("{}:{} {}", d.location.line, d.location.column, d.rule))
        .collect()
}

/// A policy whose repository holds one file.
fn with_file(path: &str, text: &str) -> Policy {
    let mut files = BTreeMap::new();
    files.insert(path.to_string(), text.to_string());
    Policy {
        files,
        ..Policy::default()
    }
}

fn rules(text: &str) -> Vec<String> {
    let mut r: Vec<String> = run(text, &Policy::default())
        .into_iter()
        .map(|d| d.rule)
        .collect();
    r.sort();
    r.dedup();
    r
}

/// Seed 004: one push to main deploys both environments.
const SEED_004: &str = "on:\n  push:\n    branches: [main]\npermissions:\n  contents: read\nconcurrency: deploy\njobs:\n  staging:\n    runs-on: ubuntu-latest\n    steps:\n      - run: flyctl deploy -c fly.staging.toml\n  production:\n    needs: staging\n    runs-on: ubuntu-latest\n    steps:\n      - run: flyctl deploy -c fly.production.toml\n";

#[test]
fn seed_004_needs_on_staging_gates_production_in_one_file() {
    // `needs: staging` is a gate: production waits for the staging deploy.
    assert_eq!(findings(SEED_004), Vec::<String>::new());
    let parallel = SEED_004.replace("    needs: staging\n", "");
    assert_eq!(
        findings(&parallel),
        vec![
            "15:14 workflow/ungated-production",
            "15:14 workflow/simultaneous-deploy"
        ]
    );
}

#[test]
fn ungated_production_is_a_warning_unless_the_config_requires_staging() {
    let wf = "on:\n  push:\n    branches: [main]\nconcurrency: d\njobs:\n  deploy:\n    runs-on: x\n    steps:\n      - run: flyctl deploy --app web --image r/web:1\n";
    let d = run(wf, &Policy::default());
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(
        (d[0].rule.as_str(), d[0].severity),
        ("workflow/ungated-production", Severity::Warning)
    );
    assert!(
        d[0].message.contains("taken as the live one"),
        "{}",
        d[0].message
    );
    let strict = Policy {
        production_requires: Some("staging".into()),
        ..Policy::default()
    };
    let d = run(wf, &strict);
    assert_eq!(d[0].severity, Severity::Error);
    assert!(d[0].message.contains("`requires: staging`"));
    // An environment, a tag trigger, a release branch or stage-gate promote gates it.
    for gated in [
        wf.replace(
            "    runs-on: x\n",
            "    runs-on: x\n    environment: production\n",
        ),
        wf.replace("    branches: [main]\n", "    tags: ['v*']\n"),
        wf.replace("[main]", "[production]"),
        wf.replace(
            "flyctl deploy --app web --image r/web:1",
            "stage-gate promote --env production",
        ),
        wf.replace(
            "      - run:",
            "      - if: startsWith(github.ref, 'refs/tags/')\n        run:",
        ),
    ] {
        assert_eq!(findings(&gated), Vec::<String>::new(), "{gated}");
    }
}

#[test]
fn a_push_of_any_branch_is_said_so_and_a_main_only_condition_narrows_it() {
    let wf = "on: push\nconcurrency: d\njobs:\n  d:\n    runs-on: x\n    steps:\n      - run: flyctl deploy --image r:1\n";
    let d = run(wf, &Policy::default());
    assert!(
        d[0].message.contains("every push to any branch"),
        "{}",
        d[0].message
    );
    let main_only = wf.replace(
        "    runs-on: x\n",
        "    runs-on: x\n    if: github.ref == 'refs/heads/main'\n",
    );
    let d = run(&main_only, &Policy::default());
    assert!(
        d[0].message.contains("every push to `main`"),
        "{}",
        d[0].message
    );
}

#[test]
fn the_environment_is_decided_by_whole_words_and_said() {
    let wf = |app: &str| {
        format!("on:\n  push:\n    branches: [main]\nconcurrency: d\njobs:\n  deploy:\n    runs-on: x\n    steps:\n      - run: flyctl deploy --app {app} --image r:1\n")
    };
    let d = run(&wf("backstage-api"), &Policy::default());
    assert_eq!(d.len(), 1);
    assert!(
        d[0].message.contains("production (no app"),
        "{}",
        d[0].message
    );
    assert!(run(&wf("web-staging"), &Policy::default()).is_empty());
    let d = run(&wf("web-prod"), &Policy::default());
    assert!(
        d[0].message.contains("production (app `web-prod`)"),
        "{}",
        d[0].message
    );
    // A config path and its folder: `-c` before or after the subcommand.
    let c = "on:\n  push:\n    branches: [main]\nconcurrency: d\njobs:\n  deploy:\n    runs-on: x\n    steps:\n      - run: flyctl -c deploy/fly.production.toml deploy --image r:1\n";
    assert!(run(c, &Policy::default())[0]
        .message
        .contains("config `deploy/fly.production.toml`"));
}

#[test]
fn deploys_are_commands_not_substrings() {
    let wf = "on:\n  push:\n    branches: [main]\njobs:\n  build:\n    runs-on: x\n    steps:\n      - run: |\n          echo \"next: flyctl deploy\"\n          ./scripts/coolify/build.sh\n          fly deploy --build-only\n          flyctl ssh console -a prod --command 'fly deploy'\n";
    assert_eq!(findings(wf), Vec::<String>::new());
    let real = "on:\n  push:\n    branches: [main]\njobs:\n  d:\n    runs-on: x\n    steps:\n      - run: cd api && fly --app x deploy --image r:1\n";
    assert_eq!(
        findings(real),
        vec![
            "8:24 workflow/ungated-production",
            "5:3 workflow/deploy-concurrency"
        ]
    );
}

#[test]
fn a_pull_request_deploying_production_is_an_error() {
    let wf = "on: [push, pull_request]\nconcurrency: d\njobs:\n  d:\n    runs-on: x\n    steps:\n      - run: flyctl deploy --image r:1\n";
    let d = run(wf, &Policy::default());
    let pr = d
        .iter()
        .find(|d| d.rule == "workflow/pr-production")
        .expect("pr-production");
    assert_eq!(pr.severity, Severity::Error);
    let push_only = wf.replace(
        "    runs-on: x\n",
        "    runs-on: x\n    if: github.event_name == 'push'\n",
    );
    assert!(!rules(&push_only).contains(&"workflow/pr-production".to_string()));
}

#[test]
fn dispatch_from_any_branch_unless_the_ref_is_tested() {
    let wf = "on:\n  workflow_dispatch:\nconcurrency: d\njobs:\n  d:\n    runs-on: x\n    steps:\n      - run: flyctl deploy --image r:1\n";
    assert_eq!(findings(wf), vec!["8:14 workflow/dispatch-any-branch"]);
    let main_only = wf.replace(
        "    runs-on: x\n",
        "    runs-on: x\n    if: github.ref == 'refs/heads/main'\n",
    );
    assert_eq!(findings(&main_only), Vec::<String>::new());
    let chained = "on:\n  workflow_run:\n    workflows: CI\n    types: completed\nconcurrency: d\njobs:\n  d:\n    runs-on: x\n    steps:\n      - run: flyctl deploy --image r:1\n";
    assert_eq!(
        findings(chained),
        vec!["10:14 workflow/dispatch-any-branch"]
    );
    let filtered = chained.replace(
        "    types: completed\n",
        "    types: completed\n    branches: main\n",
    );
    assert_eq!(findings(&filtered), Vec::<String>::new());
}

#[test]
fn concurrency_missing_or_cancelling() {
    let wf = "on:\n  push:\n    tags: ['v*']\njobs:\n  d:\n    runs-on: x\n    steps:\n      - run: flyctl deploy --image r:1\n";
    assert_eq!(findings(wf), vec!["5:3 workflow/deploy-concurrency"]);
    // The group the fix names is the job's own environment's.
    let group = |text: &str| run(text, &Policy::default())[0].help.clone().unwrap();
    assert!(
        group(wf).contains("group: deploy-production,"),
        "{}",
        group(wf)
    );
    let staging = wf.replace(
        "    runs-on: x\n",
        "    runs-on: x\n    environment: staging\n",
    );
    assert!(
        group(&staging).contains("group: deploy-staging,"),
        "{}",
        group(&staging)
    );
    let preview = wf.replace(
        "flyctl deploy --image r:1",
        "flyctl deploy -c fly.preview.toml --image r:1",
    );
    assert!(
        group(&preview).contains("group: deploy-staging,"),
        "{}",
        group(&preview)
    );
    let cancel = wf.replace(
        "jobs:\n",
        "concurrency:\n  group: deploy\n  cancel-in-progress: true\njobs:\n",
    );
    assert_eq!(findings(&cancel), vec!["6:23 workflow/cancel-in-progress"]);
    let job = wf.replace(
        "    runs-on: x\n",
        "    runs-on: x\n    concurrency: { group: d, cancel-in-progress: true }\n",
    );
    assert_eq!(findings(&job), vec!["7:50 workflow/cancel-in-progress"]);
    let fine = wf.replace(
        "    runs-on: x\n",
        "    runs-on: x\n    concurrency: { group: d, cancel-in-progress: false }\n",
    );
    assert_eq!(findings(&fine), Vec::<String>::new());
}

const COOLIFY: &str = "on:\n  push:\n    tags: ['v*']\nconcurrency: d\njobs:\n  d:\n    runs-on: x\n    steps:\n      - env:\n          HOOK: ${{ secrets.COOLIFY_WEBHOOK }}\n        run: curl -sS \"$HOOK\"\n";

#[test]
fn a_webhook_without_fail_and_without_a_check_after_it() {
    assert_eq!(
        findings(COOLIFY),
        vec![
            "11:14 workflow/curl-no-fail",
            "11:14 workflow/deploy-unverified"
        ]
    );
    let failing = COOLIFY.replace("curl -sS", "curl -fsS");
    assert_eq!(findings(&failing), vec!["11:14 workflow/deploy-unverified"]);
    let checked =
        format!("{failing}      - run: curl --fail --retry 10 https://app.example/health\n");
    assert_eq!(findings(&checked), Vec::<String>::new());
    // A chat webhook is not a deploy; Coolify's API is, and a tested status is checked.
    let chat = COOLIFY.replace("COOLIFY_WEBHOOK", "SLACK_WEBHOOK_URL");
    assert_eq!(findings(&chat), Vec::<String>::new());
    let api = "on:\n  push:\n    tags: ['v*']\nconcurrency: d\njobs:\n  d:\n    runs-on: x\n    steps:\n      - run: |\n          code=$(curl -s -o /dev/null -w \"%{http_code}\" \"https://c.example/api/v1/deploy?uuid=1\")\n          if [ \"$code\" != 200 ]; then exit 1; fi\n";
    assert_eq!(findings(api), vec!["10:18 workflow/deploy-unverified"]);
}

#[test]
fn fly_detach_needs_a_check_after_it() {
    let wf = "on:\n  push:\n    tags: ['v*']\nconcurrency: d\njobs:\n  d:\n    runs-on: x\n    steps:\n      - run: flyctl deploy --image r:1 --detach\n  smoke:\n    needs: d\n    runs-on: x\n    steps:\n      - run: flyctl status --app web\n";
    assert_eq!(findings(wf), Vec::<String>::new());
    let alone = wf.split("  smoke:").next().unwrap();
    assert_eq!(findings(alone), vec!["9:14 workflow/deploy-unverified"]);
}

#[test]
fn script_injection_only_from_text_an_outsider_sets() {
    let wf = "on:\n  pull_request:\n  workflow_dispatch:\n    inputs:\n      dry: {type: boolean}\n      env: {type: choice, options: [staging, production]}\n      count: {type: number}\n      note: {type: string}\n      plain: {}\npermissions: {}\njobs:\n  go:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          echo \"${{ github.event.pull_request.title }}\" ${{ github.event.pull_request.number }}\n          echo ${{ inputs.dry }} ${{ inputs.env }} ${{ github.event.inputs.count }}\n          echo ${{ inputs.note }}\n          echo ${{ inputs.plain }}\n";
    let d = run(wf, &Policy::default());
    let found: Vec<(usize, usize, Severity)> = d
        .iter()
        .filter(|d| d.rule == "workflow/script-injection")
        .map(|d| (d.location.line, d.location.column, d.severity))
        .collect();
    assert_eq!(
        found,
        vec![
            (16, 17, Severity::Error),
            (18, 16, Severity::Warning),
            (19, 16, Severity::Warning)
        ]
    );
    assert!(d
        .iter()
        .any(|d| d.message.contains("whoever starts the workflow by hand")));
}

#[test]
fn a_secret_in_the_script_text() {
    let wf = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: |\n          ./migrate --url \"${{ secrets.DATABASE_URL }}\"\n      - env:\n          URL: ${{ secrets.DATABASE_URL }}\n        run: ./migrate --url \"$URL\"\n";
    assert_eq!(findings(wf), vec!["7:28 workflow/secret-in-run"]);
}

#[test]
fn permissions_are_judged_per_job() {
    let wf = "on: push\npermissions:\n  contents: write\njobs:\n  a:\n    runs-on: x\n    steps: [{run: echo}]\n  b:\n    runs-on: x\n    steps: [{run: echo}]\n";
    assert_eq!(findings(wf), vec!["3:3 workflow/permissions"]);
    // Each job sets its own: the workflow's scopes reach none of them.
    let own = wf.replace("    runs-on: x\n", "    runs-on: x\n    permissions: {}\n");
    assert_eq!(findings(&own), Vec::<String>::new());
    let all = "on: push\njobs:\n  a:\n    runs-on: x\n    permissions: write-all\n    steps: [{run: echo}]\n";
    assert_eq!(findings(all), vec!["5:18 workflow/permissions"]);
    // No block at all is zizmor's `excessive-permissions`, not said twice.
    let none = "on:\n  push:\n    tags: ['v*']\nconcurrency: d\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: fly deploy --image r:1\n";
    assert_eq!(findings(none), Vec::<String>::new());
}

#[test]
fn a_stage_gate_deploy_needs_deployments_write() {
    let wf = "on:\n  push:\n    branches: [main]\npermissions:\n  contents: read\njobs:\n  deploy:\n    runs-on: x\n    environment: staging\n    concurrency: deploy-staging\n    steps:\n      - uses: stage-gate/stage-gate@v1\n        with:\n          command: deploy\n          environment: staging\n";
    let d = run(wf, &Policy::default());
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(
        (d[0].rule.as_str(), d[0].severity, d[0].location.line),
        ("workflow/permissions", Severity::Error, 4)
    );
    let granted = wf.replace(
        "  contents: read\n",
        "  contents: read\n  deployments: write\n",
    );
    assert!(run(&granted, &Policy::default()).is_empty());
}

#[test]
fn a_stage_gate_notify_that_dispatches_production_is_not_a_deploy() {
    let wf = "on:\n  push:\n    branches: [main]\npermissions: {}\njobs:\n  notify:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: stage-gate/stage-gate@v1\n        with:\n          command: notify\n          dispatch: deploy-production.yml\n";
    assert_eq!(findings(wf), Vec::<String>::new());
}

#[test]
fn unpinned_actions_beside_a_deploy_token() {
    let wf = "on:\n  push:\n    tags: ['v*']\nconcurrency: d\njobs:\n  d:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n        with: { persist-credentials: false }\n      - uses: superfly/flyctl-actions/setup-flyctl@master\n      - uses: some/tool@0123456789abcdef0123456789abcdef01234567\n      - run: flyctl deploy --remote-only\n        env:\n          FLY_API_TOKEN: ${{ secrets.FLY_API_TOKEN }}\n";
    assert_eq!(findings(wf), vec!["11:15 workflow/unpinned-action"]);
    // The fix keeps the action's folder in its repository.
    let help = run(wf, &Policy::default())[0].help.clone().unwrap();
    assert!(
        help.starts_with(
            "pin it to a commit: `uses: superfly/flyctl-actions/setup-flyctl@<40-character SHA> # master`"
        ),
        "{help}"
    );
    // The repository's zizmor policy decides which owners may be pinned by ref.
    let policy = |yaml: &str| with_file(".github/zizmor.yml", yaml);
    let superfly = "rules:\n  unpinned-uses:\n    config:\n      policies:\n        \"superfly/*\": ref-pin\n        \"*\": hash-pin\n";
    let lines: Vec<usize> = run(wf, &policy(superfly))
        .iter()
        .map(|d| d.location.line)
        .collect();
    assert_eq!(
        lines,
        [9],
        "only actions/checkout, which `*` sends to hash-pin"
    );
    let strict =
        "rules:\n  unpinned-uses:\n    config:\n      policies:\n        \"*\": hash-pin\n";
    let d = run(wf, &policy(strict));
    assert_eq!(
        d.len(),
        2,
        "actions/checkout by tag is refused by this policy too: {d:#?}"
    );
    // No secret in the job: nothing to steal.
    let tokenless = wf.replace(
        "        env:\n          FLY_API_TOKEN: ${{ secrets.FLY_API_TOKEN }}\n",
        "",
    );
    assert_eq!(findings(&tokenless), Vec::<String>::new());
}

#[test]
fn checkout_credentials_uploaded_with_the_build_context() {
    let wf = "on:\n  push:\n    tags: ['v*']\nconcurrency: d\njobs:\n  d:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n      - run: cd api && flyctl deploy --remote-only\n";
    let d = run(wf, &Policy::default());
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(
        (d[0].rule.as_str(), d[0].location.line),
        ("workflow/checkout-credentials", 9)
    );
    assert!(d[0].message.contains("uploads `api`"), "{}", d[0].message);
    // `.dockerignore` leaving `.git` out, or a fly.toml that deploys a built image: nothing uploaded.
    assert!(run(wf, &with_file("api/.dockerignore", "node_modules\n.git\n")).is_empty());
    let built = "app = 'web'\n[build]\n  image = 'r/web:1'\n";
    assert!(run(wf, &with_file("api/fly.toml", built)).is_empty());
}

#[test]
fn pull_request_target_with_head_checkout() {
    let wf = "on: pull_request_target\npermissions: {}\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          ref: ${{ github.event.pull_request.head.sha }}\n      - run: npm test\n";
    assert_eq!(findings(wf), vec!["7:7 workflow/fork-secrets"]);
}

#[test]
fn a_reusable_deploy_is_judged_at_its_caller() {
    let called = "on:\n  workflow_call:\n    inputs:\n      app: {type: string}\njobs:\n  d:\n    runs-on: x\n    steps:\n      - run: flyctl deploy --app web --image r:1\n";
    let caller = "on:\n  push:\n    branches: [main]\njobs:\n  ship:\n    uses: ./.github/workflows/deploy.yml\n";
    let d = check_all(
        &[
            (Path::new(".github/workflows/ship.yml"), caller),
            (Path::new(".github/workflows/deploy.yml"), called),
        ],
        &Policy::default(),
    );
    let got: Vec<String> = d
        .iter()
        .map(|d| {
            format!(
                "{} {} {}",
                d.location.file.display(),
                d.location.line,
                d.rule
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ".github/workflows/ship.yml 6 workflow/ungated-production",
            ".github/workflows/ship.yml 5 workflow/deploy-concurrency",
        ]
    );
}

#[test]
fn a_filter_given_as_one_string_is_read_like_a_list() {
    // github-actions-models wants lists; GitHub takes `branches: main` too.
    let wf = "on:\n  workflow_run:\n    workflows: Build\n    types: completed\n    branches: main\nconcurrency: d\njobs:\n  d:\n    runs-on: x\n    environment: dev\n    steps:\n      - run: flyctl deploy --image r:1\n";
    assert_eq!(findings(wf), Vec::<String>::new());
}

#[test]
fn invalid_yaml_and_wrong_shapes_are_errors_with_a_line() {
    let d = check(Path::new("w.yml"), "on: push\njobs:\n  a: [\n");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].rule, "workflow/syntax");
    assert!(d[0].location.line >= 3, "{:?}", d[0].location);
    let d = check(
        Path::new("w.yml"),
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps: 3\n",
    );
    assert_eq!(d[0].rule, "workflow/syntax");
}

#[test]
fn zizmor_findings_stand_for_their_twins() {
    let wf = "on: pull_request\njobs:\n  a:\n    runs-on: x\n    steps:\n      - name: greet\n        run: |\n          echo \"${{ github.event.pull_request.title }}\"\n";
    let mut d = check(Path::new("w.yml"), wf);
    assert_eq!(d.len(), 1);
    d.push(Diagnostic::error(
        "zizmor/template-injection",
        "code injection",
        Location::new("w.yml", 6, 9),
    ));
    drop_zizmor_duplicates(&mut d, &[(PathBuf::from("w.yml"), wf.to_string())]);
    assert_eq!(
        d.iter().map(|d| d.rule.as_str()).collect::<Vec<_>>(),
        ["zizmor/template-injection"]
    );
    // A zizmor finding in another step leaves ours.
    let mut d = check(Path::new("w.yml"), wf);
    d.push(Diagnostic::error(
        "zizmor/template-injection",
        "x",
        Location::new("w.yml", 2, 1),
    ));
    drop_zizmor_duplicates(&mut d, &[(PathBuf::from("w.yml"), wf.to_string())]);
    assert_eq!(d.len(), 2);
}
