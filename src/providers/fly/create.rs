//! First machines of process groups that have none (a first deploy, or a group added to
//! fly.toml): one machine per group in `primary_region`, with its volume when the group
//! mounts one — an unattached volume of that name in the region, else a new one, as flyctl's
//! first deploy provisions it. Each new machine is verified like an updated one.
//!
//! flyctl starts two machines for a group with services (and a standby for one without); we
//! create one and say so, leaving the count to `fly scale count` — a deploy tool should not
//! double a bill on its own.

use super::api::Volume;
use super::rollout::{now_ms, Rollout, Updated};
use crate::appconfig::{units, AppConfig};
use crate::providers::ProviderError;
use serde_json::{json, Value};
use std::sync::Mutex;

/// Default size of a volume fly.toml does not size (flyctl's `DefaultVolumeInitialSizeGB`).
pub(crate) const DEFAULT_VOLUME_GB: u64 = 1;

/// The `CreateMachineRequest` for a group's first machine (volume not yet chosen).
pub(crate) fn create_body(config: &Value, toml: &AppConfig) -> Value {
    let mut body = json!({"config": config});
    if let Some(r) = &toml.primary_region {
        body["region"] = json!(r);
    }
    body
}

/// The `CreateVolumeRequest` for a group's mount.
pub(crate) fn volume_body(toml: &AppConfig, group: &str) -> Result<Option<Value>, ProviderError> {
    let Some(mount) = toml.mount_for(group) else {
        return Ok(None);
    };
    let region = toml.primary_region.as_deref().ok_or_else(|| {
        ProviderError::Config(format!(
            "process group `{group}` mounts volume `{}` but fly.toml has no `primary_region` to create it in",
            mount.source
        ))
    })?;
    let size = match &mount.initial_size {
        Some(s) => units::volume_gb(s)
            .map_err(|e| ProviderError::Config(format!("fly.toml mounts.initial_size: {e}")))?,
        None => DEFAULT_VOLUME_GB,
    };
    let mut body =
        json!({"name": mount.source, "region": region, "size_gb": size.max(1), "encrypted": true});
    if let Some(n) = mount.snapshot_retention {
        body["snapshot_retention"] = json!(n);
    }
    Ok(Some(body))
}

pub(crate) struct Created {
    pub machines: Vec<Updated>,
    pub volumes: Vec<String>,
}

/// Create and verify the first machine of each group; `made` records every machine created
/// (also when a later one fails), for the cleanup.
pub(crate) async fn first_machines(
    r: &Rollout<'_>,
    toml: &AppConfig,
    groups: &[String],
    guest: Option<&Value>,
    verify: bool,
    made: &Mutex<Vec<String>>,
) -> Result<Created, ProviderError> {
    let mut out = Created {
        machines: Vec::new(),
        volumes: Vec::new(),
    };
    let mut taken: Vec<String> = Vec::new();
    for group in groups {
        r.console.info(format!(
            "process group `{group}` has no machine: creating one"
        ));
        let mut config = r.desired.config_for_new(group, guest)?;
        if let Some(vbody) = volume_body(toml, group)? {
            let vol = volume_for(r, &vbody, &taken, &mut out.volumes).await?;
            taken.push(vol.id.clone());
            config["mounts"][0]["volume"] = json!(vol.id);
        }
        let body = create_body(&config, toml);
        let since = now_ms();
        let what = format!("the first machine of group `{group}`");
        let machine = r.api.create_once(&body, group, &what).await?;
        if let Ok(mut m) = made.lock() {
            m.push(machine.id.clone());
        }
        r.desired.observe(&machine)?;
        if verify {
            r.verify(&machine.id, machine.version(), since).await?;
        }
        out.machines.push(Updated {
            id: machine.id.clone(),
            region: machine.region.clone(),
            old_version: "new".into(),
            new_version: machine.version().to_string(),
        });
    }
    Ok(out)
}

/// An unattached volume with the mount's name in the region, or a new one.
async fn volume_for(
    r: &Rollout<'_>,
    body: &Value,
    taken: &[String],
    created: &mut Vec<String>,
) -> Result<Volume, ProviderError> {
    let name = body["name"].as_str().unwrap_or("");
    let region = body["region"].as_str().unwrap_or("");
    let free = r.api.list_volumes().await?.into_iter().find(|v| {
        v.name == name
            && v.region == region
            && v.attached_machine_id.as_deref().is_none_or(str::is_empty)
            && !matches!(
                v.state.as_str(),
                "destroyed" | "destroying" | "pending_destroy"
            )
            && !taken.contains(&v.id)
    });
    if let Some(v) = free {
        r.console.info(format!(
            "using unattached volume {} ({name}, {region})",
            v.id
        ));
        return Ok(v);
    }
    r.console.info(format!(
        "creating a {} GB volume named `{name}` in {region}",
        body["size_gb"]
    ));
    let v = r.api.create_volume(body).await?;
    created.push(v.id.clone());
    Ok(v)
}
