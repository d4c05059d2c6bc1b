//! The GitHub REST client every command uses: releases and assets, generated notes,
//! deployments and their statuses, workflow dispatch, refs and tags, commits and compare.
//!
//! Owns: the request headers (`Accept: application/vnd.github+json`,
//! `X-GitHub-Api-Version: 2022-11-28`, `Authorization: Bearer`), URL building, `Link`
//! paging and GitHub's error bodies. It does not decide policy (which release to update,
//! whether a gate is open): the commands do.
//!
//! Transport: every call goes through [`crate::http::HttpClient`], so there is one timeout
//! and one retry policy (including GitHub's 403/429 rate limits) for the whole program.
//! octocrab supplies the response models (`Release`, `Asset`, `Deployment`, `Ref`, `Tag`,
//! …), which keeps our decoding pinned to a maintained description of the real API; its
//! own HTTP stack is not used because it would bring a second retry policy without
//! `x-ratelimit-reset` handling and cannot reach the uploads host with raw bodies.

mod comments;
mod commits;
mod deployments;
mod dispatch;
mod error;
mod refs;
mod releases;
mod runs;

pub use comments::{Comment, PullHead, PullRepo, PullRequest, MAX_COMMENT};
pub use commits::{CommitInfo, Comparison, PullSummary};
pub use deployments::{DeploymentFilter, NewDeployment, NewDeploymentStatus};
pub use dispatch::{DispatchedRun, MAX_DISPATCH_INPUTS};
pub use error::{FieldError, GithubError};
pub use octocrab::models::repos::{
    Asset, Deployment, DeploymentStatus, DeploymentStatusState, Object, Ref, Release, Tag,
};
pub use refs::{object_sha, TagRef};
pub use releases::{pick_release, GeneratedNotes, MakeLatest, ReleaseFields};
pub use runs::RunState;

use crate::context::Ctx;
use crate::http::HttpClient;
use crate::secret::Secret;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use url::Url;

pub(crate) const API_VERSION: &str = "2022-11-28";
pub(crate) const MEDIA_TYPE: &str = "application/vnd.github+json";
/// GitHub's maximum page size.
const PER_PAGE: &str = "100";
/// A bound on `Link` paging, so a server that always says "next" cannot loop us forever
/// (100 pages of 100 is far beyond any release or tag list we read).
const MAX_PAGES: usize = 100;

/// A client bound to one repository.
#[derive(Debug, Clone)]
pub struct GitHub {
    http: HttpClient,
    api: Url,
    uploads: Url,
    token: Secret,
    owner: String,
    repo: String,
}

impl GitHub {
    /// The same client with every call (retries included) bounded by `deadline`.
    pub(crate) fn until(&self, deadline: std::time::Instant) -> GitHub {
        GitHub {
            http: self.http.with_deadline(deadline),
            ..self.clone()
        }
    }

    /// The same client bounded anew, `budget` from now: for the record of an outcome, which
    /// must still be written when the deploy ran out of time.
    pub(crate) fn for_cleanup(&self, budget: std::time::Duration) -> GitHub {
        GitHub {
            http: self
                .http
                .with_fresh_deadline(std::time::Instant::now() + budget),
            ..self.clone()
        }
    }

    /// `repository` is `owner/name`; `api_url` and `uploads_url` are base URLs
    /// (`https://api.github.com`, `https://uploads.github.com`, or a simulator's).
    pub fn new(
        http: HttpClient,
        api_url: &str,
        uploads_url: &str,
        token: Secret,
        repository: &str,
    ) -> Result<Self, GithubError> {
        let (owner, repo) = repository
            .split_once('/')
            .filter(|(o, r)| !o.is_empty() && !r.is_empty() && !r.contains('/'))
            .ok_or_else(|| GithubError::BadRepository(repository.to_string()))?;
        if token.is_empty() {
            return Err(GithubError::NoToken);
        }
        let parse = |what: &'static str, u: &str| {
            Url::parse(u).map_err(|e| GithubError::BadUrl {
                what,
                url: u.to_string(),
                reason: e.to_string(),
            })
        };
        Ok(GitHub {
            http,
            api: parse("GitHub API URL", api_url)?,
            uploads: parse("GitHub uploads URL", uploads_url)?,
            token,
            owner: owner.to_string(),
            repo: repo.to_string(),
        })
    }

    /// The client for this run's repository and token.
    pub(crate) fn from_ctx(ctx: &Ctx) -> Result<Self, GithubError> {
        let repository = ctx
            .github
            .repository
            .as_deref()
            .ok_or(GithubError::NoRepository)?;
        let token = ctx.github.token.clone().ok_or(GithubError::NoToken)?;
        GitHub::new(
            ctx.http.clone(),
            &ctx.github.api_url,
            &ctx.github.uploads_url,
            token,
            repository,
        )
    }

    /// `owner/name`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }

    /// `{api}/repos/{owner}/{repo}/{segments…}`, each segment percent-encoded (tags may hold
    /// `@` or `+`; a ref's own slashes are passed as separate segments).
    fn repo_url(&self, segments: &[&str]) -> Url {
        let mut url = self.api.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["repos", self.owner.as_str(), self.repo.as_str()])
                .extend(segments);
        }
        url
    }

    /// Adds GitHub's headers and the token to a request.
    fn authorise(&self, request: RequestBuilder) -> RequestBuilder {
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", self.token.expose()))
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer invalid-token-characters"));
        auth.set_sensitive(true);
        request
            .header(ACCEPT, MEDIA_TYPE)
            .header("X-GitHub-Api-Version", API_VERSION)
            .header(AUTHORIZATION, auth)
    }

    /// One call with an optional JSON body; a non-2xx answer becomes [`GithubError::Api`].
    async fn send(
        &self,
        op: &'static str,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
        idempotent: bool,
    ) -> Result<Response, GithubError> {
        let build = |client: &reqwest::Client| {
            let request = self.authorise(client.request(method.clone(), url.clone()));
            match body {
                Some(b) => request.json(b),
                None => request,
            }
        };
        self.http
            .send(build, idempotent)
            .await
            .map_err(|e| GithubError::from_http(op, e))
    }

    /// `send` and decode the JSON answer.
    async fn call<T: DeserializeOwned>(
        &self,
        op: &'static str,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
        idempotent: bool,
    ) -> Result<T, GithubError> {
        let response = self.send(op, method, url, body, idempotent).await?;
        self.decode(op, response).await
    }

    /// A GET whose 404 means "there is none".
    async fn get_optional<T: DeserializeOwned>(
        &self,
        op: &'static str,
        url: Url,
    ) -> Result<Option<T>, GithubError> {
        match self.call(op, Method::GET, url, None, true).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every item of a paged list, following `Link: rel="next"`, stopping after `max` items.
    async fn list<T: DeserializeOwned>(
        &self,
        op: &'static str,
        url: Url,
        max: usize,
    ) -> Result<Vec<T>, GithubError> {
        self.list_until(op, url, max, |_| false).await
    }

    /// [`GitHub::list`], also stopping after the page on which `enough` says so.
    async fn list_until<T: DeserializeOwned>(
        &self,
        op: &'static str,
        mut url: Url,
        max: usize,
        enough: impl Fn(&[T]) -> bool,
    ) -> Result<Vec<T>, GithubError> {
        url.query_pairs_mut().append_pair("per_page", PER_PAGE);
        let mut items = Vec::new();
        let mut next = Some(url);
        let mut pages = 0;
        while let Some(page_url) = next.take() {
            pages += 1;
            let response = self.send(op, Method::GET, page_url, None, true).await?;
            // The token goes wherever `Link` points: only follow it on the API's own host.
            next = next_link(&response)
                .filter(|u| u.origin() == self.api.origin())
                .filter(|_| pages < MAX_PAGES);
            let page: Vec<T> = self.decode(op, response).await?;
            items.extend(page);
            if items.len() >= max {
                items.truncate(max);
                break;
            }
            if enough(&items) {
                break;
            }
        }
        Ok(items)
    }
}

impl GitHub {
    /// The JSON body of an answer; an unreadable one is quoted redacted, then cut.
    async fn decode<T: DeserializeOwned>(
        &self,
        op: &'static str,
        response: Response,
    ) -> Result<T, GithubError> {
        let text = response.text().await.map_err(|e| GithubError::Decode {
            op,
            message: format!("reading the body: {e}"),
        })?;
        serde_json::from_str(&text).map_err(|e| GithubError::Decode {
            op,
            message: format!(
                "{e}: {}",
                crate::secret::truncate(&self.http.redact(&text), 300)
            ),
        })
    }
}

/// The `rel="next"` target of a `Link` header.
fn next_link(response: &Response) -> Option<Url> {
    let header = response.headers().get("link")?.to_str().ok()?;
    parse_next_link(header)
}

fn parse_next_link(header: &str) -> Option<Url> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| Url::parse(target).ok()).flatten()
    })
}

#[cfg(test)]
mod sim_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn client(api: &str) -> GitHub {
        let http = HttpClient::new(Duration::from_secs(5), crate::http::RetryPolicy::fast())
            .expect("client");
        GitHub::new(http, api, api, Secret::new("ghs_test"), "acme/shop").expect("valid")
    }

    #[test]
    fn repository_must_be_owner_slash_name() {
        let http = Ctx::default_http(true);
        for bad in ["acme", "acme/", "/shop", "a/b/c"] {
            let e = GitHub::new(http.clone(), "http://x", "http://x", Secret::new("t"), bad)
                .unwrap_err();
            assert!(matches!(e, GithubError::BadRepository(_)), "{bad}: {e}");
        }
        let e = GitHub::new(http, "http://x", "http://x", Secret::new(""), "a/b").unwrap_err();
        assert!(matches!(e, GithubError::NoToken));
    }

    #[test]
    fn urls_keep_a_base_path_and_encode_segments() {
        let gh = client("https://ghe.example.com/api/v3/");
        let url = gh.repo_url(&["releases", "tags", "api@1.0.0+b"]);
        assert_eq!(
            url.as_str(),
            "https://ghe.example.com/api/v3/repos/acme/shop/releases/tags/api@1.0.0+b"
        );
        let url = gh.repo_url(&["releases", "tags", "a b/c"]);
        assert!(url.as_str().ends_with("/tags/a%20b%2Fc"), "{url}");
    }

    #[test]
    fn link_header_next_is_found() {
        let h = r#"<https://api.github.com/x?page=3>; rel="next", <https://api.github.com/x?page=9>; rel="last""#;
        assert_eq!(
            parse_next_link(h).map(|u| u.to_string()).as_deref(),
            Some("https://api.github.com/x?page=3")
        );
        let last_only = r#"<https://api.github.com/x?page=1>; rel="prev""#;
        assert_eq!(parse_next_link(last_only), None);
    }

    #[test]
    fn token_never_appears_in_debug() {
        let gh = client("http://127.0.0.1:1");
        assert!(!format!("{gh:?}").contains("ghs_test"));
    }
}
