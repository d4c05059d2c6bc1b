//! When a Coolify deploy fails: what we started is cancelled when time ran out or the runner
//! cancelled the step, the image tag a failed deploy set is put back, and every step of that
//! is told (what is still wrong first).

use super::api::{Api, QueueRow};
use super::{failed, CoolifyProvider};
use crate::providers::{DeployRequest, ProviderError, Restore};
use std::collections::BTreeMap;
use std::time::Duration;

/// The deadline passed while deployments were still open (and, when it cut one, the call
/// that was outstanding).
pub(super) fn deadline_failure(
    last: &BTreeMap<&str, QueueRow>,
    cut: Option<&crate::http::HttpError>,
) -> ProviderError {
    let open: Vec<String> = last
        .values()
        .filter(|r| !r.is_terminal())
        .map(|r| {
            format!(
                "{} is still {} ({})",
                r.deployment_uuid,
                r.status,
                r.deployment_url.as_deref().unwrap_or("see Coolify")
            )
        })
        .collect();
    let open = if open.is_empty() {
        "its status was never read".to_string()
    } else {
        open.join("; ")
    };
    let outstanding = cut
        .map(|e| format!(" The call outstanding when time ran out: {e}."))
        .unwrap_or_default();
    failed(format!(
        "the Coolify deployment did not finish before the deadline: {open}.{outstanding} It \
         keeps running in Coolify; cancel it there or raise `timeout`."
    ))
}

impl CoolifyProvider {
    /// Cancel the followed deployments that have not ended, and add what was done to `e`.
    pub(super) async fn cancel_open(
        &self,
        api: &Api,
        followed: &[(String, String)],
        e: ProviderError,
        live: &mut Vec<String>,
    ) -> ProviderError {
        let api = api.for_cleanup(Duration::from_secs(30));
        let mut done = Vec::new();
        let mut not = Vec::new();
        for (app, uuid) in followed {
            // No status read first (the reads may be what hung): Coolify answers 400 for a
            // deployment that already ended.
            match api.cancel(uuid).await {
                // It finished while we could not see it: the new version is live.
                Err(err)
                    if err.status() == Some(reqwest::StatusCode::BAD_REQUEST)
                        && err.body().is_some_and(|b| b.contains("finished")) =>
                {
                    self.console.error(format!(
                        "coolify: {app}: deployment {uuid} finished after the deadline: the new \
                         version is live although this deploy failed; roll back with \
                         `stage-gate rollback` if it must not be"
                    ));
                    not.push(format!(
                        "deployment {uuid} of {app} finished after the deadline and went live"
                    ));
                    live.push(app.clone());
                }
                // Failed or cancelled already: nothing of it runs.
                Err(err) if err.status() == Some(reqwest::StatusCode::BAD_REQUEST) => {}
                Ok(_) => {
                    self.console.warn(format!(
                        "coolify: {app}: cancelled deployment {uuid} (it would have gone live after the deploy failed)"
                    ));
                    done.push(uuid.clone());
                }
                Err(err) => {
                    self.console.error(format!(
                        "coolify: {app}: deployment {uuid} could NOT be cancelled and may still go live: {err}"
                    ));
                    not.push(format!("{uuid} could not be cancelled ({err})"));
                }
            }
        }
        let mut notes = Vec::new();
        if !not.is_empty() {
            notes.push(format!(
                "{}: {}",
                crate::providers::NOT_RESTORED,
                not.join("; ")
            ));
        }
        if !done.is_empty() {
            notes.push(format!(
                "cancelled deployment(s) {} in Coolify",
                done.join(", ")
            ));
        }
        let left = followed
            .iter()
            .filter(|(_, u)| not.iter().any(|n| n.starts_with(u.as_str())))
            .map(|(app, _)| app.clone())
            .collect();
        add_note(e, notes, left)
    }

    /// A deploy that set the image tag failed: put the previous tag back when the target asks
    /// for rollback (Coolify keeps the last good container running, but its next restart or
    /// redeploy would run the failed tag), and say so; else say loudly what the tag names.
    pub(super) async fn after_failed_tag(
        &self,
        api: &Api,
        point: &serde_json::Value,
        tag: &str,
        patched: &[String],
        e: ProviderError,
        req: &DeployRequest,
    ) -> ProviderError {
        // Whatever failed after the tag was set, the tag must not stay on the failed image.
        let mut put_back = Vec::new();
        let mut not = Vec::new();
        let mut left: Vec<String> = Vec::new();
        if req.target.rollback_on_failure {
            let api = api.for_cleanup(Duration::from_secs(30));
            for uuid in patched {
                let Some(previous) = point["apps"][uuid]["ref"].as_str() else {
                    left.push(uuid.clone());
                    not.push(format!(
                        "{uuid}: its image tag still names {tag} (no earlier tag was recorded)"
                    ));
                    continue;
                };
                match api.set_image_tag(uuid, previous).await {
                    Ok(()) => put_back.push(format!("{uuid} → {previous}")),
                    Err(err) => {
                        left.push(uuid.clone());
                        not.push(format!("{uuid}: its image tag still names {tag} ({err})"))
                    }
                }
            }
        } else {
            left.extend(patched.iter().cloned());
            not.extend(patched.iter().map(|u| {
                format!(
                    "{u}: its image tag still names {tag} (rollback-on-failure is off); \
                     Coolify's next restart of it runs that image"
                )
            }));
        }
        let mut parts = Vec::new();
        if !not.is_empty() {
            for n in &not {
                self.console
                    .error(format!("coolify: {} {n}", crate::providers::NOT_RESTORED));
            }
            parts.push(format!(
                "{}: {}",
                crate::providers::NOT_RESTORED,
                not.join("; ")
            ));
        }
        if !put_back.is_empty() {
            self.console.warn(format!(
                "coolify: image tag put back: {}",
                put_back.join(", ")
            ));
            parts.push(format!(
                "restored the image tag: {} (the last good deployment keeps running)",
                put_back.join(", ")
            ));
        }
        add_note(e, parts, left)
    }
}

/// `e` as a failure whose restore also says `notes` (what is still wrong first), with
/// `left` the applications not put back; a cancel stays a cancel, its message extended.
fn add_note(e: ProviderError, notes: Vec<String>, left: Vec<String>) -> ProviderError {
    if notes.is_empty() {
        return e;
    }
    if let ProviderError::Cancelled(message) = e {
        return ProviderError::Cancelled(format!("{message}; {}", notes.join("; ")));
    }
    let (message, earlier, log_excerpt) = match e {
        ProviderError::Failed {
            message,
            rolled_back,
            log_excerpt,
        } => (message, rolled_back, log_excerpt),
        other => (other.to_string(), None, None),
    };
    let mut notes = notes;
    // What is still wrong first: GitHub keeps 140 characters of a status.
    notes.sort_by_key(|p| !p.contains(crate::providers::NOT_RESTORED));
    let now = Restore::from_parts(notes.join("; "), left);
    ProviderError::Failed {
        message,
        rolled_back: Some(now.and(earlier)),
        log_excerpt,
    }
}
