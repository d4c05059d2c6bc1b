//! `stage-gate rollback` for Fly: what each machine goes back to (an image named by the user,
//! the deploy's rollback point read through `/versions`, or each machine's previous image),
//! restored under leases like a deploy. Secrets are not rolled back, and it says so.

use super::api::{Api, Machine};
use super::desired::{with_image, Desired};
use super::rollout::{Rollout, Snapshot};
use super::{dedup, list_or_explain, FlyProvider};
use crate::providers::{ProviderError, RollbackOutcome, RollbackRequest};
use std::collections::BTreeMap;
use std::time::Instant;

impl FlyProvider {
    /// The calls [`FlyProvider::roll_back`] would make, in order.
    pub(super) fn plan_rollback(&self, req: &RollbackRequest) -> Vec<String> {
        let s = match self.settings(None) {
            Ok(s) => s,
            Err(e) => return vec![format!("(cannot plan the fly rollback: {e})")],
        };
        let m = format!(
            "{}/v1/apps/{}/machines",
            s.base.trim_end_matches('/'),
            s.app
        );
        let recorded = req
            .point
            .as_ref()
            .and_then(|p| p["machines"].as_array())
            .is_some_and(|ms| !ms.is_empty());
        let point_image = req.point.as_ref().and_then(|p| p["image"].as_str());
        let mut calls = vec![format!("GET {m}  (what each machine runs)")];
        let config = match (req.to.as_deref(), point_image) {
            (Some(image), _) => format!("its config with image={image}"),
            _ if recorded => {
                calls.push(format!(
                    "GET {m}/{{id}}/versions  (each machine's version recorded before the deploy being undone)"
                ));
                "that version's config".to_string()
            }
            (None, Some(image)) => format!("its config with image={image}"),
            (None, None) => {
                calls.push(format!(
                    "GET {m}/{{id}}/versions  (each machine's latest version with another image)"
                ));
                "that version's config".to_string()
            }
        };
        calls.extend([
            format!(
                "POST {m}/{{id}}/lease {{\"ttl\":{}}}  (one machine at a time; one already back is left alone)",
                self.tuning.lease_ttl
            ),
            format!("POST {m}/{{id}}  ({config})"),
            format!(
                "GET {m}/{{id}}/wait?state=started,failed&version={{v}}, then GET {m}/{{id}} until its checks pass  (machines that ran before; a stopped one stays stopped)"
            ),
            format!("DELETE {m}/{{id}}/lease"),
        ]);
        calls
    }

    pub(super) async fn roll_back(
        &self,
        req: &RollbackRequest,
    ) -> Result<RollbackOutcome, ProviderError> {
        self.deps.console.warn(
            "rolling back restores machine configs and images only: Fly secrets changed since \
             are NOT rolled back",
        );
        let s = self.settings(None)?;
        let token = self.token()?;
        let api = Api::new(self.deps.http.clone(), &s.base, &s.app, &token)
            .with_cancel(&self.deps.cancel)
            .with_lease_owner(self.deps.run_url.clone());
        let machines = self.targets(list_or_explain(&api).await?);
        let snapshots = restore_targets(&api, &machines, req).await?;
        if snapshots.is_empty() {
            return Err(ProviderError::Failed {
                message: format!(
                    "nothing to roll back to for app {}: no earlier version found",
                    s.app
                ),
                rolled_back: None,
                log_excerpt: None,
            });
        }
        let budget = self.restore_budget(snapshots.len(), self.config.wait_timeout);
        let deadline = Instant::now() + budget;
        let api = api.until(deadline);
        let rollout = Rollout::new(
            &api,
            &self.tuning,
            &self.deps.console,
            Desired::new("", None),
            self.config.wait_timeout,
            deadline,
        );
        let report = rollout.restore(&snapshots).await;
        let images = dedup(snapshots.iter().map(|s| s.image.as_str()));
        if !report.is_complete() {
            return Err(ProviderError::Failed {
                message: format!("rollback incomplete: {}", report.describe(&images)),
                rolled_back: None,
                log_excerpt: None,
            });
        }
        let back = report.restored.len() + report.unchanged.len();
        Ok(RollbackOutcome {
            restored: format!(
                "{back} machine(s) back to {}, running as before and verified",
                images.join(", ")
            ),
            details: vec![("machines".into(), report.per_machine())],
        })
    }
}

/// What each machine should go back to, as snapshots for `Rollout::restore`:
/// an image named by the user; else the rollback point's per-machine version (its config from
/// `/versions`); else each machine's most recent earlier version with a different image.
async fn restore_targets(
    api: &Api,
    machines: &[Machine],
    req: &RollbackRequest,
) -> Result<Vec<Snapshot>, ProviderError> {
    let point_versions: BTreeMap<String, String> = req
        .point
        .as_ref()
        .and_then(|p| p["machines"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|m| {
            Some((
                m["id"].as_str()?.to_string(),
                m["version"].as_str()?.to_string(),
            ))
        })
        .collect();
    // Whether each machine ran before the deploy being undone: read now, a crash-looping
    // machine is `failed`, which says nothing about whether it should run.
    let point_running: BTreeMap<String, bool> = req
        .point
        .as_ref()
        .and_then(|p| p["machines"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|m| Some((m["id"].as_str()?.to_string(), m["was_running"].as_bool()?)))
        .collect();
    let point_image = req
        .point
        .as_ref()
        .and_then(|p| p["image"].as_str())
        .map(str::to_string);
    let wanted_image = req.to.clone().or(point_image);
    let mut out = Vec::new();
    for m in machines {
        let target_config = match (&req.to, point_versions.get(&m.id)) {
            (Some(image), _) => Some(with_image(&m.config, image)),
            (None, Some(version)) => api
                .versions(&m.id)
                .await?
                .into_iter()
                .find(|v| &v.version == version)
                .map(|v| v.user_config)
                .or_else(|| wanted_image.as_ref().map(|i| with_image(&m.config, i))),
            (None, None) => match &wanted_image {
                Some(i) => Some(with_image(&m.config, i)),
                None => api
                    .versions(&m.id)
                    .await?
                    .into_iter()
                    .find(|v| {
                        v.user_config["image"]
                            .as_str()
                            .is_some_and(|i| i != m.image())
                    })
                    .map(|v| v.user_config),
            },
        };
        let Some(config) = target_config else {
            continue;
        };
        let was_running = point_running
            .get(&m.id)
            .copied()
            .unwrap_or_else(|| m.should_run());
        // Already on that config and in the state it should be in: nothing to do.
        if config == m.config && m.is_running() == was_running && m.state != "failed" {
            continue;
        }
        out.push(Snapshot {
            id: m.id.clone(),
            region: m.region.clone(),
            // The current version: `restore` skips machines still at their snapshot version,
            // so mark it as "changed" by giving a version the machine is not at.
            version: String::new(),
            image: config["image"].as_str().unwrap_or("").to_string(),
            config,
            was_running,
        });
    }
    Ok(out)
}
