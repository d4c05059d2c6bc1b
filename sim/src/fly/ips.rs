//! IP assignments of an app (`/v1/apps/{app}/ip_assignments[/{ip}]`), as fly-go's
//! `flaps/flaps_ip_assignments.go` calls them. flyctl's first deploy of an app with services
//! assigns a dedicated `v6` and then a `shared_v4` (`internal/command/deploy/deploy_first.go`);
//! without an address nothing reaches the app from outside.
//!
//! `shared_v4` hands out the one address every app shares (`shared: true`); `private_v6` is
//! a Flycast address on the app's 6PN network, the only kind with a `network` object. The
//! egress kinds the document lists are refused: the simulator does not model egress.

use super::model::{now_rfc3339, random_hex, App};
use super::routes::{error, json_body, with_app, Shared};
use super::scenario::IpSpec;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};

/// The shared IPv4 address every app gets with `shared_v4`.
pub const SHARED_V4: &str = "66.241.124.100";

const KINDS: [&str; 4] = ["v6", "v4", "shared_v4", "private_v6"];

#[derive(Debug, Clone)]
pub struct IpAssignment {
    pub ip: String,
    /// `v6`, `v4`, `shared_v4` or `private_v6`.
    pub kind: String,
    pub region: String,
    pub service_name: String,
    pub shared: bool,
    /// `(network name, org)` of a `private_v6`.
    pub network: Option<(String, String)>,
    pub created_at: String,
}

impl IpAssignment {
    fn new(app: &App, kind: &str, ip: Option<String>, region: Option<String>) -> IpAssignment {
        let n = || u16::from_str_radix(&random_hex(4), 16).unwrap_or(1);
        let ip = ip.unwrap_or_else(|| match kind {
            "v4" => format!("137.66.{}.{}", n() % 256, n() % 254 + 1),
            "shared_v4" => SHARED_V4.to_string(),
            "private_v6" => format!("fdaa:0:{}:0:1::{:x}", random_hex(4), n() % 4096 + 1),
            _ => format!("2a09:8280:1::{}:{}", random_hex(2), random_hex(4)),
        });
        IpAssignment {
            ip,
            kind: kind.to_string(),
            region: region.unwrap_or_else(|| "global".into()),
            service_name: String::new(),
            shared: kind == "shared_v4",
            network: (kind == "private_v6").then(|| (app.network.clone(), app.org.clone())),
            created_at: now_rfc3339(),
        }
    }

    /// `IPAssignment` / `AssignIPResponse`.
    pub fn view(&self) -> Value {
        let network = self.network.as_ref().map(|(name, org)| {
            // The document: the name is empty for the organisation's default network.
            let name = if name == "default" { "" } else { name };
            json!({"name": name, "org_slug": org})
        });
        json!({
            "ip": self.ip, "region": self.region, "service_name": self.service_name,
            "shared": self.shared, "egress": false, "network": network,
            "created_at": self.created_at,
        })
    }
}

/// Seed an app's addresses from the scenario.
pub fn seed(app: &mut App, ips: &[IpSpec]) {
    for spec in ips {
        let kind = spec.kind.as_str();
        let mut ip = IpAssignment::new(app, kind, spec.ip.clone(), spec.region.clone());
        ip.service_name = spec.service_name.clone().unwrap_or_default();
        app.ips.push(ip);
    }
}

pub async fn list(State(w): State<Shared>, Path(app): Path<String>) -> Response {
    with_app(&w, &app, |a, _| {
        Json(json!({"ips": a.ips.iter().map(IpAssignment::view).collect::<Vec<_>>()}))
            .into_response()
    })
}

/// `POST {type, region?, org_slug?, network?, service_name?}` → 200 `AssignIPResponse`.
pub async fn assign(State(w): State<Shared>, Path(app): Path<String>, body: Bytes) -> Response {
    let body = match json_body(&body) {
        Ok(b) => b,
        Err((status, message)) => return error(status, message),
    };
    let kind = body["type"].as_str().unwrap_or("").to_string();
    if !KINDS.contains(&kind.as_str()) {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "invalid ip type {kind:?}: the simulator assigns {}",
                KINDS.join(", ")
            ),
        );
    }
    let region = body["region"]
        .as_str()
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    let service = body["service_name"].as_str().unwrap_or("").to_string();
    let org = body["org_slug"]
        .as_str()
        .filter(|o| !o.is_empty())
        .map(str::to_string);
    with_app(&w, &app, |a, _| {
        if org.as_ref().is_some_and(|o| *o != a.org) {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "app {} is not in organization {}",
                    a.name,
                    org.unwrap_or_default()
                ),
            );
        }
        if kind == "shared_v4" {
            // One shared address per app: asking again hands back the same one.
            if let Some(existing) = a.ips.iter().find(|i| i.shared) {
                return Json(existing.view()).into_response();
            }
        }
        let mut ip = IpAssignment::new(a, &kind, None, region);
        ip.service_name = service;
        let v = ip.view();
        a.ips.push(ip);
        Json(v).into_response()
    })
}

/// `DELETE /ip_assignments/{ip}` → 204; an address the app does not have is a 404.
pub async fn remove(State(w): State<Shared>, Path((app, ip)): Path<(String, String)>) -> Response {
    with_app(&w, &app, |a, _| {
        let before = a.ips.len();
        a.ips.retain(|i| i.ip != ip);
        if a.ips.len() == before {
            return error(
                StatusCode::NOT_FOUND,
                format!("ip assignment {ip} not found"),
            );
        }
        StatusCode::NO_CONTENT.into_response()
    })
}
