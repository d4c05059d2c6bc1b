//! Tag patterns: `v{version}` (the default), and the monorepo shapes `{app}@{version}`,
//! `{app}-v{version}`, `{app}/v{version}`. A pattern splits a tag into app and version text;
//! it does not judge the version (that is `version.rs`).

use regex::Regex;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PatternError {
    #[error("tag pattern `{0}` has no `{{version}}` (e.g. `v{{version}}`, `{{app}}@{{version}}`)")]
    NoVersion(String),
    #[error("tag pattern `{0}` uses `{{version}}` or `{{app}}` more than once")]
    Repeated(String),
    #[error("tag pattern `{0}` has `{{app}}` but no app was given (use --app or an app's `tag-pattern`)")]
    NoApp(String),
}

/// A compiled tag pattern, bound to one app when the pattern has `{app}` and the app is known.
#[derive(Debug, Clone)]
pub struct TagPattern {
    raw: String,
    app: Option<String>,
    regex: Regex,
}

/// A tag split by a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Split<'t> {
    pub app: Option<String>,
    pub version: &'t str,
}

impl TagPattern {
    /// Compile `raw`. With `app`, `{app}` matches that app only; without, any app.
    pub fn new(raw: &str, app: Option<&str>) -> Result<TagPattern, PatternError> {
        let count = |p: &str| raw.matches(p).count();
        if count("{version}") == 0 {
            return Err(PatternError::NoVersion(raw.to_string()));
        }
        if count("{version}") > 1 || count("{app}") > 1 {
            return Err(PatternError::Repeated(raw.to_string()));
        }
        let has_app = count("{app}") == 1;
        let mut re = String::from("^");
        let mut rest = raw;
        while !rest.is_empty() {
            let next = [rest.find("{app}"), rest.find("{version}")]
                .into_iter()
                .flatten()
                .min();
            let Some(at) = next else {
                re.push_str(&regex::escape(rest));
                break;
            };
            re.push_str(&regex::escape(&rest[..at]));
            rest = &rest[at..];
            if let Some(r) = rest.strip_prefix("{app}") {
                match app {
                    Some(a) => re.push_str(&format!("(?P<app>{})", regex::escape(a))),
                    // Shortest app, so `tokio-util-0.7.0` splits as (`tokio-util`, `0.7.0`)
                    // only because the version must start with a digit.
                    None => re.push_str("(?P<app>.+?)"),
                }
                rest = r;
            } else if let Some(r) = rest.strip_prefix("{version}") {
                // With an app, the version must start with a digit (or a stray `v` + digit,
                // judged later) so `tokio-util-0.7.0` is tokio-util's and never tokio's.
                // Without one, any text is taken and judged by `version.rs`.
                if has_app {
                    re.push_str("(?P<version>[vV]?[0-9].*?)");
                } else {
                    re.push_str("(?P<version>.+?)");
                }
                rest = r;
            }
        }
        re.push('$');
        let regex = Regex::new(&re).map_err(|_| PatternError::Repeated(raw.to_string()))?;
        Ok(TagPattern {
            raw: raw.to_string(),
            app: if has_app {
                app.map(str::to_string)
            } else {
                None
            },
            regex,
        })
    }

    pub(crate) fn raw(&self) -> &str {
        &self.raw
    }

    pub(crate) fn has_app(&self) -> bool {
        self.raw.contains("{app}")
    }

    /// Split `tag` into app and version text, or None when it does not fit the pattern.
    pub(crate) fn split<'t>(&self, tag: &'t str) -> Option<Split<'t>> {
        let caps = self.regex.captures(tag)?;
        let version = caps.name("version")?.as_str();
        Some(Split {
            app: caps.name("app").map(|m| m.as_str().to_string()),
            version,
        })
    }

    /// The tag for `version` (and `app`, or the bound app).
    pub(crate) fn render(&self, app: Option<&str>, version: &str) -> Result<String, PatternError> {
        let mut out = self.raw.replace("{version}", version);
        if self.has_app() {
            let app = app
                .or(self.app.as_deref())
                .ok_or_else(|| PatternError::NoApp(self.raw.clone()))?;
            out = out.replace("{app}", app);
        }
        Ok(out)
    }

    /// The literal text before the first placeholder (`v` for `v{version}`).
    pub(crate) fn prefix(&self) -> &str {
        let end = [self.raw.find("{app}"), self.raw.find("{version}")]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(0);
        &self.raw[..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(p: &str, app: Option<&str>, tag: &str) -> Option<(Option<String>, String)> {
        let p = TagPattern::new(p, app).unwrap();
        p.split(tag).map(|s| (s.app, s.version.to_string()))
    }

    #[test]
    fn default_pattern_takes_everything_after_v() {
        assert_eq!(
            split("v{version}", None, "v1.2.3"),
            Some((None, "1.2.3".into()))
        );
        assert_eq!(
            split("v{version}", None, "v1.2"),
            Some((None, "1.2".into()))
        );
        assert_eq!(split("v{version}", None, "1.2.3"), None);
        assert_eq!(split("v{version}", None, "list"), None);
    }

    #[test]
    fn monorepo_shapes_split_app_and_version() {
        let some = |a: &str, v: &str| Some((Some(a.to_string()), v.to_string()));
        assert_eq!(
            split("{app}@{version}", None, "svelte@5.0.0-next.1"),
            some("svelte", "5.0.0-next.1")
        );
        assert_eq!(
            split("{app}@{version}", None, "@scope/pkg@1.2.3"),
            some("@scope/pkg", "1.2.3")
        );
        assert_eq!(
            split("{app}-v{version}", None, "libnpmexec-v8.1.0"),
            some("libnpmexec", "8.1.0")
        );
        assert_eq!(
            split(
                "{app}-v{version}",
                None,
                "conventional-changelog-conventionalcommits-v7.0.1"
            ),
            some("conventional-changelog-conventionalcommits", "7.0.1")
        );
        assert_eq!(
            split("{app}/v{version}", None, "exporters/otlp/otlptrace/v1.2.0"),
            some("exporters/otlp/otlptrace", "1.2.0")
        );
        assert_eq!(
            split("{app}-{version}", None, "tokio-util-0.7.0"),
            some("tokio-util", "0.7.0")
        );
        assert_eq!(
            split("{app}-{version}", None, "tokio-1.0.0-alpha-1"),
            some("tokio", "1.0.0-alpha-1")
        );
    }

    #[test]
    fn a_bound_app_matches_only_itself() {
        assert_eq!(
            split("{app}-{version}", Some("tokio"), "tokio-util-0.7.0"),
            None
        );
        assert_eq!(
            split("{app}-{version}", Some("tokio"), "tokio-1.2.0"),
            Some((Some("tokio".into()), "1.2.0".into()))
        );
        assert_eq!(split("{app}@{version}", Some("web"), "api@1.0.0"), None);
    }

    #[test]
    fn render_and_errors() {
        let p = TagPattern::new("{app}/v{version}", None).unwrap();
        assert_eq!(p.render(Some("sdk"), "1.0.0").unwrap(), "sdk/v1.0.0");
        assert_eq!(
            p.render(None, "1.0.0"),
            Err(PatternError::NoApp("{app}/v{version}".into()))
        );
        assert_eq!(TagPattern::new("v{version}", None).unwrap().prefix(), "v");
        assert!(matches!(
            TagPattern::new("release", None),
            Err(PatternError::NoVersion(_))
        ));
        assert!(matches!(
            TagPattern::new("{version}{version}", None),
            Err(PatternError::Repeated(_))
        ));
    }
}
