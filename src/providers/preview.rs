//! Previews per pull request as a provider sees them: what to bring up, what `down` found,
//! and the marker that makes a resource ours. The conductor (`crate::preview`) does the
//! rest: records, the health gate, the pull-request comment, sweeping.
//!
//! The marker is what `down` and `sweep` require before deleting anything: a resource named
//! like a preview but without it (an app made by hand) is never touched.

use super::{DeployOutcome, ProviderError};
use crate::config::Target;
use async_trait::async_trait;
use std::time::Instant;

/// Whose preview a resource is: the repository and the pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub repository: String,
    pub pr: u64,
}

impl Marker {
    /// The app secret that marks a Fly app as ours (apps have no metadata of their own).
    pub(crate) const SECRET: &'static str = "STAGE_GATE_PREVIEW_OF";
    /// Machine metadata keys.
    pub(crate) const REPOSITORY_KEY: &'static str = "stage_gate_repository";
    pub(crate) const PR_KEY: &'static str = "stage_gate_pr";
    /// The commit a preview machine runs: a new commit changes it, so a push whose image
    /// tag stayed the same (`web:pr-7`, pushed again) still updates every machine.
    pub(crate) const SHA_KEY: &'static str = "stage_gate_sha";

    /// `acme/shop#42`.
    pub(crate) fn value(&self) -> String {
        format!("{}#{}", self.repository, self.pr)
    }

    pub(crate) fn parse(text: &str) -> Option<Marker> {
        let (repository, pr) = text.trim().rsplit_once('#')?;
        Some(Marker {
            repository: repository.to_string(),
            pr: pr.parse().ok()?,
        })
    }

    /// The metadata every machine of the preview carries, running commit `sha`.
    pub(crate) fn labels(&self, sha: &str) -> Vec<(String, String)> {
        vec![
            (Self::REPOSITORY_KEY.into(), self.repository.clone()),
            (Self::PR_KEY.into(), self.pr.to_string()),
            (Self::SHA_KEY.into(), sha.to_string()),
        ]
    }
}

/// Bring up (or update) one app's preview.
#[derive(Debug, Clone)]
pub struct PreviewRequest {
    /// The target with `{pr}` filled in.
    pub target: Target,
    pub pr: u64,
    /// The pull request's head commit.
    pub sha: String,
    pub image: Option<String>,
    pub marker: Marker,
    pub deadline: Instant,
}

/// What `up` left.
#[derive(Debug, Clone, Default)]
pub struct PreviewUp {
    /// True when this run created the preview (a first deploy).
    pub created: bool,
    /// Where it answers, when the provider knows.
    pub url: Option<String>,
    pub outcome: DeployOutcome,
    /// What was done besides the deploy (app created, addresses, secrets), one line each.
    pub notes: Vec<String>,
}

/// What `down` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviewDown {
    /// It existed, carried our marker, and is gone: what was removed.
    Removed(String),
    /// There was nothing to remove (a second `down`, or never created).
    NothingToRemove(String),
}

/// A resource `sweep` found that is named like a preview of the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The resource's name (a Fly app).
    pub name: String,
    /// The pull request its name says.
    pub pr: u64,
    /// Its marker; None when it carries none (made by hand: never touched).
    pub marker: Option<Marker>,
    /// When it last changed, as the vendor says (a Fly machine's `updated_at`): what a
    /// sweep dates it by when no GitHub record does.
    pub changed_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A provider that can run previews per pull request.
#[async_trait]
pub trait Previews: Send + Sync {
    /// What `up` would call, one line each (`--dry-run`).
    fn planned_up(&self, req: &PreviewRequest) -> Vec<String>;
    /// Everything checkable before a vendor call: credentials, secrets to set, an image.
    fn preflight_up(&self, req: &PreviewRequest) -> Result<(), ProviderError>;
    async fn up(&self, req: &PreviewRequest) -> Result<PreviewUp, ProviderError>;
    /// Tear down the preview of `req` (its target and marker), only when it carries the
    /// marker; a resource without it is `ProviderError::Refused`, touched in no way.
    async fn down(&self, req: &PreviewRequest) -> Result<PreviewDown, ProviderError>;
    /// The resources named like previews of `target` (a template with `{pr}`), for `sweep`;
    /// None when the vendor cannot list them (sweep then goes by the GitHub records).
    async fn list(&self, target: &Target) -> Result<Option<Vec<Found>>, ProviderError>;
}
