//! Local simulators of the Fly Machines, Coolify and GitHub REST APIs.

pub mod coolify;
pub mod health;

/// Base URLs of the running simulators (the core fills these in).
#[derive(Debug, Clone, Default)]
pub struct Urls {
    pub fly: String,
    pub coolify: String,
    pub github: String,
    pub uploads: String,
    pub health: String,
}
