//! The next version from conventional commits: `feat` → minor, `fix`/`perf` → patch, `!` or
//! `BREAKING CHANGE:` → major; below 1.0.0 everything shifts down one (breaking → minor);
//! a prerelease series continues (`rc.1` → `rc.2`) or graduates to its stable version.

use super::version::precedence;
use crate::conventional;
use crate::git::Commit;
use semver::{Prerelease, Version};
use std::cmp::Ordering;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    None,
    Patch,
    Minor,
    Major,
}

/// The largest bump any of `commits` asks for.
pub fn bump_of(commits: &[Commit]) -> Bump {
    commits
        .iter()
        .filter(|c| !c.is_merge())
        .map(|c| {
            let e = conventional::entry(c);
            if e.breaking {
                Bump::Major
            } else {
                match e.kind.as_deref() {
                    Some("feat") => Bump::Minor,
                    Some("fix" | "perf") => Bump::Patch,
                    _ => Bump::None,
                }
            }
        })
        .max()
        .unwrap_or(Bump::None)
}

/// `base` bumped. Before 1.0.0 a breaking change bumps the minor (SemVer's "anything may
/// change" phase); features still bump the minor and fixes the patch.
pub fn apply(base: &Version, bump: Bump) -> Version {
    let (major, minor, patch) = (base.major, base.minor, base.patch);
    let bump = if major == 0 && bump == Bump::Major {
        Bump::Minor
    } else {
        bump
    };
    match bump {
        Bump::None => Version::new(major, minor, patch),
        Bump::Patch => Version::new(major, minor, patch + 1),
        Bump::Minor => Version::new(major, minor + 1, 0),
        Bump::Major => Version::new(major + 1, 0, 0),
    }
}

/// What [`next`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Version(Version),
    /// No release-worthy commit since the last release.
    Nothing,
}

/// The next version.
/// - `stable`: the highest stable release (None: nothing released; counts from 0.0.0).
/// - `latest`: the highest release of any channel (a prerelease may be above `stable`).
/// - `since_stable` / `since_latest`: the bumps of the commits since each.
/// - `pre`: continue or start a prerelease series with this id (`rc`).
pub fn next(
    stable: Option<&Version>,
    latest: Option<&Version>,
    since_stable: Bump,
    since_latest: Bump,
    pre: Option<&str>,
) -> Next {
    let zero = Version::new(0, 0, 0);
    let base = stable.unwrap_or(&zero);
    let target = apply(base, since_stable);
    // A prerelease above the last stable: its core is where the series is heading.
    let open_pre = latest.filter(|l| !l.pre.is_empty() && precedence(l, base) == Ordering::Greater);
    let core = match open_pre {
        Some(p) => {
            let p_core = Version::new(p.major, p.minor, p.patch);
            if precedence(&target, &p_core) == Ordering::Greater {
                target
            } else {
                p_core
            }
        }
        None => target,
    };
    match pre {
        None => {
            // Graduation: a stable version for the open series even without new commits.
            if since_stable == Bump::None && open_pre.is_none() {
                return Next::Nothing;
            }
            if precedence(&core, base) != Ordering::Greater {
                return Next::Nothing;
            }
            Next::Version(core)
        }
        Some(id) => {
            if since_latest == Bump::None && latest.is_some() && open_pre.is_some() {
                return Next::Nothing;
            }
            if since_stable == Bump::None && open_pre.is_none() {
                return Next::Nothing;
            }
            let n = match open_pre {
                Some(p) if same_core(p, &core) && series(p) == Some(id) => {
                    series_number(p).map_or(1, |n| n + 1)
                }
                _ => 1,
            };
            let mut v = core;
            v.pre = Prerelease::new(&format!("{id}.{n}")).unwrap_or(Prerelease::EMPTY);
            Next::Version(v)
        }
    }
}

fn same_core(a: &Version, b: &Version) -> bool {
    (a.major, a.minor, a.patch) == (b.major, b.minor, b.patch)
}

/// `rc` of `rc.3`.
fn series(v: &Version) -> Option<&str> {
    v.pre.as_str().split('.').next()
}

/// `3` of `rc.3`.
fn series_number(v: &Version) -> Option<u64> {
    v.pre.as_str().split('.').nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn nx(
        stable: Option<&str>,
        latest: Option<&str>,
        s: Bump,
        l: Bump,
        pre: Option<&str>,
    ) -> String {
        let stable = stable.map(v);
        let latest = latest.map(v);
        match next(stable.as_ref(), latest.as_ref(), s, l, pre) {
            Next::Version(v) => v.to_string(),
            Next::Nothing => "nothing".into(),
        }
    }

    fn commit(subject: &str, body: &str) -> Commit {
        Commit {
            sha: "0".repeat(40),
            parents: vec![],
            author: String::new(),
            email: String::new(),
            date: 0,
            subject: subject.into(),
            body: body.into(),
            trailers: vec![],
        }
    }

    #[test]
    fn bumps_from_conventional_commits() {
        assert_eq!(
            bump_of(&[commit("docs: x", ""), commit("chore: y", "")]),
            Bump::None
        );
        assert_eq!(
            bump_of(&[commit("fix: x", ""), commit("perf: y", "")]),
            Bump::Patch
        );
        assert_eq!(
            bump_of(&[commit("fix: x", ""), commit("feat(a): y", "")]),
            Bump::Minor
        );
        assert_eq!(bump_of(&[commit("feat!: x", "")]), Bump::Major);
        assert_eq!(
            bump_of(&[commit("refactor: x", "BREAKING CHANGE: gone")]),
            Bump::Major
        );
        assert_eq!(bump_of(&[commit("Update readme", "")]), Bump::None);
    }

    #[test]
    fn stable_steps() {
        use Bump::{Major, Minor, Patch};
        const B0: Bump = Bump::None;
        assert_eq!(
            nx(Some("1.2.3"), Some("1.2.3"), Patch, Patch, None),
            "1.2.4"
        );
        assert_eq!(
            nx(Some("1.2.3"), Some("1.2.3"), Minor, Minor, None),
            "1.3.0"
        );
        assert_eq!(
            nx(Some("1.2.3"), Some("1.2.3"), Major, Major, None),
            "2.0.0"
        );
        assert_eq!(nx(Some("1.2.3"), Some("1.2.3"), B0, B0, None), "nothing");
        // 0.x: a breaking change is a minor step.
        assert_eq!(
            nx(Some("0.4.1"), Some("0.4.1"), Major, Major, None),
            "0.5.0"
        );
        assert_eq!(
            nx(Some("0.4.1"), Some("0.4.1"), Minor, Minor, None),
            "0.5.0"
        );
        assert_eq!(nx(None, None, Minor, Minor, None), "0.1.0");
        assert_eq!(nx(None, None, Patch, Patch, None), "0.0.1");
    }

    #[test]
    fn prerelease_series_continue_and_graduate() {
        use Bump::{Major, Minor, Patch};
        const B0: Bump = Bump::None;
        assert_eq!(
            nx(Some("1.2.3"), Some("1.2.3"), Minor, Minor, Some("rc")),
            "1.3.0-rc.1"
        );
        assert_eq!(
            nx(Some("1.2.3"), Some("1.3.0-rc.1"), Minor, Patch, Some("rc")),
            "1.3.0-rc.2"
        );
        assert_eq!(
            nx(Some("1.2.3"), Some("1.3.0-rc.9"), Minor, Patch, Some("rc")),
            "1.3.0-rc.10"
        );
        // Nothing new since rc.2: no rc.3.
        assert_eq!(
            nx(Some("1.2.3"), Some("1.3.0-rc.2"), Minor, B0, Some("rc")),
            "nothing"
        );
        // A beta series moves on to rc.1.
        assert_eq!(
            nx(
                Some("1.2.3"),
                Some("1.3.0-beta.4"),
                Minor,
                Patch,
                Some("rc")
            ),
            "1.3.0-rc.1"
        );
        // A breaking change during the rc series raises the target.
        assert_eq!(
            nx(Some("1.2.3"), Some("1.3.0-rc.2"), Major, Major, Some("rc")),
            "2.0.0-rc.1"
        );
        // Graduation: no --pre releases the series' stable version.
        assert_eq!(
            nx(Some("1.2.3"), Some("1.3.0-rc.2"), Minor, B0, None),
            "1.3.0"
        );
        // Fixes only since stable, but a 2.0.0 series is open: it continues there.
        assert_eq!(
            nx(Some("1.2.3"), Some("2.0.0-rc.1"), Patch, Patch, Some("rc")),
            "2.0.0-rc.2"
        );
    }
}
