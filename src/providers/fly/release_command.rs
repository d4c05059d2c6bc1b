//! `[deploy] release_command`: run once, before any machine is touched, in an ephemeral
//! machine of the new image (flyctl's `machines_releasecommand.go`): create it stopped
//! (`skip_launch`), start it, wait for its `exit` event, read the exit code from it. The
//! machine auto-destroys; one that outlives its timeout is destroyed by us.
//!
//! A lost answer to the create is looked up (a release-command machine of this image created
//! since we asked), never sent twice: two copies would run the migration twice at once.

use super::api::{Api, Machine, MachineEvent};
use super::rollout::{failed, now_ms};
use super::Tuning;
use crate::appconfig::RELEASE_GROUP;
use crate::providers::ProviderError;
use crate::report::Console;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// What the release command did.
#[derive(Debug, Clone)]
pub(crate) struct ReleaseRun {
    pub machine: String,
    pub exit_code: i64,
    pub took: Duration,
}

/// The `CreateMachineRequest` of the release machine.
/// Created stopped (`skip_launch`), in the app's primary region, started once created.
pub(crate) fn create_body(config: &Value, toml: &crate::appconfig::AppConfig) -> Value {
    let mut body = super::create::create_body(config, toml);
    body["skip_launch"] = json!(true);
    body
}

pub(crate) struct ReleaseCommand<'a> {
    pub api: &'a Api,
    /// The release machine is the deploy's first: its digest pins the rest.
    pub desired: &'a super::desired::Desired,
    pub tuning: &'a Tuning,
    pub console: &'a Console,
    pub command: &'a str,
    pub timeout: Duration,
    /// Waiting for the machine to be created (flyctl: the deploy's wait timeout).
    pub wait_timeout: Duration,
}

impl ReleaseCommand<'_> {
    pub(crate) async fn run(&self, body: &Value) -> Result<ReleaseRun, ProviderError> {
        let started = Instant::now();
        self.console
            .info(format!("running release_command: {}", self.command));
        let machine = self
            .api
            .create_once(body, RELEASE_GROUP, "the release_command machine")
            .await?;
        let id = machine.id.clone();
        if let Err(e) = self.desired.observe(&machine) {
            let _ = self.api.destroy(&id, None).await;
            return Err(e);
        }
        let result = tokio::select! {
            r = self.run_on(&id, started) => r,
            // A migration cut short is worse than one that finishes: leave it running, change
            // nothing else, and say where it runs.
            _ = self.api.cancel.cancelled() => {
                let signal = self.api.cancel.signal().unwrap_or_else(|| "a signal".into());
                return Err(ProviderError::Cancelled(format!(
        "cancelled by {signal} while release_command ran on machine {id}: it was left to finish (see `fly logs -i {id}`); no other machine was changed"
                )));
            }
        };
        if result.is_err() {
            // Never leave a migration running behind a failed deploy.
            if let Err(e) = self.api.destroy(&id, None).await {
                if !is_gone(&e) {
                    self.console.error(format!(
                        "the release_command machine {id} could not be destroyed: {e}; destroy it \
                         with `fly machine destroy --force {id}`"
                    ));
                }
            }
        }
        result
    }

    async fn run_on(&self, id: &str, started: Instant) -> Result<ReleaseRun, ProviderError> {
        let created_by = Instant::now() + self.wait_timeout;
        let reached = self
            .api
            .wait(id, "stopped", None, created_by, self.tuning.poll)
            .await?;
        if reached.is_none() {
            return Err(failed(format!(
                "the release_command machine {id} was not ready within {}; nothing else was changed",
                humantime::format_duration(self.wait_timeout)
            )));
        }
        let since = now_ms();
        self.api.start(id, None).await?;
        let deadline = Instant::now() + self.timeout;
        loop {
            let m = match self.api.get_machine(id).await {
                Ok(m) => m,
                Err(e) if is_gone(&e) => {
                    return Err(failed(format!(
                        "the release_command machine {id} was destroyed before its exit could be read; \
                         its exit code is unknown, so the deploy stops here"
                    )))
                }
                Err(e) => return Err(e),
            };
            if let Some(exit) = exit_after(&m, since) {
                let code = exit.exit_code().unwrap_or(-1);
                if code != 0 {
                    return Err(ProviderError::Failed {
                        message: format!(
                            "release_command `{}` failed on machine {id} with exit code {code}; \
                             no machine was changed",
                            self.command
                        ),
                        rolled_back: None,
                        log_excerpt: Some(describe_events(&m)),
                    });
                }
                let run = ReleaseRun {
                    machine: id.to_string(),
                    exit_code: code,
                    took: started.elapsed(),
                };
                self.console.info(format!(
                    "release_command finished on machine {id} (exit 0, {:.1}s)",
                    run.took.as_secs_f64()
                ));
                return Ok(run);
            }
            if Instant::now() >= deadline {
                return Err(ProviderError::Failed {
                    message: format!(
                        "release_command `{}` did not finish within {} (release_command_timeout); \
                         machine {id} is destroyed and no machine was changed",
                        self.command,
                        humantime::format_duration(self.timeout)
                    ),
                    rolled_back: None,
                    log_excerpt: Some(describe_events(&m)),
                });
            }
            tokio::time::sleep(self.tuning.poll).await;
        }
    }
}

fn is_gone(e: &ProviderError) -> bool {
    matches!(e, ProviderError::Http(h) if h.status() == Some(reqwest::StatusCode::NOT_FOUND))
}

/// The first `exit` event after `since_ms`.
fn exit_after(m: &Machine, since_ms: i64) -> Option<&MachineEvent> {
    m.events
        .iter()
        .filter(|e| e.kind == "exit" && e.timestamp >= since_ms)
        .min_by_key(|e| e.timestamp)
}

/// `start (started) → exit (stopped, exit code 3) → destroy (destroyed)`, oldest first.
fn describe_events(m: &Machine) -> String {
    let mut events = m.events.clone();
    events.sort_by_key(|e| e.timestamp);
    let parts: Vec<String> = events
        .iter()
        .map(|e| match e.exit_code() {
            Some(code) => format!("{} ({}, exit code {code})", e.kind, e.status),
            None => format!("{} ({})", e.kind, e.status),
        })
        .collect();
    format!("machine {} events: {}", m.id, parts.join(" → "))
}
