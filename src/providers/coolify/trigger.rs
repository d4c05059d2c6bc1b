//! Starting Coolify deployments: the trigger URL, the queue-full wait, and finding the
//! deployment to follow when Coolify answers "already queued" without a uuid.

use super::api::{Api, QueueRow, Triggered};
use super::{failed, CoolifyProvider};
use crate::providers::ProviderError;
use std::time::{Duration, Instant};

/// How long a deploy call that timed out is looked for in the history before it is sent
/// again: Coolify may still be handling it.
const LATE_QUEUE_WINDOW: Duration = Duration::from_secs(30);
/// Between two looks.
const LATE_QUEUE_STEP: Duration = Duration::from_secs(2);

impl CoolifyProvider {
    /// The URL that starts the deployment(s) of `uuids` (all configured ones at first).
    pub(super) fn trigger_url(&self, base: &str, uuids: &[String]) -> String {
        if let Some(webhook) = &self.config.webhook {
            return webhook.clone();
        }
        let mut url = format!("{base}/deploy?");
        match &self.config.tag {
            Some(tag) if uuids.is_empty() => {
                url.push_str("tag=");
                url.extend(url::form_urlencoded::byte_serialize(tag.as_bytes()));
            }
            _ => url.push_str(&format!("uuid={}", uuids.join(","))),
        }
        url.push_str(&format!("&force={}", self.config.force));
        url
    }

    /// Start the deployment(s): wait out a full queue, adopt duplicates. Returns
    /// (application uuid or name, deployment uuid) pairs to follow.
    pub(super) async fn trigger(
        &self,
        api: &Api,
        deadline: Instant,
    ) -> Result<Vec<(String, String)>, ProviderError> {
        let api = &api.until(deadline);
        let mut pending = self.uuids();
        let mut followed = Vec::new();
        let mut looked_up = false;
        // Applications sent a second time, and when the first call went out.
        let mut resent: Vec<(String, chrono::DateTime<chrono::Utc>)> = Vec::new();
        loop {
            let url = self.trigger_url(&api.base, &pending);
            self.console.info(format!("coolify: POST {url}"));
            // Coolify's clock may run a little behind ours.
            let sent_at = chrono::Utc::now() - chrono::Duration::seconds(5);
            let entries = match api.trigger(&url).await {
                Ok(entries) => entries,
                Err(e) if e.is_ambiguous() && !looked_up && !pending.is_empty() => {
                    // The answer is lost, maybe after Coolify queued the deployment: look in
                    // each application's history before concluding, never repeat blindly. A
                    // call that timed out may still be running in Coolify: look for a while.
                    looked_up = true;
                    let timed_out = matches!(
                        &e,
                        crate::http::HttpError::Transport {
                            kind: crate::http::TransportKind::Timeout,
                            ..
                        }
                    );
                    let look_until = if timed_out {
                        (Instant::now() + LATE_QUEUE_WINDOW).min(deadline)
                    } else {
                        Instant::now()
                    };
                    let mut still = pending;
                    loop {
                        let mut missing = Vec::new();
                        for uuid in still {
                            match self.started_since(api, &uuid, sent_at).await? {
                                Some(row) => {
                                    self.console.warn(format!(
                                        "coolify: the deploy call's answer was lost ({e}), but \
                                         Coolify queued deployment {} of {uuid}; following it",
                                        row.deployment_uuid
                                    ));
                                    followed.push((uuid, row.deployment_uuid));
                                }
                                None => missing.push(uuid),
                            }
                        }
                        still = missing;
                        if still.is_empty() || Instant::now() >= look_until {
                            break;
                        }
                        tokio::time::sleep(self.config.poll_interval.min(LATE_QUEUE_STEP)).await;
                    }
                    if still.is_empty() {
                        return Ok(followed);
                    }
                    resent.extend(still.iter().map(|u| (u.clone(), sent_at)));
                    self.console.warn(format!(
                        "coolify: the deploy call failed ({e}) and Coolify's history shows no \
                         deployment of {} since; sending it once more",
                        still.join(", ")
                    ));
                    pending = still;
                    continue;
                }
                Err(e) if e.status() == Some(reqwest::StatusCode::TOO_MANY_REQUESTS) => {
                    let wait = Duration::from_secs(match &e {
                        crate::http::HttpError::Status { retry_after, .. } => {
                            retry_after.unwrap_or(60)
                        }
                        _ => 60,
                    });
                    // A multi-uuid call queues uuid by uuid and stops at the first that does
                    // not fit: adopt what it queued now, while it is surely still in flight,
                    // so the retry (with `force` too) never queues those twice.
                    let mut still = Vec::new();
                    if pending.len() > 1 {
                        for uuid in pending {
                            match self.in_flight(api, &uuid).await? {
                                Some(row) => followed.push((uuid, row.deployment_uuid)),
                                None => still.push(uuid),
                            }
                        }
                    } else {
                        still = pending;
                    }
                    if still.is_empty() && !followed.is_empty() {
                        return Ok(followed);
                    }
                    if Instant::now() + wait > deadline {
                        let queued = if followed.is_empty() {
                            "nothing was deployed".to_string()
                        } else {
                            format!(
                                "only {} got queued",
                                followed
                                    .iter()
                                    .map(|(app, _)| app.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        };
                        return Err(failed(format!(
                            "Coolify's deployment queue is full (429) and asks to retry in {}s, \
                             after this deploy's deadline; {queued}",
                            wait.as_secs()
                        )));
                    }
                    self.console.warn(format!(
                        "Coolify's deployment queue is full; retrying in {}s (Retry-After)",
                        wait.as_secs()
                    ));
                    tokio::time::sleep(wait).await;
                    pending = still;
                    continue;
                }
                Err(e) => return Err(api.explain(e, "deploy")),
            };
            for (i, entry) in entries.iter().enumerate() {
                let app = entry
                    .resource_uuid
                    .clone()
                    .or_else(|| entry.resource_name.clone())
                    .or_else(|| pending.get(i).cloned())
                    .unwrap_or_else(|| "?".into());
                followed.push((app.clone(), self.follow(api, &app, entry).await?));
            }
            if followed.is_empty() {
                return Err(failed("Coolify queued no deployment".into()));
            }
            self.cancel_late_duplicates(api, &resent, &followed).await;
            return Ok(followed);
        }
    }

    /// After a second send, the first call may still have queued a deployment (late): one
    /// deploy never leaves two, so each extra one is cancelled, and said.
    async fn cancel_late_duplicates(
        &self,
        api: &Api,
        resent: &[(String, chrono::DateTime<chrono::Utc>)],
        followed: &[(String, String)],
    ) {
        for (app, since) in resent {
            let Ok(history) = api.history(app, 10).await else {
                continue;
            };
            let extra = history.deployments.into_iter().filter(|r| {
                r.created_since(*since)
                    && !r.is_terminal()
                    && !followed.iter().any(|(_, u)| *u == r.deployment_uuid)
            });
            for row in extra {
                match api.cancel(&row.deployment_uuid).await {
                    Ok(_) => self.console.warn(format!(
                        "coolify: {app}: the first deploy call queued deployment {} after all; \
                         cancelled it (this deploy follows the second)",
                        row.deployment_uuid
                    )),
                    Err(e) => self.console.error(format!(
                        "coolify: {app}: the first deploy call queued deployment {} after all, \
                         and it could NOT be cancelled ({e}): two deployments of {app} run",
                        row.deployment_uuid
                    )),
                }
            }
        }
    }

    /// The deployment uuid to follow for one answer entry.
    pub(super) async fn follow(
        &self,
        api: &Api,
        app: &str,
        entry: &Triggered,
    ) -> Result<String, ProviderError> {
        if let Some(uuid) = &entry.deployment_uuid {
            return Ok(uuid.clone());
        }
        if entry.already_queued() {
            let row = match &entry.resource_name {
                Some(name) if entry.resource_uuid.is_none() => {
                    let running = api.running().await.map_err(|e| api.explain(e, "read"))?;
                    running
                        .into_iter()
                        .find(|r| r.application_name.as_deref() == Some(name.as_str()))
                }
                _ => self.in_flight(api, app).await?,
            };
            if let Some(row) = row {
                self.console.info(format!(
                    "coolify: {app}: a deployment of this commit is already {} ({}); following it",
                    row.status, row.deployment_uuid
                ));
                return Ok(row.deployment_uuid);
            }
            return Err(failed(format!(
                "Coolify says a deployment of {app} is already queued for this commit, but its \
                 history shows none in flight"
            )));
        }
        let msg = &entry.message;
        if msg.contains("not found") {
            Err(ProviderError::Config(format!(
                "Coolify did not deploy {app}: {msg} Check the uuid (it is in the resource's URL)."
            )))
        } else if msg.contains("Unauthorized") {
            Err(ProviderError::Auth(format!(
                "Coolify did not deploy {app}: {msg} The token's team must own the resource."
            )))
        } else {
            Err(failed(format!("Coolify did not deploy {app}: {msg}")))
        }
    }

    /// A deployment of `app` Coolify queued since `t`, from its history.
    async fn started_since(
        &self,
        api: &Api,
        app: &str,
        t: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<QueueRow>, ProviderError> {
        let history = api
            .history(app, 10)
            .await
            .map_err(|e| api.explain(e, "read"))?;
        Ok(history.deployments.into_iter().find(|r| r.created_since(t)))
    }

    /// The newest queued or running deployment of an application, from its history.
    async fn in_flight(&self, api: &Api, app: &str) -> Result<Option<QueueRow>, ProviderError> {
        let history = api
            .history(app, 10)
            .await
            .map_err(|e| api.explain(e, "read"))?;
        Ok(history.deployments.into_iter().find(QueueRow::is_active))
    }
}
