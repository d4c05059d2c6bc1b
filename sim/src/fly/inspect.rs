//! What a Rust test can read of the Fly world without going through HTTP: each app with its
//! organisation, machines (state, image, metadata, the secrets version they run with),
//! secret names and IP addresses. A snapshot, taken under the lock.

use super::model::World;
use super::routes::{lock, Shared};
use std::collections::BTreeMap;
use std::time::Instant;

/// One app as the simulator holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct FlyApp {
    pub name: String,
    pub org: String,
    pub network: String,
    /// Machines that are not destroyed.
    pub machine_count: usize,
    pub machines: Vec<FlyMachine>,
    /// Secret names, sorted.
    pub secrets: Vec<String>,
    pub secrets_version: u64,
    pub ips: Vec<FlyIp>,
    pub volumes: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FlyMachine {
    pub id: String,
    pub name: String,
    pub state: String,
    pub region: String,
    pub image: String,
    /// `config.metadata`.
    pub metadata: BTreeMap<String, String>,
    /// The app's secrets version this machine runs with (`None`: none, or `skip_secrets`).
    pub secrets_version: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FlyIp {
    pub ip: String,
    /// `v6`, `v4`, `shared_v4` or `private_v6`.
    pub kind: String,
    pub shared: bool,
    pub region: String,
    pub service_name: String,
}

/// A handle on a running Fly simulator's state.
#[derive(Clone)]
pub struct Handle(pub(super) Shared);

impl Handle {
    /// Every app, by name.
    pub fn apps(&self) -> Vec<FlyApp> {
        let mut world = lock(&self.0);
        snapshot(&mut world)
    }
}

fn snapshot(world: &mut World) -> Vec<FlyApp> {
    let now = Instant::now();
    world
        .apps
        .values_mut()
        .map(|a| {
            for m in &mut a.machines {
                m.settle(now);
            }
            FlyApp {
                name: a.name.clone(),
                org: a.org.clone(),
                network: a.network.clone(),
                machine_count: a.machine_count(),
                machines: a
                    .machines
                    .iter()
                    .map(|m| FlyMachine {
                        id: m.id.clone(),
                        name: m.name.clone(),
                        state: m.state.to_string(),
                        region: m.region.clone(),
                        image: m.image().to_string(),
                        metadata: m.config["metadata"]
                            .as_object()
                            .map(|o| {
                                o.iter()
                                    .map(|(k, v)| {
                                        (k.clone(), v.as_str().unwrap_or_default().to_string())
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                        secrets_version: m.secrets_version,
                    })
                    .collect(),
                secrets: a.secrets.keys().cloned().collect(),
                secrets_version: a.secrets_version,
                ips: a
                    .ips
                    .iter()
                    .map(|i| FlyIp {
                        ip: i.ip.clone(),
                        kind: i.kind.clone(),
                        shared: i.shared,
                        region: i.region.clone(),
                        service_name: i.service_name.clone(),
                    })
                    .collect(),
                volumes: a.volumes.len(),
            }
        })
        .collect()
}
