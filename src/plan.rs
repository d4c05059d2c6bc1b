//! The resolved plan for one environment: which apps deploy where, through which provider,
//! behind which gate. Pure and printable; secrets are never part of it (only the names of
//! the env vars that hold them).

use crate::config::{Config, EnvironmentPolicy, ProviderConfig, Target};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Plan {
    pub environment: String,
    /// The environment's policy as the config resolves it.
    #[schemars(with = "serde_json::Value")]
    pub policy: EnvironmentPolicy,
    pub targets: Vec<PlannedTarget>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PlannedTarget {
    pub app: String,
    pub environment: String,
    pub provider: String,
    /// The provider-specific settings (names of secret env vars, never values).
    #[schemars(with = "serde_json::Value")]
    pub settings: ProviderConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub health_probes: usize,
    pub rollback_on_failure: bool,
    /// What the deploy ships: the artifact a required environment ran, an image, or a build.
    pub artifact: String,
    /// Fly: what each process group's machines would get, computed offline from fly.toml
    /// (filled by `stage-gate plan`, which may read files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machines: Option<serde_json::Value>,
}

impl PlannedTarget {
    fn from_target(t: &Target, policy: &EnvironmentPolicy) -> Self {
        PlannedTarget {
            artifact: artifact_of(t, policy),
            app: t.app.clone(),
            environment: t.env.clone(),
            provider: t.provider.kind().to_string(),
            settings: t.provider.clone(),
            url: t.url.clone(),
            health_probes: t.health.probes.len(),
            rollback_on_failure: t.rollback_on_failure,
            machines: None,
        }
    }
}

/// In words, what a deploy of `t` ships (read when it runs: the records are GitHub's).
fn artifact_of(t: &Target, policy: &EnvironmentPolicy) -> String {
    if let Some(required) = &policy.requires {
        let otherwise = if policy.allow_rebuild {
            "; built anew when that record names none (allow-rebuild)"
        } else {
            "; refused when that record names none"
        };
        return format!(
            "the artifact `{required}` ran for the commit (its latest successful deployment, \
             read when deploying){otherwise}"
        );
    }
    (crate::providers::registry::of(&t.provider).ships)(&t.provider)
}

/// The most jobs GitHub runs from one `strategy.matrix`: a bigger matrix fails the workflow
/// only once it runs, so `plan` refuses to hand one out.
pub const MATRIX_LIMIT: usize = 256;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    #[error("no app is configured for environment `{env}`{}{}", suggest(env, .known), known_envs(.known))]
    NoTargets { env: String, known: Vec<String> },
    #[error("app `{app}` is not configured{} (apps: {})", suggest(app, .known), .known.join(", "))]
    UnknownApp { app: String, known: Vec<String> },
    #[error("no app of `{env}` matches `{pattern}` (apps: {})", .known.join(", "))]
    NoMatch {
        env: String,
        pattern: String,
        known: Vec<String>,
    },
    #[error(
        "the matrix of `{env}` has {entries} entries, more than the {MATRIX_LIMIT} jobs GitHub \
         runs from one matrix; split it into plan jobs of at most {MATRIX_LIMIT}: one per \
         environment (`--env`), or one per group of apps (`--app 'api-*'`, a glob)"
    )]
    MatrixTooLarge { env: String, entries: usize },
}

/// Whether `--app` is a glob (`api-*`) rather than an app's name.
pub fn is_app_pattern(app: &str) -> bool {
    app.contains(['*', '?', '['])
}

/// The plan of the apps of `env` whose names match the glob `pattern`.
pub fn build_matching(config: &Config, env: &str, pattern: &str) -> Result<Plan, PlanError> {
    let mut plan = build(config, env, None)?;
    let known: Vec<String> = plan.targets.iter().map(|t| t.app.clone()).collect();
    let no_match = || PlanError::NoMatch {
        env: env.to_string(),
        pattern: pattern.to_string(),
        known: known.clone(),
    };
    let glob = globset::Glob::new(pattern)
        .map_err(|_| no_match())?
        .compile_matcher();
    plan.targets.retain(|t| glob.is_match(&t.app));
    if plan.targets.is_empty() {
        return Err(no_match());
    }
    Ok(plan)
}

/// `: did you mean `production`?` for a near miss, else nothing.
fn suggest(given: &str, known: &[String]) -> String {
    let names: Vec<&str> = known.iter().map(String::as_str).collect();
    crate::config::suggest::did_you_mean(given, &names)
        .map(|s| format!(": did you mean `{s}`?"))
        .unwrap_or_default()
}

fn known_envs(known: &[String]) -> String {
    if known.is_empty() {
        " (the config declares no environments)".into()
    } else {
        format!(" (environments: {})", known.join(", "))
    }
}

pub fn build(config: &Config, env: &str, app: Option<&str>) -> Result<Plan, PlanError> {
    if let Some(a) = app {
        if !config.apps.contains_key(a) {
            return Err(PlanError::UnknownApp {
                app: a.to_string(),
                known: config.apps.keys().cloned().collect(),
            });
        }
    }
    let targets: Vec<PlannedTarget> = config
        .targets(env, app)
        .into_iter()
        .map(|t| PlannedTarget::from_target(t, &config.policy(env)))
        .collect();
    if targets.is_empty() {
        let mut known: Vec<String> = config
            .apps
            .values()
            .flat_map(|a| a.environments.keys().cloned())
            .collect();
        known.sort();
        known.dedup();
        return Err(PlanError::NoTargets {
            env: env.to_string(),
            known,
        });
    }
    Ok(Plan {
        environment: env.to_string(),
        policy: config.policy(env),
        targets,
    })
}

impl Plan {
    /// The matrix, refused when GitHub would not run it.
    pub fn matrix_within_limit(&self) -> Result<serde_json::Value, PlanError> {
        if self.targets.len() > MATRIX_LIMIT {
            return Err(PlanError::MatrixTooLarge {
                env: self.environment.clone(),
                entries: self.targets.len(),
            });
        }
        Ok(self.matrix())
    }

    /// `{"include":[{"app":…,"environment":…,"provider":…}]}` for `strategy.matrix`.
    pub fn matrix(&self) -> serde_json::Value {
        let include: Vec<serde_json::Value> = self
            .targets
            .iter()
            .map(|t| {
                serde_json::json!({
                    "app": t.app,
                    "environment": t.environment,
                    "provider": t.provider,
                })
            })
            .collect();
        serde_json::json!({ "include": include })
    }

    pub fn human(&self) -> String {
        let mut out = format!("plan for `{}`", self.environment);
        if let Some(req) = &self.policy.requires {
            out.push_str(&format!(
                " (requires `{req}`, soak {})",
                humantime::format_duration(self.policy.soak)
            ));
        }
        out.push('\n');
        for t in &self.targets {
            out.push_str(&format!("  {} → {}", t.app, t.provider));
            if let Some(url) = &t.url {
                out.push_str(&format!(" ({url})"));
            }
            out.push_str(&format!(
                ", {} health probe(s){}\n",
                t.health_probes,
                if t.rollback_on_failure {
                    ", rollback on failure"
                } else {
                    ""
                }
            ));
            out.push_str(&format!("    ships: {}\n", t.artifact));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const CFG: &str = "version: 1\napps:\n  api:\n    environments:\n      staging: {command: {run: 'echo api'}}\n  web:\n    environments:\n      staging: {fly: {app: web-stg, token-env: MY_FLY}}\n      production: {fly: {app: web}}\n";

    #[test]
    fn matrix_lists_every_app_of_the_environment() {
        let c = crate::config::parse(CFG, Path::new("c.yml")).unwrap();
        let p = build(&c, "staging", None).unwrap();
        assert_eq!(
            p.matrix(),
            serde_json::json!({"include": [
                {"app": "api", "environment": "staging", "provider": "command"},
                {"app": "web", "environment": "staging", "provider": "fly"},
            ]})
        );
    }

    #[test]
    fn unknown_environment_and_app_are_errors() {
        let c = crate::config::parse(CFG, Path::new("c.yml")).unwrap();
        assert!(matches!(
            build(&c, "qa", None),
            Err(PlanError::NoTargets { .. })
        ));
        assert!(matches!(
            build(&c, "staging", Some("x")),
            Err(PlanError::UnknownApp { .. })
        ));
    }

    #[test]
    fn plan_names_token_env_vars_not_values() {
        let c = crate::config::parse(CFG, Path::new("c.yml")).unwrap();
        let p = build(&c, "staging", Some("web")).unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"token_env\":\"MY_FLY\""));
    }
}
