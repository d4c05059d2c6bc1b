//! Deploy providers behind one trait; [`for_target`] picks one per target, and
//! [`registry`] says what each reads of the environment (its secrets, masked early).
//!
//! A provider triggers a deploy of one (app, environment) target, waits until it has
//! finished, says which artifact ran, and can roll it back. It does not record GitHub
//! Deployments, run the health gate or notify: `deploy/` conducts those around it. Adding
//! one is a recipe in CONTRIBUTING.md.
//!
//! A provider is built from its settings and a [`Deps`], never the run's whole context:
//! the HTTP client, the console, the cancel signal, the repository root (relative paths),
//! the environment and inputs its credentials come from ([`Deps::secret`] masks them), and
//! the run's URL. Its time limit comes with each request (`DeployRequest::deadline`). A
//! conductor holding a `Ctx` passes `&ctx.provider_deps()`.

pub mod command;
pub mod coolify;
mod deps;
pub mod fly;
pub(crate) mod preview;
pub(crate) mod registry;
pub mod webhook;

use crate::config::{ProviderConfig, Target};
use crate::exit::{Exit, Failure};
use crate::http::HttpError;
use async_trait::async_trait;
pub use deps::Deps;
use serde::Serialize;
use std::time::Instant;

/// What to deploy.
#[derive(Debug, Clone)]
pub struct DeployRequest {
    pub target: Target,
    pub sha: String,
    pub version: Option<String>,
    pub image: Option<String>,
    /// The whole deploy must finish by then.
    pub deadline: Instant,
    /// Metadata every machine (or resource) of the deploy carries: a preview's marker.
    pub labels: Vec<(String, String)>,
    /// The app secrets version machines must see (after a preview set its secrets).
    pub min_secrets_version: Option<u64>,
}

/// What a finished deploy left behind.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeployOutcome {
    /// Ids of what the provider created or updated (machine ids, deployment uuids).
    pub provider_ids: Vec<String>,
    /// The image (or digest) now running, when the provider knows it.
    pub image: Option<String>,
    /// The provider's own version/release number, when it has one.
    pub version: Option<String>,
    /// Enough to roll back: the previous image/config/commit, provider-specific JSON.
    pub rollback_point: Option<serde_json::Value>,
    /// Extra key/value facts for outputs and the summary (e.g. `machines`, `strategy`).
    pub details: Vec<(String, String)>,
}

/// What to roll back to.
#[derive(Debug, Clone)]
pub struct RollbackRequest {
    pub target: Target,
    /// The `rollback_point` of the deploy being undone, when known.
    pub point: Option<serde_json::Value>,
    /// A version, tag, commit or image named by the user.
    pub to: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RollbackOutcome {
    /// What was restored, in words ("3 machines back to registry.fly.io/app:v1").
    pub restored: String,
    pub details: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The target's settings are wrong or incomplete (exit 2).
    #[error("{0}")]
    Config(String),
    /// The deploy ran and failed (exit 4). `rolled_back` says what was restored, if anything:
    /// it is part of the message, so every place that tells the failure tells the restore.
    #[error("{message}{}", rolled_back.as_ref().map(|r| format!("; {}", r.note())).unwrap_or_default())]
    Failed {
        message: String,
        rolled_back: Option<Restore>,
        /// The last lines of the provider's log, masked.
        log_excerpt: Option<String>,
    },
    /// Credentials refused (exit 1, with the fix in the message).
    #[error("{0}")]
    Auth(String),
    /// A credential the deploy needs is not set: an input problem (exit 2), with the fix.
    #[error("{0}")]
    MissingCredential(String),
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A policy refused to go on and nothing was touched (exit 3): a preview name held by
    /// an app that is not ours, a commit older than the one already running.
    #[error("{0}")]
    Refused(String),
    /// The runner cancelled the step: nothing new was started; the message says what state
    /// was left (exit 5).
    #[error("{0}")]
    Cancelled(String),
    #[error("{0}")]
    Other(String),
}

/// The words a restore report uses for a machine it could not put back.
pub(crate) const NOT_RESTORED: &str = "NOT restored";

/// What the restore after a failed deploy left.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Restore {
    /// Everything the deploy changed is back as it was.
    Restored { note: String },
    /// Some of it could not be put back: these machines or applications, each named in the
    /// note with what it runs now.
    NotRestored {
        note: String,
        resources: Vec<String>,
    },
    /// The deploy had changed nothing that needed putting back.
    NothingToRestore { note: String },
}

impl Restore {
    /// From what was done (`note`) and what could not be put back.
    pub(crate) fn from_parts(note: String, not_restored: Vec<String>) -> Restore {
        if not_restored.is_empty() {
            Restore::Restored { note }
        } else {
            Restore::NotRestored {
                note,
                resources: not_restored,
            }
        }
    }

    pub fn note(&self) -> &str {
        match self {
            Restore::Restored { note }
            | Restore::NotRestored { note, .. }
            | Restore::NothingToRestore { note } => note,
        }
    }

    /// The `rollback` output: `restored` or `not-restored` (None when nothing needed it).
    pub(crate) fn word(&self) -> Option<&'static str> {
        match self {
            Restore::Restored { .. } => Some("restored"),
            Restore::NotRestored { .. } => Some("not-restored"),
            Restore::NothingToRestore { .. } => None,
        }
    }

    /// Both restores together, what is still wrong first (GitHub keeps 140 characters).
    pub(crate) fn and(self, later: Option<Restore>) -> Restore {
        let Some(later) = later else { return self };
        let mut resources = Vec::new();
        let mut notes = Vec::new();
        for r in [self, later] {
            let broken = matches!(r, Restore::NotRestored { .. });
            if let Restore::NotRestored { resources: res, .. } = &r {
                resources.extend(res.iter().cloned());
            }
            notes.push((!broken, r.note().to_string()));
        }
        notes.sort_by_key(|(ok, _)| *ok);
        let note = notes
            .into_iter()
            .map(|(_, n)| n)
            .collect::<Vec<_>>()
            .join("; ");
        Restore::from_parts(note, resources)
    }
}

impl ProviderError {
    /// What the restore after this failure left, in one word: `restored`, `not-restored`, or
    /// None when nothing was restored.
    pub fn restore_outcome(&self) -> Option<&'static str> {
        match self {
            ProviderError::Failed {
                rolled_back: Some(r),
                ..
            } => r.word(),
            _ => None,
        }
    }
}

impl From<ProviderError> for Failure {
    fn from(e: ProviderError) -> Self {
        let exit = match &e {
            ProviderError::Config(_) | ProviderError::MissingCredential(_) => Exit::InvalidInput,
            ProviderError::Failed { .. } => Exit::DeployFailed,
            ProviderError::Refused(_) => Exit::GateClosed,
            // Running out of time is the deploy failing, not stage-gate breaking.
            ProviderError::Http(h) if h.is_deadline() => Exit::DeployFailed,
            ProviderError::Cancelled(_) => Exit::Cancelled,
            ProviderError::Auth(_) | ProviderError::Http(_) | ProviderError::Other(_) => {
                Exit::Internal
            }
        };
        Failure::new(exit, e)
    }
}

#[async_trait]
pub trait Provider: Send + Sync {
    fn kind(&self) -> &'static str;
    /// The calls a deploy would make, one line each, for `--dry-run` and `plan`.
    fn planned_calls(&self, req: &DeployRequest) -> Vec<String>;
    /// The calls a rollback would make, one line each, for `rollback --dry-run`.
    fn planned_rollback_calls(&self, req: &RollbackRequest) -> Vec<String> {
        vec![format!(
            "{} rollback of {} in `{}` to {}",
            self.kind(),
            req.target.app,
            req.target.env,
            req.to.as_deref().unwrap_or("the previous deployment")
        )]
    }
    /// What can be checked before anything is recorded or changed: credentials present,
    /// settings complete, tools on PATH. A deploy refused here has touched nothing.
    fn preflight(&self, _req: &DeployRequest) -> Result<(), ProviderError> {
        Ok(())
    }
    /// Whether the target runs an artifact (an image) that a promotion must carry over from
    /// the environment that proved it; without one, the provider would build anew.
    fn needs_artifact(&self) -> bool {
        false
    }
    /// What a rollback cannot put back, said before it runs (None when it puts back all).
    fn rollback_caveat(&self) -> Option<&'static str> {
        None
    }
    /// Previews per pull request, when the provider runs them (Fly, Coolify).
    fn previews(&self) -> Option<&dyn preview::Previews> {
        None
    }
    async fn deploy(&self, req: &DeployRequest) -> Result<DeployOutcome, ProviderError>;
    async fn rollback(&self, req: &RollbackRequest) -> Result<RollbackOutcome, ProviderError>;
}

/// The provider for a target, built with what providers may use of the run (a caller
/// holding the whole context passes `&ctx.provider_deps()`).
pub(crate) fn for_target(target: &Target, deps: &Deps) -> Result<Box<dyn Provider>, ProviderError> {
    (registry::of(&target.provider).build)(&target.provider, deps)
}

/// The config variant a provider's `build` was handed was not its own: a registry entry
/// points at the wrong provider.
pub(crate) fn wrong_config(key: &str) -> ProviderError {
    ProviderError::Other(format!(
        "the `{key}` provider was given another provider's settings"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restore_says_in_one_word_what_it_left_and_what_is_broken_goes_first() {
        let ok = Restore::from_parts("restored 2 machine(s)".into(), vec![]);
        assert_eq!(ok.word(), Some("restored"));
        let broken = Restore::from_parts("NOT restored c".into(), vec!["c".into()]);
        let both = ok.and(Some(broken));
        assert_eq!(both.word(), Some("not-restored"));
        assert_eq!(both.note(), "NOT restored c; restored 2 machine(s)");
        assert!(matches!(&both, Restore::NotRestored { resources, .. } if resources == &["c"]));
        let none = Restore::NothingToRestore {
            note: "no machine had changed".into(),
        };
        assert_eq!(none.word(), None);
        let e = ProviderError::Failed {
            message: "machine b failed".into(),
            rolled_back: Some(both),
            log_excerpt: None,
        };
        assert_eq!(e.restore_outcome(), Some("not-restored"));
        assert_eq!(
            e.to_string(),
            "machine b failed; NOT restored c; restored 2 machine(s)"
        );
    }
}
