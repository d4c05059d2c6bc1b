//! fly.toml as flyctl reads it: older and looser spellings rewritten to the one form the model
//! reads (flyctl's `internal/appconfig/patches.go` does the same before it decodes).
//!
//! - a single table where an array of tables is meant (`[mounts]`, `[[vm]]`, `[metrics]`…)
//! - `[compute]`/`[computes]` → `[[vm]]`, `[mount]` → `[[mounts]]`, `[metric]` → `[[metrics]]`
//! - `[env]` values of any type → strings; a list of tables merged
//! - `processes` as a list of `{name, command}`
//! - `kill_timeout = 10` (seconds), check intervals as integers (milliseconds) → Go durations
//! - `concurrency = "20,25"` (soft,hard), ports and `internal_port` written as strings
//! - `[experimental] cmd/entrypoint/exec` as one string, `kill_timeout`, `metrics_port/path`

use super::units::normalise_duration;
use serde_json::{json, Map, Value};

const SECOND: i128 = 1_000_000_000;
const MILLISECOND: i128 = 1_000_000;

pub fn patch(mut root: Value) -> Result<Value, String> {
    let Some(cfg) = root.as_object_mut() else {
        return Err("fly.toml must be a table".into());
    };
    if let Some(v) = cfg.get("kill_timeout").cloned() {
        cfg.insert(
            "kill_timeout".into(),
            json!(duration(&v, SECOND, "kill_timeout")?),
        );
    }
    patch_env(cfg)?;
    patch_processes(cfg)?;
    patch_experimental(cfg)?;
    merge_aliases(cfg, &["compute", "computes", "vm"], "vm");
    for vm in array_mut(cfg, "vm") {
        stringify(vm, "memory");
    }
    merge_aliases(cfg, &["mount", "mounts"], "mounts");
    for m in array_mut(cfg, "mounts") {
        stringify(m, "initial_size");
    }
    merge_aliases(cfg, &["metric", "metrics"], "metrics");
    for key in ["restart", "statics", "files", "services"] {
        merge_aliases(cfg, &[key], key);
    }
    patch_checks(cfg)?;
    for (i, s) in array_mut(cfg, "services").into_iter().enumerate() {
        patch_service(s, &format!("services[{i}]"))?;
    }
    // flyctl does not patch `[[http_service.checks]]`: a bare integer there is decoded as Go
    // decodes a Duration from JSON, in nanoseconds (`interval = 15000` is 15µs, not 15 s).
    if let Some(Value::Object(h)) = cfg.get_mut("http_service") {
        merge_aliases(h, &["checks"], "checks");
        for c in array_mut(h, "checks") {
            patch_check(c, "http_service.checks", 1)?;
        }
    }
    Ok(root)
}

fn duration(v: &Value, unit: i128, at: &str) -> Result<String, String> {
    normalise_duration(v, unit).map_err(|e| format!("`{at}`: {e}"))
}

/// The entries of the array at `key` (made one first if needed), as objects.
fn array_mut<'a>(cfg: &'a mut Map<String, Value>, key: &str) -> Vec<&'a mut Map<String, Value>> {
    match cfg.get_mut(key) {
        Some(Value::Array(items)) => items.iter_mut().filter_map(Value::as_object_mut).collect(),
        _ => Vec::new(),
    }
}

/// Every alias of `key` folded into one array at `key`.
fn merge_aliases(cfg: &mut Map<String, Value>, aliases: &[&str], key: &str) {
    let mut all = Vec::new();
    let mut found = false;
    for a in aliases {
        match cfg.remove(*a) {
            Some(Value::Array(items)) => {
                found = true;
                all.extend(items);
            }
            Some(Value::Object(table)) => {
                found = true;
                if !table.is_empty() {
                    all.push(Value::Object(table));
                }
            }
            Some(other) => {
                found = true;
                all.push(other);
            }
            None => {}
        }
    }
    if found {
        cfg.insert(key.into(), Value::Array(all));
    }
}

fn stringify(obj: &mut Map<String, Value>, key: &str) {
    if let Some(v) = obj.get(key) {
        if !v.is_string() {
            let s = v.to_string();
            obj.insert(key.into(), Value::String(s));
        }
    }
}

fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn patch_env(cfg: &mut Map<String, Value>) -> Result<(), String> {
    let Some(raw) = cfg.remove("env") else {
        return Ok(());
    };
    let tables: Vec<Value> = match raw {
        Value::Array(items) => items,
        table @ Value::Object(_) => vec![table],
        other => return Err(format!("`env` must be a table, not {other}")),
    };
    let mut env = Map::new();
    for t in tables {
        let Value::Object(t) = t else {
            return Err("`env` entries must be tables".into());
        };
        for (k, v) in t {
            env.insert(k, Value::String(scalar_string(&v)));
        }
    }
    cfg.insert("env".into(), Value::Object(env));
    Ok(())
}

fn patch_processes(cfg: &mut Map<String, Value>) -> Result<(), String> {
    let Some(raw) = cfg.get("processes").cloned() else {
        return Ok(());
    };
    let map = match raw {
        Value::Object(m) => m
            .into_iter()
            .map(|(k, v)| (k, Value::String(scalar_string(&v))))
            .collect(),
        Value::Array(items) => {
            let mut m = Map::new();
            for item in items {
                if let Some(name) = item["name"].as_str() {
                    let cmd = item.get("command").map(scalar_string).unwrap_or_default();
                    m.insert(name.to_string(), Value::String(cmd));
                }
            }
            m
        }
        other => return Err(format!("`processes` must be a table, not {other}")),
    };
    cfg.insert("processes".into(), Value::Object(map));
    Ok(())
}

fn patch_experimental(cfg: &mut Map<String, Value>) -> Result<(), String> {
    let Some(Value::Object(exp)) = cfg.get_mut("experimental") else {
        return Ok(());
    };
    let mut kill_timeout = None;
    let mut metrics = Map::new();
    for key in ["cmd", "entrypoint", "exec"] {
        if let Some(Value::String(s)) = exp.get(key).cloned() {
            let words = shlex::split(&s)
                .ok_or_else(|| format!("`experimental.{key}` is not a valid command line"))?;
            exp.insert(key.into(), json!(words));
        }
    }
    if let Some(v) = exp.remove("kill_timeout") {
        kill_timeout = Some(v);
    }
    for key in ["metrics_port", "metrics_path"] {
        if let Some(v) = exp.remove(key) {
            metrics.insert(key.trim_start_matches("metrics_").to_string(), v);
        }
    }
    if let Some(v) = kill_timeout {
        if !cfg.contains_key("kill_timeout") {
            cfg.insert(
                "kill_timeout".into(),
                json!(duration(&v, SECOND, "experimental.kill_timeout")?),
            );
        }
    }
    if !metrics.is_empty() && !cfg.contains_key("metrics") {
        cfg.insert("metrics".into(), Value::Object(metrics));
    }
    Ok(())
}

/// `[checks]` as a table of named checks (or a list with `name`), durations in ms when bare.
fn patch_checks(cfg: &mut Map<String, Value>) -> Result<(), String> {
    let Some(raw) = cfg.remove("checks") else {
        return Ok(());
    };
    let mut checks = Map::new();
    match raw {
        Value::Object(m) => checks = m,
        Value::Array(items) => {
            for item in items {
                let name = item["name"]
                    .as_str()
                    .ok_or("a `checks` entry needs a `name`")?
                    .to_string();
                checks.insert(name, item);
            }
        }
        other => return Err(format!("`checks` must be a table, not {other}")),
    }
    for (name, check) in checks.iter_mut() {
        if let Some(c) = check.as_object_mut() {
            patch_check(c, &format!("checks.{name}"), MILLISECOND)?;
        }
    }
    cfg.insert("checks".into(), Value::Object(checks));
    Ok(())
}

fn patch_check(check: &mut Map<String, Value>, at: &str, unit: i128) -> Result<(), String> {
    for key in ["interval", "timeout", "grace_period"] {
        if let Some(v) = check.get(key).cloned() {
            check.insert(
                key.into(),
                json!(duration(&v, unit, &format!("{at}.{key}"))?),
            );
        }
    }
    if let Some(Value::Array(list)) = check.get("headers").cloned() {
        // `headers = [{name, value}]` is the older spelling of a table.
        let mut map = Map::new();
        for h in list {
            if let Some(name) = h.get("name") {
                let value = h.get("value").map(scalar_string).unwrap_or_default();
                map.insert(scalar_string(name), Value::String(value));
            }
        }
        check.insert("headers".into(), Value::Object(map));
    }
    Ok(())
}

fn patch_service(s: &mut Map<String, Value>, at: &str) -> Result<(), String> {
    if let Some(Value::String(c)) = s.get("concurrency").cloned() {
        let (soft, hard) = c
            .split_once(',')
            .ok_or_else(|| format!("`{at}.concurrency`: {c:?} is not \"soft,hard\""))?;
        let parse = |x: &str| {
            x.trim()
                .parse::<u64>()
                .map_err(|_| format!("`{at}.concurrency`: {c:?} is not \"soft,hard\""))
        };
        s.insert(
            "concurrency".into(),
            json!({"type": "requests", "soft_limit": parse(soft)?, "hard_limit": parse(hard)?}),
        );
    }
    if let Some(Value::String(p)) = s.get("internal_port").cloned() {
        let port: u64 = p
            .parse()
            .map_err(|_| format!("`{at}.internal_port`: {p:?} is not a port"))?;
        s.insert("internal_port".into(), json!(port));
    }
    merge_aliases(s, &["ports"], "ports");
    for port in array_mut(s, "ports") {
        if let Some(Value::String(p)) = port.get("port").cloned() {
            let n: u64 = p
                .parse()
                .map_err(|_| format!("`{at}.ports.port`: {p:?} is not a port"))?;
            port.insert("port".into(), json!(n));
        }
    }
    for kind in ["tcp_checks", "http_checks"] {
        merge_aliases(s, &[kind], kind);
        for c in array_mut(s, kind) {
            patch_check(c, &format!("{at}.{kind}"), MILLISECOND)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_spellings_become_the_current_ones() {
        let v = patch(json!({
            "kill_timeout": 10,
            "env": [{"A": 1}, {"B": true}],
            "processes": [{"name": "web", "command": "serve"}],
            "mount": {"source": "data", "destination": "/data", "initial_size": 3},
            "compute": {"memory": 512},
            "experimental": {"cmd": "run --fast", "metrics_port": 9091},
            "checks": {"alive": {"type": "tcp", "interval": 15000}},
            "services": [{"internal_port": "8080", "concurrency": "20,25",
                          "ports": {"port": "80"}, "tcp_checks": {"interval": 10000}}],
        }))
        .expect("patched");
        assert_eq!(v["kill_timeout"], "10s");
        assert_eq!(v["env"], json!({"A": "1", "B": "true"}));
        assert_eq!(v["processes"], json!({"web": "serve"}));
        assert_eq!(v["mounts"][0]["initial_size"], "3");
        assert_eq!(v["vm"][0]["memory"], "512");
        assert_eq!(v["experimental"]["cmd"], json!(["run", "--fast"]));
        assert_eq!(v["metrics"][0]["port"], 9091);
        assert_eq!(v["checks"]["alive"]["interval"], "15s");
        let s = &v["services"][0];
        assert_eq!(s["internal_port"], 8080);
        assert_eq!(s["concurrency"]["hard_limit"], 25);
        assert_eq!(s["ports"][0]["port"], 80);
        assert_eq!(s["tcp_checks"][0]["interval"], "10s");
    }
}
