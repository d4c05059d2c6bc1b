//! Every provider, by the key that names it in the config: how to build it for a target,
//! the environment variables that hold its secrets (a run masks them before it prints
//! anything), and what a deploy of it ships, in words (`plan`). A new provider adds one
//! entry to [`PROVIDERS`],
//! which also reads and resolves its key of an app's environment and names its kind.

use super::{Deps, Provider, ProviderError};
use crate::config::raw::RawTarget;
use crate::config::validate::Validator;
use crate::config::ProviderConfig;

/// Builds the provider of a target from its settings and what it may use of the run.
pub(crate) type Build = fn(&ProviderConfig, &Deps) -> Result<Box<dyn Provider>, ProviderError>;

/// What the rest of stage-gate knows of a provider without building one.
pub(crate) struct Registered {
    /// The key under an app's environment (`fly:`, `coolify:`, …).
    pub key: &'static str,
    /// Secret variables it reads when the config names none (masked from the first line).
    pub default_secret_envs: &'static [&'static str],
    /// The secret variables a configured target of this provider reads.
    pub secret_envs: fn(&ProviderConfig) -> Vec<String>,
    /// The provider for a target configured with it.
    pub build: Build,
    /// What a deploy ships, in words, when no environment proves it first (`plan`).
    pub ships: fn(&ProviderConfig) -> String,
    /// Whether an app's environment, as written, names this provider (has its key).
    pub configured: fn(&RawTarget) -> bool,
    /// The resolved settings of an environment that names it; errors go to the validator,
    /// at the path given (its key's). None when its key is not there.
    pub(crate) resolve: fn(&mut Validator, &[&str], &RawTarget) -> Option<ProviderConfig>,
    /// Whether resolved settings are this provider's.
    pub owns: fn(&ProviderConfig) -> bool,
}

/// The entry of the provider a target is configured with.
pub(crate) fn of(provider: &ProviderConfig) -> &'static Registered {
    PROVIDERS
        .iter()
        .find(|p| (p.owns)(provider))
        .expect("every ProviderConfig variant is registered (registry::tests)")
}

pub(crate) const PROVIDERS: &[Registered] = &[
    super::fly::REGISTERED,
    super::coolify::REGISTERED,
    super::webhook::REGISTERED,
    super::command::REGISTERED,
];

/// The providers an app's environment names, as written (exactly one is valid).
pub(crate) fn configured(target: &RawTarget) -> Vec<&'static Registered> {
    PROVIDERS
        .iter()
        .filter(|p| (p.configured)(target))
        .collect()
}

/// Every provider's default secret variables.
pub(crate) fn default_secret_envs() -> impl Iterator<Item = &'static str> {
    PROVIDERS
        .iter()
        .flat_map(|p| p.default_secret_envs.iter().copied())
}

/// The secret variables the target configured as `provider` reads.
pub(crate) fn secret_envs(provider: &ProviderConfig) -> Vec<String> {
    (of(provider).secret_envs)(provider)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CommandConfig, WebhookConfig};
    use std::collections::BTreeMap;

    #[test]
    fn every_provider_is_registered_once_and_declares_its_secrets() {
        let keys: Vec<&str> = PROVIDERS.iter().map(|p| p.key).collect();
        assert_eq!(keys, ["fly", "coolify", "webhook", "command"]);
        let defaults: Vec<&str> = default_secret_envs().collect();
        assert_eq!(defaults, ["FLY_API_TOKEN", "COOLIFY_TOKEN"]);
        let hook = ProviderConfig::Webhook(WebhookConfig {
            url: "https://deploy.example.com".into(),
            method: "POST".into(),
            headers: BTreeMap::from([(
                "Authorization".to_string(),
                "Bearer ${DEPLOY_TOKEN}".to_string(),
            )]),
            secret_env: Some("HOOK_SECRET".into()),
            status_url: None,
        });
        assert_eq!(secret_envs(&hook), ["HOOK_SECRET", "DEPLOY_TOKEN"]);
        let command = ProviderConfig::Command(CommandConfig {
            run: "kamal deploy".into(),
            rollback: None,
            working_directory: None,
            secret_env: vec!["KAMAL_REGISTRY_PASSWORD".into()],
        });
        assert_eq!(secret_envs(&command), ["KAMAL_REGISTRY_PASSWORD"]);
    }
}
