//! The Fly Machines API as stage-gate uses it: DTOs and one method per call
//! (`tests/fixtures/specs/fly-machines.openapi.json`, NOTES.md §1). Every call goes through
//! [`HttpClient`]; only `wait` uses a no-retry client, because its own loop owns the deadline.
//!
//! What this module must not do: decide strategy, order or rollback (`rollout.rs`).

use crate::http::{HttpClient, HttpError, RetryPolicy};
use crate::providers::ProviderError;
use crate::secret::Secret;
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub(crate) const NONCE_HEADER: &str = "fly-machine-lease-nonce";

/// A machine as the API describes it (the fields a deployer reads).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Machine {
    pub id: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub region: String,
    /// Kept whole: an update must send the full config back (no partial updates).
    #[serde(default)]
    pub config: Value,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub instance_id: String,
    #[serde(default)]
    pub checks: Vec<CheckStatus>,
    #[serde(default)]
    pub events: Vec<MachineEvent>,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub updated_at: String,
    /// What the image resolved to when the machine was created or updated (`ImageRef`).
    #[serde(default)]
    pub image_ref: Option<ImageRef>,
}

/// The image a machine runs, as Fly resolved it (spec: `ImageRef`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub(crate) struct ImageRef {
    #[serde(default)]
    pub registry: String,
    #[serde(default)]
    pub repository: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub digest: String,
}

impl ImageRef {
    /// `registry/repository@sha256:…`, when Fly reported a digest.
    pub(crate) fn pinned(&self) -> Option<String> {
        if self.digest.is_empty() || self.repository.is_empty() {
            return None;
        }
        let repo = if self.registry.is_empty() {
            self.repository.clone()
        } else {
            format!("{}/{}", self.registry, self.repository)
        };
        Some(format!("{repo}@{}", self.digest))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CheckStatus {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub output: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MachineEvent {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub status: String,
    /// Unix milliseconds.
    #[serde(default)]
    pub timestamp: i64,
    /// For `exit` events: `{"exit_event": {"exit_code": N, "oom_killed": …}, …}`.
    #[serde(default)]
    pub request: Value,
}

impl MachineEvent {
    /// The exit code an `exit` event reports.
    pub(crate) fn exit_code(&self) -> Option<i64> {
        self.request["exit_event"]["exit_code"].as_i64()
    }
}

/// A volume (`GET /v1/apps/{app}/volumes`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Volume {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub attached_machine_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MachineVersion {
    pub version: String,
    #[serde(default)]
    pub user_config: Value,
}

#[derive(Debug, Clone, Deserialize)]
struct WaitResponse {
    #[serde(default)]
    state: String,
}

impl Machine {
    /// `version`, or the deprecated `instance_id` older answers carry instead.
    pub(crate) fn version(&self) -> &str {
        if self.version.is_empty() {
            &self.instance_id
        } else {
            &self.version
        }
    }
    pub(crate) fn image(&self) -> &str {
        self.config["image"].as_str().unwrap_or("")
    }
    /// The digest the machine's image resolved to (`sha256:…`), when Fly reported one.
    pub(crate) fn digest(&self) -> Option<&str> {
        self.image_ref
            .as_ref()
            .map(|r| r.digest.as_str())
            .filter(|d| !d.is_empty())
    }
    pub(crate) fn group(&self) -> &str {
        group_of(&self.config)
    }
    /// Running or on its way there: a machine that must be started after an update.
    pub(crate) fn is_running(&self) -> bool {
        matches!(
            self.state.as_str(),
            "started" | "starting" | "replacing" | "updating"
        )
    }
    /// Should run after the update: running now, or `failed` (a new image is its way back).
    pub(crate) fn should_run(&self) -> bool {
        self.is_running() || self.state == "failed"
    }
    /// Whether the config defines any check Fly will report in `checks[]`.
    pub(crate) fn has_checks(&self) -> bool {
        let top = self.config["checks"]
            .as_object()
            .is_some_and(|c| !c.is_empty());
        let services = self.config["services"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["checks"].as_array().is_some_and(|c| !c.is_empty()));
        top || services
    }
    /// How many times the machine exited since `since_ms`: two or more is a restart loop.
    pub(crate) fn exits_since(&self, since_ms: i64) -> usize {
        self.events
            .iter()
            .filter(|e| e.kind == "exit" && e.timestamp >= since_ms)
            .count()
    }
}

/// The process group a machine config belongs to (flyctl: `app` when the metadata says none).
pub(crate) fn group_of(config: &Value) -> &str {
    config["metadata"]["fly_process_group"]
        .as_str()
        .filter(|g| !g.is_empty())
        .unwrap_or(crate::appconfig::DEFAULT_GROUP)
}

/// flyctl's own short-lived machines (`fly_app_release_command`, `fly_app_console`, …): never
/// deploy targets.
pub(crate) fn is_flyctl_group(group: &str) -> bool {
    group.starts_with("fly_app_")
}

/// A lease as either wire form gives it: the real `{"status":"success","data":{…}}` envelope
/// or the spec's flat `Lease`.
pub(crate) fn parse_lease(body: &Value) -> Result<String, String> {
    if let Some(status) = body["status"].as_str() {
        if status != "success" {
            return Err(body["message"]
                .as_str()
                .unwrap_or("lease refused")
                .to_string());
        }
    }
    body["data"]["nonce"]
        .as_str()
        .or_else(|| body["nonce"].as_str())
        .map(str::to_string)
        .ok_or_else(|| format!("the lease answer has no nonce: {body}"))
}

/// One app's Machines API. Cheap to clone (lease guards keep a copy for their release).
#[derive(Clone)]
pub(crate) struct Api {
    http: HttpClient,
    /// Same connection pool, no retries: for `wait`, whose loop owns the deadline.
    once: HttpClient,
    base: String,
    pub app: String,
    auth: Secret,
    /// The run's cancellation: leases register their release with it.
    pub cancel: crate::cancel::Cancel,
    /// What our leases say about who holds them (the run), for whoever meets one.
    pub lease_description: String,
    /// The app secrets version created and updated machines must see.
    min_secrets_version: Option<u64>,
}

/// Who holds a machine's lease, and until when.
#[derive(Debug, Clone)]
pub(crate) struct LeaseHolder {
    pub owner: String,
    pub description: String,
    /// Unix seconds.
    pub expires_at: u64,
}

impl LeaseHolder {
    /// How long the lease still lasts.
    pub(crate) fn left(&self) -> Duration {
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        Duration::from_secs(self.expires_at.saturating_sub(now))
    }

    /// `alice@example.com ("stage-gate deploy by run 41") until 12:03:04 UTC`
    pub(crate) fn describe(&self) -> String {
        let until = chrono::DateTime::from_timestamp(self.expires_at as i64, 0)
            .map(|t| t.format("%H:%M:%S UTC").to_string())
            .unwrap_or_else(|| "an unknown time".into());
        format!("{} (\"{}\") until {until}", self.owner, self.description)
    }
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("base", &self.base)
            .field("app", &self.app)
            .finish_non_exhaustive()
    }
}

/// `FlyV1 <macaroons>` for macaroon tokens (what `fly tokens deploy` prints), `Bearer` for the
/// rest — as flyctl does (fly-go tokens.go). A token pasted with its scheme keeps it.
pub(crate) fn auth_header(token: &str) -> String {
    let token = token.trim();
    if token.starts_with("FlyV1 ") || token.starts_with("Bearer ") {
        return token.to_string();
    }
    let macaroon = ["fm1r_", "fm1a_", "fm2_"]
        .iter()
        .any(|p| token.starts_with(p));
    if macaroon {
        format!("FlyV1 {token}")
    } else {
        format!("Bearer {token}")
    }
}

impl Api {
    pub(crate) fn new(http: HttpClient, base: &str, app: &str, token: &Secret) -> Api {
        let once = HttpClient {
            policy: RetryPolicy {
                max_retries: 0,
                ..http.policy.clone()
            },
            ..http.clone()
        };
        Api {
            http,
            once,
            base: base.trim_end_matches('/').to_string(),
            app: app.to_string(),
            auth: Secret::new(auth_header(token.expose())),
            cancel: crate::cancel::Cancel::new(),
            lease_description: "stage-gate deploy".into(),
            min_secrets_version: None,
        }
    }

    /// The same API whose machine creates and updates carry `min_secrets_version` (secrets
    /// were just set: machines must not start on an older set).
    pub(crate) fn with_min_secrets_version(mut self, version: Option<u64>) -> Api {
        self.min_secrets_version = version;
        self
    }

    /// `body` with `min_secrets_version`, when this API has one.
    fn with_secrets_version(&self, mut body: Value) -> Value {
        if let Some(v) = self.min_secrets_version {
            body["min_secrets_version"] = json!(v);
        }
        body
    }

    /// The same API whose leases name `who` (a run's URL) in their description.
    pub(crate) fn with_lease_owner(mut self, who: Option<String>) -> Api {
        if let Some(who) = who {
            self.lease_description = format!("stage-gate deploy by {who}");
        }
        self
    }

    /// The same API under the run's cancellation.
    pub(crate) fn with_cancel(mut self, cancel: &crate::cancel::Cancel) -> Api {
        self.cancel = cancel.clone();
        self
    }

    /// The same API with every call (retries included) bounded by `deadline`.
    pub(crate) fn until(&self, deadline: Instant) -> Api {
        Api {
            http: self.http.with_deadline(deadline),
            once: self.once.with_deadline(deadline),
            ..self.clone()
        }
    }

    /// The same API sending its bodies unscrubbed: for setting an app's secrets, the one call
    /// whose purpose is to deliver them (errors stay scrubbed).
    pub(crate) fn delivering_secrets(&self) -> Api {
        Api {
            http: self.http.delivering_secrets(),
            ..self.clone()
        }
    }

    /// The same API with a new deadline `budget` from now, whatever bound it had: cleanup
    /// (lease releases, restores) must still run after the deploy's deadline passed.
    pub(crate) fn for_cleanup(&self, budget: Duration) -> Api {
        let deadline = Instant::now() + budget;
        Api {
            http: self.http.with_fresh_deadline(deadline),
            once: self.once.with_fresh_deadline(deadline),
            ..self.clone()
        }
    }

    /// The time the deadline leaves, when the API has one.
    pub(crate) fn time_left(&self) -> Option<Duration> {
        self.http.time_left()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/v1/apps/{}{path}", self.base, self.app)
    }

    /// `{base}/v1{path}`: the calls above one app (create and list apps).
    pub(crate) fn root_url(&self, path: &str) -> String {
        format!("{}/v1{path}", self.base)
    }

    /// A request to `url` (a whole URL: [`Api::url`] or [`Api::root_url`]) with our token.
    fn request(&self, c: &reqwest::Client, method: Method, url: &str) -> RequestBuilder {
        let mut auth = HeaderValue::from_str(self.auth.expose())
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer invalid"));
        auth.set_sensitive(true);
        c.request(method, url).header(AUTHORIZATION, auth)
    }

    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        nonce: Option<&str>,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<Value, ProviderError> {
        self.call_url(method, &self.url(path), nonce, body, idempotent)
            .await
    }

    /// One call to `url` (answers `null` for an empty body).
    pub(super) async fn call_url(
        &self,
        method: Method,
        url: &str,
        nonce: Option<&str>,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<Value, ProviderError> {
        match self
            .call_unclassified(method, url, nonce, body, idempotent)
            .await
        {
            Ok(v) => v,
            Err(e) => Err(classify(e)),
        }
    }

    /// [`Api::call_url`] with the HTTP error as it came (the caller reads its status: a 403
    /// on an app is "held by another organisation", not a bad token).
    pub(super) async fn call_unclassified(
        &self,
        method: Method,
        url: &str,
        nonce: Option<&str>,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<Result<Value, ProviderError>, HttpError> {
        let build = |c: &reqwest::Client| {
            let mut r = self.request(c, method.clone(), url);
            if let Some(n) = nonce {
                r = r.header(NONCE_HEADER, n);
            }
            if let Some(b) = body {
                r = r.json(b);
            }
            r
        };
        let text = self
            .http
            .send(build, idempotent)
            .await?
            .text()
            .await
            .unwrap_or_default();
        if text.trim().is_empty() {
            return Ok(Ok(Value::Null));
        }
        Ok(serde_json::from_str(&text).map_err(|e| {
            ProviderError::Other(format!(
                "{method} {url} answered a body that is not JSON ({e}): {}",
                crate::secret::truncate(&self.http.redact(&text), 200)
            ))
        }))
    }

    pub(super) fn decode<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        v: Value,
    ) -> Result<T, ProviderError> {
        serde_json::from_value(v)
            .map_err(|e| ProviderError::Other(format!("unexpected {what} from the Fly API: {e}")))
    }

    pub(crate) async fn list_machines(&self) -> Result<Vec<Machine>, ProviderError> {
        let v = self
            .call(Method::GET, "/machines", None, None, true)
            .await?;
        self.decode("machine list", v)
    }

    pub(crate) async fn get_machine(&self, id: &str) -> Result<Machine, ProviderError> {
        let v = self
            .call(Method::GET, &format!("/machines/{id}"), None, None, true)
            .await?;
        self.decode("machine", v)
    }

    pub(crate) async fn versions(&self, id: &str) -> Result<Vec<MachineVersion>, ProviderError> {
        let path = format!("/machines/{id}/versions");
        let v = self.call(Method::GET, &path, None, None, true).await?;
        self.decode("version list", v)
    }

    /// Acquire a lease (spec form: JSON body). Answers the nonce; a 409 is returned as is,
    /// for the caller's bounded retry.
    pub(crate) async fn acquire_lease(&self, id: &str, ttl: u64) -> Result<String, ProviderError> {
        let body = json!({"ttl": ttl, "description": self.lease_description});
        let path = format!("/machines/{id}/lease");
        // Not retried after a reset: a lease that was granted but whose answer was lost
        // would then look "held by someone else" until it expires.
        let v = self
            .call(Method::POST, &path, None, Some(&body), false)
            .await?;
        parse_lease(&v).map_err(ProviderError::Other)
    }

    /// Who holds the lease of machine `id`; None when nobody does or it cannot be read.
    pub(crate) async fn lease_holder(&self, id: &str) -> Option<LeaseHolder> {
        let v = self
            .call(
                Method::GET,
                &format!("/machines/{id}/lease"),
                None,
                None,
                true,
            )
            .await
            .ok()?;
        let data = if v["data"].is_object() {
            &v["data"]
        } else {
            &v
        };
        Some(LeaseHolder {
            owner: data["owner"].as_str().unwrap_or("someone").to_string(),
            description: data["description"].as_str().unwrap_or("").to_string(),
            expires_at: data["expires_at"].as_u64()?,
        })
    }

    pub(crate) async fn refresh_lease(
        &self,
        id: &str,
        nonce: &str,
        ttl: u64,
    ) -> Result<(), ProviderError> {
        let body = json!({"ttl": ttl});
        let path = format!("/machines/{id}/lease");
        self.call(Method::POST, &path, Some(nonce), Some(&body), true)
            .await
            .map(|_| ())
    }

    pub(crate) async fn release_lease(&self, id: &str, nonce: &str) -> Result<(), ProviderError> {
        let path = format!("/machines/{id}/lease");
        self.call(Method::DELETE, &path, Some(nonce), None, true)
            .await
            .map(|_| ())
    }

    /// POST the full config. Repeating it is safe: `current_version` makes a second copy a 409.
    pub(crate) async fn update(
        &self,
        id: &str,
        config: &Value,
        current_version: &str,
        nonce: Option<&str>,
        skip_launch: bool,
    ) -> Result<Machine, ProviderError> {
        let mut body = self
            .with_secrets_version(json!({"config": config, "current_version": current_version}));
        if skip_launch {
            body["skip_launch"] = json!(true);
        }
        let path = format!("/machines/{id}");
        let v = self
            .call(Method::POST, &path, nonce, Some(&body), true)
            .await?;
        self.decode("machine", v)
    }

    /// Create a machine outside the proxy's routing (bluegreen's green machines).
    pub(crate) async fn create_unrouted(
        &self,
        config: &Value,
        region: &str,
    ) -> Result<Machine, ProviderError> {
        let body = self.with_secrets_version(
            json!({"config": config, "region": region, "skip_service_registration": true}),
        );
        let v = self
            .call(Method::POST, "/machines", None, Some(&body), false)
            .await?;
        self.decode("machine", v)
    }

    /// Create a machine of `group` (`body`: the whole `CreateMachineRequest`). An answer lost
    /// after the API may have acted is looked up — a machine of the group on the body's image
    /// created since we asked — and never sent twice; `what` names the machine when none is
    /// found.
    pub(crate) async fn create_once(
        &self,
        body: &Value,
        group: &str,
        what: &str,
    ) -> Result<Machine, ProviderError> {
        let asked_ms = chrono::Utc::now().timestamp_millis();
        let body = &self.with_secrets_version(body.clone());
        let e = match self
            .call(Method::POST, "/machines", None, Some(body), false)
            .await
        {
            Ok(v) => return self.decode("machine", v),
            Err(ProviderError::Http(e)) if e.is_ambiguous() => e,
            Err(e) => return Err(e),
        };
        let image = body["config"]["image"].as_str().unwrap_or("");
        let machines = self.list_machines().await?;
        machines
            .into_iter()
            .find(|m| {
                m.group() == group
                    && m.image() == image
                    && chrono::DateTime::parse_from_rfc3339(&m.created_at)
                        .is_ok_and(|t| t.timestamp_millis() >= asked_ms - 2_000)
            })
            .ok_or_else(|| ProviderError::Failed {
                message: format!(
                    "creating {what} failed ({e}) and no such machine exists; nothing was \
                     created — run the deploy again"
                ),
                rolled_back: None,
                log_excerpt: None,
            })
    }

    pub(crate) async fn list_volumes(&self) -> Result<Vec<Volume>, ProviderError> {
        let v = self.call(Method::GET, "/volumes", None, None, true).await?;
        self.decode("volume list", v)
    }

    /// Create a volume (not repeated after a lost answer: the caller lists volumes instead).
    pub(crate) async fn create_volume(&self, body: &Value) -> Result<Volume, ProviderError> {
        let v = self
            .call(Method::POST, "/volumes", None, Some(body), false)
            .await?;
        self.decode("volume", v)
    }

    /// `cordon`, `uncordon`, `stop`: lease-aware actions without an answer we need.
    pub(crate) async fn action(
        &self,
        id: &str,
        action: &str,
        nonce: Option<&str>,
    ) -> Result<(), ProviderError> {
        let path = format!("/machines/{id}/{action}");
        self.call(Method::POST, &path, nonce, None, true)
            .await
            .map(|_| ())
    }

    /// Start a stopped machine (under its lease).
    pub(crate) async fn start(&self, id: &str, nonce: Option<&str>) -> Result<(), ProviderError> {
        self.action(id, "start", nonce).await
    }

    pub(crate) async fn destroy(&self, id: &str, nonce: Option<&str>) -> Result<(), ProviderError> {
        // `force` is the spec's parameter (flyctl sends `kill`, which the API also takes).
        let path = format!("/machines/{id}?force=true");
        self.call(Method::DELETE, &path, nonce, None, true)
            .await
            .map(|_| ())
    }

    /// Wait until the machine is in one of `states` (csv) at `version`, looping on 408 (and on
    /// transient failures) until `deadline`. Answers the state reached, or None at the deadline.
    pub(crate) async fn wait(
        &self,
        id: &str,
        states: &str,
        version: Option<&str>,
        deadline: Instant,
        pause: Duration,
    ) -> Result<Option<String>, ProviderError> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            // Below the client's 30 s request timeout, and never past our deadline.
            let secs = left.as_secs().clamp(1, 25);
            let mut path = format!("/machines/{id}/wait?state={states}&timeout={secs}");
            if let Some(v) = version {
                path.push_str(&format!("&version={v}"));
            }
            let url = self.url(&path);
            let build = |c: &reqwest::Client| self.request(c, Method::GET, &url);
            match self.once.send(build, true).await {
                Ok(resp) => {
                    let text = resp.text().await.unwrap_or_default();
                    let parsed: Result<WaitResponse, _> = serde_json::from_str(&text);
                    match parsed {
                        Ok(w) => return Ok(Some(w.state)),
                        // A garbled answer is transient: ask again.
                        Err(_) => tokio::time::sleep(pause).await,
                    }
                }
                Err(e) if transient(&e) => {
                    if e.status() != Some(StatusCode::REQUEST_TIMEOUT) {
                        tokio::time::sleep(pause).await;
                    }
                }
                Err(e) => return Err(classify(e)),
            }
        }
    }
}

/// 408, 429, 5xx and transport failures: worth asking again.
fn transient(e: &HttpError) -> bool {
    match e.status() {
        Some(s) => crate::http::retryable_status(s),
        None => true,
    }
}

/// 401/403 are credential problems with a fix; the rest keeps the API's own text.
pub(crate) fn classify(e: HttpError) -> ProviderError {
    match e.status() {
        Some(StatusCode::UNAUTHORIZED) | Some(StatusCode::FORBIDDEN) => ProviderError::Auth(format!(
            "the Fly API refused the token ({e}); create one with `fly tokens deploy` and put it in FLY_API_TOKEN or the fly-api-token input"
        )),
        // Fly could not pull the image: a deploy failure with the reason, not an internal one.
        Some(StatusCode::UNPROCESSABLE_ENTITY)
            if e.body().is_some_and(|b| b.contains("failed to get manifest")) =>
        {
            let why = if e.body().is_some_and(|b| b.contains("unauthorized")) {
                "Fly's registry serves an app's repository (registry.fly.io/<app>) only to the \
                 apps of the same organisation: keep the proving and the production app in one \
                 organisation, or push the image to a registry production can pull"
            } else {
                "check that the image was pushed and its name"
            };
            ProviderError::Failed {
                message: format!("Fly could not pull the image ({e}); {why}"),
                rolled_back: None,
                log_excerpt: None,
            }
        }
        _ => ProviderError::Http(e),
    }
}

/// Whether a provider error is the API's 409 (lease held, or a stale `current_version`).
pub(crate) fn is_conflict(e: &ProviderError) -> bool {
    matches!(e, ProviderError::Http(h) if h.status() == Some(StatusCode::CONFLICT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macaroons_use_flyv1_and_others_bearer() {
        assert_eq!(auth_header("fm2_abc,fm2_def"), "FlyV1 fm2_abc,fm2_def");
        assert_eq!(auth_header("fm1r_x"), "FlyV1 fm1r_x");
        assert_eq!(auth_header("fm1a_x"), "FlyV1 fm1a_x");
        assert_eq!(auth_header("plain"), "Bearer plain");
        assert_eq!(auth_header(" FlyV1 fm2_x "), "FlyV1 fm2_x");
    }

    #[test]
    fn both_lease_wire_forms_are_read() {
        let envelope = json!({"status":"success","data":{"nonce":"n1","expires_at":1,"owner":"o"}});
        assert_eq!(parse_lease(&envelope), Ok("n1".into()));
        let flat = json!({"nonce":"n2","expires_at":1,"owner":"o"});
        assert_eq!(parse_lease(&flat), Ok("n2".into()));
        let refused =
            json!({"status":"error","message":"lease currently held by x","code":"invalid"});
        assert!(parse_lease(&refused).unwrap_err().contains("held by x"));
        assert!(parse_lease(&json!({})).is_err());
    }

    #[test]
    fn machine_helpers_read_the_config() {
        let m: Machine = serde_json::from_value(json!({
            "id": "m1", "state": "started", "instance_id": "01OLD",
            "config": {"image": "img:1", "metadata": {"fly_process_group": "web"},
                       "services": [{"checks": [{"type": "http"}]}]},
            "events": [{"type": "exit", "timestamp": 10}, {"type": "exit", "timestamp": 20},
                       {"type": "start", "timestamp": 30}]
        }))
        .expect("a machine");
        assert_eq!(m.version(), "01OLD");
        assert_eq!((m.image(), m.group()), ("img:1", "web"));
        assert!(m.has_checks() && m.is_running());
        assert_eq!(m.exits_since(15), 1);
    }
}
