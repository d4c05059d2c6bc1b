//! Publishing one GitHub Release for one tag, idempotently: draft → assets → `SHA256SUMS` →
//! publish, so it works with immutable releases, and so a re-run or N matrix jobs racing
//! on the same tag end in one release carrying every asset.
//!
//! Rules that make the races safe:
//! - The release of a tag is found by listing (drafts are invisible to get-by-tag).
//! - A create that loses a race (422 `already_exists`) joins the winner. Where GitHub lets
//!   two drafts share a tag, every job converges on the oldest, and the job that created a
//!   younger one deletes it.
//! - An asset that is already there with the same size and SHA-256 counts as uploaded; a
//!   different one is replaced only under `on-existing: update`, else it is an error.
//! - `SHA256SUMS` is rebuilt from every asset on the release (GitHub's own digests) and
//!   checked again after writing, so concurrent writers converge on a complete file.
//!
//! Nothing here decides the body, version or assets: [`Plan`] arrives complete.

use super::assets::{checksums, AssetFile, CHECKSUMS};
use crate::config::OnExisting;
use crate::github::{Asset, GitHub, GithubError, MakeLatest, Release, ReleaseFields};
use serde::Serialize;
use std::collections::BTreeMap;

/// Attempts at writing a `SHA256SUMS` that covers every asset, when other jobs keep adding.
const CHECKSUM_ROUNDS: usize = 5;

/// Everything the release will be.
#[derive(Debug, Clone)]
pub struct Plan {
    pub tag: String,
    pub name: String,
    pub body: String,
    /// The commit the tag names (used when GitHub has to create the tag).
    pub target_commitish: Option<String>,
    pub prerelease: bool,
    pub make_latest: MakeLatest,
    pub assets: Vec<AssetFile>,
    pub on_existing: OnExisting,
    /// Leave it a draft (matrix jobs; a last run without this flag publishes).
    pub keep_draft: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// This run created the release.
    Created,
    /// A draft existed (an earlier run, or another job of the matrix): this run completed it.
    Joined,
    /// A published release was updated (`on-existing: update`).
    Updated,
    /// A release existed and the policy left it alone.
    Skipped,
}

/// What happened to one asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssetAction {
    Uploaded,
    /// Already on the release with the same size and SHA-256.
    Unchanged,
    Replaced,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub action: Action,
    /// The release as GitHub holds it at the end.
    pub release: Release,
    pub assets: Vec<(String, AssetAction)>,
    /// Things the user should know (printed as warnings).
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Github(#[from] GithubError),
    #[error("a release for tag `{tag}` already exists ({url}); on-existing is `fail`")]
    Exists { tag: String, url: String },
    #[error("release `{tag}` is published and immutable ({url}): GitHub refuses new assets; publish only after uploading (run the matrix jobs with --draft and publish in a last job)")]
    Immutable { tag: String, url: String },
    #[error("asset `{name}` already on the release differs from {path}: {remote} there, {local} here; use on-existing: update to replace it, or rename the file")]
    AssetDiffers {
        name: String,
        path: String,
        remote: String,
        local: String,
    },
    // The cause is in the message, not a `source`: a chain printer would print it twice.
    #[error("upload of `{name}` failed and left no usable asset: {cause}")]
    Upload {
        name: String,
        cause: Box<GithubError>,
    },
}

/// Publish `plan` through `gh`.
pub async fn publish(gh: &GitHub, plan: &Plan) -> Result<Outcome, PublishError> {
    let mut warnings = Vec::new();
    let (mut release, action) = find_or_create(gh, plan, &mut warnings).await?;
    if action == Action::Skipped {
        return Ok(Outcome {
            action,
            release,
            assets: Vec::new(),
            warnings,
        });
    }
    if action != Action::Created {
        release = update_fields(gh, plan, release).await?;
    }
    let frozen = release.immutable == Some(true) && !release.draft;
    if frozen && !plan.assets.is_empty() {
        return Err(PublishError::Immutable {
            tag: plan.tag.clone(),
            url: release.html_url.to_string(),
        });
    }
    let mut done = Vec::new();
    for file in &plan.assets {
        let outcome = upload(gh, plan, &release, file).await?;
        done.push((file.name.clone(), outcome));
    }
    if !frozen {
        release = gh.get_release(release.id.0).await?;
        if asset_count(&release) > 0 {
            write_checksums(gh, plan, &mut release, &mut warnings).await?;
        }
    }
    if release.draft && !plan.keep_draft {
        let fields = ReleaseFields {
            draft: Some(false),
            make_latest: Some(plan.make_latest),
            ..Default::default()
        };
        release = gh.update_release(release.id.0, &fields).await?;
    }
    Ok(Outcome {
        action,
        release,
        assets: done,
        warnings,
    })
}

fn asset_count(release: &Release) -> usize {
    release
        .assets
        .iter()
        .filter(|a| a.name != CHECKSUMS)
        .count()
}

/// The release of the tag (drafts included), created as a draft when there is none, or the
/// policy's answer when there is one.
async fn find_or_create(
    gh: &GitHub,
    plan: &Plan,
    warnings: &mut Vec<String>,
) -> Result<(Release, Action), PublishError> {
    if let Some(existing) = gh.release_by_tag(&plan.tag).await? {
        return existing_policy(plan, existing, warnings);
    }
    let fields = ReleaseFields {
        tag_name: Some(plan.tag.clone()),
        target_commitish: plan.target_commitish.clone(),
        name: Some(plan.name.clone()),
        body: Some(plan.body.clone()),
        draft: Some(true),
        prerelease: Some(plan.prerelease),
        make_latest: None,
    };
    match gh.create_release(&fields).await {
        Ok(mine) => {
            // GitHub may let a second draft share the tag: everyone keeps the oldest.
            let all = gh.releases_for_tag(&plan.tag).await?;
            match crate::github::pick_release(all) {
                Some(winner) if winner.id != mine.id => {
                    gh.delete_release(mine.id.0).await?;
                    warnings.push(format!(
                        "another job created the release of `{}` at the same time; joined it (id {})",
                        plan.tag, winner.id
                    ));
                    existing_policy(plan, winner, warnings)
                }
                _ => Ok((mine, Action::Created)),
            }
        }
        Err(e) if e.is_already_exists() => match gh.release_by_tag(&plan.tag).await? {
            Some(existing) => existing_policy(plan, existing, warnings),
            // It says "exists" but nothing lists it: report GitHub's own answer.
            None => Err(e.into()),
        },
        // A 5xx or a dropped connection leaves it unknown whether GitHub made the draft
        // (creates are never repeated blindly): look, and complete it if it is there.
        Err(e) if ambiguous(&e) => match gh.release_by_tag(&plan.tag).await? {
            Some(existing) if existing.draft => {
                warnings.push(format!(
                    "creating the release of `{}` failed ({e}), but the draft exists; completing it",
                    plan.tag
                ));
                Ok((existing, Action::Joined))
            }
            Some(existing) => existing_policy(plan, existing, warnings),
            None => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    }
}

/// A failure after which the request may or may not have taken effect.
fn ambiguous(e: &GithubError) -> bool {
    match e {
        GithubError::Transport { .. } => true,
        other => other.status().is_some_and(|s| s >= 500),
    }
}

/// `on-existing` applied to a release found for the tag.
fn existing_policy(
    plan: &Plan,
    existing: Release,
    warnings: &mut Vec<String>,
) -> Result<(Release, Action), PublishError> {
    match (plan.on_existing, existing.draft) {
        (OnExisting::Fail, _) => Err(PublishError::Exists {
            tag: plan.tag.clone(),
            url: existing.html_url.to_string(),
        }),
        (OnExisting::Skip, _) => Ok((existing, Action::Skipped)),
        (OnExisting::UpdateDraft, false) => {
            warnings.push(format!(
                "release `{}` is already published; on-existing `update-draft` leaves it as it is",
                plan.tag
            ));
            Ok((existing, Action::Skipped))
        }
        (_, true) => Ok((existing, Action::Joined)),
        (OnExisting::Update, false) => Ok((existing, Action::Updated)),
    }
}

/// Bring name, notes and prerelease flag up to date; no request when nothing changed (the
/// usual case for N jobs joining one draft).
async fn update_fields(
    gh: &GitHub,
    plan: &Plan,
    release: Release,
) -> Result<Release, PublishError> {
    let fields = ReleaseFields {
        name: (release.name.as_deref() != Some(plan.name.as_str())).then(|| plan.name.clone()),
        body: (release.body.as_deref() != Some(plan.body.as_str())).then(|| plan.body.clone()),
        prerelease: (release.prerelease != plan.prerelease).then_some(plan.prerelease),
        ..Default::default()
    };
    if fields == ReleaseFields::default() {
        return Ok(release);
    }
    Ok(gh.update_release(release.id.0, &fields).await?)
}

/// `sha256:<hex>` for messages.
fn digest_of(asset: &Asset) -> String {
    format!(
        "{} bytes, {}",
        asset.size,
        asset.digest.as_deref().unwrap_or("no digest")
    )
}

fn same_content(asset: &Asset, file: &AssetFile) -> bool {
    asset.size as u64 == file.size()
        && asset
            .digest
            .as_deref()
            .is_none_or(|d| d.eq_ignore_ascii_case(&format!("sha256:{}", file.sha256)))
}

/// Upload one file, or recognise it is already there.
async fn upload(
    gh: &GitHub,
    plan: &Plan,
    release: &Release,
    file: &AssetFile,
) -> Result<AssetAction, PublishError> {
    if let Some(there) = release.assets.iter().find(|a| a.name == file.name) {
        return settle_existing(gh, plan, release, there, file).await;
    }
    let mut attempt = 1;
    loop {
        let Err(e) = send(gh, release, file).await else {
            return Ok(AssetAction::Uploaded);
        };
        // Someone else uploaded it (a matrix twin), or our own upload half-happened
        // (GitHub may leave a `starter` asset after a 5xx): look before deciding.
        let fresh = gh.get_release(release.id.0).await?;
        let Some(there) = fresh.assets.iter().find(|a| a.name == file.name) else {
            // Surely absent: a 5xx or a reset is worth another try, a 4xx is not.
            if ambiguous(&e) && attempt < UPLOAD_ATTEMPTS {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(250 * attempt as u64)).await;
                continue;
            }
            return Err(upload_failed(file, e));
        };
        return replace_or_settle(gh, plan, &fresh, there, file).await;
    }
}

/// Upload `file` to `release` under its own name.
async fn send(gh: &GitHub, release: &Release, file: &AssetFile) -> Result<Asset, GithubError> {
    gh.upload_asset(
        release,
        &file.name,
        None,
        file.content_type,
        file.bytes.clone(),
    )
    .await
}

fn upload_failed(file: &AssetFile, cause: GithubError) -> PublishError {
    PublishError::Upload {
        name: file.name.clone(),
        cause: Box::new(cause),
    }
}

/// How often one asset upload is tried while the asset is confirmed absent.
const UPLOAD_ATTEMPTS: u32 = 3;

/// After a failed upload found an asset of that name: a `starter` left by our own attempt is
/// deleted and uploaded again; a complete one is settled as an existing asset.
async fn replace_or_settle(
    gh: &GitHub,
    plan: &Plan,
    fresh: &Release,
    there: &Asset,
    file: &AssetFile,
) -> Result<AssetAction, PublishError> {
    if there.state != "uploaded" {
        gh.delete_asset(there.id.0).await?;
        send(gh, fresh, file)
            .await
            .map_err(|e| upload_failed(file, e))?;
        return Ok(AssetAction::Uploaded);
    }
    settle_existing(gh, plan, fresh, there, file).await
}

/// An asset of that name exists: the same bytes count as done; different ones are replaced
/// only under `on-existing: update`.
async fn settle_existing(
    gh: &GitHub,
    plan: &Plan,
    release: &Release,
    there: &Asset,
    file: &AssetFile,
) -> Result<AssetAction, PublishError> {
    if same_content(there, file) {
        return Ok(AssetAction::Unchanged);
    }
    if plan.on_existing != OnExisting::Update {
        return Err(PublishError::AssetDiffers {
            name: file.name.clone(),
            path: file.path.display().to_string(),
            remote: digest_of(there),
            local: format!("{} bytes, sha256:{}", file.size(), file.sha256),
        });
    }
    gh.delete_asset(there.id.0).await?;
    send(gh, release, file)
        .await
        .map_err(|e| upload_failed(file, e))?;
    Ok(AssetAction::Replaced)
}

/// The checksums of every asset on the release but `SHA256SUMS`: GitHub's digest, else our
/// own hash of a file we uploaded; an asset with neither is left out with a warning.
fn checksum_entries(
    release: &Release,
    plan: &Plan,
    warnings: &mut Vec<String>,
) -> BTreeMap<String, String> {
    let mut entries = BTreeMap::new();
    for a in release.assets.iter().filter(|a| a.name != CHECKSUMS) {
        let sha = a
            .digest
            .as_deref()
            .and_then(|d| d.strip_prefix("sha256:"))
            .map(str::to_string)
            .or_else(|| {
                plan.assets
                    .iter()
                    .find(|f| f.name == a.name)
                    .map(|f| f.sha256.clone())
            });
        match sha {
            Some(sha) => {
                entries.insert(a.name.clone(), sha.to_ascii_lowercase());
            }
            None => warnings.push(format!(
                "asset `{}` has no digest on GitHub and was not uploaded by this run; it is not in {CHECKSUMS}",
                a.name
            )),
        }
    }
    entries
}

/// Make `SHA256SUMS` list exactly the release's assets, re-checking after each write.
async fn write_checksums(
    gh: &GitHub,
    plan: &Plan,
    release: &mut Release,
    warnings: &mut Vec<String>,
) -> Result<(), PublishError> {
    for _ in 0..CHECKSUM_ROUNDS {
        let mut notes = Vec::new();
        let text = checksums(&checksum_entries(release, plan, &mut notes));
        let file = AssetFile::new(CHECKSUMS, CHECKSUMS.into(), text.into_bytes());
        if let Some(there) = release.assets.iter().find(|a| a.name == CHECKSUMS) {
            if same_content(there, &file) {
                warnings.extend(notes);
                return Ok(());
            }
            gh.delete_asset(there.id.0).await?;
        }
        match gh
            .upload_asset(
                release,
                CHECKSUMS,
                None,
                file.content_type,
                file.bytes.clone(),
            )
            .await
        {
            Ok(_) => {}
            // Another job wrote it between our delete and upload: look again.
            Err(e) if e.is_already_exists() => {}
            Err(e) => {
                return Err(PublishError::Upload {
                    name: CHECKSUMS.into(),
                    cause: Box::new(e),
                })
            }
        }
        *release = gh.get_release(release.id.0).await?;
    }
    warnings.push(format!(
        "{CHECKSUMS} kept changing while other jobs uploaded; the last job to finish rewrites it"
    ));
    Ok(())
}

/// The calls `publish` would make, for `--dry-run` (it makes none).
pub fn describe(plan: &Plan, repository: &str) -> Vec<String> {
    let mut out = vec![format!(
        "GET /repos/{repository}/releases (every page; find `{}`, drafts included)",
        plan.tag
    )];
    out.push(format!(
        "if none: POST /repos/{repository}/releases {{tag_name: {:?}, name: {:?}, body: <{} chars>, draft: true, prerelease: {}}}",
        plan.tag,
        plan.name,
        plan.body.chars().count(),
        plan.prerelease
    ));
    out.push(format!(
        "if one exists: on-existing `{}`",
        match plan.on_existing {
            OnExisting::Fail => "fail",
            OnExisting::Skip => "skip",
            OnExisting::Update => "update",
            OnExisting::UpdateDraft => "update-draft",
        }
    ));
    for a in &plan.assets {
        out.push(format!(
            "POST <upload_url>?name={} ({} bytes, {}, sha256:{})",
            a.name,
            a.size(),
            a.content_type,
            a.sha256
        ));
    }
    out.push(format!(
        "POST <upload_url>?name={CHECKSUMS} (every asset on the release)"
    ));
    if plan.keep_draft {
        out.push("leave the release a draft (--draft)".into());
    } else {
        out.push(format!(
            "PATCH /repos/{repository}/releases/<id> {{draft: false, make_latest: {:?}}}",
            serde_json::to_value(plan.make_latest)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ));
    }
    out
}
