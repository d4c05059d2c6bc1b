//! In-place updates of existing machines — `rolling`, `canary`, `immediate` — and the
//! restore of snapshots that rollback uses.
//!
//! Per machine (NOTES.md §1.4): lease → read config and version (snapshot) → set image and env
//! → POST the full config with `current_version` and the nonce → wait `started` at the new
//! version → wait for checks → release. A machine that reaches `failed` or restart-loops
//! stops the deploy at once; the first failure in a wave cancels its siblings (their lease
//! guards release on drop).

use super::api::{is_conflict, Api, Machine};
use super::desired::Desired;
use super::lease::LeaseGuard;
use super::Tuning;
use crate::config::FlyStrategy;
use crate::providers::ProviderError;
use crate::report::Console;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A machine as it was before we touched it: enough to put it back.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Snapshot {
    pub id: String,
    pub region: String,
    pub version: String,
    pub image: String,
    #[serde(skip)]
    pub config: Value,
    pub was_running: bool,
}

/// One machine this deploy updated.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Updated {
    pub id: String,
    pub region: String,
    pub old_version: String,
    pub new_version: String,
}

/// Machines updated together; `verify` waits for start and checks (not for `immediate`, nor
/// for stopped machines, which stay stopped).
#[derive(Debug, Clone)]
pub(crate) struct Wave {
    pub machines: Vec<Machine>,
    pub verify: bool,
}

/// How many started machines may be down at once: a fraction (`0.33` → ceil(33 %)) or, from
/// 1 up, a count — flyctl's `--max-unavailable`.
pub(crate) fn wave_size(started: usize, max_unavailable: f64) -> usize {
    let n = if max_unavailable < 1.0 {
        (started as f64 * max_unavailable).ceil() as usize
    } else {
        max_unavailable.floor() as usize
    };
    n.max(1)
}

/// The order of the update, per strategy (flyctl's meaning): machines sorted by id and grouped
/// by process group; stopped machines in chunks of 30; `rolling` sends each group's first
/// started machine alone, then waves; `canary` sends one machine of the app alone, then waves;
/// `immediate` updates everything at once without waiting.
pub(crate) fn plan_waves(
    strategy: FlyStrategy,
    machines: &[Machine],
    max_unavailable: f64,
) -> Vec<Wave> {
    let mut sorted = machines.to_vec();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    if strategy == FlyStrategy::Immediate {
        return vec![Wave {
            machines: sorted,
            verify: false,
        }];
    }
    let mut groups: BTreeMap<String, Vec<Machine>> = BTreeMap::new();
    for m in sorted {
        groups.entry(m.group().to_string()).or_default().push(m);
    }
    let mut waves = Vec::new();
    // The canary goes before anything else: the first machine that should run, across groups.
    let canary = (strategy == FlyStrategy::Canary)
        .then(|| groups.values().flatten().find(|m| m.should_run()).cloned())
        .flatten();
    if let Some(c) = &canary {
        waves.push(Wave {
            machines: vec![c.clone()],
            verify: true,
        });
    }
    for machines in groups.values() {
        let (mut started, stopped): (Vec<Machine>, Vec<Machine>) = machines
            .iter()
            .filter(|m| canary.as_ref().is_none_or(|c| c.id != m.id))
            .cloned()
            .partition(Machine::should_run);
        for chunk in stopped.chunks(30) {
            waves.push(Wave {
                machines: chunk.to_vec(),
                verify: false,
            });
        }
        let size = wave_size(started.len(), max_unavailable);
        if !started.is_empty() && strategy == FlyStrategy::Rolling {
            waves.push(Wave {
                machines: vec![started.remove(0)],
                verify: true,
            });
        }
        for chunk in started.chunks(size) {
            waves.push(Wave {
                machines: chunk.to_vec(),
                verify: true,
            });
        }
    }
    waves
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub(crate) fn failed(message: impl Into<String>) -> ProviderError {
    ProviderError::Failed {
        message: message.into(),
        rolled_back: None,
        log_excerpt: None,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) struct Rollout<'a> {
    pub api: &'a Api,
    pub tuning: &'a Tuning,
    pub console: &'a Console,
    /// The new image (for messages); `desired` makes each machine's config.
    pub image: String,
    pub desired: Desired,
    pub wait_timeout: Duration,
    /// The whole deploy's deadline; no single wait goes past it.
    pub deadline: Instant,
    pub snapshots: Mutex<Vec<Snapshot>>,
    pub updated: Mutex<Vec<Updated>>,
}

impl<'a> Rollout<'a> {
    pub(crate) fn new(
        api: &'a Api,
        tuning: &'a Tuning,
        console: &'a Console,
        desired: Desired,
        wait_timeout: Duration,
        deadline: Instant,
    ) -> Self {
        Rollout {
            api,
            tuning,
            console,
            image: desired.requested.clone(),
            desired,
            wait_timeout,
            deadline,
            snapshots: Mutex::new(Vec::new()),
            updated: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn snapshots(&self) -> Vec<Snapshot> {
        lock(&self.snapshots).clone()
    }

    pub(crate) fn updated(&self) -> Vec<Updated> {
        lock(&self.updated).clone()
    }

    fn machine_deadline(&self) -> Instant {
        (Instant::now() + self.wait_timeout).min(self.deadline)
    }

    /// The waves in order. Cancelled, it starts no new wave; the wave in flight gets the
    /// grace to finish (its lease guards release on drop if it does not).
    pub(crate) async fn run(&self, waves: &[Wave]) -> Result<(), ProviderError> {
        let cancel = &self.api.cancel;
        for (i, wave) in waves.iter().enumerate() {
            if cancel.is_cancelled() {
                return Err(self.cancelled_at(i, waves, false));
            }
            let ids: Vec<&str> = wave.machines.iter().map(|m| m.id.as_str()).collect();
            self.console.info(format!(
                "wave {}/{}: {}",
                i + 1,
                waves.len(),
                ids.join(", ")
            ));
            let updates = futures::future::try_join_all(
                wave.machines
                    .iter()
                    .map(|m| self.update_one(m, wave.verify)),
            );
            tokio::pin!(updates);
            tokio::select! {
                r = &mut updates => { r?; }
                _ = cancel.cancelled() => {
                    let finished = tokio::time::timeout(crate::cancel::GRACE, &mut updates).await;
                    let cut_short = finished.is_err();
                    if let Ok(r) = finished {
                        r?;
                    }
                    return Err(self.cancelled_at(i, waves, cut_short));
                }
            }
        }
        Ok(())
    }

    /// "cancelled by SIGINT at wave 1/3: machine a on the new image; b, c on the old one".
    fn cancelled_at(&self, wave: usize, all: &[Wave], cut_short: bool) -> ProviderError {
        let waves = all.len();
        let updated: Vec<String> = self.updated().into_iter().map(|u| u.id).collect();
        let mut old: Vec<&str> = all
            .iter()
            .flat_map(|w| w.machines.iter().map(|m| m.id.as_str()))
            .filter(|id| !updated.iter().any(|u| u == id))
            .collect();
        old.sort();
        let mut parts = Vec::new();
        if !updated.is_empty() {
            parts.push(format!(
                "machine(s) {} on the new image{}",
                updated.join(", "),
                if cut_short {
                    " (the last not verified)"
                } else {
                    ""
                }
            ));
        }
        if !old.is_empty() {
            parts.push(format!("{} on the old one", old.join(", ")));
        }
        let signal = self
            .api
            .cancel
            .signal()
            .unwrap_or_else(|| "a signal".into());
        if updated.is_empty() {
            return ProviderError::Cancelled(format!(
                "cancelled by {signal} before wave {}/{waves}: no machine was changed",
                (wave + 1).min(waves)
            ));
        }
        ProviderError::Cancelled(format!(
            "cancelled by {signal} at wave {}/{waves}: {}",
            (wave + 1).min(waves),
            parts.join("; ")
        ))
    }

    async fn update_one(&self, m: &Machine, verify: bool) -> Result<(), ProviderError> {
        let lease = LeaseGuard::acquire(self.api, &m.id, self.tuning, self.console).await?;
        let result = self.update_leased(&m.id, lease.nonce(), verify).await;
        if let Err(e) = lease.release().await {
            self.console.warn(format!(
                "could not release the lease on machine {}: {e}",
                m.id
            ));
        }
        result
    }

    async fn update_leased(
        &self,
        id: &str,
        nonce: &str,
        verify: bool,
    ) -> Result<(), ProviderError> {
        let current = self.api.get_machine(id).await?;
        let was_running = current.should_run();
        lock(&self.snapshots).push(Snapshot {
            id: id.to_string(),
            region: current.region.clone(),
            version: current.version().to_string(),
            image: current.image().to_string(),
            config: current.config.clone(),
            was_running,
        });
        let config = self.desired.config_for(&current.config)?;
        let since = now_ms();
        let update = self
            .api
            .update(id, &config, current.version(), Some(nonce), !was_running)
            .await;
        let new = match update {
            Ok(m) => m,
            Err(e) if is_conflict(&e) => {
                // A retried POST whose first copy landed answers 409: check before failing.
                let now = self.api.get_machine(id).await?;
                if now.version() != current.version() && now.config == config {
                    now
                } else {
                    return Err(failed(format!(
                        "machine {id} changed while we held its lease (version {} is stale): {e}",
                        current.version()
                    )));
                }
            }
            Err(e) => return Err(e),
        };
        lock(&self.updated).push(Updated {
            id: id.to_string(),
            region: current.region.clone(),
            old_version: current.version().to_string(),
            new_version: new.version().to_string(),
        });
        self.desired.observe(&new)?;
        if verify && was_running {
            self.verify(id, new.version(), since).await?;
        }
        Ok(())
    }

    /// Wait for `started` at `version`, then for the checks; fail fast on `failed` and
    /// restart loops instead of waiting out the timeout (superfly/flyctl#2653).
    pub(crate) async fn verify(
        &self,
        id: &str,
        version: &str,
        since_ms: i64,
    ) -> Result<(), ProviderError> {
        self.verify_image(id, version, since_ms, &self.image).await
    }

    /// [`Rollout::verify`] for a machine that should run `image`.
    async fn verify_image(
        &self,
        id: &str,
        version: &str,
        since_ms: i64,
        image: &str,
    ) -> Result<(), ProviderError> {
        let deadline = self.machine_deadline();
        let reached = self
            .api
            .wait(
                id,
                "started,failed",
                Some(version),
                deadline,
                self.tuning.poll,
            )
            .await?;
        match reached.as_deref() {
            Some("started") => {}
            Some(state) => {
                return Err(failed(format!(
                    "machine {id} went `{state}` with {}; stopping the deploy",
                    image
                )))
            }
            None => {
                return Err(failed(format!(
                    "timeout reached waiting for machine {id} to start at version {version} \
                     (waited {}); raise fly.wait-timeout if it needs longer",
                    humantime::format_duration(self.wait_timeout)
                )))
            }
        }
        loop {
            let m = self.api.get_machine(id).await?;
            if m.state == "failed" {
                return Err(failed(format!(
                    "machine {id} failed after starting with {}",
                    image
                )));
            }
            let exits = m.exits_since(since_ms);
            if exits >= self.tuning.restart_exits {
                return Err(failed(format!(
                    "machine {id} is restart-looping ({exits} exits since the update to {}); stopping the deploy",
                    image
                )));
            }
            if !m.has_checks() {
                return Ok(());
            }
            if !m.checks.is_empty() && m.checks.iter().all(|c| c.status == "passing") {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let states: Vec<String> = m
                    .checks
                    .iter()
                    .map(|c| format!("{} {} ({})", c.name, c.status, c.output))
                    .collect();
                return Err(failed(format!(
                    "the checks of machine {id} did not pass within {}: {}",
                    humantime::format_duration(self.wait_timeout),
                    states.join("; ")
                )));
            }
            tokio::time::sleep(self.tuning.poll).await;
        }
    }

    /// Put machines back as the snapshots describe, each under its own lease, and verify each
    /// ends as it was before the deploy: a machine that ran is started and passing its checks,
    /// a stopped one stays stopped. One machine failing does not stop the others.
    pub(crate) async fn restore(&self, snapshots: &[Snapshot]) -> RestoreReport {
        let mut report = RestoreReport::default();
        for s in snapshots {
            match self.restore_one(s).await {
                Ok(true) => report.restored.push(s.id.clone()),
                Ok(false) => report.unchanged.push(s.id.clone()),
                Err(e) => {
                    let runs_now = match self.api.get_machine(&s.id).await {
                        Ok(m) => format!("{} ({})", m.image(), m.state),
                        Err(_) => "unknown: the machine could not be read".to_string(),
                    };
                    self.console.error(format!(
                        "machine {} {} to {}: {e}; it runs {runs_now}",
                        s.id,
                        crate::providers::NOT_RESTORED,
                        s.image
                    ));
                    report.not_restored.push(NotRestored {
                        id: s.id.clone(),
                        wanted: s.image.clone(),
                        why: e.to_string(),
                        runs_now,
                    });
                }
            }
        }
        report
    }

    async fn restore_one(&self, s: &Snapshot) -> Result<bool, ProviderError> {
        let lease = LeaseGuard::acquire(self.api, &s.id, self.tuning, self.console).await?;
        let result = self.restore_leased(s, lease.nonce()).await;
        if let Err(e) = lease.release().await {
            self.console.warn(format!(
                "could not release the lease on machine {}: {e}",
                s.id
            ));
        }
        result
    }

    async fn restore_leased(&self, s: &Snapshot, nonce: &str) -> Result<bool, ProviderError> {
        let current = self.api.get_machine(&s.id).await?;
        let on_snapshot = current.version() == s.version || current.config == s.config;
        let in_state = current.is_running() == s.was_running && current.state != "failed";
        if on_snapshot && in_state {
            return Ok(false); // never changed, or already back
        }
        let since = now_ms();
        let version = if on_snapshot {
            // The right config, in the wrong state (left stopped or failed): start it.
            if s.was_running {
                self.api.start(&s.id, Some(nonce)).await?;
            }
            current.version().to_string()
        } else {
            let m = self
                .api
                .update(
                    &s.id,
                    &s.config,
                    current.version(),
                    Some(nonce),
                    !s.was_running,
                )
                .await?;
            m.version().to_string()
        };
        if s.was_running {
            self.verify_image(&s.id, &version, since, &s.image).await?;
        }
        Ok(true)
    }
}

/// What a restore did, machine by machine.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct RestoreReport {
    pub restored: Vec<String>,
    /// Still as they were before the deploy: nothing to do.
    pub unchanged: Vec<String>,
    pub not_restored: Vec<NotRestored>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct NotRestored {
    pub id: String,
    pub wanted: String,
    pub why: String,
    /// Image and state the machine has now.
    pub runs_now: String,
}

impl RestoreReport {
    pub(crate) fn is_complete(&self) -> bool {
        self.not_restored.is_empty()
    }

    /// `NOT restored 1 machine(s): c (wanted img:v1; runs img:v2 (failed)): why; restored 2
    /// machine(s) to img:v1: a, b` — what is still broken first, as GitHub keeps 140 characters.
    pub(crate) fn describe(&self, images: &[&str]) -> String {
        let mut parts = Vec::new();
        if !self.not_restored.is_empty() {
            let bad: Vec<String> = self
                .not_restored
                .iter()
                .map(|n| {
                    format!(
                        "{} (wanted {}; runs {}): {}",
                        n.id, n.wanted, n.runs_now, n.why
                    )
                })
                .collect();
            parts.push(format!(
                "{} {} machine(s): {}",
                crate::providers::NOT_RESTORED,
                bad.len(),
                bad.join("; ")
            ));
        }
        if !self.restored.is_empty() {
            parts.push(format!(
                "restored {} machine(s) to {}: {}",
                self.restored.len(),
                images.join(", "),
                self.restored.join(", ")
            ));
        }
        if parts.is_empty() {
            return "nothing to restore: no machine had changed".to_string();
        }
        parts.join("; ")
    }

    /// `machine=outcome` pairs for outputs and the summary.
    pub(crate) fn per_machine(&self) -> String {
        let mut rows: Vec<String> = Vec::new();
        rows.extend(self.restored.iter().map(|id| format!("{id}=restored")));
        rows.extend(self.unchanged.iter().map(|id| format!("{id}=unchanged")));
        rows.extend(
            self.not_restored
                .iter()
                .map(|n| format!("{}=NOT-restored", n.id)),
        );
        rows.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(id: &str, group: &str, state: &str) -> Machine {
        serde_json::from_value(json!({
            "id": id, "state": state,
            "config": {"image": "i:1", "metadata": {"fly_process_group": group}}
        }))
        .expect("machine")
    }

    fn ids(waves: &[Wave]) -> Vec<(Vec<&str>, bool)> {
        waves
            .iter()
            .map(|w| (w.machines.iter().map(|m| m.id.as_str()).collect(), w.verify))
            .collect()
    }

    #[test]
    fn wave_size_is_a_fraction_or_a_count() {
        assert_eq!(wave_size(10, 0.33), 4);
        assert_eq!(wave_size(3, 0.33), 1);
        assert_eq!(wave_size(10, 2.0), 2);
        assert_eq!(wave_size(0, 0.5), 1);
    }

    #[test]
    fn rolling_sends_a_spearhead_per_group_then_waves() {
        let ms = [
            m("e", "app", "started"),
            m("a", "app", "started"),
            m("c", "app", "started"),
            m("d", "app", "stopped"),
            m("b", "app", "started"),
            m("w", "worker", "started"),
        ];
        let waves = plan_waves(FlyStrategy::Rolling, &ms, 0.5);
        assert_eq!(
            ids(&waves),
            vec![
                (vec!["d"], false),
                (vec!["a"], true),
                (vec!["b", "c"], true),
                (vec!["e"], true),
                (vec!["w"], true),
            ]
        );
    }

    #[test]
    fn canary_sends_one_machine_of_the_app_alone_first() {
        let ms = [
            m("a", "app", "stopped"),
            m("b", "app", "started"),
            m("c", "app", "started"),
            m("w", "worker", "started"),
        ];
        let waves = plan_waves(FlyStrategy::Canary, &ms, 2.0);
        assert_eq!(
            ids(&waves),
            vec![
                (vec!["b"], true),
                (vec!["a"], false),
                (vec!["c"], true),
                (vec!["w"], true)
            ]
        );
    }

    #[test]
    fn immediate_is_one_unverified_wave() {
        let ms = [m("b", "app", "started"), m("a", "worker", "stopped")];
        assert_eq!(
            ids(&plan_waves(FlyStrategy::Immediate, &ms, 0.33)),
            vec![(vec!["a", "b"], false)]
        );
    }
}
