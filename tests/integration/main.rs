//! Integration tests: the `stage-gate` binary run with a scrubbed environment against local
//! servers (the simulators in `sim/`). One test binary; one module per area.

mod cancel;
mod check;
mod cli;
mod command_webhook;
mod commit_sha;
mod common;
mod config_errors;
mod coolify;
mod deploy;
mod docs;
mod dry_run;
mod fake_github;
mod fault_matrix;
mod fly;
mod health;
mod launcher;
mod missing_config;
mod notes;
mod preview;
mod promote;
mod release;
mod results;
mod rollback;
mod sarif_schema;
mod tag;
