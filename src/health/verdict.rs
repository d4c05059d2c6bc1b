//! The verdict of a gate and the evidence behind it, and how both are shown: a step-summary
//! table, a human paragraph, a JSON document. Everything here is already redacted by the
//! probe loop; renderers only format.

use super::schedule::End;
use crate::http::TransportKind;
use crate::report::summary;
use serde::Serialize;
use std::time::Duration;

/// The verdict of a whole gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Healthy,
    Unhealthy,
    Timeout,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Healthy => "healthy",
            Verdict::Unhealthy => "unhealthy",
            Verdict::Timeout => "timeout",
        }
    }

    /// Healthy only when every probe is; any unhealthy probe makes the gate unhealthy;
    /// otherwise a probe ran out of time. No probes at all is healthy: nothing was asked.
    pub(crate) fn of(probes: &[ProbeEvidence]) -> Verdict {
        if probes.iter().any(|p| p.verdict == ProbeVerdict::Unhealthy) {
            Verdict::Unhealthy
        } else if probes.iter().all(|p| p.verdict == ProbeVerdict::Healthy) {
            Verdict::Healthy
        } else {
            Verdict::Timeout
        }
    }
}

/// The verdict of one probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProbeVerdict {
    Healthy,
    Unhealthy,
    Timeout,
    /// Stopped because another probe of the gate had already failed it.
    Cancelled,
}

impl ProbeVerdict {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ProbeVerdict::Healthy => "healthy",
            ProbeVerdict::Unhealthy => "unhealthy",
            ProbeVerdict::Timeout => "timeout",
            ProbeVerdict::Cancelled => "cancelled",
        }
    }
}

/// What went wrong with one attempt: the exact network error, or which assertion failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    Refused,
    Reset,
    Timeout,
    Dns,
    Tls,
    Network,
    Status,
    Body,
    Json,
    Latency,
}

impl ProblemKind {
    pub(crate) fn from_transport(kind: TransportKind) -> Self {
        match kind {
            TransportKind::Refused => ProblemKind::Refused,
            TransportKind::Reset => ProblemKind::Reset,
            TransportKind::Timeout | TransportKind::Deadline => ProblemKind::Timeout,
            TransportKind::Dns => ProblemKind::Dns,
            TransportKind::Tls => ProblemKind::Tls,
            TransportKind::Other => ProblemKind::Network,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Refused => "refused",
            ProblemKind::Reset => "reset",
            ProblemKind::Timeout => "timeout",
            ProblemKind::Dns => "dns",
            ProblemKind::Tls => "tls",
            ProblemKind::Network => "network",
            ProblemKind::Status => "status",
            ProblemKind::Body => "body",
            ProblemKind::Json => "json",
            ProblemKind::Latency => "latency",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: String,
    /// Waiting will not change it (see `probe.rs`).
    pub hard: bool,
}

/// Response times of the attempts that got an answer, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Latency {
    pub min_ms: u64,
    pub p50_ms: u64,
    pub max_ms: u64,
}

impl Latency {
    pub(crate) fn of(samples: &[Duration]) -> Option<Latency> {
        let mut ms: Vec<u64> = samples.iter().map(|d| d.as_millis() as u64).collect();
        ms.sort_unstable();
        Some(Latency {
            min_ms: *ms.first()?,
            p50_ms: ms[(ms.len() - 1) / 2],
            max_ms: *ms.last()?,
        })
    }
}

/// Everything one probe saw, for the summary and the JSON output.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ProbeEvidence {
    pub method: String,
    /// Redacted: `${ENV}` values in it show as `***`.
    pub url: String,
    pub verdict: ProbeVerdict,
    /// One sentence: why this verdict.
    pub reason: String,
    pub attempts: u32,
    /// The status of the last answer received (a later attempt may have got none: see
    /// `last_problem`).
    pub last_status: Option<u16>,
    /// The last attempt's problem, if it had one.
    pub last_problem: Option<Problem>,
    /// The start of the last answer's body (redacted, truncated).
    pub body_excerpt: Option<String>,
    pub latency: Option<Latency>,
    /// When the success threshold was met, from the start of the gate.
    pub healthy_after_ms: Option<u64>,
    pub elapsed_ms: u64,
}

impl ProbeEvidence {
    /// The sentence explaining a probe's end.
    pub(crate) fn reason_for(end: Option<End>, last: Option<&Problem>, soak: Duration) -> String {
        let last = last
            .map(|p| format!("{} ({})", p.message, p.kind.as_str()))
            .unwrap_or_else(|| "no answer yet".into());
        match end {
            Some(End::Healthy) if soak.is_zero() => "healthy".into(),
            Some(End::Healthy) => format!("healthy, and stayed healthy for the {} soak", fmt(soak)),
            Some(End::SoakBroken { after }) => format!(
                "failed {} into the {} soak window: {last}",
                fmt(after),
                fmt(soak)
            ),
            Some(End::HardFailures { count }) => {
                format!("stopped after {count} failures that waiting will not fix: {last}")
            }
            Some(End::Deadline) => format!("not healthy before the deadline; last: {last}"),
            None => "stopped: another probe already failed the gate".into(),
        }
    }
}

fn fmt(d: Duration) -> String {
    // Whole milliseconds: sub-millisecond digits are noise in a summary.
    humantime::format_duration(Duration::from_millis(d.as_millis() as u64)).to_string()
}

/// The result of one gate.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct GateReport {
    pub app: String,
    pub env: String,
    pub verdict: Verdict,
    pub elapsed_ms: u64,
    pub probes: Vec<ProbeEvidence>,
}

/// What a gate probes, in words: `web in staging`; for ad-hoc probes (`health --url`, where
/// app and environment may be empty), whichever of them was given, else the URLs themselves.
pub(crate) fn named(app: &str, env: &str, urls: &[&str]) -> String {
    match (app, env) {
        ("", "") => urls.join(", "),
        (one, "") | ("", one) => one.to_string(),
        (app, env) => format!("{app} in {env}"),
    }
}

impl GateReport {
    pub(crate) fn passed(&self) -> bool {
        self.verdict == Verdict::Healthy
    }

    /// What was probed, as [`named`] says it.
    pub(crate) fn who(&self) -> String {
        let urls: Vec<&str> = self.probes.iter().map(|p| p.url.as_str()).collect();
        named(&self.app, &self.env, &urls)
    }

    /// One line naming the verdict and, when it failed, the first failing probe's reason.
    pub fn headline(&self) -> String {
        let who = self.who();
        let failing = self
            .probes
            .iter()
            .find(|p| matches!(p.verdict, ProbeVerdict::Unhealthy | ProbeVerdict::Timeout));
        match failing {
            None => format!(
                "{who}: {} ({} probe(s))",
                self.verdict.as_str(),
                self.probes.len()
            ),
            Some(p) => format!(
                "{who}: {}: {} {}: {}",
                self.verdict.as_str(),
                p.method,
                p.url,
                p.reason
            ),
        }
    }

    /// The step-summary section: a heading and one row per probe.
    pub fn summary(&self) -> String {
        let rows: Vec<Vec<String>> = self.probes.iter().map(row).collect();
        format!(
            "#### health: {}: {}\n\n{}",
            self.who(),
            self.verdict.as_str(),
            summary::table(
                &[
                    "probe",
                    "verdict",
                    "attempts",
                    "last status",
                    "latency min/p50/max",
                    "why",
                    "body"
                ],
                &rows
            )
        )
    }

    /// Terminal text: the headline, then one line per probe.
    pub fn human(&self) -> String {
        let mut out = self.headline();
        for p in &self.probes {
            out.push_str(&format!(
                "\n  {} {} {}: {} after {} attempt(s); {}",
                p.verdict.as_str(),
                p.method,
                p.url,
                p.last_status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "no answer".into()),
                p.attempts,
                p.reason
            ));
        }
        out
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

fn row(p: &ProbeEvidence) -> Vec<String> {
    vec![
        format!("{} {}", p.method, p.url),
        p.verdict.as_str().to_string(),
        p.attempts.to_string(),
        p.last_status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "—".into()),
        p.latency
            .map(|l| format!("{}/{}/{} ms", l.min_ms, l.p50_ms, l.max_ms))
            .unwrap_or_else(|| "—".into()),
        p.reason.clone(),
        p.body_excerpt
            .as_deref()
            .map(|b| format!("`{}`", b.replace('`', "'")))
            .unwrap_or_default(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(verdict: ProbeVerdict) -> ProbeEvidence {
        ProbeEvidence {
            method: "GET".into(),
            url: "http://127.0.0.1:1/healthz".into(),
            verdict,
            reason: "r".into(),
            attempts: 2,
            last_status: Some(503),
            last_problem: None,
            body_excerpt: Some("{\"status\":\"down\"}".into()),
            latency: Latency::of(&[Duration::from_millis(9), Duration::from_millis(3)]),
            healthy_after_ms: None,
            elapsed_ms: 10,
        }
    }

    #[test]
    fn the_gate_verdict_is_the_worst_probe() {
        use ProbeVerdict::*;
        assert_eq!(Verdict::of(&[evidence(Healthy)]), Verdict::Healthy);
        assert_eq!(Verdict::of(&[]), Verdict::Healthy);
        assert_eq!(
            Verdict::of(&[evidence(Healthy), evidence(Timeout)]),
            Verdict::Timeout
        );
        assert_eq!(
            Verdict::of(&[evidence(Timeout), evidence(Unhealthy), evidence(Cancelled)]),
            Verdict::Unhealthy
        );
    }

    #[test]
    fn latency_percentiles() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|n| Duration::from_millis(*n))
                .collect::<Vec<_>>()
        };
        assert_eq!(Latency::of(&[]), None);
        assert_eq!(
            Latency::of(&ms(&[30, 10, 20, 40])),
            Some(Latency {
                min_ms: 10,
                p50_ms: 20,
                max_ms: 40
            })
        );
    }

    #[test]
    fn reasons_name_the_rule_and_the_last_problem() {
        let p = Problem {
            kind: ProblemKind::Refused,
            message: "connection refused".into(),
            hard: false,
        };
        let soak = Duration::from_secs(30);
        assert_eq!(
            ProbeEvidence::reason_for(Some(End::Deadline), Some(&p), soak),
            "not healthy before the deadline; last: connection refused (refused)"
        );
        assert_eq!(
            ProbeEvidence::reason_for(
                Some(End::SoakBroken {
                    after: Duration::from_millis(1500)
                }),
                Some(&p),
                soak
            ),
            "failed 1s 500ms into the 30s soak window: connection refused (refused)"
        );
        assert_eq!(
            ProbeEvidence::reason_for(Some(End::Healthy), None, Duration::ZERO),
            "healthy"
        );
    }

    #[test]
    fn summary_is_a_table_row_per_probe() {
        let report = GateReport {
            app: "web".into(),
            env: "staging".into(),
            verdict: Verdict::Timeout,
            elapsed_ms: 10,
            probes: vec![evidence(ProbeVerdict::Timeout)],
        };
        let s = report.summary();
        assert!(
            s.starts_with("#### health: web in staging: timeout\n"),
            "{s}"
        );
        assert!(
            s.contains("| GET http://127.0.0.1:1/healthz | timeout | 2 | 503 | 3/3/9 ms | r | `{\"status\":\"down\"}` |"),
            "{s}"
        );
        assert_eq!(
            report.headline(),
            "web in staging: timeout: GET http://127.0.0.1:1/healthz: r"
        );
        assert_eq!(report.json()["probes"][0]["latency"]["max_ms"], 9);
    }
}
