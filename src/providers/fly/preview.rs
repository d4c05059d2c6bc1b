//! Previews on Fly: one app per pull request, named by the target's `{pr}` template.
//!
//! `up`: the app is looked up, or created in the configured organisation (a lost answer is
//! looked up, never asked again); it is marked ours at once (app secret
//! `STAGE_GATE_PREVIEW_OF=owner/repo#N`: apps carry no metadata), the secrets the config names
//! are set from the job's environment, public addresses are assigned when fly.toml has
//! services (as flyctl's first deploy does: a dedicated v6 and a shared v4), and the image is
//! deployed as any deploy is — first machines per process group, or an update of the
//! machines that are not current — every machine stamped with the marker in its metadata.
//!
//! `down` and `sweep` delete only an app carrying this repository's and pull request's
//! marker, whose machines carry no other: a hand-made app of the same name is refused.

use super::api::Api;
use super::apps::{Creation, Deletion, FlyApp, Lookup};
use super::{list_or_explain, FlyProvider, Settings};
use crate::config::pull_request::{self, PR};
use crate::config::{ProviderConfig, Target};
use crate::providers::preview::{Found, Marker, PreviewDown, PreviewRequest, PreviewUp, Previews};
use crate::providers::{DeployRequest, ProviderError};
use crate::secret::Secret;
use async_trait::async_trait;
use std::time::{Duration, Instant};

/// What sweeping one organisation may take.
const LIST_BUDGET: Duration = Duration::from_secs(120);

impl FlyProvider {
    fn org(&self) -> Result<&str, ProviderError> {
        self.config.org.as_deref().ok_or_else(|| {
            ProviderError::Config(
                "a preview needs `fly.org`: the organisation its app is created in".into(),
            )
        })
    }

    fn preview_api(
        &self,
        s: &Settings,
        app: &str,
        deadline: Instant,
    ) -> Result<Api, ProviderError> {
        let token = self.token()?;
        Ok(Api::new(self.deps.http.clone(), &s.base, app, &token)
            .with_cancel(&self.deps.cancel)
            .with_lease_owner(self.deps.run_url.clone())
            .until(deadline))
    }

    /// The values of the secrets the config names, from the job's environment.
    fn secret_values(&self) -> Result<Vec<(String, Secret)>, ProviderError> {
        let mut out = Vec::new();
        let mut missing = Vec::new();
        for name in &self.config.secrets {
            match self.deps.secret(None, name) {
                Some(v) => out.push((name.clone(), v)),
                None => missing.push(name.as_str()),
            }
        }
        if !missing.is_empty() {
            return Err(ProviderError::MissingCredential(format!(
                "`fly.secrets` names {} but the job's environment does not set {} (or sets it \
                 empty, as GitHub does for a secret that does not exist); pass {} to the step \
                 under `env:` from `secrets.*`",
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "them" },
                if missing.len() == 1 { "it" } else { "them" }
            )));
        }
        Ok(out)
    }

    /// Set the configured secrets whose values differ from the app's (all of them when the
    /// values cannot be read back). Answers the new secrets version and the names set, when
    /// any were, and a stamp of Fly's digests of the configured secrets.
    async fn sync_secrets(
        &self,
        api: &Api,
        secrets: &[(String, Secret)],
    ) -> Result<(Option<(u64, Vec<String>)>, Option<String>), ProviderError> {
        if secrets.is_empty() {
            return Ok((None, None));
        }
        let current = api.list_secrets(true).await.unwrap_or_default();
        let differs = |(name, value): &&(String, Secret)| {
            !current
                .iter()
                .any(|c| &c.name == name && c.value.as_deref() == Some(value.expose()))
        };
        let changed: Vec<(String, Secret)> = secrets.iter().filter(differs).cloned().collect();
        let set = if changed.is_empty() {
            None
        } else {
            let version = api.set_secrets(&changed).await?;
            Some((version, changed.iter().map(|(n, _)| n.clone()).collect()))
        };
        let digests = api.list_secrets(false).await?;
        let mut parts: Vec<String> = secrets
            .iter()
            .map(|(name, _)| {
                let d = digests
                    .iter()
                    .find(|d| &d.name == name)
                    .map_or("", |d| d.digest.as_str());
                format!("{name}={d}")
            })
            .collect();
        parts.sort();
        use sha2::{Digest, Sha256};
        let hash = Sha256::digest(parts.join("\n"));
        let stamp: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
        Ok((set, Some(stamp)))
    }

    /// The app is this pull request's preview: in the organisation, with our marker.
    async fn ours(&self, api: &Api, app: &FlyApp, marker: &Marker) -> Result<(), ProviderError> {
        let org = self.org()?;
        if !app.org().is_empty() && app.org() != org {
            return Err(ProviderError::Refused(format!(
                "Fly app `{}` belongs to organisation `{}`, not `{org}`: it is not this preview; \
                 nothing was changed",
                app.name,
                app.org()
            )));
        }
        match api.secret_value(Marker::SECRET).await? {
            Some(v) if v == marker.value() => Ok(()),
            Some(other) => Err(ProviderError::Refused(format!(
                "Fly app `{}` is the preview of {other}, not of {}; nothing was changed",
                app.name,
                marker.value()
            ))),
            None => Err(ProviderError::Refused(format!(
                "Fly app `{}` exists but carries no stage-gate marker (app secret {}): it was \
                 not created by `stage-gate preview`, so it is neither deployed into nor \
                 deleted. Give previews another name (`fly.app`), or remove that app yourself \
                 (`fly apps destroy {}`) if it is a leftover",
                app.name,
                Marker::SECRET,
                app.name
            ))),
        }
    }

    /// Find or create the app; answers whether it still needs our marker (this run, or a
    /// run whose answer was lost, created it).
    ///
    /// The create carries an idempotency key made from the repository, pull request and
    /// name: asking again with it answers with the app that key made, so an app found
    /// without our marker is ours exactly when the key claims it (a create cut off before the
    /// marker was set); any other unmarked app is refused.
    async fn ensure_app(&self, api: &Api, marker: &Marker) -> Result<bool, ProviderError> {
        let org = self.org()?;
        let key = idempotency_key(marker, &api.app);
        let found = match api.lookup_app().await? {
            Lookup::Elsewhere => return Err(taken_elsewhere(&api.app)),
            Lookup::Found(app) => Some(app),
            Lookup::Missing => None,
        };
        if let Some(app) = &found {
            match self.ours(api, app, marker).await {
                Ok(()) => return Ok(false),
                // Unmarked: ours only if our key made it.
                Err(refused) if self.unmarked(api, app).await? => {
                    return match api.create_app(org, &key).await? {
                        Creation::Created => Ok(true),
                        _ => Err(refused),
                    };
                }
                Err(refused) => return Err(refused),
            }
        }
        // Asked at most twice: the second time only after a lost answer, with the same key.
        for attempt in 0..2 {
            match api.create_app(org, &key).await? {
                Creation::Created => return Ok(true),
                Creation::Ambiguous(e) if attempt == 0 => {
                    self.deps.console.warn(format!(
                        "creating Fly app `{}` lost its answer ({e}); asking again with the same idempotency key",
                        api.app
                    ));
                }
                Creation::Ambiguous(e) => {
                    return Err(ProviderError::Failed {
                        message: format!(
                            "creating Fly app `{}` failed twice ({e}); whether it exists is unknown — run again (the same key makes that safe)",
                            api.app
                        ),
                        rolled_back: None,
                        log_excerpt: None,
                    })
                }
                Creation::NameTaken => break,
            }
        }
        // Taken meanwhile, and not by our key: ours only when it carries our marker.
        match api.lookup_app().await? {
            Lookup::Found(app) => self.ours(api, &app, marker).await.map(|()| false),
            Lookup::Elsewhere => Err(taken_elsewhere(&api.app)),
            Lookup::Missing => Err(ProviderError::Other(format!(
                "Fly said the name `{}` is taken, but no app of that name can be found",
                api.app
            ))),
        }
    }

    /// Whether the app carries no marker at all (as opposed to another preview's).
    async fn unmarked(&self, api: &Api, app: &FlyApp) -> Result<bool, ProviderError> {
        let org = self.org()?;
        Ok((app.org().is_empty() || app.org() == org)
            && api.secret_value(Marker::SECRET).await?.is_none())
    }

    /// A dedicated v6 and a shared v4 when fly.toml has services and the app has no address.
    async fn addresses(&self, api: &Api, s: &Settings) -> Result<Option<String>, ProviderError> {
        let services = s
            .toml
            .as_deref()
            .is_some_and(|t| t.http_service.is_some() || !t.services.is_empty());
        if !services {
            return Ok(None);
        }
        // Each kind on its own: a run cut off after the v6 still gets its v4 on the next.
        let have = api.ip_assignments().await?;
        let public_v6 = have
            .iter()
            .any(|a| a.ip.contains(':') && !a.ip.starts_with("fdaa"));
        let v4 = have.iter().any(|a| a.ip.contains('.'));
        let org = self.org()?;
        let mut assigned = Vec::new();
        if !public_v6 {
            assigned.push(format!("{} (v6)", api.assign_ip("v6", org).await?.ip));
        }
        if !v4 {
            assigned.push(format!(
                "{} (shared v4)",
                api.assign_ip("shared_v4", org).await?.ip
            ));
        }
        Ok((!assigned.is_empty()).then(|| format!("assigned addresses: {}", assigned.join(", "))))
    }
}

/// Whether the app is gone within a short while (a delete Fly accepted runs in the background).
async fn gone_soon(api: &Api) -> Result<bool, ProviderError> {
    for _ in 0..10 {
        if matches!(api.lookup_app().await?, Lookup::Missing) {
            return Ok(true);
        }
        if api
            .time_left()
            .is_some_and(|t| t < std::time::Duration::from_secs(3))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
    Ok(false)
}

/// The idempotency key of a preview app's create: the same for every run of the preview.
fn idempotency_key(marker: &Marker, app: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("stage-gate preview {} {app}", marker.value()));
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("stage-gate-{hex}")
}

fn taken_elsewhere(app: &str) -> ProviderError {
    ProviderError::Refused(format!(
        "the Fly API will not show app `{app}` (403): the name is taken by an app of another \
         organisation (names are global: give previews another `fly.app`), or the token cannot \
         read apps of the organisation (previews need an organisation token: `fly tokens \
         create org`)"
    ))
}

#[async_trait]
impl Previews for FlyProvider {
    fn planned_up(&self, req: &PreviewRequest) -> Vec<String> {
        let s = match self.settings(req.image.as_deref()) {
            Ok(s) => s,
            Err(e) => return vec![format!("(cannot plan the preview: {e})")],
        };
        let apps = format!("{}/v1/apps", s.base.trim_end_matches('/'));
        let org = self.config.org.as_deref().unwrap_or("?");
        let mut calls = vec![
            format!("GET {apps}/{}  (the preview's app; created when missing)", s.app),
            format!(
                "POST {apps}  {{\"name\": \"{}\", \"org_slug\": \"{org}\", \"idempotency_key\": \"{}\"}}  (only when missing)",
                s.app,
                idempotency_key(&req.marker, &s.app)
            ),
            format!(
                "POST {apps}/{}/secrets  {} = {}{}",
                s.app,
                Marker::SECRET,
                req.marker.value(),
                if self.config.secrets.is_empty() {
                    String::new()
                } else {
                    format!(", then {} (values from the job, masked)", self.config.secrets.join(", "))
                }
            ),
        ];
        if s.toml
            .as_deref()
            .is_some_and(|t| t.http_service.is_some() || !t.services.is_empty())
        {
            calls.push(format!(
                "POST {apps}/{}/ip_assignments  v6, shared_v4  (only when the app has none)",
                s.app
            ));
        }
        let deploy = DeployRequest {
            target: req.target.clone(),
            sha: req.sha.clone(),
            version: None,
            image: req.image.clone(),
            deadline: req.deadline,
            labels: req.marker.labels(&req.sha),
            min_secrets_version: None,
        };
        calls.extend(self.plan_calls(&deploy));
        calls
    }

    fn preflight_up(&self, req: &PreviewRequest) -> Result<(), ProviderError> {
        self.token()?;
        self.org()?;
        self.secret_values()?;
        let s = self.settings(req.image.as_deref())?;
        if s.image.is_none() {
            return Err(ProviderError::Config(format!(
                "a preview of `{}` deploys an image: pass --image (the `image` input), or set \
                 `fly.image` or fly.toml's [build] image (stage-gate does not build previews)",
                req.target.app
            )));
        }
        if s.toml.is_none() {
            return Err(ProviderError::Config(format!(
                "a preview of `{}` needs `fly.config` (its fly.toml): a new app's machines are \
                 made from it",
                req.target.app
            )));
        }
        Ok(())
    }

    async fn up(&self, req: &PreviewRequest) -> Result<PreviewUp, ProviderError> {
        self.preflight_up(req)?;
        let s = self.settings(req.image.as_deref())?;
        let image = s.image.clone().unwrap_or_default();
        let api = self.preview_api(&s, &s.app, req.deadline)?;
        let mut notes = Vec::new();
        let created = self.ensure_app(&api, &req.marker).await?;
        let mut version = None;
        if created {
            notes.push(format!("created Fly app `{}` in `{}`", s.app, self.org()?));
            // Marked before anything else, so no later failure leaves an unmarked app.
            let marker = [(Marker::SECRET.to_string(), Secret::new(req.marker.value()))];
            version = Some(api.set_secrets(&marker).await?);
        }
        let secrets = self.secret_values()?;
        let (changed, stamp) = self.sync_secrets(&api, &secrets).await?;
        if let Some((v, names)) = changed {
            version = Some(v);
            notes.push(format!("set secrets {}", names.join(", ")));
        }
        let mut labels = req.marker.labels(&req.sha);
        if let Some(stamp) = stamp {
            // Fly's digests of the secrets: a rotated secret changes it, so the machines are
            // updated onto the new values; an unchanged one leaves them alone.
            labels.push(("stage_gate_secrets".into(), stamp));
        }
        if let Some(note) = self.addresses(&api, &s).await? {
            notes.push(note);
        }
        let deploy = DeployRequest {
            target: req.target.clone(),
            sha: req.sha.clone(),
            version: None,
            image: Some(image.clone()),
            deadline: req.deadline,
            labels,
            min_secrets_version: version,
        };
        let outcome = self.deploy_machines(&s, &image, &deploy).await?;
        let url = req.target.url.clone().or_else(|| {
            let public = s
                .toml
                .as_deref()
                .is_some_and(|t| t.http_service.is_some() || !t.services.is_empty());
            public.then(|| format!("https://{}.fly.dev", s.app))
        });
        Ok(PreviewUp {
            created,
            url,
            outcome,
            notes,
        })
    }

    async fn down(&self, req: &PreviewRequest) -> Result<PreviewDown, ProviderError> {
        let s = self.settings(None)?;
        let api = self.preview_api(&s, &s.app, req.deadline)?;
        let app = match api.lookup_app().await? {
            Lookup::Missing => {
                return Ok(PreviewDown::NothingToRemove(format!(
                    "Fly app `{}` does not exist",
                    s.app
                )))
            }
            Lookup::Elsewhere => return Err(taken_elsewhere(&s.app)),
            Lookup::Found(app) => app,
        };
        self.ours(&api, &app, &req.marker).await?;
        let machines = list_or_explain(&api).await?;
        let pr = req.marker.pr.to_string();
        if let Some(m) = machines.iter().find(|m| {
            let meta = &m.config["metadata"];
            meta[Marker::PR_KEY].as_str().is_some_and(|p| p != pr)
                || meta[Marker::REPOSITORY_KEY]
                    .as_str()
                    .is_some_and(|r| r != req.marker.repository)
        }) {
            return Err(ProviderError::Refused(format!(
                "Fly app `{}` is marked as {}, but its machine {} carries another preview's \
                 marker; nothing was deleted",
                s.app,
                req.marker.value(),
                m.id
            )));
        }
        let what = format!(
            "deleted Fly app `{}` ({} machine(s))",
            s.app,
            machines.len()
        );
        match api.delete_app().await? {
            Deletion::Deleted => Ok(PreviewDown::Removed(what)),
            Deletion::Missing => Ok(PreviewDown::NothingToRemove(format!(
                "Fly app `{}` was already gone",
                s.app
            ))),
            // Fly deletes in the background (202): look a few times before concluding.
            Deletion::Ambiguous(e) => match gone_soon(&api).await? {
                true => Ok(PreviewDown::Removed(what)),
                false => Err(ProviderError::Failed {
                    message: format!(
                        "deleting Fly app `{}` lost its answer ({e}) and the app still exists; \
                         run `preview down` again",
                        s.app
                    ),
                    rolled_back: None,
                    log_excerpt: None,
                }),
            },
        }
    }

    async fn list(&self, target: &Target) -> Result<Option<Vec<Found>>, ProviderError> {
        let ProviderConfig::Fly(f) = &target.provider else {
            return Ok(None);
        };
        let Some(template) = f.app.as_deref().filter(|a| a.contains(PR)) else {
            return Ok(None);
        };
        let org = self.org()?;
        let s = self.settings(None)?;
        let deadline = Instant::now() + LIST_BUDGET;
        let api = self.preview_api(&s, "", deadline)?;
        let mut found = Vec::new();
        for listed in api.list_apps(org).await? {
            let Some(pr) = pr_of(template, &listed.name) else {
                continue;
            };
            let app_api = self.preview_api(&s, &listed.name, deadline)?;
            let marker = app_api
                .secret_value(Marker::SECRET)
                .await?
                .and_then(|v| Marker::parse(&v));
            let changed_at = app_api
                .list_machines()
                .await?
                .iter()
                .filter_map(|m| chrono::DateTime::parse_from_rfc3339(&m.updated_at).ok())
                .map(|t| t.with_timezone(&chrono::Utc))
                .max();
            found.push(Found {
                name: listed.name,
                pr,
                marker,
                changed_at,
            });
        }
        Ok(Some(found))
    }
}

/// The pull request number `name` has where `template` has `{pr}`, when it matches.
pub(crate) fn pr_of(template: &str, name: &str) -> Option<u64> {
    let (before, after) = template.split_once(PR)?;
    let middle = name.strip_prefix(before)?.strip_suffix(after)?;
    if middle.is_empty() || !middle.bytes().all(|b| b.is_ascii_digit()) || middle.starts_with('0') {
        return None;
    }
    let pr = middle.parse().ok()?;
    (pull_request::expand(template, pr) == name).then_some(pr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_matches_the_template_only_with_a_number_where_pr_is() {
        assert_eq!(pr_of("web-pr-{pr}", "web-pr-42"), Some(42));
        assert_eq!(pr_of("web-pr-{pr}", "web-pr-42x"), None);
        assert_eq!(pr_of("web-pr-{pr}", "web-pr-"), None);
        assert_eq!(pr_of("web-pr-{pr}", "web-pr-007"), None);
        assert_eq!(pr_of("pr-{pr}-web", "pr-7-web"), Some(7));
        assert_eq!(pr_of("web-pr-{pr}", "web-staging"), None);
    }
}
