//! `stage-gate tag [TAG]`: decide whether a release tag may release (exit 0), refuse it by
//! policy (exit 3) or reject it as malformed (exit 2). `tag --next [--pre ID] [--create]`
//! computes the next version from conventional commits and creates its tag only when asked.

use crate::cli::TagArgs;
use crate::context::Ctx;
use crate::exit::{Exit, Failure};
use crate::git::{Git, GitError};
use crate::github::GitHub;
use crate::inputs::pick;
use crate::report::results::tag::{TagAllowed, TagNext, TagNothing, TagResult};
use crate::report::Report;
use crate::tag::next::{self, Next};
use crate::tag::policy::{self, Facts, Released};
use crate::tag::{self, version, Release, Releases, TagPattern};

pub async fn run(ctx: &Ctx, args: &TagArgs) -> Result<Report, Failure> {
    let app = pick(args.app.clone(), &ctx.inputs, "app");
    let raw_pattern = args
        .pattern
        .clone()
        .unwrap_or_else(|| ctx.config.tag_pattern(app.as_deref()));
    let next_mode = args.next || ctx.inputs.bool("next")?.unwrap_or(false);
    let git = Git::open(&ctx.root).map_err(git_failure)?;
    if next_mode {
        let create = args.create || ctx.inputs.bool("create")?.unwrap_or(false);
        return run_next(ctx, args, &git, &raw_pattern, app.as_deref(), create).await;
    }
    let tag = pick(args.tag.clone(), &ctx.inputs, "tag")
        .or_else(|| ctx.github.tag().map(str::to_string))
        .ok_or_else(|| {
            Failure::input("no tag: give one (`stage-gate tag v1.2.3`), set the `tag` input, or run on a tag push (GITHUB_REF=refs/tags/...)")
        })?;

    let d = decide(
        ctx,
        app,
        &raw_pattern,
        &tag,
        env_name_of(ctx, args),
        args.rollback,
    )
    .await?;
    Ok(report(
        &d.this,
        d.app.as_deref(),
        d.previous.as_ref(),
        d.is_latest,
        &d.warnings,
    ))
}

fn env_name_of(ctx: &Ctx, args: &TagArgs) -> Option<String> {
    pick(args.environment.clone(), &ctx.inputs, "environment")
}

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
pub async fn decide(
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

fn report(
    this: &Release,
    app: Option<&str>,
    previous: Option<&Release>,
    is_latest: bool,
    warnings: &[String],
) -> Report {
    let v = &this.version;
    Report::of(&TagResult::Allowed(TagAllowed {
        tag: this.tag.clone(),
        allowed: true,
        version: v.to_string(),
        app: app.map(str::to_string),
        previous_tag: previous.map(|p| p.tag.clone()),
        previous_version: previous.map(|p| p.version.to_string()),
        prerelease: this.is_prerelease(),
        is_latest,
        warnings: warnings.to_vec(),
        major: v.major,
        minor: v.minor,
        patch: v.patch,
        prerelease_id: version::prerelease_id(v).unwrap_or_default(),
        commit: this.target.clone().unwrap_or_default(),
    }))
}

/// `tag --next`: the next version from conventional commits since the previous tags.
async fn run_next(
    ctx: &Ctx,
    args: &TagArgs,
    git: &Git,
    raw_pattern: &str,
    app: Option<&str>,
    create: bool,
) -> Result<Report, Failure> {
    let pattern = TagPattern::new(raw_pattern, app).map_err(Failure::input)?;
    if pattern.has_app() && app.is_none() {
        return Err(Failure::input(format!(
            "tag pattern `{raw_pattern}` has `{{app}}`: `--next` needs --app"
        )));
    }
    git.require_full_history("the commits since the previous release")
        .map_err(git_failure)?;
    let releases = Releases::from_git(git, &pattern).map_err(git_failure)?;
    let stable = releases.latest_stable("");
    let latest = releases
        .releases
        .iter()
        .max_by(|a, b| version::precedence(&a.version, &b.version));
    let since = |r: Option<&Release>| -> Result<next::Bump, Failure> {
        let range = match r {
            Some(r) => format!("{}..HEAD", r.tag),
            None => "HEAD".into(),
        };
        Ok(next::bump_of(&git.log(&range).map_err(git_failure)?))
    };
    let since_stable = since(stable)?;
    let since_latest = since(latest)?;
    let pre = args.pre.as_deref();
    let decided = next::next(
        stable.map(|r| &r.version),
        latest.map(|r| &r.version),
        since_stable,
        since_latest,
        pre,
    );
    let Next::Version(v) = decided else {
        return Ok(Report::of(&TagResult::Nothing(TagNothing {
            next_version: None,
            created: false,
            since: latest
                .map(|r| r.tag.clone())
                .unwrap_or_else(|| "the first commit".into()),
        })));
    };
    let next_tag = pattern
        .render(app, &v.to_string())
        .map_err(Failure::input)?;
    let head = git.commit_of("HEAD").map_err(git_failure)?;
    let created = if create && !ctx.dry_run {
        let gh = GitHub::from_ctx(ctx).map_err(Failure::input)?;
        let outcome = gh
            .ensure_tag_ref(&next_tag, &head)
            .await
            .map_err(|e| Failure::new(Exit::Internal, e))?;
        match outcome {
            crate::github::TagRef::Created(_) => "created",
            crate::github::TagRef::Existed(_) => "existed",
        }
    } else {
        if create {
            ctx.console.info(format!(
                "dry run: would create refs/tags/{next_tag} at {head}"
            ));
        }
        "no"
    };
    Ok(Report::of(&TagResult::Next(TagNext {
        next_version: v.to_string(),
        next_tag,
        commit: head,
        bump_since_stable: since_stable,
        bump_since_latest: since_latest,
        created: created.to_string(),
        previous_tag: latest.map(|r| r.tag.clone()).unwrap_or_default(),
    })))
}

/// Missing history, tags or revisions are fixed by the user's checkout: exit 2.
fn git_failure(e: GitError) -> Failure {
    match e {
        GitError::Spawn(_) | GitError::Failed { .. } | GitError::Parse { .. } => {
            Failure::new(Exit::Internal, e)
        }
        _ => Failure::new(Exit::InvalidInput, e),
    }
}
