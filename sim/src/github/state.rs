//! The simulator's memory: repositories with their history, refs, releases, deployments,
//! and the rate-limit counters. Handlers lock it, change it and answer; nothing here
//! knows HTTP except the rate-limit refusal.

pub use super::comments::CommentRec;
use super::{CommitSeed, PullSeed, RateLimit, RateLimitKind, Scenario, WorkflowSeed};
use axum::response::Response;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone)]
pub struct Commit {
    pub sha: String,
    pub message: String,
    pub author: String,
    pub email: String,
    pub login: Option<String>,
    pub parents: Vec<String>,
    pub date: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct AssetRec {
    pub id: u64,
    pub name: String,
    pub label: Option<String>,
    pub content_type: String,
    pub size: u64,
    pub digest: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct ReleaseRec {
    pub id: u64,
    pub tag_name: String,
    pub target_commitish: String,
    pub name: Option<String>,
    pub body: Option<String>,
    pub draft: bool,
    pub prerelease: bool,
    /// Set when published in a repository with immutable releases.
    pub immutable: bool,
    pub created_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub assets: Vec<AssetRec>,
    /// `make_latest` given while still a draft, applied when published.
    pub pending_make_latest: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DeploymentRec {
    pub id: u64,
    pub sha: String,
    pub git_ref: String,
    pub task: String,
    pub payload: Value,
    pub original_environment: String,
    pub environment: String,
    pub description: Option<String>,
    pub transient_environment: bool,
    pub production_environment: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Newest last.
    pub statuses: Vec<StatusRec>,
}

#[derive(Debug, Clone)]
pub struct StatusRec {
    pub id: u64,
    pub state: String,
    pub description: String,
    pub environment: String,
    pub target_url: String,
    pub log_url: String,
    pub environment_url: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Dispatch {
    pub workflow: String,
    pub git_ref: String,
    pub inputs: Value,
}

#[derive(Debug, Clone)]
pub struct Repo {
    pub id: u64,
    pub owner: String,
    pub name: String,
    pub default_branch: String,
    /// Oldest first.
    pub commits: Vec<Commit>,
    /// Full ref name (`refs/heads/main`, `refs/tags/v1`) → sha.
    pub refs: BTreeMap<String, String>,
    pub workflows: Vec<WorkflowSeed>,
    pub pulls: Vec<PullSeed>,
    /// When a pull request's state last changed while the simulator ran.
    pub pull_changed: BTreeMap<u64, DateTime<Utc>>,
    /// Issue numbers that are not pull requests.
    pub issues: Vec<u64>,
    /// Issue and pull request comments, oldest first.
    pub comments: Vec<CommentRec>,
    pub releases: Vec<ReleaseRec>,
    /// The release GitHub shows as latest (set by `make_latest`).
    pub latest_release: Option<u64>,
    pub deployments: Vec<DeploymentRec>,
    pub dispatches: Vec<Dispatch>,
    pub failing_contexts: Vec<String>,
    pub runs: BTreeMap<String, super::scenario::RunSeed>,
}

impl Repo {
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    pub fn commit(&self, sha: &str) -> Option<&Commit> {
        self.commits.iter().find(|c| c.sha == sha)
    }

    pub fn branch(&self, name: &str) -> Option<&String> {
        self.refs.get(&format!("refs/heads/{name}"))
    }

    pub fn tag(&self, name: &str) -> Option<&String> {
        self.refs.get(&format!("refs/tags/{name}"))
    }

    pub fn release(&self, id: u64) -> Option<&ReleaseRec> {
        self.releases.iter().find(|r| r.id == id)
    }

    pub fn release_mut(&mut self, id: u64) -> Option<&mut ReleaseRec> {
        self.releases.iter_mut().find(|r| r.id == id)
    }

    /// Whether `n` is an issue or a pull request of this repository.
    pub fn has_issue(&self, n: u64) -> bool {
        self.issues.contains(&n) || self.pulls.iter().any(|p| p.number == n)
    }

    pub fn pull(&self, n: u64) -> Option<&PullSeed> {
        self.pulls.iter().find(|p| p.number == n)
    }

    pub fn deployment_mut(&mut self, id: u64) -> Option<&mut DeploymentRec> {
        self.deployments.iter_mut().find(|d| d.id == id)
    }

    /// Commits reachable from `head` (first parents and merges), head first, stopping at
    /// any commit reachable from `stop`.
    pub fn history(&self, head: &str, stop: Option<&str>) -> Vec<&Commit> {
        let excluded: std::collections::HashSet<&str> = match stop {
            Some(s) => self.ancestors(s).into_iter().collect(),
            None => Default::default(),
        };
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut queue = vec![head.to_string()];
        while let Some(sha) = queue.pop() {
            if excluded.contains(sha.as_str()) || !seen.insert(sha.clone()) {
                continue;
            }
            if let Some(c) = self.commit(&sha) {
                out.push(c);
                queue.extend(c.parents.iter().rev().cloned());
            }
        }
        out.sort_by_key(|c| std::cmp::Reverse(c.date));
        out
    }

    /// `sha` and every commit it descends from.
    pub fn ancestors<'a>(&'a self, sha: &'a str) -> Vec<&'a str> {
        let mut out: Vec<&str> = Vec::new();
        let mut queue = vec![sha];
        while let Some(s) = queue.pop() {
            if out.contains(&s) {
                continue;
            }
            out.push(s);
            if let Some(c) = self.commit(s) {
                queue.extend(c.parents.iter().map(String::as_str));
            }
        }
        out
    }
}

/// One counter per configured rate limit.
#[derive(Debug, Clone)]
struct Limiter {
    rule: RateLimit,
    seen: u32,
}

#[derive(Debug)]
pub struct State {
    pub api: String,
    pub uploads: String,
    /// `https://github.com`-like base for `html_url`s: the API's own base here.
    pub web: String,
    pub repos: HashMap<String, Repo>,
    pub tokens: Vec<String>,
    pub immutable_releases: bool,
    pub strict_shas: bool,
    next_id: u64,
    limiters: Vec<Limiter>,
    limit_total: u64,
    used: u64,
    /// When the current primary window resets (epoch seconds).
    reset_at: i64,
}

/// Seeded commits without dates get one a minute apart from this instant.
fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

impl State {
    pub fn new(scenario: &Scenario, urls: &crate::Urls) -> State {
        let mut state = State {
            api: urls.github.trim_end_matches('/').to_string(),
            uploads: urls.uploads.trim_end_matches('/').to_string(),
            web: urls.github.trim_end_matches('/').to_string(),
            repos: HashMap::new(),
            tokens: scenario.tokens.clone(),
            immutable_releases: scenario.immutable_releases,
            strict_shas: scenario.strict_shas,
            next_id: 1000,
            limiters: scenario
                .rate_limits
                .iter()
                .map(|r| Limiter {
                    rule: r.clone(),
                    seen: 0,
                })
                .collect(),
            limit_total: scenario.rate_limit_total.unwrap_or(5000),
            used: 0,
            reset_at: Utc::now().timestamp() + 3600,
        };
        for seed in &scenario.repos {
            let Some((owner, name)) = seed.name.split_once('/') else {
                continue;
            };
            let id = state.id();
            let commits = seed_commits(&seed.commits);
            let mut refs = BTreeMap::new();
            if let Some(last) = commits.last() {
                refs.insert(
                    format!("refs/heads/{}", seed.default_branch),
                    last.sha.clone(),
                );
            }
            for (b, sha) in &seed.branches {
                refs.insert(format!("refs/heads/{b}"), sha.clone());
            }
            for (t, sha) in &seed.tags {
                refs.insert(format!("refs/tags/{t}"), sha.clone());
            }
            let mut repo = Repo {
                id,
                owner: owner.to_string(),
                name: name.to_string(),
                default_branch: seed.default_branch.clone(),
                commits,
                refs,
                workflows: seed.workflows.clone(),
                pulls: seed.pulls.clone(),
                pull_changed: BTreeMap::new(),
                issues: seed.issues.clone(),
                comments: Vec::new(),
                releases: Vec::new(),
                latest_release: None,
                deployments: Vec::new(),
                dispatches: Vec::new(),
                failing_contexts: seed.failing_contexts.clone(),
                runs: seed.runs.clone(),
            };
            for c in &seed.comments {
                let id = state.id();
                let login = c.user.clone().unwrap_or_else(|| "octocat".into());
                repo.comments
                    .push(CommentRec::new(id, c.issue, &c.body, &login, epoch()));
            }
            for r in &seed.releases {
                let now = Utc::now();
                let rid = state.id();
                repo.releases.push(ReleaseRec {
                    id: rid,
                    tag_name: r.tag.clone(),
                    target_commitish: seed.default_branch.clone(),
                    name: r.name.clone(),
                    body: r.body.clone(),
                    draft: r.draft,
                    prerelease: r.prerelease,
                    immutable: !r.draft && scenario.immutable_releases,
                    created_at: now,
                    published_at: (!r.draft).then_some(now),
                    updated_at: now,
                    assets: Vec::new(),
                    pending_make_latest: None,
                });
                if !r.draft && !r.prerelease {
                    repo.latest_release = Some(rid);
                }
            }
            state.repos.insert(seed.name.to_ascii_lowercase(), repo);
        }
        state
    }

    /// A fresh id, unique across every kind of object.
    pub fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Repository names are case-insensitive on GitHub.
    pub fn repo(&self, owner: &str, name: &str) -> Option<&Repo> {
        self.repos
            .get(&format!("{owner}/{name}").to_ascii_lowercase())
    }

    pub fn repo_mut(&mut self, owner: &str, name: &str) -> Option<&mut Repo> {
        self.repos
            .get_mut(&format!("{owner}/{name}").to_ascii_lowercase())
    }

    /// Resolve a sha (or unique prefix of 7+), branch, tag or `refs/…` / `heads/…` /
    /// `tags/…` name to a sha.
    pub fn resolve(&self, repo: &Repo, name: &str) -> Option<String> {
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        for candidate in [
            name.to_string(),
            format!("refs/{name}"),
            format!("refs/heads/{name}"),
            format!("refs/tags/{name}"),
        ] {
            if let Some(sha) = repo.refs.get(&candidate) {
                return Some(sha.clone());
            }
        }
        let is_hex = (7..=40).contains(&name.len()) && name.chars().all(|c| c.is_ascii_hexdigit());
        if !is_hex {
            return None;
        }
        let matches: Vec<&Commit> = repo
            .commits
            .iter()
            .filter(|c| c.sha.starts_with(name))
            .collect();
        match matches.as_slice() {
            [one] => Some(one.sha.clone()),
            [] if !self.strict_shas => Some(name.to_string()),
            _ => None,
        }
    }

    /// Count a request against the rate limits; `Some(response)` when it must be refused.
    pub fn count_request(&mut self, method: &str, path: &str) -> Option<Response> {
        let now = Utc::now().timestamp();
        if now >= self.reset_at {
            self.reset_at = now + 3600;
            self.used = 0;
        }
        self.used += 1;
        for limiter in &mut self.limiters {
            let rule = &limiter.rule;
            let applies = rule
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && rule.path.as_deref().is_none_or(|p| path.contains(p));
            if !applies {
                continue;
            }
            limiter.seen += 1;
            let n = limiter.seen;
            let refuse = n > rule.after && (rule.times == 0 || n <= rule.after + rule.times);
            if refuse {
                return Some(refusal(rule, now, self.limit_total));
            }
        }
        None
    }

    /// The `x-ratelimit-*` headers of the current window.
    pub fn rate_headers(&self) -> Vec<(&'static str, String)> {
        vec![
            ("x-ratelimit-limit", self.limit_total.to_string()),
            (
                "x-ratelimit-remaining",
                self.limit_total.saturating_sub(self.used).to_string(),
            ),
            ("x-ratelimit-used", self.used.to_string()),
            ("x-ratelimit-reset", self.reset_at.to_string()),
            ("x-ratelimit-resource", "core".to_string()),
            ("x-github-api-version-selected", "2022-11-28".to_string()),
        ]
    }

    pub fn rate_snapshot(&self) -> (u64, u64, u64, i64) {
        (
            self.limit_total,
            self.limit_total.saturating_sub(self.used),
            self.used,
            self.reset_at,
        )
    }
}

/// GitHub's rate-limit answer: a 403/429 whose headers say when to come back.
fn refusal(rule: &RateLimit, now: i64, total: u64) -> Response {
    use axum::http::{HeaderValue, StatusCode};
    let status = StatusCode::from_u16(rule.status).unwrap_or(StatusCode::FORBIDDEN);
    let (message, docs) = match rule.kind {
        RateLimitKind::Primary => (
            "API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID.",
            "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        ),
        RateLimitKind::Secondary => (
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
            "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
        ),
    };
    let mut response = super::error(status, message, docs);
    let h = response.headers_mut();
    let mut set = |k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    set("x-ratelimit-limit", total.to_string());
    set("x-ratelimit-resource", "core".into());
    match rule.kind {
        RateLimitKind::Primary => {
            set("x-ratelimit-remaining", "0".into());
            set("x-ratelimit-used", total.to_string());
            set(
                "x-ratelimit-reset",
                (now + rule.reset_in_secs as i64).to_string(),
            );
        }
        RateLimitKind::Secondary => {
            if let Some(s) = rule.retry_after {
                set("retry-after", s.to_string());
            }
        }
    }
    response
}

fn seed_commits(seeds: &[CommitSeed]) -> Vec<Commit> {
    let mut out: Vec<Commit> = Vec::new();
    for (i, c) in seeds.iter().enumerate() {
        let parents = c.parents.clone().unwrap_or_else(|| {
            out.last()
                .map(|p: &Commit| vec![p.sha.clone()])
                .unwrap_or_default()
        });
        let date = c
            .date
            .as_deref()
            .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_else(|| epoch() + Duration::minutes(i as i64));
        out.push(Commit {
            sha: c.sha.clone(),
            message: c.message.clone(),
            author: c.author.clone().unwrap_or_else(|| "Octo Cat".into()),
            email: c
                .email
                .clone()
                .unwrap_or_else(|| "octocat@users.noreply.github.com".into()),
            login: c.login.clone(),
            parents,
            date,
        });
    }
    out
}
