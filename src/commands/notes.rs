//! `stage-gate notes [TAG] [--from REV] [--to REV] [--app APP] [--source git|github]
//! [--changelog] [--output FILE]`: release notes (Markdown, or JSON with `--format json`).

use crate::cli::{NotesArgs, NotesSource};
use crate::context::Ctx;
use crate::exit::{Exit, Failure};
use crate::git::{Git, GitError};
use crate::github::GitHub;
use crate::inputs::pick;
use crate::release::changelog;
use crate::release::notes::{self, NotesError, NotesRequest};
use crate::report::results::notes::{ChangelogWritten, GithubNotes, NotesResult};
use crate::report::{Format, Report};

pub async fn run(ctx: &Ctx, args: &NotesArgs) -> Result<Report, Failure> {
    let app = pick(args.app.clone(), &ctx.inputs, "app");
    let repo_url = repo_url(ctx);
    if args.changelog {
        return write_changelog(ctx, args, app.as_deref(), repo_url.as_deref());
    }
    let tag =
        pick(args.tag.clone(), &ctx.inputs, "tag").or_else(|| ctx.github.tag().map(str::to_string));
    if args.source == Some(NotesSource::Github) {
        let tag = tag.ok_or_else(|| {
            Failure::input("`--source github` needs a tag: `stage-gate notes TAG` or GITHUB_REF")
        })?;
        return github_notes(ctx, args, &tag, app.as_deref()).await;
    }
    let request = NotesRequest {
        tag: tag.as_deref(),
        app: app.as_deref(),
        from: args.from.as_deref(),
        to: args.to.as_deref(),
        repo_url,
    };
    let notes = notes::generate(&ctx.root, &ctx.config, &request).map_err(failure)?;
    if let Some(path) = &args.output {
        write_file(ctx, path, &notes.markdown)?;
    }
    Ok(Report::of(&NotesResult::Git(notes)))
}

/// GitHub's generate-notes API, given OUR previous tag (semver order, same channel) so it
/// cannot pick the wrong one by ancestry.
async fn github_notes(
    ctx: &Ctx,
    args: &NotesArgs,
    tag: &str,
    app: Option<&str>,
) -> Result<Report, Failure> {
    let git = Git::open(&ctx.root).map_err(|e| failure(e.into()))?;
    let previous = match &args.from {
        Some(f) => Some(f.clone()),
        None => notes::previous_release(&git, &ctx.config, tag, app)
            .map_err(failure)?
            .1
            .map(|r| r.tag),
    };
    let gh = GitHub::from_ctx(ctx).map_err(Failure::input)?;
    let generated = gh
        .generate_notes(tag, args.to.as_deref(), previous.as_deref())
        .await
        .map_err(|e| Failure::new(Exit::Internal, e))?;
    if let Some(path) = &args.output {
        write_file(ctx, path, &generated.body)?;
    }
    Ok(Report::of(&NotesResult::Github(GithubNotes {
        source: "github".into(),
        tag: tag.to_string(),
        previous_tag: previous,
        name: generated.name,
        markdown: generated.body,
    })))
}

fn write_changelog(
    ctx: &Ctx,
    args: &NotesArgs,
    app: Option<&str>,
    repo_url: Option<&str>,
) -> Result<Report, Failure> {
    let log = changelog::changelog(&ctx.root, &ctx.config, app, repo_url).map_err(failure)?;
    let path = args.output.clone().unwrap_or_else(|| "CHANGELOG.md".into());
    write_file(ctx, &path, &log.markdown)?;
    let result = NotesResult::Changelog(ChangelogWritten {
        changelog: log,
        path: path.display().to_string(),
        dry_run: ctx.dry_run,
    });
    // The whole changelog as JSON costs more than reading the history: only when asked for.
    let report = match ctx.format {
        Format::Json => Report::of(&result),
        _ => Report::rendered(&result),
    };
    // Freeing a large history's notes (a hundred thousand strings) costs milliseconds that
    // nobody waits for elsewhere.
    std::thread::spawn(move || drop(result));
    Ok(report)
}

fn write_file(ctx: &Ctx, path: &std::path::Path, text: &str) -> Result<(), Failure> {
    if ctx.dry_run {
        ctx.console
            .info(format!("dry run: would write {}", path.display()));
        return Ok(());
    }
    std::fs::write(ctx.path(path), text).map_err(|e| {
        Failure::new(
            Exit::Internal,
            anyhow::anyhow!("cannot write {}: {e}", path.display()),
        )
    })
}

/// `https://github.com/owner/name` from the GitHub context (or the config's `repository`).
pub fn repo_url(ctx: &Ctx) -> Option<String> {
    let repo = ctx
        .github
        .repository
        .as_deref()
        .or(ctx.config.repository.as_deref())?;
    Some(format!(
        "{}/{repo}",
        ctx.github.server_url.trim_end_matches('/')
    ))
}

/// Malformed tags and unknown revisions are bad input (2); missing history names the fetch.
pub fn failure(e: NotesError) -> Failure {
    match e {
        NotesError::Tag(_) | NotesError::Pattern(_) | NotesError::Skip { .. } => {
            Failure::new(Exit::InvalidInput, e)
        }
        NotesError::Git(
            GitError::MissingTag { .. }
            | GitError::UnknownRevision { .. }
            | GitError::Shallow { .. }
            | GitError::NotARepo { .. },
        ) => Failure::new(Exit::InvalidInput, e),
        NotesError::Git(_) => Failure::new(Exit::Internal, e),
    }
}
