//! What a machine should become: the new image, and — when the environment has a fly.toml —
//! the machine config fly.toml gives its process group (flyctl's `ToMachineConfig`, merged
//! onto the machine's current config). Without a fly.toml only the image changes.

use super::api::Machine;
use crate::appconfig::AppConfig;
use crate::artifact::ImageName;
use crate::providers::ProviderError;
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// Clones share the pin: the first machine that reports a digest pins the whole deploy.
#[derive(Debug, Clone)]
pub(crate) struct Desired {
    /// The image as asked for (a tag, or already a digest), and split.
    pub requested: String,
    asked: ImageName,
    pub toml: Option<Arc<AppConfig>>,
    /// The digest the requested tag resolved to on the first machine, and which machine.
    pin: Arc<Mutex<Option<(String, String)>>>,
    /// Metadata every machine carries (a preview's marker).
    labels: Vec<(String, String)>,
}

/// `config` with `image` (and nothing else) changed.
pub(crate) fn with_image(config: &Value, image: &str) -> Value {
    let mut c = config.clone();
    if !c.is_object() {
        c = Value::Object(Default::default());
    }
    c["image"] = Value::String(image.to_string());
    c
}

impl Desired {
    pub(crate) fn new(image: &str, toml: Option<Arc<AppConfig>>) -> Desired {
        let asked = ImageName::parse(image);
        let pin = asked
            .digest
            .clone()
            .map(|d| (d, "the requested image reference".to_string()));
        Desired {
            requested: image.to_string(),
            asked,
            toml,
            pin: Arc::new(Mutex::new(pin)),
            labels: Vec::new(),
        }
    }

    /// The same, stamping `labels` into every machine's metadata.
    pub(crate) fn with_labels(mut self, labels: Vec<(String, String)>) -> Desired {
        self.labels = labels;
        self
    }

    /// `config` with the image to run and the labels in its metadata.
    fn finish(&self, config: &Value) -> Value {
        let mut c = with_image(config, &self.image());
        if !self.labels.is_empty() {
            if !c["metadata"].is_object() {
                c["metadata"] = Value::Object(Default::default());
            }
            for (k, v) in &self.labels {
                c["metadata"][k] = Value::String(v.clone());
            }
        }
        c
    }

    fn pinned_digest(&self) -> Option<(String, String)> {
        self.pin.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// What machines are given: the requested reference until a digest is known, then
    /// `repository@digest`, so a tag that moves mid-deploy cannot split the app.
    pub(crate) fn image(&self) -> String {
        match self.pinned_digest() {
            // The tag stays beside the digest for people; the digest decides what runs.
            Some((digest, _)) => format!("{}@{digest}", self.asked.tagged()),
            None => self.requested.clone(),
        }
    }

    /// The artifact the deploy ran, `repository@sha256:…`, once a digest is known.
    pub(crate) fn artifact(&self) -> Option<String> {
        let (digest, _) = self.pinned_digest()?;
        Some(self.asked.at(&digest))
    }

    /// Record what a machine came up on: the first digest pins the deploy; a machine on
    /// another digest fails it, naming both.
    pub(crate) fn observe(&self, m: &Machine) -> Result<(), ProviderError> {
        let Some(digest) = m.digest() else {
            return Ok(());
        };
        let machine = &m.id;
        let mut pin = self.pin.lock().unwrap_or_else(|p| p.into_inner());
        match pin.as_ref() {
            None => {
                *pin = Some((digest.to_string(), format!("machine {machine}")));
                Ok(())
            }
            Some((d, _)) if d == digest => Ok(()),
            Some((d, from)) => Err(super::rollout::failed(format!(
                "machine {machine} came up on {digest}, but this deploy runs {d} (pinned by {from}): the image `{}` changed during the deploy; stopping so the app does not run two images",
                self.requested
            ))),
        }
    }

    /// The full config an existing machine (whose config is `current`) is updated to.
    pub(crate) fn config_for(&self, current: &Value) -> Result<Value, ProviderError> {
        match &self.toml {
            None => Ok(self.finish(current)),
            Some(t) => {
                let group = super::api::group_of(current);
                let mut c = t
                    .machine_config(group, Some(current))
                    .map_err(|e| ProviderError::Config(format!("fly.toml: {e}")))?;
                keep_volume(&mut c, current, group)?;
                Ok(self.finish(&c))
            }
        }
    }

    /// The config of a new machine of `group` (a group with no machine yet).
    pub(crate) fn config_for_new(
        &self,
        group: &str,
        guest: Option<&Value>,
    ) -> Result<Value, ProviderError> {
        let Some(t) = &self.toml else {
            return Err(ProviderError::Config(format!(
                "process group `{group}` has no machine, and without `fly.config` (a fly.toml) \
                 there is nothing to create one from"
            )));
        };
        let mut c = t
            .machine_config(group, None)
            .map_err(|e| ProviderError::Config(format!("fly.toml: {e}")))?;
        if c.get("guest").is_none() {
            if let Some(g) = guest {
                c["guest"] = g.clone();
            }
        }
        Ok(self.finish(&c))
    }

    /// Whether `m` already runs what this deploy would give it (config and image), and is
    /// not failed: a re-run leaves it alone.
    pub(crate) fn is_current(&self, m: &Machine) -> Result<bool, ProviderError> {
        if m.state == "failed" {
            return Ok(false);
        }
        let want = self.config_for(&m.config)?;
        // A machine pinned by an earlier deploy of this tag (`repo:tag@sha256:…`) runs the
        // tag as much as one given the bare tag did.
        let mut have = m.config.clone();
        if self.asked.digest.is_none() {
            if let Some(image) = have["image"].as_str() {
                let name = ImageName::parse(image);
                if name.digest.is_some() && name.tag.is_some() {
                    have["image"] = Value::String(name.tagged());
                }
            }
        }
        Ok(crate::appconfig::same_config(&want, &have))
    }
}

/// An existing machine keeps its volume (flyctl's `launchInputForUpdate`): the mount of the
/// same name stays as it is — volume id included — with fly.toml's path and auto-extend
/// settings. A mount added, removed or renamed needs a new machine, which flyctl makes by
/// replacing it; stage-gate refuses before anything changes and says how.
fn keep_volume(c: &mut Value, current: &Value, group: &str) -> Result<(), ProviderError> {
    let old = current["mounts"]
        .as_array()
        .and_then(|m| m.first())
        .cloned();
    let new = c["mounts"].as_array().and_then(|m| m.first()).cloned();
    let replace = |why: String| {
        ProviderError::Config(format!(
            "process group `{group}`: {why}; a machine's volume cannot change in place — run `fly deploy` once (it replaces the machines) or move the data with `fly volumes fork`"
        ))
    };
    match (old, new) {
        (None, None) => Ok(()),
        (Some(o), None) => Err(replace(format!(
            "fly.toml no longer mounts volume `{}`",
            o["name"].as_str().unwrap_or("?")
        ))),
        (None, Some(n)) => Err(replace(format!(
            "fly.toml now mounts volume `{}` on machines that have none",
            n["name"].as_str().unwrap_or("?")
        ))),
        (Some(o), Some(n)) => {
            let same_name = o["name"].as_str().is_none_or(str::is_empty) || o["name"] == n["name"];
            if !same_name {
                return Err(replace(format!(
                    "fly.toml mounts `{}` where the machines have `{}`",
                    n["name"].as_str().unwrap_or("?"),
                    o["name"].as_str().unwrap_or("?")
                )));
            }
            let mut kept = o.clone();
            kept["path"] = n["path"].clone();
            for key in ["extend_threshold_percent", "add_size_gb", "size_gb_limit"] {
                match n.get(key) {
                    Some(v) => kept[key] = v.clone(),
                    None => {
                        if let Some(obj) = kept.as_object_mut() {
                            obj.remove(key);
                        }
                    }
                }
            }
            c["mounts"][0] = kept;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    #[test]
    fn without_fly_toml_only_the_image_changes() {
        let d = Desired::new("img:2", None);
        let c = d
            .config_for(&json!({"image": "img:1", "env": {"A": "1"}}))
            .unwrap();
        assert_eq!(c, json!({"image": "img:2", "env": {"A": "1"}}));
    }

    #[test]
    fn with_fly_toml_the_group_config_is_applied_and_stale_env_dropped() {
        let t = AppConfig::parse(
            "[env]\nA = '2'\n[http_service]\ninternal_port = 9000\n",
            Path::new("."),
        )
        .unwrap();
        let d = Desired::new("img:2", Some(Arc::new(t)));
        let current = json!({"image": "img:1", "env": {"A": "1", "OLD": "x"},
            "guest": {"cpus": 2}, "metadata": {"fly_process_group": "app"}});
        let c = d.config_for(&current).unwrap();
        assert_eq!(c["env"], json!({"A": "2", "FLY_PROCESS_GROUP": "app"}));
        assert_eq!(c["services"][0]["internal_port"], 9000);
        assert_eq!(c["guest"], json!({"cpus": 2}));
        assert_eq!(c["image"], "img:2");
    }

    #[test]
    fn an_existing_machine_keeps_its_volume_and_a_changed_mount_is_refused() {
        let t = AppConfig::parse(
            "[mounts]\nsource = 'data'\ndestination = '/new'\n",
            Path::new("."),
        )
        .unwrap();
        let d = Desired::new("img:2", Some(Arc::new(t)));
        let current = json!({"image": "img:1", "mounts": [{"name": "data", "path": "/data", "volume": "vol_1", "size_gb": 1}]});
        let c = d.config_for(&current).unwrap();
        assert_eq!(
            c["mounts"],
            json!([{"name": "data", "path": "/new", "volume": "vol_1", "size_gb": 1}])
        );
        let other = json!({"image": "img:1", "mounts": [{"name": "logs", "path": "/logs", "volume": "vol_2"}]});
        assert!(d
            .config_for(&other)
            .unwrap_err()
            .to_string()
            .contains("cannot change in place"));
        let none = json!({"image": "img:1"});
        assert!(d
            .config_for(&none)
            .unwrap_err()
            .to_string()
            .contains("now mounts"));
    }
}
