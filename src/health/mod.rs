//! The health gate: probe a target's endpoints until they are healthy and stay healthy for the
//! soak window, then give a verdict with its evidence. `stage-gate health` and the `deploy`
//! conductor (after its provider finishes) both call [`gate`].
//!
//! Parts: `probe` (one request and its assertions), `schedule` (when to probe and stop),
//! `verdict` (the verdict, the evidence and their renderings); JSONPath assertions are
//! `crate::jsonpath` (the config validates them too). This module runs every probe of a gate concurrently; at most [`MAX_IN_FLIGHT`]
//! requests are open at once. It never deploys, rolls back or exits: callers decide what a
//! failed gate means.

pub(crate) mod probe;
pub mod schedule;
pub(crate) mod verdict;

pub use verdict::{
    GateReport, Latency, ProbeEvidence, ProbeVerdict, Problem, ProblemKind, Verdict,
};

use crate::config::{HealthConfig, Probe, StatusRange, Target};
use crate::inputs::Env;
use crate::report::Console;
use probe::{Attempt, Prepared};
use schedule::{Decision, End, Outcome, Schedule, Tracker};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};

/// Requests open at once across the probes of one gate: enough for every region of every app,
/// few enough not to exhaust file descriptors or look like an attack.
pub(crate) const MAX_IN_FLIGHT: usize = 64;

/// What `{app}`, `{env}`, `{version}` and `{sha}` stand for in probe URLs, headers and JSON
/// assertions.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    pub app: String,
    pub env: String,
    pub version: Option<String>,
    pub sha: Option<String>,
}

impl Vars {
    /// Expand the templates in `text`; `what` names the text in errors.
    pub(crate) fn expand(&self, text: &str, what: &str) -> Result<String, HealthError> {
        let mut out = text.replace("{app}", &self.app).replace("{env}", &self.env);
        for (name, value) in [("version", &self.version), ("sha", &self.sha)] {
            let template = format!("{{{name}}}");
            if out.contains(&template) {
                let value = value.as_deref().ok_or_else(|| HealthError::MissingVar {
                    var: name,
                    what: what.to_string(),
                    help: if name == "version" {
                        "pass --version or the `version` input"
                    } else {
                        "set GITHUB_SHA or run inside the git checkout"
                    },
                })?;
                out = out.replace(&template, value);
            }
        }
        Ok(out)
    }

    pub(crate) fn expand_value(
        &self,
        value: &serde_json::Value,
        what: &str,
    ) -> Result<serde_json::Value, HealthError> {
        Ok(match value {
            serde_json::Value::String(s) => serde_json::Value::String(self.expand(s, what)?),
            other => other.clone(),
        })
    }
}

/// What the gate needs from its surroundings.
#[derive(Debug, Clone, Copy)]
pub struct Deps<'a> {
    /// Where `${ENV}` in headers and URLs is looked up.
    pub env: &'a Env,
    /// Progress lines, and the redactor that masks expanded secrets.
    pub console: &'a Console,
    /// Relative `ca-file` paths are relative to it.
    pub root: &'a Path,
}

impl<'a> From<&'a crate::context::Ctx> for Deps<'a> {
    fn from(ctx: &'a crate::context::Ctx) -> Self {
        Deps {
            env: &ctx.env,
            console: &ctx.console,
            root: &ctx.root,
        }
    }
}

/// A probe that cannot run as written. Found before any request is made.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("{what} needs the environment variable `{var}`, which is not set")]
    MissingEnv { var: String, what: String },
    #[error("{what} uses `{{{var}}}`, but no {var} is known here ({help})")]
    MissingVar {
        var: &'static str,
        what: String,
        help: &'static str,
    },
    #[error("probe URL `{url}` is invalid: {reason}")]
    Url { url: String, reason: String },
    #[error("probe {url}: {what}")]
    Invalid { url: String, what: String },
    #[error("ca-file {path}: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("cannot build the HTTP client for the probes: {0}")]
    Client(String),
}

impl From<HealthError> for crate::exit::Failure {
    fn from(e: HealthError) -> Self {
        match e {
            HealthError::Client(_) => crate::exit::Failure::internal(e),
            _ => crate::exit::Failure::input(e),
        }
    }
}

/// The health config to gate `target` with: its own, or when it has no probes but a `url`,
/// one default probe of that URL (what `curl -f $URL` after a deploy did).
pub fn config_for(target: &Target) -> HealthConfig {
    let mut cfg = target.health.clone();
    if cfg.probes.is_empty() {
        if let Some(url) = &target.url {
            cfg.probes.push(default_probe(url));
        }
    }
    cfg
}

/// A GET of `url` accepting 200-399, following redirects.
pub fn default_probe(url: &str) -> Probe {
    Probe {
        url: url.to_string(),
        method: "GET".into(),
        headers: Vec::new(),
        expect_status: vec![StatusRange { from: 200, to: 399 }],
        body_regex: None,
        json: Vec::new(),
        max_latency: None,
        ca_file: None,
        follow_redirects: true,
    }
}

/// Run every probe of `cfg` until each has a verdict. Errors only for probes that cannot run
/// as written (a missing variable, an unreadable CA file); a failing endpoint is a verdict.
/// Progress lines go to the console; callers wrap them in a log group if they want one
/// (gates may run concurrently, and Actions groups do not nest).
pub async fn gate(
    cfg: &HealthConfig,
    vars: &Vars,
    deps: Deps<'_>,
) -> Result<GateReport, HealthError> {
    let prepared = prepare(cfg, vars, deps)?;
    let schedule = Schedule::from(cfg);
    let limiter = Semaphore::new(MAX_IN_FLIGHT);
    let (stop_tx, stop_rx) = watch::channel(false);
    let start = Instant::now();
    let runs = prepared.iter().map(|p| {
        let watcher = Watcher {
            probe: p,
            schedule: &schedule,
            limiter: &limiter,
            stop: stop_rx.clone(),
            start,
            console: deps.console,
        };
        let stop_tx = &stop_tx;
        async move {
            let evidence = watcher.run().await;
            if evidence.verdict != ProbeVerdict::Healthy {
                // The gate has failed; the other probes cannot change that.
                let _ = stop_tx.send(true);
            }
            evidence
        }
    });
    let probes = futures::future::join_all(runs).await;
    Ok(GateReport {
        app: vars.app.clone(),
        env: vars.env.clone(),
        verdict: Verdict::of(&probes),
        elapsed_ms: start.elapsed().as_millis() as u64,
        probes,
    })
}

/// Expand every probe and give each a client; probes with the same redirect and CA settings
/// share one.
fn prepare(cfg: &HealthConfig, vars: &Vars, deps: Deps<'_>) -> Result<Vec<Prepared>, HealthError> {
    let mut clients: HashMap<(bool, Option<PathBuf>), reqwest::Client> = HashMap::new();
    cfg.probes
        .iter()
        .map(|p| {
            let ca = p.ca_file.as_ref().map(|f| deps.root.join(f));
            let key = (p.follow_redirects, ca.clone());
            let client = match clients.get(&key) {
                Some(c) => c.clone(),
                None => {
                    let roots = match &ca {
                        Some(path) => read_ca(path)?,
                        None => Vec::new(),
                    };
                    let c = crate::http::probe_client(p.follow_redirects, &roots)
                        .map_err(|e| HealthError::Client(e.to_string()))?;
                    clients.insert(key, c.clone());
                    c
                }
            };
            Prepared::new(p, vars, deps.env, deps.console, client)
        })
        .collect()
}

fn read_ca(path: &Path) -> Result<Vec<reqwest::Certificate>, HealthError> {
    let err = |reason: String| HealthError::CaFile {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| err(format!("not a PEM certificate bundle: {e}")))?;
    if certs.is_empty() {
        return Err(err("holds no PEM certificate".into()));
    }
    Ok(certs)
}

/// The loop of one probe: attempt, record, wait, until the schedule says done.
struct Watcher<'a> {
    probe: &'a Prepared,
    schedule: &'a Schedule,
    limiter: &'a Semaphore,
    stop: watch::Receiver<bool>,
    start: Instant,
    console: &'a Console,
}

/// What the probe saw so far.
#[derive(Default)]
struct Seen {
    attempts: u32,
    last: Option<Attempt>,
    /// The last attempt that got an answer: when the final attempt died on the network (often
    /// cut short by the deadline), what the server said before is the better evidence.
    answered: Option<Attempt>,
    latencies: Vec<Duration>,
}

impl Watcher<'_> {
    async fn run(mut self) -> ProbeEvidence {
        let mut tracker = Tracker::new(self.schedule.clone());
        let mut seen = Seen::default();
        let end = self.watch(&mut tracker, &mut seen).await;
        let verdict = match end {
            Some(End::Healthy) => ProbeVerdict::Healthy,
            Some(End::SoakBroken { .. } | End::HardFailures { .. }) => ProbeVerdict::Unhealthy,
            Some(End::Deadline) => ProbeVerdict::Timeout,
            None => ProbeVerdict::Cancelled,
        };
        self.evidence(verdict, end, &tracker, seen)
    }

    /// `None` when stopped because another probe failed the gate.
    async fn watch(&mut self, tracker: &mut Tracker, seen: &mut Seen) -> Option<End> {
        let mut wait = self.schedule.initial_delay;
        loop {
            if !self.pause(wait).await {
                return None;
            }
            let permit = self.limiter.acquire().await.ok()?;
            let started = self.start.elapsed();
            if !tracker.may_start(started) {
                return Some(End::Deadline);
            }
            let timeout = tracker.request_timeout(started);
            let attempt = tokio::select! {
                a = self.probe.attempt(timeout) => a,
                _ = self.stop.wait_for(|stop| *stop) => return None,
            };
            drop(permit);
            let now = self.start.elapsed();
            seen.attempts += 1;
            seen.latencies.extend(attempt.latency);
            let outcome = match &attempt.problem {
                None => Outcome::Pass,
                Some(p) => Outcome::Fail { hard: p.hard },
            };
            let was_healthy = tracker.healthy_at().is_some();
            let decision = tracker.record(outcome, started, now, rand::random::<f64>());
            let turned_healthy = !was_healthy && tracker.healthy_at().is_some();
            self.narrate(&attempt, seen.last.as_ref(), seen.attempts, turned_healthy);
            if attempt.status.is_some() {
                seen.answered = Some(attempt.clone());
            }
            // An attempt the gate's own deadline cut short says nothing about the service:
            // the evidence keeps the problem the attempt before it found.
            let cut_by_deadline = timeout < self.schedule.timeout
                && attempt
                    .problem
                    .as_ref()
                    .is_some_and(|p| p.kind == verdict::ProblemKind::Timeout);
            if !(cut_by_deadline && seen.last.is_some()) {
                seen.last = Some(attempt);
            }
            match decision {
                Decision::Wait(d) => wait = d,
                Decision::Done(end) => return Some(end),
            }
        }
    }

    /// Progress on the console: every attempt when verbose; otherwise only changes (a new
    /// problem, the start of the soak window), so a five-minute gate is neither silent nor noisy.
    fn narrate(&self, attempt: &Attempt, previous: Option<&Attempt>, n: u32, turned_healthy: bool) {
        let what = |a: &Attempt| {
            a.problem
                .as_ref()
                .map(|p| format!("{} ({})", p.message, p.kind.as_str()))
        };
        let now = what(attempt);
        let line = format!(
            "health: {} {} attempt {n}: {}",
            self.probe.method,
            self.probe.shown_url,
            now.as_deref().unwrap_or("pass")
        );
        if now.is_some() && now != previous.and_then(what) {
            self.console.info(line);
        } else {
            self.console.debug(line);
        }
        if turned_healthy && !self.schedule.soak.is_zero() {
            self.console.info(format!(
                "health: {} {}: healthy; it must stay healthy for the {} soak",
                self.probe.method,
                self.probe.shown_url,
                humantime::format_duration(self.schedule.soak)
            ));
        }
    }

    /// Sleep, unless the gate is stopped first; false when stopped.
    async fn pause(&mut self, d: Duration) -> bool {
        if *self.stop.borrow() {
            return false;
        }
        if d.is_zero() {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = self.stop.wait_for(|stop| *stop) => false,
        }
    }

    fn evidence(
        &self,
        verdict: ProbeVerdict,
        end: Option<End>,
        tracker: &Tracker,
        seen: Seen,
    ) -> ProbeEvidence {
        let redact = |s: &str| self.console.redactor.redact(s);
        let last = seen.last.as_ref();
        let problem = last.and_then(|a| a.problem.clone()).map(|mut p| {
            p.message = redact(&p.message);
            p
        });
        let reason = ProbeEvidence::reason_for(end, problem.as_ref(), self.schedule.soak);
        let evidence = ProbeEvidence {
            method: self.probe.method.to_string(),
            url: self.probe.shown_url.clone(),
            verdict,
            reason,
            attempts: seen.attempts,
            last_status: seen.answered.as_ref().and_then(|a| a.status),
            last_problem: problem,
            body_excerpt: seen
                .answered
                .as_ref()
                .and_then(|a| a.body.as_deref())
                .map(redact),
            latency: Latency::of(&seen.latencies),
            healthy_after_ms: tracker.healthy_at().map(|d| d.as_millis() as u64),
            elapsed_ms: self.start.elapsed().as_millis() as u64,
        };
        self.console.info(format!(
            "health: {} {}: {} ({})",
            evidence.method,
            evidence.url,
            verdict.as_str(),
            evidence.reason
        ));
        evidence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_expand_known_templates_only() {
        let v = Vars {
            app: "web".into(),
            env: "prod".into(),
            version: Some("2.0.0".into()),
            sha: None,
        };
        assert_eq!(
            v.expand("https://{app}-{env}.fly.dev/v/{version}/{other}", "x")
                .unwrap(),
            "https://web-prod.fly.dev/v/2.0.0/{other}"
        );
        let err = v.expand("{sha}", "the URL").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the URL uses `{sha}`, but no sha is known here \
             (set GITHUB_SHA or run inside the git checkout)"
        );
        assert_eq!(
            v.expand_value(&serde_json::json!(3), "x").unwrap(),
            serde_json::json!(3)
        );
    }

    #[test]
    fn a_target_url_without_probes_becomes_one_default_probe() {
        let mut target = Target {
            app: "web".into(),
            env: "staging".into(),
            provider: crate::config::ProviderConfig::Command(crate::config::CommandConfig {
                run: "true".into(),
                rollback: None,
                working_directory: None,
                secret_env: Vec::new(),
            }),
            url: None,
            health: HealthConfig::default(),
            rollback_on_failure: false,
            timeout: Duration::from_secs(60),
        };
        assert!(config_for(&target).probes.is_empty());
        target.url = Some("https://web.example.com/healthz".into());
        let probes = config_for(&target).probes;
        assert_eq!(probes.len(), 1);
        assert_eq!(probes[0].url, "https://web.example.com/healthz");
        assert_eq!(probes[0].method, "GET");
        assert_eq!(
            probes[0].expect_status,
            vec![StatusRange { from: 200, to: 399 }]
        );
        // Configured probes win over the URL.
        target
            .health
            .probes
            .push(default_probe("https://other.example.com/"));
        assert_eq!(
            config_for(&target).probes[0].url,
            "https://other.example.com/"
        );
    }

    #[test]
    fn unreadable_or_empty_ca_files_are_input_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = read_ca(&dir.path().join("nope.pem")).unwrap_err();
        assert!(missing.to_string().starts_with("ca-file "), "{missing}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not pem").unwrap();
        assert!(read_ca(&empty).is_err());
        let failure: crate::exit::Failure = missing.into();
        assert_eq!(failure.exit, crate::exit::Exit::InvalidInput);
    }
}
