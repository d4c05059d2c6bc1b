//! Conventional Commits (`type(scope)!: description`, `BREAKING CHANGE:` footers) and
//! squash-merge pull request numbers, read from one commit. Release notes group by it; the
//! next version is computed from it.

use crate::git::Commit;
use serde::Serialize;

/// One commit, read: one line of the notes.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq, Eq)]
pub struct Entry {
    pub sha: String,
    pub short_sha: String,
    /// Conventional type (`feat`, `fix`, ...), lower-cased; None for other commits.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub scope: Option<String>,
    pub description: String,
    pub breaking: bool,
    /// The `BREAKING CHANGE:` footer text, when there is one.
    pub breaking_note: Option<String>,
    /// Pull requests this commit came through.
    pub pull_requests: Vec<u64>,
    pub author: String,
}

/// Parse one commit into an entry (before section assignment).
/// The types of the Conventional Commits specification and the Angular convention it came
/// from. Only these (and the types the notes config names) are read as a type: a subject such
/// as `rollback: --to picks …` keeps its first word.
const KNOWN_TYPES: &[&str] = &[
    "feat", "fix", "perf", "refactor", "docs", "style", "test", "build", "ci", "chore", "revert",
];

pub fn entry(commit: &Commit) -> Entry {
    entry_in(commit, &[])
}

/// [`entry`], also reading the types of the configured `sections` as types.
pub fn entry_in(commit: &Commit, sections: &[(String, String)]) -> Entry {
    let mut pull_requests = Vec::new();
    let mut subject = commit.subject.trim();
    // Squash merges end their subject with `(#123)`; possibly several, e.g. `(#1) (#2)`.
    while let Some((number, start)) = squash_suffix(subject) {
        if let Ok(n) = number.parse() {
            pull_requests.insert(0, n);
        }
        subject = &subject[..start];
    }
    let breaking_note = breaking_footer(commit);
    let known = |t: &str| KNOWN_TYPES.contains(&t) || sections.iter().any(|(k, _)| *k == t);
    let parsed = conventional(subject).map(|c| (c.kind.to_ascii_lowercase(), c));
    let (kind, scope, bang, description) = match parsed {
        Some((t, c)) if known(&t) => (
            Some(t),
            c.scope
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            c.bang,
            c.description.trim().to_string(),
        ),
        _ => (None, None, false, subject.to_string()),
    };
    Entry {
        sha: commit.sha.clone(),
        short_sha: commit.short_sha().to_string(),
        kind,
        scope,
        description,
        breaking: bang || breaking_note.is_some(),
        breaking_note,
        pull_requests,
        author: commit.author.clone(),
    }
}

/// A subject read as `type(scope)!: description` — the grammar of
/// `^([A-Za-z]+)(?:\(([^()]*)\))?(!)?: +(.+)$`, by hand: it runs once per commit of a
/// changelog, where a regex's captures cost more than reading the history.
pub(crate) struct Conventional<'a> {
    pub kind: &'a str,
    pub scope: Option<&'a str>,
    pub bang: bool,
    pub description: &'a str,
}

pub(crate) fn conventional(subject: &str) -> Option<Conventional<'_>> {
    let b = subject.as_bytes();
    let mut i = b.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    if i == 0 {
        return None;
    }
    let kind = &subject[..i];
    let mut scope = None;
    if b.get(i) == Some(&b'(') {
        let len = b[i + 1..].iter().position(|&c| c == b'(' || c == b')')?;
        if b[i + 1 + len] != b')' {
            return None;
        }
        scope = Some(&subject[i + 1..i + 1 + len]);
        i += len + 2;
    }
    let bang = b.get(i) == Some(&b'!');
    i += usize::from(bang);
    let rest = subject[i..].strip_prefix(": ")?;
    // ` +(.+)$`: at least one more character, none of them a newline.
    if rest.is_empty() || rest.contains('\n') {
        return None;
    }
    Some(Conventional {
        kind,
        scope,
        bang,
        description: rest,
    })
}

/// A trailing `(#123)` (the pattern `\s*\(#(\d+)\)\s*$`): its number and where the match,
/// with the whitespace before it, starts.
pub(crate) fn squash_suffix(subject: &str) -> Option<(&str, usize)> {
    let inner = subject.trim_end().strip_suffix(')')?;
    let digits = inner.bytes().rev().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let number = &inner[inner.len() - digits..];
    let before = inner[..inner.len() - digits].strip_suffix("(#")?;
    Some((number, before.trim_end().len()))
}

/// The `BREAKING CHANGE:` (or `BREAKING-CHANGE:`) footer, with its continuation lines.
fn breaking_footer(commit: &Commit) -> Option<String> {
    let mut lines = commit.body.lines();
    let first = lines.by_ref().find_map(|l| {
        l.strip_prefix("BREAKING CHANGE:")
            .or_else(|| l.strip_prefix("BREAKING-CHANGE:"))
    })?;
    let mut text = first.trim().to_string();
    for l in lines.take_while(|l| !l.trim().is_empty()) {
        // The next footer ends this one.
        if l.split_once(':').is_some_and(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        }) {
            break;
        }
        text.push(' ');
        text.push_str(l.trim());
    }
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}
