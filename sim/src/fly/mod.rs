//! Fly Machines API simulator: the routes of `tests/fixtures/specs/fly-machines.openapi.json`
//! that a deployer uses, with the real lease envelope and start-response body from NOTES.md §1.
//!
//! `scenario.rs` says what a scenario may seed, `model.rs` owns the state machine of apps,
//! machines and leases, and `routes.rs` maps HTTP onto it (auth, errors, request ids), with
//! the lease endpoints in `leases.rs` and the long-poll `wait` in `wait.rs`.

mod leases;
mod model;
mod routes;
pub mod scenario;
mod wait;

pub use scenario::{AppSpec, MachineSpec, Scenario};

/// Every route served, as (method, OpenAPI path): the contract test checks each against the spec.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/apps/{app_name}"),
    ("DELETE", "/v1/apps/{app_name}"),
    ("GET", "/v1/apps/{app_name}/machines"),
    ("POST", "/v1/apps/{app_name}/machines"),
    ("GET", "/v1/apps/{app_name}/machines/{machine_id}"),
    ("POST", "/v1/apps/{app_name}/machines/{machine_id}"),
    ("DELETE", "/v1/apps/{app_name}/machines/{machine_id}"),
    ("POST", "/v1/apps/{app_name}/machines/{machine_id}/cordon"),
    ("POST", "/v1/apps/{app_name}/machines/{machine_id}/uncordon"),
    ("GET", "/v1/apps/{app_name}/machines/{machine_id}/events"),
    ("GET", "/v1/apps/{app_name}/machines/{machine_id}/lease"),
    ("POST", "/v1/apps/{app_name}/machines/{machine_id}/lease"),
    ("DELETE", "/v1/apps/{app_name}/machines/{machine_id}/lease"),
    ("POST", "/v1/apps/{app_name}/machines/{machine_id}/restart"),
    ("POST", "/v1/apps/{app_name}/machines/{machine_id}/start"),
    ("POST", "/v1/apps/{app_name}/machines/{machine_id}/stop"),
    ("POST", "/v1/apps/{app_name}/machines/{machine_id}/suspend"),
    ("GET", "/v1/apps/{app_name}/machines/{machine_id}/versions"),
    ("GET", "/v1/apps/{app_name}/machines/{machine_id}/wait"),
];

/// Real routes the saved spec leaves out (fly docs: reference/machines volumes resource),
/// served as the docs describe them; the contract test checks these apart.
pub const OUTSIDE_SPEC: &[(&str, &str)] = &[
    ("GET", "/v1/apps/{app_name}/volumes"),
    ("POST", "/v1/apps/{app_name}/volumes"),
];

/// The Fly router (vendor-module contract, see `lib.rs`).
pub fn router(scenario: Scenario, _urls: &crate::Urls) -> axum::Router {
    routes::router(model::World::seed(&scenario))
}
