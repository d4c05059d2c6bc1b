//! Everything a command needs from its surroundings, resolved once: the environment
//! snapshot, inputs, config, console, GitHub context and secrets. No globals, so `run`
//! can be called twice in one process.

use crate::config::Config;
use crate::http::{HttpClient, RetryPolicy};
use crate::inputs::{Env, Inputs};
use crate::providers::Deps;
use crate::report::{ActionsFiles, Console, Format};
use crate::secret::Secret;
use std::path::PathBuf;
use std::time::Duration;

/// What GitHub Actions tells a job about itself (all optional outside Actions).
#[derive(Debug, Clone, Default)]
pub struct GithubContext {
    /// `owner/name`.
    pub repository: Option<String>,
    pub sha: Option<String>,
    /// `refs/heads/main`, `refs/tags/v1.2.3`.
    pub git_ref: Option<String>,
    pub event_name: Option<String>,
    pub run_id: Option<String>,
    pub run_attempt: Option<String>,
    pub server_url: String,
    /// REST base URL (`GITHUB_API_URL`), overridden in tests by the simulator.
    pub api_url: String,
    /// Uploads base URL; `STAGE_GATE_GITHUB_UPLOADS_URL` overrides (the simulator serves both).
    pub uploads_url: String,
    pub token: Option<Secret>,
    /// True when the token is the workflow's default `GITHUB_TOKEN`.
    pub token_is_default: bool,
    pub actor: Option<String>,
}

impl GithubContext {
    pub fn from_env(env: &Env, token: Option<Secret>) -> Self {
        let server_url = env
            .get("GITHUB_SERVER_URL")
            .unwrap_or("https://github.com")
            .to_string();
        // STAGE_GATE_GITHUB_API_URL wins over GITHUB_API_URL, which runners (and act) set
        // themselves: it is how a test or the demo points a real runner at the simulator.
        let api_url = env
            .get("STAGE_GATE_GITHUB_API_URL")
            .or_else(|| env.get("GITHUB_API_URL"))
            .unwrap_or("https://api.github.com")
            .to_string();
        let uploads_url = env
            .get("STAGE_GATE_GITHUB_UPLOADS_URL")
            .map(str::to_string)
            .unwrap_or_else(|| {
                if api_url == "https://api.github.com" {
                    "https://uploads.github.com".to_string()
                } else {
                    api_url.clone()
                }
            });
        let token_is_default = match (&token, env.get("GITHUB_TOKEN")) {
            (Some(t), Some(default)) => t.expose() == default,
            _ => false,
        };
        GithubContext {
            repository: env
                .get("STAGE_GATE_REPOSITORY")
                .or_else(|| env.get("GITHUB_REPOSITORY"))
                .map(str::to_string),
            sha: env.get("GITHUB_SHA").map(str::to_string),
            git_ref: env.get("GITHUB_REF").map(str::to_string),
            event_name: env.get("GITHUB_EVENT_NAME").map(str::to_string),
            run_id: env.get("GITHUB_RUN_ID").map(str::to_string),
            run_attempt: env.get("GITHUB_RUN_ATTEMPT").map(str::to_string),
            server_url,
            api_url,
            uploads_url,
            token,
            token_is_default,
            actor: env.get("GITHUB_ACTOR").map(str::to_string),
        }
    }

    /// The tag name when the ref is `refs/tags/*`.
    pub(crate) fn tag(&self) -> Option<&str> {
        self.git_ref.as_deref()?.strip_prefix("refs/tags/")
    }

    /// The branch name when the ref is `refs/heads/*`.
    pub(crate) fn branch(&self) -> Option<&str> {
        self.git_ref.as_deref()?.strip_prefix("refs/heads/")
    }

    /// The URL of this workflow run (deployment `log_url`).
    pub(crate) fn run_url(&self) -> Option<String> {
        Some(format!(
            "{}/{}/actions/runs/{}",
            self.server_url,
            self.repository.as_deref()?,
            self.run_id.as_deref()?
        ))
    }

    /// (owner, name) of the repository.
    pub fn owner_repo(&self) -> Option<(&str, &str)> {
        self.repository.as_deref()?.split_once('/')
    }
}

/// The resolved context of one run.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub env: Env,
    pub inputs: Inputs,
    pub console: Console,
    pub config: Config,
    /// Set when no config file was found and `config` is the empty one: commands that act
    /// on configured targets refuse to run on it (`commands::needs_config`).
    pub config_missing: Option<crate::config::Missing>,
    /// The repository root: relative paths in the config are relative to it.
    pub root: PathBuf,
    pub dry_run: bool,
    pub format: Format,
    pub files: ActionsFiles,
    pub github: GithubContext,
    pub http: HttpClient,
    /// Set when the runner cancels the step (SIGINT/SIGTERM).
    pub cancel: crate::cancel::Cancel,
}

impl Ctx {
    /// A secret from the named input, else the named env var; masked as soon as it is read.
    pub(crate) fn secret(&self, input: Option<&str>, env_var: &str) -> Option<Secret> {
        let value = input
            .and_then(|name| self.inputs.get(name))
            .or_else(|| self.env.get(env_var).map(str::to_string))?;
        self.console.mask(&value);
        Some(Secret::new(value))
    }

    /// The commit being worked on: GITHUB_SHA, else `git rev-parse HEAD` in the root.
    pub fn head_sha(&self) -> Option<String> {
        self.github.sha.clone().or_else(|| {
            let out = std::process::Command::new("git")
                .args(["rev-parse", "HEAD"])
                .current_dir(&self.root)
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        })
    }

    /// A path from the config, relative to the repository root.
    pub fn path(&self, p: impl AsRef<std::path::Path>) -> PathBuf {
        let p = p.as_ref();
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.root.join(p)
        }
    }

    /// What a provider is built with: the narrow part of this context it may use.
    pub fn provider_deps(&self) -> Deps {
        Deps::from(self)
    }

    /// A context for tests that drive a module through its Rust API: the given environment
    /// (INPUT_* included), an empty config, a capturing console and fast retries.
    /// Returns the context and what its console printed.
    pub fn for_test(
        root: impl Into<PathBuf>,
        env: Env,
    ) -> (Self, std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
        let (console, printed) = Console::capture(crate::secret::Redactor::new());
        let github = GithubContext::from_env(&env, None);
        let http = Ctx::default_http(true).with_redactor(console.redactor.clone());
        let ctx = Ctx {
            inputs: Inputs::new(env.clone()),
            env,
            console,
            config: Config::empty(),
            config_missing: None,
            root: root.into(),
            dry_run: false,
            format: Format::default(),
            files: ActionsFiles::default(),
            github,
            http,
            cancel: crate::cancel::Cancel::new(),
        };
        (ctx, printed)
    }

    pub fn default_http(retry_fast: bool) -> HttpClient {
        let policy = if retry_fast {
            RetryPolicy::fast()
        } else {
            RetryPolicy::default()
        };
        // A client without TLS roots or a timeout is never built: construction only fails
        // when the TLS backend cannot initialise, which is a broken binary, not bad input.
        HttpClient::new(Duration::from_secs(30), policy).expect("the HTTP client initialises")
    }
}

impl From<&Ctx> for Deps {
    fn from(ctx: &Ctx) -> Deps {
        Deps {
            http: ctx.http.clone(),
            console: ctx.console.clone(),
            cancel: ctx.cancel.clone(),
            root: ctx.root.clone(),
            env: ctx.env.clone(),
            inputs: ctx.inputs.clone(),
            run_url: ctx.github.run_url(),
        }
    }
}
