//! The promotion gate: may `candidate` go to an environment that `requires` another?
//!
//! Pure: it reads deployment records (already fetched from GitHub) and the clock, and says
//! open or closed with every reason. Open only when the required environment's latest
//! deployment of the app is the same commit (and the same image digest, when images are
//! used), its latest status is `success`, and it has been successful for at least `soak`.

use crate::artifact::ImageName;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;

/// One deployment of an app to an environment, as recorded in GitHub.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub id: u64,
    pub sha: String,
    pub created_at: DateTime<Utc>,
    /// The image the deploy was given (deployment payload), when it was given one.
    pub image: Option<String>,
    /// The artifact the deploy ran, as its success status recorded it (`repo@sha256:…`).
    pub artifact: Option<String>,
    pub version: Option<String>,
    /// Latest status state (`success`, `failure`, `error`, `in_progress`, `queued`, `inactive`, …).
    pub state: Option<String>,
    /// When the deployment first reached `success`.
    pub succeeded_at: Option<DateTime<Utc>>,
    /// The workflow run that made it.
    pub run_id: Option<String>,
}

/// What production would deploy.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub sha: String,
    pub image: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Closed {
    /// The required environment has never had a deployment of this app.
    NoDeployment { env: String },
    /// The required environment's latest deployment is another commit.
    DifferentSha {
        env: String,
        latest_sha: String,
        candidate_sha: String,
        candidate_seen: bool,
    },
    /// The latest deployment of this commit did not succeed (or failed after succeeding).
    NotSuccessful {
        env: String,
        sha: String,
        state: String,
    },
    /// Successful, but not for long enough.
    SoakNotMet {
        env: String,
        remaining_secs: u64,
        soak_secs: u64,
    },
    /// Same commit, another image.
    DigestMismatch {
        env: String,
        proven: String,
        candidate: String,
    },
}

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = |s: &str| s[..s.len().min(7)].to_string();
        match self {
            Closed::NoDeployment { env } => {
                write!(
                    f,
                    "`{env}` has no deployment of this app: deploy it to `{env}` first"
                )
            }
            Closed::DifferentSha {
                env,
                latest_sha,
                candidate_sha,
                candidate_seen,
            } => {
                if *candidate_seen {
                    write!(f, "`{env}` has moved on: its latest deployment is {} but this is {} (promote the latest, or redeploy {} to `{env}`)", short(latest_sha), short(candidate_sha), short(candidate_sha))
                } else {
                    write!(
                        f,
                        "commit {} was never deployed to `{env}` (its latest deployment is {})",
                        short(candidate_sha),
                        short(latest_sha)
                    )
                }
            }
            Closed::NotSuccessful { env, sha, state } => write!(
                f,
                "the latest deployment of {} to `{env}` is `{state}`, not `success`",
                short(sha)
            ),
            Closed::SoakNotMet {
                env,
                remaining_secs,
                soak_secs,
            } => write!(
                f,
                "`{env}` has run this commit for less than the required soak of {}: {} to go",
                humantime::format_duration(Duration::from_secs(*soak_secs)),
                humantime::format_duration(Duration::from_secs(*remaining_secs))
            ),
            Closed::DigestMismatch {
                env,
                proven,
                candidate,
            } => write!(
                f,
                "the image differs: `{env}` proved {proven} but this deploy would ship {candidate}"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub open: bool,
    pub closed: Vec<Closed>,
    /// The record that proved the candidate, when the gate is open.
    pub proof: Option<Record>,
}

impl Record {
    /// What this deploy ran, as exactly as it was recorded: the digest reference its success
    /// status names, else the image its payload names (a tag, not pinned).
    pub fn proven_artifact(&self) -> Option<&str> {
        self.artifact.as_deref().or(self.image.as_deref())
    }
}

pub fn evaluate(
    env: &str,
    soak: Duration,
    records: &[Record],
    candidate: &Candidate,
    now: DateTime<Utc>,
) -> Decision {
    let mut sorted: Vec<&Record> = records.iter().collect();
    sorted.sort_by_key(|r| (r.created_at, r.id));
    let Some(latest) = sorted.last() else {
        return closed(vec![Closed::NoDeployment { env: env.into() }]);
    };
    if latest.sha != candidate.sha {
        let seen = sorted.iter().any(|r| r.sha == candidate.sha);
        return closed(vec![Closed::DifferentSha {
            env: env.into(),
            latest_sha: latest.sha.clone(),
            candidate_sha: candidate.sha.clone(),
            candidate_seen: seen,
        }]);
    }
    let mut reasons = Vec::new();
    let state = latest.state.clone().unwrap_or_else(|| "pending".into());
    if state != "success" {
        reasons.push(Closed::NotSuccessful {
            env: env.into(),
            sha: latest.sha.clone(),
            state,
        });
    } else {
        let since = latest.succeeded_at.unwrap_or(latest.created_at);
        let age = (now - since).to_std().unwrap_or(Duration::ZERO);
        if age < soak {
            reasons.push(Closed::SoakNotMet {
                env: env.into(),
                remaining_secs: (soak - age).as_secs().max(1),
                soak_secs: soak.as_secs(),
            });
        }
    }
    if let (Some(proven), Some(cand)) = (latest.proven_artifact(), &candidate.image) {
        if !same_artifact(latest, cand) {
            reasons.push(Closed::DigestMismatch {
                env: env.into(),
                proven: proven.to_string(),
                candidate: cand.clone(),
            });
        }
    }
    if reasons.is_empty() {
        Decision {
            open: true,
            closed: vec![],
            proof: Some((*latest).clone()),
        }
    } else {
        closed(reasons)
    }
}

fn closed(reasons: Vec<Closed>) -> Decision {
    Decision {
        open: false,
        closed: reasons,
        proof: None,
    }
}

/// Whether `candidate` names the bytes `proof` ran: the same digest (under any repository
/// name), or — for a reference without a digest — the very reference the proof was given
/// (what production then gets is the digest it resolved to in the proving environment).
fn same_artifact(proof: &Record, candidate: &str) -> bool {
    let cand = ImageName::parse(candidate);
    let proven = proof.proven_artifact().map(ImageName::parse);
    match (
        &cand.digest,
        proven.as_ref().and_then(|p| p.digest.as_ref()),
    ) {
        (Some(c), Some(p)) => c == p,
        _ => {
            proof.image.as_deref() == Some(candidate) || proof.proven_artifact() == Some(candidate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(mins: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + chrono::Duration::minutes(mins)
    }

    fn rec(id: u64, sha: &str, at: i64, state: &str) -> Record {
        Record {
            id,
            sha: sha.into(),
            created_at: t(at),
            image: None,
            artifact: None,
            version: None,
            state: Some(state.into()),
            succeeded_at: (state == "success").then(|| t(at + 1)),
            run_id: None,
        }
    }

    fn cand(sha: &str) -> Candidate {
        Candidate {
            sha: sha.into(),
            image: None,
        }
    }

    const SOAK: Duration = Duration::from_secs(600);

    #[test]
    fn open_when_latest_is_the_same_commit_successful_and_soaked() {
        let d = evaluate(
            "staging",
            SOAK,
            &[rec(1, "aaa", 0, "success")],
            &cand("aaa"),
            t(30),
        );
        assert!(d.open, "{d:?}");
        assert_eq!(d.proof.unwrap().id, 1);
    }

    #[test]
    fn closed_without_any_deployment() {
        let d = evaluate("staging", SOAK, &[], &cand("aaa"), t(30));
        assert_eq!(
            d.closed,
            vec![Closed::NoDeployment {
                env: "staging".into()
            }]
        );
        assert!(d.closed[0]
            .to_string()
            .contains("deploy it to `staging` first"));
    }

    #[test]
    fn closed_when_staging_failed_after_a_success() {
        let recs = [rec(1, "aaa", 0, "success"), rec(2, "aaa", 20, "failure")];
        let d = evaluate("staging", SOAK, &recs, &cand("aaa"), t(60));
        assert!(matches!(&d.closed[0], Closed::NotSuccessful { state, .. } if state == "failure"));
    }

    #[test]
    fn closed_for_a_different_sha() {
        let recs = [rec(1, "aaa", 0, "success"), rec(2, "bbb", 20, "success")];
        let d = evaluate("staging", SOAK, &recs, &cand("aaa"), t(60));
        assert!(matches!(
            &d.closed[0],
            Closed::DifferentSha {
                candidate_seen: true,
                ..
            }
        ));
        let d = evaluate("staging", SOAK, &recs, &cand("ccc"), t(60));
        assert!(d.closed[0].to_string().contains("never deployed"));
    }

    #[test]
    fn closed_until_the_soak_is_met() {
        let d = evaluate(
            "staging",
            SOAK,
            &[rec(1, "aaa", 0, "success")],
            &cand("aaa"),
            t(5),
        );
        assert_eq!(
            d.closed,
            vec![Closed::SoakNotMet {
                env: "staging".into(),
                remaining_secs: 360,
                soak_secs: 600
            }]
        );
        assert!(
            d.closed[0].to_string().contains("6m to go"),
            "{}",
            d.closed[0]
        );
    }

    #[test]
    fn closed_on_digest_mismatch() {
        let mut r = rec(1, "aaa", 0, "success");
        r.image = Some("registry.fly.io/app@sha256:111".into());
        let c = Candidate {
            sha: "aaa".into(),
            image: Some("registry.fly.io/app-prod@sha256:222".into()),
        };
        let d = evaluate("staging", SOAK, &[r.clone()], &c, t(60));
        assert!(matches!(d.closed[0], Closed::DigestMismatch { .. }));
        // The same digest under another repository name is the same image.
        let c = Candidate {
            sha: "aaa".into(),
            image: Some("registry.fly.io/app-prod@sha256:111".into()),
        };
        assert!(evaluate("staging", SOAK, &[r], &c, t(60)).open);
    }

    #[test]
    fn in_progress_is_not_proof() {
        let d = evaluate(
            "staging",
            SOAK,
            &[rec(1, "aaa", 0, "in_progress")],
            &cand("aaa"),
            t(60),
        );
        assert!(!d.open);
    }
}
