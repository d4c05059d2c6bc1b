//! The calls a fly deploy would make, one line each, for `--dry-run` and `plan`. Pure: no
//! network, machine ids shown as `{id}`.

use super::{flyctl, FlyProvider};
use crate::config::{FlyConfig, FlyStrategy};
use crate::providers::DeployRequest;

impl FlyProvider {
    pub(super) fn plan_calls(&self, req: &DeployRequest) -> Vec<String> {
        let s = match self.settings(req.image.as_deref()) {
            Ok(s) => s,
            Err(e) => return vec![format!("(cannot plan the fly deploy: {e})")],
        };
        let strategy = self.config.strategy;
        let Some(image) = &s.image else {
            let args = flyctl::args(
                s.fly_toml.as_deref(),
                &s.app,
                None,
                strategy,
                self.config.wait_timeout,
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
            groups_note(&self.config)
        )];
        match strategy {
            FlyStrategy::Bluegreen => calls.extend([
                format!("POST {m}/{{id}}/lease {{\"ttl\":{}}}  (every blue machine)", self.tuning.lease_ttl),
                format!("POST {m}  (one green per blue: config.image={image}, skip_service_registration)"),
                format!("GET {m}/{{green}}/wait?state=started,failed&version={{v}}  then GET {m}/{{green}} until checks pass"),
                format!("POST {m}/{{green}}/uncordon"),
                format!("POST {m}/{{blue}}/cordon, POST {m}/{{blue}}/stop, GET {m}/{{blue}}/wait?state=stopped, DELETE {m}/{{blue}}?force=true"),
                format!("on failure: DELETE {m}/{{green}}?force=true"),
            ]),
            _ => {
                calls.push(match strategy {
                    FlyStrategy::Rolling => format!(
                        "rolling: per process group, one machine alone, then waves of max-unavailable {}",
                        self.config.max_unavailable
                    ),
                    FlyStrategy::Canary => format!(
                        "canary: one machine, verified, then waves of max-unavailable {}",
                        self.config.max_unavailable
                    ),
                    _ => "immediate: every machine at once, no waits".to_string(),
                });
                calls.extend([
                    format!("POST {m}/{{id}}/lease {{\"ttl\":{}}}", self.tuning.lease_ttl),
                    format!("GET {m}/{{id}}  (config and version, kept for rollback)"),
                    format!("POST {m}/{{id}}  {{config (image={image}), current_version}} + fly-machine-lease-nonce"),
                ]);
                if strategy != FlyStrategy::Immediate {
                    calls.push(format!(
                        "GET {m}/{{id}}/wait?state=started,failed&version={{new}}  (until {}), then GET {m}/{{id}} until checks pass",
                        humantime::format_duration(self.config.wait_timeout)
                    ));
                }
                calls.push(format!("DELETE {m}/{{id}}/lease"));
            }
        }
        calls
    }
}

fn groups_note(c: &FlyConfig) -> String {
    if c.process_groups.is_empty() {
        String::new()
    } else {
        format!("; process groups {}", c.process_groups.join(", "))
    }
}
