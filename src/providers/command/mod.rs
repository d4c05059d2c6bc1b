//! The `command` provider: deploy by running a shell command (`kamal deploy`, a script)
//! and trust its exit code. The child sees the run's environment plus `STAGE_GATE_APP`,
//! `_ENV`, `_SHA`, `_VERSION`, `_IMAGE`; the values of its `secret-env` variables are masked
//! before any output is printed. Output streams into a console group, redacted; a non-zero
//! exit fails the deploy with the last lines. Rollback runs `rollback` with
//! `STAGE_GATE_ROLLBACK_TO`.
//!
//! The artifact a deploy ran is `STAGE_GATE_IMAGE` (the image given, or on a promotion the
//! one the proving environment ran), unless the command names another: it writes one image
//! reference (`registry/app@sha256:…` is best) to the file `$STAGE_GATE_ARTIFACT`. What it
//! writes is recorded, and a promotion hands it to production's command as
//! `STAGE_GATE_IMAGE`.

pub(crate) mod config;

use super::*;
use crate::config::CommandConfig;
use crate::inputs::Env;
use crate::report::Console;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Output lines kept for the failure message.
const TAIL: usize = 30;

pub(crate) const REGISTERED: super::registry::Registered = super::registry::Registered {
    key: "command",
    default_secret_envs: &[],
    secret_envs,
    build,
    ships,
    configured: |t| t.command.is_some(),
    resolve: |v, at, t| {
        let raw = t.command.as_ref()?;
        Some(crate::config::ProviderConfig::Command(config::resolve(
            v, at, raw,
        )))
    },
    owns: |p| matches!(p, crate::config::ProviderConfig::Command(_)),
};

fn secret_envs(p: &crate::config::ProviderConfig) -> Vec<String> {
    match p {
        crate::config::ProviderConfig::Command(c) => c.secret_env.clone(),
        _ => Vec::new(),
    }
}

pub struct CommandProvider {
    config: CommandConfig,
    dir: PathBuf,
    env: Env,
    console: Console,
}

/// The file a deploy command may write the artifact it ran to (`$STAGE_GATE_ARTIFACT`):
/// made empty before the command, removed after.
struct ArtifactFile {
    path: PathBuf,
}

impl ArtifactFile {
    fn new() -> Result<ArtifactFile, ProviderError> {
        let path = std::env::temp_dir().join(format!(
            "stage-gate-artifact-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::write(&path, "")
            .map_err(|e| ProviderError::Other(format!("cannot create {}: {e}", path.display())))?;
        Ok(ArtifactFile { path })
    }

    /// The reference the command wrote, if any; one that is not an image reference fails the
    /// deploy (exit 2) rather than record something a promotion could not deploy.
    fn read(&self) -> Result<Option<String>, ProviderError> {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let reported = text.trim();
        if reported.is_empty() {
            return Ok(None);
        }
        if !crate::artifact::is_image_reference(reported) {
            return Err(ProviderError::Config(format!(
                "the deploy command wrote `{}` to $STAGE_GATE_ARTIFACT, which is not an image \
                 reference: write one line such as `registry.example.com/app@sha256:…`",
                crate::secret::truncate(reported, 120)
            )));
        }
        Ok(Some(reported.to_string()))
    }
}

impl Drop for ArtifactFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What a finished command left.
struct Ran {
    code: Option<i32>,
    tail: Vec<String>,
    elapsed: std::time::Duration,
}

impl CommandProvider {
    pub fn new(config: CommandConfig, deps: &Deps) -> Result<Self, ProviderError> {
        let dir = match &config.working_directory {
            Some(d) => deps.path(d),
            None => deps.root.clone(),
        };
        Ok(CommandProvider {
            config,
            dir,
            env: deps.env.clone(),
            console: deps.console.clone(),
        })
    }

    /// Mask every `secret-env` value; a missing one is a config error, found before running.
    fn mask_secrets(&self) -> Result<(), ProviderError> {
        for name in &self.config.secret_env {
            match self.env.get(name) {
                Some(v) if !v.is_empty() => self.console.mask(v),
                _ => {
                    return Err(ProviderError::Config(format!(
                        "command: secret-env `{name}` is not set in the environment"
                    )))
                }
            }
        }
        Ok(())
    }

    /// Run `script` with `sh -c`, streaming its output, until it exits or `deadline`.
    async fn run(
        &self,
        what: &str,
        script: &str,
        extra: &[(&str, String)],
        deadline: Instant,
    ) -> Result<Ran, ProviderError> {
        self.mask_secrets()?;
        if !self.dir.is_dir() {
            return Err(ProviderError::Config(format!(
                "command: working-directory {} does not exist",
                self.dir.display()
            )));
        }
        let started = Instant::now();
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(&self.dir)
            .env_clear()
            .envs(self.env.0.iter())
            .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ProviderError::Other(format!("command: cannot start `sh`: {e}")))?;
        let _group = self.console.group(format!("{what}: {script}"));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut tail: VecDeque<String> = VecDeque::with_capacity(TAIL);
        let timeout = tokio::time::sleep_until(deadline.into());
        tokio::pin!(timeout);
        loop {
            tokio::select! {
                line = rx.recv() => match line {
                    Some(line) => {
                        let line = self.console.redactor.redact(&line);
                        self.console.info(&line);
                        if tail.len() == TAIL {
                            tail.pop_front();
                        }
                        tail.push_back(line);
                    }
                    None => break,
                },
                _ = &mut timeout => {
                    let _ = child.kill().await;
                    return Err(ProviderError::Failed {
                        message: format!("{what} did not finish before the deadline and was killed"),
                        rolled_back: None,
                        log_excerpt: Some(tail.into_iter().collect::<Vec<_>>().join("\n")),
                    });
                }
            }
        }
        let status = tokio::select! {
            s = child.wait() => s.map_err(|e| ProviderError::Other(format!("command: {e}")))?,
            _ = &mut timeout => {
                let _ = child.kill().await;
                return Err(ProviderError::Failed {
                    message: format!("{what} did not finish before the deadline and was killed"),
                    rolled_back: None,
                    log_excerpt: None,
                });
            }
        };
        Ok(Ran {
            code: status.code(),
            tail: tail.into_iter().collect(),
            elapsed: started.elapsed(),
        })
    }

    fn check(what: &str, ran: &Ran) -> Result<(), ProviderError> {
        if ran.code == Some(0) {
            return Ok(());
        }
        let how = match ran.code {
            Some(c) => format!("exited with code {c}"),
            None => "was killed by a signal".to_string(),
        };
        Err(ProviderError::Failed {
            message: format!("{what} {how}"),
            rolled_back: None,
            log_excerpt: Some(ran.tail.join("\n")),
        })
    }

    fn details(ran: &Ran) -> Vec<(String, String)> {
        vec![
            (
                "exit-code".into(),
                ran.code.map(|c| c.to_string()).unwrap_or_default(),
            ),
            (
                "duration".into(),
                humantime::format_duration(std::time::Duration::from_secs(ran.elapsed.as_secs()))
                    .to_string(),
            ),
        ]
    }
}

#[async_trait]
impl Provider for CommandProvider {
    fn kind(&self) -> &'static str {
        "command"
    }

    fn planned_calls(&self, req: &DeployRequest) -> Vec<String> {
        vec![format!(
            "sh -c '{}' in {} with STAGE_GATE_APP={} STAGE_GATE_ENV={} STAGE_GATE_SHA={}{}",
            self.config.run,
            self.dir.display(),
            req.target.app,
            req.target.env,
            req.sha,
            req.version
                .as_ref()
                .map(|v| format!(" STAGE_GATE_VERSION={v}"))
                .unwrap_or_default()
        )]
    }

    async fn deploy(&self, req: &DeployRequest) -> Result<DeployOutcome, ProviderError> {
        let report = ArtifactFile::new()?;
        let extra = [
            ("STAGE_GATE_ARTIFACT", report.path.display().to_string()),
            ("STAGE_GATE_APP", req.target.app.clone()),
            ("STAGE_GATE_ENV", req.target.env.clone()),
            ("STAGE_GATE_SHA", req.sha.clone()),
            (
                "STAGE_GATE_VERSION",
                req.version.clone().unwrap_or_default(),
            ),
            ("STAGE_GATE_IMAGE", req.image.clone().unwrap_or_default()),
        ];
        let ran = self
            .run("deploy command", &self.config.run, &extra, req.deadline)
            .await?;
        Self::check("the deploy command", &ran)?;
        let image = match report.read()? {
            Some(reported) => Some(reported),
            None => req.image.clone(),
        };
        Ok(DeployOutcome {
            provider_ids: Vec::new(),
            image,
            version: req.version.clone(),
            rollback_point: req
                .version
                .as_ref()
                .map(|v| serde_json::json!({ "deployed": v })),
            details: Self::details(&ran),
        })
    }

    fn planned_rollback_calls(&self, req: &RollbackRequest) -> Vec<String> {
        let Some(script) = &self.config.rollback else {
            return vec![format!(
                "(no `rollback` command is configured for {}/{}: the rollback would fail)",
                req.target.app, req.target.env
            )];
        };
        vec![format!(
            "sh -c '{script}' in {} with STAGE_GATE_APP={} STAGE_GATE_ENV={} STAGE_GATE_ROLLBACK_TO={}",
            self.dir.display(),
            req.target.app,
            req.target.env,
            req.to.as_deref().unwrap_or("")
        )]
    }

    async fn rollback(&self, req: &RollbackRequest) -> Result<RollbackOutcome, ProviderError> {
        let Some(script) = &self.config.rollback else {
            return Err(ProviderError::Config(format!(
                "{}/{}: the command provider has no `rollback` command to run",
                req.target.app, req.target.env
            )));
        };
        let to = req.to.clone().unwrap_or_default();
        if to.is_empty() {
            self.console
                .warn("command rollback: no version named; STAGE_GATE_ROLLBACK_TO is empty");
        }
        let extra = [
            ("STAGE_GATE_APP", req.target.app.clone()),
            ("STAGE_GATE_ENV", req.target.env.clone()),
            ("STAGE_GATE_ROLLBACK_TO", to.clone()),
        ];
        let deadline = Instant::now() + req.target.timeout;
        let ran = self
            .run("rollback command", script, &extra, deadline)
            .await?;
        Self::check("the rollback command", &ran)?;
        Ok(RollbackOutcome {
            restored: if to.is_empty() {
                "the rollback command succeeded".into()
            } else {
                format!("rolled back to {to}")
            },
            details: Self::details(&ran),
        })
    }
}

fn build(
    p: &crate::config::ProviderConfig,
    deps: &Deps,
) -> Result<Box<dyn Provider>, ProviderError> {
    match p {
        crate::config::ProviderConfig::Command(c) => {
            Ok(Box::new(CommandProvider::new(c.clone(), deps)?))
        }
        _ => Err(super::wrong_config("command")),
    }
}

/// What a deploy ships, in words (`plan`).
fn ships(p: &crate::config::ProviderConfig) -> String {
    let _ = p;
    "the image given, or what the command reports in $STAGE_GATE_ARTIFACT".into()
}
