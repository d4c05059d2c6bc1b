//! Deploy workflows (`.github/workflows/*.yml`): production must be gated (a tag trigger,
//! an `environment:`, or `stage-gate promote`) and never deployed on every push to main
//! beside staging (seed 004's "simultaneous deployment"); no `${{ github.event.* }}` /
//! `${{ inputs.* }}` in shell (script injection); deploy jobs need `concurrency:`; write
//! permissions no broader than needed; no secrets reachable from fork PRs.
//! Conditions (`if:`) are read with deliberately simple heuristics, documented per function.

use super::workflow_text::{expressions_in_scripts, step_lines};
use crate::config::locate::locate_key as locate;
use crate::report::{Diagnostic, Location, Severity};
use regex::Regex;
use serde_yaml::Value;
use std::path::Path;
use std::sync::LazyLock;

/// A deploy that runs on every push to main, for the cross-file "simultaneous" check.
#[derive(Debug, Clone)]
pub struct MainPushDeploy {
    pub production: bool,
    pub job: String,
    pub location: Location,
}

/// What one workflow file gave: its findings and its push-to-main deploys.
#[derive(Debug, Default)]
pub struct Analysis {
    pub diagnostics: Vec<Diagnostic>,
    pub main_push: Vec<MainPushDeploy>,
}

/// Check a set of workflow files: each one, then seed 004's simultaneous deployment across
/// them (staging and production deployed by one push to main, in one file or two).
pub fn check_all(files: &[(&Path, &str)]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut main_push = Vec::new();
    for (path, text) in files {
        let a = analyse(path, text);
        out.extend(a.diagnostics);
        main_push.extend(a.main_push);
    }
    let staging = main_push.iter().find(|d| !d.production);
    let production = main_push.iter().find(|d| d.production);
    if let (Some(s), Some(p)) = (staging, production) {
        out.push(
            Diagnostic::error(
                "workflow/simultaneous-deploy",
                format!(
                    "every push to main deploys staging (job `{}`) and production (job `{}`) at the same time",
                    s.job, p.job
                ),
                p.location.clone(),
            )
            .with_related(s.location.clone())
            .with_help("deploy staging on push, then promote to production from a tag or an approved environment (`stage-gate promote`)"),
        );
    }
    out
}

/// Check one workflow file on its own.
pub fn check(path: &Path, text: &str) -> Vec<Diagnostic> {
    check_all(&[(path, text)])
}

fn analyse(path: &Path, text: &str) -> Analysis {
    let loc = |line: usize, col: usize| Location::new(path, line, col).with_source(text);
    let doc: Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let (line, col) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            return Analysis {
                diagnostics: vec![Diagnostic::error(
                    "workflow/syntax",
                    format!("invalid YAML: {e}"),
                    loc(line, col),
                )],
                main_push: Vec::new(),
            };
        }
    };
    let wf = Workflow::read(&doc);
    let at = |keys: &[&str]| {
        let (l, c) = locate(text, keys).unwrap_or((1, 1));
        loc(l, c)
    };
    let mut out = Vec::new();
    injection(text, &doc, &loc, &mut out);
    let deploys: Vec<DeployStep> = wf
        .jobs
        .iter()
        .enumerate()
        .flat_map(|(i, job)| deploy_steps(i, job, &step_lines(text, &job.id)))
        .collect();

    for d in &deploys {
        let job = &wf.jobs[d.job];
        let line = d.line.unwrap_or_else(|| job_line(text, &job.id));
        let step_loc = loc(line, first_column(text, line));
        if d.env == Env::Production && !d.gated(job) && wf.triggers.runs_on_branch_push() {
            out.push(
                Diagnostic::error(
                    "workflow/ungated-production",
                    format!("job `{}` deploys production on a branch push with no gate", job.id),
                    step_loc.clone(),
                )
                .with_help("deploy production from a tag (`on: push: tags`), behind an `environment:` with required reviewers, or with `stage-gate promote`"),
            );
        }
        let secrets = d.uses_secrets || job.env_secrets || wf.env_secrets;
        if wf.triggers.pull_request && d.may_run(job, Event::PullRequest) && secrets {
            out.push(Diagnostic::warning(
                "workflow/pr-secrets",
                format!("job `{}` deploys with secrets on `pull_request`: any branch's code runs with the deploy token (fork PRs get no secrets and fail)", job.id),
                step_loc.clone(),
            ).with_help("restrict the deploy to pushes: `if: github.event_name == 'push'`"));
        }
    }
    let main_push = main_push_deploys(&wf, &deploys, text, &loc);

    let mut flagged = Vec::new();
    for d in &deploys {
        let job = &wf.jobs[d.job];
        if !wf.has_concurrency && !job.has_concurrency && !flagged.contains(&d.job) {
            flagged.push(d.job);
            out.push(
                Diagnostic::warning(
                    "workflow/deploy-concurrency",
                    format!("deploy job `{}` has no `concurrency:`: two runs can deploy at once and finish out of order", job.id),
                    at(&["jobs", &job.id]),
                )
                .with_help("add `concurrency: { group: deploy-${{ github.ref }}, cancel-in-progress: false }`"),
            );
        }
    }
    permissions(&wf, &doc, !deploys.is_empty(), &at, &mut out);
    fork_checkout(&wf, text, &loc, &mut out);
    Analysis {
        diagnostics: out,
        main_push,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Env {
    Staging,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    PushMain,
    PullRequest,
}

#[derive(Debug, Default)]
struct Triggers {
    /// Branches a push triggers on; `Some(vec![])` = every branch; None = no branch pushes.
    push_branches: Option<Vec<String>>,
    push_tags: bool,
    pull_request: bool,
    pull_request_target: bool,
}

impl Triggers {
    fn read(on: Option<&Value>) -> Self {
        let mut t = Triggers::default();
        let names: Vec<(String, Option<&Value>)> = match on {
            Some(Value::String(s)) => vec![(s.clone(), None)],
            Some(Value::Sequence(items)) => items
                .iter()
                .filter_map(|i| i.as_str().map(|s| (s.to_string(), None)))
                .collect(),
            Some(Value::Mapping(m)) => m
                .iter()
                .filter_map(|(k, v)| k.as_str().map(|s| (s.to_string(), Some(v))))
                .collect(),
            _ => Vec::new(),
        };
        for (name, cfg) in names {
            match name.as_str() {
                "push" => {
                    let branches = cfg.and_then(|c| c.get("branches")).map(strings);
                    let tags = cfg.is_some_and(|c| c.get("tags").is_some());
                    let ignore = cfg.is_some_and(|c| c.get("branches-ignore").is_some());
                    t.push_tags = tags || branches.is_none();
                    t.push_branches = match branches {
                        Some(b) => Some(b),
                        // `push: tags: [...]` alone does not run on branch pushes.
                        None if tags && !ignore => None,
                        None => Some(Vec::new()),
                    };
                }
                "pull_request" => t.pull_request = true,
                "pull_request_target" => t.pull_request_target = true,
                _ => {}
            }
        }
        t
    }

    fn runs_on_branch_push(&self) -> bool {
        self.push_branches.is_some()
    }

    fn runs_on_push_to_main(&self) -> bool {
        match &self.push_branches {
            None => false,
            Some(b) if b.is_empty() => true,
            Some(b) => b
                .iter()
                .any(|b| ["main", "master", "*", "**"].contains(&b.as_str())),
        }
    }
}

struct Job {
    id: String,
    /// Job name + id + environment, lowercased: where environment hints live.
    label: String,
    environment: Option<String>,
    condition: Option<String>,
    has_concurrency: bool,
    env_secrets: bool,
    steps: Vec<Value>,
}

struct Workflow {
    triggers: Triggers,
    has_concurrency: bool,
    /// Workflow-level `env:` reads secrets (every step gets them).
    env_secrets: bool,
    jobs: Vec<Job>,
}

impl Workflow {
    fn read(doc: &Value) -> Self {
        // YAML 1.1 readers turn a bare `on` key into `true`; accept both.
        let on = doc.get("on").or_else(|| doc.get(Value::Bool(true)));
        let jobs = doc
            .get("jobs")
            .and_then(Value::as_mapping)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some(Job::read(k.as_str()?, v)))
                    .collect()
            })
            .unwrap_or_default();
        Workflow {
            triggers: Triggers::read(on),
            has_concurrency: doc.get("concurrency").is_some(),
            env_secrets: doc
                .get("env")
                .is_some_and(|e| yaml_text(e).contains("secrets.")),
            jobs,
        }
    }
}

impl Job {
    fn read(id: &str, v: &Value) -> Self {
        let environment = match v.get("environment") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(e) => e.get("name").and_then(Value::as_str).map(str::to_string),
            None => None,
        };
        let name = v.get("name").and_then(Value::as_str).unwrap_or("");
        Job {
            id: id.to_string(),
            label: format!("{id} {name} {}", environment.as_deref().unwrap_or("")).to_lowercase(),
            environment,
            condition: v.get("if").map(scalar_text),
            has_concurrency: v.get("concurrency").is_some(),
            env_secrets: v
                .get("env")
                .is_some_and(|e| yaml_text(e).contains("secrets.")),
            steps: v
                .get("steps")
                .and_then(Value::as_sequence)
                .cloned()
                .unwrap_or_default(),
        }
    }
}

struct DeployStep {
    job: usize,
    line: Option<usize>,
    env: Env,
    condition: Option<String>,
    promote: bool,
    uses_secrets: bool,
}

impl DeployStep {
    /// Gated: a job environment (reviewers), `stage-gate promote`, or a condition that
    /// only lets tags, releases or manual runs through.
    fn gated(&self, job: &Job) -> bool {
        job.environment.is_some() || self.promote || !self.may_run(job, Event::PushMain)
    }

    fn may_run(&self, job: &Job, event: Event) -> bool {
        may_run(job.condition.as_deref(), event) && may_run(self.condition.as_deref(), event)
    }
}

static DEPLOY_RUN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(flyctl|fly)\s+(deploy|machines?\s+update)\b|stage-gate\s+(deploy|promote)\b|/api/v1/deploy|coolify").expect("static regex")
});

/// Steps of `job` that deploy: flyctl, stage-gate, Coolify's API or webhook, deploy actions.
fn deploy_steps(index: usize, job: &Job, lines: &[usize]) -> Vec<DeployStep> {
    let mut out = Vec::new();
    for (i, step) in job.steps.iter().enumerate() {
        let run = step.get("run").map(scalar_text).unwrap_or_default();
        let uses = step
            .get("uses")
            .map(scalar_text)
            .unwrap_or_default()
            .to_lowercase();
        let with = step.get("with").map(yaml_text).unwrap_or_default();
        // The stage-gate action deploys only with `command: deploy` or `promote`; a `notify`
        // that dispatches `deploy-production.yml` deploys nothing itself.
        let stage_gate_command = step
            .get("with")
            .and_then(|w| w.get("command"))
            .map(scalar_text)
            .unwrap_or_default();
        // `flyctl deploy --build-only` builds an image; it deploys nothing.
        let deploys = (DEPLOY_RUN.is_match(&run) && !run.contains("--build-only"))
            || (uses.contains("coolify") && !uses.contains("setup"))
            || (uses.starts_with("superfly/flyctl-actions@") && with.contains("deploy"))
            || (uses.contains("stage-gate")
                && matches!(stage_gate_command.trim(), "deploy" | "promote"));
        if !deploys {
            continue;
        }
        let name = step.get("name").map(scalar_text).unwrap_or_default();
        let step_text = format!("{name} {run} {with}").to_lowercase();
        let env = env_hint(&step_text)
            .or_else(|| env_hint(&job.label))
            .unwrap_or(Env::Production);
        out.push(DeployStep {
            job: index,
            line: lines.get(i).copied(),
            env,
            condition: step.get("if").map(scalar_text),
            promote: step_text.contains("stage-gate promote") || with.contains("promote"),
            uses_secrets: yaml_text(step).contains("secrets."),
        });
    }
    out
}

/// Which environment a name or command points at; None when it does not say.
fn env_hint(text: &str) -> Option<Env> {
    const STAGING: &[&str] = &[
        "staging", "stage", "stg", "preview", "develop", "testing", "-dev", "dev-", "qa",
    ];
    const PRODUCTION: &[&str] = &["production", "prod", "live"];
    let staging = STAGING.iter().any(|w| text.contains(w));
    let production = PRODUCTION.iter().any(|w| text.contains(w));
    match (staging, production) {
        (true, false) => Some(Env::Staging),
        (false, true) => Some(Env::Production),
        _ => None,
    }
}

/// Whether an `if:` condition can be true for `event`. A heuristic on the text: a
/// condition naming another branch, tags, a release or a manual run keeps a push to main
/// out; one requiring `push` or a branch ref keeps pull requests out.
fn may_run(condition: Option<&str>, event: Event) -> bool {
    let Some(c) = condition else { return true };
    let c = c.to_lowercase().replace([' ', '"'], "").replace('\'', "");
    let has = |s: &str| c.contains(s);
    match event {
        Event::PushMain => {
            if has("!=refs/heads/main") || has("!=refs/heads/master") {
                return false;
            }
            if has("refs/heads/main") || has("refs/heads/master") || has("ref_name==main") {
                return true;
            }
            !(has("refs/heads/")
                || has("refs/tags")
                || has("ref_type==tag")
                || has("event_name==workflow_dispatch")
                || has("event_name==release")
                || has("event_name==pull_request")
                || has("event_name!=push")
                || has("ref_name=="))
        }
        Event::PullRequest => {
            !(has("event_name==push")
                || has("event_name!=pull_request")
                || has("event_name==workflow_dispatch")
                || has("refs/heads/")
                || has("refs/tags"))
        }
    }
}

/// Deploys that every push to main runs: staging ones, and production ones with no gate.
fn main_push_deploys(
    wf: &Workflow,
    deploys: &[DeployStep],
    text: &str,
    loc: &dyn Fn(usize, usize) -> Location,
) -> Vec<MainPushDeploy> {
    if !wf.triggers.runs_on_push_to_main() {
        return Vec::new();
    }
    deploys
        .iter()
        .filter(|d| {
            let job = &wf.jobs[d.job];
            d.may_run(job, Event::PushMain) && (d.env == Env::Staging || !d.gated(job))
        })
        .map(|d| {
            let job = &wf.jobs[d.job];
            MainPushDeploy {
                production: d.env == Env::Production,
                job: job.id.clone(),
                location: {
                    let line = d.line.unwrap_or_else(|| job_line(text, &job.id));
                    loc(line, first_column(text, line))
                },
            }
        })
        .collect()
}

/// Column of the first non-blank character of `line` (where a step's `-` sits).
fn first_column(text: &str, line: usize) -> usize {
    text.lines()
        .nth(line.saturating_sub(1))
        .map_or(1, |l| l.len() - l.trim_start().len() + 1)
}

fn job_line(text: &str, job: &str) -> usize {
    locate(text, &["jobs", job]).map_or(1, |(l, _)| l)
}

/// Context fields an attacker controls (PR titles, branch names, commit messages) in shell.
fn injection(
    text: &str,
    doc: &Value,
    loc: &dyn Fn(usize, usize) -> Location,
    out: &mut Vec<Diagnostic>,
) {
    // Fields of `github.event` that are numbers, SHAs or enums: not injectable.
    const SAFE: &[&str] = &[
        "number",
        "id",
        "sha",
        "conclusion",
        "run_id",
        "run_number",
        "run_attempt",
        "before",
        "after",
        "forced",
        "created",
        "deleted",
        "merged",
        "draft",
        "action",
        "size",
        "commits",
        "private",
        "fork",
    ];
    for e in expressions_in_scripts(text) {
        let untrusted = e
            .expr
            .split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '_' || c == '-'))
            .find(|tok| {
                (tok.starts_with("github.event.") && !tok.starts_with("github.event.inputs."))
                    && !tok
                        .rsplit('.')
                        .next()
                        .is_some_and(|last| SAFE.contains(&last) || last.ends_with("_sha"))
                    || *tok == "github.head_ref"
            })
            .map(str::to_string);
        // Only string inputs carry free text: a boolean, number, choice or environment input
        // can only be one of the values the workflow allows.
        let input = e
            .expr
            .split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '_' || c == '-'))
            .filter(|tok| tok.starts_with("inputs.") || tok.starts_with("github.event.inputs."))
            .find(|tok| {
                let name = tok.rsplit('.').next().unwrap_or("");
                input_is_text(doc, name)
            })
            .map(str::to_string);
        let (severity, what) = match (untrusted, input) {
            (Some(t), _) => (
                Severity::Error,
                format!("`{t}` is set by whoever opens the PR, issue or push"),
            ),
            (None, Some(i)) => (
                Severity::Warning,
                format!("`{i}` is set by whoever triggers the workflow"),
            ),
            _ => continue,
        };
        out.push(
            Diagnostic::new(
                severity,
                "workflow/script-injection",
                format!(
                    "`${{{{ {} }}}}` is pasted into a shell script: {what}, and can run commands",
                    e.expr
                ),
                loc(e.line, e.column),
            )
            .with_help(
                "pass it through `env:` (e.g. `TITLE: ${{ … }}`) and use \"$TITLE\" in the script",
            ),
        );
    }
}

/// Whether input `name` of `workflow_dispatch` / `workflow_call` takes free text: a `string`
/// input (the default type), or one the workflow does not declare.
fn input_is_text(doc: &Value, name: &str) -> bool {
    let on = doc.get("on").or_else(|| doc.get(Value::Bool(true)));
    let declared: Vec<&Value> = ["workflow_dispatch", "workflow_call"]
        .iter()
        .filter_map(|t| on?.get(*t)?.get("inputs")?.get(name))
        .collect();
    if declared.is_empty() {
        return true;
    }
    declared.iter().any(|i| {
        matches!(
            i.get("type").and_then(Value::as_str).unwrap_or("string"),
            "string"
        )
    })
}

/// `write-all`, workflow-wide write scopes, and deploy workflows with no `permissions:`.
fn permissions(
    wf: &Workflow,
    doc: &Value,
    deploys: bool,
    at: &dyn Fn(&[&str]) -> Location,
    out: &mut Vec<Diagnostic>,
) {
    let top = doc.get("permissions");
    match top {
        Some(Value::String(s)) if s == "write-all" => out.push(
            Diagnostic::warning("workflow/permissions", "`permissions: write-all` gives every job every write scope", at(&["permissions"]))
                .with_help("start from `permissions: {}` and grant each job the scopes it needs"),
        ),
        Some(Value::Mapping(m)) => {
            let writes: Vec<&str> = m
                .iter()
                .filter(|(_, v)| v.as_str() == Some("write"))
                .filter_map(|(k, _)| k.as_str())
                .collect();
            if !writes.is_empty() && wf.jobs.len() > 1 {
                out.push(
                    Diagnostic::warning(
                        "workflow/permissions",
                        format!("workflow-wide write permissions ({}) reach every job, not only the one that needs them", writes.join(", ")),
                        at(&["permissions"]),
                    )
                    .with_help("move write scopes to the job that needs them"),
                );
            }
        }
        None if deploys => out.push(
            Diagnostic::warning(
                "workflow/permissions",
                "deploy workflow without `permissions:`: GITHUB_TOKEN gets the repository default, possibly write to everything",
                at(&["on"]),
            )
            .with_help("add `permissions: { contents: read }` and grant more per job"),
        ),
        _ => {}
    }
    for job in &wf.jobs {
        let jv = doc.get("jobs").and_then(|j| j.get(job.id.as_str()));
        if jv
            .and_then(|j| j.get("permissions"))
            .and_then(Value::as_str)
            == Some("write-all")
        {
            out.push(Diagnostic::warning(
                "workflow/permissions",
                format!("job `{}` has `permissions: write-all`", job.id),
                at(&["jobs", &job.id, "permissions"]),
            ));
        }
    }
}

/// `pull_request_target` runs with secrets; checking out the PR head runs the fork's code.
fn fork_checkout(
    wf: &Workflow,
    text: &str,
    loc: &dyn Fn(usize, usize) -> Location,
    out: &mut Vec<Diagnostic>,
) {
    if !wf.triggers.pull_request_target {
        return;
    }
    for job in &wf.jobs {
        let lines = step_lines(text, &job.id);
        for (i, step) in job.steps.iter().enumerate() {
            let uses = step.get("uses").map(scalar_text).unwrap_or_default();
            let git_ref = step
                .get("with")
                .and_then(|w| w.get("ref"))
                .map(scalar_text)
                .unwrap_or_default();
            if uses.starts_with("actions/checkout")
                && (git_ref.contains("pull_request.head")
                    || git_ref.contains("head_ref")
                    || git_ref.contains("refs/pull/"))
            {
                out.push(
                    Diagnostic::error(
                        "workflow/fork-secrets",
                        format!("job `{}` checks out the pull request's code under `pull_request_target`, which has secrets and a write token: a fork PR runs its code with them", job.id),
                        {
                            let line = lines.get(i).copied().unwrap_or_else(|| job_line(text, &job.id));
                            loc(line, first_column(text, line))
                        },
                    )
                    .with_help("use `pull_request` for code from the PR, or never run the checked-out code"),
                );
            }
        }
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => yaml_text(other),
    }
}

fn yaml_text(v: &Value) -> String {
    serde_yaml::to_string(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(text: &str) -> Vec<String> {
        check(Path::new("w.yml"), text)
            .into_iter()
            .map(|d| format!("{}:{} {}", d.location.line, d.location.column, d.rule))
            .collect()
    }

    /// Seed 004: one push to main deploys both environments.
    const SEED_004: &str = "on:\n  push:\n    branches: [main]\npermissions:\n  contents: read\nconcurrency: deploy\njobs:\n  staging:\n    runs-on: ubuntu-latest\n    steps:\n      - run: flyctl deploy -c fly.staging.toml\n  production:\n    needs: staging\n    runs-on: ubuntu-latest\n    steps:\n      - run: flyctl deploy -c fly.production.toml\n";

    #[test]
    fn seed_004_simultaneous_deployment() {
        let f = findings(SEED_004);
        assert_eq!(
            f,
            vec![
                "16:7 workflow/ungated-production",
                "16:7 workflow/simultaneous-deploy"
            ]
        );
    }

    #[test]
    fn a_stage_gate_notify_that_dispatches_production_is_not_a_deploy() {
        let wf = "on:\n  push:\n    branches: [main]\npermissions: {}\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    environment: staging\n    concurrency: deploy-staging\n    steps:\n      - uses: stage-gate/stage-gate@v1\n        with:\n          command: deploy\n          environment: staging\n  notify:\n    needs: deploy\n    runs-on: ubuntu-latest\n    steps:\n      - uses: stage-gate/stage-gate@v1\n        with:\n          command: notify\n          dispatch: deploy-production.yml\n";
        let found = findings(wf);
        assert!(
            !found.iter().any(|c| c.contains("production")
                || c.contains("simultaneous")
                || c.contains("concurrency")),
            "{found:?}"
        );
    }

    #[test]
    fn an_environment_or_promote_gates_production() {
        let with_env = SEED_004.replace(
            "    needs: staging\n",
            "    needs: staging\n    environment: production\n",
        );
        assert_eq!(findings(&with_env), Vec::<String>::new());
        let promote = SEED_004.replace(
            "flyctl deploy -c fly.production.toml",
            "stage-gate promote --env production",
        );
        assert_eq!(findings(&promote), Vec::<String>::new());
        let tags = SEED_004.replace("      - run: flyctl deploy -c fly.production.toml", "      - if: startsWith(github.ref, 'refs/tags/')\n        run: flyctl deploy -c fly.production.toml");
        assert_eq!(findings(&tags), Vec::<String>::new());
    }

    #[test]
    fn script_injection_points_at_the_expression() {
        let wf = "on: pull_request\npermissions: {}\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          echo \"${{ github.event.pull_request.title }}\"\n          echo ${{ github.event.pull_request.number }}\n";
        assert_eq!(findings(wf), vec!["8:17 workflow/script-injection"]);
        let d = check(Path::new("w.yml"), wf);
        assert_eq!(d[0].severity, Severity::Error);
    }

    #[test]
    fn only_string_inputs_are_injectable() {
        let wf = "on:\n  workflow_dispatch:\n    inputs:\n      dry: {type: boolean}\n      env: {type: choice, options: [staging, production]}\n      count: {type: number}\n      note: {type: string}\n      plain: {}\npermissions: {}\njobs:\n  go:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          echo ${{ inputs.dry }} ${{ inputs.env }} ${{ github.event.inputs.count }}\n          echo ${{ inputs.note }}\n          echo ${{ inputs.plain }}\n";
        let d = check(Path::new("w.yml"), wf);
        let lines: Vec<usize> = d
            .iter()
            .filter(|d| d.rule == "workflow/script-injection")
            .map(|d| d.location.line)
            .collect();
        assert_eq!(lines, [16, 17], "{d:?}");
    }

    #[test]
    fn pull_request_target_with_head_checkout() {
        let wf = "on: pull_request_target\npermissions: {}\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          ref: ${{ github.event.pull_request.head.sha }}\n      - run: npm test\n";
        assert_eq!(findings(wf), vec!["7:7 workflow/fork-secrets"]);
    }

    #[test]
    fn write_all_and_missing_permissions() {
        let wf = "on: push\npermissions: write-all\njobs:\n  a:\n    runs-on: x\n    steps: [{run: echo}]\n";
        assert_eq!(findings(wf), vec!["2:1 workflow/permissions"]);
        let wf = "on:\n  push:\n    tags: ['v*']\nconcurrency: d\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: fly deploy\n";
        assert_eq!(findings(wf), vec!["1:1 workflow/permissions"]);
    }

    #[test]
    fn invalid_yaml_is_an_error_with_a_line() {
        let d = check(Path::new("w.yml"), "on: push\njobs:\n  a: [\n");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].rule, "workflow/syntax");
        assert!(d[0].location.line >= 3, "{:?}", d[0].location);
    }
}
