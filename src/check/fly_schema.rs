//! What a fly.toml may contain: known sections and keys in both styles (the Nomad-era
//! `[[services]]` and the Machines-era `[http_service]`) and the kind of value each takes.
//! Written from flyctl's `internal/appconfig` (its parser is lenient: stringified ports,
//! millisecond integers as durations, a section as a table or an array of tables), not from
//! SchemaStore's schema, which rejects files that deploy.

/// The kind of value a key takes. Checked by `fly_toml::Walker`.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// Anything (free-form or not worth checking).
    Any,
    Str,
    Bool,
    Int,
    Number,
    /// 1–65535, also as a string (`"8080"`, flyctl's old format).
    Port,
    /// Go duration text (`"5s"`, `"1m21s"`) or a bare number (milliseconds in checks,
    /// seconds in `kill_timeout`).
    Duration,
    /// Megabytes as an integer, or a size with a unit (`"256mb"`, `"1gb"`).
    Memory,
    /// Gigabytes as an integer, or a size with a unit (`"15Mb"`, `"30gb"`): volume sizes.
    VolumeSize,
    StrList,
    /// A command: a string or a list of strings.
    Command,
    Enum(&'static [&'static str]),
    /// `true`/`false` or `"off"`, `"stop"`, `"suspend"`.
    AutoStop,
    /// A concurrency table, or the old `"soft,hard"` string.
    Concurrency,
    /// A table with these keys; other keys are warnings.
    Table(&'static [Field]),
    /// A table with any keys, each value of this kind.
    Map(&'static Ty),
    Array(&'static Ty),
    /// `[x]` or `[[x]]`: a table with these keys, or an array of them.
    OneOrMany(&'static [Field]),
    /// `[processes]`: a map of group → command, or the empty `[[processes]]` that the
    /// GraphQL API used to return.
    Processes,
    /// `[env]` (or the `[[env]]` list flyctl merges): name → string, number or boolean.
    Env,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
}

const fn f(name: &'static str, ty: Ty) -> Field {
    Field { name, ty }
}

pub const CONCURRENCY: &[Field] = &[
    f("type", Ty::Enum(&["connections", "requests"])),
    f("hard_limit", Ty::Int),
    f("soft_limit", Ty::Int),
];

pub const SIGNALS: &[&str] = &[
    "SIGINT", "SIGTERM", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGKILL", "SIGSTOP", "SIGHUP", "SIGABRT",
];
pub const STRATEGIES: &[&str] = &["rolling", "immediate", "canary", "bluegreen"];
pub const CPU_KINDS: &[&str] = &["shared", "performance"];

const HEADERS: Ty = Ty::Map(&Ty::Any);

const HTTP_OPTIONS: &[Field] = &[
    f("compress", Ty::Bool),
    f("h2_backend", Ty::Bool),
    f("idle_timeout", Ty::Int),
    f("headers_read_timeout", Ty::Int),
    f(
        "response",
        Ty::Table(&[f("headers", HEADERS), f("pristine", Ty::Bool)]),
    ),
];

const TLS_OPTIONS: &[Field] = &[
    f("alpn", Ty::StrList),
    f("versions", Ty::StrList),
    f("default_self_signed", Ty::Bool),
];

/// `[[http_service.checks]]`, `[[services.http_checks]]`, `[[services.tcp_checks]]`.
const SERVICE_CHECK: &[Field] = &[
    f("interval", Ty::Duration),
    f("timeout", Ty::Duration),
    f("grace_period", Ty::Duration),
    f("restart_limit", Ty::Int),
    f("method", Ty::Str),
    f("path", Ty::Str),
    f("protocol", Ty::Enum(&["http", "https"])),
    f("tls_skip_verify", Ty::Bool),
    f("tls_server_name", Ty::Str),
    f("headers", Ty::Any),
    f("port", Ty::Port),
    f("type", Ty::Str),
];

const MACHINE_CHECK: &[Field] = &[
    f("command", Ty::Command),
    f("image", Ty::Str),
    f("entrypoint", Ty::Command),
    f("kill_timeout", Ty::Duration),
    f("kill_signal", Ty::Enum(SIGNALS)),
];

const PORT: &[Field] = &[
    f("port", Ty::Port),
    f("start_port", Ty::Port),
    f("end_port", Ty::Port),
    f("handlers", Ty::StrList),
    f("force_https", Ty::Bool),
    f("http_options", Ty::Table(HTTP_OPTIONS)),
    f("tls_options", Ty::Table(TLS_OPTIONS)),
    f("proxy_proto_options", Ty::Table(&[f("version", Ty::Str)])),
];

/// Keys shared by `[http_service]` and `[[services]]`.
macro_rules! service_fields {
    ($($extra:expr),* $(,)?) => {
        &[
            f("internal_port", Ty::Port),
            f("processes", Ty::StrList),
            f("auto_stop_machines", Ty::AutoStop),
            f("auto_start_machines", Ty::Bool),
            f("min_machines_running", Ty::Int),
            f("max_machines_running", Ty::Int),
            f("concurrency", Ty::Concurrency),
            f("machine_checks", Ty::Array(&Ty::Table(MACHINE_CHECK))),
            $($extra),*
        ]
    };
}

const HTTP_SERVICE: &[Field] = service_fields!(
    f("force_https", Ty::Bool),
    f("force_instance_key", Ty::Bool),
    f("checks", Ty::Array(&Ty::Table(SERVICE_CHECK))),
    f("http_options", Ty::Table(HTTP_OPTIONS)),
    f("tls_options", Ty::Table(TLS_OPTIONS)),
    f("redirects", Ty::Any),
    f("restart_machine_strategy", Ty::Str),
);

const SERVICE: &[Field] = service_fields!(
    f("protocol", Ty::Enum(&["tcp", "udp"])),
    f("ports", Ty::Array(&Ty::Table(PORT))),
    f("tcp_checks", Ty::Array(&Ty::Table(SERVICE_CHECK))),
    f("http_checks", Ty::Array(&Ty::Table(SERVICE_CHECK))),
    // Nomad-era; ignored by Machines but still found in files that deploy.
    f("script_checks", Ty::Any),
);

/// `[checks.NAME]`: top-level machine checks.
const TOP_CHECK: &[Field] = &[
    f("port", Ty::Port),
    f("type", Ty::Enum(&["http", "tcp", "script"])),
    f("interval", Ty::Duration),
    f("timeout", Ty::Duration),
    f("grace_period", Ty::Duration),
    f("method", Ty::Str),
    f("path", Ty::Str),
    f("protocol", Ty::Enum(&["http", "https"])),
    f("tls_skip_verify", Ty::Bool),
    f("tls_server_name", Ty::Str),
    // A table, or the list of {name, value} pairs older files use.
    f("headers", Ty::Any),
    f("processes", Ty::StrList),
    // script checks (Nomad era)
    f("command", Ty::Any),
    f("args", Ty::Any),
];

const MOUNT: &[Field] = &[
    f("source", Ty::Str),
    f("destination", Ty::Str),
    f("initial_size", Ty::VolumeSize),
    f("processes", Ty::StrList),
    f("snapshot_retention", Ty::Int),
    f("scheduled_snapshots", Ty::Bool),
    f("auto_extend_size_threshold", Ty::Int),
    f("auto_extend_size_increment", Ty::VolumeSize),
    f("auto_extend_size_limit", Ty::VolumeSize),
];

const VM: &[Field] = &[
    f("size", Ty::Str),
    f("memory", Ty::Memory),
    f("memory_mb", Ty::Int),
    f("cpu_kind", Ty::Enum(CPU_KINDS)),
    f("cpus", Ty::Int),
    f("gpus", Ty::Int),
    f("gpu_kind", Ty::Str),
    f("kernel_args", Ty::StrList),
    f("host_dedication_id", Ty::Str),
    f("persist_rootfs", Ty::Str),
    f("processes", Ty::StrList),
    f("mounts", Ty::Any),
];

const BUILD: &[Field] = &[
    f("builder", Ty::Str),
    f("image", Ty::Str),
    f("builtin", Ty::Str),
    f("dockerfile", Ty::Str),
    f("ignorefile", Ty::Str),
    f("build-target", Ty::Str),
    f("build_target", Ty::Str),
    f("docker_build_target", Ty::Str),
    f("buildpacks", Ty::StrList),
    f("settings", Ty::Map(&Ty::Any)),
    f("args", Ty::Map(&Ty::Any)),
    f("compose", Ty::Any),
];

const DEPLOY: &[Field] = &[
    f("release_command", Ty::Str),
    f("release_command_timeout", Ty::Duration),
    f(
        "release_command_vm",
        Ty::Table(&[f("size", Ty::Str), f("memory", Ty::Memory)]),
    ),
    f("strategy", Ty::Enum(STRATEGIES)),
    f("max_unavailable", Ty::Number),
    f("wait_timeout", Ty::Duration),
    f("seed_command", Ty::Str),
];

const EXPERIMENTAL: &[Field] = &[
    f("cmd", Ty::Command),
    f("entrypoint", Ty::Command),
    f("exec", Ty::Command),
    f("auto_rollback", Ty::Bool),
    f("enable_consul", Ty::Bool),
    f("enable_etcd", Ty::Bool),
    f("lazy_load_images", Ty::Bool),
    f("attached", Ty::Any),
    f("machine_config", Ty::Str),
    // Nomad-era keys that flyctl still parses without complaint.
    f("allowed_public_ports", Ty::Any),
    f("private_network", Ty::Bool),
    f("enable_6pn", Ty::Bool),
    f("kill_timeout", Ty::Duration),
    f("metrics_port", Ty::Port),
    f("metrics_path", Ty::Str),
];

pub const TOP: &[Field] = &[
    f("app", Ty::Str),
    f("primary_region", Ty::Str),
    f("kill_signal", Ty::Enum(SIGNALS)),
    f("kill_timeout", Ty::Duration),
    f("swap_size_mb", Ty::Int),
    f("console_command", Ty::Str),
    f("host_dedication_id", Ty::Str),
    f("build", Ty::Table(BUILD)),
    f("deploy", Ty::Table(DEPLOY)),
    f("env", Ty::Env),
    f("http_service", Ty::Table(HTTP_SERVICE)),
    f("services", Ty::OneOrMany(SERVICE)),
    f("checks", Ty::Map(&Ty::Table(TOP_CHECK))),
    f("machine_checks", Ty::Array(&Ty::Table(MACHINE_CHECK))),
    f("mounts", Ty::OneOrMany(MOUNT)),
    // flyctl accepts the singular spelling too.
    f("mount", Ty::OneOrMany(MOUNT)),
    f("processes", Ty::Processes),
    f("vm", Ty::OneOrMany(VM)),
    // `[[compute]]` is flyctl's alias for `[[vm]]`.
    f("compute", Ty::OneOrMany(VM)),
    f("experimental", Ty::Table(EXPERIMENTAL)),
    f(
        "metrics",
        Ty::OneOrMany(&[
            f("port", Ty::Port),
            f("path", Ty::Str),
            f("https", Ty::Bool),
            f("processes", Ty::StrList),
        ]),
    ),
    f(
        "statics",
        Ty::OneOrMany(&[
            f("guest_path", Ty::Str),
            f("url_prefix", Ty::Str),
            f("tigris_bucket", Ty::Str),
            f("index_document", Ty::Str),
        ]),
    ),
    f(
        "files",
        Ty::OneOrMany(&[
            f("guest_path", Ty::Str),
            f("local_path", Ty::Str),
            f("secret_name", Ty::Str),
            f("raw_value", Ty::Str),
            f("processes", Ty::StrList),
        ]),
    ),
    f(
        "restart",
        Ty::OneOrMany(&[
            f("policy", Ty::Enum(&["always", "never", "on-failure"])),
            f("retries", Ty::Int),
            f("processes", Ty::StrList),
        ]),
    ),
];

/// The kind of value at a dotted path as parity flattens files (`vm.memory`,
/// `http_service.checks.interval`, `checks.<name>.timeout`), where the schema says.
pub fn type_at(path: &str) -> Option<Ty> {
    path.split('.').try_fold(Ty::Table(TOP), child)
}

fn child(ty: Ty, key: &str) -> Option<Ty> {
    match ty {
        Ty::Table(fields) | Ty::OneOrMany(fields) => {
            fields.iter().find(|f| f.name == key).map(|f| f.ty)
        }
        Ty::Map(inner) => Some(*inner),
        Ty::Array(inner) => child(*inner, key),
        Ty::Concurrency => child(Ty::Table(CONCURRENCY), key),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_found_by_dotted_path() {
        assert!(matches!(type_at("vm.memory"), Some(Ty::Memory)));
        assert!(matches!(
            type_at("http_service.checks.interval"),
            Some(Ty::Duration)
        ));
        assert!(matches!(
            type_at("checks.alive.timeout"),
            Some(Ty::Duration)
        ));
        assert!(matches!(
            type_at("http_service.auto_stop_machines"),
            Some(Ty::AutoStop)
        ));
        assert!(matches!(
            type_at("mounts.initial_size"),
            Some(Ty::VolumeSize)
        ));
        assert!(type_at("vm.nope").is_none());
    }
}
