//! `stage-gate tag [TAG]`: decide whether a release tag may release (exit 0), refuse it by
//! policy (exit 3) or reject it as malformed (exit 2). `tag --next [--pre ID] [--create]`
//! computes the next version from conventional commits and creates its tag only when asked.

use crate::cli::TagArgs;
use crate::context::Ctx;
use crate::exit::{Exit, Failure};
use crate::git::Git;
use crate::github::GitHub;
use crate::inputs::pick;
use crate::report::results::tag::{TagAllowed, TagNext, TagNothing, TagResult};
use crate::report::Report;
use crate::tag::gate::{decide, git_failure};
use crate::tag::next::{self, Next};
use crate::tag::{version, Release, Releases, TagPattern};

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
/// `--create`: the tag through the GitHub API (`created`, `existed`), or `no`.
async fn create_tag(
    ctx: &Ctx,
    create: bool,
    next_tag: &str,
    head: &str,
) -> Result<&'static str, Failure> {
    if !create {
        return Ok("no");
    }
    if ctx.dry_run {
        ctx.console.info(format!(
            "dry run: would create refs/tags/{next_tag} at {head}"
        ));
        return Ok("no");
    }
    let gh = GitHub::from_ctx(ctx).map_err(Failure::input)?;
    let outcome = gh
        .ensure_tag_ref(next_tag, head)
        .await
        .map_err(|e| Failure::new(Exit::Internal, e))?;
    Ok(match outcome {
        crate::github::TagRef::Created(_) => "created",
        crate::github::TagRef::Existed(_) => "existed",
    })
}

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
    let created = create_tag(ctx, create, &next_tag, &head).await?;
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
