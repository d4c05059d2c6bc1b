//! The `command` provider. Not built yet: every call says so and fails.

use super::*;
use crate::config::CommandConfig;

pub struct CommandProvider {
    #[allow(dead_code)]
    config: CommandConfig,
}

impl CommandProvider {
    pub fn new(config: CommandConfig, _ctx: &Ctx) -> Result<Self, ProviderError> {
        Ok(CommandProvider { config })
    }
}

#[async_trait]
impl Provider for CommandProvider {
    fn kind(&self) -> &'static str {
        "command"
    }
    fn planned_calls(&self, _req: &DeployRequest) -> Vec<String> {
        vec!["(command provider not built yet)".into()]
    }
    async fn deploy(&self, _req: &DeployRequest) -> Result<DeployOutcome, ProviderError> {
        Err(ProviderError::Other(
            "the command provider is not built yet".into(),
        ))
    }
    async fn rollback(&self, _req: &RollbackRequest) -> Result<RollbackOutcome, ProviderError> {
        Err(ProviderError::Other(
            "the command provider is not built yet".into(),
        ))
    }
}
