//! `stage-gate notes`: release notes from git history or GitHub, or a whole changelog.

use super::CommandResult;
use crate::release::changelog::Changelog;
use crate::release::notes::Notes;
use crate::report::summary;
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum NotesResult {
    /// The notes of one release, from git history.
    Git(Notes),
    /// GitHub's generated notes (`--source github`).
    Github(GithubNotes),
    /// `--changelog`: every release's notes, and the file written.
    Changelog(ChangelogWritten),
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GithubNotes {
    /// Always `github`.
    pub source: String,
    pub tag: String,
    pub previous_tag: Option<String>,
    pub name: String,
    pub markdown: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChangelogWritten {
    #[serde(flatten)]
    pub changelog: Changelog,
    /// The file written.
    #[serde(skip)]
    pub path: String,
    #[serde(skip)]
    pub dry_run: bool,
}

/// Releases listed in the step summary of a changelog; the rest are counted.
const SUMMARY_RELEASES: usize = 20;

impl ChangelogWritten {
    fn headline(&self) -> String {
        let releases = &self.changelog.releases;
        format!(
            "{} {} ({} release(s))",
            if self.dry_run { "would write" } else { "wrote" },
            self.path,
            releases.iter().filter(|n| n.tag.is_some()).count()
        )
    }

    /// What was written, and its newest releases.
    fn summary(&self) -> String {
        let releases = &self.changelog.releases;
        let rows: Vec<Vec<String>> = (releases.iter().take(SUMMARY_RELEASES))
            .map(|n| {
                vec![
                    n.tag.clone().unwrap_or_else(|| "unreleased".into()),
                    n.date.clone().unwrap_or_default(),
                    n.commits.to_string(),
                ]
            })
            .collect();
        let mut md = format!(
            "### stage-gate notes --changelog\n\n{}\n\n{}",
            self.headline(),
            summary::table(&["release", "date", "commits"], &rows)
        );
        if releases.len() > SUMMARY_RELEASES {
            md.push_str(&format!(
                "\n…and {} older release(s), in the file.\n",
                releases.len() - SUMMARY_RELEASES
            ));
        }
        md
    }
}

impl CommandResult for NotesResult {
    const SCHEMA: &'static str = "stage-gate/notes/v1";
    const SCHEMA_PATH: &'static str = "docs/schemas/notes-result.json";

    fn title(&self) -> String {
        match self {
            NotesResult::Changelog(_) => "notes --changelog".into(),
            _ => "notes".into(),
        }
    }

    fn human(&self) -> String {
        match self {
            NotesResult::Git(n) => n.markdown.clone(),
            NotesResult::Github(g) => g.markdown.clone(),
            NotesResult::Changelog(c) => c.headline(),
        }
    }

    fn summary(&self) -> String {
        match self {
            NotesResult::Git(n) => n.markdown.clone(),
            NotesResult::Github(g) => g.markdown.clone(),
            NotesResult::Changelog(c) => c.summary(),
        }
    }

    fn outputs(&self) -> Vec<(&'static str, String)> {
        match self {
            NotesResult::Git(n) => {
                let mut out = vec![("notes", n.markdown.clone())];
                if let Some(v) = &n.version {
                    out.push(("version", v.clone()));
                }
                out.push(("previous-tag", n.previous_tag.clone().unwrap_or_default()));
                out.push((
                    "previous-version",
                    n.previous_version.clone().unwrap_or_default(),
                ));
                out
            }
            NotesResult::Github(g) => vec![
                ("notes", g.markdown.clone()),
                ("previous-tag", g.previous_tag.clone().unwrap_or_default()),
            ],
            NotesResult::Changelog(c) => vec![
                ("changelog", c.path.clone()),
                ("releases", c.changelog.releases.len().to_string()),
            ],
        }
    }
}
