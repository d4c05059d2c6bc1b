//! stage-gate: staged release pipelines for GitHub Actions.
//!
//! The data flow of one run, in module order:
//! `inputs` (INPUT_*, env) → `cli` / `context` → `config` (raw → validated) → `plan`
//! → `providers` (fly, coolify, webhook, command) → `health` gate → `github`
//! (deployments, releases) → `report` (outputs, summary, annotations, SARIF, JSON) → `exit`.

pub(crate) mod appconfig;
pub(crate) mod artifact;
pub(crate) mod cancel;
pub mod check;
pub(crate) mod cli;
pub(crate) mod commands;
pub mod config;
pub mod context;
pub(crate) mod conventional;
pub mod deploy;
pub mod exit;
pub mod git;
pub mod github;
pub mod health;
pub mod http;
pub mod inputs;
pub(crate) mod jsonpath;
pub mod notify;
pub(crate) mod plan;
pub mod preview;
pub(crate) mod promote;
pub mod providers;
pub mod release;
pub mod report;
pub mod run;
pub mod secret;
pub mod tag;
