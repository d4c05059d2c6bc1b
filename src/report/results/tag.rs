//! `stage-gate tag`: a release tag judged (allowed), or the next version computed.

use super::CommandResult;
use crate::report::summary;
use crate::tag::next::Bump;
use schemars::JsonSchema;
use serde::Serialize;

/// One of: a tag allowed, the next version (`--next`), or nothing to tag (`--next`).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum TagResult {
    Allowed(TagAllowed),
    Next(TagNext),
    Nothing(TagNothing),
}

/// `stage-gate tag TAG`: the policy allowed the tag.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TagAllowed {
    pub tag: String,
    /// Always true: a refused tag exits 3 and prints no document.
    pub allowed: bool,
    pub version: String,
    pub app: Option<String>,
    pub previous_tag: Option<String>,
    pub previous_version: Option<String>,
    pub prerelease: bool,
    /// The highest stable version released.
    pub is_latest: bool,
    pub warnings: Vec<String>,
    #[serde(skip)]
    pub major: u64,
    #[serde(skip)]
    pub minor: u64,
    #[serde(skip)]
    pub patch: u64,
    #[serde(skip)]
    pub prerelease_id: String,
    /// The commit the tag points at.
    #[serde(skip)]
    pub commit: String,
}

/// `stage-gate tag --next`: the next version, and whether its tag was created.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TagNext {
    pub next_version: String,
    pub next_tag: String,
    /// HEAD, which the tag names.
    pub commit: String,
    pub bump_since_stable: Bump,
    pub bump_since_latest: Bump,
    /// `created`, `existed` or `no`.
    pub created: String,
    #[serde(skip)]
    pub previous_tag: String,
}

/// `stage-gate tag --next` with no release-worthy commit.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TagNothing {
    /// Always null.
    pub next_version: Option<String>,
    /// Always false.
    pub created: bool,
    /// The tag the commits were read from, or `the first commit`.
    #[serde(skip)]
    pub since: String,
}

impl TagAllowed {
    fn rows(&self) -> Vec<(&'static str, String)> {
        vec![
            ("tag", self.tag.clone()),
            ("version", self.version.clone()),
            ("major", self.major.to_string()),
            ("minor", self.minor.to_string()),
            ("patch", self.patch.to_string()),
            ("prerelease", self.prerelease.to_string()),
            ("prerelease-id", self.prerelease_id.clone()),
            ("app", self.app.clone().unwrap_or_default()),
            (
                "previous-version",
                self.previous_version.clone().unwrap_or_default(),
            ),
            (
                "previous-tag",
                self.previous_tag.clone().unwrap_or_default(),
            ),
            ("is-latest", self.is_latest.to_string()),
            ("commit", self.commit.clone()),
        ]
    }
}

fn bump_word(b: Bump) -> String {
    format!("{b:?}").to_lowercase()
}

impl CommandResult for TagResult {
    const SCHEMA: &'static str = "stage-gate/tag/v1";
    const SCHEMA_PATH: &'static str = "docs/schemas/tag-result.json";

    fn title(&self) -> String {
        match self {
            TagResult::Allowed(a) => format!("tag {}", a.tag),
            TagResult::Next(_) | TagResult::Nothing(_) => "tag --next".into(),
        }
    }

    fn human(&self) -> String {
        match self {
            TagResult::Allowed(a) => format!(
                "tag {} allowed: version {}{}{}",
                a.tag,
                a.version,
                (a.previous_tag.as_ref())
                    .map(|p| format!(", previous {p}"))
                    .unwrap_or_default(),
                if a.is_latest { ", latest" } else { "" }
            ),
            TagResult::Next(n) => match n.created.as_str() {
                "created" => format!("created tag {} at {}", n.next_tag, n.commit),
                "existed" => format!("tag {} already at {}; nothing to do", n.next_tag, n.commit),
                _ => format!("next version: {} (tag {})", n.next_version, n.next_tag),
            },
            TagResult::Nothing(n) => format!(
                "no release-worthy commits (feat, fix, perf, breaking) since {}; nothing to tag",
                n.since
            ),
        }
    }

    fn summary(&self) -> String {
        match self {
            TagResult::Allowed(a) => {
                let rows: Vec<Vec<String>> = (a.rows().into_iter())
                    .map(|(k, val)| vec![k.to_string(), format!("`{val}`")])
                    .collect();
                format!(
                    "### stage-gate tag `{}`: allowed\n\n{}",
                    a.tag,
                    summary::table(&["output", "value"], &rows)
                )
            }
            TagResult::Next(n) => format!(
                "### stage-gate tag --next\n\n{}",
                summary::table(
                    &["next tag", "version", "bump", "created"],
                    &[vec![
                        format!("`{}`", n.next_tag),
                        n.next_version.clone(),
                        bump_word(n.bump_since_stable),
                        n.created.clone()
                    ]]
                )
            ),
            TagResult::Nothing(_) => String::new(),
        }
    }

    fn outputs(&self) -> Vec<(&'static str, String)> {
        match self {
            TagResult::Allowed(a) => {
                let mut out = vec![("result", "success".to_string())];
                out.extend(a.rows());
                out
            }
            TagResult::Next(n) => vec![
                ("next-version", n.next_version.clone()),
                ("next-tag", n.next_tag.clone()),
                ("previous-tag", n.previous_tag.clone()),
                ("bump", bump_word(n.bump_since_stable)),
                ("created", (n.created != "no").to_string()),
            ],
            TagResult::Nothing(_) => vec![
                ("next-version", String::new()),
                ("next-tag", String::new()),
                ("created", "false".into()),
            ],
        }
    }
}
