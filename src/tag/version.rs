//! Versions: strict SemVer 2.0.0 parsing (the `semver` crate) with an explanation and the
//! nearest valid version when it fails; precedence ordering; channels (stable vs prerelease)
//! and the "previous version" that release notes and the gate use.

use semver::Version;
use std::cmp::Ordering;

/// Why a version text is not SemVer 2.0.0, with the nearest valid version when one exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionError {
    pub text: String,
    pub problem: String,
    /// The nearest valid version text; None when the text is not a version at all (a date,
    /// a word).
    pub suggestion: Option<String>,
}

/// Parse `text` as SemVer 2.0.0, exactly.
pub(crate) fn parse(text: &str) -> Result<Version, VersionError> {
    match Version::parse(text) {
        Ok(v) => Ok(v),
        Err(e) => Err(VersionError {
            text: text.to_string(),
            problem: diagnose(text).unwrap_or_else(|| e.to_string()),
            suggestion: repair(text),
        }),
    }
}

fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && (b.len() == 7 || b.get(7) == Some(&b'-'))
}

/// Say what is wrong, in the user's terms. None falls back to the semver crate's message.
fn diagnose(text: &str) -> Option<String> {
    if text.is_empty() {
        return Some("the version is empty".into());
    }
    if let Some(rest) = text.strip_prefix(['v', 'V']) {
        if rest.starts_with(|c: char| c.is_ascii_digit()) {
            return Some(format!(
                "`{text}` starts with `{}`; the pattern already supplies any prefix",
                &text[..1]
            ));
        }
    }
    if is_date(text) {
        return Some(format!("`{text}` is a date, not a version"));
    }
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        return Some(format!("`{text}` does not start with a number"));
    }
    let core_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let core = &text[..core_end];
    let rest = &text[core_end..];
    let parts: Vec<&str> = core.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Some(format!("`{core}` has an empty number"));
    }
    if parts.len() != 3 {
        return Some(format!(
            "`{core}` has {} number{}; SemVer needs exactly three (MAJOR.MINOR.PATCH)",
            parts.len(),
            if parts.len() == 1 { "" } else { "s" }
        ));
    }
    if let Some(p) = parts.iter().find(|p| p.len() > 1 && p.starts_with('0')) {
        return Some(format!("`{p}` has a leading zero"));
    }
    if !rest.is_empty() && !rest.starts_with(['-', '+']) {
        return Some(format!(
            "`{rest}` must follow the numbers after `-` (a prerelease) or `+` (build metadata)"
        ));
    }
    let (pre, build) = match rest.split_once('+') {
        Some((p, b)) => (p.strip_prefix('-').unwrap_or(p), Some(b)),
        None => (rest.strip_prefix('-').unwrap_or(rest), None),
    };
    for (what, ids) in [("prerelease", Some(pre)), ("build metadata", build)] {
        let Some(ids) = ids else { continue };
        if what == "prerelease" && !rest.starts_with('-') {
            continue;
        }
        for id in ids.split('.') {
            if id.is_empty() {
                return Some(format!("the {what} `{ids}` has an empty identifier"));
            }
            if let Some(c) = id
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
            {
                return Some(format!(
                    "`{c}` is not allowed in the {what} `{ids}` (only 0-9, A-Z, a-z and `-`)"
                ));
            }
            if what == "prerelease"
                && id.len() > 1
                && id.starts_with('0')
                && id.bytes().all(|b| b.is_ascii_digit())
            {
                return Some(format!(
                    "the prerelease identifier `{id}` has a leading zero"
                ));
            }
        }
    }
    None
}

/// The nearest valid SemVer to `text`: missing numbers padded (`1.2` → `1.2.0`), a fourth
/// number moved into the prerelease (`1.7.9.6` → `1.7.9-6`), a bare suffix joined with `-`
/// (`1.0.0rc5` → `1.0.0-rc5`), leading zeros and empty identifiers dropped. None when the
/// text is not version-like (dates, words).
pub(crate) fn repair(text: &str) -> Option<String> {
    let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
    if is_date(text) || !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let core_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let mut numbers: Vec<String> = text[..core_end]
        .split('.')
        .filter(|p| !p.is_empty())
        .map(strip_zeros)
        .collect();
    let extra: Vec<String> = if numbers.len() > 3 {
        numbers.split_off(3)
    } else {
        Vec::new()
    };
    while numbers.len() < 3 {
        numbers.push("0".into());
    }
    let rest = &text[core_end..];
    let (pre, build) = match rest.split_once('+') {
        Some((p, b)) => (p, b),
        None => (rest, ""),
    };
    let clean = |ids: &str, numeric_zeros: bool| -> Vec<String> {
        ids.split(['.', '_'])
            .map(|id| {
                id.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect::<String>()
            })
            .map(|id| id.trim_matches('-').to_string())
            .filter(|id| !id.is_empty())
            .map(|id| if numeric_zeros { strip_zeros(&id) } else { id })
            .collect()
    };
    let mut pre_ids = extra;
    pre_ids.extend(clean(pre.trim_start_matches('-'), true));
    let build_ids = clean(build, false);
    let mut out = numbers.join(".");
    if !pre_ids.is_empty() {
        out.push('-');
        out.push_str(&pre_ids.join("."));
    }
    if !build_ids.is_empty() {
        out.push('+');
        out.push_str(&build_ids.join("."));
    }
    Version::parse(&out).ok().map(|_| out)
}

/// `007` → `7`; non-numeric identifiers unchanged.
fn strip_zeros(id: &str) -> String {
    if id.len() > 1 && id.bytes().all(|b| b.is_ascii_digit()) {
        let t = id.trim_start_matches('0');
        if t.is_empty() {
            "0".into()
        } else {
            t.to_string()
        }
    } else {
        id.to_string()
    }
}

/// The prerelease series name: the leading letters of the first identifier (`rc.1` → `rc`,
/// `beta3` → `beta`, `RC2` → `RC`), or the whole identifier when it has no letters in front.
pub fn prerelease_id(v: &Version) -> Option<String> {
    if v.pre.is_empty() {
        return None;
    }
    let first = v.pre.as_str().split('.').next().unwrap_or("");
    let letters: String = first
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    Some(if letters.is_empty() {
        first.to_string()
    } else {
        letters
    })
}

/// SemVer precedence (build metadata ignored), the order every decision here uses.
pub(crate) fn precedence(a: &Version, b: &Version) -> Ordering {
    a.cmp_precedence(b)
}

/// The version a release is measured against: the highest lower version on the same channel.
/// A stable version looks only at stable versions (the previous stable release); a
/// prerelease looks at every lower version (its previous prerelease or the stable before).
pub(crate) fn previous<'a, T>(
    candidates: impl IntoIterator<Item = &'a T>,
    of: &Version,
    version: impl Fn(&T) -> &Version,
) -> Option<&'a T>
where
    T: 'a,
{
    candidates
        .into_iter()
        .filter(|c| {
            let v = version(c);
            precedence(v, of) == Ordering::Less && (!of.pre.is_empty() || v.pre.is_empty())
        })
        .max_by(|a, b| precedence(version(a), version(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> VersionError {
        parse(text).unwrap_err()
    }

    #[test]
    fn strict_semver_accepts_the_valid_forms() {
        for ok in [
            "1.2.3",
            "0.0.0",
            "1.0.0-rc.1",
            "1.0.0-RC2",
            "1.0.0-alpha-1",
            "1.0.0+build.01",
            "10.20.30-x.7.z.92",
        ] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refusals_say_what_is_wrong_and_the_nearest_valid_version() {
        let cases = [
            (
                "1.2",
                "`1.2` has 2 numbers; SemVer needs exactly three (MAJOR.MINOR.PATCH)",
                Some("1.2.0"),
            ),
            (
                "1",
                "`1` has 1 number; SemVer needs exactly three (MAJOR.MINOR.PATCH)",
                Some("1.0.0"),
            ),
            (
                "1.7.9.6",
                "`1.7.9.6` has 4 numbers; SemVer needs exactly three (MAJOR.MINOR.PATCH)",
                Some("1.7.9-6"),
            ),
            (
                "1.0.0rc5",
                "`rc5` must follow the numbers after `-` (a prerelease) or `+` (build metadata)",
                Some("1.0.0-rc5"),
            ),
            ("01.2.3", "`01` has a leading zero", Some("1.2.3")),
            (
                "1.0.0-rc.01",
                "the prerelease identifier `01` has a leading zero",
                Some("1.0.0-rc.1"),
            ),
            (
                "1.0.0-rc..1",
                "the prerelease `rc..1` has an empty identifier",
                Some("1.0.0-rc.1"),
            ),
            (
                "1.0.0-",
                "the prerelease `` has an empty identifier",
                Some("1.0.0"),
            ),
            (
                "1.0.0-beta_2",
                "`_` is not allowed in the prerelease `beta_2` (only 0-9, A-Z, a-z and `-`)",
                Some("1.0.0-beta.2"),
            ),
            (
                "v1.2.3",
                "`v1.2.3` starts with `v`; the pattern already supplies any prefix",
                Some("1.2.3"),
            ),
            ("2020-01-13", "`2020-01-13` is a date, not a version", None),
            ("list", "`list` does not start with a number", None),
        ];
        for (text, problem, suggestion) in cases {
            let e = err(text);
            assert_eq!(e.problem, problem, "{text}");
            assert_eq!(e.suggestion.as_deref(), suggestion, "{text}");
        }
    }

    #[test]
    fn prerelease_ids() {
        let id = |s: &str| prerelease_id(&Version::parse(s).unwrap());
        assert_eq!(id("1.0.0"), None);
        assert_eq!(id("1.0.0-rc.1").as_deref(), Some("rc"));
        assert_eq!(id("1.0.0-beta3").as_deref(), Some("beta"));
        assert_eq!(id("1.0.0-RC2").as_deref(), Some("RC"));
        assert_eq!(id("7.0.0-0").as_deref(), Some("0"));
    }

    #[test]
    fn previous_is_the_highest_lower_on_the_same_channel() {
        let vs: Vec<Version> = [
            "1.0.0",
            "1.1.0-rc.1",
            "1.1.0-rc.2",
            "1.0.1",
            "1.1.0",
            "2.0.0-beta.1",
        ]
        .iter()
        .map(|s| Version::parse(s).unwrap())
        .collect();
        let prev =
            |s: &str| previous(&vs, &Version::parse(s).unwrap(), |v| v).map(|v| v.to_string());
        // A stable release skips the prereleases of its own line.
        assert_eq!(prev("1.1.0").as_deref(), Some("1.0.1"));
        assert_eq!(prev("1.1.0-rc.2").as_deref(), Some("1.1.0-rc.1"));
        assert_eq!(prev("1.1.0-rc.1").as_deref(), Some("1.0.1"));
        assert_eq!(prev("2.0.0").as_deref(), Some("1.1.0"));
        assert_eq!(prev("2.0.0-beta.2").as_deref(), Some("2.0.0-beta.1"));
        assert_eq!(prev("1.0.0"), None);
    }
}
