//! Integration tests: the `stage-gate` binary run with a scrubbed environment against local
//! servers (the simulators in `sim/`). One test binary; one module per area.

mod check;
mod cli;
mod common;
mod docs;
mod health;
mod notes;
mod tag;
