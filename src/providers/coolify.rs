//! The `coolify` provider. Not built yet: every call says so and fails.

use super::*;
use crate::config::CoolifyConfig;

pub struct CoolifyProvider {
    #[allow(dead_code)]
    config: CoolifyConfig,
}

impl CoolifyProvider {
    pub fn new(config: CoolifyConfig, _ctx: &Ctx) -> Result<Self, ProviderError> {
        Ok(CoolifyProvider { config })
    }
}

#[async_trait]
impl Provider for CoolifyProvider {
    fn kind(&self) -> &'static str {
        "coolify"
    }
    fn planned_calls(&self, _req: &DeployRequest) -> Vec<String> {
        vec!["(coolify provider not built yet)".into()]
    }
    async fn deploy(&self, _req: &DeployRequest) -> Result<DeployOutcome, ProviderError> {
        Err(ProviderError::Other(
            "the coolify provider is not built yet".into(),
        ))
    }
    async fn rollback(&self, _req: &RollbackRequest) -> Result<RollbackOutcome, ProviderError> {
        Err(ProviderError::Other(
            "the coolify provider is not built yet".into(),
        ))
    }
}
