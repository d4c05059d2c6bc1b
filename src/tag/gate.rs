//! The tag gate: whether a release tag may release, judged by the release policy against
//! the released versions, the branches that contain it and the environment. `stage-gate tag`
//! reports it; `deploy` and `promote` on a tag ref run it before anything changes.

use crate::context::Ctx;
use crate::exit::{Exit, Failure};
use crate::git::{Git, GitError};
use crate::github::GitHub;
use crate::tag::policy::{self, Facts, Released};
use crate::tag::{self, version, Release, Releases, TagPattern};

/// A release tag judged by the release policy: allowed, with what it follows.
pub struct Decided {
    pub this: Release,
    pub app: Option<String>,
    pub previous: Option<Release>,
    pub is_latest: bool,
    /// The highest stable release other than this one, when there is one.
    pub latest: Option<String>,
    pub warnings: Vec<String>,
}

/// The tag gate (`tag`, and `deploy`/`promote` on a tag ref): the name (exit 2 with the
/// nearest valid tag), then the policy against the released versions, the branches that
/// contain it and the environment (exit 3 with each rule broken).
pub(crate) async fn decide(
    ctx: &Ctx,
    app: Option<String>,
    raw_pattern: &str,
    tag: &str,
    env_name: Option<String>,
    rollback: bool,
) -> Result<Decided, Failure> {
    let git = Git::open(&ctx.root).map_err(git_failure)?;
    let tag = tag.to_string();
    // 1. The name: pattern and strict SemVer (exit 2 with the nearest valid tag).
    let pattern = TagPattern::new(raw_pattern, app.as_deref()).map_err(Failure::input)?;
    let mut this = tag::validate(&pattern, &tag).map_err(Failure::input)?;
    let app = app.or_else(|| this.app.clone());
    let pattern = TagPattern::new(raw_pattern, app.as_deref()).map_err(Failure::input)?;

    // 2. The facts, from a full clone only: a shallow one would hide tags and ancestry.
    git.require_full_history("the release branch and the released versions")
        .map_err(git_failure)?;
    let tags = git.tags().map_err(git_failure)?;
    let Some(tag_ref) = tags.iter().find(|t| t.name == tag) else {
        return Err(git_failure(GitError::MissingTag { tag: tag.clone() }));
    };
    this.target = Some(tag_ref.target.clone());
    this.annotated = tag_ref.annotated;
    this.date = tag_ref.date;
    let releases = Releases::classify(&pattern, &tags);
    let mut released: Vec<Released> = releases
        .releases
        .iter()
        .filter(|r| r.tag != tag)
        .map(|r| Released {
            tag: r.tag.clone(),
            version: r.version.clone(),
            source: "git tag",
        })
        .collect();
    let mut warnings = Vec::new();
    for r in github_releases(ctx, &pattern, &tag).await? {
        if !released.iter().any(|o| o.tag == r.tag) {
            warnings.push(format!(
                "GitHub release `{}` has no tag in this clone; fetch tags (`fetch-depth: 0`)",
                r.tag
            ));
            released.push(r);
        }
    }
    let branches = git
        .branches_containing(&tag_ref.target)
        .map_err(git_failure)?;
    require_release_branch(&git, &ctx.config.release)?;
    let env_policy = env_name.as_deref().map(|e| ctx.config.policy(e));

    // 3. The verdict.
    let verdict = policy::evaluate(
        &ctx.config.release,
        &Facts {
            release: &this,
            released: released.clone(),
            branches,
            environment: env_policy.as_ref(),
            rollback,
        },
    );
    warnings.extend(verdict.warnings.iter().cloned());
    for w in &warnings {
        ctx.console.warn(w);
    }
    if !verdict.allowed() {
        let reasons: Vec<String> = verdict
            .refusals
            .iter()
            .map(|r| format!("{} ({})", r.reason, r.rule))
            .collect();
        return Err(Failure::gate(format!(
            "tag `{tag}` refused: {}",
            reasons.join("; ")
        )));
    }

    let previous = releases.previous(&this.version);
    let is_latest = !this.is_prerelease()
        && released
            .iter()
            .filter(|r| r.version.pre.is_empty())
            .all(|r| version::precedence(&r.version, &this.version).is_lt());
    let latest = released
        .iter()
        .filter(|r| r.version.pre.is_empty())
        .max_by(|a, b| version::precedence(&a.version, &b.version))
        .map(|r| r.tag.clone());
    Ok(Decided {
        previous: previous.cloned(),
        this,
        app,
        is_latest,
        latest,
        warnings,
    })
}

/// Without the release branch in the clone, "not on the release branch" would be a guess.
fn require_release_branch(
    git: &Git,
    release: &crate::config::ReleasePolicy,
) -> Result<(), Failure> {
    let all = git.branches().map_err(git_failure)?;
    if all.iter().any(|b| b.name == release.branch) {
        return Ok(());
    }
    Err(Failure::input(format!(
        "the release branch `{}` is not in this clone (neither `{0}` nor `origin/{0}`), so the tag's ancestry cannot be checked; fetch it: actions/checkout with `fetch-depth: 0`",
        release.branch
    )))
}

/// Releases GitHub knows of (published, not drafts), when a token is there.
async fn github_releases(
    ctx: &Ctx,
    pattern: &TagPattern,
    this: &str,
) -> Result<Vec<Released>, Failure> {
    if ctx.github.token.is_none() || ctx.github.repository.is_none() {
        return Ok(Vec::new());
    }
    let gh = GitHub::from_ctx(ctx).map_err(Failure::input)?;
    let list = gh
        .list_releases()
        .await
        .map_err(|e| Failure::new(Exit::Internal, e))?;
    Ok(list
        .into_iter()
        .filter(|r| !r.draft && r.tag_name != this)
        .filter_map(|r| match tag::classify(pattern, &r.tag_name) {
            tag::Classified::Release(rel) => Some(Released {
                tag: rel.tag,
                version: rel.version,
                source: "GitHub release",
            }),
            _ => None,
        })
        .collect())
}

/// Missing history, tags or revisions are fixed by the user's checkout: exit 2.
pub(crate) fn git_failure(e: GitError) -> Failure {
    match e {
        GitError::Spawn(_) | GitError::Failed { .. } | GitError::Parse { .. } => {
            Failure::new(Exit::Internal, e)
        }
        _ => Failure::new(Exit::InvalidInput, e),
    }
}
