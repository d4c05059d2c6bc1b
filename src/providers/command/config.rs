//! The `command:` key of an app's environment: as written (its doc comments become the
//! config schema and docs/config.md), resolved, and the check between them.

use crate::config::validate::Validator;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawCommand {
    /// The deploy command, run with `sh -c` (e.g. `kamal deploy -d staging`).
    pub run: String,
    /// Command that rolls back; `STAGE_GATE_ROLLBACK_TO` holds the target version.
    #[serde(default)]
    pub rollback: Option<String>,
    /// Working directory (default: the repository root).
    #[serde(default)]
    pub working_directory: Option<String>,
    /// Names of env vars passed to the command (and masked).
    #[serde(default)]
    pub secret_env: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommandConfig {
    pub run: String,
    pub rollback: Option<String>,
    pub working_directory: Option<PathBuf>,
    pub secret_env: Vec<String>,
}

/// The resolved settings of a `command:` target (errors go to `v`, at `at`).
pub(crate) fn resolve(_v: &mut Validator, _at: &[&str], c: &RawCommand) -> CommandConfig {
    CommandConfig {
        run: c.run.clone(),
        rollback: c.rollback.clone(),
        working_directory: c.working_directory.as_ref().map(PathBuf::from),
        secret_env: c.secret_env.clone(),
    }
}
