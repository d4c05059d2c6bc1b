//! flyctl's own expectations (`internal/appconfig/machines_test.go` at
//! superfly/flyctl@ad0172fa), on its own fixtures (`tests/fixtures/corpus/fly-flyctl-testdata/`),
//! written as the Machines API JSON fly-go would send. One difference on purpose: we do not
//! write `metadata.fly_flyctl_version` — stage-gate is not flyctl.

use super::AppConfig;
use serde_json::{json, Value};
use std::path::Path;

fn fixture(name: &str) -> AppConfig {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/fly-flyctl-testdata");
    let path = dir.join(format!(
        "superfly__flyctl__internal_appconfig_testdata_{name}.toml"
    ));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    AppConfig::parse(&text, &dir).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn config(c: &AppConfig, group: &str) -> Value {
    c.machine_config(group, None)
        .unwrap_or_else(|e| panic!("{group}: {e}"))
}

fn tomachine_want() -> Value {
    json!({
        "env": {"FOO": "BAR", "PRIMARY_REGION": "mia", "FLY_PROCESS_GROUP": "app"},
        "services": [{
            "protocol": "tcp", "internal_port": 8080,
            "ports": [
                {"port": 80, "handlers": ["http"], "force_https": true},
                {"port": 443, "handlers": ["http", "tls"]}
            ]
        }],
        "metadata": {"fly_platform_version": "v2", "fly_process_group": "app"},
        "metrics": {"port": 9999, "path": "/metrics"},
        "statics": [{"guest_path": "/guest/path", "url_prefix": "/url/prefix",
                     "tigris_bucket": "example-bucket", "index_document": "index.html"}],
        "mounts": [{"name": "data", "path": "/data"}],
        "checks": {
            "listening": {"port": 8080, "type": "tcp"},
            "status": {"port": 8080, "type": "http", "interval": "10s", "timeout": "1s", "path": "/status"}
        },
        "stop_config": {"timeout": "10s", "signal": "SIGTERM"},
        "init": {"swap_size_mb": 512},
        "restart": {"policy": "always"},
        "dns": {"nameservers": ["1.2.3.4"]}
    })
}

#[test]
fn to_machine_config() {
    assert_eq!(config(&fixture("tomachine"), ""), tomachine_want());
}

/// `ToMachineConfig("", nil)` means the default group.
fn config_default(c: &AppConfig) -> Value {
    config(c, &c.default_process())
}

#[test]
fn to_machine_config_updating_keeps_and_drops_what_flyctl_does() {
    let c = fixture("tomachine");
    let src = json!({
        "guest": {"cpus": 3}, "schedule": "24/7", "auto_destroy": true,
        "restart": {"policy": "always"}, "dns": {"skip_registration": true},
        "env": {"removed": "by-update"}, "mounts": [{"name": "removed", "path": "/by/update"}],
        "metadata": {"retain": "propagated"}, "init": {"cmd": ["removed", "by", "update"]}
    });
    let got = c.machine_config("app", Some(&src)).expect("config");
    let want = tomachine_want();
    for key in ["env", "services", "checks", "mounts"] {
        assert_eq!(got[key], want[key], "{key}");
    }
    assert_eq!(got["guest"], json!({"cpus": 3}));
    assert_eq!(got["schedule"], "24/7");
    assert_eq!(got["auto_destroy"], true);
    assert_eq!(got["restart"], json!({"policy": "always"}));
    assert_eq!(
        got["dns"],
        json!({"skip_registration": true, "nameservers": ["1.2.3.4"]})
    );
    assert_eq!(got["metadata"]["retain"], "propagated");
    assert_eq!(got["init"].get("cmd"), None);
}

#[test]
fn to_machine_config_experimental() {
    let c = fixture("tomachine-experimental");
    assert_eq!(
        config_default(&c)["init"],
        json!({"cmd": ["/call", "me"], "entrypoint": ["/IgoFirst"], "exec": ["ignore", "others"]})
    );
    let mut c = c;
    c.processes
        .insert("app".into(), "/override experimental".into());
    assert_eq!(
        config_default(&c)["init"],
        json!({"cmd": ["/override", "experimental"], "entrypoint": ["/IgoFirst"], "exec": ["ignore", "others"]})
    );
}

#[test]
fn to_machine_config_nullifies_managed_fields() {
    let c = AppConfig::parse("", Path::new(".")).expect("empty config");
    let src = json!({
        "env": {"FOO": "BAR", "PRIMARY_REGION": "mia"},
        "services": [{"protocol": "tcp", "internal_port": 8080}],
        "metrics": {"port": 9999, "path": "/metrics"},
        "statics": [{"guest_path": "/guest/path", "url_prefix": "/url/prefix"}],
        "mounts": [{"name": "data", "path": "/data"}],
        "checks": {"listening": {"port": 8080, "type": "tcp"}}
    });
    let got = c.machine_config("app", Some(&src)).expect("config");
    assert_eq!(got["env"], json!({"FLY_PROCESS_GROUP": "app"}));
    for key in ["metrics", "services", "checks", "mounts", "statics"] {
        assert_eq!(got.get(key), None, "{key}");
    }
}

#[test]
fn to_release_machine_config() {
    let got = fixture("tomachine")
        .release_machine_config()
        .expect("ok")
        .expect("a release command");
    assert_eq!(
        got,
        json!({
            "init": {"cmd": ["migrate-db"], "swap_size_mb": 512},
            "env": {"FOO": "BAR", "PRIMARY_REGION": "mia", "RELEASE_COMMAND": "1",
                    "FLY_PROCESS_GROUP": "fly_app_release_command"},
            "metadata": {"fly_platform_version": "v2", "fly_process_group": "fly_app_release_command"},
            "auto_destroy": true,
            "restart": {"policy": "no"},
            "dns": {"skip_registration": true},
            "stop_config": {"timeout": "10s", "signal": "SIGTERM"},
            "guest": {"cpu_kind": "performance", "cpus": 2, "memory_mb": 4096}
        })
    );
    assert_eq!(
        fixture("tomachine").release_command_timeout().unwrap(),
        std::time::Duration::from_secs(180)
    );
}

#[test]
fn to_machine_config_multi_process_groups() {
    let c = fixture("tomachine-processgroups");
    let app = config(&c, "app");
    assert_eq!(app["metadata"]["fly_process_group"], "app");
    assert_eq!(app["init"], json!({"cmd": ["run-nginx"]}));
    assert_eq!(
        app["services"],
        json!([
            {"protocol": "tcp", "internal_port": 8080, "ports": [
                {"port": 80, "handlers": ["http"]}, {"port": 443, "handlers": ["http", "tls"]}]},
            {"protocol": "tcp", "internal_port": 1111}
        ])
    );
    assert_eq!(
        app["checks"],
        json!({"listening": {"port": 8080, "type": "tcp"}})
    );

    let vpn = config(&c, "vpn");
    assert_eq!(vpn["init"], json!({"cmd": ["run-tailscale"]}));
    assert_eq!(
        vpn["services"],
        json!([{"protocol": "udp", "internal_port": 9999}, {"protocol": "tcp", "internal_port": 1111}])
    );
    assert_eq!(vpn.get("checks"), None);

    let foo = config(&c, "foo");
    assert_eq!(foo["init"], json!({"cmd": ["keep", "me", "alive"]}));
    assert_eq!(
        foo["services"],
        json!([{"protocol": "tcp", "internal_port": 1111}])
    );
    assert_eq!(
        foo["checks"],
        json!({"listening": {"port": 8080, "type": "tcp"}})
    );
}

#[test]
fn to_machine_config_default_v2_fly_toml() {
    let mut c = fixture("tomachine-default-for-new-apps");
    assert_eq!(
        config_default(&c),
        json!({
            "env": {"PRIMARY_REGION": "ord", "FLY_PROCESS_GROUP": "app"},
            "services": [{"protocol": "tcp", "internal_port": 8080, "ports": [
                {"port": 80, "handlers": ["http"], "force_https": true},
                {"port": 443, "handlers": ["http", "tls"]}]}],
            "metadata": {"fly_platform_version": "v2", "fly_process_group": "app"},
            "checks": {"alive": {"port": 8080, "type": "tcp", "interval": "15s", "timeout": "2s", "grace_period": "5s"}},
            "init": {}
        })
    );
    // A top-level check without a port needs an http_service to take it from.
    c.http_service = None;
    let err = c.machine_config("app", None).unwrap_err();
    assert!(err.contains("has no port set"), "{err}");
}

#[test]
fn to_machine_config_mounts_per_group() {
    let c = fixture("tomachine-mounts");
    let mounts = |g: &str| config(&c, g).get("mounts").cloned();
    assert_eq!(
        mounts("app"),
        Some(json!([{"name": "data", "path": "/data"}]))
    );
    assert_eq!(
        mounts("back"),
        Some(json!([{"name": "trash", "path": "/trash"}]))
    );
    assert_eq!(mounts("hola"), None);
}

#[test]
fn to_machine_config_services_autostop_autostart() {
    let got = config_default(&fixture("tomachine-services"));
    assert_eq!(
        got["services"],
        json!([
            {"protocol": "tcp", "internal_port": 8080, "autostart": true, "autostop": "stop",
             "ports": [{"port": 80, "handlers": ["http"], "force_https": true},
                       {"port": 443, "handlers": ["http", "tls"]}]},
            {"protocol": "tcp", "internal_port": 1000, "autostart": true, "autostop": "stop"},
            {"protocol": "tcp", "internal_port": 1001, "autostart": false, "autostop": "off"},
            {"protocol": "tcp", "internal_port": 1002, "autostart": false},
            {"protocol": "tcp", "internal_port": 1003, "autostop": "stop"},
            {"protocol": "tcp", "internal_port": 1004}
        ])
    );
}

#[test]
fn to_machine_config_compute() {
    let c = fixture("tomachine-compute");
    let guest = |g: &str| config(&c, g)["guest"].clone();
    assert_eq!(
        guest("app"),
        json!({"cpu_kind": "shared", "cpus": 2, "memory_mb": 512})
    );
    assert_eq!(
        guest("worker"),
        json!({"cpu_kind": "shared", "cpus": 2, "memory_mb": 512})
    );
    assert_eq!(
        guest("whisper"),
        json!({"cpu_kind": "performance", "cpus": 8, "memory_mb": 65536, "gpu_kind": "a100-pcie-40gb"})
    );
    assert_eq!(
        guest("isolated"),
        json!({"cpu_kind": "shared", "cpus": 1, "memory_mb": 256, "host_dedication_id": "lookma-iamsolo"})
    );
}

#[test]
fn to_machine_config_compute_none() {
    let c = fixture("tomachine-compute-nodefault");
    assert_eq!(config(&c, "app").get("guest"), None);
    assert_eq!(config(&c, "woo").get("guest"), None);
    assert_eq!(
        config(&c, "bar")["guest"],
        json!({"cpu_kind": "performance", "cpus": 4, "memory_mb": 8192})
    );
}

#[test]
fn to_machine_config_host_dedication_id() {
    let c = fixture("tomachine-hostdedicationid");
    assert_eq!(config(&c, "front").get("guest"), None);
    assert_eq!(
        config(&c, "back")["guest"],
        json!({"cpu_kind": "shared", "cpus": 1, "memory_mb": 256, "host_dedication_id": "specific"})
    );
    assert_eq!(
        config(&c, "other")["guest"],
        json!({"cpu_kind": "shared", "cpus": 4, "memory_mb": 1024, "host_dedication_id": "toplevel"})
    );
}

/// Every flyctl fixture flyctl itself loads reads here too, or fails with a message.
#[test]
fn every_flyctl_fixture_converts_or_explains() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/fly-flyctl-testdata");
    let mut converted = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures").flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Ok(c) = AppConfig::parse(&text, &dir) {
            for g in c.process_names() {
                if c.machine_config(&g, None).is_ok() {
                    converted += 1;
                }
            }
        }
    }
    assert!(converted >= 30, "only {converted} group configs converted");
}
