//! The JSON shapes GitHub answers with, built from the simulator's records. Field for field
//! per the spec's schemas (`release`, `release-asset`, `deployment`, `deployment-status`,
//! `git-ref`, `tag`, `commit`, `commit-comparison`, `pull-request-simple`, `workflow`,
//! `simple-user`, `repository`); the contract test checks the required fields.

use super::state::{
    AssetRec, CommentRec, Commit, DeploymentRec, ReleaseRec, Repo, State, StatusRec,
};
use super::PullSeed;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

/// The account the simulator acts as (the token's owner).
pub const ACTOR: &str = "github-actions[bot]";

pub fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn node_id(kind: &str, id: u64) -> String {
    format!("{kind}_kwDO{id:08}")
}

/// A stable numeric id for a login.
fn user_id(login: &str) -> u64 {
    login.bytes().fold(1469598103u64, |h, b| {
        h.wrapping_mul(31).wrapping_add(b as u64)
    }) % 100_000_000
}

/// `simple-user`.
pub fn user(s: &State, login: &str) -> Value {
    let api = &s.api;
    let id = user_id(login);
    let kind = if login.ends_with("[bot]") {
        "Bot"
    } else {
        "User"
    };
    json!({
        "login": login,
        "id": id,
        "node_id": node_id("U", id),
        "avatar_url": format!("{api}/avatars/u/{id}?v=4"),
        "gravatar_id": "",
        "url": format!("{api}/users/{login}"),
        "html_url": format!("{}/{login}", s.web),
        "followers_url": format!("{api}/users/{login}/followers"),
        "following_url": format!("{api}/users/{login}/following{{/other_user}}"),
        "gists_url": format!("{api}/users/{login}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/users/{login}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/users/{login}/subscriptions"),
        "organizations_url": format!("{api}/users/{login}/orgs"),
        "repos_url": format!("{api}/users/{login}/repos"),
        "events_url": format!("{api}/users/{login}/events{{/privacy}}"),
        "received_events_url": format!("{api}/users/{login}/received_events"),
        "type": kind,
        "site_admin": false,
        "user_view_type": "public"
    })
}

pub fn repo_api(s: &State, repo: &Repo) -> String {
    format!("{}/repos/{}", s.api, repo.full_name())
}

pub fn repo_web(s: &State, repo: &Repo) -> String {
    format!("{}/{}", s.web, repo.full_name())
}

/// `repository` (as embedded in a pull request's head and base).
pub fn repository(s: &State, repo: &Repo) -> Value {
    let api = repo_api(s, repo);
    let mut v = json!({
        "id": repo.id,
        "node_id": node_id("R", repo.id),
        "name": repo.name,
        "full_name": repo.full_name(),
        "owner": user(s, &repo.owner),
        "private": false,
        "html_url": repo_web(s, repo),
        "description": null,
        "fork": false,
        "url": api,
        "homepage": null,
        "language": "Rust",
        "forks": 0, "forks_count": 0,
        "stargazers_count": 0, "watchers_count": 0, "watchers": 0,
        "size": 0,
        "default_branch": repo.default_branch,
        "open_issues": 0, "open_issues_count": 0,
        "has_issues": true, "has_projects": true, "has_wiki": true, "has_pages": false,
        "has_downloads": true, "archived": false, "disabled": false,
        "license": null,
        "mirror_url": null,
        "pushed_at": "2026-01-01T00:00:00Z",
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "git_url": format!("git://github.com/{}.git", repo.full_name()),
        "ssh_url": format!("git@github.com:{}.git", repo.full_name()),
        "clone_url": format!("{}.git", repo_web(s, repo)),
        "svn_url": repo_web(s, repo),
    });
    // The `*_url` templates GitHub lists for every repository.
    let templates = [
        ("archive_url", "/{archive_format}{/ref}"),
        ("assignees_url", "/assignees{/user}"),
        ("blobs_url", "/git/blobs{/sha}"),
        ("branches_url", "/branches{/branch}"),
        ("collaborators_url", "/collaborators{/collaborator}"),
        ("comments_url", "/comments{/number}"),
        ("commits_url", "/commits{/sha}"),
        ("compare_url", "/compare/{base}...{head}"),
        ("contents_url", "/contents/{+path}"),
        ("contributors_url", "/contributors"),
        ("deployments_url", "/deployments"),
        ("downloads_url", "/downloads"),
        ("events_url", "/events"),
        ("forks_url", "/forks"),
        ("git_commits_url", "/git/commits{/sha}"),
        ("git_refs_url", "/git/refs{/sha}"),
        ("git_tags_url", "/git/tags{/sha}"),
        ("hooks_url", "/hooks"),
        ("issue_comment_url", "/issues/comments{/number}"),
        ("issue_events_url", "/issues/events{/number}"),
        ("issues_url", "/issues{/number}"),
        ("keys_url", "/keys{/key_id}"),
        ("labels_url", "/labels{/name}"),
        ("languages_url", "/languages"),
        ("merges_url", "/merges"),
        ("milestones_url", "/milestones{/number}"),
        (
            "notifications_url",
            "/notifications{?since,all,participating}",
        ),
        ("pulls_url", "/pulls{/number}"),
        ("releases_url", "/releases{/id}"),
        ("stargazers_url", "/stargazers"),
        ("statuses_url", "/statuses/{sha}"),
        ("subscribers_url", "/subscribers"),
        ("subscription_url", "/subscription"),
        ("tags_url", "/tags"),
        ("teams_url", "/teams"),
        ("trees_url", "/git/trees{/sha}"),
    ];
    for (key, suffix) in templates {
        v[key] = format!("{api}{suffix}").into();
    }
    v
}

/// `release-asset`.
pub fn asset(s: &State, repo: &Repo, release: &ReleaseRec, a: &AssetRec) -> Value {
    json!({
        "url": format!("{}/releases/assets/{}", repo_api(s, repo), a.id),
        "browser_download_url": format!("{}/releases/download/{}/{}", repo_web(s, repo), super::encode(&release.tag_name), super::encode(&a.name)),
        "id": a.id,
        "node_id": node_id("RA", a.id),
        "name": a.name,
        "label": a.label,
        "state": "uploaded",
        "content_type": a.content_type,
        "size": a.size,
        "digest": a.digest,
        "download_count": 0,
        "created_at": time(&a.created_at),
        "updated_at": time(&a.created_at),
        "uploader": user(s, ACTOR),
    })
}

/// `release`.
pub fn release(s: &State, repo: &Repo, r: &ReleaseRec) -> Value {
    let api = repo_api(s, repo);
    let web = repo_web(s, repo);
    // Drafts have an "untagged-…" web URL until published, as on GitHub.
    let html_url = if r.draft {
        format!("{web}/releases/tag/untagged-{:x}", r.id)
    } else {
        format!("{web}/releases/tag/{}", super::encode(&r.tag_name))
    };
    json!({
        "url": format!("{api}/releases/{}", r.id),
        "html_url": html_url,
        "assets_url": format!("{api}/releases/{}/assets", r.id),
        "upload_url": format!("{}/repos/{}/releases/{}/assets{{?name,label}}", s.uploads, repo.full_name(), r.id),
        "tarball_url": (!r.draft).then(|| format!("{api}/tarball/{}", super::encode(&r.tag_name))),
        "zipball_url": (!r.draft).then(|| format!("{api}/zipball/{}", super::encode(&r.tag_name))),
        "id": r.id,
        "node_id": node_id("RE", r.id),
        "tag_name": r.tag_name,
        "target_commitish": r.target_commitish,
        "name": r.name,
        "body": r.body,
        "draft": r.draft,
        "prerelease": r.prerelease,
        "immutable": r.immutable,
        "created_at": time(&r.created_at),
        "published_at": r.published_at.as_ref().map(time),
        "updated_at": time(&r.updated_at),
        "author": user(s, ACTOR),
        "assets": r.assets.iter().map(|a| asset(s, repo, r, a)).collect::<Vec<_>>(),
    })
}

/// `deployment`.
pub fn deployment(s: &State, repo: &Repo, d: &DeploymentRec) -> Value {
    let api = repo_api(s, repo);
    json!({
        "url": format!("{api}/deployments/{}", d.id),
        "id": d.id,
        "node_id": node_id("DE", d.id),
        "sha": d.sha,
        "ref": d.git_ref,
        "task": d.task,
        "payload": d.payload,
        "original_environment": d.original_environment,
        "environment": d.environment,
        "description": d.description,
        "creator": user(s, ACTOR),
        "created_at": time(&d.created_at),
        "updated_at": time(&d.updated_at),
        "statuses_url": format!("{api}/deployments/{}/statuses", d.id),
        "repository_url": api,
        "transient_environment": d.transient_environment,
        "production_environment": d.production_environment,
        "performed_via_github_app": null,
    })
}

/// `deployment-status`.
pub fn status(s: &State, repo: &Repo, d: &DeploymentRec, st: &StatusRec) -> Value {
    let api = repo_api(s, repo);
    json!({
        "url": format!("{api}/deployments/{}/statuses/{}", d.id, st.id),
        "id": st.id,
        "node_id": node_id("DES", st.id),
        "state": st.state,
        "creator": user(s, ACTOR),
        "description": st.description,
        "environment": st.environment,
        "target_url": st.target_url,
        "created_at": time(&st.created_at),
        "updated_at": time(&st.created_at),
        "deployment_url": format!("{api}/deployments/{}", d.id),
        "repository_url": api,
        "environment_url": st.environment_url,
        "log_url": st.log_url,
        "performed_via_github_app": null,
    })
}

/// `git-ref` for a full ref name.
pub fn git_ref(s: &State, repo: &Repo, full: &str, sha: &str) -> Value {
    let api = repo_api(s, repo);
    json!({
        "ref": full,
        "node_id": format!("REF_{}", super::encode(full)),
        "url": format!("{api}/git/{full}"),
        "object": {"type": "commit", "sha": sha, "url": format!("{api}/git/commits/{sha}")},
    })
}

/// `tag`.
pub fn tag(s: &State, repo: &Repo, name: &str, sha: &str) -> Value {
    let api = repo_api(s, repo);
    json!({
        "name": name,
        "commit": {"sha": sha, "url": format!("{api}/commits/{sha}")},
        "zipball_url": format!("{api}/zipball/refs/tags/{}", super::encode(name)),
        "tarball_url": format!("{api}/tarball/refs/tags/{}", super::encode(name)),
        "node_id": format!("TAG_{}", super::encode(name)),
    })
}

/// `commit`. A sha that was not seeded (allowed unless `strict_shas`) gets a stand-in.
pub fn commit(s: &State, repo: &Repo, sha: &str) -> Value {
    let api = repo_api(s, repo);
    let fallback;
    let c: &Commit = match repo.commit(sha) {
        Some(c) => c,
        None => {
            fallback = Commit {
                sha: sha.to_string(),
                message: format!("commit {sha}"),
                author: "Octo Cat".into(),
                email: "octocat@users.noreply.github.com".into(),
                login: None,
                parents: Vec::new(),
                date: Utc::now(),
            };
            &fallback
        }
    };
    let git_user = json!({"name": c.author, "email": c.email, "date": time(&c.date)});
    let account = c.login.as_deref().map(|l| user(s, l));
    json!({
        "url": format!("{api}/commits/{}", c.sha),
        "sha": c.sha,
        "node_id": format!("C_{}", c.sha),
        "html_url": format!("{}/commit/{}", repo_web(s, repo), c.sha),
        "comments_url": format!("{api}/commits/{}/comments", c.sha),
        "commit": {
            "url": format!("{api}/git/commits/{}", c.sha),
            "author": git_user,
            "committer": git_user,
            "message": c.message,
            "comment_count": 0,
            "tree": {"sha": format!("{:0>40}", c.sha.len()), "url": format!("{api}/git/trees/{}", c.sha)},
            "verification": {"verified": false, "reason": "unsigned", "payload": null, "signature": null, "verified_at": null},
        },
        "author": account,
        "committer": account,
        "parents": c.parents.iter().map(|p| json!({
            "sha": p,
            "url": format!("{api}/commits/{p}"),
            "html_url": format!("{}/commit/{p}", repo_web(s, repo)),
        })).collect::<Vec<_>>(),
        "stats": {"additions": 0, "deletions": 0, "total": 0},
        "files": [],
    })
}

/// `issue-comment`.
pub fn comment(s: &State, repo: &Repo, c: &CommentRec) -> Value {
    let api = repo_api(s, repo);
    let kind = if repo.pull(c.issue).is_some() {
        "pull"
    } else {
        "issues"
    };
    let reactions = json!({
        "url": format!("{api}/issues/comments/{}/reactions", c.id),
        "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "confused": 0, "heart": 0,
        "hooray": 0, "eyes": 0, "rocket": 0,
    });
    json!({
        "id": c.id,
        "node_id": node_id("IC", c.id),
        "url": format!("{api}/issues/comments/{}", c.id),
        "html_url": format!("{}/{kind}/{}#issuecomment-{}", repo_web(s, repo), c.issue, c.id),
        "body": c.body,
        "user": user(s, &c.login),
        "created_at": time(&c.created_at),
        "updated_at": time(&c.updated_at),
        "issue_url": format!("{api}/issues/{}", c.issue),
        "author_association": if c.login.ends_with("[bot]") { "NONE" } else { "CONTRIBUTOR" },
        "performed_via_github_app": null,
        "reactions": reactions,
    })
}

/// The repository a pull request's head lives in: this one, or the fork it names.
fn head_repository(s: &State, repo: &Repo, p: &PullSeed) -> (String, Value) {
    match p.head_repo.as_deref().and_then(|f| f.split_once('/')) {
        Some((owner, name)) if format!("{owner}/{name}") != repo.full_name() => {
            let mut fork = repo.clone();
            fork.owner = owner.to_string();
            fork.name = name.to_string();
            fork.id = repo.id + 1_000_000;
            let mut v = repository(s, &fork);
            v["fork"] = json!(true);
            (owner.to_string(), v)
        }
        _ => (repo.owner.clone(), repository(s, repo)),
    }
}

/// `pull-request-simple`.
pub fn pull(s: &State, repo: &Repo, p: &PullSeed) -> Value {
    let api = repo_api(s, repo);
    let web = repo_web(s, repo);
    let n = p.number;
    let head_sha = p.head_sha();
    let base_sha = repo
        .branch(&repo.default_branch)
        .cloned()
        .unwrap_or_default();
    let side = |owner: &str, label_ref: &str, sha: &str, repo_json: Value| {
        json!({
            "label": format!("{owner}:{label_ref}"),
            "ref": label_ref,
            "sha": sha,
            "user": user(s, owner),
            "repo": repo_json,
        })
    };
    let (head_owner, head_repo) = head_repository(s, repo, p);
    let link = |href: String| json!({"href": href});
    let merged = p.is_merged();
    let closed = p.state() == "closed";
    let changed = repo
        .pull_changed
        .get(&n)
        .map(time)
        .unwrap_or_else(|| "2026-01-01T00:00:00Z".into());
    let links = json!({
        "self": link(format!("{api}/pulls/{n}")),
        "html": link(format!("{web}/pull/{n}")),
        "issue": link(format!("{api}/issues/{n}")),
        "comments": link(format!("{api}/issues/{n}/comments")),
        "review_comments": link(format!("{api}/pulls/{n}/comments")),
        "review_comment": link(format!("{api}/pulls/comments{{/number}}")),
        "commits": link(format!("{api}/pulls/{n}/commits")),
        "statuses": link(format!("{api}/statuses/{head_sha}")),
    });
    json!({
        "url": format!("{api}/pulls/{n}"),
        "id": 5_000_000 + n,
        "node_id": format!("PR_{n}"),
        "html_url": format!("{web}/pull/{n}"),
        "diff_url": format!("{web}/pull/{n}.diff"),
        "patch_url": format!("{web}/pull/{n}.patch"),
        "issue_url": format!("{api}/issues/{n}"),
        "commits_url": format!("{api}/pulls/{n}/commits"),
        "review_comments_url": format!("{api}/pulls/{n}/comments"),
        "review_comment_url": format!("{api}/pulls/comments{{/number}}"),
        "comments_url": format!("{api}/issues/{n}/comments"),
        "statuses_url": format!("{api}/statuses/{head_sha}"),
        "number": n,
        "state": p.state(),
        "locked": false,
        "title": p.title,
        "user": user(s, p.author()),
        "body": null,
        "labels": [],
        "milestone": null,
        "active_lock_reason": null,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": changed,
        "closed_at": closed.then(|| changed.clone()),
        "merged_at": merged.then(|| changed.clone()),
        "merge_commit_sha": p.merge_commit,
        "assignee": null,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": side(&head_owner, &p.head_ref(), &head_sha, head_repo),
        "base": side(&repo.owner, &repo.default_branch, &base_sha, repository(s, repo)),
        "_links": links,
        "author_association": "CONTRIBUTOR",
        "auto_merge": null,
        "draft": false,
    })
}

/// `pull-request`: the simple shape plus merge status and counts.
pub fn pull_full(s: &State, repo: &Repo, p: &PullSeed) -> Value {
    let mut v = pull(s, repo, p);
    let merged = p.is_merged();
    let extra = json!({
        "merged": merged,
        "mergeable": if p.state() == "open" { json!(true) } else { Value::Null },
        "rebaseable": if p.state() == "open" { json!(true) } else { Value::Null },
        "mergeable_state": if p.state() == "open" { "clean" } else { "unknown" },
        "merged_by": if merged { user(s, &repo.owner) } else { Value::Null },
        "comments": repo.comments.iter().filter(|c| c.issue == p.number).count(),
        "review_comments": 0,
        "maintainer_can_modify": false,
        "commits": p.commits.len().max(1),
        "additions": 0,
        "deletions": 0,
        "changed_files": 0,
    });
    if let (Some(obj), Some(more)) = (v.as_object_mut(), extra.as_object()) {
        obj.extend(more.clone());
    }
    v
}

/// `workflow`.
pub fn workflow(s: &State, repo: &Repo, index: usize, file: &str) -> Value {
    let id = 7_000_000 + index as u64;
    let path = format!(".github/workflows/{file}");
    json!({
        "id": id,
        "node_id": format!("W_{id}"),
        "name": file.trim_end_matches(".yml").trim_end_matches(".yaml"),
        "path": path,
        "state": "active",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "url": format!("{}/actions/workflows/{id}", repo_api(s, repo)),
        "html_url": format!("{}/blob/{}/{path}", repo_web(s, repo), repo.default_branch),
        "badge_url": format!("{}/workflows/{}/badge.svg", repo_web(s, repo), file),
    })
}
