//! fly.toml as `fly deploy` reads it, and the machine configs it makes of it.
//!
//! The reference is flyctl (`internal/appconfig/`): `patch.rs` rewrites old spellings as its
//! patches do, this module holds the decoded file and its process groups (`processgroups.go`),
//! `machine.rs` turns it into the Machines API's JSON per group (`ToMachineConfig`,
//! `ToReleaseMachineConfig`), and `units.rs` reads durations and sizes as Go does.

mod machine;
mod patch;
pub mod units;

#[cfg(test)]
mod flyctl_fixtures;

pub use machine::{release_guest, same_config};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The process group of machines without `[processes]`.
pub const DEFAULT_GROUP: &str = "app";
/// The process group flyctl gives the release-command machine.
pub const RELEASE_GROUP: &str = "fly_app_release_command";
/// flyctl's default `release_command_timeout`.
pub const RELEASE_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AppConfig {
    pub app: Option<String>,
    pub primary_region: Option<String>,
    pub kill_signal: Option<String>,
    pub kill_timeout: Option<String>,
    pub swap_size_mb: Option<i64>,
    pub experimental: Option<Experimental>,
    pub build: Option<Build>,
    pub deploy: Option<Deploy>,
    pub env: BTreeMap<String, String>,
    pub processes: BTreeMap<String, String>,
    pub mounts: Vec<Mount>,
    pub http_service: Option<HttpService>,
    pub services: Vec<Service>,
    pub checks: BTreeMap<String, TopCheck>,
    pub files: Vec<FileEntry>,
    pub host_dedication_id: Option<String>,
    pub machine_config: Option<String>,
    pub restart: Vec<Restart>,
    pub vm: Vec<Compute>,
    pub statics: Vec<Static>,
    pub metrics: Vec<Metrics>,
    /// Where the file is: `machine_config` and `[[files]] local_path` are read from beside it.
    #[serde(skip)]
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Experimental {
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub exec: Option<Vec<String>>,
    pub machine_config: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Build {
    pub image: Option<String>,
    pub dockerfile: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Deploy {
    pub strategy: Option<String>,
    pub max_unavailable: Option<f64>,
    pub wait_timeout: Option<Value>,
    pub release_command: Option<String>,
    pub release_command_timeout: Option<Value>,
    pub release_command_vm: Option<Compute>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Mount {
    pub source: String,
    pub destination: String,
    pub initial_size: Option<String>,
    pub auto_extend_size_threshold: Option<u64>,
    pub auto_extend_size_increment: Option<String>,
    pub auto_extend_size_limit: Option<String>,
    pub snapshot_retention: Option<u64>,
    pub processes: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HttpService {
    pub internal_port: u64,
    pub force_https: bool,
    pub auto_stop_machines: Option<Value>,
    pub auto_start_machines: Option<bool>,
    pub min_machines_running: Option<u64>,
    pub processes: Vec<String>,
    pub concurrency: Option<Value>,
    pub tls_options: Option<Value>,
    pub http_options: Option<Value>,
    pub checks: Vec<ServiceCheck>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Service {
    pub protocol: Option<String>,
    pub internal_port: u64,
    pub auto_stop_machines: Option<Value>,
    pub auto_start_machines: Option<bool>,
    pub min_machines_running: Option<u64>,
    pub ports: Vec<Value>,
    pub concurrency: Option<Value>,
    pub tcp_checks: Vec<ServiceCheck>,
    pub http_checks: Vec<ServiceCheck>,
    pub processes: Vec<String>,
}

/// A service check, TCP or HTTP (the HTTP fields stay empty for TCP).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ServiceCheck {
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub grace_period: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    pub protocol: Option<String>,
    pub tls_skip_verify: Option<bool>,
    pub tls_server_name: Option<String>,
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TopCheck {
    pub port: Option<u64>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The fields a service check has too.
    #[serde(flatten)]
    pub check: ServiceCheck,
    pub processes: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FileEntry {
    pub guest_path: String,
    pub local_path: Option<String>,
    pub secret_name: Option<String>,
    pub raw_value: Option<String>,
    pub processes: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Restart {
    pub policy: String,
    pub retries: Option<u64>,
    pub processes: Vec<String>,
}

/// `[[vm]]`: a size preset, memory, and any guest field written inline.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Compute {
    pub size: Option<String>,
    pub memory: Option<String>,
    pub cpu_kind: Option<String>,
    pub cpus: Option<u64>,
    pub memory_mb: Option<u64>,
    pub gpus: Option<u64>,
    pub gpu_kind: Option<String>,
    pub host_dedication_id: Option<String>,
    pub kernel_args: Option<Vec<String>>,
    pub persist_rootfs: Option<String>,
    pub processes: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Static {
    pub guest_path: String,
    pub url_prefix: String,
    pub tigris_bucket: Option<String>,
    pub index_document: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Metrics {
    pub port: Option<u64>,
    pub path: Option<String>,
    pub https: Option<bool>,
    pub processes: Vec<String>,
}

impl AppConfig {
    /// Read fly.toml text (`dir`: the folder it is in).
    pub fn parse(text: &str, dir: &Path) -> Result<AppConfig, String> {
        let raw: Value =
            toml_edit::de::from_str(text).map_err(|e| format!("not valid TOML: {e}"))?;
        let patched = patch::patch(raw)?;
        let mut cfg: AppConfig = serde_json::from_value(patched)
            .map_err(|e| format!("not a fly.toml flyctl reads: {e}"))?;
        cfg.dir = dir.to_path_buf();
        cfg.validate()?;
        Ok(cfg)
    }

    /// What flyctl refuses before it deploys (the rest is `stage-gate check`'s business).
    fn validate(&self) -> Result<(), String> {
        if let Some(cmd) = self.release_command() {
            shlex::split(cmd).ok_or_else(|| {
                format!("`deploy.release_command` is not a valid command line: {cmd}")
            })?;
        }
        for (name, cmd) in &self.processes {
            shlex::split(cmd)
                .ok_or_else(|| format!("`processes.{name}` is not a valid command line: {cmd}"))?;
        }
        Ok(())
    }

    /// Process groups, sorted; `["app"]` without `[processes]` (flyctl's `ProcessNames`).
    pub fn process_names(&self) -> Vec<String> {
        if self.processes.is_empty() {
            vec![DEFAULT_GROUP.to_string()]
        } else {
            self.processes.keys().cloned().collect()
        }
    }

    /// `app` when it is a group, else the first group by name.
    pub fn default_process(&self) -> String {
        let names = self.process_names();
        if names.iter().any(|n| n == DEFAULT_GROUP) {
            DEFAULT_GROUP.to_string()
        } else {
            names[0].clone()
        }
    }

    /// Whether a section naming `processes` applies to `group`: listed there, or — with no
    /// list — `group` is the default one.
    pub fn applies_to(&self, group: &str, processes: &[String]) -> bool {
        let default = self.default_process();
        if processes.is_empty() {
            return group == default;
        }
        processes
            .iter()
            .any(|p| p == group || (p.is_empty() && group == default))
    }

    pub fn release_command(&self) -> Option<&str> {
        self.deploy
            .as_ref()?
            .release_command
            .as_deref()
            .filter(|c| !c.trim().is_empty())
    }

    pub fn release_command_timeout(&self) -> Result<Duration, String> {
        match self
            .deploy
            .as_ref()
            .and_then(|d| d.release_command_timeout.as_ref())
        {
            None => Ok(RELEASE_TIMEOUT),
            Some(v) => duration_of(v, "deploy.release_command_timeout"),
        }
    }

    pub fn wait_timeout(&self) -> Result<Option<Duration>, String> {
        match self.deploy.as_ref().and_then(|d| d.wait_timeout.as_ref()) {
            None => Ok(None),
            Some(v) => duration_of(v, "deploy.wait_timeout").map(Some),
        }
    }

    /// The groups whose machines mount a volume, with the mount (the first, as flyctl uses).
    pub fn mount_for(&self, group: &str) -> Option<&Mount> {
        self.mounts
            .iter()
            .find(|m| self.applies_to(group, &m.processes))
    }
}

/// `"3m"`, or an integer of seconds (flyctl's `_castDuration` for deploy timeouts).
fn duration_of(v: &Value, at: &str) -> Result<Duration, String> {
    let nanos = match v {
        Value::Number(n) => n.as_f64().unwrap_or(0.0) as i128 * 1_000_000_000,
        Value::String(s) => units::parse_duration(s).map_err(|e| format!("`{at}`: {e}"))?,
        other => {
            return Err(format!(
                "`{at}` must be a duration like \"5m\", not {other}"
            ))
        }
    };
    if nanos <= 0 {
        return Err(format!("`{at}` must be more than zero"));
    }
    Ok(Duration::from_nanos(nanos as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> AppConfig {
        AppConfig::parse(text, Path::new(".")).expect("valid fly.toml")
    }

    #[test]
    fn groups_follow_flyctl() {
        let c = parse("[processes]\nweb = 'serve'\nworker = 'work'\n");
        assert_eq!(c.process_names(), ["web", "worker"]);
        assert_eq!(c.default_process(), "web");
        assert!(c.applies_to("web", &[]));
        assert!(!c.applies_to("worker", &[]));
        let plain = parse("app = 'a'\n");
        assert_eq!(plain.process_names(), ["app"]);
    }

    #[test]
    fn deploy_timeouts_read_strings_and_seconds() {
        let c = parse("[deploy]\nrelease_command = 'bin/migrate'\nrelease_command_timeout = '2m'\nwait_timeout = 30\n");
        assert_eq!(c.release_command(), Some("bin/migrate"));
        assert_eq!(
            c.release_command_timeout().unwrap(),
            Duration::from_secs(120)
        );
        assert_eq!(c.wait_timeout().unwrap(), Some(Duration::from_secs(30)));
        assert_eq!(
            parse("").release_command_timeout().unwrap(),
            RELEASE_TIMEOUT
        );
    }

    #[test]
    fn bad_files_are_errors_not_panics() {
        assert!(AppConfig::parse("app = ", Path::new("."))
            .unwrap_err()
            .contains("TOML"));
        let e =
            AppConfig::parse("[deploy]\nrelease_command = \"a 'b\"\n", Path::new(".")).unwrap_err();
        assert!(e.contains("release_command"), "{e}");
        let e =
            AppConfig::parse("[http_service]\ninternal_port = 'x'\n", Path::new(".")).unwrap_err();
        assert!(e.contains("flyctl"), "{e}");
    }
}
