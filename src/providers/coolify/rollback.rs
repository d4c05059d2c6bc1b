//! Coolify rollback: pick what to go back to (named > recorded at deploy > Coolify's
//! rollback images > the history's last good commit), queue it, follow it.

use super::api::Api;
use super::{failed, tag_of_image, CoolifyProvider};
use crate::providers::{ProviderError, RollbackOutcome, RollbackRequest};
use std::time::Instant;

/// What Coolify's rollback takes for a name the user gave: a tag or a commit as is; the tag
/// of a whole image reference (Coolify's `commit` and `docker_registry_image_tag` are tags).
fn named_ref(to: &str) -> Result<String, ProviderError> {
    if !to.contains('/') && !to.contains('@') {
        return Ok(to.to_string());
    }
    tag_of_image(to).ok_or_else(|| {
        ProviderError::Config(format!(
            "cannot roll Coolify back to `{to}`: Coolify rolls back to an image tag or a \
             commit, and this reference has none (a digest or no tag); name the tag instead"
        ))
    })
}

impl CoolifyProvider {
    /// The calls [`CoolifyProvider::roll_back`] would make, in order.
    pub(super) fn plan_rollback(&self, req: &RollbackRequest) -> Vec<String> {
        let base = self.base_display();
        let mut calls = Vec::new();
        for uuid in self.uuids() {
            let recorded = req
                .point
                .as_ref()
                .and_then(|p| p["apps"][uuid.as_str()]["ref"].as_str());
            let to = match (req.to.as_deref().map(named_ref), recorded) {
                (Some(Ok(to)), _) => to,
                (Some(Err(e)), _) => return vec![format!("({e})")],
                (None, Some(r)) => r.to_string(),
                (None, None) => {
                    calls.push(format!(
                        "GET {base}/applications/{uuid}/rollback-images, then GET \
                         {base}/deployments/applications/{uuid}?skip=0&take=20 if it lists \
                         none  (the image or commit before the current one)"
                    ));
                    "{earlier}".to_string()
                }
            };
            if self.config.set_image_tag {
                calls.push(format!(
                    "PATCH {base}/applications/{uuid} {{\"docker_registry_image_tag\":\"{to}\"}}"
                ));
            }
            calls.push(format!(
                "POST {base}/applications/{uuid}/rollback {{\"commit\":\"{to}\"}}"
            ));
        }
        calls.push(self.planned_follow(&base, req.target.timeout));
        calls
    }

    /// What to roll one application back to: named > recorded > Coolify's images > history.
    async fn rollback_target(
        &self,
        api: &Api,
        uuid: &str,
        req: &RollbackRequest,
    ) -> Result<String, ProviderError> {
        if let Some(to) = &req.to {
            return named_ref(to);
        }
        let recorded = req
            .point
            .as_ref()
            .and_then(|p| p["apps"][uuid]["ref"].as_str())
            .map(str::to_string);
        if let Some(r) = recorded {
            return Ok(r);
        }
        let images = api
            .rollback_images(uuid)
            .await
            .map_err(|e| api.explain(e, "read"))?;
        if let Some(img) = images.images.iter().find(|i| !i.is_current()) {
            return Ok(img.tag.clone());
        }
        let history = api
            .history(uuid, 20)
            .await
            .map_err(|e| api.explain(e, "read"))?;
        let good: Vec<String> = history
            .deployments
            .iter()
            .filter(|d| d.status == "finished")
            .filter_map(|d| d.commit.clone())
            .filter(|c| c != "HEAD")
            .collect();
        let current = images.current.clone();
        good.into_iter()
            .find(|c| Some(c) != current.as_ref())
            .ok_or_else(|| {
                failed(format!(
                    "no earlier image or commit of {uuid} to roll back to (Coolify lists none); \
                     name one with `--to`"
                ))
            })
    }

    /// Roll every configured application back and wait for the rollback deployments.
    pub(super) async fn roll_back(
        &self,
        req: &RollbackRequest,
    ) -> Result<RollbackOutcome, ProviderError> {
        let api = self.api()?;
        let uuids = self.uuids();
        if uuids.is_empty() {
            return Err(ProviderError::Config(
                "coolify rollback needs `uuid` (a tag names no single application)".into(),
            ));
        }
        let deadline = Instant::now() + req.target.timeout;
        let mut restored = Vec::new();
        let mut followed = Vec::new();
        for uuid in &uuids {
            let to = self.rollback_target(&api, uuid, req).await?;
            if self.config.set_image_tag {
                api.set_image_tag(uuid, &to)
                    .await
                    .map_err(|e| api.explain(e, "write"))?;
            }
            self.console
                .info(format!("coolify: {uuid}: rolling back to {to}"));
            let entry = api
                .rollback(uuid, &to)
                .await
                .map_err(|e| api.explain(e, "deploy"))?;
            followed.push((uuid.clone(), self.follow(&api, uuid, &entry).await?));
            restored.push(format!("{uuid} → {to}"));
        }
        let rows = self.wait(&api, &followed, deadline).await?;
        if let Some(bad) = rows.iter().find(|r| r.status != "finished") {
            let excerpt = self.log_excerpt(bad);
            return Err(ProviderError::Failed {
                message: format!(
                    "Coolify rollback deployment {} ended {}",
                    bad.deployment_uuid, bad.status
                ),
                rolled_back: None,
                log_excerpt: Some(excerpt),
            });
        }
        Ok(RollbackOutcome {
            restored: format!("Coolify rolled back {}", restored.join(", ")),
            details: vec![(
                "coolify-deployments".into(),
                rows.iter()
                    .map(|r| r.deployment_uuid.clone())
                    .collect::<Vec<_>>()
                    .join(","),
            )],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::named_ref;

    #[test]
    fn a_named_image_rolls_back_to_its_tag() {
        assert_eq!(named_ref("ghcr.io/acme/api:v1.0.0").unwrap(), "v1.0.0");
        assert_eq!(named_ref("v1.0.0").unwrap(), "v1.0.0");
        assert_eq!(named_ref("0123abcd").unwrap(), "0123abcd");
        assert!(named_ref("ghcr.io/acme/api@sha256:abc").is_err());
        assert!(named_ref("ghcr.io/acme/api").is_err());
    }
}
