//! One run of stage-gate: arguments + environment in, exit code out. No global state, so
//! tests can call it repeatedly in one process.

use crate::cli::{Cli, Command};
use crate::config::{self, Config};
use crate::context::{Ctx, GithubContext};
use crate::exit::{Exit, Failure};
use crate::inputs::{Env, Inputs, INPUTS};
use crate::report::{self, ActionsFiles, Console, Format, Report};
use crate::secret::Redactor;
use clap::Parser;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

/// Parse `args`, run the command, write the report to `stdout`; returns the exit code.
pub fn run(args: Vec<OsString>, env: Env, stdout: &mut dyn Write) -> Exit {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    Exit::Success
                }
                _ => Exit::InvalidInput,
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Internal;
        }
    };
    runtime.block_on(run_cli(cli, env, stdout))
}

async fn run_cli(cli: Cli, env: Env, stdout: &mut dyn Write) -> Exit {
    let inputs = Inputs::new(env.clone());
    let in_actions = env.get("GITHUB_ACTIONS") == Some("true");
    // Colour only for a person at a terminal: not in a file, a pipe, or the Actions log.
    let on_terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let no_color = cli.no_color || env.0.contains_key("NO_COLOR") || in_actions || !on_terminal;
    let verbose = cli.verbose || inputs.bool("verbose").ok().flatten().unwrap_or(false);
    let redactor = Redactor::new();
    let console = Console::new(redactor, in_actions, verbose, !no_color);

    // Mask every secret input before anything else is printed.
    for spec in INPUTS.iter().filter(|s| s.secret) {
        if let Some(v) = inputs.get(spec.name) {
            console.mask(&v);
        }
    }
    let defaults = crate::providers::registry::default_secret_envs();
    for var in ["GITHUB_TOKEN", "GH_TOKEN"].into_iter().chain(defaults) {
        if let Some(v) = env.get(var) {
            console.mask(v);
        }
    }

    let files = ActionsFiles {
        output: env.get("GITHUB_OUTPUT").map(PathBuf::from),
        summary: env.get("GITHUB_STEP_SUMMARY").map(PathBuf::from),
    };
    let format = match resolve_format(&cli, &inputs, in_actions) {
        Ok(f) => f,
        Err(e) => return fail(&console, &files, "stage-gate", e),
    };

    let command = match resolve_command(&cli, &inputs) {
        Ok(c) => c,
        Err(e) => return fail(&console, &files, "stage-gate", e),
    };
    let title = format!("stage-gate {}", command.name());
    if format == Format::Matrix && command.name() != "plan" {
        return fail(
            &console,
            &files,
            &title,
            Failure::input(format!(
                "format `matrix` is for `plan` only (`plan --output matrix`); `{}` prints human, json or github",
                command.name()
            )),
        );
    }

    let ctx = match build_ctx(&cli, env, inputs, console.clone(), format, files.clone()) {
        Ok(ctx) => ctx,
        Err(CtxError::Config(err)) => {
            // Config errors are a report of their own: annotations, summary, JSON.
            let mut report = Report::new("check");
            report.diagnostics = err.0;
            report.output("result", "failure");
            report.output("errors", report.diagnostics.len());
            report.summary = crate::commands::check::summary_of(&report);
            let _ = report::emit(&mut report, format, &files, &console, stdout);
            return Exit::InvalidInput;
        }
        Err(CtxError::Failure(f)) => return fail(&console, &files, &title, f),
    };
    // The secrets the configured providers read (their own token variables, header
    // variables), masked before any command prints.
    for target in ctx
        .config
        .apps
        .values()
        .flat_map(|a| a.environments.values())
    {
        for var in crate::providers::registry::secret_envs(&target.provider) {
            if let Some(v) = ctx.env.get(&var) {
                console.mask(v);
            }
        }
    }

    match crate::commands::dispatch(&ctx, &command).await {
        Ok(mut report) => {
            let exit = report.exit.unwrap_or(if report.has_errors() {
                Exit::InvalidInput
            } else {
                Exit::Success
            });
            if let Err(e) = report::emit(&mut report, format, &files, &console, stdout) {
                console.error(format!("cannot write the report: {e}"));
                return Exit::Internal;
            }
            exit
        }
        Err(f) => fail(&console, &files, &title, f),
    }
}

fn resolve_format(cli: &Cli, inputs: &Inputs, in_actions: bool) -> Result<Format, Failure> {
    if let Some(f) = cli.format {
        return Ok(f);
    }
    // `matrix` is plan's; the caller refuses it for any other command.
    match inputs.choice("format", &["human", "json", "github", "matrix"]) {
        Ok(Some(f)) => Ok(match f.as_str() {
            "json" => Format::Json,
            "github" => Format::Github,
            "matrix" => Format::Matrix,
            _ => Format::Human,
        }),
        Ok(None) => Ok(if in_actions {
            Format::Github
        } else {
            Format::Human
        }),
        Err(e) => Err(Failure::input(e)),
    }
}

fn resolve_command(cli: &Cli, inputs: &Inputs) -> Result<Command, Failure> {
    if let Some(c) = &cli.command {
        return Ok(c.clone());
    }
    match inputs.choice("command", &Command::NAMES) {
        Ok(Some(name)) => Ok(Command::from_name(&name).expect("choice() checked the name")),
        Ok(None) => Err(Failure::input(
            "no command: give one (e.g. `stage-gate check`) or set the `command` input",
        )),
        Err(e) => Err(Failure::input(e)),
    }
}

enum CtxError {
    Config(config::ConfigError),
    Failure(Failure),
}

fn build_ctx(
    cli: &Cli,
    env: Env,
    inputs: Inputs,
    console: Console,
    format: Format,
    files: ActionsFiles,
) -> Result<Ctx, CtxError> {
    let named = cli.root.clone().map(|r| ("--root", r)).or_else(|| {
        inputs
            .get("working-directory")
            .map(|r| ("the `working-directory` input", PathBuf::from(r)))
    });
    if let Some((what, dir)) = &named {
        // A folder that is not there would be checked as empty and pass: refuse it.
        if !dir.is_dir() {
            let why = if dir.exists() {
                "is not a folder"
            } else {
                "does not exist"
            };
            return Err(CtxError::Failure(Failure::input(format!(
                "{what} `{}` {why}; name the repository folder (or a folder inside it) to run in",
                dir.display()
            ))));
        }
        // Findings, tags and notes are about a repository: a folder outside one is a mistake
        // (a path typed wrong, a job without `actions/checkout`).
        let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
        if !absolute.ancestors().any(|a| a.join(".git").exists()) {
            return Err(CtxError::Failure(Failure::input(format!(
                "{what} `{}` is not in a git repository; run in a checkout (`actions/checkout` \
                 before stage-gate) or name a folder inside one",
                dir.display()
            ))));
        }
    }
    let root = named
        .map(|(_, r)| r)
        .or_else(|| env.get("GITHUB_WORKSPACE").map(PathBuf::from))
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."));
    let dry_run = cli.dry_run
        || inputs
            .bool("dry-run")
            .map_err(|e| CtxError::Failure(Failure::input(e)))?
            .unwrap_or(false);
    let explicit = cli
        .config
        .clone()
        .or_else(|| inputs.get("config").map(PathBuf::from));
    let mut config_missing = None;
    let config = match config::discover(&root, explicit.as_deref()) {
        Some(path) => {
            let display = path.strip_prefix(&root).unwrap_or(&path).to_path_buf();
            if !path.is_file() {
                let named_by = if cli.config.is_some() {
                    "--config".to_string()
                } else {
                    inputs
                        .source_of("config")
                        .map(|var| format!("`{var}`"))
                        .unwrap_or_else(|| "the `config` input".into())
                };
                return Err(CtxError::Failure(Failure::input(format!(
                    "the config file {} (named by {named_by}) does not exist in {}; correct the path (it is relative to the repository root), or leave it out to use {}",
                    display.display(),
                    root.display(),
                    config::DEFAULT_PATHS[0]
                ))));
            }
            let mut c = config::load(&path, &display).map_err(CtxError::Config)?;
            c.path = Some(display);
            c
        }
        None => {
            config_missing = Some(config::Missing { root: root.clone() });
            Config::empty()
        }
    };
    let token = inputs
        .get("github-token")
        .or_else(|| env.get("GITHUB_TOKEN").map(str::to_string))
        .map(crate::secret::Secret::new);
    let mut github = GithubContext::from_env(&env, token);
    if github.repository.is_none() {
        github.repository = config.repository.clone();
    }
    // Outside Actions nobody sets GITHUB_REF: a local run (a dry run, usually) is judged on what
    // is checked out, as CI would judge that branch or tag.
    if env.get("GITHUB_ACTIONS").is_none() && github.git_ref.is_none() {
        github.git_ref = crate::git::Git::open(&root)
            .ok()
            .and_then(|g| g.current_ref());
        if let Some(r) = &github.git_ref {
            console.debug(format!("GITHUB_REF is unset: {r}, from the checkout"));
        }
    }
    let fast_retries = env.get("STAGE_GATE_FAST_RETRIES") == Some("1");
    let http = Ctx::default_http(fast_retries).with_redactor(console.redactor.clone());
    let cancel = crate::cancel::Cancel::new();
    cancel.listen_for_signals();
    Ok(Ctx {
        env,
        inputs,
        console,
        config,
        config_missing,
        root,
        dry_run,
        format,
        files,
        github,
        http,
        cancel,
    })
}

/// Report a failure: on the console, in the step summary and as `result=failure`.
fn fail(console: &Console, files: &ActionsFiles, title: &str, f: Failure) -> Exit {
    console.error(format!("{f}"));
    let result = match f.exit {
        Exit::GateClosed => "refused",
        Exit::Cancelled => "cancelled",
        _ => "failure",
    };
    if let Some(path) = &files.output {
        let _ = report::gha::write_output(path, "result", result);
    }
    if let Some(path) = &files.summary {
        let text = console.redactor.redact(&format!(
            "### {title}: {result}\n\n> {}\n\nexit code {} ({})\n",
            f.to_string().replace('\n', "\n> "),
            f.exit.code(),
            f.exit.meaning()
        ));
        let _ = report::gha::append_summary(path, &text);
    }
    f.exit
}
