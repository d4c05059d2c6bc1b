//! The action's inputs and the process environment.
//!
//! Precedence, highest first, implemented by [`Inputs::get`] and the callers that consult
//! their CLI flag before it and the config file after it:
//!
//! 1. a CLI flag (`--env staging`)
//! 2. `INPUT_<NAME>` (GitHub's rule: upper-case, spaces to `_`, hyphens kept: `INPUT_DRY-RUN`)
//! 3. `STAGE_GATE_<NAME>` (hyphens to `_`: `STAGE_GATE_DRY_RUN`), for local runs and other CIs
//! 4. the config file
//! 5. the built-in default
//!
//! An empty value counts as unset: GitHub passes `""` for an input the workflow left out.

use std::collections::BTreeMap;

/// One input of `action.yml`. The table below is the source of truth; a test checks
/// `action.yml` and the README against it.
#[derive(Debug, Clone, Copy)]
pub struct InputSpec {
    pub name: &'static str,
    pub description: &'static str,
    /// The default as written in action.yml.
    pub default: &'static str,
    /// Masked as soon as it is read.
    pub secret: bool,
}

const fn input(name: &'static str, description: &'static str, default: &'static str) -> InputSpec {
    InputSpec {
        name,
        description,
        default,
        secret: false,
    }
}

const fn secret(name: &'static str, description: &'static str, default: &'static str) -> InputSpec {
    InputSpec {
        name,
        description,
        default,
        secret: true,
    }
}

pub const INPUTS: &[InputSpec] = &[
    input("command", "What to run: check, plan, tag, deploy, health, promote, rollback, notes, release, notify, preview.", "check"),
    input("config", "Path of the stage-gate config (default: .github/stage-gate.yml).", ""),
    input("environment", "Target environment (deploy, health, rollback, plan; the destination of promote).", ""),
    input("from-environment", "promote: the environment that must have proven the commit (default: the `requires` of the target).", ""),
    input("app", "Only this app (default: every app configured for the environment).", ""),
    input("tag", "Release tag (default: the tag of GITHUB_REF).", ""),
    input("image", "Image to deploy, e.g. registry.fly.io/app:sha or a digest.", ""),
    input("version", "Version being deployed (default: from the tag, else the short SHA).", ""),
    input("sha", "deploy/promote: the commit to deploy, e.g. a workflow_dispatch input (default: GITHUB_SHA).", ""),
    input("dry-run", "Print every call that would be made, make none.", "false"),
    input("format", "Result format on stdout: human, json or github; plan also takes matrix (JSON for strategy.matrix).", "github"),
    input("verbose", "Debug logging (secrets stay redacted).", "false"),
    input("sarif-file", "check: write SARIF 2.1.0 here.", ""),
    input("next", "tag: compute the next version from conventional commits.", "false"),
    input("create", "tag --next: create the computed tag through the GitHub API.", "false"),
    input("assets", "release: asset globs, one per line.", ""),
    input("on-existing", "release: fail, skip, update or update-draft.", ""),
    input("draft", "release: leave the release a draft (matrix jobs upload; a last job publishes).", "false"),
    input("override-gate", "deploy/promote: open a closed gate (only when the config allows it).", "false"),
    input("reason", "Why the gate is overridden (required with override-gate).", ""),
    input("dispatch", "notify: workflow file to dispatch.", ""),
    input("dispatch-inputs", "notify: inputs for the dispatched workflow, key=value per line.", ""),
    input("preview", "preview: up, down or sweep (default: from the event: a closed pull request → down, another pull_request event → up, schedule or workflow_dispatch → sweep).", ""),
    input("pr", "preview: the pull request's number (default: the pull_request event's).", ""),
    input("force", "preview sweep: tear down more than the environment's sweep-limit previews in one run.", "false"),
    input("working-directory", "Repository root (default: GITHUB_WORKSPACE or the current directory).", ""),
    secret("github-token", "Token for GitHub Deployments, Releases and dispatch.", "${{ github.token }}"),
    secret("fly-api-token", "Fly.io API token (or set FLY_API_TOKEN).", ""),
    secret("coolify-token", "Coolify API token (or set COOLIFY_TOKEN).", ""),
];

/// The action's outputs (declared in action.yml).
pub const OUTPUTS: &[(&str, &str)] = &[
    ("result", "success, failure, refused or cancelled; preview also: skipped (a fork's pull request), removed or planned (a dry run)."),
    (
        "version",
        "The version that was validated, deployed or released.",
    ),
    (
        "previous-version",
        "The previous version on the same channel.",
    ),
    ("previous-tag", "The previous tag on the same channel."),
    ("prerelease", "true when the version is a prerelease."),
    ("is-latest", "true when this is the highest stable version."),
    ("major", "tag: the major version number."),
    ("minor", "tag: the minor version number."),
    ("patch", "tag: the patch version number."),
    (
        "prerelease-id",
        "tag: the prerelease series (`rc` of `1.2.0-rc.1`), empty when stable.",
    ),
    (
        "app",
        "tag: the app the tag belongs to (monorepo patterns).",
    ),
    (
        "next-version",
        "tag --next: the computed next version (empty when nothing to release).",
    ),
    ("next-tag", "tag --next: the tag for the next version."),
    ("image", "The image that was deployed."),
    ("deployment-id", "The GitHub Deployment id."),
    ("environment-url", "URL of the deployed environment."),
    ("verdict", "health: healthy, unhealthy or timeout."),
    (
        "rollback",
        "deploy/promote after a failure, and health --rollback: restored, or not-restored (what each machine runs is in the summary).",
    ),
    ("release-id", "release: the GitHub Release id."),
    ("release-url", "release: the GitHub Release URL."),
    (
        "upload-url",
        "release: where to upload more assets to the release (its upload_url).",
    ),
    (
        "release-assets",
        "release: JSON list of the release's assets (name, url, size, digest).",
    ),
    ("notes", "notes: the release notes (Markdown)."),
    ("matrix", "plan: JSON for strategy.matrix (whatever the format)."),
    ("previews", "preview: JSON list of the previews (app, resource, url, digest, state)."),
    ("sarif-file", "check: path of the SARIF file."),
    ("errors", "check: number of errors."),
    ("warnings", "check: number of warnings."),
];

/// A snapshot of the process environment, so `run` never reads globals and tests can pass
/// their own.
#[derive(Debug, Clone, Default)]
pub struct Env(pub BTreeMap<String, String>);

impl Env {
    pub fn from_process() -> Self {
        Env(std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect())
    }
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.insert(key.into(), value.into());
    }
}

/// `INPUT_<NAME>` as GitHub spells it.
pub fn input_var(name: &str) -> String {
    format!("INPUT_{}", name.replace(' ', "_").to_uppercase())
}

/// `STAGE_GATE_<NAME>`, shell-friendly.
pub(crate) fn stage_gate_var(name: &str) -> String {
    format!(
        "STAGE_GATE_{}",
        name.replace([' ', '-'], "_").to_uppercase()
    )
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("input `{name}` ({source_var}) is `{value}`, but {expected}")]
pub struct InputError {
    pub name: String,
    pub source_var: String,
    pub value: String,
    pub expected: String,
}

#[derive(Debug, Clone, Default)]
pub struct Inputs {
    env: Env,
}

impl Inputs {
    pub fn new(env: Env) -> Self {
        Inputs { env }
    }

    /// Levels 2 and 3 of the precedence: `INPUT_*`, then `STAGE_GATE_*`.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.get_with_source(name).map(|(v, _)| v)
    }

    /// The variable an input was read from (`INPUT_CONFIG`, `STAGE_GATE_CONFIG`), when set.
    pub fn source_of(&self, name: &str) -> Option<String> {
        self.get_with_source(name).map(|(_, var)| var)
    }

    fn get_with_source(&self, name: &str) -> Option<(String, String)> {
        [input_var(name), stage_gate_var(name)]
            .into_iter()
            .find_map(|var| self.env.get(&var).map(|v| (v.trim().to_string(), var)))
            .filter(|(v, _)| !v.is_empty())
    }

    /// A boolean input: `true`/`false` (YAML 1.2 core schema, as GitHub documents).
    pub fn bool(&self, name: &str) -> Result<Option<bool>, InputError> {
        let Some((value, var)) = self.get_with_source(name) else {
            return Ok(None);
        };
        match value.to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => Err(InputError {
                name: name.to_string(),
                source_var: var,
                value,
                expected: "expected `true` or `false`".into(),
            }),
        }
    }

    /// An input that must be one of `choices`.
    pub fn choice(&self, name: &str, choices: &[&str]) -> Result<Option<String>, InputError> {
        let Some((value, var)) = self.get_with_source(name) else {
            return Ok(None);
        };
        if choices.contains(&value.as_str()) {
            Ok(Some(value))
        } else {
            Err(InputError {
                name: name.to_string(),
                source_var: var,
                value,
                expected: format!("expected one of: {}", choices.join(", ")),
            })
        }
    }

    /// A multi-line input, one item per line, blanks dropped.
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| {
                v.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// CLI flag first, then the input.
pub fn pick(flag: Option<String>, inputs: &Inputs, name: &str) -> Option<String> {
    flag.filter(|v| !v.is_empty()).or_else(|| inputs.get(name))
}

/// The README's inputs and outputs tables (kept in sync by a test).
pub fn markdown_tables() -> String {
    let mut out = String::from("| input | default | description |\n|---|---|---|\n");
    for i in INPUTS {
        let default = if i.default.is_empty() {
            String::new()
        } else {
            format!("`{}`", i.default)
        };
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            i.name, default, i.description
        ));
    }
    out.push_str("\n| output | description |\n|---|---|\n");
    for (name, description) in OUTPUTS {
        out.push_str(&format!("| `{name}` | {description} |\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Inputs {
        Inputs::new(Env(pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()))
    }

    #[test]
    fn github_input_names_keep_hyphens() {
        assert_eq!(input_var("dry-run"), "INPUT_DRY-RUN");
        assert_eq!(input_var("my input"), "INPUT_MY_INPUT");
        assert_eq!(stage_gate_var("dry-run"), "STAGE_GATE_DRY_RUN");
    }

    #[test]
    fn precedence_flag_then_input_then_env() {
        let i = env(&[
            ("INPUT_ENVIRONMENT", "from-input"),
            ("STAGE_GATE_ENVIRONMENT", "from-env"),
        ]);
        assert_eq!(
            pick(Some("flag".into()), &i, "environment").as_deref(),
            Some("flag")
        );
        assert_eq!(pick(None, &i, "environment").as_deref(), Some("from-input"));
        let i = env(&[("STAGE_GATE_ENVIRONMENT", "from-env")]);
        assert_eq!(pick(None, &i, "environment").as_deref(), Some("from-env"));
        assert_eq!(pick(None, &env(&[]), "environment"), None);
    }

    #[test]
    fn empty_input_counts_as_unset() {
        let i = env(&[("INPUT_APP", ""), ("STAGE_GATE_APP", "api")]);
        assert_eq!(i.get("app").as_deref(), Some("api"));
    }

    #[test]
    fn ill_typed_bool_names_the_input() {
        let i = env(&[("INPUT_DRY-RUN", "yes")]);
        let e = i.bool("dry-run").unwrap_err();
        assert_eq!(e.name, "dry-run");
        assert!(e.to_string().contains("INPUT_DRY-RUN"));
        assert_eq!(
            env(&[("INPUT_DRY-RUN", "TRUE")]).bool("dry-run"),
            Ok(Some(true))
        );
    }

    #[test]
    fn lines_split_and_trim() {
        let i = env(&[("INPUT_ASSETS", "a.tar.gz\n\n  b.zip \n")]);
        assert_eq!(i.lines("assets"), vec!["a.tar.gz", "b.zip"]);
    }
}
