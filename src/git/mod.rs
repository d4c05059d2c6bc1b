//! Git access. The history the changelog and release notes read is read in process with gix
//! (`history.rs`, `log.rs`, and `packs.rs` for commits held whole in pack files), on every
//! core; tags, ancestry, branches and shallow/missing-history detection run the `git`
//! binary, whose behaviour is exactly the user's git (and which applies replace refs and
//! grafts, which the in-process reader hands over to it).
//!
//! It must not guess: when history or tags are missing it says which fetch is needed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What went wrong talking to git.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run `git`: {0} (is git installed and on PATH?)")]
    Spawn(#[source] std::io::Error),
    #[error("{root} is not a git repository (run stage-gate after actions/checkout)")]
    NotARepo { root: PathBuf },
    #[error("`git {args}` failed: {stderr}")]
    Failed { args: String, stderr: String },
    #[error("this is a shallow clone, so {what} cannot be decided; fetch the full history: actions/checkout with `fetch-depth: 0` (or `git fetch --unshallow --tags`)")]
    Shallow { what: String },
    #[error("tag `{tag}` does not exist in this clone; fetch tags: actions/checkout with `fetch-depth: 0` (or `git fetch --tags`)")]
    MissingTag { tag: String },
    #[error("`{rev}` is not a commit in this clone (a typo, or history not fetched: actions/checkout with `fetch-depth: 0`)")]
    UnknownRevision { rev: String },
    #[error("unexpected output from `git {args}`: {detail}")]
    Parse { args: String, detail: String },
}

/// What an abbreviated commit SHA names in this clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Abbreviated {
    /// Exactly one commit: its full SHA.
    Commit(String),
    /// Several commits share the prefix (their full SHAs, sorted).
    Ambiguous(Vec<String>),
    /// No commit starts with it.
    Unknown,
}

/// A tag with the commit it points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRef {
    pub name: String,
    /// The commit (annotated tags are peeled).
    pub target: String,
    pub annotated: bool,
    /// Creation date (the tagger date for annotated tags, else the commit date), Unix seconds.
    pub date: i64,
}

/// One commit as read from `git log`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Commit {
    pub sha: String,
    pub parents: Vec<String>,
    pub author: String,
    pub email: String,
    /// Author date, Unix seconds.
    pub date: i64,
    pub subject: String,
    /// The message after the subject line, trimmed.
    pub body: String,
    /// `Key: value` trailers of the last paragraph (continuation lines unfolded), including
    /// the conventional-commits `BREAKING CHANGE:` footer that git's own parser rejects for
    /// its space.
    pub trailers: Vec<(String, String)>,
}

/// The first `n` characters of a commit (as people read one), whatever the text holds.
pub(crate) fn abbrev(sha: &str, n: usize) -> &str {
    sha.char_indices().nth(n).map_or(sha, |(i, _)| &sha[..i])
}

impl Commit {
    pub(crate) fn short_sha(&self) -> &str {
        abbrev(&self.sha, 7)
    }
    pub(crate) fn is_merge(&self) -> bool {
        self.parents.len() > 1
    }
}

pub(crate) mod history;
mod log;
mod packs;
pub use log::Log;

/// A repository on disk: read in process where gitoxide can ([`history`]), with the `git`
/// CLI for the rest and as the fallback.
#[derive(Clone)]
pub struct Git {
    root: PathBuf,
    /// Read once when opening (every command asks, and a subprocess costs milliseconds).
    shallow: bool,
    history: Option<std::sync::Arc<history::History>>,
}

impl std::fmt::Debug for Git {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Git")
            .field("root", &self.root)
            .field("shallow", &self.shallow)
            .field("in_process", &self.history.is_some())
            .finish()
    }
}

// Field and record separators for machine-read output: never in refnames, vanishingly rare
// in commit messages (and harmless there: a stray one only splits a body).
const FS: char = '\x1f';
const RS: char = '\x1e';

impl Git {
    /// Open the repository at `root`, failing when it is not one.
    pub(crate) fn open(root: &Path) -> Result<Git, GitError> {
        let mut git = Git {
            root: root.to_path_buf(),
            shallow: false,
            history: None,
        };
        if let Some(h) = history::History::open(root) {
            if let Some(shallow) = h.is_shallow() {
                git.shallow = shallow;
                git.history = Some(std::sync::Arc::new(h));
                return Ok(git);
            }
        }
        match git.run(&["rev-parse", "--is-shallow-repository"]) {
            Ok(out) => {
                git.shallow = out.trim() == "true";
                Ok(git)
            }
            Err(GitError::Failed { .. }) => Err(GitError::NotARepo {
                root: root.to_path_buf(),
            }),
            Err(e) => Err(e),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.args(args)
            .current_dir(&self.root)
            // Never page, never prompt, never localise the output we parse.
            .env("GIT_PAGER", "cat")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C");
        cmd
    }

    /// Run git, returning stdout; a non-zero exit is an error carrying stderr.
    fn run(&self, args: &[&str]) -> Result<String, GitError> {
        let out = self.command(args).output().map_err(GitError::Spawn)?;
        if !out.status.success() {
            return Err(GitError::Failed {
                args: args.join(" "),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Every tag with its commit, kind and date, in one `git for-each-ref`.
    pub(crate) fn tags(&self) -> Result<Vec<TagRef>, GitError> {
        if let Some(tags) = self.history.as_ref().and_then(|h| h.tags()) {
            return Ok(tags);
        }
        let format = "%(refname:strip=2)%1f%(objecttype)%1f%(objectname)%1f%(*objectname)%1f%(creatordate:unix)%1e";
        let args = ["for-each-ref", "--format", format, "refs/tags"];
        let out = self.run(&args)?;
        parse_tags(&out).map_err(|detail| GitError::Parse {
            args: args.join(" "),
            detail,
        })
    }

    /// The commit `rev` names, or None when it names nothing here.
    pub(crate) fn resolve(&self, rev: &str) -> Result<Option<String>, GitError> {
        if let Some(found) = self.history.as_ref().and_then(|h| h.resolve(rev)) {
            return Ok(found.map(|id| id.to_string()));
        }
        self.rev_parse_commit(rev)
    }

    /// `git rev-parse --verify` of `rev` as a commit: None when it names none (or several).
    fn rev_parse_commit(&self, rev: &str) -> Result<Option<String>, GitError> {
        let spec = format!("{rev}^{{commit}}");
        let out = self
            .command(&[
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &spec,
            ])
            .output()
            .map_err(GitError::Spawn)?;
        Ok(out
            .status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()))
    }

    /// The commit `rev` names, or an error saying what fetch would bring it.
    pub(crate) fn commit_of(&self, rev: &str) -> Result<String, GitError> {
        self.resolve(rev)?.ok_or_else(|| GitError::UnknownRevision {
            rev: rev.to_string(),
        })
    }

    /// The commit a hex prefix (`4acdbe1`) abbreviates, as git expands it; several commits
    /// with that prefix are reported, never guessed between.
    pub fn expand_commit(&self, prefix: &str) -> Result<Abbreviated, GitError> {
        if let Some(full) = self.rev_parse_commit(prefix)? {
            return Ok(Abbreviated::Commit(full));
        }
        // Failed: no object with that prefix, or several. git lists every object that has it.
        let listed = self
            .run(&["rev-parse", &format!("--disambiguate={prefix}")])
            .unwrap_or_default();
        let mut commits = Vec::new();
        for id in listed.split_whitespace() {
            if self.run(&["cat-file", "-t", id])?.trim() == "commit" {
                commits.push(id.to_string());
            }
        }
        commits.sort();
        Ok(match commits.len() {
            0 => Abbreviated::Unknown,
            1 => Abbreviated::Commit(commits.remove(0)),
            _ => Abbreviated::Ambiguous(commits),
        })
    }

    /// The ref checked out, as GITHUB_REF spells it: the branch (`refs/heads/main`), else, on a
    /// detached HEAD, the highest version tag pointing at it (`refs/tags/v1.2.3`).
    pub fn current_ref(&self) -> Option<String> {
        if let Ok(branch) = self.run(&["symbolic-ref", "-q", "HEAD"]) {
            return Some(branch.trim().to_string()).filter(|b| !b.is_empty());
        }
        let tags = self.run(&["tag", "--points-at", "HEAD"]).ok()?;
        // SemVer decides (git's own version sort puts `v1.0.0-rc.1` above `v1.0.0`).
        let version = |t: &str| semver::Version::parse(t.trim_start_matches('v')).ok();
        let tag = tags
            .lines()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .max_by(|a, b| match (version(a), version(b)) {
                (Some(x), Some(y)) => x.cmp_precedence(&y),
                (x, y) => x.is_some().cmp(&y.is_some()).then_with(|| b.cmp(a)),
            })?;
        Some(format!("refs/tags/{tag}"))
    }

    /// Whether the clone is shallow (history cut off).
    pub(crate) fn is_shallow(&self) -> Result<bool, GitError> {
        Ok(self.shallow)
    }

    /// Fail with the fetch that is needed when the clone is shallow.
    pub(crate) fn require_full_history(&self, what: &str) -> Result<(), GitError> {
        if self.is_shallow()? {
            return Err(GitError::Shallow {
                what: what.to_string(),
            });
        }
        Ok(())
    }

    /// Whether `ancestor` is reachable from `descendant`.
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool, GitError> {
        let args = ["merge-base", "--is-ancestor", ancestor, descendant];
        let out = self.command(&args).output().map_err(GitError::Spawn)?;
        match out.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(GitError::Failed {
                args: args.join(" "),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            }),
        }
    }

    /// Local and remote-tracking branches that contain `commit`. CI checkouts often have
    /// only the remote-tracking ones (`origin/main`).
    pub(crate) fn branches_containing(&self, commit: &str) -> Result<Vec<Branch>, GitError> {
        self.branch_refs(&["--contains", commit])
    }

    /// Every local and remote-tracking branch.
    pub(crate) fn branches(&self) -> Result<Vec<Branch>, GitError> {
        self.branch_refs(&[])
    }

    fn branch_refs(&self, filter: &[&str]) -> Result<Vec<Branch>, GitError> {
        let mut args = vec!["for-each-ref", "--format=%(refname)%1f%(symref)"];
        args.extend_from_slice(filter);
        args.extend(["refs/heads", "refs/remotes"]);
        let out = self.run(&args)?;
        Ok(out
            .lines()
            // Symbolic refs (`origin/HEAD`) point at a branch that is listed anyway.
            .filter_map(|l| l.split_once(FS).filter(|(_, sym)| sym.is_empty()))
            .filter_map(|(r, _)| Branch::from_refname(r))
            .collect())
    }

    /// The commits of `range` (e.g. `v1.0.0..v1.1.0`, or a single rev for all its history),
    /// newest first, in one `git log`.
    pub(crate) fn log(&self, range: &str) -> Result<Vec<Commit>, GitError> {
        self.log_revs(&[range.to_string()], false)
    }

    /// The commits reachable from any of `revs` (which may include `^excluded`), read in one
    /// `git log` with the revisions on stdin. `topo` orders children before parents.
    pub(crate) fn log_revs(&self, revs: &[String], topo: bool) -> Result<Vec<Commit>, GitError> {
        if let Some(commits) = self.log_in_process(revs, topo) {
            return Ok(commits);
        }
        // `-z` ends each commit with NUL, which no commit message can contain; the body is the
        // last field, so a stray separator inside it stays in the body.
        let format = format!("--format=%H{FS}%P{FS}%an{FS}%ae{FS}%at{FS}%s{FS}%b");
        let mut args = vec!["log", "-z", "--no-color", "--stdin", format.as_str()];
        if topo {
            args.push("--topo-order");
        }
        let mut input = revs.join("\n");
        input.push('\n');
        // Parsed as git prints it (records end in NUL): the parsing overlaps git's own work
        // instead of waiting for all of it.
        let mut commits = Vec::new();
        let mut bad = None;
        self.run_stdin_records(&args, &input, |record| {
            if bad.is_some() {
                return;
            }
            match parse_record(&String::from_utf8_lossy(record)) {
                Ok(Some(c)) => commits.push(c),
                Ok(None) => {}
                Err(e) => bad = Some(e),
            }
        })?;
        match bad {
            Some(detail) => Err(GitError::Parse {
                args: args.join(" "),
                detail,
            }),
            None => Ok(commits),
        }
    }

    /// [`Git::log_revs`] (in git's own order) as a [`Log`]: each commit is built when asked
    /// for, so a caller with many can build them on every core.
    pub(crate) fn walk_revs(&self, revs: &[String]) -> Result<Log, GitError> {
        match self.walk_in_process(revs) {
            Some(log) => Ok(log),
            None => Ok(Log::from_commits(self.log_revs(revs, false)?)),
        }
    }

    /// [`Git::log_revs`] without a subprocess, when every revision is one gitoxide reads
    /// (`rev`, `^rev`, `a..b`) and names a commit; None leaves it to `git log`.
    fn log_in_process(&self, revs: &[String], topo: bool) -> Option<Vec<Commit>> {
        if topo {
            return None;
        }
        Some(self.walk_in_process(revs)?.into_commits())
    }

    fn walk_in_process(&self, revs: &[String]) -> Option<Log> {
        let h = self.history.as_ref()?;
        let mut include = Vec::new();
        let mut exclude = Vec::new();
        let commit = |rev: &str| -> Option<gix::ObjectId> {
            h.resolve(if rev.is_empty() { "HEAD" } else { rev })?
        };
        for rev in revs {
            if let Some(r) = rev.strip_prefix('^') {
                exclude.push(commit(r)?);
            } else if let Some((a, b)) = rev.split_once("..") {
                if b.starts_with('.') {
                    return None; // `a...b`: a symmetric difference, git's to compute
                }
                exclude.push(commit(a)?);
                include.push(commit(b)?);
            } else {
                include.push(commit(rev)?);
            }
        }
        h.walk(&include, &exclude)
    }

    /// Run git with `input` on stdin, handing each NUL-terminated record of its stdout to
    /// `each` as it arrives.
    fn run_stdin_records(
        &self,
        args: &[&str],
        input: &str,
        mut each: impl FnMut(&[u8]),
    ) -> Result<(), GitError> {
        use std::io::{BufRead, Read, Write};
        use std::process::Stdio;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(GitError::Spawn)?;
        let mut stdin = child.stdin.take().ok_or_else(|| GitError::Parse {
            args: args.join(" "),
            detail: "no stdin".into(),
        })?;
        let input = input.to_string();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        // stderr is drained on its own thread so a chatty git never blocks on a full pipe.
        let mut stderr = child.stderr.take();
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(e) = stderr.as_mut() {
                let _ = e.read_to_string(&mut text);
            }
            text
        });
        if let Some(out) = child.stdout.take() {
            let mut reader = std::io::BufReader::with_capacity(1 << 16, out);
            let mut record = Vec::with_capacity(4096);
            loop {
                record.clear();
                match reader.read_until(0, &mut record) {
                    Ok(0) => break,
                    Ok(_) => {
                        if record.last() == Some(&0) {
                            record.pop();
                        }
                        each(&record);
                    }
                    Err(e) => return Err(GitError::Spawn(e)),
                }
            }
        }
        let status = child.wait().map_err(GitError::Spawn)?;
        let _ = writer.join();
        let stderr = errors.join().unwrap_or_default();
        if !status.success() {
            return Err(GitError::Failed {
                args: args.join(" "),
                stderr: stderr.trim().to_string(),
            });
        }
        Ok(())
    }
}

/// A branch: local (`main`) or remote-tracking (`origin/main` → remote `origin`, name `main`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Branch {
    pub name: String,
    pub remote: Option<String>,
}

impl Branch {
    fn from_refname(refname: &str) -> Option<Branch> {
        if let Some(b) = refname.strip_prefix("refs/heads/") {
            return Some(Branch {
                name: b.to_string(),
                remote: None,
            });
        }
        let (remote, name) = refname.strip_prefix("refs/remotes/")?.split_once('/')?;
        Some(Branch {
            name: name.to_string(),
            remote: Some(remote.to_string()),
        })
    }
}

impl std::fmt::Display for Branch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.remote {
            Some(r) => write!(f, "{r}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

fn parse_tags(out: &str) -> Result<Vec<TagRef>, String> {
    let mut tags = Vec::new();
    for record in out.split(RS) {
        let record = record.trim_start_matches('\n');
        if record.is_empty() {
            continue;
        }
        let f: Vec<&str> = record.split(FS).collect();
        let [name, kind, object, peeled, date] = f[..] else {
            return Err(format!("expected 5 fields, got {}: {record:?}", f.len()));
        };
        let annotated = kind == "tag";
        // Tags of trees or blobs (rare, e.g. git.git's early `v2.6.11-tree`) release nothing.
        if !annotated && kind != "commit" {
            continue;
        }
        let target = if annotated && !peeled.is_empty() {
            peeled
        } else {
            object
        };
        tags.push(TagRef {
            name: name.to_string(),
            target: target.to_string(),
            annotated,
            date: date.trim().parse().unwrap_or(0),
        });
    }
    Ok(tags)
}

/// One `git log -z` record of the 7-field format, or None for an empty one.
fn parse_record(record: &str) -> Result<Option<Commit>, String> {
    let record = record.trim_start_matches('\n');
    if record.trim().is_empty() {
        return Ok(None);
    }
    let f: Vec<&str> = record.splitn(7, FS).collect();
    let [sha, parents, author, email, date, subject, body] = f[..] else {
        return Err(format!("expected 7 fields, got {}", f.len()));
    };
    Ok(Some(Commit {
        sha: sha.to_string(),
        parents: parents.split_whitespace().map(str::to_string).collect(),
        author: author.to_string(),
        email: email.to_string(),
        date: date.parse().unwrap_or(0),
        subject: subject.to_string(),
        body: body.trim().to_string(),
        trailers: parse_trailers(body),
    }))
}

/// Trailers of a commit body: the last paragraph, when it consists of `Token: value` lines
/// (continuation lines start with whitespace).
pub(crate) fn parse_trailers(body: &str) -> Vec<(String, String)> {
    let body = body.trim_end();
    let last = body.rsplit("\n\n").next().unwrap_or("");
    let mut trailers: Vec<(String, String)> = Vec::new();
    for line in last.lines() {
        if line.starts_with([' ', '\t']) {
            match trailers.last_mut() {
                Some((_, v)) => {
                    v.push(' ');
                    v.push_str(line.trim());
                    continue;
                }
                None => return Vec::new(),
            }
        }
        match line.split_once(':') {
            Some((k, v)) if is_trailer_token(k) => {
                trailers.push((k.to_string(), v.trim().to_string()))
            }
            // A paragraph that is not all trailers is prose, not a trailer block.
            _ => return Vec::new(),
        }
    }
    trailers
}

fn is_trailer_token(k: &str) -> bool {
    k == "BREAKING CHANGE"
        || (!k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// Build git repositories in tests: commit, tag, branch, with fixed identities and dates.
#[cfg(test)]
pub mod testrepo {
    use super::Git;
    use std::path::Path;

    pub struct Repo {
        pub dir: tempfile::TempDir,
        pub git: Git,
        clock: std::cell::Cell<i64>,
    }

    impl Default for Repo {
        fn default() -> Self {
            Repo::new()
        }
    }

    impl Repo {
        pub fn new() -> Repo {
            let dir = tempfile::tempdir().expect("tempdir");
            // The CLI alone: tests of the in-process reader compare with it.
            let git = Git {
                root: dir.path().to_path_buf(),
                shallow: false,
                history: None,
            };
            let repo = Repo {
                dir,
                git,
                clock: std::cell::Cell::new(1_700_000_000),
            };
            repo.sh(&["init", "-q", "-b", "main"]);
            repo.sh(&["config", "user.name", "Test Author"]);
            repo.sh(&["config", "user.email", "test@example.com"]);
            repo.sh(&["config", "commit.gpgsign", "false"]);
            repo.sh(&["config", "tag.gpgsign", "false"]);
            repo
        }

        pub fn path(&self) -> &Path {
            self.dir.path()
        }

        pub fn sh(&self, args: &[&str]) -> String {
            let t = self.clock.get() + 60;
            self.clock.set(t);
            let date = format!("@{t} +0000");
            let out = self
                .git
                .command(args)
                .env("GIT_AUTHOR_DATE", &date)
                .env("GIT_COMMITTER_DATE", &date)
                .output()
                .expect("git runs");
            assert!(
                out.status.success(),
                "git {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        }

        /// An empty commit with `message`; returns its sha.
        pub fn commit(&self, message: &str) -> String {
            self.sh(&["commit", "-q", "--allow-empty", "-m", message]);
            self.sh(&["rev-parse", "HEAD"])
        }

        pub fn tag(&self, name: &str) {
            self.sh(&["tag", name]);
        }

        pub fn annotated(&self, name: &str) {
            self.sh(&["tag", "-a", name, "-m", name]);
        }

        /// A merge commit of `branch` (always a merge, never a fast-forward).
        pub fn merge(&self, branch: &str, message: &str) {
            self.sh(&["merge", "-q", "--no-ff", branch, "-m", message]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testrepo::Repo;
    use super::*;

    /// Two commits whose SHAs share the 7-digit prefix `545b834` (found by search: the
    /// message number is all that differs), written as loose objects.
    fn colliding_commits(repo: &Repo) -> [String; 2] {
        [5953, 12132].map(|n| {
            let body = format!(
                "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor T <t@example.com> 1700000000 +0000\ncommitter T <t@example.com> 1700000000 +0000\n\ncollide {n}\n"
            );
            let file = repo.path().join(format!("commit-{n}"));
            std::fs::write(&file, body).unwrap();
            repo.sh(&["hash-object", "-t", "commit", "-w", file.to_str().unwrap()])
        })
    }

    #[test]
    fn the_current_ref_is_the_branch_else_the_tag_of_a_detached_head() {
        let r = Repo::new();
        let one = r.commit("one");
        r.tag("v1.0.0");
        r.tag("v1.0.0-rc.1");
        r.commit("two");
        assert_eq!(r.git.current_ref().as_deref(), Some("refs/heads/main"));
        r.sh(&["checkout", "-q", &one]);
        assert_eq!(r.git.current_ref().as_deref(), Some("refs/tags/v1.0.0"));
        r.sh(&["checkout", "-q", "main"]);
        r.sh(&["checkout", "-q", "--detach"]);
        assert_eq!(r.git.current_ref(), None, "a bare commit names no ref");
    }

    #[test]
    fn abbreviated_shas_expand_to_one_commit_or_say_why_not() {
        let r = Repo::new();
        let head = r.commit("one");
        assert_eq!(
            r.git.expand_commit(&head[..7]).unwrap(),
            Abbreviated::Commit(head.clone())
        );
        let [a, b] = colliding_commits(&r);
        assert_eq!(&a[..7], &b[..7]);
        assert_eq!(
            r.git.expand_commit(&a[..7]).unwrap(),
            Abbreviated::Ambiguous(vec![a.clone(), b.clone()])
        );
        // One more digit tells them apart.
        assert_eq!(
            r.git.expand_commit(&a[..8]).unwrap(),
            Abbreviated::Commit(a.clone())
        );
        let unknown = if head.starts_with("0000") {
            "ffffff0"
        } else {
            "0000000"
        };
        assert_eq!(r.git.expand_commit(unknown).unwrap(), Abbreviated::Unknown);
    }

    #[test]
    fn tags_report_target_kind_and_date_in_one_call() {
        let r = Repo::new();
        let c1 = r.commit("one");
        r.tag("v1.0.0");
        let c2 = r.commit("two");
        r.annotated("v1.1.0");
        let mut tags = r.git.tags().unwrap();
        tags.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(tags.len(), 2);
        assert_eq!(
            (
                tags[0].name.as_str(),
                tags[0].target.as_str(),
                tags[0].annotated
            ),
            ("v1.0.0", c1.as_str(), false)
        );
        // The annotated tag is peeled to its commit, not the tag object.
        assert_eq!(
            (
                tags[1].name.as_str(),
                tags[1].target.as_str(),
                tags[1].annotated
            ),
            ("v1.1.0", c2.as_str(), true)
        );
        assert!(tags[1].date > tags[0].date);
    }

    #[test]
    fn log_parses_subject_body_parents_and_trailers() {
        let r = Repo::new();
        let base = r.commit("feat(api)!: new endpoint\n\nLonger text.\n\nBREAKING CHANGE: old one removed\nCo-authored-by: Ann <ann@example.com>");
        r.sh(&["checkout", "-q", "-b", "topic"]);
        let side = r.commit("fix: side");
        r.sh(&["checkout", "-q", "main"]);
        r.commit("chore: main");
        r.merge("topic", "Merge pull request #12 from a/topic");
        let log = r.git.log("HEAD").unwrap();
        assert_eq!(log.len(), 4);
        assert_eq!(log[0].subject, "Merge pull request #12 from a/topic");
        assert_eq!(log[0].parents.len(), 2);
        assert!(log[0].is_merge());
        let first = log.iter().find(|c| c.sha == base).unwrap();
        assert_eq!(first.subject, "feat(api)!: new endpoint");
        assert!(first.body.starts_with("Longer text."));
        assert_eq!(
            first.trailers,
            vec![
                ("BREAKING CHANGE".to_string(), "old one removed".to_string()),
                (
                    "Co-authored-by".to_string(),
                    "Ann <ann@example.com>".to_string()
                )
            ]
        );
        assert_eq!(first.author, "Test Author");
        assert!(log.iter().any(|c| c.sha == side));
    }

    #[test]
    fn ancestry_and_branches_containing() {
        let r = Repo::new();
        let a = r.commit("a");
        r.sh(&["checkout", "-q", "-b", "release/1.x"]);
        let b = r.commit("b");
        r.sh(&["checkout", "-q", "main"]);
        assert!(r.git.is_ancestor(&a, &b).unwrap());
        assert!(!r.git.is_ancestor(&b, &a).unwrap());
        let names = |bs: Vec<Branch>| {
            let mut v: Vec<String> = bs.iter().map(|b| b.to_string()).collect();
            v.sort();
            v
        };
        assert_eq!(
            names(r.git.branches_containing(&b).unwrap()),
            vec!["release/1.x"]
        );
        assert_eq!(
            names(r.git.branches_containing(&a).unwrap()),
            vec!["main", "release/1.x"]
        );
        // A clone has the branches as remote-tracking refs, and origin/HEAD is not one.
        let clone = tempfile::tempdir().unwrap();
        let url = format!("file://{}", r.path().display());
        let ok = std::process::Command::new("git")
            .args(["clone", "-q", &url])
            .arg(clone.path().join("c"))
            .status()
            .unwrap();
        assert!(ok.success());
        let c = Git::open(&clone.path().join("c")).unwrap();
        let on = c.branches_containing(&b).unwrap();
        assert_eq!(
            on,
            vec![Branch {
                name: "release/1.x".into(),
                remote: Some("origin".into())
            }]
        );
        assert_eq!(
            names(c.branches().unwrap()),
            vec!["main", "origin/main", "origin/release/1.x"]
        );
    }

    #[test]
    fn shallow_clone_is_detected_and_named() {
        let r = Repo::new();
        r.commit("a");
        r.commit("b");
        let clone = tempfile::tempdir().unwrap();
        let url = format!("file://{}", r.path().display());
        let status = std::process::Command::new("git")
            .args(["clone", "-q", "--depth", "1", &url])
            .arg(clone.path().join("c"))
            .status()
            .unwrap();
        assert!(status.success());
        let shallow = Git::open(&clone.path().join("c")).unwrap();
        assert!(shallow.is_shallow().unwrap());
        let err = shallow.require_full_history("ancestry").unwrap_err();
        assert!(err.to_string().contains("fetch-depth: 0"), "{err}");
        assert!(!r.git.is_shallow().unwrap());
    }

    #[test]
    fn not_a_repository_and_unknown_revisions_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            Git::open(dir.path()),
            Err(GitError::NotARepo { .. })
        ));
        let r = Repo::new();
        r.commit("a");
        assert_eq!(r.git.resolve("v9.9.9").unwrap(), None);
        let err = r.git.commit_of("v9.9.9").unwrap_err();
        assert!(err.to_string().contains("fetch-depth: 0"));
    }
}
