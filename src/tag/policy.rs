//! The release policy applied to one tag: prerelease and build-metadata rules, monotonic
//! versions (per maintenance line on a maintenance branch), the release branch, annotated
//! tags. Pure: the facts come in (read from git and
//! GitHub by the `tag` command), the verdict goes out — every refusal with its reason.

use super::{version, Release};
use crate::config::{EnvironmentPolicy, PrereleasePolicy, ReleasePolicy};
use crate::git::Branch;
use globset::{Glob, GlobSetBuilder};
use std::cmp::Ordering;

/// A version already released, and where we learnt it.
#[derive(Debug, Clone)]
pub(crate) struct Released {
    pub tag: String,
    pub version: semver::Version,
    /// `git tag` or `GitHub release`.
    pub source: &'static str,
}

/// What the policy looks at.
#[derive(Debug, Clone)]
pub(crate) struct Facts<'a> {
    pub release: &'a Release,
    /// Every other release of the same app (this tag excluded).
    pub released: Vec<Released>,
    /// Branches that contain the tagged commit.
    pub branches: Vec<Branch>,
    /// The environment the tag is for, when given.
    pub environment: Option<&'a EnvironmentPolicy>,
    /// An explicit rollback (`--rollback`).
    pub rollback: bool,
}

/// One rule that refused the tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub rule: &'static str,
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct Verdict {
    pub refusals: Vec<Refusal>,
    pub warnings: Vec<String>,
}

impl Verdict {
    pub(crate) fn allowed(&self) -> bool {
        self.refusals.is_empty()
    }
    fn refuse(&mut self, rule: &'static str, reason: String) {
        self.refusals.push(Refusal { rule, reason });
    }
}

/// The branches a release may be cut from, as globs: `release.branch` plus `release.branches`.
pub(crate) fn release_branches(policy: &ReleasePolicy) -> Vec<String> {
    let mut all = vec![policy.branch.clone()];
    all.extend(policy.branches.iter().cloned());
    all
}

/// Whether `branch` (local or remote-tracking) is a release branch under `globs`.
pub(crate) fn is_release_branch(globs: &[String], branch: &Branch) -> bool {
    let mut set = GlobSetBuilder::new();
    for g in globs {
        // Invalid globs are reported by config validation; here they simply match nothing.
        if let Ok(glob) = Glob::new(g) {
            set.add(glob);
        }
    }
    set.build().is_ok_and(|s| s.is_match(&branch.name))
}

pub(crate) fn evaluate(policy: &ReleasePolicy, facts: &Facts) -> Verdict {
    let mut verdict = Verdict::default();
    let r = facts.release;
    let v = &r.version;
    prerelease_rules(policy, facts, &mut verdict);
    if !policy.build_metadata && !v.build.is_empty() {
        verdict.refuse(
            "build-metadata",
            format!(
                "build metadata `+{}` is not allowed (release.build-metadata: false); tag `{}` without it",
                v.build,
                r.tag.split('+').next().unwrap_or(&r.tag)
            ),
        );
    }
    monotonic(policy, facts, &mut verdict);
    let globs = release_branches(policy);
    if !facts.branches.iter().any(|b| is_release_branch(&globs, b)) {
        let on = if facts.branches.is_empty() {
            "no branch".to_string()
        } else {
            facts
                .branches
                .iter()
                .map(|b| format!("`{b}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        verdict.refuse(
            "release-branch",
            format!(
                "the commit of `{}` is not on a release branch ({}); it is on {on}",
                r.tag,
                globs
                    .iter()
                    .map(|g| format!("`{g}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    if policy.annotated_tags && !r.annotated {
        verdict.refuse(
            "annotated-tag",
            format!(
                "`{}` is a lightweight tag; release.annotated-tags requires `git tag -a {} -m ...`",
                r.tag, r.tag
            ),
        );
    }
    verdict
}

fn prerelease_rules(policy: &ReleasePolicy, facts: &Facts, verdict: &mut Verdict) {
    let r = facts.release;
    if !r.is_prerelease() {
        return;
    }
    match (policy.prerelease, facts.environment) {
        (PrereleasePolicy::Refuse, _) => verdict.refuse(
            "prerelease",
            format!("prerelease tags are refused (release.prerelease: refuse): `{}`", r.tag),
        ),
        (PrereleasePolicy::StagingOnly, Some(env)) if env.production => verdict.refuse(
            "prerelease",
            format!(
                "prerelease `{}` may not release to production environment `{}` (release.prerelease: staging-only)",
                r.tag, env.name
            ),
        ),
        (PrereleasePolicy::StagingOnly, None) => verdict.warnings.push(format!(
            "prerelease `{}` is staging-only: the production gate refuses it",
            r.tag
        )),
        _ => {}
    }
    if let Some(env) = facts.environment {
        if env.prerelease == PrereleasePolicy::Refuse {
            verdict.refuse(
                "prerelease",
                format!(
                    "environment `{}` refuses prerelease tags: `{}`",
                    env.name, r.tag
                ),
            );
        }
    }
}

fn monotonic(policy: &ReleasePolicy, facts: &Facts, verdict: &mut Verdict) {
    let v = &facts.release.version;
    let tag = &facts.release.tag;
    if let Some(same) = facts
        .released
        .iter()
        .find(|o| version::precedence(&o.version, v) == Ordering::Equal)
    {
        verdict.refuse(
            "monotonic",
            format!(
                "version {v} was already released as `{}` ({}); a re-release needs a new version",
                same.tag, same.source
            ),
        );
        return;
    }
    let higher = |on_line: bool| {
        facts
            .released
            .iter()
            .filter(move |o| !on_line || (o.version.major, o.version.minor) == (v.major, v.minor))
            .filter(|o| version::precedence(&o.version, v) == Ordering::Greater)
            .max_by(|a, b| version::precedence(&a.version, &b.version))
    };
    let Some(highest) = higher(false) else {
        return;
    };
    // A patch of an older line (`v1.0.1` after `v1.1.0`) cut from a maintenance branch
    // (`release.branches`) is a release: it need only be the newest of its major.minor line.
    let line = format!("{}.{}", v.major, v.minor);
    let maintained = facts
        .branches
        .iter()
        .find(|b| is_release_branch(&policy.branches, b));
    let highest = match maintained {
        Some(_) => match higher(true) {
            Some(newer) => newer,
            None => return,
        },
        None => highest,
    };
    let what = format!(
        "`{tag}` ({v}) is lower than the released `{}` ({}, {})",
        highest.tag, highest.version, highest.source
    );
    match (facts.rollback, policy.allow_downgrade) {
        (true, true) => verdict
            .warnings
            .push(format!("{what}: allowed as an explicit rollback")),
        (true, false) => verdict.refuse(
            "monotonic",
            format!("{what}; a rollback to a lower version needs release.allow-downgrade: true"),
        ),
        (false, _) => verdict.refuse(
            "monotonic",
            match maintained {
                Some(branch) => format!(
                    "{what}, the newest of the {line} line `{branch}` maintains; tag the next \
                     patch of that line"
                ),
                None => format!(
                    "{what}; versions must increase, except on a maintenance line: a patch of \
                     the {line} line is a release when its commit is on a branch listed in \
                     release.branches (e.g. `release/{line}`); a deliberate downgrade needs \
                     --rollback and release.allow-downgrade: true"
                ),
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use semver::Version;

    fn release(tag: &str, annotated: bool) -> Release {
        Release {
            tag: tag.into(),
            app: None,
            version: Version::parse(tag.trim_start_matches('v')).unwrap(),
            target: None,
            annotated,
            date: 0,
        }
    }

    fn released(tags: &[&str]) -> Vec<Released> {
        tags.iter()
            .map(|t| Released {
                tag: t.to_string(),
                version: Version::parse(t.trim_start_matches('v')).unwrap(),
                source: "git tag",
            })
            .collect()
    }

    fn main_branch() -> Vec<Branch> {
        vec![Branch {
            name: "main".into(),
            remote: Some("origin".into()),
        }]
    }

    fn verdict(policy: &ReleasePolicy, tag: &str, others: &[&str], rollback: bool) -> Verdict {
        let r = release(tag, false);
        evaluate(
            policy,
            &Facts {
                release: &r,
                released: released(others),
                branches: main_branch(),
                environment: None,
                rollback,
            },
        )
    }

    fn rules(v: &Verdict) -> Vec<&'static str> {
        v.refusals.iter().map(|r| r.rule).collect()
    }

    #[test]
    fn a_higher_version_on_origin_main_is_allowed() {
        let v = verdict(
            &ReleasePolicy::default(),
            "v1.3.0",
            &["v1.2.0", "v1.3.0-rc.1"],
            false,
        );
        assert!(v.allowed(), "{:?}", v.refusals);
    }

    #[test]
    fn lower_and_equal_versions_are_refused() {
        let p = ReleasePolicy::default();
        let v = verdict(&p, "v1.2.0", &["v1.3.0"], false);
        assert_eq!(rules(&v), vec!["monotonic"]);
        assert!(v.refusals[0]
            .reason
            .contains("lower than the released `v1.3.0`"));
        let v = verdict(&p, "v1.3.0", &["v1.3.0+build.7"], false);
        assert!(v.refusals[0]
            .reason
            .contains("already released as `v1.3.0+build.7`"));
        // A prerelease of a released version is lower than it.
        assert_eq!(
            rules(&verdict(&p, "v1.3.0-rc.9", &["v1.3.0"], false)),
            vec!["monotonic"]
        );
    }

    #[test]
    fn downgrade_only_for_an_explicit_rollback_when_allowed() {
        let mut p = ReleasePolicy::default();
        assert_eq!(
            rules(&verdict(&p, "v1.2.0", &["v1.3.0"], true)),
            vec!["monotonic"]
        );
        p.allow_downgrade = true;
        assert_eq!(
            rules(&verdict(&p, "v1.2.0", &["v1.3.0"], false)),
            vec!["monotonic"]
        );
        let v = verdict(&p, "v1.2.0", &["v1.3.0"], true);
        assert!(v.allowed());
        assert_eq!(v.warnings.len(), 1);
        // Equal is never a rollback.
        assert_eq!(
            rules(&verdict(&p, "v1.3.0", &["v1.3.0"], true)),
            vec!["monotonic"]
        );
    }

    /// A patch of an older line on a maintenance branch releases; the same tag elsewhere, or
    /// one that is not the newest of its own line, does not.
    #[test]
    fn a_maintenance_line_releases_its_newest_patch_from_its_branch() {
        let p = ReleasePolicy {
            branches: vec!["release/*".into()],
            ..ReleasePolicy::default()
        };
        let on = |tag: &str, branch: &str, others: &[&str]| {
            let r = release(tag, false);
            evaluate(
                &p,
                &Facts {
                    release: &r,
                    released: released(others),
                    branches: vec![Branch {
                        name: branch.into(),
                        remote: Some("origin".into()),
                    }],
                    environment: None,
                    rollback: false,
                },
            )
        };
        let v = on("v1.0.1", "release/1.0", &["v1.0.0", "v1.1.0", "v2.0.0"]);
        assert!(v.allowed(), "{:?}", v.refusals);
        assert!(v.warnings.is_empty(), "{:?}", v.warnings);
        // Not the newest of its line: refused, naming the line's newest.
        let v = on("v1.0.1", "release/1.0", &["v1.0.2", "v1.1.0"]);
        assert_eq!(rules(&v), vec!["monotonic"]);
        assert!(
            v.refusals[0].reason.contains(
                "`v1.0.1` (1.0.1) is lower than the released `v1.0.2` (1.0.2, git tag), the newest of the 1.0 line `origin/release/1.0` maintains; tag the next patch of that line"
            ),
            "{}",
            v.refusals[0].reason
        );
        // On main it is a downgrade, and the advice names the maintenance branch first.
        let v = on("v1.0.1", "main", &["v1.0.0", "v1.1.0"]);
        assert_eq!(rules(&v), vec!["monotonic"]);
        assert!(
            v.refusals[0].reason.contains(
                "versions must increase, except on a maintenance line: a patch of the 1.0 line is a release when its commit is on a branch listed in release.branches (e.g. `release/1.0`)"
            ),
            "{}",
            v.refusals[0].reason
        );
    }

    #[test]
    fn prerelease_and_build_metadata_policies() {
        let mut p = ReleasePolicy {
            prerelease: PrereleasePolicy::Refuse,
            ..ReleasePolicy::default()
        };
        assert_eq!(
            rules(&verdict(&p, "v2.0.0-rc.1", &[], false)),
            vec!["prerelease"]
        );
        assert_eq!(
            rules(&verdict(&p, "v2.0.0+b1", &[], false)),
            vec!["build-metadata"]
        );
        p.build_metadata = true;
        assert!(verdict(&p, "v2.0.0+b1", &[], false).allowed());

        p.prerelease = PrereleasePolicy::StagingOnly;
        let r = release("v2.0.0-rc.1", false);
        let prod = EnvironmentPolicy::default_for("production");
        let staging = EnvironmentPolicy::default_for("staging");
        let with_env = |env| {
            evaluate(
                &p,
                &Facts {
                    release: &r,
                    released: vec![],
                    branches: main_branch(),
                    environment: env,
                    rollback: false,
                },
            )
        };
        assert_eq!(rules(&with_env(Some(&prod))), vec!["prerelease"]);
        assert!(with_env(Some(&staging)).allowed());
        let none = with_env(None);
        assert!(none.allowed());
        assert_eq!(none.warnings.len(), 1);
    }

    #[test]
    fn branch_globs_and_annotated_tags() {
        let p = ReleasePolicy {
            branches: vec!["release/*".into(), "hotfix/*".into()],
            annotated_tags: true,
            ..ReleasePolicy::default()
        };
        let r = release("v1.0.1", false);
        let on = |name: &str| {
            evaluate(
                &p,
                &Facts {
                    release: &r,
                    released: vec![],
                    branches: vec![Branch {
                        name: name.into(),
                        remote: None,
                    }],
                    environment: None,
                    rollback: false,
                },
            )
        };
        assert_eq!(rules(&on("hotfix/login")), vec!["annotated-tag"]);
        let v = on("feature/x");
        assert_eq!(rules(&v), vec!["release-branch", "annotated-tag"]);
        assert!(
            v.refusals[0].reason.contains(
                "not on a release branch (`main`, `release/*`, `hotfix/*`); it is on `feature/x`"
            ),
            "{}",
            v.refusals[0].reason
        );
    }
}
