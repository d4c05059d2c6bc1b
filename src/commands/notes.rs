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
    let mut report = Report::new("notes");
    report.output("notes", &notes.markdown);
    if let Some(v) = &notes.version {
        report.output("version", v);
    }
    report.output("previous-tag", notes.previous_tag.as_deref().unwrap_or(""));
    report.output(
        "previous-version",
        notes.previous_version.as_deref().unwrap_or(""),
    );
    report.summary = notes.markdown.clone();
    if ctx.format == crate::report::Format::Json {
        report.json = serde_json::to_value(&notes).unwrap_or_default();
    }
    report.human = match ctx.format {
        Format::Json => String::new(),
        _ => notes.markdown.clone(),
    };
    Ok(report)
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
    let mut report = Report::new("notes");
    report.output("notes", &generated.body);
    report.output("previous-tag", previous.as_deref().unwrap_or(""));
    report.summary = generated.body.clone();
    report.json = serde_json::json!({
        "source": "github",
        "tag": tag,
        "previous_tag": previous,
        "name": generated.name,
        "markdown": generated.body,
    });
    if ctx.format != Format::Json {
        report.human = generated.body;
    }
    Ok(report)
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
    let mut report = Report::new("notes --changelog");
    report.output("changelog", path.display());
    report.output("releases", log.releases.len());
    // The whole changelog as JSON costs more than reading the history: only when asked for.
    if ctx.format == crate::report::Format::Json {
        report.json = serde_json::to_value(&log).unwrap_or_default();
    }
    report.human = format!(
        "{} {} ({} release(s))",
        if ctx.dry_run { "would write" } else { "wrote" },
        path.display(),
        log.releases.iter().filter(|n| n.tag.is_some()).count()
    );
    report.summary = changelog_summary(&report.human, &log.releases);
    // Freeing a large history's notes (a hundred thousand strings) costs milliseconds that
    // nobody waits for elsewhere.
    std::thread::spawn(move || drop(log));
    Ok(report)
}

/// Releases listed in the step summary of a changelog; the rest are counted.
const SUMMARY_RELEASES: usize = 20;

/// The step summary of `notes --changelog`: what was written, and its newest releases.
fn changelog_summary(headline: &str, releases: &[notes::Notes]) -> String {
    let rows: Vec<Vec<String>> = releases
        .iter()
        .take(SUMMARY_RELEASES)
        .map(|n| {
            vec![
                n.tag.clone().unwrap_or_else(|| "unreleased".into()),
                n.date.clone().unwrap_or_default(),
                n.commits.to_string(),
            ]
        })
        .collect();
    let mut md = format!(
        "### stage-gate notes --changelog\n\n{headline}\n\n{}",
        crate::report::summary::table(&["release", "date", "commits"], &rows)
    );
    if releases.len() > SUMMARY_RELEASES {
        md.push_str(&format!(
            "\n…and {} older release(s), in the file.\n",
            releases.len() - SUMMARY_RELEASES
        ));
    }
    md
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
