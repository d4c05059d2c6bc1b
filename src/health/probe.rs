//! One probe: the request it makes (URL, method, headers with `${ENV}` secrets) and the
//! assertions its answer must meet (status set, body regex, JSON values, response time).
//! [`Prepared::attempt`] makes exactly one request; retrying is the schedule's job.
//!
//! A failure is *hard* when waiting will not change it, so the gate may stop early: an unknown
//! host, a TLS/certificate error, or a 4xx other than 404 (the old release may lack a new
//! route until the rollout reaches it), 408, 425 and 429. Everything else — refused, reset,
//! timeouts, 5xx, a wrong version in the body — is what a rollout in progress looks like.

use super::verdict::{Problem, ProblemKind};
use super::{HealthError, Vars};
use crate::config::{Probe, StatusRange};
use crate::inputs::Env;
use crate::jsonpath::JsonPath;
use crate::report::Console;
use regex::Regex;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// Bodies are read up to this size; a health answer larger than this is not worth more.
const BODY_LIMIT: usize = 256 * 1024;
/// How much of a body the evidence keeps.
const EXCERPT: usize = 300;

/// A probe with its templates expanded, its regex compiled and its client chosen.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub method: reqwest::Method,
    url: reqwest::Url,
    /// The URL as shown to people: `${ENV}` values redacted.
    pub shown_url: String,
    headers: HeaderMap,
    expect: Vec<StatusRange>,
    body_regex: Option<Regex>,
    json: Vec<(JsonPath, serde_json::Value)>,
    max_latency: Option<Duration>,
    client: reqwest::Client,
    /// Bodies are redacted before they are cut to an excerpt.
    redactor: crate::secret::Redactor,
}

/// What one request amounted to.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub status: Option<u16>,
    /// Set when an answer (status and body) arrived.
    pub latency: Option<Duration>,
    /// The start of the body, redacted before it was cut.
    pub body: Option<String>,
    pub problem: Option<Problem>,
}

impl Prepared {
    /// Expand and check `probe`; `client` is the one matching its redirect and CA settings.
    pub(crate) fn new(
        probe: &Probe,
        vars: &Vars,
        env: &Env,
        console: &Console,
        client: reqwest::Client,
    ) -> Result<Prepared, HealthError> {
        let raw_url = probe.url.as_str();
        let expanded = expand_env(raw_url, env, console, &format!("the URL `{raw_url}`"))?;
        let expanded = vars.expand(&expanded, &format!("the URL `{raw_url}`"))?;
        let shown_url = console.redactor.redact(&expanded);
        let url = reqwest::Url::parse(&expanded).map_err(|e| HealthError::Url {
            url: shown_url.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(HealthError::Url {
                url: shown_url,
                reason: format!("the scheme `{}` is not http or https", url.scheme()),
            });
        }
        let method = reqwest::Method::from_bytes(probe.method.as_bytes()).map_err(|_| {
            HealthError::Invalid {
                url: shown_url.clone(),
                what: format!("`{}` is not an HTTP method", probe.method),
            }
        })?;
        let mut headers = HeaderMap::new();
        for (name, template) in &probe.headers {
            let what = format!("the header `{name}`");
            let had_env = template.contains("${");
            let value = vars.expand(&expand_env(template, env, console, &what)?, &what)?;
            let header =
                HeaderName::from_bytes(name.as_bytes()).map_err(|_| HealthError::Invalid {
                    url: shown_url.clone(),
                    what: format!("`{name}` is not a header name"),
                })?;
            let mut value = HeaderValue::from_str(&value).map_err(|_| HealthError::Invalid {
                url: shown_url.clone(),
                what: format!("{what} has characters a header cannot carry"),
            })?;
            if had_env || is_sensitive(&header) {
                // `${ENV}` values were masked as they were expanded; a literal credential in
                // the config is masked whole.
                if !had_env {
                    console.mask(value.to_str().unwrap_or_default());
                }
                value.set_sensitive(true);
            }
            headers.insert(header, value);
        }
        let body_regex = probe
            .body_regex
            .as_deref()
            .map(Regex::new)
            .transpose()
            .map_err(|e| HealthError::Invalid {
                url: shown_url.clone(),
                what: format!("body-regex: {e}"),
            })?;
        let json = probe
            .json
            .iter()
            .map(|(path, expected)| {
                let path = JsonPath::parse(path).map_err(|e| HealthError::Invalid {
                    url: shown_url.clone(),
                    what: format!("json: {e}"),
                })?;
                Ok((path, vars.expand_value(expected, "a JSON assertion")?))
            })
            .collect::<Result<Vec<_>, HealthError>>()?;
        Ok(Prepared {
            method,
            url,
            shown_url,
            headers,
            expect: probe.expect_status.clone(),
            body_regex,
            json,
            max_latency: probe.max_latency,
            client,
            redactor: console.redactor.clone(),
        })
    }

    /// Make one request with `timeout` and judge the answer.
    pub(crate) async fn attempt(&self, timeout: Duration) -> Attempt {
        let start = Instant::now();
        let sent = self
            .client
            .request(self.method.clone(), self.url.clone())
            .headers(self.headers.clone())
            .timeout(timeout)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return Attempt::network(None, &e),
        };
        let status = response.status().as_u16();
        let body = match read_body(response).await {
            Ok(b) => b,
            Err(e) => return Attempt::network(Some(status), &e),
        };
        let latency = start.elapsed();
        let problem = self.judge(status, &body, latency);
        Attempt {
            status: Some(status),
            latency: Some(latency),
            body: Some(self.redactor.redact_and_truncate(body.trim(), EXCERPT)),
            problem,
        }
    }

    /// The first assertion the answer fails, if any.
    fn judge(&self, status: u16, body: &str, latency: Duration) -> Option<Problem> {
        if !self
            .expect
            .iter()
            .any(|r| (r.from..=r.to).contains(&status))
        {
            return Some(Problem {
                kind: ProblemKind::Status,
                message: format!("status {status}, expected {}", show_ranges(&self.expect)),
                hard: hard_status(status),
            });
        }
        let soft = |kind, message| {
            Some(Problem {
                kind,
                message,
                hard: false,
            })
        };
        if let Some(max) = self.max_latency {
            if latency > max {
                return soft(
                    ProblemKind::Latency,
                    format!(
                        "answered in {} ms, more than the {} ms allowed",
                        latency.as_millis(),
                        max.as_millis()
                    ),
                );
            }
        }
        if let Some(re) = &self.body_regex {
            if !re.is_match(body) {
                return soft(
                    ProblemKind::Body,
                    format!("the body does not match /{}/", re.as_str()),
                );
            }
        }
        if self.json.is_empty() {
            return None;
        }
        let doc: serde_json::Value = match serde_json::from_str(body) {
            Ok(doc) => doc,
            Err(e) => return soft(ProblemKind::Json, format!("the body is not JSON: {e}")),
        };
        for (path, expected) in &self.json {
            match path.find(&doc) {
                Some(actual) if same(actual, expected) => {}
                Some(actual) => {
                    return soft(
                        ProblemKind::Json,
                        format!("{path} is {actual}, expected {expected}"),
                    )
                }
                None => {
                    return soft(
                        ProblemKind::Json,
                        format!("{path} is missing, expected {expected}"),
                    )
                }
            }
        }
        None
    }
}

impl Attempt {
    fn network(status: Option<u16>, e: &reqwest::Error) -> Attempt {
        let kind = ProblemKind::from_transport(crate::http::transport_kind(e));
        Attempt {
            status,
            latency: None,
            body: None,
            problem: Some(Problem {
                kind,
                message: describe(e),
                hard: matches!(kind, ProblemKind::Dns | ProblemKind::Tls),
            }),
        }
    }
}

/// A reqwest error as one line: its own text plus the innermost cause, which names the
/// real reason ("connection refused", "invalid peer certificate: UnknownIssuer").
fn describe(e: &reqwest::Error) -> String {
    let mut root: &dyn std::error::Error = e;
    while let Some(next) = root.source() {
        root = next;
    }
    let own = e.to_string();
    let cause = root.to_string();
    if own.contains(&cause) {
        own
    } else {
        format!("{own}: {cause}")
    }
}

async fn read_body(mut response: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = BODY_LIMIT.saturating_sub(bytes.len());
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if bytes.len() >= BODY_LIMIT {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// JSON equality, with a string expectation also matching a number or boolean of the same
/// text (`$.build: "42"` accepts `42`), since templates always expand to strings.
fn same(actual: &serde_json::Value, expected: &serde_json::Value) -> bool {
    use serde_json::Value;
    actual == expected
        || match (actual, expected) {
            (Value::Number(n), Value::String(s)) => n.to_string() == *s,
            (Value::Bool(b), Value::String(s)) => b.to_string() == *s,
            _ => false,
        }
}

fn hard_status(status: u16) -> bool {
    (400..500).contains(&status) && !matches!(status, 404 | 408 | 425 | 429)
}

fn is_sensitive(name: &HeaderName) -> bool {
    let n = name.as_str();
    matches!(n, "authorization" | "proxy-authorization" | "cookie")
        || n.contains("token")
        || n.contains("secret")
        || n.contains("api-key")
        || n.contains("apikey")
}

fn show_ranges(ranges: &[StatusRange]) -> String {
    ranges
        .iter()
        .map(|r| {
            if r.from == r.to {
                r.from.to_string()
            } else {
                format!("{}-{}", r.from, r.to)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

static ENV_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}").expect("a valid regex"));

/// Replace `${NAME}` with the environment's value, masking it: these are the secrets.
fn expand_env(text: &str, env: &Env, console: &Console, what: &str) -> Result<String, HealthError> {
    let mut missing = None;
    let out = ENV_REF.replace_all(text, |c: &regex::Captures| {
        let name = &c[1];
        match env.get(name) {
            Some(v) => {
                console.mask(v);
                v.to_string()
            }
            None => {
                missing.get_or_insert_with(|| name.to_string());
                String::new()
            }
        }
    });
    match missing {
        Some(var) => Err(HealthError::MissingEnv {
            var,
            what: what.to_string(),
        }),
        None => Ok(out.into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Redactor;
    use serde_json::json;

    fn probe(url: &str) -> Probe {
        Probe {
            url: url.into(),
            method: "GET".into(),
            headers: Vec::new(),
            expect_status: vec![StatusRange { from: 200, to: 299 }],
            body_regex: None,
            json: Vec::new(),
            max_latency: None,
            ca_file: None,
            follow_redirects: true,
        }
    }

    fn vars() -> Vars {
        Vars {
            app: "web".into(),
            env: "staging".into(),
            version: Some("1.2.3".into()),
            sha: Some("abc123".into()),
        }
    }

    fn prepare(p: &Probe, env: &Env) -> (Result<Prepared, HealthError>, Console) {
        let (console, _) = Console::capture(Redactor::new());
        let prepared = Prepared::new(p, &vars(), env, &console, reqwest::Client::new());
        (prepared, console)
    }

    #[test]
    fn env_headers_expand_masked_and_sensitive() {
        let mut p = probe("https://{app}.example.com/healthz?v={version}");
        p.headers = vec![("X-Probe".into(), "Bearer ${PROBE_TOKEN}".into())];
        let mut env = Env::default();
        env.set("PROBE_TOKEN", "tok-very-secret");
        let (prepared, console) = prepare(&p, &env);
        let prepared = prepared.unwrap();
        assert_eq!(
            prepared.url.as_str(),
            "https://web.example.com/healthz?v=1.2.3"
        );
        let value = &prepared.headers["x-probe"];
        assert!(value.is_sensitive());
        assert_eq!(value.to_str().unwrap(), "Bearer tok-very-secret");
        assert_eq!(console.redactor.redact("tok-very-secret"), "***");
    }

    #[test]
    fn literal_credentials_are_masked_whole() {
        let mut p = probe("https://x.example.com/");
        p.headers = vec![("Authorization".into(), "Basic dXNlcjpwYXNz".into())];
        let (prepared, console) = prepare(&p, &Env::default());
        assert!(prepared.unwrap().headers["authorization"].is_sensitive());
        assert_eq!(console.redactor.redact("Basic dXNlcjpwYXNz"), "***");
    }

    #[test]
    fn a_missing_env_var_or_version_is_a_clear_error() {
        let mut p = probe("https://x.example.com/");
        p.headers = vec![("Authorization".into(), "${NOPE}".into())];
        let (err, _) = prepare(&p, &Env::default());
        assert_eq!(
            err.unwrap_err().to_string(),
            "the header `Authorization` needs the environment variable `NOPE`, which is not set"
        );

        let mut p = probe("https://x.example.com/");
        p.json = vec![("$.version".into(), json!("{version}"))];
        let (console, _) = Console::capture(Redactor::new());
        let no_version = Vars {
            version: None,
            ..vars()
        };
        let err = Prepared::new(
            &p,
            &no_version,
            &Env::default(),
            &console,
            reqwest::Client::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("`{version}`"), "{err}");
    }

    #[test]
    fn bad_urls_methods_and_paths_are_rejected() {
        let (e, _) = prepare(&probe("ftp://x/"), &Env::default());
        assert!(e.unwrap_err().to_string().contains("not http or https"));
        let (e, _) = prepare(&probe("not a url"), &Env::default());
        assert!(e.is_err());
        let mut p = probe("http://x/");
        p.json = vec![("version".into(), json!("1"))];
        let (e, _) = prepare(&p, &Env::default());
        assert!(e.unwrap_err().to_string().contains("starts with `$`"));
    }

    #[test]
    fn judging_checks_status_latency_body_then_json() {
        let mut p = probe("http://x/");
        p.body_regex = Some("\"ok\"".into());
        p.json = vec![
            ("$.version".into(), json!("{version}")),
            ("$.build".into(), json!("42")),
        ];
        p.max_latency = Some(Duration::from_millis(100));
        let (prepared, _) = prepare(&p, &Env::default());
        let prepared = prepared.unwrap();
        let fast = Duration::from_millis(5);
        let good = r#"{"status":"ok","version":"1.2.3","build":42}"#;
        assert_eq!(prepared.judge(200, good, fast), None);

        let problem = prepared.judge(401, good, fast).unwrap();
        assert_eq!((problem.kind, problem.hard), (ProblemKind::Status, true));
        assert_eq!(problem.message, "status 401, expected 200-299");
        assert!(!prepared.judge(404, good, fast).unwrap().hard);
        assert!(!prepared.judge(503, good, fast).unwrap().hard);

        let slow = prepared
            .judge(200, good, Duration::from_millis(150))
            .unwrap();
        assert_eq!(slow.kind, ProblemKind::Latency);

        let old = r#"{"status":"ok","version":"1.2.2","build":42}"#;
        let problem = prepared.judge(200, old, fast).unwrap();
        assert_eq!(
            (problem.kind, problem.message.as_str()),
            (
                ProblemKind::Json,
                r#"$.version is "1.2.2", expected "1.2.3""#
            )
        );
        assert_eq!(
            prepared.judge(200, "down", fast).unwrap().kind,
            ProblemKind::Body
        );
        assert!(prepared
            .judge(200, r#"{"status":"ok"}"#, fast)
            .unwrap()
            .message
            .contains("missing"));
    }
}
