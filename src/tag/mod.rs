//! Release tags: which tags are releases of which app at which version, in SemVer order.
//!
//! `pattern` splits a tag into app and version text, `version` judges and orders versions,
//! `policy` decides whether a tag may release, `next` computes the next version from
//! conventional commits. Git facts come from [`crate::git`]; nothing here runs git itself
//! except [`Releases::from_git`].

pub mod gate;
pub(crate) mod next;
pub(crate) mod pattern;
pub(crate) mod policy;
pub(crate) mod version;

#[cfg(test)]
mod corpus_tests;

pub use pattern::{PatternError, TagPattern};
pub use version::VersionError;

use crate::git::{Git, GitError, TagRef};
use semver::Version;

/// A tag that is a release: app and strict SemVer version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub tag: String,
    pub app: Option<String>,
    pub version: Version,
    /// The commit, when read from git.
    pub target: Option<String>,
    pub annotated: bool,
    /// The tag's date (Unix seconds), when read from git.
    pub date: i64,
}

impl Release {
    pub fn is_prerelease(&self) -> bool {
        !self.version.pre.is_empty()
    }
}

/// Why a tag is not a valid release under a pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    #[error("tag `{tag}` does not match the tag pattern `{pattern}`{}", hint(.suggestion))]
    NotMatching {
        tag: String,
        pattern: String,
        suggestion: Option<String>,
    },
    #[error("tag `{tag}` is not SemVer 2.0.0: {problem}{}", hint(.suggestion))]
    Malformed {
        tag: String,
        problem: String,
        suggestion: Option<String>,
    },
}

fn hint(s: &Option<String>) -> String {
    match s {
        Some(s) => format!("; nearest valid tag: `{s}`"),
        None => String::new(),
    }
}

impl TagError {
    pub fn suggestion(&self) -> Option<&str> {
        match self {
            TagError::NotMatching { suggestion, .. } | TagError::Malformed { suggestion, .. } => {
                suggestion.as_deref()
            }
        }
    }
}

/// How one tag reads under a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    Release(Release),
    /// Fits the pattern but the version is not SemVer 2.0.0.
    Malformed(TagError),
    /// Not this pattern's (another app's, or not a release tag).
    Foreign,
}

/// The version a release tag names under the tag pattern `pattern` (`v{version}`:
/// `v1.2.3` → `1.2.3`), `{app}` being `app`; None when the tag does not fit the pattern.
pub fn version_in_tag(pattern: &str, app: Option<&str>, tag: &str) -> Option<String> {
    let (prefix, suffix) = pattern.split_once("{version}")?;
    let prefix = prefix.replace("{app}", app.unwrap_or(""));
    let suffix = suffix.replace("{app}", app.unwrap_or(""));
    let v = tag
        .strip_prefix(prefix.as_str())?
        .strip_suffix(suffix.as_str())?;
    Some(v.to_string())
}

/// Classify `tag` under `pattern`.
pub fn classify(pattern: &TagPattern, tag: &str) -> Classified {
    let Some(split) = pattern.split(tag) else {
        return Classified::Foreign;
    };
    match version::parse(split.version) {
        Ok(v) => Classified::Release(Release {
            tag: tag.to_string(),
            app: split.app,
            version: v,
            target: None,
            annotated: false,
            date: 0,
        }),
        Err(e) => Classified::Malformed(TagError::Malformed {
            tag: tag.to_string(),
            problem: e.problem,
            suggestion: e
                .suggestion
                .and_then(|s| pattern.render(split.app.as_deref(), &s).ok()),
        }),
    }
}

/// Validate one tag that is meant to be a release under `pattern`: a tag that does not fit
/// the pattern is an error too, with the nearest tag that would.
pub fn validate(pattern: &TagPattern, tag: &str) -> Result<Release, TagError> {
    match classify(pattern, tag) {
        Classified::Release(r) => Ok(r),
        Classified::Malformed(e) => Err(e),
        Classified::Foreign => Err(TagError::NotMatching {
            tag: tag.to_string(),
            pattern: pattern.raw().to_string(),
            suggestion: nearest_fit(pattern, tag),
        }),
    }
}

/// For a tag outside the pattern: drop whatever prefix it has (case-insensitive `v`, the
/// pattern's own prefix) and render the repaired version through the pattern.
fn nearest_fit(pattern: &TagPattern, tag: &str) -> Option<String> {
    let prefix = pattern.prefix();
    let text = if tag.len() >= prefix.len()
        && tag.is_char_boundary(prefix.len())
        && tag[..prefix.len()].eq_ignore_ascii_case(prefix)
    {
        &tag[prefix.len()..]
    } else {
        tag
    };
    let repaired = version::repair(text)?;
    pattern.render(None, &repaired).ok()
}

/// Every release of one app (or of the repository, for app-less patterns), from git.
#[derive(Debug, Clone, Default)]
pub struct Releases {
    pub releases: Vec<Release>,
    /// Tags that fit the pattern but are not SemVer (kept to report, never ordered).
    pub malformed: Vec<TagError>,
}

impl Releases {
    /// Classify `tags` under `pattern`, keeping only `app`'s when the pattern has `{app}`.
    pub fn classify(pattern: &TagPattern, tags: &[TagRef]) -> Releases {
        let mut out = Releases::default();
        for t in tags {
            match classify(pattern, &t.name) {
                Classified::Release(mut r) => {
                    r.target = Some(t.target.clone());
                    r.annotated = t.annotated;
                    r.date = t.date;
                    out.releases.push(r);
                }
                Classified::Malformed(e) => out.malformed.push(e),
                Classified::Foreign => {}
            }
        }
        out.releases
            .sort_by(|a, b| version::precedence(&a.version, &b.version).then(a.tag.cmp(&b.tag)));
        out
    }

    pub fn from_git(git: &Git, pattern: &TagPattern) -> Result<Releases, GitError> {
        Ok(Releases::classify(pattern, &git.tags()?))
    }

    pub fn get(&self, tag: &str) -> Option<&Release> {
        self.releases.iter().find(|r| r.tag == tag)
    }

    /// The previous release of `version` on its channel (see [`version::previous`]).
    pub fn previous(&self, version: &Version) -> Option<&Release> {
        version::previous(&self.releases, version, |r| &r.version)
    }

    /// The highest stable release other than `tag`.
    pub fn latest_stable(&self, except: &str) -> Option<&Release> {
        self.releases
            .iter()
            .filter(|r| r.tag != except && !r.is_prerelease())
            .max_by(|a, b| version::precedence(&a.version, &b.version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(p: &str) -> TagPattern {
        TagPattern::new(p, None).unwrap()
    }

    #[test]
    fn malformed_tags_get_the_nearest_valid_tag() {
        let msg = |p: &str, t: &str| validate(&v(p), t).unwrap_err().to_string();
        assert_eq!(
            msg("v{version}", "v1.2"),
            "tag `v1.2` is not SemVer 2.0.0: `1.2` has 2 numbers; SemVer needs exactly three (MAJOR.MINOR.PATCH); nearest valid tag: `v1.2.0`"
        );
        assert_eq!(
            msg("v{version}", "1.0.0rc5"),
            "tag `1.0.0rc5` does not match the tag pattern `v{version}`; nearest valid tag: `v1.0.0-rc5`"
        );
        assert_eq!(
            validate(&v("v{version}"), "v1.7.9.6")
                .unwrap_err()
                .suggestion(),
            Some("v1.7.9-6")
        );
        assert_eq!(
            validate(&v("v{version}"), "V1.2.3")
                .unwrap_err()
                .suggestion(),
            Some("v1.2.3")
        );
        assert_eq!(
            validate(&v("{app}@{version}"), "svelte@1.2")
                .unwrap_err()
                .suggestion(),
            Some("svelte@1.2.0")
        );
        assert_eq!(
            validate(&v("v{version}"), "list").unwrap_err().suggestion(),
            None
        );
    }

    #[test]
    fn valid_tags_carry_app_and_version() {
        let r = validate(
            &TagPattern::new("{app}@{version}", Some("svelte")).unwrap(),
            "svelte@5.0.0-next.3",
        )
        .unwrap();
        assert_eq!(r.app.as_deref(), Some("svelte"));
        assert_eq!(r.version, Version::parse("5.0.0-next.3").unwrap());
        assert!(r.is_prerelease());
    }
}
