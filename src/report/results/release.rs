//! `stage-gate release`: the GitHub Release made (or, in a dry run, the calls it would make).

use super::CommandResult;
use crate::release::publish::Action;
use crate::report::summary;
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ReleaseResult {
    Published(Published),
    DryRun(ReleaseDryRun),
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Published {
    pub tag: String,
    /// `created`, `joined` (a draft completed), `updated` or `skipped`.
    pub action: Action,
    pub release_id: u64,
    pub release_url: String,
    pub draft: bool,
    pub prerelease: bool,
    pub is_latest: bool,
    /// The upload URL, without its `{?name,label}` template.
    pub upload_url: String,
    /// Every asset of the release.
    pub assets: Vec<ReleasedAsset>,
    pub warnings: Vec<String>,
    #[serde(skip)]
    pub version: String,
    /// What the plan asked for (the `prerelease` output).
    #[serde(skip)]
    pub planned_prerelease: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ReleasedAsset {
    pub name: String,
    /// The browser download URL.
    pub url: String,
    pub size: i64,
    /// `sha256:…`, when GitHub says.
    pub digest: Option<String>,
    /// What this run did to it (`uploaded`, `already there`, …).
    #[serde(skip)]
    pub this_run: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ReleaseDryRun {
    /// Always true.
    pub dry_run: bool,
    pub tag: String,
    /// Every call that would be made, in order.
    pub calls: Vec<String>,
    /// The release's body, whole.
    pub body: String,
    #[serde(skip)]
    pub version: String,
    #[serde(skip)]
    pub prerelease: bool,
    #[serde(skip)]
    pub is_latest: bool,
}

impl Published {
    fn action_words(&self) -> &'static str {
        match self.action {
            Action::Created => "created",
            Action::Joined => "completed",
            Action::Updated => "updated",
            Action::Skipped => "left as it was",
        }
    }

    fn state(&self) -> &'static str {
        if self.draft {
            "draft"
        } else {
            "published"
        }
    }
}

impl CommandResult for ReleaseResult {
    const SCHEMA: &'static str = "stage-gate/release/v1";
    const SCHEMA_PATH: &'static str = "docs/schemas/release-result.json";

    fn title(&self) -> String {
        "release".into()
    }

    fn human(&self) -> String {
        match self {
            ReleaseResult::Published(p) => format!(
                "release `{}` {} ({}): {}\n{} asset(s); upload URL {}",
                p.tag,
                p.action_words(),
                p.state(),
                p.release_url,
                p.assets.len(),
                p.upload_url
            ),
            // The body is what a reviewer of a dry run most wants to see: shown whole.
            ReleaseResult::DryRun(d) => format!(
                "dry run: release `{}` would be made with these calls (none was made):\n{}\n\nits body:\n\n{}",
                d.tag,
                (d.calls.iter())
                    .map(|c| format!("  {c}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                d.body.trim_end()
            ),
        }
    }

    fn summary(&self) -> String {
        match self {
            ReleaseResult::Published(p) => {
                let rows: Vec<Vec<String>> = (p.assets.iter())
                    .map(|a| {
                        vec![
                            format!("[`{}`]({})", a.name, a.url),
                            a.size.to_string(),
                            a.this_run.clone(),
                        ]
                    })
                    .collect();
                format!(
                    "### stage-gate release [`{}`]({}): {} ({})\n\n{}",
                    p.tag,
                    p.release_url,
                    p.action_words(),
                    p.state(),
                    summary::table(&["asset", "bytes", "this run"], &rows)
                )
            }
            ReleaseResult::DryRun(d) => format!(
                "### stage-gate release `{}` (dry run)\n\n```\n{}\n```\n\n#### its body\n\n{}\n",
                d.tag,
                d.calls.join("\n"),
                d.body.trim_end()
            ),
        }
    }

    fn outputs(&self) -> Vec<(&'static str, String)> {
        match self {
            ReleaseResult::Published(p) => vec![
                ("result", "success".into()),
                ("version", p.version.clone()),
                ("prerelease", p.planned_prerelease.to_string()),
                ("is-latest", p.is_latest.to_string()),
                ("release-id", p.release_id.to_string()),
                ("release-url", p.release_url.clone()),
                ("upload-url", p.upload_url.clone()),
                // As a JSON value: its keys sorted, as before the result was typed.
                (
                    "release-assets",
                    serde_json::to_value(&p.assets)
                        .unwrap_or_default()
                        .to_string(),
                ),
            ],
            ReleaseResult::DryRun(d) => vec![
                ("result", "dry-run".into()),
                ("version", d.version.clone()),
                ("prerelease", d.prerelease.to_string()),
                ("is-latest", d.is_latest.to_string()),
            ],
        }
    }
}
