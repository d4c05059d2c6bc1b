//! What a fly deploy would do, offline: the calls in order for `--dry-run`, and for
//! `stage-gate plan --format json` the machine config each process group would get (the body
//! of the create call; an update merges it onto the machine's current config) and the
//! release-command machine's. Pure: no network, no token, machine ids shown as `{id}`.

use super::desired::with_image;
use super::{create, flyctl, FlyProvider, Settings};
use crate::config::FlyStrategy;
use crate::providers::{DeployRequest, ProviderError};
use serde_json::{json, Value};

impl FlyProvider {
    pub(super) fn plan_calls(&self, req: &DeployRequest) -> Vec<String> {
        let s = match self.settings(req.image.as_deref()) {
            Ok(s) => s,
            Err(e) => return vec![format!("(cannot plan the fly deploy: {e})")],
        };
        let strategy = s.strategy;
        let Some(image) = &s.image else {
            let args = flyctl::args(
                s.fly_toml.as_deref(),
                &s.app,
                None,
                strategy,
                s.wait_timeout,
            );
            return vec![format!(
                "flyctl {} (FLY_API_TOKEN from {}; FLY_EMIT_RELEASE_JSON=1)",
                args.join(" "),
                self.config.token_env
            )];
        };
        let m = format!(
            "{}/v1/apps/{}/machines",
            s.base.trim_end_matches('/'),
            s.app
        );
        let mut calls = vec![format!(
            "GET {m}  (skip destroyed{})",
            groups_note(&self.config.process_groups)
        )];
        let what = if s.toml.is_some() {
            format!(
                "config from {} for its process group, image={image}",
                s.fly_toml
                    .as_deref()
                    .unwrap_or_else(|| std::path::Path::new("fly.toml"))
                    .display()
            )
        } else {
            format!("its own config with image={image}")
        };
        calls.push(format!(
            "plan: machines already on that config are left alone; nothing changes on a re-run ({what})"
        ));
        if let Some(t) = s.toml.as_deref() {
            if let Some(cmd) = t.release_command() {
                let timeout = t
                    .release_command_timeout()
                    .map(|d| humantime::format_duration(d).to_string())
                    .unwrap_or_else(|e| format!("(invalid: {e})"));
                calls.extend([
                    format!("POST {m}  {{release_command machine: init.cmd={cmd:?}, image={image}, skip_launch, auto_destroy, restart=no}}  before any machine is touched"),
                    format!("GET {m}/{{release}}/wait?state=stopped, POST {m}/{{release}}/start, GET {m}/{{release}} until its exit event (release_command_timeout {timeout}); exit code ≠ 0 stops the deploy"),
                ]);
            }
        }
        match strategy {
            FlyStrategy::Bluegreen => calls.extend([
                format!("POST {m}/{{id}}/lease {{\"ttl\":{}}}  (every blue machine)", self.tuning.lease_ttl),
                format!("POST {m}  (one green per blue: {what}, skip_service_registration)"),
                format!("GET {m}/{{green}}/wait?state=started,failed&version={{v}}  then GET {m}/{{green}} until checks pass"),
                format!("POST {m}/{{green}}/uncordon"),
                format!("POST {m}/{{blue}}/cordon, POST {m}/{{blue}}/stop, GET {m}/{{blue}}/wait?state=stopped, DELETE {m}/{{blue}}?force=true"),
                format!("on failure: DELETE {m}/{{green}}?force=true"),
            ]),
            _ => {
                calls.push(match strategy {
                    FlyStrategy::Rolling => format!("rolling: per process group, one machine alone, then waves of max-unavailable {}", s.max_unavailable),
                    FlyStrategy::Canary => format!("canary: one machine, verified, then waves of max-unavailable {}", s.max_unavailable),
                    _ => "immediate: every machine at once, no waits".to_string(),
                });
                calls.extend([
                    format!("POST {m}/{{id}}/lease {{\"ttl\":{}}}", self.tuning.lease_ttl),
                    format!("GET {m}/{{id}}  (config and version, kept for rollback)"),
                    format!("POST {m}/{{id}}  {{config ({what}), current_version}} + fly-machine-lease-nonce"),
                ]);
                if strategy != FlyStrategy::Immediate {
                    calls.push(format!(
                        "GET {m}/{{id}}/wait?state=started,failed&version={{new}}  (until {}), then GET {m}/{{id}} until checks pass",
                        humantime::format_duration(s.wait_timeout)
                    ));
                }
                calls.push(format!("DELETE {m}/{{id}}/lease"));
            }
        }
        if let Some(t) = s.toml.as_deref() {
            let groups = t.process_names().join(", ");
            calls.push(format!(
                "POST {m}  (a first machine in {} for each process group of [{groups}] that has none; GET/POST …/volumes for a group that mounts one and has no free volume)",
                t.primary_region.as_deref().unwrap_or("Fly's choice of region")
            ));
            calls.push(format!(
                "DELETE {m}/{{id}}?force=true  (machines of process groups not in [{groups}], after the updates succeeded)"
            ));
        }
        calls
    }

    /// The machine configs of `stage-gate plan --format json`; a fly.toml flyctl would refuse
    /// is a config error (exit 2).
    pub(crate) fn offline_plan(&self, image: Option<&str>) -> Result<Value, ProviderError> {
        let s = self.settings(image)?;
        offline(&s).map_err(|e| {
            ProviderError::Config(format!(
                "{}: {e}",
                s.fly_toml
                    .as_deref()
                    .unwrap_or_else(|| std::path::Path::new("fly.toml"))
                    .display()
            ))
        })
    }
}

fn offline(s: &Settings) -> Result<Value, String> {
    let Some(t) = s.toml.as_deref() else {
        return Ok(json!({
            "app": s.app,
            "image": s.image,
            "note": "no fly.config: each machine keeps its own config and only the image changes",
        }));
    };
    let image = |c: Value| match &s.image {
        Some(i) => with_image(&c, i),
        None => c,
    };
    let mut groups = serde_json::Map::new();
    for g in t.process_names() {
        let config = image(t.machine_config(&g, None)?);
        let mut entry = json!({"create_machine": create::create_body(&config, t)});
        // flyctl needs `primary_region` only when it creates a machine (and its volume): the
        // plan shows the group and says so; only a deploy that must create one refuses.
        match create::volume_body(t, &g) {
            Ok(Some(v)) => entry["create_volume_when_none_is_free"] = v,
            Ok(None) => {}
            Err(e) => {
                entry["note"] = json!(format!("a first machine of this group would need: {e}"))
            }
        }
        groups.insert(g, entry);
    }
    let release = match t.release_machine_config()? {
        Some(c) => super::release_command::create_body(&image(c), t),
        None => Value::Null,
    };
    Ok(json!({
        "app": s.app,
        "image": s.image,
        "strategy": s.strategy.name(),
        "max_unavailable": s.max_unavailable,
        "wait_timeout": humantime::format_duration(s.wait_timeout).to_string(),
        "process_groups": groups,
        "release_command_machine": release,
    }))
}

fn groups_note(groups: &[String]) -> String {
    if groups.is_empty() {
        String::new()
    } else {
        format!("; process groups {}", groups.join(", "))
    }
}
