//! Checks one fly.toml: syntax (with line and column), known sections and keys, value
//! types and ranges, references between sections (process groups, check ports, mounts),
//! and secrets written in plain `[env]`. Unknown keys are warnings: real files carry
//! extra keys and still deploy. What may appear where is `fly_schema`'s business.

use super::fly_schema::{Field, Ty, CONCURRENCY, TOP};
use super::secrets;
use super::tree::{self, Node, Pos, Val};
use crate::appconfig::units;
use crate::config::suggest::did_you_mean;
use crate::report::{Diagnostic, Location, Severity};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A parsed fly.toml and what was found in it.
#[derive(Debug, Clone)]
pub struct FlyFile {
    /// Repo-relative path, as shown in diagnostics.
    pub path: PathBuf,
    pub text: String,
    /// None when the file is not valid TOML.
    pub root: Option<Node>,
}

impl FlyFile {
    pub fn location(&self, pos: Pos) -> Location {
        Location::new(&self.path, pos.line, pos.column).with_source(&self.text)
    }

    /// `[build] dockerfile`, when set.
    pub fn dockerfile(&self) -> Option<&str> {
        self.root
            .as_ref()?
            .get("build")?
            .get("dockerfile")?
            .as_str()
    }

    pub fn app(&self) -> Option<&str> {
        self.root.as_ref()?.get("app")?.as_str()
    }
}

/// Parse and check `text` (the contents of `path`).
pub fn check(path: &Path, text: &str) -> (FlyFile, Vec<Diagnostic>) {
    let mut file = FlyFile {
        path: path.to_path_buf(),
        text: text.to_string(),
        root: None,
    };
    let mut diags = Vec::new();
    match tree::parse(text) {
        Err(e) => diags.push(
            Diagnostic::error(
                "fly/syntax",
                format!("invalid TOML: {}", e.message),
                file.location(e.pos),
            )
            .with_help("fix the syntax; flyctl cannot read this file at all"),
        ),
        Ok(root) if root.entries().is_empty() => diags.push(
            // One finding, not one per key its staging/production twin has.
            Diagnostic::error(
                "fly/empty",
                "this fly.toml is empty: flyctl needs at least `app` and, to deploy, a build or an image",
                file.location(tree::Pos { line: 1, column: 1 }),
            )
            .with_help("run `fly config save -a <app>` to write the app's current config here, or remove the file"),
        ),
        Ok(root) => {
            let mut walker = Walker {
                file: &file,
                diags: &mut diags,
            };
            walker.table(&root, TOP, "");
            cross_checks(&file, &root, &mut diags);
            file.root = Some(root);
        }
    }
    (file, diags)
}

struct Walker<'a> {
    file: &'a FlyFile,
    diags: &'a mut Vec<Diagnostic>,
}

impl Walker<'_> {
    fn push(
        &mut self,
        severity: Severity,
        rule: &str,
        msg: String,
        pos: Pos,
        help: Option<String>,
    ) {
        let mut d = Diagnostic::new(severity, rule, msg, self.file.location(pos));
        d.help = help;
        self.diags.push(d);
    }

    fn type_error(&mut self, node: &Node, path: &str, expected: &str) {
        self.push(
            Severity::Error,
            "fly/type",
            format!("`{path}` must be {expected}, found {}", node.type_name()),
            node.pos,
            None,
        );
    }

    fn value_error(&mut self, node: &Node, path: &str, problem: String, help: Option<String>) {
        self.push(
            Severity::Error,
            "fly/value",
            format!("`{path}` = {}: {problem}", node.display()),
            node.pos,
            help,
        );
    }

    fn table(&mut self, node: &Node, fields: &[Field], path: &str) {
        let Val::Table(entries) = &node.val else {
            return self.type_error(node, path, "a table");
        };
        for (key, child) in entries {
            let child_path = join(path, key);
            match fields.iter().find(|f| f.name == key) {
                Some(field) => self.value(child, field.ty, &child_path),
                None => {
                    let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
                    let help = did_you_mean(key, &names)
                        .map(|s| format!("did you mean `{}`?", join(path, s)));
                    self.push(
                        Severity::Warning,
                        "fly/unknown-key",
                        format!("unknown key `{child_path}`: flyctl ignores it"),
                        child.pos,
                        help,
                    );
                }
            }
        }
    }

    fn value(&mut self, node: &Node, ty: Ty, path: &str) {
        match ty {
            Ty::Any => {}
            Ty::Str => self.expect(node, path, "a string", matches!(node.val, Val::Str(_))),
            Ty::Bool => self.expect(node, path, "true or false", matches!(node.val, Val::Bool(_))),
            Ty::Int => self.expect(node, path, "an integer", is_int(node)),
            Ty::Number => self.expect(
                node,
                path,
                "a number",
                matches!(node.val, Val::Int(_) | Val::Float(_)),
            ),
            Ty::Port => self.port(node, path),
            Ty::Duration => self.duration(node, path),
            Ty::Memory => self.size(node, path, "megabytes"),
            Ty::VolumeSize => self.size(node, path, "gigabytes"),
            Ty::StrList => match &node.val {
                Val::Array(items) => items
                    .iter()
                    .for_each(|i| self.value(i, Ty::Str, &format!("{path}[]"))),
                _ => self.type_error(node, path, "a list of strings"),
            },
            Ty::Command => match &node.val {
                Val::Str(_) => {}
                Val::Array(items) => items
                    .iter()
                    .for_each(|i| self.value(i, Ty::Str, &format!("{path}[]"))),
                _ => self.type_error(node, path, "a command (a string or a list of strings)"),
            },
            Ty::Enum(allowed) => match node.as_str() {
                Some(s) if allowed.contains(&s) => {}
                Some(s) => {
                    let help = Some(crate::config::suggest::one_of(s, allowed));
                    self.value_error(node, path, "not a value fly.io knows".into(), help);
                }
                None => self.type_error(node, path, &format!("one of {}", allowed.join(", "))),
            },
            Ty::AutoStop => match &node.val {
                Val::Bool(_) => {}
                Val::Str(s) if ["off", "stop", "suspend"].contains(&s.as_str()) => {}
                _ => self.value_error(
                    node,
                    path,
                    "expected true, false, \"off\", \"stop\" or \"suspend\"".into(),
                    None,
                ),
            },
            Ty::Concurrency => match &node.val {
                Val::Table(_) => self.table(node, CONCURRENCY, path),
                Val::Str(s) if parse_soft_hard(s) => {}
                // `[[services.concurrency]]`: flyctl reads the table; real files deploy so.
                Val::Array(items) if items.len() == 1 => {
                    self.table(&items[0], CONCURRENCY, path);
                    self.push(
                        Severity::Warning,
                        "fly/style",
                        format!("`[[{path}]]` is a list of one table"),
                        node.pos,
                        Some(format!("write `[{path}]`")),
                    );
                }
                _ => self.value_error(
                    node,
                    path,
                    "expected a table (type, soft_limit, hard_limit) or the old \"soft,hard\" string"
                        .into(),
                    Some(format!("write [{path}] with soft_limit and hard_limit")),
                ),
            },
            Ty::Table(fields) => self.table(node, fields, path),
            Ty::Map(inner) => match &node.val {
                Val::Table(entries) => {
                    for (k, v) in entries {
                        self.value(v, *inner, &join(path, k));
                    }
                }
                _ => self.type_error(node, path, "a table"),
            },
            Ty::Array(inner) => match &node.val {
                Val::Array(items) => items.iter().for_each(|i| self.value(i, *inner, path)),
                // flyctl also accepts a single table where it expects a list of them.
                Val::Table(_) => self.value(node, *inner, path),
                _ => self.type_error(node, path, "an array"),
            },
            Ty::OneOrMany(fields) => match &node.val {
                Val::Array(items) => items.iter().for_each(|i| self.table(i, fields, path)),
                _ => self.table(node, fields, path),
            },
            Ty::Processes => match &node.val {
                // The empty `[[processes]]` the GraphQL API returned, and the old list
                // form `[[processes]] name = "web" command = "./web"`.
                Val::Array(items) => {
                    for item in items {
                        self.table(item, &[Field { name: "name", ty: Ty::Str }, Field { name: "command", ty: Ty::Command }], path);
                    }
                }
                _ => self.value(node, Ty::Map(&Ty::Command), path),
            },
            Ty::Env => self.env(node, path),
        }
    }

    fn expect(&mut self, node: &Node, path: &str, expected: &str, ok: bool) {
        if !ok {
            self.type_error(node, path, expected);
        }
    }

    fn port(&mut self, node: &Node, path: &str) {
        let n = match &node.val {
            Val::Int(i) => Some(*i),
            Val::Str(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match n {
            Some(p) if (1..=65535).contains(&p) => {}
            Some(_) => self.value_error(node, path, "a port is 1–65535".into(), None),
            None => self.type_error(node, path, "a port number"),
        }
    }

    fn duration(&mut self, node: &Node, path: &str) {
        match &node.val {
            Val::Int(i) if *i >= 0 => {}
            Val::Float(f) if *f >= 0.0 => {}
            Val::Str(s) if s.is_empty() || parse_go_duration(s) => {}
            Val::Str(_) | Val::Int(_) | Val::Float(_) => self.value_error(
                node,
                path,
                "not a duration".into(),
                Some("write it like \"5s\", \"1m30s\" or \"500ms\"".into()),
            ),
            _ => self.type_error(node, path, "a duration"),
        }
    }

    fn size(&mut self, node: &Node, path: &str, default_unit: &str) {
        match &node.val {
            Val::Int(i) if *i > 0 => {}
            Val::Str(s) if parse_size(s) => {}
            Val::Str(_) | Val::Int(_) => self.value_error(
                node,
                path,
                format!("not a size (a bare number means {default_unit})"),
                Some("write it like \"256mb\" or \"1gb\"".into()),
            ),
            _ => self.type_error(node, path, "a size"),
        }
    }

    fn env(&mut self, node: &Node, path: &str) {
        for table in node.one_or_many() {
            let Val::Table(entries) = &table.val else {
                self.type_error(table, path, "a table of variables");
                continue;
            };
            for (name, value) in entries {
                let text = match &value.val {
                    Val::Str(s) => s.clone(),
                    Val::Int(_) | Val::Float(_) | Val::Bool(_) => value.display(),
                    _ => {
                        self.type_error(value, &join(path, name), "a string, number or boolean");
                        continue;
                    }
                };
                if let Some(finding) = secrets::check(name, &text) {
                    let mut location = self.file.location(value.pos);
                    // Report the secret, never repeat it (logs, SARIF snippets).
                    location.source_line = location.source_line.map(|l| l.replace(&text, "***"));
                    self.diags.push(
                        Diagnostic::error(
                            "fly/plaintext-secret",
                            format!(
                                "{} in `[env]`: anyone who can read the repository can read it",
                                finding.describe(name)
                            ),
                            location,
                        )
                        .with_help(format!(
                            "remove it from fly.toml, rotate it, and set it with `fly secrets set {name}=…`"
                        )),
                    );
                }
            }
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn is_int(node: &Node) -> bool {
    match node.val {
        Val::Int(_) => true,
        Val::Float(f) => f.fract() == 0.0,
        _ => false,
    }
}

/// `"12,23"`: the Nomad-era soft,hard concurrency.
fn parse_soft_hard(s: &str) -> bool {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    parts.len() == 2 && parts.iter().all(|p| p.parse::<u32>().is_ok())
}

/// Go's `time.ParseDuration`: one or more number+unit pairs, or a bare `0` (read by the same
/// code the deploy reads fly.toml with).
pub fn parse_go_duration(s: &str) -> bool {
    units::parse_duration(s).is_ok()
}

/// A size as flyctl reads it (docker's go-units): `512`, `"256mb"`, `"256Mi"`, `"1Gi"`,
/// `"1GiB"`, `"8g"`, `"2 GB"`; bare numbers take the field's default unit; zero is no size.
pub fn parse_size(s: &str) -> bool {
    s.trim() != "0" && units::parse_size(s, true, 1).is_ok()
}

/// `primary_region` is a Fly region code (a warning: flyctl only fails when it creates a
/// machine there).
fn region(file: &FlyFile, root: &Node, diags: &mut Vec<Diagnostic>) {
    let Some(node) = root.get("primary_region") else {
        return;
    };
    let Some(code) = node.as_str() else { return };
    // A value filled in by a template is not ours to judge.
    if code.is_empty() || code.contains(['$', '{']) || super::fly_regions::is_region(code) {
        return;
    }
    let mut d = Diagnostic::warning(
        "fly/region",
        format!("`primary_region = \"{code}\"` is not a Fly.io region code"),
        file.location(node.pos),
    );
    d.help = Some(match super::fly_regions::nearest(code) {
        Some((near, location)) => {
            format!("did you mean `{near}` ({location})? `fly platform regions` lists them all")
        }
        None => "write a region code such as `ams`, `iad` or `syd`; `fly platform regions` lists them all".into(),
    });
    diags.push(d);
}

/// Checks between sections: process groups that exist, one internal_port per service,
/// top-level checks on a port a service listens on, one volume per process group.
fn cross_checks(file: &FlyFile, root: &Node, diags: &mut Vec<Diagnostic>) {
    region(file, root, diags);
    let groups: BTreeSet<String> = match root.get("processes").map(|p| &p.val) {
        Some(Val::Table(entries)) if !entries.is_empty() => {
            entries.iter().map(|(k, _)| k.clone()).collect()
        }
        Some(Val::Array(items)) if items.iter().any(|i| i.get("name").is_some()) => items
            .iter()
            .filter_map(|i| i.get("name")?.as_str().map(str::to_string))
            .collect(),
        // Without [processes] every machine is in the default group `app`.
        _ => BTreeSet::from(["app".to_string()]),
    };
    let mut services: Vec<(&str, &Node)> = Vec::new();
    if let Some(hs) = root.get("http_service") {
        services.push(("http_service", hs));
    }
    if let Some(s) = root.get("services") {
        services.extend(s.one_or_many().into_iter().map(|n| ("services", n)));
    }
    for (section, service) in &services {
        if !matches!(service.val, Val::Table(_)) {
            continue;
        }
        let no_ports = *section == "services"
            && service
                .get("ports")
                .is_none_or(|p| p.one_or_many().is_empty());
        if no_ports && service.get("internal_port").is_none() {
            // What `[[services.http_checks]]` alone becomes in TOML: flyctl deploys it with a
            // warning, and the service takes no traffic.
            diags.push(
                Diagnostic::warning(
                    "fly/service-without-ports",
                    "this `[[services]]` entry has no ports and no `internal_port`: it gets no traffic (flyctl deploys it with a warning)",
                    file.location(service.pos),
                )
                .with_help("a check under a service is probably meant for `[[http_service.checks]]`; or give the service `internal_port` and `[[services.ports]]`"),
            );
        } else if service.get("internal_port").is_none() {
            diags.push(
                Diagnostic::error(
                    "fly/missing-internal-port",
                    format!("`[{section}]` has no `internal_port`: fly-proxy would not know where the app listens"),
                    file.location(service.pos),
                )
                .with_help("set internal_port to the port your app listens on"),
            );
        }
    }

    for section in [
        "http_service",
        "services",
        "vm",
        "compute",
        "mounts",
        "mount",
        "checks",
        "metrics",
        "restart",
        "files",
        "machine_checks",
    ] {
        let Some(node) = root.get(section) else {
            continue;
        };
        let holders: Vec<&Node> = if section == "checks" {
            node.entries().iter().map(|(_, n)| n).collect()
        } else {
            node.one_or_many()
        };
        for holder in holders {
            let Some(list) = holder.get("processes") else {
                continue;
            };
            let Val::Array(items) = &list.val else {
                continue;
            };
            for item in items {
                let Some(name) = item.as_str() else { continue };
                if !groups.contains(name) {
                    let names: Vec<&str> = groups.iter().map(String::as_str).collect();
                    let mut d = Diagnostic::error(
                        "fly/unknown-process-group",
                        format!("`[{section}]` names process group `{name}`, which `[processes]` does not define"),
                        file.location(item.pos),
                    );
                    d.help = Some(match did_you_mean(name, &names) {
                        Some(m) => format!("did you mean `{m}`?"),
                        None => format!("defined groups: {}", names.join(", ")),
                    });
                    diags.push(d);
                }
            }
        }
    }

    let ports: BTreeSet<i64> = services
        .iter()
        .filter_map(|(_, s)| s.get("internal_port"))
        .filter_map(|p| match &p.val {
            Val::Int(i) => Some(*i),
            Val::Str(s) => s.parse().ok(),
            _ => None,
        })
        .collect();
    if let Some(checks) = root.get("checks") {
        for (name, check) in checks.entries() {
            let Some(port) = check.get("port") else {
                continue;
            };
            let Val::Int(p) = port.val else { continue };
            if !ports.is_empty()
                && !ports.contains(&p)
                && check.get("type").and_then(Node::as_str) == Some("http")
            {
                diags.push(
                    Diagnostic::warning(
                        "fly/check-port",
                        format!("check `{name}` probes port {p}, but no service has that internal_port ({})",
                            ports.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")),
                        file.location(port.pos),
                    )
                    .with_help("a health check on a port nothing listens on fails every deploy"),
                );
            }
        }
    }
    mount_checks(file, root, &groups, diags);
}

/// Each mount needs a source and an absolute destination; a process group gets one volume.
fn mount_checks(
    file: &FlyFile,
    root: &Node,
    groups: &BTreeSet<String>,
    diags: &mut Vec<Diagnostic>,
) {
    let mut seen: Vec<(String, Pos)> = Vec::new();
    for section in ["mounts", "mount"] {
        let Some(node) = root.get(section) else {
            continue;
        };
        for mount in node.one_or_many() {
            if !matches!(mount.val, Val::Table(_)) {
                continue;
            }
            for key in ["source", "destination"] {
                if mount.get(key).is_none() {
                    diags.push(Diagnostic::error(
                        "fly/mount",
                        format!("a `[{section}]` entry has no `{key}`"),
                        file.location(mount.pos),
                    ));
                }
            }
            if let Some(dest) = mount.get("destination") {
                if dest.as_str().is_some_and(|d| !d.starts_with('/')) {
                    diags.push(
                        Diagnostic::error(
                            "fly/mount",
                            format!(
                                "mount destination {} is not an absolute path",
                                dest.display()
                            ),
                            file.location(dest.pos),
                        )
                        .with_help("volumes mount at an absolute path such as \"/data\""),
                    );
                }
            }
            let applies_to: Vec<String> = match mount.get("processes").map(|p| &p.val) {
                Some(Val::Array(items)) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
                _ => groups.iter().cloned().collect(),
            };
            for group in applies_to {
                if let Some((_, first)) = seen.iter().find(|(g, _)| *g == group) {
                    // A warning: flyctl picks the most specific mount, and real files that
                    // deploy carry this.
                    diags.push(Diagnostic::warning(
                        "fly/mount",
                        format!("process group `{group}` has more than one mount; a Machine mounts one volume"),
                        file.location(mount.pos),
                    ).with_related(file.location(*first)));
                } else {
                    seen.push((group, mount.pos));
                }
            }
        }
    }
}

#[cfg(test)]
mod size_tests {
    use super::parse_size;

    #[test]
    fn sizes_read_as_flyctl_reads_them() {
        for ok in [
            "512", "256mb", "256Mi", "1Gi", "1GiB", "512MB", "8g", "2 GB", "1.5gb", "4096",
        ] {
            assert!(parse_size(ok), "{ok}");
        }
        for bad in ["lots", "256 Mib extra", "-1", "gb", "256mx", ""] {
            assert!(!parse_size(bad), "{bad}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diags(text: &str) -> Vec<Diagnostic> {
        check(Path::new("fly.toml"), text).1
    }

    fn errors(text: &str) -> Vec<String> {
        diags(text)
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| format!("{}:{} {}", d.location.line, d.location.column, d.message))
            .collect()
    }

    #[test]
    fn a_primary_region_that_is_not_a_region_code_is_a_warning_naming_the_nearest() {
        let d = diags("app = \"web\"\nprimary_region = \"sydney\"\n");
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Warning);
        assert_eq!(d[0].rule, "fly/region");
        assert_eq!(
            d[0].message,
            "`primary_region = \"sydney\"` is not a Fly.io region code"
        );
        assert_eq!((d[0].location.line, d[0].location.column), (2, 1));
        assert!(
            d[0].help
                .as_deref()
                .unwrap()
                .starts_with("did you mean `syd` (Sydney, Australia)?"),
            "{:?}",
            d[0].help
        );
        assert!(diags("app = \"web\"\nprimary_region = \"syd\"\n").is_empty());
    }

    #[test]
    fn both_service_styles_are_accepted() {
        let text = "app = \"a\"\nkill_timeout = 5\n[http_service]\n  internal_port = 8080\n  auto_stop_machines = \"suspend\"\n[[services]]\n  internal_port = \"9090\"\n  protocol = \"tcp\"\n  concurrency = \"20,25\"\n  [[services.ports]]\n    port = 443\n    handlers = [\"tls\", \"http\"]\n  [[services.tcp_checks]]\n    interval = 10000\n    timeout = \"2s\"\n";
        assert_eq!(diags(text), vec![]);
    }

    #[test]
    fn wrong_values_are_errors_at_their_line() {
        let text = "app = \"a\"\n[http_service]\n  internal_port = 70000\n  auto_stop_machines = \"sometimes\"\n[[vm]]\n  memory = \"lots\"\n  cpu_kind = \"shred\"\n[deploy]\n  strategy = \"rolling\"\n  release_command_timeout = \"5 minutes\"\n";
        let e = errors(text);
        assert_eq!(e.len(), 5, "{e:#?}");
        assert!(e[0].starts_with("3:3 `http_service.internal_port` = 70000"));
        assert!(e[1].starts_with("4:3 `http_service.auto_stop_machines`"));
        assert!(e[2].starts_with("6:3 `vm.memory` = \"lots\""));
        assert!(e[3].starts_with("7:3 `vm.cpu_kind` = \"shred\""));
        assert!(e[4]
            .starts_with("10:3 `deploy.release_command_timeout` = \"5 minutes\": not a duration"));
        let d = diags(text);
        let dur = d
            .iter()
            .find(|d| d.message.contains("release_command_timeout"))
            .unwrap();
        assert_eq!(dur.location.line, 10);
        let cpu = d.iter().find(|d| d.message.contains("cpu_kind")).unwrap();
        assert_eq!(
            cpu.help.as_deref(),
            Some("did you mean `shared`? (expected one of `shared`, `performance`)")
        );
    }

    #[test]
    fn unknown_keys_warn_with_a_suggestion() {
        let d =
            diags("app = \"a\"\n[http_service]\n  internal_prot = 8080\n  internal_port = 8080\n");
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Warning);
        assert_eq!(d[0].rule, "fly/unknown-key");
        assert_eq!(
            d[0].help.as_deref(),
            Some("did you mean `http_service.internal_port`?")
        );
        assert_eq!((d[0].location.line, d[0].location.column), (3, 3));
        assert!(d[0]
            .render_human()
            .contains("3 |   internal_prot = 8080\n  |   ^"));
    }

    #[test]
    fn syntax_errors_point_at_line_and_column() {
        let d = diags("app = \"a\"\n[http_service\ninternal_port = 1\n");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].rule, "fly/syntax");
        assert_eq!(d[0].location.line, 2);
    }

    #[test]
    fn process_groups_must_exist() {
        let e = errors("[processes]\n  web = \"bin/web\"\n[http_service]\n  internal_port = 80\n  processes = [\"app\"]\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("5:16 `[http_service]` names process group `app`"));
        assert!(
            errors("[http_service]\n  internal_port = 80\n  processes = [\"app\"]\n").is_empty()
        );
    }

    #[test]
    fn plaintext_secrets_in_env_are_errors() {
        let e = errors("[env]\n  DATABASE_URL = \"postgres://u:hunter22@db:5432/x\"\n  PASSWORD_MIN_LENGTH = 12\n  API_TOKEN = \"{YOUR_TOKEN}\"\n");
        assert_eq!(e.len(), 1, "{e:#?}");
        assert!(e[0].starts_with("2:3 `DATABASE_URL` is a URL with a password in it"));
    }

    #[test]
    fn a_service_without_ports_is_a_warning_one_with_ports_needs_internal_port() {
        let lone_check = diags("app = \"a\"\n[[services.http_checks]]\n  path = \"/health\"\n");
        assert_eq!(lone_check.len(), 1, "{lone_check:?}");
        assert_eq!(lone_check[0].rule, "fly/service-without-ports");
        assert_eq!(lone_check[0].severity, Severity::Warning);
        let with_ports = diags("app = \"a\"\n[[services]]\n  [[services.ports]]\n    port = 80\n");
        assert!(
            with_ports
                .iter()
                .any(|d| d.rule == "fly/missing-internal-port" && d.severity == Severity::Error),
            "{with_ports:?}"
        );
    }

    #[test]
    fn an_empty_file_is_one_finding() {
        let d = diags("# nothing yet\n\n");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].rule, "fly/empty");
    }

    #[test]
    fn durations_and_sizes() {
        for ok in ["5s", "1m21s", "500ms", "1h", "0", "1.5s"] {
            assert!(parse_go_duration(ok), "{ok}");
        }
        for bad in ["5", "five", "5 s", "s", ""] {
            assert!(!parse_go_duration(bad), "{bad}");
        }
        for ok in ["256mb", "1gb", "1GB", "8g", "15Mb", "512", "2 GiB"] {
            assert!(parse_size(ok), "{ok}");
        }
        for bad in ["lots", "0", "1xb", "mb"] {
            assert!(!parse_size(bad), "{bad}");
        }
    }
}
