//! `stage-gate release --tag TAG [--asset GLOB]... [--on-existing POLICY] [--draft]`: the
//! GitHub Release of a tag, with notes and assets.
//!
//! Everything that can fail locally is done before GitHub is called — the tag is judged,
//! the notes written, the assets read and hashed — so a failure leaves no half-made release.
//! Then [`crate::release::publish`] does draft → assets → `SHA256SUMS` → publish.
//!
//! Exit codes: 2 for a bad tag, missing notes range, unmatched asset glob or missing token;
//! 3 when the policy refuses (`on-existing: fail`, an asset that differs, an immutable
//! release that would need new assets); 1 for GitHub or network failures.

use crate::cli::ReleaseArgs;
use crate::commands::notes::{failure as notes_failure, repo_url};
use crate::config::OnExisting;
use crate::context::Ctx;
use crate::exit::{Exit, Failure};
use crate::git::Git;
use crate::github::{GitHub, MakeLatest};
use crate::inputs::pick;
use crate::release::assets;
use crate::release::notes::{self, NotesRequest};
use crate::release::publish::{self, Plan, PublishError};
use crate::report::results::release::{Published, ReleaseDryRun, ReleaseResult, ReleasedAsset};
use crate::report::Report;
use crate::tag::{self, version, Releases, TagPattern};
use std::cmp::Ordering;
use std::path::Path;

/// GitHub refuses a release body longer than this many characters.
pub const MAX_BODY: usize = 125_000;

pub async fn run(ctx: &Ctx, args: &ReleaseArgs) -> Result<Report, Failure> {
    let app = pick(args.app.clone(), &ctx.inputs, "app");
    let tag = pick(args.tag.clone(), &ctx.inputs, "tag")
        .or_else(|| ctx.github.tag().map(str::to_string))
        .ok_or_else(|| {
            Failure::input("no tag: give `--tag v1.2.3`, set the `tag` input, or run on a tag push (GITHUB_REF=refs/tags/...)")
        })?;
    let on_existing = on_existing(ctx, args)?;
    let globs = asset_globs(ctx, args);

    // 1. The tag names a release version (exit 2 with the nearest valid tag otherwise); in a
    // monorepo the tag also names the app (`api@1.2.0`) when `--app` does not.
    let pattern_for = |app: Option<&str>| {
        TagPattern::new(&ctx.config.tag_pattern(app), app).map_err(Failure::input)
    };
    let this = tag::validate(&pattern_for(app.as_deref())?, &tag).map_err(Failure::input)?;
    let app = app.or_else(|| this.app.clone());
    let pattern = pattern_for(app.as_deref())?;

    // 2. Notes before anything else: if they fail, no release is created.
    let request = NotesRequest {
        tag: Some(&tag),
        app: app.as_deref(),
        repo_url: repo_url(ctx),
        ..Default::default()
    };
    let notes = notes::generate(&ctx.root, &ctx.config, &request).map_err(notes_failure)?;

    // 3. Latest only when this is the highest stable version among the tags.
    let git = Git::open(&ctx.root).map_err(|e| notes_failure(e.into()))?;
    let releases = Releases::from_git(&git, &pattern).map_err(|e| notes_failure(e.into()))?;
    let is_latest = !this.is_prerelease()
        && releases
            .latest_stable(&tag)
            .is_none_or(|r| version::precedence(&this.version, &r.version) == Ordering::Greater);
    let target = git.commit_of(&tag).ok();

    // 4. The assets, read and hashed now.
    let files = assets::collect(&ctx.root, &globs).map_err(Failure::input)?;

    let plan = Plan {
        name: tag.clone(),
        body: guard_body(
            &notes.markdown,
            &full_notes_link(ctx, &tag, notes.previous_tag.as_deref()),
        ),
        tag: tag.clone(),
        target_commitish: target,
        prerelease: this.is_prerelease(),
        make_latest: if is_latest {
            MakeLatest::True
        } else {
            MakeLatest::False
        },
        assets: files,
        on_existing,
        keep_draft: args.draft || ctx.inputs.bool("draft")?.unwrap_or(false),
    };
    warn_default_token(ctx);

    if ctx.dry_run {
        return Ok(dry_run_report(ctx, &plan, &this.version.to_string()));
    }
    let gh = GitHub::from_ctx(ctx)?;
    let outcome = publish::publish(&gh, &plan)
        .await
        .map_err(publish_failure)?;
    for w in &outcome.warnings {
        ctx.console.warn(w);
    }
    Ok(report(
        &plan,
        &this.version.to_string(),
        is_latest,
        &outcome,
    ))
}

/// Flag, then input, then config (default `update-draft`).
fn on_existing(ctx: &Ctx, args: &ReleaseArgs) -> Result<OnExisting, Failure> {
    let choices = ["fail", "skip", "update", "update-draft"];
    let raw = match &args.on_existing {
        Some(v) => Some(v.clone()),
        None => ctx.inputs.choice("on-existing", &choices)?,
    };
    match raw.as_deref() {
        None => Ok(ctx.config.release.on_existing),
        Some("fail") => Ok(OnExisting::Fail),
        Some("skip") => Ok(OnExisting::Skip),
        Some("update") => Ok(OnExisting::Update),
        Some("update-draft") => Ok(OnExisting::UpdateDraft),
        Some(other) => Err(Failure::input(format!(
            "--on-existing `{other}`: expected one of {}",
            choices.join(", ")
        ))),
    }
}

/// `--asset` flags, else the `assets` input (one glob per line), else the config.
fn asset_globs(ctx: &Ctx, args: &ReleaseArgs) -> Vec<String> {
    if !args.assets.is_empty() {
        return args.assets.clone();
    }
    let from_input = ctx.inputs.lines("assets");
    if !from_input.is_empty() {
        return from_input;
    }
    ctx.config.release.assets.clone()
}

/// Where the complete notes live when the body has to be cut: the tag's CHANGELOG.md when
/// the repository keeps one, else the compare view of the range.
fn full_notes_link(ctx: &Ctx, tag: &str, previous: Option<&str>) -> String {
    let Some(base) = repo_url(ctx) else {
        return "CHANGELOG.md".into();
    };
    if ctx.root.join("CHANGELOG.md").is_file() {
        return format!("{base}/blob/{tag}/CHANGELOG.md");
    }
    match previous {
        Some(p) => format!("{base}/compare/{p}...{tag}"),
        None => format!("{base}/commits/{tag}"),
    }
}

/// The notes, cut at a line boundary under GitHub's 125,000-character limit with a link to
/// the full text; unchanged when they fit.
pub fn guard_body(markdown: &str, link: &str) -> String {
    if markdown.chars().count() <= MAX_BODY {
        return markdown.to_string();
    }
    let tail = format!(
        "\n\n---\n*The notes are longer than GitHub's {MAX_BODY}-character limit and end here. Full notes: {link}*\n"
    );
    let room = MAX_BODY - tail.chars().count();
    let cut: String = markdown.chars().take(room).collect();
    let cut = match cut.rfind('\n') {
        Some(i) if i > 0 => cut[..i].to_string(),
        _ => cut,
    };
    format!("{cut}{tail}")
}

/// `release` events made with the default `GITHUB_TOKEN` start no workflow: say so when a
/// workflow here listens for them.
fn warn_default_token(ctx: &Ctx) {
    if !ctx.github.token_is_default {
        return;
    }
    let listeners = release_listeners(&ctx.root);
    if !listeners.is_empty() {
        ctx.console.warn(format!(
            "the release is made with the default GITHUB_TOKEN, so its `release` event will not start {} (GitHub never triggers workflows from GITHUB_TOKEN events); pass a GitHub App or personal token as `github-token`",
            listeners.join(", ")
        ));
    }
}

/// Workflow files under `.github/workflows` with `on: release`.
pub fn release_listeners(root: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root.join(".github/workflows")) else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .filter(|p| {
            std::fs::read_to_string(p)
                .ok()
                .and_then(|t| serde_yaml::from_str::<serde_yaml::Value>(&t).ok())
                .is_some_and(|doc| listens_to_release(&doc))
        })
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    found.sort();
    found
}

fn listens_to_release(doc: &serde_yaml::Value) -> bool {
    use serde_yaml::Value;
    let Value::Mapping(map) = doc else {
        return false;
    };
    // YAML 1.1 readers turn the key `on` into `true`; accept both spellings.
    let on = map
        .get(Value::String("on".into()))
        .or_else(|| map.get(Value::Bool(true)));
    match on {
        Some(Value::String(s)) => s == "release",
        Some(Value::Sequence(events)) => events.iter().any(|e| e.as_str() == Some("release")),
        Some(Value::Mapping(events)) => events.contains_key(Value::String("release".into())),
        _ => false,
    }
}

fn publish_failure(e: PublishError) -> Failure {
    match e {
        PublishError::Github(g) => g.into(),
        // The policy refused to overwrite or add: a closed gate, not a crash.
        PublishError::Exists { .. }
        | PublishError::Immutable { .. }
        | PublishError::AssetDiffers { .. } => Failure::new(Exit::GateClosed, e),
        PublishError::Upload { .. } => Failure::new(Exit::Internal, e),
    }
}

fn dry_run_report(ctx: &Ctx, plan: &Plan, version: &str) -> Report {
    let repository = ctx.github.repository.as_deref().unwrap_or("OWNER/REPO");
    Report::of(&ReleaseResult::DryRun(ReleaseDryRun {
        dry_run: true,
        tag: plan.tag.clone(),
        calls: publish::describe(plan, repository),
        body: plan.body.clone(),
        version: version.to_string(),
        prerelease: plan.prerelease,
        is_latest: plan.make_latest == MakeLatest::True,
    }))
}

fn report(plan: &Plan, version: &str, is_latest: bool, outcome: &publish::Outcome) -> Report {
    let r = &outcome.release;
    let assets = (r.assets.iter())
        .map(|a| ReleasedAsset {
            name: a.name.clone(),
            url: a.browser_download_url.to_string(),
            size: a.size,
            digest: a.digest.clone(),
            this_run: (outcome.assets.iter())
                .find(|(n, _)| *n == a.name)
                .map(|(_, act)| format!("{act:?}").to_lowercase())
                .unwrap_or_else(|| "already there".into()),
        })
        .collect();
    Report::of(&ReleaseResult::Published(Published {
        tag: plan.tag.clone(),
        action: outcome.action,
        release_id: r.id.0,
        release_url: r.html_url.to_string(),
        draft: r.draft,
        prerelease: r.prerelease,
        is_latest,
        upload_url: r
            .upload_url
            .split('{')
            .next()
            .unwrap_or_default()
            .to_string(),
        assets,
        warnings: outcome.warnings.clone(),
        version: version.to_string(),
        planned_prerelease: plan.prerelease,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_notes_are_kept_whole() {
        assert_eq!(guard_body("## v1\n\n- x\n", "L"), "## v1\n\n- x\n");
    }

    #[test]
    fn long_notes_are_cut_on_a_line_with_a_link() {
        let line = "- ".to_string() + &"é".repeat(98) + "\n";
        let long = line.repeat(2_000);
        let body = guard_body(&long, "https://github.com/acme/shop/blob/v1/CHANGELOG.md");
        assert!(body.chars().count() <= MAX_BODY);
        assert!(body.ends_with("Full notes: https://github.com/acme/shop/blob/v1/CHANGELOG.md*\n"));
        let kept = body.split("\n\n---\n").next().unwrap();
        assert!(
            kept.lines().all(|l| l.chars().count() == 100),
            "cut mid-line"
        );
    }

    #[test]
    fn release_listeners_are_found_in_every_on_form() {
        let dir = tempfile::tempdir().unwrap();
        let wf = dir.path().join(".github/workflows");
        std::fs::create_dir_all(&wf).unwrap();
        std::fs::write(wf.join("a.yml"), "on: release\njobs: {}\n").unwrap();
        std::fs::write(wf.join("b.yaml"), "on: [push, release]\njobs: {}\n").unwrap();
        std::fs::write(
            wf.join("c.yml"),
            "on:\n  release:\n    types: [published]\njobs: {}\n",
        )
        .unwrap();
        std::fs::write(wf.join("d.yml"), "on: push\njobs: {}\n").unwrap();
        std::fs::write(wf.join("e.yml"), ": not yaml [").unwrap();
        assert_eq!(
            release_listeners(dir.path()),
            vec!["a.yml", "b.yaml", "c.yml"]
        );
    }
}
