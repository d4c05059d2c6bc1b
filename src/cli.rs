//! The command line. Every flag here is level 1 of the precedence in `inputs.rs`; a flag
//! left out falls back to the action input of the same name.

use crate::report::Format;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "stage-gate",
    version,
    about = "Staged release pipelines: check, deploy, health-gate, promote, release.",
    long_about = None
)]
pub struct Cli {
    /// Config file (default: .github/stage-gate.yml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Result format on stdout [default: github under Actions, else human].
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// Print every call that would be made; make none.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Debug logging (secrets stay redacted).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// No colour (also: the NO_COLOR environment variable).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Repository root (default: GITHUB_WORKSPACE or the current directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Without a command, the `command` input decides (that is how the action runs it).
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand, Clone)]
pub enum Command {
    /// Validate deploy configs: stage-gate config, fly.toml, parity, workflows, Dockerfiles.
    Check(CheckArgs),
    /// Print the resolved deploy plan (secrets never included).
    Plan(PlanArgs),
    /// Decide whether a release tag may release; or compute the next version.
    Tag(TagArgs),
    /// Deploy one environment end to end: gate, record, provider, health, notify.
    Deploy(DeployArgs),
    /// Probe health endpoints until healthy for the soak window.
    Health(HealthArgs),
    /// Deploy to an environment only what the previous one proved.
    Promote(PromoteArgs),
    /// Return an environment to its previous successful deployment.
    Rollback(RollbackArgs),
    /// Write release notes from git history.
    Notes(NotesArgs),
    /// Create or update the GitHub Release for a tag, with notes and assets.
    Release(ReleaseArgs),
    /// Send signed webhooks or dispatch the next workflow.
    Notify(NotifyArgs),
    /// An environment per pull request (Fly, Coolify): bring it up, tear it down, sweep.
    Preview(PreviewArgs),
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Check(_) => "check",
            Command::Plan(_) => "plan",
            Command::Tag(_) => "tag",
            Command::Deploy(_) => "deploy",
            Command::Health(_) => "health",
            Command::Promote(_) => "promote",
            Command::Rollback(_) => "rollback",
            Command::Notes(_) => "notes",
            Command::Release(_) => "release",
            Command::Notify(_) => "notify",
            Command::Preview(_) => "preview",
        }
    }

    /// The command named by the `command` input, with every flag left to the inputs.
    pub fn from_name(name: &str) -> Option<Command> {
        Some(match name {
            "check" => Command::Check(CheckArgs::default()),
            "plan" => Command::Plan(PlanArgs::default()),
            "tag" => Command::Tag(TagArgs::default()),
            "deploy" => Command::Deploy(DeployArgs::default()),
            "health" => Command::Health(HealthArgs::default()),
            "promote" => Command::Promote(PromoteArgs::default()),
            "rollback" => Command::Rollback(RollbackArgs::default()),
            "notes" => Command::Notes(NotesArgs::default()),
            "release" => Command::Release(ReleaseArgs::default()),
            "notify" => Command::Notify(NotifyArgs::default()),
            "preview" => Command::Preview(PreviewArgs::default()),
            _ => return None,
        })
    }

    pub const NAMES: [&'static str; 11] = [
        "check", "plan", "tag", "deploy", "health", "promote", "rollback", "notes", "release",
        "notify", "preview",
    ];
}

#[derive(Debug, Args, Clone, Default)]
pub struct CheckArgs {
    /// Files to check (default: the config, fly.toml files it names and discovers, workflows).
    pub paths: Vec<PathBuf>,
    /// Write SARIF 2.1.0 to this file (the `sarif-file` input; `--sarif` still works).
    #[arg(long = "sarif-file", visible_alias = "sarif", value_name = "FILE")]
    pub sarif: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct PlanArgs {
    /// The environment (a name under `environments:` in the config).
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<String>,
    /// Only this app, or the apps a glob matches (`api-*`: one matrix per group of apps).
    #[arg(long)]
    pub app: Option<String>,
    /// Plan output: human, json or matrix (JSON for strategy.matrix); overrides --format (the `format` input takes matrix too).
    #[arg(long = "output", value_parser = Format::parser(&[Format::Human, Format::Json, Format::Matrix]))]
    pub output: Option<Format>,
    /// The image to plan with (Fly: set in every machine config the plan shows).
    #[arg(long)]
    pub image: Option<String>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct TagArgs {
    /// The tag (default: the tag of GITHUB_REF).
    pub tag: Option<String>,
    /// The app whose tags these are (monorepo tag patterns like `{app}@{version}`).
    #[arg(long)]
    pub app: Option<String>,
    /// Tag pattern, e.g. `v{version}` or `{app}@{version}`.
    #[arg(long)]
    pub pattern: Option<String>,
    /// Compute the next version from conventional commits since the previous tag.
    #[arg(long)]
    pub next: bool,
    /// With --next: create the tag through the GitHub refs API (idempotent).
    #[arg(long, requires = "next")]
    pub create: bool,
    /// With --next: start or continue a prerelease series (e.g. `rc`).
    #[arg(long, value_name = "ID")]
    pub pre: Option<String>,
    /// This tag is an explicit rollback: a lower version is allowed when the config allows downgrades.
    #[arg(long)]
    pub rollback: bool,
    /// The environment the tag is for (prerelease policy `staging-only`).
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<String>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct DeployArgs {
    /// The environment (a name under `environments:` in the config).
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<String>,
    /// Only this app (default: every app of the environment).
    #[arg(long)]
    pub app: Option<String>,
    /// Image to deploy.
    #[arg(long)]
    pub image: Option<String>,
    /// Version being deployed (default: from the tag, else the short SHA).
    #[arg(long)]
    pub version: Option<String>,
    /// Commit being deployed (default: GITHUB_SHA, else HEAD); an abbreviated one is expanded by git.
    #[arg(long)]
    pub sha: Option<String>,
    /// Skip the health gate.
    #[arg(long)]
    pub skip_health: bool,
    /// Open a closed gate (only when the config allows it); needs --reason.
    #[arg(long)]
    pub override_gate: bool,
    /// Why the gate is overridden (recorded in the deployment).
    #[arg(long)]
    pub reason: Option<String>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct HealthArgs {
    /// The environment (a name under `environments:` in the config).
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<String>,
    /// Only this app (default: every app of the environment).
    #[arg(long)]
    pub app: Option<String>,
    /// Probe these URLs instead of the configured probes.
    #[arg(long = "url")]
    pub urls: Vec<String>,
    /// Version the endpoints must report: `{version}` in the configured probes; a --url probe's body must contain it.
    #[arg(long)]
    pub version: Option<String>,
    /// When a gate fails, return its target to the previous successful deployment (as `rollback` does).
    #[arg(long)]
    pub rollback: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct PromoteArgs {
    /// The environment that must have proven the commit (default: the target's `requires`).
    #[arg(long, value_name = "ENV")]
    pub from: Option<String>,
    /// The environment to deploy.
    #[arg(long = "env", visible_alias = "to", value_name = "ENV")]
    pub environment: Option<String>,
    /// Only this app (default: every app of the environment).
    #[arg(long)]
    pub app: Option<String>,
    /// Image to deploy (`registry/name:tag` or a digest).
    #[arg(long)]
    pub image: Option<String>,
    /// The version being deployed (default: from the release tag).
    #[arg(long)]
    pub version: Option<String>,
    /// Commit being deployed (default: GITHUB_SHA, else HEAD); an abbreviated one is expanded by git.
    #[arg(long)]
    pub sha: Option<String>,
    /// Open a closed gate (only when the config allows it); needs --reason.
    #[arg(long)]
    pub override_gate: bool,
    /// Why the gate is overridden (recorded in the deployment).
    #[arg(long)]
    pub reason: Option<String>,
    /// Only evaluate the gate; deploy nothing.
    #[arg(long)]
    pub gate_only: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct RollbackArgs {
    /// The environment (a name under `environments:` in the config).
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<String>,
    /// Only this app (default: every app of the environment).
    #[arg(long)]
    pub app: Option<String>,
    /// Version, release tag, commit or image that ran in the environment, to return to
    /// (default: the previous successful deployment). Resolved through the environment's
    /// deployment records to the artifact that ran.
    #[arg(long)]
    pub to: Option<String>,
    /// With --to: return to it even when no deployment record says it ran there.
    #[arg(long, requires = "to")]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum NotesSource {
    #[default]
    Git,
    Github,
}

#[derive(Debug, Args, Clone, Default)]
pub struct NotesArgs {
    /// The tag the notes are for (default: the tag of GITHUB_REF, else HEAD unreleased).
    pub tag: Option<String>,
    /// Start of the range: the previous tag (default: the previous release on the channel).
    #[arg(long)]
    pub from: Option<String>,
    /// End of the range (default: the tag, else HEAD).
    #[arg(long)]
    pub to: Option<String>,
    /// The app whose tags these are (monorepo tag patterns like `{app}@{version}`).
    #[arg(long)]
    pub app: Option<String>,
    /// Where the notes come from: git history (default) or GitHub's generated notes.
    #[arg(long, value_enum)]
    pub source: Option<NotesSource>,
    /// Regenerate a full CHANGELOG.md over every tag.
    #[arg(long)]
    pub changelog: bool,
    /// Write the notes to this file as well.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ReleaseArgs {
    /// The release tag (default: the tag of GITHUB_REF).
    #[arg(long)]
    pub tag: Option<String>,
    /// The app whose tags these are (monorepo tag patterns like `{app}@{version}`).
    #[arg(long)]
    pub app: Option<String>,
    /// Asset globs.
    #[arg(long = "asset")]
    pub assets: Vec<String>,
    /// fail, skip, update or update-draft.
    #[arg(long)]
    pub on_existing: Option<String>,
    /// Leave the release as a draft.
    #[arg(long)]
    pub draft: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct NotifyArgs {
    /// Workflow file to dispatch (e.g. deploy-production.yml).
    #[arg(long)]
    pub dispatch: Option<String>,
    /// Inputs for the dispatched workflow, `key=value`.
    #[arg(long = "inputs", value_name = "KEY=VALUE")]
    pub inputs: Vec<String>,
    /// Ref for the dispatch (default: the default branch).
    #[arg(long = "ref")]
    pub git_ref: Option<String>,
    /// Event name in webhook payloads.
    #[arg(long)]
    pub event: Option<String>,
    /// The environment (a name under `environments:` in the config).
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<String>,
    /// Only this app (default: every app of the environment).
    #[arg(long)]
    pub app: Option<String>,
    /// success or failure.
    #[arg(long)]
    pub status: Option<String>,
    /// The version being deployed (default: from the release tag).
    #[arg(long)]
    pub version: Option<String>,
    /// Send to this webhook URL (in addition to the configured ones).
    #[arg(long)]
    pub webhook: Option<String>,
}

#[cfg(test)]
mod help_tests {
    use super::Cli;
    use clap::{CommandFactory, Parser};

    /// Every flag of every subcommand says in a line what it does.
    #[test]
    fn every_flag_has_a_one_line_help() {
        let mut missing = Vec::new();
        let root = Cli::command();
        let mut commands = vec![root.clone()];
        commands.extend(root.get_subcommands().cloned());
        for cmd in &commands {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                if help.trim().is_empty() || help.contains('\n') {
                    missing.push(format!("{} --{id}", cmd.get_name()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "flags without a one-line help: {missing:?}"
        );
    }

    /// The commands that act on an environment name it the same way: `--env ENV`.
    #[test]
    fn every_command_that_targets_an_environment_takes_env() {
        let root = Cli::command();
        let lacking: Vec<&str> = root
            .get_subcommands()
            .filter(|cmd| cmd.get_arguments().any(|a| a.get_id() == "environment"))
            .filter(|cmd| {
                !cmd.get_arguments()
                    .any(|a| a.get_id() == "environment" && a.get_long() == Some("env"))
            })
            .map(|cmd| cmd.get_name())
            .collect();
        assert!(lacking.is_empty(), "no --env on: {lacking:?}");
        let targeting: Vec<&str> = root
            .get_subcommands()
            .filter(|cmd| cmd.get_arguments().any(|a| a.get_long() == Some("env")))
            .map(|cmd| cmd.get_name())
            .collect();
        assert_eq!(
            targeting,
            ["plan", "tag", "deploy", "health", "promote", "rollback", "notify", "preview"]
        );
    }

    /// `promote --to` is what older workflows wrote: it still works, and --help shows it.
    #[test]
    fn promote_takes_env_and_the_to_alias() {
        for flag in ["--env", "--to"] {
            let cli = Cli::try_parse_from(["stage-gate", "promote", flag, "production"])
                .unwrap_or_else(|e| panic!("{flag}: {e}"));
            let Some(super::Command::Promote(args)) = cli.command else {
                panic!("not promote");
            };
            assert_eq!(args.environment.as_deref(), Some("production"));
        }
        let mut root = Cli::command();
        let help = root
            .find_subcommand_mut("promote")
            .expect("promote")
            .render_long_help()
            .to_string();
        assert!(help.contains("--env <ENV>"), "{help}");
        assert!(help.contains("[alias: --to]"), "{help}");
    }
}

/// What `preview` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PreviewAction {
    /// Create or update the pull request's preview of every app, health-gated.
    Up,
    /// Tear the pull request's preview down (only what stage-gate made).
    Down,
    /// Tear down previews of closed pull requests and those past `ttl`.
    Sweep,
}

impl PreviewAction {
    pub fn from_name(name: &str) -> Option<PreviewAction> {
        match name {
            "up" => Some(PreviewAction::Up),
            "down" => Some(PreviewAction::Down),
            "sweep" => Some(PreviewAction::Sweep),
            _ => None,
        }
    }
}

#[derive(Debug, Args, Clone, Default)]
pub struct PreviewArgs {
    /// up, down or sweep [default: from the event: a closed pull request → down, another
    /// pull_request event → up, schedule or workflow_dispatch → sweep]
    #[arg(value_enum)]
    pub action: Option<PreviewAction>,
    /// The pull request's number (default: the pull_request event's).
    #[arg(long)]
    pub pr: Option<u64>,
    /// The per-pull-request environment (default: the config's only one).
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<String>,
    /// Only this app (default: every app of the environment).
    #[arg(long)]
    pub app: Option<String>,
    /// up: the image to run (for Coolify Docker-image apps, its tag becomes `docker_tag`).
    #[arg(long)]
    pub image: Option<String>,
    /// up: the commit (default: the pull request's head, else GITHUB_SHA, else HEAD).
    #[arg(long)]
    pub sha: Option<String>,
    /// up: skip the health gate.
    #[arg(long)]
    pub skip_health: bool,
    /// sweep: tear down more than `sweep-limit` previews in one run.
    #[arg(long)]
    pub force: bool,
}
