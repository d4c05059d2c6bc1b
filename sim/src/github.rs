//! PLACEHOLDER — the github helper replaces this whole file with the real GitHub simulator.
//! It only keeps `lib.rs` compiling: the contract is a `Scenario` (Debug, Clone, Default,
//! Deserialize) and `pub fn routers(scenario: Scenario, urls: &crate::Urls) -> (axum::Router,
//! axum::Router)` — the REST API router and the uploads router. Until then every route is 404.

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Scenario {}

pub fn routers(_scenario: Scenario, _urls: &crate::Urls) -> (axum::Router, axum::Router) {
    (axum::Router::new(), axum::Router::new())
}
