//! Fly Machines API simulator: the routes of `tests/fixtures/specs/fly-machines.openapi.json`
//! that a deployer uses, with the real lease envelope and start-response body from NOTES.md §1.
//!
//! `scenario.rs` says what a scenario may seed, `model.rs` owns the state machine of apps,
//! machines and leases, and `routes.rs` maps HTTP onto it (auth, errors, request ids), with
//! the lease endpoints in `leases.rs` and the long-poll `wait` in `wait.rs`. The apps
//! resource (create, list, delete) is `apps.rs`, an app's addresses `ips.rs` and its secrets
//! `secrets.rs`; `inspect.rs` lets Rust tests read the state.

mod apps;
mod inspect;
mod ips;
mod leases;
mod model;
mod routes;
pub mod scenario;
mod secrets;
mod wait;

pub use inspect::{FlyApp, FlyIp, FlyMachine, Handle};
pub use scenario::{AppSpec, IpKind, IpSpec, MachineSpec, Scenario};

/// Every route served, as (method, OpenAPI path): the contract test checks each against the spec.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/apps"),
    ("POST", "/v1/apps"),
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
    ("GET", "/v1/apps/{app_name}/ip_assignments"),
    ("POST", "/v1/apps/{app_name}/ip_assignments"),
    ("DELETE", "/v1/apps/{app_name}/ip_assignments/{ip}"),
    ("GET", "/v1/apps/{app_name}/secrets"),
    ("POST", "/v1/apps/{app_name}/secrets"),
    ("GET", "/v1/apps/{app_name}/secrets/{secret_name}"),
    ("POST", "/v1/apps/{app_name}/secrets/{secret_name}"),
    ("DELETE", "/v1/apps/{app_name}/secrets/{secret_name}"),
];

/// Real routes the saved spec leaves out (fly docs: reference/machines volumes resource),
/// served as the docs describe them; the contract test checks these apart.
pub const OUTSIDE_SPEC: &[(&str, &str)] = &[
    ("GET", "/v1/apps/{app_name}/volumes"),
    ("POST", "/v1/apps/{app_name}/volumes"),
];

/// The Fly router (vendor-module contract, see `lib.rs`).
pub fn router(scenario: Scenario, urls: &crate::Urls) -> axum::Router {
    serve(scenario, urls).0
}

/// The Fly router and a handle on its state, for tests' assertions (`Sim::fly_apps`).
pub fn serve(scenario: Scenario, _urls: &crate::Urls) -> (axum::Router, Handle) {
    let state = std::sync::Arc::new(std::sync::Mutex::new(model::World::seed(&scenario)));
    (routes::router(state.clone()), Handle(state))
}
