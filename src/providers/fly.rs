//! The `fly` provider. Not built yet: every call says so and fails.

use super::*;
use crate::config::FlyConfig;

pub struct FlyProvider {
    #[allow(dead_code)]
    config: FlyConfig,
}

impl FlyProvider {
    pub fn new(config: FlyConfig, _ctx: &Ctx) -> Result<Self, ProviderError> {
        Ok(FlyProvider { config })
    }
}

#[async_trait]
impl Provider for FlyProvider {
    fn kind(&self) -> &'static str {
        "fly"
    }
    fn planned_calls(&self, _req: &DeployRequest) -> Vec<String> {
        vec!["(fly provider not built yet)".into()]
    }
    async fn deploy(&self, _req: &DeployRequest) -> Result<DeployOutcome, ProviderError> {
        Err(ProviderError::Other(
            "the fly provider is not built yet".into(),
        ))
    }
    async fn rollback(&self, _req: &RollbackRequest) -> Result<RollbackOutcome, ProviderError> {
        Err(ProviderError::Other(
            "the fly provider is not built yet".into(),
        ))
    }
}
