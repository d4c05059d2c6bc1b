//! Telling the world a deploy happened: signed webhooks (JSON, Slack, Discord) and
//! `workflow_dispatch` of the next workflow.
//!
//! Why dispatch and not a release event: events caused by the workflow's default
//! `GITHUB_TOKEN` start no new workflow runs, with two exceptions, `workflow_dispatch` and
//! `repository_dispatch`. So `notify --dispatch` can chain workflows with the default token,
//! while a release created with it will not trigger `on: release` workflows.

pub mod webhook;

pub use webhook::Event;
