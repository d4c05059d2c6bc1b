//! Signed webhook notifications: the JSON event, Slack and Discord payloads, and the
//! HMAC-SHA256 signature receivers verify.

use crate::config::NotifyFormat;
use crate::http::{HttpClient, HttpError};
use crate::secret::Secret;
use serde::Serialize;

/// The event every webhook receives (seed 003's orchestrator contract, extended).
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Event {
    /// `<environment>_deployment_complete` (`deployment_complete` without an environment),
    /// whatever sent it; `notify --event` may name another.
    pub event: String,
    pub environment: String,
    pub app: Option<String>,
    /// `success` or `failure`.
    pub status: String,
    pub commit_sha: String,
    pub version: Option<String>,
    /// RFC 3339, UTC.
    pub timestamp: String,
    pub run_url: Option<String>,
    /// What sent it: `deploy`, `promote` or `notify`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
}

pub use crate::secret::{signature, verify, SIGNATURE_HEADER};

/// The body for `format`.
pub(crate) fn payload(event: &Event, format: NotifyFormat) -> serde_json::Value {
    let what = match &event.app {
        Some(app) => format!("{app} → {}", event.environment),
        None => event.environment.clone(),
    };
    let short = &event.commit_sha[..event.commit_sha.len().min(7)];
    let version = event.version.as_deref().unwrap_or(short);
    let icon = if event.status == "success" {
        "✅"
    } else {
        "❌"
    };
    let text = format!("{icon} {what}: {version} {} ({short})", event.status);
    let link = event.run_url.clone().unwrap_or_default();
    match format {
        NotifyFormat::Json => serde_json::to_value(event).unwrap_or_default(),
        NotifyFormat::Slack => serde_json::json!({
            "text": text,
            "blocks": [{
                "type": "section",
                "text": {"type": "mrkdwn", "text": if link.is_empty() { text.clone() } else { format!("{text}\n<{link}|workflow run>") }}
            }]
        }),
        NotifyFormat::Discord => serde_json::json!({
            "content": text,
            "embeds": [{
                "title": format!("{} {}", event.event, event.status),
                "url": if link.is_empty() { serde_json::Value::Null } else { link.into() },
                "color": if event.status == "success" { 0x28a745 } else { 0xdc3545 },
                "fields": [
                    {"name": "environment", "value": event.environment, "inline": true},
                    {"name": "version", "value": version, "inline": true},
                    {"name": "commit", "value": short, "inline": true},
                ],
                "timestamp": event.timestamp,
            }]
        }),
    }
}

/// POST the event to `url`. Retried on 5xx/429/resets by the client's policy: receivers
/// must treat the event as idempotent (it carries the commit and environment).
pub(crate) async fn send(
    http: &HttpClient,
    url: &str,
    event: &Event,
    format: NotifyFormat,
    token: Option<&Secret>,
    signing_secret: Option<&Secret>,
) -> Result<u16, HttpError> {
    let body = serde_json::to_vec(&payload(event, format)).unwrap_or_default();
    let sig = signing_secret.map(|s| signature(s, &body));
    let resp = http
        .send(
            |c| {
                let mut r = c
                    .post(url)
                    .header("Content-Type", "application/json")
                    .header("X-Stage-Gate-Event", event.event.as_str())
                    .body(body.clone());
                if let Some(t) = token {
                    r = r.bearer_auth(t.expose());
                }
                if let Some(s) = &sig {
                    r = r.header(SIGNATURE_HEADER, s.as_str());
                }
                r
            },
            true,
        )
        .await?;
    Ok(resp.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event {
            event: "deployment_complete".into(),
            environment: "staging".into(),
            app: Some("web".into()),
            status: "success".into(),
            commit_sha: "0123456789abcdef".into(),
            version: Some("1.2.3".into()),
            timestamp: "2026-11-23T12:00:00Z".into(),
            run_url: Some("https://github.com/o/r/actions/runs/1".into()),
            trigger: None,
        }
    }

    #[test]
    fn signature_matches_a_known_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let s = signature(&Secret::new("Jefe"), b"what do ya want for nothing?");
        assert_eq!(
            s,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify(
            &Secret::new("Jefe"),
            b"what do ya want for nothing?",
            &s
        ));
        assert!(!verify(&Secret::new("Jefe"), b"tampered", &s));
        assert!(!verify(&Secret::new("Jefe"), b"x", "md5=00"));
    }

    #[test]
    fn json_payload_has_the_orchestrator_fields() {
        let v = payload(&event(), NotifyFormat::Json);
        for key in [
            "event",
            "environment",
            "app",
            "status",
            "commit_sha",
            "version",
            "timestamp",
            "run_url",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
    }

    #[test]
    fn chat_payloads() {
        let slack = payload(&event(), NotifyFormat::Slack);
        assert_eq!(slack["text"], "✅ web → staging: 1.2.3 success (0123456)");
        let discord = payload(&event(), NotifyFormat::Discord);
        assert_eq!(discord["embeds"][0]["fields"][2]["value"], "0123456");
    }
}
