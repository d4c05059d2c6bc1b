//! One admitted target, step by step: record → deploy → verify (health, rollback) → retire
//! (success recorded, older deployments inactive) → notify. Each step is a method that ends
//! the run with its [`TargetResult`] when it cannot go on; the runner's cancel is checked
//! between steps in one place ([`Run::cancel_point`]).

use super::admit::Admitted;
use super::records::{self, StatusUpdate};
use super::stages::{StageState, Stages};
use super::{promotion, short, single_flight, Request, TargetResult, STATUS_BUDGET};
use crate::config::{EnvironmentPolicy, NotifyOn, Target};
use crate::context::Ctx;
use crate::exit::{Exit, Failure};
use crate::github::{DeploymentStatusState, GitHub};
use crate::health::GateReport;
use crate::providers::{DeployOutcome, DeployRequest, Provider, ProviderError, RollbackRequest};
use std::time::Instant;

/// A step that ends the run early carries the run's result.
type Step<T> = Result<T, Box<TargetResult>>;

pub(super) struct Run<'a> {
    ctx: &'a Ctx,
    /// The request with the image this target ships (the proven artifact on a promotion).
    req: Request,
    target: Target,
    provider: Box<dyn Provider>,
    /// GitHub bounded by the target's deadline.
    gh: Option<GitHub>,
    deploy: DeployRequest,
    stages: Stages,
    deployment_id: Option<u64>,
    outcome: Option<DeployOutcome>,
    health: Option<GateReport>,
    gate_override: Option<super::records::GateOverride>,
}

/// Run one admitted target to its end.
pub(super) async fn run(
    ctx: &Ctx,
    req: &Request,
    policy: &EnvironmentPolicy,
    admitted: Admitted,
    gh: Option<&GitHub>,
) -> TargetResult {
    let app = admitted.target.app.clone();
    let _group = ctx.console.group(format!("deploy {app} → {}", req.env));
    if req.gate_only {
        return TargetResult::passed(app, admitted.stages);
    }
    if ctx.dry_run {
        return super::dry_run::print(ctx, req, admitted, gh.is_some());
    }
    let mut run = Run::new(ctx, req, admitted, gh);
    match run.steps(policy).await {
        Ok(()) => run.result(None, None),
        Err(ended) => *ended,
    }
}

impl<'a> Run<'a> {
    fn new(ctx: &'a Ctx, req: &Request, admitted: Admitted, gh: Option<&GitHub>) -> Run<'a> {
        // The target's timeout bounds every call made for it from here: the record's GitHub
        // calls as much as the provider's. Outcome statuses get a budget of their own.
        let deadline = Instant::now() + admitted.target.timeout;
        let req = Request {
            image: admitted.image.clone(),
            ..req.clone()
        };
        let deploy = DeployRequest {
            target: admitted.target.clone(),
            sha: req.sha.clone(),
            version: req.version.clone(),
            image: admitted.image.clone(),
            deadline,
            labels: Vec::new(),
            min_secrets_version: None,
        };
        let mut stages = admitted.stages;
        if admitted.rebuild {
            stages.push(
                "artifact",
                StageState::Done,
                Instant::now(),
                "built anew (allow-rebuild): no artifact was recorded where it was proven".into(),
            );
        }
        Run {
            ctx,
            req,
            target: admitted.target,
            provider: admitted.provider,
            gh: gh.map(|g| g.until(deadline)),
            deploy,
            stages,
            deployment_id: None,
            outcome: None,
            health: None,
            gate_override: admitted.gate_override,
        }
    }

    async fn steps(&mut self, policy: &EnvironmentPolicy) -> Step<()> {
        self.record(policy).await?;
        self.cancel_point("before the deploy started: nothing was changed")
            .await?;
        self.deploy().await?;
        self.cancel_point(
            "after the deploy, before the health gate: the new version runs, unverified",
        )
        .await?;
        self.verify().await?;
        self.retire().await?;
        self.notify().await
    }

    /// The result as the run stands, ended by `failure` when there is one.
    fn result(&mut self, failure: Option<Failure>, rollback: Option<&'static str>) -> TargetResult {
        TargetResult {
            app: self.target.app.clone(),
            stages: std::mem::take(&mut self.stages),
            deployment_id: self.deployment_id,
            outcome: self.outcome.take(),
            health: self.health.take(),
            failure,
            rollback,
            proven: None,
        }
    }

    fn end(&mut self, failure: Failure, rollback: Option<&'static str>) -> Box<TargetResult> {
        Box::new(self.result(Some(failure), rollback))
    }

    /// Single-flight, then the Deployment record (queued).
    async fn record(&mut self, policy: &EnvironmentPolicy) -> Step<()> {
        let started = Instant::now();
        let Some(gh) = &self.gh else {
            self.ctx.console.info(
                "no GitHub token or repository: deploying without a GitHub Deployment record",
            );
            let detail = "no GitHub record".into();
            self.stages
                .push("record", StageState::Skipped, started, detail);
            return Ok(());
        };
        let opened = single_flight::open_record(
            self.ctx,
            &self.req,
            policy,
            &self.target,
            gh,
            self.provider.kind(),
            self.gate_override.take(),
        )
        .await;
        match opened {
            Ok((id, _)) => {
                self.deployment_id = Some(id);
                self.stages.push(
                    "record",
                    StageState::Done,
                    started,
                    format!("deployment {id}"),
                );
                Ok(())
            }
            Err(f) => {
                self.stages
                    .push("record", StageState::Failed, started, f.to_string());
                Err(self.end(f, None))
            }
        }
    }

    /// Post a status on the record, when there is one (a budget of its own).
    async fn status(
        &self,
        state: DeploymentStatusState,
        description: String,
    ) -> Result<(), Failure> {
        let (Some(gh), Some(id)) = (&self.gh, self.deployment_id) else {
            return Ok(());
        };
        let log_url = self.ctx.github.run_url();
        let u = StatusUpdate {
            state,
            description,
            log_url: log_url.as_deref(),
            environment_url: self.target.url.as_deref(),
        };
        records::set_status(&gh.for_cleanup(STATUS_BUDGET), id, u)
            .await
            .map_err(|e| Failure::new(Exit::Internal, e))
    }

    /// The one place the runner's cancel is looked at between steps: the record says why
    /// (status `error`, which no later run waits on), what is held is given back.
    async fn cancel_point(&mut self, what: &str) -> Step<()> {
        if !self.ctx.cancel.is_cancelled() {
            return Ok(());
        }
        Err(self.cancelled(what.to_string()).await)
    }

    async fn cancelled(&mut self, what: String) -> Box<TargetResult> {
        let signal = self
            .ctx
            .cancel
            .signal()
            .unwrap_or_else(|| "a signal".into());
        let message = if what.starts_with("cancelled") {
            what
        } else {
            format!("cancelled by {signal} {what}")
        };
        self.ctx.console.warn(&message);
        self.stages.push(
            "cancelled",
            StageState::Failed,
            Instant::now(),
            message.clone(),
        );
        if let Err(e) = self
            .status(DeploymentStatusState::Error, message.clone())
            .await
        {
            self.ctx.console.error(format!(
                "could not record the cancel on deployment {}: {e}; it counts as stale later",
                self.deployment_id.unwrap_or_default()
            ));
        }
        self.ctx.cancel.give_back_all(crate::cancel::GRACE).await;
        self.end(
            Failure::new(Exit::Cancelled, anyhow::anyhow!("{message}")),
            None,
        )
    }

    /// The provider's deploy (in progress recorded first).
    async fn deploy(&mut self) -> Step<()> {
        let started = Instant::now();
        let in_progress = format!("deploying {}", short(&self.req.sha));
        if let Err(f) = self
            .status(DeploymentStatusState::InProgress, in_progress)
            .await
        {
            return Err(self.end(f, None));
        }
        self.cancel_point("before the deploy started: nothing was changed")
            .await?;
        match self.provider.deploy(&self.deploy).await {
            Ok(o) => {
                self.stages
                    .push("deploy", StageState::Done, started, outcome_detail(&o));
                self.outcome = Some(o);
                Ok(())
            }
            Err(ProviderError::Cancelled(what)) => {
                self.stages
                    .push("deploy", StageState::Failed, started, what.clone());
                Err(self.cancelled(what).await)
            }
            Err(e) => {
                let state = if matches!(e, ProviderError::Failed { .. }) {
                    DeploymentStatusState::Failure
                } else {
                    DeploymentStatusState::Error
                };
                let rollback = e.restore_outcome();
                let description = failure_status(&e);
                let failure: Failure = e.into();
                self.stages
                    .push("deploy", StageState::Failed, started, failure.to_string());
                if rollback == Some("not-restored") {
                    self.ctx.console.error(format!(
                        "{}: the restore after the failed deploy is INCOMPLETE: {failure}",
                        self.target.app
                    ));
                }
                let _ = self.status(state, description).await;
                self.notify_failure().await;
                Err(self.end(failure, rollback))
            }
        }
    }

    /// The health gate, and a rollback when it fails and the target asks for one.
    async fn verify(&mut self) -> Step<()> {
        if self.req.skip_health || self.target.health.probes.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let vars = crate::health::Vars {
            app: self.target.app.clone(),
            env: self.req.env.clone(),
            version: self.req.version.clone(),
            sha: Some(self.req.sha.clone()),
        };
        let gate = crate::health::gate(&self.target.health, &vars, self.ctx.into());
        let report = tokio::select! {
            r = gate => r.map_err(|e| Failure::new(Exit::InvalidInput, e)),
            _ = self.ctx.cancel.cancelled() => {
                self.stages.push("health", StageState::Failed, started, "cancelled".into());
                let what = "during the health gate: the new version runs, not proven healthy";
                return Err(self.cancelled(what.into()).await);
            }
        };
        match report {
            Ok(r) if r.passed() => {
                self.stages
                    .push("health", StageState::Done, started, r.headline());
                self.health = Some(r);
                Ok(())
            }
            Ok(r) => {
                self.stages
                    .push("health", StageState::Failed, started, r.headline());
                let failed = format!("health gate failed: {}", r.headline());
                self.health = Some(r);
                let (message, short_status, rollback) = self.roll_back(failed).await;
                let _ = self
                    .status(DeploymentStatusState::Failure, short_status)
                    .await;
                self.notify_failure().await;
                Err(self.end(Failure::deploy(message), rollback))
            }
            Err(f) => {
                self.stages
                    .push("health", StageState::Failed, started, f.to_string());
                let why = format!("health gate could not run: {f}");
                let _ = self.status(DeploymentStatusState::Error, why).await;
                Err(self.end(f, None))
            }
        }
    }

    /// After a failed health gate: roll back when the target asks. Answers the failure
    /// message, the status (what was restored first: GitHub keeps 140 characters) and the
    /// `rollback` output.
    async fn roll_back(&mut self, failed: String) -> (String, String, Option<&'static str>) {
        if !self.target.rollback_on_failure {
            return (failed, "health gate failed".into(), None);
        }
        let started = Instant::now();
        let point = self.outcome.as_ref().and_then(|o| o.rollback_point.clone());
        let rb = self
            .provider
            .rollback(&RollbackRequest {
                target: self.target.clone(),
                point,
                to: None,
            })
            .await;
        match rb {
            Ok(done) => {
                self.stages
                    .push("rollback", StageState::Done, started, done.restored.clone());
                (
                    format!("{failed}; rolled back: {}", done.restored),
                    format!("rolled back: {}; health gate failed", done.restored),
                    Some("restored"),
                )
            }
            Err(e) => {
                self.stages
                    .push("rollback", StageState::Failed, started, e.to_string());
                self.ctx.console.error(format!(
                    "{}: rollback after the failed health gate FAILED: {e}",
                    self.target.app
                ));
                (
                    format!("{failed}; rollback FAILED: {e}"),
                    format!("rollback FAILED: {e}; health gate failed"),
                    Some("not-restored"),
                )
            }
        }
    }

    /// Success recorded, with the artifact that ran; the app's older deployments inactive.
    async fn retire(&mut self) -> Step<()> {
        let started = Instant::now();
        let what = self
            .req
            .version
            .clone()
            .unwrap_or_else(|| short(&self.req.sha).to_string());
        let ran = self.outcome.as_ref().and_then(|o| o.image.clone());
        let description = records::success_description(&what, ran.as_deref());
        if let Err(f) = self
            .status(DeploymentStatusState::Success, description)
            .await
        {
            return Err(self.end(f, None));
        }
        if let (Some(gh), Some(id)) = (&self.gh, self.deployment_id) {
            let gh = gh.for_cleanup(STATUS_BUDGET);
            if let Ok(entries) = records::history(&gh, &self.req.env, &self.target.app).await {
                let _ = records::inactivate_older(&gh, &entries, id).await;
            }
        }
        self.stages
            .push("recorded", StageState::Done, started, "success".into());
        Ok(())
    }

    async fn notify(&mut self) -> Step<()> {
        let started = Instant::now();
        let on = NotifyOn::outcome(promotion(self.ctx, &self.req), true);
        let sent = self.send(on).await;
        match sent {
            Ok(0) => Ok(()),
            Ok(n) => {
                self.stages
                    .push("notify", StageState::Done, started, format!("{n} sent"));
                Ok(())
            }
            Err(f) => {
                self.stages
                    .push("notify", StageState::Failed, started, f.to_string());
                Err(self.end(f, None))
            }
        }
    }

    async fn send(&self, on: NotifyOn) -> Result<usize, Failure> {
        crate::notify::after_deploy(
            self.ctx,
            &self.req.env,
            &self.target.app,
            &self.req.sha,
            self.req.version.as_deref(),
            on,
        )
        .await
    }

    /// Tell the configured receivers the deploy failed. The deploy's own failure is what the
    /// run reports, so a notification error here is only logged.
    async fn notify_failure(&self) {
        let on = NotifyOn::outcome(promotion(self.ctx, &self.req), false);
        if let Err(e) = self.send(on).await {
            self.ctx
                .console
                .warn(format!("failure notification not sent: {e}"));
        }
    }
}

/// The Deployment status of a failed deploy: what the restore left first (GitHub keeps 140
/// characters), then why the deploy failed.
fn failure_status(e: &ProviderError) -> String {
    match e {
        ProviderError::Cancelled(message) => message.clone(),
        ProviderError::Failed {
            message,
            rolled_back: Some(restore),
            ..
        } => format!("{}; deploy failed: {message}", restore.note()),
        other => format!("deploy failed: {other}"),
    }
}

fn outcome_detail(o: &DeployOutcome) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(image) = &o.image {
        parts.push(image.clone());
    }
    if !o.provider_ids.is_empty() {
        parts.push(o.provider_ids.join(", "));
    }
    parts.extend(o.details.iter().map(|(k, v)| format!("{k}: {v}")));
    parts.join("; ")
}
