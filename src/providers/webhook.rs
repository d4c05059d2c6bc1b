//! The `webhook` provider. Not built yet: every call says so and fails.

use super::*;
use crate::config::WebhookConfig;

pub struct WebhookProvider {
    #[allow(dead_code)]
    config: WebhookConfig,
}

impl WebhookProvider {
    pub fn new(config: WebhookConfig, _ctx: &Ctx) -> Result<Self, ProviderError> {
        Ok(WebhookProvider { config })
    }
}

#[async_trait]
impl Provider for WebhookProvider {
    fn kind(&self) -> &'static str {
        "webhook"
    }
    fn planned_calls(&self, _req: &DeployRequest) -> Vec<String> {
        vec!["(webhook provider not built yet)".into()]
    }
    async fn deploy(&self, _req: &DeployRequest) -> Result<DeployOutcome, ProviderError> {
        Err(ProviderError::Other(
            "the webhook provider is not built yet".into(),
        ))
    }
    async fn rollback(&self, _req: &RollbackRequest) -> Result<RollbackOutcome, ProviderError> {
        Err(ProviderError::Other(
            "the webhook provider is not built yet".into(),
        ))
    }
}
