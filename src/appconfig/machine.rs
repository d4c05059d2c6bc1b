//! fly.toml → the Machines API's machine config, per process group, as flyctl's
//! `ToMachineConfig` and `ToReleaseMachineConfig` make it (`internal/appconfig/machines.go`).
//!
//! Updating a machine starts from its current config: what fly.toml manages is replaced (or
//! removed when fly.toml no longer says it), everything else is kept — the guest when there is
//! no `[[vm]]`, `schedule`, `auto_destroy`, DNS, metadata of others.

use super::units::{memory_mb, volume_gb};
use super::{AppConfig, Compute, ServiceCheck, TopCheck, RELEASE_GROUP};
use base64::Engine;
use serde_json::{json, Map, Value};

const PLATFORM_VERSION: &str = "v2";

impl AppConfig {
    /// The config a machine of `group` gets (`src`: its current config, when it exists).
    /// The image is the caller's.
    pub fn machine_config(&self, group: &str, src: Option<&Value>) -> Result<Value, String> {
        let default = self.default_process();
        let group = if group.is_empty() {
            default.as_str()
        } else {
            group
        };
        let mut c = match src {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        if let Some(extra) = self.machine_config_json()? {
            deep_merge(&mut c, extra);
        }
        let applies = |p: &[String]| self.applies_to(group, p);

        let metrics = self.metrics.iter().find(|m| applies(&m.processes));
        set(
            &mut c,
            "metrics",
            metrics.map(|m| prune(json!({"port": m.port, "path": m.path, "https": m.https}))),
        );

        let mut init = take_object(&mut c, "init");
        let mut cmd = self.init_cmd(group)?;
        let exp = self.experimental.as_ref();
        if cmd.is_none() {
            cmd = exp.and_then(|e| e.cmd.clone());
        }
        set(
            &mut init,
            "entrypoint",
            exp.and_then(|e| e.entrypoint.clone()).map(|v| json!(v)),
        );
        set(
            &mut init,
            "exec",
            exp.and_then(|e| e.exec.clone()).map(|v| json!(v)),
        );
        set(&mut init, "cmd", cmd.map(|v| json!(v)));
        set(
            &mut init,
            "swap_size_mb",
            self.swap_size_mb.map(|v| json!(v)),
        );
        c.insert("init".into(), Value::Object(init));

        let mut metadata = take_object(&mut c, "metadata");
        metadata.insert("fly_platform_version".into(), json!(PLATFORM_VERSION));
        metadata.insert("fly_process_group".into(), json!(group));
        c.insert("metadata".into(), Value::Object(metadata));

        let services = self.services_for(group);
        set(
            &mut c,
            "services",
            (!services.is_empty()).then(|| json!(services)),
        );

        let mut checks = Map::new();
        for (name, check) in &self.checks {
            if applies(&check.processes) {
                checks.insert(name.clone(), self.top_check(name, check, group)?);
            }
        }
        set(
            &mut c,
            "checks",
            (!checks.is_empty()).then_some(Value::Object(checks)),
        );

        let mut env: Map<String, Value> = self
            .env
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        env.insert("FLY_PROCESS_GROUP".into(), json!(group));
        if let Some(r) = &self.primary_region {
            env.insert("PRIMARY_REGION".into(), json!(r));
        }
        c.insert("env".into(), Value::Object(env));

        let statics: Vec<Value> = self
            .statics
            .iter()
            .map(|s| {
                prune(
                    json!({"guest_path": s.guest_path, "url_prefix": s.url_prefix,
                    "tigris_bucket": s.tigris_bucket, "index_document": s.index_document}),
                )
            })
            .collect();
        set(
            &mut c,
            "statics",
            (!statics.is_empty()).then(|| json!(statics)),
        );

        let mut mounts = Vec::new();
        for m in self.mounts.iter().filter(|m| applies(&m.processes)) {
            let gb = |s: &Option<String>| -> Result<Option<u64>, String> {
                s.as_deref().map(volume_gb).transpose()
            };
            mounts.push(prune(json!({
                "path": m.destination, "name": m.source,
                "extend_threshold_percent": m.auto_extend_size_threshold,
                "add_size_gb": gb(&m.auto_extend_size_increment)?,
                "size_gb_limit": gb(&m.auto_extend_size_limit)?,
            })));
        }
        set(
            &mut c,
            "mounts",
            (!mounts.is_empty()).then(|| json!(mounts)),
        );

        set(&mut c, "stop_config", self.stop_config());

        let files = self.files_for(Some(group))?;
        set(&mut c, "files", (!files.is_empty()).then(|| json!(files)));

        if let Some(guest) = self.guest_for(group)? {
            c.insert("guest".into(), guest);
        }

        let mut restart = None;
        for r in self.restart.iter().filter(|r| applies(&r.processes)) {
            let policy = match r.policy.as_str() {
                "always" => "always",
                "on-failure" => "on-failure",
                "never" => "no",
                other => {
                    return Err(format!(
                        "invalid restart policy {other:?} (always, on-failure or never)"
                    ))
                }
            };
            restart = Some(prune(
                json!({"policy": policy, "max_retries": r.retries.filter(|n| *n > 0)}),
            ));
        }
        set(&mut c, "restart", restart);
        Ok(Value::Object(c))
    }

    /// The ephemeral machine that runs `[deploy] release_command`; its image and (without
    /// `release_command_vm`) its guest are the caller's.
    pub fn release_machine_config(&self) -> Result<Option<Value>, String> {
        let Some(command) = self.release_command() else {
            return Ok(None);
        };
        let cmd = shlex::split(command).ok_or_else(|| {
            format!("`deploy.release_command` is not a valid command line: {command}")
        })?;
        let mut env: Map<String, Value> = self
            .env
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        env.insert("RELEASE_COMMAND".into(), json!("1"));
        env.insert("FLY_PROCESS_GROUP".into(), json!(RELEASE_GROUP));
        if let Some(r) = &self.primary_region {
            env.insert("PRIMARY_REGION".into(), json!(r));
        }
        let mut init = Map::new();
        set(&mut init, "cmd", Some(json!(cmd)));
        set(
            &mut init,
            "swap_size_mb",
            self.swap_size_mb.map(|v| json!(v)),
        );
        let entrypoint = self
            .experimental
            .as_ref()
            .and_then(|e| e.entrypoint.clone());
        set(&mut init, "entrypoint", entrypoint.map(|v| json!(v)));
        let mut c = Map::new();
        c.insert("init".into(), Value::Object(init));
        c.insert("restart".into(), json!({"policy": "no"}));
        c.insert("auto_destroy".into(), json!(true));
        c.insert("dns".into(), json!({"skip_registration": true}));
        c.insert(
            "metadata".into(),
            json!({"fly_platform_version": PLATFORM_VERSION, "fly_process_group": RELEASE_GROUP}),
        );
        c.insert("env".into(), Value::Object(env));
        set(&mut c, "stop_config", self.stop_config());
        let files = self.files_for(None)?;
        set(&mut c, "files", (!files.is_empty()).then(|| json!(files)));
        if let Some(vm) = self
            .deploy
            .as_ref()
            .and_then(|d| d.release_command_vm.as_ref())
        {
            c.insert("guest".into(), self.compute_to_guest(vm)?);
        }
        if let (Some(hdid), Some(guest)) = (&self.host_dedication_id, c.get_mut("guest")) {
            guest["host_dedication_id"] = json!(hdid);
        }
        Ok(Some(Value::Object(c)))
    }

    fn machine_config_json(&self) -> Result<Option<Map<String, Value>>, String> {
        let raw = self
            .experimental
            .as_ref()
            .and_then(|e| e.machine_config.clone())
            .filter(|s| !s.is_empty())
            .or_else(|| self.machine_config.clone())
            .filter(|s| !s.trim().is_empty());
        let Some(raw) = raw else { return Ok(None) };
        // Inline JSON, or a file beside fly.toml that holds it.
        let text = if raw.trim_start().starts_with('{') {
            raw
        } else {
            let path = self.dir.join(&raw);
            std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read machine_config {}: {e}", path.display()))?
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(m)) => Ok(Some(m)),
            Ok(_) => Err("machine_config must be a JSON object".into()),
            Err(e) => Err(format!("machine_config is not valid JSON: {e}")),
        }
    }

    fn init_cmd(&self, group: &str) -> Result<Option<Vec<String>>, String> {
        match self.processes.get(group).map(String::as_str) {
            None | Some("") => Ok(None),
            Some(cmd) => shlex::split(cmd).map(Some).ok_or_else(|| {
                format!("could not parse the command of process group {group}: {cmd}")
            }),
        }
    }

    /// `[http_service]` (ports 80 and 443) then `[[services]]`, those of `group` only.
    fn services_for(&self, group: &str) -> Vec<Value> {
        let mut out = Vec::new();
        if let Some(h) = self
            .http_service
            .as_ref()
            .filter(|h| self.applies_to(group, &h.processes))
        {
            let ports = json!([
                prune(
                    json!({"port": 80, "handlers": ["http"], "force_https": h.force_https.then_some(true), "http_options": h.http_options})
                ),
                prune(
                    json!({"port": 443, "handlers": ["http", "tls"], "http_options": h.http_options, "tls_options": h.tls_options})
                ),
            ]);
            let checks: Vec<Value> = h.checks.iter().map(|c| service_check("http", c)).collect();
            out.push(prune(json!({
                "protocol": "tcp",
                "internal_port": h.internal_port,
                "ports": ports,
                "concurrency": h.concurrency,
                "autostop": h.auto_stop_machines.as_ref().map(autostop),
                "autostart": h.auto_start_machines,
                "min_machines_running": h.min_machines_running,
                "checks": (!checks.is_empty()).then_some(checks),
            })));
        }
        for s in self
            .services
            .iter()
            .filter(|s| self.applies_to(group, &s.processes))
        {
            let checks: Vec<Value> = s
                .tcp_checks
                .iter()
                .map(|c| service_check("tcp", c))
                .chain(s.http_checks.iter().map(|c| service_check("http", c)))
                .collect();
            out.push(prune(json!({
                "protocol": s.protocol,
                "internal_port": (s.internal_port > 0).then_some(s.internal_port),
                "ports": (!s.ports.is_empty()).then_some(&s.ports),
                "concurrency": s.concurrency,
                "autostop": s.auto_stop_machines.as_ref().map(autostop),
                "autostart": s.auto_start_machines,
                "min_machines_running": s.min_machines_running,
                "checks": (!checks.is_empty()).then_some(checks),
            })));
        }
        out
    }

    fn top_check(&self, name: &str, c: &TopCheck, group: &str) -> Result<Value, String> {
        let kind = c
            .kind
            .as_deref()
            .filter(|k| *k == "http" || *k == "tcp")
            .ok_or_else(|| {
                format!("check `{name}`: missing or invalid check type, must be 'http' or 'tcp'")
            })?;
        let port = match c.port {
            Some(p) => p,
            None => match self.http_service.as_ref().filter(|h| self.applies_to(group, &h.processes)) {
                Some(h) => h.internal_port,
                None => {
                    return Err(format!(
                        "check `{name}` for process group `{group}` has no port set and the group has no http_service to take it from"
                    ))
                }
            },
        };
        // flyctl writes every field of a top-level check, the HTTP ones for TCP too, and
        // upper-cases its method.
        let mut check = check_json(kind, &c.check, true);
        check["port"] = json!(port);
        if let Some(m) = &c.check.method {
            check["method"] = json!(m.to_uppercase());
        }
        Ok(check)
    }

    fn stop_config(&self) -> Option<Value> {
        if self.kill_signal.is_none() && self.kill_timeout.is_none() {
            return None;
        }
        Some(prune(
            json!({"timeout": self.kill_timeout, "signal": self.kill_signal}),
        ))
    }

    /// `[[files]]` of `group` (all of them for the release machine), as the API's `files`.
    fn files_for(&self, group: Option<&str>) -> Result<Vec<Value>, String> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut out = Vec::new();
        for f in &self.files {
            if group.is_some_and(|g| !self.applies_to(g, &f.processes)) {
                continue;
            }
            let mut file = json!({"guest_path": f.guest_path});
            if let Some(local) = &f.local_path {
                let path = self.dir.join(local);
                let bytes = std::fs::read(&path)
                    .map_err(|e| format!("could not read file {}: {e}", path.display()))?;
                file["raw_value"] = json!(b64.encode(bytes));
            } else if let Some(secret) = &f.secret_name {
                file["secret_name"] = json!(secret);
            } else if let Some(raw) = &f.raw_value {
                file["raw_value"] = json!(b64.encode(raw.as_bytes()));
            }
            out.push(file);
        }
        Ok(out)
    }

    /// The guest `[[vm]]` gives `group`, or None (the machine keeps what it has, as flyctl
    /// keeps what `fly scale` set). The most specific section wins: one naming the group,
    /// else one without `processes`.
    fn guest_for(&self, group: &str) -> Result<Option<Value>, String> {
        let candidates: Vec<&Compute> = self
            .vm
            .iter()
            .filter(|v| v.processes.is_empty() || self.applies_to(group, &v.processes))
            .collect();
        let Some(mut chosen) = candidates.first().copied() else {
            return Ok(None);
        };
        for c in &candidates[1..] {
            if c.processes.iter().any(|p| p == group) {
                chosen = c;
            }
        }
        let mut guest = self.compute_to_guest(chosen)?;
        if chosen.host_dedication_id.is_none() {
            if let Some(hdid) = &self.host_dedication_id {
                guest["host_dedication_id"] = json!(hdid);
            }
        }
        Ok(Some(guest))
    }

    fn compute_to_guest(&self, c: &Compute) -> Result<Value, String> {
        let size = match (&c.size, &c.gpu_kind) {
            (Some(s), _) => s.as_str(),
            (None, Some(_)) => "performance-8x",
            _ => "shared-cpu-1x",
        };
        let mut guest = preset(size)?;
        if let Some(m) = &c.memory {
            let mb = memory_mb(m).map_err(|e| format!("[[vm]] memory: {e}"))?;
            if mb == 0 {
                return Err("[[vm]] memory cannot be zero".into());
            }
            guest["memory_mb"] = json!(mb);
        }
        // Inline guest fields override the preset (copier with IgnoreEmpty in flyctl).
        let inline = prune(json!({
            "cpu_kind": c.cpu_kind, "cpus": c.cpus, "memory_mb": c.memory_mb,
            "gpus": c.gpus, "gpu_kind": c.gpu_kind, "host_dedication_id": c.host_dedication_id,
            "kernel_args": c.kernel_args, "persist_rootfs": c.persist_rootfs,
        }));
        if let (Value::Object(g), Value::Object(i)) = (&mut guest, inline) {
            g.extend(i);
        }
        Ok(guest)
    }
}

/// fly-go's `MachinePresets`.
fn preset(size: &str) -> Result<Value, String> {
    let shared = |n: u64| json!({"cpu_kind": "shared", "cpus": n, "memory_mb": 256 * n});
    let perf = |n: u64| json!({"cpu_kind": "performance", "cpus": n, "memory_mb": 2048 * n});
    let gpu = |kind: &str| json!({"cpu_kind": "performance", "cpus": 8, "memory_mb": 32768, "gpu_kind": kind, "gpus": 1});
    Ok(match size {
        "shared-cpu-1x" => shared(1),
        "shared-cpu-2x" => shared(2),
        "shared-cpu-4x" => shared(4),
        "shared-cpu-6x" => shared(6),
        "shared-cpu-8x" => shared(8),
        "performance-1x" => perf(1),
        "performance-2x" => perf(2),
        "performance-4x" => perf(4),
        "performance-6x" => perf(6),
        "performance-8x" => perf(8),
        "performance-10x" => perf(10),
        "performance-12x" => perf(12),
        "performance-14x" => perf(14),
        "performance-16x" => perf(16),
        "a100-40gb" => gpu("a100-pcie-40gb"),
        "a100-80gb" => gpu("a100-sxm4-80gb"),
        "l40s" => gpu("l40s"),
        "a10" => gpu("a10"),
        other => return Err(format!("{other:?} is not a Fly machine size (shared-cpu-1x … performance-16x, a100-40gb, a100-80gb, l40s, a10)")),
    })
}

/// flyctl's `inferReleaseCommandGuest`: of `guests` (the default group's machines), the one
/// with the most memory; with none, `shared-cpu-2x`.
pub fn release_guest(guests: &[&Value]) -> Value {
    guests
        .iter()
        .filter(|g| g["memory_mb"].as_u64().is_some())
        .max_by_key(|g| g["memory_mb"].as_u64().unwrap_or(0))
        .map(|g| (*g).clone())
        .unwrap_or_else(|| json!({"cpu_kind": "shared", "cpus": 2, "memory_mb": 512}))
}

/// `true`/`false` for auto_stop_machines mean `stop`/`off`.
fn autostop(v: &Value) -> Value {
    match v {
        Value::Bool(true) => json!("stop"),
        Value::Bool(false) => json!("off"),
        other => other.clone(),
    }
}

fn service_check(kind: &str, c: &ServiceCheck) -> Value {
    check_json(kind, c, kind == "http")
}

/// A check of `kind` in the API's JSON; the HTTP fields only when `http`.
fn check_json(kind: &str, c: &ServiceCheck, http: bool) -> Value {
    prune(json!({
        "type": kind,
        "interval": c.interval, "timeout": c.timeout, "grace_period": c.grace_period,
        "method": c.method.as_ref().filter(|_| http),
        "path": c.path.as_ref().filter(|_| http),
        "protocol": c.protocol.as_ref().filter(|_| http),
        "tls_skip_verify": c.tls_skip_verify.filter(|_| http),
        "tls_server_name": c.tls_server_name.as_ref().filter(|_| http),
        "headers": if http { headers(&c.headers) } else { Value::Null },
    }))
}

/// `{name: value}` → `[{name, values: [value]}]`, by name.
fn headers(h: &std::collections::BTreeMap<String, String>) -> Value {
    if h.is_empty() {
        return Value::Null;
    }
    json!(h
        .iter()
        .map(|(k, v)| json!({"name": k, "values": [v]}))
        .collect::<Vec<_>>())
}

/// Drop nulls from an object (Go's `omitempty` for the fields we build).
fn prune(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        other => other,
    }
}

fn take_object(c: &mut Map<String, Value>, key: &str) -> Map<String, Value> {
    match c.remove(key) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// Set `key`, or remove it: a field fly.toml manages and no longer says goes away.
fn set(c: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    match v {
        Some(v) => {
            c.insert(key.into(), v);
        }
        None => {
            c.remove(key);
        }
    }
}

/// JSON decoded over an existing struct, as Go does: objects merge, the rest is replaced.
fn deep_merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(Value::Object(a)), Value::Object(b)) => deep_merge(a, b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

/// Two configs that mean the same machine: equal once empty values (the API's `null`, `{}`,
/// `[]`, `false`, `0` for omitted fields) are set aside.
pub fn same_config(a: &Value, b: &Value) -> bool {
    normal(a) == normal(b)
}

fn normal(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), normal(v)))
                .filter(|(_, v)| !is_empty(v))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normal).collect()),
        other => other.clone(),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
    }
}
