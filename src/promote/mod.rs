//! Promotion: production deploys only what the required environment proved.
//! `gate` decides (pure); the `promote` and `deploy` commands fetch the records and act.

pub mod gate;
