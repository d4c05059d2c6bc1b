//! The Machines-API deploy, in order: plan (which machines change, which groups get a first
//! machine, which machines go) → release command → in-place updates in waves (or bluegreen) →
//! first machines of new groups → machines of removed groups destroyed. Nothing after a
//! failure runs; a failure restores what was changed and destroys what was created.

use super::api::{is_flyctl_group, Api, Machine};
use super::create;
use super::desired::{with_image, Desired};
use super::groups::{self, GroupPlan};
use super::release_command::{self, ReleaseCommand, ReleaseRun};
use super::rollout::{failed, plan_waves, Rollout, Snapshot};
use super::{
    bluegreen, dedup, describe_updates, list_or_explain, rollback_point, FlyProvider, Settings,
};
use crate::appconfig::release_guest;
use crate::artifact::ImageName;
use crate::config::FlyStrategy;
use crate::providers::{DeployOutcome, DeployRequest, ProviderError, Restore};
use serde_json::Value;
use std::sync::Mutex;
use std::time::{Duration, Instant};

impl FlyProvider {
    /// The machines a rollback may touch: not destroyed, in the configured process groups,
    /// not flyctl's ephemeral ones.
    pub(super) fn targets(&self, machines: Vec<Machine>) -> Vec<Machine> {
        machines
            .into_iter()
            .filter(|m| m.state != "destroyed" && m.state != "destroying")
            .filter(|m| !is_flyctl_group(m.group()))
            .filter(|m| {
                self.config.process_groups.is_empty()
                    || self.config.process_groups.iter().any(|g| g == m.group())
            })
            .collect()
    }

    pub(super) async fn deploy_machines(
        &self,
        s: &Settings,
        image: &str,
        req: &DeployRequest,
    ) -> Result<DeployOutcome, ProviderError> {
        let started = Instant::now();
        let token = self.token()?;
        // Every call of the deploy is bounded by its deadline (retries included).
        let api = Api::new(self.deps.http.clone(), &s.base, &s.app, &token)
            .with_cancel(&self.deps.cancel)
            .with_lease_owner(self.deps.run_url.clone())
            .with_min_secrets_version(req.min_secrets_version)
            .until(req.deadline);
        let machines = list_or_explain(&api).await?;
        let desired = Desired::new(image, s.toml.clone()).with_labels(req.labels.clone());
        let plan = groups::plan(machines.clone(), &desired, &self.config.process_groups)?;
        if plan.update.is_empty() && plan.current.is_empty() && plan.create.is_empty() {
            return Err(ProviderError::Config(format!(
                "app {} has no machines{} to update, and without `fly.config` (the environment's \
                 fly.toml) stage-gate cannot create them: set `fly.config`",
                s.app,
                if self.config.process_groups.is_empty() {
                    String::new()
                } else {
                    format!(" in process groups {:?}", self.config.process_groups)
                }
            )));
        }
        self.deps.console.info(describe_plan(&plan));
        if plan.changes_nothing() {
            return Ok(self.unchanged(s, image, &plan, started));
        }
        let release = self.release_command(&api, s, &desired, &machines).await?;

        let rollout = Rollout::new(
            &api,
            &self.tuning,
            &self.deps.console,
            desired.clone(),
            s.wait_timeout,
            req.deadline,
        );
        let result = match s.strategy {
            _ if plan.update.is_empty() => Ok(Vec::new()),
            FlyStrategy::Bluegreen => bluegreen::deploy(&rollout, &plan.update).await,
            strategy => {
                let waves = plan_waves(strategy, &plan.update, s.max_unavailable);
                rollout.run(&waves).await.map(|()| rollout.updated())
            }
        };
        let mut updated = match result {
            Ok(u) => u,
            Err(e) if s.strategy == FlyStrategy::Bluegreen => return Err(e),
            // Cancelled: nothing new, not even a restore; the error says what runs where.
            Err(e @ ProviderError::Cancelled(_)) => return Err(e),
            Err(e) => {
                return Err(self
                    .fail_and_restore(&api, &rollout.snapshots(), &[], e, req, s)
                    .await)
            }
        };
        let made = Mutex::new(Vec::new());
        if !plan.create.is_empty() {
            let toml = s
                .toml
                .as_deref()
                .ok_or_else(|| ProviderError::Config("no fly.toml".into()))?;
            let guest = default_guest(&machines);
            let verify = s.strategy != FlyStrategy::Immediate;
            match create::first_machines(
                &rollout,
                toml,
                &plan.create,
                guest.as_ref(),
                verify,
                &made,
            )
            .await
            {
                Ok(c) => updated.extend(c.machines),
                Err(e) => {
                    let created = made.lock().map(|m| m.clone()).unwrap_or_default();
                    return Err(self
                        .fail_and_restore(&api, &rollout.snapshots(), &created, e, req, s)
                        .await);
                }
            }
        }
        let destroyed = self.destroy_removed(&api, &plan.destroy).await?;

        let snapshots = rollout.snapshots();
        let mut details = vec![
            ("strategy".to_string(), s.strategy.name().to_string()),
            ("machines".to_string(), describe_updates(&updated)),
            (
                "duration".to_string(),
                format!("{:.1}s", started.elapsed().as_secs_f64()),
            ),
        ];
        if !plan.current.is_empty() {
            let ids: Vec<&str> = plan.current.iter().map(|m| m.id.as_str()).collect();
            details.push(("already-current".into(), ids.join(", ")));
        }
        if !destroyed.is_empty() {
            details.push(("destroyed".into(), destroyed.join(", ")));
        }
        if let Some(r) = &release {
            details.push((
                "release-command".into(),
                format!(
                    "exit {} on machine {} ({:.1}s)",
                    r.exit_code,
                    r.machine,
                    r.took.as_secs_f64()
                ),
            ));
        }
        if let Some(tag) = ImageName::parse(image).tag {
            details.push(("tag".into(), tag));
        }
        Ok(DeployOutcome {
            provider_ids: updated.iter().map(|u| u.id.clone()).collect(),
            image: Some(desired.artifact().unwrap_or_else(|| image.to_string())),
            version: None,
            rollback_point: Some(rollback_point(&s.app, &snapshots, &plan.update)),
            details,
        })
    }

    /// A re-run of a deploy that already happened: every machine runs this config.
    fn unchanged(
        &self,
        s: &Settings,
        image: &str,
        plan: &GroupPlan,
        started: Instant,
    ) -> DeployOutcome {
        let ids: Vec<&str> = plan.current.iter().map(|m| m.id.as_str()).collect();
        let ran = match running_artifact(&plan.current) {
            Ok(Some(a)) => a,
            Ok(None) => image.to_string(),
            Err(split) => {
                self.deps.console.warn(format!(
                    "the machines of {} run more than one image: {split}",
                    s.app
                ));
                image.to_string()
            }
        };
        DeployOutcome {
            provider_ids: Vec::new(),
            image: Some(ran),
            version: None,
            rollback_point: Some(rollback_point(&s.app, &[], &plan.current)),
            details: vec![
                ("strategy".into(), s.strategy.name().into()),
                (
                    "machines".into(),
                    format!(
                        "none changed: {} machine(s) already run this config and image",
                        ids.len()
                    ),
                ),
                ("already-current".into(), ids.join(", ")),
                (
                    "duration".into(),
                    format!("{:.1}s", started.elapsed().as_secs_f64()),
                ),
            ],
        }
    }

    /// Run fly.toml's `release_command`, when it has one, before anything changes.
    async fn release_command(
        &self,
        api: &Api,
        s: &Settings,
        desired: &Desired,
        machines: &[Machine],
    ) -> Result<Option<ReleaseRun>, ProviderError> {
        let Some(toml) = s.toml.as_deref() else {
            return Ok(None);
        };
        let Some(command) = toml.release_command() else {
            return Ok(None);
        };
        let body = release_body(toml, &desired.image(), machines)?;
        let timeout = toml
            .release_command_timeout()
            .map_err(|e| ProviderError::Config(format!("fly.toml: {e}")))?;
        ReleaseCommand {
            api,
            desired,
            tuning: &self.tuning,
            console: &self.deps.console,
            command,
            timeout,
            wait_timeout: s.wait_timeout,
        }
        .run(&body)
        .await
        .map(Some)
    }

    /// Destroy the machines of groups fly.toml no longer defines; each failure is named.
    async fn destroy_removed(
        &self,
        api: &Api,
        machines: &[Machine],
    ) -> Result<Vec<String>, ProviderError> {
        let mut done = Vec::new();
        let mut problems = Vec::new();
        for m in machines {
            self.deps.console.info(format!(
                "destroying machine {} of process group `{}` (no longer in fly.toml)",
                m.id,
                m.group()
            ));
            match api.destroy(&m.id, None).await {
                Ok(()) => done.push(m.id.clone()),
                Err(e) => {
                    self.deps
                        .console
                        .error(format!("machine {} was NOT destroyed: {e}", m.id));
                    problems.push(format!("{} ({}): {e}", m.id, m.group()));
                }
            }
        }
        if !problems.is_empty() {
            return Err(failed(format!(
                "the new config is deployed, but {} machine(s) of removed process groups were NOT \
                 destroyed: {}; destroy them with `fly machine destroy --force <id>`",
                problems.len(),
                problems.join("; ")
            )));
        }
        Ok(done)
    }

    /// On failure, put back every machine the deploy touched and destroy the machines it
    /// created (when the target asks for it), and say per machine what happened. The restore
    /// has a budget of its own: the deploy's deadline may be what failed it.
    async fn fail_and_restore(
        &self,
        api: &Api,
        snapshots: &[Snapshot],
        created: &[String],
        e: ProviderError,
        req: &DeployRequest,
        s: &Settings,
    ) -> ProviderError {
        if !req.target.rollback_on_failure || (snapshots.is_empty() && created.is_empty()) {
            return e;
        }
        self.deps.console.warn(format!(
            "deploy failed ({e}); restoring {} machine(s){}",
            snapshots.len(),
            if created.is_empty() {
                String::new()
            } else {
                format!(", destroying {} new one(s)", created.len())
            }
        ));
        let budget = self.restore_budget(snapshots.len() + created.len(), s.wait_timeout);
        let restore_api = api.for_cleanup(budget);
        let mut notes = Vec::new();
        let mut left = Vec::new();
        for id in created {
            match restore_api.destroy(id, None).await {
                Ok(()) => notes.push(format!("destroyed new machine {id}")),
                Err(err) => {
                    self.deps
                        .console
                        .error(format!("new machine {id} was NOT destroyed: {err}"));
                    notes.push(format!("new machine {id} NOT destroyed: {err}"));
                    left.push(id.clone());
                }
            }
        }
        if !snapshots.is_empty() {
            let rollout = Rollout::new(
                &restore_api,
                &self.tuning,
                &self.deps.console,
                Desired::new("", None),
                s.wait_timeout,
                Instant::now() + budget,
            );
            let report = rollout.restore(snapshots).await;
            let images: Vec<&str> = dedup(snapshots.iter().map(|s| s.image.as_str()));
            notes.insert(0, report.describe(&images));
            left.extend(report.not_restored.iter().map(|n| n.id.clone()));
        }
        let (message, log_excerpt) = match e {
            ProviderError::Failed {
                message,
                log_excerpt,
                ..
            } => (message, log_excerpt),
            other => (other.to_string(), None),
        };
        ProviderError::Failed {
            message,
            rolled_back: Some(Restore::from_parts(notes.join("; "), left)),
            log_excerpt,
        }
    }

    /// Time a restore of `machines` may take: each machine's wait, plus a little for the
    /// calls around it. Restores run one machine at a time.
    pub(super) fn restore_budget(&self, machines: usize, wait: Duration) -> Duration {
        wait * machines.max(1) as u32 + Duration::from_secs(10)
    }
}

/// The release machine's `CreateMachineRequest`: fly.toml's release config, the new image,
/// the guest of `release_command_vm` or else the default group's biggest guest.
pub(crate) fn release_body(
    toml: &crate::appconfig::AppConfig,
    image: &str,
    machines: &[Machine],
) -> Result<Value, ProviderError> {
    let config = toml
        .release_machine_config()
        .map_err(|e| ProviderError::Config(format!("fly.toml: {e}")))?
        .ok_or_else(|| ProviderError::Config("fly.toml has no release_command".into()))?;
    let mut config = with_image(&config, image);
    if config.get("guest").is_none() {
        let group = toml.default_process();
        let guests: Vec<&Value> = machines
            .iter()
            .filter(|m| m.group() == group && m.config["guest"].is_object())
            .map(|m| &m.config["guest"])
            .collect();
        config["guest"] = release_guest(&guests);
        if let Some(hdid) = &toml.host_dedication_id {
            config["guest"]["host_dedication_id"] = hdid.clone().into();
        }
    }
    Ok(release_command::create_body(&config, toml))
}

/// The guest a new group's machine gets when fly.toml has no `[[vm]]` for it: that of an
/// existing machine (as flyctl reuses the app's), else Fly's default.
fn default_guest(machines: &[Machine]) -> Option<Value> {
    machines
        .iter()
        .filter(|m| !is_flyctl_group(m.group()) && m.state != "destroyed")
        .map(|m| m.config["guest"].clone())
        .find(Value::is_object)
}

/// "plan: update 2 machine(s); create a first machine for worker; destroy 1 machine(s) of
/// removed groups: m9 (old); 1 unchanged"
pub(crate) fn describe_plan(p: &GroupPlan) -> String {
    let mut parts = Vec::new();
    if !p.update.is_empty() {
        parts.push(format!("update {} machine(s)", p.update.len()));
    }
    if !p.create.is_empty() {
        parts.push(format!(
            "create a first machine for group(s) {}",
            p.create.join(", ")
        ));
    }
    if !p.destroy.is_empty() {
        let ids: Vec<String> = p
            .destroy
            .iter()
            .map(|m| format!("{} ({})", m.id, m.group()))
            .collect();
        parts.push(format!(
            "destroy {} machine(s) of process groups fly.toml no longer defines: {}",
            p.destroy.len(),
            ids.join(", ")
        ));
    }
    if !p.current.is_empty() {
        parts.push(format!("{} machine(s) already current", p.current.len()));
    }
    if parts.is_empty() {
        return "plan: nothing to do".into();
    }
    format!("plan: {}", parts.join("; "))
}

/// The one artifact (`registry/repository@sha256:…`) that `machines` run, as Fly resolved
/// it; None when Fly reported no digest; an error listing each when they differ.
pub(crate) fn running_artifact(machines: &[Machine]) -> Result<Option<String>, String> {
    let mut seen: Vec<(String, Vec<&str>)> = Vec::new();
    for m in machines {
        let Some(pinned) = m.image_ref.as_ref().and_then(|r| r.pinned()) else {
            continue;
        };
        match seen.iter_mut().find(|(p, _)| *p == pinned) {
            Some((_, ids)) => ids.push(&m.id),
            None => seen.push((pinned, vec![&m.id])),
        }
    }
    match seen.len() {
        0 => Ok(None),
        1 => Ok(seen.pop().map(|(p, _)| p)),
        _ => Err(seen
            .iter()
            .map(|(p, ids)| format!("{p} on {}", ids.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")),
    }
}
