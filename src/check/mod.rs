//! `stage-gate check` beyond the stage-gate config: fly.toml files, parity between the
//! environments of one app, deploy workflows and production Dockerfiles. Offline only —
//! fork PRs have no Fly token. Each checker returns diagnostics; this module decides
//! which files to check and runs them.

pub mod dockerfile;
pub mod fly_schema;
pub mod fly_toml;
pub mod parity;
pub mod secrets;
pub mod tree;
pub mod workflow_text;
pub mod workflows;

#[cfg(test)]
mod corpus_tests;
