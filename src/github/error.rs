//! GitHub's answers turned into one error type: `basic-error` and `validation-error`
//! bodies are parsed, rate limits named as such, and the exit class chosen at the edge.

use crate::exit::{Exit, Failure};
use crate::http::HttpError;
use serde::Deserialize;

/// One entry of a `validation-error`'s `errors[]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct FieldError {
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("no GitHub repository: set GITHUB_REPOSITORY or `repository:` in the config")]
    NoRepository,
    #[error("`{0}` is not a GitHub repository: expected `owner/name`")]
    BadRepository(String),
    #[error("no GitHub token: set the `github-token` input or GITHUB_TOKEN")]
    NoToken,
    #[error("the {what} `{url}` is not a URL: {reason}")]
    BadUrl {
        what: &'static str,
        url: String,
        reason: String,
    },
    #[error("{op}: GitHub answered {status}: {message}{}", details(errors))]
    Api {
        op: &'static str,
        status: u16,
        message: String,
        errors: Vec<FieldError>,
    },
    #[error("{op}: GitHub rate limit exhausted (HTTP {status}){}; stopped instead of waiting", wait_text(*retry_after))]
    RateLimited {
        op: &'static str,
        status: u16,
        retry_after: Option<u64>,
    },
    #[error("{op}: {source}")]
    Transport {
        op: &'static str,
        #[source]
        source: HttpError,
    },
    #[error("{op}: unexpected response from GitHub: {message}")]
    Decode { op: &'static str, message: String },
    #[error("{0}")]
    Invalid(String),
}

fn details(errors: &[FieldError]) -> String {
    let parts: Vec<String> = errors
        .iter()
        .map(|e| {
            let what = [e.resource.as_deref(), e.field.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(".");
            match (&e.code, &e.message) {
                (_, Some(m)) if what.is_empty() => m.clone(),
                (_, Some(m)) => format!("{what}: {m}"),
                (Some(c), None) => format!("{what}: {c}"),
                (None, None) => what,
            }
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

fn wait_text(retry_after: Option<u64>) -> String {
    match retry_after {
        Some(s) => format!(", it resets in {s}s"),
        None => String::new(),
    }
}

impl GithubError {
    /// The call ran out of the time its deadline left it.
    pub(crate) fn is_deadline(&self) -> bool {
        matches!(self, GithubError::Transport { source, .. } if source.is_deadline())
    }

    /// A write whose answer may have been lost after GitHub acted: a 5xx, a reset or a
    /// timeout (a refused connection or a DNS/TLS failure never reached it).
    pub(crate) fn is_ambiguous(&self) -> bool {
        match self {
            GithubError::Api { status, .. } => *status >= 500,
            GithubError::Transport { source, .. } => source.is_ambiguous(),
            _ => false,
        }
    }

    pub(super) fn from_http(op: &'static str, e: HttpError) -> Self {
        match e {
            HttpError::Status {
                status,
                body,
                retry_after,
                ..
            } => {
                let code = status.as_u16();
                let parsed: ErrorBody = serde_json::from_str(&body).unwrap_or_default();
                let limited = (code == 403 || code == 429)
                    && (retry_after.is_some()
                        || parsed.message.to_ascii_lowercase().contains("rate limit"));
                if limited {
                    return GithubError::RateLimited {
                        op,
                        status: code,
                        retry_after,
                    };
                }
                let message = if parsed.message.is_empty() {
                    crate::secret::truncate(body.trim(), 300)
                } else {
                    parsed.message
                };
                GithubError::Api {
                    op,
                    status: code,
                    message,
                    errors: parsed.errors,
                }
            }
            other => GithubError::Transport { op, source: other },
        }
    }

    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            GithubError::Api { status, .. } | GithubError::RateLimited { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    pub(crate) fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// A 422 saying the thing already exists (a release for the tag, an asset name, a ref).
    pub(crate) fn is_already_exists(&self) -> bool {
        match self {
            GithubError::Api {
                status: 422,
                errors,
                message,
                ..
            } => {
                errors
                    .iter()
                    .any(|e| e.code.as_deref() == Some("already_exists"))
                    || message.to_ascii_lowercase().contains("already exists")
            }
            _ => false,
        }
    }

    /// Whether the error is about the request we built or the config (exit 2) rather than
    /// GitHub or the network (exit 1).
    fn exit(&self) -> Exit {
        match self {
            GithubError::NoRepository
            | GithubError::BadRepository(_)
            | GithubError::NoToken
            | GithubError::BadUrl { .. }
            | GithubError::Invalid(_) => Exit::InvalidInput,
            _ => Exit::Internal,
        }
    }
}

impl From<GithubError> for Failure {
    fn from(e: GithubError) -> Self {
        Failure::new(e.exit(), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    fn status(code: u16, body: &str, retry_after: Option<u64>) -> HttpError {
        HttpError::Status {
            method: "POST".into(),
            url: "http://x".into(),
            status: StatusCode::from_u16(code).unwrap(),
            body: body.into(),
            retry_after,
        }
    }

    #[test]
    fn validation_errors_are_named() {
        let body = r#"{"message":"Validation Failed","errors":[{"resource":"Release","code":"already_exists","field":"tag_name"}],"documentation_url":"https://docs.github.com"}"#;
        let e = GithubError::from_http("create release", status(422, body, None));
        assert!(e.is_already_exists());
        assert_eq!(
            e.to_string(),
            "create release: GitHub answered 422: Validation Failed (Release.tag_name: already_exists)"
        );
    }

    #[test]
    fn rate_limits_are_their_own_error() {
        let body = r#"{"message":"API rate limit exceeded for installation ID 1.","documentation_url":"x"}"#;
        let e = GithubError::from_http("list releases", status(403, body, Some(3600)));
        assert!(matches!(e, GithubError::RateLimited { .. }));
        assert!(e.to_string().contains("resets in 3600s"), "{e}");
        // A 403 that is a permission problem stays an API error.
        let body = r#"{"message":"Resource not accessible by integration"}"#;
        let e = GithubError::from_http("create release", status(403, body, None));
        assert!(matches!(e, GithubError::Api { status: 403, .. }), "{e}");
    }

    #[test]
    fn a_body_that_is_not_json_is_kept() {
        let e = GithubError::from_http("get ref", status(502, "<html>bad gateway</html>", None));
        assert!(e.to_string().contains("bad gateway"));
        assert_eq!(Failure::from(e).exit, Exit::Internal);
        assert_eq!(Failure::from(GithubError::NoToken).exit, Exit::InvalidInput);
    }
}
