//! What in a workflow deploys: a command's argv (`flyctl`/`fly` with its global flags before
//! or after the subcommand, `stage-gate deploy|promote`, `curl` to a deploy API or to a
//! secret-held webhook), or a known action (`superfly/flyctl-actions` with `deploy`, a
//! Coolify deploy action, stage-gate's own). Never a substring: `echo "fly deploy"`,
//! `scripts/coolify/`, or `--app backstage-api` decide nothing.

use super::environment::{self, Decision, Env};
use super::model::{self, JobRef, StepKind, StepRef, Triggers};
use super::shell::{self, Command, Word};
use super::source::Source;
use super::Policy;
use crate::report::Location;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `flyctl deploy`, `flyctl machine update|run`, `superfly/flyctl-actions`.
    Fly,
    /// Coolify's API (`/api/v1/deploy`, an application restart) or a Coolify action.
    Coolify,
    /// A webhook whose URL is a secret: a deploy hook.
    Webhook,
    /// stage-gate's action or CLI.
    StageGate,
}

/// One deploy in a step.
#[derive(Debug, Clone)]
pub struct Deploy {
    pub job: String,
    pub step: usize,
    pub kind: Kind,
    /// The command in the script, or the step.
    pub location: Location,
    /// What it is, for messages: "`flyctl deploy`", "a Coolify API call".
    pub what: String,
    pub env: Decision,
    /// Returns before the new version is healthy: `--detach`, a webhook, Coolify's API.
    pub fire_and_forget: bool,
    /// `stage-gate promote`: production only for what staging proved.
    pub promote: bool,
    /// Records a GitHub Deployment (stage-gate deploy/promote): needs `deployments: write`.
    pub records_deployments: bool,
    /// An HTTP call without `--fail` whose status nothing checks.
    pub unchecked_http: bool,
}

/// A step that uploads the checked-out tree as a build context (flyctl's remote builder).
#[derive(Debug, Clone)]
pub struct ContextUpload {
    pub job: String,
    pub step: usize,
    pub location: Location,
    /// The folder uploaded, relative to the repository (`.` for the root).
    pub dir: String,
}

/// Everything one workflow deploys or uploads.
#[derive(Debug, Default)]
pub struct Found {
    pub deploys: Vec<Deploy>,
    pub uploads: Vec<ContextUpload>,
}

/// What every deploy of one file is read against.
struct Scan<'a> {
    src: &'a Source<'a>,
    policy: &'a Policy,
    /// The environment when nothing names one (from the triggers, the same for the file).
    fallback: Decision,
}

pub fn find(src: &Source, policy: &Policy, jobs: &[JobRef], triggers: &Triggers) -> Found {
    let scan = Scan {
        src,
        policy,
        fallback: fallback(triggers),
    };
    let mut found = Found::default();
    for job in jobs {
        for step in &job.steps {
            match &step.kind {
                StepKind::Run {
                    script,
                    working_directory,
                } => run_step(
                    &scan,
                    job,
                    step,
                    script,
                    working_directory.as_deref(),
                    &mut found,
                ),
                StepKind::Uses { uses, with } => {
                    if let Some(d) = action_step(&scan, job, step, uses, with) {
                        found.deploys.push(d);
                    }
                }
            }
        }
    }
    found
}

fn run_step(
    scan: &Scan,
    job: &JobRef,
    step: &StepRef,
    script: &str,
    working_directory: Option<&str>,
    found: &mut Found,
) {
    let index = step.index.to_string();
    let path = ["jobs", job.id, "steps", index.as_str(), "run"];
    let mut cwd = working_directory
        .unwrap_or(".")
        .trim_end_matches('/')
        .to_string();
    let commands = shell::commands(script);
    for (i, cmd) in commands.iter().enumerate() {
        let Some((_, program)) = cmd.program() else {
            continue;
        };
        let at = || scan.src.in_script(&path, script, cmd.offset());
        match program {
            "cd" => {
                if let Some(dir) = cmd.args().first() {
                    cwd = join(&cwd, &dir.text);
                }
            }
            "flyctl" | "fly" => {
                let Some(fly) = FlyCommand::parse(cmd.args()) else {
                    continue;
                };
                let toml = scan.policy.fly_toml(&cwd, fly.config.as_deref());
                let prebuilt = toml.as_ref().is_some_and(|t| t.image.is_some());
                if fly.builds_remotely() && !prebuilt {
                    found.uploads.push(ContextUpload {
                        job: job.id.to_string(),
                        step: step.index,
                        location: at(),
                        dir: fly.config_dir(&cwd),
                    });
                }
                if !fly.deploys() {
                    continue;
                }
                let token = step.secret_named_for(job, scan.src, "FLY_API_TOKEN", &cmd.assignments);
                let clues: Vec<(&str, String)> = vec![
                    ("app", fly.app.clone().unwrap_or_default()),
                    ("config", fly.config.clone().unwrap_or_default()),
                    (
                        "folder",
                        if cwd == "." {
                            String::new()
                        } else {
                            cwd.clone()
                        },
                    ),
                    (
                        "app of the fly.toml",
                        toml.as_ref()
                            .and_then(|t| t.app.clone())
                            .unwrap_or_default(),
                    ),
                    ("token secret", token.unwrap_or_default()),
                ];
                found.deploys.push(Deploy {
                    job: job.id.to_string(),
                    step: step.index,
                    kind: Kind::Fly,
                    location: at(),
                    what: format!("`{program} {}`", fly.subcommand.join(" ")),
                    env: decide(scan, job, step, &clues),
                    fire_and_forget: fly.detach,
                    promote: false,
                    records_deployments: false,
                    unchecked_http: false,
                });
            }
            "stage-gate" => {
                let args: Vec<&str> = cmd.args().iter().map(|w| w.text.as_str()).collect();
                let Some(sub) = args
                    .first()
                    .copied()
                    .filter(|s| matches!(*s, "deploy" | "promote" | "preview"))
                else {
                    continue;
                };
                let env = flag_value(cmd.args(), &["--env"]).unwrap_or_default();
                found.deploys.push(Deploy {
                    job: job.id.to_string(),
                    step: step.index,
                    kind: Kind::StageGate,
                    location: at(),
                    what: format!("`stage-gate {sub}`"),
                    env: decide(scan, job, step, &[("stage-gate --env", env)]),
                    fire_and_forget: false,
                    promote: sub == "promote",
                    records_deployments: true,
                    unchecked_http: false,
                });
            }
            "curl" | "wget" => {
                let Some(call) = HttpCall::parse(program, cmd, step, job, scan.src) else {
                    continue;
                };
                // `$(curl … -w "%{http_code}")` with the status tested after it is checked.
                let status_checked = call.writes_status
                    && (commands[i + 1..].iter().any(is_test)
                        || commands[..i].last().is_some_and(is_test));
                let clues: Vec<(&str, String)> =
                    vec![("URL secret", call.secret.clone().unwrap_or_default())];
                found.deploys.push(Deploy {
                    job: job.id.to_string(),
                    step: step.index,
                    kind: call.kind,
                    location: at(),
                    what: match call.kind {
                        Kind::Coolify => "a Coolify API call".into(),
                        _ => "a deploy webhook".into(),
                    },
                    env: decide(scan, job, step, &clues),
                    fire_and_forget: true,
                    promote: false,
                    records_deployments: false,
                    unchecked_http: !call.fails_on_error && !status_checked,
                });
            }
            _ => {}
        }
    }
}

/// `$HOOK` or `${HOOK}`: the whole URL is a variable.
fn is_bare_variable(url: &str) -> bool {
    let name = url
        .strip_prefix('$')
        .map(|v| v.trim_start_matches('{').trim_end_matches('}'));
    name.is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// A secret whose name says it is a webhook URL (not a token beside one).
fn names_webhook(secret: &str) -> bool {
    secret
        .to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| matches!(w, "webhook" | "webhooks" | "hook" | "hooks"))
}

/// Coolify's deploy endpoint (`/api/v1/deploy?uuid=…`), not `/api/v1/deployments/…`
/// (which reads a deployment's status).
pub fn is_coolify_deploy(url: &str) -> bool {
    url.match_indices("/api/v1/deploy").any(|(i, m)| {
        url[i + m.len()..]
            .chars()
            .next()
            .is_none_or(|c| matches!(c, '?' | '/' | '"' | '\'' | '&' | '#'))
    })
}

/// A shell test: the status a `curl -w "%{http_code}"` wrote is looked at (in the `if`
/// after it, or in the `[ $(curl …) -eq 200 ]` around it).
fn is_test(c: &Command) -> bool {
    c.program()
        .is_some_and(|(_, p)| matches!(p, "if" | "[" | "[[" | "test" | "case"))
}

/// `dir` seen from `cwd` (a path relative to the repository, `.` for its top); an absolute
/// or variable folder is kept as written.
fn join(cwd: &str, dir: &str) -> String {
    if dir.starts_with('/') || dir.starts_with('$') {
        return dir.to_string();
    }
    match super::join_path(cwd, dir) {
        top if top.is_empty() => ".".into(),
        joined => joined,
    }
}

fn action_step(
    scan: &Scan,
    job: &JobRef,
    step: &StepRef,
    uses: &str,
    with: &[(String, String)],
) -> Option<Deploy> {
    let get = |k: &str| with.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let (slug, _) = uses.split_once('@').unwrap_or((uses, ""));
    let slug = slug.to_ascii_lowercase();
    let repo = slug.split('/').nth(1).unwrap_or("");
    let location = scan.src.step(job.id, step.index);
    let base = |kind, what: String, env: Decision| Deploy {
        job: job.id.to_string(),
        step: step.index,
        kind,
        location: location.clone(),
        what,
        env,
        fire_and_forget: false,
        promote: false,
        records_deployments: false,
        unchecked_http: false,
    };
    if repo == "stage-gate" && slug.split('/').count() == 2 {
        let command = get("command").unwrap_or("").trim();
        if !matches!(command, "deploy" | "promote" | "preview") {
            return None;
        }
        // A preview deploys to its per-pull-request environment (`preview` unless named).
        let named = get("environment").unwrap_or("").to_string();
        let named = match (command, named.is_empty()) {
            ("preview", true) => "preview".to_string(),
            _ => named,
        };
        let env = decide(scan, job, step, &[("stage-gate environment", named)]);
        let mut d = base(Kind::StageGate, format!("stage-gate `{command}`"), env);
        d.promote = command == "promote";
        d.records_deployments = true;
        return Some(d);
    }
    if slug == "superfly/flyctl-actions" {
        let args = get("args").unwrap_or("");
        let words: Vec<Word> = shell::commands(args)
            .into_iter()
            .flat_map(|c| c.words)
            .collect();
        let fly = FlyCommand::parse(&words)?;
        if !fly.deploys() {
            return None;
        }
        let clues = vec![
            ("app", fly.app.clone().unwrap_or_default()),
            ("config", fly.config.clone().unwrap_or_default()),
        ];
        let mut d = base(
            Kind::Fly,
            format!("`flyctl {}`", fly.subcommand.join(" ")),
            decide(scan, job, step, &clues),
        );
        d.fire_and_forget = fly.detach;
        return Some(d);
    }
    let named = |w: &str| {
        repo.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|p| p == w)
    };
    if named("coolify") && (named("deploy") || named("deployment") || named("action")) {
        let mut d = base(
            Kind::Coolify,
            format!("`{slug}`"),
            decide(scan, job, step, &[]),
        );
        d.fire_and_forget = true;
        return Some(d);
    }
    None
}

/// The environment of a deploy: the command's own clues first, then the step, the job's
/// `environment:`, the job, the workflow, and the trigger; production when nothing says.
fn decide(scan: &Scan, job: &JobRef, step: &StepRef, own: &[(&str, String)]) -> Decision {
    let mut clues: Vec<(&str, String)> = own.to_vec();
    clues.push((
        "job environment",
        job.environment.clone().unwrap_or_default(),
    ));
    clues.push(("step", step.name.clone().unwrap_or_default()));
    clues.push(("job", job.name.clone().unwrap_or_default()));
    clues.push(("job", job.id.to_string()));
    clues.push((
        "workflow",
        scan.src.workflow.name.clone().unwrap_or_default(),
    ));
    let refs: Vec<(&str, &str)> = clues.iter().map(|(w, t)| (*w, t.as_str())).collect();
    environment::decide(&refs, scan.fallback.clone())
}

/// What the triggers alone say: tag pushes are releases, pushes to staging-named branches
/// only are staging, anything else is taken as the live app.
fn fallback(triggers: &Triggers) -> Decision {
    if triggers.only_tags() {
        Decision {
            env: Env::Production,
            because: "tag pushes run it".into(),
        }
    } else if let Some(b) = triggers
        .only_branches()
        .filter(|b| !b.is_empty())
        .filter(|b| {
            b.iter()
                .all(|b| environment::of_name(b) == Some(Env::Staging))
        })
    {
        Decision {
            env: Env::Staging,
            because: format!("only pushes to `{}` run it", b.join("`, `")),
        }
    } else {
        Decision {
            env: Env::Production,
            because: "no app, config, environment or job names another environment, so it is taken as the live one".into(),
        }
    }
}

/// `flyctl` argv: global flags may come before or after the subcommand.
#[derive(Debug, Default, PartialEq)]
pub struct FlyCommand {
    pub subcommand: Vec<String>,
    pub app: Option<String>,
    pub config: Option<String>,
    pub image: Option<String>,
    pub detach: bool,
    pub build_only: bool,
    pub local_only: bool,
}

/// flyctl flags that take a value (as `--flag value`); any other flag is a switch.
const FLY_VALUE_FLAGS: &[&str] = &[
    "-a",
    "--app",
    "-c",
    "--config",
    "-t",
    "--access-token",
    "-i",
    "--image",
    "--image-label",
    "-r",
    "--region",
    "--regions",
    "-e",
    "--env",
    "--build-arg",
    "--build-secret",
    "--build-target",
    "--dockerfile",
    "--ignorefile",
    "--strategy",
    "--wait-timeout",
    "--release-command-timeout",
    "--process-groups",
    "--label",
    "--file-local",
    "--file-literal",
    "--file-secret",
    "--vm-size",
    "--vm-cpus",
    "--vm-memory",
    "--vm-cpu-kind",
    "--vm-gpu-kind",
    "--ha",
    "--primary-region",
    "--max-unavailable",
    "--lease-timeout",
    "--org",
    "-o",
    "--command",
    "-C",
    "--metadata",
    "--smoke-checks",
    "--exclude-regions",
    "--only-regions",
    "--depot-scope",
    "--signal",
    "--json-output",
];

impl FlyCommand {
    pub fn parse(args: &[Word]) -> Option<Self> {
        let mut f = FlyCommand::default();
        let mut i = 0;
        while let Some(w) = args.get(i) {
            let t = w.text.as_str();
            i += 1;
            if let Some(flag) = t.strip_prefix("--").filter(|_| t.contains('=')) {
                let (name, value) = flag.split_once('=').unwrap_or((flag, ""));
                f.flag(&format!("--{name}"), Some(value));
                continue;
            }
            if t.starts_with('-') && t.len() > 1 {
                if FLY_VALUE_FLAGS.contains(&t) {
                    let v = args.get(i).map(|w| w.text.clone());
                    i += 1;
                    f.flag(t, v.as_deref());
                } else {
                    f.flag(t, None);
                }
                continue;
            }
            if f.subcommand.len() < 2
                && !matches!(f.subcommand.first().map(String::as_str), Some("deploy"))
            {
                f.subcommand.push(t.to_string());
            }
        }
        (!f.subcommand.is_empty()).then_some(f)
    }

    fn flag(&mut self, name: &str, value: Option<&str>) {
        let v = value.map(str::to_string);
        match name {
            "-a" | "--app" => self.app = v,
            "-c" | "--config" => self.config = v,
            "-i" | "--image" => self.image = v,
            "--detach" => self.detach = value.is_none_or(|v| v != "false"),
            "--build-only" => self.build_only = value.is_none_or(|v| v != "false"),
            "--local-only" => self.local_only = value.is_none_or(|v| v != "false"),
            _ => {}
        }
    }

    fn sub(&self) -> (&str, &str) {
        let a = self.subcommand.first().map_or("", String::as_str);
        let b = self.subcommand.get(1).map_or("", String::as_str);
        (a, b)
    }

    /// Changes what runs: `deploy` (not `--build-only`), `machine update|run`.
    pub fn deploys(&self) -> bool {
        match self.sub() {
            ("deploy", _) => !self.build_only,
            ("machine" | "machines" | "m", "update" | "run") => true,
            _ => false,
        }
    }

    /// `deploy` that builds on Fly's remote builder: the folder is uploaded to it.
    pub fn builds_remotely(&self) -> bool {
        self.sub().0 == "deploy" && self.image.is_none() && !self.local_only
    }

    /// The folder flyctl builds: that of `--config` (a file or a folder), else the current one.
    fn config_dir(&self, cwd: &str) -> String {
        match self.config.as_deref() {
            Some(c) if c.ends_with(".toml") => match c.rsplit_once('/') {
                Some((dir, _)) => join(cwd, dir),
                None => cwd.to_string(),
            },
            Some(c) if !c.contains("${{") => join(cwd, c),
            _ => cwd.to_string(),
        }
    }
}

fn flag_value(args: &[Word], names: &[&str]) -> Option<String> {
    let mut it = args.iter();
    while let Some(w) = it.next() {
        for n in names {
            if w.text == *n {
                return it.next().map(|w| w.text.clone());
            }
            if let Some(v) = w.text.strip_prefix(&format!("{n}=")) {
                return Some(v.to_string());
            }
        }
    }
    None
}

/// A `curl` or `wget` that deploys.
struct HttpCall {
    kind: Kind,
    /// The secret that holds the URL (or the deploy token), when one does.
    secret: Option<String>,
    /// `curl -f`/`--fail`/`--fail-with-body`; wget fails on an HTTP error by itself.
    fails_on_error: bool,
    /// `-w "%{http_code}"`: the status is written out for the script to test.
    writes_status: bool,
}

/// curl and wget options that take a value.
const CURL_VALUE_FLAGS: &[&str] = &[
    "-H",
    "--header",
    "-d",
    "--data",
    "--data-raw",
    "--data-binary",
    "--data-urlencode",
    "--json",
    "-X",
    "--request",
    "-o",
    "--output",
    "-w",
    "--write-out",
    "-u",
    "--user",
    "-F",
    "--form",
    "-A",
    "--user-agent",
    "-e",
    "--referer",
    "-b",
    "--cookie",
    "-c",
    "--cookie-jar",
    "-m",
    "--max-time",
    "--connect-timeout",
    "--retry",
    "--retry-delay",
    "--retry-max-time",
    "-T",
    "--upload-file",
    "-K",
    "--config",
    "--cacert",
    "--cert",
    "--key",
    "-x",
    "--proxy",
    "--resolve",
    "--url",
    // wget's (its `--header`, `--user` and `-T` are curl's spelling too).
    "-O",
    "--output-document",
    "--post-data",
    "--method",
    "--body-data",
    "--password",
    "-t",
    "--tries",
    "--timeout",
];

/// Words in a secret's name that say it is a deploy hook, and ones that say it is a chat one.
const HOOK_WORDS: &[&str] = &[
    "deploy",
    "deployment",
    "webhook",
    "webhooks",
    "hook",
    "coolify",
    "render",
    "railway",
];
const CHAT_WORDS: &[&str] = &[
    "slack",
    "discord",
    "teams",
    "telegram",
    "chat",
    "notify",
    "notification",
    "mattermost",
];

impl HttpCall {
    fn parse(
        program: &str,
        cmd: &Command,
        step: &StepRef,
        job: &JobRef,
        src: &Source,
    ) -> Option<Self> {
        let args = cmd.args();
        let mut urls: Vec<String> = Vec::new();
        let mut fails = program == "wget";
        let mut writes_status = false;
        let mut i = 0;
        while let Some(w) = args.get(i) {
            let t = w.text.as_str();
            i += 1;
            if program == "curl" && matches!(t, "--fail" | "--fail-with-body" | "-f") {
                fails = true;
                continue;
            }
            if program == "curl" && t.starts_with('-') && !t.starts_with("--") && t.len() > 2 {
                // Combined short options: `-fsSL`, `-sf`; a value-taking one ends the group.
                let letters = &t[1..];
                if letters.contains('f') {
                    fails = true;
                }
                if letters.ends_with(['X', 'H', 'd', 'o', 'w', 'u']) {
                    if letters.ends_with('w') {
                        writes_status |= args.get(i).is_some_and(|v| v.text.contains("http_code"));
                    }
                    i += 1;
                }
                continue;
            }
            if let Some((name, value)) = t.split_once('=').filter(|(n, _)| n.starts_with("--")) {
                if name == "--url" {
                    urls.push(value.to_string());
                }
                if name == "--write-out" && value.contains("http_code") {
                    writes_status = true;
                }
                continue;
            }
            if CURL_VALUE_FLAGS.contains(&t) {
                let v = args.get(i).map(|w| w.text.clone()).unwrap_or_default();
                i += 1;
                if matches!(t, "-w" | "--write-out") && v.contains("http_code") {
                    writes_status = true;
                }
                if t == "--url" {
                    urls.push(v);
                }
                continue;
            }
            if t.starts_with('-') {
                continue;
            }
            urls.push(t.to_string());
        }
        let url = urls.first()?;
        let env = step.env_in_scope(job, src);
        let secret_vars = job.secret_vars(src);
        let secret_of = |u: &str| -> Option<String> {
            if let Some(name) = model::secret_in(u) {
                return Some(name);
            }
            let var = u.trim_start_matches('$').trim_start_matches('{');
            let var: String = var
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !u.starts_with('$') || var.is_empty() {
                return None;
            }
            env.iter()
                .find(|(k, _)| *k == var)
                .and_then(|(_, v)| model::secret_in(v))
                .or_else(|| {
                    secret_vars
                        .iter()
                        .find(|(k, _)| *k == var)
                        .map(|(_, s)| s.clone())
                })
        };
        let is_hook = |name: &str| {
            let words: Vec<String> = name
                .to_ascii_lowercase()
                .split(|c: char| !c.is_ascii_alphanumeric())
                .map(str::to_string)
                .collect();
            words.iter().any(|w| HOOK_WORDS.contains(&w.as_str()))
                && !words.iter().any(|w| CHAT_WORDS.contains(&w.as_str()))
        };
        let lower = url.to_ascii_lowercase();
        let coolify_api = is_coolify_deploy(&lower)
            || (lower.contains("/api/v1/applications/")
                && (lower.contains("/restart") || lower.contains("/start")));
        let secret = secret_of(url);
        let kind = if coolify_api {
            Kind::Coolify
        } else if secret.as_deref().is_some_and(is_hook) {
            Kind::Webhook
        } else if is_bare_variable(url)
            && secret.is_none()
            && step.secrets_referenced().iter().any(|s| names_webhook(s))
        {
            // A URL in a shell variable read from a webhook secret (a list of hooks, say).
            Kind::Webhook
        } else {
            return None;
        };
        let secret = secret.or_else(|| step.secrets_referenced().into_iter().find(|s| is_hook(s)));
        Some(HttpCall {
            kind,
            secret,
            fails_on_error: fails,
            writes_status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fly(s: &str) -> FlyCommand {
        let c = &shell::commands(s)[0];
        FlyCommand::parse(c.args()).expect("a flyctl command")
    }

    #[test]
    fn global_flags_before_or_after_the_subcommand() {
        let f = fly("flyctl -c fly.staging.toml deploy --remote-only --build-only");
        assert_eq!(f.subcommand, ["deploy"]);
        assert_eq!(f.config.as_deref(), Some("fly.staging.toml"));
        assert!(!f.deploys() && f.builds_remotely());
        let f = fly("fly --app x deploy --detach");
        assert_eq!(f.app.as_deref(), Some("x"));
        assert!(f.deploys() && f.detach);
        let f = fly("flyctl deploy --app=backstage-api --image registry.fly.io/a:1");
        assert_eq!(f.app.as_deref(), Some("backstage-api"));
        assert!(!f.builds_remotely());
        let f = fly("flyctl machines update 5683 --app akluma-staging --metadata a=b --yes");
        assert!(f.deploys());
        let f = fly("flyctl ssh console -a akluma-prod --command 'php artisan migrate'");
        assert!(!f.deploys());
        assert_eq!(f.app.as_deref(), Some("akluma-prod"));
    }

    #[test]
    fn coolify_deploy_is_not_its_status() {
        assert!(is_coolify_deploy("https://c.example/api/v1/deploy?uuid=x"));
        assert!(is_coolify_deploy("${coolify_url}/api/v1/deploy"));
        assert!(!is_coolify_deploy(
            "https://c.example/api/v1/deployments/abc"
        ));
    }

    #[test]
    fn cd_then_config_folder() {
        assert_eq!(join(".", "auth"), "auth");
        assert_eq!(join("apps/web", "../api/"), "apps/api");
        let f = fly("flyctl deploy -c deploy/fly.toml");
        assert_eq!(f.config_dir("."), "deploy");
    }
}
