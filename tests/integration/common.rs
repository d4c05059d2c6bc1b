//! A small builder that runs the `stage-gate` binary with a scrubbed environment: nothing
//! inherited from `GITHUB_*`, `RUNNER_*`, `ACTIONS_*` or `INPUT_*`, every provider pointed
//! at whatever the test sets.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_stage-gate");

/// Every subcommand, as `stage-gate --help` lists them.
pub const COMMANDS: [&str; 11] = [
    "check", "plan", "tag", "deploy", "health", "promote", "rollback", "notes", "release",
    "notify", "preview",
];

pub struct Run {
    args: Vec<String>,
    env: BTreeMap<String, String>,
    cwd: PathBuf,
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// Contents of $GITHUB_OUTPUT, when `actions()` was used.
    pub outputs: String,
    /// Contents of $GITHUB_STEP_SUMMARY, when `actions()` was used.
    pub summary: String,
}

impl Output {
    /// The value of a single-line step output.
    pub fn output(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}=");
        self.outputs
            .lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
    }
    /// Everything the process printed.
    pub fn all(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}",
            self.stdout, self.stderr, self.outputs, self.summary
        )
    }
}

impl Run {
    pub fn new(cwd: impl AsRef<Path>) -> Self {
        let mut env = BTreeMap::new();
        // Only what a process needs to exist; nothing from the CI that runs the tests.
        for key in ["PATH", "HOME", "TMPDIR", "LANG"] {
            if let Ok(v) = std::env::var(key) {
                env.insert(key.to_string(), v);
            }
        }
        env.insert("NO_COLOR".into(), "1".into());
        env.insert("STAGE_GATE_FAST_RETRIES".into(), "1".into());
        Run {
            args: Vec::new(),
            env,
            cwd: cwd.as_ref().to_path_buf(),
        }
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.args
            .extend(args.into_iter().map(|s| s.as_ref().to_string()));
        self
    }

    pub fn without_env(mut self, key: &str) -> Self {
        self.env.remove(key);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.to_string(), value.to_string());
        self
    }

    /// Behave as under GitHub Actions: outputs and summary files in a temp dir.
    pub fn actions(self, dir: &Path) -> Self {
        let out = dir.join("github_output");
        let sum = dir.join("step_summary");
        std::fs::write(&out, "").unwrap();
        std::fs::write(&sum, "").unwrap();
        self.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", out.to_str().unwrap())
            .env("GITHUB_STEP_SUMMARY", sum.to_str().unwrap())
    }

    /// Start the binary without waiting for it (to signal it mid-run).
    pub fn spawn(self) -> Spawned {
        let child = Command::new(BIN)
            .args(&self.args)
            .env_clear()
            .envs(&self.env)
            .current_dir(&self.cwd)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the stage-gate binary starts");
        Spawned {
            child,
            env: self.env,
        }
    }

    pub fn run(self) -> Output {
        let out = Command::new(BIN)
            .args(&self.args)
            .env_clear()
            .envs(&self.env)
            .current_dir(&self.cwd)
            .output()
            .expect("the stage-gate binary runs");
        collect(out, &self.env)
    }
}

/// What a finished run printed and wrote (its outputs and summary files, when set).
fn collect(out: std::process::Output, env: &BTreeMap<String, String>) -> Output {
    let read = |k: &str| {
        env.get(k)
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
    };
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        outputs: read("GITHUB_OUTPUT"),
        summary: read("GITHUB_STEP_SUMMARY"),
    }
}

/// A running `stage-gate`.
pub struct Spawned {
    pub child: std::process::Child,
    env: BTreeMap<String, String>,
}

impl Spawned {
    /// Send `signal` (`INT`, `TERM`) as the runner does.
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "kill -{signal} failed");
    }

    pub fn wait(self) -> Output {
        let out = self.child.wait_with_output().expect("the run ends");
        collect(out, &self.env)
    }
}

/// A temp dir holding `.github/stage-gate.yml` with `config`.
pub fn repo_with_config(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".github")).unwrap();
    std::fs::write(dir.path().join(".github/stage-gate.yml"), config).unwrap();
    dir
}

/// Whether `name` is an executable on this process's PATH.
pub fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

/// A machine's image as the deploy named it: a tag pinned to its digest mid-deploy
/// (`repo:tag@sha256:…`) shows as the tag, so tests can name what they asked for.
pub fn image_of(machine: &serde_json::Value) -> String {
    let image = machine["config"]["image"].as_str().unwrap_or("");
    match image.split_once('@') {
        Some((named, _)) if named.rsplit('/').next().is_some_and(|l| l.contains(':')) => {
            named.to_string()
        }
        _ => image.to_string(),
    }
}

/// Write `dir/flyctl`: a script that runs `prelude` (shell lines), then flyctl's stand-in
/// (`sim/flyctl/flyctl`), which builds a new tag and rolls the app's machines onto it.
pub fn flyctl_standin(dir: &Path, prelude: &str) {
    // The interpreter itself: python3 on PATH may be a shim that needs more of PATH.
    let python = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .expect("python3 on PATH (a prerequisite)");
    let standin = concat!(env!("CARGO_MANIFEST_DIR"), "/sim/flyctl/flyctl");
    let script = dir.join("flyctl");
    std::fs::write(
        &script,
        format!("#!/bin/sh\n{prelude}exec {python} {standin} \"$@\"\n"),
    )
    .expect("the flyctl stand-in is written");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}

/// Run git in `dir` as a fixed author at a fixed time (the same content, the same SHA), with
/// no system config; its trimmed stdout. Panics when git fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "T")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "T")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_AUTHOR_DATE", "@1700000000 +0000")
        .env("GIT_COMMITTER_DATE", "@1700000000 +0000")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
