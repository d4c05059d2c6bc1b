//! Release notes for one range of history: conventional commits grouped into sections,
//! PR numbers and short SHAs linked, contributors listed, noise skipped.
//!
//! The default range is the one the tag gate computes: from the previous version by SemVer
//! order on the same channel to this tag — not GitHub's ancestry guess. The range is read in
//! one walk, as `git log` would list it. Rendering is shared with [`super::changelog`].

use crate::config::{Config, NotesConfig};
pub use crate::conventional::{entry, entry_in, Entry};
use crate::git::{Commit, Git, GitError};
use crate::tag::{self, PatternError, Releases, TagError, TagPattern};
use regex::Regex;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::LazyLock;

#[derive(Debug, thiserror::Error)]
pub enum NotesError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Tag(#[from] TagError),
    #[error(transparent)]
    Pattern(#[from] PatternError),
    #[error("notes skip rule `{rule}` is not a valid regex: {error}")]
    Skip { rule: String, error: String },
}

/// What to write notes for. Everything but `root` and `config` is optional.
#[derive(Debug, Clone, Default)]
pub struct NotesRequest<'a> {
    /// The release tag; None means unreleased work up to `to` (default HEAD).
    pub tag: Option<&'a str>,
    pub app: Option<&'a str>,
    /// Override the start of the range (exclusive).
    pub from: Option<&'a str>,
    /// Override the end of the range (default: the tag, else HEAD).
    pub to: Option<&'a str>,
    /// `https://github.com/owner/name`, for links; None writes plain `#123` and SHAs.
    pub repo_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq, Eq)]
pub struct Section {
    pub title: String,
    pub entries: Vec<Entry>,
}

/// The notes of one release (or of unreleased work).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Notes {
    /// The tag the notes are for (None: unreleased).
    pub tag: Option<String>,
    pub version: Option<String>,
    pub previous_tag: Option<String>,
    pub previous_version: Option<String>,
    /// The range read: `from..to` (`from` None: from the root).
    pub from: Option<String>,
    pub to: String,
    /// The release date (the tag's date), `YYYY-MM-DD`.
    pub date: Option<String>,
    pub sections: Vec<Section>,
    pub contributors: Vec<String>,
    /// Commits in the range, and how many the skip rules left out.
    pub commits: usize,
    /// Every commit of the range (skipped ones included), newest first: what the notes are
    /// about, comparable with other tools' ranges.
    pub commit_ids: Vec<String>,
    pub skipped: usize,
    pub markdown: String,
}

/// Notes for `tag` of `app` with the config's rules, links from `config.repository`.
/// The entry point for other commands (`release` takes its body from here).
pub fn notes_for_tag(
    root: &Path,
    config: &Config,
    tag: &str,
    app: Option<&str>,
) -> Result<Notes, NotesError> {
    let request = NotesRequest {
        tag: Some(tag),
        app,
        repo_url: config
            .repository
            .as_deref()
            .map(|r| format!("https://github.com/{r}")),
        ..Default::default()
    };
    generate(root, config, &request)
}

/// The range the notes of `tag` cover by default: (previous release, its version).
pub fn previous_release(
    git: &Git,
    config: &Config,
    tag: &str,
    app: Option<&str>,
) -> Result<(tag::Release, Option<tag::Release>), NotesError> {
    let raw = config.tag_pattern(app);
    let this = tag::validate(&TagPattern::new(&raw, app)?, tag)?;
    // A monorepo tag names its app: only that app's releases are its predecessors.
    let pattern = TagPattern::new(&raw, app.or(this.app.as_deref()))?;
    let releases = Releases::from_git(git, &pattern)?;
    let previous = releases.previous(&this.version).cloned();
    // The tag as git has it (commit, date), when it exists here.
    let this = releases.get(tag).cloned().unwrap_or(this);
    Ok((this, previous))
}

/// Notes for any request.
pub fn generate(root: &Path, config: &Config, req: &NotesRequest) -> Result<Notes, NotesError> {
    let git = Git::open(root)?;
    // A shallow clone would silently drop commits and tags from the notes.
    git.require_full_history("the release-notes range")?;
    let rules = Rules::new(&config.notes)?;
    // `--to v1.2.0` without a tag: the notes are still that release's.
    let to_release = req.to.filter(|t| {
        TagPattern::new(&config.tag_pattern(req.app), req.app)
            .is_ok_and(|p| tag::validate(&p, t).is_ok())
    });
    let (this, previous) = match req.tag.or(to_release) {
        Some(t) => {
            // Judge the name first: a malformed tag gets the nearest valid one, not "missing".
            let (this, prev) = previous_release(&git, config, t, req.app)?;
            if this.target.is_none() {
                return Err(GitError::MissingTag { tag: t.to_string() }.into());
            }
            (Some(this), prev)
        }
        None => {
            let pattern = TagPattern::new(&config.tag_pattern(req.app), req.app)?;
            if pattern.has_app() && req.app.is_none() {
                return Err(PatternError::NoApp(pattern.raw().to_string()).into());
            }
            let releases = Releases::from_git(&git, &pattern)?;
            (None, releases.latest_stable("").cloned())
        }
    };
    let to = req
        .to
        .map(str::to_string)
        .or_else(|| this.as_ref().map(|r| r.tag.clone()))
        .unwrap_or_else(|| "HEAD".into());
    let from = req
        .from
        .map(str::to_string)
        .or_else(|| previous.as_ref().map(|p| p.tag.clone()));
    // Revisions the user named are checked (a clear error instead of git's); tags read from
    // git a moment ago need no second look.
    for rev in [req.from, req.to].into_iter().flatten() {
        git.commit_of(rev)?;
    }
    let range = match &from {
        Some(f) => format!("{f}..{to}"),
        None => to.clone(),
    };
    let commits = git.log(&range)?;
    let date = this.as_ref().map(|r| ymd(r.date));
    let mut notes = build(&commits, &rules, &config.notes);
    notes.tag = this.as_ref().map(|r| r.tag.clone());
    notes.version = this.as_ref().map(|r| r.version.to_string());
    // An explicit `--from` is the previous tag of these notes (its version unknown unless
    // it is the computed one).
    match req.from {
        Some(f) if previous.as_ref().is_none_or(|p| p.tag != f) => {
            notes.previous_tag = Some(f.to_string());
        }
        _ => {
            notes.previous_tag = previous.as_ref().map(|p| p.tag.clone());
            notes.previous_version = previous.as_ref().map(|p| p.version.to_string());
        }
    }
    notes.from = from;
    notes.to = to;
    notes.date = date;
    notes.markdown = render(&notes, req.repo_url.as_deref(), config.notes.contributors);
    Ok(notes)
}

/// `YYYY-MM-DD` of a Unix time, UTC.
pub fn ymd(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// The skip rules, compiled once.
pub struct Rules {
    skip: Vec<Regex>,
}

impl Rules {
    pub fn new(config: &NotesConfig) -> Result<Rules, NotesError> {
        let skip = config
            .skip
            .iter()
            .map(|r| {
                Regex::new(r).map_err(|e| NotesError::Skip {
                    rule: r.clone(),
                    error: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Rules { skip })
    }

    fn skips(&self, subject: &str) -> bool {
        self.skip.iter().any(|r| r.is_match(subject))
    }
}

static MERGE_PR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Merge pull request #(\d+)").expect("static regex"));

/// For each merge commit of a pull request, the commits it brought in (reachable from its
/// second parent but not its first, within `commits`) get its PR number.
fn pr_of_merged(commits: &[Commit]) -> HashMap<&str, u64> {
    let index: HashMap<&str, &Commit> = commits.iter().map(|c| (c.sha.as_str(), c)).collect();
    let walk = |start: &str| -> HashSet<&str> {
        let mut seen = HashSet::new();
        let mut stack = vec![start];
        while let Some(s) = stack.pop() {
            let Some(c) = index.get(s) else { continue };
            if seen.insert(c.sha.as_str()) {
                stack.extend(c.parents.iter().map(String::as_str));
            }
        }
        seen
    };
    let mut out = HashMap::new();
    for merge in commits.iter().filter(|c| c.parents.len() == 2) {
        let Some(n) = MERGE_PR
            .captures(&merge.subject)
            .and_then(|c| c[1].parse::<u64>().ok())
        else {
            continue;
        };
        let mainline = walk(&merge.parents[0]);
        for sha in walk(&merge.parents[1]) {
            if !mainline.contains(sha) {
                out.entry(sha).or_insert(n);
            }
        }
    }
    out
}

/// Group `commits` (one range, newest first) into sections under `rules`.
pub fn build(commits: &[Commit], rules: &Rules, config: &NotesConfig) -> Notes {
    let merged = pr_of_merged(commits);
    let mut breaking = Vec::new();
    let mut by_kind: Vec<Vec<Entry>> = vec![Vec::new(); config.sections.len()];
    let mut other = Vec::new();
    let mut contributors = BTreeSet::new();
    let mut skipped = 0;
    for commit in commits {
        // Merges are represented by the commits they bring in (which carry the PR number);
        // a merge that brings nothing is noise.
        if commit.is_merge() || rules.skips(&commit.subject) {
            skipped += 1;
            continue;
        }
        let mut e = entry_in(commit, &config.sections);
        if e.pull_requests.is_empty() {
            if let Some(n) = merged.get(commit.sha.as_str()) {
                e.pull_requests.push(*n);
            }
        }
        contributors.insert(commit.author.clone());
        for (k, v) in &commit.trailers {
            if k.eq_ignore_ascii_case("co-authored-by") {
                let name = v.split('<').next().unwrap_or(v).trim();
                if !name.is_empty() {
                    contributors.insert(name.to_string());
                }
            }
        }
        if e.breaking {
            breaking.push(e.clone());
        }
        match config
            .sections
            .iter()
            .position(|(kind, _)| Some(kind.as_str()) == e.kind.as_deref())
        {
            Some(i) => by_kind[i].push(e),
            None => other.push(e),
        }
    }
    let mut sections = Vec::new();
    let mut push = |title: &str, entries: Vec<Entry>| {
        if !entries.is_empty() {
            sections.push(Section {
                title: title.to_string(),
                entries,
            });
        }
    };
    push("Breaking changes", breaking);
    for ((_, title), entries) in config.sections.iter().zip(by_kind) {
        push(title, entries);
    }
    push("Other", other);
    Notes {
        tag: None,
        version: None,
        previous_tag: None,
        previous_version: None,
        from: None,
        to: String::new(),
        date: None,
        sections,
        contributors: contributors.into_iter().collect(),
        commits: commits.len(),
        commit_ids: commits.iter().map(|c| c.sha.clone()).collect(),
        skipped,
        markdown: String::new(),
    }
}

/// The Markdown of one release: a heading (linked to the compare view), sections, contributors.
pub fn render(notes: &Notes, repo_url: Option<&str>, contributors: bool) -> String {
    let mut out = String::new();
    let name = notes.tag.as_deref().unwrap_or("Unreleased");
    let heading = match (repo_url, &notes.previous_tag) {
        (Some(url), Some(prev)) => format!("[{name}]({url}/compare/{prev}...{})", notes.to),
        _ => name.to_string(),
    };
    out.push_str(&format!("## {heading}"));
    if let Some(d) = &notes.date {
        out.push_str(&format!(" ({d})"));
    }
    out.push_str("\n\n");
    if notes.sections.is_empty() {
        out.push_str("No notable changes.\n\n");
    }
    for s in &notes.sections {
        out.push_str(&format!("### {}\n\n", s.title));
        let breaking_section = s.title == "Breaking changes";
        for e in &s.entries {
            out.push_str(&line(e, repo_url, breaking_section));
        }
        out.push('\n');
    }
    if contributors && !notes.contributors.is_empty() {
        out.push_str("### Contributors\n\n");
        for c in &notes.contributors {
            out.push_str(&format!("- {c}\n"));
        }
        out.push('\n');
    }
    out
}

fn line(e: &Entry, repo_url: Option<&str>, breaking_section: bool) -> String {
    let text = match (&e.breaking_note, breaking_section) {
        (Some(note), true) => note.as_str(),
        _ => e.description.as_str(),
    };
    let mut s = String::from("- ");
    if let Some(scope) = &e.scope {
        s.push_str(&format!("**{scope}:** "));
    }
    s.push_str(&link_refs(text, repo_url));
    for n in &e.pull_requests {
        match repo_url {
            Some(url) => s.push_str(&format!(" ([#{n}]({url}/pull/{n}))")),
            None => s.push_str(&format!(" (#{n})")),
        }
    }
    match repo_url {
        Some(url) => s.push_str(&format!(" ([{}]({url}/commit/{}))", e.short_sha, e.sha)),
        None => s.push_str(&format!(" ({})", e.short_sha)),
    }
    s.push('\n');
    s
}

static ISSUE_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(^|[\s(\[])#(\d+)\b").expect("static regex"));

/// Link `#123` references in text (GitHub redirects `issues/N` to the PR when it is one).
fn link_refs(text: &str, repo_url: Option<&str>) -> String {
    match repo_url {
        Some(url) => ISSUE_REF
            .replace_all(text, |c: &regex::Captures| {
                format!("{}[#{}]({url}/issues/{})", &c[1], &c[2], &c[2])
            })
            .into_owned(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conventional::{conventional, squash_suffix};

    fn commit(sha: &str, subject: &str, body: &str, parents: &[&str]) -> Commit {
        Commit {
            sha: sha.repeat(40 / sha.len().max(1)),
            parents: parents
                .iter()
                .map(|p| p.repeat(40 / p.len().max(1)))
                .collect(),
            author: format!("author-{sha}"),
            email: String::new(),
            date: 0,
            subject: subject.into(),
            body: body.into(),
            trailers: crate::git::parse_trailers(body),
        }
    }

    /// The hand-written readers agree with the regexes that define their grammar.
    #[test]
    fn subject_readers_match_their_regexes() {
        let conventional_re = Regex::new(
            r"^(?P<type>[A-Za-z]+)(?:\((?P<scope>[^()]*)\))?(?P<bang>!)?: +(?P<desc>.+)$",
        )
        .unwrap();
        let squash_re = Regex::new(r"\s*\(#(\d+)\)\s*$").unwrap();
        let subjects = [
            "feat: x",
            "feat(api)!: drop v1",
            "feat()!: empty scope",
            "feat(a(b)): nested",
            "feat(a: unclosed",
            "feat!:no space",
            "feat:  two spaces",
            "feat:  ",
            "feat: ",
            "feat:",
            "f3at: digit",
            ": no type",
            "Fix: upper",
            "fix(runtime-core): a (#123)",
            "fix: two (#1) (#2)",
            "fix: spaced ( #3)",
            "fix: tab\t(#4)\t",
            "fix: letters (#12a)",
            "fix: (#)",
            "(#5)",
            "  (#6)  ",
            "fix: multi\nline",
            "feat(ünï): code",
            "chore(deps): update dependency vite to v5 (#9876)",
        ];
        for s in subjects {
            let want = conventional_re.captures(s).map(|c| {
                (
                    c["type"].to_string(),
                    c.name("scope").map(|m| m.as_str().to_string()),
                    c.name("bang").is_some(),
                    c["desc"].trim().to_string(),
                )
            });
            let got = conventional(s).map(|c| {
                (
                    c.kind.to_string(),
                    c.scope.map(str::to_string),
                    c.bang,
                    c.description.trim().to_string(),
                )
            });
            assert_eq!(got, want, "{s:?}");
            let want = squash_re
                .captures(s)
                .map(|c| (c[1].to_string(), c.get(0).unwrap().start()));
            let got = squash_suffix(s).map(|(n, at)| (n.to_string(), at));
            assert_eq!(got, want, "{s:?}");
        }
    }

    #[test]
    fn conventional_subjects_parse() {
        let e = entry(&commit("a", "feat(api)!: drop v1 (#42)", "", &[]));
        assert_eq!(e.kind.as_deref(), Some("feat"));
        assert_eq!(e.scope.as_deref(), Some("api"));
        assert_eq!(e.description, "drop v1");
        assert!(e.breaking);
        assert_eq!(e.pull_requests, vec![42]);
        let e = entry(&commit(
            "b",
            "Fix: thing",
            "text\n\nBREAKING CHANGE: config moved\n  to a new file\nRefs: #9",
            &[],
        ));
        assert_eq!(e.kind.as_deref(), Some("fix"));
        assert_eq!(
            e.breaking_note.as_deref(),
            Some("config moved to a new file")
        );
        let e = entry(&commit("c", "Update README", "", &[]));
        assert_eq!(
            (e.kind, e.description.as_str(), e.breaking),
            (None, "Update README", false)
        );
        // Only a known type is a type: other subjects read as the sentence they are.
        for subject in [
            "rollback: --to or the tag input picks the successful deployment",
            "deploy: one helper for the failure notification",
        ] {
            let e = entry(&commit("d", subject, "", &[]));
            assert_eq!((e.kind.as_deref(), e.description.as_str()), (None, subject));
        }
        let sections = [("security".to_string(), "Security".to_string())];
        let e = entry_in(
            &commit("e", "security: pin the base image", "", &[]),
            &sections,
        );
        assert_eq!(
            (e.kind.as_deref(), e.description.as_str()),
            (Some("security"), "pin the base image")
        );
    }

    #[test]
    fn sections_breaking_first_other_last_noise_skipped() {
        let commits = vec![
            commit("0", "release: v1.1.0", "", &["1"]),
            commit("1", "chore(release): v1.1.0", "", &["2"]),
            commit("2", "Tidy up", "", &["3"]),
            commit("3", "perf: faster", "", &["4"]),
            commit("4", "fix(core): null check", "", &["5"]),
            commit("5", "feat!: new thing", "", &[]),
        ];
        let cfg = NotesConfig::default();
        let notes = build(&commits, &Rules::new(&cfg).unwrap(), &cfg);
        let titles: Vec<&str> = notes.sections.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "Breaking changes",
                "Features",
                "Fixes",
                "Performance",
                "Other"
            ]
        );
        assert_eq!(notes.skipped, 2);
        assert_eq!(notes.contributors.len(), 4);
    }

    #[test]
    fn merged_pull_requests_give_their_number_to_their_commits() {
        // m merges PR #7 (x) into main (b); a is the base.
        let commits = vec![
            commit("m", "Merge pull request #7 from o/topic", "", &["b", "x"]),
            commit("x", "feat: on the branch", "", &["a"]),
            commit("b", "fix: on main", "", &["a"]),
            commit("a", "base", "", &[]),
        ];
        let cfg = NotesConfig::default();
        let notes = build(&commits, &Rules::new(&cfg).unwrap(), &cfg);
        let feat = &notes.sections[0].entries[0];
        assert_eq!(feat.pull_requests, vec![7]);
        let fix = &notes.sections[1].entries[0];
        assert!(fix.pull_requests.is_empty());
        let md = render(&notes, Some("https://github.com/o/r"), false);
        assert!(md.contains("- on the branch ([#7](https://github.com/o/r/pull/7)) ([xxxxxxx](https://github.com/o/r/commit/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx))"), "{md}");
    }

    #[test]
    fn inline_references_are_linked() {
        assert_eq!(
            link_refs("closes #12, see (#3)", Some("https://github.com/o/r")),
            "closes [#12](https://github.com/o/r/issues/12), see ([#3](https://github.com/o/r/issues/3))"
        );
        assert_eq!(link_refs("a#1", Some("u")), "a#1");
    }
}
