//! The one HTTP client factory: user agent, timeouts and the retry policy.
//!
//! Retried: connection failures (refused, reset, timed out), 408, 429 and 5xx, up to a bound,
//! with exponential backoff and jitter; `Retry-After` (seconds or an HTTP date) and GitHub's
//! `x-ratelimit-reset` (when `x-ratelimit-remaining: 0`) replace the computed delay.
//! GitHub rate limits (403 or 429 with `retry-after` or `x-ratelimit-remaining: 0`, or a 403
//! whose message says "secondary rate limit", then waited on for at least a minute) are
//! retried too, even for non-idempotent requests: a rate-limited request was not performed.
//! Never retried: other 4xx, which the caller gets at once with the API's own error text.
//! Callers say whether a request is safe to repeat; unsafe ones are retried only when the
//! request surely never reached the server (connect errors).
//!
//! A client may carry a deadline ([`HttpClient::with_deadline`]): every attempt's timeout is
//! cut to the time left, no backoff sleeps past it, and running out is its own error kind
//! ([`TransportKind::Deadline`]) naming the call that was outstanding. A client may carry the
//! run's redactor: every text body it sends and every error text it keeps is redacted first
//! (before any cut), so a secret never leaves in a request or an error message.

use crate::secret::{truncate, Redactor};
use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::{RequestBuilder, Response, StatusCode};
use std::time::{Duration, Instant};

pub(crate) const USER_AGENT: &str = concat!("stage-gate/", env!("CARGO_PKG_VERSION"));

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_retries: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// A server asking us to wait longer than this is treated as a failure, not slept on.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// No waiting at all: for tests that inject faults.
    pub fn fast() -> Self {
        RetryPolicy {
            max_retries: 4,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_retry_after: Duration::from_secs(5),
        }
    }
}

/// Why a transport-level failure happened, in words a user can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportKind {
    Refused,
    Reset,
    Timeout,
    Dns,
    Tls,
    /// The caller's deadline passed before an answer came (or before the call could start).
    Deadline,
    Other,
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{method} {url} answered {status}: {body}")]
    Status {
        method: String,
        url: String,
        status: StatusCode,
        body: String,
        /// Seconds the server asked us to wait, if it said.
        retry_after: Option<u64>,
    },
    #[error("{method} {url} failed ({kind:?}): {message}")]
    Transport {
        method: String,
        url: String,
        kind: TransportKind,
        message: String,
    },
}

impl HttpError {
    pub(crate) fn status(&self) -> Option<StatusCode> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
    pub(crate) fn body(&self) -> Option<&str> {
        match self {
            HttpError::Status { body, .. } => Some(body),
            _ => None,
        }
    }
    /// A failure after which the request may have been performed with its answer lost: a
    /// 5xx, a reset, a timeout (a refused connection or a DNS/TLS failure never reached the
    /// server). An ambiguous write is looked up before anything is repeated.
    pub(crate) fn is_ambiguous(&self) -> bool {
        match self {
            HttpError::Status { status, .. } => status.is_server_error(),
            HttpError::Transport { kind, .. } => !matches!(
                kind,
                TransportKind::Refused | TransportKind::Dns | TransportKind::Tls
            ),
        }
    }

    /// The call ran out of the time its deadline left it.
    pub(crate) fn is_deadline(&self) -> bool {
        matches!(
            self,
            HttpError::Transport {
                kind: TransportKind::Deadline,
                ..
            }
        )
    }
}

/// Classify a reqwest error by walking its source chain.
pub(crate) fn transport_kind(e: &reqwest::Error) -> TransportKind {
    if e.is_timeout() {
        return TransportKind::Timeout;
    }
    let mut chain = String::new();
    let mut src: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = src {
        chain.push_str(&s.to_string().to_lowercase());
        chain.push(' ');
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return TransportKind::Refused,
                std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::UnexpectedEof => return TransportKind::Reset,
                std::io::ErrorKind::TimedOut => return TransportKind::Timeout,
                _ => {}
            }
        }
        src = s.source();
    }
    if chain.contains("dns") || chain.contains("failed to lookup") || chain.contains("resolve") {
        TransportKind::Dns
    } else if chain.contains("certificate") || chain.contains("tls") || chain.contains("handshake")
    {
        TransportKind::Tls
    } else if chain.contains("refused") {
        TransportKind::Refused
    } else if chain.contains("reset")
        || chain.contains("closed")
        || chain.contains("incomplete")
        || chain.contains("eof")
    {
        TransportKind::Reset
    } else {
        TransportKind::Other
    }
}

/// A reqwest client with our policy. Cheap to clone.
#[derive(Debug, Clone)]
pub struct HttpClient {
    pub inner: reqwest::Client,
    pub policy: RetryPolicy,
    /// One attempt's timeout when no deadline is nearer.
    pub timeout: Duration,
    /// No attempt, retry or backoff goes past this.
    pub deadline: Option<Instant>,
    /// Secrets scrubbed from what is sent and from error texts.
    pub redactor: Option<Redactor>,
    /// Whether request bodies are scrubbed too (always, except for the one call whose
    /// purpose is to deliver a secret: setting an app's secrets).
    pub scrub_bodies: bool,
}

impl HttpClient {
    pub fn new(timeout: Duration, policy: RetryPolicy) -> Result<Self, reqwest::Error> {
        let inner = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .build()?;
        Ok(HttpClient {
            inner,
            policy,
            timeout,
            deadline: None,
            redactor: None,
            scrub_bodies: true,
        })
    }

    /// The same client sending bodies as they are: for the call that delivers secrets to
    /// where they belong (a Fly app's secrets). Errors and logs stay scrubbed.
    pub fn delivering_secrets(&self) -> HttpClient {
        let mut c = self.clone();
        c.scrub_bodies = false;
        c
    }

    /// The same client bounded by `deadline` (the nearer one when it already has one).
    pub(crate) fn with_deadline(&self, deadline: Instant) -> HttpClient {
        let mut c = self.clone();
        c.deadline = Some(self.deadline.map_or(deadline, |d| d.min(deadline)));
        c
    }

    /// The same client with its deadline replaced: for cleanup that must still run after the
    /// deploy's own deadline passed (releasing leases, restoring machines), bounded anew.
    pub(crate) fn with_fresh_deadline(&self, deadline: Instant) -> HttpClient {
        let mut c = self.clone();
        c.deadline = Some(deadline);
        c
    }

    /// The same client scrubbing `redactor`'s secrets from bodies and errors.
    pub fn with_redactor(&self, redactor: Redactor) -> HttpClient {
        let mut c = self.clone();
        c.redactor = Some(redactor);
        c
    }

    /// `text` without the secrets this client knows.
    pub(crate) fn redact(&self, text: &str) -> String {
        match &self.redactor {
            Some(r) => r.redact(text),
            None => text.to_string(),
        }
    }

    /// The time the deadline leaves, if there is one.
    pub(crate) fn time_left(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    fn deadline_error(&self, method: &str, url: &str, waited: Option<Duration>) -> HttpError {
        let message = match waited {
            Some(w) => format!(
                "no answer within the {:.1}s the deadline left; the call was outstanding when \
                 time ran out",
                w.as_secs_f64()
            ),
            None => "the deadline passed before the call could be made".to_string(),
        };
        HttpError::Transport {
            method: method.to_string(),
            url: url.to_string(),
            kind: TransportKind::Deadline,
            message,
        }
    }

    /// Build one attempt: its timeout (the request's own, else the client's) cut to what the
    /// deadline leaves, its text body redacted. Answers the request and whether the deadline
    /// is what bounds it.
    fn prepare(
        &self,
        builder: RequestBuilder,
        left: Option<Duration>,
    ) -> Result<(reqwest::Request, Duration, bool), reqwest::Error> {
        let mut request = builder.build()?;
        let own = request.timeout().copied().unwrap_or(self.timeout);
        let (timeout, cut) = match left {
            Some(l) if l < own => (l, true),
            _ => (own, false),
        };
        *request.timeout_mut() = Some(timeout);
        if let Some(r) = self.redactor.as_ref().filter(|_| self.scrub_bodies) {
            let text = request
                .body()
                .and_then(|b| b.as_bytes())
                .and_then(|b| std::str::from_utf8(b).ok())
                .map(str::to_string);
            if let Some(text) = text {
                let clean = r.redact(&text);
                if clean != text {
                    *request.body_mut() = Some(clean.into_bytes().into());
                }
            }
        }
        Ok((request, timeout, cut))
    }

    /// The same client, never sleeping longer than `max` on a server's `Retry-After`: a
    /// caller with a deadline passes what is left of it, and a caller that waits out
    /// `Retry-After` itself passes zero to get the answer at once.
    pub(crate) fn with_max_retry_after(&self, max: Duration) -> HttpClient {
        let mut c = self.clone();
        c.policy.max_retry_after = c.policy.max_retry_after.min(max);
        c
    }

    /// Send the request built by `build` (called once per attempt), retrying per the policy.
    /// `idempotent` says whether repeating it after the server may have seen it is safe.
    /// A non-2xx final answer becomes [`HttpError::Status`].
    pub(crate) async fn send(
        &self,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
        idempotent: bool,
    ) -> Result<Response, HttpError> {
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(self.policy.min_delay)
            .with_max_delay(self.policy.max_delay)
            .with_max_times(self.policy.max_retries)
            .with_jitter()
            .build();
        loop {
            let builder = build(&self.inner);
            let (method, url) = describe(&builder);
            let url = self.redact(&url);
            let left = self.time_left();
            if left.is_some_and(|l| l.is_zero()) {
                return Err(self.deadline_error(&method, &url, None));
            }
            let (outcome, attempt_timeout, cut_by_deadline) = match self.prepare(builder, left) {
                Ok((request, timeout, cut)) => (self.inner.execute(request).await, timeout, cut),
                Err(e) => (Err(e), Duration::ZERO, false),
            };
            let retry_in = match outcome {
                Ok(resp) if resp.status().is_success() => return Ok(resp),
                Ok(resp) => {
                    let status = resp.status();
                    let mut wait = server_wait(&resp);
                    let headers_say_limited = rate_limit_headers(status, resp.headers());
                    let err = self.status_error(&method, &url, resp, wait).await;
                    let limited = headers_say_limited || secondary_limit_body(status, &err);
                    if limited && wait.is_none() {
                        // GitHub: a secondary limit without headers means "wait at least a minute".
                        wait = Some(Duration::from_secs(60));
                    }
                    // A rate-limited request was refused, not performed: repeating it is safe
                    // even when the request itself is not idempotent.
                    let refused = limited || status == StatusCode::TOO_MANY_REQUESTS;
                    if !(retryable_status(status) || limited) || !(idempotent || refused) {
                        return Err(err);
                    }
                    match (wait, delays.next()) {
                        (_, None) => return Err(err),
                        (Some(w), Some(_)) if w > self.policy.max_retry_after => return Err(err),
                        (Some(w), Some(_)) => w,
                        (None, Some(d)) => d,
                    }
                }
                Err(e) => {
                    let kind = transport_kind(&e);
                    if kind == TransportKind::Timeout && cut_by_deadline {
                        return Err(self.deadline_error(&method, &url, Some(attempt_timeout)));
                    }
                    let err = HttpError::Transport {
                        method: method.clone(),
                        url: url.clone(),
                        kind,
                        message: self.redact(&e.to_string()),
                    };
                    let safe = idempotent || (e.is_connect() && kind == TransportKind::Refused);
                    let worth = matches!(
                        kind,
                        TransportKind::Refused
                            | TransportKind::Reset
                            | TransportKind::Timeout
                            | TransportKind::Other
                    );
                    match delays.next() {
                        Some(d) if safe && worth => d,
                        _ => return Err(err),
                    }
                }
            };
            if self.time_left().is_some_and(|l| l <= retry_in) {
                // The backoff would outlast the deadline: the last answer is the result.
                return Err(self.deadline_error(&method, &url, None));
            }
            tokio::time::sleep(retry_in).await;
        }
    }

    async fn status_error(
        &self,
        method: &str,
        url: &str,
        resp: Response,
        wait: Option<Duration>,
    ) -> HttpError {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        HttpError::Status {
            method: method.to_string(),
            url: url.to_string(),
            status,
            body: truncate(&self.redact(&body), 2000),
            retry_after: wait.map(|d| d.as_secs()),
        }
    }

    /// `send` and decode a JSON body.
    pub(crate) async fn json<T: serde::de::DeserializeOwned>(
        &self,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
        idempotent: bool,
    ) -> Result<T, HttpError> {
        let resp = self.send(&build, idempotent).await?;
        let method = build(&self.inner)
            .build()
            .map(|r| r.method().to_string())
            .unwrap_or_default();
        let url = self.redact(resp.url().as_str());
        let status = resp.status();
        let text = resp.text().await.map_err(|e| {
            let kind = transport_kind(&e);
            // Reading the body timed out because the deadline ran out (not the client's own
            // per-request timeout): say so as a deadline.
            if kind == TransportKind::Timeout && self.time_left().is_some_and(|l| l.is_zero()) {
                return self.deadline_error(&method, &url, None);
            }
            HttpError::Transport {
                method: method.clone(),
                url: url.clone(),
                kind,
                message: self.redact(&e.to_string()),
            }
        })?;
        serde_json::from_str(&text).map_err(|e| HttpError::Status {
            method,
            url,
            status,
            body: format!(
                "unexpected response body ({e}): {}",
                truncate(&self.redact(&text), 300)
            ),
            retry_after: None,
        })
    }
}

/// The client of a health probe: no retries of its own (the probe loop is the retry), the
/// probe's redirect policy, extra trusted CAs, and no idle connections kept, so every attempt
/// connects afresh like a new visitor would (DNS, TCP, TLS), and a stale keep-alive connection
/// to an old instance cannot answer for the new one. Timeouts are set per request.
pub(crate) fn probe_client(
    follow_redirects: bool,
    extra_roots: &[reqwest::Certificate],
) -> Result<reqwest::Client, reqwest::Error> {
    let redirect = if follow_redirects {
        reqwest::redirect::Policy::limited(10)
    } else {
        reqwest::redirect::Policy::none()
    };
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(redirect)
        .pool_max_idle_per_host(0);
    for cert in extra_roots {
        builder = builder.add_root_certificate(cert.clone());
    }
    builder.build()
}

pub(crate) fn retryable_status(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

/// A 403 or 429 that GitHub's headers mark as a rate limit: `retry-after`, or
/// `x-ratelimit-remaining: 0` (primary limit).
pub(crate) fn rate_limit_headers(status: StatusCode, headers: &reqwest::header::HeaderMap) -> bool {
    if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
        return false;
    }
    headers.contains_key("retry-after")
        || headers
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "0")
}

/// GitHub's secondary limit may come as a bare 403 whose message says so.
fn secondary_limit_body(status: StatusCode, err: &HttpError) -> bool {
    status == StatusCode::FORBIDDEN
        && err
            .body()
            .is_some_and(|b| b.to_ascii_lowercase().contains("secondary rate limit"))
}

fn describe(request: &RequestBuilder) -> (String, String) {
    match request.try_clone().and_then(|r| r.build().ok()) {
        Some(r) => (r.method().to_string(), strip_query_secrets(r.url())),
        None => ("?".into(), "?".into()),
    }
}

/// URLs in messages keep their path but lose their query, which may carry tokens.
fn strip_query_secrets(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_password(None);
    let _ = u.set_username("");
    u.to_string()
}

/// How long the server asked us to wait: `Retry-After`, or GitHub's rate-limit reset.
pub(crate) fn server_wait(resp: &Response) -> Option<Duration> {
    let h = resp.headers();
    if let Some(v) = h.get("retry-after").and_then(|v| v.to_str().ok()) {
        if let Ok(secs) = v.trim().parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(when) = chrono::DateTime::parse_from_rfc2822(v.trim()) {
            let secs = (when.timestamp() - chrono::Utc::now().timestamp()).max(0) as u64;
            return Some(Duration::from_secs(secs));
        }
    }
    let remaining = h.get("x-ratelimit-remaining").and_then(|v| v.to_str().ok());
    if remaining == Some("0") {
        if let Some(reset) = h
            .get("x-ratelimit-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i64>().ok())
        {
            let secs = (reset - chrono::Utc::now().timestamp()).max(0) as u64;
            return Some(Duration::from_secs(secs + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retried_statuses_are_pinned() {
        let retried: Vec<u16> = (400..600)
            .filter(|c| retryable_status(StatusCode::from_u16(*c).unwrap()))
            .filter(|c| *c < 500)
            .collect();
        assert_eq!(retried, vec![408, 429]);
        assert!(retryable_status(StatusCode::BAD_GATEWAY));
        assert!(!retryable_status(StatusCode::UNPROCESSABLE_ENTITY));
    }

    #[test]
    fn github_rate_limits_are_recognised() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let mut exhausted = HeaderMap::new();
        exhausted.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        exhausted.insert("x-ratelimit-reset", HeaderValue::from_static("1700000000"));
        assert!(rate_limit_headers(StatusCode::FORBIDDEN, &exhausted));
        assert!(rate_limit_headers(
            StatusCode::TOO_MANY_REQUESTS,
            &exhausted
        ));
        // A 403 that is a permission problem, not a limit, is never retried.
        let mut plenty = HeaderMap::new();
        plenty.insert("x-ratelimit-remaining", HeaderValue::from_static("4999"));
        assert!(!rate_limit_headers(StatusCode::FORBIDDEN, &plenty));
        let mut secondary = HeaderMap::new();
        secondary.insert("retry-after", HeaderValue::from_static("30"));
        assert!(rate_limit_headers(StatusCode::FORBIDDEN, &secondary));
        assert!(!rate_limit_headers(StatusCode::NOT_FOUND, &secondary));
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("ééé", 3), "é…");
        assert_eq!(truncate("abc", 5), "abc");
    }
}
