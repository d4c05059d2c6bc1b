//! The simulated Fly world: apps, machines, leases, versions and events, advanced lazily by
//! the clock (a machine "starting" becomes "started" the first time anyone looks after its
//! start time has passed — no background tasks).
//!
//! This module holds state and rules; `routes.rs` turns HTTP into calls on it.

use super::ips::IpAssignment;
use super::scenario::{Knobs, MachineSpec, Scenario};
use super::secrets::Secret;
use crate::faults::glob_match;
use rand::Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone)]
pub struct Lease {
    pub nonce: String,
    pub owner: String,
    pub description: String,
    pub expires: Instant,
    pub expires_at: u64,
    pub version: String,
}

impl Lease {
    pub fn data(&self) -> Value {
        json!({
            "nonce": self.nonce,
            "expires_at": self.expires_at,
            "owner": self.owner,
            "description": self.description,
            "version": self.version,
        })
    }
}

#[derive(Debug, Clone)]
struct Pending {
    to: &'static str,
    at: Instant,
}

#[derive(Debug, Clone)]
pub struct Machine {
    pub id: String,
    pub name: String,
    pub region: String,
    pub state: &'static str,
    pub config: Value,
    pub version: String,
    pub created_at: String,
    pub updated_at: String,
    pub cordoned: bool,
    pub lease: Option<Lease>,
    /// Every version this machine has had, oldest first.
    pub versions: Vec<(String, Value)>,
    events: Vec<Value>,
    pending: Option<Pending>,
    started_at: Option<Instant>,
    /// Restarts already recorded as events during a restart loop.
    loops_recorded: u64,
    pub knobs: Knobs,
    private_ip: String,
    /// What the image resolved to in the registry when this config was set (`sha256:…`).
    pub digest: String,
    /// The app's secrets version this machine was last created or updated with (`None`:
    /// `skip_secrets`, or seeded before the app had secrets). Secrets reach a machine this
    /// way, never through `config.env`.
    pub secrets_version: Option<u64>,
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub fn random_hex(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// A 26-character ULID-looking version id (Crockford base32).
pub fn new_version() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut rng = rand::rng();
    let tail: String = (0..24)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("01{tail}")
}

/// A seeded machine's config: image, env, process group and one HTTP service with a check.
pub fn seed_config(
    image: &str,
    group: &str,
    env: &BTreeMap<String, String>,
    checks: bool,
) -> Value {
    let mut service = json!({
        "protocol": "tcp",
        "internal_port": 8080,
        "autostop": "off",
        "autostart": true,
        "ports": [
            {"port": 80, "handlers": ["http"], "force_https": true},
            {"port": 443, "handlers": ["tls", "http"]}
        ],
        "concurrency": {"type": "connections", "hard_limit": 25, "soft_limit": 20}
    });
    if checks {
        service["checks"] = json!([{
            "type": "http", "interval": "15s", "timeout": "2s", "grace_period": "5s",
            "method": "GET", "path": "/healthz", "protocol": "http"
        }]);
    }
    json!({
        "image": image,
        "env": env,
        "init": {},
        "guest": {"cpu_kind": "shared", "cpus": 1, "memory_mb": 256},
        "metadata": {"fly_platform_version": "v2", "fly_process_group": group, "fly_release_version": "1"},
        "services": [service],
        "restart": {"policy": "on-failure", "max_retries": 10},
        "stop_config": {"timeout": "5s", "signal": "SIGINT"}
    })
}

impl Machine {
    pub fn new(id: String, name: String, region: String, config: Value, knobs: Knobs) -> Machine {
        let version = new_version();
        let now = now_rfc3339();
        let digest = Registry::default().resolve(config_image(&config));
        Machine {
            id,
            name,
            region,
            state: "created",
            versions: vec![(version.clone(), config.clone())],
            config,
            version,
            created_at: now.clone(),
            updated_at: now,
            cordoned: false,
            lease: None,
            events: Vec::new(),
            pending: None,
            started_at: None,
            loops_recorded: 0,
            private_ip: format!("fdaa:0:1:a7b:{}::2", random_hex(3)),
            digest,
            knobs,
            secrets_version: None,
        }
    }

    pub fn image(&self) -> &str {
        self.config["image"].as_str().unwrap_or("")
    }

    fn event(&mut self, kind: &str, status: &str, source: &str) {
        self.event_with(kind, status, source, json!({}));
    }

    fn event_with(&mut self, kind: &str, status: &str, source: &str, request: Value) {
        self.events.push(json!({
            "id": new_version(),
            "type": kind,
            "status": status,
            "source": source,
            "timestamp": unix_ms(),
            "request": request
        }));
    }

    /// Put the machine in `state` right now (seeding).
    pub fn force_state(&mut self, state: &'static str, now: Instant) {
        self.state = state;
        self.pending = None;
        self.started_at = (state == "started").then_some(now);
    }

    /// Start the machine: `via` now, then `started` (or `failed`) after the start time.
    pub fn begin_start(&mut self, via: &'static str, now: Instant) {
        let fails = self.knobs.fail_on_image.as_deref().is_some_and(|p| {
            // A tag pinned to its digest (`repo:tag@sha256:…`) is still that tag.
            let image = self.image();
            let named = image.split_once('@').map(|(n, _)| n).unwrap_or(image);
            glob_match(p, image) || glob_match(p, named)
        });
        self.state = via;
        self.started_at = None;
        self.loops_recorded = 0;
        self.pending = Some(Pending {
            to: if fails { "failed" } else { "started" },
            at: now + Duration::from_millis(self.knobs.start_ms),
        });
        self.event(
            if via == "replacing" {
                "update"
            } else {
                "start"
            },
            via,
            "user",
        );
    }

    pub fn begin_stop(&mut self, now: Instant) {
        self.state = "stopping";
        self.started_at = None;
        self.pending = Some(Pending {
            to: "stopped",
            at: now + Duration::from_millis(self.knobs.start_ms / 4),
        });
        self.event("stop", "stopping", "user");
    }

    /// Created with `skip_launch`: `created`, then `stopped` shortly after.
    pub fn begin_created_stopped(&mut self, now: Instant) {
        self.state = "created";
        self.started_at = None;
        self.pending = Some(Pending {
            to: "stopped",
            at: now + Duration::from_millis(self.knobs.start_ms / 4),
        });
    }

    /// A job machine (`auto_destroy`: a release command, a one-off) runs its command to the
    /// end: it exits with the scenario's code after `job_ms` and flyd destroys it.
    fn is_job(&self) -> bool {
        self.config["auto_destroy"].as_bool() == Some(true)
    }

    fn job_exit(&mut self, code: i64) {
        let exited_at = now_rfc3339();
        self.event_with(
            "exit",
            "stopped",
            "flyd",
            json!({
                "exit_event": {
                    "exit_code": code, "oom_killed": false, "requested_stop": false,
                    "restarting": false, "signal": -1, "exited_at": exited_at
                },
                "restart_count": 0
            }),
        );
        self.state = "destroyed";
        self.started_at = None;
        self.lease = None;
        self.event("destroy", "destroyed", "flyd");
    }

    /// Advance transitions whose time has come.
    pub fn settle(&mut self, now: Instant) {
        while let Some(p) = self.pending.clone() {
            if now < p.at {
                break;
            }
            self.pending = None;
            if p.to == "job_exit" {
                self.job_exit(self.knobs.job_exit_code);
                continue;
            }
            self.state = p.to;
            match p.to {
                "started" => {
                    self.started_at = Some(p.at);
                    self.event("start", "started", "flyd");
                    if self.is_job() {
                        self.pending = Some(Pending {
                            to: "job_exit",
                            at: p.at + Duration::from_millis(self.knobs.job_ms),
                        });
                    }
                }
                "failed" => self.event("exit", "failed", "flyd"),
                other => self.event("state", other, "flyd"),
            }
        }
        if self.knobs.restart_loop && self.state == "started" {
            if let Some(since) = self.started_at {
                // The process exits every `start_ms` (at least 10 ms) and flyd restarts it.
                let period = self.knobs.start_ms.max(10) as u128;
                let loops = (now.saturating_duration_since(since).as_millis() / period) as u64 + 1;
                // flyd's restart policy: `no` leaves it stopped after the first exit,
                // `on-failure` gives up after `max_retries` (default 10) and leaves it
                // `failed` — for good, until someone updates or starts it — and `always`
                // restarts it forever.
                let policy = self.config["restart"]["policy"]
                    .as_str()
                    .unwrap_or("on-failure")
                    .to_string();
                let max_retries = self.config["restart"]["max_retries"].as_u64().unwrap_or(10);
                while self.loops_recorded < loops.min(self.loops_recorded + 50) {
                    self.loops_recorded += 1;
                    self.event("exit", "stopped", "flyd");
                    if policy == "no" {
                        self.state = "stopped";
                        self.started_at = None;
                        break;
                    }
                    if policy != "always" && self.loops_recorded > max_retries {
                        self.state = "failed";
                        self.started_at = None;
                        self.event("exit", "failed", "flyd");
                        break;
                    }
                    self.event("restart", "starting", "flyd");
                    self.event("start", "started", "flyd");
                }
            }
        }
        if self.lease.as_ref().is_some_and(|l| now >= l.expires) {
            self.lease = None;
        }
    }

    /// The names of the checks Fly would run for this config.
    fn check_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.config["checks"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for svc in self.config["services"].as_array().into_iter().flatten() {
            let port = svc["internal_port"].as_u64().unwrap_or(0);
            for (i, c) in svc["checks"].as_array().into_iter().flatten().enumerate() {
                let kind = c["type"].as_str().unwrap_or("tcp");
                names.push(format!("servicecheck-{i:02}-{kind}-{port}"));
            }
        }
        names
    }

    fn checks_passing(&self, now: Instant) -> bool {
        if self.knobs.restart_loop || self.state != "started" {
            return false;
        }
        match (self.started_at, self.knobs.checks_pass_after_ms) {
            (Some(since), Some(after)) => now >= since + Duration::from_millis(after),
            _ => false,
        }
    }

    pub fn checks(&self, now: Instant) -> Vec<Value> {
        let passing = self.checks_passing(now);
        let updated_at = now_rfc3339();
        self.check_names()
            .into_iter()
            .map(|name| {
                let (status, output) = if passing {
                    ("passing", "HTTP GET http://172.19.0.2:8080/healthz: 200 OK")
                } else if self.state == "started" {
                    (
                        "critical",
                        "HTTP GET http://172.19.0.2:8080/healthz: 503 Service Unavailable",
                    )
                } else {
                    ("warning", "the machine hasn't started")
                };
                json!({"name": name, "status": status, "output": output, "updated_at": updated_at})
            })
            .collect()
    }

    /// The `Machine` JSON the API answers with.
    pub fn view(&self, now: Instant) -> Value {
        let (registry, repository, tag) = split_image(self.image());
        let mut v = json!({
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "region": self.region,
            "instance_id": self.version,
            "version": self.version,
            "private_ip": self.private_ip,
            "config": self.config,
            "incomplete_config": null,
            "image_ref": {
                "registry": registry,
                "repository": repository,
                "tag": tag,
                "digest": self.digest,
                "labels": {}
            },
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "events": self.events.iter().rev().take(10).cloned().collect::<Vec<_>>(),
            "checks": self.checks(now),
            "host_status": "ok",
            "cordoned": self.cordoned,
        });
        if let Some(obj) = v.as_object_mut() {
            obj.remove("incomplete_config");
        }
        v
    }

    pub fn events(&self, limit: usize) -> Vec<Value> {
        self.events.iter().rev().take(limit).cloned().collect()
    }

    /// Replace the config: a new version, recorded in the history.
    pub fn set_config(&mut self, config: Value) {
        self.version = new_version();
        self.config = config;
        self.versions
            .push((self.version.clone(), self.config.clone()));
        self.updated_at = now_rfc3339();
    }
}

fn config_image(config: &Value) -> &str {
    config["image"].as_str().unwrap_or("")
}

/// `registry`, `repository`, `tag` of an image reference, as Fly's `ImageRef` splits it
/// (`docker.io` and `latest` when absent; a digest is not a tag).
pub fn split_image(image: &str) -> (String, String, String) {
    let named = image.split_once('@').map(|(n, _)| n).unwrap_or(image);
    let slash = named.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (repo_part, tag) = match named[slash..].rfind(':') {
        Some(i) => (&named[..slash + i], &named[slash + i + 1..]),
        None => (named, "latest"),
    };
    let (registry, repository) = match repo_part.split_once('/') {
        Some((r, rest)) if r.contains('.') || r.contains(':') || r == "localhost" => (r, rest),
        _ => ("docker.io", repo_part),
    };
    (
        registry.to_string(),
        repository.to_string(),
        tag.to_string(),
    )
}

/// Tags and the digests they point at. A tag nobody pushed resolves to a digest derived from
/// its name, so every run of a scenario agrees; a scenario can move every tag (a push of
/// the same tag) after a number of resolutions, as a registry does under a deploy.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// `repository:tag` → `sha256:…`, as the scenario set them.
    pub tags: BTreeMap<String, String>,
    /// After this many resolutions of a tag, every tag points at new bytes.
    pub move_tags_after: Option<u64>,
    resolved: u64,
    generation: u64,
}

impl Registry {
    /// The digest `image` resolves to now.
    pub fn resolve(&mut self, image: &str) -> String {
        if let Some((_, digest)) = image.split_once('@') {
            return digest.to_string();
        }
        let (registry, repository, tag) = split_image(image);
        let key = format!("{registry}/{repository}:{tag}");
        self.resolved += 1;
        if self
            .move_tags_after
            .is_some_and(|n| self.resolved > n && self.generation == 0)
        {
            self.generation = 1;
        }
        if self.generation == 0 {
            if let Some(d) = self.tags.get(&key) {
                return d.clone();
            }
        }
        format!("sha256:{}", sha_like(&format!("{key}#{}", self.generation)))
    }

    /// The digest `image` resolves to now, without counting a resolution.
    pub fn peek(&self, image: &str) -> String {
        self.clone().resolve(image)
    }
}

/// A stable fake digest for an image name (64 hex chars).
fn sha_like(image: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in image.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}").repeat(4)
}

#[derive(Debug, Clone)]
pub struct App {
    pub id: String,
    pub name: String,
    pub org: String,
    /// The 6PN network (`default` unless created with another).
    pub network: String,
    /// Unix seconds (the create answer's `created_at` is an integer in the spec).
    pub created_at: i64,
    pub knobs: Knobs,
    /// In creation order.
    pub machines: Vec<Machine>,
    pub volumes: Vec<Volume>,
    /// By name.
    pub secrets: BTreeMap<String, Secret>,
    /// Grows by one with every change to the secrets; 0 for an app that never had any.
    pub secrets_version: u64,
    /// In assignment order.
    pub ips: Vec<IpAssignment>,
}

/// A volume (`/v1/apps/{app}/volumes`, outside the saved spec: fly docs volumes resource).
#[derive(Debug, Clone)]
pub struct Volume {
    pub id: String,
    pub name: String,
    pub region: String,
    pub size_gb: u64,
    pub encrypted: bool,
    pub attached_machine_id: Option<String>,
    pub created_at: String,
}

impl Volume {
    pub fn new(
        id: Option<String>,
        name: &str,
        region: &str,
        size_gb: u64,
        encrypted: bool,
    ) -> Volume {
        Volume {
            id: id.unwrap_or_else(|| format!("vol_{}", random_hex(16))),
            name: name.to_string(),
            region: region.to_string(),
            size_gb,
            encrypted,
            attached_machine_id: None,
            created_at: now_rfc3339(),
        }
    }

    pub fn view(&self) -> Value {
        json!({
            "id": self.id, "name": self.name, "state": "created", "size_gb": self.size_gb,
            "region": self.region, "zone": format!("{}a1", self.region), "encrypted": self.encrypted,
            "attached_machine_id": self.attached_machine_id, "attached_alloc_id": null,
            "created_at": self.created_at, "blocks": 0, "block_size": 4096, "blocks_free": 0,
            "blocks_avail": 0, "fstype": "ext4", "snapshot_retention": 5,
            "auto_backup_enabled": true, "host_dedication_key": ""
        })
    }
}

impl App {
    /// A new, empty app: no machines, volumes, secrets or IPs.
    pub fn new(name: &str, org: &str, network: &str, knobs: Knobs) -> App {
        App {
            id: random_hex(12),
            name: name.to_string(),
            org: org.to_string(),
            network: network.to_string(),
            created_at: chrono::Utc::now().timestamp(),
            knobs,
            machines: Vec::new(),
            volumes: Vec::new(),
            secrets: BTreeMap::new(),
            secrets_version: 0,
            ips: Vec::new(),
        }
    }

    pub fn machine_count(&self) -> usize {
        self.machines
            .iter()
            .filter(|m| m.state != "destroyed")
            .count()
    }

    /// The `App` JSON. An app that never ran a machine is `pending`, as a fresh one is.
    pub fn view(&self) -> Value {
        let count = self.machine_count();
        let status = if self.machines.is_empty() {
            "pending"
        } else {
            "deployed"
        };
        json!({
            "id": self.id,
            "name": self.name,
            "status": status,
            "organization": {"name": self.org, "slug": self.org, "internal_numeric_id": 1},
            "machine_count": count,
            "volume_count": self.volumes.len(),
            "network": self.network,
            "network_cidr": "fdaa:0:1::/48",
            "internal_numeric_id": 1,
        })
    }

    /// Volumes of destroyed machines are free again.
    pub fn detach_destroyed(&mut self) {
        for v in &mut self.volumes {
            let gone = v.attached_machine_id.as_ref().is_some_and(|id| {
                self.machines
                    .iter()
                    .any(|m| &m.id == id && m.state == "destroyed")
            });
            if gone {
                v.attached_machine_id = None;
            }
        }
    }

    pub fn machine_mut(&mut self, id: &str) -> Option<&mut Machine> {
        self.machines.iter_mut().find(|m| m.id == id)
    }
}

/// All apps.
#[derive(Debug, Default)]
pub struct World {
    pub token: Option<String>,
    /// Organisations the token may use; `None`: every one.
    pub orgs: Option<Vec<String>>,
    pub apps: BTreeMap<String, App>,
    pub registry: Registry,
    /// Knobs a newly created app starts with (the scenario layer).
    pub default_knobs: Knobs,
    /// `idempotency_key` of an app create → the name it created.
    pub idempotency: BTreeMap<String, String>,
    /// When recent app deletes happened, for the per-minute limit.
    pub deletes: Vec<Instant>,
    pub deletes_per_minute: usize,
}

impl World {
    /// Whether the token may act in `org`.
    pub fn may_use(&self, org: &str) -> bool {
        self.orgs
            .as_ref()
            .is_none_or(|orgs| orgs.iter().any(|o| o == org))
    }
}

impl World {
    /// Resolve `image` for a machine of `app`: Fly's registry serves an app's repository
    /// (`registry.fly.io/<app>`) to the apps of the same organisation only.
    pub fn resolve_for(&mut self, app: &str, image: &str) -> Result<String, String> {
        let (registry, repository, _) = split_image(image);
        if registry == "registry.fly.io" {
            let here = self.apps.get(app).map(|a| a.org.clone());
            let owner = self.apps.get(&repository).map(|a| a.org.clone());
            if let (Some(here), Some(owner)) = (here, owner) {
                if here != owner {
                    return Err(format!(
                        "failed to get manifest {image}: unauthorized: app {app} (organization \
                         {here}) may not pull from repository {repository} of organization {owner}"
                    ));
                }
            }
        }
        Ok(self.registry.resolve(image))
    }

    pub fn seed(s: &Scenario) -> World {
        let now = Instant::now();
        let mut apps = BTreeMap::new();
        for a in &s.apps {
            let knobs = Knobs::for_app(s, Some(a));
            let image = a
                .image
                .clone()
                .unwrap_or_else(|| format!("registry.fly.io/{}:v1", a.name));
            let mut machines = Vec::new();
            let mut volumes: Vec<Volume> = a
                .volumes
                .iter()
                .map(|v| {
                    let region = v.region.as_deref().unwrap_or("iad");
                    Volume::new(v.id.clone(), &v.name, region, v.size_gb.unwrap_or(1), true)
                })
                .collect();
            for spec in &a.machines {
                for i in 0..spec.count.unwrap_or(1) {
                    let mut m = seed_machine(spec, i, &image, knobs.clone(), now);
                    if let Some(name) = &spec.volume {
                        let mut v = Volume::new(None, name, &m.region, 1, true);
                        v.attached_machine_id = Some(m.id.clone());
                        m.config["mounts"] = json!([{"name": name, "path": "/data", "volume": v.id, "size_gb": 1, "encrypted": true}]);
                        m.versions = vec![(m.version.clone(), m.config.clone())];
                        volumes.push(v);
                    }
                    machines.push(m);
                }
            }
            let org = a.org.clone().unwrap_or_else(|| "personal".into());
            let network = a.network.clone().unwrap_or_else(|| "default".into());
            let mut app = App::new(&a.name, &org, &network, knobs);
            app.machines = machines;
            app.volumes = volumes;
            super::secrets::seed(&mut app, &a.secrets);
            super::ips::seed(&mut app, &a.ips);
            for m in &mut app.machines {
                m.secrets_version = (app.secrets_version > 0).then_some(app.secrets_version);
            }
            apps.insert(a.name.clone(), app);
        }
        let registry = Registry {
            tags: s.registry.tags.clone(),
            move_tags_after: s.registry.move_tags_after,
            ..Registry::default()
        };
        for m in apps
            .values_mut()
            .flat_map(|a: &mut App| a.machines.iter_mut())
        {
            m.digest = registry.peek(m.image());
        }
        World {
            token: s.token.clone(),
            orgs: s.orgs.clone(),
            apps,
            registry,
            default_knobs: Knobs::for_app(s, None),
            idempotency: BTreeMap::new(),
            deletes: Vec::new(),
            deletes_per_minute: s.app_deletes_per_minute.unwrap_or(100),
        }
    }
}

fn seed_machine(spec: &MachineSpec, i: u32, image: &str, knobs: Knobs, now: Instant) -> Machine {
    let group = spec.process_group.as_deref().unwrap_or("app");
    let mut config = seed_config(
        spec.image.as_deref().unwrap_or(image),
        group,
        &spec.env,
        spec.checks.unwrap_or(true),
    );
    for (k, v) in &spec.metadata {
        config["metadata"][k] = json!(v);
    }
    let id = match (&spec.id, spec.count.unwrap_or(1)) {
        (Some(id), 1) => id.clone(),
        _ => random_hex(14),
    };
    let name = spec
        .name
        .clone()
        .map(|n| if i == 0 { n } else { format!("{n}-{i}") })
        .unwrap_or_else(|| format!("{group}-{}", random_hex(4)));
    let region = spec.region.clone().unwrap_or_else(|| "iad".into());
    let mut m = Machine::new(id, name, region, config, knobs.for_machine(spec));
    let state: &'static str = match spec.state.as_deref().unwrap_or("started") {
        "stopped" => "stopped",
        "suspended" => "suspended",
        "failed" => "failed",
        "destroyed" => "destroyed",
        "created" => "created",
        _ => "started",
    };
    m.force_state(state, now);
    if let Some(owner) = &spec.leased_by {
        let ms = spec.leased_for_ms.unwrap_or(3_600_000);
        m.lease = Some(Lease {
            nonce: random_hex(12),
            owner: owner.clone(),
            description: "held by the scenario".into(),
            expires: now + Duration::from_millis(ms),
            expires_at: unix_ms() / 1000 + ms / 1000,
            version: m.version.clone(),
        });
    }
    m
}
