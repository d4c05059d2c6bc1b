//! A full CHANGELOG.md over every release, from ONE walk of all history.
//!
//! Each commit belongs to the lowest version whose tag contains it (the release that first
//! shipped it); commits no tag contains are "Unreleased". Children first (Kahn's order over
//! the walk's parent links), every commit passes its label down to its parents, so the
//! assignment is a single linear pass: no walk per tag. Each release's commits are then built
//! from the raw objects, and its notes written, on every core.

use super::notes::{self, Notes, NotesError, Rules};
use crate::config::Config;
use crate::git::{Commit, Git, Log};
use crate::tag::{PatternError, Releases, TagPattern};
use std::path::Path;

/// The changelog document and the notes of each release in it (newest first).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Changelog {
    pub releases: Vec<Notes>,
    pub markdown: String,
}

/// Every release of `app` (by the config's tag pattern), plus unreleased work on HEAD.
pub fn changelog(
    root: &Path,
    config: &Config,
    app: Option<&str>,
    repo_url: Option<&str>,
) -> Result<Changelog, NotesError> {
    let git = Git::open(root)?;
    git.require_full_history("the changelog")?;
    let rules = Rules::new(&config.notes)?;
    let pattern = TagPattern::new(&config.tag_pattern(app), app)?;
    if pattern.has_app() && app.is_none() {
        // Interleaving every app's releases in one changelog would misassign commits.
        return Err(PatternError::NoApp(pattern.raw().to_string()).into());
    }
    let releases = Releases::from_git(&git, &pattern)?;
    let rel = &releases.releases; // ascending precedence: index order = version order

    let mut revs: Vec<String> = rel.iter().filter_map(|r| r.target.clone()).collect();
    if git.resolve("HEAD")?.is_some() {
        revs.push("HEAD".into());
    }
    let log = if revs.is_empty() {
        Log::from_commits(Vec::new())
    } else {
        // git's own order (`--topo-order` would make git finish the whole walk before
        // printing anything); `assign` orders children first itself.
        git.walk_revs(&revs)?
    };
    let labels = assign(&log, rel.iter().map(|r| r.target.as_deref()));

    // Positions in the log, grouped in history order; the last group is unreleased.
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); rel.len() + 1];
    for (i, label) in labels.into_iter().enumerate() {
        groups[label.min(rel.len())].push(i);
    }
    let commits =
        |group: &[usize]| -> Vec<Commit> { group.iter().map(|&i| log.commit(i)).collect() };

    let mut out = Vec::new();
    if let Some(unreleased) = groups.pop().filter(|g| !g.is_empty()) {
        let mut n = notes::build(&commits(&unreleased), &rules, &config.notes);
        n.to = "HEAD".into();
        n.previous_tag = releases.latest_stable("").map(|r| r.tag.clone());
        n.markdown = notes::render(&n, repo_url, config.notes.contributors);
        out.push(n);
    }
    let jobs: Vec<(&crate::tag::Release, Vec<usize>)> = rel.iter().zip(groups).rev().collect();
    // Each release's notes are independent of the others': its commits are built and its
    // notes written on every core.
    out.extend(in_parallel(&jobs, |(r, group)| {
        let mut n = notes::build(&commits(group), &rules, &config.notes);
        let previous = releases.previous(&r.version);
        n.tag = Some(r.tag.clone());
        n.version = Some(r.version.to_string());
        n.previous_tag = previous.map(|p| p.tag.clone());
        n.previous_version = previous.map(|p| p.version.to_string());
        n.from = n.previous_tag.clone();
        n.to = r.tag.clone();
        n.date = Some(notes::ymd(r.date));
        n.markdown = notes::render(&n, repo_url, config.notes.contributors);
        n
    }));
    let mut markdown = String::from("# Changelog\n\n");
    for n in &out {
        markdown.push_str(&n.markdown);
    }
    Ok(Changelog {
        releases: out,
        markdown: format!("{}\n", markdown.trim_end()),
    })
}

/// `f` of each job, in order, with the jobs split between the cores by their commit count.
fn in_parallel<T, C, R, F>(jobs: &[(T, Vec<C>)], f: F) -> Vec<R>
where
    T: Sync,
    C: Sync,
    R: Send,
    F: Fn(&(T, Vec<C>)) -> R + Sync,
{
    let cores = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let total: usize = jobs.iter().map(|(_, c)| c.len() + 1).sum();
    if cores < 2 || total < 512 {
        return jobs.iter().map(&f).collect();
    }
    // Cut where the running commit count passes each share.
    let share = total.div_ceil(cores);
    let mut parts: Vec<&[(T, Vec<C>)]> = Vec::new();
    let (mut start, mut weight) = (0, 0);
    for (i, (_, c)) in jobs.iter().enumerate() {
        weight += c.len() + 1;
        if weight >= share {
            parts.push(&jobs[start..=i]);
            (start, weight) = (i + 1, 0);
        }
    }
    parts.push(&jobs[start..]);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("notes threads do not panic"))
            .collect()
    })
}

/// For each commit of `log`, the index of the lowest release whose tag contains it, or
/// `usize::MAX`. `targets[i]` is release i's commit; lower index = lower version.
///
/// One pass children-first (Kahn's order over the parent links inside the log): a commit's
/// label is final once all its children have passed theirs down.
pub fn assign<'a>(log: &Log, targets: impl Iterator<Item = Option<&'a str>>) -> Vec<usize> {
    let n = log.len();
    let position: gix::hashtable::HashMap<gix::ObjectId, usize> =
        (0..n).map(|i| (*log.id(i), i)).collect();
    let mut children = vec![0usize; n];
    for i in 0..n {
        for &p in log.parents(i) {
            children[p as usize] += 1;
        }
    }
    let mut best = vec![usize::MAX; n];
    for (release, target) in targets.enumerate() {
        let at = target
            .and_then(|t| gix::ObjectId::from_hex(t.as_bytes()).ok())
            .and_then(|id| position.get(&id));
        if let Some(&i) = at {
            best[i] = best[i].min(release);
        }
    }
    let mut ready: Vec<usize> = (0..n).filter(|&i| children[i] == 0).collect();
    while let Some(i) = ready.pop() {
        let label = best[i];
        for &p in log.parents(i) {
            let p = p as usize;
            best[p] = best[p].min(label);
            children[p] -= 1;
            if children[p] == 0 {
                ready.push(p);
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::testrepo::Repo;

    #[test]
    fn every_commit_goes_to_the_lowest_release_containing_it() {
        let r = Repo::new();
        r.commit("feat: one");
        r.tag("v1.0.0");
        r.commit("fix: two");
        r.sh(&["checkout", "-q", "-b", "topic"]);
        r.commit("feat: on a branch");
        r.sh(&["checkout", "-q", "main"]);
        r.commit("perf: three");
        r.tag("v1.1.0-rc.1");
        r.merge("topic", "Merge pull request #5 from o/topic");
        r.tag("v1.1.0");
        r.commit("docs: unreleased");
        let mut config = Config::empty();
        config.notes.contributors = false;
        let log = changelog(r.path(), &config, None, None).unwrap();
        let names: Vec<Option<&str>> = log.releases.iter().map(|n| n.tag.as_deref()).collect();
        assert_eq!(
            names,
            vec![None, Some("v1.1.0"), Some("v1.1.0-rc.1"), Some("v1.0.0")]
        );
        let subjects = |n: &Notes| -> Vec<String> {
            n.sections
                .iter()
                .flat_map(|s| s.entries.iter().map(|e| e.description.clone()))
                .collect()
        };
        assert_eq!(subjects(&log.releases[0]), vec!["unreleased"]);
        assert_eq!(subjects(&log.releases[1]), vec!["on a branch"]);
        assert_eq!(
            log.releases[1].sections[0].entries[0].pull_requests,
            vec![5]
        );
        assert_eq!(subjects(&log.releases[2]), vec!["two", "three"]);
        assert_eq!(subjects(&log.releases[3]), vec!["one"]);
        assert!(
            log.markdown.starts_with("# Changelog\n\n## Unreleased\n"),
            "{}",
            log.markdown
        );
        assert_eq!(log.releases[1].previous_tag.as_deref(), Some("v1.0.0"));
    }
}
